"""Calendar in a real browser: create a personal feed, copy its address, add a meeting.

Same setup as tests/test_browser.py (Chromium through Playwright, the app with CSRF on in a
server thread, every console error, CSP violation, failed request and error response recorded
and asserted away at the end). Selectors are element ids, not translated texts.
"""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from coordination.db import utcnow
from coordination.extensions import db
from coordination.meetings.models import Meeting, Visibility
from tests import test_browser as browser_tests
from tests.test_browser import Member, open_page

pytestmark = pytest.mark.browser

# The live server, the browser and the member account of tests/test_browser.py.
playwright = browser_tests.playwright
browser = browser_tests.browser
live_server = browser_tests.live_server
member = browser_tests.member

PERSONAL_URL = re.compile(r"https://knotenpunkt\.test(/calendar/personal/[A-Za-z0-9_-]+\.ics)")


@pytest.fixture
def meeting(committing_app: Flask, member: Member) -> dict[str, object]:
    """A network meeting next week, committed before the browser starts."""
    starts_at = (utcnow() + timedelta(days=7)).replace(hour=17, minute=0, second=0, microsecond=0)
    with committing_app.app_context():
        row = Meeting(
            title="Vernetzungstreffen Süd",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            visibility=Visibility.NETWORK,
            venue_name="VHS Leipzig",
            venue_address="Löhrstraße 3-7, 04105 Leipzig",
        )
        db.session.add(row)
        db.session.commit()
        return {"id": row.id, "uid": row.ical_uid, "title": row.title}


def fetch(url: str) -> tuple[int, str, str]:
    """GET like a calendar app: no cookies, no Accept header."""
    request = urllib.request.Request(url, headers={"User-Agent": "Calendar-App/1.0"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own server)
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_member_creates_a_personal_feed_and_adds_a_meeting(
    browser: Browser,
    live_server: str,
    member: Member,
    meeting: dict[str, object],
    tmp_path: Path,
) -> None:
    page, problems = open_page(
        browser,
        live_server,
        permissions=["clipboard-read", "clipboard-write"],
        accept_downloads=True,
    )
    try:
        page.goto(live_server + "/auth/login")
        login_form = page.locator("main form").filter(has=page.locator("input[name=password]"))
        login_form.locator("input[name=email]").fill(member.email)
        login_form.locator("input[name=password]").fill(member.password)
        login_form.locator("[type=submit]").click()
        expect(page).to_have_url(live_server + "/")

        # Create a personal feed on the account page.
        page.goto(live_server + "/account/")
        section = page.locator("#calendar-feeds")
        expect(section).to_be_visible()
        expect(page.locator("#calendar-token-none")).to_be_visible()
        token_form = section.locator('form[action$="/calendar/tokens"]')
        token_form.locator("input[name=label]").fill("Handy")
        token_form.locator("[type=submit]").click()
        expect(page).to_have_url(live_server + "/account/#calendar-feeds")

        new_feed = page.locator("#new-feed")
        expect(new_feed).to_be_visible()
        field = page.locator("#new-feed-links-url")
        url = field.input_value()
        match = PERSONAL_URL.fullmatch(url)
        assert match, url
        token_path = match.group(1)
        expect(page.locator("#new-feed-links-webcal")).to_have_attribute(
            "href", "webcal://knotenpunkt.test" + token_path
        )
        google = page.locator("#new-feed-links-google").get_attribute("href") or ""
        assert google.startswith("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F")
        assert token_path.split("/")[-1] in google
        expect(page.locator("table#calendar-token-table")).to_contain_text("Handy")
        page.screenshot(path=tmp_path / "account-new-feed.png", full_page=True)

        # The copy button is shown by the script and copies the address.
        copy = new_feed.locator("button.copy-button")
        expect(copy).to_be_visible()
        copy.click()
        expect(copy).to_have_text(copy.get_attribute("data-copied-label") or "")
        selection = page.evaluate(
            """() => {
                const field = document.getElementById("new-feed-links-url");
                return [document.activeElement === field, field.selectionStart,
                        field.selectionEnd, field.value.length];
            }"""
        )
        assert selection == [True, 0, len(url), len(url)], selection
        assert page.evaluate("navigator.clipboard.readText()") == url

        # The address works as a feed (the test config's BASE_URL is another host).
        status, content_type, body = fetch(live_server + token_path)
        assert status == 200
        assert content_type == "text/calendar; charset=utf-8"
        assert body.startswith("BEGIN:VCALENDAR")
        assert f"UID:{meeting['uid']}" in body

        # Shown once: after a reload the address is gone, the feed stays listed.
        page.reload()
        expect(page.locator("#new-feed")).to_have_count(0)
        expect(page.locator("table#calendar-token-table")).to_contain_text("Handy")
        assert token_path not in page.content()

        # The meeting page's "add to calendar" downloads an .ics file.
        page.goto(f"{live_server}/meetings/{meeting['id']}")
        expect(page.locator("#add-to-calendar")).to_be_visible()
        google_template = page.locator("#meeting-google").get_attribute("href") or ""
        assert urlsplit(google_template).netloc == "calendar.google.com"
        with page.expect_download() as download_info:
            page.locator("#meeting-ics").click()
        download = download_info.value
        assert download.suggested_filename.endswith(".ics")
        assert download.suggested_filename.startswith("vernetzungstreffen-sued-")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert text.startswith("BEGIN:VCALENDAR")
        assert f"UID:{meeting['uid']}" in text

        # The subscription page: public feed with its copy button.
        page.locator("#meeting-subscribe").click()
        expect(page).to_have_url(live_server + "/calendar/")
        expect(page.locator("#feed-public-webcal")).to_have_attribute(
            "href", "webcal://knotenpunkt.test/calendar/public.ics"
        )
        expect(page.locator("#feed-public button.copy-button")).to_be_visible()
        expect(page.locator("#manage-feeds")).to_be_visible()
        page.screenshot(path=tmp_path / "calendar-page.png", full_page=True)
    finally:
        page.context.close()
    problems.assert_none()
