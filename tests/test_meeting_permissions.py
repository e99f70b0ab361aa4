"""Role × route matrix for every meeting route, on a confidential working group's meeting.

Roles: a visitor, a plain member, a member of the group, the group's lead, a moderator who is
not in the group, and an admin. Content of a confidential group exists only for its members
and admins: everyone else gets 404, as if the meeting did not exist.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Role
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import AgendaItem, MeetingSeries, Minutes, Visibility
from coordination.registrations.models import Registration, RegistrationStatus
from tests.matrix import LOGIN, ROLES, Case, check
from tests.matrix import roles as _roles


def _everyone(code: int) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, code)


def _viewers(code: int) -> dict[str, int | str]:
    """Pages for everyone who may see the meeting; 404 for the others."""
    return _roles(404, 404, code, code, 404, code)


def _logged_in_viewers(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 404, code, code, 404, code)


def _managers(code: int) -> dict[str, int | str]:
    """Management of the group's meeting: its lead and admins; members of the group get 403."""
    return _roles(LOGIN, 404, 403, code, 404, code)


def _schedulers(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 403, 403, code, code, code)


def _statistics(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 403, 403, 403, code, code)


M = "/meetings/{meeting}"
CASES = [
    Case("meetings.index", "GET", "/meetings/", _everyone(200)),
    Case("meetings.detail", "GET", M, _viewers(200)),
    Case("calendar.meeting_download", "GET", M + ".ics", _viewers(200)),
    Case("meetings.create", "GET", "/meetings/new", _schedulers(200)),
    Case("meetings.create", "POST", "/meetings/new", _schedulers(200), {}),
    Case("meetings.create_series", "GET", "/meetings/series/new", _schedulers(200)),
    Case("meetings.create_series", "POST", "/meetings/series/new", _schedulers(200), {}),
    Case("meetings.series_detail", "GET", "/meetings/series/{series}", _managers(200)),
    Case("meetings.end_series", "POST", "/meetings/series/{series}/end", _managers(200), {}),
    Case("meetings.edit", "GET", M + "/edit", _managers(200)),
    Case("meetings.edit", "POST", M + "/edit", _managers(200), {}),
    Case("meetings.cancel", "GET", M + "/cancel", _managers(200)),
    Case("meetings.cancel", "POST", M + "/cancel", _managers(303)),
    Case("agenda.edit_agenda", "GET", M + "/agenda", _managers(200)),
    Case("agenda.add_item", "POST", M + "/agenda", _managers(200), {}),
    Case("agenda.edit_item", "GET", M + "/agenda/{item}/edit", _managers(200)),
    Case("agenda.edit_item", "POST", M + "/agenda/{item}/edit", _managers(200), {}),
    Case(
        "agenda.move_item", "POST", M + "/agenda/{item}/move", _managers(303), {"direction": "down"}
    ),
    Case("agenda.delete_item", "POST", M + "/agenda/{item}/delete", _managers(303)),
    Case("agenda.edit_minutes", "GET", M + "/minutes", _managers(200)),
    Case(
        "agenda.edit_minutes",
        "POST",
        M + "/minutes",
        _managers(303),
        {"body": "Notes", "save": "1"},
    ),
    Case("agenda.unpublish_minutes", "POST", M + "/minutes/unpublish", _managers(303)),
    Case("registrations.register", "POST", M + "/register", _logged_in_viewers(303)),
    Case("registrations.unregister", "POST", M + "/unregister", _logged_in_viewers(303)),
    Case("registrations.guest", "GET", M + "/guest", _everyone(404)),
    Case("registrations.guest", "POST", M + "/guest", _everyone(404), {}),
    Case("registrations.manage", "GET", "/meetings/registration/unknown-token", _everyone(404)),
    Case(
        "registrations.manage", "POST", "/meetings/registration/unknown-token", _everyone(404), {}
    ),
    Case("registrations.registration_list", "GET", M + "/registrations", _managers(200)),
    Case(
        "registrations.remove", "POST", M + "/registrations/{registration}/remove", _managers(303)
    ),
    Case("attendance.checkin", "GET", M + "/checkin", _managers(200)),
    Case(
        "attendance.registration_status",
        "POST",
        M + "/checkin/registration/{registration}",
        _managers(303),
        {"status": "present"},
    ),  # fmt: skip
    Case(
        "attendance.attendance_status",
        "POST",
        M + "/checkin/attendance/{attendance}",
        _managers(303),
        {"status": "excused"},
    ),  # fmt: skip
    Case(
        "attendance.walk_in",
        "POST",
        M + "/checkin/walk-in",
        _managers(303),
        {"type": "guest", "guest-name": "Walk In"},
    ),
    Case("attendance.attendance_csv", "GET", M + "/attendance.csv", _managers(200)),
    Case("attendance.sign_in_sheet", "GET", M + "/sign-in-sheet", _managers(200)),
    # Inviting: the meeting has started, so the page only says why nobody can be invited.
    Case("notifications.invite_meeting", "GET", M + "/invite", _managers(200)),
    Case("notifications.invite_meeting", "POST", M + "/invite", _managers(409), {}),
    Case("notifications.invite_series", "GET", "/meetings/series/{series}/invite", _managers(200)),
    Case(
        "notifications.invite_series",
        "POST",
        "/meetings/series/{series}/invite",
        _managers(200),
        {},
    ),
    Case("attendance.statistics", "GET", "/meetings/statistics", _statistics(200)),
    Case("attendance.statistics_csv", "GET", "/meetings/statistics.csv", _statistics(200)),
]


