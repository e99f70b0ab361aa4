"""Calendar over HTTP: feed headers and 304s, caching, personal tokens, downloads and pages.

Calendar apps poll feeds without cookies and without a useful ``Accept`` header and cache by
ETag; these tests talk to the app the same way. Pages are checked through element ids, and in
English (``Accept-Language: en`` and users with ``locale=Locale.EN``) where text matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from coordination.auth.models import Locale, User
from coordination.calendar import services
from coordination.calendar.models import CalendarToken
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as group_services
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.meetings import services as meeting_services
from coordination.meetings.models import Meeting, Visibility
from coordination.registrations import services as registration_services

EN = {"Accept-Language": "en"}
CALENDAR_TYPE = "text/calendar; charset=utf-8"
FEED_URL = re.compile(r"https://knotenpunkt\.test/calendar/personal/([A-Za-z0-9_-]+)\.ics")
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def unfold(body: bytes) -> str:
    """The iCalendar text with folded lines joined again (RFC 5545 §3.1)."""
    return body.decode("utf-8").replace("\r\n ", "")


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


def anonymous(app: Flask) -> FlaskClient:
    """A client like a calendar app: no cookies, no session."""
    return app.test_client()


def make_token(app: Flask, user: User, label: str = "Handy") -> str:
    with app.app_context():
        token, _row = services.create_token(db.session.get(User, user.id), label)
        db.session.commit()
    return token


def token_rows(app: Flask, user: User | None = None) -> list[CalendarToken]:
    with app.app_context():
        query = sa.select(CalendarToken).order_by(CalendarToken.id)
        if user is not None:
            query = query.where(CalendarToken.user_id == user.id)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
    return rows


def change_meeting(app: Flask, meeting_id: int, **fields: Any) -> None:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meeting_services.update_meeting(meeting, actor=None, **fields)
        db.session.commit()


# --- a small world with one feed of each kind ---------------------------------------------------


@dataclass(frozen=True)
class Feed:
    kind: str
    path: str
    builder: str
    private: bool


@dataclass(frozen=True)
class World:
    member: User
    group: WorkingGroup
    meeting: Meeting
    token: str
    feeds: dict[str, Feed]


@pytest.fixture
def world(app, make_user, make_group, make_meeting) -> World:
    """A public meeting of an open group, in the public, group and member's personal feed."""
    member = make_user(name="Mia Member", locale=Locale.EN)
    group = make_group(name="AG Wohnen", slug="ag-wohnen", members={member.id: GroupRole.MEMBER})
    meeting = make_meeting(
        title="Wohnungssuche Sprechstunde", group_id=group.id, visibility=Visibility.PUBLIC
    )
    token = make_token(app, member)
    feeds = {
        "public": Feed("public", "/calendar/public.ics", "build_public_feed", False),
        "group": Feed("group", "/calendar/groups/ag-wohnen.ics", "build_group_feed", False),
        "personal": Feed(
            "personal", f"/calendar/personal/{token}.ics", "build_personal_feed", True
        ),
    }
    return World(member, group, meeting, token, feeds)


KINDS = ["public", "group", "personal"]


