"""Account rules: passwords, login sessions, first admin, invitations, resets, roles.

Functions flush and log; the caller (a view or a CLI command) commits once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from coordination.audit import services as audit
from coordination.auth.models import Invitation, Locale, PasswordReset, Role, User, UserSession
from coordination.db import lock_for_update, utcnow
from coordination.extensions import db
from coordination.mail.services import queue_mail
from coordination.organizations.models import Organization

log = logging.getLogger(__name__)

SESSION_KEY = "sid"


class AccountError(Exception):
    """A rule was broken; ``str(error)`` is a translated message for the user."""


class EmailTaken(AccountError):
    pass


class LastAdminError(AccountError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A 256-bit URL-safe random token and the hash that is stored instead of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


_dummy_hashes: dict[str, str] = {}


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or ``None``.

    An unknown email costs the same hash computation as a known one, so response times do not
    reveal which addresses have accounts.
    """
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        dummy = _dummy_hashes.setdefault(method, hash_password(secrets.token_hex(16)))
        check_password_hash(dummy, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(User.id))) or 0


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role = Role.MEMBER,
    locale: Locale = Locale.DE,
    organizations: Iterable[Organization] = (),
    actor: User | None = None,
) -> User:
    """Create an account. Raises :class:`EmailTaken` if the address is in use."""
    email = email.strip().lower()
    if get_user_by_email(email) is not None:
        raise EmailTaken(_l("There is already an account with this email address."))
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        locale=locale,
        organizations=list(organizations),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor=actor, object_type="user", object_id=user.id, detail=role)
    log.info("user %s created with role %s", user.id, role)
    return user


def create_first_admin(*, email: str, name: str, password: str, locale: Locale) -> User | None:
    """Create the first admin, or return ``None`` if any account exists already.

    Two concurrent calls cannot both succeed: PostgreSQL serialises them on an advisory lock,
    SQLite on its write lock (taken when a write request's transaction begins).
    """
    lock_for_update(db.session, "setup-first-admin")
    if user_count() > 0:
        return None
    return create_user(email=email, name=name, password=password, role=Role.ADMIN, locale=locale)


# --- login sessions -----------------------------------------------------------------------


def start_session(user: User) -> None:
    """Log ``user`` in with a fresh server-side session (a new id: no session fixation)."""
    now = utcnow()
    token, token_hash = new_token()
    db.session.execute(
        sa.delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now)
    )
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash,
            expires_at=now + current_app.config["SESSION_LIFETIME"],
        )
    )
    user.last_login_at = now
    db.session.flush()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    session[SESSION_KEY] = token
    login_user(user)


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user only if this browser's session row is still valid."""
    token = session.get(SESSION_KEY)
    if not token or not isinstance(token, str) or not user_id.isdigit():
        return None
    return db.session.scalar(
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == hash_token(token),
            UserSession.user_id == int(user_id),
            UserSession.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    )


def end_session() -> None:
    """Log out this browser and forget its session on the server."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        db.session.execute(
            sa.delete(UserSession).where(UserSession.token_hash == hash_token(token))
        )
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def end_all_sessions(user: User) -> int:
    """Forget every session of ``user``; copied cookies stop working on their next request."""
    result = db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


def end_other_sessions(user: User) -> int:
    token = session.get(SESSION_KEY)
    query = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if isinstance(token, str):
        query = query.where(UserSession.token_hash != hash_token(token))
    return int(getattr(db.session.execute(query), "rowcount", 0) or 0)


def active_sessions(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.expires_at > utcnow())
            .order_by(UserSession.created_at.desc())
        )
    )


def is_current_session(user_session: UserSession) -> bool:
    token = session.get(SESSION_KEY)
    return isinstance(token, str) and user_session.token_hash == hash_token(token)


# --- profile and password -----------------------------------------------------------------


def update_profile(
    user: User, *, name: str, locale: Locale, organizations: Iterable[Organization]
) -> None:
    user.name = name.strip()
    user.locale = locale
    user.organizations = list(organizations)
    db.session.flush()


def change_password(user: User, new_password: str) -> None:
    """Set a new password, end every session of the user and log this browser in afresh."""
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    db.session.flush()
    audit.record("user.password_changed", actor=user, object_type="user", object_id=user.id)
    start_session(user)


# --- administration -----------------------------------------------------------------------


def _active_admin_count() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.is_active)
        )
        or 0
    )


def update_user(
    user: User,
    *,
    role: Role,
    is_active: bool,
    organizations: Iterable[Organization],
    actor: User,
) -> None:
    """Change a user's role, active flag and organisations; at least one active admin stays."""
    lock_for_update(db.session, "admins")
    losing_admin = (
        user.role is Role.ADMIN and user.is_active and (role is not Role.ADMIN or not is_active)
    )
    if losing_admin and _active_admin_count() <= 1:
        raise LastAdminError(_l("The network needs at least one active admin."))
    if user.role is not role:
        audit.record(
            "user.role_changed", actor=actor, object_type="user", object_id=user.id, detail=role
        )
        user.role = role
    if user.is_active != is_active:
        action = "user.reactivated" if is_active else "user.deactivated"
        audit.record(action, actor=actor, object_type="user", object_id=user.id)
        user.is_active = is_active
        if not is_active:
            end_all_sessions(user)
    user.organizations = list(organizations)
    db.session.flush()


