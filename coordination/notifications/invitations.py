"""Invitations to meetings, and the updates and cancellations that follow them (iTIP by mail).

Scheduling a meeting or series stores *whom* to invite (an :class:`InvitationAudience`); the job
``flask notifications run`` calls :func:`process`, which

1. turns audiences into one :class:`MeetingInvitation` per address (a series' audience for each
   date once it is ``INVITATION_WINDOW_DAYS`` ahead, so nobody gets a year of mails at once);
2. compares, per meeting, the SEQUENCE each invitee and each registered person last received
   with the meeting's and queues what is missing: an invitation or update (``METHOD:REQUEST``)
   or a cancellation (``METHOD:CANCEL``), one mail per address, in that person's language.

Every step is level-triggered and every mail has a dedupe key, so a crash or a second run
neither loses nor repeats a mail. Only people who may see the meeting are ever mailed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from coordination.audit import services as audit
from coordination.auth.models import Locale, Role, User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.mail.services import queue_mail
from coordination.meetings.models import Meeting, MeetingSeries, MeetingStatus, Visibility
from coordination.meetings.permissions import GroupAccess, can_see_online_url
from coordination.notifications import itip, preferences
from coordination.notifications.models import (
    AudienceExpansion,
    InvitationAudience,
    MeetingInvitation,
    Topic,
)
from coordination.organizations.models import Organization, organization_member
from coordination.registrations.models import Registration, RegistrationStatus
from coordination.registrations.services import registration_locale
from coordination.timeutil import utc_to_local
from coordination.urls import external_url

log = logging.getLogger(__name__)

#: Registrations that hear about changes: everyone holding or waiting for a seat.
INFORMED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)

#: Outbox topic of reminders; a cancelled or moved meeting withdraws the pending ones.
REMINDER_TOPIC = "meeting_reminder"


# --- choosing an audience ----------------------------------------------------------------------


@dataclass
class AudienceChoices:
    """What a user may invite: every member, these groups, these organisations' contacts."""

    all_members: bool = False
    groups: list[WorkingGroup] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.all_members or bool(self.groups) or bool(self.organizations)


def audience_choices(user: Any) -> AudienceChoices:
    """Moderators and admins invite anyone; group leads the members of the groups they lead."""
    from coordination.meetings.services import schedulable_groups

    if user is None or not user.is_authenticated:
        return AudienceChoices()
    groups = schedulable_groups(user)
    if user.role in (Role.ADMIN, Role.MODERATOR):
        organizations = list(
            db.session.scalars(sa.select(Organization).order_by(Organization.name))
        )
        return AudienceChoices(all_members=True, groups=groups, organizations=organizations)
    return AudienceChoices(groups=groups)


def add_audience(
    *,
    actor: User,
    meeting: Meeting | None = None,
    series: MeetingSeries | None = None,
    all_members: bool = False,
    groups: Iterable[WorkingGroup] = (),
    organizations: Iterable[Organization] = (),
) -> InvitationAudience | None:
    """Remember whom ``actor`` invites to ``meeting`` or to every date of ``series``.

    Returns ``None`` if nobody was chosen. Raises ``ValueError`` for a choice ``actor`` may not
    make. The mails are made by the next :func:`process`.
    """
    if (meeting is None) == (series is None):
        raise ValueError("invite to a meeting or to a series")
    groups, organizations = list(groups), list(organizations)
    if not (all_members or groups or organizations):
        return None
    allowed = audience_choices(actor)
    if all_members and not allowed.all_members:
        raise ValueError("may not invite every member")
    if {group.id for group in groups} - {group.id for group in allowed.groups}:
        raise ValueError("may not invite this group")
    allowed_orgs = {organization.id for organization in allowed.organizations}
    if {organization.id for organization in organizations} - allowed_orgs:
        raise ValueError("may not invite this organisation")
    audience = InvitationAudience(
        meeting=meeting,
        series=series,
        all_members=all_members,
        groups=groups,
        organizations=organizations,
        created_by_id=actor.id,
    )
    db.session.add(audience)
    db.session.flush()
    target = meeting if meeting is not None else series
    assert target is not None
    audit.record(
        "meeting.invited" if meeting is not None else "meeting_series.invited",
        actor=actor,
        object_type="meeting" if meeting is not None else "meeting_series",
        object_id=target.id,
        detail=f"all={int(all_members)} groups={len(groups)} organizations={len(organizations)}",
    )
    return audience


