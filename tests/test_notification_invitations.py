"""Invitations, updates and cancellations by mail (issue #7), checked from the outside.

Changes go through the real services or HTTP routes, mails through the real outbox to a real
SMTP server (``smtp_server``, aiosmtpd), and every calendar part is read with vobject, which did
not write it, and compared with what the feeds and the download say about the same meeting.
Dates are relative to today, so the tests do not age.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import vobject
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _

from coordination.auth.models import Locale, User
from coordination.calendar import services as calendar_services
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.mail.models import OutboxMessage, OutboxStatus
from coordination.mail.services import deliver_due, queue_mail
from coordination.meetings import services as meeting_services
from coordination.meetings.models import (
    Frequency,
    Meeting,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    Visibility,
)
from coordination.notifications import invitations, preferences
from coordination.notifications.models import Topic
from coordination.organizations.models import Organization
from coordination.registrations import services as registration_services
from coordination.registrations.models import RegistrationStatus
from tests.conftest import SMTPRecorder, free_port

BERLIN = ZoneInfo("Europe/Berlin")
BASE = "https://knotenpunkt.test"
SENDER = "Knotenpunkt <noreply@knotenpunkt.test>"
SENDER_ADDRESS = "noreply@knotenpunkt.test"
NETWORK = "Netzwerk Flüchtlingsinitiativen Leipzig"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --- time -----------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(BERLIN).date()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """17:00 on ``day`` in Leipzig, as aware UTC."""
    return datetime.combine(day, time(hour, minute), BERLIN).astimezone(UTC)


def _winter_day() -> date:
    """A day a week or more ahead in winter time (Nov–Feb), when Leipzig is UTC+1."""
    day = _today() + timedelta(days=7)
    while day.month not in (11, 12, 1, 2):
        day += timedelta(days=1)
    return day


def _summer_day() -> date:
    """13 July of next year: summer time, Leipzig is UTC+2."""
    return date(_today().year + 1, 7, 13)


def _de_date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def _en_date(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


# --- mails as the SMTP server received them -----------------------------------------------------


def _calendar_lines(text: str) -> list[str]:
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")


def _parse_calendar(text: str) -> Any:
    """vobject's reading of an iCalendar text; each TZID used must have its VTIMEZONE."""
    used = set(re.findall(r";TZID=([^:;]+)[:;]", text))
    defined = set(re.findall(r"\r\nTZID:([^\r]+)\r\n", text))
    assert used <= defined, f"TZID without VTIMEZONE: {used - defined}"
    calendar = vobject.readOne(text)
    assert calendar.name == "VCALENDAR"
    return calendar


