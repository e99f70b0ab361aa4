"""Registering for meetings: members, waitlist, guests with double opt-in, closing, lists."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination.auth.models import Locale, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.mail.models import OutboxMessage
from coordination.meetings.models import Meeting, MeetingStatus, Visibility
from coordination.registrations import services
from coordination.registrations.models import Registration, RegistrationStatus

EN = {"Accept-Language": "en"}
HUGE = "x" * 100_000
NUL = "abc\x00def"
HUGE_ID = "99999999999999999999"
UNICODE = "Ünïcödé محمد 🚀 Łódź ゆ"
LINK = re.compile(r"https://knotenpunkt\.test(/meetings/registration/[A-Za-z0-9_\-]+)")


# --- helpers --------------------------------------------------------------------------------


def _rows(app, meeting_id: int) -> list[Registration]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Registration)
                .where(Registration.meeting_id == meeting_id)
                .order_by(Registration.id)
            )
        )


def _statuses(app, meeting_id: int) -> list[RegistrationStatus]:
    return [row.status for row in _rows(app, meeting_id)]


def _mails(app, recipient: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        return list(db.session.scalars(query))


def _flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def _panel(app, meeting_id: int, user: User | None = None) -> str:
    """Render the meeting page's registration partial as ``user`` would see it (English)."""
    with app.test_request_context(f"/meetings/{meeting_id}", headers=EN):
        if user is not None:
            login_user(db.session.get(User, user.id))
        meeting = db.session.get(Meeting, meeting_id)
        return render_template("registrations/_panel.html", meeting=meeting)


def _register(client, meeting_id: int, **data):
    return client.post(f"/meetings/{meeting_id}/register", data=data, headers=EN)


def _guest_form(**overrides):
    data = {
        "name": "Gabi Gast",
        "email": "gabi@example.org",
        "organization_name": "Café International",
        "consent": "y",
    }
    data.update(overrides)
    return data


def _public(make_meeting, **fields):
    fields.setdefault("visibility", Visibility.PUBLIC)
    fields.setdefault("allows_guests", True)
    return make_meeting(**fields)


def _guest_link(app, recipient: str) -> str:
    body = _mails(app, recipient)[-1].body_text
    return LINK.search(body).group(1)


# --- members --------------------------------------------------------------------------------


def test_member_registers_in_one_click_for_their_first_organisation(
    app, login, make_user, make_meeting, make_organization
):
    first = make_organization(name="Aachen Hilft")
    make_organization(name="Zeitz Hilft")
    user = make_user(organizations=[first.id])
    meeting = make_meeting()
    response = _register(login(user), meeting.id)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}#registration"
    [row] = _rows(app, meeting.id)
    assert row.user_id == user.id
    assert row.status is RegistrationStatus.CONFIRMED
    assert row.organization_id == first.id
    assert row.confirmed_at is not None


def test_member_chooses_another_directory_organisation(
    app, login, make_user, make_meeting, make_organization
):
    own = make_organization()
    other = make_organization()
    user = make_user(organizations=[own.id])
    meeting = make_meeting()
    _register(login(user), meeting.id, organization=str(other.id))
    [row] = _rows(app, meeting.id)
    assert row.organization_id == other.id and row.organization_name == ""


def test_member_names_an_organisation_outside_the_directory(app, login, make_user, make_meeting):
    meeting = make_meeting()
    _register(
        login(make_user()), meeting.id, organization="other", organization_name=f"  {UNICODE} "
    )
    [row] = _rows(app, meeting.id)
    assert row.organization_id is None and row.organization_name == UNICODE


def test_other_organisation_needs_a_name(app, login, make_user, make_meeting):
    meeting = make_meeting()
    response = _register(login(make_user()), meeting.id, organization="other")
    assert response.status_code == 200
    assert 'id="organization_name-error"' in response.get_data(as_text=True)
    assert _rows(app, meeting.id) == []


def test_registering_again_gives_a_friendly_message_and_no_second_row(
    app, login, make_user, make_meeting
):
    user = make_user(locale=Locale.EN)
    meeting = make_meeting()
    client = login(user)
    _register(client, meeting.id)
    with client.session_transaction() as session:
        session.pop("_flashes", None)
    response = _register(client, meeting.id)
    assert response.status_code == 303
    assert ("info", "You are already registered for this meeting.") in _flashes(client)
    assert len(_rows(app, meeting.id)) == 1


def test_member_cancels_in_one_click(app, login, make_user, make_meeting):
    user = make_user()
    meeting = make_meeting()
    client = login(user)
    _register(client, meeting.id)
    response = client.post(f"/meetings/{meeting.id}/unregister")
    assert response.status_code == 303
    [row] = _rows(app, meeting.id)
    assert row.status is RegistrationStatus.CANCELLED and row.cancelled_at is not None


