"""``flask notifications run``: the cron job queues and delivers, reports counts, repeats nothing.

Run through the ``runner`` fixture against the real SMTP server (``smtp_server``). Helpers for
reading the delivered mails come from ``test_notification_invitations``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coordination.auth.models import Locale
from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.registrations.models import Registration
from tests.conftest import free_port
from tests.test_notification_invitations import (
    _edit_form,
    _invite,
    _itip,
    _mails_since,
    _meeting,
    _recipients,
    _register,
    _seq,
)

EVERYONE = ["admin@example.org", "erin@example.org", "member@example.org", "mod@example.org"]


def _run(app, runner, config, *options):
    """``flask notifications run`` with ``config``; returns its output (it must succeed)."""
    app.config.update(config)
    result = runner.invoke(args=["notifications", "run", *options])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _registered_long_ago(app, meeting, user) -> None:
    """``user`` registered (and got a seat) three days ago, before any reminder lead time."""
    _register(app, meeting, user)
    with app.app_context():
        db.session.execute(
            sa.update(Registration)
            .where(Registration.meeting_id == meeting.id, Registration.user_id == user.id)
            .values(
                created_at=utcnow() - timedelta(days=3), confirmed_at=utcnow() - timedelta(days=3)
            )
        )
        db.session.commit()


def _count(output: str, pattern: str) -> int:
    match = re.search(pattern, output)
    assert match is not None, f"{pattern!r} not in {output!r}"
    return int(match.group(1))


def _outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            db.session.expunge(row)
    return rows


@pytest.fixture
def soon(make_meeting):
    """A network meeting five hours from now: inside everybody's reminder lead time."""
    start = (utcnow() + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    return make_meeting(
        title="Kurzfristiges Treffen", starts_at=start, ends_at=start + timedelta(hours=2)
    )


@pytest.fixture
def later(make_meeting):
    """A network meeting in ten days (no reminder yet)."""
    start = (utcnow() + timedelta(days=10)).replace(hour=16, minute=0, second=0, microsecond=0)
    return make_meeting(title="Plenum", starts_at=start, ends_at=start + timedelta(hours=2))


def test_run_queues_delivers_and_reports_then_a_second_run_sends_nothing(
    app, runner, users, make_user, soon, later, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _registered_long_ago(app, soon, erin)
    _invite(app, users["moderator"], meeting=later, all_members=True)

    output = _run(app, runner, smtp_config)

    assert _count(output, r"(\d+) invitations created") == 4
    assert _count(output, r"(\d+) invitations and updates queued") == 4
    assert _count(output, r"meeting reminders: (\d+) queued") == 1
    assert _count(output, r"mail: sent (\d+)") == 5
    assert _count(output, r"retry later (\d+)") == 0
    mails = _mails_since(smtp_server, 0)
    assert _recipients(mails) == EVERYONE
    [reminder] = [mail for mail in mails if not mail.is_itip]
    assert reminder.to == "erin@example.org"
    assert "Kurzfristiges Treffen" in reminder.subject

    again = _run(app, runner, smtp_config)

    assert _count(again, r"(\d+) invitations created") == 0
    assert _count(again, r"(\d+) invitations and updates queued") == 0
    assert _count(again, r"meeting reminders: (\d+) queued") == 0
    assert _count(again, r"mail: sent (\d+)") == 0
    assert len(smtp_server.envelopes) == 5


def test_no_deliver_only_queues_and_the_next_run_sends_each_mail_once(
    app, runner, users, make_user, later, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=later, all_members=True)

    output = _run(app, runner, smtp_config, "--no-deliver")

    assert "mail:" not in output
    assert _count(output, r"(\d+) invitations and updates queued") == 4
    assert smtp_server.envelopes == []
    assert [row.status for row in _outbox(app)] == [OutboxStatus.PENDING] * 4

    output = _run(app, runner, smtp_config)

    assert _count(output, r"(\d+) invitations and updates queued") == 0
    assert _count(output, r"mail: sent (\d+)") == 4
    assert _recipients(_mails_since(smtp_server, 0)) == EVERYONE


def test_nothing_is_lost_while_the_server_is_down(
    app, runner, users, make_user, later, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=later, all_members=True)

    output = _run(app, runner, {**smtp_config, "MAIL_PORT": free_port()})

    assert _count(output, r"mail: sent (\d+)") == 0
    assert _count(output, r"retry later (\d+)") == 4
    assert smtp_server.envelopes == []
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    output = _run(app, runner, smtp_config)

    assert _count(output, r"(\d+) invitations and updates queued") == 0
    assert _count(output, r"mail: sent (\d+)") == 4
    assert _recipients(_mails_since(smtp_server, 0)) == EVERYONE


def test_a_cancelled_meeting_gets_no_reminder(
    app, runner, login, users, make_user, soon, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _registered_long_ago(app, soon, erin)
    output = _run(app, runner, smtp_config, "--no-deliver")
    assert _count(output, r"meeting reminders: (\d+) queued") == 1

    response = login(users["moderator"]).post(f"/meetings/{soon.id}/cancel")
    assert response.status_code == 303
    output = _run(app, runner, smtp_config)

    assert _count(output, r"(\d+) cancellations queued") == 1
    assert _count(output, r"meeting reminders: (\d+) queued") == 0
    mails = _mails_since(smtp_server, 0)
    assert [(mail.to, mail.mime_method) for mail in mails] == [("erin@example.org", "CANCEL")]
    reminders = [row for row in _outbox(app) if row.topic == "meeting_reminder"]
    assert [row.status for row in reminders] == [OutboxStatus.WITHDRAWN]
    assert _run(app, runner, smtp_config).count("sent 0") == 1
    assert len(smtp_server.envelopes) == 1


def test_a_meeting_moved_into_the_lead_time_gets_a_reminder_for_the_new_time(
    app, runner, login, users, make_user, later, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _registered_long_ago(app, later, erin)
    assert _count(_run(app, runner, smtp_config), r"meeting reminders: (\d+) queued") == 0

    start = (utcnow() + timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    local_start = start.astimezone(_berlin())
    local_end = (start + timedelta(hours=2)).astimezone(_berlin())
    login(users["moderator"]).post(
        f"/meetings/{later.id}/edit",
        data=_edit_form(
            later,
            start_date=local_start.date().isoformat(),
            start_time=local_start.strftime("%H:%M"),
            end_date=local_end.date().isoformat(),
            end_time=local_end.strftime("%H:%M"),
        ),
    )
    assert _meeting(app, later.id).starts_at == start
    _run(app, runner, smtp_config)
    mails = _mails_since(smtp_server, 0)

    [update] = _itip(mails)
    assert update.to == "erin@example.org" and _seq(update.event) == 1
    reminders = [mail for mail in mails if not mail.is_itip]
    assert [mail.to for mail in reminders] == ["erin@example.org"]
    assert start.astimezone(_berlin()).strftime("%H:%M") in reminders[0].subject


def test_a_venue_change_while_the_reminder_waits_does_not_lose_the_reminder(
    app, runner, login, users, make_user, soon, smtp_server, smtp_config
):
    """Only a new start withdraws a waiting reminder: its dedupe key holds the start, so a
    reminder withdrawn for a venue change would never be queued again."""
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _registered_long_ago(app, soon, erin)
    assert _count(_run(app, runner, smtp_config, "--no-deliver"), r"reminders: (\d+)") == 1

    login(users["moderator"]).post(
        f"/meetings/{soon.id}/edit", data=_edit_form(soon, venue_name="Neues Rathaus")
    )
    _run(app, runner, smtp_config)
    _run(app, runner, smtp_config)

    mails = _mails_since(smtp_server, 0)
    assert [mail.to for mail in _itip(mails)] == ["erin@example.org"]  # the update
    reminders = [mail for mail in mails if not mail.is_itip]
    assert [mail.to for mail in reminders] == ["erin@example.org"]


def _berlin():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")
