"""Problems, solutions, endorsements and each problem's timeline. Functions flush; callers commit.

Every change that belongs on a problem's trail writes an :class:`IssueEvent` through
:func:`record_event`; status changes also go to the audit log. Reading functions take the
viewer where visibility matters (meetings on the agenda); callers check that the viewer may
read the group at all.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from coordination.actions.models import Action
from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups.models import WorkingGroup
from coordination.meetings.models import AgendaItem, Meeting
from coordination.meetings.permissions import visible_meetings_clause
from coordination.problems.models import (
    PRIORITY_RANK,
    Endorsement,
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    Priority,
    ProblemStatus,
    Solution,
    SolutionStatus,
)

log = logging.getLogger(__name__)

#: Problems the group still works on.
ACTIVE_STATUSES = (ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS)

#: Which status a problem may move to from each status (leads and admins decide).
PROBLEM_TRANSITIONS: dict[ProblemStatus, tuple[ProblemStatus, ...]] = {
    ProblemStatus.OPEN: (ProblemStatus.IN_PROGRESS, ProblemStatus.RESOLVED, ProblemStatus.CLOSED),
    ProblemStatus.IN_PROGRESS: (ProblemStatus.RESOLVED, ProblemStatus.CLOSED, ProblemStatus.OPEN),
    ProblemStatus.RESOLVED: (ProblemStatus.OPEN,),
    ProblemStatus.CLOSED: (ProblemStatus.OPEN,),
}

#: Which status a solution may move to from each status.
SOLUTION_TRANSITIONS: dict[SolutionStatus, tuple[SolutionStatus, ...]] = {
    SolutionStatus.PROPOSED: (
        SolutionStatus.TRIAL,
        SolutionStatus.ADOPTED,
        SolutionStatus.REJECTED,
    ),
    SolutionStatus.TRIAL: (
        SolutionStatus.ADOPTED,
        SolutionStatus.REJECTED,
        SolutionStatus.PROPOSED,
    ),
    SolutionStatus.ADOPTED: (SolutionStatus.PROPOSED,),
    SolutionStatus.REJECTED: (SolutionStatus.PROPOSED,),
}

#: A second identical submit within this time returns the first problem or solution.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)


class TransitionNotAllowed(Exception):
    """The requested status cannot follow the current one."""


# --- queries ----------------------------------------------------------------------------------


def priority_rank() -> sa.Case[Any]:
    """SQL expression ranking priorities, most pressing first (0 = urgent)."""
    return sa.case(
        {priority.value: rank for priority, rank in PRIORITY_RANK.items()},
        value=GroupIssue.priority,
        else_=len(PRIORITY_RANK),
    )


def problems_query(
    group: WorkingGroup, statuses: Iterable[ProblemStatus] | None = None
) -> sa.Select[tuple[GroupIssue]]:
    """The group's problems, optionally only those in ``statuses``; unordered."""
    query = sa.select(GroupIssue).where(GroupIssue.group_id == group.id)
    if statuses is not None:
        query = query.where(GroupIssue.status.in_(list(statuses)))
    return query


def open_problems(group: WorkingGroup) -> list[GroupIssue]:
    """The group's open and in-progress problems, most pressing first, then oldest first."""
    query = problems_query(group, ACTIVE_STATUSES).order_by(
        priority_rank(), GroupIssue.created_at, GroupIssue.id
    )
    return list(db.session.scalars(query))


def get_issue(group: WorkingGroup, issue_id: int) -> GroupIssue | None:
    """The problem ``issue_id`` if it belongs to ``group`` (else ``None``), reporter loaded."""
    return db.session.scalar(
        sa.select(GroupIssue)
        .options(joinedload(GroupIssue.reporter))
        .where(GroupIssue.id == issue_id, GroupIssue.group_id == group.id)
    )


def get_solution(issue: GroupIssue, solution_id: int) -> Solution | None:
    """The solution ``solution_id`` if it belongs to ``issue`` (else ``None``)."""
    return db.session.scalar(
        sa.select(Solution).where(Solution.id == solution_id, Solution.issue_id == issue.id)
    )