def test_member_can_register_again_after_cancelling(app, login, make_user, make_meeting):
    client = login(make_user())
    meeting = make_meeting()
    _register(client, meeting.id)
    client.post(f"/meetings/{meeting.id}/unregister")
    _register(client, meeting.id)
    assert _statuses(app, meeting.id) == [
        RegistrationStatus.CANCELLED,
        RegistrationStatus.CONFIRMED,
    ]


def test_unregistering_without_a_registration_changes_nothing(app, login, make_user, make_meeting):
    client = login(make_user(locale=Locale.EN))
    meeting = make_meeting()
    assert client.post(f"/meetings/{meeting.id}/unregister").status_code == 303
    assert ("info", "You are not registered for this meeting.") in _flashes(client)
    assert _rows(app, meeting.id) == []


def test_next_address_is_used_only_when_local(login, make_user, make_meeting):
    client = login(make_user())
    meeting = make_meeting()
    response = _register(client, meeting.id, next="/meetings/")
    assert response.headers["Location"] == "/meetings/"
    response = client.post(
        f"/meetings/{meeting.id}/unregister", data={"next": "https://evil.example/"}
    )
    assert response.headers["Location"] == f"/meetings/{meeting.id}#registration"


def test_visitors_are_sent_to_the_login_page(app, client, make_meeting):
    meeting = make_meeting(visibility=Visibility.PUBLIC)
    for path in (f"/meetings/{meeting.id}/register", f"/meetings/{meeting.id}/unregister"):
        response = client.post(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")
    assert _rows(app, meeting.id) == []


def test_meetings_one_cannot_see_answer_404(app, login, make_user, make_group, make_meeting):
    lead = make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={lead.id: GroupRole.LEAD}
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    outsider = login(make_user())
    assert _register(outsider, meeting.id).status_code == 404
    assert outsider.post(f"/meetings/{meeting.id}/unregister").status_code == 404
    assert _rows(app, meeting.id) == []


@pytest.mark.parametrize("meeting_id", ["999999", HUGE_ID, "-1", "abc"])
def test_unknown_meeting_ids_answer_404(login, make_user, meeting_id):
    client = login(make_user())
    assert client.post(f"/meetings/{meeting_id}/register").status_code == 404
    assert client.post(f"/meetings/{meeting_id}/unregister").status_code == 404
    assert client.get(f"/meetings/{meeting_id}/guest").status_code == 404
    assert client.get(f"/meetings/{meeting_id}/registrations").status_code == 404


# --- capacity and waitlist ------------------------------------------------------------------


def test_registrations_beyond_capacity_are_waitlisted(app, login, make_user, make_meeting):
    meeting = make_meeting(capacity=2)
    for _ in range(4):
        _register(login(make_user()), meeting.id)
    assert _statuses(app, meeting.id) == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.WAITLISTED,
    ]


def test_waitlisted_member_is_told_their_position(login, make_user, make_meeting):
    meeting = make_meeting(capacity=1)
    _register(login(make_user()), meeting.id)
    _register(login(make_user()), meeting.id)
    client = login(make_user(locale=Locale.EN))
    _register(client, meeting.id)
    [(category, message)] = _flashes(client)
    assert category == "info" and "position 2" in message


def test_cancelling_promotes_the_first_waitlisted_person_and_mails_only_them(
    app, login, make_user, make_meeting
):
    meeting = make_meeting(capacity=1, title="Vernetzungstreffen Mai")
    confirmed = make_user()
    first = make_user(locale=Locale.EN, email="first@example.org")
    second = make_user(email="second@example.org")
    confirmed_client = login(confirmed)
    _register(confirmed_client, meeting.id)
    _register(login(first), meeting.id)
    _register(login(second), meeting.id)
    confirmed_client.post(f"/meetings/{meeting.id}/unregister")
    by_user = {row.user_id: row.status for row in _rows(app, meeting.id)}
    assert by_user == {
        confirmed.id: RegistrationStatus.CANCELLED,
        first.id: RegistrationStatus.CONFIRMED,
        second.id: RegistrationStatus.WAITLISTED,
    }
    [mail] = _mails(app)
    assert mail.recipient == "first@example.org"
    assert mail.subject == "You have a seat: Vernetzungstreffen Mai"
    assert '<html lang="en">' in mail.body_html
    assert f"https://knotenpunkt.test/meetings/{meeting.id}" in mail.body_text


def test_promotion_mail_uses_the_members_language(app, login, make_user, make_meeting):
    meeting = make_meeting(capacity=1)
    confirmed = login(make_user())
    _register(confirmed, meeting.id)
    _register(login(make_user(locale=Locale.DE, email="de@example.org")), meeting.id)
    confirmed.post(f"/meetings/{meeting.id}/unregister", headers=EN)
    [mail] = _mails(app)
    assert mail.recipient == "de@example.org"
    assert '<html lang="de">' in mail.body_html


