"""The start page: visitors, members and moderators; privacy; constant queries; bad input."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from coordination import timeutil
from coordination.actions.models import Action, ActionStatus
from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.meetings.models import (
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesStatus,
    Visibility,
)
from coordination.organizations.models import Organization
from coordination.problems.models import GroupIssue, IssueEvent, IssueEventKind
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectPartner,
    ProjectStatus,
)
from coordination.registrations.models import Registration, RegistrationStatus

EN = {"Accept-Language": "en"}
_guests = itertools.count(1)
TODAY = date(2026, 3, 10)


@dataclass
class World:
    users: dict[str, User]
    groups: dict[str, WorkingGroup]
    orgs: dict[str, Organization]


@pytest.fixture
def world(make_user, make_group, make_organization) -> World:
    """Every role; an open and a confidential group with the same lead and member; the group
    member belongs to an organisation."""
    orgs = {
        "mine": make_organization(name="Refugees Welcome Leipzig", slug="rwl"),
        "other": make_organization(name="Kontaktstelle Wohnen", slug="kontaktstelle"),
    }
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN),
        "group_member": make_user(
            name="Gus Groupmember", locale=Locale.EN, organizations=[orgs["mine"].id]
        ),
        "member": make_user(name="Mia Member", locale=Locale.EN),
    }
    members = {users["lead"].id: GroupRole.LEAD, users["group_member"].id: GroupRole.MEMBER}
    groups = {
        "open": make_group(name="AG Wohnen", slug="ag-wohnen", members=members),
        "confidential": make_group(
            name="AG UMA",
            slug="ag-uma",
            members=members,
            confidentiality=Confidentiality.CONFIDENTIAL,
        ),
        "other": make_group(name="AG Sprache", slug="ag-sprache"),
    }
    return World(users=users, groups=groups, orgs=orgs)


def page_of(client, path: str = "/") -> str:
    response = client.get(path, headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, section_id: str) -> str:
    """The HTML of ``<section id=...>`` (sections are not nested on the dashboard)."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def add(app, *objects) -> list[int]:
    with app.app_context():
        db.session.add_all(objects)
        db.session.commit()
        return [obj.id for obj in objects]


def register(app, meeting_id: int, status: RegistrationStatus, user_id=None, **fields) -> int:
    if user_id is None:
        fields.setdefault("guest_email", f"guest{next(_guests)}@example.org")
        fields.setdefault("guest_name", "Gast")
    return add(app, Registration(meeting_id=meeting_id, user_id=user_id, status=status, **fields))[
        0
    ]


def issue_with_event(
    app, group_id: int, title: str, kind=IssueEventKind.CREATED, actor_id=None, **fields
) -> int:
    with app.app_context():
        issue = GroupIssue(group_id=group_id, title=title)
        db.session.add(issue)
        db.session.flush()
        db.session.add(IssueEvent(issue_id=issue.id, kind=kind, actor_id=actor_id, **fields))
        db.session.commit()
        return issue.id


def count_queries(app, client, path: str = "/") -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engines[None]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


@pytest.fixture
def fixed_today(monkeypatch) -> date:
    monkeypatch.setattr(timeutil, "local_today", lambda zone=None: TODAY)
    return TODAY


# --- visitors -------------------------------------------------------------------------------


