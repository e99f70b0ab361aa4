"""The network overview: who takes part where, who dropped away; privacy; queries; bad input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupMembership, GroupRole
from coordination.meetings.models import MeetingStatus, Visibility
from coordination.organizations.models import Organization, OrganizationKind
from coordination.projects.models import PartnerRole, Project, ProjectPartner, ProjectStatus
from tests.test_dashboard import EN, add, count_queries

SVG = "{http://www.w3.org/2000/svg}"


def page_of(client) -> str:
    response = client.get("/network/", headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row_of(page: str, table_id: str, slug: str) -> str:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert table, table_id
    match = re.search(rf'<tr data-organization="{slug}">.*?</tr>', table.group(0), re.S)
    return match.group(0) if match else ""


def present(app, meeting_id: int, org_id: int | None, status=AttendanceStatus.PRESENT, **kw):
    kw.setdefault("guest_name", "Gast")
    add(app, Attendance(meeting_id=meeting_id, organization_id=org_id, status=status, **kw))


@pytest.fixture
def network(app, make_user, make_group, make_organization, make_meeting):
    """Organisations in groups, a project and at meetings, and some that dropped away."""
    orgs = {
        key: make_organization(name=name, slug=key, **extra)
        for key, name, extra in [
            ("housing", "Kontaktstelle Wohnen", {"contact_email": "info@wohnen.example"}),
            ("welcome", "Refugees Welcome", {}),
            ("school", "VHS Leipzig", {}),
            ("faded", "Alte Initiative", {"contact_phone": "0341 123456"}),
            ("never", "Neue Initiative", {"contact_email": "hallo@neu.example"}),
            ("secret", "Vormundschaftsverein", {}),
        ]
    }
    users = {
        "admin": make_user(role=Role.ADMIN, name="Ada Admin", locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, name="Mo Moderator", locale=Locale.EN),
        "insider": make_user(role=Role.MODERATOR, name="In Sider", locale=Locale.EN),
        "lead": make_user(name="Lea Lead", locale=Locale.EN),
        "housing": make_user(name="Hanna", locale=Locale.EN, organizations=[orgs["housing"].id]),
        "housing2": make_user(name="Hugo", locale=Locale.EN, organizations=[orgs["housing"].id]),
        "welcome": make_user(name="Wim", locale=Locale.EN, organizations=[orgs["welcome"].id]),
        "gone": make_user(
            name="Gerd", locale=Locale.EN, organizations=[orgs["school"].id], is_active=False
        ),
    }
    make_group(
        name="AG Wohnen",
        slug="ag-wohnen",
        members={
            users["housing"].id: GroupRole.LEAD,
            users["housing2"].id: GroupRole.MEMBER,
            users["welcome"].id: GroupRole.MEMBER,
            users["gone"].id: GroupRole.MEMBER,
        },
    )
    secret_group = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        members={users["housing"].id: GroupRole.MEMBER, users["insider"].id: GroupRole.MEMBER},
    )
    wegweiser, old = add(
        app,
        Project(name="Wegweiser", slug="wegweiser", status=ProjectStatus.ACTIVE),
        Project(
            name="Altprojekt",
            slug="altprojekt",
            status=ProjectStatus.COMPLETED,
            status_changed_at=utcnow() - timedelta(days=500),
        ),
    )
    add(
        app,
        ProjectPartner(project_id=wegweiser, organization_id=orgs["school"].id,
                       role=PartnerRole.LEAD),
        ProjectPartner(project_id=wegweiser, organization_id=orgs["welcome"].id),
        ProjectPartner(project_id=old, organization_id=orgs["faded"].id),
    )  # fmt: skip
    now = utcnow()
    recent = make_meeting(title="Treffen Oktober", starts_at=now - timedelta(days=40))
    earlier = make_meeting(title="Treffen August", starts_at=now - timedelta(days=100))
    long_ago = make_meeting(title="Treffen im Vorjahr", starts_at=now - timedelta(days=250))
    ancient = make_meeting(title="Uraltes Treffen", starts_at=now - timedelta(days=500))
    cancelled = make_meeting(
        title="Abgesagt", starts_at=now - timedelta(days=20), status=MeetingStatus.CANCELLED
    )
    secret_meeting = make_meeting(
        title="AG-UMA-Sitzung",
        group_id=secret_group.id,
        visibility=Visibility.GROUP,
        starts_at=now - timedelta(days=10),
    )
    present(app, recent.id, orgs["housing"].id)
    present(app, recent.id, orgs["housing"].id, guest_name="Zweite Person")
    present(app, earlier.id, orgs["housing"].id)
    present(app, ancient.id, orgs["housing"].id)
    present(app, recent.id, orgs["school"].id, status=AttendanceStatus.EXCUSED)
    present(app, earlier.id, orgs["school"].id)
    present(app, cancelled.id, orgs["faded"].id)
    present(app, long_ago.id, orgs["faded"].id)
    present(app, secret_meeting.id, orgs["secret"].id)
    present(app, recent.id, None, organization_name="Freitext-Initiative")
    return {"orgs": orgs, "users": users, "meetings": {"long_ago": long_ago}}


# --- who may see it -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [("lead", 403), ("housing", 403), ("moderator", 200), ("insider", 200), ("admin", 200)],
)
def test_staff_only(app, login, network, role, expected):
    assert login(network["users"][role]).get("/network/").status_code == expected


def test_visitors_are_sent_to_login(client, network):
    response = client.get("/network/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_navigation_links_for_staff_only(login, network):
    assert 'href="/network/"' in login(network["users"]["moderator"]).get("/").get_data(True)
    assert 'href="/network/"' not in login(network["users"]["lead"]).get("/").get_data(True)


# --- content --------------------------------------------------------------------------------


def test_who_takes_part_where(login, network):
    page = page_of(login(network["users"]["moderator"]))
    housing = row_of(page, "network-table", "housing")
    assert 'data-group="ag-wohnen"' in housing and "AG Wohnen</a> (2)" in housing
    assert re.search(r'network-meetings"[^>]*>2<', housing)  # two meetings, not three people
    welcome = row_of(page, "network-table", "welcome")
    assert 'data-group="ag-wohnen"' in welcome and 'data-project="wegweiser"' in welcome
    assert "(lead)" not in welcome
    school = row_of(page, "network-table", "school")
    assert 'data-project="wegweiser"' in school and "(lead)" in school
    assert 'data-group="ag-wohnen"' not in school  # its only member is deactivated
    assert re.search(r'network-meetings"[^>]*>1<', school)  # excused does not count
    # Sharing a group or a project is cooperation: welcome works with housing and school.
    assert "2 organisations" in welcome and "1 organisation" in school
    # The completed project of last year and its partner are not in the picture.
    assert "altprojekt" not in page
    assert row_of(page, "network-table", "never") == ""
    assert "Neue Initiative" in re.search(r'id="idle-organizations".*?</p>', page, re.S).group(0)
    assert "Freitext-Initiative" not in page


def test_not_seen_for_six_months(login, network):
    page = page_of(login(network["users"]["moderator"]))
    never = row_of(page, "not-seen-table", "never")
    assert "never" in never and 'href="mailto:hallo@neu.example"' in never
    faded = row_of(page, "not-seen-table", "faded")
    assert "<time" in faded and "0341 123456" in faded  # last seen long ago, not "never"
    assert row_of(page, "not-seen-table", "housing") == ""
    assert row_of(page, "not-seen-table", "school") == ""
    table = re.search(r'id="not-seen-table".*?</table>', page, re.S).group(0)
    assert table.index('data-organization="never"') < table.index('data-organization="faded"')


def test_matrix_is_accessible_well_formed_svg(login, network):
    page = page_of(login(network["users"]["admin"]))
    svg_text = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    svg = ET.fromstring(svg_text)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "network-matrix-title network-matrix-desc"
    assert svg.find(f"{SVG}title").text == "Who takes part where"
    assert "organisations" in svg.find(f"{SVG}desc").text
    titles = [element.text for element in svg.iter(f"{SVG}title")]
    assert "VHS Leipzig leads Wegweiser" in titles
    assert "Kontaktstelle Wohnen in AG Wohnen: 2 people" in titles
    assert 'id="network-table"' in page  # the table alternative
    assert "<script" not in svg_text and "style=" not in svg_text


def test_names_are_escaped(app, login, network, make_organization, make_user, make_group):
    org = make_organization(name='<script>alert("x")</script> & Co', slug="evil")
    user = make_user(organizations=[org.id])
    make_group(name="<b>AG</b>", slug="ag-evil", members={user.id: GroupRole.MEMBER})
    page = page_of(login(network["users"]["moderator"]))
    assert "<script>alert" not in page and "<b>AG</b>" not in page
    ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))


# --- confidentiality ------------------------------------------------------------------------


def test_confidential_groups_do_not_leak_to_outside_moderators(login, network):
    page = page_of(login(network["users"]["moderator"]))
    assert "AG UMA" not in page and "ag-uma" not in page
    assert "AG-UMA-Sitzung" not in page
    # The only meeting of the Vormundschaftsverein was confidential: not seen, as far as the
    # moderator may know.
    assert "never" in row_of(page, "not-seen-table", "secret")
    assert row_of(page, "network-table", "secret") == ""


@pytest.mark.parametrize("role", ["insider", "admin"])
def test_confidential_groups_for_those_who_may_read_them(login, network, role):
    page = page_of(login(network["users"][role]))
    assert 'data-group="ag-uma"' in row_of(page, "network-table", "housing")
    assert re.search(r'network-meetings"[^>]*>1<', row_of(page, "network-table", "secret"))
    assert row_of(page, "not-seen-table", "secret") == ""


# --- queries and bad input ------------------------------------------------------------------


def add_organizations(app, network, start: int, count: int) -> None:
    """``count`` organisations, each with a member in the open group, a project and a meeting."""
    meeting_id = network["meetings"]["long_ago"].id
    with app.app_context():
        group_id = db.session.scalar(sa.text("SELECT id FROM working_group WHERE slug='ag-wohnen'"))
        project = Project(name=f"Projekt ab {start}", slug=f"projekt-{start}")
        db.session.add(project)
        for number in range(start, start + count):
            org = Organization(name=f"Initiative Nr. {number:03d}", slug=f"nr-{number}",
                               kind=OrganizationKind.INITIATIVE)  # fmt: skip
            user = User(email=f"nr{number}@example.org", name=f"Nr {number}", password_hash="x",
                        organizations=[org])  # fmt: skip
            db.session.add_all([org, user])
            db.session.flush()
            db.session.add_all(
                [
                    GroupMembership(group_id=group_id, user_id=user.id),
                    ProjectPartner(project_id=project.id, organization_id=org.id),
                    Attendance(meeting_id=meeting_id, user_id=user.id, organization_id=org.id,
                               status=AttendanceStatus.PRESENT),
                ]
            )  # fmt: skip
        db.session.commit()


def test_queries_do_not_grow_with_organisations(app, login, network):
    client = login(network["users"]["admin"])
    client.get("/network/")
    few = count_queries(app, client, "/network/")
    add_organizations(app, network, 1, 65)
    many = count_queries(app, client, "/network/")
    assert many == few
    page = page_of(client)
    assert page.count('<tr data-organization="nr-') == 65 * 2  # overview and not-seen tables
    assert "The chart shows the first 60" in page
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    assert len(svg.findall(f"{SVG}g[@class='network-row']")) == 60


def test_an_empty_directory(app, users, login):
    page = page_of(login(users["moderator"]))
    assert 'id="nobody-involved"' in page and 'id="everyone-seen"' in page


@pytest.mark.parametrize(
    "query", ["?months=-1", "?months=abc&sort=%FF", "?x=" + "y" * 5000, "?page=99999999999999999"]
)
def test_bad_query_parameters_are_ignored(login, network, query):
    assert login(network["users"]["moderator"]).get("/network/" + query).status_code == 200
