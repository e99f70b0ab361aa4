"""Calendar feeds and downloads: which meetings, rendered how, validated and cached how.

Feeds are the hot path (DESIGN §7): calendar apps poll them for every subscriber. Every feed's
ETag is derived from the :class:`CalendarRevision` counter (bumped in the same transaction as any
change a feed renders), the feed's key, the local date (the feed window moves at midnight) and the
language, so a conditional poll costs one primary-key lookup and never builds the feed. A built
feed is kept per (feed, ETag) in a small per-process cache.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app, has_app_context, session
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from coordination.audit import services as audit
from coordination.auth.models import User
from coordination.auth.services import hash_token, new_token
from coordination.calendar import ics
from coordination.calendar.models import CalendarRevision, CalendarToken
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import Confidentiality, GroupMembership, WorkingGroup
from coordination.meetings.models import Meeting, MeetingStatus, Visibility
from coordination.meetings.permissions import can_see_online_url, visible_meetings_clause
from coordination.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus
from coordination.timeutil import local_midnight_utc, local_today, utc_to_local
from coordination.urls import external_url

#: Bump when the rendered output changes for the same data, so that every ETag changes.
RENDER_VERSION = "1"

#: Meetings that ended up to this long ago stay in feeds (DESIGN §5).
PAST_WINDOW = timedelta(days=90)
#: Cancelled meetings stay (marked) this long after their date, then they leave the feeds.
CANCELLED_WINDOW = timedelta(days=14)
#: Suggested polling interval for calendar apps (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH_INTERVAL = timedelta(hours=1)
#: The meeting description is cut to this many characters in calendar entries.
DESCRIPTION_LIMIT = 2000
#: A token's "last used" is written at most this often, so polls do not write every time.
LAST_USED_RESOLUTION = timedelta(minutes=10)
#: Feed tokens one user may hold.
MAX_TOKENS_PER_USER = 20


# --- the revision counter ----------------------------------------------------------------------

#: What feeds render. ``None``: any change of the row; else only changes of these attributes.
_WATCHED: dict[type, frozenset[str] | None] = {
    Meeting: None,
    Registration: frozenset({"status", "meeting_id", "user_id"}),
    GroupMembership: None,
    WorkingGroup: frozenset({"name", "slug", "confidentiality"}),
    User: frozenset({"role", "locale", "is_active"}),
}
_FLAG = "calendar_changed"
_BUMPED = "calendar_bumped"


def _touches_feeds(obj: Any, deleted: bool = False) -> bool:
    watched = next((attrs for cls, attrs in _WATCHED.items() if isinstance(obj, cls)), False)
    if watched is False:
        return False
    if watched is None or deleted:
        return True
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watched)


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(_FLAG):
        return
    if (
        any(_touches_feeds(obj) for obj in session.new)
        or any(_touches_feeds(obj, deleted=True) for obj in session.deleted)
        or any(_touches_feeds(obj) for obj in session.dirty if session.is_modified(obj))
    ):
        session.info[_FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: Any) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _WATCHED:
        state.session.info[_FLAG] = True


@event.listens_for(Session, "before_commit")
def _bump_revision(session: Session) -> None:
    """Count the change last in the transaction, so the row lock is held only for the commit."""
    session.flush()
    if not session.info.pop(_FLAG, False):
        return
    table = CalendarRevision.__table__
    connection = session.connection()
    now = utcnow()
    result = connection.execute(
        table.update().where(table.c.id == 1).values(number=table.c.number + 1, changed_at=now)
    )
    if result.rowcount == 0:
        connection.execute(table.insert().values(id=1, number=1, changed_at=now))
    session.info[_BUMPED] = True
    _forget_revision()


@event.listens_for(Session, "after_commit")
def _publish_revision(session: Session) -> None:
    # Forget the copy once more now that the new number is visible to other transactions.
    if session.info.pop(_BUMPED, False):
        _forget_revision()


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_BUMPED, None)


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    changed_at: datetime


#: Built once: every feed request runs it, and building it anew cost 4 % of a 304 response.
_REVISION_KEY = "calendar_revision"
_REVISION_QUERY = sa.select(CalendarRevision.number, CalendarRevision.changed_at).where(
    CalendarRevision.id == 1
)


def current_revision() -> Revision:
    """The revision, read at most every ``CALENDAR_REVISION_TTL`` seconds per process.

    Calendar apps poll every half hour or more, so a change made by another worker process may
    take up to that second longer to show; this process's own commits clear the copy at once.
    Without the copy, the database round trip was half the cost of a 304 (bench/feeds.py).
    """
    ttl = current_app.config.get("CALENDAR_REVISION_TTL", 1.0)
    kept = current_app.extensions.setdefault(_REVISION_KEY, {})
    now = time.monotonic()
    entry = kept.get("entry")
    if entry is not None and now - entry[0] < ttl:
        return entry[1]
    row = db.session.execute(_REVISION_QUERY).first()
    revision = Revision(0, datetime(2026, 1, 1, tzinfo=UTC)) if row is None else Revision(*row)
    kept["entry"] = (now, revision)
    return revision


def _forget_revision() -> None:
    if has_app_context():
        current_app.extensions.get(_REVISION_KEY, {}).pop("entry", None)


# --- the per-process cache of built feeds ------------------------------------------------------


class FeedCache:
    """A small LRU of feed bodies keyed by (feed key, ETag); thread-safe."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: tuple[str, str], body: bytes) -> None:
        with self._lock:
            # An older version of the same feed is dead weight now.
            for stale in [k for k in self._entries if k[0] == key[0] and k != key]:
                del self._entries[stale]
            self._entries[key] = body
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def feed_cache() -> FeedCache:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get("calendar_feed_cache")
    if cache is None:
        cache = app.extensions["calendar_feed_cache"] = FeedCache(
            app.config.get("CALENDAR_CACHE_ENTRIES", 256)
        )
    return cache


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str
    last_modified: datetime


