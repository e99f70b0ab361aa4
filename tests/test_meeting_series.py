"""Meeting series: rules, local time across DST, generation ahead, single and following edits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings import services
from coordination.meetings.models import (
    Frequency,
    Meeting,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    Visibility,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _today() -> date:
    return datetime.now(BERLIN).date()


def _series(app, until: date | None = None, **fields) -> int:
    """Create a series through the service; returns its id."""
    values = {
        "title": "Vernetzungstreffen",
        "kind": MeetingKind.NETWORK,
        "frequency": Frequency.WEEKLY,
        "interval": 1,
        "weekday": None,
        "start_date": date(2027, 1, 5),
        "start_time": time(17, 0),
        "duration_minutes": 120,
        "venue_name": "VHS Leipzig",
        "venue_address": "Löhrstraße 3-7, 04105 Leipzig",
        "visibility": Visibility.NETWORK,
    }
    values.update(fields)
    with app.app_context():
        series = services.create_series(actor=None, until=until, **values)
        db.session.commit()
        return series.id


def _occurrences(app, series_id: int | None = None) -> list[Meeting]:
    with app.app_context():
        query = sa.select(Meeting).order_by(Meeting.starts_at, Meeting.id)
        if series_id is not None:
            query = query.where(Meeting.series_id == series_id)
        meetings = list(db.session.scalars(query))
        for meeting in meetings:
            db.session.expunge(meeting)
        return meetings


def _get_series(app, series_id: int) -> MeetingSeries:
    with app.app_context():
        series = db.session.get(MeetingSeries, series_id)
        db.session.expunge(series)
        return series


def _local_days(meetings: list[Meeting]) -> list[date]:
    return [meeting.starts_at.astimezone(BERLIN).date() for meeting in meetings]


def _local_times(meetings: list[Meeting]) -> set[time]:
    return {meeting.starts_at.astimezone(BERLIN).time() for meeting in meetings}


def _series_form(**overrides: str) -> dict[str, str]:
    data = {
        "title": "Vernetzungstreffen",
        "kind": "network",
        "group_id": "",
        "frequency": "monthly_weekday",
        "interval": "1",
        "weekday": "1",
        "week_of_month": "2",
        "day_of_month": "",
        "start_date": (_today() + timedelta(days=1)).isoformat(),
        "until_date": "",
        "start_time": "17:00",
        "end_time": "19:00",
        "venue_name": "VHS Leipzig",
        "venue_address": "Löhrstraße 3-7, 04105 Leipzig",
        "online_url": "",
        "description": "",
        "visibility": "network",
        "capacity": "",
        "registration_closes_hours": "",
    }
    data.update(overrides)
    return data


def _edit_form(meeting: Meeting, **overrides: str) -> dict[str, str]:
    start = meeting.starts_at.astimezone(BERLIN)
    end = meeting.ends_at.astimezone(BERLIN)
    data = {
        "title": meeting.title,
        "kind": meeting.kind.value,
        "group_id": str(meeting.group_id or ""),
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "end_date": "",
        "end_time": end.strftime("%H:%M"),
        "venue_name": meeting.venue_name,
        "venue_address": meeting.venue_address,
        "online_url": meeting.online_url,
        "description": meeting.description,
        "visibility": meeting.visibility.value,
        "capacity": str(meeting.capacity or ""),
        "is_registration_open": "y",
        "scope": "this",
    }
    data.update(overrides)
    return data


def _future_weekly(app, **fields) -> int:
    """A weekly series from next week, generated 12 months ahead."""
    start = _today() + timedelta(days=7)
    return _series(app, start_date=start, weekday=start.weekday(), **fields)


# --- rules -------------------------------------------------------------------------------------


def test_weekly_series(app):
    series_id = _series(app, until=date(2027, 2, 28))
    days = _local_days(_occurrences(app, series_id))
    assert days == [date(2027, 1, 5) + timedelta(weeks=n) for n in range(8)]


def test_every_two_weeks_on_a_given_weekday(app):
    series_id = _series(app, until=date(2027, 3, 1), interval=2, weekday=3)  # Thursdays
    days = _local_days(_occurrences(app, series_id))
    assert days == [date(2027, 1, 7), date(2027, 1, 21), date(2027, 2, 4), date(2027, 2, 18)]


def test_second_tuesday_of_the_month(app):
    series_id = _series(
        app,
        until=date(2027, 6, 30),
        frequency=Frequency.MONTHLY_WEEKDAY,
        weekday=1,
        week_of_month=2,
        start_date=date(2027, 1, 1),
    )
    days = _local_days(_occurrences(app, series_id))
    assert days == [
        date(2027, 1, 12),
        date(2027, 2, 9),
        date(2027, 3, 9),
        date(2027, 4, 13),
        date(2027, 5, 11),
        date(2027, 6, 8),
    ]


def test_last_thursday_of_the_month(app):
    series_id = _series(
        app,
        until=date(2027, 6, 30),
        frequency=Frequency.MONTHLY_WEEKDAY,
        weekday=3,
        week_of_month=-1,
        start_date=date(2027, 1, 1),
    )
    days = _local_days(_occurrences(app, series_id))
    assert days == [
        date(2027, 1, 28),
        date(2027, 2, 25),
        date(2027, 3, 25),
        date(2027, 4, 29),
        date(2027, 5, 27),
        date(2027, 6, 24),
    ]


def test_the_31st_skips_shorter_months(app):
    series_id = _series(
        app,
        until=date(2027, 12, 31),
        frequency=Frequency.MONTHLY_DAY,
        day_of_month=31,
        start_date=date(2027, 1, 1),
    )
    days = _local_days(_occurrences(app, series_id))
    assert [day.month for day in days] == [1, 3, 5, 7, 8, 10, 12]
    assert {day.day for day in days} == {31}


def test_every_three_months_on_the_15th(app):
    series_id = _series(
        app,
        until=date(2027, 12, 31),
        frequency=Frequency.MONTHLY_DAY,
        interval=3,
        day_of_month=15,
        start_date=date(2027, 2, 1),
    )
    days = _local_days(_occurrences(app, series_id))
    assert days == [date(2027, 2, 15), date(2027, 5, 15), date(2027, 8, 15), date(2027, 11, 15)]


def test_a_rule_that_never_matches_ends(app):
    # February never has a 30th: every 12 months from February yields nothing, and stops.
    series_id = _series(
        app,
        until=date(2030, 12, 31),
        frequency=Frequency.MONTHLY_DAY,
        interval=12,
        day_of_month=30,
        start_date=date(2027, 2, 1),
    )
    assert _occurrences(app, series_id) == []


def test_until_date_is_inclusive(app):
    series_id = _series(app, until=date(2027, 12, 31), until_date=date(2027, 1, 19))
    assert _local_days(_occurrences(app, series_id)) == [
        date(2027, 1, 5),
        date(2027, 1, 12),
        date(2027, 1, 19),
    ]


# --- local time across DST ---------------------------------------------------------------------


def test_series_keeps_17_local_across_both_dst_switches(app):
    series_id = _series(app, until=date(2027, 12, 31), start_date=date(2027, 1, 5))
    meetings = _occurrences(app, series_id)
    assert len(meetings) == 52
    assert _local_times(meetings) == {time(17, 0)}
    by_day = {meeting.starts_at.astimezone(BERLIN).date(): meeting for meeting in meetings}
    # Before the spring switch (28 March 2027), in summer, and after the autumn switch (31 Oct).
    assert by_day[date(2027, 3, 23)].starts_at == datetime(2027, 3, 23, 16, 0, tzinfo=UTC)
    assert by_day[date(2027, 3, 30)].starts_at == datetime(2027, 3, 30, 15, 0, tzinfo=UTC)
    assert by_day[date(2027, 10, 26)].starts_at == datetime(2027, 10, 26, 15, 0, tzinfo=UTC)
    assert by_day[date(2027, 11, 2)].starts_at == datetime(2027, 11, 2, 16, 0, tzinfo=UTC)
    assert {meeting.ends_at - meeting.starts_at for meeting in meetings} == {timedelta(hours=2)}


def test_series_slot_is_the_generated_start(app):
    series_id = _series(app, until=date(2027, 2, 1))
    for meeting in _occurrences(app, series_id):
        assert meeting.series_slot == meeting.starts_at
        assert not meeting.is_detached and meeting.sequence == 0


def test_a_time_in_the_spring_gap_moves_past_it(app):
    # Sundays at 02:30: on 28 March 2027 that time does not exist; the meeting is at 03:30.
    series_id = _series(
        app,
        until=date(2027, 4, 4),
        start_date=date(2027, 3, 21),
        start_time=time(2, 30),
        duration_minutes=60,
    )
    starts = [meeting.starts_at.astimezone(BERLIN) for meeting in _occurrences(app, series_id)]
    assert [start.strftime("%m-%d %H:%M") for start in starts] == [
        "03-21 02:30",
        "03-28 03:30",
        "04-04 02:30",
    ]


def test_registration_closes_hours_before_each_occurrence(app):
    series_id = _series(app, until=date(2027, 1, 31), registration_closes_hours=24)
    for meeting in _occurrences(app, series_id):
        assert meeting.registration_closes_at == meeting.starts_at - timedelta(hours=24)


# --- generation ahead and the CLI --------------------------------------------------------------


def test_series_is_generated_twelve_months_ahead(app):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    horizon = services.add_months(_today(), 12)
    assert _get_series(app, series_id).generated_until == horizon
    assert _local_days(meetings)[-1] > horizon - timedelta(days=7)
    assert _local_days(meetings)[-1] <= horizon
    assert len(meetings) in (52, 53)


def test_cli_extend_generates_up_to_twelve_months_and_is_idempotent(app, runner):
    start = _today()
    series_id = _series(
        app, until=start + timedelta(days=30), start_date=start, weekday=start.weekday()
    )
    before = len(_occurrences(app, series_id))
    assert before in (4, 5)
    result = runner.invoke(args=["meetings", "extend"])
    assert result.exit_code == 0, result.output
    after = len(_occurrences(app, series_id))
    assert after in (52, 53)
    assert _get_series(app, series_id).generated_until == services.add_months(start, 12)
    again = runner.invoke(args=["meetings", "extend"])
    assert again.exit_code == 0
    assert again.output.startswith("0 meetings")
    assert len(_occurrences(app, series_id)) == after


def test_extend_respects_the_end_date_and_skips_ended_series(app, runner):
    start = _today()
    series_id = _series(
        app,
        until=start + timedelta(days=10),
        start_date=start,
        until_date=start + timedelta(days=60),
    )
    runner.invoke(args=["meetings", "extend"])
    days = _local_days(_occurrences(app, series_id))
    assert days[-1] <= start + timedelta(days=60)
    assert _get_series(app, series_id).generated_until == start + timedelta(days=60)
    with app.app_context():
        assert series_id not in {series.id for series in services.open_series()}


def test_extend_never_duplicates_a_moved_occurrence(app, runner):
    series_id = _future_weekly(app)
    first = _occurrences(app, series_id)[0]
    with app.app_context():
        meeting = db.session.get(Meeting, first.id)
        services.update_meeting(
            meeting,
            actor=None,
            starts_at=meeting.starts_at + timedelta(days=1),
            ends_at=meeting.ends_at + timedelta(days=1),
        )
        series = db.session.get(MeetingSeries, series_id)
        series.generated_until = None  # as if it had never run
        db.session.commit()
    count = len(_occurrences(app, series_id))
    runner.invoke(args=["meetings", "extend"])
    assert len(_occurrences(app, series_id)) == count


# --- creating a series through the form --------------------------------------------------------


def test_moderator_creates_a_series(app, users, login):
    response = login(users["moderator"]).post("/meetings/series/new", data=_series_form())
    assert response.status_code == 303
    with app.app_context():
        series = db.session.scalar(sa.select(MeetingSeries))
        assert response.headers["Location"] == f"/meetings/series/{series.id}"
        assert (series.frequency, series.weekday, series.week_of_month) == (
            Frequency.MONTHLY_WEEKDAY,
            1,
            2,
        )
        assert series.duration_minutes == 120
        assert series.created_by_id == users["moderator"].id
    meetings = _occurrences(app)
    assert len(meetings) in (12, 13)
    assert {day.weekday() for day in _local_days(meetings)} == {1}
    assert {(day.day - 1) // 7 for day in _local_days(meetings)} == {1}
    assert _local_times(meetings) == {time(17, 0)}


def test_rule_details_default_to_the_first_date(app, users, login):
    start = _today() + timedelta(days=3)
    login(users["moderator"]).post(
        "/meetings/series/new",
        data=_series_form(
            frequency="monthly_day", weekday="", week_of_month="", start_date=start.isoformat()
        ),
    )
    with app.app_context():
        series = db.session.scalar(sa.select(MeetingSeries))
        assert series.day_of_month == start.day
        assert series.weekday is None and series.week_of_month is None


def test_series_form_last_weekday(app, users, login):
    login(users["moderator"]).post(
        "/meetings/series/new", data=_series_form(weekday="3", week_of_month="-1")
    )
    days = _local_days(_occurrences(app))
    assert days and all(
        day.weekday() == 3 and (day + timedelta(days=7)).month != day.month for day in days
    )


def test_lead_creates_a_series_for_their_group(app, users, login, make_group):
    group = make_group(members={users["member"].id: GroupRole.LEAD})
    response = login(users["member"]).post(
        "/meetings/series/new",
        data=_series_form(kind="group", group_id=str(group.id), visibility="group"),
    )
    assert response.status_code == 303
    assert {meeting.group_id for meeting in _occurrences(app)} == {group.id}


def test_member_cannot_create_a_series(app, users, login):
    member = login(users["member"])
    assert member.get("/meetings/series/new").status_code == 403
    assert member.post("/meetings/series/new", data=_series_form()).status_code == 403
    assert _occurrences(app) == []


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("end_time", {"end_time": "16:00"}),
        ("until_date", {"until_date": "2000-01-01"}),
        ("start_date", {"start_date": "2020-01-07"}),
        ("interval", {"interval": "0"}),
        ("interval", {"interval": "13"}),
        ("interval", {"interval": "abc"}),
        ("day_of_month", {"day_of_month": "32"}),
        ("weekday", {"weekday": "7"}),
        ("week_of_month", {"week_of_month": "5"}),
        ("frequency", {"frequency": "daily"}),
        ("start_date", {"start_date": ""}),
        ("start_time", {"start_time": "99:00"}),
        ("title", {"title": "x" * 100_000}),
        ("description", {"description": "\x00"}),
        ("registration_closes_hours", {"registration_closes_hours": "-1"}),
        ("allows_guests", {"allows_guests": "y"}),
        ("visibility", {"visibility": "group"}),
    ],
)
def test_series_form_validation(app, users, login, field, overrides):
    response = login(users["moderator"]).post(
        "/meetings/series/new", data=_series_form(**overrides)
    )
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MeetingSeries.id))) == 0


def test_series_without_any_date_in_range_is_refused(app, users, login):
    start = date(2027, 3, 1)
    response = login(users["moderator"]).post(
        "/meetings/series/new",
        data=_series_form(
            frequency="monthly_day",
            day_of_month="31",
            start_date=start.isoformat(),
            until_date=date(2027, 3, 2).isoformat(),
        ),
    )
    assert response.status_code == 200
    assert 'id="until_date-error"' in response.get_data(as_text=True)


def test_confidential_group_series_must_be_group_visible(app, users, login, make_group):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    response = login(users["admin"]).post(
        "/meetings/series/new",
        data=_series_form(kind="group", group_id=str(group.id), visibility="network"),
    )
    assert response.status_code == 200
    assert 'id="visibility-error"' in response.get_data(as_text=True)


# --- the series page ---------------------------------------------------------------------------


def test_series_page_for_managers(app, users, login):
    series_id = _future_weekly(app)
    page = login(users["moderator"]).get(f"/meetings/series/{series_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    first = _occurrences(app, series_id)[0]
    assert f'href="/meetings/{first.id}"' in html
    assert f'action="/meetings/series/{series_id}/end"' in html


def test_series_page_is_403_for_members_and_login_for_visitors(app, users, login, client):
    series_id = _future_weekly(app)
    assert login(users["member"]).get(f"/meetings/series/{series_id}").status_code == 403
    assert client.get(f"/meetings/series/{series_id}").status_code == 302
    assert login(users["member"]).post(f"/meetings/series/{series_id}/end").status_code == 403


def test_confidential_series_is_404_for_outsiders(app, users, login, make_group):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    series_id = _future_weekly(
        app, kind=MeetingKind.GROUP, group_id=group.id, visibility=Visibility.GROUP
    )
    assert login(users["moderator"]).get(f"/meetings/series/{series_id}").status_code == 404
    assert login(users["admin"]).get(f"/meetings/series/{series_id}").status_code == 200


def test_meeting_page_links_the_series_for_managers(app, users, login):
    series_id = _future_weekly(app)
    first = _occurrences(app, series_id)[0]
    page = login(users["moderator"]).get(f"/meetings/{first.id}").get_data(as_text=True)
    assert f'href="/meetings/series/{series_id}"' in page
    page = login(users["member"]).get(f"/meetings/{first.id}").get_data(as_text=True)
    assert f'href="/meetings/series/{series_id}"' not in page


# --- one occurrence alone ----------------------------------------------------------------------


def test_edit_one_occurrence_only(app, users, login):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    target = meetings[2]
    response = login(users["moderator"]).post(
        f"/meetings/{target.id}/edit", data=_edit_form(target, venue_name="Rathaus")
    )
    assert response.status_code == 303
    after = {meeting.id: meeting for meeting in _occurrences(app, series_id)}
    assert after[target.id].venue_name == "Rathaus"
    assert after[target.id].is_detached
    assert after[target.id].sequence == 1
    assert after[target.id].series_slot == target.series_slot
    others = [meeting for meeting in after.values() if meeting.id != target.id]
    assert {meeting.venue_name for meeting in others} == {"VHS Leipzig"}
    assert {meeting.sequence for meeting in others} == {0}
    assert _get_series(app, series_id).venue_name == "VHS Leipzig"


def test_move_one_occurrence_to_another_day(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[1]
    new_day = target.starts_at.astimezone(BERLIN).date() + timedelta(days=1)
    login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, start_date=new_day.isoformat()),
    )
    moved = {meeting.id: meeting for meeting in _occurrences(app, series_id)}[target.id]
    assert moved.starts_at.astimezone(BERLIN).date() == new_day
    assert moved.series_slot == target.series_slot
    assert moved.ical_uid == target.ical_uid


def test_cancel_one_occurrence_only(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[3]
    assert login(users["moderator"]).post(f"/meetings/{target.id}/cancel").status_code == 303
    meetings = _occurrences(app, series_id)
    cancelled = [meeting for meeting in meetings if meeting.is_cancelled]
    assert [meeting.id for meeting in cancelled] == [target.id]
    assert cancelled[0].is_detached and cancelled[0].sequence == 1


# --- this and all following --------------------------------------------------------------------


def test_new_time_for_this_and_all_following(app, users, login):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    target = meetings[2]
    response = login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, start_time="18:00", end_time="20:30", scope="following"),
    )
    assert response.status_code == 303
    after = _occurrences(app, series_id)
    assert [meeting.ical_uid for meeting in after] == [meeting.ical_uid for meeting in meetings]
    assert _local_times(after[:2]) == {time(17, 0)}
    assert {meeting.sequence for meeting in after[:2]} == {0}
    assert _local_times(after[2:]) == {time(18, 0)}
    assert {meeting.ends_at - meeting.starts_at for meeting in after[2:]} == {
        timedelta(hours=2, minutes=30)
    }
    assert {meeting.sequence for meeting in after[2:]} == {1}
    assert _local_days(after) == _local_days(meetings)
    series = _get_series(app, series_id)
    assert (series.start_time, series.duration_minutes) == (time(18, 0), 150)


def test_following_keeps_local_time_across_dst(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[0]
    login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, start_time="16:00", end_time="18:00", scope="following"),
    )
    after = _occurrences(app, series_id)
    offsets = {meeting.starts_at.astimezone(BERLIN).utcoffset() for meeting in after}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # spans both seasons
    assert _local_times(after) == {time(16, 0)}


def test_new_place_for_this_and_all_following(app, users, login):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    target = meetings[1]
    login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(
            target,
            venue_name="Neues Rathaus",
            venue_address="Martin-Luther-Ring 4",
            scope="following",
        ),
    )
    after = _occurrences(app, series_id)
    assert after[0].venue_name == "VHS Leipzig" and after[0].sequence == 0
    assert {meeting.venue_name for meeting in after[1:]} == {"Neues Rathaus"}
    assert {meeting.sequence for meeting in after[1:]} == {1}
    assert _get_series(app, series_id).venue_address == "Martin-Luther-Ring 4"


def test_new_title_for_following_does_not_bump(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[0]
    login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, title="Netzwerktreffen", scope="following"),
    )
    after = _occurrences(app, series_id)
    assert {meeting.title for meeting in after} == {"Netzwerktreffen"}
    assert {meeting.sequence for meeting in after} == {0}


def test_following_keeps_other_individual_changes(app, users, login):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/{meetings[3].id}/edit", data=_edit_form(meetings[3], venue_name="Rathaus")
    )
    moderator.post(f"/meetings/{meetings[4].id}/cancel")
    moderator.post(
        f"/meetings/{meetings[1].id}/edit",
        data=_edit_form(meetings[1], start_time="18:00", end_time="20:00", scope="following"),
    )
    after = {meeting.id: meeting for meeting in _occurrences(app, series_id)}
    assert after[meetings[3].id].venue_name == "Rathaus"
    assert after[meetings[3].id].starts_at.astimezone(BERLIN).time() == time(18, 0)
    assert after[meetings[4].id].is_cancelled
    assert after[meetings[4].id].starts_at == meetings[4].starts_at


def test_moving_the_day_for_following_splits_the_series(app, users, login):
    series_id = _future_weekly(app)
    meetings = _occurrences(app, series_id)
    target = meetings[2]
    old_day = target.starts_at.astimezone(BERLIN).date()
    new_day = old_day + timedelta(days=1)
    response = login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, start_date=new_day.isoformat(), scope="following"),
    )
    assert response.status_code == 303
    old = _get_series(app, series_id)
    assert old.until_date == old_day - timedelta(days=1)
    kept = _occurrences(app, series_id)
    assert [meeting.id for meeting in kept] == [meeting.id for meeting in meetings[:2]]
    assert {meeting.sequence for meeting in kept} == {0}
    with app.app_context():
        successor = db.session.scalar(sa.select(MeetingSeries).where(MeetingSeries.id != series_id))
        assert successor.start_date == new_day
        assert successor.weekday == new_day.weekday()
        successor_id = successor.id
    moved = _occurrences(app, successor_id)
    # The meetings that continue keep their calendar identity, one day later, still 17:00.
    assert [meeting.ical_uid for meeting in moved[: len(meetings) - 2]] == [
        meeting.ical_uid for meeting in meetings[2:]
    ]
    assert {day.weekday() for day in _local_days(moved)} == {new_day.weekday()}
    assert _local_times(moved) == {time(17, 0)}
    assert {meeting.sequence for meeting in moved[: len(meetings) - 2]} == {1}
    assert not any(meeting.is_cancelled for meeting in _occurrences(app))


def test_monthly_split_keeps_last_weekday(app, users, login):
    start = _today() + timedelta(days=1)
    series_id = _series(
        app,
        start_date=start,
        frequency=Frequency.MONTHLY_WEEKDAY,
        weekday=3,
        week_of_month=-1,
    )
    meetings = _occurrences(app, series_id)
    target = meetings[1]
    old_day = target.starts_at.astimezone(BERLIN).date()
    new_day = old_day - timedelta(days=1)  # the last Wednesday (a day before the last Thursday)
    login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, start_date=new_day.isoformat(), scope="following"),
    )
    with app.app_context():
        successor = db.session.scalar(sa.select(MeetingSeries).where(MeetingSeries.id != series_id))
        successor_id = successor.id
        assert successor.weekday == 2
    moved = _occurrences(app, successor_id)
    assert moved[0].ical_uid == target.ical_uid
    for day in _local_days(moved):
        assert day.weekday() == 2
        assert (day + timedelta(days=7)).month != day.month or day.day >= 22


def test_following_refused_for_all_day(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[0]
    response = login(users["moderator"]).post(
        f"/meetings/{target.id}/edit",
        data=_edit_form(target, is_all_day="y", scope="following"),
    )
    assert response.status_code == 200
    assert 'id="is_all_day-error"' in response.get_data(as_text=True)


def test_following_refused_for_a_started_meeting(app, users, login):
    start = _today() - timedelta(days=14)
    series_id = _series(app, start_date=start, weekday=start.weekday())
    past = _occurrences(app, series_id)[0]
    response = login(users["moderator"]).post(
        f"/meetings/{past.id}/edit",
        data=_edit_form(past, venue_name="Rathaus", scope="following"),
    )
    assert response.status_code == 200
    assert 'id="scope-error"' in response.get_data(as_text=True)
    assert {meeting.venue_name for meeting in _occurrences(app, series_id)} == {"VHS Leipzig"}


def test_scope_choice_is_validated(app, users, login):
    series_id = _future_weekly(app)
    target = _occurrences(app, series_id)[0]
    response = login(users["moderator"]).post(
        f"/meetings/{target.id}/edit", data=_edit_form(target, scope="everything")
    )
    assert response.status_code == 200


def test_scope_is_offered_for_occurrences_only(app, users, login, make_meeting):
    series_id = _future_weekly(app)
    occurrence = _occurrences(app, series_id)[0]
    single = make_meeting()
    moderator = login(users["moderator"])
    assert 'name="scope"' in moderator.get(f"/meetings/{occurrence.id}/edit").get_data(as_text=True)
    assert 'name="scope"' not in moderator.get(f"/meetings/{single.id}/edit").get_data(as_text=True)


# --- ending a series ---------------------------------------------------------------------------


def test_end_series_cancels_later_occurrences_only(app, users, login):
    start = _today() - timedelta(days=21)
    series_id = _series(app, start_date=start, weekday=start.weekday())
    meetings = _occurrences(app, series_id)
    until = _today() + timedelta(days=30)
    response = login(users["moderator"]).post(
        f"/meetings/series/{series_id}/end", data={"until_date": until.isoformat()}
    )
    assert response.status_code == 303
    assert _get_series(app, series_id).until_date == until
    after = {meeting.id: meeting for meeting in _occurrences(app, series_id)}
    assert len(after) == len(meetings)  # nothing deleted
    for meeting in meetings:
        changed = after[meeting.id]
        if meeting.starts_at.astimezone(BERLIN).date() > until:
            assert changed.is_cancelled and changed.sequence == 1
            assert changed.cancelled_at is not None
        else:
            assert changed.status is MeetingStatus.SCHEDULED and changed.sequence == 0


def test_ending_a_series_never_touches_past_occurrences(app, users, login):
    start = _today() - timedelta(days=21)
    series_id = _series(app, start_date=start, weekday=start.weekday())
    login(users["moderator"]).post(
        f"/meetings/series/{series_id}/end", data={"until_date": start.isoformat()}
    )
    now = datetime.now(UTC)
    for meeting in _occurrences(app, series_id):
        if meeting.starts_at <= now:
            assert meeting.status is MeetingStatus.SCHEDULED
        else:
            assert meeting.is_cancelled


def test_extend_adds_nothing_to_an_ended_series(app, users, login, runner):
    series_id = _future_weekly(app)
    login(users["moderator"]).post(
        f"/meetings/series/{series_id}/end",
        data={"until_date": (_today() + timedelta(days=40)).isoformat()},
    )
    count = len(_occurrences(app, series_id))
    runner.invoke(args=["meetings", "extend"])
    assert len(_occurrences(app, series_id)) == count


@pytest.mark.parametrize("value", ["", "abc", "2000-01-01", "0001-01-01", "\x00"])
def test_end_series_bad_dates(app, users, login, value):
    series_id = _future_weekly(app)
    response = login(users["moderator"]).post(
        f"/meetings/series/{series_id}/end", data={"until_date": value}
    )
    assert response.status_code == 200
    assert 'id="until_date-error"' in response.get_data(as_text=True)
    assert _get_series(app, series_id).until_date is None


def test_an_ended_series_cannot_be_extended_by_ending_it_later(app, users, login):
    series_id = _future_weekly(app)
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/series/{series_id}/end",
        data={"until_date": (_today() + timedelta(days=30)).isoformat()},
    )
    response = moderator.post(
        f"/meetings/series/{series_id}/end",
        data={"until_date": (_today() + timedelta(days=90)).isoformat()},
    )
    assert response.status_code == 200
    assert _get_series(app, series_id).until_date == _today() + timedelta(days=30)


def test_lead_ends_their_group_series(app, users, login, make_group):
    group = make_group(members={users["member"].id: GroupRole.LEAD})
    series_id = _future_weekly(
        app, kind=MeetingKind.GROUP, group_id=group.id, visibility=Visibility.GROUP
    )
    response = login(users["member"]).post(
        f"/meetings/series/{series_id}/end",
        data={"until_date": (_today() + timedelta(days=30)).isoformat()},
    )
    assert response.status_code == 303


def test_audit_records_series_actions(app, users, login):
    from coordination.audit.models import AuditEvent

    login(users["moderator"]).post("/meetings/series/new", data=_series_form())
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action)) == "meeting_series.created"


def test_a_double_submitted_series_form_creates_one_series(app, users, login):
    moderator = login(users["moderator"])
    first = moderator.post("/meetings/series/new", data=_series_form())
    second = moderator.post("/meetings/series/new", data=_series_form())
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MeetingSeries.id))) == 1
