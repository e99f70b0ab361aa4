"""Forms for logging in, first setup, invitations, password reset and the profile."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from coordination.auth.models import Locale, Role
from coordination.forms import BaseForm, EmailAddress, PasswordPolicy, as_choices, strip_filter

LOCALE_CHOICES = as_choices([(Locale.DE.value, "Deutsch"), (Locale.EN.value, "English")])


def role_choices() -> list[tuple[str, str]]:
    return [
        (Role.MEMBER.value, str(_l("Member"))),
        (Role.MODERATOR.value, str(_l("Moderator"))),
        (Role.ADMIN.value, str(_l("Admin"))),
    ]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; ids of foreign or unknown objects fail as invalid choices."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _email_field(label: str = "Email") -> EmailField:
    return EmailField(
        _l(label),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=254), EmailAddress()],
        render_kw={"autocomplete": "email"},
    )


def _name_field() -> StringField:
    return StringField(
        _l("Name"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )


def _new_password_fields(email_field: str | None = None) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), PasswordPolicy(email_field)],
        description=_l("At least 10 characters. A sentence you can remember works well."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class LoginForm(BaseForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


class SetupForm(BaseForm):
    name = _name_field()
    email = _email_field()
    password, confirm = _new_password_fields("email")
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, default=Locale.DE.value)
    submit = SubmitField(_l("Create admin account"))


class AcceptInvitationForm(BaseForm):
    name = _name_field()
    password, confirm = _new_password_fields()
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    submit = SubmitField(_l("Create my account"))


class ResetRequestForm(BaseForm):
    email = _email_field()
    submit = SubmitField(_l("Send link"))


class ResetPasswordForm(BaseForm):
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Set new password"))


class ProfileForm(BaseForm):
    name = _name_field()
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)
    organizations = MultiCheckboxField(
        _l("Organisations I belong to"), coerce=int, validate_choice=True
    )
    submit = SubmitField(_l("Save profile"))


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Change password"))


class InvitationForm(BaseForm):
    email = _email_field()
    role = SelectField(_l("Role"), choices=[], default=Role.MEMBER.value)
    locale = SelectField(
        _l("Language of the invitation"), choices=LOCALE_CHOICES, default=Locale.DE.value
    )
    organization = SelectField(_l("Organisation"), coerce=int, choices=[], validate_choice=True)
    submit = SubmitField(_l("Send invitation"))


class UserAdminForm(BaseForm):
    role = SelectField(_l("Role"), choices=[])
    is_active = BooleanField(_l("Account is active"))
    organizations = MultiCheckboxField(_l("Organisations"), coerce=int, validate_choice=True)
    submit = SubmitField(_l("Save"))
