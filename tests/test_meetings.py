"""Single meetings: who may schedule, edit and cancel them, validation in local time, the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, Role
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import Meeting, MeetingKind, MeetingStatus, Visibility


@pytest.fixture
def english(make_user, login):
    """``english(role)``: a client logged in as a new user of ``role`` who reads English."""

    def _client(role: Role = Role.MODERATOR):
        return login(make_user(role=role, locale=Locale.EN))

    return _client


def _form(**overrides: str) -> dict[str, str]:
    """A valid form for a network meeting on a winter evening; booleans are present when true."""
    data = {
        "title": "Vernetzungstreffen Januar",
        "kind": "network",
        "group_id": "",
        "start_date": "2027-01-12",
        "start_time": "17:00",
        "end_date": "",
        "end_time": "19:00",
        "venue_name": "VHS Leipzig",
        "venue_address": "Löhrstraße 3-7, 04105 Leipzig",
        "online_url": "",
        "description": "Berichte aus den **AGs**",
        "visibility": "network",
        "capacity": "",
        "is_registration_open": "y",
        "registration_closes_date": "",
        "registration_closes_time": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _meetings(app) -> list[Meeting]:
    with app.app_context():
        meetings = list(db.session.scalars(sa.select(Meeting).order_by(Meeting.id)))
        for meeting in meetings:
            db.session.expunge(meeting)
        return meetings


def _get(app, meeting_id: int) -> Meeting:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        db.session.expunge(meeting)
        return meeting


def _edit_form(meeting: Meeting, **overrides: str) -> dict[str, str]:
    """The edit form as the browser would send it back, with ``overrides``."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = meeting.starts_at.astimezone(berlin)
    end = meeting.ends_at.astimezone(berlin)
    data = _form(
        title=meeting.title,
        kind=meeting.kind.value,
        group_id=str(meeting.group_id or ""),
        start_date=start.date().isoformat(),
        start_time=start.strftime("%H:%M"),
        end_date=end.date().isoformat(),
        end_time=end.strftime("%H:%M"),
        venue_name=meeting.venue_name,
        venue_address=meeting.venue_address,
        online_url=meeting.online_url,
        description=meeting.description,
        visibility=meeting.visibility.value,
        capacity=str(meeting.capacity or ""),
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- creating ----------------------------------------------------------------------------------


def test_moderator_schedules_a_winter_meeting_in_local_time(app, users, login):
    response = login(users["moderator"]).post("/meetings/new", data=_form())
    assert response.status_code == 303
    [meeting] = _meetings(app)
    assert response.headers["Location"] == f"/meetings/{meeting.id}"
    assert meeting.starts_at == datetime(2027, 1, 12, 16, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2027, 1, 12, 18, 0, tzinfo=UTC)
    assert meeting.kind is MeetingKind.NETWORK
    assert meeting.status is MeetingStatus.SCHEDULED
    assert meeting.sequence == 0
    assert len(meeting.ical_uid) == 36
    assert meeting.created_by_id == users["moderator"].id


def test_a_summer_meeting_at_17_is_15_utc(app, users, login):
    login(users["moderator"]).post(
        "/meetings/new", data=_form(start_date="2027-07-13", end_date="2027-07-13")
    )
    [meeting] = _meetings(app)
    assert meeting.starts_at == datetime(2027, 7, 13, 15, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2027, 7, 13, 17, 0, tzinfo=UTC)


def test_creating_records_an_audit_event(app, users, login):
    login(users["admin"]).post("/meetings/new", data=_form())
    [meeting] = _meetings(app)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent))
        assert (event.action, event.object_type, event.object_id) == (
            "meeting.created",
            "meeting",
            meeting.id,
        )


@pytest.mark.parametrize(("role", "status"), [("admin", 303), ("moderator", 303), ("member", 403)])
def test_who_may_schedule_network_meetings(app, users, login, role, status):
    client = login(users[role])
    assert client.get("/meetings/new").status_code == (200 if status == 303 else 403)
    assert client.post("/meetings/new", data=_form()).status_code == status
    assert len(_meetings(app)) == (1 if status == 303 else 0)