def status_counts(group: WorkingGroup) -> dict[ProblemStatus, int]:
    """Number of the group's problems per status, every status present (one query)."""
    counts = dict.fromkeys(ProblemStatus, 0)
    rows = db.session.execute(
        sa.select(GroupIssue.status, sa.func.count(GroupIssue.id))
        .where(GroupIssue.group_id == group.id)
        .group_by(GroupIssue.status)
    )
    for status, count in rows:
        counts[ProblemStatus(status)] = count
    return counts


def solution_counts(issue_ids: Iterable[int]) -> dict[int, int]:
    """Number of solutions per problem, for the given problems only (one query)."""
    ids = list(issue_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Solution.issue_id, sa.func.count(Solution.id))
        .where(Solution.issue_id.in_(ids))
        .group_by(Solution.issue_id)
    )
    return {issue_id: count for issue_id, count in rows}


def solutions_for(issue: GroupIssue) -> list[Solution]:
    """The problem's solutions, oldest first, proposers loaded (one query)."""
    return list(
        db.session.scalars(
            sa.select(Solution)
            .options(joinedload(Solution.proposer))
            .where(Solution.issue_id == issue.id)
            .order_by(Solution.created_at, Solution.id)
        )
    )


def endorsement_counts(solution_ids: Iterable[int]) -> dict[int, int]:
    ids = list(solution_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Endorsement.solution_id, sa.func.count(Endorsement.id))
        .where(Endorsement.solution_id.in_(ids))
        .group_by(Endorsement.solution_id)
    )
    return {solution_id: count for solution_id, count in rows}


def endorsed_by(user: Any, solution_ids: Iterable[int]) -> set[int]:
    """Which of the solutions ``user`` endorses (one query; empty for visitors)."""
    ids = list(solution_ids)
    if not ids or user is None or not user.is_authenticated:
        return set()
    return set(
        db.session.scalars(
            sa.select(Endorsement.solution_id).where(
                Endorsement.solution_id.in_(ids), Endorsement.user_id == user.id
            )
        )
    )


@dataclass(frozen=True)
class ProblemSummary:
    """What a group page shows about the group's problems."""

    counts: dict[ProblemStatus, int]
    #: The most pressing open or in-progress problems.
    top: list[GroupIssue]

    @property
    def active(self) -> int:
        return sum(self.counts[status] for status in ACTIVE_STATUSES)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def problem_summary(group: WorkingGroup, limit: int = 5) -> ProblemSummary:
    """Counts per status and the ``limit`` most pressing active problems (two queries)."""
    top = db.session.scalars(
        problems_query(group, ACTIVE_STATUSES)
        .order_by(priority_rank(), GroupIssue.created_at, GroupIssue.id)
        .limit(limit)
    )
    return ProblemSummary(counts=status_counts(group), top=list(top))


# --- the timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    #: An :class:`IssueEventKind` value.
    kind: str
    #: Name of who did it; ``None`` when the account is gone or nobody is recorded.
    actor_name: str | None
    #: A status value for status changes, else "".
    detail: str = ""
    solution_id: int | None = None
    action_id: int | None = None
    action_title: str | None = None
    meeting_id: int | None = None
    meeting_title: str | None = None
    #: Sort key among entries at the same instant.
    order: int = 0


