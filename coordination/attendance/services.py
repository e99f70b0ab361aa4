"""Attendance: the check-in list, status changes, walk-ins, CSV exports and statistics.

Functions flush; callers commit. Registrations are read here directly (confirmed and
waitlisted people count as registered), so check-in does not depend on how they were made.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.meetings.models import Meeting, MeetingKind, MeetingStatus
from coordination.meetings.permissions import visible_meetings_clause
from coordination.organizations.models import Organization
from coordination.registrations.models import Registration, RegistrationStatus
from coordination.timeutil import local_midnight_utc, utc_to_local

log = logging.getLogger(__name__)

#: Registrations that put a person on the check-in list, in the order the list shows them.
REGISTERED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


class AlreadyOnList(Exception):
    """The person is on the meeting's list already (registered or added before)."""


# --- the check-in list ----------------------------------------------------------------------


@dataclass
class CheckinRow:
    """One person on a meeting's check-in list.

    ``registration`` is set for registered people, ``attendance`` once a status was recorded
    (walk-ins always have one). ``key`` is the row's HTML id: ``r-<registration id>`` or
    ``a-<attendance id>``.
    """

    key: str
    name: str
    organization: str
    registration: Registration | None
    attendance: Attendance | None

    @property
    def status(self) -> AttendanceStatus | None:
        return self.attendance.status if self.attendance is not None else None

    @property
    def is_registered(self) -> bool:
        return self.registration is not None

    @property
    def is_waitlisted(self) -> bool:
        return (
            self.registration is not None
            and self.registration.status is RegistrationStatus.WAITLISTED
        )

    @property
    def is_walk_in(self) -> bool:
        return self.registration is None

    @property
    def checked_in_at(self) -> Any:
        return self.attendance.checked_in_at if self.attendance is not None else None

    def matches(self, query: str) -> bool:
        """Case-insensitive substring match on the name or the organisation."""
        needle = query.casefold()
        return needle in self.name.casefold() or needle in self.organization.casefold()


def _sort_key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def checkin_rows(meeting: Meeting, query: str = "") -> list[CheckinRow]:
    """Everyone on ``meeting``'s list: confirmed, then waitlisted, then walk-ins, by name.

    Two queries, whatever the number of people. ``query`` filters by name or organisation.
    """
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status.in_(REGISTERED_STATUSES),
        )
        .options(joinedload(Registration.user), joinedload(Registration.organization))
    ).all()
    attendances = db.session.scalars(
        sa.select(Attendance)
        .where(Attendance.meeting_id == meeting.id)
        .options(
            joinedload(Attendance.user),
            joinedload(Attendance.organization),
            joinedload(Attendance.registration).joinedload(Registration.user),
        )
    ).all()
    by_registration = {a.registration_id: a for a in attendances if a.registration_id}
    # A member added as a walk-in who registered afterwards: one person, one row.
    by_user = {a.user_id: a for a in attendances if a.user_id and not a.registration_id}
    shown: set[int] = set()

    groups: dict[RegistrationStatus, list[CheckinRow]] = {s: [] for s in REGISTERED_STATUSES}
    for registration in registrations:
        attendance = by_registration.get(registration.id)
        if attendance is None and registration.user_id is not None:
            attendance = by_user.get(registration.user_id)
        if attendance is not None:
            shown.add(attendance.id)
        organization = (
            attendance.represented_organization
            if attendance is not None
            else registration.represented_organization
        )
        groups[registration.status].append(
            CheckinRow(
                key=f"r-{registration.id}",
                name=registration.display_name,
                organization=organization,
                registration=registration,
                attendance=attendance,
            )
        )
    # Walk-ins, and people checked in whose registration was cancelled afterwards.
    walk_ins = [
        CheckinRow(
            key=f"a-{attendance.id}",
            name=attendance.display_name,
            organization=attendance.represented_organization,
            registration=None,
            attendance=attendance,
        )
        for attendance in attendances
        if attendance.id not in shown
    ]
    rows: list[CheckinRow] = []
    for part in (*groups.values(), walk_ins):
        rows.extend(sorted(part, key=lambda row: _sort_key(row.name)))
    if query:
        rows = [row for row in rows if row.matches(query)]
    return rows


def attendance_counts(meeting: Meeting) -> dict[str, int]:
    """Numbers for the top of the check-in page: present, excused, absent and registered."""
    counts = dict.fromkeys(("present", "excused", "absent", "registered"), 0)
    for status, number in db.session.execute(
        sa.select(Attendance.status, sa.func.count())
        .where(Attendance.meeting_id == meeting.id)
        .group_by(Attendance.status)
    ):
        counts[AttendanceStatus(status).value] = number
    counts["registered"] = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Registration)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.status.in_(REGISTERED_STATUSES),
            )
        )
        or 0
    )
    return counts


