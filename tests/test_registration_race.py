"""Concurrent registrations with real commits: seats are never overbooked, nobody twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from coordination.auth.models import User
from coordination.auth.services import create_user
from coordination.db import utcnow
from coordination.extensions import db
from coordination.meetings.models import Meeting, Visibility
from coordination.registrations.models import Registration, RegistrationStatus
from tests.conftest import log_in


def _run_together(functions: list[Callable[[], int]]) -> list[int]:
    """Start all functions at the same moment in threads; return their results."""
    barrier = threading.Barrier(len(functions))
    results: list[int] = [0] * len(functions)
    errors: list[BaseException] = []

    def run(index: int, function: Callable[[], int]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def _meeting(app: Flask, **fields: object) -> int:
    starts_at = (utcnow() + timedelta(days=7)).replace(microsecond=0)
    with app.app_context():
        meeting = Meeting(
            title="Vernetzungstreffen",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            **fields,
        )
        db.session.add(meeting)
        db.session.commit()
        return meeting.id


def _users(app: Flask, count: int, prefix: str = "racer") -> list[User]:
    with app.app_context():
        users = [
            create_user(
                email=f"{prefix}{number}@example.org",
                name=f"Racer {number}",
                password="a long passphrase",
            )
            for number in range(count)
        ]
        db.session.commit()
        for user in users:
            db.session.refresh(user)
            db.session.expunge(user)
    return users


def _client(app: Flask, user: User) -> FlaskClient:
    return log_in(app, app.test_client(), user)


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> Callable[[], int]:
    return lambda: client.post(path, data=data or {}).status_code


def _statuses(app: Flask, meeting_id: int) -> Counter[RegistrationStatus]:
    with app.app_context():
        return Counter(
            db.session.scalars(
                sa.select(Registration.status).where(Registration.meeting_id == meeting_id)
            )
        )


def test_fifty_concurrent_registrations_fill_ten_seats_exactly(committing_app):
    meeting_id = _meeting(committing_app, capacity=10)
    clients = [_client(committing_app, user) for user in _users(committing_app, 50)]
    codes = _run_together([_post(client, f"/meetings/{meeting_id}/register") for client in clients])
    assert codes == [303] * 50
    assert _statuses(committing_app, meeting_id) == {
        RegistrationStatus.CONFIRMED: 10,
        RegistrationStatus.WAITLISTED: 40,
    }


def test_concurrent_double_submits_of_one_person_give_one_registration(committing_app):
    meeting_id = _meeting(committing_app, capacity=10)
    [user] = _users(committing_app, 1)
    clients = [_client(committing_app, user) for _ in range(10)]
    codes = _run_together([_post(client, f"/meetings/{meeting_id}/register") for client in clients])
    assert codes == [303] * 10
    assert _statuses(committing_app, meeting_id) == {RegistrationStatus.CONFIRMED: 1}


def test_concurrent_guest_registrations_of_one_address_give_one_row(committing_app):
    meeting_id = _meeting(committing_app, visibility=Visibility.PUBLIC, allows_guests=True)
    data = {"name": "Gabi", "email": "gabi@example.org", "consent": "y"}
    path = f"/meetings/{meeting_id}/guest"
    codes = _run_together([_post(committing_app.test_client(), path, data) for _ in range(10)])
    assert codes == [303] * 10
    assert _statuses(committing_app, meeting_id) == {RegistrationStatus.PENDING: 1}


def test_concurrent_cancellations_promote_exactly_as_many_as_seats_free(committing_app):
    meeting_id = _meeting(committing_app, capacity=5)
    users = _users(committing_app, 15)
    clients = [_client(committing_app, user) for user in users]
    for client in clients:  # one after the other: 5 confirmed, 10 waitlisted
        assert client.post(f"/meetings/{meeting_id}/register").status_code == 303
    # The 5 confirmed cancel while 5 new people register at the same moment.
    newcomers = [_client(committing_app, user) for user in _users(committing_app, 5, "late")]
    codes = _run_together(
        [_post(client, f"/meetings/{meeting_id}/unregister") for client in clients[:5]]
        + [_post(client, f"/meetings/{meeting_id}/register") for client in newcomers]
    )
    assert codes == [303] * 10
    assert _statuses(committing_app, meeting_id) == {
        RegistrationStatus.CANCELLED: 5,
        RegistrationStatus.CONFIRMED: 5,
        RegistrationStatus.WAITLISTED: 10,
    }
    with committing_app.app_context():
        confirmed_users = set(
            db.session.scalars(
                sa.select(Registration.user_id).where(
                    Registration.meeting_id == meeting_id,
                    Registration.status == RegistrationStatus.CONFIRMED,
                )
            )
        )
    # The seats went to the waitlist in order, not to the newcomers.
    assert confirmed_users == {user.id for user in users[5:10]}
