"""The iCalendar writer (coordination/calendar/ics.py), without HTTP.

Every output is read back by two parsers that did not write it: vobject (which uses the
VTIMEZONE in the file, through dateutil) and ``icalendar.Calendar.from_ical``. Times are
compared as instants with ``zoneinfo``; text values must survive byte for byte.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from coordination.calendar import ics

BERLIN = ZoneInfo("Europe/Berlin")
STAMP = datetime(2027, 1, 4, 9, 30, 15, tzinfo=UTC)
DURATION = timedelta(minutes=90)

#: What people in the network type into titles, places and descriptions.
HOSTILE = [
    "Grüße aus der Löhrstraße – Übergabe der Schlüssel",
    "Frühstück, Kaffee; Kuchen: alles da",
    "Pfad C:\\Nutzer\\Neue Ordner und \\\\Server\\Netz, \\n bleibt \\n",
    "Endet mit Backslash \\",
    "Zeile 1\nZeile 2\n\nZeile 4",
    "Willkommen 😀🎉 👩\u200d👩\u200d👧\u200d👦 🇩🇪🇸🇾🇦🇫 👍🏽",
    "اجتماع شهري للمتطوعين، الساعة الخامسة مساءً",
    "جلسه\u200cی ماهانه\u200cی داوطلبان در لایپزیگ، ساعت ۱۷",
    "\u200fمرحبا\u200f mixed with LTR text and ٢٠٢٧",
    "e\u0301 combining, 中文会议, Ελληνικά, кириллица",
    "\"quoted\" <b>&amp;</b> 'single' `tick` ^caret^",
    "  leading and trailing spaces  ",
    "tab\tseparated\tvalues",
    "\ufeffbyte order mark inside",
    "line\u2028separator\u2029paragraph\x85next line",
    "🎉" * 40,
    "ü" * 80,
    "a" * 72 + "😀" * 6,
    ("Treffen der AG Wohnen, Sprache; Arbeit – نشست گروه کاری مسکن 🏠 " * 8).strip(),
]


def _event(**overrides: object) -> ics.Event:
    values: dict[str, object] = {
        "uid": "0b6f6b3e-7a8b-4c1e-9a52-2f0c8c1d5e11",
        "sequence": 3,
        "stamp": STAMP,
        "last_modified": STAMP,
        "start": datetime(2027, 2, 3, 17, 0, tzinfo=BERLIN),
        "end": datetime(2027, 2, 3, 19, 0, tzinfo=BERLIN),
        "summary": "Vernetzungstreffen",
    }
    values.update(overrides)
    return ics.Event(**values)  # type: ignore[arg-type]


def _write(
    events: list[ics.Event],
    meta: ics.CalendarMeta | None = None,
    tzid: str = "Europe/Berlin",
) -> bytes:
    return ics.write_calendar(events, meta or ics.CalendarMeta(), tzid)


def _physical_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    return body[:-2].split(b"\r\n")


def _unfolded(body: bytes) -> list[str]:
    """Content lines after unfolding (RFC 5545 §3.1: CRLF followed by one space or tab)."""
    return re.sub(rb"\r\n[ \t]", b"", body).decode("utf-8").split("\r\n")[:-1]


def _property_lines(body: bytes, name: str) -> list[str]:
    """The unfolded ``name`` lines outside the VTIMEZONE (whose DTSTART is another thing)."""
    lines, inside_zone = [], False
    for line in _unfolded(body):
        if line in ("BEGIN:VTIMEZONE", "END:VTIMEZONE"):
            inside_zone = line.startswith("BEGIN")
        elif not inside_zone and re.match(rf"{name}[;:]", line):
            lines.append(line)
    return lines


def _vobject(body: bytes) -> vobject.base.Component:
    """Parse with vobject, after checking each TZID has its VTIMEZONE in this very file.

    vobject keeps the zones it has seen in a process-wide registry; without the check a missing
    VTIMEZONE could be papered over by one parsed in an earlier test.
    """
    text = body.decode("utf-8")
    used = set(re.findall(r";TZID=([^:;]+)[:;]", text))
    defined = set(re.findall(r"\r\nTZID:([^\r]+)\r\n", text))
    assert used <= defined, f"TZID without VTIMEZONE: {used - defined}"
    return vobject.readOne(text)


def _icalendar(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def _expected_text(value: str) -> str:
    """What a subscriber sees: ASCII control characters gone, every line end a newline."""
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)
    return value.replace("\r\n", "\n").replace("\r", "\n")


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a, b", "a\\, b"),
        ("a; b", "a\\; b"),
        ("a\\b", "a\\\\b"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\nb"),
        ("a\rb", "a\\nb"),
        ("C:\\Nutzer", "C:\\\\Nutzer"),
        ("\\n is not a newline", "\\\\n is not a newline"),
        ("a:b \"c\" 'd'", "a:b \"c\" 'd'"),
        ("", ""),
    ],
)
def test_text_values_are_escaped(raw: str, escaped: str) -> None:
    assert ics.text(raw) == escaped


@pytest.mark.parametrize(
    "char", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
)
def test_control_characters_are_dropped(char: str) -> None:
    body = _write(
        [_event(summary=f"Vor{char}nach", location=f"Ort{char}", description=f"Text{char}mehr")]
    )
    assert char.encode() not in body
    event = _vobject(body).vevent
    assert event.summary.value == "Vornach"
    assert event.location.value == "Ort"
    assert event.description.value == "Textmehr"


def test_no_bare_line_breaks_inside_values() -> None:
    body = _write([_event(summary="a\rb\nc\r\nd", description="x\n\ny\r\rz", location="1\r\n2")])
    without_crlf = body.replace(b"\r\n", b"")
    assert b"\r" not in without_crlf
    assert b"\n" not in without_crlf
    event = _vobject(body).vevent
    assert event.summary.value == "a\nb\nc\nd"
    assert event.description.value == "x\n\ny\n\nz"
    assert event.location.value == "1\n2"


# --- lines: CRLF, folding at 75 octets, UTF-8 ------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("shift", range(4))
def test_every_line_is_at_most_75_octets_and_valid_utf8(value: str, shift: int) -> None:
    # Shifting the text by 0–3 characters moves multi-byte characters across the fold point.
    text = "x" * shift + value * 3
    body = _write([_event(summary=text, description=text, location=text)])
    lines = _physical_lines(body)
    for line in lines:
        assert len(line) <= 75, line
        line.decode("utf-8")  # a split multi-byte character raises here
        assert b"\n" not in line and b"\r" not in line
    if len(f"SUMMARY:{ics.text(text)}".encode()) > 75:
        assert [line for line in lines if line.startswith(b" ")], "long values must be folded"
    assert _property_lines(body, "SUMMARY") == [f"SUMMARY:{ics.text(text)}"]
    assert _property_lines(body, "DESCRIPTION") == [f"DESCRIPTION:{ics.text(text)}"]


@pytest.mark.parametrize("shift", range(4))
def test_folding_never_ends_a_line_inside_an_escape(shift: int) -> None:
    # Some clients unescape before they unfold; "\\" + fold + "n" would reach them as "\\ n".
    text = "x" * shift + "C:\\Nutzer, a;b\nc\\\\d " * 30
    body = _write([_event(description=text)])
    for line in _physical_lines(body):
        assert (len(line) - len(line.rstrip(b"\\"))) % 2 == 0, line
    assert _vobject(body).vevent.description.value == text


def test_crlf_line_ends_everywhere() -> None:
    body = _write(
        [
            _event(summary="ü" * 200, description="Zeile\n" * 30),
            _event(uid="2", start=date(2027, 3, 1), end=date(2027, 3, 2)),
        ],
        ics.CalendarMeta(
            uid="cal", name="Kalender", description="Alles", refresh=timedelta(hours=1)
        ),
    )
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert body.count(b"\n") == body.count(b"\r\n")
    assert body.count(b"\r") == body.count(b"\r\n")
    assert not body.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("value", HOSTILE)
def test_text_round_trips_exactly_through_both_parsers(value: str) -> None:
    body = _write([_event(summary=value, location=value, description=value)])
    expected = _expected_text(value)

    event = _vobject(body).vevent
    assert event.summary.value == expected
    assert event.location.value == expected
    assert event.description.value == expected

    [parsed] = _icalendar(body).walk("VEVENT")
    assert str(parsed["SUMMARY"]) == expected
    assert str(parsed["LOCATION"]) == expected
    assert str(parsed["DESCRIPTION"]) == expected


def test_calendar_level_text_round_trips() -> None:
    name = "Netzwerk Flüchtlingsinitiativen Leipzig: Treffen, Termine; 🗓️ نشست‌ها"
    body = _write([], ics.CalendarMeta(uid="f-1", name=name, description=name * 3))
    calendar = _vobject(body)
    assert calendar.contents["x-wr-calname"][0].value == name
    assert calendar.contents["name"][0].value == name
    assert calendar.contents["x-wr-caldesc"][0].value == name * 3
    # icalendar leaves NAME and X-WR-CALNAME (unknown to it) escaped; DESCRIPTION is TEXT.
    assert str(_icalendar(body)["DESCRIPTION"]) == name * 3


# --- the event's other properties --------------------------------------------------------------


def test_event_identity_and_revision_properties() -> None:
    created = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    modified = datetime(2027, 1, 2, 10, 11, 12, 999999, tzinfo=UTC)
    body = _write(
        [
            _event(
                sequence=7,
                stamp=modified,
                last_modified=modified,
                created=created,
                status="CANCELLED",
                url="https://knotenpunkt.test/meetings/12",
            )
        ]
    )
    event = _vobject(body).vevent
    assert event.uid.value == "0b6f6b3e-7a8b-4c1e-9a52-2f0c8c1d5e11"
    assert event.sequence.value == "7"
    assert event.status.value == "CANCELLED"
    assert event.dtstamp.value == modified.replace(microsecond=0)
    assert event.last_modified.value == modified.replace(microsecond=0)
    assert event.created.value == created
    assert event.url.value == "https://knotenpunkt.test/meetings/12"
    assert _property_lines(body, "DTSTAMP") == ["DTSTAMP:20270102T101112Z"]


def test_events_keep_their_order_and_uids() -> None:
    events = [_event(uid=f"uid-{n}", summary=f"Treffen {n}") for n in range(5)]
    calendar = _vobject(_write(events))
    assert [e.uid.value for e in calendar.vevent_list] == [f"uid-{n}" for n in range(5)]


# --- empty calendars and METHOD ----------------------------------------------------------------


@pytest.mark.parametrize("tzid", ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "UTC"])
def test_an_empty_calendar_is_still_valid(tzid: str) -> None:
    body = _write([], ics.CalendarMeta(name="Meine Treffen", refresh=timedelta(hours=1)), tzid)
    assert b"BEGIN:VTIMEZONE\r\n" in body
    calendar = _vobject(body)
    assert calendar.name == "VCALENDAR"
    assert calendar.contents["version"][0].value == "2.0"
    assert "vevent" not in calendar.contents
    parsed = _icalendar(body)
    parsed.validate()  # raises on a calendar without any component (RFC 5545 §3.6)
    assert parsed.walk("VTIMEZONE")


def test_method_only_when_asked() -> None:
    plain = _write([_event()], ics.CalendarMeta(name="Feed", refresh=timedelta(hours=6)))
    assert not _property_lines(plain, "METHOD")
    assert "method" not in _vobject(plain).contents

    invitation = _write([_event()], ics.CalendarMeta(method="REQUEST"))
    assert _property_lines(invitation, "METHOD") == ["METHOD:REQUEST"]
    lines = _unfolded(invitation)
    assert lines.index("METHOD:REQUEST") < lines.index("BEGIN:VTIMEZONE")
    assert _icalendar(invitation)["METHOD"] == "REQUEST"


def test_refresh_hints_and_names() -> None:
    body = _write(
        [], ics.CalendarMeta(uid="feed-uid", name="Öffentliche Treffen", refresh=timedelta(hours=6))
    )
    assert _property_lines(body, "REFRESH-INTERVAL") == ["REFRESH-INTERVAL;VALUE=DURATION:PT6H"]
    assert _property_lines(body, "X-PUBLISHED-TTL") == ["X-PUBLISHED-TTL:PT6H"]
    assert _property_lines(body, "NAME") == ["NAME:Öffentliche Treffen"]
    assert _property_lines(body, "X-WR-CALNAME") == ["X-WR-CALNAME:Öffentliche Treffen"]
    parsed = _icalendar(body)
    assert parsed.decoded("REFRESH-INTERVAL") == timedelta(hours=6)
    assert _vobject(body).contents["refresh-interval"][0].params["VALUE"] == ["DURATION"]

    bare = _write([])
    for name in ("NAME", "X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "UID"):
        assert not _property_lines(bare, name)


# --- time zones --------------------------------------------------------------------------------


def _vtimezone_lines(body: bytes) -> list[str]:
    lines = _unfolded(body)
    return lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE") + 1]


def test_berlin_vtimezone_is_in_rrule_form() -> None:
    zone = _vtimezone_lines(_write([_event()]))
    assert zone.count("BEGIN:STANDARD") == 1
    assert zone.count("BEGIN:DAYLIGHT") == 1
    assert not [line for line in zone if line.startswith("RDATE")]
    assert "TZID:Europe/Berlin" in zone
    daylight = zone[zone.index("BEGIN:DAYLIGHT") : zone.index("END:DAYLIGHT")]
    standard = zone[zone.index("BEGIN:STANDARD") : zone.index("END:STANDARD")]
    assert "TZOFFSETFROM:+0100" in daylight and "TZOFFSETTO:+0200" in daylight
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in daylight
    assert "DTSTART:19700329T020000" in daylight
    assert "TZOFFSETFROM:+0200" in standard and "TZOFFSETTO:+0100" in standard
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in standard
    assert "DTSTART:19701025T030000" in standard


def _instants_around_switches(zone: ZoneInfo, years: range) -> list[datetime]:
    """Every 45 minutes from Saturday to Monday around both EU switches, plus one per month.

    Local times that happen twice (the repeated hour in autumn) are left out for their second
    occurrence: a TZID time names the first one (RFC 5545 §3.3.5), so they cannot be written in
    local time at all; the app refuses or avoids them (coordination/timeutil.py).
    """
    instants = []
    for year in years:
        for month in (3, 10):
            last_day = date(year, month, 31)
            sunday = last_day - timedelta(days=(last_day.weekday() + 1) % 7)
            start = datetime.combine(sunday - timedelta(days=1), datetime.min.time(), UTC)
            instants += [start + timedelta(minutes=45 * n) for n in range(32 * 3)]
        instants += [datetime(year, month, 15, 16, 0, tzinfo=UTC) for month in range(1, 13)]
    return [
        moment
        for moment in instants
        if moment.astimezone(zone).fold == 0 and (moment + DURATION).astimezone(zone).fold == 0
    ]


def _assert_times_survive(body: bytes, instants: list[datetime]) -> None:
    by_uid = {f"e{n}": moment for n, moment in enumerate(instants)}
    for event in _vobject(body).vevent_list:
        start = by_uid[event.uid.value]
        assert event.dtstart.value.astimezone(UTC) == start, event.uid.value
        assert event.dtend.value.astimezone(UTC) == start + DURATION
    for event in _icalendar(body).walk("VEVENT"):
        start = by_uid[str(event["UID"])]
        assert event.decoded("DTSTART").astimezone(UTC) == start
        assert event.decoded("DTEND").astimezone(UTC) == start + DURATION


def _events_at(instants: list[datetime]) -> list[ics.Event]:
    return [
        _event(uid=f"e{n}", start=moment, end=moment + DURATION)
        for n, moment in enumerate(instants)
    ]


def test_berlin_times_are_right_after_parsing_across_dst_switches() -> None:
    instants = _instants_around_switches(BERLIN, range(2027, 2029))
    body = _write(_events_at(instants))
    _assert_times_survive(body, instants)
    # Spot checks in wall-clock time, as a subscriber sees them.
    summer = datetime(2027, 7, 1, 17, 0, tzinfo=BERLIN)
    winter = datetime(2027, 1, 14, 17, 0, tzinfo=BERLIN)
    events = _vobject(_write(_events_at([summer, winter]))).vevent_list
    assert _property_lines(_write(_events_at([summer])), "DTSTART") == [
        "DTSTART;TZID=Europe/Berlin:20270701T170000"
    ]
    assert [e.dtstart.value.astimezone(UTC).hour for e in events] == [15, 16]


@pytest.mark.parametrize("tzid", ["Asia/Kolkata", "UTC"])
def test_zone_without_dst_gets_a_single_standard_observance(tzid: str) -> None:
    zone = ZoneInfo(tzid)
    instants = _instants_around_switches(zone, range(2027, 2028))
    body = _write(_events_at(instants), tzid=tzid)
    lines = _vtimezone_lines(body)
    assert lines.count("BEGIN:STANDARD") == 1
    assert "BEGIN:DAYLIGHT" not in lines
    assert not [line for line in lines if line.startswith("RDATE")]
    _assert_times_survive(body, instants)
    if tzid == "Asia/Kolkata":
        one = _write(_events_at([datetime(2027, 7, 1, 12, 0, tzinfo=UTC)]), tzid=tzid)
        assert _property_lines(one, "DTSTART") == ["DTSTART;TZID=Asia/Kolkata:20270701T173000"]


@pytest.mark.parametrize("tzid", ["America/New_York", "Australia/Sydney"])
def test_zone_with_other_dst_rules_falls_back_to_utc(tzid: str) -> None:
    zone = ZoneInfo(tzid)
    # Includes the weeks when the US (or the southern hemisphere) has switched and the EU not.
    instants = _instants_around_switches(zone, range(2027, 2028)) + [
        datetime(2027, 3, 20, 21, 0, tzinfo=UTC),
        datetime(2027, 4, 2, 8, 0, tzinfo=UTC),
        datetime(2027, 11, 5, 22, 0, tzinfo=UTC),
    ]
    body = _write(_events_at(instants), tzid=tzid)
    assert f"TZID={tzid}".encode() not in body
    assert not _property_lines(body, "X-WR-TIMEZONE")
    for line in _property_lines(body, "DTSTART") + _property_lines(body, "DTEND"):
        assert re.fullmatch(r"DT(START|END):\d{8}T\d{6}Z", line), line
    _assert_times_survive(body, instants)


def test_other_eu_zone_uses_its_own_offsets() -> None:
    london = ZoneInfo("Europe/London")
    instants = _instants_around_switches(london, range(2027, 2028))
    body = _write(_events_at(instants), tzid="Europe/London")
    lines = _vtimezone_lines(body)
    assert "DTSTART:19700329T010000" in lines and "DTSTART:19701025T020000" in lines
    _assert_times_survive(body, instants)


# --- all-day events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "exclusive_end"),
    [
        (date(2027, 3, 1), date(2027, 3, 2)),
        (date(2027, 3, 27), date(2027, 3, 30)),  # across the spring switch
        (date(2027, 12, 31), date(2028, 1, 1)),
        (date(2028, 2, 28), date(2028, 3, 1)),  # leap day included
    ],
)
def test_all_day_events_are_dates_with_exclusive_end(first: date, exclusive_end: date) -> None:
    body = _write([_event(start=first, end=exclusive_end)])
    assert _property_lines(body, "DTSTART") == [f"DTSTART;VALUE=DATE:{first:%Y%m%d}"]
    assert _property_lines(body, "DTEND") == [f"DTEND;VALUE=DATE:{exclusive_end:%Y%m%d}"]
    event = _vobject(body).vevent
    assert event.dtstart.value == first and not isinstance(event.dtstart.value, datetime)
    assert event.dtend.value == exclusive_end and not isinstance(event.dtend.value, datetime)
    [parsed] = _icalendar(body).walk("VEVENT")
    assert parsed.decoded("DTSTART") == first
    assert parsed.decoded("DTEND") == exclusive_end
