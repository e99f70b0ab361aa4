"""Command-line interface: `flask seed-demo`, `flask create-user`, `flask outbox run`,
`flask notifications run` and `flask meetings extend`."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from coordination.extensions import db
from coordination.meetings.cli import meetings as meetings_cli
from coordination.notifications.cli import notifications as notifications_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(outbox)
    app.cli.add_command(meetings_cli)
    app.cli.add_command(notifications_cli)


@click.command("seed-demo")
@with_appcontext
@click.option(
    "--password",
    default="knotenpunkt-demo",
    show_default=True,
    help="Password for every demo account.",
)
@click.option("--force", is_flag=True, help="Erase ALL data first, then seed.")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Seed only if there are no accounts; otherwise do nothing and exit 0.",
)
def seed_demo(password: str, force: bool, if_empty: bool) -> None:
    """Fill the database with a realistic demo network of Leipzig initiatives."""
    from coordination import demo
    from coordination.auth.services import user_count

    if user_count() > 0 and not force:
        if if_empty:
            click.echo("The database has accounts already; demo data not loaded.")
            return
        raise click.ClickException(
            "The database has accounts already. Use --force to erase everything and reseed."
        )
    if force:
        demo.erase_all()
    accounts = demo.seed(password=password)
    db.session.commit()
    click.echo(f"Demo network created. Accounts (password: {password}):")
    for email, role, name in accounts:
        click.echo(f"  {email:<28} {role:<10} {name}")


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "moderator", "member"]),
    default="member",
    show_default=True,
)
@click.option("--locale", type=click.Choice(["de", "en"]), default="de", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, name: str, role: str, locale: str, password_stdin: bool) -> None:
    """Create an account (prompts for the password)."""
    from coordination.auth import services
    from coordination.auth.models import Locale, Role

    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise click.ClickException(f"Invalid email address: {error}") from error
    name = name.strip()
    if not name or len(name) > 120 or "\x00" in name:
        raise click.ClickException("The name must have 1 to 120 characters.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum or len(password) > 256:
        raise click.ClickException(f"The password must have {minimum} to 256 characters.")
    try:
        user = services.create_user(
            email=email, name=name, password=password, role=Role(role), locale=Locale(locale)
        )
    except services.EmailTaken as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {role} account {user.email} (id {user.id}).")


outbox = AppGroup("outbox", help="The outgoing-mail queue.")


@outbox.command("run")
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=None,
    help="Send at most this many mails in this run.",
)
def outbox_run(limit: int | None) -> None:
    """Deliver due mails once (run it every minute from cron or a systemd timer)."""
    from coordination.mail.services import deliver_due

    report = deliver_due(limit)
    click.echo(
        f"sent {len(report.sent)}, retry later {len(report.retrying)}, failed {len(report.failed)}"
    )


@outbox.command("status")
def outbox_status() -> None:
    """Count mails per state."""
    from coordination.mail.services import outbox_summary

    for status, count in outbox_summary().items():
        click.echo(f"{status.value:<8} {count}")
