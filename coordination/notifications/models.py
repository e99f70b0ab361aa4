"""Notification preferences, opt-outs, invitation audiences and who was invited to what.

Sending is level-triggered: ``flask notifications run`` compares what people were last told
(``MeetingInvitation.sequence_sent``, ``Registration.notified_sequence``) with the meeting's
``sequence`` and queues what is missing in the outbox. A crash or a second run therefore never
loses nor repeats a mail.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coordination.auth.models import Locale
from coordination.db import UTCDateTime, str_enum, utcnow
from coordination.extensions import db

if TYPE_CHECKING:
    from coordination.auth.models import User
    from coordination.groups.models import WorkingGroup
    from coordination.meetings.models import Meeting, MeetingSeries
    from coordination.organizations.models import Organization


class Topic(enum.StrEnum):
    """Kinds of non-essential mail a person can turn off (one unsubscribe link each)."""

    #: Invitations to meetings, and their updates and cancellations for people not registered.
    INVITATIONS = "invitations"
    #: "Your meeting starts soon" for meetings one registered for.
    MEETING_REMINDERS = "meeting_reminders"
    #: "Your action is due / overdue" for action owners.
    ACTION_REMINDERS = "action_reminders"
    #: The weekly summary of what changed in one's groups (opt-in).
    DIGEST = "digest"


#: Lead times (hours before the start) a member may choose for meeting reminders.
REMINDER_LEAD_CHOICES = (2, 24, 48, 72)


class NotificationPreference(db.Model):
    """A member's mail settings. No row: the defaults (everything on but the digest)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    invitations: Mapped[bool] = mapped_column(default=True)
    meeting_reminders: Mapped[bool] = mapped_column(default=True)
    #: Hours before a meeting's start that its reminder goes out.
    reminder_lead_hours: Mapped[int] = mapped_column(default=24)
    action_reminders: Mapped[bool] = mapped_column(default=True)
    digest: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "reminder_lead_hours >= 1 AND reminder_lead_hours <= 168", name="lead_range"
        ),
    )

    def wants(self, topic: Topic) -> bool:
        return bool(getattr(self, topic.value))


class EmailOptOut(db.Model):
    """An address without an account (guest, organisation contact) that unsubscribed a topic."""

    __tablename__ = "email_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased.
    email: Mapped[str] = mapped_column(sa.String(254))
    topic: Mapped[Topic] = mapped_column(str_enum(Topic))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("email", "topic", name="uq_email_opt_out"),)


invitation_audience_group = sa.Table(
    "invitation_audience_group",
    db.metadata,
    sa.Column(
        "audience_id",
        sa.ForeignKey("invitation_audience.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "group_id",
        sa.ForeignKey("working_group.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

invitation_audience_organization = sa.Table(
    "invitation_audience_organization",
    db.metadata,
    sa.Column(
        "audience_id",
        sa.ForeignKey("invitation_audience.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "organization_id",
        sa.ForeignKey("organization.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class InvitationAudience(db.Model):
    """Whom a moderator or group lead invited to a meeting, or to every date of a series.

    A meeting's audience is turned into :class:`MeetingInvitation` rows on the next run; a
    series' audience for each occurrence once it comes within ``INVITATION_WINDOW_DAYS``.
    """

    __tablename__ = "invitation_audience"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True
    )
    #: Every active account of the network.
    all_members: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A meeting's audience: when its invitations were created (``None``: not yet).
    expanded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting | None] = relationship()
    series: Mapped[MeetingSeries | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    groups: Mapped[list[WorkingGroup]] = relationship(
        secondary=invitation_audience_group, order_by="WorkingGroup.name"
    )
    organizations: Mapped[list[Organization]] = relationship(
        secondary=invitation_audience_organization, order_by="Organization.name"
    )

    __table_args__ = (
        sa.CheckConstraint("(meeting_id IS NULL) <> (series_id IS NULL)", name="meeting_or_series"),
    )


class AudienceExpansion(db.Model):
    """A series audience was turned into invitations for this occurrence (once only)."""

    __tablename__ = "audience_expansion"

    audience_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitation_audience.id", ondelete="CASCADE"), primary_key=True
    )
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingInvitation(db.Model):
    """One invited address for one meeting. Updates and the cancellation go to it as well."""

    __tablename__ = "meeting_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"))
    #: The member invited; ``None`` for an organisation's contact address.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: Lower-cased; a member's address at the time of the invitation.
    email: Mapped[str] = mapped_column(sa.String(254))
    #: The name in the invitation's ATTENDEE (a member's name or the organisation's).
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Language of mails to an address without an account.
    locale: Mapped[Locale] = mapped_column(str_enum(Locale, 5), default=Locale.DE)
    audience_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitation_audience.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The meeting's SEQUENCE in the last mail queued for this address (``None``: none yet).
    sequence_sent: Mapped[int | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()
    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "email", name="uq_meeting_invitation_email"),
    )
