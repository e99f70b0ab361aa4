"""Registration rules: seats, waitlist, guests' double opt-in. Functions flush; callers commit.

Race safety: every function that counts seats first locks the meeting's row
(``SELECT ... FOR UPDATE`` on PostgreSQL). On SQLite write requests already run in
``BEGIN IMMEDIATE`` transactions (see :mod:`coordination.db`), so they are serialised; the
``FOR UPDATE`` clause is simply not rendered there. The partial unique indexes on
``registration`` remain the last line of defence against a second active registration.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from coordination.audit import services as audit
from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, User
from coordination.auth.services import hash_token, new_token
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.services import queue_mail
from coordination.meetings.models import Meeting, Visibility
from coordination.organizations.models import Organization
from coordination.registrations.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
)

log = logging.getLogger(__name__)

#: Audit action of a guest's (repeated) registration; its ``detail`` is the guest's UI language
#: (the source of ``Registration.locale`` for registrations older than that column).
GUEST_REGISTERED = "registration.guest_registered"

#: Pending guest registrations older than this are deleted by :func:`purge_unconfirmed_guests`.
UNCONFIRMED_GUEST_TTL = timedelta(hours=48)


class RegistrationError(Exception):
    """A rule was broken; ``str(error)`` is a translated message for the user."""


class RegistrationClosed(RegistrationError):
    pass


class AlreadyRegistered(RegistrationError):
    def __init__(self, registration: Registration | None = None) -> None:
        super().__init__(_l("You are already registered for this meeting."))
        self.registration = registration


class GuestsNotAllowed(RegistrationError):
    pass


class CancellationClosed(RegistrationError):
    pass


# --- reading --------------------------------------------------------------------------------


def closed_reason(meeting: Meeting, now: datetime | None = None) -> Any | None:
    """Why nobody can register for ``meeting`` now (a lazy translated string), or ``None``."""
    now = now or utcnow()
    if meeting.is_cancelled:
        return _l("Registration is closed: the meeting has been cancelled.")
    if meeting.has_started(now):
        return _l("Registration is closed: the meeting has already started.")
    if not meeting.is_registration_open:
        return _l("Registration for this meeting is closed.")
    if meeting.registration_closes_at is not None and now >= meeting.registration_closes_at:
        return _l("Registration is closed: the registration deadline has passed.")
    return None


def is_registration_open(meeting: Meeting, now: datetime | None = None) -> bool:
    return closed_reason(meeting, now) is None


def accepts_guests(meeting: Meeting) -> bool:
    """Guests (people without an account) may register only for public meetings that allow it."""
    return meeting.visibility is Visibility.PUBLIC and meeting.allows_guests


def can_cancel(registration: Registration, now: datetime | None = None) -> bool:
    """One's own registration can be cancelled until the meeting starts."""
    return registration.status in ACTIVE_STATUSES and not registration.meeting.has_started(now)


def status_counts(meeting: Meeting) -> dict[RegistrationStatus, int]:
    """Number of registrations per status (one query)."""
    counts = dict.fromkeys(RegistrationStatus, 0)
    rows = db.session.execute(
        sa.select(Registration.status, sa.func.count(Registration.id))
        .where(Registration.meeting_id == meeting.id)
        .group_by(Registration.status)
    )
    for status, count in rows:
        counts[RegistrationStatus(status)] = count
    return counts


def _confirmed_count(meeting: Meeting) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Registration.id)).where(
                Registration.meeting_id == meeting.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
        or 0
    )


def seats_left(meeting: Meeting, confirmed: int | None = None) -> int | None:
    """Free seats, or ``None`` for a meeting without a capacity."""
    if meeting.capacity is None:
        return None
    if confirmed is None:
        confirmed = _confirmed_count(meeting)
    return max(meeting.capacity - confirmed, 0)


def active_registration_for_user(meeting: Meeting, user: Any) -> Registration | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.user_id == user.id,
            Registration.status.in_(ACTIVE_STATUSES),
        )
    )


