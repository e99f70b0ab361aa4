"""Group meetings and the working group: pull in problems and actions, outcomes that create
actions, proposals from the previous meeting, problem links on the agenda."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination.actions.models import Action, ActionStatus
from coordination.agenda import services
from coordination.auth.models import User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.meetings.models import (
    AgendaItem,
    AgendaOutcome,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Visibility,
)
from coordination.problems.models import IssueEvent, IssueEventKind, Priority, ProblemStatus
from tests.test_actions import (
    EN,
    HUGE,
    NUL,
    ROLES,
    TODAY,
    World,
    build_world,
    client_for,
    count_queries,
    freeze_today,
    make_action,
    make_issue,
)


@pytest.fixture
def world(make_user, make_group) -> World:
    return build_world(make_user, make_group)


@pytest.fixture
def fixed_today(monkeypatch) -> date:
    return freeze_today(monkeypatch)


#: Who manages a group meeting (agenda editors); the others who may see it get 403.
MANAGERS = {"open": {"admin", "moderator", "lead"}, "confidential": {"admin", "lead"}}
VIEWERS = {"open": {"member", "group_member"}, "confidential": {"group_member"}}


def make_group_meeting(make_meeting, world: World, key: str = "open", **fields) -> Meeting:
    fields.setdefault("visibility", Visibility.GROUP)
    return make_meeting(group_id=world.groups[key].id, kind=MeetingKind.GROUP, **fields)


def start(app, meeting_id: int, days_ago: int = 0) -> None:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meeting.starts_at = utcnow() - timedelta(days=days_ago, hours=1)
        meeting.ends_at = meeting.starts_at + timedelta(hours=2)
        db.session.commit()


def add_item(app, meeting_id: int, title: str, **fields) -> int:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        item = services.add_item(meeting, title=title, actor=None)
        for key, value in fields.items():
            setattr(item, key, value)
        db.session.commit()
        return item.id


def items_of(app, meeting_id: int) -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(
                    AgendaItem.position,
                    AgendaItem.title,
                    AgendaItem.problem_id,
                    AgendaItem.notes,
                    AgendaItem.outcome,
                )
                .where(AgendaItem.meeting_id == meeting_id)
                .order_by(AgendaItem.position)
            )
        ]


def state(app) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Agenda items, actions and timeline entries as they are in the database."""
    with app.app_context():
        return (
            [
                tuple(row)
                for row in db.session.execute(
                    sa.select(
                        AgendaItem.id,
                        AgendaItem.meeting_id,
                        AgendaItem.position,
                        AgendaItem.title,
                        AgendaItem.problem_id,
                        AgendaItem.outcome,
                    ).order_by(AgendaItem.id)
                )
            ],
            [
                tuple(row)
                for row in db.session.execute(
                    sa.select(Action.id, Action.title, Action.status).order_by(Action.id)
                )
            ],
            [
                tuple(row)
                for row in db.session.execute(
                    sa.select(IssueEvent.issue_id, IssueEvent.kind, IssueEvent.meeting_id).order_by(
                        IssueEvent.id
                    )
                )
            ],
        )


def on_agenda_events(app, meeting_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(IssueEvent.issue_id)
                .where(
                    IssueEvent.kind == IssueEventKind.ON_AGENDA,
                    IssueEvent.meeting_id == meeting_id,
                )
                .order_by(IssueEvent.id)
            )
        )


# --- role × route ---------------------------------------------------------------------------


def _expected(group_key: str, role: str) -> int:
    if role == "anonymous":
        return 302
    if role in MANAGERS[group_key]:
        return 303
    return 403 if role in VIEWERS[group_key] else 404


