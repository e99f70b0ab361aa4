"""The weekly digest: what changed in one's groups, one's own actions, the next meetings.

Opt-in (``NotificationPreference.digest``). ``flask notifications run`` calls
:func:`queue_digests` every few minutes; it mails once per ISO week, from ``DIGEST_WEEKDAY``
on (in the network's time zone), so a day the job did not run is caught up later that week.

Privacy: a group's news go only to its members; for confidential groups the mail holds counts
and the group's name, never a title. Meetings are listed only where the reader may see them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from coordination.actions.models import Action, ActionStatus
from coordination.actions.services import ActionCounts, my_action_counts
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.mail.models import OutboxMessage
from coordination.mail.services import queue_mail
from coordination.meetings.models import Meeting, MeetingStatus
from coordination.meetings.permissions import visible_meetings_clause
from coordination.notifications import preferences
from coordination.notifications.models import NotificationPreference, Topic
from coordination.problems.models import (
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    ProblemStatus,
    Solution,
)
from coordination.timeutil import utc_to_local
from coordination.urls import external_url

log = logging.getLogger(__name__)

DIGEST_TOPIC = "digest"
#: The digest looks this far back for changes and this far ahead for meetings.
LOOKBACK = timedelta(days=7)
LOOKAHEAD = timedelta(days=14)
#: At most this many titles per kind of change and group, and meetings per mail.
MAX_TITLES = 5
MAX_MEETINGS = 20


@dataclass
class GroupNews:
    """What happened in one group during the week: counts, and titles for open groups."""

    group: WorkingGroup
    new_problems: list[str] = field(default_factory=list)
    resolved_problems: list[str] = field(default_factory=list)
    new_solutions: int = 0
    new_actions: list[str] = field(default_factory=list)
    done_actions: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(
            self.new_problems
            or self.resolved_problems
            or self.new_solutions
            or self.new_actions
            or self.done_actions
        )

    def titles(self, items: list[str]) -> list[str]:
        """Titles to print: none for a confidential group, a few for an open one."""
        return [] if self.group.is_confidential else items[:MAX_TITLES]


def digest_key(user_id: int, day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"digest:{user_id}:{year}-W{week:02d}"


def _subscribers(now: datetime) -> list[User]:
    """Active members with the digest on who have not had this week's yet (two queries)."""
    day = utc_to_local(now).date()
    users = list(
        db.session.scalars(
            sa.select(User)
            .join(NotificationPreference, NotificationPreference.user_id == User.id)
            .where(User.is_active.is_(True), NotificationPreference.digest.is_(True))
            .order_by(User.id)
        )
    )
    keys = [digest_key(user.id, day) for user in users]
    sent = set(
        db.session.scalars(
            sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
        )
    )
    return [user for user, key in zip(users, keys, strict=True) if key not in sent]