def test_visitors_are_sent_to_log_in(app, client):
    for path in ("/meetings/new", "/meetings/series/new"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    assert client.post("/meetings/new", data=_form()).status_code == 302
    assert _meetings(app) == []


def test_group_lead_schedules_a_meeting_of_their_group(app, users, login, make_group):
    group = make_group(members={users["member"].id: GroupRole.LEAD})
    lead = login(users["member"])
    page = lead.get("/meetings/new").get_data(as_text=True)
    assert f'value="{group.id}"' in page
    kinds = re.search(r'<select[^>]*name="kind".*?</select>', page, re.S).group(0)
    assert 'value="group"' in kinds and 'value="network"' not in kinds
    response = lead.post(
        "/meetings/new", data=_form(kind="group", group_id=str(group.id), visibility="group")
    )
    assert response.status_code == 303
    [meeting] = _meetings(app)
    assert (meeting.kind, meeting.group_id) == (MeetingKind.GROUP, group.id)


def test_group_lead_cannot_schedule_for_another_group(app, users, login, make_group):
    make_group(members={users["member"].id: GroupRole.LEAD})
    other = make_group()
    response = login(users["member"]).post(
        "/meetings/new", data=_form(kind="group", group_id=str(other.id))
    )
    assert response.status_code == 200
    assert 'id="group_id-error"' in response.get_data(as_text=True)
    assert _meetings(app) == []


def test_group_lead_cannot_schedule_network_meetings(app, users, login, make_group):
    make_group(members={users["member"].id: GroupRole.LEAD})
    response = login(users["member"]).post("/meetings/new", data=_form(kind="network"))
    assert response.status_code == 200
    assert 'id="kind-error"' in response.get_data(as_text=True)
    assert _meetings(app) == []


def test_group_member_who_is_no_lead_may_not_schedule(app, users, login, make_group):
    make_group(members={users["member"].id: GroupRole.MEMBER})
    assert login(users["member"]).get("/meetings/new").status_code == 403


def test_new_form_preselects_a_group_from_the_query(users, login, make_group):
    group = make_group()
    page = login(users["moderator"]).get(f"/meetings/new?group={group.id}").get_data(as_text=True)
    assert f'<option selected value="{group.id}">' in page


def test_form_has_date_and_time_inputs(users, login):
    page = login(users["moderator"]).get("/meetings/new").get_data(as_text=True)
    assert 'type="date"' in page and 'type="time"' in page
    assert 'name="start_date"' in page and 'name="end_time"' in page
    assert "privacy-reminder" in page


# --- validation --------------------------------------------------------------------------------


def _refused(app, client, field: str, **overrides: str) -> str:
    response = client.post("/meetings/new", data=_form(**overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page, page
    assert _meetings(app) == []
    return page


def test_end_before_start_is_refused(app, users, login):
    _refused(app, login(users["moderator"]), "end_time", start_time="19:00", end_time="17:00")


def test_end_on_an_earlier_day_is_refused(app, users, login):
    _refused(app, login(users["moderator"]), "end_time", end_date="2027-01-11")


def test_time_in_the_spring_gap_is_refused(app, english):
    page = _refused(
        app,
        english(),
        "start_time",
        start_date="2026-03-29",
        start_time="02:30",
        end_time="04:00",
    )
    assert "does not exist" in page


def test_ambiguous_autumn_time_is_refused(app, english):
    page = _refused(
        app,
        english(),
        "start_time",
        start_date="2026-10-25",
        start_time="02:30",
        end_time="04:00",
    )
    assert "happens twice" in page


def test_ambiguous_end_time_is_refused_too(app, users, login):
    _refused(
        app,
        login(users["moderator"]),
        "end_time",
        start_date="2026-10-25",
        start_time="01:00",
        end_time="02:15",
    )


def test_times_are_required_unless_all_day(app, users, login):
    _refused(app, login(users["moderator"]), "start_time", start_time="")


def test_registration_deadline_after_the_start_is_refused(app, users, login):
    _refused(
        app,
        login(users["moderator"]),
        "registration_closes_date",
        registration_closes_date="2027-01-12",
        registration_closes_time="18:00",
    )


def test_registration_deadline_needs_a_time(app, users, login):
    _refused(
        app,
        login(users["moderator"]),
        "registration_closes_time",
        registration_closes_date="2027-01-10",
    )


def test_registration_deadline_is_stored_in_utc(app, users, login):
    login(users["moderator"]).post(
        "/meetings/new",
        data=_form(registration_closes_date="2027-01-11", registration_closes_time="12:00"),
    )
    [meeting] = _meetings(app)
    assert meeting.registration_closes_at == datetime(2027, 1, 11, 11, 0, tzinfo=UTC)


def test_guests_only_for_public_meetings(app, users, login):
    _refused(app, login(users["moderator"]), "allows_guests", allows_guests="y")


def test_public_meeting_may_allow_guests(app, users, login):
    login(users["moderator"]).post(
        "/meetings/new", data=_form(visibility="public", allows_guests="y")
    )
    [meeting] = _meetings(app)
    assert meeting.allows_guests and meeting.visibility is Visibility.PUBLIC


@pytest.mark.parametrize("visibility", ["public", "network"])
def test_confidential_group_meeting_is_visible_to_the_group_only(
    app, users, login, make_group, visibility
):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    _refused(
        app,
        login(users["admin"]),
        "visibility",
        kind="group",
        group_id=str(group.id),
        visibility=visibility,
    )


def test_group_visibility_needs_a_group(app, users, login):
    _refused(app, login(users["moderator"]), "visibility", visibility="group")


def test_group_meeting_needs_a_group(app, users, login):
    _refused(app, login(users["moderator"]), "group_id", kind="group")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.org/x", "example.org", "https://a b.org"]
)
def test_online_link_must_be_http(app, users, login, url):
    _refused(app, login(users["moderator"]), "online_url", online_url=url)


@pytest.mark.parametrize("capacity", ["0", "10001", "-3", "abc", "1.5", "99999999999999999999"])
def test_capacity_is_1_to_10000(app, users, login, capacity):
    _refused(app, login(users["moderator"]), "capacity", capacity=capacity)


def test_empty_capacity_means_unlimited(app, users, login):
    login(users["moderator"]).post("/meetings/new", data=_form(capacity="30"))
    login(users["moderator"]).post("/meetings/new", data=_form(capacity=""))
    assert [meeting.capacity for meeting in _meetings(app)] == [30, None]


# --- all-day meetings --------------------------------------------------------------------------


def test_all_day_meeting_stores_local_midnights_with_exclusive_end(app, users, login):
    response = login(users["moderator"]).post(
        "/meetings/new",
        data=_form(
            is_all_day="y", start_time="", end_time="", end_date="2027-01-13", title="Klausur"
        ),
    )
    assert response.status_code == 303
    [meeting] = _meetings(app)
    assert meeting.is_all_day
    assert meeting.starts_at == datetime(2027, 1, 11, 23, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2027, 1, 13, 23, 0, tzinfo=UTC)


def test_all_day_summer_meeting(app, users, login):
    login(users["moderator"]).post(
        "/meetings/new", data=_form(is_all_day="y", start_date="2027-07-01", end_date="")
    )
    [meeting] = _meetings(app)
    assert meeting.starts_at == datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2027, 7, 1, 22, 0, tzinfo=UTC)


def test_all_day_meeting_page_shows_dates_only(app, users, login, english):
    login(users["moderator"]).post(
        "/meetings/new", data=_form(is_all_day="y", end_date="2027-01-13")
    )
    [meeting] = _meetings(app)
    page = english(Role.MEMBER).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "January 12, 2027" in page and "January 13, 2027" in page
    assert "12:00" not in page and "00:00" not in page and "23:00" not in page


def test_all_day_meeting_cannot_end_before_it_starts(app, users, login):
    _refused(app, login(users["moderator"]), "end_date", is_all_day="y", end_date="2027-01-10")


def test_edit_form_of_all_day_meeting_shows_the_last_day(app, users, login, make_meeting):
    meeting = make_meeting(
        is_all_day=True,
        starts_at=datetime(2027, 1, 11, 23, 0, tzinfo=UTC),
        ends_at=datetime(2027, 1, 13, 23, 0, tzinfo=UTC),
    )
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="2027-01-12"' in page and 'value="2027-01-13"' in page


# --- editing -----------------------------------------------------------------------------------


def test_edit_form_shows_local_times(users, login, make_meeting):
    meeting = make_meeting(
        starts_at=datetime(2027, 7, 13, 15, 0, tzinfo=UTC),
        ends_at=datetime(2027, 7, 13, 17, 0, tzinfo=UTC),
    )
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="17:00"' in page and 'value="19:00"' in page
    assert 'value="2027-07-13"' in page


def test_changing_the_time_bumps_the_sequence_and_keeps_the_uid(app, users, login, make_meeting):
    meeting = make_meeting()
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, end_time="21:00")
    )
    assert response.status_code == 303
    changed = _get(app, meeting.id)
    assert changed.sequence == meeting.sequence + 1
    assert changed.ical_uid == meeting.ical_uid
    assert changed.ends_at != meeting.ends_at


