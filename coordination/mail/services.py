"""Queueing mails in the outbox and delivering them over SMTP with retries.

Queueing happens inside the caller's transaction: a rolled-back change sends nothing, and a
committed one cannot lose its mail. Delivery (``flask outbox run``) is a separate job.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from coordination.db import utcnow
from coordination.extensions import db
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.urls import external_url

log = logging.getLogger(__name__)


def _one_line(value: str) -> str:
    """Header values never contain line breaks (no header injection through titles or names)."""
    return " ".join(str(value).split())


def queue_mail(
    *,
    recipient: str,
    locale: str,
    subject: Any,
    template: str,
    url_endpoint: tuple[str, dict[str, Any]] | None = None,
    dedupe_key: str | None = None,
    calendar: tuple[str, str] | None = None,
    unsubscribe_url: str | None = None,
    topic: str | None = None,
    meeting_id: int | None = None,
    **context: Any,
) -> OutboxMessage | None:
    """Render ``template``.txt/.html in ``locale`` and add one mail for ``recipient``.

    ``subject`` may be a lazy string; it is translated in the recipient's language.
    ``url_endpoint`` is an (endpoint, values) pair turned into an absolute link as ``url``.
    With a ``dedupe_key`` that was queued before, nothing is added and ``None`` returned.
    ``calendar`` is a (METHOD, iCalendar text) pair sent as an iTIP invitation part;
    ``unsubscribe_url`` (non-essential mail) becomes the List-Unsubscribe header and is passed
    to the templates. ``topic`` and ``meeting_id`` label the mail, e.g. to withdraw reminders.
    """
    if dedupe_key is not None and db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    if url_endpoint is not None:
        endpoint, values = url_endpoint
        context["url"] = external_url(endpoint, **values)
    context.setdefault("network_name", current_app.config["NETWORK_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"])
    context["unsubscribe_url"] = unsubscribe_url
    with force_locale(str(locale)):
        rendered_subject = _one_line(str(subject))
        context["subject"] = rendered_subject
        body_text = render_template(f"{template}.txt", **context)
        body_html = render_template(f"{template}.html", **context)
    domain = current_app.config["SERVER_NAME_FOR_LINKS"].split(":")[0] or "localhost"
    message = OutboxMessage(
        recipient=_one_line(recipient),
        subject=rendered_subject[:300],
        body_text=body_text,
        body_html=body_html,
        message_id=make_msgid(domain=domain),
        dedupe_key=dedupe_key,
        calendar_method=None if calendar is None else calendar[0],
        calendar_body=None if calendar is None else calendar[1],
        unsubscribe_url=None if unsubscribe_url is None else _one_line(unsubscribe_url),
        topic=topic,
        meeting_id=meeting_id,
    )
    if dedupe_key is None:
        db.session.add(message)
        db.session.flush()
    else:
        # A concurrent request may queue the same logical mail; the unique key decides, and
        # only this savepoint (not the caller's transaction) is rolled back for the loser.
        try:
            with db.session.begin_nested():
                db.session.add(message)
        except IntegrityError:
            return None
    log.info("mail %s queued (%s)", message.id, template)
    return message


class _VerbatimHeader(UnstructuredHeader):
    """A header written as it is, on one line (up to 998 octets, RFC 5322 §2.1.1).

    The standard folding turns a URL longer than a line into RFC 2047 encoded words, and mail
    clients then see no List-Unsubscribe link. Values are one line already (``_one_line``).
    """

    def fold(self, *, policy: Any) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _mail_policy() -> EmailPolicy:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _VerbatimHeader)
    return default_policy.clone(header_factory=registry)


_POLICY = _mail_policy()


def build_email(message: OutboxMessage) -> EmailMessage:
    """The MIME message. With an invitation (research/calendar.md §7), the layout is
    multipart/mixed: multipart/alternative (text, HTML, ``text/calendar; method=…``) and the
    same calendar as an ``invite.ics`` attachment; the METHOD in the MIME type and in the
    calendar agree, as Outlook insists."""
    email = EmailMessage(policy=_POLICY)
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients show "unsubscribe" and POST to it in one click.
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    if message.calendar_method and message.calendar_body:
        # Bytes, so the calendar's CRLF line ends survive the transfer encoding.
        body = message.calendar_body.encode("utf-8")
        email.add_alternative(
            body,
            maintype="text",
            subtype="calendar",
            cte="base64",
            params={"charset": "utf-8", "method": _one_line(message.calendar_method)},
        )
        email.add_attachment(body, maintype="application", subtype="ics", filename="invite.ics")
    return email


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx); retrying will not help."""