def active_registration_for_email(meeting: Meeting, email: str) -> Registration | None:
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.guest_email == email.strip().lower(),
            Registration.status.in_(ACTIVE_STATUSES),
        )
    )


def waitlist_position(registration: Registration) -> int | None:
    """1 for the first person on the waitlist; ``None`` if not waitlisted."""
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count(Registration.id)).where(
            Registration.meeting_id == registration.meeting_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            sa.or_(
                Registration.created_at < registration.created_at,
                sa.and_(
                    Registration.created_at == registration.created_at,
                    Registration.id < registration.id,
                ),
            ),
        )
    )
    return (ahead or 0) + 1


def registrations_for(
    meeting: Meeting, statuses: Iterable[RegistrationStatus] = ACTIVE_STATUSES
) -> list[Registration]:
    """The meeting's registrations with these statuses, oldest first (waitlist order).

    One query; ``user`` and ``organization`` are loaded with it (no N+1 in lists).
    For example the check-in page: ``registrations_for(meeting, (CONFIRMED, WAITLISTED))``.
    """
    wanted = list(statuses)
    if not wanted:
        return []
    return list(
        db.session.scalars(
            sa.select(Registration)
            .options(joinedload(Registration.user), joinedload(Registration.organization))
            .where(Registration.meeting_id == meeting.id, Registration.status.in_(wanted))
            .order_by(Registration.created_at, Registration.id)
        )
    )


