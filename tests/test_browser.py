"""Real-browser smoke tests: Chromium (through Playwright) against the app on 127.0.0.1.

The app runs with CSRF protection on, in a Werkzeug server thread, on the committing
database fixture, so the browser exercises the real forms, cookies, redirects and security
headers. Every test records console errors (including Content-Security-Policy violations),
uncaught page errors, failed requests, error responses and requests to other hosts, and
asserts at its end that there were none.

Selectors use URLs, ``name`` attributes and the user's own data rather than translated
texts, so the tests do not depend on the German catalogue being complete.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, make_server

from coordination.auth.models import Locale, Role
from coordination.auth.services import create_user
from coordination.extensions import db
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    password: str


@dataclass
class PageProblems:
    """What went wrong in the browser while a test drove it."""

    base_url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        # CSP violations ("Refused to load/execute ...") are reported as console errors.
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def _on_request_failed(self, request: Request) -> None:
        # The favicon is fetched in the background; a click that navigates away first cancels it
        # (net::ERR_ABORTED). That is the browser's choice, not a failed request of ours.
        if request.url.endswith("/favicon.svg") and "ERR_ABORTED" in (request.failure or ""):
            return
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        # The flows below never provoke an error status on purpose: every 4xx/5xx is a bug.
        if response.status >= 400:
            self.error_responses.append(f"{response.status} {response.url}")

    def assert_none(self) -> None:
        foreign = [url for url in self.requests if not url.startswith(self.base_url + "/")]
        assert foreign == [], "requests to other hosts"
        assert self.console_errors == [], "browser console errors (CSP violations?)"
        assert self.page_errors == [], "uncaught JavaScript errors"
        assert self.failed_requests == [], "failed requests"
        assert self.error_responses == [], "error responses"


@pytest.fixture
def member(committing_app: Flask) -> Member:
    """A member account, committed before the browser starts."""
    account = Member(email="browser@example.org", name="Bruno Browser", password=TEST_PASSWORD)
    with committing_app.app_context():
        create_user(
            email=account.email,
            name=account.name,
            password=account.password,
            role=Role.MEMBER,
            locale=Locale.DE,
        )
        db.session.commit()
    return account


@pytest.fixture
def live_server(committing_app: Flask) -> Iterator[str]:
    """Serve the app with CSRF protection on 127.0.0.1 and a free port; yield its base URL."""
    committing_app.config["WTF_CSRF_ENABLED"] = True
    server: BaseWSGIServer = make_server("127.0.0.1", 0, committing_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium; "
            "install it with apt-get install chromium"
        )
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def open_page(
    browser: Browser, base_url: str, **context_options: object
) -> tuple[Page, PageProblems]:
    """A page in a fresh browser context (no cookies) whose problems are being recorded."""
    context = browser.new_context(locale="de-DE", **context_options)  # type: ignore[arg-type]
    page = context.new_page()
    problems = PageProblems(base_url)
    problems.watch(page)
    return page, problems


def test_login_language_switch_and_logout(
    browser: Browser, live_server: str, member: Member, tmp_path: Path
) -> None:
    page, problems = open_page(browser, live_server)
    try:
        html = page.locator("html")
        header_nav = page.locator("header nav")

        page.goto(live_server + "/")
        expect(html).to_have_attribute("lang", "de")

        login_link = header_nav.locator('a[href$="/auth/login"]')
        expect(login_link, "the header navigation is visible on a wide screen").to_be_visible()
        login_link.click()
        expect(page).to_have_url(live_server + "/auth/login")
        login_form = page.locator("main form").filter(has=page.locator("input[name=password]"))
        login_form.locator("input[name=email]").fill(member.email)
        login_form.locator("input[name=password]").fill(member.password)
        login_form.locator("[type=submit]").click()

        expect(page).to_have_url(live_server + "/")
        expect(page.locator("main h1")).to_contain_text(member.name)
        expect(header_nav.locator('a[href$="/account/"]')).to_have_text(member.name)
        expect(html).to_have_attribute("lang", "de")
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

        page.locator("footer button[name=language][value=en]").click()
        expect(html).to_have_attribute("lang", "en")
        expect(page).to_have_url(live_server + "/")
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

        page.locator("footer button[name=language][value=de]").click()
        expect(html).to_have_attribute("lang", "de")
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)

        header_nav.locator('form[action$="/auth/logout"] [type=submit]').click()
        expect(page).to_have_url(live_server + "/")
        expect(header_nav.locator('a[href$="/auth/login"]')).to_be_visible()
        expect(header_nav.locator('form[action$="/auth/logout"]')).to_have_count(0)

        page.goto(live_server + "/account/")
        expect(page).to_have_url(re.compile(re.escape(live_server) + r"/auth/login\b"))
        expect(page.locator("input[name=password]")).to_be_visible()
    finally:
        page.context.close()
    problems.assert_none()


def test_mobile_navigation_is_collapsed_behind_menu_toggle(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    page, problems = open_page(browser, live_server, viewport={"width": 375, "height": 700})
    try:
        page.goto(live_server + "/auth/login")
        toggle = page.locator("header details.nav-toggle")
        summary = toggle.locator("> summary")
        nav = toggle.locator("nav")

        expect(summary).to_be_visible()
        expect(summary).to_have_text(re.compile(r"^\s*(Menü|Menu)\s*$"))
        expect(toggle).not_to_have_attribute("open", re.compile(".*"))
        expect(nav).to_be_hidden()
        page.screenshot(path=tmp_path / "login-mobile-closed.png", full_page=True)

        summary.click()
        expect(toggle).to_have_attribute("open", "")
        expect(nav).to_be_visible()
        expect(nav.locator('a[href$="/auth/login"]')).to_be_visible()
        # The open menu fits the narrow screen: nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=tmp_path / "login-mobile-open.png", full_page=True)

        summary.click()
        expect(nav).to_be_hidden()
    finally:
        page.context.close()
    problems.assert_none()
