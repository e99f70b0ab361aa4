"""Meeting lists: upcoming and past, filters, visibility, pagination, constant query count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import Meeting, MeetingKind, MeetingStatus, Visibility


def _at(days: float, hours: int = 0):
    return (utcnow() + timedelta(days=days, hours=hours)).replace(microsecond=0)


def _row_ids(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'id="meeting-row-(\d+)"', page)]


def test_upcoming_meetings_soonest_first(users, login, make_meeting):
    later = make_meeting(starts_at=_at(20))
    sooner = make_meeting(starts_at=_at(3))
    make_meeting(starts_at=_at(-3))
    page = login(users["member"]).get("/meetings/").get_data(as_text=True)
    assert _row_ids(page) == [sooner.id, later.id]


def test_past_meetings_latest_first(users, login, make_meeting):
    make_meeting(starts_at=_at(3))
    older = make_meeting(starts_at=_at(-30))
    recent = make_meeting(starts_at=_at(-2))
    page = login(users["member"]).get("/meetings/?when=past").get_data(as_text=True)
    assert _row_ids(page) == [recent.id, older.id]


def test_a_running_meeting_is_still_upcoming(users, login, make_meeting):
    running = make_meeting(starts_at=_at(0, hours=-1))  # started an hour ago, ends in one
    page = login(users["member"]).get("/meetings/").get_data(as_text=True)
    assert _row_ids(page) == [running.id]


def test_filter_by_kind(users, login, make_meeting):
    network = make_meeting(kind=MeetingKind.NETWORK)
    other = make_meeting(kind=MeetingKind.OTHER)
    member = login(users["member"])
    assert _row_ids(member.get("/meetings/?kind=other").get_data(as_text=True)) == [other.id]
    assert _row_ids(member.get("/meetings/?kind=network").get_data(as_text=True)) == [network.id]


def test_filter_by_group(users, login, make_meeting, make_group):
    group = make_group(name="AG Wohnen")
    in_group = make_meeting(group_id=group.id)
    make_meeting()
    page = login(users["member"]).get(f"/meetings/?group={group.id}").get_data(as_text=True)
    assert _row_ids(page) == [in_group.id]
    assert "AG Wohnen" in page


def test_filters_combine_with_past(users, login, make_meeting, make_group):
    group = make_group()
    past = make_meeting(group_id=group.id, starts_at=_at(-5))
    make_meeting(group_id=group.id, starts_at=_at(5))
    make_meeting(starts_at=_at(-5))
    page = login(users["member"]).get(f"/meetings/?when=past&group={group.id}&kind=group")
    assert _row_ids(page.get_data(as_text=True)) == [past.id]


@pytest.mark.parametrize(
    "query",
    [
        "kind=bogus",
        "group=abc",
        "group=99999999999999999999",
        "group=-1",
        "when=future",
        "page=abc",
        "page=-5",
        "page=99999999999",
        "kind=%27%20OR%201%3D1",
        "group=%E2%9C%93",
    ],
)
def test_unknown_filter_values_are_ignored(users, login, make_meeting, query):
    meeting = make_meeting()
    response = login(users["member"]).get(f"/meetings/?{query}")
    assert response.status_code == 200
    if "page=" not in query:
        assert _row_ids(response.get_data(as_text=True)) == [meeting.id]


def test_nul_in_a_filter_is_refused(users, login):
    assert login(users["member"]).get("/meetings/?kind=%00").status_code == 400


def test_filter_by_an_unreadable_group_is_ignored(users, login, make_meeting, make_group):
    secret = make_group(confidentiality=Confidentiality.CONFIDENTIAL, name="AG Geheim")
    make_meeting(group_id=secret.id, visibility=Visibility.GROUP)
    visible = make_meeting()
    page = login(users["member"]).get(f"/meetings/?group={secret.id}").get_data(as_text=True)
    assert _row_ids(page) == [visible.id]
    assert "AG Geheim" not in page


def test_visitors_see_public_meetings_only(client, users, make_meeting, make_group):
    public = make_meeting(visibility=Visibility.PUBLIC, title="Offenes Treffen")
    make_meeting(visibility=Visibility.NETWORK, title="Internes Treffen")
    group = make_group(name="AG Offen")
    make_meeting(visibility=Visibility.GROUP, group_id=group.id)
    response = client.get("/meetings/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _row_ids(page) == [public.id]
    assert "Internes Treffen" not in page
    assert 'name="group"' not in page  # no group filter for visitors
    assert "/meetings/new" not in page


def test_visitors_do_not_see_group_names(client, users, make_meeting, make_group):
    group = make_group(name="AG Sichtbar")
    make_meeting(visibility=Visibility.PUBLIC, group_id=group.id)
    assert "AG Sichtbar" not in client.get("/meetings/").get_data(as_text=True)


def test_confidential_group_meetings_are_absent_for_outsiders(
    users, login, make_meeting, make_group, make_user
):
    insider = make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={insider.id: GroupRole.MEMBER}
    )
    secret = make_meeting(group_id=group.id, visibility=Visibility.GROUP, title="Fallbesprechung")
    open_meeting = make_meeting()
    for user in (users["member"], users["moderator"]):
        page = login(user).get("/meetings/").get_data(as_text=True)
        assert _row_ids(page) == [open_meeting.id]
        assert "Fallbesprechung" not in page
    for user in (insider, users["admin"]):
        page = login(user).get("/meetings/").get_data(as_text=True)
        assert set(_row_ids(page)) == {secret.id, open_meeting.id}


def test_network_visible_meeting_of_a_confidential_group_stays_hidden(
    users, login, make_meeting, make_group
):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    make_meeting(group_id=group.id, visibility=Visibility.NETWORK)
    assert _row_ids(login(users["member"]).get("/meetings/").get_data(as_text=True)) == []


def test_cancelled_meetings_are_listed_with_a_badge(users, login, make_meeting):
    meeting = make_meeting(status=MeetingStatus.CANCELLED, cancelled_at=utcnow())
    page = login(users["member"]).get("/meetings/").get_data(as_text=True)
    assert _row_ids(page) == [meeting.id]
    assert "meeting-cancelled-badge" in page


def test_managers_see_the_schedule_buttons(users, login):
    assert 'href="/meetings/new"' in login(users["moderator"]).get("/meetings/").get_data(
        as_text=True
    )
    assert 'href="/meetings/new"' not in login(users["member"]).get("/meetings/").get_data(
        as_text=True
    )


def test_list_is_paginated(app, users, login):
    with app.app_context():
        for number in range(30):
            db.session.add(
                Meeting(
                    title=f"Treffen {number}",
                    starts_at=_at(number + 1),
                    ends_at=_at(number + 1, hours=2),
                    visibility=Visibility.NETWORK,
                )
            )
        db.session.commit()
    member = login(users["member"])
    first = member.get("/meetings/").get_data(as_text=True)
    second = member.get("/meetings/?page=2").get_data(as_text=True)
    assert len(_row_ids(first)) == 25 and len(_row_ids(second)) == 5
    assert not set(_row_ids(first)) & set(_row_ids(second))
    assert 'rel="next"' in first and "page=2" in first


def test_times_in_the_list_are_local(users, login, make_meeting):
    from datetime import UTC, datetime

    make_meeting(
        starts_at=datetime(2030, 7, 9, 15, 0, tzinfo=UTC),
        ends_at=datetime(2030, 7, 9, 17, 0, tzinfo=UTC),
    )
    page = login(users["member"]).get("/meetings/").get_data(as_text=True)
    assert "17:00" in page and "19:00" in page


def _add_meetings(app, count: int, group_ids: list[int]) -> None:
    with app.app_context():
        for number in range(count):
            group_id = group_ids[number % len(group_ids)] if number % 3 else None
            db.session.add(
                Meeting(
                    title=f"Treffen {number}",
                    kind=MeetingKind.GROUP if group_id else MeetingKind.NETWORK,
                    group_id=group_id,
                    starts_at=_at(number % 50 + 1),
                    ends_at=_at(number % 50 + 1, hours=2),
                    visibility=Visibility.NETWORK if number % 2 else Visibility.PUBLIC,
                    venue_name="VHS Leipzig",
                    status=MeetingStatus.CANCELLED if number % 7 == 0 else MeetingStatus.SCHEDULED,
                )
            )
        db.session.commit()


@pytest.mark.parametrize("viewer", ["anonymous", "member", "admin"])
def test_list_page_uses_a_constant_number_of_queries(app, users, login, make_group, viewer):
    client = app.test_client() if viewer == "anonymous" else login(users[viewer])
    # Many groups, so that loading each row's group lazily would show in the count.
    groups = [
        make_group(confidentiality=Confidentiality.CONFIDENTIAL).id,
        make_group(members={users["member"].id: GroupRole.LEAD}).id,
        *(make_group().id for _ in range(28)),
    ]

    def count_queries(path: str) -> int:
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

    _add_meetings(app, 10, groups)
    few = [count_queries(path) for path in ("/meetings/", f"/meetings/?group={groups[0]}")]
    _add_meetings(app, 190, groups)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 200
    many = [count_queries(path) for path in ("/meetings/", f"/meetings/?group={groups[0]}")]
    assert few == many
