"""Actions (Maßnahmen): queries, permissions and changes. Functions flush; callers commit.

Every list goes through :func:`coordination.groups.services.readable_groups_clause`, so actions of
a confidential group reach only its members and admins. An action that belongs to a problem
writes the problem's timeline (created, done, dropped); status changes go to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from coordination import timeutil
from coordination.actions.models import Action, ActionStatus
from coordination.audit import services as audit
from coordination.auth.models import Role, User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.groups.permissions import can_view_group
from coordination.meetings.models import AgendaItem, Meeting
from coordination.problems import services as problems
from coordination.problems.models import GroupIssue, IssueEventKind, Solution

log = logging.getLogger(__name__)

#: How many finished actions "my actions" and the group board show.
RECENT_CLOSED = 20

#: A second identical submit within this time returns the first action.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)

_EVENT_FOR_STATUS = {
    ActionStatus.DONE: IssueEventKind.ACTION_DONE,
    ActionStatus.DROPPED: IssueEventKind.ACTION_DROPPED,
}


class OwnerNotMember(ValueError):
    """The chosen owner is not a member of the action's group."""


class WrongGroup(ValueError):
    """A problem, solution, meeting or agenda item of another group (or meeting) was given."""


def today() -> date:
    """Today in the network's time zone: an action due yesterday is overdue from midnight."""
    return timeutil.local_today()


# --- permissions ------------------------------------------------------------------------------


def _authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated)


def can_view_action(user: Any, action: Action) -> bool:
    """Whoever may read the action's group."""
    return can_view_group(user, action.group)


@dataclass(frozen=True)
class Viewer:
    """The current user's group memberships, loaded once for a whole list (two queries)."""

    user_id: int | None
    is_admin: bool = False
    member_ids: frozenset[int] = field(default_factory=frozenset)
    lead_ids: frozenset[int] = field(default_factory=frozenset)

    def can_update(self, action: Action) -> bool:
        """Owner and creator (while members of the group), the group's leads and admins.

        Callers list only actions of groups the user may read.
        """
        if self.user_id is None:
            return False
        if self.is_admin or action.group_id in self.lead_ids:
            return True
        return action.group_id in self.member_ids and self.user_id in (
            action.owner_id,
            action.created_by_id,
        )


def viewer_for(user: Any) -> Viewer:
    if not _authenticated(user):
        return Viewer(user_id=None)
    return Viewer(
        user_id=user.id,
        is_admin=user.role is Role.ADMIN,
        member_ids=frozenset(groups.member_group_ids(user)),
        lead_ids=frozenset(groups.lead_group_ids(user)),
    )


def can_update_action(user: Any, action: Action) -> bool:
    """Change status and edit: owner, creator, the group's leads, admins (if they may read it)."""
    if not can_view_action(user, action):
        return False
    return viewer_for(user).can_update(action)


# --- queries ----------------------------------------------------------------------------------


def _open_order(day: date) -> tuple[Any, ...]:
    """Overdue first, then by due date, actions without a date last."""
    return (
        sa.case((Action.due_date < day, 0), else_=1),
        Action.due_date.is_(None),
        Action.due_date,
        Action.id,
    )


def _closed_order() -> tuple[Any, ...]:
    return (sa.func.coalesce(Action.completed_at, Action.updated_at).desc(), Action.id.desc())


def _mine(user: Any) -> sa.Select[tuple[Action]]:
    """Actions ``user`` owns in groups they may read, group and problem loaded in the same query."""
    return (
        sa.select(Action)
        .join(Action.group)
        .options(contains_eager(Action.group), joinedload(Action.issue))
        .where(Action.owner_id == user.id, groups.readable_groups_clause(user))
    )


def my_open_actions(user: Any, day: date) -> list[Action]:
    """``user``'s open actions across the groups they may read (one query)."""
    if not _authenticated(user):
        return []
    query = _mine(user).where(Action.status == ActionStatus.OPEN).order_by(*_open_order(day))
    return list(db.session.scalars(query).unique())


