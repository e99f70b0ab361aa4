"""Notification pages: mail settings, one-click unsubscribe, choosing whom to invite.

Texts are checked with an English-speaking account (the German catalogue follows later);
everything else by element ids, field names and what is stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, Role
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.mail.services import deliver_due
from coordination.meetings.models import Meeting, MeetingSeries, MeetingStatus, Visibility
from coordination.notifications import invitations, preferences
from coordination.notifications.models import (
    EmailOptOut,
    InvitationAudience,
    NotificationPreference,
    Topic,
)
from coordination.timeutil import local_today
from tests.test_pages import _FormAudit

SETTINGS = "/account/notifications"
NUL = "abc\x00def"


# --- helpers -----------------------------------------------------------------------------------


class _Controls(HTMLParser):
    """Form controls of a page: checkboxes (checked or not) and selects (chosen option)."""

    def __init__(self) -> None:
        super().__init__()
        self.checkboxes: dict[tuple[str, str], bool] = {}
        self.options: dict[str, list[tuple[str, str, bool]]] = {}
        self._select: str | None = None
        self._option: list[str | bool] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "checkbox":
            key = (attributes.get("name") or "", attributes.get("value") or "")
            self.checkboxes[key] = "checked" in attributes
        elif tag == "select":
            self._select = attributes.get("name") or ""
            self.options[self._select] = []
        elif tag == "option" and self._select is not None:
            self._option = [attributes.get("value") or "", "", "selected" in attributes]

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[1] = str(self._option[1]) + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            value, label, selected = self._option
            self.options[self._select].append((str(value), str(label).strip(), bool(selected)))
            self._option = None
        elif tag == "select":
            self._select = None


def controls(html: str) -> _Controls:
    parser = _Controls()
    parser.feed(html)
    return parser


def offered(html: str, name: str) -> set[int]:
    """Ids offered as checkboxes named ``name``."""
    return {int(value) for (field, value) in controls(html).checkboxes if field == name}


def errors_of(html: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field_id}-error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def _settings_data(**overrides: str) -> dict[str, str]:
    data = {
        "invitations": "y",
        "meeting_reminders": "y",
        "reminder_lead_hours": "24",
        "action_reminders": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _stored(app, user_id: int) -> NotificationPreference | None:
    with app.app_context():
        row = db.session.get(NotificationPreference, user_id)
        if row is not None:
            db.session.expunge(row)
        return row


def _audiences(app) -> list[InvitationAudience]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(InvitationAudience)
                .options(
                    sa.orm.selectinload(InvitationAudience.groups),
                    sa.orm.selectinload(InvitationAudience.organizations),
                )
                .order_by(InvitationAudience.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.fixture
def english(make_user):
    return make_user(name="Emma English", locale=Locale.EN)


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


# --- mail settings -----------------------------------------------------------------------------


def test_settings_page_shows_the_defaults(english, login):
    response = login(english).get(SETTINGS)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = controls(page)
    assert found.checkboxes == {
        ("invitations", "y"): True,
        ("meeting_reminders", "y"): True,
        ("action_reminders", "y"): True,
        ("digest", "y"): False,
    }
    lead = found.options["reminder_lead_hours"]
    assert [(value, label) for value, label, _ in lead] == [
        ("2", "2 hours before"),
        ("24", "1 day before"),
        ("48", "2 days before"),
        ("72", "3 days before"),
    ]
    assert [value for value, _, selected in lead if selected] == ["24"]
    # What cannot be turned off is said on the page.
    assert "Mails about meetings you registered for" in page
    assert "always sent" in page


def test_settings_page_fields_are_labelled(english, login):
    audit = _FormAudit()
    audit.feed(login(english).get(SETTINGS).get_data(as_text=True))
    unlabelled = [
        control
        for control in audit.controls
        if not control.get("_wrapped") and control.get("id") not in audit.label_for
    ]
    assert unlabelled == []


def test_account_page_links_to_the_mail_settings(users, login):
    page = login(users["member"]).get("/account/").get_data(as_text=True)
    assert 'href="/account/notifications"' in page


def test_visitors_are_sent_to_log_in(client):
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"invitations": None}, {"invitations": False}),
        ({"meeting_reminders": None}, {"meeting_reminders": False}),
        ({"reminder_lead_hours": "2"}, {"reminder_lead_hours": 2}),
        ({"reminder_lead_hours": "72"}, {"reminder_lead_hours": 72}),
        ({"action_reminders": None}, {"action_reminders": False}),
        ({"digest": "y"}, {"digest": True}),
    ],
    ids=["invitations", "meeting_reminders", "lead 2", "lead 72", "action_reminders", "digest"],
)
def test_saving_each_setting(app, english, login, change, expected):
    client = login(english)
    response = client.post(SETTINGS, data=_settings_data(**change))
    assert response.status_code == 303
    assert response.headers["Location"] == SETTINGS
    row = _stored(app, english.id)
    values = {
        "invitations": True,
        "meeting_reminders": True,
        "reminder_lead_hours": 24,
        "action_reminders": True,
        "digest": False,
        **expected,
    }
    assert {name: getattr(row, name) for name in values} == values
    # The page shows what was stored, with a confirmation.
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "Your mail settings have been saved." in page
    found = controls(page)
    for name, value in values.items():
        if name == "reminder_lead_hours":
            chosen = [v for v, _, s in found.options[name] if s]
            assert chosen == [str(value)]
        else:
            assert found.checkboxes[(name, "y")] is value, name


def test_saving_records_which_settings_changed_without_personal_data(app, english, login):
    login(english).post(SETTINGS, data=_settings_data(digest="y", reminder_lead_hours="2"))
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "notifications.settings_changed")
        )
        assert event.actor_id == english.id
        assert (event.object_type, event.object_id) == ("user", english.id)
        assert set(event.detail.split(",")) == {"digest", "reminder_lead_hours"}
        assert english.email not in event.detail and english.name not in event.detail


@pytest.mark.parametrize(
    "value",
    ["5", "0", "-24", "169", "99999999999999999999", "x" * 100_000, NUL, "", "2.5"],
    ids=["not offered", "zero", "negative", "over a week", "huge", "100 kB", "NUL", "empty", "2.5"],
)
def test_bad_lead_times_are_refused_beside_the_field(app, english, login, value):
    response = login(english).post(SETTINGS, data=_settings_data(reminder_lead_hours=value))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert errors_of(page, "reminder_lead_hours")
    assert 'aria-invalid="true"' in page
    assert _stored(app, english.id) is None


def test_nul_bytes_in_checkboxes_do_no_harm(app, english, login):
    response = login(english).post(SETTINGS, data=_settings_data(digest=NUL))
    assert response.status_code in (200, 303)
    row = _stored(app, english.id)
    assert row is None or row.digest in (True, False)


def test_a_lead_time_set_by_the_operator_can_be_kept(app, english, login):
    app.config["MEETING_REMINDER_HOURS"] = 12
    page = login(english).get(SETTINGS).get_data(as_text=True)
    lead = controls(page).options["reminder_lead_hours"]
    assert ("12", "12 hours before", True) in lead
    response = login(english).post(SETTINGS, data=_settings_data(reminder_lead_hours="12"))
    assert response.status_code == 303
    assert _stored(app, english.id).reminder_lead_hours == 12


def test_settings_need_their_csrf_token(csrf_app, english, login):
    client = login(english)
    assert client.post(SETTINGS, data=_settings_data(digest="y")).status_code == 400
    assert _stored(csrf_app, english.id) is None
    token = _csrf_token(client.get(SETTINGS).get_data(as_text=True))
    response = client.post(SETTINGS, data=_settings_data(digest="y", csrf_token=token))
    assert response.status_code == 303
    assert _stored(csrf_app, english.id).digest is True


# --- unsubscribe -------------------------------------------------------------------------------


def _token(app, topic: Topic, **who) -> str:
    with app.test_request_context():
        return preferences.unsubscribe_token(topic, **who)


def test_opening_the_link_only_asks(csrf_app, users, client):
    token = _token(csrf_app, Topic.DIGEST, user=users["member"])
    response = client.get(f"/notifications/unsubscribe/{token}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="confirm-unsubscribe"' in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert _stored(csrf_app, users["member"].id) is None


def test_one_click_post_without_csrf_turns_the_topic_off_for_a_member(csrf_app, users, client):
    token = _token(csrf_app, Topic.MEETING_REMINDERS, user=users["member"])
    path = f"/notifications/unsubscribe/{token}"
    # What a mail client sends for RFC 8058: no session, no CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert 'id="unsubscribed"' in response.get_data(as_text=True)
    row = _stored(csrf_app, users["member"].id)
    assert row.meeting_reminders is False
    assert (row.invitations, row.action_reminders) == (True, True)
    # A second click is answered the same way.
    again = client.post(path)
    assert again.status_code == 200
    assert 'id="unsubscribed"' in again.get_data(as_text=True)
    with csrf_app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "notifications.unsubscribed")
        ).all()
        assert [event.detail for event in events] == ["meeting_reminders"] * 2
        assert all(event.object_id == users["member"].id for event in events)


def test_one_click_post_for_an_address_without_account(csrf_app, client):
    token = _token(csrf_app, Topic.INVITATIONS, email="Kontakt@Initiative.example")
    path = f"/notifications/unsubscribe/{token}"
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200
    with csrf_app.app_context():
        rows = db.session.scalars(sa.select(EmailOptOut)).all()
        assert [(row.email, row.topic) for row in rows] == [
            ("kontakt@initiative.example", Topic.INVITATIONS)
        ]
        page = client.get(path).get_data(as_text=True)
    # No account: no link to the member settings.
    assert 'href="/account/notifications"' not in client.post(path).get_data(as_text=True)
    assert 'id="confirm-unsubscribe"' in page


def test_member_is_offered_the_settings_after_unsubscribing(app, users, client):
    token = _token(app, Topic.DIGEST, user=users["member"])
    page = client.post(f"/notifications/unsubscribe/{token}").get_data(as_text=True)
    assert 'href="/account/notifications"' in page


def _forged(app) -> str:
    return URLSafeSerializer("another-secret-key", salt="knotenpunkt.unsubscribe").dumps(
        {"t": "digest", "u": 1}
    )


@pytest.mark.parametrize(
    "make_token",
    [
        _forged,
        lambda app: _token(app, Topic.DIGEST, email="a@example.org")[:-3] + "abc",
        lambda app: "x" * 5000,
        lambda app: "not-a-token",
        lambda app: URLSafeSerializer(app.config["SECRET_KEY"], salt="other").dumps({"t": "x"}),
        lambda app: _token(app, Topic.DIGEST, user=SimpleNamespace(id=987654321)),
    ],
    ids=["forged", "garbled", "overlong", "nonsense", "other salt", "deleted member"],
)
def test_bad_tokens_answer_404(app, users, client, make_token):
    path = f"/notifications/unsubscribe/{make_token(app)}"
    assert client.post(path).status_code == 404
    assert client.get(path).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailOptOut)) == 0
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 0
        )


# --- invite pages ------------------------------------------------------------------------------


@pytest.fixture
def world(app, make_user, make_group, make_meeting, make_organization):
    """Two open groups with their leads, a confidential group, organisations, meetings."""
    people = {
        "member": make_user(name="Plain Member"),
        "lead": make_user(name="Lena Lead", locale=Locale.EN),
        "other_lead": make_user(name="Otto Lead"),
        "secret_member": make_user(name="Sina Secret"),
        "moderator": make_user(name="Mo Moderator", role=Role.MODERATOR, locale=Locale.EN),
        "admin": make_user(name="Ada Admin", role=Role.ADMIN),
    }
    wohnen = make_group(name="AG Wohnen", members={people["lead"].id: GroupRole.LEAD})
    arbeit = make_group(name="AG Arbeit", members={people["other_lead"].id: GroupRole.LEAD})
    secret = make_group(
        name="AG UMA",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={people["secret_member"].id: GroupRole.LEAD},
    )
    orgs = [
        make_organization(name="Café Global", contact_email="info@cafe.example"),
        make_organization(name="Refugee Law Clinic"),
    ]
    meetings = {
        "network": make_meeting(title="Vernetzungstreffen"),
        "wohnen": make_meeting(
            title="AG Wohnen Treffen", group_id=wohnen.id, visibility=Visibility.GROUP
        ),
        "secret": make_meeting(
            title="AG UMA Treffen", group_id=secret.id, visibility=Visibility.GROUP
        ),
        "past": make_meeting(
            title="Vorbei",
            starts_at=utcnow() - timedelta(days=3),
            ends_at=utcnow() - timedelta(days=3) + timedelta(hours=2),
        ),
        "cancelled": make_meeting(title="Abgesagt", status=MeetingStatus.CANCELLED),
    }
    with app.app_context():
        start = utcnow().time().replace(microsecond=0)
        series = {
            "wohnen": MeetingSeries(
                title="AG Wohnen monatlich", kind="group", group_id=wohnen.id,
                frequency="monthly_day", day_of_month=3, start_date=local_today(),
                start_time=start, duration_minutes=90, visibility=Visibility.GROUP,
            ),
            "network": MeetingSeries(
                title="Netzwerk monatlich", frequency="monthly_day", day_of_month=3,
                start_date=local_today(), start_time=start, duration_minutes=90,
            ),
            "ended": MeetingSeries(
                title="Beendet", frequency="monthly_day", day_of_month=3,
                start_date=local_today() - timedelta(days=100),
                until_date=local_today() - timedelta(days=1), start_time=start,
                duration_minutes=90,
            ),
        }  # fmt: skip
        db.session.add_all(series.values())
        db.session.commit()
        series_ids = {key: row.id for key, row in series.items()}
    return SimpleNamespace(
        people=people,
        groups={"wohnen": wohnen, "arbeit": arbeit, "secret": secret},
        orgs=orgs,
        meetings={key: meeting.id for key, meeting in meetings.items()},
        series=series_ids,
    )


def _paths(world) -> dict[str, str]:
    return {
        "meeting": f"/meetings/{world.meetings['wohnen']}/invite",
        "series": f"/meetings/series/{world.series['wohnen']}/invite",
    }


@pytest.mark.parametrize("route", ["meeting", "series"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_visitors_are_sent_to_log_in_from_invite_pages(app, world, route, method):
    response = app.test_client().open(_paths(world)[route], method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("route", ["meeting", "series"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_members_who_do_not_manage_get_403(app, world, login, route, method):
    client = login(world.people["member"])
    assert client.open(_paths(world)[route], method=method).status_code == 403
    # Another group's lead sees the open group's meeting but does not manage it.
    client = login(world.people["other_lead"])
    assert client.open(_paths(world)[route], method=method).status_code == 403


@pytest.mark.parametrize("role", ["member", "lead", "moderator"])
def test_confidential_groups_meeting_is_404_for_outsiders(app, world, login, role):
    client = login(world.people[role])
    path = f"/meetings/{world.meetings['secret']}/invite"
    assert client.get(path).status_code == 404
    assert client.post(path, data={"invite_all_members": "y"}).status_code == 404
    assert _audiences(app) == []


def test_unknown_meeting_and_series_are_404(world, login):
    client = login(world.people["admin"])
    for path in (
        "/meetings/99999999/invite",
        "/meetings/series/99999999/invite",
        "/meetings/99999999999999999999/invite",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("route", ["meeting", "series"])
def test_group_lead_is_offered_only_their_groups(app, world, login, route):
    response = login(world.people["lead"]).get(_paths(world)[route])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert offered(page, "invite_groups") == {world.groups["wohnen"].id}
    assert "invite_all_members" not in page
    assert "invite_organizations" not in page
    assert "only to people who may see" in page


@pytest.mark.parametrize("route", ["meeting", "series"])
def test_moderator_is_offered_everyone(app, world, login, route):
    page = login(world.people["moderator"]).get(_paths(world)[route]).get_data(as_text=True)
    assert ("invite_all_members", "y") in controls(page).checkboxes
    # Every group the moderator can read: not the confidential one they are no member of.
    assert offered(page, "invite_groups") == {
        world.groups["wohnen"].id,
        world.groups["arbeit"].id,
    }
    assert offered(page, "invite_organizations") == {org.id for org in world.orgs}
    assert "contact address only if the meeting is public" in page


def test_group_lead_invites_their_group(app, world, login):
    client = login(world.people["lead"])
    path = _paths(world)["meeting"]
    response = client.post(path, data={"invite_groups": [str(world.groups["wohnen"].id)]})
    assert response.status_code == 303
    assert response.headers["Location"] == path
    (audience,) = _audiences(app)
    assert audience.meeting_id == world.meetings["wohnen"]
    assert audience.series_id is None
    assert [group.id for group in audience.groups] == [world.groups["wohnen"].id]
    assert audience.created_by_id == world.people["lead"].id
    page = client.get(path).get_data(as_text=True)
    assert 'id="audience-' in page and "AG Wohnen" in page


@pytest.mark.parametrize(
    ("field", "value", "error_id"),
    [
        ("invite_groups", "arbeit", "invite_groups"),
        ("invite_groups", "secret", "invite_groups"),
        ("invite_groups", "99999999999999999999", "invite_groups"),
        ("invite_groups", NUL, "invite_groups"),
        ("invite_groups", "x" * 100_000, "invite_groups"),
        ("invite_groups", "", "invite_groups"),
    ],
    ids=["other lead's group", "confidential group", "huge id", "NUL", "100 kB", "empty"],
)
def test_group_lead_cannot_invite_groups_not_offered(app, world, login, field, value, error_id):
    ids = {key: str(group.id) for key, group in world.groups.items()}
    response = login(world.people["lead"]).post(
        _paths(world)["meeting"], data={field: ids.get(value, value)}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert errors_of(page, error_id)
    assert _audiences(app) == []


def test_group_lead_cannot_smuggle_in_all_members_or_organisations(app, world, login):
    response = login(world.people["lead"]).post(
        _paths(world)["meeting"],
        data={"invite_all_members": "y", "invite_organizations": [str(world.orgs[0].id)]},
    )
    assert response.status_code == 200
    assert "Choose whom to invite." in errors_of(response.get_data(as_text=True), "invite_groups")
    assert _audiences(app) == []


def test_moderator_cannot_invite_a_confidential_group_they_cannot_read(app, world, login):
    response = login(world.people["moderator"]).post(
        f"/meetings/{world.meetings['network']}/invite",
        data={"invite_groups": [str(world.groups["secret"].id)]},
    )
    assert response.status_code == 200
    assert "You cannot invite this working group." in errors_of(
        response.get_data(as_text=True), "invite_groups"
    )
    assert _audiences(app) == []


def test_moderator_invites_members_and_organisations_to_a_series(app, world, login):
    client = login(world.people["moderator"])
    path = f"/meetings/series/{world.series['network']}/invite"
    response = client.post(
        path,
        data={
            "invite_all_members": "y",
            "invite_organizations": [str(org.id) for org in world.orgs],
        },
    )
    assert response.status_code == 303
    (audience,) = _audiences(app)
    assert (audience.series_id, audience.meeting_id) == (world.series["network"], None)
    assert audience.all_members is True
    assert {org.id for org in audience.organizations} == {org.id for org in world.orgs}
    page = client.get(path).get_data(as_text=True)
    assert "all members" in page and "Café Global" in page
    series_page = client.get(f"/meetings/series/{world.series['network']}").get_data(as_text=True)
    assert "Café Global" in series_page


def test_empty_invitation_is_refused_beside_the_choices(app, world, login):
    response = login(world.people["moderator"]).post(
        f"/meetings/{world.meetings['network']}/invite", data={}
    )
    assert response.status_code == 200
    assert "Choose whom to invite." in errors_of(
        response.get_data(as_text=True), "invite_all_members"
    )
    assert _audiences(app) == []


@pytest.mark.parametrize("which", ["past", "cancelled"])
def test_past_or_cancelled_meetings_take_no_new_invitations(app, world, login, which):
    client = login(world.people["moderator"])
    path = f"/meetings/{world.meetings[which]}/invite"
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="invite-closed"' in text and 'id="invite-form"' not in text
    assert ("cancelled" if which == "cancelled" else "has started or is over") in text
    response = client.post(path, data={"invite_all_members": "y"})
    assert response.status_code == 409
    assert 'id="invite-closed"' in response.get_data(as_text=True)
    assert _audiences(app) == []
    detail = client.get(f"/meetings/{world.meetings[which]}").get_data(as_text=True)
    assert 'id="meeting-invite"' not in detail
    assert 'id="meeting-invitation-counts"' in detail


def test_ended_series_takes_no_new_invitations(app, world, login):
    client = login(world.people["moderator"])
    path = f"/meetings/series/{world.series['ended']}/invite"
    assert 'id="invite-closed"' in client.get(path).get_data(as_text=True)
    assert client.post(path, data={"invite_all_members": "y"}).status_code == 409
    assert _audiences(app) == []
    page = client.get(f"/meetings/series/{world.series['ended']}").get_data(as_text=True)
    assert 'id="series-invite"' not in page


def test_invite_form_needs_its_csrf_token(csrf_app, world, login):
    client = login(world.people["moderator"])
    path = f"/meetings/{world.meetings['network']}/invite"
    assert client.post(path, data={"invite_all_members": "y"}).status_code == 400
    token = _csrf_token(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"invite_all_members": "y", "csrf_token": token})
    assert response.status_code == 303
    assert len(_audiences(csrf_app)) == 1


def test_meeting_page_shows_counts_and_invite_link_to_managers_only(app, world, login, monkeypatch):
    meeting_id = world.meetings["wohnen"]
    login(world.people["lead"]).post(
        f"/meetings/{meeting_id}/invite", data={"invite_groups": [str(world.groups["wohnen"].id)]}
    )
    extra = [
        world.people["member"].id,
        world.people["other_lead"].id,
    ]  # members of AG Wohnen besides the lead
    with app.app_context():
        from coordination.groups.models import GroupMembership

        for user_id in extra:
            db.session.add(
                GroupMembership(
                    group_id=world.groups["wohnen"].id, user_id=user_id, role=GroupRole.MEMBER
                )
            )
        db.session.commit()
        invitations.process()
    lead_page = login(world.people["lead"]).get(f"/meetings/{meeting_id}").get_data(as_text=True)
    counts = re.search(r'id="meeting-invitation-counts">([^<]*)<', lead_page).group(1)
    assert counts == "3 invited, 0 mails sent"  # queued, not yet delivered
    with app.app_context():
        deliver_due()
    lead_page = login(world.people["lead"]).get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert 'id="meeting-invite"' in lead_page
    counts = re.search(r'id="meeting-invitation-counts">([^<]*)<', lead_page).group(1)
    assert counts == "3 invited, 3 mails sent"
    invite_page = login(world.people["lead"]).get(f"/meetings/{meeting_id}/invite")
    text = invite_page.get_data(as_text=True)
    assert re.search(r'id="invited-count">3<', text) and re.search(r'id="sent-count">3<', text)
    member_page = login(world.people["member"]).get(f"/meetings/{meeting_id}")
    assert member_page.status_code == 200
    member_text = member_page.get_data(as_text=True)
    assert 'id="meeting-invite"' not in member_text
    assert 'id="meeting-invitation-counts"' not in member_text


# --- choosing whom to invite when scheduling ---------------------------------------------------


def _day(days: int) -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=days)


def _meeting_form(**overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Vernetzungstreffen mit Einladung",
        "kind": "network",
        "group_id": "",
        "start_date": _day(20).isoformat(),
        "start_time": "17:00",
        "end_time": "19:00",
        "venue_name": "VHS Leipzig",
        "visibility": "public",
        "is_registration_open": "y",
    }
    data.update(overrides)
    return data


def _series_form(**overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Vernetzungstreffen monatlich",
        "kind": "network",
        "group_id": "",
        "frequency": "monthly_weekday",
        "interval": "1",
        "weekday": "1",
        "week_of_month": "2",
        "start_date": _day(1).isoformat(),
        "start_time": "17:00",
        "end_time": "19:00",
        "visibility": "network",
    }
    data.update(overrides)
    return data


def test_schedule_form_offers_the_invite_fieldset(world, login):
    page = login(world.people["moderator"]).get("/meetings/new").get_data(as_text=True)
    assert "Invite people (optional)" in page
    assert ("invite_all_members", "y") in controls(page).checkboxes
    assert offered(page, "invite_organizations") == {org.id for org in world.orgs}
    assert "mailed within a few minutes" in page
    assert "only to people who may see the meeting" in page
    assert re.search(r"<legend>Members of these working groups</legend>", page)
    series_page = login(world.people["moderator"]).get("/meetings/series/new")
    text = series_page.get_data(as_text=True)
    assert "about 42 days before it" in text
    assert offered(text, "invite_groups") == {
        world.groups["wohnen"].id,
        world.groups["arbeit"].id,
    }


def test_group_leads_schedule_form_offers_their_group_only(world, login):
    page = login(world.people["lead"]).get("/meetings/new").get_data(as_text=True)
    assert offered(page, "invite_groups") == {world.groups["wohnen"].id}
    assert "invite_all_members" not in page and "invite_organizations" not in page


def test_edit_form_has_no_invite_fields(world, login):
    page = login(world.people["moderator"]).get(f"/meetings/{world.meetings['network']}/edit")
    assert page.status_code == 200
    assert "invite_" not in page.get_data(as_text=True)


def test_without_choices_the_fieldset_is_left_out(app):
    from coordination.meetings.forms import MeetingForm, SeriesForm
    from coordination.meetings.models import MeetingKind

    with app.test_request_context():
        for form_class in (MeetingForm, SeriesForm):
            form = form_class(
                groups=[], kinds=[MeetingKind.NETWORK], audience=invitations.AudienceChoices()
            )
            assert not form.has_invite_fields
            assert all("invite_" not in " ".join(names) for _, names in form.SECTIONS)


def test_scheduling_a_meeting_creates_its_audience(app, world, login):
    response = login(world.people["moderator"]).post(
        "/meetings/new",
        data=_meeting_form(
            invite_groups=[str(world.groups["wohnen"].id), str(world.groups["arbeit"].id)],
            invite_organizations=[str(world.orgs[0].id)],
        ),
    )
    assert response.status_code == 303
    with app.app_context():
        meeting = db.session.scalar(
            sa.select(Meeting).where(Meeting.title == "Vernetzungstreffen mit Einladung")
        )
        assert response.headers["Location"] == f"/meetings/{meeting.id}"
        meeting_id = meeting.id
    (audience,) = _audiences(app)
    assert audience.meeting_id == meeting_id and audience.all_members is False
    assert {group.id for group in audience.groups} == {
        world.groups["wohnen"].id,
        world.groups["arbeit"].id,
    }
    assert [org.id for org in audience.organizations] == [world.orgs[0].id]


def test_scheduling_without_choosing_invites_nobody(app, world, login):
    response = login(world.people["moderator"]).post("/meetings/new", data=_meeting_form())
    assert response.status_code == 303
    assert _audiences(app) == []


def test_a_double_submitted_meeting_gets_one_audience(app, world, login):
    client = login(world.people["moderator"])
    data = _meeting_form(invite_all_members="y")
    first = client.post("/meetings/new", data=data)
    second = client.post("/meetings/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_audiences(app)) == 1


def test_a_refused_invite_choice_schedules_nothing(app, world, login):
    response = login(world.people["lead"]).post(
        "/meetings/new",
        data=_meeting_form(
            kind="group",
            group_id=str(world.groups["wohnen"].id),
            visibility="group",
            invite_groups=[str(world.groups["arbeit"].id)],
        ),
    )
    assert response.status_code == 200
    assert "You cannot invite this working group." in errors_of(
        response.get_data(as_text=True), "invite_groups"
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(Meeting.id).where(Meeting.title == "Vernetzungstreffen mit Einladung")
            )
            is None
        )
    assert _audiences(app) == []


def test_scheduling_a_series_creates_its_audience_once(app, world, login):
    client = login(world.people["moderator"])
    data = _series_form(invite_groups=[str(world.groups["arbeit"].id)])
    assert client.post("/meetings/series/new", data=data).status_code == 303
    assert client.post("/meetings/series/new", data=data).status_code == 303
    with app.app_context():
        series_id = db.session.scalar(
            sa.select(MeetingSeries.id).where(MeetingSeries.title == "Vernetzungstreffen monatlich")
        )
    (audience,) = _audiences(app)
    assert (audience.series_id, audience.meeting_id) == (series_id, None)
    assert [group.id for group in audience.groups] == [world.groups["arbeit"].id]
    page = client.get(f"/meetings/series/{series_id}").get_data(as_text=True)
    assert 'id="series-invite"' in page
    assert "AG Arbeit" in page
