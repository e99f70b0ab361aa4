"""Forms for the check-in page: a status per person and walk-ins."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from coordination import MAX_ID
from coordination.attendance.models import AttendanceStatus
from coordination.forms import BaseForm, as_choices, strip_filter


def status_labels() -> dict[AttendanceStatus, str]:
    return {
        AttendanceStatus.PRESENT: str(_l("Present")),
        AttendanceStatus.EXCUSED: str(_l("Excused")),
        AttendanceStatus.ABSENT: str(_l("Absent")),
    }


class StatusForm(BaseForm):
    """One click on present / excused / absent; ``q`` keeps the search after the redirect."""

    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])
    q = HiddenField(filters=[strip_filter], validators=[Optional(), Length(max=200)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = as_choices(
            (status.value, label) for status, label in status_labels().items()
        )


def _organization_field() -> SelectField:
    return SelectField(_l("Organisation from the directory"), choices=[], validators=[Optional()])


def _organization_name_field() -> StringField:
    return StringField(
        _l("Or another organisation"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200)],
        description=_l("Free text, if the organisation is not in the directory."),
    )


class _WalkInForm(BaseForm):
    def set_organization_choices(self, pairs: list[tuple[int, str]]) -> None:
        self.organization_id.choices = as_choices([("", _l("— none —")), *pairs])

    def organization(self) -> tuple[int | None, str]:
        """The chosen directory organisation's id, or the free text (the directory wins)."""
        value = self.organization_id.data
        if value:
            return int(value), ""
        return None, self.organization_name.data or ""


class WalkInUserForm(_WalkInForm):
    """An existing account who came without registering."""

    user_id = SelectField(_l("Person"), choices=[], validate_choice=False)
    organization_id = _organization_field()
    organization_name = _organization_name_field()
    submit = SubmitField(_l("Add and mark present"))

    def set_user_choices(self, pairs: list[tuple[int, str]]) -> None:
        self.user_id.choices = as_choices([("", _l("— choose —")), *pairs])

    def validate_user_id(self, field: SelectField) -> None:
        # The list on the page may be outdated (someone else added the person meanwhile):
        # any existing id passes here and the service answers "already on the list".
        value = str(field.data or "")
        if not value.isdigit() or not 0 < int(value) <= MAX_ID:
            raise ValidationError(_l("Choose a person from the list."))

    @property
    def chosen_user_id(self) -> int:
        return int(self.user_id.data)


class WalkInGuestForm(_WalkInForm):
    """Someone without an account: name and organisation only (no contact data)."""

    name = StringField(
        _l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=120)]
    )
    organization_id = _organization_field()
    organization_name = _organization_name_field()
    submit = SubmitField(_l("Add guest and mark present"))
