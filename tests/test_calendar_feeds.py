"""What the feeds and downloads say, fetched through the real routes and read with vobject.

vobject did not write the files (icalendar's code did not either) and it reads the VTIMEZONE
in each file, so every start and end is checked the way a calendar app would see it, against
``zoneinfo``. Dates that must be inside the feed window are relative to today (the next DST
switches, the next January and July), so the tests do not age.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import vobject
from flask import Flask
from flask.testing import FlaskClient

from coordination.auth.models import Locale, User
from coordination.calendar import services as calendar_services
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupMembership, GroupRole
from coordination.meetings import services as meeting_services
from coordination.meetings.models import Frequency, Meeting, MeetingKind, Visibility
from coordination.registrations import services as registration_services

BERLIN = ZoneInfo("Europe/Berlin")
BASE = "https://knotenpunkt.test"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Berlin (aware)."""
    return datetime.combine(day, time(hour, minute), BERLIN)


# --- reading feeds ------------------------------------------------------------------------------


def _parse(response: Any) -> vobject.base.Component:
    """A 200 text/calendar response parsed by vobject, each TZID with its own VTIMEZONE.

    vobject remembers zones across parses; the check keeps a zone from an earlier file from
    standing in for one this file lacks.
    """
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.get_data().decode("utf-8")
    used = set(re.findall(r";TZID=([^:;]+)[:;]", text))
    defined = set(re.findall(r"\r\nTZID:([^\r]+)\r\n", text))
    assert used <= defined, f"TZID without VTIMEZONE: {used - defined}"
    calendar = vobject.readOne(text)
    assert calendar.name == "VCALENDAR"
    return calendar


def _lines(response: Any) -> list[str]:
    """Unfolded content lines."""
    return re.sub(r"\r\n[ \t]", "", response.get_data().decode("utf-8")).split("\r\n")


def _events(calendar: vobject.base.Component) -> dict[str, Any]:
    events = calendar.contents.get("vevent", [])
    uids = [event.uid.value for event in events]
    assert len(uids) == len(set(uids)), "a UID twice in one feed"
    return dict(zip(uids, events, strict=True))


def _token(app: Flask, user: User) -> str:
    with app.app_context():
        token, _row = calendar_services.create_token(db.session.get(User, user.id), "Handy")
        db.session.commit()
    return token


def _public(client: FlaskClient) -> dict[str, Any]:
    return _events(_parse(client.get("/calendar/public.ics")))


def _personal(client: FlaskClient, token: str) -> dict[str, Any]:
    return _events(_parse(client.get(f"/calendar/personal/{token}.ics")))


def _group(client: FlaskClient, slug: str) -> dict[str, Any]:
    return _events(_parse(client.get(f"/calendar/groups/{slug}.ics")))


def _download(client: FlaskClient, meeting_id: int) -> Any:
    [event] = _events(_parse(client.get(f"/meetings/{meeting_id}.ics"))).values()
    return event