# --- invitations --------------------------------------------------------------------------


@dataclass
class InvitationResult:
    invitation: Invitation
    token: str


def invite(
    *,
    email: str,
    role: Role,
    locale: Locale,
    organization: Organization | None,
    actor: User,
) -> InvitationResult:
    """Invite ``email`` to create an account; earlier open invitations for it are revoked."""
    email = email.strip().lower()
    if get_user_by_email(email) is not None:
        raise EmailTaken(_l("There is already an account with this email address."))
    now = utcnow()
    db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token, token_hash = new_token()
    invitation = Invitation(
        email=email,
        role=role,
        locale=locale,
        organization=organization,
        token_hash=token_hash,
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + current_app.config["INVITATION_TTL"],
    )
    db.session.add(invitation)
    db.session.flush()
    queue_mail(
        recipient=email,
        locale=locale,
        subject=_l("Your invitation to %(network)s", network=current_app.config["NETWORK_NAME"]),
        template="mail/invitation",
        url_endpoint=("auth.accept_invitation", {"token": token}),
        inviter_name=actor.name,
        role=role,
        expires_at=invitation.expires_at,
    )
    audit.record(
        "invitation.created",
        actor=actor,
        object_type="invitation",
        object_id=invitation.id,
        detail=role,
    )
    return InvitationResult(invitation, token)


def find_open_invitation(token: str) -> Invitation | None:
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if invitation is None or not invitation.is_open(utcnow()):
        return None
    return invitation


def accept_invitation(invitation: Invitation, *, name: str, password: str, locale: Locale) -> User:
    """Create the invited account. The invitation is used exactly once, even under races."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AccountError(_l("This invitation link has already been used or has expired."))
    user = create_user(
        email=invitation.email,
        name=name,
        password=password,
        role=invitation.role,
        locale=locale,
        organizations=[invitation.organization] if invitation.organization else [],
    )
    db.session.refresh(invitation)
    return user


def revoke_invitation(invitation: Invitation, *, actor: User) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            "invitation.revoked", actor=actor, object_type="invitation", object_id=invitation.id
        )
        db.session.flush()


# --- password reset -----------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Mail a reset link if an active account has this address; otherwise do nothing.

    The caller answers the same in both cases, so the form reveals no accounts.
    """
    user = get_user_by_email(email)
    if user is None or not user.is_active:
        log.info("password reset requested for an unknown or inactive address")
        return
    now = utcnow()
    token, token_hash = new_token()
    reset = PasswordReset(
        user_id=user.id,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + current_app.config["PASSWORD_RESET_TTL"],
    )
    db.session.add(reset)
    db.session.flush()
    queue_mail(
        recipient=user.email,
        locale=user.locale,
        subject=_l("Reset your password"),
        template="mail/password_reset",
        url_endpoint=("auth.reset_password", {"token": token}),
        user_name=user.name,
        expires_at=reset.expires_at,
    )
    log.info("password reset %s queued for user %s", reset.id, user.id)


def find_valid_reset(token: str) -> PasswordReset | None:
    reset = db.session.scalar(
        sa.select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
    )
    now = utcnow()
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    if not reset.user.is_active:
        return None
    return reset


def complete_password_reset(reset: PasswordReset, new_password: str) -> User:
    """Use the reset link once: set the password, end all sessions, invalidate other links."""
    now: datetime = utcnow()
    claimed = db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AccountError(_l("This link has already been used or has expired."))
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user = reset.user
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    audit.record("user.password_reset", actor=user, object_type="user", object_id=user.id)
    db.session.flush()
    return user
