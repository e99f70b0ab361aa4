"""Meeting and action reminders: who gets one, when, in which language, and only once.

Times are passed explicitly (``now``/``today``); mails go through the outbox to the real
``smtp_server`` fixture where delivery matters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from coordination.actions.models import Action, ActionStatus
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import Confidentiality, GroupMembership, GroupRole, WorkingGroup
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.mail.services import deliver_due
from coordination.meetings.models import Meeting, MeetingStatus, Visibility
from coordination.meetings.permissions import GroupAccess, can_view_meeting
from coordination.notifications import preferences
from coordination.notifications.models import EmailOptOut, NotificationPreference, Topic
from coordination.notifications.reminders import queue_action_reminders, queue_meeting_reminders
from coordination.registrations.models import Registration, RegistrationStatus
from tests.conftest import SMTPRecorder, free_port

#: Tuesday, 11 March 2031, 18:00 in Leipzig (UTC+1).
START = datetime(2031, 3, 11, 17, 0, tzinfo=UTC)
#: Nine hours before: inside the default 24-hour lead time.
NOW = START - timedelta(hours=9)
LONG_AGO = START - timedelta(days=10)
UNSUBSCRIBE = re.compile(r"https://knotenpunkt\.test(/notifications/unsubscribe/[A-Za-z0-9_.\-]+)")


# --- helpers ---------------------------------------------------------------------------------


def _meeting(make_meeting, **fields: Any) -> Meeting:
    fields.setdefault("starts_at", START)
    fields.setdefault("ends_at", fields["starts_at"] + timedelta(hours=2))
    fields.setdefault("title", "Vernetzungstreffen März")
    return make_meeting(**fields)


def _register(
    app: Flask,
    meeting: Meeting,
    *,
    user: User | None = None,
    guest: str | None = None,
    status: RegistrationStatus = RegistrationStatus.CONFIRMED,
    created_at: datetime = LONG_AGO,
    locale: Locale | None = None,
) -> int:
    with app.app_context():
        registration = Registration(
            meeting_id=meeting.id,
            user_id=user.id if user is not None else None,
            guest_name="" if user is not None else "Gabi Gast",
            guest_email=guest,
            status=status,
            created_at=created_at,
            confirmed_at=created_at if status is RegistrationStatus.CONFIRMED else None,
            locale=locale,
        )
        db.session.add(registration)
        db.session.commit()
        return registration.id


def _remind(app: Flask, now: datetime = NOW) -> int:
    with app.app_context():
        count = queue_meeting_reminders(now)
        db.session.commit()
    return count


def _outbox(app: Flask, topic: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if topic is not None:
            query = query.where(OutboxMessage.topic == topic)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
    return rows


def _deliver(app: Flask, config: dict[str, Any]) -> Any:
    with app.app_context():
        app.config.update(config)
        return deliver_due()


def _by_recipient(smtp_server: SMTPRecorder) -> dict[str, EmailMessage]:
    return {str(message["To"]): message for message in smtp_server.messages}


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _set_preferences(app: Flask, user: User, **values: Any) -> None:
    with app.app_context():
        preferences.save_preferences(db.session.get(User, user.id), **values)
        db.session.commit()


def _update(app: Flask, model: type, object_id: int, **values: Any) -> None:
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == object_id).values(**values))
        db.session.commit()


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = db.session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)


# --- meeting reminders: who and in which language ----------------------------------------------


def test_reminder_reaches_confirmed_member_and_guest_in_their_language(
    app, make_user, make_meeting, smtp_server, smtp_config
):
    member = make_user(email="mia@example.org", name="Mia", locale=Locale.EN)
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, user=member)
    _register(app, meeting, guest="gabi@example.org", locale=Locale.DE)

    assert _remind(app) == 2
    report = _deliver(app, smtp_config)
    assert len(report.sent) == 2

    mails = _by_recipient(smtp_server)
    assert set(mails) == {"mia@example.org", "gabi@example.org"}
    english, german = mails["mia@example.org"], mails["gabi@example.org"]
    assert english["Subject"] == "Reminder: Vernetzungstreffen März, Mar 11, 2031, 18:00"
    assert "11.03.2031, 18:00" in german["Subject"] and "Mar" not in german["Subject"]
    # When, in the network's time zone and the reader's language; where; the meeting page.
    assert "Tuesday, March 11, 2031, 18:00–20:00" in _text(english)
    assert "Dienstag, 11. März 2031, 18:00–20:00" in _text(german)
    assert '<html lang="de">' in _html(german) and '<html lang="en">' in _html(english)
    for mail in (english, german):
        body = _text(mail)
        assert "Vernetzungstreffen März" in body
        assert "VHS Leipzig, Löhrstraße 3-7, 04105 Leipzig" in body
        assert f"https://knotenpunkt.test/meetings/{meeting.id}" in body
    assert "next person gets the seat" in _text(english)
    assert "die nächste Person den Platz bekommt" in _text(german)
    assert german["Subject"].startswith("Erinnerung:")
    assert "cancel on the meeting page" in _text(english)
    assert "Link aus Ihrer Bestätigungsmail" in _text(german)


def test_guest_without_stored_language_gets_the_registration_time_language(
    app, make_meeting, smtp_server, smtp_config
):
    from coordination.audit import services as audit
    from coordination.registrations.services import GUEST_REGISTERED

    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    english = _register(app, meeting, guest="eve@example.org")
    _register(app, meeting, guest="dora@example.org")  # no record: the network's default
    with app.app_context():
        audit.record(
            GUEST_REGISTERED, actor=None, object_type="registration", object_id=english, detail="en"
        )
        db.session.commit()

    assert _remind(app) == 2
    _deliver(app, smtp_config)
    mails = _by_recipient(smtp_server)
    assert "Tuesday, March 11" in _text(mails["eve@example.org"])
    assert "Dienstag, 11. März" in _text(mails["dora@example.org"])


@pytest.mark.parametrize(
    "status",
    [RegistrationStatus.WAITLISTED, RegistrationStatus.PENDING, RegistrationStatus.CANCELLED],
)
def test_only_confirmed_registrations_are_reminded(app, make_user, make_meeting, status):
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, user=make_user(), status=status)
    _register(app, meeting, guest="gast@example.org", status=status)
    confirmed = make_user(email="confirmed@example.org")
    _register(app, meeting, user=confirmed)

    assert _remind(app) == 1
    assert [row.recipient for row in _outbox(app)] == ["confirmed@example.org"]


def test_no_reminder_for_a_cancelled_meeting(app, make_user, make_meeting):
    meeting = _meeting(make_meeting, status=MeetingStatus.CANCELLED)
    _register(app, meeting, user=make_user())
    assert _remind(app) == 0
    assert _outbox(app) == []


def test_no_reminder_for_a_meeting_that_has_started(app, make_user, make_meeting):
    meeting = _meeting(make_meeting)
    _register(app, meeting, user=make_user())
    assert _remind(app, now=START + timedelta(minutes=1)) == 0


def test_reminder_waits_for_the_lead_time(app, make_user, make_meeting):
    meeting = _meeting(make_meeting)
    _register(app, meeting, user=make_user())
    assert _remind(app, now=START - timedelta(hours=24, minutes=1)) == 0
    assert _remind(app, now=START - timedelta(hours=24)) == 1


def test_members_own_lead_time_is_respected(app, make_user, make_meeting):
    early, default = make_user(email="early@example.org"), make_user(email="late@example.org")
    _set_preferences(app, early, reminder_lead_hours=72)
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    for user in (early, default):
        _register(app, meeting, user=user)
    _register(app, meeting, guest="gast@example.org")

    assert _remind(app, now=START - timedelta(hours=48)) == 1
    assert [row.recipient for row in _outbox(app)] == ["early@example.org"]
    # The others (member default and guests: MEETING_REMINDER_HOURS) a day before.
    assert _remind(app, now=START - timedelta(hours=23)) == 2
    assert sorted(row.recipient for row in _outbox(app)) == [
        "early@example.org",
        "gast@example.org",
        "late@example.org",
    ]


def test_guest_lead_time_comes_from_the_configuration(app, make_meeting):
    app.config["MEETING_REMINDER_HOURS"] = 2
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, guest="gast@example.org")
    assert _remind(app, now=START - timedelta(hours=3)) == 0
    assert _remind(app, now=START - timedelta(hours=2)) == 1


def test_member_who_turned_reminders_off_gets_none(app, make_user, make_meeting):
    quiet = make_user()
    _set_preferences(app, quiet, meeting_reminders=False)
    _register(app, _meeting(make_meeting), user=quiet)
    assert _remind(app) == 0


def test_guest_who_unsubscribed_gets_none(app, make_meeting):
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, guest="gast@example.org")
    _register(app, meeting, guest="other@example.org")
    with app.app_context():
        db.session.add(EmailOptOut(email="gast@example.org", topic=Topic.MEETING_REMINDERS))
        # Unsubscribing another topic does not stop reminders.
        db.session.add(EmailOptOut(email="other@example.org", topic=Topic.INVITATIONS))
        db.session.commit()
    assert _remind(app) == 1
    assert [row.recipient for row in _outbox(app)] == ["other@example.org"]


def test_deactivated_member_gets_none(app, make_user, make_meeting):
    _register(app, _meeting(make_meeting), user=make_user(is_active=False))
    assert _remind(app) == 0


def test_who_registered_inside_the_lead_window_gets_none(app, make_user, make_meeting):
    meeting = _meeting(make_meeting)
    _register(app, meeting, user=make_user(), created_at=START - timedelta(hours=10))
    promoted = make_user(email="promoted@example.org")
    registration_id = _register(app, meeting, user=promoted)
    # Registered long ago, but got the seat from the waitlist an hour ago (and a mail about it).
    _update(app, Registration, registration_id, confirmed_at=NOW - timedelta(hours=1))
    assert _remind(app) == 0


def test_running_twice_queues_nothing_more(app, make_user, make_meeting, smtp_server, smtp_config):
    _register(app, _meeting(make_meeting), user=make_user())
    assert _remind(app) == 1
    _deliver(app, smtp_config)
    assert _remind(app) == 0
    assert _remind(app, now=NOW + timedelta(hours=1)) == 0
    _deliver(app, smtp_config)
    assert len(smtp_server.messages) == 1


def test_moved_meeting_gets_a_fresh_reminder(
    app, make_user, make_meeting, smtp_server, smtp_config
):
    meeting = _meeting(make_meeting)
    _register(app, meeting, user=make_user(email="mia@example.org", locale=Locale.EN))
    assert _remind(app) == 1
    _deliver(app, smtp_config)

    later = START + timedelta(hours=2)
    _update(app, Meeting, meeting.id, starts_at=later, ends_at=later + timedelta(hours=2))
    assert _remind(app) == 1
    _deliver(app, smtp_config)
    times = [_text(message) for message in smtp_server.messages]
    assert "18:00–20:00" in times[0]
    assert "20:00–22:00" in times[1]


def test_pending_reminder_for_the_old_time_is_withdrawn(
    app, make_user, make_meeting, smtp_server, smtp_config
):
    meeting = _meeting(make_meeting)
    _register(app, meeting, user=make_user(email="mia@example.org", locale=Locale.EN))
    assert _remind(app) == 1  # not delivered yet
    later = START + timedelta(hours=2)
    _update(app, Meeting, meeting.id, starts_at=later, ends_at=later + timedelta(hours=2))
    assert _remind(app) == 1
    assert [row.status for row in _outbox(app)] == [OutboxStatus.WITHDRAWN, OutboxStatus.PENDING]
    _deliver(app, smtp_config)
    assert len(smtp_server.messages) == 1
    assert "20:00–22:00" in _text(smtp_server.messages[0])


def test_pending_reminder_of_a_cancelled_registration_is_withdrawn(app, make_user, make_meeting):
    meeting = _meeting(make_meeting)
    registration_id = _register(app, meeting, user=make_user())
    assert _remind(app) == 1
    _update(app, Registration, registration_id, status=RegistrationStatus.CANCELLED)
    assert _remind(app) == 0
    assert [row.status for row in _outbox(app)] == [OutboxStatus.WITHDRAWN]


def test_member_who_can_no_longer_see_the_meeting_gets_none(
    app, make_user, make_group, make_meeting
):
    stays, leaves = make_user(email="stays@example.org"), make_user(email="leaves@example.org")
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={stays.id: GroupRole.LEAD, leaves.id: GroupRole.MEMBER},
    )
    meeting = _meeting(make_meeting, group_id=group.id, visibility=Visibility.GROUP)
    for user in (stays, leaves):
        _register(app, meeting, user=user)
    with app.app_context():
        db.session.execute(sa.delete(GroupMembership).where(GroupMembership.user_id == leaves.id))
        db.session.commit()
    assert _remind(app) == 1
    assert [row.recipient for row in _outbox(app)] == ["stays@example.org"]


def test_online_link_only_where_allowed(app, make_user, make_meeting, smtp_server, smtp_config):
    hidden = _meeting(
        make_meeting,
        title="Hidden link",
        visibility=Visibility.PUBLIC,
        allows_guests=True,
        online_url="https://meet.example.org/hidden",
    )
    shown = _meeting(
        make_meeting,
        title="Shown link",
        visibility=Visibility.PUBLIC,
        allows_guests=True,
        online_url="https://meet.example.org/shown",
        is_online_url_public=True,
    )
    member = make_user(email="mia@example.org")
    for meeting in (hidden, shown):
        _register(app, meeting, user=member)
        _register(app, meeting, guest="gast@example.org")
    assert _remind(app) == 4
    _deliver(app, smtp_config)
    bodies = {
        (str(m["To"]), "Hidden" in str(m["Subject"])): _text(m) + _html(m)
        for m in smtp_server.messages
    }
    assert "meet.example.org/hidden" in bodies[("mia@example.org", True)]
    assert "meet.example.org/hidden" not in bodies[("gast@example.org", True)]
    assert "meet.example.org/shown" in bodies[("gast@example.org", False)]
    assert "meet.example.org/shown" in bodies[("mia@example.org", False)]


def test_unsubscribe_headers_and_link_turn_reminders_off(
    app, client, make_user, make_meeting, smtp_server, smtp_config
):
    member = make_user(email="mia@example.org")
    _register(app, _meeting(make_meeting), user=member)
    _remind(app)
    _deliver(app, smtp_config)
    (mail,) = smtp_server.messages
    link = UNSUBSCRIBE.search(_text(mail))
    assert link is not None
    assert str(mail["List-Unsubscribe"]) == f"<{link.group(0)}>"
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert link.group(0) in _html(mail)

    assert client.post(link.group(1)).status_code == 200
    with app.app_context():
        stored = db.session.get(NotificationPreference, member.id)
        assert stored is not None and stored.meeting_reminders is False
        assert stored.action_reminders is True  # only this topic
    # The next meeting brings no reminder.
    _register(app, _meeting(make_meeting, starts_at=START + timedelta(hours=3)), user=member)
    assert _remind(app, now=START - timedelta(hours=1)) == 0


def test_guest_unsubscribe_link_records_an_opt_out(
    app, client, make_meeting, smtp_server, smtp_config
):
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, guest="gast@example.org")
    _remind(app)
    _deliver(app, smtp_config)
    link = UNSUBSCRIBE.search(_text(smtp_server.messages[0]))
    assert link is not None
    assert client.post(link.group(1)).status_code == 200
    with app.app_context():
        assert preferences.opted_out_addresses(["gast@example.org"], Topic.MEETING_REMINDERS)


def test_reminders_queued_while_the_server_is_down_go_out_later(
    app, make_user, make_meeting, smtp_server, smtp_config
):
    meeting = _meeting(make_meeting, visibility=Visibility.PUBLIC, allows_guests=True)
    _register(app, meeting, user=make_user(email="mia@example.org"))
    _register(app, meeting, guest="gast@example.org")
    assert _remind(app) == 2
    down = _deliver(app, {**smtp_config, "MAIL_PORT": free_port()})
    assert len(down.retrying) == 2 and smtp_server.messages == []
    assert _remind(app) == 0  # the next run does not queue them again

    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    up = _deliver(app, smtp_config)
    assert len(up.sent) == 2
    assert sorted(_by_recipient(smtp_server)) == ["gast@example.org", "mia@example.org"]


def _outside_the_outbox(statements: list[str]) -> list[str]:
    """Statements other than ``queue_mail``'s own (duplicate check and insert, per mail)."""
    return [
        statement
        for statement in statements
        if not statement.startswith(("SAVEPOINT", "RELEASE", "INSERT INTO outbox_message"))
        and "WHERE outbox_message.dedupe_key = " not in statement
    ]


