"""Migrations build the schema from nothing, match the models, and go down and up again."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import private_postgres_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """An empty database of the kind the suite runs on."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured or sa.make_url(configured).get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    with private_postgres_database(configured) as url:
        yield url


def _flask(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "KNOTENPUNKT_ENV": "development"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_upgrade_from_empty_then_check_is_clean(empty_database_url):
    upgrade = _flask(empty_database_url, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = _flask(empty_database_url, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    assert _flask(empty_database_url, "db", "upgrade").returncode == 0
    downgrade = _flask(empty_database_url, "db", "downgrade", "base")
    assert downgrade.returncode == 0, downgrade.stderr
    engine = sa.create_engine(empty_database_url)
    tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    assert _flask(empty_database_url, "db", "upgrade").returncode == 0


def test_enum_and_foreign_key_constraints_exist_in_the_database(empty_database_url):
    assert _flask(empty_database_url, "db", "upgrade").returncode == 0
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
                connection.execute(
                    sa.text(
                        "INSERT INTO organization (name, slug, kind, district, website, "
                        "contact_email, contact_phone, description, created_at, updated_at) "
                        "VALUES ('a', 'a', 'bogus', '', '', '', '', '', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
            with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
                connection.execute(
                    sa.text(
                        "INSERT INTO organization_member (organization_id, user_id) VALUES (1, 1)"
                    )
                )
    finally:
        engine.dispose()


def test_datetimes_come_back_aware_utc(app):
    from datetime import UTC, datetime, timedelta, timezone

    from coordination.auth.models import Role, User
    from coordination.extensions import db

    berlin_summer = datetime(2026, 7, 1, 19, 0, tzinfo=timezone(timedelta(hours=2)))
    with app.app_context():
        user = User(email="t@example.org", name="T", password_hash="x", role=Role.MEMBER,
                    last_login_at=berlin_summer)  # fmt: skip
        db.session.add(user)
        db.session.commit()
        db.session.expire_all()
        stored = db.session.get(User, user.id).last_login_at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(app):
    from datetime import datetime

    from coordination.auth.models import User
    from coordination.extensions import db

    with app.app_context():
        db.session.add(User(email="n@example.org", name="N", password_hash="x",
                            last_login_at=datetime(2026, 1, 1)))  # fmt: skip
        with pytest.raises(sa.exc.StatementError):
            db.session.flush()
        db.session.rollback()
