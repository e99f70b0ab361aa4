"""A meeting's agenda and minutes: queries and changes. Functions flush; callers commit.

Agenda positions are kept dense (0..n-1) and unique per meeting: every change takes the
meeting's agenda lock, reads the items in order and renumbers them, so removals, concurrent
edits and repeated submits cannot leave gaps or ties.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.meetings.models import (
    AgendaItem,
    AgendaOutcome,
    Meeting,
    Minutes,
    MinutesStatus,
)
from coordination.meetings.permissions import can_manage_meeting, can_view_meeting

log = logging.getLogger(__name__)


class OutcomeTooEarly(Exception):
    """Outcomes can only be recorded once the meeting has started."""


class ItemGone(Exception):
    """The item was removed (by another request) before this change could be made."""


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaEntry:
    item: AgendaItem
    #: 1-based number as shown to people ("TOP 3").
    number: int
    #: Planned start (aware UTC), when the meeting has a start time and every earlier item
    #: has a duration; otherwise ``None``.
    planned_start: datetime | None


@dataclass(frozen=True)
class Agenda:
    entries: list[AgendaEntry]
    #: Sum of the items' planned durations.
    total_minutes: int
    #: Minutes the planned items exceed the meeting's length (0 if they fit or it is all-day).
    overrun_minutes: int

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def agenda_items(meeting: Meeting, *, fresh: bool = False) -> list[AgendaItem]:
    """The meeting's items in order (one query).

    ``fresh`` overwrites items already loaded in this session with the rows as they are now;
    writers need it after taking the lock, or they would renumber from stale positions.
    """
    query = (
        sa.select(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    if fresh:
        query = query.execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def build_agenda(meeting: Meeting, items: list[AgendaItem]) -> Agenda:
    """Numbers, cumulative planned start times and the total duration of ``items``."""
    timed = not meeting.is_all_day
    cursor: datetime | None = meeting.starts_at if timed else None
    entries = []
    total = 0
    for number, item in enumerate(items, start=1):
        entries.append(AgendaEntry(item=item, number=number, planned_start=cursor))
        if item.duration_minutes:
            total += item.duration_minutes
            if cursor is not None:
                cursor += timedelta(minutes=item.duration_minutes)
        else:
            # Without a duration the following items' start times are unknown.
            cursor = None
    overrun = 0
    if timed and meeting.ends_at is not None:
        length = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
        overrun = max(0, total - length)
    return Agenda(entries=entries, total_minutes=total, overrun_minutes=overrun)


def agenda_for(meeting: Meeting) -> Agenda:
    """The agenda of ``meeting`` for display (one query). Callers check visibility."""
    return build_agenda(meeting, agenda_items(meeting))


def can_record_outcomes(meeting: Meeting, now: datetime | None = None) -> bool:
    """Outcomes belong to a meeting that has started and was not cancelled."""
    return meeting.has_started(now) and not meeting.is_cancelled


def get_minutes(meeting: Meeting) -> Minutes | None:
    """The meeting's minutes with author and publisher loaded (one query), or ``None``."""
    return db.session.scalar(
        sa.select(Minutes)
        .options(joinedload(Minutes.author), joinedload(Minutes.published_by))
        .where(Minutes.meeting_id == meeting.id)
        # A writer reads again after taking the lock: see what others committed meanwhile.
        .execution_options(populate_existing=True)
    )


def minutes_for(meeting: Meeting, user: Any) -> Minutes | None:
    """The minutes ``user`` may read: published ones for viewers, drafts for managers too."""
    if not can_view_meeting(user, meeting):
        return None
    minutes = get_minutes(meeting)
    if minutes is None:
        return None
    if minutes.is_published or can_manage_meeting(user, meeting):
        return minutes
    return None


def draft_outline(meeting: Meeting) -> str:
    """A starting point for new minutes: one heading per agenda item."""
    return "".join(
        f"## {entry.number}. {entry.item.title}\n\n" for entry in agenda_for(meeting).entries
    )


# --- agenda changes -------------------------------------------------------------------------


def _lock_agenda(meeting: Meeting) -> list[AgendaItem]:
    """Serialise agenda writers of ``meeting``; return its items renumbered 0..n-1."""
    lock_for_update(db.session, f"agenda:{meeting.id}")
    items = agenda_items(meeting, fresh=True)
    _renumber(items)
    return items


def _renumber(items: list[AgendaItem]) -> None:
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position


def add_item(
    meeting: Meeting,
    *,
    title: str,
    notes: str = "",
    duration_minutes: int | None = None,
    actor: User | None,
) -> AgendaItem:
    """Append an item at the end of the agenda."""
    items = _lock_agenda(meeting)
    item = AgendaItem(
        meeting_id=meeting.id,
        position=len(items),
        title=title.strip(),
        notes=notes,
        duration_minutes=duration_minutes,
    )
    db.session.add(item)
    db.session.flush()
    log.info(
        "agenda item %s added to meeting %s by user %s",
        item.id,
        meeting.id,
        actor.id if actor else "-",
    )
    return item


