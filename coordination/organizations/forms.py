"""Forms for the organisation directory."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from coordination.forms import BaseForm, EmailAddress, as_choices, strip_filter
from coordination.organizations.models import OrganizationKind


def kind_labels() -> dict[OrganizationKind, str]:
    return {
        OrganizationKind.INITIATIVE: str(_l("Initiative")),
        OrganizationKind.ASSOCIATION: str(_l("Association")),
        OrganizationKind.WELFARE: str(_l("Welfare organisation")),
        OrganizationKind.AUTHORITY: str(_l("Public authority")),
        OrganizationKind.EDUCATION: str(_l("Education")),
        OrganizationKind.SELF_ORGANIZATION: str(_l("Self-organisation of refugees")),
        OrganizationKind.OTHER: str(_l("Other")),
    }


def _http_url(form: BaseForm, field: StringField) -> None:
    if field.data and not field.data.lower().startswith(("http://", "https://")):
        raise ValidationError(_l("Enter a web address starting with https://"))


class OrganizationForm(BaseForm):
    name = StringField(
        _l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    kind = SelectField(_l("Kind"), choices=[], validators=[DataRequired()])
    district = StringField(
        _l("District"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=80)],
        render_kw={"list": "district-suggestions"},
    )
    website = URLField(
        _l("Website"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=500), _http_url],
    )
    contact_email = EmailField(
        _l("Contact email"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=254), EmailAddress()],
    )
    contact_phone = StringField(
        _l("Contact phone"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=50),
            Regexp(r"^[0-9+()/ .\-]*$", message=_l("Only digits, spaces and + ( ) / - .")),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What the organisation does and how to reach it. Markdown is allowed."),
        render_kw={"rows": 8},
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = as_choices((kind.value, label) for kind, label in kind_labels().items())
