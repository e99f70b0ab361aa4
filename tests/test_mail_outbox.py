"""The mail outbox: transactional queueing, delivery to a real SMTP server, retries, admin UI.

Mails go to the ``smtp_server`` fixture (aiosmtpd on 127.0.0.1). ``deliver_due()`` commits
after each step; inside the ``app`` fixture those commits are SAVEPOINT releases, so every
test still starts from an empty outbox.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail import services
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.mail.services import deliver_due, queue_mail
from tests.conftest import SMTPRecorder, free_port

RESET_LINK = "https://knotenpunkt.test/auth/reset/abc"
INVITE_LINK = re.compile(r"https://knotenpunkt\.test/auth/invite/([A-Za-z0-9_\-]+)")


# --- helpers ---------------------------------------------------------------------------------


def _queue(
    app: Flask,
    recipient: str = "ada@example.org",
    *,
    subject: str = "Reset your password",
    locale: str = "en",
    token: str = "abc",
    dedupe_key: str | None = None,
) -> int | None:
    """Queue one password-reset mail and commit it; return its id (None if deduplicated)."""
    with app.test_request_context():
        message = queue_mail(
            recipient=recipient,
            locale=locale,
            subject=subject,
            template="mail/password_reset",
            url_endpoint=("auth.reset_password", {"token": token}),
            dedupe_key=dedupe_key,
            user_name="Ada Lovelace",
            expires_at=utcnow() + timedelta(hours=2),
        )
        message_id = None if message is None else message.id
        db.session.commit()
    return message_id


def _row(app: Flask, message_id: int) -> OutboxMessage:
    """The row as stored now, detached from any session."""
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert message is not None
        db.session.expunge(message)
    return message


def _rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for message in messages:
            db.session.expunge(message)
    return list(messages)


def _deliver(app: Flask, **config: Any) -> services.DeliveryReport:
    with app.app_context():
        app.config.update(config)
        return deliver_due()


def _set(app: Flask, message_id: int, **values: Any) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
        )
        db.session.commit()


def _make_due(app: Flask, message_id: int) -> None:
    _set(app, message_id, next_attempt_at=utcnow() - timedelta(seconds=1))


def _down_config(smtp_config: dict[str, Any]) -> dict[str, Any]:
    """Like ``smtp_config`` but pointing at a port where nothing listens."""
    return {**smtp_config, "MAIL_PORT": free_port()}


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    assert part.get_content_type() == f"text/{subtype}"
    return part.get_content()


def _header_text(message: EmailMessage) -> str:
    return "\n".join(f"{name}: {value}" for name, value in message.items())


# --- 1. queueing is part of the caller's transaction ----------------------------------------


def test_rolled_back_mail_leaves_no_row_and_committed_mail_one_pending_row(app):
    expires_at = utcnow() + timedelta(hours=2)
    arguments = dict(
        recipient="ada@example.org",
        locale="en",
        subject="Reset your password",
        template="mail/password_reset",
        url_endpoint=("auth.reset_password", {"token": "abc"}),
        user_name="Ada Lovelace",
        expires_at=expires_at,
    )
    with app.test_request_context():
        queue_mail(**arguments)
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0

        queued = queue_mail(**arguments)
        assert queued is not None
        db.session.commit()

    rows = _rows(app)
    assert len(rows) == 1
    assert rows[0].status is OutboxStatus.PENDING
    assert rows[0].recipient == "ada@example.org"
    assert rows[0].attempts == 0
    assert rows[0].sent_at is None
    assert rows[0].next_attempt_at <= utcnow()


def test_reset_request_through_the_form_queues_one_mail_and_unknown_address_none(
    app, client, users
):
    assert client.post("/auth/reset", data={"email": "nobody@example.org"}).status_code == 303
    assert _rows(app) == []

    assert client.post("/auth/reset", data={"email": "member@example.org"}).status_code == 303
    rows = _rows(app)
    assert [row.recipient for row in rows] == ["member@example.org"]
    assert rows[0].status is OutboxStatus.PENDING
    assert re.search(r"https://knotenpunkt\.test/auth/reset/\S+", rows[0].body_text)


# --- 2. delivery to a real SMTP server ------------------------------------------------------


def test_due_mail_is_delivered_over_smtp_with_headers_parts_and_absolute_link(
    app, smtp_server, smtp_config
):
    message_id = _queue(app, "ada@example.org")
    before = utcnow()

    report = _deliver(app, **smtp_config)

    assert report.sent == [message_id]
    assert report.retrying == report.failed == []
    assert len(smtp_server.envelopes) == 1
    mail_from, recipients, mail = smtp_server.envelopes[0]
    assert recipients == ["ada@example.org"]
    assert mail_from == "noreply@knotenpunkt.test"
    assert mail["To"] == "ada@example.org"
    assert mail["From"] == "Knotenpunkt <noreply@knotenpunkt.test>"
    assert mail["Subject"] == "Reset your password"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    text, html = _part(mail, "plain"), _part(mail, "html")
    assert RESET_LINK in text
    assert f'href="{RESET_LINK}"' in html
    assert "Ada Lovelace" in text
    assert '<html lang="en">' in html

    row = _row(app, message_id)
    assert mail["Message-ID"] == row.message_id
    assert row.message_id.endswith("@knotenpunkt.test>")
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None and before <= row.sent_at <= utcnow()
    assert row.last_error == ""
    assert row.locked_until is None


def test_each_recipient_gets_an_own_transaction_and_sees_no_other_address(
    app, smtp_server, smtp_config
):
    recipients = ["ada@example.org", "bob@example.net", "chioma@example.com"]
    for recipient in recipients:
        _queue(app, recipient)

    report = _deliver(app, **smtp_config)

    assert len(report.sent) == 3
    assert sorted(rcpts[0] for _, rcpts, _ in smtp_server.envelopes) == sorted(recipients)
    for _, rcpts, mail in smtp_server.envelopes:
        assert len(rcpts) == 1
        assert mail["To"] == rcpts[0]
        headers = _header_text(mail)
        for other in recipients:
            if other != rcpts[0]:
                assert other not in headers
                assert other not in mail.as_string()
        assert "Cc" not in mail and "Bcc" not in mail
    assert len({mail["Message-ID"] for mail in smtp_server.messages}) == 3


# --- 3. temporary failures, retries and giving up -------------------------------------------


def test_server_down_keeps_mail_pending_and_retries_after_backoff(app, smtp_server, smtp_config):
    message_id = _queue(app)
    first_delay = app.config["OUTBOX_BACKOFF"][0]
    before = utcnow()

    report = _deliver(app, **_down_config(smtp_config))

    after = utcnow()
    assert report.retrying == [message_id]
    assert report.sent == report.failed == []
    row = _row(app, message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError")
    assert row.locked_until is None
    assert (
        before + timedelta(seconds=first_delay)
        <= row.next_attempt_at
        <= after + timedelta(seconds=first_delay)
    )

    # Not due yet: a run right away leaves it alone, even with the server back up.
    report = _deliver(app, **smtp_config)
    assert report.sent == report.retrying == report.failed == []
    assert smtp_server.messages == []
    assert _row(app, message_id).attempts == 1

    _make_due(app, message_id)
    report = _deliver(app, **smtp_config)
    assert report.sent == [message_id]
    assert len(smtp_server.messages) == 1
    row = _row(app, message_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert smtp_server.messages[0]["Message-ID"] == row.message_id

    _make_due(app, message_id)
    assert _deliver(app, **smtp_config).sent == []
    assert len(smtp_server.messages) == 1


def test_mail_fails_for_good_after_the_last_backoff_step(app, smtp_config):
    message_id = _queue(app)
    config = {**_down_config(smtp_config), "OUTBOX_BACKOFF": (1, 1)}

    for attempt in (1, 2):
        report = _deliver(app, **config)
        assert report.retrying == [message_id]
        row = _row(app, message_id)
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == attempt
        _make_due(app, message_id)

    report = _deliver(app, **config)
    assert report.failed == [message_id]
    row = _row(app, message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == 3
    assert row.last_error
    assert row.sent_at is None

    # A failed mail is not picked up again by later runs.
    _make_due(app, message_id)
    assert _deliver(app, **config).failed == []
    assert _row(app, message_id).attempts == 3


def test_permanent_refusal_fails_at_once_without_retry(app, smtp_server, smtp_config):
    smtp_server.refuse = True
    message_id = _queue(app)

    report = _deliver(app, **smtp_config)

    assert report.failed == [message_id]
    assert report.retrying == []
    assert smtp_server.envelopes == []
    row = _row(app, message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == 1
    assert "550" in row.last_error
    assert row.sent_at is None


def test_temporary_failure_of_one_mail_does_not_hold_up_the_others(
    app, smtp_server, smtp_config, monkeypatch
):
    broken = _queue(app, "broken@example.org")
    fine = _queue(app, "fine@example.org")
    real_build_email = services.build_email

    def build_email(message: OutboxMessage) -> EmailMessage:
        if message.recipient == "broken@example.org":
            raise ValueError("cannot render this mail")
        return real_build_email(message)

    monkeypatch.setattr(services, "build_email", build_email)

    report = _deliver(app, **smtp_config)

    assert report.sent == [fine]
    assert report.retrying == [broken]
    assert [rcpts for _, rcpts, _ in smtp_server.envelopes] == [["fine@example.org"]]
    row = _row(app, broken)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert "cannot render this mail" in row.last_error
    assert row.locked_until is None
    assert row.next_attempt_at > utcnow()


# --- 4. no duplicates -----------------------------------------------------------------------


def test_running_delivery_twice_sends_once(app, smtp_server, smtp_config):
    message_id = _queue(app)

    assert _deliver(app, **smtp_config).sent == [message_id]
    assert _deliver(app, **smtp_config).sent == []

    assert len(smtp_server.messages) == 1
    assert _row(app, message_id).attempts == 1


def test_mail_leased_by_another_worker_is_not_picked_up_until_the_lease_ends(
    app, smtp_server, smtp_config
):
    message_id = _queue(app)
    _set(app, message_id, locked_until=utcnow() + timedelta(minutes=5))

    report = _deliver(app, **smtp_config)

    assert report.sent == report.retrying == report.failed == []
    assert smtp_server.messages == []
    assert _row(app, message_id).attempts == 0

    # The worker crashed: once its lease has run out, the mail is delivered.
    _set(app, message_id, locked_until=utcnow() - timedelta(seconds=1))
    assert _deliver(app, **smtp_config).sent == [message_id]
    assert len(smtp_server.messages) == 1


def test_mail_taken_over_by_another_worker_after_claiming_is_not_sent_again(
    app, smtp_server, smtp_config, monkeypatch
):
    """Our lease ran out (a slow batch) and another worker leased the mail: we must skip it."""
    message_id = _queue(app)
    real_claim = services._claim_due

    def claim_then_lose_lease(*args: Any, **kwargs: Any) -> Any:
        claimed = real_claim(*args, **kwargs)
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(locked_until=utcnow() + timedelta(minutes=7))
        )
        db.session.commit()
        return claimed

    monkeypatch.setattr(services, "_claim_due", claim_then_lose_lease)

    report = _deliver(app, **smtp_config)

    assert report.sent == []
    assert smtp_server.messages == []
    row = _row(app, message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 0


def test_dedupe_key_queues_a_logical_mail_only_once(app):
    first = _queue(app, dedupe_key="reset:42")
    assert first is not None
    assert _queue(app, dedupe_key="reset:42") is None
    assert [row.id for row in _rows(app)] == [first]
    # Another key (or none) is queued normally.
    assert _queue(app, dedupe_key="reset:43") is not None
    assert _queue(app) is not None
    assert len(_rows(app)) == 3


def test_duplicate_dedupe_key_keeps_the_callers_transaction_usable(app):
    """The losing insert of a race is undone alone; the caller's other work is kept."""
    from coordination.organizations.models import Organization, OrganizationKind

    first = _queue(app, dedupe_key="invite:7")
    with app.test_request_context():
        db.session.add(Organization(name="Kept", slug="kept", kind=OrganizationKind.OTHER))
        # Simulate the race: the pre-check saw no row, the unique key refuses the insert.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(db.session, "scalar", lambda *args, **kwargs: None)
            again = queue_mail(
                recipient="x@example.org", locale="de", subject="s", template="mail/password_reset",
                url_endpoint=("auth.reset_password", {"token": "t"}), dedupe_key="invite:7",
                user_name="X", expires_at=utcnow(),
            )  # fmt: skip
        assert again is None
        db.session.commit()
    with app.app_context():
        assert db.session.scalar(sa.select(Organization.name)) == "Kept"
    assert [row.id for row in _rows(app)] == [first]