def test_cancelling_a_waitlisted_registration_promotes_nobody(app, login, make_user, make_meeting):
    meeting = make_meeting(capacity=1)
    _register(login(make_user()), meeting.id)
    waiting = login(make_user())
    _register(waiting, meeting.id)
    _register(login(make_user()), meeting.id)
    waiting.post(f"/meetings/{meeting.id}/unregister")
    assert _statuses(app, meeting.id) == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CANCELLED,
        RegistrationStatus.WAITLISTED,
    ]
    assert _mails(app) == []


def test_fill_free_seats_promotes_as_many_as_the_new_capacity_allows(
    app, login, make_user, make_meeting
):
    meeting = make_meeting(capacity=1)
    for _ in range(4):
        _register(login(make_user()), meeting.id)
    with app.app_context():
        stored = db.session.get(Meeting, meeting.id)
        stored.capacity = 3
        promoted = services.fill_free_seats(stored)
        db.session.commit()
        assert len(promoted) == 2
    assert _statuses(app, meeting.id) == [RegistrationStatus.CONFIRMED] * 3 + [
        RegistrationStatus.WAITLISTED
    ]
    assert len(_mails(app)) == 2


def test_fill_free_seats_promotes_everyone_when_the_limit_is_removed(
    app, login, make_user, make_meeting
):
    meeting = make_meeting(capacity=1)
    for _ in range(3):
        _register(login(make_user()), meeting.id)
    with app.app_context():
        stored = db.session.get(Meeting, meeting.id)
        stored.capacity = None
        assert len(services.fill_free_seats(stored)) == 2
        db.session.commit()
    assert set(_statuses(app, meeting.id)) == {RegistrationStatus.CONFIRMED}


def test_new_registrations_do_not_overtake_the_waitlist(app, login, make_user, make_meeting):
    meeting = make_meeting(capacity=1)
    _register(login(make_user()), meeting.id)
    waiting = make_user()
    _register(login(waiting), meeting.id)
    with app.app_context():
        db.session.get(Meeting, meeting.id).capacity = 2  # raised without fill_free_seats
        db.session.commit()
    newcomer = make_user()
    _register(login(newcomer), meeting.id)
    by_user = {row.user_id: row.status for row in _rows(app, meeting.id)}
    assert by_user[waiting.id] is RegistrationStatus.CONFIRMED
    assert by_user[newcomer.id] is RegistrationStatus.WAITLISTED


def test_panel_shows_seats_left_and_the_users_state(app, login, make_user, make_meeting):
    meeting = make_meeting(capacity=2)
    visitor_view = _panel(app, meeting.id, make_user(locale=Locale.EN))
    assert "2 seats left." in visitor_view
    assert f'action="/meetings/{meeting.id}/register"' in visitor_view
    confirmed = make_user(locale=Locale.EN)
    _register(login(confirmed), meeting.id)
    _register(login(make_user(locale=Locale.EN)), meeting.id)
    waiting = make_user(locale=Locale.EN)
    _register(login(waiting), meeting.id)
    page = _panel(app, meeting.id, confirmed)
    assert 'data-status="confirmed"' in page
    assert f'action="/meetings/{meeting.id}/unregister"' in page
    assert "Fully booked." in page
    page = _panel(app, meeting.id, waiting)
    assert 'data-status="waitlisted"' in page and "position 1" in page
    page = _panel(app, meeting.id, make_user(locale=Locale.EN))
    assert "Join the waitlist" in page


def test_panel_preselects_the_users_first_organisation(
    app, make_user, make_meeting, make_organization
):
    first = make_organization(name="Aachen Hilft")
    make_organization(name="Berlin Hilft")
    meeting = make_meeting()
    page = _panel(app, meeting.id, make_user(organizations=[first.id]))
    assert f'<option selected value="{first.id}">Aachen Hilft</option>' in page
    assert "Berlin Hilft" in page and 'value="other"' in page


def test_panel_offers_visitors_the_guest_form_only_where_allowed(app, make_meeting):
    open_to_guests = _public(make_meeting)
    page = _panel(app, open_to_guests.id)
    assert f'href="/meetings/{open_to_guests.id}/guest"' in page
    assert "/register" not in page
    members_only = make_meeting(visibility=Visibility.PUBLIC, allows_guests=False)
    assert "/guest" not in _panel(app, members_only.id)


def test_panel_links_the_list_only_for_managers(app, users, make_meeting):
    meeting = make_meeting()
    assert "registration-list-link" in _panel(app, meeting.id, users["moderator"])
    assert "registration-list-link" not in _panel(app, meeting.id, users["member"])


def test_registrations_for_loads_people_and_organisations_in_one_query(
    app, login, make_user, make_meeting, make_organization
):
    meeting = make_meeting(capacity=1)
    organization = make_organization()
    for _ in range(3):
        _register(login(make_user(organizations=[organization.id])), meeting.id)
    with app.app_context():
        statements: list[str] = []
        engine = db.session.get_bind()

        def count(*args):
            statements.append(args[2])

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            stored = db.session.get(Meeting, meeting.id)
            statements.clear()
            rows = services.registrations_for(
                stored, statuses=(RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
            )
            names = [(row.display_name, row.represented_organization) for row in rows]
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert len(names) == 3 and all(org == organization.name for _, org in names)
    assert [row.status for row in rows] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.WAITLISTED,
    ]


