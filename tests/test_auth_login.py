"""Logging in and out, server-side session revocation, safe redirects, first setup."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from coordination.auth.models import Role, User, UserSession
from coordination.extensions import db
from tests.conftest import TEST_PASSWORD


def _login(client, email: str, password: str = TEST_PASSWORD, next_url: str | None = None):
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password})


def test_login_with_correct_password_opens_dashboard(client, users):
    response = _login(client, "member@example.org")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Mia Member" in page


def test_email_is_case_insensitive(client, users):
    response = _login(client, "  MEMBER@Example.ORG ")
    assert response.status_code == 303


def test_wrong_password_and_unknown_email_get_the_same_answer(client, users):
    wrong = _login(client, "member@example.org", "not the password at all")
    unknown = _login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200
    assert "E-Mail-Adresse oder Passwort ist falsch." in wrong.get_data(as_text=True)
    # The pages differ only in the email address echoed back into the form.
    assert wrong.get_data(as_text=True).replace("member@", "nobody@") == unknown.get_data(
        as_text=True
    )


def test_deactivated_user_cannot_log_in(client, make_user):
    make_user(email="gone@example.org", is_active=False)
    response = _login(client, "gone@example.org")
    assert response.status_code == 200
    assert client.get("/account/").status_code == 302


def test_logout_requires_post(client, users, login):
    member = login(users["member"])
    assert member.get("/auth/logout").status_code == 405
    assert member.get("/account/").status_code == 200


def test_copied_session_cookie_is_useless_after_logout(app, client, users):
    _login(client, "member@example.org")
    cookie = client.get_cookie("knotenpunkt_session").value
    assert client.post("/auth/logout").status_code == 303

    thief = app.test_client()
    thief.set_cookie("knotenpunkt_session", cookie)
    response = thief.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_copied_session_cookie_is_useless_after_password_change(app, client, users):
    _login(client, "member@example.org")
    cookie = client.get_cookie("knotenpunkt_session").value
    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 303
    # The browser that changed the password stays logged in with a fresh session ...
    assert client.get("/account/").status_code == 200
    # ... while a copy of the old cookie no longer works.
    thief = app.test_client()
    thief.set_cookie("knotenpunkt_session", cookie)
    assert thief.get("/account/").status_code == 302


def test_copied_session_cookie_is_useless_after_deactivation(app, client, users, login):
    _login(client, "member@example.org")
    admin = login(users["admin"])
    response = admin.post(
        f"/admin/users/{users['member'].id}", data={"role": "member", "organizations": []}
    )
    assert response.status_code == 303
    assert client.get("/account/").status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(UserSession.id)).where(
                    UserSession.user_id == users["member"].id
                )
            )
            == 0
        )


def test_sessions_expire_on_the_server(app, client, users):
    _login(client, "member@example.org")
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(expires_at=sa.func.current_timestamp()))
        db.session.commit()
    assert client.get("/account/").status_code == 302


def test_end_other_sessions(app, users):
    first, second = app.test_client(), app.test_client()
    _login(first, "member@example.org")
    _login(second, "member@example.org")
    assert first.post("/account/sessions/end-others").status_code == 303
    assert first.get("/account/").status_code == 200
    assert second.get("/account/").status_code == 302


def test_login_redirects_to_local_next(client, users):
    response = _login(client, "member@example.org", next_url="/organizations/")
    assert response.headers["Location"] == "/organizations/"


def test_login_never_redirects_off_site(app, users):
    payloads = [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\t/evil.example",
        "/\x00//evil.example",
        "%2F%2Fevil.example",
    ]
    for payload in payloads:
        client = app.test_client()
        response = client.post(
            "/auth/login",
            query_string={"next": payload},
            data={"email": "member@example.org", "password": TEST_PASSWORD},
        )
        if "\x00" in payload:  # refused outright
            assert response.status_code == 400
            continue
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), payload
        assert "evil" not in location, payload


def test_login_page_redirects_when_already_logged_in(users, login):
    response = login(users["member"]).get("/auth/login")
    assert response.status_code == 302


def test_new_login_gets_a_new_session_id(app, client, users):
    """A session id planted before login is not the one used afterwards (no fixation)."""
    with client.session_transaction() as session:
        session["sid"] = "planted-by-attacker"
    _login(client, "member@example.org")
    with client.session_transaction() as session:
        assert session["sid"] != "planted-by-attacker"


# --- first setup ------------------------------------------------------------------------


def _setup_data(**overrides):
    data = {
        "name": "Angelika Kell",
        "email": "angelika@example.org",
        "password": "a long setup passphrase",
        "confirm": "a long setup passphrase",
        "locale": "de",
    }
    data.update(overrides)
    return data


def test_start_page_leads_to_setup_while_there_is_no_account(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/setup"
    assert client.get("/setup").status_code == 200


def test_setup_creates_the_first_admin_and_logs_in(app, client):
    response = client.post("/setup", data=_setup_data())
    assert response.status_code == 303
    with app.app_context():
        admin = db.session.scalar(sa.select(User))
        assert admin.role is Role.ADMIN
        assert admin.email == "angelika@example.org"
    assert client.get("/admin/users/").status_code == 200


def test_setup_is_gone_once_an_account_exists(client, users):
    assert client.get("/setup").status_code == 404
    assert client.post("/setup", data=_setup_data()).status_code == 404


def test_setup_validates_the_form(app, client):
    response = client.post("/setup", data=_setup_data(confirm="something else entirely"))
    assert response.status_code == 200
    assert "Die Passwörter stimmen nicht überein." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_production_password_hash_is_scrypt(app: Flask):
    from coordination.auth.services import hash_password

    with app.app_context():
        app.config["PASSWORD_HASH_METHOD"] = "scrypt"
        assert hash_password("whatever long enough").startswith("scrypt:")