def timeline(issue: GroupIssue, viewer: Any) -> list[TimelineEntry]:
    """Everything that happened to ``issue``, oldest first, as ``viewer`` may see it.

    Two queries: the issue's events with their actors, actions and meetings, and the
    meetings whose agenda lists the problem. Meetings the viewer may not see are left out, also
    when an event refers to them.
    """
    events = db.session.execute(
        sa.select(IssueEvent, User.name, Action.title, Meeting.title)
        .outerjoin(User, User.id == IssueEvent.actor_id)
        .outerjoin(Action, Action.id == IssueEvent.action_id)
        .outerjoin(Meeting, Meeting.id == IssueEvent.meeting_id)
        .where(
            IssueEvent.issue_id == issue.id,
            sa.or_(IssueEvent.meeting_id.is_(None), visible_meetings_clause(viewer)),
        )
        .order_by(IssueEvent.created_at, IssueEvent.id)
    ).all()
    agenda = db.session.execute(
        sa.select(Meeting.id, Meeting.title, Meeting.starts_at)
        .join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
        .where(AgendaItem.problem_id == issue.id, visible_meetings_clause(viewer))
        .distinct()
    ).all()
    on_agenda = {meeting_id for meeting_id, _title, _starts in agenda}
    # Who put the problem on a meeting's agenda, when the agenda integration recorded it.
    put_by = {
        event.meeting_id: actor_name
        for event, actor_name, _action, _meeting in events
        if event.kind is IssueEventKind.ON_AGENDA and event.meeting_id is not None
    }
    entries = [
        TimelineEntry(
            at=event.created_at,
            kind=event.kind.value,
            actor_name=actor_name,
            detail=event.detail,
            solution_id=event.solution_id,
            action_id=event.action_id,
            action_title=action_title,
            meeting_id=event.meeting_id,
            meeting_title=meeting_title,
            order=event.id,
        )
        for event, actor_name, action_title, meeting_title in events
        # A meeting still on the agenda appears once, at the meeting's time (below).
        if not (event.kind is IssueEventKind.ON_AGENDA and event.meeting_id in on_agenda)
    ]
    entries.extend(
        TimelineEntry(
            at=starts_at,
            kind=IssueEventKind.ON_AGENDA.value,
            actor_name=put_by.get(meeting_id),
            meeting_id=meeting_id,
            meeting_title=title,
        )
        for meeting_id, title, starts_at in agenda
    )
    entries.sort(key=lambda entry: (entry.at, entry.order))
    return entries


# --- changes ----------------------------------------------------------------------------------


def _value(detail: enum.Enum | str) -> str:
    return detail.value if isinstance(detail, enum.Enum) else str(detail)


def record_event(
    issue: GroupIssue,
    kind: IssueEventKind,
    *,
    actor: User | None,
    detail: enum.Enum | str = "",
    solution: Solution | None = None,
    action: Action | None = None,
    meeting: Meeting | None = None,
) -> IssueEvent:
    """Add an entry to the problem's timeline (and mark the problem as changed).

    ``detail`` is a status value (enum or its string), never free text.
    """
    now = utcnow()
    event = IssueEvent(
        issue_id=issue.id,
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        detail=_value(detail)[:60],
        solution_id=solution.id if solution is not None else None,
        action_id=action.id if action is not None else None,
        meeting_id=meeting.id if meeting is not None else None,
        created_at=now,
    )
    db.session.add(event)
    issue.updated_at = now
    db.session.flush()
    log.info("issue %s: %s by user %s", issue.id, kind.value, event.actor_id)
    return event


