"""A meeting's agenda and minutes: queries and changes. Functions flush; callers commit.

Agenda positions are kept dense (0..n-1) and unique per meeting: every change takes the
meeting's agenda lock, reads the items in order and renumbers them, so removals, concurrent
edits and repeated submits cannot leave gaps or ties.

Working-group meetings can pull in the group's open problems (one item per problem, linked by
``problem_id``) and its open actions (one item per action, titled after it, whose notes link to
the action), and are offered what the group's previous meeting left open. Pulling in and adding
proposals are idempotent: what is on the agenda already is not added again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from coordination.actions import services as actions
from coordination.actions.models import Action, ActionStatus
from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.meetings.models import (
    AgendaItem,
    AgendaOutcome,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    Visibility,
)
from coordination.meetings.permissions import can_manage_meeting, can_view_meeting
from coordination.problems import services as problems
from coordination.problems.models import GroupIssue, IssueEvent, IssueEventKind

log = logging.getLogger(__name__)


class OutcomeTooEarly(Exception):
    """Outcomes can only be recorded once the meeting has started."""


class ItemGone(Exception):
    """The item was removed (by another request) before this change could be made."""


class NotAGroupMeeting(Exception):
    """Problems and actions belong on the agendas of working-group meetings only."""


class NoSuchProposal(LookupError):
    """The proposal is not (or no longer) among what the previous meeting left open."""


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
        # The linked project's name and address come in the same query.
        .options(joinedload(AgendaItem.project))
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
    project_id: int | None = None,
    actor: User | None,
) -> AgendaItem:
    """Append an item at the end of the agenda, optionally about a shared project."""
    items = _lock_agenda(meeting)
    item = AgendaItem(
        meeting_id=meeting.id,
        position=len(items),
        title=title.strip(),
        notes=notes,
        duration_minutes=duration_minutes,
        project_id=project_id,
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
    project_id: int | None = _UNCHANGED,
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
    if project_id is not _UNCHANGED:
        item.project_id = project_id
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


# --- working-group meetings -----------------------------------------------------------------


def is_group_meeting(meeting: Meeting) -> bool:
    return meeting.kind is MeetingKind.GROUP and meeting.group_id is not None


def offers_group_content(meeting: Meeting) -> bool:
    """Whether the group's problems and actions may be copied onto this agenda.

    Only for group meetings whose agenda the group's readers alone can see: a public meeting
    shows its agenda to visitors, who may not read any group's content.
    """
    return is_group_meeting(meeting) and meeting.visibility is not Visibility.PUBLIC


def holds_group_content(meetings: Iterable[Meeting]) -> bool:
    """Whether any of these agendas carries a group's problems or actions (their titles).

    Such a meeting must not become public: visitors would read the group's work on its page
    and in the public feed. One query for all the meetings.
    """
    ids = [meeting.id for meeting in meetings if meeting.id is not None]
    if not ids:
        return False
    items = db.session.execute(
        sa.select(AgendaItem.problem_id, AgendaItem.notes).where(AgendaItem.meeting_id.in_(ids))
    )
    return any(
        problem_id is not None or _ACTION_LINK.search(notes or "") for problem_id, notes in items
    )


@dataclass(frozen=True)
class NewItem:
    title: str
    notes: str = ""
    duration_minutes: int | None = None
    problem_id: int | None = None


def _append(meeting: Meeting, items: list[AgendaItem], new: list[NewItem]) -> list[AgendaItem]:
    """Append ``new`` after ``items`` (the locked, renumbered agenda)."""
    added = []
    for offset, spec in enumerate(new):
        item = AgendaItem(
            meeting_id=meeting.id,
            position=len(items) + offset,
            title=spec.title.strip()[:200],
            notes=spec.notes,
            duration_minutes=spec.duration_minutes,
            problem_id=spec.problem_id,
        )
        db.session.add(item)
        added.append(item)
    db.session.flush()
    return added


def _mark_on_agenda(meeting: Meeting, issues: list[GroupIssue], actor: User | None) -> None:
    """Put "on the agenda of <meeting>" on each problem's timeline (once per meeting)."""
    if not issues:
        return
    marked = set(
        db.session.scalars(
            sa.select(IssueEvent.issue_id).where(
                IssueEvent.issue_id.in_([issue.id for issue in issues]),
                IssueEvent.kind == IssueEventKind.ON_AGENDA,
                IssueEvent.meeting_id == meeting.id,
            )
        )
    )
    for issue in issues:
        if issue.id not in marked:
            problems.record_event(issue, IssueEventKind.ON_AGENDA, actor=actor, meeting=meeting)


