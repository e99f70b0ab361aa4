"""Shared projects: queries and changes. Functions flush; callers commit.

Every change that belongs on a project's trail writes a :class:`ProjectEvent` through
:func:`record_event`. Its ``detail`` is never free text: a status value for ``created`` and
``status``, an organisation id for partner events, a milestone id for milestone events.
Reading functions that touch groups or meetings take the viewer and go through
:func:`~coordination.groups.services.readable_groups_clause` and
:func:`~coordination.meetings.permissions.visible_meetings_clause`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import WorkingGroup
from coordination.meetings.models import AgendaItem, Meeting
from coordination.meetings.permissions import can_view_meeting, visible_meetings_clause
from coordination.organizations.models import Organization, organization_member
from coordination.problems.models import GroupIssue, Solution
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectEvent,
    ProjectEventKind,
    ProjectPartner,
    ProjectStatus,
    project_group,
    project_meeting,
)
from coordination.text import slugify
from coordination.timeutil import local_today, utc_to_local

log = logging.getLogger(__name__)

#: Slugs that would hide a route of the projects blueprint (``/projects/new``).
RESERVED_SLUGS = frozenset({"new"})

#: A second identical submit within this time is taken for a double click.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)

#: Meetings offered for linking: from this far back …
LINKABLE_MEETINGS_BACK = timedelta(days=365)
#: … up to this far ahead, at most this many.
LINKABLE_MEETINGS_AHEAD = timedelta(days=400)
LINKABLE_MEETINGS_LIMIT = 300


class NameTaken(Exception):
    """Another project has this name (compared without case)."""


class AlreadyPartner(Exception):
    """The organisation takes part in the project already."""


class PartnerGone(Exception):
    """The partner was removed (by another request) meanwhile."""


# --- reading: the list ------------------------------------------------------------------------


def projects_query(
    status: ProjectStatus | None = None, organization_id: int | None = None
) -> sa.Select[tuple[Project]]:
    """Projects by name, optionally of one status or with one organisation as partner."""
    query = sa.select(Project)
    if status is not None:
        query = query.where(Project.status == status)
    if organization_id is not None:
        query = query.where(
            Project.id.in_(
                sa.select(ProjectPartner.project_id).where(
                    ProjectPartner.organization_id == organization_id
                )
            )
        )
    return query.order_by(sa.func.lower(Project.name), Project.id)


def partner_organization_choices() -> list[tuple[int, str]]:
    """Organisations that take part in at least one project, by name (for the list filter)."""
    in_projects = sa.select(ProjectPartner.organization_id)
    return [
        (org_id, name)
        for org_id, name in db.session.execute(
            sa.select(Organization.id, Organization.name)
            .where(Organization.id.in_(in_projects))
            .order_by(Organization.name)
        )
    ]


@dataclass
class ListSummary:
    """What the project list shows besides the project's own columns."""

    lead_partners: list[Organization] = field(default_factory=list)
    partner_count: int = 0
    next_milestone: Milestone | None = None
    overdue: int = 0
    open_milestones: int = 0


def list_summaries(project_ids: Iterable[int], today: date | None = None) -> dict[int, ListSummary]:
    """Lead partners, next open milestone and overdue count per listed project (two queries)."""
    ids = list(project_ids)
    summaries = {project_id: ListSummary() for project_id in ids}
    if not ids:
        return summaries
    today = today or local_today()
    partners = db.session.execute(
        sa.select(ProjectPartner.project_id, ProjectPartner.role, Organization)
        .join(Organization, Organization.id == ProjectPartner.organization_id)
        .where(ProjectPartner.project_id.in_(ids))
        .order_by(Organization.name, Organization.id)
    )
    for project_id, role, organization in partners:
        summary = summaries[project_id]
        summary.partner_count += 1
        if role is PartnerRole.LEAD:
            summary.lead_partners.append(organization)
    milestones = db.session.scalars(
        sa.select(Milestone)
        .where(Milestone.project_id.in_(ids), Milestone.done_at.is_(None))
        .order_by(Milestone.due_date.is_(None), Milestone.due_date, Milestone.id)
    )
    for milestone in milestones:
        summary = summaries[milestone.project_id]
        summary.open_milestones += 1
        if summary.next_milestone is None:
            summary.next_milestone = milestone
        if is_overdue(milestone, today):
            summary.overdue += 1
    return summaries


