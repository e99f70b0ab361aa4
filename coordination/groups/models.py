"""Working groups (Arbeitsgruppen) and their members."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.auth.models import User
from coordination.db import TimestampMixin, UTCDateTime, str_enum, utcnow
from coordination.extensions import db


class Confidentiality(enum.StrEnum):
    #: Readable by every member of the network.
    OPEN = "open"
    #: Readable only by the group's own members (and admins).
    CONFIDENTIAL = "confidential"


class JoinMode(enum.StrEnum):
    OPEN = "open"
    REQUEST = "request"
    INVITATION = "invitation"


class GroupRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class WorkingGroup(TimestampMixin, db.Model):
    """A working group such as the AG UMA (unaccompanied minors)."""

    __tablename__ = "working_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    confidentiality: Mapped[Confidentiality] = mapped_column(
        str_enum(Confidentiality), default=Confidentiality.OPEN
    )
    join_mode: Mapped[JoinMode] = mapped_column(str_enum(JoinMode), default=JoinMode.OPEN)

    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<WorkingGroup {self.slug}>"

    @property
    def is_confidential(self) -> bool:
        return self.confidentiality is Confidentiality.CONFIDENTIAL


class GroupMembership(db.Model):
    __tablename__ = "group_membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[GroupRole] = mapped_column(str_enum(GroupRole), default=GroupRole.MEMBER)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[WorkingGroup] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("group_id", "user_id"),)


class JoinRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class JoinRequest(db.Model):
    """A member's request to join a group whose join mode is "by request"."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[JoinRequestStatus] = mapped_column(
        str_enum(JoinRequestStatus), default=JoinRequestStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    group: Mapped[WorkingGroup] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.Index(
            "uq_join_request_pending",
            "group_id",
            "user_id",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )
