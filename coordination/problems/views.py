"""A group's problems, their solutions and endorsements, and each problem's timeline.

Whoever may not read the group gets 404 for the group and everything in it; readers who may
not do something get 403. Visitors are sent to the login page.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.extensions import db
from coordination.groups.models import WorkingGroup
from coordination.groups.permissions import can_contribute, can_lead_group, can_view_group
from coordination.pagination import paginate
from coordination.problems import services
from coordination.problems.forms import (
    ProblemForm,
    ProblemStatusForm,
    SolutionForm,
    SolutionStatusForm,
    priority_labels,
    solution_status_labels,
    status_labels,
)
from coordination.problems.models import (
    GroupIssue,
    Priority,
    ProblemStatus,
    Solution,
    SolutionStatus,
)

bp = Blueprint("problems", __name__, url_prefix="/groups")

PER_PAGE = 25

#: Status filters of the problem list: "active" (open and in progress, the default), "all",
#: or a single status.
STATUS_FILTERS = ("active", "all", *(status.value for status in ProblemStatus))

SORTS = ("priority", "oldest", "newest", "updated")


# --- template helpers --------------------------------------------------------------------------


@bp.app_template_global()
def problem_status_label(status: ProblemStatus | str) -> str:
    return status_labels().get(ProblemStatus(status), str(status))


@bp.app_template_global()
def problem_priority_label(priority: Priority | str) -> str:
    return priority_labels().get(Priority(priority), str(priority))


@bp.app_template_global()
def solution_status_label(status: SolutionStatus | str) -> str:
    return solution_status_labels().get(SolutionStatus(status), str(status))


@bp.app_template_global()
def group_problem_summary(group: WorkingGroup) -> services.ProblemSummary | None:
    """Counts per status and the most pressing problems, for whoever may read ``group``."""
    if not can_view_group(current_user, group):
        return None
    return services.problem_summary(group)


def can_edit_problem(user: Any, issue: GroupIssue) -> bool:
    """The reporter (while still in the group) and the group's leads and admins."""
    if can_lead_group(user, issue.group):
        return True
    return bool(
        user is not None
        and user.is_authenticated
        and issue.reporter_id == user.id
        and can_contribute(user, issue.group)
    )


bp.add_app_template_global(can_edit_problem, "can_edit_problem")


# --- loading and checking ----------------------------------------------------------------------


def _readable_group(slug: str) -> WorkingGroup:
    group = db.session.scalar(db.select(WorkingGroup).where(WorkingGroup.slug == slug))
    if group is None or not can_view_group(current_user, group):
        abort(404)
    return group


def _issue(group: WorkingGroup, issue_id: int) -> GroupIssue:
    issue = services.get_issue(group, issue_id)
    if issue is None:
        abort(404)
    return issue


def _solution(issue: GroupIssue, solution_id: int) -> Solution:
    solution = services.get_solution(issue, solution_id)
    if solution is None:
        abort(404)
    return solution


def group_page_url(group: WorkingGroup) -> str:
    """The group's page (``/groups/<slug>``, served by the groups blueprint)."""
    return url_for("groups.detail", slug=group.slug)


bp.add_app_template_global(group_page_url, "problems_group_url")


def _detail_url(issue: GroupIssue, anchor: str | None = None) -> str:
    return url_for("problems.detail", slug=issue.group.slug, issue_id=issue.id, _anchor=anchor)


# --- the list ----------------------------------------------------------------------------------


def _list_query(
    group: WorkingGroup, status_filter: str, priority: Priority | None, sort: str
) -> sa.Select[tuple[GroupIssue]]:
    if status_filter == "active":
        statuses: tuple[ProblemStatus, ...] | None = services.ACTIVE_STATUSES
    elif status_filter == "all":
        statuses = None
    else:
        statuses = (ProblemStatus(status_filter),)
    query = services.problems_query(group, statuses)
    if priority is not None:
        query = query.where(GroupIssue.priority == priority)
    order = {
        "priority": (services.priority_rank(), GroupIssue.created_at.asc()),
        "oldest": (GroupIssue.created_at.asc(),),
        "newest": (GroupIssue.created_at.desc(),),
        "updated": (GroupIssue.updated_at.desc(),),
    }[sort]
    return query.order_by(*order, GroupIssue.id.desc() if sort != "oldest" else GroupIssue.id)