def audiences_of(
    *, meeting: Meeting | None = None, series: MeetingSeries | None = None
) -> list[InvitationAudience]:
    """The audiences chosen for a meeting (and for its series), newest first."""
    conditions = []
    if meeting is not None:
        conditions.append(InvitationAudience.meeting_id == meeting.id)
        if meeting.series_id is not None:
            conditions.append(InvitationAudience.series_id == meeting.series_id)
    if series is not None:
        conditions.append(InvitationAudience.series_id == series.id)
    if not conditions:
        return []
    return list(
        db.session.scalars(
            sa.select(InvitationAudience)
            .where(sa.or_(*conditions))
            .options(
                selectinload(InvitationAudience.groups),
                selectinload(InvitationAudience.organizations),
                selectinload(InvitationAudience.created_by),
            )
            .order_by(InvitationAudience.created_at.desc(), InvitationAudience.id.desc())
        )
    )


@dataclass(frozen=True)
class InvitationCounts:
    """Addresses invited, and invitation mails the SMTP server has accepted."""

    invited: int
    sent: int


#: Outbox topic of the first mail to an invitee (``meeting_update``/``_cancellation`` follow).
INVITATION_TOPIC = "meeting_invitation"


def invitation_counts_for(meetings: Iterable[Meeting]) -> dict[int, InvitationCounts]:
    """Invited and delivered per meeting, in two queries whatever the number of meetings.

    "Sent" counts delivered mails, not queued ones: while the SMTP server is down, a moderator
    sees that the invitations have not gone out yet.
    """
    ids = [meeting.id for meeting in meetings]
    counts = dict.fromkeys(ids, InvitationCounts(invited=0, sent=0))
    if not ids:
        return counts
    invited: dict[int | None, int] = {
        meeting_id: count
        for meeting_id, count in db.session.execute(
            sa.select(MeetingInvitation.meeting_id, sa.func.count(MeetingInvitation.id))
            .where(MeetingInvitation.meeting_id.in_(ids))
            .group_by(MeetingInvitation.meeting_id)
        )
    }
    sent: dict[int | None, int] = {
        meeting_id: count
        for meeting_id, count in db.session.execute(
            sa.select(OutboxMessage.meeting_id, sa.func.count(OutboxMessage.id))
            .where(
                OutboxMessage.meeting_id.in_(ids),
                OutboxMessage.topic == INVITATION_TOPIC,
                OutboxMessage.status == OutboxStatus.SENT,
            )
            .group_by(OutboxMessage.meeting_id)
        )
    }
    for meeting_id in ids:
        counts[meeting_id] = InvitationCounts(
            invited=int(invited.get(meeting_id, 0)), sent=int(sent.get(meeting_id, 0))
        )
    return counts


def invitation_counts(meeting: Meeting) -> InvitationCounts:
    """How many addresses are invited to ``meeting``, and how many invitations went out."""
    return invitation_counts_for([meeting])[meeting.id]


def copy_series_audiences(source: MeetingSeries, target: MeetingSeries) -> None:
    """A series continued as a new one (a date change "for all following") keeps its invitees."""
    for audience in audiences_of(series=source):
        db.session.add(
            InvitationAudience(
                series=target,
                all_members=audience.all_members,
                groups=list(audience.groups),
                organizations=list(audience.organizations),
                created_by_id=audience.created_by_id,
                created_at=audience.created_at,
            )
        )
    db.session.flush()