def count_builds(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Wrap a build function of the calendar services; the returned list grows per call."""
    calls: list[int] = []
    original = getattr(services, name)

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, name, counting)
    return calls


# --- feed headers ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_feed_answers_like_a_calendar_app_expects(app, world, kind):
    feed = world.feeds[kind]
    response = anonymous(app).get(feed.path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CALENDAR_TYPE
    etag = response.headers["ETag"]
    assert re.fullmatch(r'"[^"\s]+"', etag), etag  # strong: quoted, no W/
    last_modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert last_modified <= datetime.now(UTC)
    cache_control = response.headers["Cache-Control"]
    if feed.private:
        assert cache_control.startswith("private")
        assert "public" not in cache_control
    else:
        assert cache_control.startswith("public")
        assert "private" not in cache_control
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    body = unfold(response.data)
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert "SUMMARY:Wohnungssuche Sprechstunde" in body


@pytest.mark.parametrize("kind", KINDS)
def test_feed_ignores_the_accept_header(app, world, kind):
    path = world.feeds[kind].path
    reference = anonymous(app).get(path)
    for accept in (
        None,
        "text/html",
        "application/json",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/calendar",
        "*/*",
        "image/png",
    ):
        headers = {} if accept is None else {"Accept": accept}
        response = anonymous(app).get(path, headers=headers)
        assert response.status_code == 200, accept
        assert response.headers["Content-Type"] == CALENDAR_TYPE, accept
        assert response.headers["ETag"] == reference.headers["ETag"], accept
        assert response.data == reference.data, accept
        assert "Accept" not in response.headers.get("Vary", ""), accept


@pytest.mark.parametrize("kind", KINDS)
def test_matching_etag_gives_an_empty_304(app, world, kind):
    path = world.feeds[kind].path
    first = anonymous(app).get(path)
    etag = first.headers["ETag"]
    for if_none_match in (etag, f'"older", {etag}', f"W/{etag}", "*"):
        response = anonymous(app).get(path, headers={"If-None-Match": if_none_match})
        assert response.status_code == 304, if_none_match
        assert response.data == b"", if_none_match
        assert response.headers["ETag"] == etag
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("kind", KINDS)
def test_if_modified_since(app, world, kind):
    path = world.feeds[kind].path
    first = anonymous(app).get(path)
    last_modified = parsedate_to_datetime(first.headers["Last-Modified"])
    client = anonymous(app)

    same = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert same.status_code == 304
    assert same.data == b""
    earlier = http_date(last_modified - timedelta(seconds=1))
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    epoch = client.get(path, headers={"If-Modified-Since": EPOCH})
    assert epoch.status_code == 200
    assert epoch.data == first.data
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    both = client.get(
        path,
        headers={"If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]},
    )
    assert both.status_code == 200
    assert both.data == first.data


@pytest.mark.parametrize("kind", KINDS)
def test_stale_etag_gives_the_feed(app, world, kind):
    path = world.feeds[kind].path
    first = anonymous(app).get(path)
    response = anonymous(app).get(path, headers={"If-None-Match": '"0123456789abcdef"'})
    assert response.status_code == 200
    assert response.data == first.data
    assert response.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("kind", KINDS)
def test_head_answers_with_the_headers_of_get(app, world, kind):
    path = world.feeds[kind].path
    get = anonymous(app).get(path)
    head = anonymous(app).head(path)
    assert head.status_code == 200
    assert head.data == b""
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Referrer-Policy"):
        assert head.headers[header] == get.headers[header], header
    conditional = anonymous(app).head(path, headers={"If-None-Match": get.headers["ETag"]})
    assert conditional.status_code == 304


@pytest.mark.parametrize("kind", KINDS)
def test_feed_is_built_once_and_never_for_a_304(app, world, kind, monkeypatch):
    feed = world.feeds[kind]
    builds = count_builds(monkeypatch, feed.builder)
    first = anonymous(app).get(feed.path)
    second = anonymous(app).get(feed.path)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.data == first.data
    assert len(builds) == 1  # the second 200 came from the cache
    with app.app_context():
        services.feed_cache().clear()
    conditional = anonymous(app).get(feed.path, headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 304
    assert len(builds) == 1  # the 304 was answered without building (nor a cache)
    third = anonymous(app).get(feed.path)
    assert third.data == first.data
    assert len(builds) == 2  # the cache was emptied: built again, to the same bytes


# --- changes reach the next poll ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_edited_meeting_invalidates_the_old_etag(app, world, kind, monkeypatch):
    feed = world.feeds[kind]
    builds = count_builds(monkeypatch, feed.builder)
    first = anonymous(app).get(feed.path)
    etag = first.headers["ETag"]
    change_meeting(app, world.meeting.id, title="Umzugshilfe Sprechstunde")
    response = anonymous(app).get(feed.path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    body = unfold(response.data)
    assert "SUMMARY:Umzugshilfe Sprechstunde" in body
    assert "Wohnungssuche" not in body
    assert len(builds) == 2
    again = anonymous(app).get(feed.path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_registration_reaches_the_personal_feed(app, world, make_group, make_meeting):
    other = make_group(name="AG Sprache", slug="ag-sprache")
    meeting = make_meeting(title="Sprachcafé", group_id=other.id, visibility=Visibility.NETWORK)
    path = world.feeds["personal"].path
    first = anonymous(app).get(path)
    assert "Sprachcafé" not in unfold(first.data)
    with app.app_context():
        registration_services.register_member(
            db.session.get(Meeting, meeting.id), db.session.get(User, world.member.id)
        )
        db.session.commit()
    response = anonymous(app).get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 200
    body = unfold(response.data)
    assert "SUMMARY:Sprachcafé" in body
    assert "Your registration: confirmed" in body


def test_leaving_a_group_removes_its_meetings_on_the_next_fetch(
    app, world, make_group, make_meeting
):
    secret = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={world.member.id: GroupRole.MEMBER},
    )
    make_meeting(title="Fallbesprechung", group_id=secret.id, visibility=Visibility.GROUP)
    path = world.feeds["personal"].path
    first = anonymous(app).get(path)
    assert "SUMMARY:Fallbesprechung" in unfold(first.data)
    with app.app_context():
        group_services.leave_group(
            db.session.get(WorkingGroup, secret.id), db.session.get(User, world.member.id)
        )
        db.session.commit()
    response = anonymous(app).get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 200
    assert "Fallbesprechung" not in unfold(response.data)
    assert "SUMMARY:Wohnungssuche Sprechstunde" in unfold(response.data)


def test_confidential_meetings_never_reach_public_or_group_feeds(
    app, world, make_group, make_meeting
):
    secret = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={world.member.id: GroupRole.MEMBER},
    )
    make_meeting(title="Fallbesprechung", group_id=secret.id, visibility=Visibility.GROUP)
    make_meeting(title="Nur Mitglieder", group_id=world.group.id, visibility=Visibility.NETWORK)
    for kind in ("public", "group"):
        body = unfold(anonymous(app).get(world.feeds[kind].path).data)
        assert "Fallbesprechung" not in body, kind
        assert "Nur Mitglieder" not in body, kind
    assert anonymous(app).get("/calendar/groups/ag-uma.ics").status_code == 404


# --- personal tokens --------------------------------------------------------------------------


def test_unknown_token_is_404(app, world):
    response = anonymous(app).get("/calendar/personal/" + "A" * 43 + ".ics")
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_revoked_token_is_404_on_the_very_next_fetch(app, world):
    path = world.feeds["personal"].path
    first = anonymous(app).get(path)
    assert first.status_code == 200
    with app.app_context():
        row = db.session.scalar(sa.select(CalendarToken))
        services.revoke_token(row, actor=db.session.get(User, world.member.id))
        db.session.commit()
    assert anonymous(app).get(path).status_code == 404
    conditional = anonymous(app).get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 404
    assert world.member.name not in conditional.get_data(as_text=True)


def test_token_of_a_deactivated_user_is_404(app, world):
    path = world.feeds["personal"].path
    assert anonymous(app).get(path).status_code == 200
    with app.app_context():
        db.session.get(User, world.member.id).is_active = False
        db.session.commit()
    assert anonymous(app).get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/personal/" + "x" * 101 + ".ics",
        "/calendar/personal/" + "x" * 5000 + ".ics",
        "/calendar/personal/%00.ics",
        "/calendar/personal/abc%00def.ics",
        "/calendar/personal/%ff%fe.ics",
        "/calendar/personal/%C3%BC%F0%9F%9A%80.ics",
        "/calendar/personal/a%20b.ics",
        "/calendar/personal/..%2F..%2Fetc%2Fpasswd.ics",
        "/calendar/personal/x'%3B--.ics",
        "/calendar/personal/.ics",
        "/calendar/personal/abc",
        "/calendar/groups/%00.ics",
        "/calendar/groups/" + "x" * 81 + ".ics",
        "/calendar/groups/no-such-group.ics",
        "/meetings/99999999999999999999.ics",
        "/meetings/-1.ics",
        "/meetings/0.ics",
    ],
)
def test_odd_feed_urls_are_404_not_500(app, world, path):
    response = anonymous(app).get(path)
    assert response.status_code == 404, response.status_code
    assert "Location" not in response.headers


def test_a_token_longer_than_100_characters_never_matches(app, world):
    assert len(world.token) <= 100
    padded = world.token + "x" * (101 - len(world.token))
    assert anonymous(app).get(f"/calendar/personal/{padded}.ics").status_code == 404
    assert anonymous(app).get(world.feeds["personal"].path).status_code == 200


def test_last_used_is_set_once_and_not_on_every_poll(app, world):
    path = world.feeds["personal"].path
    assert token_rows(app)[0].last_used_at is None
    before = utcnow()
    first = anonymous(app).get(path)
    used = token_rows(app)[0].last_used_at
    assert used is not None and before <= used <= utcnow()
    # Noting the use is no change to the feed: the next poll still gets a 304.
    second = anonymous(app).get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304
    anonymous(app).get(path)
    assert token_rows(app)[0].last_used_at == used


def test_last_used_is_rewritten_after_some_minutes(app, world):
    path = world.feeds["personal"].path
    anonymous(app).get(path)
    long_ago = utcnow() - timedelta(minutes=11)
    with app.app_context():
        db.session.execute(sa.update(CalendarToken).values(last_used_at=long_ago))
        db.session.commit()
    before = utcnow()
    anonymous(app).get(path)
    assert token_rows(app)[0].last_used_at >= before


@pytest.fixture
def limited_app(app):
    """The test app with rate limits on and at most 3 bad feed tokens a minute."""
    from coordination.extensions import limiter

    app.config["RATELIMIT_ENABLED"] = True
    app.config["FEED_TOKEN_RATE_LIMIT"] = "3 per minute"
    limiter.init_app(app)
    return app


def test_invalid_tokens_are_rate_limited_but_valid_ones_are_not(limited_app, world):
    app = limited_app
    codes = [anonymous(app).get(f"/calendar/personal/guess{n}.ics").status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]
    assert anonymous(app).get("/calendar/personal/guess9.ics").status_code == 429
    # The owner's calendar app behind the same address keeps working.
    for _ in range(5):
        assert anonymous(app).get(world.feeds["personal"].path).status_code == 200


def test_valid_tokens_do_not_use_up_the_limit(limited_app, world):
    app = limited_app
    for _ in range(6):
        assert anonymous(app).get(world.feeds["personal"].path).status_code == 200
    codes = [anonymous(app).get(f"/calendar/personal/guess{n}.ics").status_code for n in range(3)]
    assert codes == [404, 404, 404]


# --- single-meeting downloads -------------------------------------------------------------------


def test_download_is_an_ics_attachment_with_the_feed_uid(app, world):
    response = anonymous(app).get(f"/meetings/{world.meeting.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CALENDAR_TYPE
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="wohnungssuche-sprechstunde-\d{4}-\d{2}-\d{2}\.ics"', disposition
    ), disposition
    assert "Set-Cookie" not in response.headers
    body = unfold(response.data)
    assert f"UID:{world.meeting.ical_uid}\r\n" in body
    feed = unfold(anonymous(app).get("/calendar/public.ics").data)
    assert f"UID:{world.meeting.ical_uid}\r\n" in feed
    assert "METHOD:" not in body


def test_download_follows_the_visibility_of_the_meeting_page(app, users, login, make_meeting):
    network = make_meeting(title="Netzwerktreffen", visibility=Visibility.NETWORK)
    public = make_meeting(title="Offenes Treffen", visibility=Visibility.PUBLIC)
    visitor = anonymous(app)
    assert visitor.get(f"/meetings/{network.id}.ics").status_code == 404
    assert visitor.get(f"/meetings/{network.id}").status_code == 404
    assert visitor.get(f"/meetings/{public.id}.ics").status_code == 200
    member = login(users["member"])
    assert member.get(f"/meetings/{network.id}.ics").status_code == 200
    assert member.get(f"/meetings/{public.id}.ics").status_code == 200


def test_confidential_group_meeting_download_is_404_for_outsiders(
    app, users, login, make_user, make_group, make_meeting
):
    insider = make_user(name="Ina Insider")
    group = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={insider.id: GroupRole.MEMBER},
    )
    meeting = make_meeting(title="Fallbesprechung", group_id=group.id, visibility=Visibility.GROUP)
    path = f"/meetings/{meeting.id}.ics"
    assert anonymous(app).get(path).status_code == 404
    for outsider in ("member", "moderator"):
        response = login(users[outsider]).get(path)
        assert response.status_code == 404, outsider
        assert "Fallbesprechung" not in response.get_data(as_text=True)
    for reader in (insider, users["admin"]):
        response = login(reader).get(path)
        assert response.status_code == 200
        assert "SUMMARY:Fallbesprechung" in unfold(response.data)


def test_download_shows_the_online_link_only_to_who_may_see_it(app, users, login, make_meeting):
    link = "https://meet.example.org/geheimer-raum"
    hidden = make_meeting(title="Hybrid", visibility=Visibility.PUBLIC, online_url=link)
    shown = make_meeting(
        title="Offen hybrid",
        visibility=Visibility.PUBLIC,
        online_url=link + "-offen",
        is_online_url_public=True,
    )
    visitor = anonymous(app)
    assert "geheimer-raum" not in unfold(visitor.get(f"/meetings/{hidden.id}.ics").data)
    assert link + "-offen" in unfold(visitor.get(f"/meetings/{shown.id}.ics").data)
    assert link in unfold(login(users["member"]).get(f"/meetings/{hidden.id}.ics").data)
    token = make_token(app, users["member"])
    assert link in unfold(visitor.get(f"/calendar/personal/{token}.ics").data)
    public_feed = unfold(visitor.get("/calendar/public.ics").data)
    assert "geheimer-raum-offen" in public_feed
    assert public_feed.count("geheimer-raum") == public_feed.count("geheimer-raum-offen")


def test_cancelled_meeting_can_still_be_downloaded(app, users, login, make_meeting):
    meeting = make_meeting(title="Abgesagtes Treffen", visibility=Visibility.PUBLIC)
    with app.app_context():
        meeting_services.cancel_meeting(db.session.get(Meeting, meeting.id), actor=None)
        db.session.commit()
    response = anonymous(app).get(f"/meetings/{meeting.id}.ics")
    assert response.status_code == 200
    assert "STATUS:CANCELLED" in unfold(response.data)


# --- managing personal feeds on /account/ -----------------------------------------------------


@pytest.fixture
def mia(make_user) -> User:
    return make_user(name="Mia Member", email="mia@example.org", locale=Locale.EN)


def create_through_form(client: FlaskClient, label: str = "Handy") -> str:
    """Create a feed like a user does; return the https address shown once on /account/."""
    response = client.post("/calendar/tokens", data={"label": label}, headers=EN)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    return FEED_URL.search(page).group(0)


def test_account_page_offers_the_feed_form(mia, login):
    page = login(mia).get("/account/", headers=EN).get_data(as_text=True)
    assert 'id="calendar-feeds"' in page
    assert 'action="/calendar/tokens"' in page
    assert 'name="label"' in page
    assert 'id="calendar-token-none"' in page


def test_creating_a_feed_shows_its_links_exactly_once(app, mia, login):
    client = login(mia)
    response = client.post("/calendar/tokens", data={"label": "Handy"}, headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/#calendar-feeds")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert page.count('id="new-feed"') == 1
    url = FEED_URL.search(page).group(0)
    token = FEED_URL.search(page).group(1)
    webcal = "webcal://" + url.removeprefix("https://")
    assert f'href="{webcal}"' in page
    assert "cid=webcal%3A%2F%2Fknotenpunkt.test%2Fcalendar%2Fpersonal%2F" + token in page
    assert f'value="{url}"' in page
    again = client.get("/account/", headers=EN).get_data(as_text=True)
    assert 'id="new-feed"' not in again
    assert token not in again
    # Only the hash is stored.
    rows = token_rows(app, mia)
    assert len(rows) == 1 and rows[0].label == "Handy"
    assert token not in rows[0].token_hash


def test_the_shown_address_works_as_a_feed(app, mia, login, make_meeting):
    make_meeting(title="Vernetzungstreffen Juni")
    url = create_through_form(login(mia))
    response = anonymous(app).get(url.removeprefix("https://knotenpunkt.test"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CALENDAR_TYPE
    assert "SUMMARY:Vernetzungstreffen Juni" in unfold(response.data)


SHORT_DATETIME = re.compile(r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}\W*[AP]M")


def token_cells(page: str, token_id: int) -> list[str]:
    row = re.search(rf'<tr id="calendar-token-{token_id}">(.*?)</tr>', page, re.S).group(1)
    return [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_feed_list_shows_label_created_and_last_used(app, mia, login):
    client = login(mia)
    url = create_through_form(client, "Outlook at work")
    row = token_rows(app, mia)[0]
    label, created, last_used, _revoke = token_cells(
        client.get("/account/", headers=EN).text, row.id
    )
    assert label == "Outlook at work"
    assert SHORT_DATETIME.fullmatch(created), created
    assert "never" in last_used
    anonymous(app).get(url.removeprefix("https://knotenpunkt.test"))
    _label, _created, last_used, _revoke = token_cells(
        client.get("/account/", headers=EN).text, row.id
    )
    assert SHORT_DATETIME.fullmatch(last_used), last_used


def test_revoking_a_feed_through_the_page(app, mia, login):
    client = login(mia)
    url = create_through_form(client, "Altes Handy")
    path = url.removeprefix("https://knotenpunkt.test")
    assert anonymous(app).get(path).status_code == 200
    row = token_rows(app, mia)[0]
    response = client.post(f"/calendar/tokens/{row.id}/revoke", headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/#calendar-feeds")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Altes Handy" in page  # named in the confirmation
    assert f'id="calendar-token-{row.id}"' not in page
    assert token_rows(app, mia) == []
    assert anonymous(app).get(path).status_code == 404


def test_another_users_token_cannot_be_revoked(app, mia, make_user, login):
    token = make_token(app, mia, "Mias Handy")
    row = token_rows(app, mia)[0]
    intruder = login(make_user(name="Ida Intruder"))
    assert intruder.post(f"/calendar/tokens/{row.id}/revoke").status_code == 404
    assert intruder.post("/calendar/tokens/99999999/revoke").status_code == 404
    assert len(token_rows(app, mia)) == 1
    assert anonymous(app).get(f"/calendar/personal/{token}.ics").status_code == 200
    page = intruder.get("/account/").get_data(as_text=True)
    assert "Mias Handy" not in page


@pytest.mark.parametrize(
    "label",
    ["", "   ", "x" * 81, "x" * 10_000, "Handy\x00"],
    ids=["empty", "whitespace", "81 characters", "10000 characters", "NUL byte"],
)
def test_bad_labels_are_refused_beside_the_field(app, mia, login, label):
    response = login(mia).post("/calendar/tokens", data={"label": label}, headers=EN)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = re.search(r'<ul class="errors" id="label-error">(.*?)</ul>', page, re.S)
    assert errors is not None and errors.group(1).strip()
    assert 'aria-invalid="true"' in page
    assert 'id="new-feed"' not in page
    assert token_rows(app) == []


def test_missing_label_is_refused(app, mia, login):
    response = login(mia).post("/calendar/tokens", data={}, headers=EN)
    assert response.status_code == 400
    assert 'id="label-error"' in response.get_data(as_text=True)
    assert token_rows(app) == []


def test_labels_up_to_80_characters_and_unicode_are_kept(app, mia, login):
    client = login(mia)
    unicode_label = "Händy 📱 محمد Łódź"
    create_through_form(client, "x" * 80)
    create_through_form(client, f"  {unicode_label}  ")
    assert sorted(row.label for row in token_rows(app, mia)) == sorted(["x" * 80, unicode_label])
    assert unicode_label in client.get("/account/", headers=EN).get_data(as_text=True)


def test_labels_are_escaped_on_the_page(app, mia, login):
    client = login(mia)
    create_through_form(client, "<script>alert(1)</script>")
    page = client.get("/account/", headers=EN).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_21st_feed_is_refused(app, mia, login):
    for n in range(services.MAX_TOKENS_PER_USER):
        make_token(app, mia, f"Feed {n}")
    client = login(mia)
    response = client.post("/calendar/tokens", data={"label": "One more"}, headers=EN)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert f"You have {services.MAX_TOKENS_PER_USER} feeds already" in page
    assert 'id="new-feed"' not in page
    assert FEED_URL.search(page) is None
    rows = token_rows(app, mia)
    assert len(rows) == services.MAX_TOKENS_PER_USER
    assert "One more" not in {row.label for row in rows}


def test_anonymous_cannot_create_or_revoke(app, mia):
    token = make_token(app, mia)
    row = token_rows(app, mia)[0]
    visitor = anonymous(app)
    response = visitor.post("/calendar/tokens", data={"label": "Handy"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    response = visitor.post(f"/calendar/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert len(token_rows(app)) == 1
    assert anonymous(app).get(f"/calendar/personal/{token}.ics").status_code == 200


def test_token_forms_need_their_csrf_token(app, mia, login):
    app.config["WTF_CSRF_ENABLED"] = True
    client = login(mia)
    assert client.post("/calendar/tokens", data={"label": "Handy"}).status_code == 400
    assert token_rows(app) == []
    page = client.get("/account/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/calendar/tokens".*?</form>', page, re.S)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.group(0)).group(1)
    response = client.post("/calendar/tokens", data={"label": "Handy", "csrf_token": csrf})
    assert response.status_code == 303
    rows = token_rows(app)
    assert len(rows) == 1
    assert client.post(f"/calendar/tokens/{rows[0].id}/revoke").status_code == 400
    assert len(token_rows(app)) == 1
    revoke = client.post(f"/calendar/tokens/{rows[0].id}/revoke", data={"csrf_token": csrf})
    assert revoke.status_code == 303
    assert token_rows(app) == []


# --- the /calendar/ page and the links to it ----------------------------------------------------


def test_visitors_see_the_public_feed_and_instructions(app, make_group, make_meeting):
    make_group(name="AG Wohnen", slug="ag-wohnen")
    response = anonymous(app).get("/calendar/", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="webcal://knotenpunkt.test/calendar/public.ics"' in page
    assert 'value="https://knotenpunkt.test/calendar/public.ics"' in page
    assert (
        'href="https://calendar.google.com/calendar/r?cid='
        'webcal%3A%2F%2Fknotenpunkt.test%2Fcalendar%2Fpublic.ics"'
    ) in page
    for app_name in ("google", "outlook", "apple", "thunderbird"):
        assert f'id="help-{app_name}"' in page, app_name
    google = re.search(r'<details id="help-google">(.*?)</details>', page, re.S).group(1)
    assert "8 to 24 hours" in google
    assert 'id="groups"' not in page
    assert "ag-wohnen" not in page and "AG Wohnen" not in page
    assert 'action="/calendar/tokens"' not in page
    assert 'id="manage-feeds"' not in page
    assert "/calendar/personal/" not in page


def test_members_see_open_group_feeds_only(app, login, make_user, make_group):
    member = make_user(name="Mia Member", locale=Locale.EN)
    make_group(name="AG Wohnen", slug="ag-wohnen", members={member.id: GroupRole.MEMBER})
    make_group(name="AG Sprache", slug="ag-sprache")
    make_group(
        name="AG Geheimsache",
        slug="ag-geheimsache",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={member.id: GroupRole.LEAD},
    )
    page = login(member).get("/calendar/", headers=EN).get_data(as_text=True)
    for slug in ("ag-wohnen", "ag-sprache"):
        assert f'id="feed-group-{slug}"' in page, slug
        assert f'href="webcal://knotenpunkt.test/calendar/groups/{slug}.ics"' in page, slug
        assert f'value="https://knotenpunkt.test/calendar/groups/{slug}.ics"' in page, slug
        assert f"webcal%3A%2F%2Fknotenpunkt.test%2Fcalendar%2Fgroups%2F{slug}.ics" in page
    assert "Geheimsache" not in page and "geheimsache" not in page
    manage = re.search(r'<a href="([^"]+)" id="manage-feeds"', page)
    assert manage is not None and manage.group(1) == "/account/#calendar-feeds"
    assert 'href="webcal://knotenpunkt.test/calendar/public.ics"' in page


def test_admins_see_no_confidential_group_feeds_either(users, login, make_group):
    make_group(
        name="AG Geheimsache", slug="ag-geheimsache", confidentiality=Confidentiality.CONFIDENTIAL
    )
    page = login(users["admin"]).get("/calendar/").get_data(as_text=True)
    assert "geheimsache" not in page.lower()


def test_group_feed_links_on_the_page_work(app, login, users, make_group, make_meeting):
    group = make_group(name="AG Wohnen", slug="ag-wohnen")
    make_meeting(title="Offene Sprechstunde", group_id=group.id, visibility=Visibility.PUBLIC)
    page = login(users["member"]).get("/calendar/").get_data(as_text=True)
    url = re.search(r'value="(https://knotenpunkt\.test/calendar/groups/[^"]+)"', page).group(1)
    response = anonymous(app).get(url.removeprefix("https://knotenpunkt.test"))
    assert response.status_code == 200
    assert "SUMMARY:Offene Sprechstunde" in unfold(response.data)


def test_meeting_page_offers_download_google_and_subscription(users, login, make_meeting):
    meeting = make_meeting(title="Vernetzungstreffen")
    page = login(users["member"]).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert re.search(rf'href="/meetings/{meeting.id}\.ics" id="meeting-ics"', page)
    google = re.search(r'href="([^"]+)" rel="noopener noreferrer" id="meeting-google"', page)
    assert google is not None
    assert google.group(1).startswith(
        "https://calendar.google.com/calendar/render?action=TEMPLATE&amp;text=Vernetzungstreffen"
    )
    assert 'href="/calendar/" id="meeting-subscribe"' in page


def test_cancelled_meeting_page_has_no_google_link(app, users, login, make_meeting):
    meeting = make_meeting(title="Abgesagt")
    with app.app_context():
        meeting_services.cancel_meeting(db.session.get(Meeting, meeting.id), actor=None)
        db.session.commit()
    page = login(users["member"]).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'id="meeting-google"' not in page
    assert 'id="meeting-ics"' in page


def test_group_page_links_to_the_calendar_page(app, users, login, make_group):
    member = users["member"]
    open_group = make_group(name="AG Wohnen", slug="ag-wohnen")
    secret = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={member.id: GroupRole.MEMBER},
    )
    client = login(member)
    page = client.get(f"/groups/{open_group.slug}").get_data(as_text=True)
    assert 'href="/calendar/#group-ag-wohnen" id="group-calendar"' in page
    page = client.get(f"/groups/{secret.slug}").get_data(as_text=True)
    assert 'href="/calendar/#personal" id="group-calendar"' in page