@pytest.fixture
def people(make_user):
    return {
        "member": make_user(name="Plain Member"),
        "group_member": make_user(name="Group Member"),
        "group_lead": make_user(name="Group Lead"),
        "moderator": make_user(name="Moderator", role=Role.MODERATOR),
        "admin": make_user(name="Admin", role=Role.ADMIN),
    }


@pytest.fixture
def objects(app, people, make_group, make_meeting):
    group = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={
            people["group_member"].id: GroupRole.MEMBER,
            people["group_lead"].id: GroupRole.LEAD,
        },
    )
    # Started an hour ago: outcomes, check-in and minutes all make sense now.
    meeting = make_meeting(
        title="AG UMA Treffen",
        group_id=group.id,
        visibility=Visibility.GROUP,
        starts_at=utcnow() - timedelta(hours=1),
        ends_at=utcnow() + timedelta(hours=1),
    )
    with app.app_context():
        series = MeetingSeries(
            title="AG UMA monatlich", kind="group", group_id=group.id, frequency="monthly_weekday", weekday=1,
            week_of_month=2, start_date=utcnow().date(), start_time=utcnow().time().replace(microsecond=0),
            duration_minutes=90, visibility=Visibility.GROUP,
            created_by_id=people["group_lead"].id,
        )  # fmt: skip
        items = [AgendaItem(meeting_id=meeting.id, position=i, title=f"TOP {i}") for i in range(2)]
        registration = Registration(
            meeting_id=meeting.id, user_id=people["group_member"].id,
            status=RegistrationStatus.CONFIRMED, organization_name="Jugendhilfe",
        )  # fmt: skip
        walk_in = Attendance(
            meeting_id=meeting.id, guest_name="Walk-in Guest", status=AttendanceStatus.PRESENT
        )
        minutes = Minutes(meeting_id=meeting.id, body="# Protokoll", status="published")
        db.session.add_all([series, *items, registration, walk_in, minutes])
        db.session.commit()
        ids = {
            "series": series.id,
            "item": items[0].id,
            "registration": registration.id,
            "attendance": walk_in.id,
        }
    return {"meeting": meeting.id, **ids}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.method} {case.endpoint}")
def test_meeting_route_matrix(app, login, people, objects, case: Case, role: str):
    client = app.test_client() if role == "anonymous" else login(people[role])
    check(client, case, role, objects)


def test_confidential_meeting_is_absent_from_outsiders_lists(app, login, people, objects):
    for role in ("member", "moderator"):
        page = login(people[role]).get("/meetings/").get_data(as_text=True)
        assert "AG UMA Treffen" not in page, role
    assert "AG UMA Treffen" not in app.test_client().get("/meetings/").get_data(as_text=True)
    for role in ("group_member", "admin"):
        page = login(people[role]).get("/meetings/?when=past").get_data(as_text=True)
        page += login(people[role]).get("/meetings/").get_data(as_text=True)
        assert "AG UMA Treffen" in page, role
