"""Import every feature's models so that mappers, Alembic and the shell see all tables."""

from coordination.audit.models import AuditEvent
from coordination.auth.models import Invitation, PasswordReset, User, UserSession
from coordination.mail.models import OutboxMessage
from coordination.organizations.models import Organization, organization_member

__all__ = [
    "AuditEvent",
    "Invitation",
    "OutboxMessage",
    "Organization",
    "PasswordReset",
    "User",
    "UserSession",
    "organization_member",
]
