"""Shared fixtures: app, client, runner, model factories, a real SMTP server.

The schema is built once per run by the Alembic migrations. Each test runs inside an outer
transaction that is rolled back, so views may commit as in production (a commit releases a
SAVEPOINT). ``TEST_DATABASE_URL`` selects PostgreSQL; without it a SQLite file is used.
Tests that need real commits across threads use the ``committing_app`` fixture instead.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from coordination import create_app
from coordination.auth.models import Locale, Role, User, UserSession
from coordination.auth.services import SESSION_KEY, hash_password, new_token
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupMembership, WorkingGroup
from coordination.meetings.models import Meeting, MeetingKind, Visibility
from coordination.organizations.models import Organization, OrganizationKind

TEST_PASSWORD = "correct horse battery staple"


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Werkzeug's scrypt is deliberately slow; one test checks the production default.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "BASE_URL": "https://knotenpunkt.test",
        "PREFERRED_URL_SCHEME": "http",
        "SERVER_NAME_FOR_LINKS": "knotenpunkt.test",
        "MAIL_BACKEND": "log",
        "MAIL_DEFAULT_SENDER": "Knotenpunkt <noreply@knotenpunkt.test>",
    }
    config.update(overrides)
    return config


def _reset_database(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            tables = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type='table'")
            ).scalars()
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in list(tables):
                connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
    engine.dispose()


@contextmanager
def private_postgres_database(url: str) -> Iterator[str]:
    """A throw-away database next to ``url``, so concurrent test runs cannot collide.

    Falls back to ``url`` itself (its schema is reset) when the role may not create databases.
    """
    base = sa.make_url(url)
    name = f"{base.database}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.SQLAlchemyError:
        admin.dispose()
        yield url
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the schema once per run through the migrations (so they are tested too)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured and sa.make_url(configured).get_backend_name() == "postgresql":
        context = private_postgres_database(configured)
    else:
        context = nullcontext(
            configured or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        )
    with context as url:
        _reset_database(url)
        app = create_app(base_config(url))
        with app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A fresh app per test; everything it commits is rolled back afterwards."""
    app = create_app(base_config(database_url))
    with app.app_context():
        engines = db.engines
    monkeypatch.setitem(db.session.session_factory.kw, "join_transaction_mode", "create_savepoint")
    opened = []
    for key, engine in engines.items():
        connection = engine.connect()
        opened.append((engine, connection, connection.begin()))
        monkeypatch.setitem(engines, key, connection)
    yield app
    for engine, connection, transaction in opened:
        transaction.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def committing_app(database_url: str) -> Iterator[Flask]:
    """An app whose commits are real (for concurrency and browser tests); emptied afterwards."""
    app = create_app(base_config(database_url))
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


_sequence = itertools.count(1)


@pytest.fixture
def make_organization(app: Flask) -> Callable[..., Organization]:
    def _make(**kwargs: Any) -> Organization:
        number = next(_sequence)
        kwargs.setdefault("name", f"Initiative {number}")
        kwargs.setdefault("slug", f"initiative-{number}")
        kwargs.setdefault("kind", OrganizationKind.INITIATIVE)
        kwargs.setdefault("district", "Mitte")
        with app.app_context():
            organization = Organization(**kwargs)
            db.session.add(organization)
            db.session.commit()
            db.session.refresh(organization)
            db.session.expunge(organization)
        return organization

    return _make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create users; pass ``organizations=[org_id, ...]`` to make them members."""

    def _make(**kwargs: Any) -> User:
        number = next(_sequence)
        kwargs.setdefault("email", f"user{number}@example.org")
        kwargs.setdefault("name", f"User {number}")
        kwargs.setdefault("role", Role.MEMBER)
        kwargs.setdefault("locale", Locale.DE)
        password = kwargs.pop("password", TEST_PASSWORD)
        organization_ids = kwargs.pop("organizations", [])
        with app.app_context():
            user = User(password_hash=hash_password(password), **kwargs)
            if organization_ids:
                user.organizations = [db.session.get(Organization, i) for i in organization_ids]
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return _make


@pytest.fixture
def make_group(app: Flask) -> Callable[..., WorkingGroup]:
    """Create a working group; ``members={user_id: GroupRole}`` adds members."""

    def _make(**kwargs: Any) -> WorkingGroup:
        number = next(_sequence)
        kwargs.setdefault("name", f"AG {number}")
        kwargs.setdefault("slug", f"ag-{number}")
        kwargs.setdefault("confidentiality", Confidentiality.OPEN)
        members = kwargs.pop("members", {})
        with app.app_context():
            group = WorkingGroup(**kwargs)
            db.session.add(group)
            db.session.flush()
            for user_id, role in members.items():
                db.session.add(GroupMembership(group_id=group.id, user_id=user_id, role=role))
            db.session.commit()
            db.session.refresh(group)
            db.session.expunge(group)
        return group

    return _make


@pytest.fixture
def make_meeting(app: Flask) -> Callable[..., Meeting]:
    """Create a meeting; by default a network meeting next week, 17:00–19:00 UTC."""

    def _make(**kwargs: Any) -> Meeting:
        number = next(_sequence)
        starts_at = kwargs.setdefault(
            "starts_at",
            (utcnow() + timedelta(days=7)).replace(hour=17, minute=0, second=0, microsecond=0),
        )
        kwargs.setdefault("ends_at", starts_at + timedelta(hours=2))
        kwargs.setdefault("title", f"Vernetzungstreffen {number}")
        kwargs.setdefault(
            "kind", MeetingKind.GROUP if kwargs.get("group_id") else MeetingKind.NETWORK
        )
        kwargs.setdefault("visibility", Visibility.NETWORK)
        kwargs.setdefault("venue_name", "VHS Leipzig")
        kwargs.setdefault("venue_address", "Löhrstraße 3-7, 04105 Leipzig")
        with app.app_context():
            meeting = Meeting(**kwargs)
            db.session.add(meeting)
            db.session.commit()
            db.session.refresh(meeting)
            db.session.expunge(meeting)
        return meeting

    return _make


def log_in(app: Flask, client: FlaskClient, user: User) -> FlaskClient:
    """Give ``client`` a valid server-side session for ``user`` without the login form."""
    token, token_hash = new_token()
    with app.app_context():
        db.session.add(
            UserSession(
                user_id=user.id,
                token_hash=token_hash,
                expires_at=utcnow() + app.config["SESSION_LIFETIME"],
            )
        )
        db.session.commit()
    with client.session_transaction() as session:
        session[SESSION_KEY] = token
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    return client


@pytest.fixture
def login(app: Flask) -> Callable[[User], FlaskClient]:
    """``login(user)`` returns a new test client logged in as ``user``."""

    def _login(user: User) -> FlaskClient:
        return log_in(app, app.test_client(), user)

    return _login


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """One user per network role."""
    return {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", email="admin@example.org"),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", email="mod@example.org"),
        "member": make_user(role=Role.MEMBER, name="Mia Member", email="member@example.org"),
    }


# --- a real SMTP server on 127.0.0.1 ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SMTPRecorder:
    """Everything a local aiosmtpd server received; ``refuse`` makes it answer 550."""

    port: int
    envelopes: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: bool = False
    #: SMTP conversations (EHLO greetings) the server has had.
    conversations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, _, message in self.envelopes]

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to the hook
        with self.lock:
            self.conversations += 1
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: E501
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SMTPRecorder]:
    from aiosmtpd.controller import Controller

    recorder = SMTPRecorder(port=free_port())
    controller = Controller(recorder, hostname="127.0.0.1", port=recorder.port)
    controller.start()
    yield recorder
    controller.stop()


@pytest.fixture
def smtp_config(smtp_server: SMTPRecorder) -> dict[str, Any]:
    """Config overrides that make the app deliver to ``smtp_server``."""
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_USE_STARTTLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "",
        "MAIL_TIMEOUT": 5,
    }
