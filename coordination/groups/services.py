"""Who belongs to which working group, and who may read it. Functions flush; callers commit.

Audit trail of a group (read by :func:`audit_trail`): every change records an
:class:`~coordination.audit.models.AuditEvent` with ``object_type="group"``,
``object_id=group.id`` and as ``detail`` the enum value of the new role, request status,
confidentiality or join mode. A change that concerns one person (joined, left, added, removed,
role changed, request made, approved or declined) records a second event with the same action,
actor and ``created_at``, ``object_type="user"``, ``object_id=<that person's id>`` and
``detail="group:<group id>"``: so an admin can follow one person across groups, and the group's
trail can name the person even after their membership row is gone.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from coordination.actions.models import Action
from coordination.audit import services as audit
from coordination.audit.models import AuditEvent
from coordination.auth.models import Role, User
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    JoinMode,
    JoinRequest,
    JoinRequestStatus,
    WorkingGroup,
)
from coordination.mail.services import queue_mail
from coordination.problems.models import GroupIssue, Solution
from coordination.text import slugify

log = logging.getLogger(__name__)

#: Slugs that would hide a route of the groups blueprint (``/groups/new``).
RESERVED_SLUGS = frozenset({"new"})

# Audit actions (``AuditEvent.action``); the detail is an enum value (see the module docstring).
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_CONFIDENTIALITY_CHANGED = "group.confidentiality_changed"
GROUP_JOIN_MODE_CHANGED = "group.join_mode_changed"
MEMBER_JOINED = "group.member_joined"
MEMBER_LEFT = "group.member_left"
MEMBER_ADDED = "group.member_added"
MEMBER_REMOVED = "group.member_removed"
ROLE_CHANGED = "group.role_changed"
JOIN_REQUESTED = "group.join_requested"
REQUEST_APPROVED = "group.request_approved"
REQUEST_DECLINED = "group.request_declined"


class NameTaken(Exception):
    """Another group has this name (compared without case)."""


class AlreadyMember(Exception):
    """The person belongs to the group already."""


class NotMember(Exception):
    """The person (or membership) is not (or no longer) in the group."""


class LastLead(Exception):
    """The change would leave the group without a lead."""


class RequestPending(Exception):
    """The person has asked to join already; the request waits for a lead."""


class RequestDecided(Exception):
    """The join request was approved or declined already."""


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


def can_read_group(
    user: Any, group: WorkingGroup, *, member_groups: Collection[int] | None = None
) -> bool:
    """``member_groups``: the user's group ids, when a loop over many people loaded them at
    once (see ``meetings.permissions.GroupAccess``); otherwise they are queried."""
    if _user_id(user) is None:
        return False
    if user.role is Role.ADMIN or group.confidentiality is Confidentiality.OPEN:
        return True
    if member_groups is None:
        member_groups = member_group_ids(user)
    return group.id in member_groups


def is_lead(user: Any, group: WorkingGroup | None) -> bool:
    return group is not None and group.id in lead_group_ids(user)


def add_member(
    group: WorkingGroup, user: User, role: GroupRole = GroupRole.MEMBER
) -> GroupMembership:
    membership = GroupMembership(group=group, user=user, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


# --- reading ----------------------------------------------------------------------------------


def groups_query(user: Any) -> sa.Select:
    """The groups ``user`` may read, by name. Confidential groups of others never appear."""
    return (
        sa.select(WorkingGroup)
        .where(readable_groups_clause(user))
        .order_by(sa.func.lower(WorkingGroup.name), WorkingGroup.id)
    )


def get_readable_group(user: Any, slug: str) -> WorkingGroup | None:
    """The group at ``slug`` if ``user`` may read it, else ``None`` (unknown and hidden alike)."""
    return db.session.scalar(
        sa.select(WorkingGroup).where(WorkingGroup.slug == slug, readable_groups_clause(user))
    )


def member_counts(group_ids: Iterable[int]) -> dict[int, int]:
    """Number of members per listed group (one query)."""
    ids = list(group_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(GroupMembership.group_id, sa.func.count(GroupMembership.id))
        .where(GroupMembership.group_id.in_(ids))
        .group_by(GroupMembership.group_id)
    )
    return {group_id: count for group_id, count in rows}


def roles_of(user: Any, group_ids: Iterable[int]) -> dict[int, GroupRole]:
    """``user``'s role in each of the listed groups they belong to (one query)."""
    ids = list(group_ids)
    user_id = _user_id(user)
    if not ids or user_id is None:
        return {}
    rows = db.session.execute(
        sa.select(GroupMembership.group_id, GroupMembership.role).where(
            GroupMembership.user_id == user_id, GroupMembership.group_id.in_(ids)
        )
    )
    return {group_id: GroupRole(role) for group_id, role in rows}