def validators(feed_key: str, locale: str) -> Validators:
    """ETag and Last-Modified of a feed, from one primary-key lookup."""
    revision = current_revision()
    today = local_today()
    seed = "|".join(
        (
            RENDER_VERSION,
            feed_key,
            str(revision.number),
            today.isoformat(),
            locale,
            current_app.config["BASE_URL"],
            current_app.config["NETWORK_TIMEZONE"],
        )
    )
    etag = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:40]
    last_modified = max(revision.changed_at, local_midnight_utc(today))
    return Validators(etag, last_modified.replace(microsecond=0))


def cached_feed(feed_key: str, etag: str, build: Callable[[], bytes]) -> bytes:
    cache = feed_cache()
    body = cache.get((feed_key, etag))
    if body is None:
        body = build()
        cache.put((feed_key, etag), body)
    return body


# --- which meetings ----------------------------------------------------------------------------


def window_clause(today: Any = None) -> sa.ColumnElement[bool]:
    """From 90 days back to every future meeting; cancelled ones leave 14 days after their end."""
    today = today or local_today()
    past = local_midnight_utc(today - PAST_WINDOW)
    cancelled = local_midnight_utc(today - CANCELLED_WINDOW)
    return sa.and_(
        Meeting.ends_at >= past,
        sa.or_(Meeting.status != MeetingStatus.CANCELLED, Meeting.ends_at >= cancelled),
    )


#: What an event needs of a meeting. Feeds select these columns as plain rows: building ORM
#: objects for a few hundred meetings cost a third of a cold feed build (bench/feeds.py).
_FEED_COLUMNS = (
    Meeting.id,
    Meeting.ical_uid,
    Meeting.sequence,
    Meeting.updated_at,
    Meeting.title,
    Meeting.status,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.is_all_day,
    Meeting.venue_name,
    Meeting.venue_address,
    Meeting.online_url,
    Meeting.is_online_url_public,
    Meeting.visibility,
    Meeting.description,
)


