"""Role × route matrix for every project route.

Roles: a visitor, a plain member, a member of the project's lead partner organisation, the
project's lead contact, the lead of a confidential and an open working group (not involved in
the project), a moderator and an admin. Every member reads every project; the lead partner's
members, the lead contact, moderators and admins manage it; group leads (and admins) start
projects from their groups' problems and adopted solutions; outsiders of a confidential group
get 404 for its problems, as if they did not exist.
"""

from __future__ import annotations

import pytest

from coordination.auth.models import Role
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.problems.models import GroupIssue, Solution, SolutionStatus
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectPartner,
    project_group,
    project_meeting,
)
from tests.matrix import LOGIN, Case, check

ROLES = (
    "anonymous",
    "member",
    "lead_partner",
    "lead_contact",
    "group_lead",
    "moderator",
    "admin",
)


def _roles(*answers: int | str) -> dict[str, int | str]:
    return dict(zip(ROLES, answers, strict=True))


def _readers(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, code, code, code, code, code, code)


def _managers(code: int) -> dict[str, int | str]:
    """The lead partner's members, the lead contact, moderators, admins; 403 for the others."""
    return _roles(LOGIN, 403, code, code, 403, code, code)


def _creators(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 403, 403, 403, 403, code, code)


def _starters_confidential(code: int) -> dict[str, int | str]:
    """A confidential group's problem: its lead and admins; everyone else cannot see it."""
    return _roles(LOGIN, 404, 404, 404, code, 404, code)


def _starters_open(code: int) -> dict[str, int | str]:
    """An open group's problem: readable by all members, started by its lead and admins."""
    return _roles(LOGIN, 403, 403, 403, code, 403, code)


P = "/projects/{slug}"
CASES = [
    Case("projects.index", "GET", "/projects/", _readers(200)),
    Case("projects.detail", "GET", P, _readers(200)),
    Case("projects.create", "GET", "/projects/new", _creators(200)),
    Case("projects.create", "POST", "/projects/new", _creators(200), {}),
    Case(
        "projects.start_from_problem",
        "GET",
        "/projects/new/from-problem/{secret_issue}",
        _starters_confidential(200),
    ),
    Case(
        "projects.start_from_problem",
        "POST",
        "/projects/new/from-problem/{secret_issue}",
        _starters_confidential(200),
        {},
    ),
    Case(
        "projects.start_from_problem",
        "GET",
        "/projects/new/from-problem/{open_issue}",
        _starters_open(200),
    ),
    Case(
        "projects.start_from_solution",
        "GET",
        "/projects/new/from-solution/{secret_solution}",
        _starters_confidential(200),
    ),
    Case(
        "projects.start_from_solution",
        "POST",
        "/projects/new/from-solution/{secret_solution}",
        _starters_confidential(200),
        {},
    ),
    Case(
        "projects.start_from_solution",
        "GET",
        "/projects/new/from-solution/{open_solution}",
        _starters_open(200),
    ),
    Case("projects.edit", "GET", P + "/edit", _managers(200)),
    Case("projects.edit", "POST", P + "/edit", _managers(200), {}),
    Case("projects.change_status", "POST", P + "/status", _managers(303), {"status": "active"}),
    Case(
        "projects.add_partner",
        "POST",
        P + "/partners",
        _managers(303),
        {"organization": "{other_org}", "role": "partner"},
    ),
    Case(
        "projects.change_partner_role",
        "POST",
        P + "/partners/{partner}/role",
        _managers(303),
        {"role": "lead"},
    ),
    Case("projects.remove_partner", "POST", P + "/partners/{partner}/remove", _managers(303)),
    Case(
        "projects.add_milestone",
        "POST",
        P + "/milestones",
        _managers(303),
        {"title": "Druckfassung", "due_date": "2030-05-01"},
    ),
    Case("projects.edit_milestone", "GET", P + "/milestones/{open_milestone}/edit", _managers(200)),
    Case(
        "projects.edit_milestone",
        "POST",
        P + "/milestones/{open_milestone}/edit",
        _managers(200),
        {},
    ),
    Case(
        "projects.complete_milestone",
        "POST",
        P + "/milestones/{open_milestone}/done",
        _managers(303),
    ),
    Case(
        "projects.reopen_milestone",
        "POST",
        P + "/milestones/{done_milestone}/reopen",
        _managers(303),
    ),
    Case("projects.link_group", "POST", P + "/groups", _managers(303), {"group": "{other_group}"}),
    Case("projects.unlink_group", "POST", P + "/groups/{linked_group}/unlink", _managers(303)),
    Case(
        "projects.link_meeting",
        "POST",
        P + "/meetings",
        _managers(303),
        {"meeting": "{other_meeting}"},
    ),
    Case(
        "projects.unlink_meeting",
        "POST",
        P + "/meetings/{linked_meeting}/unlink",
        _managers(303),
    ),
]