@pytest.mark.parametrize("route", ["pull-in problems", "pull-in actions", "propose", "action"])
@pytest.mark.parametrize("group_key", ["open", "confidential"])
@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, login, world, make_meeting, role, group_key, route):
    group = world.groups[group_key]
    lead = world.users["lead"]
    previous = make_group_meeting(make_meeting, world, group_key)
    start(app, previous.id, days_ago=14)
    add_item(app, previous.id, "Offen gebliebener Punkt")
    meeting = make_group_meeting(make_meeting, world, group_key)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    make_issue(app, group.id)
    make_action(app, group.id, lead.id)
    before = state(app)
    if route.startswith("pull-in"):
        url, data = f"/meetings/{meeting.id}/agenda/pull-in", {"what": route.split()[1]}
    elif route == "propose":
        with app.app_context():
            ref = db.session.scalar(
                sa.select(AgendaItem.id).where(AgendaItem.meeting_id == previous.id)
            )
        url, data = f"/meetings/{meeting.id}/agenda/propose", {"kind": "item", "ref": str(ref)}
    else:
        url = f"/meetings/{meeting.id}/agenda/{item_id}/action"
        data = {
            "action-title": "Flyer drucken",
            "action-owner": str(lead.id),
            "action-due_date": "",
        }
    response = client_for(app, login, world, role).post(url, data=data)
    assert response.status_code == _expected(group_key, role)
    if role == "anonymous":
        assert "/auth/login" in response.headers["Location"]
    if response.status_code != 303:
        assert state(app) == before
    else:
        assert state(app) != before


@pytest.mark.parametrize("route", ["pull-in", "propose"])
def test_network_meetings_have_no_group_tools(app, login, world, make_meeting, route):
    meeting = make_meeting()
    make_issue(app, world.groups["open"].id)
    data = {"what": "problems"} if route == "pull-in" else {"kind": "item", "ref": "1"}
    client = login(world.users["moderator"])
    assert client.post(f"/meetings/{meeting.id}/agenda/{route}", data=data).status_code == 404
    page = client.get(f"/meetings/{meeting.id}/agenda").text
    assert 'id="group-tools"' not in page
    assert items_of(app, meeting.id) == []


def test_network_meeting_items_take_no_actions(app, login, world, make_meeting):
    meeting = make_meeting()
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    client = login(world.users["admin"])
    response = client.post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data={"action-title": "x", "action-owner": str(world.users["lead"].id)},
    )
    assert response.status_code == 404
    assert (
        'id="agreed-actions"'
        not in client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    )


@pytest.mark.parametrize("route", ["pull-in", "propose"])
def test_public_group_meetings_take_no_group_content(app, login, world, make_meeting, route):
    """A public agenda is shown to visitors: no one-click copying of a group's problems."""
    meeting = make_group_meeting(make_meeting, world, "confidential", visibility=Visibility.PUBLIC)
    make_issue(app, world.groups["confidential"].id, title="Vertrauliches Problem")
    data = {"what": "problems"} if route == "pull-in" else {"kind": "item", "ref": "1"}
    client = login(world.users["lead"])
    assert client.post(f"/meetings/{meeting.id}/agenda/{route}", data=data).status_code == 403
    assert items_of(app, meeting.id) == []
    page = client.get(f"/meetings/{meeting.id}/agenda").text
    assert 'id="group-tools-public"' in page and 'id="pull-in-problems"' not in page


def test_a_moderator_outside_a_confidential_group_gets_no_group_tools_on_its_public_meeting(
    app, login, world, make_meeting
):
    meeting = make_group_meeting(make_meeting, world, "confidential", visibility=Visibility.PUBLIC)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    client = login(world.users["moderator"])
    page = client.get(f"/meetings/{meeting.id}/agenda").text
    assert 'id="group-tools"' not in page
    page = client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert 'id="agreed-actions"' not in page and world.users["group_member"].name not in page
    for route, data in (
        ("pull-in", {"what": "actions"}),
        ("propose", {"kind": "item", "ref": "1"}),
    ):
        assert client.post(f"/meetings/{meeting.id}/agenda/{route}", data=data).status_code == 404
    response = client.post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data={"action-title": "x", "action-owner": str(world.users["lead"].id)},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "data",
    [{}, {"what": "everything"}, {"what": NUL}, {"what": HUGE}, {"what": "Problems"}],
)
def test_bad_pull_in_requests_are_refused(app, login, world, make_meeting, data):
    meeting = make_group_meeting(make_meeting, world)
    make_issue(app, world.groups["open"].id)
    response = login(world.users["lead"]).post(f"/meetings/{meeting.id}/agenda/pull-in", data=data)
    assert response.status_code == 400
    assert items_of(app, meeting.id) == []


@pytest.mark.parametrize(
    "path", ["/meetings/99999/agenda/pull-in", "/meetings/99999999999999999999/agenda/pull-in"]
)
def test_pull_in_for_unknown_meetings_is_404(login, world, path):
    assert login(world.users["admin"]).post(path, data={"what": "problems"}).status_code == 404