def create_problem(
    group: WorkingGroup, *, title: str, description: str, priority: Priority, actor: User
) -> GroupIssue:
    """Log a problem in ``group``. An identical submit moments later returns the first one."""
    lock_for_update(db.session, f"group-issues:{group.id}")
    title = title.strip()
    description = description.strip()
    duplicate = db.session.scalar(
        sa.select(GroupIssue).where(
            GroupIssue.group_id == group.id,
            GroupIssue.reporter_id == actor.id,
            GroupIssue.title == title,
            GroupIssue.description == description,
            GroupIssue.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
    )
    if duplicate is not None:
        return duplicate
    issue = GroupIssue(
        group_id=group.id,
        title=title,
        description=description,
        priority=priority,
        status=ProblemStatus.OPEN,
        reporter_id=actor.id,
    )
    db.session.add(issue)
    db.session.flush()
    record_event(issue, IssueEventKind.CREATED, actor=actor)
    audit.record("group_issue.created", actor=actor, object_type="group_issue", object_id=issue.id)
    return issue


def update_problem(
    issue: GroupIssue, *, title: str, description: str, priority: Priority, actor: User
) -> None:
    """Change a problem's title, description and priority."""
    issue.title = title.strip()
    issue.description = description.strip()
    issue.priority = priority
    db.session.flush()
    log.info("issue %s edited by user %s", issue.id, actor.id)


def change_status(issue: GroupIssue, status: ProblemStatus, *, actor: User) -> bool:
    """Move the problem to ``status``. ``False`` if it has that status already.

    Raises :class:`TransitionNotAllowed` for a change the workflow does not allow.
    """
    lock_for_update(db.session, f"group-issue:{issue.id}")
    db.session.refresh(issue, ["status"])
    if issue.status is status:
        return False
    if status not in PROBLEM_TRANSITIONS[issue.status]:
        raise TransitionNotAllowed(f"{issue.status.value} -> {status.value}")
    issue.status = status
    record_event(issue, IssueEventKind.STATUS_CHANGED, actor=actor, detail=status)
    audit.record(
        "group_issue.status_changed",
        actor=actor,
        object_type="group_issue",
        object_id=issue.id,
        detail=status.value,
    )
    return True


def propose_solution(issue: GroupIssue, *, text: str, actor: User) -> Solution:
    """Add a proposed solution. An identical submit moments later returns the first one."""
    lock_for_update(db.session, f"issue-solutions:{issue.id}")
    text = text.strip()
    duplicate = db.session.scalar(
        sa.select(Solution).where(
            Solution.issue_id == issue.id,
            Solution.proposer_id == actor.id,
            Solution.text == text,
            Solution.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
    )
    if duplicate is not None:
        return duplicate
    solution = Solution(
        issue_id=issue.id, text=text, proposer_id=actor.id, status=SolutionStatus.PROPOSED
    )
    db.session.add(solution)
    db.session.flush()
    record_event(issue, IssueEventKind.SOLUTION_PROPOSED, actor=actor, solution=solution)
    return solution


def endorse(solution: Solution, *, user: User) -> bool:
    """Endorse ``solution`` once. ``False`` if ``user`` endorses it already.

    A concurrent second submit hits the unique constraint inside a savepoint and is ignored.
    """
    exists = db.session.scalar(
        sa.select(Endorsement.id).where(
            Endorsement.solution_id == solution.id, Endorsement.user_id == user.id
        )
    )
    if exists is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Endorsement(solution_id=solution.id, user_id=user.id))
    except IntegrityError:
        log.info("solution %s: endorsement by user %s already there", solution.id, user.id)
        return False
    record_event(solution.issue, IssueEventKind.ENDORSED, actor=user, solution=solution)
    return True


def withdraw_endorsement(solution: Solution, *, user: User) -> bool:
    """Withdraw ``user``'s endorsement. ``False`` if there was none."""
    result = db.session.execute(
        sa.delete(Endorsement).where(
            Endorsement.solution_id == solution.id, Endorsement.user_id == user.id
        )
    )
    if not result.rowcount:
        return False
    record_event(
        solution.issue, IssueEventKind.ENDORSEMENT_WITHDRAWN, actor=user, solution=solution
    )
    return True


def change_solution_status(
    solution: Solution, status: SolutionStatus, *, outcome_note: str, actor: User
) -> bool:
    """Move a solution to ``status`` and keep the outcome note. ``False`` if nothing changed.

    With the current status only the note changes (no timeline entry). Raises
    :class:`TransitionNotAllowed` for a change the workflow does not allow.
    """
    lock_for_update(db.session, f"solution:{solution.id}")
    db.session.refresh(solution, ["status", "outcome_note"])
    outcome_note = outcome_note.strip()
    if solution.status is status:
        if solution.outcome_note == outcome_note:
            return False
        solution.outcome_note = outcome_note
        db.session.flush()
        return True
    if status not in SOLUTION_TRANSITIONS[solution.status]:
        raise TransitionNotAllowed(f"{solution.status.value} -> {status.value}")
    solution.status = status
    solution.outcome_note = outcome_note
    db.session.flush()
    record_event(
        solution.issue,
        IssueEventKind.SOLUTION_STATUS_CHANGED,
        actor=actor,
        detail=status,
        solution=solution,
    )
    audit.record(
        "solution.status_changed",
        actor=actor,
        object_type="solution",
        object_id=solution.id,
        detail=status.value,
    )
    return True
