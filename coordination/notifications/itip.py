"""iTIP calendar objects for invitation mails (RFC 5546, RFC 6047; research/calendar.md §7).

The VEVENT is the one the feeds carry (same UID, SEQUENCE, times, texts) plus what a scheduling
message needs: a METHOD, the ORGANIZER and the one ATTENDEE the mail goes to, and a DTSTAMP of
the moment the message was made.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from flask import current_app

from coordination.calendar import ics
from coordination.calendar.services import meeting_event, network_name
from coordination.db import utcnow

REQUEST = "REQUEST"
CANCEL = "CANCEL"

#: Addresses that can go into a ``mailto:`` URI as they are (no separators, quotes or spaces).
_PLAIN_ADDRESS = re.compile(r"[^\s@;:,\"'<>\\()\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+")


def is_plain_address(address: str) -> bool:
    return bool(_PLAIN_ADDRESS.fullmatch(address))


def organizer_address() -> str:
    """Where calendar apps send accept/decline replies: MAIL_ORGANIZER or the sender address."""
    configured = current_app.config.get("MAIL_ORGANIZER") or ""
    address = configured or parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    return address if is_plain_address(address) else "noreply@localhost"


def itip_calendar(
    meeting: Any,
    *,
    method: str,
    attendee_email: str,
    attendee_name: str,
    url: str,
    show_online_url: bool,
    now: datetime | None = None,
) -> str:
    """The calendar text of one invitation, update (REQUEST) or cancellation (CANCEL).

    Texts are in the current locale: the caller renders it in the recipient's language.
    """
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unsupported iTIP method {method!r}")
    if not is_plain_address(attendee_email):
        raise ValueError("the attendee's address cannot be written into a calendar")
    event = meeting_event(meeting, url=url, show_online_url=show_online_url)
    if method == CANCEL:
        event.status = "CANCELLED"
    organizer = f"ORGANIZER;CN={ics.param(network_name())}:mailto:{organizer_address()}"
    attendee = (
        f"ATTENDEE;CN={ics.param(attendee_name or attendee_email)};ROLE=REQ-PARTICIPANT;"
        f"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee_email}"
    )
    event = replace(event, stamp=now or utcnow(), extra=(organizer, attendee))
    meta = ics.CalendarMeta(method=method)
    body = ics.write_calendar([event], meta, current_app.config["NETWORK_TIMEZONE"])
    return body.decode("utf-8")