def _connect() -> smtplib.SMTP:
    config = current_app.config
    timeout = config["MAIL_TIMEOUT"]
    smtp: smtplib.SMTP
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout,
            context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    try:
        if not config["MAIL_USE_SSL"] and config["MAIL_USE_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


class SMTPSession:
    """One SMTP connection for a whole delivery run, opened on first use.

    A run of 100 invitations then costs one TCP/TLS handshake and login instead of 100.
    After any failure other than a refused recipient the connection is dropped and the next
    mail opens a new one, so one broken conversation cannot spoil the rest of the run.
    """

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage, recipient: str) -> None:
        if self._smtp is None:
            self._smtp = _connect()
        try:
            self._smtp.send_message(email, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            # smtplib has reset the transaction; the connection serves the next mail.
            codes = [code for code, _ in error.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes[0]})") from error
            raise
        except BaseException:
            # A refused sender, refused DATA or a broken connection: the relay's state is
            # unknown, so start afresh. These are retried (and shown to admins), not failed.
            self.close()
            raise

    def close(self) -> None:
        """End the conversation. The server has accepted every mail sent so far, so a failing
        QUIT must not turn into a retry (that would send a mail twice)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


class DeliveryUnavailable(Exception):
    """Delivery is not possible with this configuration; the mail stays queued."""


def _deliver(email: EmailMessage, recipient: str, session: SMTPSession) -> None:
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "log":
        if current_app.config.get("IS_PRODUCTION"):
            raise DeliveryUnavailable("MAIL_BACKEND=log is for development; set MAIL_SERVER")
        log.info("development mail (not sent):\n%s", email.as_string())
        return
    session.send(email, recipient)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _claim_due(limit: int) -> tuple[list[int], datetime]:
    """Lease up to ``limit`` due mails to this worker, committing the lease at once.

    Returns the ids and the lease's end, which doubles as this worker's claim ticket.
    """
    now = utcnow()
    lease_until = now + current_app.config["OUTBOX_LEASE"]
    query = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(locked_until=lease_until)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids, lease_until


def _renew_lease(message_id: int, claimed_until: datetime) -> bool:
    """Extend our lease on one mail right before sending it, if it is still ours.

    A long batch (slow or unreachable server) can outlive the lease; another worker may then
    have leased the mail itself. Only the holder of the exact lease sends, so no mail goes
    out twice.
    """
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.locked_until == claimed_until,
        )
        .values(locked_until=utcnow() + current_app.config["OUTBOX_LEASE"])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_due(limit: int | None = None) -> DeliveryReport:
    """Send every due mail once. Each result is committed on its own, so a crash loses nothing.

    Temporary failures (connection refused, 4xx, a configuration that cannot deliver, an
    unexpected error with one mail) are retried with growing delays (``OUTBOX_BACKOFF``);
    after the last delay, or on a permanent 5xx refusal, the mail is marked ``failed`` and
    shown to admins.
    """
    report = DeliveryReport()
    backoff = current_app.config["OUTBOX_BACKOFF"]
    ids, claimed_until = _claim_due(limit or current_app.config["OUTBOX_BATCH_SIZE"])
    session = SMTPSession()
    try:
        for message_id in ids:
            if not _renew_lease(message_id, claimed_until):
                log.info("mail %s was taken over by another worker; skipped", message_id)
                continue
            message = db.session.get(OutboxMessage, message_id)
            if message is None:
                continue
            recipient = message.recipient
            error: str | None = None
            permanent = False
            try:
                email = build_email(message)
                db.session.commit()  # no transaction (nor SQLite's write lock) is held while sending
                _deliver(email, recipient, session)
            except PermanentFailure as failure:
                error, permanent = str(failure), True
            except (smtplib.SMTPException, OSError, DeliveryUnavailable) as failure:
                error = f"{type(failure).__name__}: {failure}"
            except Exception as failure:  # one broken mail must not stop (or block) the queue
                log.exception("mail %s could not be delivered", message_id)
                error = f"{type(failure).__name__}: {failure}"
            db.session.rollback()  # end any transaction left open by a failure above
            message.attempts += 1
            message.locked_until = None
            if error is None:
                message.status = OutboxStatus.SENT
                message.sent_at = utcnow()
                message.last_error = ""
                report.sent.append(message.id)
                log.info("mail %s sent", message.id)
            elif permanent or message.attempts > len(backoff):
                message.status = OutboxStatus.FAILED
                message.last_error = error[:500]
                report.failed.append(message.id)
                log.warning(
                    "mail %s failed for good after %s attempts", message.id, message.attempts
                )
            else:
                delay = backoff[message.attempts - 1]
                message.next_attempt_at = utcnow() + timedelta(seconds=delay)
                message.last_error = error[:500]
                report.retrying.append(message.id)
                log.warning(
                    "mail %s attempt %s failed; retry in %ss: %s",
                    message.id,
                    message.attempts,
                    delay,
                    error,
                )
            db.session.commit()
    finally:
        session.close()
    return report


def retry(message: OutboxMessage) -> None:
    """Put a failed mail back in the queue, due now (an admin's decision)."""
    message.status = OutboxStatus.PENDING
    message.next_attempt_at = utcnow()
    message.attempts = 0  # a fresh series of attempts, with the whole backoff
    # ``locked_until`` is left alone: a worker may be sending this very mail right now, and
    # clearing its lease would let a second worker send it again. A lease of a failed mail
    # is already cleared, and one of a crashed worker runs out by itself.
    db.session.flush()


def outbox_summary() -> dict[OutboxStatus, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count(OutboxMessage.id)).group_by(
            OutboxMessage.status
        )
    )
    counts = {status: 0 for status in OutboxStatus}
    for status, count in rows:
        counts[OutboxStatus(status)] = count
    return counts