@pytest.fixture
def orgs(make_organization):
    return {
        "lead": make_organization(name="Flüchtlingsrat Leipzig"),
        "partner": make_organization(name="Volkshochschule Leipzig"),
        "other": make_organization(name="Caritas Leipzig"),
    }


@pytest.fixture
def people(make_user, orgs):
    return {
        "member": make_user(name="Plain Member"),
        "lead_partner": make_user(name="Lead Partner", organizations=[orgs["lead"].id]),
        "lead_contact": make_user(name="Lead Contact", organizations=[orgs["partner"].id]),
        "group_lead": make_user(name="Group Lead"),
        "moderator": make_user(name="Moderator", role=Role.MODERATOR),
        "admin": make_user(name="Admin", role=Role.ADMIN),
    }


@pytest.fixture
def objects(app, people, orgs, make_group, make_meeting):
    lead = {people["group_lead"].id: GroupRole.LEAD}
    secret = make_group(name="AG UMA", confidentiality=Confidentiality.CONFIDENTIAL, members=lead)
    open_group = make_group(name="AG Wohnen", members=lead)
    linked_group = make_group(name="AG Wegweiser")
    other_group = make_group(name="AG Sprache")
    linked_meeting = make_meeting(title="Vernetzungstreffen Oktober")
    other_meeting = make_meeting(title="Vernetzungstreffen November")
    with app.app_context():
        issues = {}
        solutions = {}
        for key, group in (("secret", secret), ("open", open_group)):
            issue = GroupIssue(group_id=group.id, title=f"Problem {key}")
            db.session.add(issue)
            db.session.flush()
            solution = Solution(issue_id=issue.id, text="Idee", status=SolutionStatus.ADOPTED)
            db.session.add(solution)
            db.session.flush()
            issues[key], solutions[key] = issue.id, solution.id
        project = Project(
            name="Wegweiser",
            slug="wegweiser",
            lead_contact_id=people["lead_contact"].id,
            status_changed_at=utcnow(),
        )
        db.session.add(project)
        db.session.flush()
        lead_partner = ProjectPartner(
            project_id=project.id, organization_id=orgs["lead"].id, role=PartnerRole.LEAD
        )
        partner = ProjectPartner(
            project_id=project.id, organization_id=orgs["partner"].id, role=PartnerRole.PARTNER
        )
        open_milestone = Milestone(project_id=project.id, title="Entwurf")
        done_milestone = Milestone(
            project_id=project.id, title="Gliederung", done_at=utcnow(), done_by_id=None
        )
        db.session.add_all([lead_partner, partner, open_milestone, done_milestone])
        db.session.execute(
            project_group.insert().values(project_id=project.id, group_id=linked_group.id)
        )
        db.session.execute(
            project_meeting.insert().values(project_id=project.id, meeting_id=linked_meeting.id)
        )
        db.session.commit()
        ids = {
            "partner": partner.id,
            "open_milestone": open_milestone.id,
            "done_milestone": done_milestone.id,
        }
    return {
        "slug": "wegweiser",
        "secret_issue": issues["secret"],
        "open_issue": issues["open"],
        "secret_solution": solutions["secret"],
        "open_solution": solutions["open"],
        "other_org": orgs["other"].id,
        "linked_group": linked_group.id,
        "other_group": other_group.id,
        "linked_meeting": linked_meeting.id,
        "other_meeting": other_meeting.id,
        **ids,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.method} {case.endpoint}")
def test_project_route_matrix(app, login, people, objects, case: Case, role: str):
    client = app.test_client() if role == "anonymous" else login(people[role])
    check(client, case, role, objects)


def test_manage_buttons_only_for_those_who_manage(app, login, people, objects):
    for role in ("lead_partner", "lead_contact", "moderator", "admin"):
        page = login(people[role]).get("/projects/wegweiser").get_data(as_text=True)
        assert 'id="project-edit"' in page and 'id="project-status-form"' in page, role
    for role in ("member", "group_lead"):
        page = login(people[role]).get("/projects/wegweiser").get_data(as_text=True)
        assert 'id="project-edit"' not in page and "/partners" not in page, role
        assert "/milestones/" not in page and "/unlink" not in page, role


def test_new_project_button_only_for_moderators_and_admins(login, people, objects):
    for role, shown in (("member", False), ("lead_partner", False), ("moderator", True)):
        page = login(people[role]).get("/projects/").get_data(as_text=True)
        assert ('id="project-new"' in page) is shown, role
