"""The weekly digest: opt-in, one's own groups only, no confidential titles, once a week.

``now`` is passed explicitly; mails go through the outbox to the ``smtp_server`` fixture where
delivery matters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from coordination.actions.models import Action, ActionStatus
from coordination.auth.models import Locale, User
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.mail.models import OutboxMessage
from coordination.mail.services import deliver_due
from coordination.meetings.models import MeetingStatus, Visibility
from coordination.notifications import preferences
from coordination.notifications.digest import queue_digests
from coordination.problems.models import (
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    ProblemStatus,
    Solution,
)

#: Monday, 10 March 2031, 08:00 in Leipzig (07:00 UTC); ISO week 2031-W11.
MONDAY = datetime(2031, 3, 10, 7, 0, tzinfo=UTC)
#: Inside the week before.
RECENTLY = MONDAY - timedelta(days=2)
#: Before the week the digest looks back on.
LONG_AGO = MONDAY - timedelta(days=9)
UNSUBSCRIBE = re.compile(r"https://knotenpunkt\.test(/notifications/unsubscribe/[A-Za-z0-9_.\-]+)")


# --- helpers ---------------------------------------------------------------------------------


def _subscribe(app: Flask, user: User, on: bool = True) -> None:
    with app.app_context():
        preferences.save_preferences(db.session.get(User, user.id), digest=on)
        db.session.commit()


def _problem(
    app: Flask,
    group: WorkingGroup,
    title: str,
    *,
    created_at: datetime = RECENTLY,
    resolved_at: datetime | None = None,
    solutions: int = 0,
) -> int:
    with app.app_context():
        issue = GroupIssue(
            group_id=group.id,
            title=title,
            description="Details mit Namen, die nie in einer Mail stehen dürfen",
            created_at=created_at,
            status=ProblemStatus.RESOLVED if resolved_at else ProblemStatus.OPEN,
        )
        db.session.add(issue)
        db.session.flush()
        if resolved_at is not None:
            db.session.add(
                IssueEvent(
                    issue_id=issue.id,
                    kind=IssueEventKind.STATUS_CHANGED,
                    detail=ProblemStatus.RESOLVED.value,
                    created_at=resolved_at,
                )
            )
        for _ in range(solutions):
            db.session.add(Solution(issue_id=issue.id, text="Vorschlag", created_at=RECENTLY))
        db.session.commit()
        return issue.id


def _action(app: Flask, group: WorkingGroup, title: str, **fields: Any) -> int:
    fields.setdefault("created_at", RECENTLY)
    with app.app_context():
        action = Action(group_id=group.id, title=title, **fields)
        db.session.add(action)
        db.session.commit()
        return action.id


def _digest(app: Flask, now: datetime = MONDAY) -> int:
    with app.app_context():
        count = queue_digests(now)
        db.session.commit()
    return count


def _mails(app: Flask) -> dict[str, OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            db.session.expunge(row)
    return {row.recipient: row for row in rows}


def _mails_all(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage)))
        for row in rows:
            db.session.expunge(row)
    return rows


def _everything(message: OutboxMessage) -> str:
    return "\n".join([message.subject, message.body_text, message.body_html or ""])


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
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


@pytest.fixture
def reader(app, make_user) -> User:
    user = make_user(email="reader@example.org", name="Rita", locale=Locale.EN)
    _subscribe(app, user)
    return user


@pytest.fixture
def open_group(make_group, reader) -> WorkingGroup:
    return make_group(name="AG Wohnen", members={reader.id: GroupRole.MEMBER})


@pytest.fixture
def secret_group(make_group, reader) -> WorkingGroup:
    return make_group(
        name="AG UMA",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={reader.id: GroupRole.MEMBER},
    )


# --- who gets it -------------------------------------------------------------------------------


def test_only_members_who_turned_the_digest_on_get_it(
    app, make_user, make_group, reader, smtp_server, smtp_config
):
    default, turned_off = make_user(), make_user()
    _subscribe(app, turned_off, on=False)
    inactive = make_user(is_active=False)
    _subscribe(app, inactive)
    group = make_group(
        members={user.id: GroupRole.MEMBER for user in (reader, default, turned_off, inactive)}
    )
    _problem(app, group, "Wohnungssuche für Familien")

    assert _digest(app) == 1
    with app.app_context():
        app.config.update(smtp_config)
        assert len(deliver_due().sent) == 1
    (mail,) = smtp_server.messages
    assert mail["To"] == "reader@example.org"
    assert "Wohnungssuche für Familien" in mail.get_body(preferencelist=("plain",)).get_content()


def test_digest_tells_what_changed_in_the_readers_groups(
    app, make_group, reader, open_group, secret_group
):
    other = make_group(name="AG Sprache")  # the reader is not a member
    _problem(app, open_group, "Wohnungssuche für Familien", solutions=2)
    _problem(app, open_group, "Alte Sorge", created_at=LONG_AGO, resolved_at=RECENTLY)
    _problem(app, open_group, "Noch älter", created_at=LONG_AGO)  # nothing new about it
    _action(app, open_group, "Liste der Vermieter anlegen")
    _action(
        app,
        open_group,
        "Flyer verteilen",
        created_at=LONG_AGO,
        status=ActionStatus.DONE,
        completed_at=RECENTLY,
    )
    _problem(app, secret_group, "Vormundschaft für A. klären", solutions=1)
    _action(app, secret_group, "Termin beim Jugendamt für B.")
    _problem(app, other, "Sprachkurse fehlen")

    assert _digest(app) == 1
    mail = _mails(app)["reader@example.org"]
    text = mail.body_text
    for expected in (
        "AG Wohnen",
        "1 new problem: Wohnungssuche für Familien",
        "2 new proposed solutions",
        "1 problem resolved: Alte Sorge",
        "1 new action: Liste der Vermieter anlegen",
        "1 action done: Flyer verteilen",
        "AG UMA",
        "1 new proposed solution",
    ):
        assert expected in text, expected
    assert "Noch älter" not in text
    # Another group's news are not the reader's business.
    assert "AG Sprache" not in _everything(mail)
    assert "Sprachkurse" not in _everything(mail)


def test_confidential_titles_never_appear(app, reader, secret_group):
    _problem(app, secret_group, "Vormundschaft für A. klären")
    _action(app, secret_group, "Termin beim Jugendamt für B.")
    _action(app, secret_group, "Akte C. prüfen", status=ActionStatus.DONE, completed_at=RECENTLY)
    _problem(app, secret_group, "Fall D.", created_at=LONG_AGO, resolved_at=RECENTLY)

    assert _digest(app) == 1
    everything = _everything(_mails(app)["reader@example.org"])
    assert "AG UMA" in everything
    assert "1 new problem" in everything and "2 new actions" in everything
    for secret in ("Vormundschaft", "Jugendamt", "Akte C.", "Fall D.", "Details mit Namen"):
        assert secret not in everything, secret


def test_an_empty_week_sends_nothing(app, reader, open_group, make_meeting):
    _problem(app, open_group, "Alt", created_at=LONG_AGO)
    make_meeting(starts_at=MONDAY + timedelta(days=20))  # beyond the two weeks
    make_meeting(starts_at=MONDAY + timedelta(days=2), status=MeetingStatus.CANCELLED)
    _action(app, open_group, "Erledigt", created_at=LONG_AGO, status=ActionStatus.DONE)
    assert _digest(app) == 0
    assert _mails(app) == {}


# --- when ----------------------------------------------------------------------------------------


def test_once_per_week(app, reader, open_group):
    _problem(app, open_group, "Wohnungssuche")
    assert _digest(app) == 1
    assert _digest(app) == 0
    assert _digest(app, MONDAY + timedelta(days=3)) == 0
    assert _digest(app, MONDAY + timedelta(days=6, hours=15)) == 0  # Sunday 23:00 local
    _problem(app, open_group, "Neue Sorge", created_at=MONDAY + timedelta(days=3))
    assert _digest(app, MONDAY + timedelta(days=7)) == 1
    assert sorted(row.dedupe_key for row in _mails_all(app)) == [
        f"digest:{reader.id}:2031-W11",
        f"digest:{reader.id}:2031-W12",
    ]


def test_not_before_the_configured_weekday_and_caught_up_later(app, reader, open_group):
    app.config["DIGEST_WEEKDAY"] = 3  # Thursday
    _problem(app, open_group, "Wohnungssuche")
    assert _digest(app, MONDAY) == 0
    assert _digest(app, MONDAY + timedelta(days=2)) == 0  # Wednesday
    # The job did not run on Thursday; Saturday catches up, once.
    assert _digest(app, MONDAY + timedelta(days=5)) == 1
    assert _digest(app, MONDAY + timedelta(days=6)) == 0


def test_the_weekday_is_the_networks_local_one(app, reader, open_group):
    _problem(app, open_group, "Wohnungssuche", created_at=MONDAY - timedelta(days=3))
    sunday_late = datetime(2031, 3, 9, 23, 30, tzinfo=UTC)  # Sunday in UTC, Monday in Leipzig
    assert _digest(app, sunday_late) == 1
    assert _mails_all(app)[0].dedupe_key == f"digest:{reader.id}:2031-W11"


# --- meetings and actions -------------------------------------------------------------------------


def test_digest_lists_upcoming_meetings_the_reader_may_see(
    app, make_group, make_meeting, reader, open_group, secret_group
):
    foreign_secret = make_group(name="AG Geheim", confidentiality=Confidentiality.CONFIDENTIAL)
    foreign_open = make_group(name="AG Fremd")
    soon = datetime(2031, 3, 12, 17, 0, tzinfo=UTC)
    make_meeting(title="Vernetzungstreffen April", starts_at=soon)
    make_meeting(
        title="AG-UMA-Treffen",
        starts_at=soon,
        group_id=secret_group.id,
        visibility=Visibility.GROUP,
    )
    make_meeting(
        title="Geheimes Treffen",
        starts_at=soon,
        group_id=foreign_secret.id,
        visibility=Visibility.GROUP,
    )
    make_meeting(
        title="Treffen einer fremden AG",
        starts_at=soon,
        group_id=foreign_open.id,
        visibility=Visibility.GROUP,
    )
    make_meeting(title="Abgesagtes Treffen", starts_at=soon, status=MeetingStatus.CANCELLED)
    make_meeting(title="Treffen in drei Wochen", starts_at=MONDAY + timedelta(days=21))
    make_meeting(title="Vergangenes Treffen", starts_at=MONDAY - timedelta(days=1))

    assert _digest(app) == 1
    mail = _mails(app)["reader@example.org"]
    everything = _everything(mail)
    assert "Vernetzungstreffen April" in everything
    assert "AG-UMA-Treffen" in everything
    for absent in (
        "Geheimes Treffen",
        "fremden AG",
        "Abgesagtes",
        "drei Wochen",
        "Vergangenes",
    ):
        assert absent not in everything, absent
    assert "Wednesday, March 12, 2031, 18:00–20:00" in mail.body_text  # 17:00 UTC, local time


def test_digest_counts_the_readers_own_actions(app, make_user, reader, open_group, secret_group):
    other = make_user()
    old = {"created_at": LONG_AGO}
    _action(app, open_group, "Offen", owner_id=reader.id, due_date=date(2031, 3, 20), **old)
    _action(app, secret_group, "Überfällig", owner_id=reader.id, due_date=date(2031, 3, 1), **old)
    _action(app, open_group, "Fremde", owner_id=other.id, due_date=date(2031, 3, 1), **old)
    _action(app, open_group, "Fertig", owner_id=reader.id, status=ActionStatus.DONE, **old)

    assert _digest(app) == 1
    mail = _mails(app)["reader@example.org"]
    assert "You have 2 open actions (1 of them overdue)." in mail.body_text
    assert "https://knotenpunkt.test/actions/" in mail.body_text
    assert "Überfällig" not in _everything(mail)


def test_digest_is_in_the_readers_language(app, make_user, make_group):
    german = make_user(locale=Locale.DE)
    _subscribe(app, german)
    group = make_group(members={german.id: GroupRole.MEMBER})
    _problem(app, group, "Wohnungssuche")
    assert _digest(app) == 1
    (mail,) = _mails(app).values()
    assert "10.03.2031" in mail.subject
    assert '<html lang="de">' in (mail.body_html or "")


def test_unsubscribe_headers_and_link_turn_the_digest_off(
    app, client, reader, open_group, smtp_server, smtp_config
):
    _problem(app, open_group, "Wohnungssuche")
    _digest(app)
    with app.app_context():
        app.config.update(smtp_config)
        deliver_due()
    (mail,) = smtp_server.messages
    text = mail.get_body(preferencelist=("plain",)).get_content()
    link = UNSUBSCRIBE.search(text)
    assert link is not None
    assert mail["List-Unsubscribe"] == f"<{link.group(0)}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert client.post(link.group(1)).status_code == 200
    with app.app_context():
        assert preferences.preferences_of(db.session.get(User, reader.id)).digest is False
    _problem(app, open_group, "Neue Sorge", created_at=MONDAY + timedelta(days=3))
    assert _digest(app, MONDAY + timedelta(days=7)) == 0


def test_digest_takes_a_few_queries_per_reader(app, make_user, make_group):
    def setup(count: int) -> None:
        readers = [make_user() for _ in range(count)]
        for user in readers:
            _subscribe(app, user)
        group = make_group(members={user.id: GroupRole.MEMBER for user in readers})
        secret = make_group(
            confidentiality=Confidentiality.CONFIDENTIAL,
            members={user.id: GroupRole.MEMBER for user in readers},
        )
        for target in (group, secret):
            _problem(app, target, "Neu", solutions=1)
            _action(app, target, "Neu")

    setup(1)
    with _statements(app) as one:
        assert queue_digests(MONDAY) == 1
        db.session.rollback()
    setup(3)
    with _statements(app) as four:
        assert queue_digests(MONDAY) == 4
        db.session.rollback()
    # Two queries of its own per reader (actions, meetings) plus the outbox's four per mail;
    # everything else (subscribers, memberships, the groups' news) is asked once.
    per_reader = (len(four) - len(one)) / 3
    assert per_reader <= 6
    assert len(one) - per_reader <= 12