def find_guest_registration(token: str) -> Registration | None:
    """The guest registration whose manage link carries ``token`` (any status)."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        sa.select(Registration)
        .options(joinedload(Registration.meeting))
        .where(Registration.manage_token_hash == hash_token(token), Registration.user_id.is_(None))
    )


# --- changing -------------------------------------------------------------------------------


def _lock_meeting(meeting: Meeting) -> Meeting:
    """Lock the meeting's row until the transaction ends and reload its current values."""
    db.session.flush()
    return db.session.execute(
        sa.select(Meeting)
        .where(Meeting.id == meeting.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _insert(registration: Registration) -> Registration:
    """Add ``registration``; a concurrent duplicate (unique index) becomes AlreadyRegistered."""
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError as error:
        raise AlreadyRegistered() from error
    return registration


def _status_for_new_seat(meeting: Meeting) -> RegistrationStatus:
    left = seats_left(meeting)
    if left is None or left > 0:
        return RegistrationStatus.CONFIRMED
    return RegistrationStatus.WAITLISTED


def _check_open(meeting: Meeting) -> None:
    reason = closed_reason(meeting)
    if reason is not None:
        raise RegistrationClosed(reason)


def register_member(
    meeting: Meeting,
    user: User,
    *,
    organization: Organization | None = None,
    organization_name: str = "",
) -> Registration:
    """Register ``user``: confirmed while seats are left, else waitlisted.

    Raises :class:`RegistrationClosed` or :class:`AlreadyRegistered` (no row is written).
    """
    meeting = _lock_meeting(meeting)
    _check_open(meeting)
    existing = active_registration_for_user(meeting, user)
    if existing is not None:
        raise AlreadyRegistered(existing)
    # Seats freed earlier (a capacity raised without fill_free_seats) go to the waitlist first.
    fill_free_seats(meeting)
    status = _status_for_new_seat(meeting)
    registration = _insert(
        Registration(
            meeting_id=meeting.id,
            user_id=user.id,
            organization_id=organization.id if organization is not None else None,
            organization_name="" if organization is not None else organization_name.strip(),
            status=status,
            confirmed_at=utcnow() if status is RegistrationStatus.CONFIRMED else None,
            notified_sequence=meeting.sequence,
        )
    )
    log.info("registration %s of user %s: %s", registration.id, user.id, status)
    return registration


@dataclass
class GuestResult:
    """What :func:`register_guest` did; ``token`` is the only copy of the manage link's secret."""

    registration: Registration
    token: str
    created: bool


def register_guest(
    meeting: Meeting,
    *,
    name: str,
    email: str,
    organization_name: str,
    locale: str,
) -> GuestResult:
    """Register a guest as ``pending`` and mail the confirmation link (double opt-in).

    A second registration of the same address writes no row: a still pending one gets a new
    confirmation mail (new link), an active one a mail with a new manage link. The caller shows
    the same answer in every case, so nobody learns who registered.
    Raises :class:`GuestsNotAllowed` or :class:`RegistrationClosed`.
    """
    meeting = _lock_meeting(meeting)
    if not accepts_guests(meeting):
        raise GuestsNotAllowed(_l("Guests cannot register for this meeting."))
    _check_open(meeting)
    email = email.strip().lower()
    token, token_hash = new_token()
    registration = active_registration_for_email(meeting, email)
    created = registration is None
    if registration is None:
        registration = _insert(
            Registration(
                meeting_id=meeting.id,
                guest_name=name.strip(),
                guest_email=email,
                organization_name=organization_name.strip(),
                status=RegistrationStatus.PENDING,
                manage_token_hash=token_hash,
                consent_at=utcnow(),
                locale=_known_locale(locale),
                notified_sequence=meeting.sequence,
            )
        )
    else:
        registration.manage_token_hash = token_hash
        registration.locale = _known_locale(locale) or registration.locale
        if registration.status is RegistrationStatus.PENDING:
            # A fresh start for the confirmation period, so the purge job spares the new link.
            registration.created_at = utcnow()
            registration.consent_at = utcnow()
        db.session.flush()
    audit.record(
        GUEST_REGISTERED,
        actor=None,
        object_type="registration",
        object_id=registration.id,
        detail=str(locale),
    )
    if registration.status is RegistrationStatus.PENDING:
        queue_mail(
            recipient=email,
            locale=locale,
            subject=_l("Please confirm your registration: %(title)s", title=meeting.title),
            template="mail/registration_confirm",
            url_endpoint=("registrations.manage", {"token": token}),
            meeting=meeting,
            guest_name=registration.guest_name,
            purge_hours=int(UNCONFIRMED_GUEST_TTL.total_seconds() // 3600),
        )
    else:
        queue_mail(
            recipient=email,
            locale=locale,
            subject=_l("You are already registered: %(title)s", title=meeting.title),
            template="mail/registration_already",
            url_endpoint=("registrations.manage", {"token": token}),
            meeting=meeting,
            guest_name=registration.guest_name,
            status=registration.status.value,
        )
    log.info("guest registration %s (created: %s)", registration.id, created)
    return GuestResult(registration=registration, token=token, created=created)


def confirm_guest(registration: Registration) -> Registration:
    """Confirm a pending guest's email address: confirmed if a seat is left, else waitlisted.

    A guest who registered in time may still confirm after the deadline, but not after the start
    or for a cancelled meeting (:class:`RegistrationClosed`). Other statuses stay unchanged.
    """
    meeting = _lock_meeting(registration.meeting)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.PENDING:
        return registration
    if meeting.is_cancelled or meeting.has_started():
        raise RegistrationClosed(closed_reason(meeting))
    fill_free_seats(meeting)
    status = _status_for_new_seat(meeting)
    registration.status = status
    # The guest learns the meeting as it is now; only later changes are mailed to them.
    registration.notified_sequence = meeting.sequence
    if status is RegistrationStatus.CONFIRMED:
        registration.confirmed_at = utcnow()
    db.session.flush()
    log.info("guest registration %s confirmed by email: %s", registration.id, status)
    return registration


def cancel_registration(
    registration: Registration, *, actor: User | None = None, force: bool = False
) -> list[Registration]:
    """Cancel ``registration`` and give its seat to the first waitlisted person.

    People cancel their own registration until the meeting starts (else
    :class:`CancellationClosed`); managers pass ``force=True``. Cancelling a cancelled
    registration does nothing. Returns the promoted registrations.
    """
    meeting = _lock_meeting(registration.meeting)
    db.session.refresh(registration)
    if registration.status is RegistrationStatus.CANCELLED:
        return []
    if not force and meeting.has_started():
        raise CancellationClosed(
            _l("The meeting has started; the registration can't be cancelled.")
        )
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = utcnow()
    db.session.flush()
    log.info(
        "registration %s cancelled by %s",
        registration.id,
        actor.id if actor is not None else "the guest",
    )
    return fill_free_seats(meeting)


def remove_registration(registration: Registration, *, actor: User) -> list[Registration]:
    """A manager removes someone's registration; the waitlist moves up."""
    promoted = cancel_registration(registration, actor=actor, force=True)
    audit.record(
        "registration.removed",
        actor=actor,
        object_type="registration",
        object_id=registration.id,
        detail=str(registration.meeting_id),
    )
    return promoted


def fill_free_seats(meeting: Meeting) -> list[Registration]:
    """Promote waitlisted people (oldest first) into free seats and email each of them.

    Call it after raising a meeting's capacity (or removing it). Nothing happens for cancelled
    or started meetings. Returns the promoted registrations.
    """
    meeting = _lock_meeting(meeting)
    if meeting.is_cancelled or meeting.has_started():
        return []
    left = seats_left(meeting)
    if left == 0:
        return []
    query = (
        sa.select(Registration)
        .options(joinedload(Registration.user))
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .order_by(Registration.created_at, Registration.id)
    )
    if left is not None:
        query = query.limit(left)
    promoted = list(db.session.scalars(query))
    now = utcnow()
    for registration in promoted:
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = now
    db.session.flush()
    for registration in promoted:
        _mail_promotion(registration, meeting)
        log.info("registration %s promoted from the waitlist", registration.id)
    return promoted


def _meeting_url(meeting: Meeting) -> str:
    # /meetings/<id> is a fixed address (DESIGN §4); the meetings blueprint serves it.
    return f"{current_app.config['BASE_URL'].rstrip('/')}/meetings/{meeting.id}"


def _known_locale(locale: str) -> Locale | None:
    return Locale(locale) if locale in set(Locale) else None


def guest_locale(registration: Registration) -> str:
    """The interface language the guest used when registering (default: the network's).

    Registrations made before the ``locale`` column existed have it in the audit trail.
    """
    if registration.locale is not None:
        return str(registration.locale)
    locale = db.session.scalar(
        sa.select(AuditEvent.detail)
        .where(
            AuditEvent.action == GUEST_REGISTERED,
            AuditEvent.object_type == "registration",
            AuditEvent.object_id == registration.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if locale in current_app.config["LANGUAGES"]:
        return str(locale)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def registration_locale(registration: Registration) -> str:
    """A member's saved language, or the guest's registration-time language."""
    if registration.user is not None:
        return str(registration.user.locale)
    return guest_locale(registration)


def _mail_promotion(registration: Registration, meeting: Meeting) -> None:
    recipient = registration.user.email if registration.user else registration.guest_email
    if not recipient:
        return
    queue_mail(
        recipient=recipient,
        locale=registration_locale(registration),
        subject=_l("You have a seat: %(title)s", title=meeting.title),
        template="mail/registration_promoted",
        dedupe_key=f"registration-promoted-{registration.id}",
        meeting=meeting,
        name=registration.display_name,
        is_guest=registration.is_guest,
        url=_meeting_url(meeting),
    )


def purge_unconfirmed_guests(older_than: timedelta = UNCONFIRMED_GUEST_TTL) -> int:
    """Delete guest registrations whose confirmation never came; returns how many."""
    cutoff = utcnow() - older_than
    result = db.session.execute(
        sa.delete(Registration)
        .where(
            Registration.user_id.is_(None),
            Registration.status == RegistrationStatus.PENDING,
            Registration.created_at < cutoff,
        )
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    log.info("%s unconfirmed guest registrations deleted", count)
    return count