@bp.route("/<slug>/issues")
@login_required
def index(slug: str) -> ResponseReturnValue:
    """The group's problems: filter by status and priority, sort by priority, age or change."""
    group = _readable_group(slug)
    status_filter = request.args.get("status", "active")
    if status_filter not in STATUS_FILTERS:
        status_filter = "active"
    priority_value = request.args.get("priority", "")
    priority = Priority(priority_value) if priority_value in set(Priority) else None
    sort = request.args.get("sort", "priority")
    if sort not in SORTS:
        sort = "priority"
    page = paginate(_list_query(group, status_filter, priority, sort), PER_PAGE)
    return render_template(
        "problems/index.html",
        group=group,
        page=page,
        counts=services.status_counts(group),
        solution_counts=services.solution_counts(issue.id for issue in page.items),
        status_filter=status_filter,
        priority=priority,
        sort=sort,
        statuses=status_labels(),
        priorities=priority_labels(),
    )


# --- logging and editing a problem -------------------------------------------------------------


@bp.route("/<slug>/issues/new", methods=["GET", "POST"])
@login_required
def create(slug: str) -> ResponseReturnValue:
    """Log a problem (group members and admins)."""
    group = _readable_group(slug)
    if not can_contribute(current_user, group):
        abort(403)
    form = ProblemForm()
    if form.validate_on_submit():
        issue = services.create_problem(
            group,
            title=form.title.data,
            description=form.description.data or "",
            priority=Priority(form.priority.data),
            actor=current_user,
        )
        db.session.commit()
        flash(_("Problem logged."), "success")
        return redirect(url_for("problems.detail", slug=group.slug, issue_id=issue.id), 303)
    return render_template("problems/form.html", form=form, group=group, problem=None)