class _PickySender(SMTPRecorder):
    """Refuses the envelope sender, as a misconfigured relay would."""

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: E501
        return "553 5.7.1 sender not allowed"


def test_a_refused_sender_is_retried_not_failed(app, smtp_config):
    """A relay configuration problem must not fail every queued mail at once."""
    from aiosmtpd.controller import Controller

    recorder = _PickySender(port=free_port())
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    try:
        message_id = _queue(app)
        report = _deliver(app, **{**smtp_config, "MAIL_PORT": recorder.port})
    finally:
        controller.stop()
    assert report.retrying == [message_id]
    row = _row(app, message_id)
    assert row.status is OutboxStatus.PENDING
    assert "553" in row.last_error


class _RudeGoodbye(SMTPRecorder):
    """Accepts the mail, then answers QUIT with an error (seen with some relays)."""

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return "421 4.3.0 closing, try later"


@pytest.fixture
def rude_smtp_server():
    from aiosmtpd.controller import Controller

    recorder = _RudeGoodbye(port=free_port())
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    yield recorder
    controller.stop()


def test_mail_accepted_by_the_server_counts_as_sent_even_if_quit_fails(
    app, rude_smtp_server, smtp_config
):
    message_id = _queue(app)
    config = {**smtp_config, "MAIL_PORT": rude_smtp_server.port}

    report = _deliver(app, **config)

    assert report.sent == [message_id]
    assert _row(app, message_id).status is OutboxStatus.SENT
    _make_due(app, message_id)
    _deliver(app, **config)
    assert len(rude_smtp_server.messages) == 1