def pending_request_group_ids(user: Any, group_ids: Iterable[int]) -> set[int]:
    """The listed groups ``user`` has asked to join and is still waiting for (one query)."""
    ids = list(group_ids)
    user_id = _user_id(user)
    if not ids or user_id is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(JoinRequest.group_id).where(
                JoinRequest.user_id == user_id,
                JoinRequest.group_id.in_(ids),
                JoinRequest.status == JoinRequestStatus.PENDING,
            )
        )
    )


def memberships(group: WorkingGroup) -> list[GroupMembership]:
    """The group's members with their accounts: leads first, then by name."""
    return list(
        db.session.scalars(
            sa.select(GroupMembership)
            .join(GroupMembership.user)
            .options(joinedload(GroupMembership.user))
            .where(GroupMembership.group_id == group.id)
            .order_by(GroupMembership.role, sa.func.lower(User.name), User.id)
        )
    )


def membership_of(group: WorkingGroup, user: Any) -> GroupMembership | None:
    user_id = _user_id(user)
    if user_id is None:
        return None
    return db.session.scalar(
        sa.select(GroupMembership).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id == user_id
        )
    )


def get_membership(group: WorkingGroup, membership_id: int) -> GroupMembership | None:
    """A membership of this group (a membership of another group is ``None``)."""
    return db.session.scalar(
        sa.select(GroupMembership)
        .options(joinedload(GroupMembership.user))
        .where(GroupMembership.id == membership_id, GroupMembership.group_id == group.id)
    )


def pending_requests(group: WorkingGroup) -> list[JoinRequest]:
    """Open join requests, oldest first, with the requesters' accounts."""
    return list(
        db.session.scalars(
            sa.select(JoinRequest)
            .options(joinedload(JoinRequest.user))
            .where(
                JoinRequest.group_id == group.id,
                JoinRequest.status == JoinRequestStatus.PENDING,
            )
            .order_by(JoinRequest.created_at, JoinRequest.id)
        )
    )


def pending_request_of(group: WorkingGroup, user: Any) -> JoinRequest | None:
    user_id = _user_id(user)
    if user_id is None:
        return None
    return db.session.scalar(
        sa.select(JoinRequest).where(
            JoinRequest.group_id == group.id,
            JoinRequest.user_id == user_id,
            JoinRequest.status == JoinRequestStatus.PENDING,
        )
    )


def get_request(group: WorkingGroup, request_id: int) -> JoinRequest | None:
    """A join request for this group (one for another group is ``None``)."""
    return db.session.scalar(
        sa.select(JoinRequest)
        .options(joinedload(JoinRequest.user))
        .where(JoinRequest.id == request_id, JoinRequest.group_id == group.id)
    )


def _person_choices(query: sa.Select) -> list[tuple[int, str]]:
    """(id, label) for the accounts of ``query``: the name, with the person's organisations.

    Email addresses are not shown: leads are ordinary members and must not see everyone's.
    Names that are still ambiguous get the account number.
    """
    people = list(db.session.scalars(query.options(selectinload(User.organizations))))
    labels = {}
    for person in people:
        organizations = ", ".join(org.name for org in person.organizations)
        labels[person.id] = f"{person.name} ({organizations})" if organizations else person.name
    seen = Counter(labels.values())
    return [
        (
            person.id,
            labels[person.id]
            if seen[labels[person.id]] == 1
            else f"{labels[person.id]} #{person.id}",
        )
        for person in people
    ]


def active_user_choices() -> list[tuple[int, str]]:
    """Every active account, by name: for choosing a group's first lead."""
    return _person_choices(
        sa.select(User).where(User.is_active.is_(True)).order_by(sa.func.lower(User.name), User.id)
    )


def addable_user_choices(group: WorkingGroup) -> list[tuple[int, str]]:
    """Active accounts that are not in ``group`` yet, by name."""
    in_group = sa.select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)
    return _person_choices(
        sa.select(User)
        .where(User.is_active.is_(True), User.id.not_in(in_group))
        .order_by(sa.func.lower(User.name), User.id)
    )


def active_user(user_id: Any) -> User | None:
    """The active account with this id; ``None`` for anything else (also non-numbers)."""
    try:
        number = int(user_id)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**31:
        return None
    user = db.session.get(User, number)
    return user if user is not None and user.is_active else None


