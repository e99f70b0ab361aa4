"""The mail outbox: every outgoing mail is a row written with the change that causes it."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coordination.db import UTCDateTime, str_enum, utcnow
from coordination.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: Taken back before it went out (a reminder for a meeting that was cancelled).
    WITHDRAWN = "withdrawn"


class OutboxMessage(db.Model):
    """One mail to one recipient. Delivered by ``flask outbox run``."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    #: Stable across retries, so receivers can drop a duplicate after a crash mid-send.
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    #: Optional idempotency key: the same logical mail is queued only once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A worker that claimed the mail holds it until then; after a crash it becomes due again.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    #: ``REQUEST`` or ``CANCEL``: an iTIP invitation in ``calendar_body`` (RFC 6047).
    calendar_method: Mapped[str | None] = mapped_column(sa.String(10))
    calendar_body: Mapped[str | None] = mapped_column(sa.Text)
    #: One-click unsubscribe (RFC 8058) for non-essential mail.
    unsubscribe_url: Mapped[str | None] = mapped_column(sa.String(1000))
    #: What the mail is about, e.g. ``meeting_reminder``; lets a cancellation withdraw reminders.
    topic: Mapped[str | None] = mapped_column(sa.String(40))
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status}>"
