"""Who wants which mail: members' settings, opted-out addresses, signed unsubscribe links.

Unsubscribe links carry a signed (not encrypted, not expiring) token naming the topic and either
the member's id or the address; links in old mails keep working, and nobody can forge one for
somebody else. The token never reaches the logs (see ``security.mask_tokens``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from coordination.auth.models import User
from coordination.extensions import db
from coordination.notifications.models import EmailOptOut, NotificationPreference, Topic
from coordination.urls import external_url

_SALT = "knotenpunkt.unsubscribe"


def defaults() -> NotificationPreference:
    """A member's settings before they changed anything (a transient row, never added)."""
    return NotificationPreference(
        invitations=True,
        meeting_reminders=True,
        reminder_lead_hours=current_app.config["MEETING_REMINDER_HOURS"],
        action_reminders=True,
        digest=False,
    )


def preferences_of(user: User) -> NotificationPreference:
    """The member's settings: the stored row, or the defaults (not added to the session)."""
    row = db.session.get(NotificationPreference, user.id)
    return row if row is not None else defaults()


def preferences_for(user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    """Settings of many members in one query; members without a row get the defaults."""
    ids = list(set(user_ids))
    rows: dict[int, NotificationPreference] = {}
    if ids:
        rows = {
            row.user_id: row
            for row in db.session.scalars(
                sa.select(NotificationPreference).where(NotificationPreference.user_id.in_(ids))
            )
        }
    fallback = defaults()
    return {user_id: rows.get(user_id, fallback) for user_id in ids}


def save_preferences(user: User, **values: Any) -> NotificationPreference:
    """Store the member's settings (creating the row on first use; race-safe)."""
    row = db.session.get(NotificationPreference, user.id)
    if row is None:
        row = defaults()
        row.user_id = user.id
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # a concurrent request created it a moment ago
            row = db.session.get(NotificationPreference, user.id, populate_existing=True)
            assert row is not None
    for key, value in values.items():
        setattr(row, key, value)
    db.session.flush()
    return row


def wants(user: User, topic: Topic) -> bool:
    return preferences_of(user).wants(topic)


def opted_out_addresses(emails: Iterable[str], topic: Topic) -> set[str]:
    """Which of these (lower-cased) addresses without an account unsubscribed ``topic``."""
    wanted = {email.lower() for email in emails}
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            sa.select(EmailOptOut.email).where(
                EmailOptOut.topic == topic, EmailOptOut.email.in_(wanted)
            )
        )
    )


def opt_out_address(email: str, topic: Topic) -> None:
    """Record that an address without an account wants no more mail of ``topic`` (idempotent)."""
    email = email.lower()
    if opted_out_addresses([email], topic):
        return
    try:
        with db.session.begin_nested():
            db.session.add(EmailOptOut(email=email, topic=topic))
    except IntegrityError:  # the same link clicked twice at once
        pass


# --- unsubscribe links -------------------------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe token names: a topic, and a member or an address."""

    topic: Topic
    user_id: int | None = None
    email: str | None = None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(topic: Topic, *, user: User | None = None, email: str | None = None) -> str:
    if user is not None:
        return str(_serializer().dumps({"t": topic.value, "u": user.id}))
    if email is None:
        raise ValueError("a member or an address is needed")
    return str(_serializer().dumps({"t": topic.value, "e": email.lower()}))


def unsubscribe_url(topic: Topic, *, user: User | None = None, email: str | None = None) -> str:
    """The absolute one-click unsubscribe link for a mail of ``topic``."""
    token = unsubscribe_token(topic, user=user, email=email)
    return external_url("notifications.unsubscribe", token=token)


def read_unsubscribe_token(token: str) -> Unsubscribe | None:
    """The token's content, or ``None`` if it was not made by this site (or is malformed)."""
    if not token or len(token) > 500:
        return None
    try:
        data = _serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("t") not in set(Topic):
        return None
    topic = Topic(data["t"])
    user_id, email = data.get("u"), data.get("e")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return Unsubscribe(topic=topic, user_id=user_id)
    if isinstance(email, str) and email:
        return Unsubscribe(topic=topic, email=email)
    return None


def apply_unsubscribe(request: Unsubscribe) -> bool:
    """Turn the topic off for the member or address; ``False`` if the member no longer exists."""
    if request.user_id is not None:
        user = db.session.get(User, request.user_id)
        if user is None:
            return False
        save_preferences(user, **{request.topic.value: False})
        return True
    assert request.email is not None
    opt_out_address(request.email, request.topic)
    return True