def upcoming_meetings(group: WorkingGroup, user: Any, limit: int = 5) -> list[Any]:
    """The group's next meetings that ``user`` may see (not yet ended), soonest first."""
    from coordination.meetings.models import Meeting
    from coordination.meetings.permissions import visible_meetings_clause

    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(
                Meeting.group_id == group.id,
                visible_meetings_clause(user),
                Meeting.ends_at > utcnow(),
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(limit)
        )
    )


# --- creating and editing groups --------------------------------------------------------------


def _slug_taken(base: str) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(WorkingGroup.slug).where(
                sa.or_(WorkingGroup.slug == base, WorkingGroup.slug.like(f"{base}-%"))
            )
        )
    )


def unique_slug(name: str) -> str:
    """A free slug for ``name``: ``ag-uma``, else ``ag-uma-2``, ``ag-uma-3`` …"""
    base = slugify(name)
    taken = _slug_taken(base) | RESERVED_SLUGS
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_name(name: str, exclude_id: int | None = None) -> None:
    query = sa.select(WorkingGroup.id).where(sa.func.lower(WorkingGroup.name) == name.lower())
    if exclude_id is not None:
        query = query.where(WorkingGroup.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise NameTaken(name)


def _record_for_person(
    action: str, *, group: WorkingGroup, actor: User | None, person: User, detail: str
) -> None:
    """One event on the group and its twin on the person (see the module docstring)."""
    now = utcnow()
    event = audit.record(
        action, actor=actor, object_type="group", object_id=group.id, detail=detail
    )
    event.created_at = now
    twin = audit.record(
        action, actor=actor, object_type="user", object_id=person.id, detail=f"group:{group.id}"
    )
    twin.created_at = now


def create_group(
    *,
    name: str,
    description: str,
    confidentiality: Confidentiality,
    join_mode: JoinMode,
    lead: User,
    actor: User,
) -> WorkingGroup:
    """Create a group with a slug derived from its name, and ``lead`` as its first lead."""
    name = name.strip()
    _check_name(name)
    group = WorkingGroup(
        name=name,
        slug=unique_slug(name),
        description=description,
        confidentiality=confidentiality,
        join_mode=join_mode,
    )
    try:
        # A concurrent create of the same name (or slug) loses here, not with a server error.
        with db.session.begin_nested():
            db.session.add(group)
    except IntegrityError:
        _check_name(name)
        raise NameTaken(name) from None
    db.session.add(GroupMembership(group_id=group.id, user_id=lead.id, role=GroupRole.LEAD))
    db.session.flush()
    audit.record(
        GROUP_CREATED,
        actor=actor,
        object_type="group",
        object_id=group.id,
        detail=confidentiality.value,
    )
    _record_for_person(
        MEMBER_ADDED, group=group, actor=actor, person=lead, detail=GroupRole.LEAD.value
    )
    log.info("group %s created by user %s", group.id, actor.id)
    if lead.id != actor.id:
        _mail_member_added(group, lead, role=GroupRole.LEAD)
    return group


def update_group(
    group: WorkingGroup,
    *,
    name: str,
    description: str,
    confidentiality: Confidentiality,
    join_mode: JoinMode,
    actor: User,
) -> int:
    """Change a group's details. The slug (its address) stays the same.

    Returns how many meetings had to be restricted to the group because it became
    confidential (see :func:`restrict_meetings_to_group`).
    """
    name = name.strip()
    _check_name(name, exclude_id=group.id)
    old_confidentiality, old_join_mode = group.confidentiality, group.join_mode
    group.name = name
    group.description = description
    group.confidentiality = confidentiality
    group.join_mode = join_mode
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise NameTaken(name) from None
    audit.record(GROUP_UPDATED, actor=actor, object_type="group", object_id=group.id)
    restricted = 0
    if confidentiality is not old_confidentiality:
        audit.record(
            GROUP_CONFIDENTIALITY_CHANGED,
            actor=actor,
            object_type="group",
            object_id=group.id,
            detail=confidentiality.value,
        )
        if confidentiality is Confidentiality.CONFIDENTIAL:
            restricted = restrict_meetings_to_group(group)
    if join_mode is not old_join_mode:
        audit.record(
            GROUP_JOIN_MODE_CHANGED,
            actor=actor,
            object_type="group",
            object_id=group.id,
            detail=join_mode.value,
        )
    log.info("group %s updated by user %s", group.id, actor.id)
    return restricted


def restrict_meetings_to_group(group: WorkingGroup) -> int:
    """A confidential group's meetings are visible to the group only (the meeting form's rule).

    When an open group becomes confidential, its public and network-wide meetings and series
    would otherwise stay on public pages, in the public feed and in mails to outsiders. They
    become group meetings: no guests, no public online link. Returns how many meetings changed.
    """
    from coordination.meetings.models import Meeting, MeetingSeries, Visibility

    restricted = {
        "visibility": Visibility.GROUP,
        "allows_guests": False,
        "is_online_url_public": False,
    }
    result = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.group_id == group.id, Meeting.visibility != Visibility.GROUP)
        .values(**restricted, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        sa.update(MeetingSeries)
        .where(MeetingSeries.group_id == group.id, MeetingSeries.visibility != Visibility.GROUP)
        .values(**restricted)
        .execution_options(synchronize_session="fetch")
    )
    count = int(result.rowcount or 0)
    if count:
        log.info("group %s became confidential; %d meetings restricted to it", group.id, count)
    return count


