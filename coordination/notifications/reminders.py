"""Reminders: "your meeting starts soon" for registered people, "your action is due" for owners.

``flask notifications run`` calls both functions every few minutes. They are level-triggered:
each run looks at what is due now and queues what has not been queued before (the outbox's
dedupe key decides), so a missed run is caught up by the next and a second run repeats nothing.
A meeting that moves gets a new key (its start is part of it) and so a fresh reminder.

Privacy: a reminder goes only to people who may still see the meeting or read the action's
group; an action of a confidential group is never named in a mail, only its group and due date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from coordination.actions.models import Action, ActionStatus
from coordination.audit.models import AuditEvent
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.mail.services import queue_mail
from coordination.meetings.models import Meeting, MeetingStatus, Visibility
from coordination.meetings.permissions import GroupAccess, can_see_online_url
from coordination.notifications import preferences
from coordination.notifications.invitations import REMINDER_TOPIC as MEETING_REMINDER_TOPIC
from coordination.notifications.models import NotificationPreference, Topic
from coordination.registrations.models import Registration, RegistrationStatus
from coordination.registrations.services import GUEST_REGISTERED
from coordination.templating import local_date, local_datetime
from coordination.timeutil import local_today
from coordination.urls import external_url

log = logging.getLogger(__name__)

#: Outbox topic (``OutboxMessage.topic``) of action reminders; meeting reminders use
#: ``invitations.REMINDER_TOPIC``, by which a cancelled meeting withdraws its pending ones.
ACTION_REMINDER_TOPIC = "action_reminder"


def _queued_keys(keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are in the outbox already (one query, not one per mail)."""
    wanted = list(set(keys))
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(wanted))
        )
    )


# --- meeting reminders ---------------------------------------------------------------------------


def meeting_reminder_key(registration: Registration, meeting: Meeting) -> str:
    return f"meeting-reminder:{registration.id}:{int(meeting.starts_at.timestamp())}"


def _when(meeting: Meeting) -> str:
    """Short local date (and time) for a subject line, in the current locale."""
    if meeting.is_all_day:
        return local_date(meeting.starts_at, "medium")
    return (
        f"{local_date(meeting.starts_at, 'medium')}, {local_datetime(meeting.starts_at, 'HH:mm')}"
    )


def _reminder_horizon() -> timedelta:
    """The longest lead time anybody has chosen: meetings further ahead need no look."""
    longest = db.session.scalar(
        sa.select(sa.func.max(NotificationPreference.reminder_lead_hours)).where(
            NotificationPreference.meeting_reminders.is_(True)
        )
    )
    hours = max(
        longest or 0,
        preferences.defaults().reminder_lead_hours,
        current_app.config["MEETING_REMINDER_HOURS"],
    )
    return timedelta(hours=hours)


