"""Actions: my actions across groups, a group's board, creating and updating actions.

An action, like everything in a working group, answers 404 to whoever may not read the group;
readers who may not change it get 403. Visitors are sent to the login page.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from coordination import MAX_ID
from coordination.actions import services
from coordination.actions.forms import (
    EditActionForm,
    NewActionForm,
    StatusForm,
    status_labels,
)
from coordination.actions.models import Action, ActionStatus
from coordination.auth.models import User
from coordination.extensions import db
from coordination.groups.models import WorkingGroup
from coordination.groups.permissions import can_contribute, can_view_group
from coordination.problems.models import GroupIssue, Solution
from coordination.security import safe_next

bp = Blueprint("actions", __name__)

#: How many open actions the group page shows before linking to the board.
GROUP_PAGE_LIMIT = 10

_ID = re.compile(r"^[0-9]{1,10}$")


# --- template helpers -------------------------------------------------------------------------


@bp.app_template_global()
def action_status_labels() -> dict[ActionStatus, str]:
    return status_labels()


@bp.app_template_global()
def actions_today() -> Any:
    """Today in the network's time zone (for the overdue marks)."""
    return services.today()


@bp.app_template_global()
def action_viewer(user: Any) -> services.Viewer:
    """The user's memberships, loaded once, to decide per row who may change an action."""
    return services.viewer_for(user)


@bp.app_template_global()
def actions_for_problem(problem: GroupIssue) -> list[Action]:
    """The problem's actions, for the problem page (which checks that the viewer may read it)."""
    if not can_view_group(current_user, problem.group):
        return []
    return services.actions_for_problem(problem)


@bp.app_template_global()
def group_actions_preview(group: WorkingGroup) -> dict[str, Any] | None:
    """The group's next open actions and how many are open, for the group page."""
    if not can_view_group(current_user, group):
        return None
    return {
        "actions": services.group_open_actions(group, services.today(), limit=GROUP_PAGE_LIMIT),
        "open_count": services.count_open_actions(group),
    }


@bp.app_template_global()
def my_action_counts(user: Any) -> services.ActionCounts:
    """Open and overdue actions ``user`` owns in groups they may read (for the dashboard)."""
    return services.my_action_counts(user)


@bp.app_template_global()
def action_group_url(group: WorkingGroup) -> str:
    """The group's page (``/groups/<slug>``, a URL contract of the groups blueprint)."""
    try:
        return url_for("groups.detail", slug=group.slug)
    except BuildError:
        return f"{request.script_root}/groups/{group.slug}"


@bp.app_template_global()
def action_problem_url(group: WorkingGroup, issue_id: int, anchor: str | None = None) -> str:
    """A problem's page (``/groups/<slug>/issues/<id>``, a URL contract)."""
    try:
        return url_for("problems.detail", slug=group.slug, issue_id=issue_id, _anchor=anchor)
    except BuildError:
        suffix = f"#{anchor}" if anchor else ""
        return f"{request.script_root}/groups/{group.slug}/issues/{issue_id}{suffix}"


bp.add_app_template_global(services.can_update_action, "can_update_action")


# --- loading and checking ---------------------------------------------------------------------


def _readable_group(slug: str) -> WorkingGroup:
    group = db.session.scalar(db.select(WorkingGroup).where(WorkingGroup.slug == slug))
    if group is None or not can_view_group(current_user, group):
        abort(404)
    return group


def _readable_action(action_id: int) -> Action:
    action = db.session.get(Action, action_id)
    if action is None or not services.can_view_action(current_user, action):
        abort(404)
    return action


def _updatable_action(action_id: int) -> Action:
    action = _readable_action(action_id)
    if not services.can_update_action(current_user, action):
        abort(403)
    return action


def _id_arg(name: str) -> int | None:
    """An id from the query string: ``None`` if absent, 404 if it cannot be an id."""
    value = request.args.get(name, "")
    if not value:
        return None
    if not _ID.match(value) or int(value) > MAX_ID:
        abort(404)
    return int(value)


def _member(form_value: str | None) -> User | None:
    if not form_value or not _ID.match(form_value) or int(form_value) > MAX_ID:
        return None
    return db.session.get(User, int(form_value))


def _owner_choices(group: WorkingGroup, *, keep_blank: bool) -> list[tuple[Any, str]]:
    members = services.member_choices(group)
    if keep_blank:
        return [("", _("Choose a member")), *members]
    return members


# --- my actions -------------------------------------------------------------------------------


@bp.route("/actions/")
@login_required
def mine() -> ResponseReturnValue:
    """My open actions in every group I may read, overdue first; recently finished ones below."""
    day = services.today()
    open_actions = services.my_open_actions(current_user, day)
    return render_template(
        "actions/mine.html",
        open_actions=open_actions,
        overdue_count=sum(1 for action in open_actions if action.is_overdue(day)),
        closed_actions=services.my_closed_actions(current_user),
        today=day,
        viewer=services.viewer_for(current_user),
    )


# --- one action -------------------------------------------------------------------------------


@bp.route("/actions/<int:action_id>")
@login_required
def detail(action_id: int) -> ResponseReturnValue:
    """An action with its notes, owner, due date and where it came from."""
    action = _readable_action(action_id)
    return render_template(
        "actions/detail.html",
        action=action,
        today=services.today(),
        may_update=services.can_update_action(current_user, action),
    )