def _memberships(user_ids: Iterable[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    ids = list(user_ids)
    if ids:
        rows = db.session.execute(
            sa.select(GroupMembership.user_id, GroupMembership.group_id).where(
                GroupMembership.user_id.in_(ids)
            )
        )
        for user_id, group_id in rows:
            groups[user_id].append(group_id)
    return groups


def _group_news(group_ids: set[int], since: datetime) -> dict[int, GroupNews]:
    """Every listed group's news since ``since``; five queries, whatever the number of readers."""
    if not group_ids:
        return {}
    groups = db.session.scalars(sa.select(WorkingGroup).where(WorkingGroup.id.in_(group_ids)))
    news = {group.id: GroupNews(group) for group in groups}
    newest_first = (GroupIssue.created_at.desc(), GroupIssue.id.desc())
    for group_id, title in db.session.execute(
        sa.select(GroupIssue.group_id, GroupIssue.title)
        .where(GroupIssue.group_id.in_(group_ids), GroupIssue.created_at >= since)
        .order_by(*newest_first)
    ):
        news[group_id].new_problems.append(title)
    for group_id, title in db.session.execute(
        sa.select(GroupIssue.group_id, GroupIssue.title)
        .where(
            GroupIssue.group_id.in_(group_ids),
            GroupIssue.status == ProblemStatus.RESOLVED,
            GroupIssue.id.in_(
                sa.select(IssueEvent.issue_id).where(
                    IssueEvent.kind == IssueEventKind.STATUS_CHANGED,
                    IssueEvent.detail == ProblemStatus.RESOLVED.value,
                    IssueEvent.created_at >= since,
                )
            ),
        )
        .order_by(*newest_first)
    ):
        news[group_id].resolved_problems.append(title)
    for group_id, count in db.session.execute(
        sa.select(GroupIssue.group_id, sa.func.count(Solution.id))
        .join(Solution.issue)
        .where(GroupIssue.group_id.in_(group_ids), Solution.created_at >= since)
        .group_by(GroupIssue.group_id)
    ):
        news[group_id].new_solutions = int(count)
    for group_id, title in db.session.execute(
        sa.select(Action.group_id, Action.title)
        .where(Action.group_id.in_(group_ids), Action.created_at >= since)
        .order_by(Action.created_at.desc(), Action.id.desc())
    ):
        news[group_id].new_actions.append(title)
    for group_id, title in db.session.execute(
        sa.select(Action.group_id, Action.title)
        .where(
            Action.group_id.in_(group_ids),
            Action.status == ActionStatus.DONE,
            Action.completed_at >= since,
        )
        .order_by(Action.completed_at.desc(), Action.id.desc())
    ):
        news[group_id].done_actions.append(title)
    return news


def _upcoming_meetings(user: User, group_ids: list[int], now: datetime) -> list[Meeting]:
    """Scheduled meetings of the next two weeks that are network-wide or of the user's groups,
    and that the user may see (one query)."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(
                visible_meetings_clause(user),
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at >= now,
                Meeting.starts_at < now + LOOKAHEAD,
                sa.or_(Meeting.group_id.is_(None), Meeting.group_id.in_(group_ids)),
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(MAX_MEETINGS)
        )
    )


@dataclass
class Digest:
    """One reader's digest; empty (nothing to say) means no mail."""

    groups: list[GroupNews]
    actions: ActionCounts
    meetings: list[Meeting]

    @property
    def is_empty(self) -> bool:
        return not self.groups and not self.actions.open and not self.meetings


def build_digest(
    user: User, group_ids: list[int], news: dict[int, GroupNews], now: datetime
) -> Digest:
    """The reader's digest from the week's news (two queries of its own)."""
    groups = [news[g] for g in group_ids if g in news and news[g].any]
    groups.sort(key=lambda item: item.group.name.lower())
    return Digest(
        groups=groups,
        actions=my_action_counts(user, utc_to_local(now).date()),
        meetings=_upcoming_meetings(user, group_ids, now),
    )


def _queue_digest(user: User, digest: Digest, now: datetime, key: str) -> bool:
    locale = str(user.locale)
    since = utc_to_local(now - LOOKBACK).date()
    with force_locale(locale):
        subject = _(
            "Your week in %(network)s: %(start)s – %(end)s",
            network=current_app.config["NETWORK_NAME"],
            start=format_date(since, "medium"),
            end=format_date(utc_to_local(now).date(), "medium"),
        )
    message = queue_mail(
        recipient=user.email,
        locale=locale,
        subject=subject,
        template="mail/weekly_digest",
        dedupe_key=key,
        unsubscribe_url=preferences.unsubscribe_url(Topic.DIGEST, user=user),
        topic=DIGEST_TOPIC,
        name=user.name,
        groups=[
            (item, external_url("groups.detail", slug=item.group.slug)) for item in digest.groups
        ],
        actions=digest.actions,
        actions_url=external_url("actions.mine"),
        meetings=[
            (meeting, external_url("meetings.detail", meeting_id=meeting.id))
            for meeting in digest.meetings
        ],
        lookahead_days=LOOKAHEAD.days,
    )
    return message is not None


def queue_digests(now: datetime | None = None) -> int:
    """Queue this week's digest for every subscriber who has something to read.

    Runs from ``DIGEST_WEEKDAY`` on (local time) until the week ends; once per ISO week and
    reader. Queries: a fixed handful for everyone, plus about four per reader (their actions,
    their meetings, and the outbox's duplicate check and insert). Flushes; the caller commits.
    """
    now = now or utcnow()
    day = utc_to_local(now).date()
    if day.weekday() < current_app.config["DIGEST_WEEKDAY"]:
        return 0
    readers = _subscribers(now)
    if not readers:
        return 0
    memberships = _memberships(user.id for user in readers)
    news = _group_news({g for ids in memberships.values() for g in ids}, now - LOOKBACK)
    count = 0
    for user in readers:
        digest = build_digest(user, memberships.get(user.id, []), news, now)
        if digest.is_empty:
            continue
        count += _queue_digest(user, digest, now, digest_key(user.id, day))
    db.session.flush()
    if count:
        log.info("%d weekly digests queued", count)
    return count
