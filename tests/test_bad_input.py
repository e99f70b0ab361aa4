"""Bad input on every form and URL: a clear 4xx answer or a form error, never a 500,
and nothing half-written. Runs on SQLite and PostgreSQL (PostgreSQL refuses NUL bytes and
out-of-range integers, SQLite does not: both must behave the same for the user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from coordination.audit.models import AuditEvent
from coordination.auth.models import Invitation, User
from coordination.calendar.models import CalendarToken
from coordination.extensions import db
from coordination.mail.models import OutboxMessage
from coordination.meetings.models import Frequency, Meeting, MeetingSeries
from coordination.notifications.models import InvitationAudience
from coordination.organizations.models import Organization
from tests.conftest import TEST_PASSWORD

HUGE = "x" * 100_000
NUL = "abc\x00def"
HUGE_ID = "99999999999999999999"

#: Values that are wrong for any field: empty, 100 kB, NUL byte, wrong type, huge number.
BAD_VALUES = {
    "empty": "",
    "huge": HUGE,
    "nul": NUL,
    "wrong type": ["a", "b"],
    "huge number": HUGE_ID,
}

#: Unicode that must be accepted in free text (names, descriptions).
UNICODE = "Ünïcödé محمد 🚀 Łódź \u202eRTL ゆ"


@dataclass
class FormCase:
    name: str
    role: str | None
    path: str
    valid: dict[str, object]
    fields: list[str] = field(default_factory=list)


FORMS = [
    FormCase(
        "login",
        None,
        "/auth/login",
        {"email": "member@example.org", "password": TEST_PASSWORD},
        ["email", "password"],
    ),
    FormCase("reset request", None, "/auth/reset", {"email": "member@example.org"}, ["email"]),
    FormCase(
        "profile",
        "member",
        "/account/",
        {"name": "Mia", "locale": "de", "organizations": []},
        ["name", "locale", "organizations"],
    ),
    FormCase(
        "password change",
        "member",
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "password": "another long passphrase",
            "confirm": "another long passphrase",
        },
        ["current_password", "password", "confirm"],
    ),
    FormCase(
        "invitation",
        "admin",
        "/admin/invitations/",
        {"email": "new@example.org", "role": "member", "locale": "de", "organization": "0"},
        ["email", "role", "locale", "organization"],
    ),
    FormCase(
        "organisation",
        "moderator",
        "/organizations/new",
        {
            "name": "Neue Initiative",
            "kind": "initiative",
            "district": "Süd",
            "website": "",
            "contact_email": "",
            "contact_phone": "",
            "description": "Text",
        },
        ["name", "kind", "district", "website", "contact_email", "contact_phone", "description"],
    ),
    FormCase(
        "user admin",
        "admin",
        "/admin/users/{member}",
        {"role": "member", "is_active": "y", "organizations": []},
        ["role", "organizations"],
    ),
    FormCase("calendar feed", "member", "/calendar/tokens", {"label": "Handy"}, ["label"]),
    FormCase(
        "mail settings",
        "member",
        "/account/notifications",
        {
            "invitations": "y",
            "meeting_reminders": "y",
            "reminder_lead_hours": "24",
            "action_reminders": "y",
        },
        ["invitations", "reminder_lead_hours"],
    ),
    FormCase(
        "invite to a meeting",
        "moderator",
        "/meetings/{meeting}/invite",
        {"invite_all_members": "y"},
        ["invite_groups", "invite_organizations"],
    ),
    FormCase(
        "invite to a series",
        "moderator",
        "/meetings/series/{series}/invite",
        {"invite_all_members": "y"},
        ["invite_groups", "invite_organizations"],
    ),
    FormCase(
        "schedule with invitations",
        "moderator",
        "/meetings/new",
        {
            "title": "Vernetzungstreffen",
            "kind": "network",
            "start_date": (date.today() + timedelta(days=30)).isoformat(),
            "start_time": "17:00",
            "end_time": "19:00",
            "visibility": "network",
            "invite_all_members": "y",
        },
        ["invite_groups", "invite_organizations"],
    ),
]


@pytest.fixture
def targets(app, users, make_meeting, make_organization, make_group) -> dict[str, int]:
    """Ids the form paths name; a group and an organisation so the invite lists are not empty."""
    make_organization()
    make_group()
    meeting = make_meeting()
    with app.app_context():
        series = MeetingSeries(
            title="Monatlich", frequency=Frequency.MONTHLY_DAY, day_of_month=3,
            start_date=date.today(), start_time=time(17, 0), duration_minutes=120,
        )  # fmt: skip
        db.session.add(series)
        db.session.commit()
        return {"member": users["member"].id, "meeting": meeting.id, "series": series.id}


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (
                User,
                Organization,
                Invitation,
                OutboxMessage,
                AuditEvent,
                CalendarToken,
                Meeting,
                InvitationAudience,
            )
        }


def _client(app, users, login, role):
    return app.test_client() if role is None else login(users[role])


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_bad_values_never_cause_500_or_partial_writes(
    app, users, login, targets, form: FormCase, kind: str
):
    path = form.path.format(**targets)
    before = _row_counts(app)
    for field_name in form.fields:
        client = _client(app, users, login, form.role)
        data = {**form.valid, field_name: BAD_VALUES[kind]}
        response = client.post(path, data=data)
        assert response.status_code < 500, (field_name, response.status_code)
        if response.status_code == 200:
            # The form came back: the problem is shown beside the field.
            assert 'class="errors"' in response.get_data(as_text=True), field_name
    after = _row_counts(app)
    # A list for a text field is read as its first value, and a long number can be a valid
    # name; NUL bytes and 100 kB values must leave no trace at all.
    if kind in ("nul", "huge") and form.name not in ("profile", "user admin"):
        assert after == before, form.name


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_missing_fields_are_answered_with_errors(app, users, login, targets, form: FormCase):
    client = _client(app, users, login, form.role)
    response = client.post(form.path.format(**targets), data={})
    assert response.status_code in (200, 400)
    assert 'class="errors"' in response.get_data(as_text=True)


def test_nul_bytes_are_refused_beside_the_field_not_stored(app, users, login):
    response = login(users["moderator"]).post(
        "/organizations/new", data={"name": NUL, "kind": "initiative"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and "ungültige Zeichen" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0


def test_unicode_is_kept_intact(app, users, login):
    moderator = login(users["moderator"])
    response = moderator.post(
        "/organizations/new",
        data={"name": UNICODE, "kind": "self_organization", "description": UNICODE},
    )
    assert response.status_code == 303
    page = moderator.get(response.headers["Location"]).get_data(as_text=True)
    assert UNICODE in page
    member = login(users["member"])
    member.post("/account/", data={"name": UNICODE, "locale": "de"})
    with app.app_context():
        assert db.session.get(User, users["member"].id).name == UNICODE


@pytest.mark.parametrize(
    "path",
    [
        "/organizations/%00",
        "/organizations/a%00b/edit",
        "/organizations/?kind=%00",
        "/organizations/?district=%00",
        "/admin/users/?q=%00",
        "/admin/users/" + HUGE_ID,
        "/admin/users/1.5",
        "/admin/outbox/?page=" + HUGE_ID,
        "/organizations/?page=" + HUGE_ID,
        "/admin/users/?page=" + HUGE_ID,
        "/admin/audit/?page=-1",
        "/organizations/" + "x" * 5000,
        "/auth/invite/" + "x" * 5000,
        "/auth/reset/%00",
        "/calendar/personal/%00.ics",
        "/calendar/personal/" + "x" * 5000 + ".ics",
        "/calendar/groups/%00.ics",
        "/calendar/groups/" + "x" * 5000 + ".ics",
        "/calendar/?x=%00",
        "/meetings/" + HUGE_ID + ".ics",
        "/meetings/" + HUGE_ID + "/invite",
        "/meetings/series/" + HUGE_ID + "/invite",
        "/notifications/unsubscribe/%00",
        "/notifications/unsubscribe/" + "x" * 5000,
        "/account/notifications?x=%00",
    ],
)
def test_odd_urls_answer_4xx_or_200(users, login, path):
    response = login(users["admin"]).get(path)
    assert response.status_code in (200, 400, 404), response.status_code


def test_double_submit_creates_one_organisation(app, users, login):
    moderator = login(users["moderator"])
    data = {"name": "Café Global", "kind": "initiative"}
    assert moderator.post("/organizations/new", data=data).status_code == 303
    second = moderator.post("/organizations/new", data=data)
    assert second.status_code == 200  # "exists already", beside the name field
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1


def test_double_submit_of_an_invitation_acceptance(app, users, login):
    import re

    login(users["admin"]).post(
        "/admin/invitations/",
        data={"email": "x@example.org", "role": "member", "locale": "de", "organization": "0"},
    )
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMessage.body_text))
    link = re.search(r"https://knotenpunkt\.test(/auth/invite/\S+)", body).group(1)
    data = {
        "name": "X",
        "password": "long enough passphrase",
        "confirm": "long enough passphrase",
        "locale": "de",
    }
    client = app.test_client()
    assert client.post(link, data=data).status_code == 303
    assert app.test_client().post(link, data=data).status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(User.id)).where(User.email == "x@example.org")
            )
            == 1
        )


def test_language_switch_ignores_bad_values(users, login, client):
    for value in ("", "xx", NUL, HUGE):
        response = client.post("/language", data={"language": value, "next": "/privacy"})
        assert response.status_code in (303, 400)
    response = login(users["member"]).post(
        "/language", data={"language": "en", "next": "https://evil.example"}
    )
    assert response.headers["Location"] == "/"
