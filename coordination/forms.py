"""Form base class and validators shared by every feature's forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, Form
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError


class BaseForm(FlaskForm):
    """A Flask-WTF form that refuses NUL bytes before any other validator sees them.

    PostgreSQL cannot store NUL in text, and a validator that queries the database with such a
    value would fail with a server error; here the field shows an error instead.
    """

    def validate(self, extra_validators: Any = None) -> bool:
        bad_fields = [field for field in self if _contains_nul(field.data)]
        if bad_fields:
            for field in bad_fields:
                field.errors = [gettext("This contains invalid characters.")]
            return False
        return super().validate(extra_validators)


def _contains_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, list | tuple):
        return any(isinstance(item, str) and "\x00" in item for item in data)
    return False


def as_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


def strip_filter(value: Any) -> Any:
    """Strip surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def normalize_email(value: str) -> str:
    return value.strip().lower()


class EmailAddress:
    """Validate an email address's syntax (no DNS lookup) and normalise it to lower case."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(_l("Please enter a valid email address.")) from error
        field.data = normalize_email(result.normalized)


class PasswordPolicy:
    """Long enough, not one of the most common passwords, not the account's email."""

    COMMON = frozenset(
        {
            "passwort123", "password123", "1234567890", "0123456789", "qwertzuiop",
            "qwertyuiop", "passwort1234", "password1234", "hallo12345", "knotenpunkt",
            "1q2w3e4r5t", "asdfghjkl1", "abcdefghij", "iloveyou12", "leipzig123",
            "sommer2024", "sommer2025", "sommer2026", "winter2025", "winter2026",
            "aaaaaaaaaa", "1111111111", "passwortpasswort", "passwordpassword",
        }
    )  # fmt: skip

    def __init__(self, email_field: str | None = None) -> None:
        self.email_field = email_field

    def __call__(self, form: Form, field: Field) -> None:
        password = field.data or ""
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(password) < minimum:
            raise ValidationError(_l("Use at least %(num)d characters.", num=minimum))
        if len(password) > 256:
            raise ValidationError(_l("Use at most 256 characters."))
        lowered = password.lower()
        if lowered in self.COMMON or len(set(lowered)) < 4:
            raise ValidationError(_l("This password is too easy to guess."))
        email = self._email(form)
        if email and (lowered == email or lowered == email.split("@")[0]):
            raise ValidationError(_l("The password must not be your email address."))

    def _email(self, form: Form) -> str:
        if self.email_field and self.email_field in form:
            return str(form[self.email_field].data or "").lower()
        if current_user and current_user.is_authenticated:
            return str(current_user.email)
        return ""