@pytest.mark.parametrize(
    "field", ["venue_name", "venue_address", "online_url"], ids=lambda name: name
)
def test_changing_the_place_bumps_the_sequence(app, users, login, make_meeting, field):
    meeting = make_meeting()
    value = "https://meet.example.org/room" if field == "online_url" else "Neues Rathaus"
    login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, **{field: value})
    )
    changed = _get(app, meeting.id)
    assert getattr(changed, field) == value
    assert changed.sequence == meeting.sequence + 1


def test_changing_title_and_description_keeps_the_sequence(app, users, login, make_meeting):
    meeting = make_meeting()
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit",
        data=_edit_form(meeting, title="Neuer Titel", description="Anders"),
    )
    assert response.status_code == 303
    changed = _get(app, meeting.id)
    assert (changed.title, changed.description) == ("Neuer Titel", "Anders")
    assert changed.sequence == meeting.sequence
    assert changed.ical_uid == meeting.ical_uid


def test_several_changes_at_once_bump_the_sequence_by_one(app, users, login, make_meeting):
    meeting = make_meeting()
    login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit",
        data=_edit_form(meeting, end_time="20:00", venue_name="Rathaus", title="X"),
    )
    assert _get(app, meeting.id).sequence == meeting.sequence + 1


def test_editing_is_audited(app, users, login, make_meeting):
    meeting = make_meeting()
    login(users["admin"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, venue_name="Rathaus")
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(AuditEvent.action).where(AuditEvent.object_id == meeting.id)
            )
            == "meeting.updated"
        )


