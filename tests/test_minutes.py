"""Minutes of a meeting: drafts for managers, publishing, who and when, the meeting-page partial."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from coordination.agenda import services
from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale, Role, User
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import Meeting, Minutes, MinutesStatus, Visibility

HUGE = "x" * 100_000
NUL = "abc\x00def"
EN = {"Accept-Language": "en"}


@dataclass
class World:
    users: dict[str, User]
    meetings: dict[str, Meeting]


@pytest.fixture
def world(make_user, make_group, make_meeting) -> World:
    """Every role, an open and a confidential group (same lead and member), four meetings."""
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN),
        "group_member": make_user(name="Gus Groupmember", locale=Locale.EN),
        "member": make_user(name="Mia Member", locale=Locale.EN),
    }
    members = {users["lead"].id: GroupRole.LEAD, users["group_member"].id: GroupRole.MEMBER}
    open_group = make_group(members=members)
    secret_group = make_group(members=members, confidentiality=Confidentiality.CONFIDENTIAL)
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    meetings = {
        "network": make_meeting(starts_at=past),
        "public": make_meeting(starts_at=past, visibility=Visibility.PUBLIC),
        "open_group": make_meeting(
            starts_at=past, group_id=open_group.id, visibility=Visibility.GROUP
        ),
        "confidential_group": make_meeting(
            starts_at=past, group_id=secret_group.id, visibility=Visibility.GROUP
        ),
    }
    return World(users=users, meetings=meetings)


def _client(app, login, world: World, role: str):
    return app.test_client() if role == "anonymous" else login(world.users[role])


def _write(app, meeting_id: int, body: str, *, user: User, publish: bool = False) -> None:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        services.save_minutes(
            meeting, body=body, actor=db.session.get(User, user.id), publish=publish
        )
        db.session.commit()


def _minutes(app, meeting_id: int) -> Minutes | None:
    with app.app_context():
        minutes = db.session.scalar(sa.select(Minutes).where(Minutes.meeting_id == meeting_id))
        if minutes is not None:
            db.session.expunge(minutes)
        return minutes


def _snapshot(app) -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(
                    Minutes.meeting_id,
                    Minutes.body,
                    Minutes.status,
                    Minutes.author_id,
                    Minutes.published_by_id,
                    Minutes.published_at,
                    Minutes.updated_at,
                ).order_by(Minutes.id)
            )
        ]


def _audit(app) -> list[tuple[str, str, int, int]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(
                    AuditEvent.action,
                    AuditEvent.object_type,
                    AuditEvent.object_id,
                    AuditEvent.actor_id,
                ).order_by(AuditEvent.id)
            )
        ]


def _render(app, meeting_id: int, user: User | None) -> str:
    with app.test_request_context("/", headers=EN):
        if user is not None:
            login_user(db.session.get(User, user.id))
        return render_template(
            "meetings/_minutes.html", meeting=db.session.get(Meeting, meeting_id)
        )


# --- role × route ---------------------------------------------------------------------------

MANAGERS = {
    "network": {"admin", "moderator"},
    "public": {"admin", "moderator"},
    "open_group": {"admin", "moderator", "lead"},
    "confidential_group": {"admin", "lead"},
}
VIEWERS = {
    "network": {"lead", "group_member", "member"},
    "public": {"lead", "group_member", "member"},
    "open_group": {"group_member", "member"},
    "confidential_group": {"group_member"},
}
ROLES = ("anonymous", "member", "group_member", "lead", "moderator", "admin")
ROUTES = [
    ("GET", "/meetings/{m}/minutes", None),
    ("POST", "/meetings/{m}/minutes", {"body": "Neu", "save": "y"}),
    ("POST", "/meetings/{m}/minutes", {"body": "Neu", "publish": "y"}),
    ("POST", "/meetings/{m}/minutes/unpublish", {}),
]


def _expected(meeting_key: str, role: str, method: str) -> int:
    if role == "anonymous":
        return 302
    if role in MANAGERS[meeting_key]:
        return 200 if method == "GET" else 303
    return 403 if role in VIEWERS[meeting_key] else 404


@pytest.mark.parametrize("route", ROUTES, ids=["GET", "POST save", "POST publish", "unpublish"])
@pytest.mark.parametrize("meeting_key", list(MANAGERS))
@pytest.mark.parametrize("role", ROLES)
def test_role_route_matrix(app, login, world, role, meeting_key, route):
    method, path, data = route
    meeting = world.meetings[meeting_key]
    _write(app, meeting.id, "Alt", user=world.users["admin"], publish=True)
    before = (_snapshot(app), _audit(app))
    client = _client(app, login, world, role)
    url = path.format(m=meeting.id)
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    assert response.status_code == _expected(meeting_key, role, method)
    if role == "anonymous":
        assert "/auth/login" in response.headers["Location"]
    if response.status_code != 303:
        assert (_snapshot(app), _audit(app)) == before


# --- drafts and publishing ------------------------------------------------------------------


def test_first_visit_offers_an_outline_from_the_agenda(app, login, world):
    meeting = world.meetings["network"]
    with app.app_context():
        loaded = db.session.get(Meeting, meeting.id)
        services.add_item(loaded, title="Begrüßung", actor=None)
        services.add_item(loaded, title="Berichte", actor=None)
        db.session.commit()
    page = login(world.users["moderator"]).get(f"/meetings/{meeting.id}/minutes").text
    assert "## 1. Begrüßung\n\n## 2. Berichte" in page
    assert 'class="privacy-reminder"' in page
    assert _minutes(app, meeting.id) is None  # GET writes nothing


def test_saving_a_draft(app, login, world):
    meeting = world.meetings["network"]
    moderator = world.users["moderator"]
    response = login(moderator).post(
        f"/meetings/{meeting.id}/minutes", data={"body": "## Berichte\n\nText", "save": "y"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/meetings/{meeting.id}/minutes"
    minutes = _minutes(app, meeting.id)
    assert minutes.status is MinutesStatus.DRAFT
    assert minutes.body == "## Berichte\n\nText"
    assert minutes.author_id == moderator.id
    assert minutes.published_at is None and minutes.published_by_id is None
    assert _audit(app) == []


def test_publishing_records_who_and_when_and_audits(app, login, world):
    meeting = world.meetings["network"]
    moderator = world.users["moderator"]
    client = login(moderator)
    client.post(f"/meetings/{meeting.id}/minutes", data={"body": "Entwurf", "save": "y"})
    before = datetime.now(UTC)
    response = client.post(
        f"/meetings/{meeting.id}/minutes", data={"body": "Fertig", "publish": "y"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/meetings/{meeting.id}#minutes")
    minutes = _minutes(app, meeting.id)
    assert minutes.status is MinutesStatus.PUBLISHED
    assert minutes.body == "Fertig"
    assert minutes.published_by_id == moderator.id
    assert minutes.published_at >= before - timedelta(seconds=1)
    assert _audit(app) == [("minutes.published", "meeting", meeting.id, moderator.id)]


def test_publishing_straight_away_creates_published_minutes(app, login, world):
    meeting = world.meetings["open_group"]
    login(world.users["lead"]).post(
        f"/meetings/{meeting.id}/minutes", data={"body": "Kurz", "publish": "y"}
    )
    minutes = _minutes(app, meeting.id)
    assert minutes.is_published and minutes.author_id == world.users["lead"].id


def test_editing_published_minutes_keeps_them_published_and_marks_the_update(app, login, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Erste Fassung", user=world.users["moderator"], publish=True)
    published_at = _minutes(app, meeting.id).published_at
    admin = world.users["admin"]
    client = login(admin)
    page = client.get(f"/meetings/{meeting.id}/minutes", headers=EN).text
    assert "Save changes" in page and 'name="publish"' not in page
    response = client.post(
        f"/meetings/{meeting.id}/minutes", data={"body": "Korrigiert", "save": "y"}
    )
    assert response.status_code == 303
    minutes = _minutes(app, meeting.id)
    assert minutes.status is MinutesStatus.PUBLISHED
    assert minutes.body == "Korrigiert"
    assert minutes.author_id == admin.id  # the last editor
    assert minutes.published_by_id == world.users["moderator"].id
    assert minutes.published_at == published_at
    assert minutes.updated_at > minutes.published_at
    html = _render(app, meeting.id, world.users["member"])
    assert "minutes-updated" in html and "Updated on" in html


def test_freshly_published_minutes_do_not_claim_an_update(app, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Entwurf", user=world.users["moderator"])
    _write(app, meeting.id, "Entwurf", user=world.users["moderator"], publish=True)
    html = _render(app, meeting.id, world.users["member"])
    assert "Published by Mo Moderator" in html
    assert "minutes-updated" not in html


def test_double_submit_of_publish_audits_once(app, login, world):
    meeting = world.meetings["network"]
    client = login(world.users["moderator"])
    data = {"body": "Fertig", "publish": "y"}
    assert client.post(f"/meetings/{meeting.id}/minutes", data=data).status_code == 303
    assert client.post(f"/meetings/{meeting.id}/minutes", data=data).status_code == 303
    assert [row[0] for row in _audit(app)] == ["minutes.published"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Minutes.id))) == 1


def test_unpublish_returns_to_draft_and_audits(app, login, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Text", user=world.users["moderator"], publish=True)
    admin = world.users["admin"]
    client = login(admin)
    response = client.post(f"/meetings/{meeting.id}/minutes/unpublish")
    assert response.status_code == 303
    assert _minutes(app, meeting.id).status is MinutesStatus.DRAFT
    assert _audit(app)[-1] == ("minutes.unpublished", "meeting", meeting.id, admin.id)
    # A second click changes nothing and records nothing.
    assert client.post(f"/meetings/{meeting.id}/minutes/unpublish").status_code == 303
    assert [row[0] for row in _audit(app)] == ["minutes.published", "minutes.unpublished"]


def test_unpublish_without_minutes_is_404(login, world):
    meeting = world.meetings["network"]
    response = login(world.users["moderator"]).post(f"/meetings/{meeting.id}/minutes/unpublish")
    assert response.status_code == 404


def test_republishing_records_the_new_publisher(app, login, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Text", user=world.users["moderator"], publish=True)
    client = login(world.users["admin"])
    client.post(f"/meetings/{meeting.id}/minutes/unpublish")
    client.post(f"/meetings/{meeting.id}/minutes", data={"body": "Text", "publish": "y"})
    minutes = _minutes(app, meeting.id)
    assert minutes.is_published and minutes.published_by_id == world.users["admin"].id


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["", "   ", HUGE, NUL, [NUL, "a"]], ids=["empty", "blank", "huge", "nul", "list"]
)
@pytest.mark.parametrize("button", ["save", "publish"])
def test_bad_bodies_are_refused_beside_the_field(app, login, world, body, button):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Bisher", user=world.users["moderator"])
    before = (_snapshot(app), _audit(app))
    response = login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/minutes", data={"body": body, button: "y"}
    )
    assert response.status_code == 200
    assert 'id="body-error"' in response.text
    assert (_snapshot(app), _audit(app)) == before


def test_unicode_minutes_are_kept(app, login, world):
    text = "Ünïcödé محمد 🚀 Łódź \u202eRTL ゆ"
    meeting = world.meetings["network"]
    login(world.users["moderator"]).post(
        f"/meetings/{meeting.id}/minutes", data={"body": text, "save": "y"}
    )
    assert _minutes(app, meeting.id).body == text


@pytest.mark.parametrize(
    "path", ["/meetings/99999/minutes", "/meetings/99999999999999999999/minutes"]
)
def test_unknown_meetings_answer_404(login, world, path):
    assert login(world.users["admin"]).get(path).status_code == 404


# --- the meeting page's partial -------------------------------------------------------------


def test_draft_is_hidden_from_a_plain_member_and_visitors(app, world):
    meeting = world.meetings["public"]
    _write(app, meeting.id, "Geheimer Entwurf", user=world.users["moderator"])
    assert _render(app, meeting.id, world.users["member"]).strip() == ""
    assert _render(app, meeting.id, None).strip() == ""
    with app.app_context():
        loaded = db.session.get(Meeting, meeting.id)
        assert services.minutes_for(loaded, db.session.get(User, world.users["member"].id)) is None


def test_draft_is_shown_to_managers_with_a_badge_and_edit_link(app, world):
    meeting = world.meetings["open_group"]
    _write(app, meeting.id, "Entwurf **fett**", user=world.users["lead"])
    html = _render(app, meeting.id, world.users["lead"])
    assert 'class="badge badge-muted minutes-draft-badge"' in html and "Draft" in html
    assert "<strong>fett</strong>" in html
    assert f'href="/meetings/{meeting.id}/minutes"' in html and "Edit minutes" in html
    assert "Last edited by Lea Lead" in html


def test_published_minutes_are_shown_to_members_with_who_and_when(app, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Beschlüsse", user=world.users["moderator"], publish=True)
    published_at = _minutes(app, meeting.id).published_at
    html = _render(app, meeting.id, world.users["member"])
    assert 'id="minutes"' in html and "Beschlüsse" in html
    assert "Published by Mo Moderator on" in html
    with app.test_request_context(headers=EN):
        from coordination.templating import local_datetime

        assert local_datetime(published_at, "short") in html
    assert "minutes-draft-badge" not in html
    assert "edit-minutes-link" not in html


def test_published_minutes_of_public_meetings_reach_visitors_without_names(app, world):
    meeting = world.meetings["public"]
    _write(app, meeting.id, "Öffentlich", user=world.users["moderator"], publish=True)
    html = _render(app, meeting.id, None)
    assert "Öffentlich" in html
    assert "Published on" in html
    assert "Mo Moderator" not in html


def test_minutes_of_a_network_meeting_never_reach_visitors(app, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Intern", user=world.users["moderator"], publish=True)
    assert _render(app, meeting.id, None).strip() == ""


def test_confidential_group_minutes_stay_inside_the_group(app, world):
    meeting = world.meetings["confidential_group"]
    _write(app, meeting.id, "Vertraulich", user=world.users["lead"], publish=True)
    assert "Vertraulich" in _render(app, meeting.id, world.users["group_member"])
    assert "Vertraulich" in _render(app, meeting.id, world.users["admin"])
    assert _render(app, meeting.id, world.users["moderator"]).strip() == ""
    assert _render(app, meeting.id, world.users["member"]).strip() == ""


def test_managers_without_minutes_are_invited_to_write_them(app, world):
    meeting = world.meetings["network"]
    html = _render(app, meeting.id, world.users["moderator"])
    assert "Write minutes" in html and 'id="edit-minutes-link"' in html
    assert _render(app, meeting.id, world.users["member"]).strip() == ""


def test_minutes_are_sanitised(app, world):
    meeting = world.meetings["public"]
    body = (
        "<script>alert(1)</script>\n\n[klick](javascript:alert(1))\n\n"
        '<a href="javascript:alert(2)">x</a> <img src=x onerror=alert(3)>\n\n[ok](https://example.org)'
    )
    _write(app, meeting.id, body, user=world.users["moderator"], publish=True)
    for user in (None, world.users["member"], world.users["moderator"]):
        html = _render(app, meeting.id, user)
        assert "<script" not in html
        assert re.search(r"<a [^>]*href=\"javascript:", html) is None
        assert "<img" not in html
        assert "&lt;script&gt;" in html  # shown as text, not run
        assert 'href="https://example.org"' in html


def test_minutes_for_uses_one_query(app, world):
    meeting = world.meetings["network"]
    _write(app, meeting.id, "Text", user=world.users["moderator"], publish=True)
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        loaded = db.session.get(Meeting, meeting.id)
        member = db.session.get(User, world.users["member"].id)
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
        try:
            minutes = services.minutes_for(loaded, member)
            names = (minutes.published_by.name, minutes.author.name)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    assert names == ("Mo Moderator", "Mo Moderator")
    assert len(statements) == 1