def test_meeting_reminders_take_a_bounded_number_of_queries(
    app, make_user, make_group, make_meeting
):
    def setup(count: int) -> None:
        people = [make_user() for _ in range(count)]
        group = make_group(
            confidentiality=Confidentiality.CONFIDENTIAL,
            members={person.id: GroupRole.MEMBER for person in people},
        )
        meeting = _meeting(make_meeting, group_id=group.id, visibility=Visibility.GROUP)
        for person in people:
            _register(app, meeting, user=person)
        _set_preferences(app, people[0], reminder_lead_hours=48)

    setup(2)
    with _statements(app) as small:
        assert queue_meeting_reminders(NOW) == 2
        db.session.commit()
    with app.app_context():  # delivered, so both runs see the same (empty) pending queue
        db.session.execute(sa.update(OutboxMessage).values(status=OutboxStatus.SENT))
        db.session.commit()
    setup(6)
    with _statements(app) as large:
        assert queue_meeting_reminders(NOW) == 6
        db.session.commit()
    # Nothing is asked per registration; only the outbox itself works per mail.
    assert len(_outside_the_outbox(large)) == len(_outside_the_outbox(small)) <= 8
    assert len(large) - len(_outside_the_outbox(large)) <= 2 + 4 * 6


# --- GroupAccess answers like the shared predicates --------------------------------------------