# --- 5. header injection --------------------------------------------------------------------


def test_line_breaks_in_the_subject_cannot_inject_headers(app, smtp_server, smtp_config):
    message_id = _queue(app, "ada@example.org", subject="Hello\r\nBcc: victim@example.org")

    assert _deliver(app, **smtp_config).sent == [message_id]

    assert len(smtp_server.envelopes) == 1
    _, recipients, mail = smtp_server.envelopes[0]
    assert recipients == ["ada@example.org"]
    assert mail["Subject"] == "Hello Bcc: victim@example.org"
    assert "Bcc" not in mail
    assert len(mail.get_all("Subject")) == 1
    assert len(mail.get_all("To")) == 1
    assert "victim@example.org" not in mail["To"]


# --- 6. the command line --------------------------------------------------------------------


def test_outbox_run_command_delivers_and_prints_counts(app, runner, smtp_server, smtp_config):
    _queue(app, "ada@example.org")
    _queue(app, "bob@example.org")
    app.config.update(smtp_config)

    result = runner.invoke(args=["outbox", "run"])

    assert result.exit_code == 0, result.output
    assert "sent 2, retry later 0, failed 0" in result.output
    assert sorted(rcpts[0] for _, rcpts, _ in smtp_server.envelopes) == [
        "ada@example.org",
        "bob@example.org",
    ]
    result = runner.invoke(args=["outbox", "run"])
    assert "sent 0, retry later 0, failed 0" in result.output
    assert len(smtp_server.messages) == 2


