"""Shared projects: list, project page, create and edit, status, partners, milestones, links.

Every logged-in member reads every project; visitors are sent to the login page. Managing
routes answer 403 to readers who may not manage the project (see :mod:`.permissions`). Links
to groups and meetings the viewer may not see are left out, and trying to link or unlink one
answers 404 as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordination.auth.models import User
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import WorkingGroup
from coordination.meetings.models import Meeting
from coordination.meetings.permissions import can_view_meeting
from coordination.organizations.models import Organization
from coordination.pagination import paginate
from coordination.problems.models import GroupIssue, Solution, SolutionStatus
from coordination.projects import services
from coordination.projects.forms import (
    GroupLinkForm,
    MeetingLinkForm,
    MilestoneForm,
    NewMilestoneForm,
    PartnerForm,
    PartnerRoleForm,
    ProjectForm,
    StatusForm,
    role_labels,
    status_labels,
)
from coordination.projects.models import PartnerRole, Project, ProjectStatus
from coordination.projects.permissions import (
    can_create_projects,
    can_manage_project,
    can_start_project_from,
)
from coordination.timeutil import local_today

bp = Blueprint("projects", __name__, url_prefix="/projects")

PER_PAGE = 25


# --- helpers shared with the templates ---------------------------------------------------------


@bp.app_template_global()
def project_status_label(status: ProjectStatus | str) -> str:
    return status_labels().get(ProjectStatus(status), str(status))


@bp.app_template_global()
def partner_role_label(role: PartnerRole | str) -> str:
    return role_labels().get(PartnerRole(role), str(role))


@bp.app_template_global()
def project_url(project: Project) -> str:
    return url_for("projects.detail", slug=project.slug)


# --- loading and authorising ------------------------------------------------------------------


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _project(slug: str) -> Project:
    project = services.get_project(slug)
    if project is None:
        abort(404)
    return project


def _managed(slug: str) -> Project:
    """The project if the viewer may manage it: 404 if it does not exist, else 403."""
    project = _project(slug)
    if not can_manage_project(current_user, project):
        abort(403)
    return project


def _detail(project: Project, anchor: str | None = None) -> ResponseReturnValue:
    return redirect(url_for("projects.detail", slug=project.slug, _anchor=anchor), 303)


def _int(value: Any) -> int | None:
    """A form's id value as a number that fits the database, else ``None``."""
    text = str(value or "")
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number < 2**31 else None


def _active_person(value: Any, keep: User | None = None) -> User | None | bool:
    """The account a lead-contact field names: ``None`` for nobody, ``False`` for a bad value.

    ``keep`` (the current lead contact) stays acceptable even if the account was deactivated.
    """
    if not value:
        return None
    number = _int(value)
    if number is None:
        return False
    if keep is not None and keep.id == number:
        return keep
    person = groups.active_user(number)
    return person if person is not None else False


# --- the list ---------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """All projects, filterable by status and by partner organisation."""
    status_value = request.args.get("status", "")
    status = ProjectStatus(status_value) if status_value in set(ProjectStatus) else None
    organizations = services.partner_organization_choices()
    organization_id = _int(request.args.get("organization"))
    if organization_id not in {org_id for org_id, _name in organizations}:
        organization_id = None
    page = paginate(services.projects_query(status, organization_id), PER_PAGE)
    today = local_today()
    return render_template(
        "projects/index.html",
        page=page,
        summaries=services.list_summaries((project.id for project in page.items), today),
        statuses=status_labels(),
        status=status,
        organizations=organizations,
        organization_id=organization_id,
        today=today,
    )


# --- creating ---------------------------------------------------------------------------------


