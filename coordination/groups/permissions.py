"""Who may do what in a working group. Views and templates ask the same predicates.

- Reading a group's content (problems, solutions, actions, its meetings): every member of the
  network for open groups; only the group's own members and admins for confidential groups.
  Whoever may not read a group gets 404 for it and everything in it.
- Contributing (log problems, propose and endorse solutions, take and update actions): the
  group's members (and admins).
- Leading (membership, roles, statuses, editing or closing anything in the group): the group's
  leads and admins.
- Creating groups: moderators and admins.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coordination.auth.models import Role
from coordination.extensions import db
from coordination.groups import services
from coordination.groups.models import GroupMembership, WorkingGroup


def _authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated)


def membership_of(user: Any, group: WorkingGroup) -> GroupMembership | None:
    if not _authenticated(user):
        return None
    return db.session.scalar(
        sa.select(GroupMembership).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id == user.id
        )
    )


def can_view_group(user: Any, group: WorkingGroup) -> bool:
    return services.can_read_group(user, group)


def can_create_groups(user: Any) -> bool:
    return _authenticated(user) and user.role in (Role.ADMIN, Role.MODERATOR)


def is_group_member(user: Any, group: WorkingGroup) -> bool:
    return group.id in services.member_group_ids(user)


def is_group_lead(user: Any, group: WorkingGroup) -> bool:
    return services.is_lead(user, group)


def can_contribute(user: Any, group: WorkingGroup) -> bool:
    if not _authenticated(user):
        return False
    return user.role is Role.ADMIN or is_group_member(user, group)


def can_lead_group(user: Any, group: WorkingGroup) -> bool:
    if not _authenticated(user):
        return False
    return user.role is Role.ADMIN or is_group_lead(user, group)


def can_view_group_audit(user: Any, group: WorkingGroup) -> bool:
    return can_lead_group(user, group)


TEMPLATE_PREDICATES = {
    "can_view_group": can_view_group,
    "can_create_groups": can_create_groups,
    "is_group_member": is_group_member,
    "is_group_lead": is_group_lead,
    "can_contribute": can_contribute,
    "can_lead_group": can_lead_group,
    "can_view_group_audit": can_view_group_audit,
}