def _meetings(*conditions: sa.ColumnElement[bool]) -> list[Any]:
    """Rows with the attributes of :data:`_FEED_COLUMNS`, in the feed's window, by start."""
    return list(
        db.session.execute(
            sa.select(*_FEED_COLUMNS)
            .where(window_clause(), *conditions)
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )


def public_meetings() -> list[Any]:
    return _meetings(visible_meetings_clause(None))


def group_meetings(group: WorkingGroup) -> list[Any]:
    """An open group's meetings as a visitor may see them (no token: the URL is public)."""
    return _meetings(Meeting.group_id == group.id, visible_meetings_clause(None))


def open_group(slug: str) -> WorkingGroup | None:
    return db.session.scalar(
        sa.select(WorkingGroup).where(
            WorkingGroup.slug == slug, WorkingGroup.confidentiality == Confidentiality.OPEN
        )
    )


def personal_meetings(user: User) -> tuple[list[Any], dict[int, RegistrationStatus]]:
    """What concerns ``user``: network meetings, their groups' meetings, their registrations.

    Visibility is evaluated now: after leaving a group its meetings are gone.
    """
    registered = sa.select(Registration.meeting_id).where(
        Registration.user_id == user.id, Registration.status.in_(ACTIVE_STATUSES)
    )
    own_groups = sa.select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)
    meetings = _meetings(
        visible_meetings_clause(user),
        sa.or_(
            Meeting.group_id.is_(None),
            Meeting.group_id.in_(own_groups),
            Meeting.id.in_(registered),
        ),
    )
    statuses = dict(
        db.session.execute(
            sa.select(Registration.meeting_id, Registration.status).where(
                Registration.user_id == user.id,
                Registration.status.in_(ACTIVE_STATUSES),
                Registration.meeting_id.in_([m.id for m in meetings]),
            )
        ).all()
    )
    return meetings, statuses


# --- rendering ---------------------------------------------------------------------------------


def _status_label(status: RegistrationStatus) -> str:
    return {
        RegistrationStatus.PENDING: _("Your registration: waiting for your email confirmation"),
        RegistrationStatus.CONFIRMED: _("Your registration: confirmed"),
        RegistrationStatus.WAITLISTED: _("Your registration: on the waiting list"),
        RegistrationStatus.CANCELLED: _("Your registration: cancelled"),
    }[status]


class _Texts:
    """The phrases events repeat, translated once per feed instead of once per event.

    Flask-Babel finds the catalogue anew on every call; once per event, that was a fifth of a
    cold feed build (bench/feeds.py). Called without variables, ``gettext`` returns the
    translated template, which is then filled in per event.
    """

    def __init__(self) -> None:
        self.cancelled_title = _("Cancelled: %(title)s")
        self.cancelled = _("This meeting has been cancelled.")
        self.online = _("Online: %(url)s")
        self.details = _("Details and registration: %(url)s")
        self.registration = {status: _status_label(status) for status in RegistrationStatus}


class _Links:
    """Absolute meeting URLs from BASE_URL; the route is built once per feed, not per event."""

    _SAMPLE_ID = 123456789

    def __init__(self) -> None:
        base = current_app.config["BASE_URL"].rstrip("/")
        adapter = current_app.url_map.bind("localhost", script_name="/", url_scheme="https")
        path = adapter.build("meetings.detail", {"meeting_id": self._SAMPLE_ID})
        head, _sample, tail = path.rpartition(str(self._SAMPLE_ID))
        self.head, self.tail = base + head, tail

    def meeting(self, meeting: Any) -> str:
        return f"{self.head}{meeting.id}{self.tail}"