def _create(
    form: ProjectForm,
    *,
    origin_group: WorkingGroup | None = None,
    origin_issue: GroupIssue | None = None,
    origin_solution: Solution | None = None,
) -> ResponseReturnValue | None:
    """Create the project from a validated ``form``; ``None`` if the form shows an error."""
    duplicate = services.recent_duplicate(_me(), form.name.data)
    if duplicate is not None:
        flash(_("This project was created a moment ago; it was not created twice."), "info")
        return _detail(duplicate)
    lead_contact = _active_person(form.lead_contact.data)
    if lead_contact is False:
        form.lead_contact.errors = [_("Please choose an active account.")]
        return None
    organization = None
    if form.lead_organization.data:
        organization = db.session.get(Organization, _int(form.lead_organization.data) or 0)
        if organization is None:
            form.lead_organization.errors = [_("Please choose an organisation.")]
            return None
    try:
        project = services.create_project(
            name=form.name.data,
            summary=form.summary.data or "",
            description=form.description.data or "",
            status=ProjectStatus(form.status.data),
            lead_contact=lead_contact or None,
            lead_organization=organization,
            actor=_me(),
            origin_group=origin_group,
            origin_issue=origin_issue,
            origin_solution=origin_solution,
        )
    except services.NameTaken:
        form.name.errors = [_("A project with this name exists already.")]
        return None
    db.session.commit()
    flash(_("Project %(name)s created.", name=project.name), "success")
    return _detail(project)


def _new_form(initial: dict[str, Any] | None) -> ProjectForm:
    return ProjectForm(
        data=initial,
        person_choices=services.person_choices(),
        organization_choices=services.addable_organization_choices(),
    )