def registered_registration(meeting: Meeting, registration_id: int) -> Registration | None:
    """The meeting's confirmed or waitlisted registration with this id (else ``None``)."""
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.id == registration_id,
            Registration.meeting_id == meeting.id,
            Registration.status.in_(REGISTERED_STATUSES),
        )
    )


def meeting_attendance(meeting: Meeting, attendance_id: int) -> Attendance | None:
    """The attendance row with this id if it belongs to ``meeting`` (else ``None``)."""
    return db.session.scalar(
        sa.select(Attendance).where(
            Attendance.id == attendance_id, Attendance.meeting_id == meeting.id
        )
    )


# --- recording ------------------------------------------------------------------------------


def _lock(meeting: Meeting) -> None:
    # Serialise concurrent clicks on the same meeting (PostgreSQL; SQLite writers already are),
    # so "look up, then insert" cannot create two rows for one person.
    lock_for_update(db.session, f"attendance:{meeting.id}")


def _apply_status(attendance: Attendance, status: AttendanceStatus, actor: User) -> None:
    attendance.status = status
    attendance.recorded_by_id = actor.id
    if status is AttendanceStatus.PRESENT and attendance.checked_in_at is None:
        attendance.checked_in_at = utcnow()


def set_registration_status(
    registration: Registration, status: AttendanceStatus, *, actor: User
) -> Attendance:
    """Record ``status`` for a registered person, creating their attendance row if needed.

    The organisation represented is copied from the registration. A member who was added as
    a walk-in before registering keeps that one row, now linked to the registration.
    """
    meeting = registration.meeting
    _lock(meeting)
    conditions = [Attendance.registration_id == registration.id]
    if registration.user_id is not None:
        conditions.append(Attendance.user_id == registration.user_id)
    attendance = db.session.scalar(
        sa.select(Attendance)
        .where(Attendance.meeting_id == meeting.id, sa.or_(*conditions))
        .order_by(Attendance.registration_id.is_(None))
        .limit(1)
    )
    if attendance is None:
        attendance = Attendance(
            meeting_id=meeting.id,
            registration_id=registration.id,
            user_id=registration.user_id,
            # Kept so that the row still names the person if the registration is deleted.
            guest_name=registration.guest_name if registration.user_id is None else "",
            organization_id=registration.organization_id,
            organization_name=registration.organization_name,
        )
        db.session.add(attendance)
    elif attendance.registration_id is None:
        attendance.registration_id = registration.id
    _apply_status(attendance, status, actor)
    db.session.flush()
    log.info(
        "attendance %s of registration %s set to %s by user %s",
        attendance.id,
        registration.id,
        status.value,
        actor.id,
    )
    return attendance


def set_attendance_status(
    attendance: Attendance, status: AttendanceStatus, *, actor: User
) -> Attendance:
    """Record ``status`` on an existing attendance row (a walk-in or a registered person)."""
    _lock(attendance.meeting)
    _apply_status(attendance, status, actor)
    db.session.flush()
    log.info("attendance %s set to %s by user %s", attendance.id, status.value, actor.id)
    return attendance


def walk_in_candidates(meeting: Meeting) -> list[tuple[int, str]]:
    """(id, label) of active accounts not yet on ``meeting``'s list, by name (one query)."""
    registered = sa.select(Registration.user_id).where(
        Registration.meeting_id == meeting.id,
        Registration.status.in_(REGISTERED_STATUSES),
        Registration.user_id.is_not(None),
    )
    attending = sa.select(Attendance.user_id).where(
        Attendance.meeting_id == meeting.id, Attendance.user_id.is_not(None)
    )
    users = db.session.scalars(
        sa.select(User)
        .where(User.is_active.is_(True), User.id.not_in(registered), User.id.not_in(attending))
        .options(selectinload(User.organizations))
        .order_by(User.name, User.id)
    )
    choices = []
    for user in users:
        organizations = ", ".join(org.name for org in user.organizations)
        choices.append((user.id, f"{user.name} ({organizations})" if organizations else user.name))
    return choices


def _is_on_list(meeting: Meeting, user: User) -> bool:
    attending = sa.select(Attendance.id).where(
        Attendance.meeting_id == meeting.id, Attendance.user_id == user.id
    )
    registered = sa.select(Registration.id).where(
        Registration.meeting_id == meeting.id,
        Registration.user_id == user.id,
        Registration.status.in_(REGISTERED_STATUSES),
    )
    return db.session.scalar(sa.select(sa.or_(attending.exists(), registered.exists()))) or False


