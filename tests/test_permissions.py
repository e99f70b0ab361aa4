"""Role × route matrix: every route answers each role as intended (deny by default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import pytest
import sqlalchemy as sa

from coordination.auth.models import Invitation, Role, User
from coordination.calendar import services as calendar
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.meetings.models import Frequency, MeetingSeries, Visibility

ROLES = ("anonymous", "member", "moderator", "admin")
LOGIN = "login"  # anonymous visitors are sent to the login page


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    path: str
    expect: dict[str, int | str]
    data: dict[str, str] | None = None


def _all(code: int | str) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, code)


def _members(code: int) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "member": code, "moderator": code, "admin": code}


def _moderators(code: int) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "member": 403, "moderator": code, "admin": code}


def _admins(code: int) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "member": 403, "moderator": 403, "admin": code}


CASES = [
    Case("main.index", "GET", "/", _all(200)),
    Case("main.privacy", "GET", "/privacy", _all(200)),
    Case("main.set_language", "POST", "/language", _all(303), {"language": "en"}),
    Case("ops.healthz", "GET", "/healthz", _all(200)),
    Case("ops.readyz", "GET", "/readyz", _all(200)),
    Case("setup.setup", "GET", "/setup", _all(404)),
    Case(
        "auth.login",
        "GET",
        "/auth/login",
        {"anonymous": 200, "member": 302, "moderator": 302, "admin": 302},
    ),
    Case(
        "auth.login",
        "POST",
        "/auth/login",
        {"anonymous": 200, "member": 302, "moderator": 302, "admin": 302},
        {},
    ),
    Case("setup.setup", "POST", "/setup", _all(404), {}),
    Case("auth.logout", "POST", "/auth/logout", _all(303)),
    Case("auth.request_reset", "POST", "/auth/reset", _all(200), {}),
    Case("auth.reset_password", "POST", "/auth/reset/unknown-token", _all(404), {}),
    Case("auth.accept_invitation", "POST", "/auth/invite/unknown-token", _all(404), {}),
    # Empty forms: the page comes back with errors beside the fields (200), never a 500.
    Case("account.profile", "POST", "/account/", _members(200), {}),
    Case("organizations.create", "POST", "/organizations/new", _moderators(200), {}),
    Case("organizations.edit", "POST", "/organizations/{org}/edit", _moderators(200), {}),
    Case("admin.user_detail", "POST", "/admin/users/{user}", _admins(200), {}),
    Case("admin.invitations", "POST", "/admin/invitations/", _moderators(200), {}),
    Case("auth.request_reset", "GET", "/auth/reset", _all(200)),
    Case("auth.reset_password", "GET", "/auth/reset/unknown-token", _all(404)),
    Case("auth.accept_invitation", "GET", "/auth/invite/unknown-token", _all(404)),
    Case("account.profile", "GET", "/account/", _members(200)),
    Case("account.change_password", "POST", "/account/password", _members(400), {}),
    Case("account.end_other_sessions", "POST", "/account/sessions/end-others", _members(303)),
    Case("organizations.index", "GET", "/organizations/", _members(200)),
    Case("organizations.detail", "GET", "/organizations/{org}", _members(200)),
    Case("organizations.create", "GET", "/organizations/new", _moderators(200)),
    Case("organizations.edit", "GET", "/organizations/{org}/edit", _moderators(200)),
    Case("organizations.confirm", "POST", "/organizations/{org}/confirm", _moderators(303)),
    Case("admin.users", "GET", "/admin/users/", _admins(200)),
    Case("admin.user_detail", "GET", "/admin/users/{user}", _admins(200)),
    Case("admin.invitations", "GET", "/admin/invitations/", _moderators(200)),
    Case(
        "admin.revoke_invitation",
        "POST",
        "/admin/invitations/{invitation}/revoke",
        _moderators(303),
    ),
    Case("admin.outbox", "GET", "/admin/outbox/", _admins(200)),
    Case("admin.retry_mail", "POST", "/admin/outbox/{mail}/retry", _admins(303)),
    Case("admin.audit", "GET", "/admin/audit/", _admins(200)),
    # Calendar: feeds are read by calendar apps without a session, so they never redirect.
    Case("calendar.overview", "GET", "/calendar/", _all(200)),
    Case("calendar.public_feed", "GET", "/calendar/public.ics", _all(200)),
    Case("calendar.group_feed", "GET", "/calendar/groups/{open_group}.ics", _all(200)),
    Case("calendar.personal_feed", "GET", "/calendar/personal/{token}.ics", _all(200)),
    Case("calendar.personal_feed", "GET", "/calendar/personal/unknown-token.ics", _all(404)),
    # Downloads follow the meeting page: public for everyone, network meetings for members.
    Case("calendar.meeting_download", "GET", "/meetings/{public_meeting}.ics", _all(200)),
    Case(
        "calendar.meeting_download",
        "GET",
        "/meetings/{network_meeting}.ics",
        {"anonymous": 404, "member": 200, "moderator": 200, "admin": 200},
    ),
    Case("calendar.create_token", "POST", "/calendar/tokens", _members(303), {"label": "Handy"}),
    Case("calendar.create_token", "POST", "/calendar/tokens", _members(400), {}),
    # Only the owner (the member) revokes a token; for everyone else it does not exist.
    Case(
        "calendar.revoke_token",
        "POST",
        "/calendar/tokens/{token_id}/revoke",
        {"anonymous": LOGIN, "member": 303, "moderator": 404, "admin": 404},
    ),
    # The network overview is a staff page like the statistics.
    Case("network.overview", "GET", "/network/", _moderators(200)),
    # Search: visitors search the public meetings only, members everything they may read.
    Case("search.index", "GET", "/search?q=Initiative", _all(200)),
    # Mail settings: one's own; empty form: errors beside the fields.
    Case("notifications.settings", "GET", "/account/notifications", _members(200)),
    Case("notifications.settings", "POST", "/account/notifications", _members(200), {}),
    # Unsubscribe links work without a session; a token not made here does not exist.
    Case("notifications.unsubscribe", "GET", "/notifications/unsubscribe/unknown-token", _all(404)),
    Case(
        "notifications.unsubscribe", "POST", "/notifications/unsubscribe/unknown-token", _all(404)
    ),
    # Inviting later: whoever manages the meeting or series (empty form: an error, 200).
    Case(
        "notifications.invite_meeting",
        "GET",
        "/meetings/{network_meeting}/invite",
        _moderators(200),
    ),
    Case(
        "notifications.invite_meeting",
        "POST",
        "/meetings/{network_meeting}/invite",
        _moderators(200),
        {},
    ),
    Case(
        "notifications.invite_series", "GET", "/meetings/series/{series}/invite", _moderators(200)
    ),
    Case(
        "notifications.invite_series",
        "POST",
        "/meetings/series/{series}/invite",
        _moderators(200),
        {},
    ),
]


@pytest.fixture
def objects(app, users, make_organization, make_group, make_meeting):
    organization = make_organization()
    open_group = make_group(name="AG Wohnen", slug="ag-wohnen")
    public_meeting = make_meeting(visibility=Visibility.PUBLIC)
    network_meeting = make_meeting(visibility=Visibility.NETWORK)
    with app.app_context():
        token, token_row = calendar.create_token(db.session.get(User, users["member"].id), "Handy")
        invitation = Invitation(
            email="invitee@example.org",
            role=Role.MEMBER,
            token_hash="0" * 64,
            invited_by_id=users["moderator"].id,
            expires_at=utcnow().replace(year=utcnow().year + 1),
        )
        mail = OutboxMessage(
            recipient="x@example.org",
            subject="s",
            body_text="b",
            message_id="<m1@knotenpunkt.test>",
            status=OutboxStatus.FAILED,
        )
        series = MeetingSeries(
            title="Vernetzungstreffen monatlich", frequency=Frequency.MONTHLY_DAY, day_of_month=3,
            start_date=utcnow().date(), start_time=time(17, 0), duration_minutes=120,
        )  # fmt: skip
        db.session.add_all([invitation, mail, series])
        db.session.commit()
        ids = {
            "invitation": invitation.id,
            "mail": mail.id,
            "token_id": token_row.id,
            "series": series.id,
        }
    return {
        "org": organization.slug,
        "user": users["member"].id,
        "open_group": open_group.slug,
        "public_meeting": public_meeting.id,
        "network_meeting": network_meeting.id,
        "token": token,
        **ids,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.method} {case.endpoint}")
def test_role_route_matrix(app, users, login, objects, case: Case, role: str):
    client = app.test_client() if role == "anonymous" else login(users[role])
    path = case.path.format(**objects)
    response = client.open(path, method=case.method, data=case.data or {})
    expected = case.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    else:
        assert response.status_code == expected


def test_every_route_is_in_the_matrix(app):
    """A new route must be added to a matrix, so that nobody forgets to decide who may use it."""
    from tests.test_group_permissions import CASES as GROUP_CASES
    from tests.test_meeting_permissions import CASES as MEETING_CASES
    from tests.test_project_permissions import CASES as PROJECT_CASES

    covered = {
        (case.endpoint, case.method)
        for case in [*CASES, *MEETING_CASES, *GROUP_CASES, *PROJECT_CASES]
    }
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (rule.endpoint, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == []


def test_admin_pages_hide_links_from_members(users, login):
    page = login(users["member"]).get("/").get_data(as_text=True)
    assert "/admin/users/" not in page
    assert "/admin/outbox/" not in page
    page = login(users["admin"]).get("/").get_data(as_text=True)
    assert "/admin/users/" in page


def test_unknown_ids_are_404_not_500(users, login):
    admin = login(users["admin"])
    for path in (
        "/admin/users/99999999",
        "/admin/users/99999999999999999999",
        "/admin/users/-1",
        "/admin/users/abc",
    ):
        assert admin.get(path).status_code == 404, path
    for path in (
        "/admin/outbox/99999999999999999999/retry",
        "/admin/invitations/2147483648/revoke",
    ):
        assert admin.post(path).status_code == 404, path


def test_deactivated_admin_loses_access_immediately(app, users, login):
    admin = login(users["admin"])
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE user_account SET is_active = :off WHERE id = :id"),
            {"off": False, "id": users["admin"].id},
        )
        db.session.commit()
    assert admin.get("/admin/users/").status_code == 302