def test_lead_edits_their_group_meeting(app, users, login, make_group, make_meeting):
    group = make_group(members={users["member"].id: GroupRole.LEAD})
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    response = login(users["member"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, title="AG-Treffen")
    )
    assert response.status_code == 303
    assert _get(app, meeting.id).title == "AG-Treffen"


def test_lead_cannot_edit_a_network_meeting(users, login, make_group, make_meeting):
    make_group(members={users["member"].id: GroupRole.LEAD})
    meeting = make_meeting()
    lead = login(users["member"])
    assert lead.get(f"/meetings/{meeting.id}/edit").status_code == 403
    assert lead.post(f"/meetings/{meeting.id}/cancel").status_code == 403


def test_lead_of_another_group_cannot_edit(app, users, login, make_group, make_meeting, make_user):
    lead = make_user()
    make_group(members={lead.id: GroupRole.LEAD})
    group = make_group(members={users["member"].id: GroupRole.MEMBER})
    meeting = make_meeting(group_id=group.id)
    client = login(lead)
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403
    response = client.post(f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, title="X"))
    assert response.status_code == 403
    assert _get(app, meeting.id).title == meeting.title


def test_plain_member_cannot_edit_or_cancel(app, users, login, make_meeting):
    meeting = make_meeting()
    member = login(users["member"])
    assert member.get(f"/meetings/{meeting.id}/edit").status_code == 403
    assert member.post(f"/meetings/{meeting.id}/edit", data=_edit_form(meeting)).status_code == 403
    assert member.get(f"/meetings/{meeting.id}/cancel").status_code == 403
    assert member.post(f"/meetings/{meeting.id}/cancel").status_code == 403
    assert _get(app, meeting.id).status is MeetingStatus.SCHEDULED


