"""Command-line contracts: `flask seed-demo` and `flask create-user`."""

from __future__ import annotations

import sqlalchemy as sa

from coordination.auth.models import Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.organizations.models import Organization


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_demo_creates_the_demo_network(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for email in ("admin@example.org", "moderator@example.org", "member@example.org"):
        assert email in result.output
    assert "knotenpunkt-demo" in result.output
    assert _count(app, Organization) >= 10
    with app.app_context():
        roles = dict(db.session.execute(sa.select(User.email, User.role)).all())
        assert roles["admin@example.org"] is Role.ADMIN
        assert roles["moderator@example.org"] is Role.MODERATOR
        assert roles["member@example.org"] is Role.MEMBER
        vhs = db.session.scalar(
            sa.select(Organization).where(Organization.name == "Volkshochschule Leipzig")
        )
        assert "Löhrstraße" in vhs.description


def test_seed_demo_creates_the_working_groups(app, runner):
    from coordination.groups.models import Confidentiality, GroupMembership, GroupRole, WorkingGroup

    runner.invoke(args=["seed-demo"])
    with app.app_context():
        uma = db.session.scalar(sa.select(WorkingGroup).where(WorkingGroup.slug == "ag-uma"))
        assert uma.confidentiality is Confidentiality.CONFIDENTIAL
        lead = db.session.scalar(
            sa.select(User.email)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == uma.id, GroupMembership.role == GroupRole.LEAD)
        )
        assert lead == "member@example.org"
        wohnen = db.session.scalar(sa.select(WorkingGroup).where(WorkingGroup.slug == "ag-wohnen"))
        assert wohnen.confidentiality is Confidentiality.OPEN


def test_demo_accounts_can_log_in(app, runner):
    runner.invoke(args=["seed-demo", "--password", "my demo passphrase"])
    response = app.test_client().post(
        "/auth/login", data={"email": "moderator@example.org", "password": "my demo passphrase"}
    )
    assert response.status_code == 303


def test_seed_demo_refuses_a_database_with_accounts(app, runner, users):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "--force" in result.output
    assert _count(app, User) == 3


def test_seed_demo_if_empty_leaves_existing_data_alone(app, runner, users):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert _count(app, User) == 3


def test_seed_demo_force_replaces_everything(app, runner, users):
    result = runner.invoke(args=["seed-demo", "--force"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        emails = set(db.session.scalars(sa.select(User.email)))
    assert "mod@example.org" not in emails
    assert "moderator@example.org" in emails


def test_create_user_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "Neu@Example.org", "--name", "Neu", "--role", "moderator",
              "--password-stdin"],
        input="a long enough passphrase\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "neu@example.org"))
        assert user.role is Role.MODERATOR
    response = app.test_client().post(
        "/auth/login", data={"email": "neu@example.org", "password": "a long enough passphrase"}
    )
    assert response.status_code == 303


def test_create_user_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "p@example.org", "--name", "P"],
        input="prompted passphrase\nprompted passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert _count(app, User) == 1


def test_create_user_refuses_bad_input(app, runner, users):
    cases = [
        (["--email", "member@example.org", "--name", "Dup"], "long enough password"),
        (["--email", "not-an-email", "--name", "X"], "long enough password"),
        (["--email", "x@example.org", "--name", "X"], "short"),
        (["--email", "x@example.org", "--name", ""], "long enough password"),
        (["--email", "x@example.org", "--name", "X", "--role", "king"], "long enough password"),
    ]
    for args, password in cases:
        result = runner.invoke(
            args=["create-user", *args, "--password-stdin"], input=password + "\n"
        )
        assert result.exit_code != 0, args
    assert _count(app, User) == 3


