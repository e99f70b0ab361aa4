"""Forms for registering: members choose the organisation they represent; guests give details."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from coordination.forms import BaseForm, EmailAddress, as_choices, strip_filter

#: Select value for "an organisation that is not in the directory" (typed into the text field).
OTHER = "other"


class MemberRegistrationForm(BaseForm):
    """One click: the organisation is preselected; "other" takes a free-text name."""

    organization = SelectField(_l("Organisation you represent"), choices=[])
    organization_name = StringField(
        _l("Other organisation"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200)],
        description=_l("Only if it is not in the list: choose “Other organisation” above."),
    )
    submit = SubmitField(_l("Register"))

    def set_choices(self, organizations: Iterable[tuple[int, str]], default: int | None) -> None:
        """Offer ``organizations`` (id, name); preselect ``default`` when nothing was sent."""
        self.organization.choices = as_choices(
            [("", _l("No organisation")), *organizations, (OTHER, _l("Other organisation"))]
        )
        if self.organization.data is None:
            self.organization.data = str(default) if default is not None else ""

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        # Cross-field rule; an inline validator would be skipped for an empty text (Optional).
        choice = self.organization.data or ""
        name = self.organization_name.data or ""
        if name and choice not in ("", OTHER):
            self.organization_name.errors = [
                _l("Choose “Other organisation” in the list to enter a name here.")
            ]
            return False
        if not name and choice == OTHER:
            self.organization_name.errors = [_l("Enter the name of the organisation.")]
            return False
        return True

    def chosen_organization_id(self) -> int | None:
        choice = self.organization.data or ""
        return int(choice) if choice.isdigit() else None


class GuestRegistrationForm(BaseForm):
    """Guests without an account: name, email, organisation and consent (double opt-in)."""

    name = StringField(
        _l("Your name"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email address"),
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=254), EmailAddress()],
        description=_l("We send you a link to confirm your registration."),
        render_kw={"autocomplete": "email"},
    )
    organization_name = StringField(
        _l("Organisation you represent"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization"},
    )
    consent = BooleanField(
        _l("I agree that my details are stored to organise this meeting."),
        validators=[DataRequired(message=_l("Please agree to the privacy notice."))],
    )
    submit = SubmitField(_l("Register"))
