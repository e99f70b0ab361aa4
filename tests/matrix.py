"""Shared pieces of the role × route matrix tests for meetings and working groups."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("anonymous", "member", "group_member", "group_lead", "moderator", "admin")
#: Visitors are sent to the login page.
LOGIN = "login"


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    path: str
    expect: dict[str, int | str]
    data: dict[str, str] | None = None


def roles(anonymous, member, group_member, group_lead, moderator, admin) -> dict[str, int | str]:
    """Expected answers, one per role in :data:`ROLES` order."""
    return dict(
        zip(ROLES, (anonymous, member, group_member, group_lead, moderator, admin), strict=True)
    )


def check(client, case: Case, role: str, values: dict[str, object]) -> None:
    """Send the case's request as ``client`` and compare with what ``role`` should get."""
    path = case.path.format(**values)
    data = {key: value.format(**values) for key, value in (case.data or {}).items()}
    response = client.open(path, method=case.method, data=data)
    expected = case.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    else:
        assert response.status_code == expected
