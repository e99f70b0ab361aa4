"""Import every feature's models so that mappers, Alembic and the shell see all tables."""

from coordination.attendance.models import Attendance
from coordination.audit.models import AuditEvent
from coordination.auth.models import Invitation, PasswordReset, User, UserSession
from coordination.groups.models import GroupMembership, WorkingGroup
from coordination.mail.models import OutboxMessage
from coordination.meetings.models import AgendaItem, Meeting, MeetingSeries, Minutes
from coordination.organizations.models import Organization, organization_member
from coordination.registrations.models import Registration

__all__ = [
    "AgendaItem",
    "Attendance",
    "AuditEvent",
    "GroupMembership",
    "Invitation",
    "Meeting",
    "MeetingSeries",
    "Minutes",
    "OutboxMessage",
    "Organization",
    "PasswordReset",
    "Registration",
    "User",
    "UserSession",
    "WorkingGroup",
    "organization_member",
]