def test_one_delivery_run_uses_one_smtp_conversation(app, smtp_server, smtp_config):
    """A run of many mails (an invitation to the whole network) opens one connection."""
    for number in range(3):
        _queue(app, f"person{number}@example.org")

    report = _deliver(app, **smtp_config)

    assert len(report.sent) == 3
    assert sorted(message["To"] for message in smtp_server.messages) == [
        "person0@example.org",
        "person1@example.org",
        "person2@example.org",
    ]
    assert smtp_server.conversations == 1


def test_a_refused_recipient_does_not_stop_the_rest_of_the_run(app, smtp_server, smtp_config):
    first = _queue(app, "gone@example.org")
    second = _queue(app, "here@example.org")
    smtp_server.refuse = True
    with app.app_context():
        # Only the first mail is refused: the server accepts again right after it.
        original = services.SMTPSession.send

        def send_once_refused(session, email, recipient):
            try:
                original(session, email, recipient)
            finally:
                smtp_server.refuse = False

        services.SMTPSession.send = send_once_refused
        try:
            app.config.update(smtp_config)
            report = deliver_due()
        finally:
            services.SMTPSession.send = original

    assert report.failed == [first] and report.sent == [second]
    assert [message["To"] for message in smtp_server.messages] == ["here@example.org"]
    assert smtp_server.conversations == 1  # the refusal kept the connection usable


