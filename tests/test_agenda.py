"""A meeting's agenda: who may change it, ordering, outcomes, bad input, the meeting-page partial."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination.agenda import services
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import (
    AgendaItem,
    AgendaOutcome,
    Meeting,
    MeetingStatus,
    Visibility,
)
from tests.conftest import log_in

HUGE = "x" * 100_000
NUL = "abc\x00def"
EN = {"Accept-Language": "en"}


@dataclass
class World:
    users: dict[str, User]
    meetings: dict[str, Meeting]


@pytest.fixture
def world(make_user, make_group, make_meeting) -> World:
    """Every role, an open and a confidential group (same lead and member), four meetings."""
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN),
        "group_member": make_user(name="Gus Groupmember", locale=Locale.EN),
        "member": make_user(name="Mia Member", locale=Locale.EN),
    }
    members = {users["lead"].id: GroupRole.LEAD, users["group_member"].id: GroupRole.MEMBER}
    open_group = make_group(members=members)
    secret_group = make_group(members=members, confidentiality=Confidentiality.CONFIDENTIAL)
    meetings = {
        "network": make_meeting(),
        "public": make_meeting(visibility=Visibility.PUBLIC),
        "open_group": make_meeting(group_id=open_group.id, visibility=Visibility.GROUP),
        "confidential_group": make_meeting(group_id=secret_group.id, visibility=Visibility.GROUP),
    }
    return World(users=users, meetings=meetings)


def _client(app, login, world: World, role: str):
    return app.test_client() if role == "anonymous" else login(world.users[role])


def _add(app, meeting_id: int, *titles: str, **fields) -> list[int]:
    """Items appended in the database directly; returns their ids."""
    ids = []
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        for title in titles:
            ids.append(services.add_item(meeting, title=title, actor=None, **fields).id)
        db.session.commit()
    return ids


def _order(app, meeting_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AgendaItem.position, AgendaItem.title)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
        return [tuple(row) for row in rows]


def _snapshot(app) -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(
                    AgendaItem.id,
                    AgendaItem.meeting_id,
                    AgendaItem.position,
                    AgendaItem.title,
                    AgendaItem.notes,
                    AgendaItem.duration_minutes,
                    AgendaItem.outcome,
                    AgendaItem.outcome_note,
                ).order_by(AgendaItem.id)
            )
        ]


def _start_meeting(app, meeting_id: int, hours_ago: int = 1) -> None:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meeting.starts_at = utcnow() - timedelta(hours=hours_ago)
        meeting.ends_at = meeting.starts_at + timedelta(hours=2)
        db.session.commit()


# --- role × route ---------------------------------------------------------------------------

MANAGERS = {
    "network": {"admin", "moderator"},
    "public": {"admin", "moderator"},
    "open_group": {"admin", "moderator", "lead"},
    "confidential_group": {"admin", "lead"},
}
#: Who can see each meeting without managing it (403 rather than 404).
VIEWERS = {
    "network": {"lead", "group_member", "member"},
    "public": {"lead", "group_member", "member"},
    "open_group": {"group_member", "member"},
    "confidential_group": {"group_member"},
}
ROLES = ("anonymous", "member", "group_member", "lead", "moderator", "admin")

ROUTES = [
    ("GET", "/meetings/{m}/agenda", None),
    ("POST", "/meetings/{m}/agenda", {"title": "Neues Thema", "duration_minutes": "10"}),
    ("GET", "/meetings/{m}/agenda/{i}/edit", None),
    ("POST", "/meetings/{m}/agenda/{i}/edit", {"title": "Geändert"}),
    ("POST", "/meetings/{m}/agenda/{i}/move", {"direction": "down", "position": "0"}),
    ("POST", "/meetings/{m}/agenda/{i}/delete", {}),
]


def _expected(meeting_key: str, role: str, method: str) -> int:
    if role == "anonymous":
        return 302  # to the login page
    if role in MANAGERS[meeting_key]:
        return 200 if method == "GET" else 303
    return 403 if role in VIEWERS[meeting_key] else 404


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("meeting_key", list(MANAGERS))
@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, login, world, role, meeting_key, route):
    method, path, data = route
    meeting = world.meetings[meeting_key]
    first, _second = _add(app, meeting.id, "Begrüßung", "Berichte")
    before = _snapshot(app)
    client = _client(app, login, world, role)
    url = path.format(m=meeting.id, i=first)
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == _expected(meeting_key, role, method)
    if role == "anonymous":
        assert "/auth/login" in response.headers["Location"]
    if response.status_code != 303:
        assert _snapshot(app) == before


def test_agenda_page_lists_items_and_offers_the_add_form(app, login, world):
    meeting = world.meetings["network"]
    _add(app, meeting.id, "Begrüßung", "Berichte aus den AGs")
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda").text
    assert page.index("Begrüßung") < page.index("Berichte aus den AGs")
    assert f'action="/meetings/{meeting.id}/agenda"' in page
    assert 'name="title"' in page and 'name="duration_minutes"' in page
    assert 'class="privacy-reminder"' in page
    assert 'name="outcome"' not in page


# --- adding, editing, removing --------------------------------------------------------------


def test_moderator_adds_items_at_the_end(app, login, world):
    meeting = world.meetings["network"]
    client = login(world.users["moderator"])
    for title in ("Begrüßung", "Berichte", "Verschiedenes"):
        response = client.post(
            f"/meetings/{meeting.id}/agenda",
            data={"title": f"  {title} ", "notes": "**fett**", "duration_minutes": "15"},
        )
        assert response.status_code == 303
    assert _order(app, meeting.id) == [(0, "Begrüßung"), (1, "Berichte"), (2, "Verschiedenes")]
    with app.app_context():
        item = db.session.scalar(sa.select(AgendaItem).where(AgendaItem.title == "Berichte"))
        assert item.notes == "**fett**"
        assert item.duration_minutes == 15
        assert item.outcome is None


def test_add_redirects_to_the_new_item(app, login, world):
    meeting = world.meetings["network"]
    response = login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda", data={"title": "Begrüßung"}
    )
    with app.app_context():
        item_id = db.session.scalar(sa.select(AgendaItem.id))
    assert response.headers["Location"] == f"/meetings/{meeting.id}/agenda#item-{item_id}"


def test_duration_is_optional(app, login, world):
    meeting = world.meetings["network"]
    login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda", data={"title": "Offene Runde", "duration_minutes": ""}
    )
    with app.app_context():
        assert db.session.scalar(sa.select(AgendaItem.duration_minutes)) is None


def test_double_submit_of_add_keeps_positions_dense(app, login, world):
    meeting = world.meetings["network"]
    _add(app, meeting.id, "Begrüßung")
    client = login(world.users["moderator"])
    data = {"title": "Berichte", "duration_minutes": "20"}
    assert client.post(f"/meetings/{meeting.id}/agenda", data=data).status_code == 303
    assert client.post(f"/meetings/{meeting.id}/agenda", data=data).status_code == 303
    assert _order(app, meeting.id) == [(0, "Begrüßung"), (1, "Berichte"), (2, "Berichte")]


def test_lead_edits_an_item_of_their_group_meeting(app, login, world):
    meeting = world.meetings["open_group"]
    (item_id,) = _add(app, meeting.id, "Alt")
    response = login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/edit",
        data={"title": "Neu", "notes": "Hintergrund", "duration_minutes": "30"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/agenda#item-{item_id}"
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert (item.title, item.notes, item.duration_minutes) == ("Neu", "Hintergrund", 30)


def test_edit_form_is_filled_with_the_item(app, login, world):
    meeting = world.meetings["network"]
    (item_id,) = _add(app, meeting.id, "Wegweiser-Projekt", duration_minutes=25)
    page = (
        login(world.users["moderator"])
        .get(f"/meetings/{meeting.id}/agenda/{item_id}/edit", headers=EN)
        .text
    )
    assert 'value="Wegweiser-Projekt"' in page
    assert 'value="25"' in page
    assert 'id="outcome-later"' in page


def test_removing_an_item_closes_the_gap(app, login, world):
    meeting = world.meetings["network"]
    ids = _add(app, meeting.id, "A", "B", "C", "D")
    client = login(world.users["moderator"])
    response = client.post(f"/meetings/{meeting.id}/agenda/{ids[1]}/delete")
    assert response.status_code == 303
    assert _order(app, meeting.id) == [(0, "A"), (1, "C"), (2, "D")]
    client.post(f"/meetings/{meeting.id}/agenda/{ids[0]}/delete")
    assert _order(app, meeting.id) == [(0, "C"), (1, "D")]


def test_removing_twice_answers_404_the_second_time(app, login, world):
    meeting = world.meetings["network"]
    ids = _add(app, meeting.id, "A", "B")
    client = login(world.users["moderator"])
    assert client.post(f"/meetings/{meeting.id}/agenda/{ids[0]}/delete").status_code == 303
    assert client.post(f"/meetings/{meeting.id}/agenda/{ids[0]}/delete").status_code == 404
    assert _order(app, meeting.id) == [(0, "B")]


# --- reordering -----------------------------------------------------------------------------


def _move(client, meeting_id: int, item_id: int, direction: str, position: int | None = None):
    data = {"direction": direction}
    if position is not None:
        data["position"] = str(position)
    return client.post(f"/meetings/{meeting_id}/agenda/{item_id}/move", data=data)


def test_move_up_and_down(app, login, world):
    meeting = world.meetings["network"]
    a, b, c = _add(app, meeting.id, "A", "B", "C")
    client = login(world.users["moderator"])
    response = _move(client, meeting.id, c, "up", 2)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/agenda?moved=up#item-{c}"
    assert _order(app, meeting.id) == [(0, "A"), (1, "C"), (2, "B")]
    _move(client, meeting.id, a, "down", 0)
    assert _order(app, meeting.id) == [(0, "C"), (1, "A"), (2, "B")]


def test_moving_beyond_the_ends_changes_nothing(app, login, world):
    meeting = world.meetings["network"]
    a, _b, c = _add(app, meeting.id, "A", "B", "C")
    client = login(world.users["moderator"])
    assert _move(client, meeting.id, a, "up", 0).status_code == 303
    assert _move(client, meeting.id, c, "down", 2).status_code == 303
    assert _order(app, meeting.id) == [(0, "A"), (1, "B"), (2, "C")]


def test_double_submit_of_move_moves_once(app, login, world):
    meeting = world.meetings["network"]
    _a, _b, c = _add(app, meeting.id, "A", "B", "C")
    client = login(world.users["moderator"])
    # The same button twice: both requests carry the position the page showed.
    assert _move(client, meeting.id, c, "up", 2).status_code == 303
    assert _move(client, meeting.id, c, "up", 2).status_code == 303
    assert _order(app, meeting.id) == [(0, "A"), (1, "C"), (2, "B")]


def test_moves_without_a_position_keep_positions_dense_and_unique(app, login, world):
    meeting = world.meetings["network"]
    _a, b, _c, _d = _add(app, meeting.id, "A", "B", "C", "D")
    client = login(world.users["moderator"])
    for _ in range(3):
        assert _move(client, meeting.id, b, "down").status_code == 303
    assert _order(app, meeting.id) == [(0, "A"), (1, "C"), (2, "D"), (3, "B")]


def test_moving_repairs_gaps_and_ties_left_in_the_data(app, login, world):
    meeting = world.meetings["network"]
    with app.app_context():
        for position, title in ((3, "A"), (7, "B"), (7, "C")):
            db.session.add(AgendaItem(meeting_id=meeting.id, position=position, title=title))
        db.session.commit()
        c = db.session.scalar(sa.select(AgendaItem.id).where(AgendaItem.title == "C"))
    _move(login(world.users["moderator"]), meeting.id, c, "up", 2)
    assert _order(app, meeting.id) == [(0, "A"), (1, "C"), (2, "B")]


@pytest.mark.parametrize(
    "data",
    [{}, {"direction": "sideways"}, {"direction": "up", "position": "abc"}, {"direction": NUL}],
    ids=["missing", "sideways", "bad position", "nul"],
)
def test_bad_move_requests_are_refused(app, login, world, data):
    meeting = world.meetings["network"]
    _a, b = _add(app, meeting.id, "A", "B")
    response = login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda/{b}/move", data=data
    )
    assert response.status_code == 400
    assert _order(app, meeting.id) == [(0, "A"), (1, "B")]


def test_first_and_last_items_offer_one_move_button(app, login, world):
    meeting = world.meetings["network"]
    a, b, c = _add(app, meeting.id, "A", "B", "C")
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda").text
    assert f"/agenda/{a}/move" in page and f"/agenda/{c}/move" in page
    assert page.count(f"/agenda/{a}/move") == 1
    assert page.count(f"/agenda/{b}/move") == 2
    assert page.count(f"/agenda/{c}/move") == 1


# --- foreign and unknown ids ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("GET", "edit", None),
        ("POST", "edit", {"title": "Gekapert"}),
        ("POST", "move", {"direction": "up"}),
        ("POST", "delete", {}),
    ],
)
def test_items_of_another_meeting_answer_404(app, login, world, method, suffix, data):
    mine = world.meetings["network"]
    other = world.meetings["public"]
    _add(app, mine.id, "Meins")
    _x, foreign = _add(app, other.id, "Fremd 1", "Fremd 2")
    before = _snapshot(app)
    client = login(world.users["admin"])
    url = f"/meetings/{mine.id}/agenda/{foreign}/{suffix}"
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == 404
    assert _snapshot(app) == before


@pytest.mark.parametrize(
    "path",
    [
        "/meetings/99999/agenda",
        "/meetings/99999999999999999999/agenda",
        "/meetings/{m}/agenda/99999/edit",
        "/meetings/{m}/agenda/99999999999999999999/edit",
        "/meetings/{m}/agenda/-1/edit",
        "/meetings/{m}/agenda/abc/edit",
    ],
)
def test_unknown_ids_answer_404(login, world, path):
    meeting = world.meetings["network"]
    response = login(world.users["admin"]).get(path.format(m=meeting.id))
    assert response.status_code == 404


# --- bad input ------------------------------------------------------------------------------


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
        ("duration_minutes", "0"),
        ("duration_minutes", "-5"),
        ("duration_minutes", "1441"),
        ("duration_minutes", "99999"),
        ("duration_minutes", "99999999999999999999"),
        ("duration_minutes", "abc"),
        ("duration_minutes", "1.5"),
        ("duration_minutes", NUL),
    ],
)
def test_bad_input_on_add_is_shown_beside_the_field(app, login, world, field, value):
    meeting = world.meetings["network"]
    data = {"title": "Berichte", "notes": "", "duration_minutes": "10", field: value}
    response = login(world.users["moderator"]).post(f"/meetings/{meeting.id}/agenda", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert _snapshot(app) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", HUGE),
        ("title", NUL),
        ("notes", NUL),
        ("duration_minutes", "0"),
        ("duration_minutes", "-5"),
        ("duration_minutes", "99999"),
        ("duration_minutes", "abc"),
        ("outcome", "maybe"),
        ("outcome", NUL),
        ("outcome_note", HUGE),
        ("outcome_note", NUL),
    ],
)
def test_bad_input_on_edit_is_shown_and_nothing_changes(app, login, world, field, value):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id)
    (item_id,) = _add(app, meeting.id, "Berichte")
    before = _snapshot(app)
    data = {"title": "Neu", "duration_minutes": "10", "outcome": "decision", field: value}
    response = login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/edit", data=data
    )
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert _snapshot(app) == before


def test_a_list_where_a_value_belongs_is_not_a_500(app, login, world):
    meeting = world.meetings["network"]
    response = login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda",
        data={"title": ["a", "b"], "duration_minutes": ["5", "x"]},
    )
    assert response.status_code in (200, 303)


def test_unicode_titles_are_kept(app, login, world):
    title = "Ünïcödé محمد 🚀 Łódź"
    meeting = world.meetings["network"]
    login(world.users["moderator"]).post(f"/meetings/{meeting.id}/agenda", data={"title": title})
    assert _order(app, meeting.id) == [(0, title)]


# --- outcomes -------------------------------------------------------------------------------


def test_outcome_fields_are_not_offered_before_the_meeting(app, login, world):
    meeting = world.meetings["network"]
    (item_id,) = _add(app, meeting.id, "Berichte")
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda/{item_id}/edit")
    assert 'name="outcome"' not in page.text
    assert 'name="outcome_note"' not in page.text


def test_outcomes_posted_before_the_meeting_are_ignored(app, login, world):
    meeting = world.meetings["network"]
    (item_id,) = _add(app, meeting.id, "Berichte")
    login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/agenda/{item_id}/edit",
        data={"title": "Berichte", "outcome": "decision", "outcome_note": "Beschlossen"},
    )
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item.outcome is None and item.outcome_note == ""


def test_service_refuses_outcomes_before_the_meeting(app, world):
    meeting = world.meetings["network"]
    (item_id,) = _add(app, meeting.id, "Berichte")
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        with pytest.raises(services.OutcomeTooEarly):
            services.update_item(item, title="Berichte", outcome=AgendaOutcome.DECISION, actor=None)


def test_outcomes_are_recorded_once_the_meeting_started(app, login, world):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id)
    (item_id,) = _add(app, meeting.id, "Wohnungssuche")
    client = login(world.users["moderator"])
    page = client.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert 'name="outcome"' in page and 'name="outcome_note"' in page
    response = client.post(
        f"/meetings/{meeting.id}/agenda/{item_id}/edit",
        data={"title": "Wohnungssuche", "outcome": "action", "outcome_note": "Leitfaden bis Mai"},
    )
    assert response.status_code == 303
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        assert item.outcome is AgendaOutcome.ACTION
        assert item.outcome_note == "Leitfaden bis Mai"


def test_an_outcome_can_be_cleared_again(app, login, world):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id)
    (item_id,) = _add(app, meeting.id, "Berichte")
    client = login(world.users["moderator"])
    url = f"/meetings/{meeting.id}/agenda/{item_id}/edit"
    client.post(url, data={"title": "Berichte", "outcome": "information"})
    client.post(url, data={"title": "Berichte", "outcome": ""})
    with app.app_context():
        assert db.session.get(AgendaItem, item_id).outcome is None


def test_cancelled_meetings_take_no_outcomes(app, login, world):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id)
    with app.app_context():
        db.session.get(Meeting, meeting.id).status = MeetingStatus.CANCELLED
        db.session.commit()
    (item_id,) = _add(app, meeting.id, "Berichte")
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda/{item_id}/edit")
    assert 'name="outcome"' not in page.text


def test_agenda_page_shows_outcome_column_after_the_start(app, login, world):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id)
    (item_id,) = _add(app, meeting.id, "Berichte")
    with app.app_context():
        db.session.get(AgendaItem, item_id).outcome = AgendaOutcome.DECISION
        db.session.commit()
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda", headers=EN).text
    assert "Outcome" in page
    assert 'class="agenda-outcome outcome-decision"' in page


# --- times and durations --------------------------------------------------------------------


def test_planned_start_times_are_cumulative_in_local_time(app, make_meeting, login, world):
    from datetime import UTC, datetime

    # 15 January: Berlin is UTC+1, so 16:00 UTC is 17:00 local time.
    meeting = make_meeting(
        starts_at=datetime(2030, 1, 15, 16, 0, tzinfo=UTC),
        ends_at=datetime(2030, 1, 15, 18, 0, tzinfo=UTC),
    )
    _add(app, meeting.id, "Begrüßung", duration_minutes=10)
    _add(app, meeting.id, "Berichte", duration_minutes=45)
    _add(app, meeting.id, "Offene Runde")
    _add(app, meeting.id, "Verschiedenes", duration_minutes=5)
    with app.app_context():
        agenda = services.agenda_for(db.session.get(Meeting, meeting.id))
        starts = [entry.planned_start for entry in agenda.entries]
        assert starts[0] == datetime(2030, 1, 15, 16, 0, tzinfo=UTC)
        assert starts[1] == datetime(2030, 1, 15, 16, 10, tzinfo=UTC)
        assert starts[2] == datetime(2030, 1, 15, 16, 55, tzinfo=UTC)
        assert starts[3] is None  # the item before it has no duration
        assert agenda.total_minutes == 60
        assert agenda.overrun_minutes == 0
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda", headers=EN).text
    assert 'datetime="2030-01-15T16:10:00+00:00"' in page
    assert "5:10" in page  # 17:10 local, "5:10 PM" in English
    assert "Total planned time: 1 hour" in page


def test_planned_times_follow_summer_time(app, make_meeting):
    from datetime import UTC, datetime

    meeting = make_meeting(
        starts_at=datetime(2030, 7, 9, 15, 0, tzinfo=UTC),
        ends_at=datetime(2030, 7, 9, 16, 0, tzinfo=UTC),
    )
    _add(app, meeting.id, "Lang", duration_minutes=90)
    with app.test_request_context(headers={"Accept-Language": "de"}):
        html = render_template("meetings/_agenda.html", meeting=db.session.get(Meeting, meeting.id))
    assert ">17:00</time>" in html  # 15:00 UTC is 17:00 in Berlin in July
    with app.app_context():
        agenda = services.agenda_for(db.session.get(Meeting, meeting.id))
        assert agenda.overrun_minutes == 30


def test_all_day_meetings_show_no_planned_times(app, make_meeting):
    from datetime import UTC, datetime

    meeting = make_meeting(
        starts_at=datetime(2030, 1, 14, 23, 0, tzinfo=UTC),
        ends_at=datetime(2030, 1, 15, 23, 0, tzinfo=UTC),
        is_all_day=True,
    )
    _add(app, meeting.id, "Workshop", duration_minutes=60)
    with app.app_context():
        agenda = services.agenda_for(db.session.get(Meeting, meeting.id))
        assert agenda.entries[0].planned_start is None
        assert agenda.total_minutes == 60


def test_overrun_warning_on_the_agenda_page(app, login, world):
    meeting = world.meetings["network"]  # two hours long
    _add(app, meeting.id, "Alles", duration_minutes=150)
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/agenda", headers=EN).text
    assert "agenda-overrun" in page
    assert "30 min longer than the meeting" in page


# --- the meeting page's partial -------------------------------------------------------------


def _render(app, template: str, meeting_id: int, user: User | None) -> str:
    with app.test_request_context("/", headers=EN):
        if user is not None:
            login_user(db.session.get(User, user.id))
        return render_template(template, meeting=db.session.get(Meeting, meeting_id))


def _filled_agenda(app, meeting_id: int) -> list[int]:
    ids = _add(app, meeting_id, "Begrüßung", duration_minutes=10)
    ids += _add(app, meeting_id, "Bericht <b>AG</b>", notes="[x](javascript:alert(1)) **wichtig**")
    return ids


def test_partial_for_a_visitor_shows_the_public_agenda(app, world):
    meeting = world.meetings["public"]
    first, second = _filled_agenda(app, meeting.id)
    html = _render(app, "meetings/_agenda.html", meeting.id, None)
    assert 'id="agenda"' in html
    assert html.index(f'id="agenda-item-{first}"') < html.index(f'id="agenda-item-{second}"')
    assert "Bericht &lt;b&gt;AG&lt;/b&gt;" in html
    assert "<strong>wichtig</strong>" in html
    assert re.search(r"<a [^>]*href=\"javascript:", html) is None
    assert "(10 min)" in html
    assert "edit-agenda-link" not in html


def test_partial_for_a_member_has_no_edit_link(app, world):
    meeting = world.meetings["network"]
    _filled_agenda(app, meeting.id)
    html = _render(app, "meetings/_agenda.html", meeting.id, world.users["member"])
    assert 'class="agenda-list"' in html
    assert "Agenda" in html
    assert "edit-agenda-link" not in html


def test_partial_for_a_manager_links_to_the_editor(app, world):
    meeting = world.meetings["open_group"]
    _filled_agenda(app, meeting.id)
    html = _render(app, "meetings/_agenda.html", meeting.id, world.users["lead"])
    assert f'href="/meetings/{meeting.id}/agenda"' in html
    assert "Edit agenda" in html


def test_empty_agenda_is_hidden_from_readers_and_offered_to_managers(app, world):
    meeting = world.meetings["network"]
    assert _render(app, "meetings/_agenda.html", meeting.id, world.users["member"]).strip() == ""
    assert _render(app, "meetings/_agenda.html", meeting.id, None).strip() == ""
    html = _render(app, "meetings/_agenda.html", meeting.id, world.users["moderator"])
    assert "No agenda yet." in html and 'id="edit-agenda-link"' in html


def test_partial_shows_recorded_outcomes(app, world):
    meeting = world.meetings["network"]
    _start_meeting(app, meeting.id, hours_ago=3)
    (item_id,) = _add(app, meeting.id, "Berichte")
    with app.app_context():
        item = db.session.get(AgendaItem, item_id)
        item.outcome = AgendaOutcome.ACTION
        item.outcome_note = "Flyer drucken"
        db.session.commit()
    html = _render(app, "meetings/_agenda.html", meeting.id, world.users["member"])
    assert 'class="agenda-outcome outcome-action"' in html
    assert "Action agreed" in html and "Flyer drucken" in html


def test_agenda_for_uses_one_query(app, world):
    meeting = world.meetings["network"]
    _add(app, meeting.id, "A", "B", "C", "D", "E")
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        loaded = db.session.get(Meeting, meeting.id)
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
        try:
            agenda = services.agenda_for(loaded)
            [entry.item.title for entry in agenda.entries]
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_the_meeting_page_shows_agenda_and_minutes_to_visitors(app, world):
    meeting = world.meetings["public"]
    (item_id,) = _add(app, meeting.id, "Begrüßung", duration_minutes=10)
    with app.app_context():
        services.save_minutes(
            db.session.get(Meeting, meeting.id),
            body="Öffentliches Protokoll",
            actor=db.session.get(User, world.users["moderator"].id),
            publish=True,
        )
        db.session.commit()
    page = app.test_client().get(f"/meetings/{meeting.id}", headers=EN).text
    assert f'id="agenda-item-{item_id}"' in page
    assert 'id="minutes"' in page and "Öffentliches Protokoll" in page
    assert "edit-agenda-link" not in page and "edit-minutes-link" not in page


# --- concurrent requests (real commits) -----------------------------------------------------


def _run_together(functions):
    """Start all functions at the same moment in threads; return their results."""
    barrier = threading.Barrier(len(functions))
    results = [0] * len(functions)
    errors = []

    def run(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.fixture
def committed_agenda(committing_app):
    """A moderator and a meeting with items A, B, C, committed for real."""
    from coordination.auth.services import create_user

    with committing_app.test_request_context():
        moderator = create_user(
            email="mod@example.org", name="Mo", password="a long passphrase", role=Role.MODERATOR
        )
        start = utcnow() + timedelta(days=3)
        meeting = Meeting(title="Treffen", starts_at=start, ends_at=start + timedelta(hours=2))
        db.session.add(meeting)
        db.session.flush()
        ids = [services.add_item(meeting, title=t, actor=None).id for t in ("A", "B", "C")]
        db.session.commit()
        return committing_app, moderator.id, meeting.id, ids


def _committed_client(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
    return log_in(app, app.test_client(), user)


def test_concurrent_adds_and_moves_keep_positions_dense_and_unique(committed_agenda):
    app, moderator_id, meeting_id, (_a, b, c) = committed_agenda

    def add(number):
        client = _committed_client(app, moderator_id)
        return lambda: (
            client.post(
                f"/meetings/{meeting_id}/agenda", data={"title": f"Neu {number}"}
            ).status_code
        )

    def move(item_id, direction):
        client = _committed_client(app, moderator_id)
        return lambda: (
            client.post(
                f"/meetings/{meeting_id}/agenda/{item_id}/move", data={"direction": direction}
            ).status_code
        )

    calls = [add(n) for n in range(5)] + [move(b, "down"), move(c, "up"), move(b, "up")]
    assert set(_run_together(calls)) == {303}
    with app.app_context():
        positions = db.session.scalars(
            sa.select(AgendaItem.position)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        ).all()
    assert positions == list(range(8))


def test_concurrent_repeats_of_one_move_button_move_once(committed_agenda):
    app, moderator_id, meeting_id, (_a, _b, c) = committed_agenda

    def click():
        client = _committed_client(app, moderator_id)
        return lambda: (
            client.post(
                f"/meetings/{meeting_id}/agenda/{c}/move", data={"direction": "up", "position": "2"}
            ).status_code
        )

    assert set(_run_together([click() for _ in range(4)])) == {303}
    with app.app_context():
        titles = db.session.scalars(
            sa.select(AgendaItem.title)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        ).all()
    assert titles == ["A", "C", "B"]


def test_concurrent_removals_of_one_item_remove_it_once(committed_agenda):
    app, moderator_id, meeting_id, (_a, b, _c) = committed_agenda

    def click():
        client = _committed_client(app, moderator_id)
        return lambda: client.post(f"/meetings/{meeting_id}/agenda/{b}/delete").status_code

    assert sorted(_run_together([click() for _ in range(4)])) == [303, 404, 404, 404]
    with app.app_context():
        rows = db.session.execute(
            sa.select(AgendaItem.position, AgendaItem.title)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        ).all()
    assert [tuple(row) for row in rows] == [(0, "A"), (1, "C")]
