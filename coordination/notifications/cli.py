"""``flask notifications run``: everything that mails people on its own, for cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from coordination.extensions import db

notifications = AppGroup("notifications", help="Invitations, updates, reminders and digests.")


@notifications.command("run")
@click.option(
    "--no-deliver",
    is_flag=True,
    help="Only queue mails; leave sending to `flask outbox run`.",
)
def run(no_deliver: bool) -> None:
    """Queue invitations, updates, cancellations, reminders and digests, then send due mails.

    Safe to run every few minutes and to run twice: nothing is queued twice.
    """
    from coordination.mail.services import deliver_due
    from coordination.notifications import digest, invitations, reminders

    report = invitations.process()
    click.echo(f"meetings: {report}")
    counts = {
        "meeting reminders": reminders.queue_meeting_reminders(),
        "action reminders": reminders.queue_action_reminders(),
        "digests": digest.queue_digests(),
    }
    db.session.commit()
    click.echo(", ".join(f"{label}: {count} queued" for label, count in counts.items()))
    if no_deliver:
        return
    delivery = deliver_due()
    click.echo(
        f"mail: sent {len(delivery.sent)}, retry later {len(delivery.retrying)}, "
        f"failed {len(delivery.failed)}"
    )
