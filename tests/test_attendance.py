"""Check-in during the meeting: who may use it, statuses with and without JavaScript, search,
walk-ins, and bad input."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from coordination.attendance import services
from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import Visibility
from coordination.registrations.models import Registration, RegistrationStatus
from tests.conftest import log_in

JSON = {"Accept": "application/json"}


@pytest.fixture
def make_registration(app) -> Callable[..., Registration]:
    """Create a registration row directly (members: ``user_id``; guests: name and email)."""

    def _make(meeting_id: int, **kwargs: Any) -> Registration:
        kwargs.setdefault("status", RegistrationStatus.CONFIRMED)
        if kwargs.get("user_id") is None:
            kwargs.setdefault("guest_name", "Gast")
            kwargs.setdefault("guest_email", f"{kwargs['guest_name'].lower()}@example.org")
        with app.app_context():
            registration = Registration(meeting_id=meeting_id, **kwargs)
            db.session.add(registration)
            db.session.commit()
            db.session.refresh(registration)
            db.session.expunge(registration)
        return registration

    return _make


def _attendances(app, meeting_id: int) -> list[Attendance]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Attendance).where(Attendance.meeting_id == meeting_id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<li class="checkin-row" id="([ra]-\d+)"', page)


# --- who may use the check-in ----------------------------------------------------------------


@pytest.fixture
def world(app, users, make_user, make_group, make_meeting, make_registration):
    """A network meeting and a group meeting, each with a registration and a walk-in."""
    lead = make_user(name="Lea Lead")
    group = make_group(members={lead.id: GroupRole.LEAD})
    network = make_meeting()
    group_meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    ids: dict[str, Any] = {"lead": lead, "group": group}
    for name, meeting in (("network", network), ("group_meeting", group_meeting)):
        registration = make_registration(meeting.id, user_id=users["member"].id)
        with app.app_context():
            walk_in = Attendance(
                meeting_id=meeting.id, guest_name="Walter", status=AttendanceStatus.PRESENT
            )
            db.session.add(walk_in)
            db.session.commit()
            ids[name] = {
                "meeting": meeting.id,
                "registration": registration.id,
                "attendance": walk_in.id,
            }
    return ids


ROUTES = [
    ("GET", "/meetings/{meeting}/checkin", None, 200),
    ("POST", "/meetings/{meeting}/checkin/registration/{registration}", {"status": "present"}, 303),
    ("POST", "/meetings/{meeting}/checkin/attendance/{attendance}", {"status": "excused"}, 303),
    ("POST", "/meetings/{meeting}/checkin/walk-in", {"type": "guest", "guest-name": "Gil"}, 303),
    ("GET", "/meetings/{meeting}/attendance.csv", None, 200),
    ("GET", "/meetings/{meeting}/sign-in-sheet", None, 200),
]

#: Expected answer per role, for a network meeting and for a group meeting.
EXPECTED = {
    "network": {"admin": "ok", "moderator": "ok", "lead": 403, "member": 403, "visitor": "login"},
    "group_meeting": {
        "admin": "ok",
        "moderator": "ok",
        "lead": "ok",
        "member": 403,
        "visitor": "login",
    },
}


def _client(app, login, users, world, role):
    if role == "visitor":
        return app.test_client()
    user = world["lead"] if role == "lead" else users[role]
    return login(user)


@pytest.mark.parametrize("which", ["network", "group_meeting"])
@pytest.mark.parametrize("role", ["admin", "moderator", "lead", "member", "visitor"])
@pytest.mark.parametrize("method,path,data,ok", ROUTES, ids=lambda v: str(v)[:40])
def test_each_role_on_each_route(app, login, users, world, which, role, method, path, data, ok):
    client = _client(app, login, users, world, role)
    response = client.open(path.format(**world[which]), method=method, data=data or {})
    expected = EXPECTED[which][role]
    if expected == "login":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    else:
        assert response.status_code == (ok if expected == "ok" else expected)


def test_confidential_group_meeting_is_404_for_outsiders(
    app, login, users, make_user, make_group, make_meeting
):
    insider = make_user()
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={insider.id: GroupRole.LEAD}
    )
    meeting = make_meeting(group_id=group.id, visibility=Visibility.GROUP)
    for user in (users["moderator"], users["member"]):
        assert login(user).get(f"/meetings/{meeting.id}/checkin").status_code == 404
        assert login(user).get(f"/meetings/{meeting.id}/attendance.csv").status_code == 404
    assert login(insider).get(f"/meetings/{meeting.id}/checkin").status_code == 200
    assert login(users["admin"]).get(f"/meetings/{meeting.id}/checkin").status_code == 200


def test_unknown_meeting_is_404(login, users):
    moderator = login(users["moderator"])
    for path in ("/meetings/999999/checkin", "/meetings/99999999999999999999/checkin"):
        assert moderator.get(path).status_code == 404


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_confirmed_then_waitlisted_then_walk_ins(
    app, login, users, make_meeting, make_registration, make_user
):
    meeting = make_meeting()
    zora = make_registration(meeting.id, user_id=make_user(name="Zora").id)
    wanda = make_registration(meeting.id, guest_name="Wanda", status=RegistrationStatus.WAITLISTED)
    anton = make_registration(meeting.id, guest_name="Anton")
    make_registration(meeting.id, guest_name="Pending", status=RegistrationStatus.PENDING)
    make_registration(meeting.id, guest_name="Gone", status=RegistrationStatus.CANCELLED)
    with app.app_context():
        walk_in = Attendance(meeting_id=meeting.id, guest_name="Berta", status="present")
        db.session.add(walk_in)
        db.session.commit()
        walk_in_id = walk_in.id
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert _row_ids(page) == [f"r-{anton.id}", f"r-{zora.id}", f"r-{wanda.id}", f"a-{walk_in_id}"]
    assert "Pending" not in page and "Gone" not in page


def test_counts_show_present_of_registered(app, login, users, make_meeting, make_registration):
    meeting = make_meeting()
    first = make_registration(meeting.id, guest_name="Eins")
    make_registration(meeting.id, guest_name="Zwei")
    make_registration(meeting.id, guest_name="Drei", status=RegistrationStatus.WAITLISTED)
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/{meeting.id}/checkin/registration/{first.id}", data={"status": "present"}
    )
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert '<span data-count="present">1</span>' in page
    assert '<span data-count="registered">3</span>' in page


def test_buttons_show_the_current_state(app, login, users, make_meeting, make_registration):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Erika")
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "excused"},
    )
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    row = page.split(f'id="r-{registration.id}"', 1)[1].split("</li>", 1)[0]
    assert re.search(r'value="excused"[^>]*aria-pressed="true"', row)
    assert re.search(r'value="present"[^>]*aria-pressed="false"', row)
    assert re.search(r'value="absent"[^>]*aria-pressed="false"', row)


def test_search_filters_by_name_and_organisation(
    app, login, users, make_meeting, make_registration, make_organization
):
    caritas = make_organization(name="Caritas Leipzig")
    meeting = make_meeting()
    ana = make_registration(meeting.id, guest_name="Ana", organization_id=caritas.id)
    bob = make_registration(meeting.id, guest_name="Bob", organization_name="Flüchtlingsrat")
    moderator = login(users["moderator"])
    url = f"/meetings/{meeting.id}/checkin"
    assert _row_ids(moderator.get(url + "?q=caritas").get_data(as_text=True)) == [f"r-{ana.id}"]
    assert _row_ids(moderator.get(url + "?q=BOB").get_data(as_text=True)) == [f"r-{bob.id}"]
    assert _row_ids(moderator.get(url + "?q=flüchtlings").get_data(as_text=True)) == [f"r-{bob.id}"]
    assert _row_ids(moderator.get(url + "?q=nobody").get_data(as_text=True)) == []


def test_page_loads_the_script_and_has_no_inline_code(
    login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    make_registration(meeting.id, guest_name="Ana")
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert "/static/js/checkin.js" in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page
    assert 'name="csrf_token"' in page


# --- recording a status ------------------------------------------------------------------------


def test_marking_present_without_javascript_redirects_to_the_row(
    app, login, users, make_meeting, make_registration, make_organization
):
    organization = make_organization()
    meeting = make_meeting()
    registration = make_registration(
        meeting.id, user_id=users["member"].id, organization_id=organization.id
    )
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "present"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/checkin#r-{registration.id}"
    [attendance] = _attendances(app, meeting.id)
    assert attendance.status is AttendanceStatus.PRESENT
    assert attendance.registration_id == registration.id
    assert attendance.user_id == users["member"].id
    assert attendance.organization_id == organization.id
    assert attendance.recorded_by_id == users["moderator"].id
    assert attendance.checked_in_at is not None


def test_redirect_keeps_the_search(app, login, users, make_meeting, make_registration):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Ana")
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "present", "q": "an a"},
    )
    assert response.headers["Location"] == (
        f"/meetings/{meeting.id}/checkin?q=an+a#r-{registration.id}"
    )


def test_marking_with_json_accept_answers_status_and_counts(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Ana")
    make_registration(meeting.id, guest_name="Ben")
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "present"},
        headers=JSON,
    )
    assert response.status_code == 200
    assert response.json == {
        "status": "present",
        "row": f"r-{registration.id}",
        "counts": {"present": 1, "excused": 0, "absent": 0, "registered": 2},
    }


def test_json_answer_does_not_leave_a_flash_message(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Ana")
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "present"},
        headers=JSON,
    )
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert 'class="flash flash-success"' not in page


def test_guest_registration_copies_name_and_free_text_organisation(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    registration = make_registration(
        meeting.id, guest_name="Gisela", organization_name="Nachbarschaftshilfe"
    )
    login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "absent"},
    )
    [attendance] = _attendances(app, meeting.id)
    assert attendance.guest_name == "Gisela"
    assert attendance.organization_name == "Nachbarschaftshilfe"
    assert attendance.status is AttendanceStatus.ABSENT
    assert attendance.checked_in_at is None


def test_changing_status_keeps_one_row_and_the_first_check_in_time(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Ana")
    moderator = login(users["moderator"])
    url = f"/meetings/{meeting.id}/checkin/registration/{registration.id}"
    moderator.post(url, data={"status": "present"})
    [first] = _attendances(app, meeting.id)
    moderator.post(url, data={"status": "excused"})
    login(users["admin"]).post(url, data={"status": "present"})
    [attendance] = _attendances(app, meeting.id)
    assert attendance.id == first.id
    assert attendance.status is AttendanceStatus.PRESENT
    assert attendance.checked_in_at == first.checked_in_at
    assert attendance.recorded_by_id == users["admin"].id


def test_walk_in_row_status_changes(app, login, users, make_meeting):
    meeting = make_meeting()
    with app.app_context():
        walk_in = Attendance(meeting_id=meeting.id, guest_name="Walter", status="present")
        db.session.add(walk_in)
        db.session.commit()
        walk_in_id = walk_in.id
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/attendance/{walk_in_id}",
        data={"status": "absent"},
        headers=JSON,
    )
    assert response.status_code == 200
    assert response.json["status"] == "absent"
    assert response.json["counts"]["absent"] == 1
    [attendance] = _attendances(app, meeting.id)
    assert attendance.status is AttendanceStatus.ABSENT
    assert attendance.recorded_by_id == users["moderator"].id


def test_member_walk_in_who_registered_later_is_one_person(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    moderator.post(
        f"/meetings/{meeting.id}/checkin/walk-in",
        data={"type": "user", "member-user_id": str(users["member"].id)},
    )
    registration = make_registration(meeting.id, user_id=users["member"].id)
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert _row_ids(page) == [f"r-{registration.id}"]
    response = moderator.post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "excused"},
    )
    assert response.status_code == 303
    [attendance] = _attendances(app, meeting.id)
    assert attendance.registration_id == registration.id
    assert attendance.status is AttendanceStatus.EXCUSED


# --- walk-ins ----------------------------------------------------------------------------------


def test_walk_in_user_is_added_present_with_their_organisation(
    app, login, users, make_meeting, make_user, make_organization
):
    organization = make_organization(name="Willkommen Grünau")
    walker = make_user(name="Wolf", organizations=[organization.id])
    meeting = make_meeting()
    moderator = login(users["moderator"])
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert f'<option value="{walker.id}">' in page
    response = moderator.post(
        f"/meetings/{meeting.id}/checkin/walk-in",
        data={"type": "user", "member-user_id": str(walker.id)},
    )
    assert response.status_code == 303
    [attendance] = _attendances(app, meeting.id)
    assert response.headers["Location"] == f"/meetings/{meeting.id}/checkin#a-{attendance.id}"
    assert attendance.user_id == walker.id
    assert attendance.registration_id is None
    assert attendance.organization_id == organization.id
    assert attendance.status is AttendanceStatus.PRESENT
    assert attendance.checked_in_at is not None
    assert attendance.recorded_by_id == users["moderator"].id
    page = moderator.get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert f'<option value="{walker.id}">' not in page
    assert _row_ids(page) == [f"a-{attendance.id}"]


def test_walk_in_user_with_chosen_or_free_text_organisation(
    app, login, users, make_meeting, make_user, make_organization
):
    organization = make_organization()
    first, second = make_user(), make_user()
    meeting = make_meeting()
    moderator = login(users["moderator"])
    url = f"/meetings/{meeting.id}/checkin/walk-in"
    moderator.post(
        url,
        data={
            "type": "user",
            "member-user_id": str(first.id),
            "member-organization_id": str(organization.id),
        },
    )
    moderator.post(
        url,
        data={
            "type": "user",
            "member-user_id": str(second.id),
            "member-organization_name": "Stadtteilladen",
        },
    )
    rows = {a.user_id: a for a in _attendances(app, meeting.id)}
    assert rows[first.id].organization_id == organization.id
    assert rows[second.id].organization_id is None
    assert rows[second.id].organization_name == "Stadtteilladen"


def test_walk_in_guest_is_added_present(app, login, users, make_meeting, make_organization):
    organization = make_organization()
    meeting = make_meeting()
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/walk-in",
        data={
            "type": "guest",
            "guest-name": "  Gül Yılmaz ",
            "guest-organization_id": str(organization.id),
        },
    )
    assert response.status_code == 303
    [attendance] = _attendances(app, meeting.id)
    assert attendance.guest_name == "Gül Yılmaz"
    assert attendance.user_id is None
    assert attendance.organization_id == organization.id
    assert attendance.status is AttendanceStatus.PRESENT


def test_same_user_twice_is_refused_with_a_message(app, login, users, make_meeting):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    data = {"type": "user", "member-user_id": str(users["member"].id)}
    assert moderator.post(f"/meetings/{meeting.id}/checkin/walk-in", data=data).status_code == 303
    response = moderator.post(
        f"/meetings/{meeting.id}/checkin/walk-in", data=data, follow_redirects=True
    )
    assert response.status_code == 200
    assert 'class="flash flash-warning"' in response.get_data(as_text=True)
    assert len(_attendances(app, meeting.id)) == 1


def test_registered_user_cannot_be_added_as_walk_in(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    make_registration(meeting.id, user_id=users["member"].id)
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/walk-in",
        data={"type": "user", "member-user_id": str(users["member"].id)},
    )
    assert response.status_code == 303
    assert _attendances(app, meeting.id) == []


def test_same_guest_twice_is_taken_for_a_double_submit(app, login, users, make_meeting):
    meeting = make_meeting()
    moderator = login(users["moderator"])
    data = {"type": "guest", "guest-name": "Gil", "guest-organization_name": "Caritas"}
    moderator.post(f"/meetings/{meeting.id}/checkin/walk-in", data=data)
    response = moderator.post(
        f"/meetings/{meeting.id}/checkin/walk-in", data={**data, "guest-name": "gil "}
    )
    assert response.status_code == 303
    assert len(_attendances(app, meeting.id)) == 1
    moderator.post(f"/meetings/{meeting.id}/checkin/walk-in", data={**data, "guest-name": "Gil B."})
    assert len(_attendances(app, meeting.id)) == 2


def test_service_refuses_the_same_user_even_past_the_check(app, users, make_meeting):
    """The unique constraint is the last line: a lost race becomes AlreadyOnList, not a 500."""
    meeting = make_meeting()
    with app.test_request_context():
        meeting_row = db.session.get(type(meeting), meeting.id)
        member = db.session.get(User, users["member"].id)
        moderator = db.session.get(User, users["moderator"].id)
        db.session.add(
            Attendance(meeting_id=meeting.id, user_id=member.id, status=AttendanceStatus.ABSENT)
        )
        db.session.flush()
        original = services._is_on_list
        services._is_on_list = lambda meeting, user: False  # as if the check ran too early
        try:
            with pytest.raises(services.AlreadyOnList):
                services.add_walk_in_user(
                    meeting_row, member, organization_id=None, organization_name="", actor=moderator
                )
        finally:
            services._is_on_list = original
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 1
        db.session.rollback()


def test_concurrent_double_submit_of_a_walk_in_creates_one_row(committing_app):
    from coordination.auth.services import create_user
    from coordination.meetings.models import Meeting

    with committing_app.test_request_context():
        moderator = create_user(
            email="mod@example.org", name="Mo", password="a long passphrase", role=Role.MODERATOR
        )
        walker = create_user(
            email="walk@example.org", name="Walker", password="a long passphrase", role=Role.MEMBER
        )
        start = utcnow() + timedelta(days=1)
        meeting = Meeting(title="Treffen", starts_at=start, ends_at=start + timedelta(hours=2))
        db.session.add(meeting)
        db.session.commit()
        ids = (moderator.id, walker.id, meeting.id)
        moderator = db.session.get(User, ids[0])
        db.session.expunge(moderator)

    clients = [log_in(committing_app, committing_app.test_client(), moderator) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(
                f"/meetings/{ids[2]}/checkin/walk-in",
                data={"type": "user", "member-user_id": str(ids[1])},
            )
            statuses.append(response.status_code)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert statuses == [303] * len(clients)
    with committing_app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(Attendance).where(Attendance.user_id == ids[1])
        )
        assert count == 1


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture
def one_registration(make_meeting, make_registration):
    meeting = make_meeting()
    return meeting, make_registration(meeting.id, guest_name="Ana")


@pytest.mark.parametrize("status", ["maybe", "", "PRESENT", "present\x00", "x" * 100_000])
def test_unknown_status_is_400_and_changes_nothing(app, login, users, one_registration, status):
    meeting, registration = one_registration
    url = f"/meetings/{meeting.id}/checkin/registration/{registration.id}"
    moderator = login(users["moderator"])
    assert moderator.post(url, data={"status": status}).status_code == 400
    response = moderator.post(url, data={"status": status}, headers=JSON)
    assert response.status_code == 400
    assert response.json["status"] == "error"
    assert _attendances(app, meeting.id) == []


def test_missing_status_is_400(app, login, users, one_registration):
    meeting, registration = one_registration
    url = f"/meetings/{meeting.id}/checkin/registration/{registration.id}"
    assert login(users["moderator"]).post(url).status_code == 400


def test_foreign_registration_and_attendance_ids_are_404(
    app, login, users, make_meeting, make_registration
):
    meeting, other = make_meeting(), make_meeting()
    foreign = make_registration(other.id, guest_name="Fremd")
    with app.app_context():
        walk_in = Attendance(meeting_id=other.id, guest_name="Fremd", status="present")
        db.session.add(walk_in)
        db.session.commit()
        walk_in_id = walk_in.id
    moderator = login(users["moderator"])
    for path in (
        f"/meetings/{meeting.id}/checkin/registration/{foreign.id}",
        f"/meetings/{meeting.id}/checkin/attendance/{walk_in_id}",
        f"/meetings/{meeting.id}/checkin/registration/99999999999999999999",
        f"/meetings/{meeting.id}/checkin/attendance/2147483648",
        f"/meetings/{meeting.id}/checkin/registration/-1",
    ):
        assert moderator.post(path, data={"status": "present"}).status_code == 404, path
    assert _attendances(app, other.id)[0].status is AttendanceStatus.PRESENT


@pytest.mark.parametrize(
    "registration_status", [RegistrationStatus.PENDING, RegistrationStatus.CANCELLED]
)
def test_unregistered_people_cannot_be_marked(
    app, login, users, make_meeting, make_registration, registration_status
):
    meeting = make_meeting()
    registration = make_registration(meeting.id, guest_name="Pia", status=registration_status)
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/registration/{registration.id}",
        data={"status": "present"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"type": "guest"},
        {"type": "guest", "guest-name": ""},
        {"type": "guest", "guest-name": "   "},
        {"type": "guest", "guest-name": "x" * 100_000},
        {"type": "guest", "guest-name": "Nul\x00l"},
        {"type": "guest", "guest-name": "Gil", "guest-organization_name": "y" * 100_000},
        {"type": "guest", "guest-name": "Gil", "guest-organization_id": "99999999"},
        {"type": "guest", "guest-name": "Gil", "guest-organization_id": "abc"},
        {"type": "user"},
        {"type": "user", "member-user_id": "abc"},
        {"type": "user", "member-user_id": "-1"},
        {"type": "user", "member-user_id": "99999999999999999999"},
        {"type": "user", "member-user_id": "99999"},
        {"type": "user", "member-user_id": "1\x00"},
        {"type": "nonsense"},
        {},
    ],
)
def test_bad_walk_in_input_shows_errors_and_adds_nobody(app, login, users, make_meeting, data):
    meeting = make_meeting()
    response = login(users["moderator"]).post(f"/meetings/{meeting.id}/checkin/walk-in", data=data)
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    assert _attendances(app, meeting.id) == []


def test_inactive_user_cannot_be_added(app, login, users, make_meeting, make_user):
    gone = make_user(is_active=False)
    meeting = make_meeting()
    response = login(users["moderator"]).post(
        f"/meetings/{meeting.id}/checkin/walk-in",
        data={"type": "user", "member-user_id": str(gone.id)},
    )
    assert response.status_code == 200
    assert _attendances(app, meeting.id) == []


@pytest.mark.parametrize("query", ["x" * 100_000, "ü' OR 1=1 --", "<script>", "%", "_"])
def test_odd_search_queries_are_harmless(login, users, one_registration, query):
    meeting, _registration = one_registration
    response = login(users["moderator"]).get(
        f"/meetings/{meeting.id}/checkin", query_string={"q": query}
    )
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).replace('<script src="/static/js/', "")


def test_nul_in_search_is_refused(login, users, one_registration):
    meeting, _registration = one_registration
    response = login(users["moderator"]).get(f"/meetings/{meeting.id}/checkin?q=a%00b")
    assert response.status_code == 400


def test_names_are_escaped(app, login, users, make_meeting, make_registration):
    meeting = make_meeting()
    make_registration(meeting.id, guest_name="<b>Bold</b>", guest_email="bold@example.org")
    page = login(users["moderator"]).get(f"/meetings/{meeting.id}/checkin").get_data(as_text=True)
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page


def test_get_does_not_write(app, login, users, one_registration):
    meeting, _registration = one_registration
    login(users["moderator"]).get(f"/meetings/{meeting.id}/checkin")
    assert _attendances(app, meeting.id) == []


def test_check_in_page_uses_a_constant_number_of_queries(
    app, login, users, make_meeting, make_registration, make_user, make_organization
):
    meeting = make_meeting()
    moderator = login(users["moderator"])

    def count_queries() -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engines[None]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert moderator.get(f"/meetings/{meeting.id}/checkin").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def add_people(number: int) -> None:
        for _ in range(number):
            organization = make_organization()
            user = make_user(organizations=[organization.id])
            make_registration(meeting.id, user_id=user.id, organization_id=organization.id)
            make_registration(meeting.id, guest_name=f"G{user.id}", organization_name="Frei")

    add_people(1)
    few = count_queries()
    add_people(12)
    moderator.post(
        f"/meetings/{meeting.id}/checkin/walk-in", data={"type": "guest", "guest-name": "W"}
    )
    many = count_queries()
    assert few == many
