"""Writing iCalendar (RFC 5545) text: one code path for downloads, feeds and (later) mail.

Why not ``icalendar.Calendar.to_ical()``: building a 200-event feed with it costs about 34 ms
(research/performance.md), above our 20 ms budget for a cold build, and its generated VTIMEZONE
(an RDATE list) puts summer meetings one hour late in ical.js and vobject (research/calendar.md
§3). So the lines are assembled here, including TEXT escaping and folding at 75 octets without
splitting UTF-8 characters (icalendar's ``escape_char`` and ``foldline`` are deprecated since
7.0, and ``escape_char`` turns a typed "\\N" into a newline). The tests parse every output with
vobject *and* icalendar and compare each start and end with ``zoneinfo``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

PRODID = "-//Knotenpunkt//Knotenpunkt 1.0//DE"

#: Control characters are not allowed in TEXT values (RFC 5545 §3.3.11); tab and newline are.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(value: str) -> str:
    """A TEXT value: control characters dropped, then escaped per RFC 5545 §3.3.11.

    Every line end (CRLF, LF or a lone CR) becomes ``\\n``; backslashes first, so none is doubled.
    """
    return (
        _CONTROL.sub("", value)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def param(value: str) -> str:
    """A parameter value (e.g. CN): quoted, with characters a quoted value cannot hold removed."""
    cleaned = _CONTROL.sub("", value).replace('"', "'").replace("\r", " ").replace("\n", " ")
    return f'"{cleaned}"'


# %-formatting of the fields: about twice as fast as strftime or f-strings with format specs,
# and feeds write five of these per event.
def utc_stamp(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return "%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def local_stamp(value: datetime) -> str:
    return "%04d%02d%02dT%02d%02d%02d" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def date_stamp(value: date) -> str:
    return "%04d%02d%02d" % (value.year, value.month, value.day)  # noqa: UP031


def duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    if seconds % 3600 == 0:
        return f"PT{seconds // 3600}H"
    return f"PT{seconds // 60}M"


# --- time zones --------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}"


@cache
def vtimezone(tzid: str) -> tuple[str, ...] | None:
    """The VTIMEZONE lines for ``tzid`` in RRULE form, or ``None`` if we cannot write it safely.

    Clients read a VTIMEZONE with one STANDARD and one DAYLIGHT observance and yearly RRULEs
    reliably (research/calendar.md §3). We write that form for zones without daylight saving
    time and for zones that follow the EU rule (summer time from the last Sunday of March to the
    last Sunday of October, switching at 01:00 UTC), checked against ``zoneinfo`` for this year
    and the next ones. For any other zone the caller writes UTC times, which every client shows
    correctly.
    """
    zone = ZoneInfo(tzid)
    year = datetime.now(UTC).year
    january = datetime(year, 1, 15, 12, tzinfo=UTC).astimezone(zone)
    july = datetime(year, 7, 15, 12, tzinfo=UTC).astimezone(zone)
    standard, daylight = january.utcoffset(), july.utcoffset()
    assert standard is not None and daylight is not None
    header = ("BEGIN:VTIMEZONE", f"TZID:{tzid}", f"X-LIC-LOCATION:{tzid}")
    if standard == daylight:
        if any(
            datetime(y, m, 15, 12, tzinfo=UTC).astimezone(zone).utcoffset() != standard
            for y in range(year, year + 5)
            for m in (1, 4, 7, 10)
        ):
            return None
        return (
            *header,
            "BEGIN:STANDARD",
            f"TZNAME:{january.tzname()}",
            f"TZOFFSETFROM:{_offset(standard)}",
            f"TZOFFSETTO:{_offset(standard)}",
            "DTSTART:19700101T000000",
            "END:STANDARD",
            "END:VTIMEZONE",
        )
    for y in range(year, year + 5):
        for month, before, after in ((3, standard, daylight), (10, daylight, standard)):
            switch = datetime.combine(_last_sunday(y, month), datetime.min.time(), UTC)
            switch += timedelta(hours=1)
            if (switch - timedelta(seconds=1)).astimezone(zone).utcoffset() != before:
                return None
            if switch.astimezone(zone).utcoffset() != after:
                return None
    # DTSTART of an observance is the local wall-clock time just before the switch.
    spring = (datetime(1970, 1, 1, 1) + standard).strftime("%H%M%S")
    autumn = (datetime(1970, 1, 1, 1) + daylight).strftime("%H%M%S")
    return (
        *header,
        "BEGIN:DAYLIGHT",
        f"TZNAME:{july.tzname()}",
        f"TZOFFSETFROM:{_offset(standard)}",
        f"TZOFFSETTO:{_offset(daylight)}",
        f"DTSTART:19700329T{spring}",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        f"TZNAME:{january.tzname()}",
        f"TZOFFSETFROM:{_offset(daylight)}",
        f"TZOFFSETTO:{_offset(standard)}",
        f"DTSTART:19701025T{autumn}",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
    )


# --- events and calendars ----------------------------------------------------------------------


# Not frozen: a frozen dataclass's __init__ costs three times as much, per event of every feed.
@dataclass(slots=True)
class Event:
    """One VEVENT. Timed events carry aware datetimes; all-day events carry dates (end exclusive)."""

    uid: str
    sequence: int
    stamp: datetime
    last_modified: datetime
    start: datetime | date
    end: datetime | date
    summary: str
    status: str = "CONFIRMED"
    location: str = ""
    description: str = ""
    url: str = ""
    created: datetime | None = None
    #: Extra content lines written as they are (ORGANIZER, ATTENDEE in invitations).
    extra: tuple[str, ...] = field(default=())


_zone = cache(ZoneInfo)


def _when(name: str, value: datetime | date, tzid: str | None) -> str:
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{date_stamp(value)}"
    if tzid is None:
        return f"{name}:{utc_stamp(value)}"
    return f"{name};TZID={tzid}:{local_stamp(value.astimezone(_zone(tzid)))}"


def event_lines(event: Event, tzid: str | None) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{text(event.uid)}",
    ]
    stamp = utc_stamp(event.stamp)
    # In feeds both are the meeting's updated_at: format it once.
    modified = stamp if event.last_modified == event.stamp else utc_stamp(event.last_modified)
    lines += [f"DTSTAMP:{stamp}", f"LAST-MODIFIED:{modified}"]
    if event.created is not None:
        lines.append(f"CREATED:{utc_stamp(event.created)}")
    lines += [
        f"SEQUENCE:{int(event.sequence)}",
        f"STATUS:{event.status}",
        f"SUMMARY:{text(event.summary)}",
        _when("DTSTART", event.start, tzid),
        _when("DTEND", event.end, tzid),
    ]
    if event.location:
        lines.append(f"LOCATION:{text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{text(event.description)}")
    if event.url:
        lines.append(f"URL;VALUE=URI:{event.url}")
    lines.append("TRANSP:OPAQUE")
    lines.extend(event.extra)
    lines.append("END:VEVENT")
    return lines


@dataclass(frozen=True, slots=True)
class CalendarMeta:
    """Calendar-level properties. Feeds set ``name`` and ``refresh``; mails set ``method``."""

    uid: str = ""
    name: str = ""
    description: str = ""
    method: str = ""
    refresh: timedelta | None = None


def write_calendar(events: Sequence[Event], meta: CalendarMeta, tzid: str) -> bytes:
    """A complete VCALENDAR as UTF-8 bytes with CRLF line ends, folded at 75 octets.

    The VTIMEZONE is always present, also in an empty calendar: RFC 5545 requires at least one
    component, and strict clients reject a calendar without.
    """
    zone_lines = vtimezone(tzid)
    used_tzid = tzid if zone_lines is not None else None
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if meta.method:
        lines.append(f"METHOD:{meta.method}")
    if meta.uid:
        lines.append(f"UID:{text(meta.uid)}")
    if meta.name:
        lines += [f"NAME:{text(meta.name)}", f"X-WR-CALNAME:{text(meta.name)}"]
    if meta.description:
        lines += [
            f"DESCRIPTION:{text(meta.description)}",
            f"X-WR-CALDESC:{text(meta.description)}",
        ]
    if meta.refresh is not None:
        lines += [
            f"REFRESH-INTERVAL;VALUE=DURATION:{duration(meta.refresh)}",
            f"X-PUBLISHED-TTL:{duration(meta.refresh)}",
        ]
    if used_tzid is not None:
        lines.append(f"X-WR-TIMEZONE:{used_tzid}")
        lines.extend(zone_lines or ())
    elif not events:
        # Nothing else to satisfy "at least one component": a zone of UTC.
        lines += _utc_timezone()
    for event in events:
        lines.extend(event_lines(event, used_tzid))
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(lines)).encode("utf-8") + b"\r\n"


def _utc_timezone() -> list[str]:
    return [
        "BEGIN:VTIMEZONE",
        "TZID:UTC",
        "BEGIN:STANDARD",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0000",
        "DTSTART:19700101T000000",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def _fold(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        # Most lines are short: 18 characters are at most 72 octets, ASCII ones one per character.
        if len(line) < 19 or (len(line) <= 75 and line.isascii()):
            yield line
        else:
            yield fold_line(line)


def fold_line(line: str, limit: int = 75) -> str:
    """Fold a content line into lines of at most ``limit`` octets (RFC 5545 §3.1).

    Never splits a UTF-8 character, nor a backslash escape (clients that unescape before
    unfolding exist, icalendar#1501). Continuation lines start with one space, which counts.
    """
    encoded = line.encode("utf-8")
    if len(encoded) <= limit:
        return line
    parts = []
    start, room = 0, limit
    while len(encoded) - start > room:
        end = start + room
        while encoded[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: step back
            end -= 1
        if encoded[end - 1] == 0x5C:  # a backslash: does the line end inside an escape?
            first = end - 1
            while first > start and encoded[first - 1] == 0x5C:
                first -= 1
            if (end - first) % 2:
                end -= 1
        parts.append(encoded[start:end])
        start, room = end, limit - 1
    parts.append(encoded[start:])
    return b"\r\n ".join(parts).decode("utf-8")
