"""Administration: users and roles, invitations, the mail outbox and the audit trail."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from coordination.audit.models import AuditEvent
from coordination.auth import services as accounts
from coordination.auth.forms import InvitationForm, UserAdminForm, role_choices
from coordination.auth.models import Invitation, Locale, Role, User
from coordination.auth.permissions import invitable_roles, role_required
from coordination.db import utcnow
from coordination.extensions import db
from coordination.forms import as_choices
from coordination.mail import services as mail
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.organizations.models import Organization
from coordination.organizations.services import organization_choices, organizations_by_ids
from coordination.pagination import paginate

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50


@bp.route("/users/")
@role_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    """All accounts, searchable by name or email and filterable by role and state."""
    query = sa.select(User).order_by(sa.func.lower(User.name), User.id)
    search = request.args.get("q", "").strip()[:100]
    if search:
        needle = search.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(needle, autoescape=True),
                User.email.contains(needle, autoescape=True),
            )
        )
    role = request.args.get("role", "")
    if role in set(Role):
        query = query.where(User.role == Role(role))
    state = request.args.get("state", "")
    if state == "active":
        query = query.where(User.is_active.is_(True))
    elif state == "inactive":
        query = query.where(User.is_active.is_(False))
    page = paginate(query, PER_PAGE)
    return render_template(
        "admin/users.html",
        page=page,
        search=search,
        role=role,
        state=state,
        roles=dict(role_choices()),
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_detail(user_id: int) -> ResponseReturnValue:
    """Change a user's role, organisations, or deactivate the account."""
    user = db.get_or_404(User, user_id)
    # Submitted data only: an empty POST must not silently fall back to the stored values.
    form = UserAdminForm(obj=user if request.method == "GET" else None)
    form.role.choices = as_choices(role_choices())
    form.organizations.choices = as_choices(organization_choices())
    if request.method == "GET":
        form.role.data = user.role.value
        form.organizations.data = [org.id for org in user.organizations]
    if form.validate_on_submit():
        try:
            accounts.update_user(
                user,
                role=Role(form.role.data),
                is_active=form.is_active.data,
                organizations=organizations_by_ids(form.organizations.data),
                actor=current_user,
            )
        except accounts.LastAdminError as error:
            db.session.rollback()
            form.role.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Account of %(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id), 303)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
        .order_by(AuditEvent.created_at.desc())
        .limit(20)
    ).all()
    return render_template("admin/user_detail.html", user=user, form=form, events=events)


@bp.route("/invitations/", methods=["GET", "POST"])
@role_required(Role.ADMIN, Role.MODERATOR)
def invitations() -> ResponseReturnValue:
    """Invite people by email; see and revoke open invitations."""
    form = InvitationForm()
    allowed = invitable_roles(current_user)
    labels = dict(role_choices())
    form.role.choices = as_choices((role.value, labels[role.value]) for role in allowed)
    form.organization.choices = as_choices([(0, _("— none —")), *organization_choices()])
    if request.method == "GET":
        form.locale.data = str(current_user.locale)
    if form.validate_on_submit():
        organization = (
            db.session.get(Organization, form.organization.data) if form.organization.data else None
        )
        try:
            accounts.invite(
                email=form.email.data,
                role=Role(form.role.data),
                locale=Locale(form.locale.data),
                organization=organization,
                actor=current_user,
            )
        except accounts.EmailTaken as error:
            db.session.rollback()
            form.email.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("admin.invitations"), 303)
    now = utcnow()
    open_invitations = db.session.scalars(
        sa.select(Invitation)
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .options(joinedload(Invitation.invited_by), joinedload(Invitation.organization))
        .order_by(Invitation.created_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "admin/invitations.html", form=form, invitations=open_invitations, roles=labels
    )


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@role_required(Role.ADMIN, Role.MODERATOR)
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    """Withdraw an invitation so that its link stops working."""
    invitation = db.get_or_404(Invitation, invitation_id)
    # Moderators may only withdraw member invitations, the only kind they can send.
    if invitation.role not in invitable_roles(current_user):
        abort(404)
    accounts.revoke_invitation(invitation, actor=current_user)
    db.session.commit()
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("admin.invitations"), 303)


@bp.route("/outbox/")
@role_required(Role.ADMIN)
def outbox() -> ResponseReturnValue:
    """Mails that failed or are waiting for a retry; sent mails are only counted."""
    status = request.args.get("status", "problems")
    query = sa.select(OutboxMessage).order_by(OutboxMessage.created_at.desc())
    if status == "failed":
        query = query.where(OutboxMessage.status == OutboxStatus.FAILED)
    elif status == "pending":
        query = query.where(OutboxMessage.status == OutboxStatus.PENDING)
    else:
        status = "problems"
        query = query.where(
            sa.or_(
                OutboxMessage.status == OutboxStatus.FAILED,
                sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0),
            )
        )
    page = paginate(query, PER_PAGE)
    return render_template(
        "admin/outbox.html", page=page, status=status, summary=mail.outbox_summary()
    )


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@role_required(Role.ADMIN)
def retry_mail(message_id: int) -> ResponseReturnValue:
    """Queue a failed mail again."""
    message = db.get_or_404(OutboxMessage, message_id)
    if message.status is OutboxStatus.SENT:
        flash(_("This mail has been sent already."), "info")
    elif message.status is OutboxStatus.WITHDRAWN:
        # A reminder for a meeting that was cancelled or moved must stay unsent.
        flash(_("This mail was withdrawn (its meeting was cancelled or moved)."), "info")
    else:
        mail.retry(message)
        db.session.commit()
        flash(_("The mail will be sent with the next delivery run."), "success")
    return redirect(url_for("admin.outbox"), 303)


@bp.route("/audit/")
@role_required(Role.ADMIN)
def audit() -> ResponseReturnValue:
    """Who changed what, newest first."""
    query = (
        sa.select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    page = paginate(query, PER_PAGE)
    return render_template("admin/audit.html", page=page)