def _reload(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting is not None
    return meeting


def _update(app: Flask, meeting_id: int, **fields: Any) -> None:
    with app.app_context():
        meeting_services.update_meeting(_reload(meeting_id), actor=None, **fields)
        db.session.commit()


def _cancel(app: Flask, meeting_id: int) -> None:
    with app.app_context():
        meeting_services.cancel_meeting(_reload(meeting_id), actor=None)
        db.session.commit()


def _fresh(app: Flask, meeting_id: int) -> Meeting:
    with app.app_context():
        meeting = _reload(meeting_id)
        db.session.expunge(meeting)
        return meeting


# --- times across the DST switches ---------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _next(first_possible: date, month: int, day: int | None = None) -> date:
    """The first date in ``month`` (its last Sunday, or ``day``) on or after ``first_possible``."""
    for year in (first_possible.year, first_possible.year + 1):
        found = date(year, month, day) if day else _last_sunday(year, month)
        if found >= first_possible:
            return found
    raise AssertionError("unreachable")


# The next switches at least a week ahead, so the tests stay inside the feed window forever.
TODAY = datetime.now(BERLIN).date()
ONE_DAY = timedelta(days=1)
SPRING = _next(TODAY + 8 * ONE_DAY, 3)  # Sunday: 02:00 CET -> 03:00 CEST
AUTUMN = _next(SPRING, 10)  # Sunday: 03:00 CEST -> 02:00 CET
WINTER = _next(TODAY + ONE_DAY, 1, 14)
SUMMER = _next(TODAY + ONE_DAY, 7, 8)
CET, CEST = timedelta(hours=1), timedelta(hours=2)

#: (start, end) in Berlin wall-clock time, and the UTC offset at the start, written by hand
#: from the EU rule so that zoneinfo is not the only witness.
TIMED_CASES = [
    (_at(WINTER, 17), _at(WINTER, 19), CET),
    (_at(SUMMER, 17), _at(SUMMER, 19), CEST),
    (_at(SPRING - 4 * ONE_DAY, 17), _at(SPRING - 4 * ONE_DAY, 19), CET),  # the week before
    (_at(SPRING - ONE_DAY, 17), _at(SPRING - ONE_DAY, 19), CET),
    (_at(SPRING, 9), _at(SPRING, 11), CEST),
    (_at(SPRING, 17), _at(SPRING, 19), CEST),
    (_at(SPRING + ONE_DAY, 17), _at(SPRING + ONE_DAY, 19), CEST),
    (_at(SPRING + 4 * ONE_DAY, 17), _at(SPRING + 4 * ONE_DAY, 19), CEST),  # the week after
    (_at(SPRING - ONE_DAY, 22), _at(SPRING, 4), CET),  # overnight, across the switch
    (_at(AUTUMN - 3 * ONE_DAY, 17), _at(AUTUMN - 3 * ONE_DAY, 19), CEST),
    (_at(AUTUMN - ONE_DAY, 17), _at(AUTUMN - ONE_DAY, 19), CEST),
    (_at(AUTUMN, 9), _at(AUTUMN, 11), CET),
    (_at(AUTUMN, 17), _at(AUTUMN, 19), CET),
    (_at(AUTUMN + ONE_DAY, 17), _at(AUTUMN + ONE_DAY, 19), CET),
    (_at(AUTUMN + 4 * ONE_DAY, 17), _at(AUTUMN + 4 * ONE_DAY, 19), CET),
    (_at(AUTUMN - ONE_DAY, 22), _at(AUTUMN, 4), CEST),  # overnight, across the switch
]


def test_the_cases_agree_with_zoneinfo() -> None:
    assert SPRING.weekday() == AUTUMN.weekday() == 6
    assert TODAY < SPRING < AUTUMN < SPRING + timedelta(days=366)
    for start, _end, offset in TIMED_CASES:
        assert start.utcoffset() == offset
    # The overnight meetings last 5 and 7 hours, not 6: the clocks jump in between.
    spring_night = _at(SPRING, 4).astimezone(UTC) - _at(SPRING - ONE_DAY, 22).astimezone(UTC)
    autumn_night = _at(AUTUMN, 4).astimezone(UTC) - _at(AUTUMN - ONE_DAY, 22).astimezone(UTC)
    assert spring_night == timedelta(hours=5)
    assert autumn_night == timedelta(hours=7)


def _assert_timed(event: Any, start: datetime, end: datetime) -> None:
    """Same instants as zoneinfo says, and the same wall-clock time in the file's zone."""
    assert event.dtstart.value.astimezone(UTC) == start.astimezone(UTC)
    assert event.dtend.value.astimezone(UTC) == end.astimezone(UTC)
    assert event.dtstart.value.replace(tzinfo=None) == start.replace(tzinfo=None)
    assert event.dtend.value.replace(tzinfo=None) == end.replace(tzinfo=None)


@pytest.mark.parametrize("feed", ["public", "group", "personal", "download"])
def test_every_start_and_end_matches_zoneinfo_across_dst(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
    feed: str,
) -> None:
    member = make_user()
    group = make_group(members={member.id: GroupRole.MEMBER})
    expected: dict[str, tuple[datetime, datetime, timedelta]] = {}
    ids = []
    for start, end, offset in TIMED_CASES:
        meeting = make_meeting(
            title=f"Treffen {start:%d.%m. %H:%M}",
            starts_at=start.astimezone(UTC),
            ends_at=end.astimezone(UTC),
            group_id=group.id,
            visibility=Visibility.PUBLIC,
        )
        expected[meeting.ical_uid] = (start, end, offset)
        ids.append(meeting.id)

    if feed == "public":
        events = _public(client)
    elif feed == "group":
        events = _group(client, group.slug)
    elif feed == "personal":
        events = _personal(client, _token(app, member))
    else:
        events = {}
        for meeting_id in ids:
            event = _download(client, meeting_id)
            events[event.uid.value] = event

    assert set(events) == set(expected)
    for uid, event in events.items():
        start, end, offset = expected[uid]
        _assert_timed(event, start, end)
        wall_clock = start.replace(tzinfo=UTC)
        assert event.dtstart.value.astimezone(UTC) == wall_clock - offset


def test_times_are_written_with_the_berlin_zone(
    client: FlaskClient, make_meeting: Callable[..., Meeting]
) -> None:
    summer = make_meeting(
        starts_at=_at(date(2027, 7, 8), 17).astimezone(UTC),  # downloads have no window
        ends_at=_at(date(2027, 7, 8), 19).astimezone(UTC),
        visibility=Visibility.PUBLIC,
    )
    lines = _lines(client.get(f"/meetings/{summer.id}.ics"))
    assert "DTSTART;TZID=Europe/Berlin:20270708T170000" in lines
    assert "DTEND;TZID=Europe/Berlin:20270708T190000" in lines
    zone = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE")]
    assert zone.count("BEGIN:DAYLIGHT") == 1 and zone.count("BEGIN:STANDARD") == 1
    assert not [line for line in zone if line.startswith("RDATE")]


@pytest.mark.parametrize(
    ("first_day", "last_day"),
    [
        (SUMMER, SUMMER),
        (SPRING, SPRING),  # the 23-hour day
        (AUTUMN - 2 * ONE_DAY, AUTUMN + ONE_DAY),  # several days, across the 25-hour day
    ],
    ids=["one-day", "spring-switch-day", "across-autumn-switch"],
)
def test_all_day_meetings_are_dates_with_exclusive_end(
    app: Flask,
    client: FlaskClient,
    make_meeting: Callable[..., Meeting],
    first_day: date,
    last_day: date,
) -> None:
    meeting = make_meeting(
        starts_at=_at(first_day, 0).astimezone(UTC),
        ends_at=_at(last_day + ONE_DAY, 0).astimezone(UTC),
        is_all_day=True,
        visibility=Visibility.PUBLIC,
    )
    for event in (_public(client)[meeting.ical_uid], _download(client, meeting.id)):
        assert type(event.dtstart.value) is date
        assert type(event.dtend.value) is date
        assert event.dtstart.value == first_day
        assert event.dtend.value == last_day + ONE_DAY
    lines = _lines(client.get("/calendar/public.ics"))
    assert f"DTSTART;VALUE=DATE:{first_day:%Y%m%d}" in lines
    assert f"DTEND;VALUE=DATE:{last_day + ONE_DAY:%Y%m%d}" in lines


def test_series_occurrences_are_separate_events_at_17_local(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        series = meeting_services.create_series(
            actor=None,
            until=AUTUMN + 30 * ONE_DAY,
            title="Plenum",
            kind=MeetingKind.NETWORK,
            frequency=Frequency.WEEKLY,
            interval=1,
            weekday=6,  # Sundays, so both switch days are occurrences
            start_date=SPRING - 21 * ONE_DAY,
            until_date=AUTUMN + 21 * ONE_DAY,
            start_time=time(17, 0),
            duration_minutes=120,
            visibility=Visibility.PUBLIC,
        )
        db.session.commit()
        occurrences = {
            meeting.ical_uid: meeting.starts_at
            for meeting in db.session.scalars(
                sa.select(Meeting).where(Meeting.series_id == series.id)
            )
        }
    sundays = (AUTUMN - SPRING).days // 7 + 1 + 2 * 3
    assert len(occurrences) == sundays

    events = _public(client)
    assert set(events) == set(occurrences)
    days = set()
    for uid, event in events.items():
        start = occurrences[uid]
        local = start.astimezone(BERLIN)
        assert (local.hour, local.minute) == (17, 0)
        _assert_timed(event, local, local + timedelta(hours=2))
        days.add(local.date())
    assert {SPRING, AUTUMN} <= days
    utc_hours = {events[uid].dtstart.value.astimezone(UTC).hour for uid in events}
    assert utc_hours == {15, 16}  # summer and winter
    lines = _lines(client.get("/calendar/public.ics"))
    after_zone = lines[lines.index("END:VTIMEZONE") :]
    assert not [line for line in after_zone if line.startswith(("RRULE", "RDATE", "EXDATE"))]


# --- cancelled meetings -------------------------------------------------------------------------


def test_cancelled_meeting_is_kept_marked_in_english(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_meeting: Callable[..., Meeting],
) -> None:
    reader = make_user(locale=Locale.EN)
    meeting = make_meeting(title="Plenum, März; 😀", visibility=Visibility.PUBLIC)
    token = _token(app, reader)
    before = _personal(client, token)[meeting.ical_uid]
    assert before.status.value == "CONFIRMED"
    assert before.summary.value == "Plenum, März; 😀"

    _cancel(app, meeting.id)
    after = _personal(client, token)[meeting.ical_uid]
    assert after.status.value == "CANCELLED"
    assert after.summary.value == "Cancelled: Plenum, März; 😀"
    assert "This meeting has been cancelled." in after.description.value
    assert int(after.sequence.value) == int(before.sequence.value) + 1
    _assert_timed(after, meeting.starts_at.astimezone(BERLIN), meeting.ends_at.astimezone(BERLIN))


def test_cancelled_meeting_in_the_public_feed_has_a_title_prefix(
    app: Flask, client: FlaskClient, make_meeting: Callable[..., Meeting]
) -> None:
    meeting = make_meeting(title="Sprachcafé", visibility=Visibility.PUBLIC)
    _cancel(app, meeting.id)
    for event in (_public(client)[meeting.ical_uid], _download(client, meeting.id)):
        assert event.status.value == "CANCELLED"
        assert event.summary.value != "Sprachcafé"
        assert event.summary.value.endswith("Sprachcafé")  # default language: "Abgesagt: …"


# --- identity and revisions -----------------------------------------------------------------------


def test_uid_is_the_same_everywhere_and_survives_edits(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_meeting: Callable[..., Meeting],
) -> None:
    reader = make_user()
    meeting = make_meeting(visibility=Visibility.PUBLIC)
    token = _token(app, reader)

    def uids() -> set[str]:
        found = {_download(client, meeting.id).uid.value}
        found |= set(_public(client)) | set(_personal(client, token))
        return found

    assert uids() == {meeting.ical_uid}
    _update(
        app,
        meeting.id,
        title="Neuer Titel",
        starts_at=meeting.starts_at + timedelta(days=1),
        ends_at=meeting.ends_at + timedelta(days=1),
        venue_name="Anderer Ort",
    )
    assert uids() == {meeting.ical_uid}
    _cancel(app, meeting.id)
    assert uids() == {meeting.ical_uid}


def test_sequence_grows_with_each_change_of_time_place_or_status(
    app: Flask, client: FlaskClient, make_meeting: Callable[..., Meeting]
) -> None:
    meeting = make_meeting(visibility=Visibility.PUBLIC)

    def seen() -> Any:
        return _public(client)[meeting.ical_uid]

    def assert_stamps(event: Any) -> None:
        updated = _fresh(app, meeting.id).updated_at.replace(microsecond=0)
        assert event.dtstamp.value == updated
        assert event.last_modified.value == updated

    event = seen()
    assert int(event.sequence.value) == 0
    assert_stamps(event)

    later = meeting.starts_at + timedelta(hours=1)
    changes: list[dict[str, Any]] = [
        {"starts_at": later, "ends_at": later + timedelta(hours=2)},
        {"venue_name": "Stadtteilladen", "venue_address": "Eisenbahnstraße 1, 04315 Leipzig"},
        {"online_url": "https://meet.example.org/plenum"},
    ]
    for number, fields in enumerate(changes, start=1):
        _update(app, meeting.id, **fields)
        event = seen()
        assert int(event.sequence.value) == number, fields
        assert_stamps(event)
    _assert_timed(event, later.astimezone(BERLIN), (later + timedelta(hours=2)).astimezone(BERLIN))
    assert event.location.value == "Stadtteilladen, Eisenbahnstraße 1, 04315 Leipzig"

    # A new title is no change of time or place: same SEQUENCE, but the new text and stamp.
    _update(app, meeting.id, title="Plenum mit neuem Titel")
    event = seen()
    assert int(event.sequence.value) == len(changes)
    assert event.summary.value == "Plenum mit neuem Titel"
    assert_stamps(event)

    _cancel(app, meeting.id)
    event = seen()
    assert int(event.sequence.value) == len(changes) + 1
    assert event.status.value == "CANCELLED"
    assert_stamps(event)


# --- what the feeds carry -------------------------------------------------------------------------


def test_feeds_carry_no_scheduling_or_personal_properties(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
) -> None:
    reader = make_user(name="Rana Reader", email="rana@example.org")
    group = make_group(members={reader.id: GroupRole.MEMBER})
    meeting = make_meeting(group_id=group.id, visibility=Visibility.PUBLIC)
    with app.app_context():
        registration_services.register_member(_reload(meeting.id), db.session.get(User, reader.id))
        db.session.commit()
    token = _token(app, reader)
    for url in (
        "/calendar/public.ics",
        f"/calendar/groups/{group.slug}.ics",
        f"/calendar/personal/{token}.ics",
        f"/meetings/{meeting.id}.ics",
    ):
        response = client.get(url)
        _parse(response)
        names = {re.split(r"[;:]", line, maxsplit=1)[0] for line in _lines(response)}
        assert not names & {"METHOD", "ORGANIZER", "ATTENDEE"}, url
        body = response.get_data().decode("utf-8")
        assert "rana@example.org" not in body and "Rana Reader" not in body


def test_calendar_name_and_refresh_hints(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
) -> None:
    reader = make_user()
    group = make_group(name="AG Wohnen, Sprache & Arbeit; 🏠")
    feeds = {
        "public": client.get("/calendar/public.ics"),
        "group": client.get(f"/calendar/groups/{group.slug}.ics"),
        "personal": client.get(f"/calendar/personal/{_token(app, reader)}.ics"),
    }
    for kind, response in feeds.items():
        calendar = _parse(response)
        name = calendar.contents["x-wr-calname"][0].value
        assert name and calendar.contents["name"][0].value == name, kind
        lines = _lines(response)
        assert [line for line in lines if line.startswith("REFRESH-INTERVAL")] == [
            "REFRESH-INTERVAL;VALUE=DURATION:PT1H"
        ], kind
        assert "X-PUBLISHED-TTL:PT1H" in lines, kind
    assert "AG Wohnen, Sprache & Arbeit; 🏠" in (
        _parse(feeds["group"]).contents["x-wr-calname"][0].value
    )


def test_meeting_url_in_url_and_description_and_text_survives(
    client: FlaskClient, make_meeting: Callable[..., Meeting]
) -> None:
    title = "Treffen, Planung; Grüße 😀 — نشست ماهانه\u200cی داوطلبان"
    description = "Tagesordnung:\n1. Begrüßung\n2. Berichte, Wünsche; Sonstiges \\ Ende"
    meeting = make_meeting(
        title=title,
        description=description,
        venue_name="Café Ölfass",
        venue_address="Karl-Heine-Straße 1, 04229 Leipzig",
        visibility=Visibility.PUBLIC,
    )
    url = f"{BASE}/meetings/{meeting.id}"
    for event in (_public(client)[meeting.ical_uid], _download(client, meeting.id)):
        assert event.url.value == url
        assert event.summary.value == title
        assert description in event.description.value
        assert url in event.description.value
        assert event.location.value == "Café Ölfass, Karl-Heine-Straße 1, 04229 Leipzig"


# --- who sees what ----------------------------------------------------------------------------------

ONLINE = "https://meet.example.org/geheim-42"


@pytest.mark.parametrize("is_public", [False, True])
def test_online_link_in_public_feed_only_when_marked_public(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_meeting: Callable[..., Meeting],
    is_public: bool,
) -> None:
    member = make_user()
    meeting = make_meeting(
        visibility=Visibility.PUBLIC, online_url=ONLINE, is_online_url_public=is_public
    )
    public = client.get("/calendar/public.ics")
    assert meeting.ical_uid in _events(_parse(public))
    assert (ONLINE in public.get_data().decode()) is is_public
    anonymous_download = client.get(f"/meetings/{meeting.id}.ics").get_data().decode()
    assert (ONLINE in anonymous_download) is is_public

    personal = _personal(client, _token(app, member))[meeting.ical_uid]
    assert ONLINE in personal.description.value


def test_online_link_of_a_network_meeting_only_in_personal_feed(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_meeting: Callable[..., Meeting],
    login: Callable[[User], FlaskClient],
) -> None:
    member = make_user()
    meeting = make_meeting(
        visibility=Visibility.NETWORK, online_url=ONLINE, is_online_url_public=True
    )
    public = client.get("/calendar/public.ics")
    assert meeting.ical_uid not in _events(_parse(public))
    assert ONLINE not in public.get_data().decode()
    assert client.get(f"/meetings/{meeting.id}.ics").status_code == 404
    assert ONLINE in _personal(client, _token(app, member))[meeting.ical_uid].description.value
    assert ONLINE in _download(login(member), meeting.id).description.value


def test_confidential_group_meetings_only_in_members_personal_feeds(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
) -> None:
    member, outsider = make_user(), make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={member.id: GroupRole.MEMBER},
    )
    secret = make_meeting(title="Fallbesprechung", group_id=group.id, visibility=Visibility.GROUP)
    network = make_meeting(
        title="Intern, aber Netzwerk", group_id=group.id, visibility=Visibility.NETWORK
    )
    secret_uids = {secret.ical_uid, network.ical_uid}

    public = client.get("/calendar/public.ics")
    assert not secret_uids & set(_events(_parse(public)))
    assert "Fallbesprechung" not in public.get_data().decode()
    assert client.get(f"/calendar/groups/{group.slug}.ics").status_code == 404
    assert client.get("/calendar/groups/no-such-group.ics").status_code == 404
    assert not secret_uids & set(_personal(client, _token(app, outsider)))
    assert secret_uids <= set(_personal(client, _token(app, member)))


def test_group_feed_shows_only_that_open_groups_public_meetings(
    client: FlaskClient,
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
) -> None:
    group, other = make_group(), make_group()
    public = make_meeting(group_id=group.id, visibility=Visibility.PUBLIC)
    members_only = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    elsewhere = make_meeting(group_id=other.id, visibility=Visibility.PUBLIC)
    network = make_meeting(visibility=Visibility.PUBLIC)
    assert set(_group(client, group.slug)) == {public.ical_uid}
    assert members_only.ical_uid not in _public(client)
    assert {elsewhere.ical_uid, network.ical_uid} <= set(_public(client))


@pytest.mark.parametrize("confidentiality", list(Confidentiality))
def test_leaving_a_group_removes_its_meetings_at_the_next_fetch(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
    login: Callable[[User], FlaskClient],
    confidentiality: Confidentiality,
) -> None:
    lead, member = make_user(), make_user()
    group = make_group(
        confidentiality=confidentiality,
        members={lead.id: GroupRole.LEAD, member.id: GroupRole.MEMBER},
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    network = make_meeting(visibility=Visibility.NETWORK)
    token = _token(app, member)
    url = f"/calendar/personal/{token}.ics"
    first = client.get(url)
    assert meeting.ical_uid in _events(_parse(first))

    response = login(member).post(f"/groups/{group.slug}/leave")
    assert response.status_code in (302, 303)
    with app.app_context():
        left = sa.select(GroupMembership).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id == member.id
        )
        assert db.session.scalar(left) is None

    # A calendar app asks with the validators of its copy; the answer must be the new feed.
    again = client.get(
        url,
        headers={
            "If-None-Match": first.headers["ETag"],
            "If-Modified-Since": first.headers["Last-Modified"],
        },
    )
    events = _events(_parse(again))
    assert meeting.ical_uid not in events
    assert network.ical_uid in events


def test_registration_status_in_personal_feed(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_group: Callable[..., Any],
    make_meeting: Callable[..., Meeting],
) -> None:
    first, reader = make_user(), make_user(locale=Locale.EN)
    group = make_group()  # an open group the reader is not in
    confirmed = make_meeting(group_id=group.id, visibility=Visibility.NETWORK)
    full = make_meeting(visibility=Visibility.NETWORK, capacity=1)
    not_registered = make_meeting(visibility=Visibility.NETWORK)
    group_only = make_meeting(group_id=group.id, visibility=Visibility.NETWORK)
    with app.app_context():
        register = registration_services.register_member
        register(_reload(full.id), db.session.get(User, first.id))
        register(_reload(confirmed.id), db.session.get(User, reader.id))
        register(_reload(full.id), db.session.get(User, reader.id))
        db.session.commit()
    events = _personal(client, _token(app, reader))
    assert "Your registration: confirmed" in events[confirmed.ical_uid].description.value
    assert "Your registration: on the waiting list" in events[full.ical_uid].description.value
    assert "Your registration" not in events[not_registered.ical_uid].description.value
    # Meetings of a group one is not in come only through a registration.
    assert group_only.ical_uid not in events


# --- the window -------------------------------------------------------------------------------------


def _on(day: date, **kwargs: Any) -> dict[str, Any]:
    return {
        "starts_at": _at(day, 10).astimezone(UTC),
        "ends_at": _at(day, 12).astimezone(UTC),
        "visibility": Visibility.PUBLIC,
        **kwargs,
    }


def test_feed_window(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_meeting: Callable[..., Meeting],
) -> None:
    today = datetime.now(BERLIN).date()
    old = make_meeting(**_on(today - timedelta(days=91)))
    recent = make_meeting(**_on(today - timedelta(days=89)))
    cancelled_old = make_meeting(**_on(today - timedelta(days=15)))
    cancelled_recent = make_meeting(**_on(today - timedelta(days=13)))
    far_day = TODAY + timedelta(days=3650)
    far = make_meeting(**_on(far_day))
    for meeting in (cancelled_old, cancelled_recent):
        _cancel(app, meeting.id)
    reader = make_user()
    for events in (_public(client), _personal(client, _token(app, reader))):
        assert old.ical_uid not in events
        assert recent.ical_uid in events
        assert cancelled_old.ical_uid not in events
        assert cancelled_recent.ical_uid in events
        assert events[cancelled_recent.ical_uid].status.value == "CANCELLED"
        assert far.ical_uid in events
        _assert_timed(events[far.ical_uid], _at(far_day, 10), _at(far_day, 12))


def test_empty_personal_feed_is_a_valid_calendar(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    reader = make_user()
    response = client.get(f"/calendar/personal/{_token(app, reader)}.ics")
    calendar = _parse(response)
    assert "vevent" not in calendar.contents
    assert "vtimezone" in calendar.contents
    assert calendar.contents["version"][0].value == "2.0"
