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
