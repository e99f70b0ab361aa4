"""The problem → solution trail of a working group: problems, solutions, endorsements, timeline."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.groups.models import WorkingGroup


class ProblemStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


#: Sort order of priorities, most pressing first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class SolutionStatus(enum.StrEnum):
    PROPOSED = "proposed"
    TRIAL = "trial"  # in Erprobung
    ADOPTED = "adopted"
    REJECTED = "rejected"


class GroupIssue(TimestampMixin, db.Model):
    """A problem a working group has identified (UI: "Problem")."""

    __tablename__ = "group_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ProblemStatus] = mapped_column(
        str_enum(ProblemStatus), default=ProblemStatus.OPEN
    )
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    reporter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    group: Mapped[WorkingGroup] = relationship()
    reporter: Mapped[User | None] = relationship()
    solutions: Mapped[list[Solution]] = relationship(
        back_populates="issue",
        order_by="Solution.created_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.Index("ix_group_issue_group_status", "group_id", "status"),
        sa.Index("ix_group_issue_created_at", "created_at"),
    )

    @property
    def is_closed(self) -> bool:
        return self.status in (ProblemStatus.RESOLVED, ProblemStatus.CLOSED)


class Solution(TimestampMixin, db.Model):
    """A proposed solution to a problem (UI: "Lösungsvorschlag")."""

    __tablename__ = "solution"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("group_issue.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.Text)
    proposer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[SolutionStatus] = mapped_column(
        str_enum(SolutionStatus), default=SolutionStatus.PROPOSED
    )
    outcome_note: Mapped[str] = mapped_column(sa.Text, default="")

    issue: Mapped[GroupIssue] = relationship(back_populates="solutions")
    proposer: Mapped[User | None] = relationship()
    endorsements: Mapped[list[Endorsement]] = relationship(
        back_populates="solution", cascade="all, delete-orphan", passive_deletes=True
    )


class Endorsement(db.Model):
    """One member's support for a solution (at most one per member)."""

    __tablename__ = "endorsement"

    id: Mapped[int] = mapped_column(primary_key=True)
    solution_id: Mapped[int] = mapped_column(
        sa.ForeignKey("solution.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    solution: Mapped[Solution] = relationship(back_populates="endorsements")
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("solution_id", "user_id"),)


class IssueEventKind(enum.StrEnum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    SOLUTION_PROPOSED = "solution_proposed"
    ENDORSED = "endorsed"
    ENDORSEMENT_WITHDRAWN = "endorsement_withdrawn"
    SOLUTION_STATUS_CHANGED = "solution_status_changed"
    ACTION_CREATED = "action_created"
    ACTION_DONE = "action_done"
    ACTION_DROPPED = "action_dropped"
    ON_AGENDA = "on_agenda"


class IssueEvent(db.Model):
    """One entry of a problem's timeline: what happened, who did it, when."""

    __tablename__ = "issue_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("group_issue.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[IssueEventKind] = mapped_column(str_enum(IssueEventKind, 30))
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: A status value (enum), never free text.
    detail: Mapped[str] = mapped_column(sa.String(60), default="")
    solution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution.id", ondelete="SET NULL"), index=True
    )
    action_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("action.id", ondelete="SET NULL"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()