def test_first_run_still_goes_to_setup(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")


def test_visitors_see_public_meetings_and_how_to_take_part(client, world, make_meeting):
    guests = make_meeting(title="Offenes Treffen", visibility=Visibility.PUBLIC, allows_guests=True)
    members_only = make_meeting(title="Öffentlich ohne Gäste", visibility=Visibility.PUBLIC)
    closed = make_meeting(
        title="Gäste, aber zu",
        visibility=Visibility.PUBLIC,
        allows_guests=True,
        is_registration_open=False,
    )
    make_meeting(title="Internes Netzwerktreffen", visibility=Visibility.NETWORK)
    page = page_of(client)
    assert "Offenes Treffen" in page and "Öffentlich ohne Gäste" in page
    assert "Internes Netzwerktreffen" not in page
    assert f'href="/meetings/{guests.id}/guest"' in page
    assert f'href="/meetings/{members_only.id}/guest"' not in page
    assert f'href="/meetings/{closed.id}/guest"' not in page
    take_part = section(page, "take-part")
    assert 'href="/calendar/"' in take_part and 'href="/auth/login"' in take_part
    assert 'id="my-meetings"' not in page


# --- members --------------------------------------------------------------------------------


def test_my_next_meetings_with_registration_state(app, login, world, make_meeting):
    member = world.users["group_member"]
    soon = utcnow() + timedelta(days=3)
    network = make_meeting(title="Netzwerktreffen", starts_at=soon)
    confirmed = make_meeting(title="Treffen bestätigt", starts_at=soon + timedelta(hours=1))
    full = make_meeting(title="Volles Treffen", capacity=1, starts_at=soon + timedelta(hours=2))
    closed = make_meeting(
        title="Geschlossen", is_registration_open=False, starts_at=soon + timedelta(hours=3)
    )
    own_group = make_meeting(
        title="AG-Wohnen-Treffen",
        group_id=world.groups["open"].id,
        visibility=Visibility.GROUP,
        starts_at=soon + timedelta(hours=4),
    )
    other_group = make_meeting(
        title="AG-Sprache-Treffen",
        group_id=world.groups["other"].id,
        visibility=Visibility.GROUP,
        starts_at=soon + timedelta(hours=5),
    )
    other_registered = make_meeting(
        title="AG-Sprache angemeldet",
        group_id=world.groups["other"].id,
        visibility=Visibility.GROUP,
        starts_at=soon + timedelta(hours=6),
    )
    make_meeting(title="Vorbei", starts_at=utcnow() - timedelta(days=2))
    register(app, confirmed.id, RegistrationStatus.CONFIRMED, member.id)
    register(app, full.id, RegistrationStatus.CONFIRMED, world.users["lead"].id)
    register(app, full.id, RegistrationStatus.WAITLISTED, world.users["member"].id)
    register(app, full.id, RegistrationStatus.WAITLISTED, member.id)
    register(app, other_registered.id, RegistrationStatus.CONFIRMED, member.id)

    box = section(page_of(login(member)), "my-meetings")
    for meeting in (network, confirmed, full, closed, own_group, other_registered):
        assert f'data-meeting="{meeting.id}"' in box, meeting.title
    assert f'data-meeting="{other_group.id}"' not in box
    assert "Vorbei" not in box

    def item(meeting: Meeting) -> str:
        return re.search(rf'data-meeting="{meeting.id}".*?</li>', box, re.S).group(0)

    assert 'data-status="confirmed"' in item(confirmed)
    assert 'data-status="waitlisted"' in item(full) and "position 2" in item(full)
    assert f'href="/meetings/{network.id}#registration"' in item(network)
    assert 'data-status="none"' in item(closed) and "#registration" not in item(closed)


def test_cancelled_meetings_are_marked_without_a_register_link(app, login, world, make_meeting):
    cancelled = make_meeting(title="Abgesagtes Treffen", status=MeetingStatus.CANCELLED)
    box = section(page_of(login(world.users["member"])), "my-meetings")
    assert "Abgesagtes Treffen" in box and "Cancelled" in box
    assert f"/meetings/{cancelled.id}#registration" not in box


def test_confidential_group_meetings_only_for_its_members(app, login, world, make_meeting):
    make_meeting(
        title="Vertrauliches AG-Treffen",
        group_id=world.groups["confidential"].id,
        visibility=Visibility.GROUP,
    )
    assert "Vertrauliches AG-Treffen" in page_of(login(world.users["group_member"]))
    for role in ("member", "moderator"):
        assert "Vertrauliches AG-Treffen" not in page_of(login(world.users[role])), role


def test_my_open_actions_overdue_first(app, login, world, fixed_today):
    owner = world.users["group_member"]
    group_id = world.groups["open"].id
    later, overdue, done = add(
        app,
        Action(group_id=group_id, owner_id=owner.id, title="Flyer drucken",
               due_date=TODAY + timedelta(days=5)),
        Action(group_id=group_id, owner_id=owner.id, title="Raum buchen",
               due_date=TODAY - timedelta(days=2)),
        Action(group_id=group_id, owner_id=owner.id, title="Erledigtes",
               status=ActionStatus.DONE),
    )  # fmt: skip
    page = page_of(login(owner))
    box = section(page, "my-actions")
    assert box.index(f"dashboard-action-{overdue}") < box.index(f"dashboard-action-{later}")
    assert f"dashboard-action-{done}" not in box
    assert "Overdue" in box
    assert f'action="/actions/{overdue}/status"' in box
    assert "1 of them overdue" in page_of(login(owner))
    assert 'id="no-open-actions"' in page_of(login(world.users["member"]))


def test_recent_activity_in_my_groups_only(app, login, world):
    lead = world.users["lead"]
    open_issue = issue_with_event(app, world.groups["open"].id, "Wohnungsnot", actor_id=lead.id)
    issue_with_event(
        app,
        world.groups["open"].id,
        "Unterstützer-Zeichen",
        kind=IssueEventKind.ENDORSED,
        actor_id=lead.id,
    )
    issue_with_event(app, world.groups["confidential"].id, "Vormundschaft X", actor_id=lead.id)
    issue_with_event(app, world.groups["other"].id, "Sprachkurse fehlen", actor_id=lead.id)
    issue_with_event(
        app,
        world.groups["open"].id,
        "Statusfall",
        kind=IssueEventKind.STATUS_CHANGED,
        detail="in_progress",
        actor_id=lead.id,
    )

    box = section(page_of(login(world.users["group_member"])), "group-activity")
    assert f'href="/groups/ag-wohnen/issues/{open_issue}"' in box
    assert "Wohnungsnot" in box and "Lea Lead" in box and "logged the problem" in box
    assert "set the status to In progress" in box
    assert "Vormundschaft X" in box  # a member of the confidential group
    assert "Sprachkurse fehlen" not in box  # not their group
    assert "Unterstützer-Zeichen" not in box  # endorsements are left out


@pytest.mark.parametrize("role", ["member", "moderator", "admin"])
def test_confidential_activity_never_reaches_outsiders(app, login, world, role):
    issue_with_event(app, world.groups["confidential"].id, "Vormundschaft X")
    page = page_of(login(world.users[role]))
    assert "Vormundschaft X" not in page
    assert "/groups/ag-uma/issues/" not in page


def test_my_projects(app, login, world, fixed_today):
    member = world.users["group_member"]
    partner_of, led_by_me, contact, foreign, completed = add(
        app,
        Project(name="Wegweiser", slug="wegweiser", status=ProjectStatus.ACTIVE),
        Project(name="Sprachcafé", slug="sprachcafe", status=ProjectStatus.PLANNING),
        Project(name="Patenschaften", slug="patenschaften", lead_contact_id=member.id),
        Project(name="Fremdprojekt", slug="fremd", status=ProjectStatus.ACTIVE),
        Project(name="Abgeschlossen", slug="fertig", status=ProjectStatus.COMPLETED),
    )
    mine, other = world.orgs["mine"].id, world.orgs["other"].id
    add(
        app,
        ProjectPartner(project_id=partner_of, organization_id=mine),
        ProjectPartner(project_id=led_by_me, organization_id=mine, role=PartnerRole.LEAD),
        ProjectPartner(project_id=foreign, organization_id=other, role=PartnerRole.LEAD),
        ProjectPartner(project_id=completed, organization_id=mine),
        Milestone(project_id=partner_of, title="Text", due_date=TODAY - timedelta(days=1)),
        Milestone(project_id=partner_of, title="Druck", due_date=TODAY + timedelta(days=9)),
        Milestone(project_id=partner_of, title="Fertig", due_date=TODAY - timedelta(days=30),
                  done_at=utcnow()),
    )  # fmt: skip
    box = section(page_of(login(member)), "my-projects")
    for slug in ("wegweiser", "sprachcafe", "patenschaften"):
        assert f'href="/projects/{slug}"' in box, slug
    assert "fremd" not in box and "fertig" not in box
    assert box.index('data-project="wegweiser"') < box.index('data-project="sprachcafe"')
    wegweiser = re.search(r'data-project="wegweiser".*?</li>', box, re.S).group(0)
    assert "1 milestone overdue" in wegweiser and "Next milestone due" in wegweiser
    assert "Your organisation leads" in box and "You are the lead contact" in box
    assert 'id="no-projects"' in page_of(login(world.users["member"]))


# --- moderators -----------------------------------------------------------------------------


def test_moderators_see_registration_counts(app, login, world, make_meeting):
    meeting = make_meeting(title="Volles Netzwerktreffen", capacity=2, allows_guests=True)
    for user in ("lead", "group_member"):
        register(app, meeting.id, RegistrationStatus.CONFIRMED, world.users[user].id)
    register(app, meeting.id, RegistrationStatus.WAITLISTED, world.users["member"].id)
    register(app, meeting.id, RegistrationStatus.PENDING)
    register(app, meeting.id, RegistrationStatus.CANCELLED, world.users["admin"].id)
    make_meeting(title="Abgesagt", status=MeetingStatus.CANCELLED)

    box = section(page_of(login(world.users["moderator"])), "upcoming-registrations")
    row = re.search(rf'<tr data-meeting="{meeting.id}">.*?</tr>', box, re.S).group(0)
    assert "2 of 2" in row and "Full" in row
    assert re.search(r'load-waitlisted"[^>]*>1<', row)
    assert re.search(r'load-pending"[^>]*>1<', row)
    assert f'href="/meetings/{meeting.id}/registrations"' in row
    assert "Abgesagt" not in box
    member_page = page_of(login(world.users["member"]))
    assert 'id="upcoming-registrations"' not in member_page
    assert 'id="follow-ups"' not in member_page


def test_past_meetings_missing_attendance_or_minutes(app, login, world, make_meeting):
    def past(title: str, days: int, **kwargs) -> Meeting:
        return make_meeting(title=title, starts_at=utcnow() - timedelta(days=days), **kwargs)

    nothing = past("Ohne alles", 3)
    draft = past("Mit Entwurf", 10)
    complete = past("Vollständig", 20)
    minutes_only = past("Nur Protokoll", 30)
    old = past("Zu alt", 120)
    cancelled = past("Abgesagt vorbei", 5, status=MeetingStatus.CANCELLED)
    user_id = world.users["lead"].id
    for meeting in (draft, complete):
        add(app, Attendance(meeting_id=meeting.id, user_id=user_id,
                            status=AttendanceStatus.PRESENT))  # fmt: skip
    add(
        app,
        Minutes(meeting_id=draft.id, body="x", status=MinutesStatus.DRAFT),
        Minutes(meeting_id=complete.id, body="x", status=MinutesStatus.PUBLISHED),
        Minutes(meeting_id=minutes_only.id, body="x", status=MinutesStatus.PUBLISHED),
    )
    box = section(page_of(login(world.users["moderator"])), "follow-ups")
    for meeting in (nothing, draft, minutes_only):
        assert f'data-meeting="{meeting.id}"' in box, meeting.title
    for meeting in (complete, old, cancelled):
        assert f'data-meeting="{meeting.id}"' not in box, meeting.title
    assert box.index(f'data-meeting="{nothing.id}"') < box.index(f'data-meeting="{draft.id}"')
    assert f'href="/meetings/{nothing.id}/checkin"' in box
    assert f'href="/meetings/{nothing.id}/minutes"' in box and "Write minutes" in box
    assert f'href="/meetings/{draft.id}/checkin"' not in box
    assert "Publish the draft" in box
    assert f'href="/meetings/{minutes_only.id}/checkin"' in box


def test_follow_ups_respect_meeting_visibility(app, login, world, make_meeting):
    make_meeting(
        title="Vertrauliche AG-Sitzung",
        group_id=world.groups["confidential"].id,
        visibility=Visibility.GROUP,
        starts_at=utcnow() - timedelta(days=4),
    )
    assert "Vertrauliche AG-Sitzung" not in page_of(login(world.users["moderator"]))
    assert "Vertrauliche AG-Sitzung" in section(page_of(login(world.users["admin"])), "follow-ups")


def test_follow_ups_say_how_many_more(app, login, world, make_meeting):
    for days in range(2, 14):
        make_meeting(starts_at=utcnow() - timedelta(days=days))
    box = section(page_of(login(world.users["moderator"])), "follow-ups")
    assert box.count("<tr data-meeting=") == 10
    assert "2 more meetings need follow-up" in box


def test_admins_keep_the_invitation_and_outbox_summary(login, world):
    assert 'id="admin-summary"' in page_of(login(world.users["admin"]))
    assert 'href="/admin/outbox/"' not in page_of(login(world.users["moderator"]))
    assert 'id="admin-summary"' not in page_of(login(world.users["member"]))


# --- queries and bad input ------------------------------------------------------------------


def fill_dashboard(app, world: World, make_meeting, numbers: range) -> None:
    """One of everything the member and moderator dashboards list per number."""
    member = world.users["group_member"]
    group_id = world.groups["open"].id
    now = utcnow()
    for index in numbers:
        upcoming = make_meeting(starts_at=now + timedelta(days=2 + index), capacity=1)
        register(app, upcoming.id, RegistrationStatus.CONFIRMED, world.users["lead"].id)
        register(app, upcoming.id, RegistrationStatus.WAITLISTED, member.id)
        register(app, upcoming.id, RegistrationStatus.PENDING)
        past = make_meeting(starts_at=now - timedelta(days=2 + index))
        add(
            app,
            Minutes(meeting_id=past.id, body="x", status=MinutesStatus.DRAFT),
            Action(group_id=group_id, owner_id=member.id, title=f"Aufgabe {index}",
                   due_date=TODAY - timedelta(days=index)),
        )  # fmt: skip
        issue_with_event(app, group_id, f"Problem {index}", actor_id=world.users["lead"].id)
        project_id = add(app, Project(name=f"Projekt {index}", slug=f"projekt-{index}"))[0]
        add(
            app,
            ProjectPartner(project_id=project_id, organization_id=world.orgs["mine"].id),
            Milestone(project_id=project_id, title="M", due_date=TODAY),
        )


@pytest.mark.parametrize("role", ["group_member", "moderator", "admin"])
def test_dashboard_queries_do_not_grow_with_rows(app, login, world, make_meeting, role):
    client = login(world.users[role])
    fill_dashboard(app, world, make_meeting, range(1))
    client.get("/")
    few = count_queries(app, client)
    fill_dashboard(app, world, make_meeting, range(1, 13))
    many = count_queries(app, client)
    assert many == few
    page = page_of(client)
    if role == "group_member":
        assert page.count('id="dashboard-action-') == 8 and "Problem 11" in page
    else:
        assert section(page, "follow-ups").count("<tr data-meeting=") == 10


@pytest.mark.parametrize(
    "query",
    [
        "?page=-1",
        "?page=abc&q=%00",
        "?x=" + "y" * 5000,
        "?when=past&kind=%FF%FE",
        "?group=99999999999999999999",
    ],
)
@pytest.mark.parametrize("role", ["anonymous", "member", "moderator"])
def test_bad_query_parameters_are_ignored(app, login, world, role, query):
    client = app.test_client() if role == "anonymous" else login(world.users[role])
    # A NUL byte anywhere in a request is refused by the app as a whole.
    assert client.get("/" + query).status_code == (400 if "%00" in query else 200)