def my_closed_actions(user: Any, limit: int = RECENT_CLOSED) -> list[Action]:
    """``user``'s most recently finished (done or dropped) actions (one query)."""
    if not _authenticated(user):
        return []
    query = (
        _mine(user)
        .where(Action.status != ActionStatus.OPEN)
        .order_by(*_closed_order())
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


@dataclass(frozen=True)
class ActionCounts:
    open: int
    overdue: int


def my_action_counts(user: Any, day: date | None = None) -> ActionCounts:
    """How many open and overdue actions ``user`` owns in groups they may read (one query)."""
    if not _authenticated(user):
        return ActionCounts(0, 0)
    day = day or today()
    overdue = sa.case((sa.and_(Action.due_date.is_not(None), Action.due_date < day), 1), else_=0)
    row = db.session.execute(
        sa.select(sa.func.count(Action.id), sa.func.coalesce(sa.func.sum(overdue), 0))
        .join(Action.group)
        .where(
            Action.owner_id == user.id,
            Action.status == ActionStatus.OPEN,
            groups.readable_groups_clause(user),
        )
    ).one()
    return ActionCounts(open=int(row[0]), overdue=int(row[1]))


def _of_group(group: WorkingGroup, owner_id: int | None) -> sa.Select[tuple[Action]]:
    query = (
        sa.select(Action)
        .options(joinedload(Action.owner), joinedload(Action.issue))
        .where(Action.group_id == group.id)
    )
    if owner_id is not None:
        query = query.where(Action.owner_id == owner_id)
    return query


def group_open_actions(
    group: WorkingGroup, day: date, *, owner_id: int | None = None, limit: int | None = None
) -> list[Action]:
    """The group's open actions, overdue first, then by due date (one query).

    Callers check that the viewer may read ``group``.
    """
    query = (
        _of_group(group, owner_id)
        .where(Action.status == ActionStatus.OPEN)
        .order_by(*_open_order(day))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query).unique())


def group_closed_actions(
    group: WorkingGroup, *, owner_id: int | None = None, limit: int = RECENT_CLOSED
) -> list[Action]:
    """The group's most recently finished actions (one query)."""
    query = (
        _of_group(group, owner_id)
        .where(Action.status != ActionStatus.OPEN)
        .order_by(*_closed_order())
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def count_open_actions(group: WorkingGroup) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Action.id)).where(
                Action.group_id == group.id, Action.status == ActionStatus.OPEN
            )
        )
        or 0
    )


def actions_for_problem(problem: GroupIssue) -> list[Action]:
    """The problem's actions: open ones first (by due date), then finished ones (one query)."""
    query = (
        sa.select(Action)
        .options(joinedload(Action.owner))
        .where(Action.issue_id == problem.id, Action.group_id == problem.group_id)
        .order_by(
            sa.case((Action.status == ActionStatus.OPEN, 0), else_=1),
            Action.due_date.is_(None),
            Action.due_date,
            Action.id,
        )
    )
    return list(db.session.scalars(query).unique())


def actions_for_agenda_item(item: AgendaItem) -> list[Action]:
    """Actions agreed under an agenda item (one query)."""
    query = (
        sa.select(Action)
        .options(joinedload(Action.owner))
        .where(Action.agenda_item_id == item.id)
        .order_by(Action.id)
    )
    return list(db.session.scalars(query).unique())


def member_choices(group: WorkingGroup) -> list[tuple[int, str]]:
    """(id, name) of the group's active members by name: who may own an action (one query)."""
    rows = db.session.execute(
        sa.select(User.id, User.name)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group.id, User.is_active.is_(True))
        .order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in rows]


def owners_in_group(group: WorkingGroup) -> list[tuple[int, str]]:
    """(id, name) of everybody who owns one of the group's actions, for the board's filter."""
    rows = db.session.execute(
        sa.select(User.id, User.name)
        .join(Action, Action.owner_id == User.id)
        .where(Action.group_id == group.id)
        .distinct()
        .order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in rows]


def problem_choices(
    group: WorkingGroup, include: GroupIssue | None = None
) -> list[tuple[int, str]]:
    """The group's open problems (most pressing first), plus ``include`` if it is closed."""
    issues = problems.open_problems(group)
    if include is not None and include not in issues:
        issues.insert(0, include)
    return [(issue.id, issue.title) for issue in issues]


def _shorten(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def solution_choices(issue: GroupIssue) -> list[tuple[int, str]]:
    return [
        (solution.id, _shorten(solution.text))
        for solution in db.session.scalars(
            sa.select(Solution)
            .where(Solution.issue_id == issue.id)
            .order_by(Solution.created_at, Solution.id)
        )
    ]


def get_group_issue(group: WorkingGroup, issue_id: int) -> GroupIssue | None:
    return db.session.scalar(
        sa.select(GroupIssue).where(GroupIssue.id == issue_id, GroupIssue.group_id == group.id)
    )


def get_group_solution(group: WorkingGroup, solution_id: int) -> Solution | None:
    """A solution to one of ``group``'s problems, or ``None``."""
    return db.session.scalar(
        sa.select(Solution)
        .join(GroupIssue, GroupIssue.id == Solution.issue_id)
        .where(Solution.id == solution_id, GroupIssue.group_id == group.id)
    )


# --- changes ----------------------------------------------------------------------------------


def _check_owner(group: WorkingGroup, owner: User) -> None:
    is_member = db.session.scalar(
        sa.select(GroupMembership.id).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id == owner.id
        )
    )
    if is_member is None:
        raise OwnerNotMember(owner.id)


