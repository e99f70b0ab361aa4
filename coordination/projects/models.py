"""Shared projects of the network (e.g. the "Wegweiser"): partners, milestones, status trail."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.groups.models import WorkingGroup
    from coordination.meetings.models import Meeting
    from coordination.organizations.models import Organization
    from coordination.problems.models import GroupIssue, Solution


class ProjectStatus(enum.StrEnum):
    IDEA = "idea"
    PLANNING = "planning"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class PartnerRole(enum.StrEnum):
    LEAD = "lead"
    PARTNER = "partner"


class ProjectEventKind(enum.StrEnum):
    CREATED = "created"
    STATUS = "status"
    PARTNER_ADDED = "partner_added"
    PARTNER_REMOVED = "partner_removed"
    MILESTONE_ADDED = "milestone_added"
    MILESTONE_DONE = "milestone_done"
    MILESTONE_REOPENED = "milestone_reopened"


project_group = sa.Table(
    "project_group",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "group_id",
        sa.ForeignKey("working_group.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

project_meeting = sa.Table(
    "project_meeting",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "meeting_id", sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Project(TimestampMixin, db.Model):
    """A cooperative project of several organisations. Readable by every member of the network.

    A project may come from a working group's problem or adopted solution (``origin_*``); the link
    is shown only to those who may read that group.
    """

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    #: Fixed at creation so that links keep working after a rename.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus), default=ProjectStatus.IDEA, index=True
    )
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lead_contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    origin_group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="SET NULL"), index=True
    )
    origin_issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("group_issue.id", ondelete="SET NULL"), index=True
    )
    origin_solution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution.id", ondelete="SET NULL"), index=True
    )
    origin_meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    lead_contact: Mapped[User | None] = relationship(foreign_keys=[lead_contact_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    origin_group: Mapped[WorkingGroup | None] = relationship(foreign_keys=[origin_group_id])
    origin_issue: Mapped[GroupIssue | None] = relationship(foreign_keys=[origin_issue_id])
    origin_solution: Mapped[Solution | None] = relationship(foreign_keys=[origin_solution_id])
    origin_meeting: Mapped[Meeting | None] = relationship(foreign_keys=[origin_meeting_id])
    partners: Mapped[list[ProjectPartner]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project",
        order_by="(Milestone.due_date.is_(None), Milestone.due_date, Milestone.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    groups: Mapped[list[WorkingGroup]] = relationship(secondary=project_group)
    meetings: Mapped[list[Meeting]] = relationship(
        secondary=project_meeting, order_by="Meeting.starts_at"
    )

    __table_args__ = (sa.Index("ix_project_updated_at", "updated_at"),)

    def __repr__(self) -> str:
        return f"<Project {self.slug}>"


class ProjectPartner(db.Model):
    """An organisation taking part in a project, as lead or partner."""

    __tablename__ = "project_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[PartnerRole] = mapped_column(str_enum(PartnerRole), default=PartnerRole.PARTNER)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship(back_populates="partners")
    organization: Mapped[Organization] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("project_id", "organization_id", name="uq_project_partner_org"),
    )


class Milestone(TimestampMixin, db.Model):
    """A step of a project with an optional due date; checked off with who and when."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    project: Mapped[Project] = relationship(back_populates="milestones")
    done_by: Mapped[User | None] = relationship()

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ProjectEvent(db.Model):
    """One entry of a project's trail: created, status changes, partners, milestones."""

    __tablename__ = "project_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ProjectEventKind] = mapped_column(str_enum(ProjectEventKind, 30))
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: A status value, or the id/title reference of the partner or milestone (no free text).
    detail: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()