_UNCHANGED: Any = object()


def update_item(
    item: AgendaItem,
    *,
    title: str,
    notes: str = "",
    duration_minutes: int | None = None,
    outcome: AgendaOutcome | None = _UNCHANGED,
    outcome_note: str = _UNCHANGED,
    actor: User | None,
) -> None:
    """Change an item; ``outcome``/``outcome_note`` only once the meeting has started."""
    recording = outcome is not _UNCHANGED or outcome_note is not _UNCHANGED
    if recording and not can_record_outcomes(item.meeting):
        raise OutcomeTooEarly(item.meeting_id)
    if item not in _lock_agenda(item.meeting):
        raise ItemGone(item.id)
    item.title = title.strip()
    item.notes = notes
    item.duration_minutes = duration_minutes
    if outcome is not _UNCHANGED:
        item.outcome = outcome
    if outcome_note is not _UNCHANGED:
        item.outcome_note = outcome_note
    db.session.flush()
    log.info("agenda item %s changed by user %s", item.id, actor.id if actor else "-")


def move_item(
    item: AgendaItem,
    *,
    direction: str,
    expected_position: int | None = None,
    actor: User | None,
) -> bool:
    """Swap ``item`` with its neighbour above (``"up"``) or below (``"down"``).

    With ``expected_position`` (the position the item had on the page the button was on),
    a repeated or stale submit changes nothing. Returns whether the item moved.
    """
    if direction not in ("up", "down"):
        raise ValueError(direction)
    items = _lock_agenda(item.meeting)
    index = next((i for i, other in enumerate(items) if other.id == item.id), None)
    if index is None or (expected_position is not None and expected_position != index):
        db.session.flush()
        return False
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        db.session.flush()
        return False
    items[index], items[target] = items[target], items[index]
    _renumber(items)
    db.session.flush()
    log.info("agenda item %s moved %s by user %s", item.id, direction, actor.id if actor else "-")
    return True


def remove_item(item: AgendaItem, *, actor: User | None) -> None:
    """Delete an item; the ones after it move up."""
    meeting = item.meeting
    items = _lock_agenda(meeting)
    if item not in items:
        raise ItemGone(item.id)
    item_id = item.id
    items.remove(item)
    db.session.delete(item)
    db.session.flush()
    _renumber(items)
    db.session.flush()
    log.info(
        "agenda item %s removed from meeting %s by user %s",
        item_id,
        meeting.id,
        actor.id if actor else "-",
    )


# --- minutes --------------------------------------------------------------------------------


def save_minutes(meeting: Meeting, *, body: str, actor: User, publish: bool = False) -> Minutes:
    """Create or change the minutes; publish them if asked.

    Published minutes stay published when edited (their ``updated_at`` tells readers so);
    only :func:`unpublish_minutes` turns them back into a draft.
    """
    # Two first saves at once would both try to insert the meeting's single row.
    lock_for_update(db.session, f"minutes:{meeting.id}")
    minutes = get_minutes(meeting)
    if minutes is None:
        minutes = Minutes(meeting_id=meeting.id, status=MinutesStatus.DRAFT)
        db.session.add(minutes)
    if minutes.body != body or minutes.author_id is None:
        minutes.body = body
        minutes.author_id = actor.id
    if publish and not minutes.is_published:
        now = utcnow()
        minutes.status = MinutesStatus.PUBLISHED
        minutes.published_by_id = actor.id
        minutes.published_at = now
        # Publishing is not an update: "updated" is shown only for later edits.
        minutes.updated_at = now
        db.session.flush()
        audit.record("minutes.published", actor=actor, object_type="meeting", object_id=meeting.id)
    db.session.flush()
    log.info("minutes of meeting %s saved by user %s", meeting.id, actor.id)
    return minutes


def unpublish_minutes(minutes: Minutes, *, actor: User) -> bool:
    """Turn published minutes back into a draft. Returns whether anything changed."""
    lock_for_update(db.session, f"minutes:{minutes.meeting_id}")
    db.session.refresh(minutes)  # a repeated click may have unpublished them meanwhile
    if not minutes.is_published:
        return False
    minutes.status = MinutesStatus.DRAFT
    db.session.flush()
    audit.record(
        "minutes.unpublished", actor=actor, object_type="meeting", object_id=minutes.meeting_id
    )
    return True


def was_updated_after_publishing(minutes: Minutes) -> bool:
    return bool(
        minutes.is_published
        and minutes.published_at is not None
        and minutes.updated_at is not None
        and minutes.updated_at > minutes.published_at
    )