def test_group_access_agrees_with_the_shared_predicates(app, make_user, make_group, make_meeting):
    lead, member, outsider = make_user(), make_user(), make_user()
    admin, moderator = make_user(role=Role.ADMIN), make_user(role=Role.MODERATOR)
    people = [lead, member, outsider, admin, moderator]
    open_group = make_group(members={lead.id: GroupRole.LEAD, member.id: GroupRole.MEMBER})
    secret = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={lead.id: GroupRole.LEAD, member.id: GroupRole.MEMBER},
    )
    meetings = [
        make_meeting(visibility=visibility, group_id=group_id)
        for visibility in Visibility
        for group_id in (None, open_group.id, secret.id)
    ]
    with app.app_context():
        users = [db.session.get(User, person.id) for person in people]
        stored = [db.session.get(Meeting, meeting.id) for meeting in meetings]
        group_rows = [db.session.get(WorkingGroup, g.id) for g in (open_group, secret)]
        access = GroupAccess.load([u.id for u in users], [g.id for g in group_rows])
        checked = 0
        for user in users:
            for group in group_rows:
                assert access.can_read_group(user, group) == groups.can_read_group(user, group)
            for meeting in stored:
                assert access.can_view_meeting(user, meeting) == can_view_meeting(user, meeting)
                checked += 1
    assert checked == len(people) * 9


