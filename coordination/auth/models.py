"""Accounts, server-side login sessions, invitations and password resets."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.organizations.models import Organization


class Role(enum.StrEnum):
    """Network-wide role; working-group roles are separate."""

    ADMIN = "admin"
    MODERATOR = "moderator"
    MEMBER = "member"


class Locale(enum.StrEnum):
    DE = "de"
    EN = "en"


class User(UserMixin, TimestampMixin, db.Model):
    """A person with an account. Emails are stored lower-cased, so lookups ignore case."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER, index=True)
    locale: Mapped[Locale] = mapped_column(str_enum(Locale, 5), default=Locale.DE)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organizations: Mapped[list[Organization]] = relationship(
        secondary="organization_member",
        back_populates="members",
        order_by="Organization.name",
    )
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_moderator(self) -> bool:
        """Moderators and admins may run network meetings and maintain organisations."""
        return self.role in (Role.ADMIN, Role.MODERATOR)


class UserSession(db.Model):
    """One login on one device. The cookie holds a random id; the database holds its hash.

    Deleting the row ends the session on the next request, whatever the browser still has.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(back_populates="sessions")


class Invitation(db.Model):
    """An emailed, single-use, expiring link to create an account with a given role."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER)
    #: Language of the invitation mail, and the account's default language.
    locale: Mapped[Locale] = mapped_column(str_enum(Locale, 5), default=Locale.DE)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class PasswordReset(db.Model):
    """A single-use, short-lived password-reset link."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