# --- pulling in problems --------------------------------------------------------------------


def test_pull_in_adds_open_problems_most_pressing_first_once(app, login, world, make_meeting):
    group = world.groups["confidential"]
    meeting = make_group_meeting(make_meeting, world, "confidential")
    add_item(app, meeting.id, "Begrüßung")
    normal = make_issue(app, group.id, "Schulplätze fehlen")
    urgent = make_issue(app, group.id, "Vormundschaft dauert", priority=Priority.URGENT)
    working = make_issue(app, group.id, "Dolmetscher", status=ProblemStatus.IN_PROGRESS)
    make_issue(app, group.id, "Gelöst", status=ProblemStatus.RESOLVED)
    make_issue(app, group.id, "Geschlossen", status=ProblemStatus.CLOSED)
    make_issue(app, world.groups["open"].id, "Andere AG")
    client = login(world.users["lead"])
    response = client.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "problems"})
    assert response.status_code == 303
    assert f"/meetings/{meeting.id}/agenda#item-" in response.headers["Location"]
    rows = items_of(app, meeting.id)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (0, "Begrüßung", None),
        (1, "Vormundschaft dauert", urgent),
        (2, "Schulplätze fehlen", normal),
        (3, "Dolmetscher", working),
    ]
    assert sorted(on_agenda_events(app, meeting.id)) == sorted([urgent, normal, working])
    # A second click adds nothing and writes no second timeline entry.
    client.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "problems"})
    assert items_of(app, meeting.id) == rows
    assert len(on_agenda_events(app, meeting.id)) == 3


def test_pull_in_skips_problems_already_on_the_agenda(app, login, world, make_meeting):
    group = world.groups["open"]
    meeting = make_group_meeting(make_meeting, world)
    first = make_issue(app, group.id, "Erstes")
    second = make_issue(app, group.id, "Zweites")
    add_item(app, meeting.id, "Von Hand: Erstes", problem_id=first)
    login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "problems"}
    )
    assert [row[2] for row in items_of(app, meeting.id)] == [first, second]
    assert on_agenda_events(app, meeting.id) == [second]


def test_an_empty_pull_in_says_so(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    response = login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/pull-in",
        data={"what": "problems"},
        follow_redirects=True,
        headers=EN,
    )
    assert "All open problems of the group are on the agenda already." in response.text


# --- pulling in actions ---------------------------------------------------------------------


def test_pull_in_adds_one_item_per_open_action_overdue_first(
    app, login, world, make_meeting, fixed_today
):
    group = world.groups["open"]
    lead = world.users["lead"]
    meeting = make_group_meeting(make_meeting, world)
    later = make_action(app, group.id, lead.id, "Später", due_date=TODAY + timedelta(days=5))
    overdue = make_action(app, group.id, lead.id, "Überfällig", due_date=TODAY - timedelta(days=5))
    make_action(app, group.id, lead.id, "Erledigt", status=ActionStatus.DONE)
    make_action(app, world.groups["confidential"].id, lead.id, "Andere AG")
    client = login(lead)
    client.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "actions"}, headers=EN)
    rows = items_of(app, meeting.id)
    assert [row[1] for row in rows] == ["Überfällig", "Später"]
    assert f"(/actions/{overdue})" in rows[0][3] and "**Overdue**" in rows[0][3]
    assert "Lea Lead" in rows[0][3]
    assert f"(/actions/{later})" in rows[1][3] and "Overdue" not in rows[1][3]
    assert all(row[2] is None for row in rows)
    client.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "actions"})
    assert items_of(app, meeting.id) == rows


def test_action_items_link_to_the_action_on_the_meeting_page(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    action_id = make_action(app, world.groups["open"].id, world.users["lead"].id, "Flyer")
    client = login(world.users["lead"])
    client.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "actions"})
    page = login(world.users["member"]).get(f"/meetings/{meeting.id}").text
    assert f'href="/actions/{action_id}"' in page