def _same(column: Any, target: Any) -> sa.ColumnElement[bool]:
    return column.is_(None) if target is None else column == target.id


def create_action(
    group: WorkingGroup,
    *,
    title: str,
    owner: User,
    actor: User,
    notes: str = "",
    due_date: date | None = None,
    issue: GroupIssue | None = None,
    solution: Solution | None = None,
    meeting: Meeting | None = None,
    agenda_item: AgendaItem | None = None,
) -> Action:
    """Create an open action in ``group``; on the problem's timeline if it has one.

    A solution implies its problem; an agenda item implies its meeting. Everything given must
    belong to ``group`` (:class:`WrongGroup`), the owner must be a member (:class:`OwnerNotMember`).
    The same action submitted again by the same person moments later is not created twice.
    """
    if solution is not None:
        if issue is None:
            issue = solution.issue
        elif solution.issue_id != issue.id:
            raise WrongGroup("solution of another problem")
    if agenda_item is not None:
        if meeting is None:
            meeting = agenda_item.meeting
        elif agenda_item.meeting_id != meeting.id:
            raise WrongGroup("agenda item of another meeting")
    if issue is not None and issue.group_id != group.id:
        raise WrongGroup("problem of another group")
    if meeting is not None and meeting.group_id != group.id:
        raise WrongGroup("meeting of another group")
    _check_owner(group, owner)
    # A double click (or a resent form) moments later returns the first action.
    lock_for_update(db.session, f"group-actions:{group.id}")
    duplicate = db.session.scalar(
        sa.select(Action).where(
            Action.group_id == group.id,
            Action.created_by_id == actor.id,
            Action.title == title.strip(),
            Action.owner_id == owner.id,
            _same(Action.issue_id, issue),
            _same(Action.solution_id, solution),
            _same(Action.agenda_item_id, agenda_item),
            Action.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
    )
    if duplicate is not None:
        return duplicate
    action = Action(
        group_id=group.id,
        title=title.strip(),
        notes=notes.strip(),
        owner_id=owner.id,
        due_date=due_date,
        status=ActionStatus.OPEN,
        issue_id=issue.id if issue is not None else None,
        solution_id=solution.id if solution is not None else None,
        meeting_id=meeting.id if meeting is not None else None,
        agenda_item_id=agenda_item.id if agenda_item is not None else None,
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    if issue is not None:
        problems.record_event(
            issue,
            IssueEventKind.ACTION_CREATED,
            actor=actor,
            action=action,
            solution=solution,
            meeting=meeting,
        )
    audit.record("action.created", actor=actor, object_type="action", object_id=action.id)
    log.info("action %s created in group %s by user %s", action.id, group.id, actor.id)
    return action


def update_action(
    action: Action,
    *,
    title: str,
    notes: str,
    owner: User,
    due_date: date | None,
    actor: User,
) -> None:
    """Change what, who and by when; the owner must be a member of the group."""
    if owner.id != action.owner_id:
        _check_owner(action.group, owner)
    before = (action.title, action.notes, action.owner_id, action.due_date)
    action.title = title.strip()
    action.notes = notes.strip()
    action.owner_id = owner.id
    action.due_date = due_date
    db.session.flush()
    if (action.title, action.notes, action.owner_id, action.due_date) != before:
        audit.record("action.updated", actor=actor, object_type="action", object_id=action.id)
    log.info("action %s edited by user %s", action.id, actor.id)


def set_status(action: Action, status: ActionStatus, *, actor: User) -> bool:
    """Mark an action open, done or dropped. ``False`` if it has that status already.

    Done records when; the problem's timeline gets "done" or "dropped"; the audit log gets
    every change.
    """
    lock_for_update(db.session, f"action:{action.id}")
    db.session.refresh(action, ["status", "completed_at"])  # a double click may have won
    if action.status is status:
        return False
    action.status = status
    action.completed_at = utcnow() if status is ActionStatus.DONE else None
    db.session.flush()
    kind = _EVENT_FOR_STATUS.get(status)
    if kind is not None and action.issue is not None:
        problems.record_event(
            action.issue, kind, actor=actor, action=action, solution=action.solution
        )
    audit.record(
        "action.status_changed",
        actor=actor,
        object_type="action",
        object_id=action.id,
        detail=status.value,
    )
    log.info("action %s is %s (user %s)", action.id, status.value, actor.id)
    return True
