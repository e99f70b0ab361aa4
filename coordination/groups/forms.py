"""Forms for working groups: create and edit a group, add members, change a member's role."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from coordination.forms import BaseForm, as_choices, strip_filter
from coordination.groups.models import Confidentiality, GroupRole, JoinMode, JoinRequestStatus


def confidentiality_labels() -> dict[Confidentiality, str]:
    return {
        Confidentiality.OPEN: str(_l("Open: all members of the network can read it")),
        Confidentiality.CONFIDENTIAL: str(_l("Confidential: only its members can read it")),
    }


def confidentiality_short_labels() -> dict[Confidentiality, str]:
    return {
        Confidentiality.OPEN: str(_l("Open")),
        Confidentiality.CONFIDENTIAL: str(_l("Confidential")),
    }


def join_mode_labels() -> dict[JoinMode, str]:
    return {
        JoinMode.OPEN: str(_l("Anyone in the network can join")),
        JoinMode.REQUEST: str(_l("By request: a lead approves")),
        JoinMode.INVITATION: str(_l("By invitation: leads add members")),
    }


def role_labels() -> dict[GroupRole, str]:
    return {GroupRole.LEAD: str(_l("Lead")), GroupRole.MEMBER: str(_l("Member"))}


def request_status_labels() -> dict[JoinRequestStatus, str]:
    return {
        JoinRequestStatus.PENDING: str(_l("pending")),
        JoinRequestStatus.APPROVED: str(_l("approved")),
        JoinRequestStatus.DECLINED: str(_l("declined")),
    }


class GroupForm(BaseForm):
    """Name, description, confidentiality and join mode; the first lead only when creating."""

    name = StringField(
        _l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)]
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What the group works on, and how it works. Markdown is allowed."),
        render_kw={"rows": 8},
    )
    confidentiality = SelectField(_l("Who can read the group"), validators=[DataRequired()])
    join_mode = SelectField(
        _l("How people join"),
        validators=[DataRequired()],
        description=_l(
            "Confidential groups are invisible to everyone else, so their leads always add "
            "the members themselves."
        ),
    )
    lead = SelectField(
        _l("First lead"),
        validators=[DataRequired()],
        description=_l("The lead manages the group's members and can name more leads."),
    )
    confirm_open = BooleanField(
        _l("I understand that all of the group's content becomes readable by every member.")
    )
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: Any,
        lead_choices: list[tuple[int, str]] | None = None,
        was_confidential: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.was_confidential = was_confidential
        self.confidentiality.choices = as_choices(
            (value.value, label) for value, label in confidentiality_labels().items()
        )
        self.join_mode.choices = as_choices(
            (value.value, label) for value, label in join_mode_labels().items()
        )
        if lead_choices is None:
            del self.lead
        else:
            self.lead.choices = as_choices(lead_choices)
        if not was_confidential:
            del self.confirm_open

    def validate_confirm_open(self, field: BooleanField) -> None:
        if (
            self.was_confidential
            and self.confidentiality.data == Confidentiality.OPEN.value
            and not field.data
        ):
            raise ValidationError(
                _l("Please confirm that the group's content may become readable by all members.")
            )


class AddMemberForm(BaseForm):
    """A lead adds an active user who is not yet in the group."""

    user = SelectField(_l("Person"), validators=[DataRequired()])
    role = SelectField(_l("Role"), validators=[DataRequired()], default=GroupRole.MEMBER.value)
    submit = SubmitField(_l("Add to the group"))

    def __init__(self, *args: Any, user_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user.choices = as_choices(user_choices)
        self.role.choices = as_choices((role.value, label) for role, label in role_labels().items())


class RoleForm(BaseForm):
    """A lead makes a member a lead, or a lead a member."""

    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = as_choices((role.value, label) for role, label in role_labels().items())
