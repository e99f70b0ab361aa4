"""Forms for projects: details, status, partners, milestones and links; labels for the values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from coordination.forms import BaseForm, as_choices, strip_filter
from coordination.projects.models import PartnerRole, ProjectStatus

#: Longest project description (characters).
MAX_DESCRIPTION = 20_000

#: Due dates outside these years are typing mistakes.
EARLIEST_DUE = date(2000, 1, 1)
LATEST_DUE = date(2100, 12, 31)


def status_labels() -> dict[ProjectStatus, str]:
    """In the order a project usually goes through them."""
    return {
        ProjectStatus.IDEA: str(_l("Idea")),
        ProjectStatus.PLANNING: str(_l("Planning")),
        ProjectStatus.ACTIVE: str(_l("Active")),
        ProjectStatus.PAUSED: str(_l("Paused")),
        ProjectStatus.COMPLETED: str(_l("Completed")),
    }


def role_labels() -> dict[PartnerRole, str]:
    return {PartnerRole.LEAD: str(_l("Lead")), PartnerRole.PARTNER: str(_l("Partner"))}


def _plausible_date(form: BaseForm, field: DateField) -> None:
    if field.data is not None and not EARLIEST_DUE <= field.data <= LATEST_DUE:
        raise ValidationError(_l("Enter a date between 2000 and 2100."))


class ProjectForm(BaseForm):
    """Name, summary, description and lead contact; status and lead organisation when creating."""

    name = StringField(
        _l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    summary = StringField(
        _l("Summary"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=300)],
        description=_l("One sentence for the project list."),
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        description=_l("Aims, who does what, how others can help. Markdown is allowed."),
        render_kw={"rows": 10},
    )
    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])
    lead_contact = SelectField(
        _l("Lead contact"),
        choices=[],
        validators=[Optional()],
        description=_l("The person others ask about the project. They can manage it."),
    )
    lead_organization = SelectField(
        _l("Lead organisation"),
        choices=[],
        validators=[Optional()],
        description=_l(
            "Its members can manage the project. More partners can be added on the project page."
        ),
    )
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: Any,
        person_choices: Iterable[tuple[int, str]],
        organization_choices: Iterable[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lead_contact.choices = as_choices([("", _l("Nobody yet")), *person_choices])
        if organization_choices is None:
            # Editing: status and partners have their own forms on the project page.
            del self.status
            del self.lead_organization
        else:
            self.status.choices = as_choices(
                (status.value, label) for status, label in status_labels().items()
            )
            self.lead_organization.choices = as_choices(
                [("", _l("None yet")), *organization_choices]
            )


class StatusForm(BaseForm):
    status = SelectField(_l("Status"), choices=[], validators=[DataRequired()])
    submit = SubmitField(_l("Change status"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = as_choices(
            (status.value, label) for status, label in status_labels().items()
        )


def _role_choices() -> list[Any]:
    return as_choices((role.value, label) for role, label in role_labels().items())


class PartnerForm(BaseForm):
    """Add an organisation of the directory as lead or partner."""

    organization = SelectField(
        _l("Organisation"),
        choices=[],
        validators=[DataRequired(message=_l("Please choose an organisation."))],
    )
    role = SelectField(
        _l("Role"), choices=[], validators=[DataRequired()], default=PartnerRole.PARTNER.value
    )
    submit = SubmitField(_l("Add partner"))

    def __init__(
        self, *args: Any, organization_choices: Iterable[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization.choices = as_choices(organization_choices)
        self.role.choices = _role_choices()


class PartnerRoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class MilestoneForm(BaseForm):
    title = StringField(
        _l("Milestone"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    due_date = DateField(
        _l("Due date"),
        validators=[Optional(), _plausible_date],
        description=_l("Optional. Open milestones past this date are shown as overdue."),
    )
    submit = SubmitField(_l("Save milestone"))


class NewMilestoneForm(MilestoneForm):
    submit = SubmitField(_l("Add milestone"))


class GroupLinkForm(BaseForm):
    group = SelectField(
        _l("Working group"),
        choices=[],
        validators=[DataRequired(message=_l("Please choose a working group."))],
    )
    submit = SubmitField(_l("Link group"))

    def __init__(self, *args: Any, group_choices: Iterable[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group.choices = as_choices(group_choices)


class MeetingLinkForm(BaseForm):
    meeting = SelectField(
        _l("Meeting"),
        choices=[],
        validators=[DataRequired(message=_l("Please choose a meeting."))],
    )
    submit = SubmitField(_l("Link meeting"))

    def __init__(
        self, *args: Any, meeting_choices: Iterable[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.meeting.choices = as_choices(meeting_choices)