def _confirmed_registrations(now: datetime, horizon: timedelta) -> list[Registration]:
    """Confirmed registrations of scheduled meetings starting within ``horizon`` (one query)."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Registration.meeting)
            .options(
                joinedload(Registration.user),
                joinedload(Registration.meeting).joinedload(Meeting.group),
            )
            .where(
                Registration.status == RegistrationStatus.CONFIRMED,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at > now,
                Meeting.starts_at <= now + horizon,
            )
            .order_by(Meeting.starts_at, Registration.id)
        )
    )


def _guest_locales(registrations: Iterable[Registration]) -> dict[int, str]:
    """Languages of guests registered before ``Registration.locale`` existed (one query).

    Same answer as ``registrations.services.guest_locale``, which asks once per guest.
    """
    ids = [r.id for r in registrations if r.user_id is None and r.locale is None]
    default = str(current_app.config["BABEL_DEFAULT_LOCALE"])
    locales = dict.fromkeys(ids, default)
    if not ids:
        return locales
    rows = db.session.execute(
        sa.select(AuditEvent.object_id, AuditEvent.detail)
        .where(
            AuditEvent.action == GUEST_REGISTERED,
            AuditEvent.object_type == "registration",
            AuditEvent.object_id.in_(ids),
        )
        .order_by(AuditEvent.id)
    )
    for registration_id, detail in rows:  # the latest registration's language wins
        if detail in current_app.config["LANGUAGES"]:
            locales[registration_id] = str(detail)
    return locales


def _informed_at(registration: Registration) -> datetime:
    """When the person last learned they have a seat (registered, confirmed, or promoted)."""
    moments = [registration.created_at, registration.confirmed_at]
    return max(moment for moment in moments if moment is not None)


@dataclass
class _Reminder:
    registration: Registration
    recipient: str
    locale: str
    lead: timedelta
    user: User | None = None


def _reminder_candidates(registrations: list[Registration]) -> list[_Reminder]:
    """Who wants a reminder, may see the meeting, and with which lead time and language."""
    member_rows = [r for r in registrations if r.user is not None]
    guest_rows = [r for r in registrations if r.user is None and r.guest_email]
    settings = preferences.preferences_for(r.user_id for r in member_rows if r.user_id)
    opted_out = preferences.opted_out_addresses(
        [r.guest_email for r in guest_rows if r.guest_email], Topic.MEETING_REMINDERS
    )
    access = GroupAccess.load(
        (r.user_id for r in member_rows if r.user_id),
        (r.meeting.group_id for r in member_rows if r.meeting.group_id),
    )
    guest_locales = _guest_locales(guest_rows)
    candidates: list[_Reminder] = []
    for registration in member_rows:
        user = registration.user
        assert user is not None
        wanted = settings[user.id]
        if (
            user.is_active
            and wanted.meeting_reminders
            and access.can_view_meeting(user, registration.meeting)
        ):
            lead = timedelta(hours=wanted.reminder_lead_hours)
            candidates.append(_Reminder(registration, user.email, str(user.locale), lead, user))
    guest_lead = timedelta(hours=current_app.config["MEETING_REMINDER_HOURS"])
    for registration in guest_rows:
        email = (registration.guest_email or "").lower()
        if email in opted_out:
            continue
        locale = registration.locale or guest_locales[registration.id]
        candidates.append(_Reminder(registration, email, str(locale), guest_lead))
    return candidates


def _queue_meeting_reminder(reminder: _Reminder, dedupe_key: str) -> bool:
    registration, user = reminder.registration, reminder.user
    meeting = registration.meeting
    if user is not None:
        # Every member who may see the meeting may see its online link (can_see_online_url).
        online_url = meeting.online_url
        url: str | None = external_url("meetings.detail", meeting_id=meeting.id)
        unsubscribe = preferences.unsubscribe_url(Topic.MEETING_REMINDERS, user=user)
    else:
        online_url = meeting.online_url if can_see_online_url(None, meeting) else ""
        url = None
        if meeting.visibility is Visibility.PUBLIC:  # other pages would answer a guest 404
            url = external_url("meetings.detail", meeting_id=meeting.id)
        unsubscribe = preferences.unsubscribe_url(Topic.MEETING_REMINDERS, email=reminder.recipient)
    with force_locale(reminder.locale):
        subject = _("Reminder: %(title)s, %(when)s", title=meeting.title, when=_when(meeting))
    message = queue_mail(
        recipient=reminder.recipient,
        locale=reminder.locale,
        subject=subject,
        template="mail/meeting_reminder",
        dedupe_key=dedupe_key,
        unsubscribe_url=unsubscribe,
        topic=MEETING_REMINDER_TOPIC,
        meeting_id=meeting.id,
        meeting=meeting,
        name=registration.display_name,
        is_guest=user is None,
        url=url,
        online_url=online_url,
    )
    return message is not None


def _registration_id(dedupe_key: str) -> int | None:
    parts = dedupe_key.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _is_stale(
    key: str, meeting_id: int | None, confirmed: set[int], starts: dict[int, datetime]
) -> bool:
    registration_id = _registration_id(key)
    if registration_id not in confirmed or meeting_id not in starts:
        return True
    return key != f"meeting-reminder:{registration_id}:{int(starts[meeting_id].timestamp())}"


def withdraw_stale_meeting_reminders() -> int:
    """Take back pending reminders that would now be wrong (three queries at most).

    The meeting was cancelled or moved (its start is part of the key), or the person cancelled
    their registration. A meeting's own change withdraws its reminders at once; this also
    catches a registration cancelled while the SMTP server was down.
    """
    pending = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.meeting_id).where(
            OutboxMessage.topic == MEETING_REMINDER_TOPIC,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    ).all()
    if not pending:
        return 0
    registration_ids = {_registration_id(key or "") for _, key, _ in pending} - {None}
    confirmed = set(
        db.session.scalars(
            sa.select(Registration.id).where(
                Registration.id.in_(registration_ids),
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
    )
    starts: dict[int, datetime] = dict(
        db.session.execute(
            sa.select(Meeting.id, Meeting.starts_at).where(
                Meeting.id.in_({meeting_id for *_, meeting_id in pending}),
                Meeting.status == MeetingStatus.SCHEDULED,
            )
        ).all()
    )
    stale = [
        message_id
        for message_id, key, meeting_id in pending
        if _is_stale(key or "", meeting_id, confirmed, starts)
    ]
    if stale:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(stale), OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.WITHDRAWN, locked_until=None)
            .execution_options(synchronize_session=False)
        )
        log.info("%d stale meeting reminders withdrawn", len(stale))
    return len(stale)


def queue_meeting_reminders(now: datetime | None = None) -> int:
    """Queue a reminder for each confirmed registration whose lead time has begun.

    Members: active, ``meeting_reminders`` on, their own lead time, and still allowed to see the
    meeting. Guests: the network's lead time, unless their address unsubscribed. Nobody who
    registered (or got the seat) inside the lead window: they have just been told. Returns how
    many mails were queued; flushes, the caller commits.
    """
    now = now or utcnow()
    withdraw_stale_meeting_reminders()
    registrations = _confirmed_registrations(now, _reminder_horizon())
    due: list[tuple[_Reminder, str]] = []
    for reminder in _reminder_candidates(registrations):
        meeting = reminder.registration.meeting
        window_opens = meeting.starts_at - reminder.lead
        if now < window_opens or _informed_at(reminder.registration) >= window_opens:
            continue
        due.append((reminder, meeting_reminder_key(reminder.registration, meeting)))
    queued_before = _queued_keys(key for _, key in due)
    count = sum(
        _queue_meeting_reminder(reminder, key) for reminder, key in due if key not in queued_before
    )
    db.session.flush()
    if count:
        log.info("%d meeting reminders queued", count)
    return count


# --- action reminders ----------------------------------------------------------------------------


def _due_kind(action: Action, today: date) -> str | None:
    """``due`` (due soon), ``overdue`` (recently missed) or ``None`` (nothing to say)."""
    assert action.due_date is not None
    config = current_app.config
    if today <= action.due_date <= today + timedelta(days=config["ACTION_DUE_REMINDER_DAYS"]):
        return "due"
    if today - timedelta(days=config["ACTION_OVERDUE_REMINDER_DAYS"]) <= action.due_date < today:
        return "overdue"
    return None


def _action_subject(action: Action, kind: str) -> str:
    """The subject in the current locale; a confidential group's action is never named."""
    assert action.due_date is not None
    day = format_date(action.due_date, "long")
    group = action.group.name
    if action.group.is_confidential:
        if kind == "due":
            return _("An action of yours in %(group)s is due on %(date)s", group=group, date=day)
        return _("An action of yours in %(group)s was due on %(date)s", group=group, date=day)
    if kind == "due":
        return _("Your action “%(title)s” is due on %(date)s", title=action.title, date=day)
    return _("Your action “%(title)s” was due on %(date)s", title=action.title, date=day)