def test_owner_names_cannot_inject_markdown(app, world, make_meeting, make_user):
    from coordination.groups.models import GroupMembership

    sneaky = make_user(name="[klick](https://evil.example)")
    with app.app_context():
        db.session.add(GroupMembership(group_id=world.groups["open"].id, user_id=sneaky.id))
        db.session.commit()
    meeting = make_group_meeting(make_meeting, world)
    make_action(app, world.groups["open"].id, sneaky.id, "Flyer")
    with app.test_request_context("/", headers=EN):
        services.pull_in_actions(db.session.get(Meeting, meeting.id), actor=None, today=TODAY)
        db.session.commit()
        html = render_template("meetings/_agenda.html", meeting=db.session.get(Meeting, meeting.id))
    assert "Flyer" in html
    assert not any("evil.example" in href for href in re.findall(r'href="([^"]*)"', html))


# --- problem links on the agenda ------------------------------------------------------------


def render_agenda(app, meeting_id: int, user: User | None) -> str:
    with app.test_request_context("/", headers=EN):
        if user is not None:
            login_user(db.session.get(User, user.id))
        return render_template("meetings/_agenda.html", meeting=db.session.get(Meeting, meeting_id))


@pytest.mark.parametrize(
    ("role", "linked"),
    [
        ("group_member", True),
        ("lead", True),
        ("admin", True),
        ("member", False),
        ("moderator", False),
        (None, False),
    ],
)
def test_problem_links_only_for_those_who_may_read_the_group(
    app, world, make_meeting, role, linked
):
    # A public meeting of the confidential group: everybody sees the agenda, only members the link.
    meeting = make_group_meeting(make_meeting, world, "confidential", visibility=Visibility.PUBLIC)
    issue = make_issue(app, world.groups["confidential"].id)
    add_item(app, meeting.id, "Thema", problem_id=issue)
    html = render_agenda(app, meeting.id, world.users[role] if role else None)
    assert "Thema" in html
    assert (f'href="/groups/ag-uma/issues/{issue}"' in html) is linked


def test_agenda_editor_links_items_to_their_problems(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    issue = make_issue(app, world.groups["open"].id)
    add_item(app, meeting.id, "Thema", problem_id=issue)
    page = login(world.users["lead"]).get(f"/meetings/{meeting.id}/agenda").text
    assert f'href="/groups/ag-wohnen/issues/{issue}"' in page


# --- outcomes that create actions -----------------------------------------------------------


def _outcome_data(owner_id, **overrides) -> dict[str, str]:
    data = {
        "action-title": "Anfrage ans Jugendamt",
        "action-owner": str(owner_id),
        "action-due_date": "2026-04-15",
    }
    data.update(overrides)
    return data


def test_an_agreed_action_links_meeting_item_and_problem(app, login, world, make_meeting):
    group = world.groups["confidential"]
    meeting = make_group_meeting(make_meeting, world, "confidential")
    start(app, meeting.id)
    issue = make_issue(app, group.id)
    item_id = add_item(app, meeting.id, "Vormundschaft", problem_id=issue)
    lead, member = world.users["lead"], world.users["group_member"]
    response = login(lead).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action", data=_outcome_data(member.id)
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/agenda/{item_id}/edit#agreed-actions")
    with app.app_context():
        action = db.session.scalar(sa.select(Action))
        assert (action.meeting_id, action.agenda_item_id, action.issue_id, action.group_id) == (
            meeting.id,
            item_id,
            issue,
            group.id,
        )
        assert (action.owner_id, action.created_by_id, action.due_date) == (
            member.id,
            lead.id,
            date(2026, 4, 15),
        )
        assert db.session.get(AgendaItem, item_id).outcome is AgendaOutcome.ACTION
        event = db.session.scalar(
            sa.select(IssueEvent).where(IssueEvent.kind == IssueEventKind.ACTION_CREATED)
        )
        assert (event.issue_id, event.action_id, event.meeting_id) == (issue, action.id, meeting.id)
    page = login(lead).get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert f'id="agreed-action-{action.id}"' in page


def test_an_agreed_action_keeps_a_recorded_decision(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte", outcome=AgendaOutcome.DECISION)
    login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data=_outcome_data(world.users["lead"].id),
    )
    with app.app_context():
        assert db.session.get(AgendaItem, item_id).outcome is AgendaOutcome.DECISION
        assert db.session.scalar(sa.select(Action.issue_id)) is None


def test_the_action_form_appears_once_the_meeting_started(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    item_id = add_item(app, meeting.id, "Berichte")
    client = login(world.users["lead"])
    page = client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert 'name="action-title"' not in page
    before = state(app)
    response = client.post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data=_outcome_data(world.users["lead"].id),
    )
    assert response.status_code == 409
    assert state(app) == before
    start(app, meeting.id)
    page = client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert 'name="action-title"' in page and 'name="action-owner"' in page
    assert re.search(
        rf'<option[^>]*value="{world.users["lead"].id}"[^>]*selected|<option selected[^>]*value="{world.users["lead"].id}"',
        page,
    )


def test_cancelled_meetings_take_no_agreed_actions(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    with app.app_context():
        db.session.get(Meeting, meeting.id).status = MeetingStatus.CANCELLED
        db.session.commit()
    response = login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data=_outcome_data(world.users["lead"].id),
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action-title", ""),
        ("action-title", HUGE),
        ("action-title", NUL),
        ("action-owner", "foreign"),
        ("action-owner", "outsider"),
        ("action-owner", "99999999999999999999"),
        ("action-owner", "abc"),
        ("action-owner", ""),
        ("action-due_date", "2026-02-30"),
        ("action-due_date", "abc"),
        ("action-due_date", NUL),
    ],
)
def test_bad_input_for_an_agreed_action_writes_nothing(
    app, login, world, make_meeting, make_user, field, value
):
    meeting = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    if value == "foreign":
        value = str(make_user(name="Fremd").id)
    elif value == "outsider":
        value = str(world.users["member"].id)
    before = state(app)
    response = login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/action",
        data=_outcome_data(world.users["lead"].id, **{field: value}),
    )
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert state(app) == before