# --- membership -------------------------------------------------------------------------------


def may_join_directly(group: WorkingGroup) -> bool:
    """A member of the network joins with one click (open groups with join mode "open")."""
    return not group.is_confidential and group.join_mode is JoinMode.OPEN


def may_request(group: WorkingGroup) -> bool:
    """A member of the network may ask to join (open groups with join mode "by request").

    Confidential groups are invisible to outsiders: their leads add members.
    """
    return not group.is_confidential and group.join_mode is JoinMode.REQUEST


def _insert_membership(group: WorkingGroup, user: User, role: GroupRole) -> GroupMembership:
    """Add the membership, or raise :class:`AlreadyMember` (also when a concurrent request won)."""
    if membership_of(group, user) is not None:
        raise AlreadyMember
    membership = GroupMembership(group_id=group.id, user_id=user.id, role=role)
    try:
        with db.session.begin_nested():
            db.session.add(membership)
    except IntegrityError:
        raise AlreadyMember from None
    return membership


def _close_pending_request(group: WorkingGroup, user: User, *, decided_by: User) -> None:
    """Someone who became a member no longer waits: their open request counts as approved."""
    db.session.execute(
        sa.update(JoinRequest)
        .where(
            JoinRequest.group_id == group.id,
            JoinRequest.user_id == user.id,
            JoinRequest.status == JoinRequestStatus.PENDING,
        )
        .values(status=JoinRequestStatus.APPROVED, decided_at=utcnow(), decided_by_id=decided_by.id)
        .execution_options(synchronize_session=False)
    )


def join_group(group: WorkingGroup, user: User) -> GroupMembership:
    """``user`` joins an open group. Raises :class:`AlreadyMember` on a repeated submit."""
    membership = _insert_membership(group, user, GroupRole.MEMBER)
    _close_pending_request(group, user, decided_by=user)
    _record_for_person(
        MEMBER_JOINED, group=group, actor=user, person=user, detail=GroupRole.MEMBER.value
    )
    log.info("user %s joined group %s", user.id, group.id)
    return membership


def request_to_join(group: WorkingGroup, user: User) -> JoinRequest:
    """Ask the group's leads to let ``user`` in; each active lead gets an email.

    Raises :class:`AlreadyMember`, or :class:`RequestPending` when a request waits already
    (one pending request per person and group, also under concurrent submits).
    """
    if membership_of(group, user) is not None:
        raise AlreadyMember
    if pending_request_of(group, user) is not None:
        raise RequestPending
    join_request = JoinRequest(group_id=group.id, user_id=user.id)
    try:
        with db.session.begin_nested():
            db.session.add(join_request)
    except IntegrityError:
        raise RequestPending from None
    _record_for_person(
        JOIN_REQUESTED,
        group=group,
        actor=user,
        person=user,
        detail=JoinRequestStatus.PENDING.value,
    )
    for lead in _active_leads(group):
        queue_mail(
            recipient=lead.email,
            locale=lead.locale.value,
            subject=_l("Request to join %(group)s", group=group.name),
            template="mail/group_join_request",
            url_endpoint=("groups.detail", {"slug": group.slug}),
            name=lead.name,
            requester=user.name,
            group_name=group.name,
        )
    log.info("user %s asked to join group %s (request %s)", user.id, group.id, join_request.id)
    return join_request