def add_walk_in_user(
    meeting: Meeting,
    user: User,
    *,
    organization_id: int | None,
    organization_name: str,
    actor: User,
) -> Attendance:
    """Add an account holder who came without registering, marked present.

    Without a chosen organisation the person's first organisation is taken. Raises
    :class:`AlreadyOnList` if they are registered or listed already (also when two
    submissions race: the unique constraint ``uq_attendance_user`` decides).
    """
    _lock(meeting)
    if _is_on_list(meeting, user):
        raise AlreadyOnList(user.id)
    if organization_id is None and not organization_name and user.organizations:
        organization_id = user.organizations[0].id
    attendance = Attendance(
        meeting_id=meeting.id,
        user_id=user.id,
        organization_id=organization_id,
        organization_name=organization_name,
    )
    _apply_status(attendance, AttendanceStatus.PRESENT, actor)
    try:
        with db.session.begin_nested():
            db.session.add(attendance)
    except IntegrityError as error:
        raise AlreadyOnList(user.id) from error
    log.info(
        "walk-in user %s added to meeting %s as attendance %s by user %s",
        user.id,
        meeting.id,
        attendance.id,
        actor.id,
    )
    return attendance


def add_walk_in_guest(
    meeting: Meeting,
    *,
    name: str,
    organization_id: int | None,
    organization_name: str,
    actor: User,
) -> Attendance:
    """Add a walk-in guest without an account (name and organisation only), marked present.

    The same name with the same organisation a second time is taken for a double submit and
    raises :class:`AlreadyOnList`.
    """
    _lock(meeting)
    name = name.strip()
    wanted = (name.casefold(), organization_id, organization_name.strip().casefold())
    guests = db.session.execute(
        sa.select(
            Attendance.guest_name, Attendance.organization_id, Attendance.organization_name
        ).where(
            Attendance.meeting_id == meeting.id,
            Attendance.user_id.is_(None),
            Attendance.registration_id.is_(None),
        )
    )
    if any((g.casefold(), o, n.strip().casefold()) == wanted for g, o, n in guests):
        raise AlreadyOnList(name)
    attendance = Attendance(
        meeting_id=meeting.id,
        guest_name=name,
        organization_id=organization_id,
        organization_name=organization_name,
    )
    _apply_status(attendance, AttendanceStatus.PRESENT, actor)
    db.session.add(attendance)
    db.session.flush()
    log.info(
        "walk-in guest added to meeting %s as attendance %s by user %s",
        meeting.id,
        attendance.id,
        actor.id,
    )
    return attendance


# --- CSV ------------------------------------------------------------------------------------

#: Characters that make spreadsheet programs read a cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> str:
    """A cell's text, with a leading ``'`` if a spreadsheet would take it for a formula.

    ``None`` becomes an empty cell; numbers (int, float) are written as they are.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """``rows`` as CSV for German Excel: UTF-8 with BOM, ``;`` separator, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_response(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """A CSV download that opens correctly in German Excel. Reuse it for every export.

    :param rows: the header row first, then the data rows; each a sequence of cells. Text
        cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
        leading apostrophe, so no cell runs as a formula; ``None`` is an empty cell.
    :param filename: the download's file name, e.g. ``attendance-2025-03-11.csv`` (non-ASCII
        characters are allowed; an ASCII fallback is sent for old browsers).
    """
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    response = Response(csv_bytes(rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def local_timestamp(value: Any) -> str:
    """An aware UTC datetime as local ``YYYY-MM-DD HH:MM`` (Excel recognises it), or ``""``."""
    if value is None:
        return ""
    return utc_to_local(value).strftime("%Y-%m-%d %H:%M")


def meeting_local_date(meeting: Meeting) -> date:
    return utc_to_local(meeting.starts_at).date()


# --- statistics -----------------------------------------------------------------------------

#: Oldest and newest dates the statistics filter accepts (keeps date arithmetic in range).
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


@dataclass(frozen=True)
class StatisticsFilter:
    """Which meetings the statistics count: a local date range (inclusive) and a kind."""

    start: date
    end: date
    kind: MeetingKind | None

    @classmethod
    def default(cls, today: date) -> StatisticsFilter:
        """The last twelve months of network meetings."""
        return cls(start=_one_year_before(today), end=today, kind=MeetingKind.NETWORK)

    @classmethod
    def from_args(cls, args: Any, today: date) -> StatisticsFilter:
        """Read ``from``, ``to`` (ISO dates) and ``kind`` (a kind or ``all``); bad values fall
        back to the defaults, dates are clamped to a sane range and put in order."""
        default = cls.default(today)
        start = _parse_date(args.get("from")) or default.start
        end = _parse_date(args.get("to")) or default.end
        if start > end:
            start, end = end, start
        kind_value = args.get("kind")
        if kind_value == "all":
            kind = None
        elif kind_value in {kind.value for kind in MeetingKind}:
            kind = MeetingKind(kind_value)
        else:
            kind = default.kind
        return cls(start=start, end=end, kind=kind)

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (for links to the CSV downloads)."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "kind": self.kind.value if self.kind is not None else "all",
        }

    def clause(self) -> sa.ColumnElement[bool]:
        """SQL condition on ``Meeting``: held (not cancelled), in the range, of the kind."""
        conditions = [
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.starts_at >= local_midnight_utc(self.start),
            Meeting.starts_at < local_midnight_utc(self.end + timedelta(days=1)),
        ]
        if self.kind is not None:
            conditions.append(Meeting.kind == self.kind)
        return sa.and_(*conditions)


def _one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _parse_date(value: str | None) -> date | None:
    if not value or len(value) > 10:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return min(max(parsed, EARLIEST_DATE), LATEST_DATE)


@dataclass(frozen=True)
class MeetingStats:
    meeting_id: int
    title: str
    kind: MeetingKind
    starts_at: Any
    present: int
    excused: int
    absent: int
    registered: int


@dataclass(frozen=True)
class OrganizationStats:
    name: str
    meetings: int
    attendances: int


def _status_count(status: AttendanceStatus) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((Attendance.status == status, 1), else_=0)), 0)