def test_another_meetings_item_answers_404(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    other = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    start(app, other.id)
    other_item = add_item(app, other.id, "Fremd")
    response = login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/{other_item}/action",
        data=_outcome_data(world.users["lead"].id),
    )
    assert response.status_code == 404
    assert state(app)[1] == []


# --- proposals from the previous meeting ----------------------------------------------------


@pytest.fixture
def two_meetings(app, world, make_meeting):
    """The open group's last meeting (two weeks ago) and its next one, with a left-over trail."""
    group = world.groups["open"]
    lead = world.users["lead"]
    previous = make_group_meeting(make_meeting, world)
    start(app, previous.id, days_ago=14)
    meeting = make_group_meeting(make_meeting, world)
    open_issue = make_issue(app, group.id, "Wohnungen fehlen")
    resolved = make_issue(app, group.id, "Gelöst", status=ProblemStatus.RESOLVED)
    ids = {
        "decided": add_item(app, previous.id, "Entschieden", outcome=AgendaOutcome.DECISION),
        "open_item": add_item(app, previous.id, "Nicht besprochen"),
        "problem_item": add_item(
            app, previous.id, "Wohnungen", problem_id=open_issue, outcome=AgendaOutcome.INFORMATION
        ),
        "resolved_item": add_item(app, previous.id, "Erledigtes Problem", problem_id=resolved),
    }
    ids["open_action"] = make_action(
        app, group.id, lead.id, "Vermieter anschreiben", meeting_id=previous.id
    )
    ids["done_action"] = make_action(
        app, group.id, lead.id, "Liste erstellt", meeting_id=previous.id, status=ActionStatus.DONE
    )
    ids["unrelated_action"] = make_action(app, group.id, lead.id, "Woanders vereinbart")
    ids.update(open_issue=open_issue, resolved=resolved, previous=previous.id, meeting=meeting.id)
    return ids


def test_the_agenda_page_proposes_what_the_last_meeting_left_open(app, login, two_meetings):
    ids = two_meetings
    page = login_lead(app, login).get(f"/meetings/{ids['meeting']}/agenda", headers=EN).text
    box = page[page.index('id="proposals"') :]
    assert "Proposed from the last meeting" in box
    assert f'href="/meetings/{ids["previous"]}"' in box
    assert f'id="proposal-item-{ids["open_item"]}"' in box
    assert f'id="proposal-problem-{ids["open_issue"]}"' in box
    assert f'id="proposal-action-{ids["open_action"]}"' in box
    for absent in ("Entschieden", "Erledigtes Problem", "Liste erstellt", "Woanders vereinbart"):
        assert absent not in box
    assert box.count("Add to agenda") == 3


