"""What the start page shows: my meetings, actions, group activity and projects; for moderators
the meetings that need them. Read-only; every list is one query, whatever the number of rows.

Visibility goes through :func:`~coordination.meetings.permissions.visible_meetings_clause` and
:func:`~coordination.groups.services.readable_groups_clause`, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from coordination.actions.models import Action
from coordination.attendance.models import Attendance
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.meetings.models import Meeting, MeetingStatus, Minutes, MinutesStatus
from coordination.meetings.permissions import visible_meetings_clause
from coordination.organizations.models import organization_member
from coordination.problems.models import GroupIssue, IssueEvent, IssueEventKind
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectPartner,
    ProjectStatus,
)
from coordination.registrations import services as registrations
from coordination.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus

#: How many rows each box of the start pages shows.
PUBLIC_MEETINGS_LIMIT = 10
MY_MEETINGS_LIMIT = 6
MY_ACTIONS_LIMIT = 8
ACTIVITY_LIMIT = 10
MY_PROJECTS_LIMIT = 8
UPCOMING_LIMIT = 8
FOLLOW_UP_LIMIT = 10

#: Past meetings younger than this still show up when attendance or minutes are missing.
FOLLOW_UP_WINDOW = timedelta(days=90)

#: Timeline entries worth telling the group about (endorsements and agenda notes are left out).
ACTIVITY_KINDS = (
    IssueEventKind.CREATED,
    IssueEventKind.STATUS_CHANGED,
    IssueEventKind.SOLUTION_PROPOSED,
    IssueEventKind.SOLUTION_STATUS_CHANGED,
    IssueEventKind.ACTION_CREATED,
    IssueEventKind.ACTION_DONE,
    IssueEventKind.ACTION_DROPPED,
)


def _own_group_ids(user: Any) -> sa.Select[tuple[int]]:
    return sa.select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)


def _own_organization_ids(user: Any) -> sa.Select[tuple[int]]:
    return sa.select(organization_member.c.organization_id).where(
        organization_member.c.user_id == user.id
    )


# --- visitors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicMeeting:
    meeting: Meeting
    #: People without an account may register now.
    guests_welcome: bool


def upcoming_public_meetings(limit: int = PUBLIC_MEETINGS_LIMIT) -> list[PublicMeeting]:
    """The next public meetings, cancelled ones included (one query)."""
    now = utcnow()
    meetings = db.session.scalars(
        sa.select(Meeting)
        .where(visible_meetings_clause(None), Meeting.ends_at >= now)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
    )
    return [
        PublicMeeting(
            meeting=meeting,
            guests_welcome=registrations.accepts_guests(meeting)
            and registrations.is_registration_open(meeting, now),
        )
        for meeting in meetings
    ]


# --- my next meetings -------------------------------------------------------------------------


@dataclass(frozen=True)
class MyMeeting:
    """A coming meeting with the user's registration state."""

    meeting: Meeting
    #: The user's active registration status, ``None`` when not registered.
    status: RegistrationStatus | None
    #: 1-based waitlist position when waitlisted.
    waitlist_position: int | None
    #: Registration is possible now and the user is not registered yet.
    can_register: bool


def my_next_meetings(user: Any, limit: int = MY_MEETINGS_LIMIT) -> list[MyMeeting]:
    """The next meetings that concern ``user`` (one query).

    Those they registered for, the meetings of their own groups, and network-wide meetings
    (meetings without a group); always only meetings they may see. Cancelled ones stay in the
    list, marked, so that nobody turns up in vain.
    """
    mine = aliased(Registration)
    ahead = aliased(Registration)
    position = (
        sa.select(sa.func.count(ahead.id))
        .where(
            ahead.meeting_id == mine.meeting_id,
            ahead.status == RegistrationStatus.WAITLISTED,
            sa.or_(
                ahead.created_at < mine.created_at,
                sa.and_(ahead.created_at == mine.created_at, ahead.id < mine.id),
            ),
        )
        .correlate(mine)
        .scalar_subquery()
    )
    query = (
        sa.select(
            Meeting,
            mine.status,
            sa.case((mine.status == RegistrationStatus.WAITLISTED, position + 1), else_=None),
        )
        .outerjoin(
            mine,
            sa.and_(
                mine.meeting_id == Meeting.id,
                mine.user_id == user.id,
                mine.status.in_(ACTIVE_STATUSES),
            ),
        )
        .where(
            visible_meetings_clause(user),
            Meeting.ends_at >= utcnow(),
            sa.or_(
                Meeting.group_id.is_(None),
                Meeting.group_id.in_(_own_group_ids(user)),
                mine.id.is_not(None),
            ),
        )
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
    )
    now = utcnow()
    result = []
    for meeting, status, waitlist_position in db.session.execute(query):
        status = RegistrationStatus(status) if status is not None else None
        result.append(
            MyMeeting(
                meeting=meeting,
                status=status,
                waitlist_position=int(waitlist_position) if waitlist_position else None,
                can_register=status is None and registrations.is_registration_open(meeting, now),
            )
        )
    return result


