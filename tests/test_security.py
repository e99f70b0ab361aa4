"""CSRF on every form, security headers, self-hosted assets, production settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _sample_path(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if type(converter).__name__.endswith("IntegerConverter") else "x"
    return rule.build(values)[1]


#: POST routes that take no CSRF token on purpose, and why.
CSRF_EXEMPT = {
    # One-click unsubscribe (RFC 8058): mail clients POST "List-Unsubscribe=One-Click" to the
    # link in the mail header, without a session or a form to take a token from. The signed
    # token in the URL is the proof, and the only thing it can do is turn mail off.
    "notifications.unsubscribe",
}


def test_every_post_route_refuses_a_missing_csrf_token(csrf_app, users, login):
    client = login(users["admin"])
    post_rules = [rule for rule in csrf_app.url_map.iter_rules() if "POST" in rule.methods]
    assert len(post_rules) >= 10
    for rule in post_rules:
        if rule.endpoint in CSRF_EXEMPT:
            continue
        response = client.post(_sample_path(rule), data={"name": "x"})
        assert response.status_code == 400, rule.rule
        assert "Seite neu" in response.get_data(as_text=True), rule.rule


def test_csrf_exemptions_are_real_routes_that_check_their_token(csrf_app, users, login):
    """An exemption must not outlive its route, and an exempt route still refuses bad tokens."""
    rules = {rule.endpoint: rule for rule in csrf_app.url_map.iter_rules()}
    for endpoint in CSRF_EXEMPT:
        rule = rules[endpoint]
        assert "POST" in rule.methods
        response = login(users["admin"]).post(_sample_path(rule), data={"name": "x"})
        assert response.status_code == 404, endpoint


def test_csrf_failure_page_speaks_english_too(csrf_app):
    response = csrf_app.test_client().post(
        "/auth/login", data={"email": "a@example.org"}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)


def test_forms_work_with_their_csrf_token(csrf_app, users):
    client = csrf_app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login",
        data={
            "csrf_token": token,
            "email": "member@example.org",
            "password": "correct horse battery staple",
        },
    )
    assert response.status_code == 303


@pytest.mark.parametrize("path", ["/", "/auth/login", "/nope", "/static/css/app.css"])
def test_security_headers(client, users, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer")


def test_personal_pages_are_not_cached(users, login):
    response = login(users["member"]).get("/account/")
    assert "no-store" in response.headers["Cache-Control"]
    assert "Cookie" in response.headers["Vary"]


def test_healthz_touches_neither_database_nor_session(app, client, monkeypatch):
    from coordination.extensions import db

    def no_database(*args, **kwargs):
        raise AssertionError("healthz used the database")

    monkeypatch.setattr(db.session, "execute", no_database)
    monkeypatch.setattr(db.session, "scalar", no_database)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_reports_an_unmigrated_database(tmp_path):
    from coordination import create_app

    app = create_app(base_config(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


EXTERNAL_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|object|embed)\b[^>]*"""
    r"""\b(?:src|href|data)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
EXTERNAL_CSS = re.compile(r"""(?:url\(|@import)\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_no_asset_is_loaded_from_another_site():
    """All scripts, styles, fonts and images are served by the app itself (works offline)."""
    offenders = []
    for folder in ("templates", "static"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".html", ".css", ".js", ".svg"}:
                continue
            text = path.read_text(encoding="utf-8")
            if EXTERNAL_ASSET.search(text) or EXTERNAL_CSS.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_asset_check_would_notice_a_cdn():
    assert EXTERNAL_ASSET.search('<script src="https://cdn.example/x.js"></script>')
    assert EXTERNAL_ASSET.search("<link rel=stylesheet href=//fonts.example/css>")
    assert EXTERNAL_CSS.search("@import url('https://fonts.example/css');")
    assert not EXTERNAL_ASSET.search('<a href="https://example.org">link</a>')


def _run_factory(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "from coordination import create_app; app = create_app(); "
        "print(app.debug, app.config['SESSION_COOKIE_SECURE'], app.config['SESSION_COOKIE_HTTPONLY'], "
        "app.config['SESSION_COOKIE_SAMESITE'])"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KNOTENPUNKT_", "FLASK_", "SECRET_KEY"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("secret", [None, "", "dev", "change-me", "short-key"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret):
    env = {"KNOTENPUNKT_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = _run_factory(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_defaults_are_safe(tmp_path):
    result = _run_factory(
        {
            "KNOTENPUNKT_ENV": "production",
            "SECRET_KEY": "x" * 48,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "Lax"]


def test_proxy_headers_are_trusted_only_when_configured(database_url):
    from coordination import create_app

    seen = {}
    plain = create_app(base_config(database_url))
    proxied = create_app(base_config(database_url, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1))
    for name, app in (("plain", plain), ("proxied", proxied)):

        @app.get("/_whoami")
        def whoami(name=name):
            from flask import request

            seen[name] = (request.remote_addr, request.scheme)
            return ""

        app.test_client().get(
            "/_whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        )
    assert seen["plain"] == ("127.0.0.1", "http")
    assert seen["proxied"] == ("203.0.113.7", "https")


def test_too_large_requests_get_413(client):
    response = client.post("/auth/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Zu viele Daten" in response.get_data(as_text=True)


def test_tokens_in_request_logs_are_masked(app, caplog):
    import logging

    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - "%s" %s', "127.0.0.1", "GET /auth/reset/SECRETTOKEN123 HTTP/1.1", 200)
        logger.info("GET /auth/invite/abcDEF-_9?x=1 and /calendar/personal/feedtoken.ics")
        logger.info("POST /meetings/registration/guestTOKEN42 HTTP/1.1")
    text = caplog.text
    assert "SECRETTOKEN123" not in text and "abcDEF-_9" not in text and "feedtoken" not in text
    assert "guestTOKEN42" not in text
    assert "/auth/reset/[redacted]" in text
