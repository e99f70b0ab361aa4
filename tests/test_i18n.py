"""German by default, English on request, complete catalogues, localised error pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "coordination" / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def test_german_is_the_default(client, users):
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden" in page


def test_english_from_accept_language(client, users):
    response = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"})
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in" in page


def test_unsupported_languages_fall_back_to_german(client, users):
    page = client.get("/auth/login", headers={"Accept-Language": "fr-FR,fr"}).get_data(as_text=True)
    assert '<html lang="de">' in page


def test_language_switch_is_remembered_for_visitors(client, users):
    response = client.post("/language", data={"language": "en", "next": "/privacy"})
    assert response.status_code == 303 and response.headers["Location"] == "/privacy"
    page = client.get("/privacy", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_language_switch_is_saved_in_the_profile(app, users, login):
    from coordination.auth.models import Locale, User
    from coordination.extensions import db

    login(users["member"]).post("/language", data={"language": "en"})
    with app.app_context():
        assert db.session.get(User, users["member"].id).locale is Locale.EN
    # The saved language wins over the browser's on the next login, on any device.
    page = login(users["member"]).get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en">' in page


@pytest.mark.parametrize(
    ("path", "method", "german", "english"),
    [
        ("/does-not-exist", "get", "Seite nicht gefunden", "Page not found"),
        ("/auth/logout", "get", "nicht möglich", "not possible here"),
    ],
)
def test_error_pages_speak_the_users_language(client, path, method, german, english):
    assert german in getattr(client, method)(path).get_data(as_text=True)
    response = getattr(client, method)(path, headers={"Accept-Language": "en"})
    assert english in response.get_data(as_text=True)


def test_rate_limit_page_is_localised(app, users):
    app.config["RATELIMIT_ENABLED"] = True
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    from coordination.extensions import limiter

    limiter.init_app(app)
    client = app.test_client()
    for _ in range(2):
        client.post(
            "/auth/login", data={"email": "member@example.org", "password": "wrong password"}
        )
    response = client.post("/auth/login", data={"email": "member@example.org", "password": "x"})
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_password_reset_is_rate_limited_for_known_and_unknown_addresses(app, users):
    app.config["RATELIMIT_ENABLED"] = True
    app.config["RESET_RATE_LIMIT"] = "2 per minute"
    from coordination.extensions import limiter

    limiter.init_app(app)
    client = app.test_client()
    codes = [
        client.post("/auth/reset", data={"email": email}).status_code
        for email in ("member@example.org", "nobody@example.org", "member@example.org")
    ]
    assert codes == [303, 303, 429]


def test_german_catalogue_is_complete():
    with CATALOGUE.open("rb") as file:
        catalogue = read_po(file)
    missing = [
        message.id
        for message in catalogue
        if message.id
        and (
            message.fuzzy
            or not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
        )
    ]
    assert missing == []


def test_catalogue_covers_every_string_in_the_code(tmp_path):
    """Extract the strings anew: every one must be in the German catalogue."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()",
         "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with pot.open("rb") as file:
        extracted = {message.id if isinstance(message.id, str) else message.id[0]
                     for message in read_po(file) if message.id}  # fmt: skip
    with CATALOGUE.open("rb") as file:
        translated = {message.id if isinstance(message.id, str) else message.id[0]
                      for message in read_po(file) if message.id}  # fmt: skip
    assert sorted(extracted - translated) == []
    # Babel skips folders whose names start with "_": the macros must still be extracted.
    assert "Write anonymised." in extracted


def test_placeholders_survive_translation():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    with CATALOGUE.open("rb") as file:
        for message in read_po(file):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            expected = set(placeholder.findall(ids[-1]))
            for string in strings:
                assert set(placeholder.findall(string)) <= expected | set(
                    placeholder.findall(ids[0])
                ), message.id


def test_catalogues_compile_on_start(tmp_path):
    """A fresh checkout has no .mo files; the app compiles them itself."""
    import shutil

    from coordination.i18n import compile_catalogues

    target = tmp_path / "translations"
    shutil.copytree(ROOT / "coordination" / "translations", target,
                    ignore=shutil.ignore_patterns("*.mo"))  # fmt: skip
    compiled = compile_catalogues(target)
    assert [path.name for path in compiled] == ["messages.mo"]
    assert compile_catalogues(target) == []  # up to date: nothing to do