@bp.route("/actions/<int:action_id>/status", methods=["POST"])
@login_required
def set_status(action_id: int) -> ResponseReturnValue:
    """One-click done, dropped or reopened (``status=done|dropped|open``)."""
    action = _updatable_action(action_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    status = ActionStatus(form.status.data)
    changed = services.set_status(action, status, actor=current_user)
    db.session.commit()
    if changed:
        messages = {
            ActionStatus.DONE: _("“%(title)s” is done.", title=action.title),
            ActionStatus.DROPPED: _("“%(title)s” was dropped.", title=action.title),
            ActionStatus.OPEN: _("“%(title)s” is open again.", title=action.title),
        }
        flash(messages[status], "success")
    fallback = url_for("actions.detail", action_id=action.id)
    return redirect(safe_next(form.next.data, fallback), 303)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit(action_id: int) -> ResponseReturnValue:
    """Change title, notes, owner, due date and status."""
    action = _updatable_action(action_id)
    group = action.group
    form = EditActionForm(obj=action if request.method == "GET" else None)
    members = services.member_choices(group)
    owner_is_member = any(user_id == action.owner_id for user_id, _name in members)
    form.set_owner_choices(_owner_choices(group, keep_blank=not owner_is_member))
    if request.method == "GET":
        form.owner.data = str(action.owner_id) if owner_is_member else ""
        form.status.data = action.status.value
    if form.validate_on_submit():
        owner = _member(form.owner.data)
        try:
            if owner is None:
                raise services.OwnerNotMember(form.owner.data)
            services.update_action(
                action,
                title=form.title.data,
                notes=form.notes.data or "",
                owner=owner,
                due_date=form.due_date.data,
                actor=current_user,
            )
        except services.OwnerNotMember:
            form.owner.errors = [_("The owner must be a member of the group.")]
        else:
            services.set_status(action, ActionStatus(form.status.data), actor=current_user)
            db.session.commit()
            flash(_("Saved “%(title)s”.", title=action.title), "success")
            return redirect(url_for("actions.detail", action_id=action.id), 303)
    return render_template("actions/form.html", form=form, group=group, action=action)


# --- a group's actions ------------------------------------------------------------------------


@bp.route("/groups/<slug>/actions")
@login_required
def board(slug: str) -> ResponseReturnValue:
    """The group's open actions (overdue marked) and recently finished ones; filter by owner."""
    group = _readable_group(slug)
    owners = services.owners_in_group(group)
    owner_id = request.args.get("owner", "")
    owner_filter = next((uid for uid, _name in owners if str(uid) == owner_id), None)
    day = services.today()
    return render_template(
        "actions/board.html",
        group=group,
        owners=owners,
        owner_filter=owner_filter,
        open_actions=services.group_open_actions(group, day, owner_id=owner_filter),
        closed_actions=services.group_closed_actions(group, owner_id=owner_filter),
        today=day,
        viewer=services.viewer_for(current_user),
    )


@bp.route("/groups/<slug>/actions/new", methods=["GET", "POST"])
@login_required
def new(slug: str) -> ResponseReturnValue:
    """Create an action, optionally for a problem (``?issue=``) and one of its solutions
    (``?solution=``)."""
    group = _readable_group(slug)
    if not can_contribute(current_user, group):
        abort(403)
    issue, solution = _origin(group)
    form = NewActionForm(with_solution=issue is not None)
    members = services.member_choices(group)
    i_am_member = any(user_id == current_user.id for user_id, _name in members)
    form.set_owner_choices(_owner_choices(group, keep_blank=not i_am_member))
    form.set_issue_choices(services.problem_choices(group, include=issue))
    if issue is not None:
        form.set_solution_choices(services.solution_choices(issue))
    if request.method == "GET":
        form.owner.data = str(current_user.id) if i_am_member else ""
        form.issue.data = str(issue.id) if issue is not None else ""
        if solution is not None:
            form.solution.data = str(solution.id)
    if form.validate_on_submit():
        chosen_issue = (
            services.get_group_issue(group, int(form.issue.data)) if form.issue.data else None
        )
        chosen_solution = None
        if issue is not None and form.solution.data:
            chosen_solution = services.get_group_solution(group, int(form.solution.data))
        owner = _member(form.owner.data)
        if chosen_solution is not None and (
            chosen_issue is None or chosen_solution.issue_id != chosen_issue.id
        ):
            form.solution.errors = [_("This solution belongs to another problem.")]
        elif owner is None:
            form.owner.errors = [_("The owner must be a member of the group.")]
        else:
            try:
                action = services.create_action(
                    group,
                    title=form.title.data,
                    notes=form.notes.data or "",
                    owner=owner,
                    due_date=form.due_date.data,
                    issue=chosen_issue,
                    solution=chosen_solution,
                    actor=current_user,
                )
            except services.OwnerNotMember:
                form.owner.errors = [_("The owner must be a member of the group.")]
            else:
                db.session.commit()
                flash(_("Action “%(title)s” created.", title=action.title), "success")
                if chosen_issue is not None:
                    target = action_problem_url(group, chosen_issue.id, anchor="problem-actions")
                else:
                    target = url_for(
                        "actions.board", slug=group.slug, _anchor=f"action-{action.id}"
                    )
                return redirect(target, 303)
    return render_template(
        "actions/form.html", form=form, group=group, action=None, issue=issue, solution=solution
    )


def _origin(group: WorkingGroup) -> tuple[GroupIssue | None, Solution | None]:
    """The problem and solution named in the query string; 404 for another group's."""
    issue_id, solution_id = _id_arg("issue"), _id_arg("solution")
    issue = solution = None
    if issue_id is not None:
        issue = services.get_group_issue(group, issue_id)
        if issue is None:
            abort(404)
    if solution_id is not None:
        solution = services.get_group_solution(group, solution_id)
        if solution is None or (issue is not None and solution.issue_id != issue.id):
            abort(404)
        issue = issue or solution.issue
    return issue, solution