# --- action reminders ----------------------------------------------------------------------------

DUE = date(2031, 3, 12)


def _action(app: Flask, group: WorkingGroup, owner: User | None, **fields: Any) -> int:
    fields.setdefault("title", "Flyer für die Beratung drucken")
    fields.setdefault("notes", "Kontakt: Frau Beispiel, Zimmer 12")
    fields.setdefault("due_date", DUE)
    with app.app_context():
        action = Action(group_id=group.id, owner_id=owner.id if owner else None, **fields)
        db.session.add(action)
        db.session.commit()
        return action.id


def _remind_actions(app: Flask, today: date) -> int:
    with app.app_context():
        count = queue_action_reminders(today)
        db.session.commit()
    return count


@pytest.fixture
def owner(make_user) -> User:
    return make_user(email="owner@example.org", name="Olga", locale=Locale.EN)


@pytest.fixture
def open_group(make_group, owner) -> WorkingGroup:
    return make_group(name="AG Wohnen", members={owner.id: GroupRole.MEMBER})


@pytest.fixture
def secret_group(make_group, owner) -> WorkingGroup:
    return make_group(
        name="AG UMA",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={owner.id: GroupRole.MEMBER},
    )


def test_action_due_and_overdue_reminders_go_out_once_each(
    app, owner, open_group, smtp_server, smtp_config
):
    action_id = _action(app, open_group, owner)
    assert _remind_actions(app, DUE - timedelta(days=2)) == 0  # too early
    assert _remind_actions(app, DUE - timedelta(days=1)) == 1
    assert _remind_actions(app, DUE) == 0  # still the same "due" reminder
    assert _remind_actions(app, DUE + timedelta(days=1)) == 1
    assert _remind_actions(app, DUE + timedelta(days=3)) == 0
    _deliver(app, smtp_config)
    due, overdue = smtp_server.messages
    assert due["Subject"] == "Your action “Flyer für die Beratung drucken” is due on March 12, 2031"
    assert overdue["Subject"] == (
        "Your action “Flyer für die Beratung drucken” was due on March 12, 2031"
    )
    for mail in (due, overdue):
        assert f"https://knotenpunkt.test/actions/{action_id}" in _text(mail)
        assert "Frau Beispiel" not in _text(mail) + _html(mail)  # notes never travel
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_long_overdue_actions_are_not_dug_up(app, owner, open_group):
    _action(app, open_group, owner)
    assert _remind_actions(app, DUE + timedelta(days=8)) == 0
    assert _remind_actions(app, DUE + timedelta(days=7)) == 1