def _action_path(action: Action) -> str:
    if has_request_context():
        return url_for("actions.detail", action_id=action.id)
    return f"/actions/{action.id}"


_ACTION_LINK = re.compile(r"/actions/([0-9]{1,10})\)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def action_item_notes(action: Action, today: date) -> str:
    """Notes of an agenda item for an action: owner, due date, overdue, a link to the action.

    The link also tells later pull-ins that the action is on this agenda already.
    """
    owner = action.owner.name if action.owner is not None else _("nobody")
    parts = [_("Owner: %(name)s", name=_escape_markdown(owner))]
    if action.due_date is not None:
        parts.append(_("due %(date)s", date=format_date(action.due_date, "medium")))
        if action.is_overdue(today):
            parts.append("**" + _("Overdue") + "**")
    return " · ".join(parts) + f"\n\n[{_('Open the action')}]({_action_path(action)})"


def _action_ids_in(items: list[AgendaItem]) -> set[int]:
    return {int(found) for item in items for found in _ACTION_LINK.findall(item.notes or "")}


def _is_on_agenda(action: Action, items: list[AgendaItem]) -> bool:
    return action.id in _action_ids_in(items) or any(item.title == action.title for item in items)


def pull_in_problems(meeting: Meeting, *, actor: User | None) -> list[AgendaItem]:
    """Append the group's open and in-progress problems that are not on the agenda yet.

    Most pressing first; each problem's timeline notes the meeting. Returns the new items.
    """
    if not is_group_meeting(meeting):
        raise NotAGroupMeeting(meeting.id)
    items = _lock_agenda(meeting)
    present = {item.problem_id for item in items if item.problem_id is not None}
    missing = [issue for issue in problems.open_problems(meeting.group) if issue.id not in present]
    added = _append(meeting, items, [NewItem(title=i.title, problem_id=i.id) for i in missing])
    _mark_on_agenda(meeting, missing, actor)
    log.info(
        "%d problems pulled into meeting %s by user %s",
        len(added),
        meeting.id,
        actor.id if actor else "-",
    )
    return added


def pull_in_actions(meeting: Meeting, *, actor: User | None, today: date) -> list[AgendaItem]:
    """Append one item per open action of the group (overdue first) not on the agenda yet."""
    if not is_group_meeting(meeting):
        raise NotAGroupMeeting(meeting.id)
    items = _lock_agenda(meeting)
    missing = [
        action
        for action in actions.group_open_actions(meeting.group, today)
        if not _is_on_agenda(action, items)
    ]
    added = _append(
        meeting,
        items,
        [NewItem(title=a.title, notes=action_item_notes(a, today)) for a in missing],
    )
    log.info(
        "%d actions pulled into meeting %s by user %s",
        len(added),
        meeting.id,
        actor.id if actor else "-",
    )
    return added


def previous_meeting(meeting: Meeting) -> Meeting | None:
    """The group's latest meeting before this one (cancelled meetings did not take place)."""
    if not is_group_meeting(meeting):
        return None
    return db.session.scalar(
        sa.select(Meeting)
        .where(
            Meeting.group_id == meeting.group_id,
            Meeting.kind == MeetingKind.GROUP,
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at < meeting.starts_at,
            Meeting.id != meeting.id,
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Proposal:
    """Something the previous meeting left open, offered for this meeting's agenda."""

    #: ``"item"`` (an item without outcome), ``"problem"`` (still open) or ``"action"``
    #: (agreed there or on its agenda, still open).
    kind: str
    ref: int
    title: str
    on_agenda: bool
    item: AgendaItem | None = None
    problem: GroupIssue | None = None
    action: Action | None = None


@dataclass(frozen=True)
class Proposals:
    previous: Meeting | None
    entries: list[Proposal]

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def pending(self) -> list[Proposal]:
        return [entry for entry in self.entries if not entry.on_agenda]


def proposals_for(meeting: Meeting, items: list[AgendaItem] | None = None) -> Proposals:
    """What the group's previous meeting left open, each marked if it is on this agenda.

    At most four queries: the previous meeting, its items, their open problems, open actions.
    """
    previous = previous_meeting(meeting)
    if previous is None:
        return Proposals(previous=None, entries=[])
    current = agenda_items(meeting) if items is None else items
    titles = {item.title for item in current}
    current_problems = {item.problem_id for item in current if item.problem_id is not None}
    old_items = agenda_items(previous)
    listed_actions = _action_ids_in(old_items)
    entries = [
        Proposal(
            kind="item", ref=item.id, title=item.title, on_agenda=item.title in titles, item=item
        )
        for item in old_items
        if item.outcome is None and item.problem_id is None and not _action_ids_in([item])
    ]
    old_problems = {item.problem_id for item in old_items if item.problem_id is not None}
    if old_problems:
        still_open = db.session.scalars(
            sa.select(GroupIssue)
            .where(
                GroupIssue.id.in_(old_problems),
                GroupIssue.group_id == meeting.group_id,
                GroupIssue.status.in_(problems.ACTIVE_STATUSES),
            )
            .order_by(problems.priority_rank(), GroupIssue.created_at, GroupIssue.id)
        )
        entries += [
            Proposal(
                kind="problem",
                ref=issue.id,
                title=issue.title,
                on_agenda=issue.id in current_problems,
                problem=issue,
            )
            for issue in still_open
        ]
    open_actions = db.session.scalars(
        sa.select(Action)
        .options(joinedload(Action.owner))
        .where(
            sa.or_(Action.meeting_id == previous.id, Action.id.in_(listed_actions)),
            Action.group_id == meeting.group_id,
            Action.status == ActionStatus.OPEN,
        )
        .order_by(Action.due_date.is_(None), Action.due_date, Action.id)
    ).unique()
    entries += [
        Proposal(
            kind="action",
            ref=action.id,
            title=action.title,
            on_agenda=_is_on_agenda(action, current),
            action=action,
        )
        for action in open_actions
    ]
    return Proposals(previous=previous, entries=entries)


def add_proposal(
    meeting: Meeting, kind: str, ref: int, *, actor: User | None, today: date
) -> AgendaItem | None:
    """Add one proposal to the agenda; ``None`` if it is there already (a repeated click).

    Raises :class:`NoSuchProposal` for anything the previous meeting did not leave open.
    """
    proposal = next(
        (p for p in proposals_for(meeting).entries if p.kind == kind and p.ref == ref), None
    )
    if proposal is None:
        raise NoSuchProposal(f"{kind}:{ref}")
    items = _lock_agenda(meeting)
    if proposal.problem is not None:
        if any(item.problem_id == proposal.problem.id for item in items):
            return None
        new = NewItem(title=proposal.problem.title, problem_id=proposal.problem.id)
    elif proposal.action is not None:
        if _is_on_agenda(proposal.action, items):
            return None
        new = NewItem(title=proposal.action.title, notes=action_item_notes(proposal.action, today))
    elif proposal.item is not None:
        old = proposal.item
        if any(item.title == old.title for item in items):
            return None
        new = NewItem(title=old.title, notes=old.notes, duration_minutes=old.duration_minutes)
    else:  # pragma: no cover - every proposal carries its object
        raise NoSuchProposal(f"{kind}:{ref}")
    (item,) = _append(meeting, items, [new])
    if proposal.problem is not None:
        _mark_on_agenda(meeting, [proposal.problem], actor)
    log.info(
        "proposal %s:%s added to meeting %s by user %s",
        kind,
        ref,
        meeting.id,
        actor.id if actor else "-",
    )
    return item


def record_agreed_action(
    item: AgendaItem,
    *,
    title: str,
    owner: User,
    due_date: date | None,
    actor: User,
) -> Action:
    """An action agreed under ``item``: linked to the meeting, the item and the item's problem.

    The item's outcome becomes "action agreed" unless another outcome is recorded already.
    Raises :class:`NotAGroupMeeting`, :class:`OutcomeTooEarly`, or
    :class:`coordination.actions.services.OwnerNotMember`.
    """
    meeting = item.meeting
    if not is_group_meeting(meeting):
        raise NotAGroupMeeting(meeting.id)
    if not can_record_outcomes(meeting):
        raise OutcomeTooEarly(meeting.id)
    issue = item.problem
    if issue is not None and issue.group_id != meeting.group_id:
        issue = None
    action = actions.create_action(
        meeting.group,
        title=title,
        owner=owner,
        actor=actor,
        due_date=due_date,
        issue=issue,
        meeting=meeting,
        agenda_item=item,
    )
    if item.outcome is None:
        item.outcome = AgendaOutcome.ACTION
        db.session.flush()
    return action


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