def _decide(join_request: JoinRequest, status: JoinRequestStatus, actor: User) -> None:
    """Set the decision once: a double submit or a concurrent decision gets RequestDecided."""
    result = db.session.execute(
        sa.update(JoinRequest)
        .where(JoinRequest.id == join_request.id, JoinRequest.status == JoinRequestStatus.PENDING)
        .values(status=status, decided_at=utcnow(), decided_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RequestDecided
    db.session.refresh(join_request)


def approve_request(join_request: JoinRequest, *, actor: User) -> None:
    """Let the requester in (if not in already) and tell them by email."""
    group, person = join_request.group, join_request.user
    _decide(join_request, JoinRequestStatus.APPROVED, actor)
    with contextlib.suppress(AlreadyMember):  # added directly by a lead meanwhile
        _insert_membership(group, person, GroupRole.MEMBER)
    _record_for_person(
        REQUEST_APPROVED,
        group=group,
        actor=actor,
        person=person,
        detail=JoinRequestStatus.APPROVED.value,
    )
    _mail_request_decided(group, person, approved=True)
    log.info("request %s approved by user %s", join_request.id, actor.id)


def decline_request(join_request: JoinRequest, *, actor: User) -> None:
    """Turn the request down and tell the requester by email."""
    group, person = join_request.group, join_request.user
    _decide(join_request, JoinRequestStatus.DECLINED, actor)
    _record_for_person(
        REQUEST_DECLINED,
        group=group,
        actor=actor,
        person=person,
        detail=JoinRequestStatus.DECLINED.value,
    )
    _mail_request_decided(group, person, approved=False)
    log.info("request %s declined by user %s", join_request.id, actor.id)


def add_member_by_lead(
    group: WorkingGroup, person: User, *, role: GroupRole, actor: User
) -> GroupMembership:
    """A lead adds ``person`` directly; they get an email. Raises :class:`AlreadyMember`."""
    membership = _insert_membership(group, person, role)
    _close_pending_request(group, person, decided_by=actor)
    _record_for_person(MEMBER_ADDED, group=group, actor=actor, person=person, detail=role.value)
    _mail_member_added(group, person, role=role)
    log.info("user %s added to group %s by user %s", person.id, group.id, actor.id)
    return membership


def _lock_leads(group: WorkingGroup) -> None:
    lock_for_update(db.session, f"group-leads-{group.id}")


def _lead_count(group: WorkingGroup) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(GroupMembership.id)).where(
                GroupMembership.group_id == group.id, GroupMembership.role == GroupRole.LEAD
            )
        )
        or 0
    )


def _fresh_membership(membership_id: int) -> GroupMembership | None:
    """Re-read a membership after taking the lock: another request may have changed it."""
    return db.session.scalar(
        sa.select(GroupMembership)
        .where(GroupMembership.id == membership_id)
        .execution_options(populate_existing=True)
    )


def _remove(membership: GroupMembership) -> GroupRole:
    """Delete ``membership`` unless it is the group's last lead; return the role it had."""
    fresh = _fresh_membership(membership.id)
    if fresh is None:
        raise NotMember
    if fresh.role is GroupRole.LEAD and _lead_count(fresh.group) <= 1:
        raise LastLead
    role = fresh.role
    db.session.delete(fresh)
    db.session.flush()
    return role


def leave_group(group: WorkingGroup, user: User) -> None:
    """``user`` leaves the group. Raises :class:`NotMember` or :class:`LastLead`."""
    _lock_leads(group)
    membership = membership_of(group, user)
    if membership is None:
        raise NotMember
    role = _remove(membership)
    _record_for_person(MEMBER_LEFT, group=group, actor=user, person=user, detail=role.value)
    log.info("user %s left group %s", user.id, group.id)


def remove_member(membership: GroupMembership, *, actor: User) -> None:
    """A lead removes someone. Raises :class:`NotMember` or :class:`LastLead`."""
    group, person = membership.group, membership.user
    _lock_leads(group)
    role = _remove(membership)
    _record_for_person(MEMBER_REMOVED, group=group, actor=actor, person=person, detail=role.value)
    log.info("user %s removed from group %s by user %s", person.id, group.id, actor.id)


def change_role(membership: GroupMembership, *, role: GroupRole, actor: User) -> bool:
    """Make a member a lead or a lead a member; returns whether anything changed.

    Raises :class:`NotMember` (removed meanwhile) or :class:`LastLead`.
    """
    group, person = membership.group, membership.user
    _lock_leads(group)
    fresh = _fresh_membership(membership.id)
    if fresh is None:
        raise NotMember
    if fresh.role is role:
        return False
    if fresh.role is GroupRole.LEAD and _lead_count(group) <= 1:
        raise LastLead
    fresh.role = role
    db.session.flush()
    _record_for_person(ROLE_CHANGED, group=group, actor=actor, person=person, detail=role.value)
    log.info("user %s is now %s of group %s (by user %s)", person.id, role, group.id, actor.id)
    return True


