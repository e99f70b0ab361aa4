"""Who works with whom: organisations across working groups, projects and meetings.

An organisation *takes part* in a working group when one of its active members belongs to the
group; in a project when it is a partner; at a meeting when someone was checked in as present
for it. Groups are only those the viewer may read, meetings only those they may see, so a
confidential group never shows up for a moderator outside it. Read-only; a fixed number of
queries whatever the number of organisations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.meetings.models import Meeting, MeetingStatus
from coordination.meetings.permissions import visible_meetings_clause
from coordination.meetings.services import add_months
from coordination.organizations.models import Organization, organization_member
from coordination.projects.models import PartnerRole, Project, ProjectPartner, ProjectStatus
from coordination.timeutil import local_midnight_utc

#: The period the overview covers, and after how long without a meeting an organisation
#: counts as "not seen".
PERIOD_MONTHS = 12
ABSENCE_MONTHS = 6


@dataclass(frozen=True)
class GroupColumn:
    id: int
    name: str
    slug: str
    is_confidential: bool


@dataclass(frozen=True)
class ProjectColumn:
    id: int
    name: str
    slug: str
    status: ProjectStatus


@dataclass
class OrganizationRow:
    """One organisation and everything it takes part in."""

    organization: Organization
    #: Group id → number of the organisation's members in the group.
    groups: dict[int, int] = field(default_factory=dict)
    #: Project id → the organisation's role.
    projects: dict[int, PartnerRole] = field(default_factory=dict)
    #: Meetings of the period at which someone was present for the organisation.
    meetings: int = 0
    #: Start of the last meeting at which someone was present for it (``None``: never).
    last_seen: datetime | None = None
    #: Other organisations it shares a group or a project with.
    cooperates_with: int = 0
    #: Accounts that belong to the organisation.
    member_count: int = 0

    @property
    def is_involved(self) -> bool:
        return bool(self.groups or self.projects or self.meetings)

    @property
    def weight(self) -> int:
        return len(self.groups) + len(self.projects)


@dataclass(frozen=True)
class Overview:
    #: First day of the period (local date) and first day that counts as "seen lately".
    period_start: date
    absence_start: date
    groups: list[GroupColumn]
    projects: list[ProjectColumn]
    #: Organisations taking part in anything, most involved first.
    rows: list[OrganizationRow]
    #: Organisations taking part in nothing at all.
    idle: list[OrganizationRow]
    #: Organisations without a meeting since ``absence_start``: never seen first, then the
    #: longest absent.
    not_seen: list[OrganizationRow]
    #: Number of organisations in the directory.
    total: int


def _group_columns(viewer: Any) -> list[GroupColumn]:
    return [
        GroupColumn(group.id, group.name, group.slug, group.is_confidential)
        for group in db.session.scalars(groups.groups_query(viewer))
    ]


def _group_participation(viewer: Any) -> list[tuple[int, int, int]]:
    """(organisation, group, members) for the groups ``viewer`` may read (one query)."""
    query = (
        sa.select(
            organization_member.c.organization_id,
            GroupMembership.group_id,
            sa.func.count(sa.distinct(GroupMembership.user_id)),
        )
        .select_from(organization_member)
        .join(GroupMembership, GroupMembership.user_id == organization_member.c.user_id)
        .join(User, User.id == GroupMembership.user_id)
        .join(WorkingGroup, WorkingGroup.id == GroupMembership.group_id)
        .where(User.is_active.is_(True), groups.readable_groups_clause(viewer))
        .group_by(organization_member.c.organization_id, GroupMembership.group_id)
    )
    return [(org_id, group_id, int(count)) for org_id, group_id, count in db.session.execute(query)]


def _project_condition(since: datetime) -> sa.ColumnElement[bool]:
    """Projects running in the period: not completed, or completed within it."""
    return sa.or_(Project.status != ProjectStatus.COMPLETED, Project.status_changed_at >= since)


def _project_columns(since: datetime) -> list[ProjectColumn]:
    query = (
        sa.select(Project.id, Project.name, Project.slug, Project.status)
        .where(_project_condition(since))
        .order_by(sa.func.lower(Project.name), Project.id)
    )
    return [
        ProjectColumn(project_id, name, slug, ProjectStatus(status))
        for project_id, name, slug, status in db.session.execute(query)
    ]


def _partners(since: datetime) -> list[tuple[int, int, PartnerRole]]:
    """(organisation, project, role) of the projects running in the period (one query)."""
    query = (
        sa.select(ProjectPartner.organization_id, ProjectPartner.project_id, ProjectPartner.role)
        .join(Project, Project.id == ProjectPartner.project_id)
        .where(_project_condition(since))
    )
    return [
        (org_id, project_id, PartnerRole(role))
        for org_id, project_id, role in db.session.execute(query)
    ]


def _attendance(viewer: Any, since: datetime) -> list[tuple[int, datetime | None, int]]:
    """(organisation, last meeting present, meetings present since ``since``) over the
    meetings ``viewer`` may see (one query)."""
    in_period = sa.case((Meeting.starts_at >= since, Meeting.id), else_=None)
    query = (
        sa.select(
            Attendance.organization_id,
            sa.func.max(Meeting.starts_at),
            sa.func.count(sa.distinct(in_period)),
        )
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(
            Attendance.status == AttendanceStatus.PRESENT,
            Attendance.organization_id.is_not(None),
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.starts_at <= utcnow(),
            visible_meetings_clause(viewer),
        )
        .group_by(Attendance.organization_id)
    )
    return [(org_id, last, int(count)) for org_id, last, count in db.session.execute(query)]


def _member_counts() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(organization_member.c.organization_id, sa.func.count())
        .select_from(organization_member)
        .join(User, User.id == organization_member.c.user_id)
        .where(User.is_active.is_(True))
        .group_by(organization_member.c.organization_id)
    )
    return {org_id: int(count) for org_id, count in rows}


def _count_cooperation(rows: dict[int, OrganizationRow]) -> None:
    """Fill ``cooperates_with``: distinct other organisations in a shared group or project."""
    circles: dict[tuple[str, int], set[int]] = defaultdict(set)
    for org_id, row in rows.items():
        for group_id in row.groups:
            circles["group", group_id].add(org_id)
        for project_id in row.projects:
            circles["project", project_id].add(org_id)
    partners: dict[int, set[int]] = defaultdict(set)
    for members in circles.values():
        if len(members) < 2:
            continue
        for org_id in members:
            partners[org_id].update(members)
    for org_id, others in partners.items():
        rows[org_id].cooperates_with = len(others - {org_id})


def network_overview(viewer: Any, today: date) -> Overview:
    """Everything the network overview shows, as ``viewer`` may see it (seven queries)."""
    period_start = add_months(today, -PERIOD_MONTHS)
    absence_start = add_months(today, -ABSENCE_MONTHS)
    since = local_midnight_utc(period_start)
    absent_before = local_midnight_utc(absence_start)

    organizations = db.session.scalars(
        sa.select(Organization).order_by(sa.func.lower(Organization.name), Organization.id)
    ).all()
    rows = {organization.id: OrganizationRow(organization) for organization in organizations}
    group_columns = _group_columns(viewer)
    project_columns = _project_columns(since)
    for org_id, group_id, members in _group_participation(viewer):
        if org_id in rows:
            rows[org_id].groups[group_id] = members
    for org_id, project_id, role in _partners(since):
        if org_id in rows:
            rows[org_id].projects[project_id] = role
    for org_id, last_seen, meetings in _attendance(viewer, since):
        if org_id in rows:
            rows[org_id].last_seen = last_seen
            rows[org_id].meetings = meetings
    for org_id, count in _member_counts().items():
        if org_id in rows:
            rows[org_id].member_count = count
    _count_cooperation(rows)

    ordered = list(rows.values())  # by name
    involved = sorted(
        (row for row in ordered if row.is_involved), key=lambda row: (-row.weight, -row.meetings)
    )
    not_seen = sorted(
        (row for row in ordered if row.last_seen is None or row.last_seen < absent_before),
        key=lambda row: (row.last_seen is not None, row.last_seen or since),
    )
    return Overview(
        period_start=period_start,
        absence_start=absence_start,
        groups=group_columns,
        projects=project_columns,
        rows=involved,
        idle=[row for row in ordered if not row.is_involved],
        not_seen=not_seen,
        total=len(ordered),
    )
