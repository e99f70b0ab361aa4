"""Import every feature's models so that mappers, Alembic and the shell see all tables."""

from coordination.actions.models import Action
from coordination.attendance.models import Attendance
from coordination.audit.models import AuditEvent
from coordination.auth.models import Invitation, PasswordReset, User, UserSession
from coordination.calendar.models import CalendarRevision, CalendarToken
from coordination.groups.models import GroupMembership, JoinRequest, WorkingGroup
from coordination.mail.models import OutboxMessage
from coordination.meetings.models import AgendaItem, Meeting, MeetingSeries, Minutes
from coordination.notifications.models import (
    AudienceExpansion,
    EmailOptOut,
    InvitationAudience,
    MeetingInvitation,
    NotificationPreference,
    invitation_audience_group,
    invitation_audience_organization,
)
from coordination.organizations.models import Organization, organization_member
from coordination.problems.models import Endorsement, GroupIssue, IssueEvent, Solution
from coordination.projects.models import (
    Milestone,
    Project,
    ProjectEvent,
    ProjectPartner,
    project_group,
    project_meeting,
)
from coordination.registrations.models import Registration

__all__ = [
    "Action",
    "AgendaItem",
    "Attendance",
    "AudienceExpansion",
    "AuditEvent",
    "CalendarRevision",
    "CalendarToken",
    "EmailOptOut",
    "Endorsement",
    "GroupIssue",
    "GroupMembership",
    "Invitation",
    "InvitationAudience",
    "IssueEvent",
    "JoinRequest",
    "Meeting",
    "MeetingInvitation",
    "MeetingSeries",
    "Milestone",
    "Minutes",
    "NotificationPreference",
    "OutboxMessage",
    "Organization",
    "PasswordReset",
    "Project",
    "ProjectEvent",
    "ProjectPartner",
    "Registration",
    "Solution",
    "User",
    "UserSession",
    "WorkingGroup",
    "invitation_audience_group",
    "invitation_audience_organization",
    "organization_member",
    "project_group",
    "project_meeting",
]
