"""Who belongs to which working group, and who may read it. Functions flush; callers commit."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coordination.auth.models import Role, User
from coordination.extensions import db
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    WorkingGroup,
)


def _user_id(user: Any) -> int | None:
    return user.id if user is not None and user.is_authenticated else None


def member_group_ids(user: Any) -> set[int]:
    """Ids of the groups ``user`` belongs to (empty for visitors)."""
    user_id = _user_id(user)
    if user_id is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)
        )
    )


def lead_group_ids(user: Any) -> set[int]:
    user_id = _user_id(user)
    if user_id is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(GroupMembership.group_id).where(
                GroupMembership.user_id == user_id, GroupMembership.role == GroupRole.LEAD
            )
        )
    )


def readable_groups_clause(user: Any) -> sa.ColumnElement[bool]:
    """SQL condition on ``WorkingGroup``: the groups whose content ``user`` may read.

    Open groups are readable by every member of the network; confidential groups only by their
    own members and by admins. Visitors read no group.
    """
    user_id = _user_id(user)
    if user_id is None:
        return sa.false()
    if user.role is Role.ADMIN:
        return sa.true()
    own = sa.select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)
    return sa.or_(WorkingGroup.confidentiality == Confidentiality.OPEN, WorkingGroup.id.in_(own))


def readable_group_ids_subquery(user: Any) -> sa.Select:
    return sa.select(WorkingGroup.id).where(readable_groups_clause(user))


def can_read_group(user: Any, group: WorkingGroup) -> bool:
    if _user_id(user) is None:
        return False
    if user.role is Role.ADMIN or group.confidentiality is Confidentiality.OPEN:
        return True
    return group.id in member_group_ids(user)


def is_lead(user: Any, group: WorkingGroup | None) -> bool:
    return group is not None and group.id in lead_group_ids(user)


def add_member(
    group: WorkingGroup, user: User, role: GroupRole = GroupRole.MEMBER
) -> GroupMembership:
    membership = GroupMembership(group=group, user=user, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership
