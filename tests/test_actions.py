"""Actions (Maßnahmen): who may see and change them, my actions, the group board, the partials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination import timeutil
from coordination.actions import services
from coordination.actions.models import Action, ActionStatus
from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, Role, User
from coordination.extensions import db
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    WorkingGroup,
)
from coordination.problems.models import (
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    Priority,
    ProblemStatus,
    Solution,
)

HUGE = "x" * 100_000
NUL = "abc\x00def"
EN = {"Accept-Language": "en"}
TODAY = date(2026, 3, 10)
ROLES = ("anonymous", "member", "group_member", "lead", "moderator", "admin")


@dataclass
class World:
    users: dict[str, User]
    groups: dict[str, WorkingGroup]


def build_world(make_user, make_group) -> World:
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
        "open": make_group(name="AG Wohnen", slug="ag-wohnen", members=members),
        "confidential": make_group(
            name="AG UMA",
            slug="ag-uma",
            members=members,
            confidentiality=Confidentiality.CONFIDENTIAL,
        ),
    }
    return World(users=users, groups=groups)


@pytest.fixture
def world(make_user, make_group) -> World:
    return build_world(make_user, make_group)


def freeze_today(monkeypatch) -> date:
    """Today is 10 March 2026 in the network's zone."""
    monkeypatch.setattr(timeutil, "local_today", lambda zone=None: TODAY)
    return TODAY


@pytest.fixture
def fixed_today(monkeypatch) -> date:
    return freeze_today(monkeypatch)


def client_for(app, login, world: World, role: str):
    return app.test_client() if role == "anonymous" else login(world.users[role])


def make_issue(app, group_id: int, title: str = "Lange Wartezeiten", **fields) -> int:
    fields.setdefault("status", ProblemStatus.OPEN)
    fields.setdefault("priority", Priority.NORMAL)
    with app.app_context():
        issue = GroupIssue(group_id=group_id, title=title, **fields)
        db.session.add(issue)
        db.session.commit()
        return issue.id


def make_solution(app, issue_id: int, text: str = "Patenschaften erproben") -> int:
    with app.app_context():
        solution = Solution(issue_id=issue_id, text=text)
        db.session.add(solution)
        db.session.commit()
        return solution.id


def make_action(app, group_id: int, owner_id: int | None, title: str = "Flyer drucken", **fields):
    fields.setdefault("created_by_id", owner_id)
    with app.app_context():
        action = Action(group_id=group_id, owner_id=owner_id, title=title, **fields)
        db.session.add(action)
        db.session.commit()
        return action.id


def snapshot(app) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Actions, timeline entries and audit events as they are in the database."""
    with app.app_context():
        actions = db.session.execute(
            sa.select(
                Action.id,
                Action.title,
                Action.notes,
                Action.owner_id,
                Action.due_date,
                Action.status,
                Action.completed_at,
                Action.issue_id,
                Action.solution_id,
            ).order_by(Action.id)
        )
        events = db.session.execute(
            sa.select(IssueEvent.issue_id, IssueEvent.kind, IssueEvent.action_id).order_by(
                IssueEvent.id
            )
        )
        audits = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_id).order_by(AuditEvent.id)
        )
        return (
            [tuple(row) for row in actions],
            [tuple(row) for row in events],
            [tuple(row) for row in audits],
        )


def get_action(app, action_id: int) -> Action:
    with app.app_context():
        action = db.session.get(Action, action_id)
        db.session.expunge(action)
        return action


def events_of(app, kind: IssueEventKind) -> list[IssueEvent]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(IssueEvent).where(IssueEvent.kind == kind)))
        for event in events:
            db.session.expunge(event)
        return events


def count_queries(app, client, path: str) -> int:
    statements: list[str] = []

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


def new_action_data(owner_id: int, **overrides) -> dict[str, str]:
    data = {
        "title": "Flyer für die Erstaufnahme drucken",
        "notes": "Auflage **200**",
        "owner": str(owner_id),
        "due_date": "2026-04-01",
        "issue": "",
    }
    data.update(overrides)
    return data


# --- role × route ---------------------------------------------------------------------------

READERS = {
    "open": {"member", "group_member", "lead", "moderator", "admin"},
    "confidential": {"group_member", "lead", "admin"},
}
CONTRIBUTORS = {"group_member", "lead", "admin"}
#: The action's owner is the group member; the lead leads; admins may do everything.
UPDATERS = {"group_member", "lead", "admin"}


def _expected(route_kind: str, group_key: str, role: str, method: str) -> int:
    if role == "anonymous":
        return 302
    ok = 200 if method == "GET" else 303
    if role not in READERS[group_key]:
        return 404
    if route_kind == "read":
        return ok
    allowed = CONTRIBUTORS if route_kind == "contribute" else UPDATERS
    return ok if role in allowed else 403


ROUTES = [
    ("read", "GET", "/actions/{a}", None),
    ("read", "GET", "/groups/{g}/actions", None),
    ("read", "GET", "/groups/{g}/actions?owner={o}", None),
    ("contribute", "GET", "/groups/{g}/actions/new", None),
    ("contribute", "GET", "/groups/{g}/actions/new?issue={i}", None),
    ("contribute", "POST", "/groups/{g}/actions/new", "new"),
    ("contribute", "POST", "/groups/{g}/actions/new?issue={i}&solution={s}", "new"),
    ("update", "POST", "/actions/{a}/status", {"status": "done"}),
    ("update", "POST", "/actions/{a}/status", {"status": "dropped"}),
    ("update", "GET", "/actions/{a}/edit", None),
    ("update", "POST", "/actions/{a}/edit", "edit"),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[1]} {r[2]} {r[3]}")
@pytest.mark.parametrize("group_key", ["open", "confidential"])
@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, login, world, role, group_key, route):
    route_kind, method, path, data = route
    group = world.groups[group_key]
    owner = world.users["group_member"]
    issue_id = make_issue(app, group.id)
    solution_id = make_solution(app, issue_id)
    action_id = make_action(app, group.id, owner.id, issue_id=issue_id)
    if data == "new":
        data = new_action_data(owner.id)
    elif data == "edit":
        data = new_action_data(owner.id, status="open", title="Geändert")
    before = snapshot(app)
    url = path.format(a=action_id, g=group.slug, i=issue_id, s=solution_id, o=owner.id)
    client = client_for(app, login, world, role)
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == _expected(route_kind, group_key, role, method)
    if role == "anonymous":
        assert "/auth/login" in response.headers["Location"]
    if response.status_code != 303:
        assert snapshot(app) == before


@pytest.mark.parametrize("role", ROLES)
def test_my_actions_page_needs_a_login_only(app, login, world, role):
    response = client_for(app, login, world, role).get("/actions/")
    assert response.status_code == (302 if role == "anonymous" else 200)


@pytest.mark.parametrize(
    "path",
    [
        "/actions/99999",
        "/actions/99999/edit",
        "/actions/99999999999999999999",
        "/actions/99999999999999999999/edit",
        "/actions/abc",
        "/groups/no-such-group/actions",
        "/groups/no-such-group/actions/new",
    ],
)
def test_unknown_ids_answer_404(login, world, path):
    assert login(world.users["admin"]).get(path).status_code == 404


@pytest.mark.parametrize("action_id", ["99999", "99999999999999999999"])
def test_status_of_unknown_actions_is_404(login, world, action_id):
    response = login(world.users["admin"]).post(
        f"/actions/{action_id}/status", data={"status": "done"}
    )
    assert response.status_code == 404


# --- creating -------------------------------------------------------------------------------


def test_member_creates_an_action_for_the_group(app, login, world):
    group = world.groups["open"]
    member = world.users["group_member"]
    response = login(member).post(
        f"/groups/{group.slug}/actions/new", data=new_action_data(member.id)
    )
    assert response.status_code == 303
    with app.app_context():
        action = db.session.scalar(sa.select(Action))
        assert action.title == "Flyer für die Erstaufnahme drucken"
        assert action.owner_id == member.id
        assert action.created_by_id == member.id
        assert action.due_date == date(2026, 4, 1)
        assert action.status is ActionStatus.OPEN
        assert action.issue_id is None
        assert response.headers["Location"].endswith(
            f"/groups/{group.slug}/actions#action-{action.id}"
        )
        audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "action"))
        assert audit.action == "action.created" and audit.object_id == action.id
    # No problem, no timeline entry.
    assert events_of(app, IssueEventKind.ACTION_CREATED) == []


def test_an_action_from_a_problem_is_on_its_timeline(app, login, world):
    group = world.groups["confidential"]
    member = world.users["group_member"]
    issue_id = make_issue(app, group.id)
    response = login(member).post(
        f"/groups/{group.slug}/actions/new?issue={issue_id}",
        data=new_action_data(world.users["lead"].id, issue=str(issue_id)),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/groups/{group.slug}/issues/{issue_id}#problem-actions"
    (event,) = events_of(app, IssueEventKind.ACTION_CREATED)
    with app.app_context():
        action = db.session.scalar(sa.select(Action))
        assert action.issue_id == issue_id and action.owner_id == world.users["lead"].id
    assert event.issue_id == issue_id and event.action_id == action.id
    assert event.actor_id == member.id


def test_an_action_from_a_solution_links_solution_and_problem(app, login, world):
    group = world.groups["open"]
    lead = world.users["lead"]
    issue_id = make_issue(app, group.id)
    solution_id = make_solution(app, issue_id)
    form = (
        login(lead).get(f"/groups/{group.slug}/actions/new?solution={solution_id}", headers=EN).text
    )
    assert f'<option selected value="{solution_id}">' in form or re.search(
        rf'<option[^>]*value="{solution_id}"[^>]*selected', form
    )
    response = login(lead).post(
        f"/groups/{group.slug}/actions/new?solution={solution_id}",
        data=new_action_data(lead.id, issue=str(issue_id), solution=str(solution_id)),
    )
    assert response.status_code == 303
    with app.app_context():
        action = db.session.scalar(sa.select(Action))
        assert (action.issue_id, action.solution_id) == (issue_id, solution_id)
    (event,) = events_of(app, IssueEventKind.ACTION_CREATED)
    assert event.solution_id == solution_id and event.action_id == action.id


def test_the_form_preselects_me_as_owner_and_the_problem(login, world, app):
    group = world.groups["open"]
    member = world.users["group_member"]
    issue_id = make_issue(app, group.id, title="Schulplätze fehlen")
    page = login(member).get(f"/groups/{group.slug}/actions/new?issue={issue_id}", headers=EN).text
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{member.id}"|<option[^>]*value="{member.id}"[^>]*selected',
        page,
    )
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{issue_id}"|<option[^>]*value="{issue_id}"[^>]*selected',
        page,
    )
    assert "Write anonymised." in page
    assert 'type="date"' in page


def test_an_admin_outside_the_group_must_choose_an_owner(app, login, world):
    group = world.groups["open"]
    page = login(world.users["admin"]).get(f"/groups/{group.slug}/actions/new", headers=EN).text
    assert "Choose a member" in page
    assert f'value="{world.users["admin"].id}"' not in page
    response = login(world.users["admin"]).post(
        f"/groups/{group.slug}/actions/new", data=new_action_data(world.users["admin"].id)
    )
    assert response.status_code == 200
    assert 'id="owner-error"' in response.text


@pytest.mark.parametrize(
    "owner", ["foreign", "member", "", "abc", "99999999999999999999", NUL, "-1"]
)
def test_the_owner_must_be_a_member_of_the_group(app, login, world, make_user, owner):
    group = world.groups["open"]
    values = {
        "foreign": str(make_user(name="Fremd").id),
        "member": str(world.users["member"].id),
    }
    before = snapshot(app)
    response = login(world.users["lead"]).post(
        f"/groups/{group.slug}/actions/new",
        data=new_action_data(0, owner=values.get(owner, owner)),
    )
    assert response.status_code == 200
    assert 'id="owner-error"' in response.text
    assert snapshot(app) == before


def test_service_refuses_an_owner_outside_the_group(app, world):
    with app.app_context():
        group = db.session.get(WorkingGroup, world.groups["open"].id)
        outsider = db.session.get(User, world.users["member"].id)
        lead = db.session.get(User, world.users["lead"].id)
        with pytest.raises(services.OwnerNotMember):
            services.create_action(group, title="x", owner=outsider, actor=lead)


def test_service_refuses_a_problem_of_another_group(app, world):
    other_issue = make_issue(app, world.groups["confidential"].id)
    with app.app_context():
        group = db.session.get(WorkingGroup, world.groups["open"].id)
        lead = db.session.get(User, world.users["lead"].id)
        with pytest.raises(services.WrongGroup):
            services.create_action(
                group,
                title="x",
                owner=lead,
                actor=lead,
                issue=db.session.get(GroupIssue, other_issue),
            )


@pytest.mark.parametrize(
    "query",
    [
        "issue={other_issue}",
        "solution={other_solution}",
        "issue={issue}&solution={other_solution}",
        "issue=abc",
        "issue=-1",
        "issue=99999999999999999999",
        "solution=1e3",
        "issue=%C2%B2",
    ],
)
def test_foreign_or_bad_origins_answer_404(app, login, world, query):
    group = world.groups["open"]
    issue = make_issue(app, group.id)
    make_solution(app, issue)
    other_issue = make_issue(app, world.groups["confidential"].id)
    other_solution = make_solution(app, other_issue)
    url = f"/groups/{group.slug}/actions/new?" + query.format(
        issue=issue, other_issue=other_issue, other_solution=other_solution
    )
    client = login(world.users["lead"])
    assert client.get(url).status_code == 404
    before = snapshot(app)
    assert client.post(url, data=new_action_data(world.users["lead"].id)).status_code == 404
    assert snapshot(app) == before


def test_a_problem_of_another_group_cannot_be_chosen_in_the_form(app, login, world):
    group = world.groups["open"]
    other_issue = make_issue(app, world.groups["confidential"].id)
    before = snapshot(app)
    response = login(world.users["lead"]).post(
        f"/groups/{group.slug}/actions/new",
        data=new_action_data(world.users["lead"].id, issue=str(other_issue)),
    )
    assert response.status_code == 200
    assert 'id="issue-error"' in response.text
    assert snapshot(app) == before


def test_a_solution_of_another_problem_is_refused(app, login, world):
    group = world.groups["open"]
    issue = make_issue(app, group.id)
    solution = make_solution(app, issue)
    second = make_issue(app, group.id, title="Zweites Problem")
    before = snapshot(app)
    response = login(world.users["lead"]).post(
        f"/groups/{group.slug}/actions/new?issue={issue}",
        data=new_action_data(world.users["lead"].id, issue=str(second), solution=str(solution)),
    )
    assert response.status_code == 200
    assert 'id="solution-error"' in response.text
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "   "),
        ("title", HUGE),
        ("title", "x" * 201),
        ("title", NUL),
        ("notes", HUGE),
        ("notes", NUL),
        ("due_date", "2026-02-30"),
        ("due_date", "abc"),
        ("due_date", "1800-01-01"),
        ("due_date", "20260-01-01"),
        ("due_date", HUGE),
        ("due_date", NUL),
        ("issue", "99999999999999999999"),
        ("issue", NUL),
    ],
)
def test_bad_input_on_create_is_shown_beside_the_field(app, login, world, field, value):
    group = world.groups["open"]
    lead = world.users["lead"]
    before = snapshot(app)
    response = login(lead).post(
        f"/groups/{group.slug}/actions/new", data=new_action_data(lead.id, **{field: value})
    )
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert snapshot(app) == before


def test_lists_where_values_belong_are_not_a_500(app, login, world):
    group = world.groups["open"]
    response = login(world.users["lead"]).post(
        f"/groups/{group.slug}/actions/new",
        data={"title": ["a", "b"], "owner": ["1", "2"], "due_date": ["2026-01-01", "x"]},
    )
    assert response.status_code == 200


def test_unicode_and_markdown_are_kept_and_rendered_safely(app, login, world):
    group = world.groups["open"]
    lead = world.users["lead"]
    title = "Übergänge für 16–17-Jährige klären 🏫 <b>jetzt</b>"
    login(lead).post(
        f"/groups/{group.slug}/actions/new",
        data=new_action_data(lead.id, title=title, notes="[x](javascript:alert(1)) **wichtig**"),
    )
    with app.app_context():
        action_id = db.session.scalar(sa.select(Action.id).where(Action.title == title))
    page = login(lead).get(f"/actions/{action_id}").text
    assert "Übergänge für 16–17-Jährige klären 🏫 &lt;b&gt;jetzt&lt;/b&gt;" in page
    assert "<strong>wichtig</strong>" in page
    assert re.search(r"<a [^>]*href=\"javascript:", page) is None


def test_a_due_date_is_optional(app, login, world):
    group = world.groups["open"]
    lead = world.users["lead"]
    response = login(lead).post(
        f"/groups/{group.slug}/actions/new", data=new_action_data(lead.id, due_date="")
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Action.due_date)) is None


# --- changing the status --------------------------------------------------------------------


def test_done_records_when_on_the_timeline_and_in_the_audit_log(app, login, world):
    group = world.groups["confidential"]
    owner = world.users["group_member"]
    issue = make_issue(app, group.id)
    action_id = make_action(app, group.id, owner.id, issue_id=issue)
    response = login(owner).post(
        f"/actions/{action_id}/status", data={"status": "done", "next": "/actions/"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/actions/"
    action = get_action(app, action_id)
    assert action.status is ActionStatus.DONE and action.completed_at is not None
    (event,) = events_of(app, IssueEventKind.ACTION_DONE)
    assert (event.issue_id, event.action_id, event.actor_id) == (issue, action_id, owner.id)
    with app.app_context():
        audit = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "action.status_changed")
        )
        assert (audit.object_type, audit.object_id, audit.detail) == ("action", action_id, "done")


def test_a_double_click_on_done_records_once(app, login, world):
    group = world.groups["open"]
    owner = world.users["group_member"]
    issue = make_issue(app, group.id)
    action_id = make_action(app, group.id, owner.id, issue_id=issue)
    client = login(owner)
    for _ in range(2):
        assert (
            client.post(f"/actions/{action_id}/status", data={"status": "done"}).status_code == 303
        )
    assert len(events_of(app, IssueEventKind.ACTION_DONE)) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(
                    AuditEvent.action == "action.status_changed"
                )
            )
            == 1
        )


def test_dropping_writes_the_timeline_and_reopening_clears_the_completion(app, login, world):
    group = world.groups["open"]
    lead = world.users["lead"]
    issue = make_issue(app, group.id)
    action_id = make_action(app, group.id, world.users["group_member"].id, issue_id=issue)
    client = login(lead)
    client.post(f"/actions/{action_id}/status", data={"status": "done"})
    client.post(f"/actions/{action_id}/status", data={"status": "open"})
    action = get_action(app, action_id)
    assert action.status is ActionStatus.OPEN and action.completed_at is None
    client.post(f"/actions/{action_id}/status", data={"status": "dropped"})
    action = get_action(app, action_id)
    assert action.status is ActionStatus.DROPPED and action.completed_at is None
    (event,) = events_of(app, IssueEventKind.ACTION_DROPPED)
    assert event.action_id == action_id


@pytest.mark.parametrize("data", [{}, {"status": "finished"}, {"status": NUL}, {"status": HUGE}])
def test_bad_status_requests_are_refused(app, login, world, data):
    action_id = make_action(app, world.groups["open"].id, world.users["group_member"].id)
    before = snapshot(app)
    response = login(world.users["lead"]).post(f"/actions/{action_id}/status", data=data)
    assert response.status_code == 400
    assert snapshot(app) == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_status_redirects_only_to_local_pages(app, login, world, target):
    action_id = make_action(app, world.groups["open"].id, world.users["group_member"].id)
    response = login(world.users["lead"]).post(
        f"/actions/{action_id}/status", data={"status": "done", "next": target}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/actions/{action_id}"


def test_the_creator_may_update_an_action_someone_else_owns(app, login, world, make_user):
    group = world.groups["open"]
    creator = make_user(name="Cleo Creator")
    with app.app_context():
        db.session.add(GroupMembership(group_id=group.id, user_id=creator.id))
        db.session.commit()
    action_id = make_action(app, group.id, world.users["group_member"].id, created_by_id=creator.id)
    response = login(creator).post(f"/actions/{action_id}/status", data={"status": "done"})
    assert response.status_code == 303


def test_other_group_members_may_not_update_an_action(app, login, world, make_user):
    group = world.groups["open"]
    colleague = make_user(name="Kim Kollegin")
    with app.app_context():
        db.session.add(GroupMembership(group_id=group.id, user_id=colleague.id))
        db.session.commit()
    action_id = make_action(app, group.id, world.users["group_member"].id)
    client = login(colleague)
    assert client.post(f"/actions/{action_id}/status", data={"status": "done"}).status_code == 403
    assert client.get(f"/actions/{action_id}/edit").status_code == 403
    assert get_action(app, action_id).status is ActionStatus.OPEN


@pytest.mark.parametrize(("group_key", "expected"), [("open", 403), ("confidential", 404)])
def test_an_owner_who_left_the_group_may_no_longer_update(app, login, world, group_key, expected):
    group = world.groups[group_key]
    owner = world.users["group_member"]
    action_id = make_action(app, group.id, owner.id)
    with app.app_context():
        db.session.execute(
            sa.delete(GroupMembership).where(
                GroupMembership.group_id == group.id, GroupMembership.user_id == owner.id
            )
        )
        db.session.commit()
    response = login(owner).post(f"/actions/{action_id}/status", data={"status": "done"})
    assert response.status_code == expected


# --- editing --------------------------------------------------------------------------------


def test_edit_form_is_filled_and_saving_changes_the_action(app, login, world):
    group = world.groups["open"]
    owner = world.users["group_member"]
    action_id = make_action(app, group.id, owner.id, notes="Alt", due_date=date(2026, 5, 1))
    client = login(world.users["lead"])
    page = client.get(f"/actions/{action_id}/edit").text
    assert 'value="Flyer drucken"' in page and 'value="2026-05-01"' in page
    assert "privacy-reminder" in page
    response = client.post(
        f"/actions/{action_id}/edit",
        data=new_action_data(
            world.users["lead"].id, title="Neuer Titel", due_date="", status="open"
        ),
    )
    assert response.status_code == 303
    action = get_action(app, action_id)
    assert (action.title, action.owner_id, action.due_date) == (
        "Neuer Titel",
        world.users["lead"].id,
        None,
    )


def test_marking_done_in_the_edit_form_writes_the_timeline(app, login, world):
    group = world.groups["open"]
    issue = make_issue(app, group.id)
    action_id = make_action(app, group.id, world.users["group_member"].id, issue_id=issue)
    response = login(world.users["group_member"]).post(
        f"/actions/{action_id}/edit",
        data=new_action_data(world.users["group_member"].id, status="done"),
    )
    assert response.status_code == 303
    assert len(events_of(app, IssueEventKind.ACTION_DONE)) == 1
    assert get_action(app, action_id).completed_at is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", HUGE),
        ("notes", NUL),
        ("owner", "99999999999999999999"),
        ("owner", "foreign"),
        ("due_date", "2026-02-30"),
        ("status", "finished"),
        ("status", NUL),
    ],
)
def test_bad_input_on_edit_changes_nothing(app, login, world, make_user, field, value):
    group = world.groups["open"]
    action_id = make_action(app, group.id, world.users["group_member"].id)
    if value == "foreign":
        value = str(make_user(name="Fremd").id)
    before = snapshot(app)
    response = login(world.users["lead"]).post(
        f"/actions/{action_id}/edit",
        data=new_action_data(world.users["group_member"].id, **{"status": "open", field: value}),
    )
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert snapshot(app) == before


# --- my actions -----------------------------------------------------------------------------


def test_my_actions_lists_overdue_first_then_by_due_date(app, login, world, fixed_today):
    me = world.users["group_member"]
    open_group, secret_group = world.groups["open"].id, world.groups["confidential"].id
    later = make_action(app, open_group, me.id, "Später", due_date=TODAY + timedelta(days=10))
    undated = make_action(app, secret_group, me.id, "Ohne Datum")
    overdue = make_action(
        app, secret_group, me.id, "Überfällig", due_date=TODAY - timedelta(days=1)
    )
    soon = make_action(app, open_group, me.id, "Bald", due_date=TODAY)
    make_action(app, open_group, world.users["lead"].id, "Nicht meins")
    done = make_action(app, open_group, me.id, "Erledigt", status=ActionStatus.DONE)
    page = login(me).get("/actions/", headers=EN).text
    open_table = page[page.index('id="my-open-actions"') : page.index('id="my-closed-actions"')]
    positions = [open_table.index(f'id="action-{i}"') for i in (overdue, soon, later, undated)]
    assert positions == sorted(positions)
    assert "Nicht meins" not in page
    closed = page[page.index('id="my-closed-actions"') :]
    assert f'id="action-{done}"' in closed and "<details" in page
    assert "1 of them overdue" in page


def test_overdue_actions_are_marked_in_words(app, login, world, fixed_today):
    me = world.users["group_member"]
    overdue = make_action(
        app, world.groups["open"].id, me.id, "Überfällig", due_date=TODAY - timedelta(days=3)
    )
    fine = make_action(app, world.groups["open"].id, me.id, "Pünktlich", due_date=TODAY)
    page = login(me).get("/actions/", headers=EN).text
    row = re.search(rf'<tr id="action-{overdue}".*?</tr>', page, re.S).group(0)
    assert "action-is-overdue" in row and "Overdue" in row and "was due" in row
    row = re.search(rf'<tr id="action-{fine}".*?</tr>', page, re.S).group(0)
    assert "Overdue" not in row and "action-is-overdue" not in row


def test_my_actions_offer_a_one_click_done_button(app, login, world):
    me = world.users["group_member"]
    action_id = make_action(app, world.groups["open"].id, me.id)
    page = login(me).get("/actions/").text
    assert f'action="/actions/{action_id}/status"' in page
    assert 'name="status" value="done"' in page


def test_actions_of_a_group_i_left_disappear_from_my_list_and_counts(app, login, world):
    me = world.users["group_member"]
    secret = world.groups["confidential"]
    make_action(app, secret.id, me.id, "Vertraulich", due_date=date(2000, 1, 1))
    make_action(app, world.groups["open"].id, me.id, "Offen")
    with app.app_context():
        db.session.execute(
            sa.delete(GroupMembership).where(
                GroupMembership.group_id == secret.id, GroupMembership.user_id == me.id
            )
        )
        db.session.commit()
        counts = services.my_action_counts(db.session.get(User, me.id), TODAY)
    assert (counts.open, counts.overdue) == (1, 0)
    page = login(me).get("/actions/", headers=EN).text
    assert "Vertraulich" not in page and "Offen" in page


def test_action_counts_count_open_and_overdue(app, world):
    me = world.users["group_member"]
    group = world.groups["confidential"].id
    make_action(app, group, me.id, due_date=TODAY - timedelta(days=1))
    make_action(app, group, me.id, due_date=TODAY)
    make_action(app, group, me.id)
    make_action(app, group, me.id, status=ActionStatus.DONE, due_date=TODAY - timedelta(days=9))
    with app.app_context():
        counts = services.my_action_counts(db.session.get(User, me.id), TODAY)
    assert (counts.open, counts.overdue) == (3, 1)


def test_my_actions_uses_a_constant_number_of_queries(app, login, world):
    me = world.users["group_member"]
    client = login(me)
    groups = [world.groups["open"].id, world.groups["confidential"].id]

    def add(count: int) -> None:
        for number in range(count):
            group = groups[number % 2]
            issue = make_issue(app, group, f"Problem {number}") if number % 3 == 0 else None
            make_action(
                app,
                group,
                me.id,
                f"Maßnahme {number}",
                issue_id=issue,
                due_date=TODAY + timedelta(days=number - 5) if number % 4 else None,
                status=ActionStatus.DONE if number % 5 == 0 else ActionStatus.OPEN,
            )

    add(3)
    few = count_queries(app, client, "/actions/")
    add(27)
    many = count_queries(app, client, "/actions/")
    assert few == many


# --- overdue around midnight ----------------------------------------------------------------


def _clock(monkeypatch, instant: datetime) -> None:
    class FrozenDateTime(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    monkeypatch.setattr(timeutil, "datetime", FrozenDateTime)


@pytest.mark.parametrize(
    ("instant", "overdue"),
    [
        # Winter (UTC+1): 23:30 on the due day is not overdue; 00:30 the next day is, though
        # it is still the due day in UTC.
        (datetime(2026, 3, 10, 22, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 10, 23, 30, tzinfo=UTC), True),
        # Summer (UTC+2).
        (datetime(2026, 7, 10, 21, 30, tzinfo=UTC), False),
        (datetime(2026, 7, 10, 22, 30, tzinfo=UTC), True),
    ],
)
def test_overdue_starts_at_midnight_in_berlin(app, login, world, monkeypatch, instant, overdue):
    me = world.users["group_member"]
    due = date(instant.year, instant.month, 10)
    action_id = make_action(app, world.groups["open"].id, me.id, "Stichtag", due_date=due)
    _clock(monkeypatch, instant)
    with app.app_context():
        assert services.today() == (due + timedelta(days=1) if overdue else due)
        counts = services.my_action_counts(db.session.get(User, me.id))
    assert counts.overdue == int(overdue)
    page = login(me).get("/actions/", headers=EN).text
    row = re.search(rf'<tr id="action-{action_id}".*?</tr>', page, re.S).group(0)
    assert ("Overdue" in row) is overdue


# --- the group board ------------------------------------------------------------------------


def test_board_shows_open_and_finished_actions_and_filters_by_owner(app, login, world, fixed_today):
    group = world.groups["open"]
    lead, member = world.users["lead"], world.users["group_member"]
    mine = make_action(app, group.id, member.id, "Gus' Aufgabe", due_date=TODAY - timedelta(days=2))
    leads = make_action(app, group.id, lead.id, "Leas Aufgabe", due_date=TODAY + timedelta(days=2))
    done = make_action(app, group.id, lead.id, "Erledigt", status=ActionStatus.DONE)
    other_group = make_action(app, world.groups["confidential"].id, lead.id, "Andere AG")
    client = login(world.users["member"])
    page = client.get(f"/groups/{group.slug}/actions", headers=EN).text
    open_part = page[page.index('id="open-actions"') : page.index('id="closed-heading"')]
    assert open_part.index(f'id="action-{mine}"') < open_part.index(f'id="action-{leads}"')
    assert f'id="action-{done}"' in page[page.index('id="closed-heading"') :]
    assert f'id="action-{other_group}"' not in page and "Andere AG" not in page
    assert "Overdue" in open_part
    # A plain member may read but not change anything.
    assert "/status" not in page and 'id="new-action-link"' not in page
    filtered = client.get(f"/groups/{group.slug}/actions?owner={lead.id}").text
    assert f'id="action-{leads}"' in filtered and f'id="action-{mine}"' not in filtered


@pytest.mark.parametrize("owner", ["abc", "99999999999999999999", "-1", "%00", "0"])
def test_board_ignores_bad_owner_filters(app, login, world, owner):
    group = world.groups["open"]
    action_id = make_action(app, group.id, world.users["lead"].id)
    response = login(world.users["member"]).get(f"/groups/{group.slug}/actions?owner={owner}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert f'id="action-{action_id}"' in response.text


def test_board_offers_done_buttons_to_those_who_may_update(app, login, world):
    group = world.groups["open"]
    owned = make_action(app, group.id, world.users["group_member"].id, "A")
    foreign = make_action(app, group.id, world.users["lead"].id, "B")
    page = login(world.users["group_member"]).get(f"/groups/{group.slug}/actions").text
    assert f'action="/actions/{owned}/status"' in page
    assert f'action="/actions/{foreign}/status"' not in page
    assert 'id="new-action-link"' in page


def test_board_uses_a_constant_number_of_queries(app, login, world):
    group = world.groups["open"]
    client = login(world.users["lead"])
    owners = [world.users["lead"].id, world.users["group_member"].id]

    def add(count: int) -> None:
        for number in range(count):
            issue = make_issue(app, group.id, f"P{number}") if number % 2 else None
            make_action(
                app,
                group.id,
                owners[number % 2],
                f"M{number}",
                issue_id=issue,
                due_date=TODAY + timedelta(days=number) if number % 3 else None,
                status=ActionStatus.DONE if number % 4 == 0 else ActionStatus.OPEN,
            )

    add(3)
    few = count_queries(app, client, f"/groups/{group.slug}/actions")
    few_filtered = count_queries(app, client, f"/groups/{group.slug}/actions?owner={owners[0]}")
    add(27)
    assert count_queries(app, client, f"/groups/{group.slug}/actions") == few
    assert (
        count_queries(app, client, f"/groups/{group.slug}/actions?owner={owners[0]}")
        == few_filtered
    )


# --- the partials on the group page and the problem page ------------------------------------


def render_as(app, user: User | None, template: str, **context) -> str:
    with app.test_request_context("/", headers=EN):
        if user is not None:
            login_user(db.session.get(User, user.id))
        loaded = {}
        for key, (model, object_id) in context.items():
            loaded[key] = db.session.get(model, object_id)
        return render_template(template, **loaded)


def test_group_partial_shows_at_most_ten_open_actions_and_links_the_board(app, world, fixed_today):
    group = world.groups["confidential"]
    for number in range(12):
        make_action(
            app,
            group.id,
            world.users["lead"].id,
            f"M{number:02d}",
            due_date=TODAY + timedelta(days=number - 1),
        )
    make_action(app, group.id, world.users["lead"].id, "Fertig", status=ActionStatus.DONE)
    html = render_as(
        app, world.users["group_member"], "groups/_actions.html", group=(WorkingGroup, group.id)
    )
    assert html.count('<li id="group-action-') == 10
    assert "M00" in html and "M11" not in html and "Fertig" not in html
    assert f'href="/groups/{group.slug}/actions"' in html
    assert "Show all 12 open actions" in html
    assert "Overdue" in html  # M00 was due yesterday


@pytest.mark.parametrize("role", ["member", "moderator", None])
def test_group_partial_of_a_confidential_group_is_empty_for_outsiders(app, world, role):
    group = world.groups["confidential"]
    make_action(app, group.id, world.users["lead"].id, "Geheim")
    user = world.users[role] if role else None
    html = render_as(app, user, "groups/_actions.html", group=(WorkingGroup, group.id))
    assert html.strip() == ""


def test_problem_partial_lists_its_actions_and_offers_new_ones_to_members(app, world):
    group = world.groups["open"]
    issue = make_issue(app, group.id)
    other_issue = make_issue(app, group.id, title="Anderes")
    first = make_action(app, group.id, world.users["lead"].id, "Zu diesem Problem", issue_id=issue)
    done = make_action(
        app,
        group.id,
        world.users["lead"].id,
        "Schon erledigt",
        issue_id=issue,
        status=ActionStatus.DONE,
    )
    make_action(app, group.id, world.users["lead"].id, "Zu einem anderen", issue_id=other_issue)
    html = render_as(
        app, world.users["group_member"], "actions/_for_problem.html", problem=(GroupIssue, issue)
    )
    assert html.index(f'id="action-{first}"') < html.index(f'id="action-{done}"')
    assert "Zu einem anderen" not in html
    assert f'href="/groups/{group.slug}/actions/new?issue={issue}"' in html
    html = render_as(
        app, world.users["member"], "actions/_for_problem.html", problem=(GroupIssue, issue)
    )
    assert "Zu diesem Problem" in html and "/actions/new" not in html and "/status" not in html


def test_problem_partial_of_a_confidential_group_shows_nothing_to_outsiders(app, world):
    group = world.groups["confidential"]
    issue = make_issue(app, group.id)
    make_action(app, group.id, world.users["lead"].id, "Geheime Maßnahme", issue_id=issue)
    for role in ("member", "moderator"):
        html = render_as(
            app, world.users[role], "actions/_for_problem.html", problem=(GroupIssue, issue)
        )
        assert "Geheime Maßnahme" not in html


def test_action_page_links_problem_and_offers_buttons(app, login, world):
    group = world.groups["open"]
    issue = make_issue(app, group.id, title="Wohnungssuche")
    action_id = make_action(app, group.id, world.users["group_member"].id, issue_id=issue)
    page = login(world.users["group_member"]).get(f"/actions/{action_id}", headers=EN).text
    assert f'href="/groups/{group.slug}/issues/{issue}"' in page
    assert 'id="edit-action-link"' in page and 'value="dropped"' in page
    page = login(world.users["member"]).get(f"/actions/{action_id}", headers=EN).text
    assert 'id="edit-action-link"' not in page and "/status" not in page


def test_a_double_submit_creates_one_action(app, login, world):
    group = world.groups["open"]
    lead = world.users["lead"]
    issue = make_issue(app, group.id)
    client = login(lead)
    url = f"/groups/{group.slug}/actions/new?issue={issue}"
    for _ in range(2):
        response = client.post(url, data=new_action_data(lead.id, issue=str(issue)))
        assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Action.id))) == 1
    assert len(events_of(app, IssueEventKind.ACTION_CREATED)) == 1