# --- recent activity in my groups -------------------------------------------------------------


@dataclass(frozen=True)
class ActivityEntry:
    """One timeline entry of a problem in one of the user's groups."""

    at: datetime
    #: An :class:`IssueEventKind` value.
    kind: str
    actor_name: str | None
    #: A status value for status changes, else "".
    detail: str
    group_name: str
    group_slug: str
    issue_id: int
    issue_title: str
    solution_id: int | None
    action_id: int | None
    action_title: str | None


def recent_group_activity(user: Any, limit: int = ACTIVITY_LIMIT) -> list[ActivityEntry]:
    """The latest problem events in the groups ``user`` belongs to and may read (one query)."""
    query = (
        sa.select(
            IssueEvent.created_at,
            IssueEvent.kind,
            User.name,
            IssueEvent.detail,
            WorkingGroup.name,
            WorkingGroup.slug,
            GroupIssue.id,
            GroupIssue.title,
            IssueEvent.solution_id,
            IssueEvent.action_id,
            Action.title,
        )
        .select_from(IssueEvent)
        .join(GroupIssue, GroupIssue.id == IssueEvent.issue_id)
        .join(WorkingGroup, WorkingGroup.id == GroupIssue.group_id)
        .outerjoin(User, User.id == IssueEvent.actor_id)
        .outerjoin(Action, Action.id == IssueEvent.action_id)
        .where(
            WorkingGroup.id.in_(_own_group_ids(user)),
            groups.readable_groups_clause(user),
            IssueEvent.kind.in_(ACTIVITY_KINDS),
        )
        .order_by(IssueEvent.created_at.desc(), IssueEvent.id.desc())
        .limit(limit)
    )
    return [
        ActivityEntry(
            at=row[0],
            kind=IssueEventKind(row[1]).value,
            actor_name=row[2],
            detail=row[3] or "",
            group_name=row[4],
            group_slug=row[5],
            issue_id=row[6],
            issue_title=row[7],
            solution_id=row[8],
            action_id=row[9],
            action_title=row[10],
        )
        for row in db.session.execute(query)
    ]


# --- my projects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyProject:
    """A running project the user or one of their organisations takes part in."""

    project: Project
    is_lead_contact: bool
    #: The role of the user's organisation(s): lead if any of them leads; ``None`` if none takes
    #: part (the user is the lead contact only).
    role: PartnerRole | None
    #: Due date of the next open milestone that is not overdue.
    next_due: date | None
    overdue_milestones: int


def my_projects(user: Any, today: date, limit: int = MY_PROJECTS_LIMIT) -> list[MyProject]:
    """Projects not yet completed where ``user`` is the lead contact or one of their
    organisations is a partner; active ones first (one query)."""
    own_organizations = _own_organization_ids(user)
    takes_part = sa.exists().where(
        ProjectPartner.project_id == Project.id,
        ProjectPartner.organization_id.in_(own_organizations),
    )
    leads = sa.exists().where(
        ProjectPartner.project_id == Project.id,
        ProjectPartner.organization_id.in_(own_organizations),
        ProjectPartner.role == PartnerRole.LEAD,
    )
    open_milestone = sa.and_(Milestone.project_id == Project.id, Milestone.done_at.is_(None))
    next_due = (
        sa.select(sa.func.min(Milestone.due_date))
        .where(open_milestone, Milestone.due_date >= today)
        .scalar_subquery()
    )
    overdue = (
        sa.select(sa.func.count(Milestone.id))
        .where(open_milestone, Milestone.due_date < today)
        .scalar_subquery()
    )
    status_order = sa.case(
        (Project.status == ProjectStatus.ACTIVE, 0),
        (Project.status == ProjectStatus.PLANNING, 1),
        (Project.status == ProjectStatus.IDEA, 2),
        else_=3,
    )
    query = (
        sa.select(Project, takes_part, leads, next_due, overdue)
        .where(
            Project.status != ProjectStatus.COMPLETED,
            sa.or_(Project.lead_contact_id == user.id, takes_part),
        )
        .order_by(status_order, sa.func.lower(Project.name), Project.id)
        .limit(limit)
    )
    result = []
    for project, partner, lead, due, overdue_count in db.session.execute(query):
        role = PartnerRole.LEAD if lead else (PartnerRole.PARTNER if partner else None)
        result.append(
            MyProject(
                project=project,
                is_lead_contact=project.lead_contact_id == user.id,
                role=role,
                next_due=due,
                overdue_milestones=int(overdue_count or 0),
            )
        )
    return result