def test_a_new_due_date_brings_new_reminders(app, owner, open_group):
    action_id = _action(app, open_group, owner)
    assert _remind_actions(app, DUE) == 1
    _update(app, Action, action_id, due_date=DUE + timedelta(days=7))
    assert _remind_actions(app, DUE + timedelta(days=7)) == 1


@pytest.mark.parametrize("status", [ActionStatus.DONE, ActionStatus.DROPPED])
def test_finished_actions_are_not_reminded(app, owner, open_group, status):
    _action(app, open_group, owner, status=status)
    assert _remind_actions(app, DUE) == 0
    assert _remind_actions(app, DUE + timedelta(days=1)) == 0


def test_no_reminder_without_owner_or_date_or_for_owners_who_opted_out(
    app, owner, open_group, make_user
):
    _action(app, open_group, None)
    _action(app, open_group, owner, due_date=None)
    _set_preferences(app, owner, action_reminders=False)
    _action(app, open_group, owner)
    gone = make_user(is_active=False)
    _action(app, open_group, gone)
    assert _remind_actions(app, DUE) == 0
    assert _remind_actions(app, DUE + timedelta(days=1)) == 0


def test_owner_who_can_no_longer_read_the_group_gets_none(app, owner, secret_group):
    _action(app, secret_group, owner)
    with app.app_context():
        db.session.execute(sa.delete(GroupMembership).where(GroupMembership.user_id == owner.id))
        db.session.commit()
    assert _remind_actions(app, DUE) == 0


