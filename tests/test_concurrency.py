"""Concurrent requests with real commits: exactly one first admin; single-use links."""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy as sa

from coordination.auth.models import Role, User
from coordination.extensions import db


def _run_together(functions: list[Callable[[], int]]) -> list[int]:
    """Start all functions at the same moment in threads; return their results."""
    barrier = threading.Barrier(len(functions))
    results: list[int] = [0] * len(functions)
    errors: list[BaseException] = []

    def run(index: int, function: Callable[[], int]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_concurrent_setups_create_exactly_one_admin(committing_app):
    def attempt(number: int) -> Callable[[], int]:
        def post() -> int:
            response = committing_app.test_client().post(
                "/setup",
                data={
                    "name": f"Admin {number}",
                    "email": f"admin{number}@example.org",
                    "password": "a long setup passphrase",
                    "confirm": "a long setup passphrase",
                    "locale": "de",
                },
            )
            return response.status_code

        return post

    statuses = _run_together([attempt(n) for n in range(6)])
    assert sorted(statuses) == [303, 404, 404, 404, 404, 404]
    with committing_app.app_context():
        admins = db.session.scalars(sa.select(User)).all()
        assert len(admins) == 1 and admins[0].role is Role.ADMIN


def test_concurrent_acceptance_of_one_invitation_creates_one_account(committing_app):
    from coordination.auth import services
    from coordination.auth.models import Locale

    with committing_app.test_request_context():
        inviter = services.create_user(
            email="inviter@example.org", name="Inviter", password="a long passphrase",
            role=Role.ADMIN,
        )  # fmt: skip
        result = services.invite(
            email="twice@example.org", role=Role.MEMBER, locale=Locale.DE, organization=None,
            actor=inviter,
        )  # fmt: skip
        db.session.commit()
        token = result.token

    def accept() -> int:
        return (
            committing_app.test_client()
            .post(
                f"/auth/invite/{token}",
                data={
                    "name": "Twice",
                    "password": "long passphrase here",
                    "confirm": "long passphrase here",
                    "locale": "de",
                },
            )  # fmt: skip
            .status_code
        )

    statuses = _run_together([accept for _ in range(5)])
    assert statuses.count(303) == 1
    assert all(status in (303, 404, 409) for status in statuses)
    with committing_app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.email == "twice@example.org")
        )
        assert count == 1