def withdraw_reminders(meeting: Meeting) -> int:
    """Take back reminders for ``meeting`` that have not gone out yet (cancelled or moved)."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.meeting_id == meeting.id,
            OutboxMessage.topic == REMINDER_TOPIC,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.WITHDRAWN, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        log.info("meeting %s: %d pending reminders withdrawn", meeting.id, count)
    return count


# --- from audiences to invitations -------------------------------------------------------------


@dataclass(frozen=True)
class Invitee:
    email: str
    name: str
    user_id: int | None
    locale: str


def _audience_users(audience: InvitationAudience) -> list[User]:
    """Active accounts the audience names (before asking whether they may see the meeting)."""
    query = sa.select(User).where(User.is_active.is_(True)).order_by(User.id)
    if not audience.all_members:
        conditions = []
        group_ids = [group.id for group in audience.groups]
        organization_ids = [organization.id for organization in audience.organizations]
        if group_ids:
            conditions.append(
                User.id.in_(
                    sa.select(GroupMembership.user_id).where(
                        GroupMembership.group_id.in_(group_ids)
                    )
                )
            )
        if organization_ids:
            conditions.append(
                User.id.in_(
                    sa.select(organization_member.c.user_id).where(
                        organization_member.c.organization_id.in_(organization_ids)
                    )
                )
            )
        if not conditions:
            return []
        query = query.where(sa.or_(*conditions))
    return list(db.session.scalars(query))


def audience_invitees(audience: InvitationAudience, meeting: Meeting) -> list[Invitee]:
    """The addresses ``audience`` reaches for ``meeting``: only people who may see it, who did
    not turn invitations off; organisations' contact addresses only for public meetings."""
    candidates = _audience_users(audience)
    group_ids = [meeting.group_id] if meeting.group_id is not None else []
    access = GroupAccess.load((user.id for user in candidates), group_ids)
    users = [user for user in candidates if access.can_view_meeting(user, meeting)]
    settings = preferences.preferences_for(user.id for user in users)
    invitees = {
        user.email.lower(): Invitee(user.email.lower(), user.name, user.id, str(user.locale))
        for user in users
        if settings[user.id].invitations
    }
    known = {user.email.lower() for user in users}
    if meeting.visibility is Visibility.PUBLIC:
        contacts = {
            organization.contact_email.strip().lower(): organization.name
            for organization in audience.organizations
            if organization.contact_email.strip()
        }
        # An address that belongs to an account follows that account's settings.
        accounts = (
            set(
                db.session.scalars(
                    sa.select(sa.func.lower(User.email)).where(
                        sa.func.lower(User.email).in_(list(contacts))
                    )
                )
            )
            if contacts
            else set()
        )
        opted_out = preferences.opted_out_addresses(contacts, Topic.INVITATIONS)
        default_locale = str(current_app.config["BABEL_DEFAULT_LOCALE"])
        for email, name in contacts.items():
            if email in known or email in accounts or email in opted_out:
                continue
            invitees.setdefault(email, Invitee(email, name, None, default_locale))
    return [invitee for invitee in invitees.values() if itip.is_plain_address(invitee.email)]


def _invite(audience: InvitationAudience, meeting: Meeting) -> int:
    """Create the invitations ``audience`` makes for ``meeting``; returns how many are new."""
    existing = set(
        db.session.scalars(
            sa.select(MeetingInvitation.email).where(MeetingInvitation.meeting_id == meeting.id)
        )
    )
    created = 0
    for invitee in audience_invitees(audience, meeting):
        if invitee.email in existing:
            continue
        db.session.add(
            MeetingInvitation(
                meeting_id=meeting.id,
                user_id=invitee.user_id,
                email=invitee.email,
                name=invitee.name[:200],
                locale=Locale(invitee.locale),
                audience_id=audience.id,
            )
        )
        existing.add(invitee.email)
        created += 1
    db.session.flush()
    return created


def _is_open_for_invitations(meeting: Meeting, now: datetime) -> bool:
    return meeting.status is MeetingStatus.SCHEDULED and meeting.starts_at > now


