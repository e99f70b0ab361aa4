"""Benchmark of the notification job (issue #7): what inviting the whole network costs.

Seeds a temporary SQLite database with ``--members`` accounts and one public meeting, invites
everyone, and times, in-process:

1. the moderator's part: adding the audience (what the scheduling request does);
2. ``invitations.process()``: expanding the audience and queueing one iTIP mail per member;
3. ``deliver_due()``: sending them to a local aiosmtpd server over real SMTP;
4. after a change of the room: ``process()`` again (the update mails) and a second, idle run.

Absolute times move with the machine; the figures that matter are per-mail costs and that the
moderator's request does not grow with the audience. Run from the repository root::

    .venv/bin/python bench/notifications.py [--members 500]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        self.count += 1
        return "250 OK"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=500)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    workdir = Path(tempfile.mkdtemp(prefix="knotenpunkt-bench-"))
    port = _free_port()
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ.setdefault("KNOTENPUNKT_ENV", "development")

    from coordination import create_app
    from coordination.auth.models import Role, User
    from coordination.db import utcnow
    from coordination.extensions import db
    from coordination.mail.services import deliver_due
    from coordination.meetings import services as meetings
    from coordination.meetings.models import Meeting, Visibility
    from coordination.notifications import invitations

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite'}",
            "SECRET_KEY": "bench-" + "x" * 40,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_USE_STARTTLS": False,
            "OUTBOX_BATCH_SIZE": 100_000,
            "SERVER_NAME_FOR_LINKS": "knotenpunkt.test",
            "BASE_URL": "https://knotenpunkt.test",
        }
    )
    with app.app_context():
        db.create_all()
        moderator = User(email="mod@example.org", name="Mo", password_hash="x", role=Role.MODERATOR)
        db.session.add(moderator)
        for number in range(args.members):
            locale = "en" if number % 3 == 0 else "de"
            db.session.add(
                User(
                    email=f"member{number}@example.org",
                    name=f"Member {number}",
                    password_hash="x",
                    locale=locale,
                )
            )
        start = (utcnow() + timedelta(days=10)).replace(hour=16, minute=0, second=0)
        meeting = meetings.create_meeting(
            actor=None,
            title="Vernetzungstreffen",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            venue_name="VHS Leipzig",
            venue_address="Löhrstraße 3-7, 04105 Leipzig",
            visibility=Visibility.PUBLIC,
        )
        db.session.commit()
        meeting_id = meeting.id

        with app.test_request_context():
            began = time.perf_counter()
            invitations.add_audience(
                actor=moderator, meeting=db.session.get(Meeting, meeting_id), all_members=True
            )
            db.session.commit()
            audience_ms = (time.perf_counter() - began) * 1000

        began = time.perf_counter()
        report = invitations.process()
        process_s = time.perf_counter() - began
        queued = report.requests

        began = time.perf_counter()
        delivery = deliver_due()
        deliver_s = time.perf_counter() - began

        meeting = db.session.get(Meeting, meeting_id)
        meetings.update_meeting(meeting, actor=None, venue_name="VHS Leipzig, Raum 301")
        db.session.commit()
        began = time.perf_counter()
        updates = invitations.process()
        update_s = time.perf_counter() - began
        began = time.perf_counter()
        idle = invitations.process()
        idle_ms = (time.perf_counter() - began) * 1000

    controller.stop()
    # Everyone with an account is invited: the members and the moderator.
    print(f"accounts invited:                {args.members + 1}")
    print(f"moderator's request (audience):  {audience_ms:.1f} ms")
    print(
        f"queue invitations:               {process_s:.2f} s for {queued} mails "
        f"({process_s / max(queued, 1) * 1000:.2f} ms per mail)"
    )
    print(
        f"deliver over SMTP:               {deliver_s:.2f} s for {len(delivery.sent)} mails "
        f"({deliver_s / max(len(delivery.sent), 1) * 1000:.2f} ms per mail), "
        f"server received {sink.count}"
    )
    print(
        f"queue updates after a room change: {update_s:.2f} s for {updates.requests} mails "
        f"({update_s / max(updates.requests, 1) * 1000:.2f} ms per mail)"
    )
    print(f"idle run (nothing to do):        {idle_ms:.1f} ms, {idle.requests} mails")
    return 0 if sink.count == queued == args.members + 1 and idle.requests == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
