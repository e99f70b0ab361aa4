"""Meetings, meeting series, agenda items and minutes."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.db import TimestampMixin, UTCDateTime, str_enum, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.groups.models import WorkingGroup
    from coordination.problems.models import GroupIssue
    from coordination.projects.models import Project


class MeetingKind(enum.StrEnum):
    NETWORK = "network"  # Vernetzungstreffen
    GROUP = "group"  # meeting of a working group
    OTHER = "other"


class Visibility(enum.StrEnum):
    #: Anyone, also without an account (title, time, place, description; no attendee data).
    PUBLIC = "public"
    #: Every member of the network.
    NETWORK = "network"
    #: Whoever may read the meeting's working group.
    GROUP = "group"


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Frequency(enum.StrEnum):
    #: Every ``interval`` weeks on ``weekday``.
    WEEKLY = "weekly"
    #: Every ``interval`` months on the ``week_of_month``-th ``weekday`` (-1: the last one).
    MONTHLY_WEEKDAY = "monthly_weekday"
    #: Every ``interval`` months on ``day_of_month`` (skipped in months without that day).
    MONTHLY_DAY = "monthly_day"


class AgendaOutcome(enum.StrEnum):
    INFORMATION = "information"
    DECISION = "decision"
    ACTION = "action"


class MinutesStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


def new_ical_uid() -> str:
    """A random UUID, fixed at creation: calendar apps match updates by it."""
    return str(uuid.uuid4())


class MeetingSeries(TimestampMixin, db.Model):
    """A recurrence rule that generates concrete :class:`Meeting` rows ahead of time.

    Times are local wall-clock times in the network's time zone, so "17:00" stays 17:00 across
    the daylight-saving switches.
    """

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind), default=MeetingKind.NETWORK)
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency))
    interval: Mapped[int] = mapped_column(default=1)
    #: 0 = Monday … 6 = Sunday (weekly and monthly-by-weekday series).
    weekday: Mapped[int | None] = mapped_column()
    #: 1–4, or -1 for the last such weekday of the month.
    week_of_month: Mapped[int | None] = mapped_column()
    day_of_month: Mapped[int | None] = mapped_column()
    start_date: Mapped[date] = mapped_column(sa.Date)
    #: Last possible date (inclusive); ``None``: open-ended.
    until_date: Mapped[date | None] = mapped_column(sa.Date)
    start_time: Mapped[time] = mapped_column(sa.Time)
    duration_minutes: Mapped[int] = mapped_column()
    #: Occurrences exist up to this date; ``flask meetings extend`` moves it forward.
    generated_until: Mapped[date | None] = mapped_column(sa.Date)

    # Defaults copied into each generated occurrence.
    venue_name: Mapped[str] = mapped_column(sa.String(200), default="")
    venue_address: Mapped[str] = mapped_column(sa.String(500), default="")
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    is_online_url_public: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.NETWORK)
    capacity: Mapped[int | None] = mapped_column()
    allows_guests: Mapped[bool] = mapped_column(default=False)
    #: Registration closes this many hours before each occurrence starts (``None``: at start).
    registration_closes_hours: Mapped[int | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    group: Mapped[WorkingGroup | None] = relationship()
    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="series", order_by="Meeting.starts_at", passive_deletes=True
    )

    __table_args__ = (
        sa.CheckConstraint("interval >= 1 AND interval <= 12", name="interval_range"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )


class Meeting(TimestampMixin, db.Model):
    """One meeting. ``sequence`` grows with every change of time, place or status."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind), default=MeetingKind.NETWORK)
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: All-day meetings: ``starts_at``/``ends_at`` are local midnights (end exclusive).
    is_all_day: Mapped[bool] = mapped_column(default=False)
    venue_name: Mapped[str] = mapped_column(sa.String(200), default="")
    venue_address: Mapped[str] = mapped_column(sa.String(500), default="")
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Whether a public meeting shows its online link to visitors and in the public feed.
    is_online_url_public: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.NETWORK)
    status: Mapped[MeetingStatus] = mapped_column(
        str_enum(MeetingStatus), default=MeetingStatus.SCHEDULED
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: ``None``: unlimited seats.
    capacity: Mapped[int | None] = mapped_column()
    is_registration_open: Mapped[bool] = mapped_column(default=True)
    #: ``None``: registration is possible until the meeting starts.
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allows_guests: Mapped[bool] = mapped_column(default=False)
    ical_uid: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_ical_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting_series.id", ondelete="SET NULL"), index=True
    )
    #: The start the series generated this occurrence for (its RECURRENCE-ID); stays fixed
    #: when the occurrence alone is moved, so extending a series never duplicates it.
    series_slot: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Edited on its own: "this and following" changes still apply, series-wide ones do not.
    is_detached: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    group: Mapped[WorkingGroup | None] = relationship()
    series: Mapped[MeetingSeries | None] = relationship(back_populates="meetings")
    created_by: Mapped[User | None] = relationship()
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        order_by="AgendaItem.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    minutes: Mapped[Minutes | None] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        sa.UniqueConstraint("series_id", "series_slot", name="uq_meeting_series_slot"),
        sa.Index("ix_meeting_updated_at", "updated_at"),
        # Lists filter by visibility; the public feed also by its window (ends_at).
        sa.Index("ix_meeting_visibility_ends_at", "visibility", "ends_at"),
    )

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.starts_at:%Y-%m-%d}>"

    @property
    def is_cancelled(self) -> bool:
        return self.status is MeetingStatus.CANCELLED

    def has_started(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.starts_at


class AgendaItem(TimestampMixin, db.Model):
    """An item of a meeting's agenda (Tagesordnung), with its outcome after the meeting."""

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    duration_minutes: Mapped[int | None] = mapped_column()
    outcome: Mapped[AgendaOutcome | None] = mapped_column(str_enum(AgendaOutcome))
    outcome_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: The working-group problem this item discusses (group meetings).
    problem_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("group_issue.id", ondelete="SET NULL"), index=True
    )

    #: The shared project this item reports on or discusses.
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project.id", ondelete="SET NULL"), index=True
    )

    meeting: Mapped[Meeting] = relationship(back_populates="agenda_items")
    problem: Mapped[GroupIssue | None] = relationship()
    project: Mapped[Project | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "duration_minutes IS NULL OR (duration_minutes > 0 AND duration_minutes <= 1440)",
            name="duration_range",
        ),
    )


class Minutes(TimestampMixin, db.Model):
    """The minutes (Protokoll) of a meeting: Markdown, draft until published."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), unique=True
    )
    body: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[MinutesStatus] = mapped_column(
        str_enum(MinutesStatus), default=MinutesStatus.DRAFT
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    published_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="minutes")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def is_published(self) -> bool:
        return self.status is MinutesStatus.PUBLISHED
