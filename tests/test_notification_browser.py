"""Notifications in a real browser: invite a group when scheduling a series; mail settings.

Same setup as tests/test_browser.py (Chromium through Playwright, the app with CSRF on in a
server thread, console errors, CSP violations, failed requests and error responses recorded
and asserted away at the end). Selectors are element ids and field names, not translated texts.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from coordination.auth.models import Locale, Role, User
from coordination.auth.services import create_user
from coordination.extensions import db
from coordination.groups.models import GroupMembership, GroupRole, WorkingGroup
from coordination.mail.services import deliver_due
from coordination.meetings.models import Meeting
from coordination.notifications import invitations
from coordination.notifications.models import NotificationPreference
from tests import test_browser as browser_tests
from tests.conftest import TEST_PASSWORD
from tests.test_browser import Member, open_page

pytestmark = pytest.mark.browser

# The live server, the browser and the member account of tests/test_browser.py.
playwright = browser_tests.playwright
browser = browser_tests.browser
live_server = browser_tests.live_server
member = browser_tests.member


@pytest.fixture
def moderator(committing_app: Flask) -> Member:
    account = Member(email="moderation@example.org", name="Mona Moderation", password=TEST_PASSWORD)
    with committing_app.app_context():
        create_user(
            email=account.email,
            name=account.name,
            password=account.password,
            role=Role.MODERATOR,
            locale=Locale.DE,
        )
        db.session.commit()
    return account


@pytest.fixture
def group(committing_app: Flask, member: Member) -> int:
    """AG Wohnen, with the browser member as its only member."""
    with committing_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.email))
        row = WorkingGroup(name="AG Wohnen", slug="ag-wohnen")
        db.session.add(row)
        db.session.flush()
        db.session.add(GroupMembership(group_id=row.id, user_id=user.id, role=GroupRole.MEMBER))
        db.session.commit()
        return row.id


def log_in(page: Page, base: str, account: Member) -> None:
    page.goto(base + "/auth/login")
    form = page.locator("main form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=email]").fill(account.email)
    form.locator("input[name=password]").fill(account.password)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(base + "/")


def test_moderator_invites_a_group_to_a_series(
    browser: Browser,
    live_server: str,
    committing_app: Flask,
    moderator: Member,
    group: int,
    tmp_path: Path,
) -> None:
    first_day = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=2)
    page, problems = open_page(browser, live_server)
    try:
        log_in(page, live_server, moderator)
        page.goto(live_server + "/meetings/series/new")
        page.locator("#title").fill("Wohnungssuche-Sprechstunde")
        page.locator("#frequency").select_option("weekly")
        page.locator("#start_date").fill(first_day.isoformat())
        page.locator("#start_time").fill("17:00")
        page.locator("#end_time").fill("18:30")
        page.locator("#venue_name").fill("VHS Leipzig")
        invite = page.locator(f"input[name=invite_groups][value='{group}']")
        expect(invite).to_be_visible()
        # The choice sits in a fieldset with a legend, its hint names the invitation window.
        fieldset = page.locator("fieldset").filter(has=invite).last
        expect(fieldset.locator("legend").first).to_be_visible()
        invite.check()
        page.screenshot(path=tmp_path / "series-form.png", full_page=True)
        page.locator("form.schedule-form [type=submit]").click()

        expect(page).to_have_url(re.compile(re.escape(live_server) + r"/meetings/series/\d+$"))
        expect(page.locator("#audience-list")).to_contain_text("AG Wohnen")
        expect(page.locator("#series-invite")).to_be_visible()
        series_id = int(page.url.rsplit("/", 1)[1])

        # The cron job: invitations for the dates within the window go out.
        with committing_app.app_context():
            invitations.process()
            deliver_due()  # the development backend: logged, counted as sent
            first = db.session.scalar(
                sa.select(Meeting)
                .where(Meeting.series_id == series_id)
                .order_by(Meeting.starts_at)
                .limit(1)
            )
            first_id = first.id
        page.reload()
        expect(page.locator(f"#series-meeting-{first_id}-invited")).to_have_text("1 / 1")
        page.screenshot(path=tmp_path / "series-detail.png", full_page=True)

        page.locator(f"#series-meeting-{first_id} a").click()
        expect(page).to_have_url(f"{live_server}/meetings/{first_id}")
        expect(page.locator("#meeting-invitation-counts")).to_have_text(
            re.compile(r"^\D*1\D+1\D*$")
        )
        page.locator("#meeting-invite").click()
        expect(page).to_have_url(f"{live_server}/meetings/{first_id}/invite")
        expect(page.locator("#invited-count")).to_have_text("1")
        expect(page.locator("#sent-count")).to_have_text("1")
        expect(page.locator("#audience-list")).to_contain_text("AG Wohnen")
    finally:
        page.context.close()
    problems.assert_none()


def test_member_turns_on_the_digest_and_an_earlier_reminder(
    browser: Browser, live_server: str, committing_app: Flask, member: Member, tmp_path: Path
) -> None:
    page, problems = open_page(browser, live_server)
    try:
        log_in(page, live_server, member)
        page.goto(live_server + "/account/")
        page.locator("#mail-settings-link").click()
        expect(page).to_have_url(live_server + "/account/notifications")
        digest = page.locator("input[name=digest]")
        lead = page.locator("select[name=reminder_lead_hours]")
        expect(digest).not_to_be_checked()
        expect(lead).to_have_value("24")
        expect(page.locator("#always-sent")).to_be_visible()

        digest.check()
        lead.select_option("2")
        page.locator("#notification-settings [type=submit]").click()

        expect(page).to_have_url(live_server + "/account/notifications")
        expect(page.locator(".flash-success")).to_be_visible()
        expect(digest).to_be_checked()
        expect(lead).to_have_value("2")
        page.reload()
        expect(digest).to_be_checked()
        expect(lead).to_have_value("2")
        expect(page.locator("input[name=invitations]")).to_be_checked()
        page.screenshot(path=tmp_path / "mail-settings.png", full_page=True)
    finally:
        page.context.close()
    problems.assert_none()
    with committing_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.email))
        row = db.session.get(NotificationPreference, user.id)
        assert (row.digest, row.reminder_lead_hours, row.invitations) == (True, 2, True)
