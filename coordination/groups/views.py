"""Working groups: list, detail page, create and edit, membership, join requests, audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from coordination.audit.models import AuditEvent
from coordination.auth.models import User
from coordination.extensions import db
from coordination.groups import services
from coordination.groups.forms import (
    AddMemberForm,
    GroupForm,
    RoleForm,
    confidentiality_short_labels,
    join_mode_labels,
    request_status_labels,
    role_labels,
)
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    JoinMode,
    JoinRequestStatus,
    WorkingGroup,
)
from coordination.groups.permissions import (
    can_create_groups,
    can_lead_group,
    can_view_group,
    can_view_group_audit,
)
from coordination.pagination import paginate

bp = Blueprint("groups", __name__, url_prefix="/groups")

PER_PAGE = 50
AUDIT_PER_PAGE = 50


# --- helpers shared with the templates ---------------------------------------------------------


@bp.app_template_global()
def group_role_label(role: GroupRole | str) -> str:
    """ "Lead" or "Member" in the user's language."""
    return role_labels().get(GroupRole(role), str(role))


@bp.app_template_global()
def confidentiality_label(value: Confidentiality | str) -> str:
    """ "Open" or "Confidential" in the user's language."""
    return confidentiality_short_labels().get(Confidentiality(value), str(value))


@bp.app_template_global()
def join_mode_label(value: JoinMode | str) -> str:
    return join_mode_labels().get(JoinMode(value), str(value))


def _audit_action_labels() -> dict[str, str]:
    return {
        services.GROUP_CREATED: _("created the group"),
        services.GROUP_UPDATED: _("edited the group"),
        services.GROUP_CONFIDENTIALITY_CHANGED: _("changed who can read the group"),
        services.GROUP_JOIN_MODE_CHANGED: _("changed how people join"),
        services.MEMBER_JOINED: _("joined"),
        services.MEMBER_LEFT: _("left"),
        services.MEMBER_ADDED: _("added a member"),
        services.MEMBER_REMOVED: _("removed a member"),
        services.ROLE_CHANGED: _("changed a role"),
        services.JOIN_REQUESTED: _("asked to join"),
        services.REQUEST_APPROVED: _("approved a request to join"),
        services.REQUEST_DECLINED: _("declined a request to join"),
        "group_issue.created": _("logged a problem"),
        "group_issue.updated": _("edited a problem"),
        "group_issue.status_changed": _("changed a problem's status"),
        "solution.created": _("proposed a solution"),
        "solution.status_changed": _("changed a solution's status"),
        "action.created": _("created an action"),
        "action.updated": _("edited an action"),
        "action.status_changed": _("changed an action's status"),
    }


def _content_status_labels() -> dict[str, dict[str, str]]:
    return {
        "group_issue": {
            "open": _("open"),
            "in_progress": _("in progress"),
            "resolved": _("resolved"),
            "closed": _("closed"),
        },
        "solution": {
            "proposed": _("proposed"),
            "trial": _("on trial"),
            "adopted": _("adopted"),
            "rejected": _("rejected"),
        },
        "action": {"open": _("open"), "done": _("done"), "dropped": _("dropped")},
    }


@bp.app_template_global()
def group_audit_label(event: AuditEvent) -> str:
    """What a group's audit event means, in the user's language."""
    return _audit_action_labels().get(event.action, event.action)


@bp.app_template_global()
def group_audit_detail(event: AuditEvent) -> str:
    """The event's detail (a role, status, confidentiality or join mode) as a label."""
    detail = event.detail
    if not detail:
        return ""
    if event.object_type in services.CONTENT_OBJECT_TYPES:
        return _content_status_labels()[event.object_type].get(detail, detail)
    labels: dict[Any, str]
    if event.action in (services.GROUP_CREATED, services.GROUP_CONFIDENTIALITY_CHANGED):
        labels = confidentiality_short_labels()
    elif event.action == services.GROUP_JOIN_MODE_CHANGED:
        labels = join_mode_labels()
    elif event.action in (
        services.JOIN_REQUESTED,
        services.REQUEST_APPROVED,
        services.REQUEST_DECLINED,
    ):
        labels = request_status_labels()
    else:
        labels = role_labels()
    return next((label for value, label in labels.items() if value.value == detail), detail)


# --- loading and authorising ------------------------------------------------------------------


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _get_group(slug: str) -> WorkingGroup:
    """The group if the viewer may read it; 404 for unknown and hidden groups alike."""
    group = services.get_readable_group(current_user, slug)
    if group is None:
        abort(404)
    return group


def _led_group(slug: str) -> WorkingGroup:
    """The group if the viewer leads it (or is an admin); 403 for other readers."""
    group = _get_group(slug)
    if not can_lead_group(current_user, group):
        abort(403)
    return group


def _get_membership(group: WorkingGroup, membership_id: int) -> GroupMembership:
    membership = services.get_membership(group, membership_id)
    if membership is None:
        abort(404)
    return membership