def test_outbox_run_command_reports_retries_when_the_server_is_down(app, runner, smtp_config):
    _queue(app)
    app.config.update(_down_config(smtp_config))

    result = runner.invoke(args=["outbox", "run", "--limit", "5"])

    assert result.exit_code == 0, result.output
    assert "sent 0, retry later 1, failed 0" in result.output


def test_outbox_status_command_counts_per_state(app, runner):
    _queue(app, "a@example.org")
    _queue(app, "b@example.org")
    sent = _queue(app, "c@example.org")
    failed = _queue(app, "d@example.org")
    _set(app, sent, status=OutboxStatus.SENT, sent_at=utcnow())
    _set(app, failed, status=OutboxStatus.FAILED)

    result = runner.invoke(args=["outbox", "status"])

    assert result.exit_code == 0, result.output
    counts = dict(line.split() for line in result.output.strip().splitlines())
    assert counts == {"pending": "2", "sent": "1", "failed": "1", "withdrawn": "0"}


# --- 7. the admin page ----------------------------------------------------------------------


def _failed_mail(app: Flask, recipient: str = "lost@example.org") -> int:
    message_id = _queue(app, recipient)
    _set(
        app,
        message_id,
        status=OutboxStatus.FAILED,
        attempts=7,
        last_error="SMTPRecipientsRefused: 550",
        next_attempt_at=utcnow() - timedelta(days=1),
    )
    return message_id


def test_admin_sees_failed_mails(app, users, login):
    _failed_mail(app, "lost@example.org")
    _queue(app, "waiting@example.org")

    response = login(users["admin"]).get("/admin/outbox/?status=failed")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "lost@example.org" in page
    assert "waiting@example.org" not in page


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_outbox_page_is_forbidden_for_non_admins(app, users, login, role):
    message_id = _failed_mail(app)
    user = login(users[role])
    assert user.get("/admin/outbox/?status=failed").status_code == 403
    assert user.post(f"/admin/outbox/{message_id}/retry").status_code == 403
    assert _row(app, message_id).status is OutboxStatus.FAILED


