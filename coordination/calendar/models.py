"""Personal calendar-feed tokens and the revision counter that validates every feed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import UTCDateTime, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User


class CalendarToken(db.Model):
    """A secret that opens one user's personal feed. Only its SHA-256 is stored.

    A user may hold several (one per calendar app or device), each with a label; revoking one
    deletes the row, so the next fetch with it answers 404.
    """

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Updated at most every few minutes, so that polling calendar apps do not write each time.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class CalendarRevision(db.Model):
    """One row whose ``number`` grows whenever anything a feed renders changes.

    Feeds derive their ETag from it, so a poll whose validator still matches costs one primary-key
    lookup and never rebuilds the feed (DESIGN §7). ``changed_at`` is every feed's Last-Modified.
    """

    __tablename__ = "calendar_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