def test_visitor_cannot_edit_or_cancel_a_public_meeting(app, client, make_meeting):
    meeting = make_meeting(visibility=Visibility.PUBLIC)
    assert client.post(f"/meetings/{meeting.id}/edit", data=_edit_form(meeting)).status_code == 302
    assert client.post(f"/meetings/{meeting.id}/cancel").status_code == 302
    assert _get(app, meeting.id).status is MeetingStatus.SCHEDULED


# --- cancelling --------------------------------------------------------------------------------


def test_cancel_asks_first(english, make_meeting):
    meeting = make_meeting()
    response = english().get(f"/meetings/{meeting.id}/cancel")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'action="/meetings/{meeting.id}/cancel"' in page
    assert "final" in page


def test_cancelling_marks_the_meeting_and_bumps_the_sequence(app, users, login, make_meeting):
    meeting = make_meeting()
    response = login(users["moderator"]).post(f"/meetings/{meeting.id}/cancel")
    assert response.status_code == 303
    cancelled = _get(app, meeting.id)
    assert cancelled.status is MeetingStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    assert cancelled.sequence == meeting.sequence + 1
    assert cancelled.ical_uid == meeting.ical_uid
    with app.app_context():
        assert db.session.scalar(
            sa.select(AuditEvent.action).where(AuditEvent.action == "meeting.cancelled")
        )


def test_cancelled_meeting_stays_visible_with_a_badge(users, login, make_meeting):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    moderator.post(f"/meetings/{meeting.id}/cancel")
    page = login(users["member"]).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "meeting-cancelled-badge" in page
    assert "/meetings/" in page
    page = moderator.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f"/meetings/{meeting.id}/edit" not in page


def test_cancelling_twice_bumps_once(app, users, login, make_meeting):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    moderator.post(f"/meetings/{meeting.id}/cancel")
    response = moderator.post(f"/meetings/{meeting.id}/cancel")
    assert response.status_code == 303
    assert _get(app, meeting.id).sequence == meeting.sequence + 1


def test_cancelled_meeting_cannot_be_edited(app, users, login, make_meeting):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    moderator.post(f"/meetings/{meeting.id}/cancel")
    response = moderator.post(f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, title="X"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}"
    changed = _get(app, meeting.id)
    assert changed.title == meeting.title and changed.status is MeetingStatus.CANCELLED
    assert moderator.get(f"/meetings/{meeting.id}/edit").status_code == 303


def test_lead_cancels_their_group_meeting(app, users, login, make_group, make_meeting):
    group = make_group(members={users["member"].id: GroupRole.LEAD})
    meeting = make_meeting(group_id=group.id)
    assert login(users["member"]).post(f"/meetings/{meeting.id}/cancel").status_code == 303
    assert _get(app, meeting.id).is_cancelled


# --- the meeting page and who sees it ----------------------------------------------------------


def test_meeting_page_shows_the_details_in_local_time(english, make_meeting):
    meeting = make_meeting(
        title="Vernetzungstreffen Juli",
        starts_at=datetime(2027, 7, 13, 15, 0, tzinfo=UTC),
        ends_at=datetime(2027, 7, 13, 17, 0, tzinfo=UTC),
        online_url="https://meet.example.org/vt",
        description="Mit **Bericht**",
        capacity=40,
    )
    page = english(Role.MEMBER).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Vernetzungstreffen Juli" in page
    assert "5:00" in page and "7:00" in page  # 17:00–19:00 local in English
    assert "Löhrstraße 3-7, 04105 Leipzig" in page and "VHS Leipzig" in page
    assert 'href="https://meet.example.org/vt"' in page
    assert "<strong>Bericht</strong>" in page
    assert f"/meetings/{meeting.id}/edit" not in page