# --- mails (group name, a generic sentence and a link; never any group content) ---------------


def _active_leads(group: WorkingGroup) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(
                GroupMembership.group_id == group.id,
                GroupMembership.role == GroupRole.LEAD,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _mail_request_decided(group: WorkingGroup, person: User, *, approved: bool) -> None:
    if not person.is_active:
        return
    subject = (
        _l("You are now a member of %(group)s", group=group.name)
        if approved
        else _l("Your request to join %(group)s", group=group.name)
    )
    queue_mail(
        recipient=person.email,
        locale=person.locale.value,
        subject=subject,
        template="mail/group_request_decided",
        # Declined people may not be able to read the group (if it became confidential).
        url_endpoint=("groups.detail", {"slug": group.slug}) if approved else ("groups.index", {}),
        name=person.name,
        group_name=group.name,
        approved=approved,
    )


def _mail_member_added(group: WorkingGroup, person: User, *, role: GroupRole) -> None:
    if not person.is_active:
        return
    queue_mail(
        recipient=person.email,
        locale=person.locale.value,
        subject=_l("You were added to %(group)s", group=group.name),
        template="mail/group_member_added",
        url_endpoint=("groups.detail", {"slug": group.slug}),
        name=person.name,
        group_name=group.name,
        is_lead=role is GroupRole.LEAD,
    )


# --- audit trail ------------------------------------------------------------------------------

#: Audit object types of a group's content, recorded by the problems and actions features.
CONTENT_OBJECT_TYPES = ("group_issue", "solution", "action")


@dataclass(frozen=True)
class TrailEntry:
    event: AuditEvent
    #: The person a membership change concerned (``None`` for other events).
    person: User | None = None
    #: For a solution's event: the problem the solution belongs to (for the link).
    issue_id: int | None = None


def audit_trail_query(group: WorkingGroup) -> sa.Select:
    """The group's audit events, newest first, with their actors.

    The group's own events (edits, membership) and those of its problems, solutions and
    actions (created, status changes).
    """
    issue_ids = sa.select(GroupIssue.id).where(GroupIssue.group_id == group.id)
    solution_ids = sa.select(Solution.id).where(Solution.issue_id.in_(issue_ids))
    action_ids = sa.select(Action.id).where(Action.group_id == group.id)
    return (
        sa.select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .where(
            sa.or_(
                sa.and_(AuditEvent.object_type == "group", AuditEvent.object_id == group.id),
                sa.and_(
                    AuditEvent.object_type == "group_issue", AuditEvent.object_id.in_(issue_ids)
                ),
                sa.and_(
                    AuditEvent.object_type == "solution", AuditEvent.object_id.in_(solution_ids)
                ),
                sa.and_(AuditEvent.object_type == "action", AuditEvent.object_id.in_(action_ids)),
            )
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )


def audit_trail(group: WorkingGroup, events: list[AuditEvent]) -> list[TrailEntry]:
    """Pair a page of events with the person each concerned (at most two more queries)."""
    group_moments = {event.created_at for event in events if event.object_type == "group"}
    people: dict[tuple[datetime, str, int | None], User] = {}
    if group_moments:
        twins = db.session.execute(
            sa.select(AuditEvent.created_at, AuditEvent.action, AuditEvent.actor_id, User)
            .join(User, User.id == AuditEvent.object_id)
            .where(
                AuditEvent.object_type == "user",
                AuditEvent.detail == f"group:{group.id}",
                AuditEvent.created_at.in_(group_moments),
            )
        )
        people = {(moment, action, actor): user for moment, action, actor, user in twins}
    solution_ids = {event.object_id for event in events if event.object_type == "solution"}
    issues: dict[int, int] = {}
    if solution_ids:
        rows = db.session.execute(
            sa.select(Solution.id, Solution.issue_id).where(Solution.id.in_(solution_ids))
        )
        issues = {solution_id: issue_id for solution_id, issue_id in rows}
    return [
        TrailEntry(
            event,
            person=(
                people.get((event.created_at, event.action, event.actor_id))
                if event.object_type == "group"
                else None
            ),
            issue_id=issues.get(event.object_id) if event.object_type == "solution" else None,
        )
        for event in events
    ]
