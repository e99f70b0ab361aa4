"""`flask seed-demo` builds the Wegweiser and more projects, and the pages show them."""

from __future__ import annotations

import sqlalchemy as sa

from coordination.extensions import db
from coordination.groups.models import WorkingGroup
from coordination.meetings.models import AgendaItem, Meeting, MeetingKind
from coordination.problems.models import Solution, SolutionStatus
from coordination.projects import services
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectEvent,
    ProjectEventKind,
    ProjectStatus,
)
from coordination.timeutil import local_today

EN = {"Accept-Language": "en"}


def _seed(runner) -> None:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def _login(app, email: str):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": "knotenpunkt-demo"})
    assert response.status_code == 303
    return client


def test_seed_demo_creates_the_wegweiser_project(app, runner):
    _seed(runner)
    with app.app_context():
        project = db.session.scalar(sa.select(Project).where(Project.slug == "wegweiser"))
        assert project is not None and project.status is ProjectStatus.ACTIVE
        partners = services.partners_of(project)
        assert len(partners) >= 4
        assert [p.role for p in partners].count(PartnerRole.LEAD) == 1
        assert project.lead_contact is not None
        today = local_today()
        milestones = services.milestones_of(project)
        done = [m for m in milestones if m.done_at is not None]
        overdue = [m for m in milestones if services.is_overdue(m, today)]
        future = [m for m in milestones if m.done_at is None and m.due_date and m.due_date >= today]
        assert done and overdue and future
        assert all(m.done_by_id is not None for m in done)
        assert [g.slug for g in project.groups] == ["ag-wegweiser"]
        assert any(m.kind is MeetingKind.NETWORK for m in project.meetings)
        items = db.session.scalars(
            sa.select(AgendaItem).where(AgendaItem.project_id == project.id)
        ).all()
        assert items
        kinds = set(
            db.session.scalars(
                sa.select(ProjectEvent.kind).where(ProjectEvent.project_id == project.id)
            )
        )
        assert {ProjectEventKind.CREATED, ProjectEventKind.STATUS} <= kinds
        assert ProjectEventKind.MILESTONE_DONE in kinds


def test_seed_demo_creates_a_project_from_an_adopted_solution(app, runner):
    _seed(runner)
    with app.app_context():
        projects = db.session.scalars(sa.select(Project)).all()
        assert len(projects) >= 2
        started = [p for p in projects if p.origin_solution_id is not None]
        assert started
        project = started[0]
        solution = db.session.get(Solution, project.origin_solution_id)
        assert solution.status is SolutionStatus.ADOPTED
        group = db.session.get(WorkingGroup, project.origin_group_id)
        assert group.slug == "ag-uma" and group in project.groups
        # The project's own text copies nothing of the confidential group's content.
        issue_title = solution.issue.title
        for text in (project.name, project.summary, project.description):
            assert solution.text not in text and issue_title not in text
        slug, issue_id = project.slug, solution.issue_id
    # An outsider (Samir is not in the AG UMA) sees the project but not where it came from.
    page = _login(app, "samir@example.org").get(f"/projects/{slug}").text
    assert 'id="project-origin"' not in page and "ag-uma" not in page
    page = _login(app, "member@example.org").get(f"/projects/{slug}").text
    assert f"/groups/ag-uma/issues/{issue_id}" in page


def test_demo_pages_show_the_projects(app, runner):
    _seed(runner)
    client = _login(app, "samir@example.org")
    listing = client.get("/projects/", headers=EN).text
    assert "Wegweiser" in listing and "overdue" in listing
    page = client.get("/projects/wegweiser", headers=EN).text
    assert "milestone-is-overdue" in page and "milestone-is-done" in page
    assert 'id="linked-upcoming"' in page and 'id="agenda-mentions"' in page
    with app.app_context():
        meeting_id = db.session.scalar(
            sa.select(Meeting.id)
            .join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
            .where(AgendaItem.project_id.is_not(None))
            .order_by(Meeting.starts_at)
        )
    assert 'href="/projects/wegweiser"' in client.get(f"/meetings/{meeting_id}").text


def test_seed_demo_force_replaces_the_projects(app, runner):
    _seed(runner)
    result = runner.invoke(args=["seed-demo", "--force"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        names = db.session.scalars(sa.select(Project.name)).all()
        assert names.count("Wegweiser") == 1
        assert db.session.scalar(sa.select(sa.func.count(Milestone.id))) >= 5
