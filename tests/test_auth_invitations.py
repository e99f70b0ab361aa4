"""Invitations, password resets, the profile page and admin user management."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from coordination.auth.models import Invitation, PasswordReset, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.models import OutboxMessage
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a completely new passphrase"


def _outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for message in messages:
            db.session.expunge(message)
        return list(messages)


def _link(message: OutboxMessage, kind: str) -> str:
    match = re.search(
        rf"https://knotenpunkt\.test(/auth/{kind}/[A-Za-z0-9_\-]+)", message.body_text
    )
    assert match, message.body_text
    return match.group(1)


def _invite(client, email="neu@example.org", role="member", locale="de", organization="0"):
    return client.post(
        "/admin/invitations/",
        data={"email": email, "role": role, "locale": locale, "organization": organization},
    )


def _accept(client, link, name="Nora Neu", locale="de"):
    return client.post(
        link,
        data={"name": name, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "locale": locale},
    )


# --- invitations ------------------------------------------------------------------------


def test_admin_invites_and_the_invitee_creates_an_account(app, users, login, make_organization):
    organization = make_organization(name="Kontaktstelle Wohnen")
    admin = login(users["admin"])
    response = _invite(admin, role="moderator", organization=str(organization.id))
    assert response.status_code == 303

    [mail] = _outbox(app)
    assert mail.recipient == "neu@example.org"
    link = _link(mail, "invite")

    visitor = app.test_client()
    assert visitor.get(link).status_code == 200
    assert _accept(visitor, link).status_code == 303
    assert "Nora Neu" in visitor.get("/").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "neu@example.org"))
        assert user.role is Role.MODERATOR
        assert [org.name for org in user.organizations] == ["Kontaktstelle Wohnen"]


def test_invitation_link_works_only_once(app, users, login):
    _invite(login(users["admin"]))
    link = _link(_outbox(app)[0], "invite")
    assert _accept(app.test_client(), link).status_code == 303
    second = app.test_client()
    assert second.get(link).status_code == 404
    assert _accept(second, link, name="Someone Else").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 4


def test_expired_invitation_is_refused(app, users, login):
    _invite(login(users["admin"]))
    link = _link(_outbox(app)[0], "invite")
    with app.app_context():
        db.session.execute(sa.update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_unknown_invitation_token_is_404(client):
    assert client.get("/auth/invite/not-a-real-token").status_code == 404


def test_reinviting_revokes_the_earlier_link(app, users, login):
    admin = login(users["admin"])
    _invite(admin)
    _invite(admin)
    first, second = (_link(message, "invite") for message in _outbox(app))
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_withdrawn_invitation_stops_working(app, users, login):
    admin = login(users["admin"])
    _invite(admin)
    link = _link(_outbox(app)[0], "invite")
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    assert admin.post(f"/admin/invitations/{invitation_id}/revoke").status_code == 303
    assert app.test_client().get(link).status_code == 404


def test_moderator_invites_members_but_not_admins(app, users, login):
    moderator = login(users["moderator"])
    assert _invite(moderator, email="ok@example.org").status_code == 303
    response = _invite(moderator, email="sneaky@example.org", role="admin")
    assert response.status_code == 200  # the form answers with an error beside the field
    with app.app_context():
        emails = set(db.session.scalars(sa.select(Invitation.email)))
    assert emails == {"ok@example.org"}


def test_moderator_cannot_withdraw_an_admins_moderator_invitation(app, users, login):
    _invite(login(users["admin"]), email="future-mod@example.org", role="moderator")
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    response = login(users["moderator"]).post(f"/admin/invitations/{invitation_id}/revoke")
    assert response.status_code == 404


def test_inviting_an_existing_account_is_refused_beside_the_field(app, users, login):
    response = _invite(login(users["admin"]), email="MEMBER@example.org")
    assert response.status_code == 200
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert _outbox(app) == []


def test_invitation_mail_is_in_the_chosen_language(app, users, login):
    _invite(login(users["admin"]), locale="en")
    [mail] = _outbox(app)
    assert "invites you" in mail.body_text
    _invite(login(users["admin"]), email="de@example.org", locale="de")
    assert "lädt Sie" in _outbox(app)[1].body_text


# --- password reset ---------------------------------------------------------------------


def test_password_reset_for_a_known_address(app, users):
    client = app.test_client()
    response = client.post("/auth/reset", data={"email": "member@example.org"})
    assert response.status_code == 303
    [mail] = _outbox(app)
    assert mail.recipient == "member@example.org"
    link = _link(mail, "reset")
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert client.get("/account/").status_code == 200

    fresh = app.test_client()
    old = fresh.post("/auth/login", data={"email": "member@example.org", "password": TEST_PASSWORD})
    assert old.status_code == 200  # the old password no longer works
    new = fresh.post("/auth/login", data={"email": "member@example.org", "password": NEW_PASSWORD})
    assert new.status_code == 303


def test_password_reset_answers_the_same_for_unknown_addresses(app, users):
    known = app.test_client().post("/auth/reset", data={"email": "member@example.org"})
    unknown = app.test_client().post("/auth/reset", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [mail.recipient for mail in _outbox(app)] == ["member@example.org"]


def test_reset_link_is_single_use_and_ends_other_sessions(app, users, login):
    other_device = login(users["member"])
    app.test_client().post("/auth/reset", data={"email": "member@example.org"})
    link = _link(_outbox(app)[0], "reset")
    client = app.test_client()
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert other_device.get("/account/").status_code == 302
    assert app.test_client().get(link).status_code == 404


def test_expired_reset_link_is_refused(app, users):
    app.test_client().post("/auth/reset", data={"email": "member@example.org"})
    link = _link(_outbox(app)[0], "reset")
    with app.app_context():
        db.session.execute(sa.update(PasswordReset).values(expires_at=utcnow()))
        db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_token_pages_send_no_referrer(app, users, login):
    _invite(login(users["admin"]))
    response = app.test_client().get(_link(_outbox(app)[0], "invite"))
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]


# --- profile -----------------------------------------------------------------------------


def test_profile_changes_name_language_and_organisations(app, users, login, make_organization):
    organization = make_organization(name="Willkommen in Grünau")
    member = login(users["member"])
    response = member.post(
        "/account/",
        data={"name": "Mia M.", "locale": "en", "organizations": [str(organization.id)]},
    )
    assert response.status_code == 303
    page = member.get("/account/")
    assert '<html lang="en">' in page.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, users["member"].id)
        assert user.name == "Mia M."
        assert [org.id for org in user.organizations] == [organization.id]


def test_profile_refuses_unknown_organisation_ids(app, users, login):
    member = login(users["member"])
    response = member.post(
        "/account/", data={"name": "Mia", "locale": "de", "organizations": ["99999"]}
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(User, users["member"].id).name == "Mia Member"


def test_password_change_needs_the_current_password(app, users, login):
    member = login(users["member"])
    response = member.post(
        "/account/password",
        data={
            "current_password": "wrong wrong wrong",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert 'id="current_password-error"' in response.get_data(as_text=True)


def test_weak_passwords_are_refused(app, users, login):
    member = login(users["member"])
    for weak in ["short", "passwort123", "aaaaaaaaaaaa", "member@example.org"]:
        response = member.post(
            "/account/password",
            data={"current_password": TEST_PASSWORD, "password": weak, "confirm": weak},
        )
        assert response.status_code == 400, weak
        assert 'id="password-error"' in response.get_data(as_text=True), weak


# --- admin user management ---------------------------------------------------------------


def test_admin_changes_a_role_and_it_is_audited(app, users, login):
    admin = login(users["admin"])
    member_id = users["member"].id
    response = admin.post(f"/admin/users/{member_id}", data={"role": "moderator", "is_active": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, member_id).role is Role.MODERATOR
    page = admin.get("/admin/audit/").get_data(as_text=True)
    assert "user.role_changed" in page


def test_the_last_admin_cannot_be_demoted_or_deactivated(app, users, login):
    admin = login(users["admin"])
    admin_id = users["admin"].id
    for data in ({"role": "member", "is_active": "y"}, {"role": "admin"}):
        response = admin.post(f"/admin/users/{admin_id}", data=data)
        assert response.status_code == 200
    with app.app_context():
        user = db.session.get(User, admin_id)
        assert user.role is Role.ADMIN and user.is_active


def test_user_list_search_and_filters(users, login):
    admin = login(users["admin"])
    page = admin.get("/admin/users/?q=mia").get_data(as_text=True)
    assert "Mia Member" in page and "Mo Moderator" not in page
    page = admin.get("/admin/users/?role=moderator").get_data(as_text=True)
    assert "Mo Moderator" in page and "Mia Member" not in page
    page = admin.get("/admin/users/?q=%25").get_data(as_text=True)  # a literal % matches nothing
    assert "Mia Member" not in page