def test_managers_see_edit_and_cancel_links(users, login, make_meeting):
    meeting = make_meeting()
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f'href="/meetings/{meeting.id}/edit"' in page
    assert f'href="/meetings/{meeting.id}/cancel"' in page


def test_description_is_sanitised(users, login, make_meeting):
    meeting = make_meeting(
        description="<script>alert(1)</script> [x](javascript:alert(2)) <img src=x> **ok**"
    )
    page = login(users["member"]).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "<strong>ok</strong>" in page
    assert "<script>alert(1)" not in page and 'href="javascript' not in page and "<img" not in page


def test_visitor_sees_a_public_meeting_without_online_link(client, users, make_meeting):
    meeting = make_meeting(
        visibility=Visibility.PUBLIC, online_url="https://meet.example.org/secret"
    )
    response = client.get(f"/meetings/{meeting.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert meeting.title in page and "VHS Leipzig" in page
    assert "meet.example.org/secret" not in page
    assert "/edit" not in page


def test_visitor_sees_the_online_link_when_marked_public(client, users, make_meeting):
    meeting = make_meeting(
        visibility=Visibility.PUBLIC,
        online_url="https://meet.example.org/open",
        is_online_url_public=True,
    )
    assert "meet.example.org/open" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_public_link_flag_is_dropped_for_non_public_meetings(app, users, login):
    login(users["moderator"]).post(
        "/meetings/new",
        data=_form(online_url="https://meet.example.org/x", is_online_url_public="y"),
    )
    [meeting] = _meetings(app)
    assert meeting.online_url and not meeting.is_online_url_public


@pytest.mark.parametrize("visibility", [Visibility.NETWORK, Visibility.GROUP])
def test_visitor_gets_404_for_non_public_meetings(
    client, users, make_group, make_meeting, visibility
):
    group = make_group()
    meeting = make_meeting(visibility=visibility, group_id=group.id)
    assert client.get(f"/meetings/{meeting.id}").status_code == 404


def test_confidential_group_meeting_is_404_for_outsiders(
    users, login, make_group, make_meeting, make_user
):
    insider = make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={insider.id: GroupRole.MEMBER}
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    for user in (users["member"], users["moderator"]):
        client = login(user)
        assert client.get(f"/meetings/{meeting.id}").status_code == 404
        assert client.get(f"/meetings/{meeting.id}/edit").status_code == 404
        assert client.post(f"/meetings/{meeting.id}/cancel").status_code == 404
    assert login(insider).get(f"/meetings/{meeting.id}").status_code == 200
    assert login(users["admin"]).get(f"/meetings/{meeting.id}").status_code == 200


def test_moderator_in_a_confidential_group_manages_its_meetings(
    app, users, login, make_group, make_meeting
):
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={users["moderator"].id: GroupRole.MEMBER},
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, title="Intern")
    )
    assert response.status_code == 303


def test_confidential_groups_are_not_offered_to_outsiders(users, login, make_group):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL, name="AG Geheim")
    page = login(users["moderator"]).get("/meetings/new").get_data(as_text=True)
    assert "AG Geheim" not in page
    response = login(users["moderator"]).post(
        "/meetings/new", data=_form(kind="group", group_id=str(group.id), visibility="group")
    )
    assert response.status_code == 200


def test_nav_links_to_the_meetings(client, users, login):
    assert 'href="/meetings/"' in client.get("/meetings/").get_data(as_text=True)
    assert 'href="/meetings/"' in login(users["member"]).get("/").get_data(as_text=True)


# --- bad input ---------------------------------------------------------------------------------