def login_lead(app, login):
    with app.app_context():
        lead = db.session.scalar(sa.select(User).where(User.name == "Lea Lead"))
        db.session.expunge(lead)
    return login(lead)


@pytest.mark.parametrize("kind", ["item", "problem", "action"])
def test_adding_a_proposal_is_idempotent(app, login, two_meetings, kind):
    ids = two_meetings
    ref = {"item": ids["open_item"], "problem": ids["open_issue"], "action": ids["open_action"]}[
        kind
    ]
    client = login_lead(app, login)
    url = f"/meetings/{ids['meeting']}/agenda/propose"
    for _ in range(2):
        assert client.post(url, data={"kind": kind, "ref": str(ref)}).status_code == 303
    rows = items_of(app, ids["meeting"])
    assert len(rows) == 1
    title = {
        "item": "Nicht besprochen",
        "problem": "Wohnungen fehlen",
        "action": "Vermieter anschreiben",
    }
    assert rows[0][1] == title[kind]
    if kind == "problem":
        assert rows[0][2] == ids["open_issue"]
        assert on_agenda_events(app, ids["meeting"]) == [ids["open_issue"]]
    if kind == "action":
        assert f"(/actions/{ids['open_action']})" in rows[0][3]
    page = client.get(f"/meetings/{ids['meeting']}/agenda", headers=EN).text
    assert f'id="proposal-{kind}-{ref}"' in page
    entry = re.search(rf'id="proposal-{kind}-{ref}".*?</li>', page, re.S).group(0)
    assert "On the agenda" in entry and "Add to agenda" not in entry


def test_pulled_in_items_count_as_proposals_taken(app, login, two_meetings):
    ids = two_meetings
    client = login_lead(app, login)
    client.post(f"/meetings/{ids['meeting']}/agenda/pull-in", data={"what": "problems"})
    client.post(f"/meetings/{ids['meeting']}/agenda/pull-in", data={"what": "actions"})
    before = items_of(app, ids["meeting"])
    for kind, ref in (("problem", ids["open_issue"]), ("action", ids["open_action"])):
        client.post(
            f"/meetings/{ids['meeting']}/agenda/propose", data={"kind": kind, "ref": str(ref)}
        )
    assert items_of(app, ids["meeting"]) == before


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "item", "ref": "{decided}"},
        {"kind": "problem", "ref": "{resolved}"},
        {"kind": "action", "ref": "{done_action}"},
        {"kind": "action", "ref": "{unrelated_action}"},
        {"kind": "item", "ref": "9999999"},
    ],
)
def test_things_that_are_not_proposed_answer_404(app, login, two_meetings, data):
    ids = two_meetings
    data = {key: value.format(**ids) for key, value in data.items()}
    before = state(app)
    response = login_lead(app, login).post(f"/meetings/{ids['meeting']}/agenda/propose", data=data)
    assert response.status_code == 404
    assert state(app) == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "item"},
        {"kind": "thing", "ref": "1"},
        {"kind": "item", "ref": "abc"},
        {"kind": "item", "ref": "-1"},
        {"kind": "item", "ref": "99999999999999999999"},
        {"kind": "item", "ref": NUL},
        {"kind": NUL, "ref": "1"},
        {"kind": "item", "ref": HUGE},
    ],
)
def test_bad_proposal_requests_are_refused(app, login, two_meetings, data):
    ids = two_meetings
    before = state(app)
    response = login_lead(app, login).post(f"/meetings/{ids['meeting']}/agenda/propose", data=data)
    assert response.status_code == 400
    assert state(app) == before


def test_a_cancelled_meeting_is_not_the_previous_one(app, world, make_meeting, two_meetings):
    ids = two_meetings
    cancelled = make_group_meeting(make_meeting, world, status=MeetingStatus.CANCELLED)
    start(app, cancelled.id, days_ago=7)
    with app.app_context():
        meeting = db.session.get(Meeting, ids["meeting"])
        assert services.previous_meeting(meeting).id == ids["previous"]


def test_meetings_of_other_groups_are_not_the_previous_one(app, world, make_meeting, two_meetings):
    ids = two_meetings
    other = make_group_meeting(make_meeting, world, "confidential")
    start(app, other.id, days_ago=7)
    with app.app_context():
        meeting = db.session.get(Meeting, ids["meeting"])
        proposals = services.proposals_for(meeting)
    assert proposals.previous.id == ids["previous"]