def projects_of(user: Any, limit: int | None = None) -> list[Project]:
    """Projects ``user`` takes part in: as lead contact or through one of their organisations.

    Not completed ones first, then by name (one query; empty for visitors).
    """
    if user is None or not user.is_authenticated:
        return []
    own_orgs = sa.select(organization_member.c.organization_id).where(
        organization_member.c.user_id == user.id
    )
    via_org = sa.select(ProjectPartner.project_id).where(
        ProjectPartner.organization_id.in_(own_orgs)
    )
    query = (
        sa.select(Project)
        .where(sa.or_(Project.lead_contact_id == user.id, Project.id.in_(via_org)))
        .order_by(
            (Project.status == ProjectStatus.COMPLETED), sa.func.lower(Project.name), Project.id
        )
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


# --- reading: one project ---------------------------------------------------------------------


def get_project(slug: str) -> Project | None:
    """The project at ``slug`` with its lead contact, or ``None``."""
    return db.session.scalar(
        sa.select(Project).options(joinedload(Project.lead_contact)).where(Project.slug == slug)
    )


def is_overdue(milestone: Milestone, today: date | None = None) -> bool:
    """Open and past its due date (in the network's time zone)."""
    return (
        milestone.done_at is None
        and milestone.due_date is not None
        and milestone.due_date < (today or local_today())
    )


def partners_of(project: Project) -> list[ProjectPartner]:
    """The project's partners with their organisations: leads first, then by name (one query)."""
    return list(
        db.session.scalars(
            sa.select(ProjectPartner)
            .join(ProjectPartner.organization)
            .options(joinedload(ProjectPartner.organization))
            .where(ProjectPartner.project_id == project.id)
            .order_by(
                (ProjectPartner.role != PartnerRole.LEAD),
                sa.func.lower(Organization.name),
                Organization.id,
            )
        )
    )


def milestones_of(project: Project) -> list[Milestone]:
    """The project's milestones by due date (undated last), who checked them off (one query)."""
    return list(
        db.session.scalars(
            sa.select(Milestone)
            .options(joinedload(Milestone.done_by))
            .where(Milestone.project_id == project.id)
            .order_by(Milestone.due_date.is_(None), Milestone.due_date, Milestone.id)
        )
    )


def get_milestone(project: Project, milestone_id: int) -> Milestone | None:
    """A milestone of this project (one of another project is ``None``)."""
    return db.session.scalar(
        sa.select(Milestone).where(Milestone.id == milestone_id, Milestone.project_id == project.id)
    )


def get_partner(project: Project, partner_id: int) -> ProjectPartner | None:
    """A partner entry of this project (one of another project is ``None``)."""
    return db.session.scalar(
        sa.select(ProjectPartner)
        .options(joinedload(ProjectPartner.organization))
        .where(ProjectPartner.id == partner_id, ProjectPartner.project_id == project.id)
    )


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    #: A :class:`ProjectEventKind` value.
    kind: str
    #: Name of who did it; ``None`` when the account is gone or nobody is recorded.
    actor_name: str | None
    #: The status value of ``created`` and ``status`` entries, else "".
    status: str = ""
    #: Name of the organisation of a partner entry, title of a milestone entry.
    subject: str | None = None


def _reference(detail: str) -> int | None:
    head = detail.split(":", 1)[0]
    return int(head) if head.isdigit() and len(head) < 10 else None


def trail(project: Project, milestones: Iterable[Milestone]) -> list[TrailEntry]:
    """The project's trail, oldest first (two queries: events with actors, organisation names)."""
    rows = db.session.execute(
        sa.select(ProjectEvent, User.name)
        .outerjoin(User, User.id == ProjectEvent.actor_id)
        .where(ProjectEvent.project_id == project.id)
        .order_by(ProjectEvent.created_at, ProjectEvent.id)
    ).all()
    partner_kinds = (ProjectEventKind.PARTNER_ADDED, ProjectEventKind.PARTNER_REMOVED)
    org_ids = {
        ref
        for event, _name in rows
        if event.kind in partner_kinds and (ref := _reference(event.detail)) is not None
    }
    org_names: dict[int, str] = {}
    if org_ids:
        org_names = dict(
            db.session.execute(
                sa.select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
            ).all()
        )
    titles = {milestone.id: milestone.title for milestone in milestones}
    entries = []
    for event, actor_name in rows:
        subject = None
        status = ""
        if event.kind in (ProjectEventKind.CREATED, ProjectEventKind.STATUS):
            status = event.detail
        else:
            ref = _reference(event.detail)
            names = org_names if event.kind in partner_kinds else titles
            subject = names.get(ref) if ref is not None else None
        entries.append(
            TrailEntry(
                at=event.created_at,
                kind=event.kind.value,
                actor_name=actor_name,
                status=status,
                subject=subject,
            )
        )
    return entries


@dataclass(frozen=True)
class Origin:
    """Where a project came from, as far as the viewer may see it."""

    group: WorkingGroup | None = None
    issue: GroupIssue | None = None
    solution: Solution | None = None
    meeting: Meeting | None = None

    def __bool__(self) -> bool:
        return self.group is not None or self.meeting is not None


def origin_for(project: Project, viewer: Any) -> Origin:
    """The project's origin group, problem, solution and meeting the viewer may see.

    Another group's problem never shows (the origin fields are set together; this is a guard).
    """
    group = project.origin_group if project.origin_group_id is not None else None
    if group is not None and not groups.can_read_group(viewer, group):
        group = None
    issue = solution = None
    if group is not None and project.origin_issue_id is not None:
        candidate = project.origin_issue
        issue = candidate if candidate is not None and candidate.group_id == group.id else None
    if issue is not None and project.origin_solution_id is not None:
        candidate_solution = project.origin_solution
        if candidate_solution is not None and candidate_solution.issue_id == issue.id:
            solution = candidate_solution
    meeting = project.origin_meeting if project.origin_meeting_id is not None else None
    if meeting is not None and not can_view_meeting(viewer, meeting):
        meeting = None
    return Origin(group=group, issue=issue, solution=solution, meeting=meeting)


def visible_groups(project: Project, viewer: Any) -> list[WorkingGroup]:
    """Linked groups ``viewer`` may read, by name (one query)."""
    return list(
        db.session.scalars(
            sa.select(WorkingGroup)
            .join(project_group, project_group.c.group_id == WorkingGroup.id)
            .where(project_group.c.project_id == project.id, groups.readable_groups_clause(viewer))
            .order_by(sa.func.lower(WorkingGroup.name), WorkingGroup.id)
        )
    )


@dataclass(frozen=True)
class LinkedMeetings:
    upcoming: list[Meeting]
    past: list[Meeting]

    def __bool__(self) -> bool:
        return bool(self.upcoming or self.past)


def visible_meetings(
    project: Project, viewer: Any, now: datetime | None = None, past_limit: int = 20
) -> LinkedMeetings:
    """Linked meetings ``viewer`` may see: upcoming soonest first, past latest first (one query)."""
    now = now or utcnow()
    meetings = list(
        db.session.scalars(
            sa.select(Meeting)
            .join(project_meeting, project_meeting.c.meeting_id == Meeting.id)
            .where(project_meeting.c.project_id == project.id, visible_meetings_clause(viewer))
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )
    upcoming = [meeting for meeting in meetings if meeting.ends_at > now]
    past = [meeting for meeting in reversed(meetings) if meeting.ends_at <= now]
    return LinkedMeetings(upcoming=upcoming, past=past[:past_limit])


def agenda_mentions(project: Project, viewer: Any, limit: int = 50) -> list[AgendaItem]:
    """Agenda items about the project on meetings ``viewer`` may see, latest first (one query)."""
    return list(
        db.session.scalars(
            sa.select(AgendaItem)
            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .options(joinedload(AgendaItem.meeting))
            .where(AgendaItem.project_id == project.id, visible_meetings_clause(viewer))
            .order_by(Meeting.starts_at.desc(), AgendaItem.position, AgendaItem.id)
            .limit(limit)
        )
    )


# --- choices for the manage forms -------------------------------------------------------------


def addable_organization_choices(project: Project | None = None) -> list[tuple[int, str]]:
    """Organisations of the directory that are not partners of ``project`` yet, by name."""
    query = sa.select(Organization.id, Organization.name).order_by(Organization.name)
    if project is not None and project.id is not None:
        taken = sa.select(ProjectPartner.organization_id).where(
            ProjectPartner.project_id == project.id
        )
        query = query.where(Organization.id.not_in(taken))
    return [(org_id, name) for org_id, name in db.session.execute(query)]


def person_choices(current: User | None = None) -> list[tuple[int, str]]:
    """Active accounts for the lead contact field (plus the current one, even if inactive)."""
    choices = groups.active_user_choices()
    if current is not None and all(user_id != current.id for user_id, _label in choices):
        choices.append((current.id, current.name))
    return choices


def linkable_group_choices(project: Project, actor: Any) -> list[tuple[int, str]]:
    """Groups ``actor`` may read that are not linked to the project yet, by name."""
    linked = sa.select(project_group.c.group_id).where(project_group.c.project_id == project.id)
    return [
        (group_id, name)
        for group_id, name in db.session.execute(
            sa.select(WorkingGroup.id, WorkingGroup.name)
            .where(groups.readable_groups_clause(actor), WorkingGroup.id.not_in(linked))
            .order_by(sa.func.lower(WorkingGroup.name), WorkingGroup.id)
        )
    ]


def linkable_meeting_choices(project: Project, actor: Any) -> list[tuple[int, str]]:
    """Meetings ``actor`` may see, from a year back to a year ahead, not linked yet."""
    now = utcnow()
    linked = sa.select(project_meeting.c.meeting_id).where(
        project_meeting.c.project_id == project.id
    )
    rows = db.session.execute(
        sa.select(Meeting.id, Meeting.title, Meeting.starts_at)
        .where(
            visible_meetings_clause(actor),
            Meeting.id.not_in(linked),
            Meeting.starts_at >= now - LINKABLE_MEETINGS_BACK,
            Meeting.starts_at <= now + LINKABLE_MEETINGS_AHEAD,
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id)
        .limit(LINKABLE_MEETINGS_LIMIT)
    )
    return [
        (meeting_id, f"{format_date(utc_to_local(starts_at).date(), 'medium')}: {title}")
        for meeting_id, title, starts_at in rows
    ]


def project_choices() -> list[tuple[int, str]]:
    """Every project by name, for linking an agenda item (one query)."""
    return [
        (project_id, name)
        for project_id, name in db.session.execute(
            sa.select(Project.id, Project.name).order_by(sa.func.lower(Project.name), Project.id)
        )
    ]


# --- creating and editing ---------------------------------------------------------------------


def unique_slug(name: str) -> str:
    """A free slug for ``name``: ``wegweiser``, else ``wegweiser-2``, ``wegweiser-3`` …"""
    base = slugify(name)
    taken = set(
        db.session.scalars(
            sa.select(Project.slug).where(
                sa.or_(Project.slug == base, Project.slug.like(f"{base}-%"))
            )
        )
    ) | set(RESERVED_SLUGS)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_name(name: str, exclude_id: int | None = None) -> None:
    query = sa.select(Project.id).where(sa.func.lower(Project.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Project.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise NameTaken(name)


def recent_duplicate(actor: User, name: str) -> Project | None:
    """The project of this name ``actor`` created moments ago (a repeated form submission)."""
    return db.session.scalar(
        sa.select(Project)
        .where(
            Project.created_by_id == actor.id,
            sa.func.lower(Project.name) == name.strip().lower(),
            Project.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
        .order_by(Project.id.desc())
        .limit(1)
    )


def record_event(
    project: Project, kind: ProjectEventKind, *, actor: User | None, detail: str = ""
) -> ProjectEvent:
    """Add an entry to the project's trail (and mark the project as changed)."""
    now = utcnow()
    event = ProjectEvent(
        project_id=project.id,
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        detail=detail[:200],
        created_at=now,
    )
    db.session.add(event)
    project.updated_at = now
    db.session.flush()
    log.info("project %s: %s by user %s", project.id, kind.value, event.actor_id)
    return event


def create_project(
    *,
    name: str,
    summary: str = "",
    description: str = "",
    status: ProjectStatus = ProjectStatus.IDEA,
    lead_contact: User | None = None,
    lead_organization: Organization | None = None,
    actor: User,
    origin_group: WorkingGroup | None = None,
    origin_issue: GroupIssue | None = None,
    origin_solution: Solution | None = None,
) -> Project:
    """Create a project; with an origin group, the group is linked too.

    Raises :class:`NameTaken` when another project has the name, also when a concurrent
    request created it a moment earlier.
    """
    lock_for_update(db.session, "projects:create")
    name = name.strip()
    _check_name(name)
    now = utcnow()
    project = Project(
        name=name,
        slug=unique_slug(name),
        summary=summary.strip(),
        description=description.strip(),
        status=status,
        status_changed_at=now,
        lead_contact_id=lead_contact.id if lead_contact is not None else None,
        origin_group_id=origin_group.id if origin_group is not None else None,
        origin_issue_id=origin_issue.id if origin_issue is not None else None,
        origin_solution_id=origin_solution.id if origin_solution is not None else None,
        created_by_id=actor.id,
    )
    try:
        # A concurrent create of the same name (or slug) loses here, not with a server error.
        with db.session.begin_nested():
            db.session.add(project)
    except IntegrityError:
        raise NameTaken(name) from None
    record_event(project, ProjectEventKind.CREATED, actor=actor, detail=status.value)
    if lead_organization is not None:
        add_partner(project, lead_organization, role=PartnerRole.LEAD, actor=actor)
    if origin_group is not None:
        link_group(project, origin_group, actor=actor)
    audit.record("project.created", actor=actor, object_type="project", object_id=project.id)
    return project


def update_project(
    project: Project,
    *,
    name: str,
    summary: str,
    description: str,
    lead_contact: User | None,
    actor: User,
) -> None:
    """Change name, summary, description and lead contact; the slug (its address) stays."""
    name = name.strip()
    _check_name(name, exclude_id=project.id)
    project.name = name
    project.summary = summary.strip()
    project.description = description.strip()
    project.lead_contact_id = lead_contact.id if lead_contact is not None else None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise NameTaken(name) from None
    audit.record("project.updated", actor=actor, object_type="project", object_id=project.id)


def change_status(project: Project, status: ProjectStatus, *, actor: User) -> bool:
    """Move the project to ``status``; ``False`` (and no trail entry) if it has it already."""
    lock_for_update(db.session, f"project:{project.id}")
    db.session.refresh(project, ["status"])
    if project.status is status:
        return False
    project.status = status
    project.status_changed_at = utcnow()
    record_event(project, ProjectEventKind.STATUS, actor=actor, detail=status.value)
    audit.record(
        "project.status_changed",
        actor=actor,
        object_type="project",
        object_id=project.id,
        detail=status.value,
    )
    return True


# --- partners ---------------------------------------------------------------------------------


def add_partner(
    project: Project, organization: Organization, *, role: PartnerRole, actor: User
) -> ProjectPartner:
    """Add ``organization`` as lead or partner. Raises :class:`AlreadyPartner`."""
    exists = db.session.scalar(
        sa.select(ProjectPartner.id).where(
            ProjectPartner.project_id == project.id,
            ProjectPartner.organization_id == organization.id,
        )
    )
    if exists is not None:
        raise AlreadyPartner(organization.id)
    partner = ProjectPartner(project_id=project.id, organization_id=organization.id, role=role)
    try:
        with db.session.begin_nested():
            db.session.add(partner)
    except IntegrityError:
        raise AlreadyPartner(organization.id) from None
    record_event(
        project, ProjectEventKind.PARTNER_ADDED, actor=actor, detail=f"{organization.id}:{role}"
    )
    return partner


def change_partner_role(partner: ProjectPartner, *, role: PartnerRole, actor: User) -> bool:
    """Make a partner a lead or a lead a partner; returns whether anything changed.

    The trail has no entry for role changes; the audit log records them.
    """
    lock_for_update(db.session, f"project:{partner.project_id}")
    fresh = db.session.scalar(
        sa.select(ProjectPartner)
        .where(ProjectPartner.id == partner.id)
        .execution_options(populate_existing=True)
    )
    if fresh is None:
        raise PartnerGone(partner.id)
    if fresh.role is role:
        return False
    fresh.role = role
    fresh.project.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "project.partner_role_changed",
        actor=actor,
        object_type="project",
        object_id=fresh.project_id,
        detail=f"{fresh.organization_id}:{role.value}",
    )
    return True


def remove_partner(partner: ProjectPartner, *, actor: User) -> None:
    """Remove an organisation from the project. A project may end up without a lead partner."""
    lock_for_update(db.session, f"project:{partner.project_id}")
    project = partner.project
    organization_id = partner.organization_id
    deleted = db.session.execute(
        sa.delete(ProjectPartner).where(ProjectPartner.id == partner.id)
    ).rowcount
    if not deleted:
        raise PartnerGone(partner.id)
    db.session.expire(project, ["partners"])
    record_event(
        project, ProjectEventKind.PARTNER_REMOVED, actor=actor, detail=str(organization_id)
    )


# --- milestones -------------------------------------------------------------------------------


def add_milestone(project: Project, *, title: str, due_date: date | None, actor: User) -> Milestone:
    """Add a milestone. An identical submit moments later returns the first one."""
    lock_for_update(db.session, f"project-milestones:{project.id}")
    title = title.strip()
    duplicate = db.session.scalar(
        sa.select(Milestone).where(
            Milestone.project_id == project.id,
            Milestone.title == title,
            Milestone.due_date.is_(None) if due_date is None else Milestone.due_date == due_date,
            Milestone.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
    )
    if duplicate is not None:
        return duplicate
    milestone = Milestone(project_id=project.id, title=title, due_date=due_date)
    db.session.add(milestone)
    db.session.flush()
    record_event(project, ProjectEventKind.MILESTONE_ADDED, actor=actor, detail=str(milestone.id))
    return milestone


def update_milestone(
    milestone: Milestone, *, title: str, due_date: date | None, actor: User
) -> None:
    """Change a milestone's title and due date (a past date is allowed: it shows as overdue)."""
    milestone.title = title.strip()
    milestone.due_date = due_date
    milestone.project.updated_at = utcnow()
    db.session.flush()
    log.info("milestone %s edited by user %s", milestone.id, actor.id)


def _fresh_milestone(milestone: Milestone) -> None:
    lock_for_update(db.session, f"milestone:{milestone.id}")
    db.session.refresh(milestone, ["done_at", "done_by_id"])


def complete_milestone(milestone: Milestone, *, actor: User) -> bool:
    """Check a milestone off (who and when); ``False`` if it is done already."""
    _fresh_milestone(milestone)
    if milestone.done_at is not None:
        return False
    milestone.done_at = utcnow()
    milestone.done_by_id = actor.id
    record_event(
        milestone.project, ProjectEventKind.MILESTONE_DONE, actor=actor, detail=str(milestone.id)
    )
    return True


def reopen_milestone(milestone: Milestone, *, actor: User) -> bool:
    """Take a milestone back to open; ``False`` if it is open already."""
    _fresh_milestone(milestone)
    if milestone.done_at is None:
        return False
    milestone.done_at = None
    milestone.done_by_id = None
    record_event(
        milestone.project,
        ProjectEventKind.MILESTONE_REOPENED,
        actor=actor,
        detail=str(milestone.id),
    )
    return True


# --- links to groups and meetings -------------------------------------------------------------


def _insert_link(table: sa.Table, column: str, project: Project, target_id: int) -> bool:
    exists = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(table)
        .where(table.c.project_id == project.id, table.c[column] == target_id)
    )
    if exists:
        return False
    try:
        with db.session.begin_nested():
            db.session.execute(
                sa.insert(table).values(project_id=project.id, **{column: target_id})
            )
    except IntegrityError:  # linked by a concurrent request
        return False
    project.updated_at = utcnow()
    db.session.expire(project, ["groups", "meetings"])
    db.session.flush()
    return True


def _delete_link(table: sa.Table, column: str, project: Project, target_id: int) -> bool:
    result = db.session.execute(
        sa.delete(table).where(table.c.project_id == project.id, table.c[column] == target_id)
    )
    if not result.rowcount:
        return False
    project.updated_at = utcnow()
    db.session.expire(project, ["groups", "meetings"])
    db.session.flush()
    return True


def link_group(project: Project, group: WorkingGroup, *, actor: User) -> bool:
    """Link a working group; ``False`` if it is linked already. Callers check readability."""
    linked = _insert_link(project_group, "group_id", project, group.id)
    if linked:
        log.info("project %s: group %s linked by user %s", project.id, group.id, actor.id)
    return linked


def unlink_group(project: Project, group: WorkingGroup, *, actor: User) -> bool:
    unlinked = _delete_link(project_group, "group_id", project, group.id)
    if unlinked:
        log.info("project %s: group %s unlinked by user %s", project.id, group.id, actor.id)
    return unlinked


def link_meeting(project: Project, meeting: Meeting, *, actor: User) -> bool:
    """Link a meeting; ``False`` if it is linked already. Callers check visibility."""
    linked = _insert_link(project_meeting, "meeting_id", project, meeting.id)
    if linked:
        log.info("project %s: meeting %s linked by user %s", project.id, meeting.id, actor.id)
    return linked


def unlink_meeting(project: Project, meeting: Meeting, *, actor: User) -> bool:
    unlinked = _delete_link(project_meeting, "meeting_id", project, meeting.id)
    if unlinked:
        log.info("project %s: meeting %s unlinked by user %s", project.id, meeting.id, actor.id)
    return unlinked
