"""Organisations (Initiativen, Träger) of the network and who belongs to them."""

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


class OrganizationKind(enum.StrEnum):
    INITIATIVE = "initiative"
    ASSOCIATION = "association"
    WELFARE = "welfare"
    AUTHORITY = "authority"
    EDUCATION = "education"
    SELF_ORGANIZATION = "self_organization"
    OTHER = "other"


organization_member = sa.Table(
    "organization_member",
    db.metadata,
    sa.Column(
        "organization_id",
        sa.ForeignKey("organization.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id",
        sa.ForeignKey("user_account.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Organization(TimestampMixin, db.Model):
    """An initiative, association, welfare organisation, authority or school of the network."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    #: Fixed at creation so that links keep working after a rename.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind), index=True)
    district: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    website: Mapped[str] = mapped_column(sa.String(500), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: When someone last confirmed that the entry is still correct.
    last_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    members: Mapped[list[User]] = relationship(
        secondary=organization_member,
        back_populates="organizations",
        order_by="User.name",
    )

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"
