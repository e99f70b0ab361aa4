"""Forms and labels of the notification settings and of choosing whom to invite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, Field, SelectField, SubmitField
from wtforms.validators import InputRequired, ValidationError

from coordination.auth.forms import MultiCheckboxField
from coordination.forms import BaseForm, as_choices
from coordination.notifications.models import REMINDER_LEAD_CHOICES, Topic

if TYPE_CHECKING:
    from coordination.groups.models import WorkingGroup
    from coordination.notifications.invitations import AudienceChoices
    from coordination.notifications.models import NotificationPreference
    from coordination.organizations.models import Organization


def topic_labels() -> dict[Topic, str]:
    return {
        Topic.INVITATIONS: str(_l("invitations to meetings")),
        Topic.MEETING_REMINDERS: str(_l("reminders before meetings")),
        Topic.ACTION_REMINDERS: str(_l("reminders of your actions")),
        Topic.DIGEST: str(_l("the weekly summary of your groups")),
    }


def lead_time_label(hours: int) -> str:
    """ "2 hours before", "1 day before": whole days read better than 48 hours."""
    if hours % 24 == 0:
        days = hours // 24
        return ngettext("%(num)d day before", "%(num)d days before", days)
    return ngettext("%(num)d hour before", "%(num)d hours before", hours)


# --- mail settings -----------------------------------------------------------------------------


class NotificationSettingsForm(BaseForm):
    """A member's mail settings; mails about their own registrations are not optional."""

    invitations = BooleanField(
        _l("Invitations to meetings"),
        description=_l("When a moderator or group lead invites you, and later changes to it."),
    )
    meeting_reminders = BooleanField(
        _l("Reminders before meetings you registered for"),
    )
    reminder_lead_hours = SelectField(
        _l("Send the reminder"),
        choices=[],
        coerce=int,
        validators=[InputRequired()],
        invalid_value_message=_l("Choose one of the offered times."),
        invalid_choice_message=_l("Choose one of the offered times."),
        description=_l("How long before the start of the meeting."),
    )
    action_reminders = BooleanField(
        _l("Reminders of your actions"),
        description=_l("When an action you own is due, and again when it is overdue."),
    )
    digest = BooleanField(
        _l("Weekly summary"),
        description=_l("Once a week: what changed in your working groups."),
    )
    submit = SubmitField(_l("Save mail settings"))

    #: The preference columns this form edits.
    FIELDS = (
        "invitations",
        "meeting_reminders",
        "reminder_lead_hours",
        "action_reminders",
        "digest",
    )

    def __init__(self, *args: Any, current_lead: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = list(REMINDER_LEAD_CHOICES)
        # A lead time set by the operator (MEETING_REMINDER_HOURS) stays choosable for whoever
        # has it, so that saving the other settings does not fail on it.
        for extra in (current_lead, current_app.config["MEETING_REMINDER_HOURS"]):
            if isinstance(extra, int) and 1 <= extra <= 168 and extra not in hours:
                hours.append(extra)
        self.reminder_lead_hours.choices = as_choices(
            (value, lead_time_label(value)) for value in sorted(hours)
        )

    @classmethod
    def initial_data(cls, preferences: NotificationPreference) -> dict[str, Any]:
        return {name: getattr(preferences, name) for name in cls.FIELDS}

    def values(self) -> dict[str, Any]:
        """The submitted settings as :class:`NotificationPreference` attributes."""
        return {
            "invitations": bool(self.invitations.data),
            "meeting_reminders": bool(self.meeting_reminders.data),
            "reminder_lead_hours": int(self.reminder_lead_hours.data),
            "action_reminders": bool(self.action_reminders.data),
            "digest": bool(self.digest.data),
        }


# --- whom to invite ----------------------------------------------------------------------------

#: The invite fields, in page order.
INVITE_FIELDS = ("invite_all_members", "invite_groups", "invite_organizations")


def _refuse_unoffered(field: Field, message: str) -> None:
    """Refuse ids that were not offered (another lead's group, an unknown id)."""
    offered = {int(choice.value) for choice in field.choices or []}
    if any(value not in offered for value in field.data or []):
        raise ValidationError(message)


class InviteFields:
    """Mixin for a :class:`BaseForm`: whom to invite (all members, groups, organisations).

    The choices come from ``invitations.audience_choices(user)``; fields the user may not use
    are removed, so a group lead sees only their groups. Call :meth:`setup_invite_fields` in
    ``__init__``.
    """

    invite_all_members = BooleanField(_l("All members"))
    invite_groups = MultiCheckboxField(
        _l("Members of these working groups"),
        coerce=int,
        validate_choice=False,
        invalid_value_message=_l("You cannot invite this working group."),
    )
    invite_organizations = MultiCheckboxField(
        _l("Contacts of these organisations"),
        coerce=int,
        validate_choice=False,
        invalid_value_message=_l("You cannot invite this organisation."),
        description=_l(
            "Their members with an account; the organisation's contact address only if the "
            "meeting is public."
        ),
    )

    _fields: dict[str, Field]
    invite_groups_by_id: dict[int, WorkingGroup]
    invite_organizations_by_id: dict[int, Organization]

    def setup_invite_fields(self, choices: AudienceChoices | None, *, intro: str = "") -> list[str]:
        """Offer ``choices`` (``None``: no invite fields at all); return the remaining names.

        ``intro`` is shown as the hint of the first remaining field, next to the choices.
        """
        form: Any = self
        groups = list(choices.groups) if choices is not None else []
        organizations = list(choices.organizations) if choices is not None else []
        self.invite_groups_by_id = {group.id: group for group in groups}
        self.invite_organizations_by_id = {org.id: org for org in organizations}
        form.invite_groups.choices = as_choices((group.id, group.name) for group in groups)
        form.invite_organizations.choices = as_choices((org.id, org.name) for org in organizations)
        keep = {
            "invite_all_members": choices is not None and choices.all_members,
            "invite_groups": bool(groups),
            "invite_organizations": bool(organizations),
        }
        for name, wanted in keep.items():
            if not wanted:
                delattr(form, name)
        names = [name for name in INVITE_FIELDS if name in self._fields]
        if names and intro:
            first = self._fields[names[0]]
            first.description = f"{intro} {first.description or ''}".strip()
        return names

    @property
    def has_invite_fields(self) -> bool:
        return any(name in self._fields for name in INVITE_FIELDS)

    def validate_invite_groups(self, field: Field) -> None:
        _refuse_unoffered(field, _("You cannot invite this working group."))

    def validate_invite_organizations(self, field: Field) -> None:
        _refuse_unoffered(field, _("You cannot invite this organisation."))

    def invite_values(self) -> dict[str, Any]:
        """Keyword arguments for ``invitations.add_audience`` (nothing chosen: all empty)."""
        fields = self._fields
        all_members = "invite_all_members" in fields and bool(fields["invite_all_members"].data)
        return {
            "all_members": all_members,
            "groups": self._chosen(fields.get("invite_groups"), self.invite_groups_by_id),
            "organizations": self._chosen(
                fields.get("invite_organizations"), self.invite_organizations_by_id
            ),
        }

    @staticmethod
    def _chosen(field: Field | None, objects: dict[int, Any]) -> list[Any]:
        if field is None:
            return []
        return [objects[value] for value in dict.fromkeys(field.data or []) if value in objects]

    def has_invitees(self) -> bool:
        values = self.invite_values()
        return bool(values["all_members"] or values["groups"] or values["organizations"])


def invite_intro(*, series: bool, optional: bool = True) -> str:
    """The hint beside the invite choices: who is reached, and when the mails go out."""
    if series:
        text = _(
            "Invitations go only to people who may see the meetings. Each date's invitation is "
            "mailed about %(days)d days before it.",
            days=current_app.config["INVITATION_WINDOW_DAYS"],
        )
    else:
        text = _(
            "Invitations go only to people who may see the meeting; they are mailed within a "
            "few minutes."
        )
    return f"{_('Optional.')} {text}" if optional else text


class InviteForm(InviteFields, BaseForm):
    """Invite more people to a meeting or series that exists already."""

    submit = SubmitField(_l("Send invitations"))

    def __init__(
        self, *args: Any, choices: AudienceChoices, series: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.setup_invite_fields(choices, intro=invite_intro(series=series, optional=False))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.has_invite_fields:
            self.form_errors.append(_("There is nobody you could invite."))
            return False
        if not self.has_invitees():
            # Beside the choices (not at the top), where a screen reader user is.
            first = next(self._fields[name] for name in INVITE_FIELDS if name in self._fields)
            first.errors.append(_("Choose whom to invite."))
            return False
        return True
