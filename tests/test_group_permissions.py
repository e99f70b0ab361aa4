"""Role × route matrix for every working-group route, on a confidential group (the AG UMA case).

Roles: a visitor, a plain member, a member of the group, the group's lead, a moderator who is not
in the group, and an admin. Outsiders get 404 for the group and everything in it; group members
may contribute but not lead (403); the lead and admins may do everything.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from coordination.actions.models import Action
from coordination.auth.models import Role
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    JoinMode,
    JoinRequest,
)
from coordination.meetings.models import AgendaItem, Visibility
from coordination.problems.models import GroupIssue, Solution
from tests.matrix import LOGIN, ROLES, Case, check
from tests.matrix import roles as _roles


def _readers(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 404, code, code, 404, code)


def _readers_404(code: int) -> dict[str, int | str]:
    """Like :func:`_readers`, for pages visitors may open too (public meetings): 404, no login."""
    return _roles(404, 404, code, code, 404, code)


def _leads(code: int) -> dict[str, int | str]:
    return _roles(LOGIN, 404, 403, code, 404, code)


G = "/groups/{slug}"
P = G + "/issues/{issue}"
S = P + "/solutions/{solution}"
CASES = [
    Case("groups.index", "GET", "/groups/", _roles(LOGIN, 200, 200, 200, 200, 200)),
    Case("groups.create", "GET", "/groups/new", _roles(LOGIN, 403, 403, 403, 200, 200)),
    Case("groups.create", "POST", "/groups/new", _roles(LOGIN, 403, 403, 403, 200, 200), {}),
    Case("groups.detail", "GET", G, _readers(200)),
    # A confidential group has no feed, not even for its members (they use personal feeds),
    # and its meetings' downloads exist only for those who may read the group.
    Case("calendar.group_feed", "GET", "/calendar/groups/{slug}.ics", _roles(*[404] * 6)),
    Case("calendar.meeting_download", "GET", "/meetings/{meeting}.ics", _readers_404(200)),
    Case("groups.edit", "GET", G + "/edit", _leads(200)),
    Case("groups.edit", "POST", G + "/edit", _leads(200), {}),
    Case("groups.audit", "GET", G + "/audit", _leads(200)),
    # Confidential groups are joined by invitation only (members are told they are in already).
    Case("groups.join", "POST", G + "/join", _roles(LOGIN, 404, 303, 303, 404, 403)),
    Case("groups.leave", "POST", G + "/leave", _readers(303)),
    Case("groups.approve_request", "POST", G + "/requests/{request}/approve", _leads(303)),
    Case("groups.decline_request", "POST", G + "/requests/{request}/decline", _leads(303)),
    Case("groups.add_member", "POST", G + "/members", _leads(303), {"user": "{outsider}"}),
    Case(
        "groups.change_role",
        "POST",
        G + "/members/{membership}/role",
        _leads(303),
        {"role": "lead"},
    ),
    Case("groups.remove_member", "POST", G + "/members/{membership}/remove", _leads(303)),
    Case("problems.index", "GET", G + "/issues", _readers(200)),
    Case("problems.create", "GET", G + "/issues/new", _readers(200)),
    Case("problems.create", "POST", G + "/issues/new", _readers(200), {}),
    Case("problems.detail", "GET", P, _readers(200)),
    Case("problems.edit", "GET", P + "/edit", _leads(200)),
    Case("problems.edit", "POST", P + "/edit", _leads(200), {}),
    Case("problems.change_status", "POST", P + "/status", _leads(303), {"status": "in_progress"}),
    Case(
        "problems.propose_solution", "POST", P + "/solutions", _readers(303), {"text": "Try this"}
    ),
    Case("problems.endorse", "POST", S + "/endorse", _readers(303)),
    Case("problems.withdraw", "POST", S + "/withdraw", _readers(303)),
    Case(
        "problems.solution_status",
        "POST",
        S + "/status",
        _leads(303),
        {"status": "trial", "outcome_note": ""},
    ),
    Case("actions.mine", "GET", "/actions/", _roles(LOGIN, 200, 200, 200, 200, 200)),
    Case("actions.board", "GET", G + "/actions", _readers(200)),
    Case("actions.new", "GET", G + "/actions/new", _readers(200)),
    Case("actions.new", "POST", G + "/actions/new", _readers(200), {}),
    Case("actions.detail", "GET", "/actions/{action}", _readers(200)),
    Case("actions.edit", "GET", "/actions/{action}/edit", _leads(200)),
    Case("actions.edit", "POST", "/actions/{action}/edit", _leads(200), {}),
    Case("actions.set_status", "POST", "/actions/{action}/status", _leads(303), {"status": "done"}),
    # Agenda tools of the group's meeting: its lead and admins manage the meeting.
    Case(
        "agenda.pull_in",
        "POST",
        "/meetings/{meeting}/agenda/pull-in",
        _leads(303),
        {"what": "problems"},
    ),
    Case("agenda.add_proposal", "POST", "/meetings/{meeting}/agenda/propose", _leads(400), {}),
    Case(
        "agenda.agree_action", "POST", "/meetings/{meeting}/agenda/{item}/action", _leads(200), {}
    ),
]


@pytest.fixture
def people(make_user):
    return {
        "member": make_user(name="Plain Member"),
        "group_member": make_user(name="Group Member"),
        "group_lead": make_user(name="Group Lead"),
        "moderator": make_user(name="Moderator", role=Role.MODERATOR),
        "admin": make_user(name="Admin", role=Role.ADMIN),
        "outsider": make_user(name="To Be Added"),
        "requester": make_user(name="Requester"),
    }


@pytest.fixture
def objects(app, people, make_group, make_meeting):
    group = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        join_mode=JoinMode.REQUEST,
        members={
            people["group_member"].id: GroupRole.MEMBER,
            people["group_lead"].id: GroupRole.LEAD,
        },
    )
    meeting = make_meeting(
        group_id=group.id,
        visibility=Visibility.GROUP,
        starts_at=utcnow() - timedelta(hours=1),
        ends_at=utcnow() + timedelta(hours=1),
    )
    with app.app_context():
        issue = GroupIssue(
            group_id=group.id, title="Wartezeiten", reporter_id=people["group_lead"].id
        )
        db.session.add(issue)
        db.session.flush()
        solution = Solution(
            issue_id=issue.id, text="Vorschlag", proposer_id=people["group_lead"].id
        )
        action = Action(group_id=group.id, title="Anrufen", owner_id=people["group_lead"].id,
                        issue_id=issue.id, created_by_id=people["group_lead"].id)  # fmt: skip
        request = JoinRequest(group_id=group.id, user_id=people["requester"].id)
        item = AgendaItem(meeting_id=meeting.id, position=0, title="TOP 1")
        db.session.add_all([solution, action, request, item])
        db.session.commit()
        membership = db.session.scalar(
            db.select(GroupMembership.id).where(
                GroupMembership.group_id == group.id,
                GroupMembership.user_id == people["group_member"].id,
            )
        )
        ids = {
            "issue": issue.id,
            "solution": solution.id,
            "action": action.id,
            "request": request.id,
            "item": item.id,
            "membership": membership,
        }
    return {"slug": group.slug, "meeting": meeting.id, "outsider": people["outsider"].id, **ids}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.method} {case.endpoint}")
def test_group_route_matrix(app, login, people, objects, case: Case, role: str):
    client = app.test_client() if role == "anonymous" else login(people[role])
    check(client, case, role, objects)


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_confidential_content_never_reaches_outsiders(app, login, people, objects, role):
    """Lists, counts and the dashboard of outsiders show nothing of the confidential group."""
    client = login(people[role])
    for path in ("/", "/groups/", "/actions/", "/meetings/", "/meetings/?when=past"):
        page = client.get(path).get_data(as_text=True)
        for secret in ("AG UMA", "Wartezeiten", "Anrufen", "Vorschlag"):
            assert secret not in page, (path, secret)