def meeting_event(
    meeting: Any,
    *,
    url: str,
    show_online_url: bool,
    registration: RegistrationStatus | None = None,
    texts: _Texts | None = None,
) -> ics.Event:
    """The meeting as a VEVENT, in the current locale, for a viewer as described by the flags."""
    texts = texts or _Texts()
    zone = utc_to_local
    if meeting.is_all_day:
        start: Any = zone(meeting.starts_at).date()
        end: Any = zone(meeting.ends_at).date()
        if end <= start:
            end = start + timedelta(days=1)
    else:
        start, end = meeting.starts_at, meeting.ends_at
    cancelled = meeting.status == MeetingStatus.CANCELLED
    summary = meeting.title
    if cancelled:
        summary = texts.cancelled_title % {"title": meeting.title}
    place = ", ".join(part for part in (meeting.venue_name, meeting.venue_address) if part)
    online = meeting.online_url if show_online_url else ""
    paragraphs = []
    if cancelled:
        paragraphs.append(texts.cancelled)
    if registration is not None:
        paragraphs.append(texts.registration[registration])
    description = meeting.description.strip()
    if len(description) > DESCRIPTION_LIMIT:
        description = description[:DESCRIPTION_LIMIT].rstrip() + " …"
    if description:
        paragraphs.append(description)
    if online:
        paragraphs.append(texts.online % {"url": online})
    paragraphs.append(texts.details % {"url": url})
    return ics.Event(
        uid=meeting.ical_uid,
        sequence=meeting.sequence,
        stamp=meeting.updated_at,
        last_modified=meeting.updated_at,
        start=start,
        end=end,
        summary=summary,
        status="CANCELLED" if cancelled else "CONFIRMED",
        location=place or online,
        description="\n\n".join(paragraphs),
        url=url,
    )


def render(
    meetings: Sequence[Any],
    meta: ics.CalendarMeta,
    *,
    show_online_url: Callable[[Any], bool],
    registrations: dict[int, RegistrationStatus] | None = None,
) -> bytes:
    links = _Links()
    texts = _Texts()
    registrations = registrations or {}
    events = [
        meeting_event(
            meeting,
            url=links.meeting(meeting),
            show_online_url=show_online_url(meeting),
            registration=registrations.get(meeting.id),
            texts=texts,
        )
        for meeting in meetings
    ]
    return ics.write_calendar(events, meta, current_app.config["NETWORK_TIMEZONE"])


def _public_online_url(meeting: Any) -> bool:
    """Visitors (public and group feeds) get an online link only where the meeting says so."""
    return bool(
        meeting.online_url
        and meeting.visibility == Visibility.PUBLIC
        and meeting.is_online_url_public
    )


def _member_online_url(meeting: Any) -> bool:
    """Members see the online link of every meeting they may see (``can_see_online_url``); the
    personal feed holds only such meetings, selected by ``visible_meetings_clause``."""
    return bool(meeting.online_url)


def _feed_meta(key: str, name: str, description: str) -> ics.CalendarMeta:
    # A fixed calendar UID derived from the site and the feed, never a random one per request.
    seed = f"{current_app.config['BASE_URL']}|{key}".encode()
    return ics.CalendarMeta(
        uid=str(_uuid_from(seed)),
        name=name,
        description=description,
        refresh=REFRESH_INTERVAL,
    )


def _uuid_from(seed: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16], version=4)


def network_name() -> str:
    return current_app.config["NETWORK_NAME"]


def build_public_feed(locale: str) -> bytes:
    with force_locale(locale):
        meta = _feed_meta(
            "public",
            _("%(network)s: public meetings", network=network_name()),
            _("Public meetings of the network. Changes and cancellations appear here."),
        )
        return render(public_meetings(), meta, show_online_url=_public_online_url)


def build_group_feed(group: WorkingGroup, locale: str) -> bytes:
    with force_locale(locale):
        meta = _feed_meta(
            f"group:{group.id}",
            _("%(network)s: %(group)s", network=network_name(), group=group.name),
            _("Public meetings of the working group %(group)s.", group=group.name),
        )
        return render(group_meetings(group), meta, show_online_url=_public_online_url)


def build_personal_feed(user: User) -> bytes:
    with force_locale(str(user.locale)):
        meta = _feed_meta(
            f"personal:{user.id}",
            _("%(network)s: my meetings", network=network_name()),
            _("Network meetings, meetings of your groups and meetings you registered for."),
        )
        meetings, statuses = personal_meetings(user)
        return render(
            meetings,
            meta,
            show_online_url=_member_online_url,
            registrations=statuses,
        )