def _queue_action_reminder(action: Action, owner: User, kind: str, dedupe_key: str) -> bool:
    locale = str(owner.locale)
    assert action.due_date is not None
    with force_locale(locale):
        subject = _action_subject(action, kind)
        due_text = format_date(action.due_date, "long")
    message = queue_mail(
        recipient=owner.email,
        locale=locale,
        subject=subject,
        template="mail/action_reminder",
        dedupe_key=dedupe_key,
        unsubscribe_url=preferences.unsubscribe_url(Topic.ACTION_REMINDERS, user=owner),
        topic=ACTION_REMINDER_TOPIC,
        name=owner.name,
        kind=kind,
        due_text=due_text,
        group_name=action.group.name,
        # Only open groups' titles may travel by mail; notes never do.
        title=None if action.group.is_confidential else action.title,
        url=external_url("actions.detail", action_id=action.id),
        group_url=external_url("groups.detail", slug=action.group.slug),
    )
    return message is not None


def queue_action_reminders(today: date | None = None) -> int:
    """Remind owners of open actions once before the due date and once after it passed.

    "Due": from ``ACTION_DUE_REMINDER_DAYS`` before the due date until the day itself.
    "Overdue": the day after, or a later run within ``ACTION_OVERDUE_REMINDER_DAYS`` (older
    actions are not dug up). Owners must be active, want action reminders, and still read the
    group. A new due date gets new reminders. Returns how many mails were queued; flushes.
    """
    today = today or local_today()
    config = current_app.config
    earliest = today - timedelta(days=config["ACTION_OVERDUE_REMINDER_DAYS"])
    latest = today + timedelta(days=config["ACTION_DUE_REMINDER_DAYS"])
    actions = list(
        db.session.scalars(
            sa.select(Action)
            .join(Action.owner)
            .options(joinedload(Action.owner), joinedload(Action.group))
            .where(
                Action.status == ActionStatus.OPEN,
                Action.due_date.is_not(None),
                Action.due_date >= earliest,
                Action.due_date <= latest,
                User.is_active.is_(True),
            )
            .order_by(Action.due_date, Action.id)
        )
    )
    settings = preferences.preferences_for(a.owner_id for a in actions if a.owner_id)
    access = GroupAccess.load(
        (a.owner_id for a in actions if a.owner_id), (a.group_id for a in actions)
    )
    due: list[tuple[Action, User, str, str]] = []
    for action in actions:
        owner, kind = action.owner, _due_kind(action, today)
        if owner is None or kind is None:
            continue
        if not settings[owner.id].action_reminders or not access.can_read_group(
            owner, action.group
        ):
            continue
        due.append((action, owner, kind, f"action-{kind}:{action.id}:{action.due_date}"))
    queued_before = _queued_keys(key for *_, key in due)
    count = sum(
        _queue_action_reminder(action, owner, kind, key)
        for action, owner, kind, key in due
        if key not in queued_before
    )
    db.session.flush()
    if count:
        log.info("%d action reminders queued", count)
    return count