def expand_audiences(now: datetime | None = None) -> int:
    """Turn waiting audiences into invitations; returns the number of new invitations."""
    now = now or utcnow()
    created = 0
    single = db.session.scalars(
        sa.select(InvitationAudience)
        .where(InvitationAudience.meeting_id.is_not(None), InvitationAudience.expanded_at.is_(None))
        .order_by(InvitationAudience.id)
    ).all()
    for audience in single:
        assert audience.meeting is not None
        if _is_open_for_invitations(audience.meeting, now):
            created += _invite(audience, audience.meeting)
        audience.expanded_at = now
    window_end = now + timedelta(days=current_app.config["INVITATION_WINDOW_DAYS"])
    pending = db.session.execute(
        sa.select(InvitationAudience, Meeting)
        .join(Meeting, Meeting.series_id == InvitationAudience.series_id)
        .where(
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at > now,
            Meeting.starts_at <= window_end,
            ~sa.exists().where(
                AudienceExpansion.audience_id == InvitationAudience.id,
                AudienceExpansion.meeting_id == Meeting.id,
            ),
        )
        .order_by(Meeting.starts_at, InvitationAudience.id)
    ).all()
    for audience, meeting in pending:
        created += _invite(audience, meeting)
        db.session.add(AudienceExpansion(audience_id=audience.id, meeting_id=meeting.id))
    db.session.flush()
    return created


# --- sending what people have not heard yet ---------------------------------------------------


@dataclass
class Recipient:
    """One address to tell about one meeting, with everything that decides the mail."""

    email: str
    name: str
    locale: str
    user: User | None = None
    invitation: MeetingInvitation | None = None
    registrations: list[Registration] = field(default_factory=list)

    @property
    def registered(self) -> bool:
        return bool(self.registrations)


@dataclass
class ProcessReport:
    invitations_created: int = 0
    requests: int = 0
    cancellations: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return (
            f"{self.invitations_created} invitations created, {self.requests} invitations and "
            f"updates queued, {self.cancellations} cancellations queued, {self.skipped} skipped"
        )


def _meetings_with_news(now: datetime) -> list[int]:
    """Meetings not yet over whose invitees or registered people lag behind their SEQUENCE."""
    behind_invitation = sa.select(MeetingInvitation.meeting_id).where(
        MeetingInvitation.meeting_id == Meeting.id,
        sa.or_(
            MeetingInvitation.sequence_sent.is_(None),
            MeetingInvitation.sequence_sent < Meeting.sequence,
        ),
    )
    behind_registration = sa.select(Registration.meeting_id).where(
        Registration.meeting_id == Meeting.id,
        Registration.status.in_(INFORMED_STATUSES),
        Registration.notified_sequence < Meeting.sequence,
    )
    return list(
        db.session.scalars(
            sa.select(Meeting.id)
            .where(
                Meeting.ends_at > now,
                sa.or_(sa.exists(behind_invitation), sa.exists(behind_registration)),
            )
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )


def _recipients(meeting: Meeting) -> list[Recipient]:
    """Everyone who lags behind the meeting's SEQUENCE, merged per address."""
    by_email: dict[str, Recipient] = {}
    invitations = db.session.scalars(
        sa.select(MeetingInvitation)
        .where(
            MeetingInvitation.meeting_id == meeting.id,
            sa.or_(
                MeetingInvitation.sequence_sent.is_(None),
                MeetingInvitation.sequence_sent < meeting.sequence,
            ),
        )
        .options(selectinload(MeetingInvitation.user))
        .order_by(MeetingInvitation.id)
    )
    for invitation in invitations:
        user = invitation.user
        email = user.email.lower() if user is not None else invitation.email
        locale = str(user.locale) if user is not None else str(invitation.locale)
        name = user.name if user is not None else invitation.name
        by_email[email] = Recipient(email, name, locale, user=user, invitation=invitation)
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status.in_(INFORMED_STATUSES),
            Registration.notified_sequence < meeting.sequence,
        )
        .options(selectinload(Registration.user))
        .order_by(Registration.id)
    )
    for registration in registrations:
        user = registration.user
        email = (user.email if user is not None else registration.guest_email or "").lower()
        if not email:
            continue
        recipient = by_email.get(email)
        if recipient is None:
            name = user.name if user is not None else registration.guest_name
            recipient = Recipient(email, name, registration_locale(registration), user=user)
            by_email[email] = recipient
        recipient.registrations.append(registration)
    return list(by_email.values())


