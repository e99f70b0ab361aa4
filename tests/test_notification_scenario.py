"""Issue #7, "done when": a moderator schedules a series and invites the network; an invitee
gets a proper invitation, then the update when the room changes and the cancellation when a
date is dropped. Everything through the real pages, the cron command, the outbox and a real
SMTP server; every calendar part read with vobject and compared with the personal feed."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import vobject

from coordination.auth.models import Locale
from coordination.calendar import services as calendar_services
from coordination.extensions import db
from coordination.meetings.models import Meeting, MeetingSeries
from coordination.timeutil import local_today
from tests.test_meeting_series import _edit_form

BERLIN = ZoneInfo("Europe/Berlin")


def _calendar(message: EmailMessage) -> tuple[str, object]:
    """The MIME method and the parsed calendar of the text/calendar part."""
    [part] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    return str(part.get_param("method")), vobject.readOne(part.get_content())


def _run(runner, app, smtp_config) -> None:
    app.config.update(smtp_config)
    result = runner.invoke(args=["notifications", "run"])
    assert result.exit_code == 0, result.output


def _personal_feed_event(app, client, user, uid: str):
    with app.app_context():
        token, _row = calendar_services.create_token(db.session.merge(user), "Handy")
        db.session.commit()
    body = client.get(f"/calendar/personal/{token}.ics").get_data(as_text=True)
    return next(event for event in vobject.readOne(body).vevent_list if event.uid.value == uid)


def test_series_invitation_room_change_and_dropped_date(
    app, runner, users, make_user, login, smtp_server, smtp_config
):
    ines = make_user(email="ines@example.org", name="Ines Invitee", locale=Locale.EN)
    moderator = login(users["moderator"])
    with app.app_context():
        first_day = local_today() + timedelta(days=10)
    response = moderator.post(
        "/meetings/series/new",
        data={
            "title": "Vernetzungstreffen",
            "kind": "network",
            "group_id": "",
            "frequency": "weekly",
            "interval": "2",
            "weekday": str(first_day.weekday()),
            "start_date": first_day.isoformat(),
            "start_time": "17:00",
            "end_time": "19:00",
            "venue_name": "VHS Leipzig, Raum 214",
            "venue_address": "Löhrstraße 3-7, 04105 Leipzig",
            "visibility": "network",
            "invite_all_members": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        series = db.session.scalar(sa.select(MeetingSeries))
        dates = db.session.scalars(
            sa.select(Meeting).where(Meeting.series_id == series.id).order_by(Meeting.starts_at)
        ).all()
        first, second = dates[0], dates[1]
        for meeting in (first, second):
            db.session.expunge(meeting)

    # 1. The invitation: one mail to Ines alone, an iTIP REQUEST the feeds agree with.
    _run(runner, app, smtp_config)
    mails = [mail for mail in smtp_server.messages if mail["To"] == "ines@example.org"]
    assert [mail["Subject"].split(":")[0] for mail in mails] == ["Invitation"] * len(mails)
    invited_uids = set()
    for mail in mails:
        method, calendar = _calendar(mail)
        assert method == "REQUEST" == calendar.method.value
        invited_uids.add(calendar.vevent.uid.value)
    assert first.ical_uid in invited_uids and second.ical_uid in invited_uids
    [invitation] = [m for m in mails if _calendar(m)[1].vevent.uid.value == first.ical_uid]
    event = _calendar(invitation)[1].vevent
    assert event.attendee.value == "mailto:ines@example.org"
    assert event.organizer.value.startswith("mailto:")
    assert event.dtstart.value.astimezone(BERLIN).hour == 17
    feed_event = _personal_feed_event(app, login(ines), ines, first.ical_uid)
    assert event.sequence.value == feed_event.sequence.value == "0"
    assert event.location.value == feed_event.location.value

    # 2. The room of the first date changes: an update with the next SEQUENCE.
    count = len(smtp_server.messages)
    moderator.post(
        f"/meetings/{first.id}/edit",
        data=_edit_form(first, venue_name="VHS Leipzig, Raum 301"),
    )
    _run(runner, app, smtp_config)
    [update] = [m for m in smtp_server.messages[count:] if m["To"] == "ines@example.org"]
    assert update["Subject"].startswith("Changed:")
    method, calendar = _calendar(update)
    assert method == "REQUEST"
    assert calendar.vevent.uid.value == first.ical_uid
    assert calendar.vevent.location.value.startswith("VHS Leipzig, Raum 301")
    feed_event = _personal_feed_event(app, login(ines), ines, first.ical_uid)
    assert calendar.vevent.sequence.value == feed_event.sequence.value == "1"

    # 3. The second date is dropped: a cancellation for exactly that date.
    count = len(smtp_server.messages)
    moderator.post(f"/meetings/{second.id}/cancel")
    _run(runner, app, smtp_config)
    [cancellation] = [m for m in smtp_server.messages[count:] if m["To"] == "ines@example.org"]
    assert cancellation["Subject"].startswith("Cancelled:")
    method, calendar = _calendar(cancellation)
    assert method == "CANCEL" == calendar.method.value
    assert calendar.vevent.uid.value == second.ical_uid
    assert calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.sequence.value == "1"

    # 4. Running the job again mails nobody.
    count = len(smtp_server.messages)
    _run(runner, app, smtp_config)
    assert len(smtp_server.messages) == count