def test_empty_form_is_refused_beside_the_fields(app, users, login):
    response = login(users["moderator"]).post("/meetings/new", data={})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="title-error"' in page and 'id="start_date-error"' in page
    assert _meetings(app) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 100_000),
        ("description", "y" * 100_000),
        ("venue_address", "z" * 100_000),
        ("title", "Treffen\x00"),
        ("venue_name", "VHS\x00"),
        ("start_date", "abc"),
        ("start_date", "0001-01-01"),
        ("start_date", "2027-02-30"),
        ("start_time", "25:99"),
        ("end_time", "x"),
        ("kind", "bogus"),
        ("visibility", "secret"),
        ("group_id", "abc"),
        ("group_id", "99999999999999999999"),
        ("registration_closes_date", "9999-12-31"),
    ],
)
def test_bad_values_never_cause_a_server_error(app, users, login, field, value):
    response = login(users["admin"]).post("/meetings/new", data=_form(**{field: value}))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert _meetings(app) == []


def test_unicode_is_kept(app, users, login):
    title = "Treffen 🤝 مرحبا — Ärzte"
    login(users["moderator"]).post("/meetings/new", data=_form(title=title))
    assert _meetings(app)[0].title == title


def test_a_list_for_a_single_field_is_harmless(app, users, login):
    data = _form()
    data["title"] = ["Eins", "Zwei"]
    response = login(users["moderator"]).post("/meetings/new", data=data)
    assert response.status_code in (200, 303)


@pytest.mark.parametrize(
    "path",
    [
        "/meetings/99999999",
        "/meetings/99999999999999999999",
        "/meetings/2147483648/edit",
        "/meetings/-1",
        "/meetings/abc",
        "/meetings/99999999/cancel",
        "/meetings/series/99999999",
        "/meetings/series/99999999999999999999",
    ],
)
def test_unknown_ids_are_404(users, login, path):
    assert login(users["admin"]).get(path).status_code == 404


def test_unknown_ids_are_404_on_post(users, login):
    admin = login(users["admin"])
    assert admin.post("/meetings/99999999/cancel").status_code == 404
    assert admin.post("/meetings/2147483648/edit", data=_form()).status_code == 404
    assert admin.post("/meetings/series/99999999/end", data={}).status_code == 404


def test_the_new_meeting_page_renders_cleanly(english):
    response = english().get("/meetings/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count("<form") >= 2  # the form, plus logout and language in the layout
    assert "<fieldset" in page and "<legend>" in page
    assert 'for="start_date"' in page and 'id="start_date"' in page
    assert "style=" not in page and "<script>" not in page


def test_a_past_meeting_can_still_be_edited(app, users, login, make_meeting):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    meeting = make_meeting(starts_at=start, ends_at=start + timedelta(hours=2))
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/edit", data=_edit_form(meeting, title="Rückblick")
    )
    assert response.status_code == 303


def test_raising_the_capacity_promotes_people_from_the_waitlist(
    app, users, login, make_meeting, make_user
):
    """Integration of editing and registration: new seats go to the waitlist, in order."""
    from coordination.mail.models import OutboxMessage
    from coordination.meetings import services as meeting_services
    from coordination.meetings.models import Meeting
    from coordination.registrations.models import Registration, RegistrationStatus

    meeting = make_meeting(capacity=1)
    people = [make_user() for _ in range(3)]
    for person in people:
        assert login(person).post(f"/meetings/{meeting.id}/register").status_code == 303
    with app.test_request_context():
        stored = db.session.get(Meeting, meeting.id)
        meeting_services.update_meeting(stored, actor=None, capacity=2)
        db.session.commit()
        statuses = dict(
            db.session.execute(
                sa.select(Registration.user_id, Registration.status).where(
                    Registration.meeting_id == meeting.id
                )
            ).all()
        )
        promoted_mails = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
    assert statuses[people[0].id] is RegistrationStatus.CONFIRMED
    assert statuses[people[1].id] is RegistrationStatus.CONFIRMED
    assert statuses[people[2].id] is RegistrationStatus.WAITLISTED
    assert people[1].email in promoted_mails and people[2].email not in promoted_mails


def test_a_double_submitted_meeting_form_creates_one_meeting(app, users, login):
    moderator = login(users["moderator"])
    first = moderator.post("/meetings/new", data=_form())
    second = moderator.post("/meetings/new", data=_form())
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_meetings(app)) == 1
