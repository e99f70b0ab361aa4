"""Who may do what with shared projects. Views and templates ask the same predicates.

- Reading: every logged-in member of the network reads every project (visitors log in first).
  Links from a project to a working group, its problems and solutions, or a meeting are shown
  only to those who may read that group or see that meeting.
- Creating at ``/projects/new``: moderators and admins.
- Starting a project from a problem or an adopted solution: the group's leads and admins.
- Managing a project (details, status, partners, milestones, links): admins, moderators, the
  project's lead contact, and members of an organisation that is a *lead* partner.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coordination.auth.models import Role
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import WorkingGroup
from coordination.organizations.models import organization_member
from coordination.projects.models import PartnerRole, Project, ProjectPartner


def _authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated)


def can_view_projects(user: Any) -> bool:
    return _authenticated(user)


def can_create_projects(user: Any) -> bool:
    return _authenticated(user) and user.role in (Role.ADMIN, Role.MODERATOR)


def is_in_lead_partner(user: Any, project: Project) -> bool:
    """Whether ``user`` belongs to an organisation that leads ``project`` (one query)."""
    if not _authenticated(user) or project.id is None:
        return False
    found = db.session.scalar(
        sa.select(ProjectPartner.id)
        .join(
            organization_member,
            organization_member.c.organization_id == ProjectPartner.organization_id,
        )
        .where(
            ProjectPartner.project_id == project.id,
            ProjectPartner.role == PartnerRole.LEAD,
            organization_member.c.user_id == user.id,
        )
        .limit(1)
    )
    return found is not None


def can_manage_project(user: Any, project: Project) -> bool:
    """Edit, status, partners, milestones and links of ``project``."""
    if not _authenticated(user):
        return False
    if user.role in (Role.ADMIN, Role.MODERATOR):
        return True
    if project.lead_contact_id is not None and project.lead_contact_id == user.id:
        return True
    return is_in_lead_partner(user, project)


def can_start_project_from(user: Any, group: WorkingGroup) -> bool:
    """Whether ``user`` may start a project from the group's problems and adopted solutions."""
    if not _authenticated(user):
        return False
    return user.role is Role.ADMIN or groups.is_lead(user, group)


TEMPLATE_PREDICATES = {
    "can_view_projects": can_view_projects,
    "can_create_projects": can_create_projects,
    "can_manage_project": can_manage_project,
    "can_start_project_from": can_start_project_from,
}