# --- for moderators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingLoad:
    """A coming meeting with its registration counts."""

    meeting: Meeting
    confirmed: int
    waitlisted: int
    pending: int

    @property
    def is_full(self) -> bool:
        capacity = self.meeting.capacity
        return capacity is not None and self.confirmed >= capacity


def _count_of(status: RegistrationStatus) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((Registration.status == status, 1), else_=0)), 0)


def upcoming_with_registrations(user: Any, limit: int = UPCOMING_LIMIT) -> list[MeetingLoad]:
    """The next meetings ``user`` may see (not cancelled) with confirmed, waitlisted and
    pending registrations (one query)."""
    counts = (
        sa.select(
            Registration.meeting_id.label("meeting_id"),
            _count_of(RegistrationStatus.CONFIRMED).label("confirmed"),
            _count_of(RegistrationStatus.WAITLISTED).label("waitlisted"),
            _count_of(RegistrationStatus.PENDING).label("pending"),
        )
        .group_by(Registration.meeting_id)
        .subquery()
    )
    query = (
        sa.select(
            Meeting,
            sa.func.coalesce(counts.c.confirmed, 0),
            sa.func.coalesce(counts.c.waitlisted, 0),
            sa.func.coalesce(counts.c.pending, 0),
        )
        .outerjoin(counts, counts.c.meeting_id == Meeting.id)
        .where(
            visible_meetings_clause(user),
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.ends_at >= utcnow(),
        )
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
    )
    return [
        MeetingLoad(meeting, int(confirmed), int(waitlisted), int(pending))
        for meeting, confirmed, waitlisted, pending in db.session.execute(query)
    ]


@dataclass(frozen=True)
class FollowUp:
    """A past meeting that still lacks its attendance list or published minutes."""

    meeting: Meeting
    has_attendance: bool
    #: ``None``: no minutes at all; else their status (a draft is not enough).
    minutes_status: MinutesStatus | None


@dataclass(frozen=True)
class FollowUps:
    items: list[FollowUp]
    #: How many meetings need follow-up in all (``items`` shows the most recent ones).
    total: int


def meetings_needing_follow_up(
    user: Any, limit: int = FOLLOW_UP_LIMIT, window: timedelta = FOLLOW_UP_WINDOW
) -> FollowUps:
    """Meetings of the last ``window`` that took place (not cancelled) and have no attendance
    recorded or no published minutes, most recent first (one query)."""
    now = utcnow()
    has_attendance = sa.exists().where(Attendance.meeting_id == Meeting.id)
    query = (
        sa.select(Meeting, has_attendance, Minutes.status, sa.func.count().over())
        .outerjoin(Minutes, Minutes.meeting_id == Meeting.id)
        .where(
            visible_meetings_clause(user),
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.ends_at <= now,
            Meeting.starts_at >= now - window,
            sa.or_(
                ~has_attendance,
                Minutes.id.is_(None),
                Minutes.status != MinutesStatus.PUBLISHED,
            ),
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(limit)
    )
    items = []
    total = 0
    for meeting, attended, minutes_status, count in db.session.execute(query):
        total = int(count)
        items.append(
            FollowUp(
                meeting=meeting,
                has_attendance=bool(attended),
                minutes_status=MinutesStatus(minutes_status) if minutes_status else None,
            )
        )
    return FollowUps(items=items, total=total)