def test_confidential_action_is_never_named_in_a_mail(
    app, owner, secret_group, smtp_server, smtp_config
):
    action_id = _action(app, secret_group, owner, title="Vormundschaft für A. klären")
    assert _remind_actions(app, DUE) == 1
    assert _remind_actions(app, DUE + timedelta(days=1)) == 1
    _deliver(app, smtp_config)
    due, overdue = smtp_server.messages
    assert due["Subject"] == "An action of yours in AG UMA is due on March 12, 2031"
    assert overdue["Subject"] == "An action of yours in AG UMA was due on March 12, 2031"
    for mail in (due, overdue):
        everything = str(mail["Subject"]) + _text(mail) + _html(mail)
        assert "Vormundschaft" not in everything
        assert "Frau Beispiel" not in everything
        assert f"https://knotenpunkt.test/actions/{action_id}" in everything
        assert "https://knotenpunkt.test/groups/" in everything


def test_action_reminder_speaks_the_owners_language(
    app, make_user, make_group, smtp_server, smtp_config
):
    german = make_user(email="de@example.org", locale=Locale.DE)
    group = make_group(members={german.id: GroupRole.MEMBER})
    _action(app, group, german)
    _remind_actions(app, DUE)
    _deliver(app, smtp_config)
    mail = smtp_server.messages[0]
    assert "12. März 2031" in str(mail["Subject"])
    assert '<html lang="de">' in _html(mail)


def test_action_unsubscribe_link_turns_action_reminders_off(
    app, client, owner, open_group, smtp_server, smtp_config
):
    _action(app, open_group, owner)
    _remind_actions(app, DUE)
    _deliver(app, smtp_config)
    link = UNSUBSCRIBE.search(_text(smtp_server.messages[0]))
    assert link is not None
    assert client.post(link.group(1)).status_code == 200
    with app.app_context():
        assert preferences.preferences_of(db.session.get(User, owner.id)).action_reminders is False
    assert _remind_actions(app, DUE + timedelta(days=1)) == 0


def test_action_reminders_take_a_bounded_number_of_queries(app, make_user, make_group):
    def setup(count: int) -> None:
        people = [make_user() for _ in range(count)]
        group = make_group(
            confidentiality=Confidentiality.CONFIDENTIAL,
            members={person.id: GroupRole.MEMBER for person in people},
        )
        for person in people:
            _action(app, group, person)

    setup(2)
    with _statements(app) as small:
        assert queue_action_reminders(DUE) == 2
        db.session.commit()
    setup(5)
    with _statements(app) as large:
        assert queue_action_reminders(DUE) == 5
        db.session.commit()
    assert len(_outside_the_outbox(large)) == len(_outside_the_outbox(small)) <= 6
