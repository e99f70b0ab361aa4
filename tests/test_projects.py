"""Shared projects: list and project page, creating and editing, status trail, partners,
milestones, links to groups and meetings, starting a project from a group's problem or adopted
solution, agenda items about a project; confidentiality of origins and links, a constant number
of queries, double and concurrent submits, and bad input that never causes a 500.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.meetings.models import AgendaItem, Visibility
from coordination.organizations.models import Organization
from coordination.problems.models import GroupIssue, Solution, SolutionStatus
from coordination.projects import services
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectEvent,
    ProjectEventKind,
    ProjectPartner,
    ProjectStatus,
    project_group,
    project_meeting,
)
from coordination.timeutil import local_today
from tests.conftest import log_in

EN = {"Accept-Language": "en"}
HUGE = "x" * 100_000
NUL = "abc\x00def"
UNICODE = "Ünïcödé محمد 🚀 Łódź \u202eRTL ゆ"


@dataclass
class World:
    users: dict[str, User]
    orgs: dict[str, Organization]
    groups: dict[str, WorkingGroup]


@pytest.fixture
def world(make_user, make_organization, make_group) -> World:
    orgs = {
        "fr": make_organization(name="Flüchtlingsrat Leipzig"),
        "vhs": make_organization(name="Volkshochschule Leipzig"),
        "caritas": make_organization(name="Caritas Leipzig"),
    }
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN, organizations=[orgs["fr"].id]),
        "member": make_user(name="Mia Member", locale=Locale.EN),
        "partner": make_user(name="Pia Partner", locale=Locale.EN, organizations=[orgs["vhs"].id]),
    }
    lead = {users["lead"].id: GroupRole.LEAD}
    groups = {
        "open": make_group(name="AG Wohnen", slug="ag-wohnen", members=lead),
        "secret": make_group(
            name="AG UMA",
            slug="ag-uma",
            confidentiality=Confidentiality.CONFIDENTIAL,
            members=lead,
        ),
    }
    return World(users=users, orgs=orgs, groups=groups)


def _today(app) -> date:
    with app.app_context():
        return local_today()


def _client(login, world, role):
    return login(world.users[role])


def _project(app, name="Wegweiser", **fields) -> Project:
    with app.app_context():
        fields.setdefault("slug", services.unique_slug(name))
        fields.setdefault("status_changed_at", utcnow())
        project = Project(name=name, **fields)
        db.session.add(project)
        db.session.commit()
        db.session.refresh(project)
        db.session.expunge(project)
    return project


def _partner(app, project_id, org_id, role=PartnerRole.PARTNER) -> int:
    with app.app_context():
        partner = ProjectPartner(project_id=project_id, organization_id=org_id, role=role)
        db.session.add(partner)
        db.session.commit()
        return partner.id


def _milestone(app, project_id, title="Entwurf", **fields) -> int:
    with app.app_context():
        milestone = Milestone(project_id=project_id, title=title, **fields)
        db.session.add(milestone)
        db.session.commit()
        return milestone.id


def _problem(app, group_id, title="Wartezeiten", description="", **solution_fields):
    """A problem, and with ``solution_fields`` a solution of it; returns (issue, solution) ids."""
    with app.app_context():
        issue = GroupIssue(group_id=group_id, title=title, description=description)
        db.session.add(issue)
        db.session.flush()
        solution_id = None
        if solution_fields:
            solution = Solution(issue_id=issue.id, **solution_fields)
            db.session.add(solution)
            db.session.flush()
            solution_id = solution.id
        db.session.commit()
        return issue.id, solution_id


def _events(app, project_id) -> list[tuple[ProjectEventKind, str, int | None]]:
    with app.app_context():
        return [
            (event.kind, event.detail, event.actor_id)
            for event in db.session.scalars(
                sa.select(ProjectEvent)
                .where(ProjectEvent.project_id == project_id)
                .order_by(ProjectEvent.id)
            )
        ]


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _get(app, model, ident):
    with app.app_context():
        obj = db.session.get(model, ident)
        if obj is not None:
            db.session.expunge(obj)
        return obj


# --- the list -------------------------------------------------------------------------------


def test_navigation_links_to_projects_for_members_only(client, login, world):
    assert 'href="/projects/"' in _client(login, world, "member").get("/").text
    assert 'href="/projects/"' not in client.get("/").text


def test_list_shows_status_lead_partners_and_next_milestone(app, login, world):
    today = _today(app)
    project = _project(app, summary="Ein Handbuch", status=ProjectStatus.ACTIVE)
    _partner(app, project.id, world.orgs["fr"].id, PartnerRole.LEAD)
    _partner(app, project.id, world.orgs["vhs"].id)
    _milestone(app, project.id, "Gliederung", due_date=today - timedelta(days=40), done_at=utcnow())
    _milestone(app, project.id, "Kapitel Wohnen", due_date=today - timedelta(days=3))
    _milestone(app, project.id, "Kapitel Arbeit", due_date=today - timedelta(days=1))
    _milestone(app, project.id, "Druck", due_date=today + timedelta(days=30))
    lonely = _project(app, "Sprachcafé")
    page = _client(login, world, "member").get("/projects/", headers=EN).text
    row = page[page.index(f'id="project-row-{project.id}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-status="active"' in row and "Ein Handbuch" in row
    assert "Flüchtlingsrat Leipzig" in row and "and 1 partner" in row
    assert "Kapitel Wohnen" in row  # the earliest open milestone, overdue
    assert 'data-overdue="2"' in row and "2 overdue" in row
    assert "Gliederung" not in row
    lonely_row = page[page.index(f'id="project-row-{lonely.id}"') :]
    assert "no lead organisation" in lonely_row[: lonely_row.index("</tr>")]
    assert 'data-status="idea"' in lonely_row


def test_list_filters_by_status_and_organisation(app, login, world):
    active = _project(app, "Wegweiser", status=ProjectStatus.ACTIVE)
    idea = _project(app, "Sprachcafé", status=ProjectStatus.IDEA)
    _partner(app, active.id, world.orgs["fr"].id, PartnerRole.LEAD)
    _partner(app, idea.id, world.orgs["vhs"].id)
    client = _client(login, world, "member")

    def shown(query: str) -> set[int]:
        page = client.get(f"/projects/{query}").text
        return {p.id for p in (active, idea) if f'id="project-row-{p.id}"' in page}

    assert shown("") == {active.id, idea.id}
    assert shown("?status=active") == {active.id}
    assert shown("?status=idea") == {idea.id}
    assert shown("?status=completed") == set()
    assert shown(f"?organization={world.orgs['vhs'].id}") == {idea.id}
    assert shown(f"?organization={world.orgs['fr'].id}&status=idea") == set()
    # Unknown values are ignored, never an error.
    for query in ("?status=x", "?organization=abc", "?organization=99999999999", "?page=-3"):
        assert shown(query) == {active.id, idea.id}, query
    assert client.get("/projects/?status=%00").status_code == 400
    page = client.get("/projects/").text
    assert f'<option value="{world.orgs["vhs"].id}">' in page
    assert f'<option value="{world.orgs["caritas"].id}">' not in page  # in no project


def test_list_is_paginated(app, login, world):
    for number in range(30):
        _project(app, f"Projekt {number:02d}")
    client = _client(login, world, "member")
    first = client.get("/projects/", headers=EN).text
    assert "30 projects" in first and first.count('class="project-row"') == 25
    second = client.get("/projects/?page=2").text
    assert second.count('class="project-row"') == 5
    assert client.get("/projects/?page=99999999999999").status_code == 200


def _count_queries(app, client, path) -> int:
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


def _fill(app, world, project_id, number, *, make_meeting, make_group, make_organization):
    """Add ``number`` partners, milestones (open, overdue, done), groups, meetings, items."""
    today = _today(app)
    for index in range(number):
        org = make_organization()
        _partner(
            app, project_id, org.id, PartnerRole.LEAD if index % 3 == 0 else PartnerRole.PARTNER
        )
        _milestone(app, project_id, f"M{index}", due_date=today + timedelta(days=index - 2))
        _milestone(
            app, project_id, f"D{index}", done_at=utcnow(), done_by_id=world.users["lead"].id
        )
        group = make_group()
        meeting = make_meeting(starts_at=utcnow() + timedelta(days=index - number // 2, hours=1))
        with app.app_context():
            db.session.execute(
                project_group.insert().values(project_id=project_id, group_id=group.id)
            )
            db.session.execute(
                project_meeting.insert().values(project_id=project_id, meeting_id=meeting.id)
            )
            db.session.add(
                AgendaItem(
                    meeting_id=meeting.id, position=0, title="Bericht", project_id=project_id
                )
            )
            for kind in (ProjectEventKind.PARTNER_ADDED, ProjectEventKind.MILESTONE_DONE):
                db.session.add(
                    ProjectEvent(
                        project_id=project_id,
                        kind=kind,
                        actor_id=world.users["lead"].id,
                        detail=str(org.id),
                    )
                )
            db.session.commit()


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_list_and_project_page_use_a_constant_number_of_queries(
    app, login, world, make_meeting, make_group, make_organization, role
):
    client = _client(login, world, role)
    project = _project(app, "Wegweiser", lead_contact_id=world.users["lead"].id)
    fill = {
        "make_meeting": make_meeting,
        "make_group": make_group,
        "make_organization": make_organization,
    }
    _fill(app, world, project.id, 1, **fill)
    few_list = _count_queries(app, client, "/projects/")
    few_detail = _count_queries(app, client, "/projects/wegweiser")
    _fill(app, world, project.id, 12, **fill)
    for number in range(30):
        other = _project(app, f"Projekt {number}")
        _partner(app, other.id, world.orgs["fr"].id, PartnerRole.LEAD)
        _partner(app, other.id, world.orgs["vhs"].id)
        _milestone(app, other.id, "A", due_date=_today(app) - timedelta(days=1))
        _milestone(app, other.id, "B", due_date=_today(app) + timedelta(days=1))
    assert _count_queries(app, client, "/projects/") == few_list
    assert _count_queries(app, client, "/projects/wegweiser") == few_detail


# --- creating ---------------------------------------------------------------------------------


def _create(client, **data):
    fields = {"name": "Wegweiser", "summary": "", "description": "", "status": "idea"}
    fields.update(data)
    return client.post("/projects/new", data=fields, headers=EN)


def test_moderator_creates_a_project(app, login, world):
    moderator = _client(login, world, "moderator")
    form = moderator.get("/projects/new", headers=EN).text
    assert 'class="privacy-reminder"' in form
    response = _create(
        moderator,
        summary="Ein Handbuch",
        description="**Alle** Infos",
        status="planning",
        lead_contact=str(world.users["lead"].id),
        lead_organization=str(world.orgs["fr"].id),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/projects/wegweiser"
    with app.app_context():
        project = db.session.scalar(sa.select(Project))
        assert project.slug == "wegweiser" and project.status is ProjectStatus.PLANNING
        assert project.lead_contact_id == world.users["lead"].id
        assert project.created_by_id == world.users["moderator"].id
        assert project.origin_group_id is None
        assert [(p.organization_id, p.role) for p in project.partners] == [
            (world.orgs["fr"].id, PartnerRole.LEAD)
        ]
        project_id = project.id
    kinds = [kind for kind, _detail, _actor in _events(app, project_id)]
    assert kinds == [ProjectEventKind.CREATED, ProjectEventKind.PARTNER_ADDED]
    page = moderator.get("/projects/wegweiser", headers=EN).text
    assert "<strong>Alle</strong>" in page and "Lea Lead" in page
    assert "created the project (status: Planning)" in page
    assert "added Flüchtlingsrat Leipzig" in page


def test_slugs_are_unique_and_fixed(app, login, world):
    moderator = _client(login, world, "moderator")
    for name in ("Café Global", "Cafe Global!", "New", "Ärger"):
        assert _create(moderator, name=name).status_code == 303, name
    with app.app_context():
        slugs = dict(db.session.execute(sa.select(Project.name, Project.slug)).all())
    assert slugs == {
        "Café Global": "cafe-global",
        "Cafe Global!": "cafe-global-2",
        "New": "new-2",
        "Ärger": "aerger",
    }
    project_id = _get_project_id(app, "cafe-global")
    moderator.post(
        "/projects/cafe-global/edit", data={"name": "Café International", "description": ""}
    )
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.name == "Café International" and project.slug == "cafe-global"


def _get_project_id(app, slug) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Project.id).where(Project.slug == slug))


def test_double_submit_creates_one_project(app, login, world):
    moderator = _client(login, world, "moderator")
    first = _create(moderator)
    second = _create(moderator)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert _count(app, Project) == 1
    follow = moderator.get(second.headers["Location"], headers=EN).text
    assert "it was not created twice" in follow


def test_a_taken_name_is_a_form_error(app, login, world):
    _create(_client(login, world, "moderator"))
    response = _create(_client(login, world, "admin"), name="WEGWEISER")
    assert response.status_code == 200
    assert 'id="name-error"' in response.text and "exists already" in response.text
    assert _count(app, Project) == 1


def test_members_cannot_create(app, login, world):
    assert _create(_client(login, world, "member")).status_code == 403
    assert _count(app, Project) == 0


def test_concurrent_creation_with_the_same_name_makes_one_project(committing_app):
    from coordination.auth.services import create_user

    with committing_app.test_request_context():
        creators = [
            create_user(
                email=f"mod{number}@example.org",
                name=f"Mod {number}",
                password="a long passphrase",
                role=Role.MODERATOR,
                locale=Locale.EN,
            )
            for number in range(4)
        ]
        db.session.commit()
        ids = [user.id for user in creators]
    clients = [
        log_in(committing_app, committing_app.test_client(), SimpleNamespace(id=user_id))
        for user_id in ids
    ]
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def post(client) -> None:
        try:
            barrier.wait(timeout=30)
            response = _create(client, name="Wegweiser")
            results.append((response.status_code, response.text))
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    statuses = sorted(status for status, _text in results)
    assert statuses == [200, 200, 200, 303]
    for status, text in results:
        if status == 200:
            assert "exists already" in text
    with committing_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 1


# --- editing, status --------------------------------------------------------------------------


def test_lead_contact_edits_the_project(app, login, world):
    project = _project(app, lead_contact_id=world.users["lead"].id)
    _project(app, "Sprachcafé")
    lead = _client(login, world, "lead")
    form = lead.get("/projects/wegweiser/edit", headers=EN).text
    assert 'value="Wegweiser"' in form and 'class="privacy-reminder"' in form
    taken = lead.post("/projects/wegweiser/edit", data={"name": "sprachcafé"}, headers=EN)
    assert taken.status_code == 200 and "exists already" in taken.text
    response = lead.post(
        "/projects/wegweiser/edit",
        data={
            "name": "Wegweiser 2027",
            "summary": "Neu",
            "description": "Text",
            "lead_contact": str(world.users["partner"].id),
        },
    )
    assert response.status_code == 303
    saved = _get(app, Project, project.id)
    assert (saved.name, saved.summary, saved.description) == ("Wegweiser 2027", "Neu", "Text")
    assert saved.lead_contact_id == world.users["partner"].id
    # The former lead contact manages no longer (no lead partner organisation).
    assert lead.get("/projects/wegweiser/edit").status_code == 403
    bad = _client(login, world, "admin").post(
        "/projects/wegweiser/edit", data={"name": "X", "lead_contact": "99999"}
    )
    assert bad.status_code == 200 and 'id="lead_contact-error"' in bad.text


def test_inactive_lead_contact_can_be_kept(app, login, world):
    project = _project(app, lead_contact_id=world.users["member"].id)
    with app.app_context():
        db.session.get(User, world.users["member"].id).is_active = False
        db.session.commit()
    response = _client(login, world, "moderator").post(
        "/projects/wegweiser/edit",
        data={"name": "Wegweiser", "lead_contact": str(world.users["member"].id)},
    )
    assert response.status_code == 303
    assert _get(app, Project, project.id).lead_contact_id == world.users["member"].id


def test_status_change_is_recorded_with_who_and_when(app, login, world):
    project = _project(app, status_changed_at=utcnow() - timedelta(days=30))
    _partner(app, project.id, world.orgs["fr"].id, PartnerRole.LEAD)
    lead = _client(login, world, "lead")  # a member of the lead partner organisation
    before = _get(app, Project, project.id).status_changed_at
    response = lead.post("/projects/wegweiser/status", data={"status": "active"})
    assert response.status_code == 303
    saved = _get(app, Project, project.id)
    assert saved.status is ProjectStatus.ACTIVE and saved.status_changed_at > before
    assert _events(app, project.id) == [(ProjectEventKind.STATUS, "active", world.users["lead"].id)]
    # The same status again changes nothing and records nothing.
    again = lead.post("/projects/wegweiser/status", data={"status": "active"})
    assert again.status_code == 303
    assert _get(app, Project, project.id).status_changed_at == saved.status_changed_at
    assert len(_events(app, project.id)) == 1
    lead.post("/projects/wegweiser/status", data={"status": "completed"})
    page = lead.get("/projects/wegweiser", headers=EN).text
    assert "set the status to Active" in page and "set the status to Completed" in page
    assert (
        'id="project-status" data-status="completed"' in page or 'data-status="completed"' in page
    )
    for value in ("", "done", NUL, HUGE):
        assert lead.post("/projects/wegweiser/status", data={"status": value}).status_code == 400


# --- partners ---------------------------------------------------------------------------------


def test_partners_are_added_changed_and_removed(app, login, world):
    project = _project(app)
    moderator = _client(login, world, "moderator")
    page = moderator.get("/projects/wegweiser", headers=EN).text
    assert 'id="project-no-lead"' in page  # no lead organisation yet, and it says so
    response = moderator.post(
        "/projects/wegweiser/partners",
        data={"organization": str(world.orgs["vhs"].id), "role": "partner"},
    )
    assert response.status_code == 303
    moderator.post(
        "/projects/wegweiser/partners",
        data={"organization": str(world.orgs["fr"].id), "role": "lead"},
    )
    # The same organisation twice: it is no longer among the choices.
    twice = moderator.post(
        "/projects/wegweiser/partners",
        data={"organization": str(world.orgs["vhs"].id), "role": "lead"},
    )
    assert twice.status_code == 200 and 'id="organization-error"' in twice.text
    with app.app_context():
        partners = {
            p.organization_id: (p.id, p.role)
            for p in db.session.scalars(
                sa.select(ProjectPartner).where(ProjectPartner.project_id == project.id)
            )
        }
    assert partners[world.orgs["vhs"].id][1] is PartnerRole.PARTNER
    page = moderator.get("/projects/wegweiser", headers=EN).text
    assert 'id="project-no-lead"' not in page
    assert page.index("Flüchtlingsrat Leipzig") < page.index("Volkshochschule Leipzig")
    # Pia (of the VHS) may not manage while the VHS is only a partner …
    pia = _client(login, world, "partner")
    assert pia.post("/projects/wegweiser/status", data={"status": "active"}).status_code == 403
    vhs_id = partners[world.orgs["vhs"].id][0]
    response = moderator.post(f"/projects/wegweiser/partners/{vhs_id}/role", data={"role": "lead"})
    assert response.status_code == 303
    # … and may once it leads.
    assert pia.post("/projects/wegweiser/status", data={"status": "active"}).status_code == 303
    same = moderator.post(f"/projects/wegweiser/partners/{vhs_id}/role", data={"role": "lead"})
    assert same.status_code == 303
    assert moderator.post(f"/projects/wegweiser/partners/{vhs_id}/role", data={}).status_code == 400
    fr_id = partners[world.orgs["fr"].id][0]
    for partner_id in (fr_id, vhs_id):
        assert (
            moderator.post(f"/projects/wegweiser/partners/{partner_id}/remove").status_code == 303
        )
    assert moderator.post(f"/projects/wegweiser/partners/{vhs_id}/remove").status_code == 404
    assert _count(app, ProjectPartner) == 0
    page = moderator.get("/projects/wegweiser", headers=EN).text
    assert 'id="project-no-lead"' in page and 'id="no-partners"' in page
    assert "removed Volkshochschule Leipzig" in page and "added Flüchtlingsrat Leipzig" in page
    kinds = [kind for kind, _detail, _actor in _events(app, project.id)]
    assert kinds.count(ProjectEventKind.PARTNER_ADDED) == 2
    assert kinds.count(ProjectEventKind.PARTNER_REMOVED) == 2


def test_another_projects_partner_is_404(app, login, world):
    _project(app)
    other = _project(app, "Sprachcafé")
    foreign = _partner(app, other.id, world.orgs["fr"].id)
    moderator = _client(login, world, "moderator")
    for path in (f"/partners/{foreign}/role", f"/partners/{foreign}/remove"):
        response = moderator.post("/projects/wegweiser" + path, data={"role": "lead"})
        assert response.status_code == 404, path
    assert _count(app, ProjectPartner) == 1


# --- milestones -------------------------------------------------------------------------------


def test_milestones_are_added_edited_checked_off_and_reopened(app, login, world):
    project = _project(app, lead_contact_id=world.users["lead"].id)
    lead = _client(login, world, "lead")
    past = (_today(app) - timedelta(days=5)).isoformat()
    response = lead.post(
        "/projects/wegweiser/milestones", data={"title": "Entwurf Kapitel 1", "due_date": past}
    )
    assert response.status_code == 303
    with app.app_context():
        milestone_id = db.session.scalar(sa.select(Milestone.id))
    assert response.headers["Location"].endswith(f"#milestone-{milestone_id}")
    # A double click adds nothing.
    lead.post(
        "/projects/wegweiser/milestones", data={"title": "Entwurf Kapitel 1", "due_date": past}
    )
    assert _count(app, Milestone) == 1
    page = lead.get("/projects/wegweiser", headers=EN).text
    item = page[page.index(f'id="milestone-{milestone_id}"') :]
    item = item[: item.index("</li>")]
    assert "milestone-is-overdue" in page and "Overdue" in item
    edit = lead.get(f"/projects/wegweiser/milestones/{milestone_id}/edit")
    assert edit.status_code == 200 and "Entwurf Kapitel 1" in edit.text
    later = (_today(app) + timedelta(days=10)).isoformat()
    response = lead.post(
        f"/projects/wegweiser/milestones/{milestone_id}/edit",
        data={"title": "Entwurf Kapitel 1 und 2", "due_date": later},
    )
    assert response.status_code == 303
    saved = _get(app, Milestone, milestone_id)
    assert saved.title == "Entwurf Kapitel 1 und 2" and saved.due_date.isoformat() == later
    assert "milestone-is-overdue" not in lead.get("/projects/wegweiser").text

    assert lead.post(f"/projects/wegweiser/milestones/{milestone_id}/done").status_code == 303
    assert lead.post(f"/projects/wegweiser/milestones/{milestone_id}/done").status_code == 303
    done = _get(app, Milestone, milestone_id)
    assert done.done_at is not None and done.done_by_id == world.users["lead"].id
    page = lead.get("/projects/wegweiser", headers=EN).text
    assert "done by Lea Lead on" in page and "milestone-is-done" in page
    assert lead.post(f"/projects/wegweiser/milestones/{milestone_id}/reopen").status_code == 303
    assert lead.post(f"/projects/wegweiser/milestones/{milestone_id}/reopen").status_code == 303
    reopened = _get(app, Milestone, milestone_id)
    assert reopened.done_at is None and reopened.done_by_id is None
    assert [kind for kind, _detail, _actor in _events(app, project.id)] == [
        ProjectEventKind.MILESTONE_ADDED,
        ProjectEventKind.MILESTONE_DONE,
        ProjectEventKind.MILESTONE_REOPENED,
    ]
    page = lead.get("/projects/wegweiser", headers=EN).text
    assert "completed the milestone “Entwurf Kapitel 1 und 2”" in page
    assert "reopened the milestone" in page


def test_milestone_without_due_date_and_bad_dates(app, login, world):
    _project(app)
    moderator = _client(login, world, "moderator")
    response = moderator.post("/projects/wegweiser/milestones", data={"title": "Irgendwann"})
    assert response.status_code == 303
    assert _get(app, Milestone, _one(app, Milestone.id)).due_date is None
    page = moderator.get("/projects/wegweiser", headers=EN).text
    assert "no due date" in page
    for bad in ("1999-12-31", "2101-01-01", "31.12.2026", "2026-02-30", NUL):
        response = moderator.post(
            "/projects/wegweiser/milestones", data={"title": "Falsch", "due_date": bad}
        )
        assert response.status_code == 200, bad
        assert 'id="due_date-error"' in response.text, bad
    assert _count(app, Milestone) == 1


def _one(app, column):
    with app.app_context():
        return db.session.scalar(sa.select(column))


def test_another_projects_milestone_is_404(app, login, world):
    _project(app)
    other = _project(app, "Sprachcafé")
    foreign = _milestone(app, other.id)
    moderator = _client(login, world, "moderator")
    assert moderator.get(f"/projects/wegweiser/milestones/{foreign}/edit").status_code == 404
    for action in ("edit", "done", "reopen"):
        response = moderator.post(
            f"/projects/wegweiser/milestones/{foreign}/{action}", data={"title": "X"}
        )
        assert response.status_code == 404, action
    for bad in ("99999999", "2147483648", "99999999999999999999"):
        assert moderator.post(f"/projects/wegweiser/milestones/{bad}/done").status_code == 404
    assert _get(app, Milestone, foreign).done_at is None


# --- links to groups and meetings -------------------------------------------------------------


def test_groups_are_linked_only_if_the_actor_may_read_them(app, login, world, make_group):
    project = _project(app, lead_contact_id=world.users["member"].id)
    other_secret = make_group(name="AG Geheim", confidentiality=Confidentiality.CONFIDENTIAL)
    member = _client(login, world, "member")  # the lead contact; reads open groups only
    page = member.get("/projects/wegweiser").text
    assert "AG Wohnen" in page and "AG UMA" not in page and "AG Geheim" not in page
    hidden = member.post("/projects/wegweiser/groups", data={"group": str(other_secret.id)})
    assert hidden.status_code == 200 and 'id="group-error"' in hidden.text
    assert (
        member.post(
            "/projects/wegweiser/groups", data={"group": str(world.groups["open"].id)}
        ).status_code
        == 303
    )
    # The lead (a member of the AG UMA) links the confidential group too.
    lead = _client(login, world, "admin")
    lead.post("/projects/wegweiser/groups", data={"group": str(world.groups["secret"].id)})
    with app.app_context():
        linked = set(
            db.session.scalars(
                sa.select(project_group.c.group_id).where(project_group.c.project_id == project.id)
            )
        )
    assert linked == {world.groups["open"].id, world.groups["secret"].id}
    # Outsiders neither see the confidential group nor can unlink it.
    page = member.get("/projects/wegweiser").text
    assert f'id="linked-group-{world.groups["open"].id}"' in page
    assert "AG UMA" not in page and "ag-uma" not in page
    response = member.post(f"/projects/wegweiser/groups/{world.groups['secret'].id}/unlink")
    assert response.status_code == 404
    page = _client(login, world, "lead").get("/projects/wegweiser").text
    assert f'id="linked-group-{world.groups["secret"].id}"' in page
    assert (
        member.post(f"/projects/wegweiser/groups/{world.groups['open'].id}/unlink").status_code
        == 303
    )
    # Unlinking what is not linked: 404.
    assert (
        member.post(f"/projects/wegweiser/groups/{world.groups['open'].id}/unlink").status_code
        == 404
    )


def test_meetings_are_linked_only_if_the_actor_may_see_them(app, login, world, make_meeting):
    project = _project(app, lead_contact_id=world.users["member"].id)
    upcoming = make_meeting(title="Vernetzungstreffen Dezember")
    past = make_meeting(
        title="Vernetzungstreffen Oktober",
        starts_at=utcnow() - timedelta(days=40),
        ends_at=utcnow() - timedelta(days=40) + timedelta(hours=2),
    )
    secret = make_meeting(
        title="AG UMA Fallbesprechung",
        group_id=world.groups["secret"].id,
        visibility=Visibility.GROUP,
    )
    member = _client(login, world, "member")
    page = member.get("/projects/wegweiser").text
    assert "Vernetzungstreffen Dezember" in page and "AG UMA Fallbesprechung" not in page
    for meeting in (upcoming, past):
        response = member.post("/projects/wegweiser/meetings", data={"meeting": str(meeting.id)})
        assert response.status_code == 303
    hidden = member.post("/projects/wegweiser/meetings", data={"meeting": str(secret.id)})
    assert hidden.status_code == 200 and 'id="meeting-error"' in hidden.text
    _client(login, world, "admin").post(
        "/projects/wegweiser/meetings", data={"meeting": str(secret.id)}
    )
    assert _count(app, project_meeting, project_meeting.c.project_id == project.id) == 3
    page = member.get("/projects/wegweiser").text
    upcoming_list = page[page.index('id="linked-upcoming"') :]
    assert f'id="linked-meeting-{upcoming.id}"' in upcoming_list[: upcoming_list.index("</ul>")]
    past_list = page[page.index('id="linked-past"') :]
    assert f'id="linked-meeting-{past.id}"' in past_list[: past_list.index("</ul>")]
    assert "AG UMA Fallbesprechung" not in page
    assert (
        f'id="linked-meeting-{secret.id}"'
        in _client(login, world, "lead").get("/projects/wegweiser").text
    )
    assert member.post(f"/projects/wegweiser/meetings/{secret.id}/unlink").status_code == 404
    assert member.post(f"/projects/wegweiser/meetings/{past.id}/unlink").status_code == 303
    assert member.post(f"/projects/wegweiser/meetings/{past.id}/unlink").status_code == 404
    assert member.post("/projects/wegweiser/meetings/99999999/unlink").status_code == 404


def test_project_page_lists_agenda_items_of_visible_meetings(app, login, world, make_meeting):
    project = _project(app)
    open_meeting = make_meeting(title="Vernetzungstreffen")
    secret = make_meeting(
        title="AG UMA Treffen", group_id=world.groups["secret"].id, visibility=Visibility.GROUP
    )
    with app.app_context():
        items = [
            AgendaItem(meeting_id=meeting.id, position=0, title=title, project_id=project.id)
            for meeting, title in ((open_meeting, "Wegweiser: Stand"), (secret, "Vertraulich"))
        ]
        db.session.add_all(items)
        db.session.commit()
        open_item, secret_item = (item.id for item in items)
    page = _client(login, world, "member").get("/projects/wegweiser").text
    assert f'id="mention-{open_item}"' in page and "Wegweiser: Stand" in page
    assert f'id="mention-{secret_item}"' not in page and "Vertraulich" not in page
    page = _client(login, world, "lead").get("/projects/wegweiser").text
    assert f'id="mention-{secret_item}"' in page


# --- starting a project from a problem or an adopted solution ---------------------------------


def test_lead_starts_a_project_from_an_open_groups_problem(app, login, world):
    issue, _none = _problem(
        app, world.groups["open"].id, title="Keine Bonitätsauskunft", description="Vermieter …"
    )
    lead = _client(login, world, "lead")
    problem_page = lead.get(f"/groups/ag-wohnen/issues/{issue}").text
    assert f'href="/projects/new/from-problem/{issue}"' in problem_page
    member_page = _client(login, world, "member").get(f"/groups/ag-wohnen/issues/{issue}").text
    assert "/projects/new/from-problem/" not in member_page
    form = lead.get(f"/projects/new/from-problem/{issue}", headers=EN).text
    assert 'value="Keine Bonitätsauskunft"' in form and "Vermieter …" in form
    assert 'id="project-confidential-warning"' not in form
    assert 'class="privacy-reminder"' in form
    response = lead.post(
        f"/projects/new/from-problem/{issue}",
        data={"name": "Mietbürgschaften", "description": "", "status": "idea"},
    )
    assert response.status_code == 303
    with app.app_context():
        project = db.session.scalar(sa.select(Project))
        assert project.origin_group_id == world.groups["open"].id
        assert project.origin_issue_id == issue and project.origin_solution_id is None
        assert [group.id for group in project.groups] == [world.groups["open"].id]
        assert project.created_by_id == world.users["lead"].id
    page = _client(login, world, "member").get(response.headers["Location"], headers=EN).text
    assert 'id="project-origin"' in page and f"/groups/ag-wohnen/issues/{issue}" in page


def test_only_adopted_solutions_start_projects(app, login, world):
    issue, adopted = _problem(
        app, world.groups["open"].id, text="Bürgschaftsfonds gründen", status=SolutionStatus.ADOPTED
    )
    with app.app_context():
        proposed = Solution(issue_id=issue, text="Anders", status=SolutionStatus.PROPOSED)
        db.session.add(proposed)
        db.session.commit()
        proposed_id = proposed.id
    lead = _client(login, world, "lead")
    page = lead.get(f"/groups/ag-wohnen/issues/{issue}").text
    assert f'id="project-from-solution-{adopted}"' in page
    assert f'id="project-from-solution-{proposed_id}"' not in page
    assert lead.get(f"/projects/new/from-solution/{proposed_id}").status_code == 404
    assert lead.get("/projects/new/from-solution/99999999").status_code == 404
    form = lead.get(f"/projects/new/from-solution/{adopted}").text
    assert "Bürgschaftsfonds gründen" in form
    response = lead.post(
        f"/projects/new/from-solution/{adopted}",
        data={"name": "Bürgschaftsfonds", "status": "idea"},
    )
    assert response.status_code == 303
    with app.app_context():
        project = db.session.scalar(sa.select(Project))
        assert (project.origin_issue_id, project.origin_solution_id) == (issue, adopted)
    page = lead.get(response.headers["Location"]).text
    assert f"/groups/ag-wohnen/issues/{issue}#solution-{adopted}" in page


def test_confidential_origin_is_not_copied_and_stays_hidden(app, login, world):
    issue, adopted = _problem(
        app,
        world.groups["secret"].id,
        title="Vormundschaft für A. B.",
        description="Geheime Beschreibung",
        text="Geheimer Lösungstext",
        status=SolutionStatus.ADOPTED,
    )
    lead = _client(login, world, "lead")
    for path in (f"/projects/new/from-problem/{issue}", f"/projects/new/from-solution/{adopted}"):
        form = lead.get(path, headers=EN).text
        assert 'id="project-confidential-warning"' in form, path
        assert "visible to all members" in form
        form_part = form[form.index('id="project-form"') :]
        assert "Vormundschaft für A. B." not in form_part, path  # no prefilled name
        assert "Geheime Beschreibung" not in form and "Geheimer Lösungstext" not in form
    response = lead.post(
        f"/projects/new/from-solution/{adopted}",
        data={"name": "Patenschaften", "description": "Allgemein", "status": "planning"},
    )
    assert response.status_code == 303
    path = response.headers["Location"]
    for role in ("member", "moderator"):
        page = _client(login, world, role).get(path).text
        assert "Patenschaften" in page, role
        assert 'id="project-origin"' not in page, role
        for secret in ("Vormundschaft", "ag-uma", "AG UMA", f"/issues/{issue}"):
            assert secret not in page, (role, secret)
    for role in ("lead", "admin"):
        page = _client(login, world, role).get(path).text
        assert 'id="project-origin"' in page and "Vormundschaft für A. B." in page, role
        assert f'id="linked-group-{world.groups["secret"].id}"' in page
    # The project list shows the project to everyone, with nothing of its origin.
    listing = _client(login, world, "member").get("/projects/").text
    assert "Patenschaften" in listing and "AG UMA" not in listing


def test_outsiders_cannot_start_from_a_confidential_problem(app, login, world):
    issue, adopted = _problem(
        app, world.groups["secret"].id, text="Idee", status=SolutionStatus.ADOPTED
    )
    for role in ("member", "moderator"):
        client = _client(login, world, role)
        assert client.get(f"/projects/new/from-problem/{issue}").status_code == 404
        response = client.post(
            f"/projects/new/from-solution/{adopted}", data={"name": "X", "status": "idea"}
        )
        assert response.status_code == 404
    assert _count(app, Project) == 0


# --- text, bad input --------------------------------------------------------------------------


def test_description_markdown_is_sanitised(app, login, world):
    _project(
        app,
        description=(
            "<script>alert(1)</script> [klick](javascript:alert(2)) "
            '<img src=x onerror="alert(3)"> **fett**'
        ),
        summary="<b>kein HTML</b>",
    )
    page = _client(login, world, "member").get("/projects/wegweiser").text
    assert "<script>alert" not in page and 'href="javascript' not in page
    assert "<img" not in page and "<strong>fett</strong>" in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;kein HTML&lt;/b&gt;" in page


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Project, ProjectPartner, Milestone, ProjectEvent)
        } | {
            "groups": db.session.scalar(sa.select(sa.func.count()).select_from(project_group)),
            "meetings": db.session.scalar(sa.select(sa.func.count()).select_from(project_meeting)),
        }


BAD_VALUES = {"empty": "", "huge": HUGE, "nul": NUL, "wrong type": ["a", "b"], "huge id": "9" * 25}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_bad_input_never_causes_500_or_partial_writes(app, login, world, make_meeting, kind):
    project = _project(app)
    milestone = _milestone(app, project.id)
    partner = _partner(app, project.id, world.orgs["vhs"].id)
    meeting = make_meeting()
    issue, adopted = _problem(app, world.groups["open"].id, text="x", status=SolutionStatus.ADOPTED)
    forms: list[tuple[str, str, dict[str, object]]] = [
        ("moderator", "/projects/new", {"name": "Neu", "summary": "", "description": "",
                                        "status": "idea", "lead_contact": "",
                                        "lead_organization": ""}),
        ("lead", f"/projects/new/from-problem/{issue}", {"name": "Neu", "status": "idea"}),
        ("lead", f"/projects/new/from-solution/{adopted}", {"name": "Neu", "status": "idea"}),
        ("moderator", "/projects/wegweiser/edit", {"name": "Wegweiser", "summary": "",
                                                    "description": "", "lead_contact": ""}),
        ("moderator", "/projects/wegweiser/status", {"status": "active"}),
        ("moderator", "/projects/wegweiser/partners", {"organization": str(world.orgs["fr"].id),
                                                        "role": "lead"}),
        ("moderator", f"/projects/wegweiser/partners/{partner}/role", {"role": "lead"}),
        ("moderator", "/projects/wegweiser/milestones", {"title": "Neu", "due_date": ""}),
        ("moderator", f"/projects/wegweiser/milestones/{milestone}/edit",
         {"title": "Neu", "due_date": ""}),
        ("moderator", "/projects/wegweiser/groups", {"group": str(world.groups["open"].id)}),
        ("moderator", "/projects/wegweiser/meetings", {"meeting": str(meeting.id)}),
    ]  # fmt: skip
    for role, path, valid in forms:
        for field in valid:
            before = _row_counts(app)
            response = _client(login, world, role).post(
                path, data={**valid, field: BAD_VALUES[kind]}
            )
            assert response.status_code < 500, (path, field, response.status_code)
            if response.status_code == 200:
                assert 'class="errors"' in response.text, (path, field)
            if kind in ("nul", "huge"):
                assert _row_counts(app) == before, (path, field)


def test_unicode_is_kept_intact(app, login, world):
    moderator = _client(login, world, "moderator")
    response = _create(moderator, name=UNICODE, summary=UNICODE, description=UNICODE)
    assert response.status_code == 303
    page = moderator.get(response.headers["Location"]).text
    assert page.count(UNICODE) >= 3
    with app.app_context():
        project = db.session.scalar(sa.select(Project))
        assert project.name == UNICODE and project.slug
    moderator.post(project_path := response.headers["Location"] + "/milestones",
                   data={"title": UNICODE})  # fmt: skip
    assert UNICODE in moderator.get(project_path.rsplit("/", 1)[0]).text
    assert _one(app, Milestone.title) == UNICODE


@pytest.mark.parametrize(
    "path",
    [
        "/projects/unknown",
        "/projects/%00",
        "/projects/" + "x" * 5000,
        "/projects/unknown/edit",
        "/projects/new/from-problem/99999999",
        "/projects/new/from-problem/99999999999999999999",
        "/projects/new/from-solution/2147483648",
        "/projects/wegweiser/milestones/1.5/edit",
    ],
)
def test_unknown_projects_and_ids_are_404(app, login, world, path):
    _project(app)
    assert _client(login, world, "admin").get(path).status_code == 404


def test_unknown_project_on_manage_routes_is_404(app, login, world):
    admin = _client(login, world, "admin")
    for path in (
        "/status",
        "/partners",
        "/milestones",
        "/groups",
        "/meetings",
        "/milestones/1/done",
    ):
        assert admin.post("/projects/unknown" + path).status_code == 404, path


# --- agenda items about a project -------------------------------------------------------------


def test_agenda_items_link_a_project(app, login, world, make_meeting):
    project = _project(app)
    meeting = make_meeting(title="Vernetzungstreffen", visibility=Visibility.PUBLIC)
    moderator = _client(login, world, "moderator")
    agenda = moderator.get(f"/meetings/{meeting.id}/agenda").text
    assert f'<option value="{project.id}">Wegweiser</option>' in agenda
    response = moderator.post(
        f"/meetings/{meeting.id}/agenda",
        data={"title": "Wegweiser: Stand", "project_id": str(project.id)},
    )
    assert response.status_code == 303
    with app.app_context():
        item = db.session.scalar(sa.select(AgendaItem))
        assert item.project_id == project.id
        item_id = item.id
    agenda = moderator.get(f"/meetings/{meeting.id}/agenda").text
    assert f'id="agenda-project-{item_id}" href="/projects/wegweiser"' in agenda
    # The meeting page links the project for members, but not for visitors (projects are
    # network-internal).
    page = _client(login, world, "member").get(f"/meetings/{meeting.id}", headers=EN).text
    assert f'id="agenda-project-{item_id}"' in page and "Project: Wegweiser" in page
    visitor = app.test_client().get(f"/meetings/{meeting.id}").text
    assert f'id="agenda-item-{item_id}"' in visitor and "/projects/wegweiser" not in visitor
    # The project page lists the item.
    assert f'id="mention-{item_id}"' in moderator.get("/projects/wegweiser").text
    # The item form shows the project and can unlink it.
    edit = moderator.get(f"/meetings/{meeting.id}/agenda/{item_id}/edit").text
    assert 'id="item-project"' in edit and f'<option selected value="{project.id}">' in edit
    response = moderator.post(
        f"/meetings/{meeting.id}/agenda/{item_id}/edit",
        data={"title": "Wegweiser: Stand", "project_id": ""},
    )
    assert response.status_code == 303
    assert _get(app, AgendaItem, item_id).project_id is None
    bad = moderator.post(
        f"/meetings/{meeting.id}/agenda", data={"title": "X", "project_id": "99999999"}
    )
    assert bad.status_code == 200 and 'id="project_id-error"' in bad.text


def test_agenda_form_has_no_project_select_without_projects(app, login, world, make_meeting):
    meeting = make_meeting()
    agenda = _client(login, world, "moderator").get(f"/meetings/{meeting.id}/agenda").text
    assert 'name="project_id"' not in agenda


# --- for the dashboard ------------------------------------------------------------------------


def test_projects_of_a_user(app, world):
    mine_by_org = _project(app, "Wegweiser")
    _partner(app, mine_by_org.id, world.orgs["fr"].id)
    _project(app, "Sprachcafé", lead_contact_id=world.users["lead"].id)
    done = _project(app, "Alt", status=ProjectStatus.COMPLETED)
    _partner(app, done.id, world.orgs["fr"].id, PartnerRole.LEAD)
    _project(app, "Fremd")
    with app.test_request_context():
        lead = db.session.get(User, world.users["lead"].id)
        names = [project.name for project in services.projects_of(lead)]
        assert names == ["Sprachcafé", "Wegweiser", "Alt"]
        member = db.session.get(User, world.users["member"].id)
        assert services.projects_of(member) == []


def test_is_overdue_uses_the_local_date(app):
    with app.app_context():
        today = local_today()
        assert services.is_overdue(Milestone(title="a", due_date=today - timedelta(days=1)))
        assert not services.is_overdue(Milestone(title="b", due_date=today))
        assert not services.is_overdue(
            Milestone(title="c", due_date=date(2000, 1, 1), done_at=utcnow())
        )
        assert not services.is_overdue(Milestone(title="d"))