@bp.route("/<slug>/issues/<int:issue_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, issue_id: int) -> ResponseReturnValue:
    """Change a problem's title, description and priority (reporter, leads, admins)."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    if not can_edit_problem(current_user, issue):
        abort(403)
    form = ProblemForm(obj=issue if request.method == "GET" else None)
    if request.method == "GET":
        form.priority.data = issue.priority.value
    if form.validate_on_submit():
        services.update_problem(
            issue,
            title=form.title.data,
            description=form.description.data or "",
            priority=Priority(form.priority.data),
            actor=current_user,
        )
        db.session.commit()
        flash(_("Problem saved."), "success")
        return redirect(_detail_url(issue), 303)
    return render_template("problems/form.html", form=form, group=group, problem=issue)


# --- the problem page --------------------------------------------------------------------------


def _solution_status_form(solution: Solution, formdata: Any = None) -> SolutionStatusForm:
    form = SolutionStatusForm(
        formdata=formdata,
        prefix=f"solution-{solution.id}",
        data={"status": solution.status.value, "outcome_note": solution.outcome_note},
    )
    allowed = {solution.status, *services.SOLUTION_TRANSITIONS[solution.status]}
    form.status.choices = [
        choice for choice in form.status.choices if SolutionStatus(choice.value) in allowed
    ]
    return form


def _render_detail(
    group: WorkingGroup,
    issue: GroupIssue,
    *,
    solution_form: SolutionForm | None = None,
    failed_status_form: tuple[int, SolutionStatusForm] | None = None,
) -> ResponseReturnValue:
    solutions = services.solutions_for(issue)
    solution_ids = [solution.id for solution in solutions]
    is_lead = can_lead_group(current_user, group)
    status_forms: dict[int, SolutionStatusForm] = {}
    if is_lead:
        status_forms = {solution.id: _solution_status_form(solution) for solution in solutions}
        if failed_status_form is not None:
            status_forms[failed_status_form[0]] = failed_status_form[1]
    return render_template(
        "problems/detail.html",
        group=group,
        problem=issue,
        solutions=solutions,
        solution_numbers={solution.id: number for number, solution in enumerate(solutions, 1)},
        endorsements=services.endorsement_counts(solution_ids),
        endorsed=services.endorsed_by(current_user, solution_ids),
        timeline=services.timeline(issue, current_user),
        may_contribute=can_contribute(current_user, group),
        may_lead=is_lead,
        next_statuses=services.PROBLEM_TRANSITIONS[issue.status],
        solution_form=solution_form or SolutionForm(formdata=None),
        status_forms=status_forms,
        open_status_form=failed_status_form[0] if failed_status_form else None,
        statuses=status_labels(),
        priorities=priority_labels(),
        solution_statuses=solution_status_labels(),
    )


@bp.route("/<slug>/issues/<int:issue_id>")
@login_required
def detail(slug: str, issue_id: int) -> ResponseReturnValue:
    """A problem with its solutions, actions and one timeline of everything that happened."""
    group = _readable_group(slug)
    return _render_detail(group, _issue(group, issue_id))


@bp.route("/<slug>/issues/<int:issue_id>/status", methods=["POST"])
@login_required
def change_status(slug: str, issue_id: int) -> ResponseReturnValue:
    """Move a problem to another status (leads and admins)."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    if not can_lead_group(current_user, group):
        abort(403)
    form = ProblemStatusForm()
    if not form.validate_on_submit():
        abort(400)
    status = ProblemStatus(form.status.data)
    try:
        changed = services.change_status(issue, status, actor=current_user)
    except services.TransitionNotAllowed:
        flash(_("This status change is not possible. Please reopen the problem first."), "error")
        return redirect(_detail_url(issue), 303)
    db.session.commit()
    if changed:
        flash(_("Status set to %(status)s.", status=status_labels()[status]), "success")
    return redirect(_detail_url(issue), 303)


# --- solutions and endorsements ----------------------------------------------------------------


@bp.route("/<slug>/issues/<int:issue_id>/solutions", methods=["POST"])
@login_required
def propose_solution(slug: str, issue_id: int) -> ResponseReturnValue:
    """Propose a solution to the problem (group members and admins)."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    if not can_contribute(current_user, group):
        abort(403)
    form = SolutionForm()
    if not form.validate_on_submit():
        return _render_detail(group, issue, solution_form=form)
    solution = services.propose_solution(issue, text=form.text.data, actor=current_user)
    db.session.commit()
    flash(_("Solution proposed."), "success")
    return redirect(_detail_url(issue, f"solution-{solution.id}"), 303)


@bp.route("/<slug>/issues/<int:issue_id>/solutions/<int:solution_id>/endorse", methods=["POST"])
@login_required
def endorse(slug: str, issue_id: int, solution_id: int) -> ResponseReturnValue:
    """Endorse a solution, once per member; a repeated submit changes nothing."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    solution = _solution(issue, solution_id)
    if not can_contribute(current_user, group):
        abort(403)
    if services.endorse(solution, user=current_user):
        db.session.commit()
        flash(_("You endorse this solution."), "success")
    return redirect(_detail_url(issue, f"solution-{solution.id}"), 303)


@bp.route("/<slug>/issues/<int:issue_id>/solutions/<int:solution_id>/withdraw", methods=["POST"])
@login_required
def withdraw(slug: str, issue_id: int, solution_id: int) -> ResponseReturnValue:
    """Withdraw one's endorsement of a solution."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    solution = _solution(issue, solution_id)
    if not can_contribute(current_user, group):
        abort(403)
    if services.withdraw_endorsement(solution, user=current_user):
        db.session.commit()
        flash(_("Endorsement withdrawn."), "success")
    return redirect(_detail_url(issue, f"solution-{solution.id}"), 303)


@bp.route("/<slug>/issues/<int:issue_id>/solutions/<int:solution_id>/status", methods=["POST"])
@login_required
def solution_status(slug: str, issue_id: int, solution_id: int) -> ResponseReturnValue:
    """Move a solution to trial, adopted, rejected or back to proposed (leads and admins)."""
    group = _readable_group(slug)
    issue = _issue(group, issue_id)
    solution = _solution(issue, solution_id)
    if not can_lead_group(current_user, group):
        abort(403)
    form = _solution_status_form(solution, formdata=request.form)
    if not form.validate_on_submit():
        return _render_detail(group, issue, failed_status_form=(solution.id, form))
    status = SolutionStatus(form.status.data)
    try:
        changed = services.change_solution_status(
            solution, status, outcome_note=form.outcome_note.data or "", actor=current_user
        )
    except services.TransitionNotAllowed:
        form.status.errors = [_("This status change is not possible.")]
        return _render_detail(group, issue, failed_status_form=(solution.id, form))
    db.session.commit()
    if changed:
        flash(_("Solution saved."), "success")
    return redirect(_detail_url(issue, f"solution-{solution.id}"), 303)