def test_the_first_meeting_has_no_proposals(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    page = login(world.users["lead"]).get(f"/meetings/{meeting.id}/agenda").text
    assert 'id="no-previous-meeting"' in page


def test_action_items_on_the_last_agenda_are_proposed_while_open(app, login, world, make_meeting):
    group = world.groups["open"]
    previous = make_group_meeting(make_meeting, world)
    start(app, previous.id, days_ago=14)
    meeting = make_group_meeting(make_meeting, world)
    still_open = make_action(app, group.id, world.users["lead"].id, "Noch offen")
    finished = make_action(app, group.id, world.users["lead"].id, "Fertig")
    with app.test_request_context("/"):
        services.pull_in_actions(db.session.get(Meeting, previous.id), actor=None, today=TODAY)
        db.session.get(Action, finished).status = ActionStatus.DONE
        db.session.commit()
        proposals = services.proposals_for(db.session.get(Meeting, meeting.id))
    assert [(p.kind, p.ref) for p in proposals.entries] == [("action", still_open)]


def test_agenda_page_with_proposals_uses_a_constant_number_of_queries(
    app, login, world, make_meeting
):
    group = world.groups["open"]
    lead = world.users["lead"]
    previous = make_group_meeting(make_meeting, world)
    start(app, previous.id, days_ago=14)
    meeting = make_group_meeting(make_meeting, world)
    client = login(lead)

    def add(count: int, offset: int) -> None:
        for number in range(offset, offset + count):
            issue = make_issue(app, group.id, f"P{number}")
            add_item(app, previous.id, f"I{number}")
            add_item(app, previous.id, f"Q{number}", problem_id=issue)
            make_action(
                app, group.id, lead.id, f"A{number}", meeting_id=previous.id, due_date=TODAY
            )
            add_item(app, meeting.id, f"N{number}", problem_id=issue if number % 2 else None)

    add(2, 0)
    few = count_queries(app, client, f"/meetings/{meeting.id}/agenda")
    add(20, 2)
    assert count_queries(app, client, f"/meetings/{meeting.id}/agenda") == few


def test_the_agreed_action_form_works_with_csrf_protection(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    app.config["WTF_CSRF_ENABLED"] = True
    client = login(world.users["lead"])
    page = client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    token = re.search(r'name="action-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    url = f"/meetings/{meeting.id}/agenda/{item_id}/action"
    assert client.post(url, data=_outcome_data(world.users["lead"].id)).status_code == 400
    data = _outcome_data(world.users["lead"].id, **{"action-csrf_token": token})
    assert client.post(url, data=data).status_code == 303


def test_a_double_submit_of_an_agreed_action_records_it_once(app, login, world, make_meeting):
    meeting = make_group_meeting(make_meeting, world)
    start(app, meeting.id)
    item_id = add_item(app, meeting.id, "Berichte")
    client = login(world.users["lead"])
    for _ in range(2):
        response = client.post(
            f"/meetings/{meeting.id}/agenda/{item_id}/action",
            data=_outcome_data(world.users["lead"].id),
        )
        assert response.status_code == 303
    assert len(state(app)[1]) == 1


# --- a meeting carrying group content stays non-public ------------------------------------------


def test_a_meeting_with_group_problems_on_its_agenda_cannot_become_public(
    app, login, world, make_meeting
):
    """Visitors would read the group's problem titles on the page and in the public feed."""
    from tests.test_meeting_series import _edit_form

    group = world.groups["open"]
    meeting = make_group_meeting(make_meeting, world, "open")
    plain = make_group_meeting(make_meeting, world, "open")
    make_issue(app, group.id, "Wohnungen für große Familien fehlen")
    lead = login(world.users["lead"])
    lead.post(f"/meetings/{meeting.id}/agenda/pull-in", data={"what": "problems"})

    response = lead.post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, visibility="public")
    )

    assert response.status_code == 200
    assert "cannot become public" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Meeting, meeting.id).visibility is Visibility.GROUP
    assert "Wohnungen" not in app.test_client().get("/calendar/public.ics").get_data(as_text=True)
    # Without group content on its agenda, the same change goes through.
    response = lead.post(f"/meetings/{plain.id}/edit", data=_edit_form(plain, visibility="public"))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Meeting, plain.id).visibility is Visibility.PUBLIC
