"""Actions (Maßnahmen): who does what by when, agreed in a working group."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.groups.models import WorkingGroup
    from coordination.meetings.models import AgendaItem, Meeting
    from coordination.problems.models import GroupIssue, Solution


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class Action(TimestampMixin, db.Model):
    """An agreed action, from a problem, a solution or a meeting's agenda item."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    due_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.OPEN)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("group_issue.id", ondelete="SET NULL"), index=True
    )
    solution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution.id", ondelete="SET NULL"), index=True
    )
    #: The meeting (and agenda item) where the action was agreed.
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True
    )
    agenda_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agenda_item.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    group: Mapped[WorkingGroup] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    issue: Mapped[GroupIssue | None] = relationship()
    solution: Mapped[Solution | None] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship()

    __table_args__ = (sa.Index("ix_action_owner_status", "owner_id", "status"),)

    def is_overdue(self, today: date) -> bool:
        return (
            self.status is ActionStatus.OPEN and self.due_date is not None and self.due_date < today
        )