def test_outbox_page_sends_anonymous_visitors_to_login(app, client):
    message_id = _failed_mail(app)
    response = client.get("/admin/outbox/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    response = client.post(f"/admin/outbox/{message_id}/retry")
    assert response.status_code == 302
    assert _row(app, message_id).status is OutboxStatus.FAILED


def test_admin_retry_puts_a_failed_mail_back_in_the_queue(
    app, users, login, smtp_server, smtp_config
):
    message_id = _failed_mail(app)

    response = login(users["admin"]).post(f"/admin/outbox/{message_id}/retry")

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/outbox/"
    row = _row(app, message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.next_attempt_at <= utcnow()
    assert row.locked_until is None
    assert row.attempts == 0  # a fresh series of attempts with the whole backoff

    assert _deliver(app, **smtp_config).sent == [message_id]
    assert [rcpts for _, rcpts, _ in smtp_server.envelopes] == [["lost@example.org"]]


def test_admin_retry_of_a_sent_mail_changes_nothing(app, users, login):
    message_id = _queue(app)
    sent_at = utcnow() - timedelta(hours=1)
    _set(app, message_id, status=OutboxStatus.SENT, sent_at=sent_at, attempts=1)

    response = login(users["admin"]).post(f"/admin/outbox/{message_id}/retry")

    assert response.status_code == 303
    row = _row(app, message_id)
    assert row.status is OutboxStatus.SENT
    assert row.sent_at == sent_at


def test_admin_retry_of_a_withdrawn_reminder_keeps_it_unsent(app, users, login, smtp_server):
    """A reminder taken back because its meeting was cancelled must not go out after all."""
    message_id = _queue(app)
    _set(app, message_id, status=OutboxStatus.WITHDRAWN)

    response = login(users["admin"]).post(f"/admin/outbox/{message_id}/retry")

    assert response.status_code == 303
    assert _row(app, message_id).status is OutboxStatus.WITHDRAWN
    assert _deliver(app).sent == []
    assert smtp_server.messages == []


def test_admin_retry_of_a_mail_being_sent_keeps_the_workers_lease(app, users, login):
    message_id = _queue(app)
    lease = utcnow() + timedelta(minutes=4)
    _set(app, message_id, locked_until=lease)

    assert login(users["admin"]).post(f"/admin/outbox/{message_id}/retry").status_code == 303

    assert _row(app, message_id).locked_until == lease


def test_admin_retry_of_an_unknown_mail_is_404(app, users, login):
    assert login(users["admin"]).post("/admin/outbox/999999/retry").status_code == 404


# --- 8. end to end: an invitation -----------------------------------------------------------


def test_invitation_mail_reaches_the_invitee_in_english_with_a_working_link(
    app, client, users, login, smtp_server, smtp_config
):
    response = login(users["admin"]).post(
        "/admin/invitations/",
        data={
            "email": "Newcomer@Example.org",
            "role": "member",
            "locale": "en",
            "organization": "0",
        },
    )
    assert response.status_code == 303
    assert [row.recipient for row in _rows(app)] == ["newcomer@example.org"]

    report = _deliver(app, **smtp_config)

    assert len(report.sent) == 1
    assert len(smtp_server.envelopes) == 1
    _, recipients, mail = smtp_server.envelopes[0]
    assert recipients == ["newcomer@example.org"]
    assert mail["To"] == "newcomer@example.org"
    assert mail["Subject"] == f"Your invitation to {app.config['NETWORK_NAME']}"
    text, html = _part(mail, "plain"), _part(mail, "html")
    assert "Ada Admin invites you to Knotenpunkt" in text
    assert '<html lang="en">' in html
    link = INVITE_LINK.search(text)
    assert link is not None
    assert f'href="{link.group(0)}"' in html

    path = link.group(0).removeprefix("https://knotenpunkt.test")
    assert path.startswith("/auth/invite/")
    assert client.get(path).status_code == 200
    assert client.get(path + "x").status_code == 404


# --- 9. the development "log" backend -------------------------------------------------------


def test_log_backend_marks_mails_sent_without_smtp(app, smtp_server, smtp_config, caplog):
    message_id = _queue(app)
    config = {**smtp_config, "MAIL_BACKEND": "log"}

    with caplog.at_level("INFO", logger="coordination.mail.services"):
        report = _deliver(app, **config)

    assert report.sent == [message_id]
    assert smtp_server.envelopes == []
    row = _row(app, message_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1
    assert RESET_LINK in caplog.text


def test_log_backend_in_production_keeps_mails_pending_with_an_error(app, smtp_server, smtp_config):
    first = _queue(app, "ada@example.org")
    second = _queue(app, "bob@example.org")
    app.config["IS_PRODUCTION"] = True

    report = _deliver(app, **{**smtp_config, "MAIL_BACKEND": "log"})

    assert report.sent == report.failed == []
    assert sorted(report.retrying) == sorted([first, second])
    assert smtp_server.envelopes == []
    for message_id in (first, second):
        row = _row(app, message_id)
        assert row.status is OutboxStatus.PENDING
        assert row.sent_at is None
        assert "MAIL_BACKEND" in row.last_error
        assert row.locked_until is None

    # Once the server is configured, the mails go out.
    for message_id in (first, second):
        _make_due(app, message_id)
    assert len(_deliver(app, **smtp_config).sent) == 2
    assert sorted(rcpts[0] for _, rcpts, _ in smtp_server.envelopes) == [
        "ada@example.org",
        "bob@example.org",
    ]