# --- closed registration --------------------------------------------------------------------


def _closed_meeting(make_meeting, state: str) -> Meeting:
    now = utcnow()
    if state == "deadline passed":
        return _public(make_meeting, registration_closes_at=now - timedelta(minutes=1))
    if state == "started":
        return _public(
            make_meeting, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
        )
    if state == "cancelled":
        return _public(make_meeting, status=MeetingStatus.CANCELLED, cancelled_at=now)
    return _public(make_meeting, is_registration_open=False)


CLOSED_STATES = ["deadline passed", "started", "cancelled", "closed by hand"]


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_closed_registration_refuses_members(app, login, make_user, make_meeting, state):
    meeting = _closed_meeting(make_meeting, state)
    client = login(make_user(locale=Locale.EN))
    response = _register(client, meeting.id)
    assert response.status_code == 303
    [(category, message)] = _flashes(client)
    assert category == "error" and "closed" in message
    assert _rows(app, meeting.id) == []


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_closed_registration_refuses_guests(app, client, make_meeting, state):
    meeting = _closed_meeting(make_meeting, state)
    response = client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(), headers=EN)
    assert response.status_code == 303
    assert _rows(app, meeting.id) == [] and _mails(app) == []
    page = client.get(f"/meetings/{meeting.id}/guest", headers=EN).get_data(as_text=True)
    assert 'id="registration-closed"' in page and 'id="guest-form"' not in page


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_closed_registration_shows_no_register_button(app, make_user, make_meeting, state):
    meeting = _closed_meeting(make_meeting, state)
    page = _panel(app, meeting.id, make_user())
    assert "/register" not in page
    assert 'id="registration-closed"' in page
    assert "/guest" not in _panel(app, meeting.id)


def test_own_registration_can_be_cancelled_after_the_deadline(app, login, make_user, make_meeting):
    meeting = make_meeting()
    user = make_user()
    client = login(user)
    _register(client, meeting.id)
    with app.app_context():
        db.session.get(Meeting, meeting.id).registration_closes_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert f'action="/meetings/{meeting.id}/unregister"' in _panel(app, meeting.id, user)
    client.post(f"/meetings/{meeting.id}/unregister")
    assert _statuses(app, meeting.id) == [RegistrationStatus.CANCELLED]


def test_own_registration_cannot_be_cancelled_after_the_start(app, login, make_user, make_meeting):
    meeting = make_meeting()
    user = make_user(locale=Locale.EN)
    client = login(user)
    _register(client, meeting.id)
    with app.app_context():
        stored = db.session.get(Meeting, meeting.id)
        stored.starts_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with client.session_transaction() as session:
        session.pop("_flashes", None)
    client.post(f"/meetings/{meeting.id}/unregister")
    assert _statuses(app, meeting.id) == [RegistrationStatus.CONFIRMED]
    [(category, _message)] = _flashes(client)
    assert category == "error"
    assert "/unregister" not in _panel(app, meeting.id, user)


# --- guests ---------------------------------------------------------------------------------


def test_guest_registration_end_to_end(app, client, make_meeting):
    meeting = _public(make_meeting, capacity=5)
    assert client.get(f"/meetings/{meeting.id}/guest").status_code == 200
    response = client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(), headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/guest?sent=1"
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert 'id="registration-sent"' in page
    [row] = _rows(app, meeting.id)
    assert row.status is RegistrationStatus.PENDING
    assert (row.guest_name, row.guest_email) == ("Gabi Gast", "gabi@example.org")
    assert row.organization_name == "Café International"
    assert row.consent_at is not None
    [mail] = _mails(app)
    assert mail.recipient == "gabi@example.org"
    assert mail.subject.startswith("Please confirm your registration")
    path = _guest_link(app, "gabi@example.org")

    manage = client.get(path)
    assert manage.status_code == 200
    assert manage.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="action" value="confirm"' in manage.get_data(as_text=True)
    assert client.post(path, data={"action": "confirm"}).status_code == 303
    assert _statuses(app, meeting.id) == [RegistrationStatus.CONFIRMED]
    page = client.get(path).get_data(as_text=True)
    assert 'data-status="confirmed"' in page and 'value="cancel"' in page

    assert client.post(path, data={"action": "cancel"}).status_code == 303
    assert _statuses(app, meeting.id) == [RegistrationStatus.CANCELLED]
    assert 'data-status="cancelled"' in client.get(path).get_data(as_text=True)


def test_get_on_the_confirmation_link_does_not_confirm(app, client, make_meeting):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    path = _guest_link(app, "gabi@example.org")
    for _ in range(3):
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200
    assert _statuses(app, meeting.id) == [RegistrationStatus.PENDING]


def test_only_the_hash_of_the_guest_token_is_stored(app, client, make_meeting):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    token = _guest_link(app, "gabi@example.org").rsplit("/", 1)[1]
    [row] = _rows(app, meeting.id)
    assert row.manage_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43


def test_guest_confirming_a_full_meeting_is_waitlisted(app, client, login, make_user, make_meeting):
    meeting = _public(make_meeting, capacity=1)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    _register(login(make_user()), meeting.id)  # takes the seat before the guest confirms
    path = _guest_link(app, "gabi@example.org")
    client.post(path, data={"action": "confirm"})
    guest = [row for row in _rows(app, meeting.id) if row.is_guest][0]
    assert guest.status is RegistrationStatus.WAITLISTED


def test_confirming_twice_changes_nothing(app, client, make_meeting):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    path = _guest_link(app, "gabi@example.org")
    client.post(path, data={"action": "confirm"})
    confirmed_at = _rows(app, meeting.id)[0].confirmed_at
    assert client.post(path, data={"action": "confirm"}).status_code == 303
    [row] = _rows(app, meeting.id)
    assert row.status is RegistrationStatus.CONFIRMED and row.confirmed_at == confirmed_at


def test_guest_cancelling_frees_the_seat_for_the_waitlist(
    app, client, login, make_user, make_meeting
):
    meeting = _public(make_meeting, capacity=1)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    path = _guest_link(app, "gabi@example.org")
    client.post(path, data={"action": "confirm"})
    waiting = make_user(email="waiting@example.org")
    _register(login(waiting), meeting.id)
    client.post(path, data={"action": "cancel"})
    by_user = {row.user_id: row.status for row in _rows(app, meeting.id)}
    assert by_user[waiting.id] is RegistrationStatus.CONFIRMED
    assert [mail.recipient for mail in _mails(app, "waiting@example.org")] == [
        "waiting@example.org"
    ]


def test_promoted_guest_is_mailed_in_the_language_they_registered_in(
    app, client, login, make_user, make_meeting
):
    meeting = _public(make_meeting, capacity=1, title="Open Meeting")
    seat_holder = login(make_user())
    _register(seat_holder, meeting.id)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(), headers=EN)
    path = _guest_link(app, "gabi@example.org")
    client.post(path, data={"action": "confirm"}, headers={"Accept-Language": "de"})
    seat_holder.post(f"/meetings/{meeting.id}/unregister")
    mail = _mails(app, "gabi@example.org")[-1]
    assert mail.subject == "You have a seat: Open Meeting"
    assert '<html lang="en">' in mail.body_html


def test_unknown_tokens_answer_404_without_referrer(client):
    for token in ("unknown", "x" * 5000, "%E2%9C%93"):
        response = client.get(f"/meetings/registration/{token}")
        assert response.status_code == 404
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert (
            client.post(f"/meetings/registration/{token}", data={"action": "confirm"}).status_code
            == 404
        )


def test_member_registrations_have_no_manage_link(app, login, make_user, make_meeting):
    meeting = make_meeting()
    _register(login(make_user()), meeting.id)
    [row] = _rows(app, meeting.id)
    assert row.manage_token_hash is None


def test_guests_cannot_register_for_network_meetings(app, client, make_meeting):
    meeting = make_meeting(visibility=Visibility.NETWORK, allows_guests=True)
    assert client.get(f"/meetings/{meeting.id}/guest").status_code == 404
    assert client.post(f"/meetings/{meeting.id}/guest", data=_guest_form()).status_code == 404
    assert _rows(app, meeting.id) == []


def test_members_who_see_a_network_meeting_find_no_guest_form(login, users, make_meeting):
    meeting = make_meeting(visibility=Visibility.NETWORK, allows_guests=True)
    assert login(users["member"]).get(f"/meetings/{meeting.id}/guest").status_code == 404


def test_guests_are_refused_where_the_meeting_does_not_allow_them(app, client, make_meeting):
    meeting = make_meeting(visibility=Visibility.PUBLIC, allows_guests=False)
    assert client.get(f"/meetings/{meeting.id}/guest").status_code == 403
    assert client.post(f"/meetings/{meeting.id}/guest", data=_guest_form()).status_code == 403
    assert _rows(app, meeting.id) == []


def test_second_pending_registration_resends_the_confirmation_with_a_new_link(
    app, client, make_meeting
):
    meeting = _public(make_meeting)
    first = client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    old_path = _guest_link(app, "gabi@example.org")
    second = client.post(
        f"/meetings/{meeting.id}/guest", data=_guest_form(email="GABI@example.org", name="Other")
    )
    assert first.headers["Location"] == second.headers["Location"]
    [row] = _rows(app, meeting.id)
    assert row.guest_name == "Gabi Gast"
    mails = _mails(app, "gabi@example.org")
    assert len(mails) == 2
    new_path = _guest_link(app, "gabi@example.org")
    assert new_path != old_path
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200