def _may_see(recipient: Recipient, meeting: Meeting, access: GroupAccess) -> bool:
    if recipient.user is not None:
        return recipient.user.is_active and access.can_view_meeting(recipient.user, meeting)
    return meeting.visibility is Visibility.PUBLIC


def _shows_online_url(recipient: Recipient, meeting: Meeting, access: GroupAccess) -> bool:
    if recipient.user is not None:
        return access.can_see_online_url(recipient.user, meeting)
    return can_see_online_url(None, meeting)


def _dedupe_key(meeting: Meeting, method: str, email: str) -> str:
    digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]
    return f"itip:{meeting.id}:{meeting.sequence}:{method}:{digest}"


def _mail_kind(recipient: Recipient, meeting: Meeting) -> str | None:
    """``invitation``, ``update``, ``cancellation`` or ``None`` (nothing to tell)."""
    invitation = recipient.invitation
    heard_before = recipient.registered or (
        invitation is not None and invitation.sequence_sent is not None
    )
    if meeting.status is MeetingStatus.CANCELLED:
        return "cancellation" if heard_before else None
    return "update" if heard_before else "invitation"


def _wants_mail(recipient: Recipient, settings: dict[int, Any], opted_out: set[str]) -> bool:
    """Registered people always hear of changes; invitees only if they still want invitations."""
    if recipient.registered:
        return True
    if recipient.user is not None:
        return bool(settings[recipient.user.id].invitations)
    return recipient.email not in opted_out


def _subject(kind: str, meeting: Meeting) -> str:
    local = utc_to_local(meeting.starts_at)
    day = format_date(local.date(), "medium")
    if kind == "invitation":
        return _("Invitation: %(title)s, %(date)s", title=meeting.title, date=day)
    if kind == "update":
        return _("Changed: %(title)s, %(date)s", title=meeting.title, date=day)
    return _("Cancelled: %(title)s, %(date)s", title=meeting.title, date=day)


_TEMPLATES = {
    "invitation": "mail/meeting_invitation",
    "update": "mail/meeting_update",
    "cancellation": "mail/meeting_cancelled",
}


def _queue(
    recipient: Recipient, meeting: Meeting, kind: str, now: datetime, access: GroupAccess
) -> bool:
    method = itip.CANCEL if kind == "cancellation" else itip.REQUEST
    url = external_url("meetings.detail", meeting_id=meeting.id)
    show_online = _shows_online_url(recipient, meeting, access)
    unsubscribe = None
    if not recipient.registered:
        unsubscribe = preferences.unsubscribe_url(
            Topic.INVITATIONS,
            user=recipient.user,
            email=None if recipient.user is not None else recipient.email,
        )
    statuses = {registration.status for registration in recipient.registrations}
    with force_locale(recipient.locale):
        calendar = itip.itip_calendar(
            meeting,
            method=method,
            attendee_email=recipient.email,
            attendee_name=recipient.name,
            url=url,
            show_online_url=show_online,
            now=now,
        )
        subject = _subject(kind, meeting)
    message = queue_mail(
        recipient=recipient.email,
        locale=recipient.locale,
        subject=subject,
        template=_TEMPLATES[kind],
        dedupe_key=_dedupe_key(meeting, method, recipient.email),
        calendar=(method, calendar),
        unsubscribe_url=unsubscribe,
        topic=INVITATION_TOPIC if kind == "invitation" else f"meeting_{kind}",
        meeting_id=meeting.id,
        meeting=meeting,
        name=recipient.name,
        url=url,
        online_url=meeting.online_url if show_online else "",
        is_member=recipient.user is not None,
        registered=recipient.registered,
        waitlisted=RegistrationStatus.WAITLISTED in statuses
        and RegistrationStatus.CONFIRMED not in statuses,
        in_series=meeting.series_id is not None,
        window_days=current_app.config["INVITATION_WINDOW_DAYS"],
    )
    return message is not None


