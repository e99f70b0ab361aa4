"""Attendance reports: the Excel-friendly CSV, the printable sign-in sheet and statistics."""

from __future__ import annotations

import csv
import io
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coordination.attendance import charts, services
from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Locale, Role
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole
from coordination.meetings.models import MeetingKind, MeetingStatus, Visibility
from coordination.registrations.models import Registration, RegistrationStatus

HOSTILE = ['=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
SVG = "{http://www.w3.org/2000/svg}"
CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "app.css"
_emails = itertools.count(1)


def _local_today() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


@pytest.fixture
def make_registration(app) -> Callable[..., Registration]:
    def _make(meeting_id: int, **kwargs: Any) -> Registration:
        kwargs.setdefault("status", RegistrationStatus.CONFIRMED)
        if kwargs.get("user_id") is None:
            kwargs.setdefault("guest_name", "Gast")
            kwargs.setdefault("guest_email", f"guest{next(_emails)}@example.org")
        with app.app_context():
            registration = Registration(meeting_id=meeting_id, **kwargs)
            db.session.add(registration)
            db.session.commit()
            db.session.refresh(registration)
            db.session.expunge(registration)
        return registration

    return _make


@pytest.fixture
def make_attendance(app) -> Callable[..., int]:
    def _make(meeting_id: int, **kwargs: Any) -> int:
        kwargs.setdefault("status", AttendanceStatus.PRESENT)
        if kwargs.get("user_id") is None and kwargs.get("registration_id") is None:
            kwargs.setdefault("guest_name", "Walk-in")
        with app.app_context():
            attendance = Attendance(meeting_id=meeting_id, **kwargs)
            db.session.add(attendance)
            db.session.commit()
            return attendance.id

    return _make


def _parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    text = body[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


# --- csv_response ------------------------------------------------------------------------------


def test_csv_helper_writes_bom_semicolons_and_crlf(app):
    with app.test_request_context():
        response = services.csv_response([["Name", "Ort"], ["Jürgen; Müller", "Leipzig"]], "x.csv")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert body[3:] == 'Name;Ort\r\n"Jürgen; Müller";Leipzig\r\n'.encode()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="x.csv"')


@pytest.mark.parametrize("hostile", HOSTILE)
def test_csv_helper_neutralises_formulas(app, hostile):
    with app.test_request_context():
        body = services.csv_response([["Name"], [hostile]], "x.csv").get_data()
    [header, row] = _parse_csv(body)
    assert row == ["'" + hostile]


def test_csv_helper_leaves_ordinary_and_numeric_cells_alone(app):
    with app.test_request_context():
        body = services.csv_response([["a=b", 5, None, "x-1", 2.5]], "x.csv").get_data()
    assert _parse_csv(body) == [["a=b", "5", "", "x-1", "2.5"]]


def test_csv_helper_keeps_non_ascii_file_names_safe(app):
    with app.test_request_context():
        response = services.csv_response([["a"]], 'Teilnahme "März".csv')
    disposition = response.headers["Content-Disposition"]
    assert 'filename="Teilnahme _M_rz_.csv"' in disposition
    assert "filename*=UTF-8''Teilnahme%20%22M%C3%A4rz%22.csv" in disposition


# --- attendance CSV ----------------------------------------------------------------------------


@pytest.fixture
def english_moderator(make_user):
    return make_user(role=Role.MODERATOR, locale=Locale.EN, name="Eno English")


def test_attendance_csv_lists_everyone_for_excel(
    app, login, english_moderator, make_meeting, make_registration, make_attendance,
    make_organization,
):  # fmt: skip
    organization = make_organization(name="Caritas")
    start = datetime(2025, 3, 11, 16, 0, tzinfo=UTC)  # 17:00 in Leipzig
    meeting = make_meeting(starts_at=start, ends_at=start + timedelta(hours=2))
    ana = make_registration(
        meeting.id, guest_name="Ana", guest_email="ana.secret@example.org",
        organization_id=organization.id,
    )  # fmt: skip
    make_registration(meeting.id, guest_name="Ben", organization_name="Frei")
    make_attendance(
        meeting.id, registration_id=ana.id, guest_name="Ana", organization_id=organization.id,
        checked_in_at=datetime(2025, 3, 11, 16, 5, tzinfo=UTC),
    )  # fmt: skip
    make_attendance(meeting.id, guest_name="Walter", status=AttendanceStatus.PRESENT)
    response = login(english_moderator).get(f"/meetings/{meeting.id}/attendance.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attendance-2025-03-11" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert b"\r\n" in body and body.count(b"\n") == body.count(b"\r\n")
    rows = _parse_csv(body)
    assert rows[0] == ["Name", "Organisation", "Status", "Checked in", "Registered"]
    assert rows[1:] == [
        ["Ana", "Caritas", "Present", "2025-03-11 17:05", "yes"],
        ["Ben", "Frei", "", "", "yes"],
        ["Walter", "", "Present", "", "no"],
    ]
    assert b"@example.org" not in body


def test_attendance_csv_header_follows_the_language(
    app, login, users, make_meeting, make_registration
):
    meeting = make_meeting()
    rows = _parse_csv(login(users["moderator"]).get(f"/meetings/{meeting.id}/attendance.csv").data)
    assert rows[0][0] == "Name"  # German and English agree here
    assert len(rows[0]) == 5


def test_attendance_csv_neutralises_hostile_names(
    app, login, users, make_meeting, make_registration, make_attendance
):
    meeting = make_meeting()
    for index, name in enumerate(HOSTILE):
        make_registration(
            meeting.id, guest_name=name, guest_email=f"h{index}@example.org",
            organization_name=name,
        )  # fmt: skip
    body = login(users["moderator"]).get(f"/meetings/{meeting.id}/attendance.csv").data
    rows = _parse_csv(body)[1:]
    assert sorted(row[0] for row in rows) == sorted("'" + name for name in HOSTILE)
    assert all(row[1] == row[0] for row in rows)
    for row in rows:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_attendance_csv_is_for_managers_only(login, users, make_meeting):
    meeting = make_meeting()
    assert login(users["member"]).get(f"/meetings/{meeting.id}/attendance.csv").status_code == 403


# --- sign-in sheet -----------------------------------------------------------------------------


def test_sign_in_sheet_lists_registered_people_and_blank_rows(
    app, login, users, make_meeting, make_registration, make_organization
):
    organization = make_organization(name="Flüchtlingsrat Leipzig")
    meeting = make_meeting(title="Vernetzungstreffen März", venue_name="VHS Leipzig")
    make_registration(meeting.id, user_id=users["member"].id, organization_id=organization.id)
    make_registration(meeting.id, guest_name="Gabi Gast", status=RegistrationStatus.WAITLISTED)
    make_registration(meeting.id, guest_name="Paul Pending", status=RegistrationStatus.PENDING)
    page = (
        login(users["moderator"])
        .get(f"/meetings/{meeting.id}/sign-in-sheet")
        .get_data(as_text=True)
    )
    assert "Vernetzungstreffen März" in page and "VHS Leipzig" in page
    assert "Mia Member" in page and "Flüchtlingsrat Leipzig" in page and "Gabi Gast" in page
    assert "Paul Pending" not in page
    assert page.count('class="sign-in-blank"') == 10
    assert page.count('<td class="sign-in-signature"></td>') == 12
    assert "<thead>" in page and '<th scope="col">' in page
    assert "data-print" in page and "/static/js/checkin.js" in page
    assert " style=" not in page and "<script>" not in page


def test_sign_in_sheet_is_for_managers_only(app, login, users, make_meeting):
    meeting = make_meeting()
    assert login(users["member"]).get(f"/meetings/{meeting.id}/sign-in-sheet").status_code == 403
    response = app.test_client().get(f"/meetings/{meeting.id}/sign-in-sheet")
    assert response.status_code == 302


def _attendance_css() -> str:
    css = CSS.read_text()
    start = css.index("/* === Attendance")
    return css[start : css.index("/* === end of Attendance", start)]


def _print_blocks(css: str) -> str:
    blocks = []
    for match in re.finditer(r"@media print\s*\{", css):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(css[index], 0)
            index += 1
        blocks.append(css[match.end() : index - 1])
    return "\n".join(blocks)


def test_print_stylesheet_has_the_sign_in_sheet_rules():
    printed = _print_blocks(_attendance_css())
    assert re.search(r"\.sign-in-table thead \{ display: table-header-group; \}", printed)
    assert re.search(r"\.sign-in-table tr[^{]*\{[^}]*break-inside: avoid", printed)
    assert re.search(
        r"\.sign-in-table th, \.sign-in-table td \{ border: 1px solid #000; \}", printed
    )
    assert re.search(r"\.sign-in-table \{ width: 100%", printed)
    assert ".sign-in-actions" in printed
    # The site-wide print rules hide the header, footer and buttons.
    assert re.search(r"\.site-header, \.site-footer[^{]*button", _print_blocks(CSS.read_text()))


def test_attendance_css_has_no_unbalanced_braces():
    css = _attendance_css()
    assert css.count("{") == css.count("}")


# --- statistics --------------------------------------------------------------------------------


def _past(days: int) -> datetime:
    return (utcnow() - timedelta(days=days)).replace(hour=16, minute=0, second=0, microsecond=0)


@pytest.fixture
def season(app, make_meeting, make_attendance, make_registration, make_organization):
    """Three past network meetings with 2, 5 and 0 present, plus meetings that don't count."""
    caritas = make_organization(name="Caritas")
    rat = make_organization(name="Flüchtlingsrat")
    meetings = [
        make_meeting(title=f"Treffen {n}", starts_at=_past(days)) for n, days in ((1, 90), (2, 60), (3, 30))
    ]  # fmt: skip
    first, second, third = meetings
    make_attendance(first.id, guest_name="A", organization_id=caritas.id)
    make_attendance(first.id, guest_name="B", organization_id=rat.id)
    make_attendance(first.id, guest_name="C", status=AttendanceStatus.EXCUSED)
    for name in "DEFG":
        make_attendance(second.id, guest_name=name, organization_name=" caritas ")
    make_attendance(second.id, guest_name="H")
    make_attendance(third.id, guest_name="I", status=AttendanceStatus.ABSENT)
    for name in ("R1", "R2", "R3"):
        make_registration(third.id, guest_name=name)
    make_registration(third.id, guest_name="R4", status=RegistrationStatus.PENDING)
    # Not counted: cancelled, too old, another kind, in the future.
    cancelled = make_meeting(starts_at=_past(20), status=MeetingStatus.CANCELLED)
    old = make_meeting(starts_at=_past(500))
    other = make_meeting(starts_at=_past(10), kind=MeetingKind.OTHER)
    for meeting in (cancelled, old, other):
        make_attendance(meeting.id, guest_name="X", organization_id=caritas.id)
    return {"meetings": meetings, "other": other, "caritas": caritas, "rat": rat}


def test_statistics_count_present_per_meeting(app, login, users, season):
    response = login(users["moderator"]).get("/meetings/statistics")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = re.findall(
        r'<tr data-meeting="(\d+)">.*?data-label="[^"]*">(\d+)</td>\s*'
        r'<td class="number" data-label="[^"]*">(\d+)</td>\s*'
        r'<td class="number" data-label="[^"]*">(\d+)</td>\s*'
        r'<td class="number" data-label="[^"]*">(\d+)</td>',
        page,
        re.S,
    )
    ids = [m.id for m in season["meetings"]]
    assert [(int(i), int(p), int(e), int(a), int(r)) for i, p, e, a, r in rows] == [
        (ids[0], 2, 1, 0, 0),
        (ids[1], 5, 0, 0, 0),
        (ids[2], 0, 0, 1, 3),
    ]
    assert '<span class="stat-number" id="stat-present">7</span>' in page
    assert '<span class="stat-number" id="stat-meetings">3</span>' in page


def test_statistics_service_numbers(app, users, season):
    with app.test_request_context():
        from coordination.auth.models import User

        moderator = db.session.get(User, users["moderator"].id)
        filters = services.StatisticsFilter.default(_local_today())
        stats = services.meeting_statistics(moderator, filters)
        organizations, unnamed = services.organization_statistics(moderator, filters)
    assert [s.present for s in stats] == [2, 5, 0]
    assert [(o.name, o.meetings, o.attendances) for o in organizations] == [
        ("Caritas", 2, 5),
        ("Flüchtlingsrat", 1, 1),
    ]
    assert unnamed == 1


def test_statistics_filters_by_kind_and_dates(app, login, users, season):
    moderator = login(users["moderator"])
    page = moderator.get("/meetings/statistics?kind=all").get_data(as_text=True)
    assert f'data-meeting="{season["other"].id}"' in page
    page = moderator.get("/meetings/statistics?kind=other").get_data(as_text=True)
    assert re.findall(r'data-meeting="(\d+)"', page) == [str(season["other"].id)]
    start = (utcnow() - timedelta(days=70)).date().isoformat()
    end = (utcnow() - timedelta(days=50)).date().isoformat()
    page = moderator.get(f"/meetings/statistics?from={start}&to={end}").get_data(as_text=True)
    assert re.findall(r'data-meeting="(\d+)"', page) == [str(season["meetings"][1].id)]
    # Reversed dates are put in order.
    page = moderator.get(f"/meetings/statistics?from={end}&to={start}").get_data(as_text=True)
    assert re.findall(r'data-meeting="(\d+)"', page) == [str(season["meetings"][1].id)]


def test_statistics_default_is_the_last_twelve_months_of_network_meetings(login, users, season):
    page = login(users["moderator"]).get("/meetings/statistics").get_data(as_text=True)
    today = _local_today()
    assert f'name="to" value="{today.isoformat()}"' in page
    assert f'name="from" value="{today.replace(year=today.year - 1).isoformat()}"' in page
    assert '<option value="network" selected>' in page


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def test_statistics_charts_are_well_formed_accessible_svg(login, users, season):
    page = login(users["moderator"]).get("/meetings/statistics").get_data(as_text=True)
    meetings_svg, organizations_svg = _svgs(page)
    for svg in (meetings_svg, organizations_svg):
        assert svg.tag == SVG + "svg"
        assert svg.get("role") == "img"
        title_id = svg.get("aria-labelledby").split()[0]
        title = svg.find(SVG + "title")
        assert title is not None and title.get("id") == title_id and title.text
    present_bars = meetings_svg.findall(f".//{SVG}rect[@class='chart-bar-present']")
    assert len(present_bars) == 3
    heights = [float(bar.get("height")) for bar in present_bars]
    assert heights[1] > heights[0] > heights[2] == 0
    assert len(meetings_svg.findall(f".//{SVG}g[@class='chart-item']/{SVG}title")) == 3
    org_bars = organizations_svg.findall(f".//{SVG}rect[@class='chart-bar-organization']")
    assert len(org_bars) == 2
    assert " style=" not in page and "<script>" not in page


def test_chart_escapes_hostile_titles(app):
    start = datetime(2025, 3, 11, 16, 0, tzinfo=UTC)
    stats = [
        services.MeetingStats(1, '<script>alert("x")</script> & \x0b\x01', MeetingKind.NETWORK,
                              start, 3, 0, 0, 4),
    ]  # fmt: skip
    orgs = [services.OrganizationStats("<b>Org</b> & Co " + "x" * 500, 1, 2)]
    with app.test_request_context():
        meetings_svg = str(charts.meetings_chart(stats))
        org_svg = str(charts.organizations_chart(orgs))
    for svg in (meetings_svg, org_svg):
        ET.fromstring(svg)
        assert "<script>" not in svg and "<b>" not in svg


def test_chart_with_no_meetings_is_still_valid(app):
    with app.test_request_context():
        ET.fromstring(str(charts.meetings_chart([])))
        ET.fromstring(str(charts.organizations_chart([])))


def test_chart_with_many_meetings_labels_some_dates(app):
    start = datetime(2025, 1, 7, 16, 0, tzinfo=UTC)
    stats = [
        services.MeetingStats(n, f"M{n}", MeetingKind.GROUP, start + timedelta(days=7 * n),
                              n % 9, 0, 0, 10)
        for n in range(120)
    ]  # fmt: skip
    with app.test_request_context():
        svg = ET.fromstring(str(charts.meetings_chart(stats)))
    assert len(svg.findall(f".//{SVG}rect[@class='chart-bar-present']")) == 120
    labels = [t for t in svg.iter(SVG + "text") if t.get("transform")]
    assert 8 <= len(labels) <= 16


@pytest.mark.parametrize(
    "value,expected", [(0, (1, 1)), (1, (1, 1)), (5, (5, 1)), (7, (8, 2)), (23, (25, 5)),
                       (96, (100, 20)), (180, (200, 50)), (1234, (1500, 500))]
)  # fmt: skip
def test_nice_axis_maximum(value, expected):
    assert charts.nice_ceiling(value) == expected


def test_statistics_csv_downloads(app, login, english_moderator, season):
    moderator = login(english_moderator)
    response = moderator.get("/meetings/statistics.csv?type=meetings")
    assert response.status_code == 200
    rows = _parse_csv(response.data)
    assert rows[0] == [
        "Date", "Meeting", "Kind", "Present", "Excused", "Absent", "Registered"
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == ["Treffen 1", "Treffen 2", "Treffen 3"]
    assert [row[3] for row in rows[1:]] == ["2", "5", "0"]
    assert [row[6] for row in rows[1:]] == ["0", "0", "3"]
    response = moderator.get("/meetings/statistics.csv?type=organizations&kind=network")
    rows = _parse_csv(response.data)
    assert rows == [
        ["Organisation", "Meetings", "Attendances"],
        ["Caritas", "2", "5"],
        ["Flüchtlingsrat", "1", "1"],
        ["No organisation given", "", "1"],
    ]
    assert "organisations-" in response.headers["Content-Disposition"]


def test_statistics_page_links_to_downloads_with_its_filters(login, users, season):
    page = login(users["moderator"]).get(
        "/meetings/statistics?kind=all&from=2025-01-01&to=2025-12-31"
    )
    html = page.get_data(as_text=True)
    link = re.search(r'id="download-meetings" href="([^"]+)"', html).group(1)
    assert "from=2025-01-01" in link and "to=2025-12-31" in link and "kind=all" in link
    assert "type=meetings" in link
    assert 'id="download-organizations" href="/meetings/statistics.csv?' in html


def test_statistics_csv_neutralises_hostile_titles_and_organisations(
    app, login, users, make_meeting, make_attendance
):
    meeting = make_meeting(title="=cmd|' /C calc'!A0", starts_at=_past(5))
    make_attendance(meeting.id, guest_name="x", organization_name="@SUM(A1)")
    moderator = login(users["moderator"])
    rows = _parse_csv(moderator.get("/meetings/statistics.csv").data)
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    rows = _parse_csv(moderator.get("/meetings/statistics.csv?type=organizations").data)
    assert rows[1][0] == "'@SUM(A1)"


@pytest.mark.parametrize(
    "who,code", [("admin", 200), ("moderator", 200), ("member", 403), ("lead", 403)]
)
@pytest.mark.parametrize("path", ["/meetings/statistics", "/meetings/statistics.csv"])
def test_statistics_are_for_moderators_and_admins(
    app, login, users, make_user, make_group, who, code, path
):
    lead = make_user()
    make_group(members={lead.id: GroupRole.LEAD})
    user = lead if who == "lead" else users[who]
    assert login(user).get(path).status_code == code


@pytest.mark.parametrize("path", ["/meetings/statistics", "/meetings/statistics.csv"])
def test_visitors_are_sent_to_login_for_statistics(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_confidential_group_meetings_count_only_for_those_who_may_see_them(
    app, login, users, make_user, make_group, make_meeting, make_attendance, make_organization
):
    insider = make_user(role=Role.MODERATOR)
    group = make_group(
        confidentiality=Confidentiality.CONFIDENTIAL, members={insider.id: GroupRole.MEMBER}
    )
    secret_org = make_organization(name="Geheime Beratung")
    meeting = make_meeting(
        title="AG UMA intern", group_id=group.id, visibility=Visibility.GROUP,
        starts_at=_past(3),
    )  # fmt: skip
    make_attendance(meeting.id, guest_name="S", organization_id=secret_org.id)
    for user, visible in ((users["moderator"], False), (insider, True), (users["admin"], True)):
        client = login(user)
        page = client.get("/meetings/statistics?kind=all").get_data(as_text=True)
        assert ("AG UMA intern" in page) is visible
        assert ("Geheime Beratung" in page) is visible
        body = client.get("/meetings/statistics.csv?kind=all").data.decode("utf-8-sig")
        assert ("AG UMA intern" in body) is visible
        body = client.get("/meetings/statistics.csv?kind=all&type=organizations").data
        assert ("Geheime Beratung" in body.decode("utf-8-sig")) is visible


@pytest.mark.parametrize(
    "query",
    [
        "from=garbage&to=2025-13-45",
        "from=0001-01-01&to=9999-12-31",
        "from=99999-01-01",
        "from=" + "9" * 100_000,
        "kind=evil&type=evil",
        "kind=&from=&to=",
        "from=2025-02-29",
        "kind=" + "x" * 100_000,
    ],
)
@pytest.mark.parametrize("path", ["/meetings/statistics", "/meetings/statistics.csv"])
def test_bad_statistics_filters_fall_back_to_defaults(login, users, season, query, path):
    assert login(users["moderator"]).get(f"{path}?{query}").status_code == 200


def test_nul_in_statistics_filter_is_refused(login, users):
    assert login(users["moderator"]).get("/meetings/statistics?from=%00").status_code == 400


def test_statistics_without_meetings(login, users):
    page = login(users["moderator"]).get("/meetings/statistics")
    assert page.status_code == 200
    assert "<svg" not in page.get_data(as_text=True)


def test_statistics_use_a_constant_number_of_queries(
    app, login, users, make_meeting, make_attendance, make_registration, make_organization
):
    moderator = login(users["moderator"])

    def count_queries(path: str) -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engines[None]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert moderator.get(path).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def add_meetings(number: int, offset: int) -> None:
        for n in range(number):
            meeting = make_meeting(starts_at=_past(offset + n))
            organization = make_organization()
            make_attendance(meeting.id, guest_name="P", organization_id=organization.id)
            make_attendance(meeting.id, guest_name="Q", organization_name=f"Frei {n}")
            make_registration(meeting.id, guest_name=f"R{offset}-{n}")

    add_meetings(2, 1)
    few = [count_queries("/meetings/statistics"), count_queries("/meetings/statistics.csv"),
           count_queries("/meetings/statistics.csv?type=organizations")]  # fmt: skip
    add_meetings(40, 10)
    many = [count_queries("/meetings/statistics"), count_queries("/meetings/statistics.csv"),
            count_queries("/meetings/statistics.csv?type=organizations")]  # fmt: skip
    assert few == many


def test_links_partial_shows_report_links_to_managers_only(app, users, make_meeting):
    from flask import render_template_string
    from flask_login import login_user

    from coordination.auth.models import User
    from coordination.meetings.models import Meeting

    meeting = make_meeting()
    template = '{% include "attendance/_links.html" %}'
    with app.test_request_context():
        login_user(db.session.get(User, users["moderator"].id))
        html = render_template_string(template, meeting=db.session.get(Meeting, meeting.id))
    assert f"/meetings/{meeting.id}/checkin" in html
    assert f"/meetings/{meeting.id}/sign-in-sheet" in html
    assert f"/meetings/{meeting.id}/attendance.csv" in html
    assert "/meetings/statistics" in html
    with app.test_request_context():
        login_user(db.session.get(User, users["member"].id))
        html = render_template_string(template, meeting=db.session.get(Meeting, meeting.id))
    assert "/checkin" not in html