def meeting_statistics(viewer: Any, filters: StatisticsFilter) -> list[MeetingStats]:
    """Per meeting the viewer may see: present, excused, absent, registered; by date.

    One query, whatever the number of meetings (counts are grouped in subqueries).
    """
    attendance = (
        sa.select(
            Attendance.meeting_id.label("meeting_id"),
            _status_count(AttendanceStatus.PRESENT).label("present"),
            _status_count(AttendanceStatus.EXCUSED).label("excused"),
            _status_count(AttendanceStatus.ABSENT).label("absent"),
        )
        .group_by(Attendance.meeting_id)
        .subquery()
    )
    registered = (
        sa.select(Registration.meeting_id.label("meeting_id"), sa.func.count().label("number"))
        .where(Registration.status.in_(REGISTERED_STATUSES))
        .group_by(Registration.meeting_id)
        .subquery()
    )
    query = (
        sa.select(
            Meeting.id,
            Meeting.title,
            Meeting.kind,
            Meeting.starts_at,
            sa.func.coalesce(attendance.c.present, 0),
            sa.func.coalesce(attendance.c.excused, 0),
            sa.func.coalesce(attendance.c.absent, 0),
            sa.func.coalesce(registered.c.number, 0),
        )
        .outerjoin(attendance, attendance.c.meeting_id == Meeting.id)
        .outerjoin(registered, registered.c.meeting_id == Meeting.id)
        .where(visible_meetings_clause(viewer), filters.clause())
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [
        MeetingStats(
            meeting_id=row[0],
            title=row[1],
            kind=MeetingKind(row[2]),
            starts_at=row[3],
            present=int(row[4]),
            excused=int(row[5]),
            absent=int(row[6]),
            registered=int(row[7]),
        )
        for row in db.session.execute(query)
    ]


def organization_statistics(
    viewer: Any, filters: StatisticsFilter
) -> tuple[list[OrganizationStats], int]:
    """Organisations represented at the meetings the viewer may see, most meetings first.

    Directory organisations and free-text names are merged by name (ignoring case and
    surrounding spaces). Returns the list and the number of attendances that named no
    organisation. One query.
    """
    label = sa.func.trim(sa.func.coalesce(Organization.name, Attendance.organization_name))
    key = sa.func.lower(label)
    query = (
        sa.select(
            # The directory's spelling wins over free text that differs only in case.
            sa.func.coalesce(sa.func.min(Organization.name), sa.func.min(label)),
            sa.func.count(sa.distinct(Attendance.meeting_id)),
            sa.func.count(Attendance.id),
        )
        .select_from(Attendance)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .outerjoin(Organization, Organization.id == Attendance.organization_id)
        .where(
            Attendance.status == AttendanceStatus.PRESENT,
            visible_meetings_clause(viewer),
            filters.clause(),
        )
        .group_by(key)
    )
    organizations = []
    unnamed = 0
    for name, meetings, attendances in db.session.execute(query):
        name = (name or "").strip()
        if not name:
            unnamed += int(attendances)
            continue
        organizations.append(OrganizationStats(name, int(meetings), int(attendances)))
    organizations.sort(key=lambda org: (-org.meetings, -org.attendances, org.name.casefold()))
    return organizations, unnamed