def _initial(**extra: Any) -> dict[str, Any] | None:
    if request.method != "GET":
        return None
    lead_organization = current_user.organizations[0].id if current_user.organizations else ""
    return {
        "status": ProjectStatus.IDEA.value,
        "lead_contact": str(current_user.id),
        "lead_organization": str(lead_organization),
        **extra,
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> ResponseReturnValue:
    """Moderators and admins start a project."""
    if not can_create_projects(current_user):
        abort(403)
    form = _new_form(_initial())
    if form.validate_on_submit() and (response := _create(form)) is not None:
        return response
    return render_template("projects/form.html", form=form, project=None, origin=None)


def _origin_issue(issue_id: int) -> tuple[WorkingGroup, GroupIssue]:
    """A problem whose group the viewer leads: 404 if they can't read it, else 403."""
    issue = db.session.get(GroupIssue, issue_id)
    if issue is None or not groups.can_read_group(current_user, issue.group):
        abort(404)
    if not can_start_project_from(current_user, issue.group):
        abort(403)
    return issue.group, issue


def _start_from(
    group: WorkingGroup, issue: GroupIssue, solution: Solution | None
) -> ResponseReturnValue:
    prefill: dict[str, Any] = {}
    # Projects are read by every member: nothing of a confidential group's text is copied.
    if not group.is_confidential:
        prefill = {
            "name": issue.title,
            "description": solution.text if solution is not None else issue.description,
        }
    form = _new_form(_initial(**prefill))
    if form.validate_on_submit():
        response = _create(form, origin_group=group, origin_issue=issue, origin_solution=solution)
        if response is not None:
            return response
    origin = services.Origin(group=group, issue=issue, solution=solution)
    return render_template("projects/form.html", form=form, project=None, origin=origin)


@bp.route("/new/from-problem/<int:issue_id>", methods=["GET", "POST"])
@login_required
def start_from_problem(issue_id: int) -> ResponseReturnValue:
    """A group lead (or admin) starts a project from one of the group's problems."""
    group, issue = _origin_issue(issue_id)
    return _start_from(group, issue, None)


@bp.route("/new/from-solution/<int:solution_id>", methods=["GET", "POST"])
@login_required
def start_from_solution(solution_id: int) -> ResponseReturnValue:
    """A group lead (or admin) starts a project from an adopted solution of the group."""
    solution = db.session.get(Solution, solution_id)
    if solution is None:
        abort(404)
    group, issue = _origin_issue(solution.issue_id)
    if solution.status is not SolutionStatus.ADOPTED:
        abort(404)  # only adopted solutions are offered as a start
    return _start_from(group, issue, solution)


# --- the project page -------------------------------------------------------------------------


def _render_detail(
    project: Project,
    *,
    partner_form: PartnerForm | None = None,
    milestone_form: NewMilestoneForm | None = None,
    group_form: GroupLinkForm | None = None,
    meeting_form: MeetingLinkForm | None = None,
) -> str:
    viewer = current_user
    may_manage = can_manage_project(viewer, project)
    milestones = services.milestones_of(project)
    partners = services.partners_of(project)
    forms: dict[str, Any] = {}
    if may_manage:
        forms = {
            "status_form": StatusForm(formdata=None, data={"status": project.status.value}),
            "partner_form": partner_form
            or PartnerForm(
                formdata=None,
                organization_choices=services.addable_organization_choices(project),
            ),
            "milestone_form": milestone_form or NewMilestoneForm(formdata=None),
            "group_form": group_form
            or GroupLinkForm(
                formdata=None, group_choices=services.linkable_group_choices(project, viewer)
            ),
            "meeting_form": meeting_form
            or MeetingLinkForm(
                formdata=None,
                meeting_choices=services.linkable_meeting_choices(project, viewer),
            ),
        }
    return render_template(
        "projects/detail.html",
        project=project,
        may_manage=may_manage,
        partners=partners,
        has_lead_partner=any(p.role is PartnerRole.LEAD for p in partners),
        milestones=milestones,
        trail=services.trail(project, milestones),
        origin=services.origin_for(project, viewer),
        linked_groups=services.visible_groups(project, viewer),
        linked_meetings=services.visible_meetings(project, viewer),
        mentions=services.agenda_mentions(project, viewer),
        today=local_today(),
        roles=role_labels(),
        statuses_values={status.value for status in ProjectStatus},
        **forms,
    )


@bp.route("/<slug>")
@login_required
def detail(slug: str) -> ResponseReturnValue:
    """A project: description, status trail, partners, milestones, groups, meetings, agendas."""
    return _render_detail(_project(slug))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> ResponseReturnValue:
    """Change name, summary, description and lead contact (those who manage the project)."""
    project = _managed(slug)
    initial = None
    if request.method == "GET":
        initial = {
            "name": project.name,
            "summary": project.summary,
            "description": project.description,
            "lead_contact": str(project.lead_contact_id or ""),
        }
    form = ProjectForm(data=initial, person_choices=services.person_choices(project.lead_contact))
    if form.validate_on_submit():
        lead_contact = _active_person(form.lead_contact.data, keep=project.lead_contact)
        if lead_contact is False:
            form.lead_contact.errors = [_("Please choose an active account.")]
        else:
            try:
                services.update_project(
                    project,
                    name=form.name.data,
                    summary=form.summary.data or "",
                    description=form.description.data or "",
                    lead_contact=lead_contact or None,
                    actor=_me(),
                )
            except services.NameTaken:
                form.name.errors = [_("A project with this name exists already.")]
            else:
                db.session.commit()
                flash(_("Project %(name)s saved.", name=project.name), "success")
                return _detail(project)
    return render_template("projects/form.html", form=form, project=project, origin=None)


@bp.route("/<slug>/status", methods=["POST"])
@login_required
def change_status(slug: str) -> ResponseReturnValue:
    """Move the project to another status; the change goes on the project's trail."""
    project = _managed(slug)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    status = ProjectStatus(form.status.data)
    if services.change_status(project, status, actor=_me()):
        db.session.commit()
        flash(_("Status set to %(status)s.", status=status_labels()[status]), "success")
    else:
        flash(_("The project has this status already."), "info")
    return _detail(project, "status")


# --- partners ---------------------------------------------------------------------------------


@bp.route("/<slug>/partners", methods=["POST"])
@login_required
def add_partner(slug: str) -> ResponseReturnValue:
    """Add an organisation of the directory as lead or partner."""
    project = _managed(slug)
    form = PartnerForm(organization_choices=services.addable_organization_choices(project))
    if not form.validate_on_submit():
        return _render_detail(project, partner_form=form)
    organization = db.session.get(Organization, _int(form.organization.data) or 0)
    if organization is None:  # pragma: no cover - the choices hold existing organisations only
        abort(404)
    try:
        services.add_partner(project, organization, role=PartnerRole(form.role.data), actor=_me())
    except services.AlreadyPartner:
        flash(_("%(name)s takes part already.", name=organization.name), "info")
    else:
        db.session.commit()
        flash(_("%(name)s was added.", name=organization.name), "success")
    return _detail(project, "partners")


def _partner(project: Project, partner_id: int) -> Any:
    partner = services.get_partner(project, partner_id)
    if partner is None:
        abort(404)
    return partner


@bp.route("/<slug>/partners/<int:partner_id>/role", methods=["POST"])
@login_required
def change_partner_role(slug: str, partner_id: int) -> ResponseReturnValue:
    """Make a partner a lead or a lead a partner."""
    project = _managed(slug)
    partner = _partner(project, partner_id)
    form = PartnerRoleForm()
    if not form.validate_on_submit():
        abort(400)
    name = partner.organization.name
    try:
        changed = services.change_partner_role(
            partner, role=PartnerRole(form.role.data), actor=_me()
        )
    except services.PartnerGone:
        abort(404)
    if changed:
        db.session.commit()
        flash(_("The role of %(name)s was changed.", name=name), "success")
    else:
        flash(_("Nothing changed."), "info")
    return _detail(project, "partners")


@bp.route("/<slug>/partners/<int:partner_id>/remove", methods=["POST"])
@login_required
def remove_partner(slug: str, partner_id: int) -> ResponseReturnValue:
    """Remove an organisation from the project (also the last lead: the page then says so)."""
    project = _managed(slug)
    partner = _partner(project, partner_id)
    name = partner.organization.name
    try:
        services.remove_partner(partner, actor=_me())
    except services.PartnerGone:
        abort(404)
    db.session.commit()
    flash(_("%(name)s was removed from the project.", name=name), "success")
    return _detail(project, "partners")


# --- milestones -------------------------------------------------------------------------------


def _milestone(project: Project, milestone_id: int) -> Any:
    """A milestone of this project; another project's milestone answers 404."""
    milestone = services.get_milestone(project, milestone_id)
    if milestone is None:
        abort(404)
    return milestone


@bp.route("/<slug>/milestones", methods=["POST"])
@login_required
def add_milestone(slug: str) -> ResponseReturnValue:
    """Add a milestone with an optional due date."""
    project = _managed(slug)
    form = NewMilestoneForm()
    if not form.validate_on_submit():
        return _render_detail(project, milestone_form=form)
    milestone = services.add_milestone(
        project, title=form.title.data, due_date=form.due_date.data, actor=_me()
    )
    db.session.commit()
    flash(_("Milestone “%(title)s” added.", title=milestone.title), "success")
    return _detail(project, f"milestone-{milestone.id}")


@bp.route("/<slug>/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@login_required
def edit_milestone(slug: str, milestone_id: int) -> ResponseReturnValue:
    """Change a milestone's title and due date."""
    project = _managed(slug)
    milestone = _milestone(project, milestone_id)
    form = MilestoneForm(obj=milestone if request.method == "GET" else None)
    if form.validate_on_submit():
        services.update_milestone(
            milestone, title=form.title.data, due_date=form.due_date.data, actor=_me()
        )
        db.session.commit()
        flash(_("Milestone “%(title)s” saved.", title=milestone.title), "success")
        return _detail(project, f"milestone-{milestone.id}")
    return render_template(
        "projects/milestone_form.html", project=project, milestone=milestone, form=form
    )


@bp.route("/<slug>/milestones/<int:milestone_id>/done", methods=["POST"])
@login_required
def complete_milestone(slug: str, milestone_id: int) -> ResponseReturnValue:
    """Check a milestone off; a repeated click changes nothing."""
    project = _managed(slug)
    milestone = _milestone(project, milestone_id)
    if services.complete_milestone(milestone, actor=_me()):
        db.session.commit()
        flash(_("Milestone “%(title)s” done.", title=milestone.title), "success")
    return _detail(project, f"milestone-{milestone.id}")


@bp.route("/<slug>/milestones/<int:milestone_id>/reopen", methods=["POST"])
@login_required
def reopen_milestone(slug: str, milestone_id: int) -> ResponseReturnValue:
    """Take a milestone back to open; a repeated click changes nothing."""
    project = _managed(slug)
    milestone = _milestone(project, milestone_id)
    if services.reopen_milestone(milestone, actor=_me()):
        db.session.commit()
        flash(_("Milestone “%(title)s” is open again.", title=milestone.title), "success")
    return _detail(project, f"milestone-{milestone.id}")


# --- links to groups and meetings -------------------------------------------------------------


def _readable_group(group_id: int | None) -> WorkingGroup:
    group = db.session.get(WorkingGroup, group_id) if group_id else None
    if group is None or not groups.can_read_group(current_user, group):
        abort(404)
    return group


def _visible_meeting(meeting_id: int | None) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id) if meeting_id else None
    if meeting is None or not can_view_meeting(current_user, meeting):
        abort(404)
    return meeting


@bp.route("/<slug>/groups", methods=["POST"])
@login_required
def link_group(slug: str) -> ResponseReturnValue:
    """Link a working group the viewer may read."""
    project = _managed(slug)
    form = GroupLinkForm(group_choices=services.linkable_group_choices(project, current_user))
    if not form.validate_on_submit():
        return _render_detail(project, group_form=form)
    group = _readable_group(_int(form.group.data))
    if services.link_group(project, group, actor=_me()):
        db.session.commit()
        flash(_("%(name)s is linked.", name=group.name), "success")
    return _detail(project, "groups")


@bp.route("/<slug>/groups/<int:group_id>/unlink", methods=["POST"])
@login_required
def unlink_group(slug: str, group_id: int) -> ResponseReturnValue:
    """Remove the link to a working group (one the viewer may read)."""
    project = _managed(slug)
    group = _readable_group(group_id)
    if not services.unlink_group(project, group, actor=_me()):
        abort(404)
    db.session.commit()
    flash(_("The link to %(name)s was removed.", name=group.name), "success")
    return _detail(project, "groups")


@bp.route("/<slug>/meetings", methods=["POST"])
@login_required
def link_meeting(slug: str) -> ResponseReturnValue:
    """Link a meeting the viewer may see."""
    project = _managed(slug)
    form = MeetingLinkForm(meeting_choices=services.linkable_meeting_choices(project, current_user))
    if not form.validate_on_submit():
        return _render_detail(project, meeting_form=form)
    meeting = _visible_meeting(_int(form.meeting.data))
    if services.link_meeting(project, meeting, actor=_me()):
        db.session.commit()
        flash(_("%(title)s is linked.", title=meeting.title), "success")
    return _detail(project, "meetings")


@bp.route("/<slug>/meetings/<int:meeting_id>/unlink", methods=["POST"])
@login_required
def unlink_meeting(slug: str, meeting_id: int) -> ResponseReturnValue:
    """Remove the link to a meeting (one the viewer may see)."""
    project = _managed(slug)
    meeting = _visible_meeting(meeting_id)
    if not services.unlink_meeting(project, meeting, actor=_me()):
        abort(404)
    db.session.commit()
    flash(_("The link to %(title)s was removed.", title=meeting.title), "success")
    return _detail(project, "meetings")