def _back_to(group: WorkingGroup) -> ResponseReturnValue:
    """To the group page, or to the list if the viewer can no longer read the group."""
    if can_view_group(current_user, group):
        return redirect(url_for("groups.detail", slug=group.slug), 303)
    return redirect(url_for("groups.index"), 303)


# --- pages ------------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """The groups the viewer may read, with member counts and the viewer's own role."""
    page = paginate(services.groups_query(current_user), PER_PAGE)
    ids = [group.id for group in page.items]
    return render_template(
        "groups/index.html",
        page=page,
        counts=services.member_counts(ids),
        roles=services.roles_of(current_user, ids),
        pending=services.pending_request_group_ids(current_user, ids),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> ResponseReturnValue:
    """Moderators and admins found a group and name its first lead."""
    if not can_create_groups(current_user):
        abort(403)
    initial = None
    if request.method == "GET":
        initial = {
            "lead": str(current_user.id),
            "confidentiality": Confidentiality.OPEN.value,
            "join_mode": JoinMode.OPEN.value,
        }
    form = GroupForm(data=initial, lead_choices=services.active_user_choices())
    if form.validate_on_submit():
        lead = services.active_user(form.lead.data)
        if lead is None:
            form.lead.errors = [_("Please choose an active account.")]
        else:
            try:
                group = services.create_group(
                    name=form.name.data,
                    description=form.description.data or "",
                    confidentiality=Confidentiality(form.confidentiality.data),
                    join_mode=JoinMode(form.join_mode.data),
                    lead=lead,
                    actor=_me(),
                )
            except services.NameTaken:
                form.name.errors = [_("A group with this name exists already.")]
            else:
                db.session.commit()
                flash(_("Working group %(name)s created.", name=group.name), "success")
                return _back_to(group)
    return render_template("groups/form.html", form=form, group=None)


@bp.route("/<slug>")
@login_required
def detail(slug: str) -> ResponseReturnValue:
    """A group's description, members, join options, problems, actions and next meetings."""
    return _render_detail(_get_group(slug))


def _render_detail(group: WorkingGroup, add_form: AddMemberForm | None = None) -> str:
    members = services.memberships(group)
    mine = next((m for m in members if m.user_id == current_user.id), None)
    leading = can_lead_group(current_user, group)
    if leading and add_form is None:
        add_form = AddMemberForm(user_choices=services.addable_user_choices(group))
    return render_template(
        "groups/detail.html",
        group=group,
        members=members,
        leads=[m for m in members if m.role is GroupRole.LEAD],
        my_membership=mine,
        my_request=services.pending_request_of(group, current_user) if mine is None else None,
        leading=leading,
        requests=services.pending_requests(group) if leading else [],
        add_form=add_form if leading else None,
        role_choices=role_labels(),
        can_join=mine is None and services.may_join_directly(group),
        can_request=mine is None and services.may_request(group),
        meetings=services.upcoming_meetings(group, current_user),
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> ResponseReturnValue:
    """Leads (and admins) change name, description, confidentiality and join mode."""
    group = _led_group(slug)
    initial = None
    if request.method == "GET":
        initial = {
            "name": group.name,
            "description": group.description,
            "confidentiality": group.confidentiality.value,
            "join_mode": group.join_mode.value,
        }
    form = GroupForm(data=initial, was_confidential=group.is_confidential)
    if form.validate_on_submit():
        try:
            restricted = services.update_group(
                group,
                name=form.name.data,
                description=form.description.data or "",
                confidentiality=Confidentiality(form.confidentiality.data),
                join_mode=JoinMode(form.join_mode.data),
                actor=_me(),
            )
        except services.NameTaken:
            form.name.errors = [_("A group with this name exists already.")]
        else:
            db.session.commit()
            flash(_("Working group %(name)s saved.", name=group.name), "success")
            if restricted:
                flash(
                    ngettext(
                        "%(num)d meeting of the group is now visible to the group only.",
                        "%(num)d meetings of the group are now visible to the group only.",
                        restricted,
                    ),
                    "info",
                )
            return redirect(url_for("groups.detail", slug=group.slug), 303)
    return render_template("groups/form.html", form=form, group=group)


@bp.route("/<slug>/audit")
@login_required
def audit(slug: str) -> ResponseReturnValue:
    """Who changed the group and its membership, and when (leads and admins)."""
    group = _get_group(slug)
    if not can_view_group_audit(current_user, group):
        abort(403)
    page = paginate(services.audit_trail_query(group), AUDIT_PER_PAGE)
    return render_template(
        "groups/audit.html",
        group=group,
        page=page,
        entries=services.audit_trail(group, list(page.items)),
    )


# --- membership -------------------------------------------------------------------------------


@bp.route("/<slug>/join", methods=["POST"])
@login_required
def join(slug: str) -> ResponseReturnValue:
    """Join an open group, or ask the leads of a group that takes requests."""
    group = _get_group(slug)
    if services.membership_of(group, current_user) is not None:
        flash(_("You are a member of this group already."), "info")
        return _back_to(group)
    if services.may_join_directly(group):
        try:
            services.join_group(group, _me())
        except services.AlreadyMember:
            flash(_("You are a member of this group already."), "info")
        else:
            db.session.commit()
            flash(_("Welcome to %(name)s.", name=group.name), "success")
    elif services.may_request(group):
        try:
            services.request_to_join(group, _me())
        except services.AlreadyMember:
            flash(_("You are a member of this group already."), "info")
        except services.RequestPending:
            flash(_("Your request is waiting for a lead's answer."), "info")
        else:
            db.session.commit()
            flash(_("Request sent. The group's leads will answer it."), "success")
    else:
        abort(403)
    return _back_to(group)


@bp.route("/<slug>/leave", methods=["POST"])
@login_required
def leave(slug: str) -> ResponseReturnValue:
    """Leave a group; its only lead has to name another lead first."""
    group = _get_group(slug)
    try:
        services.leave_group(group, _me())
    except services.NotMember:
        flash(_("You are not a member of this group."), "info")
    except services.LastLead:
        flash(
            _("You are the group's only lead. Make someone else a lead before you leave."),
            "error",
        )
    else:
        db.session.commit()
        flash(_("You have left %(name)s.", name=group.name), "success")
    return _back_to(group)


@bp.route("/<slug>/requests/<int:request_id>/approve", methods=["POST"])
@login_required
def approve_request(slug: str, request_id: int) -> ResponseReturnValue:
    """A lead lets a requester in; the requester is told by email."""
    return _decide(slug, request_id, JoinRequestStatus.APPROVED)


@bp.route("/<slug>/requests/<int:request_id>/decline", methods=["POST"])
@login_required
def decline_request(slug: str, request_id: int) -> ResponseReturnValue:
    """A lead turns a request down; the requester is told by email."""
    return _decide(slug, request_id, JoinRequestStatus.DECLINED)


def _decide(slug: str, request_id: int, status: JoinRequestStatus) -> ResponseReturnValue:
    group = _led_group(slug)
    join_request = services.get_request(group, request_id)
    if join_request is None:
        abort(404)
    name = join_request.user.name
    try:
        if status is JoinRequestStatus.APPROVED:
            services.approve_request(join_request, actor=_me())
        else:
            services.decline_request(join_request, actor=_me())
    except services.RequestDecided:
        flash(_("This request has been answered already."), "info")
    else:
        db.session.commit()
        if status is JoinRequestStatus.APPROVED:
            flash(_("%(name)s is now a member.", name=name), "success")
        else:
            flash(_("The request of %(name)s was declined.", name=name), "success")
    return _back_to(group)


@bp.route("/<slug>/members", methods=["POST"])
@login_required
def add_member(slug: str) -> ResponseReturnValue:
    """A lead adds an active account to the group; the person gets an email."""
    group = _led_group(slug)
    form = AddMemberForm(user_choices=services.addable_user_choices(group))
    if form.validate_on_submit():
        person = services.active_user(form.user.data)
        if person is None:
            form.user.errors = [_("Please choose an active account.")]
        else:
            try:
                services.add_member_by_lead(
                    group, person, role=GroupRole(form.role.data), actor=_me()
                )
            except services.AlreadyMember:
                flash(_("%(name)s is a member already.", name=person.name), "info")
            else:
                db.session.commit()
                flash(_("%(name)s was added to the group.", name=person.name), "success")
            return redirect(url_for("groups.detail", slug=group.slug, _anchor="members"), 303)
    return _render_detail(group, add_form=form)


@bp.route("/<slug>/members/<int:membership_id>/role", methods=["POST"])
@login_required
def change_role(slug: str, membership_id: int) -> ResponseReturnValue:
    """A lead makes a member a lead or a lead a member; the last lead stays."""
    group = _led_group(slug)
    membership = _get_membership(group, membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Please choose a role."), "error")
        return redirect(url_for("groups.detail", slug=group.slug, _anchor="members"), 303)
    name = membership.user.name
    try:
        changed = services.change_role(membership, role=GroupRole(form.role.data), actor=_me())
    except services.NotMember:
        flash(_("%(name)s is no longer a member.", name=name), "info")
    except services.LastLead:
        flash(_("A group needs at least one lead. Make someone else a lead first."), "error")
    else:
        if changed:
            db.session.commit()
            flash(_("The role of %(name)s was changed.", name=name), "success")
        else:
            flash(_("Nothing changed."), "info")
    return _back_to(group)


@bp.route("/<slug>/members/<int:membership_id>/remove", methods=["POST"])
@login_required
def remove_member(slug: str, membership_id: int) -> ResponseReturnValue:
    """A lead removes someone from the group; the last lead stays."""
    group = _led_group(slug)
    membership = _get_membership(group, membership_id)
    name = membership.user.name
    try:
        services.remove_member(membership, actor=_me())
    except services.NotMember:
        flash(_("%(name)s is no longer a member.", name=name), "info")
    except services.LastLead:
        flash(_("A group needs at least one lead. Make someone else a lead first."), "error")
    else:
        db.session.commit()
        flash(_("%(name)s was removed from the group.", name=name), "success")
    return _back_to(group)
