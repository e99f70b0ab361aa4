"""Problems, solutions, endorsements and the problem timeline of a working group.

Who may do what on an open and a confidential group, status workflows, one merged timeline,
endorsing once (also under concurrent submits), sanitised Markdown, filters and sorting, a
constant number of queries, and bad input that never causes a 500 or half-written rows.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination.actions.models import Action
from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    WorkingGroup,
)
from coordination.meetings.models import AgendaItem, Meeting, Visibility
from coordination.problems import services
from coordination.problems.models import (
    Endorsement,
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    Priority,
    ProblemStatus,
    Solution,
    SolutionStatus,
)
from tests.conftest import log_in

HUGE = "x" * 100_000
NUL = "abc\x00def"
EN = {"Accept-Language": "en"}
LOGIN = "login"
ROLES = ("visitor", "member", "group_member", "lead", "moderator", "admin")


@dataclass
class World:
    users: dict[str, User]
    groups: dict[str, WorkingGroup]
    #: One problem (reported by the lead) and one solution per group: "open", "secret".
    problems: dict[str, int]
    solutions: dict[str, int]


def _add_problem(app, group_id, reporter_id, title="Lange Wartezeiten", **fields) -> int:
    with app.app_context():
        issue = GroupIssue(group_id=group_id, title=title, reporter_id=reporter_id, **fields)
        db.session.add(issue)
        db.session.flush()
        db.session.add(IssueEvent(issue_id=issue.id, kind=IssueEventKind.CREATED))
        db.session.commit()
        return issue.id


def _add_solution(app, issue_id, proposer_id, text="Patenschaften vermitteln", **fields) -> int:
    with app.app_context():
        solution = Solution(issue_id=issue_id, text=text, proposer_id=proposer_id, **fields)
        db.session.add(solution)
        db.session.commit()
        return solution.id


@pytest.fixture
def world(app, make_user, make_group) -> World:
    """Every role; an open and a confidential group with the same lead and member."""
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN),
        "group_member": make_user(name="Gus Groupmember", locale=Locale.EN),
        "member": make_user(name="Mia Member", locale=Locale.EN),
    }
    members = {users["lead"].id: GroupRole.LEAD, users["group_member"].id: GroupRole.MEMBER}
    groups = {
        "open": make_group(members=members),
        "secret": make_group(members=members, confidentiality=Confidentiality.CONFIDENTIAL),
    }
    problems, solutions = {}, {}
    for key, group in groups.items():
        problems[key] = _add_problem(app, group.id, users["lead"].id, title=f"Problem {key}")
        solutions[key] = _add_solution(app, problems[key], users["group_member"].id)
    return World(users=users, groups=groups, problems=problems, solutions=solutions)


def _client(app, login, world, role):
    return app.test_client() if role == "visitor" else login(world.users[role])


def _path(world, key, template, **extra):
    return template.format(
        slug=world.groups[key].slug,
        issue=world.problems[key],
        solution=world.solutions[key],
        **extra,
    )


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _events(app, issue_id) -> list[IssueEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(IssueEvent)
            .where(IssueEvent.issue_id == issue_id)
            .order_by(IssueEvent.created_at, IssueEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return list(events)


def _kinds(app, issue_id) -> list[IssueEventKind]:
    return [event.kind for event in _events(app, issue_id)]


def _issue(app, issue_id) -> GroupIssue:
    with app.app_context():
        issue = db.session.get(GroupIssue, issue_id)
        db.session.expunge(issue)
        return issue


def _solution(app, solution_id) -> Solution:
    with app.app_context():
        solution = db.session.get(Solution, solution_id)
        db.session.expunge(solution)
        return solution


# --- role × route -------------------------------------------------------------------------------


def _codes(visitor, member, group_member, lead, moderator, admin):
    return dict(zip(ROLES, (visitor, member, group_member, lead, moderator, admin), strict=True))


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    open_codes: dict[str, int | str]
    data: dict[str, str] | None = None

    def codes(self, key):
        if key == "open":
            return self.open_codes
        # Outsiders (plain members, moderators) must not learn that anything exists.
        return {**self.open_codes, "member": 404, "moderator": 404}


ISSUE = "/groups/{slug}/issues/{issue}"
SOLUTION = ISSUE + "/solutions/{solution}"
READ = _codes(LOGIN, 200, 200, 200, 200, 200)
CONTRIBUTE_FORM = _codes(LOGIN, 403, 200, 200, 403, 200)
CONTRIBUTE = _codes(LOGIN, 403, 303, 303, 403, 303)
LEAD_FORM = _codes(LOGIN, 403, 403, 200, 403, 200)
LEAD = _codes(LOGIN, 403, 403, 303, 403, 303)

ROUTES = [
    Route("list", "GET", "/groups/{slug}/issues", READ),
    Route("new form", "GET", "/groups/{slug}/issues/new", CONTRIBUTE_FORM),
    Route(
        "new",
        "POST",
        "/groups/{slug}/issues/new",
        CONTRIBUTE,
        {"title": "Keine Schulplätze", "description": "Seit Monaten", "priority": "high"},
    ),
    Route("detail", "GET", ISSUE, READ),
    # The problem was reported by the lead: the plain group member may not edit it.
    Route("edit form", "GET", ISSUE + "/edit", LEAD_FORM),
    Route("edit", "POST", ISSUE + "/edit", LEAD, {"title": "Neu", "priority": "low"}),
    Route("status", "POST", ISSUE + "/status", LEAD, {"status": "in_progress"}),
    Route("propose", "POST", ISSUE + "/solutions", CONTRIBUTE, {"text": "Ein Vorschlag"}),
    Route("endorse", "POST", SOLUTION + "/endorse", CONTRIBUTE),
    Route("withdraw", "POST", SOLUTION + "/withdraw", CONTRIBUTE),
    Route(
        "solution status",
        "POST",
        SOLUTION + "/status",
        LEAD,
        {"solution-{solution}-status": "trial", "solution-{solution}-outcome_note": ""},
    ),
]


@pytest.mark.parametrize("key", ["open", "secret"])
@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, login, world, key, route, role):
    client = _client(app, login, world, role)
    path = _path(world, key, route.path)
    data = {
        name.format(solution=world.solutions[key]): value
        for name, value in (route.data or {}).items()
    }
    response = client.get(path) if route.method == "GET" else client.post(path, data=data)
    expected = route.codes(key)[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_outsiders_see_nothing_of_a_confidential_group(app, login, world, role):
    client = login(world.users[role])
    key = "secret"
    for path in (
        "/groups/{slug}/issues",
        "/groups/{slug}/issues?status=all",
        ISSUE,
        ISSUE + "/edit",
    ):
        response = client.get(_path(world, key, path))
        assert response.status_code == 404
        assert "Problem secret" not in response.get_data(as_text=True)


def test_refused_posts_write_nothing(app, login, world):
    before = _count(app, IssueEvent), _count(app, Solution), _count(app, Endorsement)
    outsider = login(world.users["member"])
    member = login(world.users["group_member"])
    outsider.post(_path(world, "open", ISSUE + "/solutions"), data={"text": "Vorschlag"})
    outsider.post(_path(world, "open", SOLUTION + "/endorse"))
    outsider.post(_path(world, "secret", SOLUTION + "/endorse"))
    member.post(_path(world, "open", ISSUE + "/status"), data={"status": "closed"})
    member.post(
        _path(world, "open", SOLUTION + "/status"),
        data={f"solution-{world.solutions['open']}-status": "adopted"},
    )
    assert (_count(app, IssueEvent), _count(app, Solution), _count(app, Endorsement)) == before
    assert _issue(app, world.problems["open"]).status is ProblemStatus.OPEN
    assert _solution(app, world.solutions["open"]).status is SolutionStatus.PROPOSED


# --- the group page partial -------------------------------------------------------------------


def _render_partial(app, user, group) -> str:
    with app.test_request_context(headers=EN):
        if user is not None:
            login_user(user)
        return render_template("groups/_problems.html", group=group)


@pytest.mark.parametrize("role", ["visitor", "member", "moderator"])
def test_partial_shows_outsiders_nothing_of_a_confidential_group(app, world, role):
    user = None if role == "visitor" else world.users[role]
    html = _render_partial(app, user, world.groups["secret"])
    assert html.strip() == ""


@pytest.mark.parametrize("role", ["group_member", "lead", "admin"])
def test_partial_shows_members_counts_and_top_problems(app, world, role):
    group = world.groups["secret"]
    _add_problem(
        app, group.id, world.users["lead"].id, title="Erledigt", status=ProblemStatus.CLOSED
    )
    html = _render_partial(app, world.users[role], group)
    assert 'id="group-problems"' in html
    assert re.search(
        r'id="group-problem-count-open">\s*<span class="stat-number" data-count="1"', html
    )
    assert re.search(
        r'id="group-problem-count-closed">\s*<span class="stat-number" data-count="1"', html
    )
    assert "Problem secret" in html and "Erledigt" not in html
    assert f"/groups/{group.slug}/issues" in html
    assert 'id="group-problems-new"' in html


def test_partial_on_an_open_group_for_a_plain_member_has_no_log_link(app, world):
    html = _render_partial(app, world.users["member"], world.groups["open"])
    assert "Problem open" in html
    assert 'id="group-problems-new"' not in html


# --- logging and editing problems -------------------------------------------------------------


def test_member_logs_a_problem_with_a_created_event_and_audit(app, login, world):
    group = world.groups["secret"]
    response = login(world.users["group_member"]).post(
        f"/groups/{group.slug}/issues/new",
        data={
            "title": "  Keine Schulplätze  ",
            "description": "Für 16–17-Jährige",
            "priority": "urgent",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        issue = db.session.scalar(
            sa.select(GroupIssue).where(GroupIssue.title == "Keine Schulplätze")
        )
        assert issue.group_id == group.id
        assert issue.priority is Priority.URGENT
        assert issue.status is ProblemStatus.OPEN
        assert issue.reporter_id == world.users["group_member"].id
        assert response.headers["Location"] == f"/groups/{group.slug}/issues/{issue.id}"
        event = db.session.scalar(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id))
        assert event.kind is IssueEventKind.CREATED
        assert event.actor_id == world.users["group_member"].id
        assert (
            db.session.scalar(
                sa.select(AuditEvent.action).where(
                    AuditEvent.object_type == "group_issue", AuditEvent.object_id == issue.id
                )
            )
            == "group_issue.created"
        )


def test_double_submit_of_a_new_problem_creates_one(app, login, world):
    client = login(world.users["group_member"])
    path = f"/groups/{world.groups['open'].slug}/issues/new"
    data = {"title": "Doppelt", "description": "Gleich", "priority": "normal"}
    first = client.post(path, data=data)
    second = client.post(path, data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, GroupIssue, GroupIssue.title == "Doppelt") == 1


def test_reporter_edits_own_problem(app, login, world):
    group = world.groups["open"]
    issue_id = _add_problem(app, group.id, world.users["group_member"].id, title="Alt")
    client = login(world.users["group_member"])
    page = client.get(f"/groups/{group.slug}/issues/{issue_id}").get_data(as_text=True)
    assert 'id="problem-edit"' in page
    response = client.post(
        f"/groups/{group.slug}/issues/{issue_id}/edit",
        data={"title": "Neu", "description": "Mehr dazu", "priority": "high"},
    )
    assert response.status_code == 303
    issue = _issue(app, issue_id)
    assert (issue.title, issue.description, issue.priority) == ("Neu", "Mehr dazu", Priority.HIGH)


def test_reporter_who_left_the_group_may_not_edit(app, login, world):
    group = world.groups["open"]
    issue_id = _add_problem(app, group.id, world.users["group_member"].id, title="Alt")
    with app.app_context():
        db.session.execute(
            sa.delete(GroupMembership).where(
                GroupMembership.user_id == world.users["group_member"].id,
                GroupMembership.group_id == group.id,
            )
        )
        db.session.commit()
    response = login(world.users["group_member"]).post(
        f"/groups/{group.slug}/issues/{issue_id}/edit", data={"title": "Neu", "priority": "low"}
    )
    assert response.status_code == 403
    assert _issue(app, issue_id).title == "Alt"


def test_edit_form_is_prefilled(login, world):
    page = (
        login(world.users["lead"])
        .get(_path(world, "open", ISSUE + "/edit"), headers=EN)
        .get_data(as_text=True)
    )
    assert 'value="Problem open"' in page
    assert '<option selected value="normal">' in page


@pytest.mark.parametrize("path", ["/groups/{slug}/issues/new", ISSUE + "/edit", ISSUE])
def test_forms_show_the_anonymised_reminder(login, world, path):
    page = login(world.users["lead"]).get(_path(world, "open", path)).get_data(as_text=True)
    assert 'class="privacy-reminder"' in page


def test_problem_page_reminds_before_solution_and_outcome_fields(login, world):
    page = login(world.users["lead"]).get(_path(world, "open", ISSUE)).get_data(as_text=True)
    solution_form = page.split('id="solution-form"', 1)[1].split("</form>", 1)[0]
    status_form = page.split(f'id="solution-status-form-{world.solutions["open"]}"', 1)[1]
    status_form = status_form.split("</form>", 1)[0]
    assert 'class="privacy-reminder"' in solution_form
    assert 'class="privacy-reminder"' in status_form


# --- statuses ----------------------------------------------------------------------------------


def _set_status(client, world, key, status):
    return client.post(_path(world, key, ISSUE + "/status"), data={"status": status})


def test_lead_moves_a_problem_through_its_statuses(app, login, world):
    lead = login(world.users["lead"])
    issue_id = world.problems["secret"]
    for status in ("in_progress", "resolved", "open", "closed", "open"):
        assert _set_status(lead, world, "secret", status).status_code == 303
        assert _issue(app, issue_id).status == status
    changes = [e for e in _events(app, issue_id) if e.kind is IssueEventKind.STATUS_CHANGED]
    assert [e.detail for e in changes] == ["in_progress", "resolved", "open", "closed", "open"]
    assert {e.actor_id for e in changes} == {world.users["lead"].id}
    with app.app_context():
        audit = db.session.scalars(
            sa.select(AuditEvent.detail)
            .where(
                AuditEvent.object_type == "group_issue",
                AuditEvent.object_id == issue_id,
                AuditEvent.action == "group_issue.status_changed",
            )
            .order_by(AuditEvent.id)
        ).all()
    assert audit == ["in_progress", "resolved", "open", "closed", "open"]


def test_a_closed_problem_must_be_reopened_first(app, login, world):
    lead = login(world.users["lead"])
    _set_status(lead, world, "open", "resolved")
    before = _kinds(app, world.problems["open"])
    for status in ("closed", "in_progress"):
        response = _set_status(lead, world, "open", status)
        assert response.status_code == 303
        assert _issue(app, world.problems["open"]).status is ProblemStatus.RESOLVED
    assert _kinds(app, world.problems["open"]) == before


def test_the_same_status_again_records_nothing(app, login, world):
    lead = login(world.users["lead"])
    _set_status(lead, world, "open", "in_progress")
    _set_status(lead, world, "open", "in_progress")
    assert _kinds(app, world.problems["open"]).count(IssueEventKind.STATUS_CHANGED) == 1


@pytest.mark.parametrize("value", ["", "bogus", "OPEN", NUL, HUGE])
def test_wrong_status_values_are_refused(app, login, world, value):
    response = _set_status(login(world.users["lead"]), world, "open", value)
    assert response.status_code == 400
    assert _kinds(app, world.problems["open"]) == [IssueEventKind.CREATED]


def test_lead_page_offers_only_possible_status_changes(login, world):
    page = login(world.users["lead"]).get(_path(world, "open", ISSUE)).get_data(as_text=True)
    assert "status-to-in_progress" in page and "status-to-closed" in page
    assert "status-to-open" not in page
    member_page = login(world.users["group_member"]).get(_path(world, "open", ISSUE))
    assert "status-to-" not in member_page.get_data(as_text=True)


# --- solutions and endorsements ----------------------------------------------------------------


def test_member_proposes_a_solution(app, login, world):
    client = login(world.users["group_member"])
    response = client.post(_path(world, "secret", ISSUE + "/solutions"), data={"text": "Lotsen"})
    assert response.status_code == 303
    with app.app_context():
        solution = db.session.scalar(sa.select(Solution).where(Solution.text == "Lotsen"))
        assert solution.issue_id == world.problems["secret"]
        assert solution.status is SolutionStatus.PROPOSED
        assert solution.proposer_id == world.users["group_member"].id
    assert response.headers["Location"].endswith(f"#solution-{solution.id}")
    event = _events(app, world.problems["secret"])[-1]
    assert (event.kind, event.solution_id) == (IssueEventKind.SOLUTION_PROPOSED, solution.id)


def test_double_submit_of_a_solution_creates_one(app, login, world):
    client = login(world.users["group_member"])
    for _ in range(2):
        client.post(_path(world, "open", ISSUE + "/solutions"), data={"text": "Zweimal"})
    assert _count(app, Solution, Solution.text == "Zweimal") == 1


def test_endorse_once_and_withdraw(app, login, world):
    client = login(world.users["group_member"])
    solution_id = world.solutions["open"]
    for _ in range(3):
        assert client.post(_path(world, "open", SOLUTION + "/endorse")).status_code == 303
    assert _count(app, Endorsement, Endorsement.solution_id == solution_id) == 1
    page = client.get(_path(world, "open", ISSUE)).get_data(as_text=True)
    assert f'id="endorsements-{solution_id}" data-count="1"' in page
    assert f'id="endorsed-{solution_id}"' in page
    for _ in range(2):
        assert client.post(_path(world, "open", SOLUTION + "/withdraw")).status_code == 303
    assert _count(app, Endorsement, Endorsement.solution_id == solution_id) == 0
    kinds = _kinds(app, world.problems["open"])
    assert kinds.count(IssueEventKind.ENDORSED) == 1
    assert kinds.count(IssueEventKind.ENDORSEMENT_WITHDRAWN) == 1
    page = client.get(_path(world, "open", ISSUE)).get_data(as_text=True)
    assert f'id="endorsements-{solution_id}" data-count="0"' in page
    assert f'id="endorsed-{solution_id}"' not in page


def test_endorsements_of_several_members_are_counted(app, login, world):
    for role in ("group_member", "lead", "admin"):
        login(world.users[role]).post(_path(world, "open", SOLUTION + "/endorse"))
    page = login(world.users["member"]).get(_path(world, "open", ISSUE)).get_data(as_text=True)
    assert f'id="endorsements-{world.solutions["open"]}" data-count="3"' in page
    assert "endorse-button" not in page  # a non-member may read but not endorse


def test_endorse_service_ignores_a_unique_violation(app, world):
    """A concurrent insert that wins the race makes the second one a no-op, not an error."""
    with app.test_request_context():
        solution = db.session.get(Solution, world.solutions["open"])
        user = db.session.get(User, world.users["group_member"].id)
        db.session.add(Endorsement(solution_id=solution.id, user_id=user.id))
        db.session.flush()
        original = db.session.scalar

        def pretend_missing(statement, *args, **kwargs):
            if "endorsement" in str(statement):
                return None
            return original(statement, *args, **kwargs)

        db.session.scalar = pretend_missing
        try:
            assert services.endorse(solution, user=user) is False
        finally:
            del db.session.scalar
        db.session.commit()
    assert _count(app, Endorsement, Endorsement.solution_id == world.solutions["open"]) == 1
    assert IssueEventKind.ENDORSED not in _kinds(app, world.problems["open"])


def test_lead_moves_a_solution_with_an_outcome_note(app, login, world):
    lead = login(world.users["lead"])
    solution_id = world.solutions["secret"]
    path = _path(world, "secret", SOLUTION + "/status")
    prefix = f"solution-{solution_id}-"
    for status, note in (("trial", "Läuft seit März"), ("adopted", "Hat geholfen")):
        response = lead.post(path, data={prefix + "status": status, prefix + "outcome_note": note})
        assert response.status_code == 303
        solution = _solution(app, solution_id)
        assert (solution.status, solution.outcome_note) == (status, note)
    changes = [
        e
        for e in _events(app, world.problems["secret"])
        if e.kind is IssueEventKind.SOLUTION_STATUS_CHANGED
    ]
    assert [(e.detail, e.solution_id) for e in changes] == [
        ("trial", solution_id),
        ("adopted", solution_id),
    ]
    assert (
        _count(
            app,
            AuditEvent,
            AuditEvent.object_type == "solution",
            AuditEvent.object_id == solution_id,
            AuditEvent.action == "solution.status_changed",
        )
        == 2
    )


def test_an_adopted_solution_goes_back_to_proposed_before_rejection(app, login, world):
    lead = login(world.users["lead"])
    solution_id = world.solutions["open"]
    path = _path(world, "open", SOLUTION + "/status")
    key = f"solution-{solution_id}-status"
    lead.post(path, data={key: "adopted"})
    response = lead.post(path, data={key: "rejected"})
    assert response.status_code == 200  # shown again with the error beside the field
    assert _solution(app, solution_id).status is SolutionStatus.ADOPTED
    assert lead.post(path, data={key: "proposed"}).status_code == 303
    assert lead.post(path, data={key: "rejected"}).status_code == 303
    assert _solution(app, solution_id).status is SolutionStatus.REJECTED


def test_outcome_note_alone_can_be_updated_without_a_timeline_entry(app, login, world):
    lead = login(world.users["lead"])
    solution_id = world.solutions["open"]
    prefix = f"solution-{solution_id}-"
    response = lead.post(
        _path(world, "open", SOLUTION + "/status"),
        data={prefix + "status": "proposed", prefix + "outcome_note": "Noch offen"},
    )
    assert response.status_code == 303
    assert _solution(app, solution_id).outcome_note == "Noch offen"
    assert IssueEventKind.SOLUTION_STATUS_CHANGED not in _kinds(app, world.problems["open"])


def test_service_refuses_a_transition_the_workflow_does_not_allow(app, world):
    with app.app_context():
        solution = db.session.get(Solution, world.solutions["open"])
        solution.status = SolutionStatus.REJECTED
        db.session.flush()
        lead = db.session.get(User, world.users["lead"].id)
        with pytest.raises(services.TransitionNotAllowed):
            services.change_solution_status(
                solution, SolutionStatus.TRIAL, outcome_note="", actor=lead
            )
        issue = db.session.get(GroupIssue, world.problems["open"])
        issue.status = ProblemStatus.CLOSED
        db.session.flush()
        with pytest.raises(services.TransitionNotAllowed):
            services.change_status(issue, ProblemStatus.RESOLVED, actor=lead)
        db.session.rollback()


# --- concurrency (real commits) ----------------------------------------------------------------


def _run_together(functions):
    """Start all functions at the same moment in threads; return their results."""
    barrier = threading.Barrier(len(functions))
    results = [0] * len(functions)
    errors = []

    def run(index, function):
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_concurrent_endorsements_of_one_member_count_once(committing_app):
    app = committing_app
    with app.app_context():
        member = User(email="racer@example.org", name="Racer", password_hash="x", role=Role.MEMBER)
        group = WorkingGroup(name="AG Rennen", slug="ag-rennen")
        db.session.add_all([member, group])
        db.session.flush()
        db.session.add(GroupMembership(group_id=group.id, user_id=member.id))
        issue = GroupIssue(group_id=group.id, title="Wettlauf", reporter_id=member.id)
        db.session.add(issue)
        db.session.flush()
        solution = Solution(issue_id=issue.id, text="Einmal", proposer_id=member.id)
        db.session.add(solution)
        db.session.commit()
        path = f"/groups/{group.slug}/issues/{issue.id}/solutions/{solution.id}/endorse"
        issue_id, solution_id = issue.id, solution.id
        db.session.refresh(member)
        db.session.expunge(member)
    clients = [log_in(app, app.test_client(), member) for _ in range(6)]
    statuses = _run_together([lambda c=c: c.post(path).status_code for c in clients])
    assert set(statuses) == {303}
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Endorsement.id)).where(
                    Endorsement.solution_id == solution_id
                )
            )
            == 1
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count(IssueEvent.id)).where(
                    IssueEvent.issue_id == issue_id, IssueEvent.kind == IssueEventKind.ENDORSED
                )
            )
            == 1
        )


# --- the timeline ------------------------------------------------------------------------------


def _timeline_kinds(page: str) -> list[str]:
    section = page.split('id="timeline"', 1)[1]
    return re.findall(r'class="timeline-entry [^"]*" data-kind="([a-z_]+)"', section)


def test_timeline_merges_everything_in_order_and_hides_invisible_meetings(
    app, login, world, make_group, make_meeting
):
    group = world.groups["open"]
    lead = login(world.users["lead"])
    member = login(world.users["group_member"])
    response = member.post(
        f"/groups/{group.slug}/issues/new",
        data={"title": "Vormundschaft dauert", "description": "", "priority": "high"},
    )
    issue_id = int(response.headers["Location"].rsplit("/", 1)[1])
    base = f"/groups/{group.slug}/issues/{issue_id}"
    lead.post(base + "/status", data={"status": "in_progress"})
    response = member.post(base + "/solutions", data={"text": "Sammelanträge stellen"})
    with app.app_context():
        solution_id = db.session.scalar(sa.select(Solution.id).where(Solution.issue_id == issue_id))
    lead.post(f"{base}/solutions/{solution_id}/endorse")
    lead.post(f"{base}/solutions/{solution_id}/withdraw")
    lead.post(
        f"{base}/solutions/{solution_id}/status",
        data={f"solution-{solution_id}-status": "trial"},
    )
    visible = make_meeting(title="AG-Treffen im März", group_id=group.id)
    secret_group = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    hidden = make_meeting(
        title="Geheimes Treffen", group_id=secret_group.id, visibility=Visibility.GROUP
    )
    with app.app_context():
        action = Action(group_id=group.id, title="Jugendamt anrufen", issue_id=issue_id)
        db.session.add(action)
        db.session.flush()
        db.session.add(
            IssueEvent(
                issue_id=issue_id,
                kind=IssueEventKind.ACTION_CREATED,
                action_id=action.id,
                actor_id=world.users["lead"].id,
                created_at=utcnow() + timedelta(seconds=1),
            )
        )
        for meeting in (visible, hidden):
            db.session.add(AgendaItem(meeting_id=meeting.id, title="TOP", problem_id=issue_id))
            # What the agenda integration records when it puts the problem on an agenda.
            db.session.add(
                IssueEvent(
                    issue_id=issue_id,
                    kind=IssueEventKind.ON_AGENDA,
                    meeting_id=meeting.id,
                    actor_id=world.users["lead"].id,
                )
            )
        db.session.commit()

    page = login(world.users["member"]).get(base, headers=EN).get_data(as_text=True)
    assert _timeline_kinds(page) == [
        "created",
        "status_changed",
        "solution_proposed",
        "endorsed",
        "endorsement_withdrawn",
        "solution_status_changed",
        "action_created",
        "on_agenda",  # the meeting next week, once, at its own time
    ]
    timeline = page.split('id="timeline"', 1)[1]
    assert "Gus Groupmember" in timeline and "Lea Lead" in timeline
    assert "Jugendamt anrufen" in timeline
    assert "AG-Treffen im März" in timeline
    assert f'href="/meetings/{visible.id}"' in timeline
    assert "Geheimes Treffen" not in page
    assert f"/meetings/{hidden.id}" not in page
    assert f'href="#solution-{solution_id}"' in timeline


def test_timeline_entries_show_local_time(app, login, world):
    with app.app_context():
        event = db.session.scalar(
            sa.select(IssueEvent).where(IssueEvent.issue_id == world.problems["open"])
        )
        # 16:30 UTC on 1 July is 18:30 in Leipzig (summer time).
        event.created_at = datetime(2025, 7, 1, 16, 30, tzinfo=UTC)
        db.session.commit()
    page = login(world.users["member"]).get(_path(world, "open", ISSUE), headers=EN)
    timeline = page.get_data(as_text=True).split('id="timeline"', 1)[1]
    shown = re.search(r'<time datetime="2025-07-01T16:30:00\+00:00">([^<]*)</time>', timeline)
    assert shown is not None
    assert "6:30" in shown.group(1) and "PM" in shown.group(1)
    assert "4:30" not in shown.group(1)


def test_timeline_admin_sees_meetings_of_a_confidential_group(app, login, world, make_meeting):
    group = world.groups["secret"]
    meeting = make_meeting(
        title="Internes AG-Treffen", group_id=group.id, visibility=Visibility.GROUP
    )
    with app.app_context():
        db.session.add(
            AgendaItem(meeting_id=meeting.id, title="TOP", problem_id=world.problems["secret"])
        )
        db.session.commit()
    for role in ("admin", "group_member"):
        page = login(world.users[role]).get(_path(world, "secret", ISSUE)).get_data(as_text=True)
        assert "Internes AG-Treffen" in page


def test_record_event_marks_the_problem_as_changed(app, world):
    with app.app_context():
        issue = db.session.get(GroupIssue, world.problems["open"])
        issue.updated_at = utcnow() - timedelta(days=30)
        db.session.flush()
        event = services.record_event(
            issue, IssueEventKind.ACTION_DONE, actor=None, detail=SolutionStatus.TRIAL
        )
        assert event.detail == "trial" and event.id is not None
        assert issue.updated_at > utcnow() - timedelta(minutes=1)
        db.session.rollback()


# --- sanitised Markdown ------------------------------------------------------------------------

EVIL = "<script>alert(1)</script>\n\n[klick](javascript:alert(1)) <img src=x onerror=alert(1)>"


def test_markdown_is_sanitised_everywhere(app, login, world):
    lead = login(world.users["lead"])
    group = world.groups["open"]
    response = lead.post(
        f"/groups/{group.slug}/issues/new",
        data={"title": "<script>alert(1)</script>", "description": EVIL, "priority": "normal"},
    )
    issue_path = response.headers["Location"]
    lead.post(issue_path + "/solutions", data={"text": EVIL})
    with app.app_context():
        solution_id = db.session.scalar(sa.select(Solution.id).where(Solution.text == EVIL))
    lead.post(
        f"{issue_path}/solutions/{solution_id}/status",
        data={
            f"solution-{solution_id}-status": "trial",
            f"solution-{solution_id}-outcome_note": EVIL,
        },
    )
    page = lead.get(issue_path).get_data(as_text=True)
    assert "<script>alert" not in page
    assert not re.search(r"href=[\"']?\s*javascript:", page, re.IGNORECASE)
    assert "<img" not in page
    # Description, solution and outcome: left as text, not a link.
    assert page.count("<p>[klick](javascript:alert(1))") == 3
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the title, escaped
    listing = lead.get(f"/groups/{group.slug}/issues").get_data(as_text=True)
    assert "<script>alert" not in listing


# --- the list: filters, sorting, counts, queries -----------------------------------------------


@pytest.fixture
def listed(app, world):
    """Problems of the open group with different priorities, statuses and ages."""
    group_id = world.groups["open"].id
    lead_id = world.users["lead"].id
    now = utcnow()
    specs = {
        "low_old": (Priority.LOW, ProblemStatus.OPEN, 50, 1),
        "urgent_new": (Priority.URGENT, ProblemStatus.IN_PROGRESS, 2, 40),
        "high_mid": (Priority.HIGH, ProblemStatus.OPEN, 20, 3),
        "resolved": (Priority.URGENT, ProblemStatus.RESOLVED, 30, 30),
        "closed": (Priority.NORMAL, ProblemStatus.CLOSED, 40, 10),
    }
    ids = {}
    for name, (priority, status, age, changed) in specs.items():
        ids[name] = _add_problem(
            app,
            group_id,
            lead_id,
            title=f"P-{name}",
            priority=priority,
            status=status,
            created_at=now - timedelta(days=age),
            updated_at=now - timedelta(days=changed),
        )
    # The fixture's own problem: normal, open, just created and changed.
    ids["fixture"] = world.problems["open"]
    return ids


def _row_order(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'id="problem-row-(\d+)"', page)]


def _list(client, world, query=""):
    return client.get(f"/groups/{world.groups['open'].slug}/issues{query}").get_data(as_text=True)


def test_list_defaults_to_active_problems_by_priority(login, world, listed):
    page = _list(login(world.users["member"]), world)
    assert _row_order(page) == [
        listed["urgent_new"],
        listed["high_mid"],
        listed["fixture"],
        listed["low_old"],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=resolved", ["resolved"]),
        ("?status=closed", ["closed"]),
        ("?status=open&priority=high", ["high_mid"]),
        ("?status=all&priority=urgent", ["resolved", "urgent_new"]),
        ("?sort=oldest", ["low_old", "high_mid", "urgent_new", "fixture"]),
        ("?sort=newest", ["fixture", "urgent_new", "high_mid", "low_old"]),
        ("?sort=updated", ["fixture", "low_old", "high_mid", "urgent_new"]),
        (
            "?status=all&sort=oldest",
            ["low_old", "closed", "resolved", "high_mid", "urgent_new", "fixture"],
        ),
    ],
)
def test_list_filters_and_sorts(login, world, listed, query, expected):
    page = _list(login(world.users["member"]), world, query)
    assert _row_order(page) == [listed[name] for name in expected]


@pytest.mark.parametrize(
    "query",
    [
        "?status=bogus",
        "?priority=bogus",
        "?sort=bogus",
        "?sort=priority;drop table",
        "?page=abc",
        "?page=-3",
        "?page=99999999999999999999",
        "?status=" + "x" * 5000,
        "?status=Open&priority=URGENT",
    ],
)
def test_unknown_list_parameters_are_ignored(login, world, listed, query):
    response = login(world.users["member"]).get(
        f"/groups/{world.groups['open'].slug}/issues{query}"
    )
    assert response.status_code == 200
    if "page" not in query:
        assert _row_order(response.get_data(as_text=True))[0] == listed["urgent_new"]


def test_list_shows_counts_per_status_and_solution_counts(login, world, listed):
    page = _list(login(world.users["member"]), world)
    for status, count in (("open", 3), ("in_progress", 1), ("resolved", 1), ("closed", 1)):
        assert re.search(
            rf'id="problem-count-{status}">\s*<span class="stat-number" data-count="{count}"', page
        ), status
    row = page.split(f'id="problem-row-{listed["fixture"]}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="problem-solutions" data-count="1"' in row


def test_list_paginates(app, login, world):
    group_id = world.groups["open"].id
    for number in range(30):
        _add_problem(app, group_id, world.users["lead"].id, title=f"Nr {number}")
    client = login(world.users["member"])
    first = _row_order(_list(client, world))
    second = _row_order(_list(client, world, "?page=2"))
    assert len(first) == 25 and len(second) == 6
    assert not set(first) & set(second)


def _count_queries(app, client, path) -> int:
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engines[None]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def _add_many(app, world, problems, solutions_each):
    group_id = world.groups["open"].id
    users = [world.users[role].id for role in ("lead", "group_member", "admin")]
    for number in range(problems):
        issue_id = _add_problem(
            app,
            group_id,
            users[number % 3],
            title=f"Viele {number}",
            priority=list(Priority)[number % 4],
        )
        for _ in range(solutions_each):
            _add_solution(app, issue_id, users[(number + 1) % 3])


@pytest.mark.parametrize("status", ["active", "all"])
def test_list_uses_a_constant_number_of_queries(app, login, world, status):
    client = login(world.users["member"])
    path = f"/groups/{world.groups['open'].slug}/issues?status={status}"
    _add_many(app, world, 3, 2)
    few = _count_queries(app, client, path)
    _add_many(app, world, 27, 2)
    many = _count_queries(app, client, path)
    assert few == many


def test_problem_page_uses_a_constant_number_of_queries(app, login, world):
    client = login(world.users["member"])
    issue_id = world.problems["open"]
    path = _path(world, "open", ISSUE)
    users = [world.users[role].id for role in ("lead", "group_member", "admin")]

    def add_trail(count):
        with app.app_context():
            for number in range(count):
                solution = Solution(
                    issue_id=issue_id, text=f"S{number}", proposer_id=users[number % 3]
                )
                db.session.add(solution)
                db.session.flush()
                db.session.add(
                    Endorsement(solution_id=solution.id, user_id=users[(number + 1) % 3])
                )
                for kind in (IssueEventKind.SOLUTION_PROPOSED, IssueEventKind.ENDORSED):
                    db.session.add(
                        IssueEvent(
                            issue_id=issue_id,
                            kind=kind,
                            solution_id=solution.id,
                            actor_id=users[number % 3],
                        )
                    )
                action = Action(
                    group_id=world.groups["open"].id, title=f"A{number}", issue_id=issue_id
                )
                db.session.add(action)
                db.session.flush()
                db.session.add(
                    IssueEvent(
                        issue_id=issue_id,
                        kind=IssueEventKind.ACTION_CREATED,
                        action_id=action.id,
                        actor_id=users[number % 3],
                    )
                )
                meeting = Meeting(
                    title=f"M{number}",
                    starts_at=utcnow() + timedelta(days=number + 1),
                    ends_at=utcnow() + timedelta(days=number + 1, hours=2),
                )
                db.session.add(meeting)
                db.session.flush()
                db.session.add(AgendaItem(meeting_id=meeting.id, title="TOP", problem_id=issue_id))
            db.session.commit()

    add_trail(2)
    few = _count_queries(app, client, path)
    add_trail(20)
    many = _count_queries(app, client, path)
    assert few == many


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": "", "priority": "normal"},
        {"title": "   ", "priority": "normal"},
        {"title": "x" * 201, "priority": "normal"},
        {"title": HUGE, "priority": "normal"},
        {"title": NUL, "priority": "normal"},
        {"title": "Gut", "description": NUL, "priority": "normal"},
        {"title": "Gut", "description": HUGE, "priority": "normal"},
        {"title": "Gut", "priority": "bogus"},
        {"title": "Gut", "priority": ""},
        {"title": "Gut", "priority": NUL},
    ],
)
def test_bad_problem_input_is_answered_beside_the_fields(app, login, world, data):
    before = _count(app, GroupIssue), _count(app, IssueEvent), _count(app, AuditEvent)
    group = world.groups["open"]
    client = login(world.users["lead"])
    response = client.post(f"/groups/{group.slug}/issues/new", data=data)
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    response = client.post(_path(world, "open", ISSUE + "/edit"), data=data)
    assert response.status_code == 200
    assert (_count(app, GroupIssue), _count(app, IssueEvent), _count(app, AuditEvent)) == before
    assert _issue(app, world.problems["open"]).title == "Problem open"


def test_unicode_problem_is_kept(app, login, world):
    title = "Ärger mit Ämtern – 🏠 ＆ ünïcödé"
    response = login(world.users["lead"]).post(
        f"/groups/{world.groups['open'].slug}/issues/new",
        data={"title": title, "description": "Straße", "priority": "low"},
    )
    assert response.status_code == 303
    assert _count(app, GroupIssue, GroupIssue.title == title) == 1


@pytest.mark.parametrize("text", ["", "   ", HUGE, NUL])
def test_bad_solution_text_is_refused(app, login, world, text):
    before = _count(app, Solution), _count(app, IssueEvent)
    response = login(world.users["group_member"]).post(
        _path(world, "open", ISSUE + "/solutions"), data={"text": text}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="solution-form"' in page and 'class="errors"' in page
    assert (_count(app, Solution), _count(app, IssueEvent)) == before


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "bogus"},
        {"status": ""},
        {"status": NUL},
        {"status": "trial", "outcome_note": HUGE},
        {"status": "trial", "outcome_note": NUL},
    ],
)
def test_bad_solution_status_input_changes_nothing(app, login, world, fields):
    solution_id = world.solutions["open"]
    before = _count(app, IssueEvent), _count(app, AuditEvent)
    data = {f"solution-{solution_id}-{name}": value for name, value in fields.items()}
    response = login(world.users["lead"]).post(
        _path(world, "open", SOLUTION + "/status"), data=data
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'<details class="solution-status-change" open>\s*<summary>', page)
    solution = _solution(app, solution_id)
    assert (solution.status, solution.outcome_note) == (SolutionStatus.PROPOSED, "")
    assert (_count(app, IssueEvent), _count(app, AuditEvent)) == before


@pytest.mark.parametrize(
    "template",
    [
        "/groups/{slug}/issues/{other_issue}",
        "/groups/{slug}/issues/{other_issue}/edit",
        "/groups/{slug}/issues/99999999999999999999",
        "/groups/{slug}/issues/2147483647",
        "/groups/{slug}/issues/-1",
        "/groups/{slug}/issues/abc",
        "/groups/nope/issues",
        "/groups/nope/issues/{issue}",
    ],
)
def test_foreign_and_unknown_ids_answer_404_on_pages(login, world, template):
    path = template.format(
        slug=world.groups["open"].slug,
        issue=world.problems["open"],
        other_issue=world.problems["secret"],
    )
    assert login(world.users["admin"]).get(path).status_code == 404


@pytest.mark.parametrize(
    ("template", "data"),
    [
        ("{base}/{other_issue}/status", {"status": "closed"}),
        ("{base}/{other_issue}/solutions", {"text": "Fremd"}),
        ("{base}/{other_issue}/edit", {"title": "Fremd", "priority": "low"}),
        ("{base}/{issue}/solutions/{other_solution}/endorse", {}),
        ("{base}/{issue}/solutions/{other_solution}/withdraw", {}),
        ("{base}/{issue}/solutions/{other_solution}/status", {"status": "trial"}),
        ("{base}/{issue}/solutions/99999999999999999999/endorse", {}),
        ("{base}/{issue}/solutions/2147483647/endorse", {}),
        ("{base}/2147483647/status", {"status": "closed"}),
    ],
)
def test_foreign_and_unknown_ids_answer_404_on_changes(app, login, world, template, data):
    before = (
        _count(app, IssueEvent),
        _count(app, Solution),
        _count(app, Endorsement),
        _count(app, AuditEvent),
    )
    path = template.format(
        base=f"/groups/{world.groups['open'].slug}/issues",
        issue=world.problems["open"],
        other_issue=world.problems["secret"],
        other_solution=world.solutions["secret"],
    )
    # The admin may act in both groups: only the mismatch of ids can make these fail.
    assert login(world.users["admin"]).post(path, data=data).status_code == 404
    after = (
        _count(app, IssueEvent),
        _count(app, Solution),
        _count(app, Endorsement),
        _count(app, AuditEvent),
    )
    assert after == before
    assert _issue(app, world.problems["secret"]).status is ProblemStatus.OPEN


def test_empty_posts_change_nothing(app, login, world):
    before = _count(app, IssueEvent), _count(app, AuditEvent), _count(app, Solution)
    client = login(world.users["lead"])
    for path in (ISSUE + "/status", ISSUE + "/solutions", SOLUTION + "/status"):
        assert client.post(_path(world, "open", path)).status_code in (200, 303, 400)
    assert (_count(app, IssueEvent), _count(app, AuditEvent), _count(app, Solution)) == before


def test_get_on_post_only_routes_is_405(login, world):
    client = login(world.users["lead"])
    for path in (
        ISSUE + "/status",
        ISSUE + "/solutions",
        SOLUTION + "/endorse",
        SOLUTION + "/status",
    ):
        assert client.get(_path(world, "open", path)).status_code == 405


# --- services for other features ---------------------------------------------------------------


def test_open_problems_are_active_ones_most_pressing_first(app, world, listed):
    with app.app_context():
        group = db.session.get(WorkingGroup, world.groups["open"].id)
        ids = [issue.id for issue in services.open_problems(group)]
        query_ids = set(
            db.session.scalars(
                services.problems_query(group, [ProblemStatus.RESOLVED]).with_only_columns(
                    GroupIssue.id
                )
            )
        )
    assert ids == [listed["urgent_new"], listed["high_mid"], listed["fixture"], listed["low_old"]]
    assert query_ids == {listed["resolved"]}


def test_get_issue_refuses_a_problem_of_another_group(app, world):
    with app.app_context():
        group = db.session.get(WorkingGroup, world.groups["open"].id)
        assert services.get_issue(group, world.problems["secret"]) is None
        assert services.get_issue(group, world.problems["open"]).id == world.problems["open"]