def test_second_registration_of_a_confirmed_guest_answers_the_same_and_mails_the_link(
    app, client, make_meeting
):
    meeting = _public(make_meeting)
    first = client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    client.post(_guest_link(app, "gabi@example.org"), data={"action": "confirm"})
    second = client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(), headers=EN)
    assert (second.status_code, second.headers["Location"]) == (
        first.status_code,
        first.headers["Location"],
    )
    assert _statuses(app, meeting.id) == [RegistrationStatus.CONFIRMED]
    mail = _mails(app, "gabi@example.org")[-1]
    assert mail.subject.startswith("You are already registered")
    path = _guest_link(app, "gabi@example.org")
    assert 'data-status="confirmed"' in client.get(path).get_data(as_text=True)


def test_guest_registration_is_rate_limited(app, client, make_meeting):
    from coordination.extensions import limiter

    app.config["RATELIMIT_ENABLED"] = True
    app.config["GUEST_REGISTRATION_RATE_LIMIT"] = "2 per minute"
    limiter.init_app(app)
    meeting = _public(make_meeting)
    codes = [
        client.post(
            f"/meetings/{meeting.id}/guest", data=_guest_form(email=f"g{n}@example.org")
        ).status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]
    assert len(_rows(app, meeting.id)) == 2


def test_guest_token_page_is_rate_limited(app, client):
    from coordination.extensions import limiter

    app.config["RATELIMIT_ENABLED"] = True
    app.config["TOKEN_RATE_LIMIT"] = "2 per minute"
    limiter.init_app(app)
    codes = [
        client.post("/meetings/registration/guess", data={"action": "confirm"}).status_code
        for _ in range(3)
    ]
    assert codes == [404, 404, 429]


def test_guest_cannot_confirm_after_the_start(app, client, make_meeting):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    with app.app_context():
        db.session.get(Meeting, meeting.id).starts_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    path = _guest_link(app, "gabi@example.org")
    assert 'value="confirm"' not in client.get(path).get_data(as_text=True)
    client.post(path, data={"action": "confirm"})
    assert _statuses(app, meeting.id) == [RegistrationStatus.PENDING]


def test_unknown_actions_on_the_manage_page_are_refused(app, client, make_meeting):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    path = _guest_link(app, "gabi@example.org")
    for data in ({}, {"action": "delete"}, {"action": HUGE}, {"action": NUL}):
        assert client.post(path, data=data).status_code == 400
    assert _statuses(app, meeting.id) == [RegistrationStatus.PENDING]


def test_guest_form_links_the_privacy_notice(client, make_meeting):
    meeting = _public(make_meeting)
    page = client.get(f"/meetings/{meeting.id}/guest").get_data(as_text=True)
    assert 'href="/privacy"' in page
    assert 'name="consent"' in page and "required" in page


def test_purge_deletes_only_old_unconfirmed_guest_registrations(
    app, client, login, make_user, make_meeting
):
    meeting = _public(make_meeting)
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(email="old@example.org"))
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(email="new@example.org"))
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form(email="done@example.org"))
    client.post(_guest_link(app, "done@example.org"), data={"action": "confirm"})
    _register(login(make_user()), meeting.id)
    with app.app_context():
        long_ago = utcnow() - timedelta(hours=49)
        db.session.execute(
            sa.update(Registration)
            .where(Registration.guest_email.in_(["old@example.org", "done@example.org"]))
            .values(created_at=long_ago)
        )
        db.session.commit()
        assert services.purge_unconfirmed_guests() == 1
        db.session.commit()
    remaining = {row.guest_email for row in _rows(app, meeting.id)}
    assert remaining == {"new@example.org", "done@example.org", None}


# --- registration list ----------------------------------------------------------------------


@pytest.fixture
def group_meeting(make_user, make_group, make_meeting):
    lead = make_user(name="Lea Lead")
    group = make_group(members={lead.id: GroupRole.LEAD})
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    return {"meeting": meeting, "lead": lead}


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 200), ("moderator", 200), ("lead", 200), ("member", 403), ("visitor", 302)],
)
def test_registration_list_visibility(client, login, users, group_meeting, role, expected):
    meeting = group_meeting["meeting"]
    if role == "visitor":
        browser = client
    elif role == "lead":
        browser = login(group_meeting["lead"])
    else:
        browser = login(users[role])
    response = browser.get(f"/meetings/{meeting.id}/registrations")
    assert response.status_code == expected
    if role == "visitor":
        assert response.headers["Location"].startswith("/auth/login")


def test_lead_of_another_group_gets_403(login, make_user, make_group, group_meeting):
    other_lead = make_user()
    make_group(members={other_lead.id: GroupRole.LEAD})
    meeting = group_meeting["meeting"]
    assert login(other_lead).get(f"/meetings/{meeting.id}/registrations").status_code == 403


