"""Attendance at meetings: who was there, for which organisation."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.meetings.models import Meeting
    from coordination.organizations.models import Organization
    from coordination.registrations.models import Registration


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    EXCUSED = "excused"
    ABSENT = "absent"


class Attendance(TimestampMixin, db.Model):
    """One person at one meeting: registered, an existing user walking in, or a walk-in guest."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: For walk-in guests without an account (and copied from guest registrations).
    guest_name: Mapped[str] = mapped_column(sa.String(120), default="")
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    organization_name: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    meeting: Mapped[Meeting] = relationship()
    registration: Mapped[Registration | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    organization: Mapped[Organization | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "registration_id", name="uq_attendance_registration"),
        sa.UniqueConstraint("meeting_id", "user_id", name="uq_attendance_user"),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR registration_id IS NOT NULL OR guest_name != ''",
            name="identifies_a_person",
        ),
    )

    @property
    def display_name(self) -> str:
        if self.user is not None:
            return self.user.name
        if self.registration is not None:
            return self.registration.display_name
        return self.guest_name

    @property
    def represented_organization(self) -> str:
        if self.organization is not None:
            return self.organization.name
        return self.organization_name