def build_meeting_download(meeting: Meeting, viewer: Any) -> bytes:
    """One meeting for "add to calendar", as the viewer may see it (no METHOD, same UID)."""
    registration = None
    if viewer is not None and viewer.is_authenticated:
        registration = db.session.scalar(
            sa.select(Registration.status).where(
                Registration.meeting_id == meeting.id,
                Registration.user_id == viewer.id,
                Registration.status.in_(ACTIVE_STATUSES),
            )
        )
    event = meeting_event(
        meeting,
        url=_Links().meeting(meeting),
        show_online_url=can_see_online_url(viewer, meeting),
        registration=registration,
    )
    return ics.write_calendar([event], ics.CalendarMeta(), current_app.config["NETWORK_TIMEZONE"])


# --- subscribing ---------------------------------------------------------------------------------

#: The clear-text token of a feed made a moment ago, shown once on the account page.
NEW_TOKEN_KEY = "new_calendar_token"


def subscription_links(https_url: str) -> dict[str, str]:
    """The ways to subscribe to one feed: webcal (Apple, Outlook), https, Google "add by URL"."""
    webcal = "webcal://" + https_url.split("://", 1)[1]
    return {
        "https": https_url,
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=""),
    }


def new_token_links() -> dict[str, str] | None:
    """The feed made a moment ago, once: its clear-text token is not stored anywhere else."""
    token = session.pop(NEW_TOKEN_KEY, None)
    if not isinstance(token, str) or find_token(token) is None:
        return None
    return subscription_links(external_url("calendar.personal_feed", token=token))


# --- personal feed tokens ----------------------------------------------------------------------


class TooManyTokens(Exception):
    pass


def tokens_of(user: User) -> list[CalendarToken]:
    return list(
        db.session.scalars(
            sa.select(CalendarToken)
            .where(CalendarToken.user_id == user.id)
            .order_by(CalendarToken.created_at.desc(), CalendarToken.id.desc())
        )
    )


def create_token(user: User, label: str) -> tuple[str, CalendarToken]:
    """A new personal-feed token; the clear text is returned once and never stored."""
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CalendarToken)
        .where(CalendarToken.user_id == user.id)
    )
    if (count or 0) >= MAX_TOKENS_PER_USER:
        raise TooManyTokens
    token, token_hash = new_token()
    row = CalendarToken(user_id=user.id, label=label, token_hash=token_hash)
    db.session.add(row)
    db.session.flush()
    audit.record(
        "calendar_token.created", actor=user, object_type="calendar_token", object_id=row.id
    )
    return token, row


def own_token(user: User, token_id: int) -> CalendarToken | None:
    return db.session.scalar(
        sa.select(CalendarToken).where(
            CalendarToken.id == token_id, CalendarToken.user_id == user.id
        )
    )


def revoke_token(row: CalendarToken, *, actor: User) -> None:
    audit.record(
        "calendar_token.revoked", actor=actor, object_type="calendar_token", object_id=row.id
    )
    db.session.delete(row)
    db.session.flush()


def find_token(token: str) -> CalendarToken | None:
    """The token's row if it exists and its user is active; ``None`` answers 404."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(
        sa.select(CalendarToken)
        .join(CalendarToken.user)
        .where(CalendarToken.token_hash == hash_token(token), User.is_active.is_(True))
    )
    return row


def note_use(row: CalendarToken, now: datetime | None = None) -> bool:
    """Record when the token was last used, at most every few minutes. Returns whether it wrote."""
    now = now or utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
        return False
    db.session.execute(
        sa.update(CalendarToken).where(CalendarToken.id == row.id).values(last_used_at=now)
    )
    return True


def readable_open_groups(user: Any) -> list[WorkingGroup]:
    """Open groups whose feed the /calendar/ page offers to ``user``."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        db.session.scalars(
            sa.select(WorkingGroup)
            .where(
                WorkingGroup.confidentiality == Confidentiality.OPEN,
                groups.readable_groups_clause(user),
            )
            .order_by(WorkingGroup.name)
        )
    )