def test_registration_list_of_an_invisible_meeting_is_404(
    login, make_user, make_group, make_meeting
):
    insider = make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={insider.id: GroupRole.LEAD}
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    outsider = login(make_user())
    assert outsider.get(f"/meetings/{meeting.id}/registrations").status_code == 404
    assert login(insider).get(f"/meetings/{meeting.id}/registrations").status_code == 200


def test_registration_list_shows_every_section_and_guest_emails_only(
    app, client, login, users, make_user, make_meeting, make_organization
):
    organization = make_organization(name="Refugee Law Clinic")
    meeting = _public(make_meeting, capacity=1)
    _register(
        login(
            make_user(
                name="Conny Confirmed", email="conny@example.org", organizations=[organization.id]
            )
        ),
        meeting.id,
    )
    _register(login(make_user(name="Walter Waiting", email="walter@example.org")), meeting.id)
    cancelling = login(make_user(name="Carl Cancelled"))
    _register(cancelling, meeting.id)
    cancelling.post(f"/meetings/{meeting.id}/unregister")
    client.post(f"/meetings/{meeting.id}/guest", data=_guest_form())
    page = (
        login(users["moderator"])
        .get(f"/meetings/{meeting.id}/registrations")
        .get_data(as_text=True)
    )
    confirmed = page.split('id="confirmed-registrations"')[1].split("</table>")[0]
    waitlist = page.split('id="waitlisted-registrations"')[1].split("</table>")[0]
    pending = page.split('id="pending-registrations"')[1].split("</table>")[0]
    cancelled = page.split('id="cancelled-registrations-section"')[1].split("</details>")[0]
    assert "Conny Confirmed" in confirmed and "Refugee Law Clinic" in confirmed
    assert "Walter Waiting" in waitlist
    assert "Gabi Gast" in pending and "gabi@example.org" in pending
    assert "Café International" in pending
    assert "Carl Cancelled" in cancelled
    assert "conny@example.org" not in page and "walter@example.org" not in page
    assert '<th scope="col">' in page


def test_manager_removes_a_registration_and_the_waitlist_moves_up(
    app, login, users, make_user, make_meeting
):
    meeting = make_meeting(capacity=1)
    _register(login(make_user()), meeting.id)
    waiting = make_user(email="next@example.org")
    _register(login(waiting), meeting.id)
    first_id = _rows(app, meeting.id)[0].id
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/registrations/{first_id}/remove"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/registrations"
    assert _statuses(app, meeting.id) == [
        RegistrationStatus.CANCELLED,
        RegistrationStatus.CONFIRMED,
    ]
    assert [mail.recipient for mail in _mails(app)] == ["next@example.org"]


def test_group_lead_removes_from_their_group_meeting(app, login, make_user, group_meeting):
    meeting = group_meeting["meeting"]
    _register(login(make_user()), meeting.id)
    registration_id = _rows(app, meeting.id)[0].id
    response = login(group_meeting["lead"]).post(
        f"/meetings/{meeting.id}/registrations/{registration_id}/remove"
    )
    assert response.status_code == 303
    assert _statuses(app, meeting.id) == [RegistrationStatus.CANCELLED]


def test_members_cannot_remove_registrations(app, login, users, make_user, make_meeting):
    meeting = make_meeting()
    _register(login(make_user()), meeting.id)
    registration_id = _rows(app, meeting.id)[0].id
    response = login(users["member"]).post(
        f"/meetings/{meeting.id}/registrations/{registration_id}/remove"
    )
    assert response.status_code == 403
    assert _statuses(app, meeting.id) == [RegistrationStatus.CONFIRMED]


def test_removing_another_meetings_registration_is_404(app, login, users, make_user, make_meeting):
    meeting = make_meeting()
    other = make_meeting()
    _register(login(make_user()), other.id)
    foreign_id = _rows(app, other.id)[0].id
    moderator = login(users["moderator"])
    assert (
        moderator.post(f"/meetings/{meeting.id}/registrations/{foreign_id}/remove").status_code
        == 404
    )
    for registration_id in ("99999999", HUGE_ID):
        path = f"/meetings/{meeting.id}/registrations/{registration_id}/remove"
        assert moderator.post(path).status_code == 404
    assert _statuses(app, other.id) == [RegistrationStatus.CONFIRMED]


def test_removing_twice_is_harmless(app, login, users, make_user, make_meeting):
    meeting = make_meeting()
    _register(login(make_user()), meeting.id)
    registration_id = _rows(app, meeting.id)[0].id
    moderator = login(users["moderator"])
    path = f"/meetings/{meeting.id}/registrations/{registration_id}/remove"
    assert moderator.post(path).status_code == 303
    assert moderator.post(path).status_code == 303
    assert _statuses(app, meeting.id) == [RegistrationStatus.CANCELLED]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"organization": "99999"},
        {"organization": HUGE_ID},
        {"organization": HUGE},
        {"organization": NUL},
        {"organization": "-1"},
        {"organization": ["1", "2"]},
        {"organization": "other", "organization_name": HUGE},
        {"organization": "other", "organization_name": NUL},
        {"organization": "", "organization_name": ["a" * 300, "b"]},
    ],
    ids=lambda data: repr(data)[:40],
)
def test_bad_member_form_input_shows_errors_and_writes_nothing(
    app, login, make_user, make_meeting, data
):
    meeting = make_meeting()
    response = _register(login(make_user()), meeting.id, **data)
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    assert _rows(app, meeting.id) == []