@dataclass
class Mail:
    """One message as delivered: SMTP envelope and parsed MIME message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())

    def calendar_parts(self) -> list[EmailMessage]:
        return [part for part in self.message.walk() if part.get_content_type() == "text/calendar"]

    @property
    def is_itip(self) -> bool:
        return bool(self.calendar_parts())

    @property
    def calendar_text(self) -> str:
        [part] = self.calendar_parts()
        return str(part.get_content())

    @property
    def mime_method(self) -> str:
        [part] = self.calendar_parts()
        return str(part.get_param("method"))

    @property
    def calendar(self) -> Any:
        return _parse_calendar(self.calendar_text)

    @property
    def event(self) -> Any:
        events = self.calendar.contents.get("vevent", [])
        assert len(events) == 1, f"{len(events)} VEVENTs in one invitation"
        return events[0]

    @property
    def attachment(self) -> EmailMessage:
        attachments = list(self.message.iter_attachments())
        assert [part.get_filename() for part in attachments] == ["invite.ics"]
        return attachments[0]


def _mails_since(smtp_server: SMTPRecorder, start: int) -> list[Mail]:
    with smtp_server.lock:
        envelopes = list(smtp_server.envelopes[start:])
    return [Mail(sender, list(rcpts), message) for sender, rcpts, message in envelopes]


def _to(mails: Iterable[Mail], address: str) -> list[Mail]:
    return [mail for mail in mails if mail.to == address]


def _one_to(mails: Iterable[Mail], address: str) -> Mail:
    found = _to(mails, address)
    assert len(found) == 1, f"{len(found)} mails to {address}"
    return found[0]


def _itip(mails: Iterable[Mail]) -> list[Mail]:
    return [mail for mail in mails if mail.is_itip]


def _recipients(mails: Iterable[Mail]) -> list[str]:
    return sorted(mail.to for mail in _itip(mails))


def _seq(event: Any) -> int:
    return int(event.sequence.value)


def _utc(value: Any) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, value
    return value.astimezone(UTC)


# --- driving the application ----------------------------------------------------------------------


def _invite(
    app: Flask,
    actor: User,
    *,
    meeting: Meeting | None = None,
    series_id: int | None = None,
    all_members: bool = False,
    groups: Iterable[WorkingGroup] = (),
    organizations: Iterable[Organization] = (),
) -> None:
    with app.app_context():
        invitations.add_audience(
            actor=db.session.get(User, actor.id),
            meeting=None if meeting is None else db.session.get(Meeting, meeting.id),
            series=None if series_id is None else db.session.get(MeetingSeries, series_id),
            all_members=all_members,
            groups=[db.session.get(WorkingGroup, group.id) for group in groups],
            organizations=[db.session.get(Organization, org.id) for org in organizations],
        )
        db.session.commit()


def _process(app: Flask, now: datetime | None = None) -> invitations.ProcessReport:
    """What ``flask notifications run`` does first (an app context, as in a cron job)."""
    with app.app_context():
        return invitations.process(now)


def _deliver(app: Flask, config: dict[str, Any]) -> Any:
    with app.app_context():
        app.config.update(config)
        return deliver_due()


def _run(
    app: Flask,
    smtp_server: SMTPRecorder,
    smtp_config: dict[str, Any],
    now: datetime | None = None,
) -> list[Mail]:
    """One run of the job: queue, then deliver; returns every mail that arrived meanwhile."""
    start = len(smtp_server.envelopes)
    _process(app, now)
    _deliver(app, smtp_config)
    return _mails_since(smtp_server, start)


def _meeting(app: Flask, meeting_id: int) -> Meeting:
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting is not None
        db.session.expunge(meeting)
    return meeting


def _register(app: Flask, meeting: Meeting, user: User) -> RegistrationStatus:
    with app.app_context():
        registration = registration_services.register_member(
            db.session.get(Meeting, meeting.id), db.session.get(User, user.id)
        )
        status = registration.status
        db.session.commit()
    return status


def _register_guest(app: Flask, meeting: Meeting, email: str, locale: str) -> RegistrationStatus:
    """A guest registers and clicks the confirmation link."""
    with app.test_request_context():
        result = registration_services.register_guest(
            db.session.get(Meeting, meeting.id),
            name="Gabi Gast",
            email=email,
            organization_name="Café International",
            locale=locale,
        )
        registration = registration_services.confirm_guest(result.registration)
        status = registration.status
        db.session.commit()
    return status


def _save_preferences(app: Flask, user: User, **values: Any) -> None:
    with app.app_context():
        preferences.save_preferences(db.session.get(User, user.id), **values)
        db.session.commit()


def _queue_reminder(app: Flask, meeting: Meeting, recipient: str) -> int:
    """A reminder waiting in the outbox, as the reminders job would leave it."""
    with app.test_request_context():
        message = queue_mail(
            recipient=recipient,
            locale="en",
            subject=f"Reminder: {meeting.title}",
            template="mail/password_reset",
            url_endpoint=("meetings.detail", {"meeting_id": meeting.id}),
            dedupe_key=f"test-reminder:{meeting.id}:{recipient}",
            topic="meeting_reminder",
            meeting_id=meeting.id,
            user_name="Reminder",
            expires_at=utcnow() + timedelta(hours=2),
        )
        assert message is not None
        message_id = message.id
        db.session.commit()
    return message_id


def _outbox(app: Flask, message_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        assert row is not None
        db.session.expunge(row)
    return row


def _edit_form(meeting: Meeting, **overrides: str) -> dict[str, str]:
    """The meeting edit form as the browser sends it back, with ``overrides``."""
    start = meeting.starts_at.astimezone(BERLIN)
    end = meeting.ends_at.astimezone(BERLIN)
    data = {
        "title": meeting.title,
        "kind": meeting.kind.value,
        "group_id": str(meeting.group_id or ""),
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "end_date": end.date().isoformat(),
        "end_time": end.strftime("%H:%M"),
        "venue_name": meeting.venue_name,
        "venue_address": meeting.venue_address,
        "online_url": meeting.online_url,
        "description": meeting.description,
        "visibility": meeting.visibility.value,
        "capacity": str(meeting.capacity or ""),
        "is_registration_open": "y",
        "registration_closes_date": "",
        "registration_closes_time": "",
    }
    if meeting.allows_guests:
        data["allows_guests"] = "y"
    if meeting.is_online_url_public:
        data["is_online_url_public"] = "y"
    data.update(overrides)
    return data


# --- feeds --------------------------------------------------------------------------------------


def _feed_event(response: Any, uid: str) -> Any:
    assert response.status_code == 200, response.status_code
    calendar = _parse_calendar(response.get_data().decode("utf-8"))
    assert "method" not in calendar.contents, "a feed or download must not carry a METHOD"
    events = {event.uid.value: event for event in calendar.contents.get("vevent", [])}
    assert uid in events, "the meeting is missing from the feed"
    return events[uid]


def _personal_feed_event(app: Flask, client: FlaskClient, user: User, uid: str) -> Any:
    with app.app_context():
        token, _row = calendar_services.create_token(db.session.get(User, user.id), "Telefon")
        db.session.commit()
    return _feed_event(client.get(f"/calendar/personal/{token}.ics"), uid)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def winter_meeting(make_meeting):
    """A network meeting on a winter evening a week or more ahead, 17:00–19:00 in Leipzig."""
    day = _winter_day()
    return make_meeting(
        title="Vernetzungstreffen Winter",
        starts_at=_at(day, 17),
        ends_at=_at(day, 19),
        description="Berichte aus den AGs",
    )


# === 1. structure ===============================================================================


def test_invitation_is_mixed_alternative_with_calendar_and_attachment(
    app, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", name="Erin English", locale=Locale.EN)
    group = make_group(members={erin.id: GroupRole.MEMBER})
    _invite(app, users["moderator"], meeting=winter_meeting, groups=[group])

    mails = _run(app, smtp_server, smtp_config)

    mail = _one_to(mails, "erin@example.org")
    message = mail.message
    assert message.get_content_type() == "multipart/mixed"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == [
        "multipart/alternative",
        "application/ics",
    ]
    alternative = [part.get_content_type() for part in parts[0].iter_parts()]
    assert alternative == ["text/plain", "text/html", "text/calendar"]
    calendar_part = parts[0].get_payload()[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    # The attachment is the same calendar, and both say the METHOD the MIME type says.
    attachment = mail.attachment
    assert attachment.get_content_disposition() == "attachment"
    attached = attachment.get_content()
    attached = attached.decode("utf-8") if isinstance(attached, bytes) else attached
    assert attached == mail.calendar_text
    assert mail.calendar.method.value == "REQUEST" == mail.mime_method
    assert _parse_calendar(attached).method.value == "REQUEST"
    # One recipient, nobody else in sight.
    assert mail.rcpt_tos == ["erin@example.org"]
    assert mail.to == "erin@example.org"
    assert message["Cc"] is None and message["Bcc"] is None
    assert message["From"] == SENDER
    assert mail.mail_from == SENDER_ADDRESS
    assert message["Auto-Submitted"] == "auto-generated"
    assert mail.subject == f"Invitation: Vernetzungstreffen Winter, {_en_date(_winter_day())}"
    # What a person reads: the meeting, when and where, and the link to register.
    assert "Hello Erin English," in mail.text
    assert "17:00–19:00" in mail.text
    assert "VHS Leipzig" in mail.text
    assert f"{BASE}/meetings/{winter_meeting.id}" in mail.text
    assert f'href="{BASE}/meetings/{winter_meeting.id}"' in mail.html


def test_every_invitee_gets_an_own_mail_that_names_nobody_else(
    app, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    people = [make_user(email=f"person{n}@example.org", name=f"Person {n}") for n in range(3)]
    group = make_group(members={person.id: GroupRole.MEMBER for person in people})
    _invite(app, users["moderator"], meeting=winter_meeting, groups=[group])

    mails = _run(app, smtp_server, smtp_config)

    addresses = [person.email for person in people]
    assert _recipients(mails) == sorted(addresses)
    for mail in mails:
        assert mail.rcpt_tos == [mail.to]
        raw = mail.message.as_string() + mail.calendar_text
        others = [address for address in addresses if address != mail.to]
        assert not [address for address in others if address in raw]
        attendees = mail.event.contents["attendee"]
        assert [attendee.value for attendee in attendees] == [f"mailto:{mail.to}"]


# === 2. calendar content ==========================================================================


def test_invitation_matches_personal_feed_and_download(
    app, client, login, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", name="Erin English", locale=Locale.EN)
    group = make_group(members={erin.id: GroupRole.MEMBER})
    _invite(app, users["moderator"], meeting=winter_meeting, groups=[group])
    with app.app_context():  # the meeting was last changed an hour ago
        db.session.execute(
            sa.update(Meeting)
            .where(Meeting.id == winter_meeting.id)
            .values(updated_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    before = utcnow().replace(microsecond=0)

    mail = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    after = utcnow()
    meeting = _meeting(app, winter_meeting.id)
    event = mail.event
    assert event.uid.value == meeting.ical_uid
    assert _seq(event) == meeting.sequence == 0
    assert event.status.value == "CONFIRMED"
    assert event.summary.value == "Vernetzungstreffen Winter"
    assert _utc(event.dtstart.value) == meeting.starts_at
    assert _utc(event.dtend.value) == meeting.ends_at
    assert _utc(event.dtstart.value).hour == 16  # 17:00 in Leipzig in winter
    assert "VHS Leipzig" in event.location.value
    assert event.url.value == f"{BASE}/meetings/{meeting.id}"
    # The message's DTSTAMP is the moment it was made, not the meeting's last change.
    assert before <= _utc(event.dtstamp.value) <= after
    organizer = event.organizer
    assert organizer.value == f"mailto:{SENDER_ADDRESS}"
    assert organizer.params["CN"] == [NETWORK]
    [attendee] = event.contents["attendee"]
    assert attendee.value == "mailto:erin@example.org"
    assert attendee.params["CN"] == ["Erin English"]
    assert attendee.params["RSVP"] == ["TRUE"]
    assert attendee.params["PARTSTAT"] == ["NEEDS-ACTION"]
    assert attendee.params["ROLE"] == ["REQ-PARTICIPANT"]

    erin_client = login(erin)
    for feed_event in (
        _personal_feed_event(app, erin_client, erin, meeting.ical_uid),
        _feed_event(erin_client.get(f"/meetings/{meeting.id}.ics"), meeting.ical_uid),
    ):
        assert _seq(feed_event) == _seq(event)
        assert _utc(feed_event.dtstart.value) == _utc(event.dtstart.value)
        assert _utc(feed_event.dtend.value) == _utc(event.dtend.value)
        # Feeds stamp an event with the meeting's last change.
        assert _utc(feed_event.dtstamp.value) == meeting.updated_at.replace(microsecond=0)
        assert meeting.updated_at < before - timedelta(minutes=30)
        assert "attendee" not in feed_event.contents


def test_summer_meeting_has_summer_times_and_matches_public_feed(
    app, client, users, make_user, make_group, make_meeting, smtp_server, smtp_config
):
    day = _summer_day()
    meeting = make_meeting(
        title="Sommerfest",
        starts_at=_at(day, 17),
        ends_at=_at(day, 21, 30),
        visibility=Visibility.PUBLIC,
    )
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _invite(
        app, users["moderator"], meeting=meeting, groups=[make_group(members={erin.id: "member"})]
    )

    mail = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    event = mail.event
    assert _utc(event.dtstart.value) == datetime.combine(day, time(15), UTC)
    assert _utc(event.dtend.value) == datetime.combine(day, time(19, 30), UTC)
    assert "17:00–21:30" in mail.text
    public = _feed_event(client.get("/calendar/public.ics"), meeting.ical_uid)
    assert public.uid.value == event.uid.value
    assert _seq(public) == _seq(event)
    assert _utc(public.dtstart.value) == _utc(event.dtstart.value)


def test_organizer_is_the_configured_mailbox_for_replies(
    app, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    app.config["MAIL_ORGANIZER"] = "termine@knotenpunkt.test"
    erin = make_user(email="erin@example.org")
    _invite(
        app,
        users["moderator"],
        meeting=winter_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )

    mail = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    assert mail.event.organizer.value == "mailto:termine@knotenpunkt.test"
    assert mail.message["From"] == SENDER


# === 3. recipients ================================================================================


def test_group_invitation_reaches_its_members_only(
    app, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    ana = make_user(email="ana@example.org")
    ben = make_user(email="ben@example.org")
    outsider = make_user(email="outsider@example.org")
    group = make_group(members={ana.id: GroupRole.MEMBER, ben.id: GroupRole.LEAD})
    make_group(members={outsider.id: GroupRole.MEMBER})
    _invite(app, users["moderator"], meeting=winter_meeting, groups=[group])

    mails = _run(app, smtp_server, smtp_config)

    assert _recipients(mails) == ["ana@example.org", "ben@example.org"]
    assert len(mails) == 2


def _counts(app: Flask, meeting: Meeting) -> tuple[int, int]:
    with app.app_context():
        counts = invitations.invitation_counts(db.session.get(Meeting, meeting.id))
    return counts.invited, counts.sent


def test_invitation_counts_show_invited_and_delivered(
    app, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)
    assert _counts(app, winter_meeting) == (0, 0)

    _process(app)
    assert _counts(app, winter_meeting) == (4, 0)
    _deliver(app, {**smtp_config, "MAIL_PORT": free_port()})
    assert _counts(app, winter_meeting) == (4, 0)  # the server is down: nothing went out
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    _deliver(app, smtp_config)

    assert _counts(app, winter_meeting) == (4, 4)
    assert len(smtp_server.envelopes) == 4


def test_all_members_of_a_confidential_groups_meeting_are_those_who_may_see_it(
    app, users, make_user, make_group, make_meeting, smtp_server, smtp_config
):
    insider = make_user(email="insider@example.org")
    retired = make_user(email="retired@example.org", is_active=False)
    make_user(email="outsider@example.org")
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={insider.id: GroupRole.MEMBER, retired.id: GroupRole.MEMBER},
    )
    day = _winter_day()
    meeting = make_meeting(
        group_id=group.id,
        kind=MeetingKind.GROUP,
        visibility=Visibility.GROUP,
        starts_at=_at(day, 18),
        ends_at=_at(day, 20),
    )
    _invite(app, users["admin"], meeting=meeting, all_members=True)

    mails = _run(app, smtp_server, smtp_config)

    # Admins read confidential groups; the moderator, the member and the outsider do not.
    assert _recipients(mails) == ["admin@example.org", "insider@example.org"]


def test_all_members_of_a_network_meeting_leaves_out_deactivated_accounts(
    app, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="retired@example.org", is_active=False)
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)

    mails = _run(app, smtp_server, smtp_config)

    assert _recipients(mails) == ["admin@example.org", "member@example.org", "mod@example.org"]


@pytest.mark.parametrize("visibility", [Visibility.PUBLIC, Visibility.NETWORK])
def test_organisation_members_and_its_contact_address_for_public_meetings_only(
    app, users, make_user, make_organization, make_meeting, smtp_server, smtp_config, visibility
):
    org = make_organization(name="Café International", contact_email="kontakt@cafe.example")
    make_user(email="staff1@example.org", organizations=[org.id])
    make_user(email="staff2@example.org", organizations=[org.id])
    make_user(email="elsewhere@example.org")
    day = _winter_day()
    meeting = make_meeting(visibility=visibility, starts_at=_at(day, 17), ends_at=_at(day, 19))
    _invite(app, users["moderator"], meeting=meeting, organizations=[org])

    mails = _run(app, smtp_server, smtp_config)

    expected = ["staff1@example.org", "staff2@example.org"]
    if visibility is Visibility.PUBLIC:
        expected = ["kontakt@cafe.example", *expected]
        contact = _one_to(mails, "kontakt@cafe.example")
        [attendee] = contact.event.contents["attendee"]
        assert attendee.params["CN"] == ["Café International"]
        # An address without an account gets the network's language.
        assert contact.subject.endswith(_de_date(day))
        assert contact.message["List-Unsubscribe"] is not None
    assert _recipients(mails) == expected


def test_people_who_turned_invitations_off_get_nothing(
    app, users, make_user, make_group, make_organization, make_meeting, smtp_server, smtp_config
):
    keen = make_user(email="keen@example.org")
    quiet = make_user(email="quiet@example.org")
    org = make_organization(contact_email="quiet-contact@cafe.example")
    _save_preferences(app, quiet, invitations=False)
    with app.app_context():
        preferences.opt_out_address("Quiet-Contact@cafe.example", Topic.INVITATIONS)
        db.session.commit()
    day = _winter_day()
    meeting = make_meeting(
        visibility=Visibility.PUBLIC, starts_at=_at(day, 17), ends_at=_at(day, 19)
    )
    group = make_group(members={keen.id: GroupRole.MEMBER, quiet.id: GroupRole.MEMBER})
    _invite(app, users["moderator"], meeting=meeting, groups=[group], organizations=[org])

    mails = _run(app, smtp_server, smtp_config)

    assert _recipients(mails) == ["keen@example.org"]
    assert len(mails) == 1


def test_an_address_reached_twice_gets_one_mail(
    app, users, make_user, make_group, make_organization, make_meeting, smtp_server, smtp_config
):
    org = make_organization(contact_email="  Both@Example.org ")
    both = make_user(email="both@example.org", organizations=[org.id])
    group = make_group(members={both.id: GroupRole.MEMBER})
    day = _winter_day()
    meeting = make_meeting(
        visibility=Visibility.PUBLIC, starts_at=_at(day, 17), ends_at=_at(day, 19)
    )
    _invite(app, users["moderator"], meeting=meeting, groups=[group], organizations=[org])
    _invite(app, users["admin"], meeting=meeting, all_members=True)

    mails = _run(app, smtp_server, smtp_config)

    assert len(_to(mails, "both@example.org")) == 1
    assert _recipients(mails) == [
        "admin@example.org",
        "both@example.org",
        "member@example.org",
        "mod@example.org",
    ]


def test_a_contact_address_of_an_account_with_invitations_off_gets_nothing(
    app, users, make_user, make_organization, make_meeting, smtp_server, smtp_config
):
    org = make_organization(contact_email="vorstand@cafe.example")
    chair = make_user(email="vorstand@cafe.example")  # has an account, but is no org member
    _save_preferences(app, chair, invitations=False)
    day = _winter_day()
    meeting = make_meeting(
        visibility=Visibility.PUBLIC, starts_at=_at(day, 17), ends_at=_at(day, 19)
    )
    _invite(app, users["moderator"], meeting=meeting, organizations=[org])

    mails = _run(app, smtp_server, smtp_config)

    assert mails == []


def test_online_link_only_for_those_who_may_see_it(
    app, users, make_user, make_organization, make_meeting, smtp_server, smtp_config
):
    org = make_organization(contact_email="kontakt@cafe.example")
    make_user(email="staff@example.org", organizations=[org.id])
    day = _winter_day()
    meeting = make_meeting(
        visibility=Visibility.PUBLIC,
        starts_at=_at(day, 17),
        ends_at=_at(day, 19),
        online_url="https://meet.example.org/geheim-123",
        is_online_url_public=False,
    )
    _invite(app, users["moderator"], meeting=meeting, organizations=[org])

    mails = _run(app, smtp_server, smtp_config)

    member = _one_to(mails, "staff@example.org")
    contact = _one_to(mails, "kontakt@cafe.example")
    assert "meet.example.org/geheim-123" in member.text
    assert "meet.example.org/geheim-123" in member.calendar_text
    for part in (contact.text, contact.html, contact.calendar_text):
        assert "geheim-123" not in part


# === 4. languages =================================================================================


def test_each_invitee_reads_the_invitation_in_their_language(
    app, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org", name="Erin", locale=Locale.EN)
    make_user(email="dora@example.org", name="Dora", locale=Locale.DE)
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)

    mails = _run(app, smtp_server, smtp_config)

    day = _winter_day()
    english, german = _one_to(mails, "erin@example.org"), _one_to(mails, "dora@example.org")
    assert english.subject.endswith(f", {_en_date(day)}")
    assert german.subject.endswith(f", {_de_date(day)}")
    assert english.text.startswith("Hello Erin,")
    assert german.text.startswith("Hallo Dora,")
    assert '<html lang="en">' in english.html
    assert '<html lang="de">' in german.html
    # Calendar texts follow the recipient too.
    assert "\n\nDetails and registration: https://" in english.event.description.value
    assert "\n\nDetails und Anmeldung: https://" in german.event.description.value
    # The German subject is whatever the catalogue says for the English original.
    with app.app_context(), force_locale("de"):
        expected = _(
            "Invitation: %(title)s, %(date)s",
            title="Vernetzungstreffen Winter",
            date=_de_date(day),
        )
    assert german.subject == expected


def test_german_invitation_subject_is_german(
    app, make_user, users, winter_meeting, smtp_server, smtp_config
):
    make_user(email="dora@example.org", locale=Locale.DE)
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)

    mail = _one_to(_run(app, smtp_server, smtp_config), "dora@example.org")

    assert mail.subject.startswith("Einladung")


# === 5. updates ===================================================================================


@pytest.fixture
def public_meeting(make_meeting):
    """A public meeting guests may register for, with two seats."""
    day = _winter_day()
    return make_meeting(
        title="Offenes Plenum",
        starts_at=_at(day, 17),
        ends_at=_at(day, 19),
        visibility=Visibility.PUBLIC,
        allows_guests=True,
        capacity=2,
    )


def test_venue_change_reaches_invitees_and_registered_people_in_their_language(
    app,
    login,
    users,
    make_user,
    make_group,
    public_meeting,
    smtp_server,
    smtp_config,
):
    invitee = make_user(email="invitee@example.org", name="Ivy", locale=Locale.EN)
    seated = make_user(email="seated@example.org", name="Sepp", locale=Locale.DE)
    waiting = make_user(email="waiting@example.org", name="Wanda", locale=Locale.EN)
    make_user(email="bystander@example.org", locale=Locale.EN)
    _invite(
        app,
        users["moderator"],
        meeting=public_meeting,
        groups=[make_group(members={invitee.id: GroupRole.MEMBER})],
    )
    first = _run(app, smtp_server, smtp_config)
    assert _recipients(first) == ["invitee@example.org"]
    # Registered people always hear of changes, even with invitations turned off.
    _save_preferences(app, seated, invitations=False)
    assert _register(app, public_meeting, seated) is RegistrationStatus.CONFIRMED
    assert _register_guest(app, public_meeting, "gast@example.net", "en") is (
        RegistrationStatus.CONFIRMED
    )
    assert _register(app, public_meeting, waiting) is RegistrationStatus.WAITLISTED

    response = login(users["moderator"]).post(
        f"/meetings/{public_meeting.id}/edit",
        data=_edit_form(public_meeting, venue_name="Neues Rathaus"),
    )
    assert response.status_code == 303
    mails = _itip(_run(app, smtp_server, smtp_config))

    meeting = _meeting(app, public_meeting.id)
    assert meeting.sequence == 1
    assert _recipients(mails) == [
        "gast@example.net",
        "invitee@example.org",
        "seated@example.org",
        "waiting@example.org",
    ]
    day = _winter_day()
    for mail in mails:
        assert mail.calendar.method.value == "REQUEST" == mail.mime_method
        assert mail.event.uid.value == public_meeting.ical_uid
        assert _seq(mail.event) == 1
        assert mail.event.location.value.startswith("Neues Rathaus")
        assert "Neues Rathaus" in mail.text
    english = ["gast@example.net", "invitee@example.org", "waiting@example.org"]
    for address in english:
        mail = _one_to(mails, address)
        assert mail.subject == f"Changed: Offenes Plenum, {_en_date(day)}"
        assert '<html lang="en">' in mail.html
    seated_mail = _one_to(mails, "seated@example.org")
    assert seated_mail.subject.endswith(_de_date(day))
    assert seated_mail.text.startswith("Hallo Sepp,")
    assert "waiting list" in _one_to(mails, "waiting@example.org").text
    assert "Your registration stays valid." in _one_to(mails, "gast@example.net").text
    # Changes are essential for registered people: no unsubscribe; invitees may opt out.
    for address in ("gast@example.net", "seated@example.org", "waiting@example.org"):
        mail = _one_to(mails, address)
        assert mail.message["List-Unsubscribe"] is None
        assert "/notifications/unsubscribe/" not in mail.text
    assert (
        "/notifications/unsubscribe/"
        in _one_to(mails, "invitee@example.org").message["List-Unsubscribe"]
    )
    public = _feed_event(login(users["member"]).get("/calendar/public.ics"), meeting.ical_uid)
    assert _seq(public) == 1


def test_time_change_sends_the_new_times_with_the_next_sequence(
    app, login, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _invite(
        app,
        users["moderator"],
        meeting=winter_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )
    invitation = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    login(users["moderator"]).post(
        f"/meetings/{winter_meeting.id}/edit",
        data=_edit_form(winter_meeting, start_time="18:30", end_time="20:30"),
    )
    update = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    day = _winter_day()
    assert update.event.uid.value == invitation.event.uid.value
    assert _seq(update.event) == _seq(invitation.event) + 1
    assert _utc(update.event.dtstart.value) == _at(day, 18, 30)
    assert _utc(update.event.dtend.value) == _at(day, 20, 30)
    assert "18:30–20:30" in update.text
    feed = _personal_feed_event(app, login(erin), erin, winter_meeting.ical_uid)
    assert _seq(feed) == _seq(update.event)
    assert _utc(feed.dtstart.value) == _utc(update.event.dtstart.value)


def test_a_change_that_keeps_the_sequence_sends_nothing(
    app, login, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org")
    _invite(
        app,
        users["moderator"],
        meeting=winter_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )
    _register(app, winter_meeting, users["member"])
    assert len(_run(app, smtp_server, smtp_config)) == 1

    response = login(users["moderator"]).post(
        f"/meetings/{winter_meeting.id}/edit",
        data=_edit_form(winter_meeting, title="Neuer Titel", description="Andere Tagesordnung"),
    )
    assert response.status_code == 303
    assert _meeting(app, winter_meeting.id).sequence == 0

    assert _run(app, smtp_server, smtp_config) == []


def test_an_invitee_who_registered_gets_one_update_without_unsubscribe(
    app, login, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    _invite(
        app,
        users["moderator"],
        meeting=winter_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )
    _run(app, smtp_server, smtp_config)
    _register(app, winter_meeting, erin)

    login(users["moderator"]).post(
        f"/meetings/{winter_meeting.id}/edit",
        data=_edit_form(winter_meeting, venue_address="Markt 1, 04109 Leipzig"),
    )
    mails = _run(app, smtp_server, smtp_config)

    mail = _one_to(mails, "erin@example.org")
    assert len(mails) == 1
    assert mail.message["List-Unsubscribe"] is None
    assert "Your registration stays valid." in mail.text


# === 6. cancellations =============================================================================


def test_cancelling_sends_cancel_to_invitees_and_registered_people(
    app, client, login, users, make_user, make_group, public_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    dora = make_user(email="dora@example.org", locale=Locale.DE)
    make_user(email="bystander@example.org")
    _invite(
        app,
        users["moderator"],
        meeting=public_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )
    _run(app, smtp_server, smtp_config)
    _register(app, public_meeting, dora)

    response = login(users["moderator"]).post(f"/meetings/{public_meeting.id}/cancel")
    assert response.status_code == 303
    mails = _run(app, smtp_server, smtp_config)

    assert _recipients(mails) == ["dora@example.org", "erin@example.org"]
    assert len(mails) == 2
    meeting = _meeting(app, public_meeting.id)
    assert meeting.status is MeetingStatus.CANCELLED and meeting.sequence == 1
    for mail in mails:
        assert mail.mime_method == "CANCEL" == mail.calendar.method.value
        assert _parse_calendar(mail.attachment.get_content().decode()).method.value == "CANCEL"
        assert mail.event.status.value == "CANCELLED"
        assert mail.event.uid.value == meeting.ical_uid
        assert _seq(mail.event) == 1
        [attendee] = mail.event.contents["attendee"]
        assert attendee.value == f"mailto:{mail.to}"
    english, german = _one_to(mails, "erin@example.org"), _one_to(mails, "dora@example.org")
    assert english.subject.startswith("Cancelled: Offenes Plenum")
    assert english.event.summary.value == "Cancelled: Offenes Plenum"
    assert german.event.summary.value == "Abgesagt: Offenes Plenum"
    assert german.subject.endswith(_de_date(_winter_day()))
    public = _feed_event(client.get("/calendar/public.ics"), meeting.ical_uid)
    assert public.status.value == "CANCELLED"
    assert _seq(public) == 1


def test_nobody_hears_of_a_meeting_cancelled_before_the_invitations_went_out(
    app, login, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)
    login(users["moderator"]).post(f"/meetings/{winter_meeting.id}/cancel")

    mails = _run(app, smtp_server, smtp_config)

    assert mails == []
    assert _run(app, smtp_server, smtp_config) == []


def test_cancelling_withdraws_pending_reminders(
    app, login, users, make_user, make_meeting, winter_meeting, smtp_server, smtp_config
):
    dora = make_user(email="dora@example.org")
    _register(app, winter_meeting, dora)
    reminder = _queue_reminder(app, winter_meeting, "dora@example.org")
    other = make_meeting(title="Anderes Treffen")
    other_reminder = _queue_reminder(app, other, "dora@example.org")

    login(users["moderator"]).post(f"/meetings/{winter_meeting.id}/cancel")
    mails = _run(app, smtp_server, smtp_config)
    _deliver(app, smtp_config)

    assert _outbox(app, reminder).status is OutboxStatus.WITHDRAWN
    assert _outbox(app, other_reminder).status is OutboxStatus.SENT
    to_dora = _to(mails, "dora@example.org")
    kinds = sorted(mail.mime_method if mail.is_itip else mail.subject for mail in to_dora)
    assert kinds == ["CANCEL", "Reminder: Anderes Treffen"]
    assert f"Reminder: {winter_meeting.title}" not in [mail.subject for mail in to_dora]


# === 7. series ====================================================================================


def _series(app: Flask, start: date, **fields: Any) -> int:
    """A weekly network series at 17:00 from ``start``, generated eight weeks ahead."""
    values: dict[str, Any] = {
        "title": "Wöchentliches Plenum",
        "kind": MeetingKind.NETWORK,
        "frequency": Frequency.WEEKLY,
        "interval": 1,
        "weekday": None,
        "start_date": start,
        "start_time": time(17, 0),
        "duration_minutes": 120,
        "venue_name": "VHS Leipzig",
        "venue_address": "Löhrstraße 3-7, 04105 Leipzig",
        "visibility": Visibility.NETWORK,
    }
    values.update(fields)
    with app.app_context():
        series = meeting_services.create_series(
            actor=None, until=start + timedelta(weeks=8), **values
        )
        db.session.commit()
        return series.id


def _dates(app: Flask, series_id: int) -> list[Meeting]:
    with app.app_context():
        meetings = list(
            db.session.scalars(
                sa.select(Meeting).where(Meeting.series_id == series_id).order_by(Meeting.starts_at)
            )
        )
        for meeting in meetings:
            db.session.expunge(meeting)
    return meetings


@pytest.fixture
def short_window(app):
    """Invitations for series dates go out ten days ahead (instead of six weeks)."""
    app.config["INVITATION_WINDOW_DAYS"] = 10
    return 10


def test_series_invites_the_dates_within_the_window_and_later_the_next_one(
    app, users, make_user, make_group, short_window, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    dora = make_user(email="dora@example.org", locale=Locale.DE)
    group = make_group(members={erin.id: GroupRole.MEMBER, dora.id: GroupRole.MEMBER})
    series_id = _series(app, _today() + timedelta(days=2))
    _invite(app, users["moderator"], series_id=series_id, groups=[group])
    dates = _dates(app, series_id)
    assert len(dates) >= 4

    mails = _run(app, smtp_server, smtp_config)

    # Dates 2 and 9 days ahead are within ten days; the one 16 days ahead is not.
    assert _recipients(mails) == ["dora@example.org"] * 2 + ["erin@example.org"] * 2
    for address in ("erin@example.org", "dora@example.org"):
        uids = sorted(mail.event.uid.value for mail in _to(mails, address))
        assert uids == sorted(meeting.ical_uid for meeting in dates[:2])
    assert len({meeting.ical_uid for meeting in dates}) == len(dates)
    by_uid = {mail.event.uid.value: mail for mail in _to(mails, "erin@example.org")}
    for meeting in dates[:2]:
        assert _utc(by_uid[meeting.ical_uid].event.dtstart.value) == meeting.starts_at
    assert "part of a series" in by_uid[dates[0].ical_uid].text
    assert "10 days" in by_uid[dates[0].ical_uid].text
    assert _run(app, smtp_server, smtp_config) == []

    week_later = _run(app, smtp_server, smtp_config, now=utcnow() + timedelta(days=7))

    assert _recipients(week_later) == ["dora@example.org", "erin@example.org"]
    assert {mail.event.uid.value for mail in week_later} == {dates[2].ical_uid}
    assert {mail.calendar.method.value for mail in week_later} == {"REQUEST"}


def test_this_and_following_with_a_new_weekday_keeps_inviting(
    app, users, make_user, make_group, short_window, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    group = make_group(members={erin.id: GroupRole.MEMBER})
    series_id = _series(app, _today() + timedelta(days=2))
    _invite(app, users["moderator"], series_id=series_id, groups=[group])
    dates = _dates(app, series_id)
    assert len(_run(app, smtp_server, smtp_config)) == 2

    # The second date and all after it move one day later: the series is split.
    with app.app_context():
        second = db.session.get(Meeting, dates[1].id)
        successor = meeting_services.update_following(
            second,
            actor=None,
            starts_at=second.starts_at + timedelta(days=1),
            ends_at=second.ends_at + timedelta(days=1),
        )
        successor_id = successor.id
        db.session.commit()
    assert successor_id != series_id
    moved = _dates(app, successor_id)
    assert [meeting.id for meeting in moved[:2]] == [dates[1].id, dates[2].id]

    update = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")
    assert update.event.uid.value == dates[1].ical_uid
    assert _seq(update.event) == 1
    assert _utc(update.event.dtstart.value) == dates[1].starts_at + timedelta(days=1)
    assert update.subject.startswith("Changed:")

    later = _run(app, smtp_server, smtp_config, now=utcnow() + timedelta(days=8))

    invitation = _one_to(later, "erin@example.org")
    assert len(later) == 1
    assert invitation.subject.startswith("Invitation:")
    assert invitation.event.uid.value == dates[2].ical_uid
    assert _utc(invitation.event.dtstart.value) == dates[2].starts_at + timedelta(days=1)
    assert _seq(invitation.event) == _meeting(app, dates[2].id).sequence


def test_ending_a_series_cancels_invited_dates_and_withdraws_their_reminders(
    app, login, users, make_user, make_group, short_window, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org", locale=Locale.EN)
    dora = make_user(email="dora@example.org", locale=Locale.EN)
    start = _today() + timedelta(days=2)
    series_id = _series(app, start)
    _invite(
        app,
        users["moderator"],
        series_id=series_id,
        groups=[make_group(members={erin.id: "member"})],
    )
    dates = _dates(app, series_id)
    _run(app, smtp_server, smtp_config)
    _register(app, dates[1], dora)
    reminder = _queue_reminder(app, dates[1], "dora@example.org")

    response = login(users["moderator"]).post(
        f"/meetings/series/{series_id}/end", data={"until_date": start.isoformat()}
    )
    assert response.status_code in (302, 303)
    mails = _run(app, smtp_server, smtp_config)

    assert _meeting(app, dates[0].id).status is MeetingStatus.SCHEDULED
    assert _meeting(app, dates[1].id).status is MeetingStatus.CANCELLED
    # Erin was invited to the first two dates; only the second is called off. Nobody hears of
    # the third, to which nobody was invited yet. Dora registered for the second.
    assert _recipients(mails) == ["dora@example.org", "erin@example.org"]
    for mail in mails:
        assert mail.mime_method == "CANCEL"
        assert mail.event.uid.value == dates[1].ical_uid
        assert mail.event.status.value == "CANCELLED"
    assert _outbox(app, reminder).status is OutboxStatus.WITHDRAWN
    assert _run(app, smtp_server, smtp_config, now=utcnow() + timedelta(days=7)) == []


# === 8. delivery ==================================================================================


def test_running_the_job_twice_sends_nothing_twice(
    app, login, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _register(app, winter_meeting, users["member"])
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)

    _process(app)
    _process(app)
    _deliver(app, smtp_config)
    _deliver(app, smtp_config)
    first = _mails_since(smtp_server, 0)
    assert sorted(mail.to for mail in first) == [
        "admin@example.org",
        "erin@example.org",
        "member@example.org",
        "mod@example.org",
    ]

    login(users["moderator"]).post(
        f"/meetings/{winter_meeting.id}/edit",
        data=_edit_form(winter_meeting, venue_name="Rathaus"),
    )
    start = len(smtp_server.envelopes)
    for _round in range(2):
        _process(app)
        _deliver(app, smtp_config)
    updates = _mails_since(smtp_server, start)
    assert sorted(mail.to for mail in updates) == sorted(mail.to for mail in first)
    assert {_seq(mail.event) for mail in updates} == {1}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 8


def test_mails_wait_while_the_server_is_down_and_arrive_once_when_it_is_back(
    app, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)
    down = {**smtp_config, "MAIL_PORT": free_port()}

    _process(app)
    report = _deliver(app, down)

    assert report.sent == [] and len(report.retrying) == 4
    assert smtp_server.envelopes == []
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage)))
        assert len(rows) == 4
        for row in rows:
            assert row.status is OutboxStatus.PENDING
            assert row.attempts == 1
            assert row.next_attempt_at > utcnow()
            assert row.last_error
    # Not due yet: nothing is tried, and a new run queues nothing again.
    assert _deliver(app, smtp_config).sent == []
    _process(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 4
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    assert len(_deliver(app, smtp_config).sent) == 4
    assert _deliver(app, smtp_config).sent == []
    mails = _mails_since(smtp_server, 0)
    assert sorted(mail.to for mail in mails) == [
        "admin@example.org",
        "erin@example.org",
        "member@example.org",
        "mod@example.org",
    ]
    assert all(mail.mime_method == "REQUEST" for mail in mails)


# === 9. header injection ==========================================================================


def test_line_breaks_in_title_and_name_inject_no_header_and_no_recipient(
    app, users, make_user, make_group, make_meeting, smtp_server, smtp_config
):
    day = _winter_day()
    meeting = make_meeting(
        title="Plenum\r\nBcc: evil@example.org",
        starts_at=_at(day, 17),
        ends_at=_at(day, 19),
    )
    eve = make_user(
        email="eve@example.org", name="Eve\r\nBcc: evil@example.org\nX-Evil: 1", locale=Locale.EN
    )
    _invite(
        app, users["moderator"], meeting=meeting, groups=[make_group(members={eve.id: "member"})]
    )

    mails = _run(app, smtp_server, smtp_config)

    assert [mail.rcpt_tos for mail in mails] == [["eve@example.org"]]
    mail = mails[0]
    assert mail.message["Bcc"] is None and mail.message["X-Evil"] is None
    assert mail.to == "eve@example.org"
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert mail.subject.startswith("Invitation: Plenum Bcc: evil@example.org,")
    raw_headers = mail.message.as_string().split("\n\n", 1)[0]
    assert not re.search(r"(?im)^(bcc|x-evil):", raw_headers)
    [attendee] = mail.event.contents["attendee"]
    assert attendee.value == "mailto:eve@example.org"
    [name] = attendee.params["CN"]
    assert "\r" not in name and "\n" not in name
    assert not [line for line in _calendar_lines(mail.calendar_text) if line.startswith("Bcc")]


# === header details and ordering after an outage ==================================================


def test_list_unsubscribe_header_is_a_plain_url_on_the_wire(
    app, users, make_user, winter_meeting, smtp_server, smtp_config
):
    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)

    mail = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    raw = dict(mail.message.raw_items())["List-Unsubscribe"]
    unfolded = re.sub(r"\r?\n[ \t]+", " ", raw).strip()
    assert re.fullmatch(rf"<{re.escape(BASE)}/notifications/unsubscribe/[^\s<>]+>", unfolded)
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_mail_carries_a_date(app, users, make_user, winter_meeting, smtp_server, smtp_config):
    from email.utils import parsedate_to_datetime

    make_user(email="erin@example.org")
    _invite(app, users["moderator"], meeting=winter_meeting, all_members=True)
    before = utcnow().replace(microsecond=0)

    mail = _one_to(_run(app, smtp_server, smtp_config), "erin@example.org")

    assert mail.message["Date"] is not None
    sent = parsedate_to_datetime(str(mail.message["Date"]))
    assert before - timedelta(seconds=1) <= sent <= utcnow() + timedelta(seconds=1)


def test_an_undelivered_invitation_does_not_arrive_after_its_cancellation(
    app, login, users, make_user, make_group, winter_meeting, smtp_server, smtp_config
):
    erin = make_user(email="erin@example.org")
    _invite(
        app,
        users["moderator"],
        meeting=winter_meeting,
        groups=[make_group(members={erin.id: "member"})],
    )
    _process(app)
    down = {**smtp_config, "MAIL_PORT": free_port()}
    assert len(_deliver(app, down).retrying) == 1  # the invitation waits for its retry
    login(users["moderator"]).post(f"/meetings/{winter_meeting.id}/cancel")

    _process(app)
    _deliver(app, smtp_config)
    with app.app_context():  # the invitation's retry comes due
        db.session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    _deliver(app, smtp_config)

    methods = [mail.mime_method for mail in _mails_since(smtp_server, 0)]
    # A REQUEST after the CANCEL would put the cancelled meeting into Erin's calendar.
    assert "REQUEST" not in methods
