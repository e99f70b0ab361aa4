"""Registrations for meetings: members and guests, confirmed, waitlisted or cancelled."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.auth.models import Locale
from coordination.db import TimestampMixin, UTCDateTime, str_enum
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.meetings.models import Meeting
    from coordination.organizations.models import Organization


class RegistrationStatus(enum.StrEnum):
    #: A guest who has not yet confirmed the email address (double opt-in).
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


#: Statuses that hold a person's one registration for a meeting.
ACTIVE_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
)

_ACTIVE_SQL = sa.text("status != 'cancelled'")


class Registration(TimestampMixin, db.Model):
    """A member's (``user_id``) or a guest's (``guest_*``) registration for a meeting."""

    __tablename__ = "registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    guest_name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Lower-cased, so that one address registers once.
    guest_email: Mapped[str | None] = mapped_column(sa.String(254))
    #: The organisation the person represents: one of the directory's, or free text.
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    organization_name: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus))
    #: SHA-256 of the guest's secret link for confirming and cancelling.
    manage_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A guest's language at registration, for later mails (members: their account's).
    locale: Mapped[Locale | None] = mapped_column(str_enum(Locale, 5))
    #: The meeting's SEQUENCE this person last heard of (at registration, or in an update mail).
    notified_sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    meeting: Mapped[Meeting] = relationship()
    user: Mapped[User | None] = relationship()
    organization: Mapped[Organization | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NOT NULL AND guest_email IS NULL) "
            "OR (user_id IS NULL AND guest_email IS NOT NULL)",
            name="member_or_guest",
        ),
        # One active registration per person and meeting (partial unique indexes).
        sa.Index(
            "uq_registration_active_user",
            "meeting_id",
            "user_id",
            unique=True,
            postgresql_where=_ACTIVE_SQL,
            sqlite_where=_ACTIVE_SQL,
        ),
        sa.Index(
            "uq_registration_active_guest",
            "meeting_id",
            "guest_email",
            unique=True,
            postgresql_where=_ACTIVE_SQL,
            sqlite_where=_ACTIVE_SQL,
        ),
        sa.Index("ix_registration_meeting_status", "meeting_id", "status", "created_at"),
    )

    @property
    def display_name(self) -> str:
        return self.user.name if self.user is not None else self.guest_name

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def represented_organization(self) -> str:
        if self.organization is not None:
            return self.organization.name
        return self.organization_name