#: Outbox topics of the iTIP mails about one meeting.
ITIP_TOPICS = (INVITATION_TOPIC, "meeting_update", "meeting_cancellation")


def _withdraw_superseded(meeting: Meeting, emails: Iterable[str]) -> set[str]:
    """Take back older invitations or updates to ``emails`` still waiting in the outbox (e.g.
    for a retry while the SMTP server was down): a REQUEST arriving after a newer message, a
    CANCEL above all, would put an outdated meeting back into the calendar.

    Returns the addresses an earlier invitation or update about the meeting reached. Two
    statements for all the addresses, not two per address.
    """
    wanted = list(set(emails))
    if not wanted:
        return set()
    mine = sa.and_(
        OutboxMessage.meeting_id == meeting.id,
        OutboxMessage.recipient.in_(wanted),
        OutboxMessage.topic.in_(ITIP_TOPICS),
    )
    db.session.execute(
        sa.update(OutboxMessage)
        .where(mine, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.WITHDRAWN, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return set(
        db.session.scalars(
            sa.select(OutboxMessage.recipient)
            .where(mine, OutboxMessage.status == OutboxStatus.SENT)
            .distinct()
        )
    )


def _current_kind(recipient: Recipient, kind: str | None, reached: set[str]) -> str | None:
    """The mail to send now, after older ones that had not gone out were taken back: an
    invitee whose invitation never arrived gets the invitation, not an update, and no
    cancellation."""
    stale = kind in ("update", "cancellation") and not recipient.registered
    if stale and recipient.email not in reached:
        return "invitation" if kind == "update" else None
    return kind


def send_meeting_news(meeting: Meeting, now: datetime | None = None) -> ProcessReport:
    """Queue the invitations, updates or cancellation ``meeting``'s people have not had yet."""
    now = now or utcnow()
    report = ProcessReport()
    lock_for_update(db.session, f"meeting-news:{meeting.id}")
    recipients = _recipients(meeting)
    settings = preferences.preferences_for(
        recipient.user.id for recipient in recipients if recipient.user is not None
    )
    opted_out = preferences.opted_out_addresses(
        [recipient.email for recipient in recipients if recipient.user is None], Topic.INVITATIONS
    )
    access = GroupAccess.load(
        (recipient.user.id for recipient in recipients if recipient.user is not None),
        [meeting.group_id] if meeting.group_id is not None else [],
    )
    kinds = {
        recipient.email: _mail_kind(recipient, meeting)
        if itip.is_plain_address(recipient.email)
        and _may_see(recipient, meeting, access)
        and _wants_mail(recipient, settings, opted_out)
        else None
        for recipient in recipients
    }
    reached = _withdraw_superseded(
        meeting, [email for email, kind in kinds.items() if kind in ("update", "cancellation")]
    )
    for recipient in recipients:
        kind = _current_kind(recipient, kinds[recipient.email], reached)
        send = kind is not None
        if kind is not None:
            _queue(recipient, meeting, kind, now, access)
            if kind == "cancellation":
                report.cancellations += 1
            else:
                report.requests += 1
        else:
            report.skipped += 1
        if recipient.invitation is not None:
            recipient.invitation.sequence_sent = meeting.sequence
            if send:
                recipient.invitation.sent_at = now
        for registration in recipient.registrations:
            registration.notified_sequence = meeting.sequence
    db.session.flush()
    return report


def process(now: datetime | None = None) -> ProcessReport:
    """Expand audiences, then send every meeting's news. Commits after each meeting, so a long
    run holds no lock for long and a crash keeps what was done (and repeats nothing)."""
    now = now or utcnow()
    report = ProcessReport()
    report.invitations_created = expand_audiences(now)
    db.session.commit()
    for meeting_id in _meetings_with_news(now):
        meeting = db.session.get(Meeting, meeting_id)
        if meeting is None:
            continue
        news = send_meeting_news(meeting, now)
        db.session.commit()
        report.requests += news.requests
        report.cancellations += news.cancellations
        report.skipped += news.skipped
    log.info("notifications: %s", report)
    return report