def test_seed_demo_creates_a_season_of_network_meetings(app, runner):
    from datetime import time

    from coordination.attendance.models import Attendance
    from coordination.meetings.models import Meeting, MeetingStatus, Minutes
    from coordination.registrations.models import Registration
    from coordination.timeutil import utc_to_local

    runner.invoke(args=["seed-demo"])
    with app.app_context():
        network = db.session.scalars(
            sa.select(Meeting).where(Meeting.title == "Vernetzungstreffen Flüchtlingshilfe")
        ).all()
        now = utcnow()
        past = [m for m in network if m.starts_at < now]
        future = [m for m in network if m.starts_at >= now]
        assert len(past) >= 4 and len(future) >= 10
        assert {utc_to_local(m.starts_at).time() for m in network} == {time(17, 0)}
        assert {utc_to_local(m.starts_at).weekday() for m in network} == {1}  # Tuesdays
        assert sum(m.status is MeetingStatus.CANCELLED for m in future) == 1
        past_ids = [m.id for m in past]
        attended = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Attendance.organization_id))).where(
                Attendance.meeting_id.in_(past_ids)
            )
        )
        assert attended >= 4  # several organisations represented
        assert db.session.scalar(
            sa.select(sa.func.count(Minutes.id)).where(Minutes.meeting_id.in_(past_ids))
        ) == len(past)
        guests = db.session.scalar(
            sa.select(sa.func.count(Registration.id)).where(Registration.guest_email.is_not(None))
        )
        assert guests >= 1
        group_meetings = db.session.scalar(
            sa.select(sa.func.count(Meeting.id)).where(Meeting.group_id.is_not(None))
        )
        assert group_meetings >= 3


def test_purge_guests_deletes_only_old_unconfirmed_guest_registrations(app, runner, make_meeting):
    from datetime import timedelta

    from coordination.meetings.models import Visibility
    from coordination.registrations.models import Registration, RegistrationStatus

    meeting = make_meeting(visibility=Visibility.PUBLIC, allows_guests=True)
    with app.app_context():
        old = utcnow() - timedelta(hours=49)
        db.session.add_all(
            [
                Registration(meeting_id=meeting.id, guest_name="Old", guest_email="old@example.org",
                             status=RegistrationStatus.PENDING, created_at=old),
                Registration(meeting_id=meeting.id, guest_name="New", guest_email="new@example.org",
                             status=RegistrationStatus.PENDING),
                Registration(meeting_id=meeting.id, guest_name="Ok", guest_email="ok@example.org",
                             status=RegistrationStatus.CONFIRMED, created_at=old),
            ]
        )  # fmt: skip
        db.session.commit()
    result = runner.invoke(args=["meetings", "purge-guests"])
    assert result.exit_code == 0 and "1 unconfirmed" in result.output
    with app.app_context():
        left = set(db.session.scalars(sa.select(Registration.guest_email)))
    assert left == {"new@example.org", "ok@example.org"}


def test_seed_demo_fills_the_groups_problem_trail(app, runner):
    from coordination.actions.models import Action, ActionStatus
    from coordination.groups.models import WorkingGroup
    from coordination.problems.models import GroupIssue, Solution, SolutionStatus
    from coordination.timeutil import local_today

    runner.invoke(args=["seed-demo"])
    with app.app_context():
        uma = db.session.scalar(sa.select(WorkingGroup).where(WorkingGroup.slug == "ag-uma"))
        statuses = set(
            db.session.scalars(
                sa.select(Solution.status)
                .join(GroupIssue, GroupIssue.id == Solution.issue_id)
                .where(GroupIssue.group_id == uma.id)
            )
        )
        assert statuses == set(SolutionStatus)
        overdue = db.session.scalar(
            sa.select(sa.func.count(Action.id)).where(
                Action.group_id == uma.id,
                Action.status == ActionStatus.OPEN,
                Action.due_date < local_today(),
            )
        )
        assert overdue >= 1
        titles = db.session.scalars(sa.select(GroupIssue.title)).all()
        assert any("Vormund" in title for title in titles)
        assert any("Schulplätze" in title for title in titles)
