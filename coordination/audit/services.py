"""Recording audit events. Functions flush; callers commit."""

from __future__ import annotations

import logging

from coordination.audit.models import AuditEvent
from coordination.auth.models import User
from coordination.extensions import db

log = logging.getLogger(__name__)


def record(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    object_id: int | None,
    detail: str = "",
) -> AuditEvent:
    """Record that ``actor`` did ``action`` to an object, in the caller's transaction."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=object_id,
        detail=detail[:60],
    )
    db.session.add(event)
    log.debug(
        "audit %s %s:%s by user %s",
        action,
        object_type,
        object_id,
        actor.id if actor else "-",
    )
    return event