def test_nonexistent_organisation_id_is_refused_beside_the_field(
    app, login, make_user, make_meeting
):
    meeting = make_meeting()
    response = _register(login(make_user()), meeting.id, organization="424242")
    assert 'id="organization-error"' in response.get_data(as_text=True)


def test_organisation_and_free_text_together_are_refused(
    app, login, make_user, make_meeting, make_organization
):
    organization = make_organization()
    meeting = make_meeting()
    response = _register(
        login(make_user()),
        meeting.id,
        organization=str(organization.id),
        organization_name="Something else",
    )
    assert response.status_code == 200
    assert _rows(app, meeting.id) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", HUGE),
        ("name", NUL),
        ("email", ""),
        ("email", "not an email"),
        ("email", HUGE + "@example.org"),
        ("email", NUL + "@example.org"),
        ("email", "a@b"),
        ("organization_name", HUGE),
        ("organization_name", NUL),
        ("consent", ""),
        ("consent", None),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_bad_guest_form_input_shows_errors_and_writes_nothing(
    app, client, make_meeting, field, value
):
    meeting = _public(make_meeting)
    data = _guest_form()
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    response = client.post(f"/meetings/{meeting.id}/guest", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert _rows(app, meeting.id) == [] and _mails(app) == []


def test_guest_form_with_wrong_types_writes_nothing(app, client, make_meeting):
    meeting = _public(make_meeting)
    data = {"name": ["a", NUL], "email": ["x", "y@example.org"], "consent": ["y", "n"]}
    response = client.post(f"/meetings/{meeting.id}/guest", data=data)
    assert response.status_code == 200
    assert _rows(app, meeting.id) == []


def test_empty_guest_form_shows_errors(app, client, make_meeting):
    meeting = _public(make_meeting)
    response = client.post(f"/meetings/{meeting.id}/guest", data={})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("name", "email", "consent"):
        assert f'id="{field}-error"' in page
    assert _rows(app, meeting.id) == []


def test_unicode_guest_names_are_accepted(app, client, make_meeting):
    meeting = _public(make_meeting)
    response = client.post(
        f"/meetings/{meeting.id}/guest",
        data=_guest_form(name=UNICODE, organization_name=UNICODE, email="ünï@exämple.org"),
    )
    assert response.status_code == 303
    [row] = _rows(app, meeting.id)
    assert row.guest_name == UNICODE and row.organization_name == UNICODE
    page = client.get(_guest_link(app, row.guest_email)).get_data(as_text=True)
    assert UNICODE in page


def test_huge_next_address_falls_back_to_the_meeting(login, make_user, make_meeting):
    meeting = make_meeting()
    response = _register(login(make_user()), meeting.id, next="/" + HUGE)
    assert response.headers["Location"] == f"/meetings/{meeting.id}#registration"


# --- pages ----------------------------------------------------------------------------------


def _unlabelled_controls(page: str) -> list[str]:
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    missing = []
    for control in controls:
        if re.search(r'type="(hidden|submit|button)"', control):
            continue
        match = re.search(r'\bid="([^"]+)"', control)
        if match is None or match.group(1) not in labelled:
            missing.append(control)
    return missing


def test_meeting_page_includes_the_registration_panel(login, users, client, make_meeting):
    meeting = _public(make_meeting, capacity=3)
    page = login(users["member"]).get(f"/meetings/{meeting.id}", headers=EN).get_data(as_text=True)
    assert 'id="registration"' in page
    assert f'action="/meetings/{meeting.id}/register"' in page
    assert _unlabelled_controls(page.split('id="registration"')[1].split("</section>")[0]) == []
    page = client.get(f"/meetings/{meeting.id}", headers=EN).get_data(as_text=True)
    assert f'href="/meetings/{meeting.id}/guest"' in page


def test_guest_and_member_forms_label_every_field(app, client, login, make_user, make_meeting):
    meeting = _public(make_meeting)
    assert (
        _unlabelled_controls(client.get(f"/meetings/{meeting.id}/guest").get_data(as_text=True))
        == []
    )
    page = client.post(f"/meetings/{meeting.id}/guest", data={}).get_data(as_text=True)
    assert _unlabelled_controls(page) == []
    assert 'aria-describedby="consent-hint consent-error"' in page
    page = _register(login(make_user()), meeting.id, organization="nope").get_data(as_text=True)
    assert _unlabelled_controls(page) == [] and 'id="organization-error"' in page
