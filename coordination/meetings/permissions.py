"""Who may see and manage which meeting. Every listing, page, feed and export asks these.

Rules (DESIGN §3): visitors see public meetings; members see network meetings and the meetings
of groups they may read (open groups: everyone; confidential groups: their members and admins).
Moderators and admins manage network and other meetings and every group meeting they can see;
group leads manage their own group's meetings. Meetings one may not see answer 404.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from coordination.auth.models import Role
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.meetings.models import Meeting, MeetingKind, Visibility


def _authenticated(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated)


def visible_meetings_clause(user: Any) -> sa.ColumnElement[bool]:
    """SQL condition on ``Meeting`` selecting the meetings ``user`` may see."""
    if not _authenticated(user):
        return Meeting.visibility == Visibility.PUBLIC
    readable_groups = groups.readable_group_ids_subquery(user)
    group_ok = sa.or_(Meeting.group_id.is_(None), Meeting.group_id.in_(readable_groups))
    return sa.or_(
        Meeting.visibility == Visibility.PUBLIC,
        sa.and_(Meeting.visibility == Visibility.NETWORK, group_ok),
        sa.and_(
            Meeting.visibility == Visibility.GROUP,
            Meeting.group_id.is_not(None),
            Meeting.group_id.in_(readable_groups),
        ),
    )


def can_view_meeting(
    user: Any, meeting: Meeting, *, member_groups: Collection[int] | None = None
) -> bool:
    """``member_groups``: the user's group ids if already loaded (see :class:`GroupAccess`)."""
    if meeting.visibility is Visibility.PUBLIC:
        return True
    if not _authenticated(user):
        return False
    if meeting.group is not None and not groups.can_read_group(
        user, meeting.group, member_groups=member_groups
    ):
        return False
    return meeting.visibility is Visibility.NETWORK or meeting.group is not None


@dataclass
class GroupAccess:
    """The predicates above for many people at once, with one membership query in all.

    Jobs that mail many people (reminders, invitations) would otherwise ask the database for a
    person's groups on every call. The rules stay those of :func:`can_view_meeting` and
    ``groups.can_read_group``; only the memberships are loaded beforehand.
    """

    member_groups: dict[int, set[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, user_ids: Iterable[int], group_ids: Iterable[int]) -> GroupAccess:
        users, wanted = set(user_ids), set(group_ids)
        access = cls()
        if not users or not wanted:
            return access
        rows = db.session.execute(
            sa.select(GroupMembership.user_id, GroupMembership.group_id).where(
                GroupMembership.user_id.in_(users), GroupMembership.group_id.in_(wanted)
            )
        )
        for user_id, group_id in rows:
            access.member_groups.setdefault(user_id, set()).add(group_id)
        return access

    def _of(self, user: Any) -> set[int]:
        return self.member_groups.get(user.id, set())

    def can_read_group(self, user: Any, group: WorkingGroup) -> bool:
        return groups.can_read_group(user, group, member_groups=self._of(user))

    def can_view_meeting(self, user: Any, meeting: Meeting) -> bool:
        return can_view_meeting(user, meeting, member_groups=self._of(user))

    def can_see_online_url(self, user: Any, meeting: Meeting) -> bool:
        return can_see_online_url(user, meeting, member_groups=self._of(user))


def can_create_meetings(user: Any) -> bool:
    """Moderators and admins, and leads of at least one group (for their group's meetings)."""
    if not _authenticated(user):
        return False
    return user.role in (Role.ADMIN, Role.MODERATOR) or bool(groups.lead_group_ids(user))


def can_manage_meeting(user: Any, meeting: Meeting) -> bool:
    """Edit, cancel, agenda, minutes, registrations list, check-in and exports."""
    if not _authenticated(user) or not can_view_meeting(user, meeting):
        return False
    if user.role in (Role.ADMIN, Role.MODERATOR):
        return True
    return meeting.kind is MeetingKind.GROUP and groups.is_lead(user, meeting.group)


def can_see_online_url(
    user: Any, meeting: Meeting, *, member_groups: Collection[int] | None = None
) -> bool:
    """Online links go to members who may see the meeting; to visitors only if marked public."""
    if not meeting.online_url or not can_view_meeting(user, meeting, member_groups=member_groups):
        return False
    if _authenticated(user):
        return True
    return meeting.visibility is Visibility.PUBLIC and meeting.is_online_url_public


def can_view_registrations(user: Any, meeting: Meeting) -> bool:
    """Registration lists: moderators, admins and the group's leads (DESIGN §3)."""
    return can_manage_meeting(user, meeting)


TEMPLATE_PREDICATES = {
    "can_view_meeting": can_view_meeting,
    "can_create_meetings": can_create_meetings,
    "can_manage_meeting": can_manage_meeting,
    "can_see_online_url": can_see_online_url,
    "can_view_registrations": can_view_registrations,
}
