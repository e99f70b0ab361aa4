"""`flask meetings extend`: keep every open series generated 12 months ahead (run it daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from coordination.extensions import db

meetings = AppGroup("meetings", help="Meetings and meeting series.")


@meetings.command("extend")
def extend() -> None:
    """Generate the occurrences of every open series up to 12 months ahead (idempotent)."""
    from coordination.meetings.services import extend_all_series, horizon

    until = horizon()
    created = extend_all_series(until=until)
    db.session.commit()
    total = sum(created.values())
    click.echo(
        f"{total} meetings created in {len(created)} open series (up to {until.isoformat()})."
    )


@meetings.command("purge-guests")
@click.option(
    "--hours",
    type=click.IntRange(1, 24 * 365),
    default=48,
    show_default=True,
    help="Delete guest registrations left unconfirmed for longer than this.",
)
def purge_guests(hours: int) -> None:
    """Delete guest registrations whose email address was never confirmed (run it daily)."""
    from datetime import timedelta

    from coordination.registrations.services import purge_unconfirmed_guests

    count = purge_unconfirmed_guests(older_than=timedelta(hours=hours))
    db.session.commit()
    click.echo(f"{count} unconfirmed guest registrations deleted.")
