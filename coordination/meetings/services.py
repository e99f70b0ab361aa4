"""Scheduling meetings and series: queries and changes. Functions flush; callers commit.

A series keeps its rule in local wall-clock time and generates concrete :class:`Meeting` rows
ahead of time. Each row's ``series_slot`` is the start the rule produced for it; the unique
``(series_id, series_slot)`` constraint makes generation idempotent.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from coordination.audit import services as audit
from coordination.auth.models import Role, User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import GroupMembership, GroupRole, WorkingGroup
from coordination.meetings.models import (
    Frequency,
    Meeting,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
)
from coordination.meetings.permissions import visible_meetings_clause
from coordination.timeutil import local_midnight_utc, local_to_utc, local_today, utc_to_local

log = logging.getLogger(__name__)

#: Series generate their occurrences this many months ahead.
MONTHS_AHEAD = 12

#: A change of any of these is a change of time, place or status: calendar apps must update.
SEQUENCE_FIELDS = (
    "starts_at",
    "ends_at",
    "is_all_day",
    "venue_name",
    "venue_address",
    "online_url",
    "status",
)

#: Fields of a meeting that a series copies into each occurrence (besides times).
SERIES_DEFAULT_FIELDS = (
    "title",
    "kind",
    "group_id",
    "venue_name",
    "venue_address",
    "online_url",
    "is_online_url_public",
    "description",
    "visibility",
    "capacity",
    "allows_guests",
)

#: Fields "this and all following" carries over from the edited occurrence (besides times).
FOLLOWING_FIELDS = (*SERIES_DEFAULT_FIELDS, "is_registration_open")


class MeetingCancelled(Exception):
    """The meeting was cancelled; cancelling is final."""


# --- who may schedule what ---------------------------------------------------------------------


def schedulable_groups(user: Any) -> list[WorkingGroup]:
    """Groups ``user`` may schedule meetings for: all readable ones for moderators and admins,
    the groups they lead for everybody else."""
    if user is None or not user.is_authenticated:
        return []
    query = sa.select(WorkingGroup).order_by(WorkingGroup.name)
    if user.role in (Role.ADMIN, Role.MODERATOR):
        query = query.where(groups.readable_groups_clause(user))
    else:
        query = query.where(
            WorkingGroup.id.in_(
                sa.select(GroupMembership.group_id).where(
                    GroupMembership.user_id == user.id, GroupMembership.role == GroupRole.LEAD
                )
            )
        )
    return list(db.session.scalars(query))


def schedulable_kinds(user: Any) -> list[MeetingKind]:
    """Moderators and admins schedule every kind; group leads only group meetings."""
    if user is not None and user.is_authenticated and user.role in (Role.ADMIN, Role.MODERATOR):
        return list(MeetingKind)
    return [MeetingKind.GROUP]


# --- lists -------------------------------------------------------------------------------------


def meetings_query(
    user: Any,
    *,
    past: bool = False,
    kind: MeetingKind | None = None,
    group_id: int | None = None,
    now: datetime | None = None,
) -> sa.Select:
    """Meetings ``user`` may see: upcoming (not yet ended, soonest first) or past (latest first).

    The group is loaded in the same query, so a list page costs the same whatever its length.
    """
    now = now or utcnow()
    query = (
        sa.select(Meeting).options(joinedload(Meeting.group)).where(visible_meetings_clause(user))
    )
    if past:
        query = query.where(Meeting.ends_at <= now).order_by(
            Meeting.starts_at.desc(), Meeting.id.desc()
        )
    else:
        query = query.where(Meeting.ends_at > now).order_by(Meeting.starts_at, Meeting.id)
    if kind is not None:
        query = query.where(Meeting.kind == kind)
    if group_id is not None:
        query = query.where(Meeting.group_id == group_id)
    return query


def readable_groups(user: Any) -> list[WorkingGroup]:
    """Groups whose meetings ``user`` may filter by (none for visitors)."""
    return list(
        db.session.scalars(
            sa.select(WorkingGroup)
            .where(groups.readable_groups_clause(user))
            .order_by(WorkingGroup.name)
        )
    )


# --- single meetings ---------------------------------------------------------------------------


def _apply(meeting: Meeting, fields: dict[str, Any]) -> bool:
    """Set ``fields`` on ``meeting``; bump ``sequence`` once if time, place or status changed."""
    relevant = moved = False
    for key, value in fields.items():
        if getattr(meeting, key) != value:
            setattr(meeting, key, value)
            relevant = relevant or key in SEQUENCE_FIELDS
            moved = moved or key == "starts_at"
    if relevant and meeting.id is not None:
        meeting.sequence = (meeting.sequence or 0) + 1
        if moved or meeting.status is MeetingStatus.CANCELLED:
            # A reminder rendered for the old time, or for a meeting that no longer takes
            # place, must not go out; the next run reminds of the new time.
            from coordination.notifications.invitations import withdraw_reminders

            withdraw_reminders(meeting)
    return relevant


#: A second identical submission within this time is taken for a double click.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)


def recent_duplicate(model: type[Meeting] | type[MeetingSeries], actor: User, **match: Any) -> Any:
    """The same meeting or series ``actor`` created moments ago (a repeated form submission).

    ``match`` holds the submitted fields; all of them must be equal.
    """
    conditions = [getattr(model, key) == value for key, value in match.items()]
    return db.session.scalar(
        sa.select(model)
        .where(
            model.created_by_id == actor.id,
            model.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
            *conditions,
        )
        .order_by(model.id.desc())
        .limit(1)
    )


def create_meeting(*, actor: User | None, **fields: Any) -> Meeting:
    """Schedule a meeting. Its ``ical_uid`` is fixed from now on."""
    meeting = Meeting(created_by_id=actor.id if actor is not None else None, **fields)
    meeting.sequence = 0
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting.created", actor=actor, object_type="meeting", object_id=meeting.id)
    log.info("meeting %s created by user %s", meeting.id, actor.id if actor else "-")
    return meeting


def update_meeting(meeting: Meeting, *, actor: User | None, **fields: Any) -> bool:
    """Change a meeting's details; an occurrence of a series becomes detached from it.

    Returns whether time, place or status changed (and ``sequence`` was bumped).
    """
    if meeting.is_cancelled:
        raise MeetingCancelled(meeting.id)
    changed = any(getattr(meeting, key) != value for key, value in fields.items())
    old_capacity = meeting.capacity
    relevant = _apply(meeting, fields)
    if meeting.series_id is not None and changed:
        meeting.is_detached = True
    db.session.flush()
    _fill_seats_if_grown(meeting, old_capacity)
    if changed:
        audit.record(
            "meeting.updated",
            actor=actor,
            object_type="meeting",
            object_id=meeting.id,
            detail="time_or_place" if relevant else "",
        )
    return relevant


def _fill_seats_if_grown(meeting: Meeting, old_capacity: int | None) -> None:
    """More seats than before (or no limit any more): move people up from the waitlist."""
    new_capacity = meeting.capacity
    grown = old_capacity is not None and (new_capacity is None or new_capacity > old_capacity)
    if grown:
        from coordination.registrations.services import fill_free_seats

        fill_free_seats(meeting)


def cancel_meeting(meeting: Meeting, *, actor: User | None, now: datetime | None = None) -> None:
    """Cancel a meeting (final). It stays visible, marked as cancelled."""
    if meeting.is_cancelled:
        raise MeetingCancelled(meeting.id)
    _apply(meeting, {"status": MeetingStatus.CANCELLED})
    meeting.cancelled_at = now or utcnow()
    if meeting.series_id is not None:
        meeting.is_detached = True
    db.session.flush()
    audit.record("meeting.cancelled", actor=actor, object_type="meeting", object_id=meeting.id)
    log.info("meeting %s cancelled by user %s", meeting.id, actor.id if actor else "-")


# --- recurrence rules --------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def horizon(today: date | None = None) -> date:
    """The last day series occurrences are generated for."""
    return add_months(today or local_today(), MONTHS_AHEAD)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The ``nth`` (1–5, or -1 for the last) ``weekday`` of a month, if the month has one."""
    days = [
        day
        for day in calendar.Calendar().itermonthdates(year, month)
        if day.month == month and day.weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if 1 <= nth <= len(days) else None


def week_of_month_for(day: date) -> int:
    """The position of ``day`` among its month's same weekdays: 1–4, or -1 for a fifth."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth > 4 else nth


@dataclass(frozen=True)
class Rule:
    """A recurrence rule, independent of the model (for checks before anything is saved)."""

    frequency: Frequency
    interval: int
    weekday: int | None
    week_of_month: int | None
    day_of_month: int | None
    start_date: date
    until_date: date | None

    @classmethod
    def of(cls, series: MeetingSeries) -> Rule:
        return cls(
            frequency=series.frequency,
            interval=series.interval,
            weekday=series.weekday,
            week_of_month=series.week_of_month,
            day_of_month=series.day_of_month,
            start_date=series.start_date,
            until_date=series.until_date,
        )

    def _candidates(self, last: date) -> Iterator[date]:
        start = self.start_date
        if self.frequency is Frequency.WEEKLY:
            weekday = start.weekday() if self.weekday is None else self.weekday
            day = start + timedelta(days=(weekday - start.weekday()) % 7)
            while True:
                yield day
                day += timedelta(weeks=self.interval)
        month_start = start.replace(day=1)
        step = 0
        while True:
            first = add_months(month_start, step)
            if first > last:
                return
            step += self.interval
            if self.frequency is Frequency.MONTHLY_WEEKDAY:
                weekday = start.weekday() if self.weekday is None else self.weekday
                nth = self.week_of_month or week_of_month_for(start)
                day = nth_weekday(first.year, first.month, weekday, nth)
            else:
                wanted = self.day_of_month or start.day
                length = calendar.monthrange(first.year, first.month)[1]
                day = first.replace(day=wanted) if wanted <= length else None
            if day is not None and day >= start:
                yield day

    def dates(self, first: date, last: date) -> list[date]:
        """Occurrence dates from ``first`` to ``last`` (both inclusive)."""
        if self.until_date is not None:
            last = min(last, self.until_date)
        result = []
        for day in self._candidates(last):
            if day > last:
                break
            if day >= first:
                result.append(day)
        return result


def occurrence_dates(series: MeetingSeries, first: date, last: date) -> list[date]:
    return Rule.of(series).dates(first, last)


def slot_for(series: MeetingSeries, day: date) -> datetime:
    """UTC start of the occurrence on ``day``: the series' local time, past a DST gap if need be."""
    return local_to_utc(day, series.start_time, strict=False)


def _occurrence(series: MeetingSeries, slot: datetime) -> Meeting:
    fields = {name: getattr(series, name) for name in SERIES_DEFAULT_FIELDS}
    closes = (
        None
        if series.registration_closes_hours is None
        else slot - timedelta(hours=series.registration_closes_hours)
    )
    return Meeting(
        **fields,
        starts_at=slot,
        ends_at=slot + timedelta(minutes=series.duration_minutes),
        is_all_day=False,
        registration_closes_at=closes,
        series_id=series.id,
        series_slot=slot,
        created_by_id=series.created_by_id,
        sequence=0,
    )


def generate_occurrences(series: MeetingSeries, *, until: date | None = None) -> list[Meeting]:
    """Create the occurrences of ``series`` up to ``until`` (default: 12 months ahead).

    Idempotent: slots that exist already are skipped, and ``generated_until`` remembers how far
    the series got. Concurrent runs for the same series wait for each other.
    """
    lock_for_update(db.session, f"meeting-series:{series.id}")
    until = until or horizon()
    first = series.start_date
    if series.generated_until is not None:
        first = max(first, series.generated_until + timedelta(days=1))
    last = until if series.until_date is None else min(until, series.until_date)
    created: list[Meeting] = []
    if first <= last:
        slots = [slot_for(series, day) for day in occurrence_dates(series, first, last)]
        existing = set(
            db.session.scalars(
                sa.select(Meeting.series_slot).where(
                    Meeting.series_id == series.id, Meeting.series_slot.in_(slots)
                )
            )
            if slots
            else []
        )
        for slot in slots:
            if slot not in existing:
                meeting = _occurrence(series, slot)
                db.session.add(meeting)
                created.append(meeting)
    if series.generated_until is None or last > series.generated_until:
        series.generated_until = max(last, series.start_date - timedelta(days=1))
    db.session.flush()
    if created:
        log.info("series %s: %d occurrences generated", series.id, len(created))
    return created


def create_series(*, actor: User | None, until: date | None = None, **fields: Any) -> MeetingSeries:
    """Create a series and generate its occurrences 12 months ahead."""
    series = MeetingSeries(created_by_id=actor.id if actor is not None else None, **fields)
    db.session.add(series)
    db.session.flush()
    created = generate_occurrences(series, until=until)
    audit.record(
        "meeting_series.created",
        actor=actor,
        object_type="meeting_series",
        object_id=series.id,
        detail=str(len(created)),
    )
    return series


def open_series() -> list[MeetingSeries]:
    """Series that may still need occurrences: no end, or not generated up to their end."""
    return list(
        db.session.scalars(
            sa.select(MeetingSeries)
            .where(
                sa.or_(
                    MeetingSeries.until_date.is_(None),
                    MeetingSeries.generated_until.is_(None),
                    MeetingSeries.generated_until < MeetingSeries.until_date,
                )
            )
            .order_by(MeetingSeries.id)
        )
    )


def extend_all_series(*, until: date | None = None) -> dict[int, int]:
    """Generate occurrences up to ``until`` (default 12 months ahead) for every open series.

    Returns the number of new occurrences per series id.
    """
    until = until or horizon()
    return {series.id: len(generate_occurrences(series, until=until)) for series in open_series()}


def end_series(
    series: MeetingSeries,
    *,
    until_date: date,
    actor: User | None,
    now: datetime | None = None,
) -> list[Meeting]:
    """End ``series`` after ``until_date``: later occurrences are cancelled, never deleted.

    Occurrences that have started already are left as they are.
    """
    now = now or utcnow()
    series.until_date = until_date
    after = local_midnight_utc(until_date + timedelta(days=1))
    cancelled = list(
        db.session.scalars(
            sa.select(Meeting).where(
                Meeting.series_id == series.id,
                Meeting.starts_at >= after,
                Meeting.starts_at > now,
                Meeting.status == MeetingStatus.SCHEDULED,
            )
        )
    )
    for meeting in cancelled:
        _apply(meeting, {"status": MeetingStatus.CANCELLED})
        meeting.cancelled_at = now
    db.session.flush()
    audit.record(
        "meeting_series.ended",
        actor=actor,
        object_type="meeting_series",
        object_id=series.id,
        detail=until_date.isoformat(),
    )
    for meeting in cancelled:
        audit.record("meeting.cancelled", actor=actor, object_type="meeting", object_id=meeting.id)
    log.info("series %s ended; %d occurrences cancelled", series.id, len(cancelled))
    return cancelled


# --- "this and all following" ------------------------------------------------------------------


def following_occurrences(meeting: Meeting, now: datetime | None = None) -> list[Meeting]:
    """``meeting`` and the later occurrences of its series that have not started yet."""
    if meeting.series_id is None or meeting.series_slot is None:
        return [meeting]
    now = now or utcnow()
    later = db.session.scalars(
        sa.select(Meeting)
        .where(
            Meeting.series_id == meeting.series_id,
            Meeting.series_slot > meeting.series_slot,
            Meeting.starts_at > now,
        )
        .order_by(Meeting.series_slot)
    )
    return [meeting, *later]


def _period(day: date, frequency: Frequency) -> int:
    """Week number (weekly series) or month number (monthly series) of ``day``."""
    if frequency is Frequency.WEEKLY:
        return (day.toordinal() - day.weekday()) // 7
    return day.year * 12 + day.month - 1


def _local(value: datetime) -> datetime:
    return utc_to_local(value)


def update_following(
    meeting: Meeting,
    *,
    actor: User | None,
    now: datetime | None = None,
    **fields: Any,
) -> MeetingSeries:
    """Apply an edit of ``meeting`` to it and to all later occurrences of its series.

    Only what differs from the meeting's current values is carried over, so other occurrences
    keep their own changes. A new local time or duration recomputes each occurrence's times
    on its own date. Moving the meeting to another day changes the rule itself: the series ends
    the day before, a new series starts on the new day, and the following occurrences move into
    it (same ``ical_uid``; one per week or month, matched by their position). Cancelled
    occurrences keep their status and times. Returns the series the occurrences now belong to.
    """
    series = meeting.series
    if series is None:
        raise ValueError("not an occurrence of a series")
    if meeting.is_cancelled:
        raise MeetingCancelled(meeting.id)
    now = now or utcnow()
    old_start = _local(meeting.starts_at)
    new_start = _local(fields["starts_at"])
    old_duration = meeting.ends_at - meeting.starts_at
    duration = fields["ends_at"] - fields["starts_at"]
    old_offset = _offset(meeting.starts_at, meeting.registration_closes_at)
    offset = _offset(fields["starts_at"], fields.get("registration_closes_at"))
    changes = {
        key: fields[key]
        for key in FOLLOWING_FIELDS
        if key in fields and getattr(meeting, key) != fields[key]
    }
    timing_changed = (
        old_start.time() != new_start.time() or old_duration != duration or old_offset != offset
    )
    rule_fields = {
        **{key: value for key, value in changes.items() if key in SERIES_DEFAULT_FIELDS},
        "start_time": new_start.time(),
        "duration_minutes": max(1, int(duration.total_seconds() // 60)),
        "registration_closes_hours": _hours(offset),
    }
    occurrences = following_occurrences(meeting, now)

    if new_start.date() != old_start.date():
        successor = _split(
            series, meeting, occurrences, new_start.date(), rule_fields, changes, offset, now
        )
        audit.record(
            "meeting_series.split",
            actor=actor,
            object_type="meeting_series",
            object_id=successor.id,
            detail=f"from:{series.id}",
        )
        return successor

    for key, value in rule_fields.items():
        setattr(series, key, value)
    for occurrence in occurrences:
        if occurrence.is_cancelled:
            continue
        update = dict(changes)
        if timing_changed:
            day = _local(occurrence.starts_at).date()
            starts_at = local_to_utc(day, new_start.time(), strict=False)
            update.update(_timing(starts_at, duration, offset))
        old_capacity = occurrence.capacity
        _apply(occurrence, update)
        db.session.flush()
        _fill_seats_if_grown(occurrence, old_capacity)
    db.session.flush()
    audit.record(
        "meeting_series.updated",
        actor=actor,
        object_type="meeting_series",
        object_id=series.id,
        detail=f"from:{meeting.id}",
    )
    return series


def _offset(starts_at: datetime, closes_at: datetime | None) -> timedelta | None:
    return None if closes_at is None else starts_at - closes_at


def _timing(starts_at: datetime, duration: timedelta, offset: timedelta | None) -> dict[str, Any]:
    return {
        "starts_at": starts_at,
        "ends_at": starts_at + duration,
        "registration_closes_at": None if offset is None else starts_at - offset,
    }


def _hours(offset: timedelta | None) -> int | None:
    if offset is None:
        return None
    return max(0, round(offset.total_seconds() / 3600))


def _split(
    series: MeetingSeries,
    meeting: Meeting,
    occurrences: list[Meeting],
    new_day: date,
    rule_fields: dict[str, Any],
    changes: dict[str, Any],
    offset: timedelta | None,
    now: datetime,
) -> MeetingSeries:
    """End ``series`` before ``meeting`` and continue it as a new series from ``new_day``."""
    frequency = series.frequency
    old_day = _local(meeting.series_slot or meeting.starts_at).date()
    reach = max(series.generated_until or new_day, horizon())
    week_of_month = None
    if frequency is Frequency.MONTHLY_WEEKDAY:
        week_of_month = week_of_month_for(new_day)
        # "Last Thursday" stays "last" if the meeting moved to a month's last weekday.
        last = nth_weekday(new_day.year, new_day.month, new_day.weekday(), -1)
        if series.week_of_month == -1 and last == new_day:
            week_of_month = -1
    values = {key: getattr(series, key) for key in SERIES_DEFAULT_FIELDS}
    values.update(rule_fields)
    successor = MeetingSeries(
        **values,
        frequency=frequency,
        interval=series.interval,
        weekday=None if frequency is Frequency.MONTHLY_DAY else new_day.weekday(),
        week_of_month=week_of_month,
        day_of_month=new_day.day if frequency is Frequency.MONTHLY_DAY else None,
        start_date=new_day,
        until_date=None if series.until_date is None else max(series.until_date, new_day),
        created_by_id=series.created_by_id,
    )
    db.session.add(successor)
    series.until_date = old_day - timedelta(days=1)
    db.session.flush()
    from coordination.notifications.invitations import copy_series_audiences

    copy_series_audiences(series, successor)

    new_base = _period(new_day, frequency)
    new_days = {
        _period(day, frequency) - new_base: day for day in Rule.of(successor).dates(new_day, reach)
    }
    old_base = _period(old_day, frequency)
    duration = timedelta(minutes=successor.duration_minutes)
    for occurrence in occurrences:
        slot_day = _local(occurrence.series_slot or occurrence.starts_at).date()
        day = new_days.pop(_period(slot_day, frequency) - old_base, None)
        if day is None:
            if not occurrence.is_cancelled:
                _apply(occurrence, {"status": MeetingStatus.CANCELLED})
                occurrence.cancelled_at = now
            continue
        occurrence.series_id = successor.id
        occurrence.series_slot = slot_for(successor, day)
        if occurrence.is_cancelled:
            occurrence.is_detached = True
            continue
        update = dict(changes)
        update.update(_timing(occurrence.series_slot, duration, offset))
        _apply(occurrence, update)
    db.session.flush()
    generate_occurrences(successor, until=reach)
    return successor
