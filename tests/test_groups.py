"""Working groups: list, detail, create and edit, join modes, membership, last lead, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coordination.audit.models import AuditEvent
from coordination.auth.models import Locale
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services
from coordination.groups.models import (
    Confidentiality,
    GroupMembership,
    GroupRole,
    JoinMode,
    JoinRequest,
    JoinRequestStatus,
    WorkingGroup,
)
from coordination.mail.models import OutboxMessage
from coordination.meetings.models import Meeting, Visibility

EN = {"Accept-Language": "en"}
SECRET = "Wartezeit-Vormundschaft-Fall-4711"
ROLES = ("visitor", "member", "group_member", "group_lead", "moderator", "admin")


# --- fixtures and helpers ---------------------------------------------------------------------


@dataclass
class World:
    users: dict
    open_group: WorkingGroup
    secret_group: WorkingGroup
    ids: dict


@pytest.fixture
def world(app, users, make_user, make_group):
    """An open and a confidential group with the same lead and member; a pending request each."""
    people = {
        "admin": users["admin"],
        "moderator": users["moderator"],
        "member": users["member"],
        "group_member": make_user(name="Gero Groupmember"),
        "group_lead": make_user(name="Lena Lead", locale=Locale.EN),
        "requester": make_user(name="Rita Requester"),
    }
    members = {
        people["group_lead"].id: GroupRole.LEAD,
        people["group_member"].id: GroupRole.MEMBER,
    }
    open_group = make_group(
        name="AG Wohnen",
        slug="ag-wohnen",
        description="Wohnungssuche",
        members=members,
    )
    secret_group = make_group(
        name="AG UMA",
        slug="ag-uma",
        confidentiality=Confidentiality.CONFIDENTIAL,
        description=SECRET,
        members=members,
    )
    ids = {}
    with app.app_context():
        for key, group in (("open", open_group), ("secret", secret_group)):
            join_request = JoinRequest(group_id=group.id, user_id=people["requester"].id)
            db.session.add(join_request)
            db.session.flush()
            ids[f"{key}_request"] = join_request.id
            ids[f"{key}_gm"] = db.session.scalar(
                sa.select(GroupMembership.id).where(
                    GroupMembership.group_id == group.id,
                    GroupMembership.user_id == people["group_member"].id,
                )
            )
        db.session.commit()
    return World(people, open_group, secret_group, ids)


def _client(app, login, world, role):
    return app.test_client() if role == "visitor" else login(world.users[role])


def _memberships(app, group_id):
    with app.app_context():
        return {
            user_id: role
            for user_id, role in db.session.execute(
                sa.select(GroupMembership.user_id, GroupMembership.role).where(
                    GroupMembership.group_id == group_id
                )
            )
        }


def _mails(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _events(app, object_type="group", object_id=None):
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditEvent.object_id == object_id)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


def _group_count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(WorkingGroup.id)))


def _group_form(**overrides):
    data = {
        "name": "AG Bildung",
        "description": "Schulplätze für **Neuangekommene**",
        "confidentiality": "open",
        "join_mode": "open",
    }
    data.update(overrides)
    return data


# --- role × route matrix ----------------------------------------------------------------------


def _expect(**codes):
    return codes


# Who gets what on the OPEN group (join mode "open") and on the CONFIDENTIAL group.
OPEN_MATRIX = [
    ("GET", "/groups/", None, dict.fromkeys(ROLES[1:], 200)),
    ("GET", "/groups/new", None, _expect(member=403, group_member=403, group_lead=403,
                                          moderator=200, admin=200)),
    ("POST", "/groups/new", {}, _expect(member=403, group_member=403, group_lead=403,
                                         moderator=200, admin=200)),
    ("GET", "/groups/{slug}", None, dict.fromkeys(ROLES[1:], 200)),
    ("GET", "/groups/{slug}/edit", None, _expect(member=403, group_member=403, group_lead=200,
                                                  moderator=403, admin=200)),
    ("POST", "/groups/{slug}/edit", {}, _expect(member=403, group_member=403, group_lead=200,
                                                 moderator=403, admin=200)),
    ("GET", "/groups/{slug}/audit", None, _expect(member=403, group_member=403, group_lead=200,
                                                   moderator=403, admin=200)),
    ("POST", "/groups/{slug}/join", {}, dict.fromkeys(ROLES[1:], 303)),
    ("POST", "/groups/{slug}/leave", {}, dict.fromkeys(ROLES[1:], 303)),
    ("POST", "/groups/{slug}/requests/{request}/approve", {},
     _expect(member=403, group_member=403, group_lead=303, moderator=403, admin=303)),
    ("POST", "/groups/{slug}/requests/{request}/decline", {},
     _expect(member=403, group_member=403, group_lead=303, moderator=403, admin=303)),
    ("POST", "/groups/{slug}/members", {}, _expect(member=403, group_member=403, group_lead=200,
                                                    moderator=403, admin=200)),
    ("POST", "/groups/{slug}/members/{gm}/role", {"role": "lead"},
     _expect(member=403, group_member=403, group_lead=303, moderator=403, admin=303)),
    ("POST", "/groups/{slug}/members/{gm}/remove", {},
     _expect(member=403, group_member=403, group_lead=303, moderator=403, admin=303)),
]  # fmt: skip

SECRET_MATRIX = [
    ("GET", "/groups/{slug}", None, _expect(member=404, group_member=200, group_lead=200,
                                             moderator=404, admin=200)),
    ("GET", "/groups/{slug}/edit", None, _expect(member=404, group_member=403, group_lead=200,
                                                  moderator=404, admin=200)),
    ("POST", "/groups/{slug}/edit", {}, _expect(member=404, group_member=403, group_lead=200,
                                                 moderator=404, admin=200)),
    ("GET", "/groups/{slug}/audit", None, _expect(member=404, group_member=403, group_lead=200,
                                                   moderator=404, admin=200)),
    ("POST", "/groups/{slug}/join", {}, _expect(member=404, group_member=303, group_lead=303,
                                                 moderator=404, admin=403)),
    ("POST", "/groups/{slug}/leave", {}, _expect(member=404, group_member=303, group_lead=303,
                                                  moderator=404, admin=303)),
    ("POST", "/groups/{slug}/requests/{request}/approve", {},
     _expect(member=404, group_member=403, group_lead=303, moderator=404, admin=303)),
    ("POST", "/groups/{slug}/requests/{request}/decline", {},
     _expect(member=404, group_member=403, group_lead=303, moderator=404, admin=303)),
    ("POST", "/groups/{slug}/members", {}, _expect(member=404, group_member=403, group_lead=200,
                                                    moderator=404, admin=200)),
    ("POST", "/groups/{slug}/members/{gm}/role", {"role": "lead"},
     _expect(member=404, group_member=403, group_lead=303, moderator=404, admin=303)),
    ("POST", "/groups/{slug}/members/{gm}/remove", {},
     _expect(member=404, group_member=403, group_lead=303, moderator=404, admin=303)),
]  # fmt: skip

MATRIX = [("open", *case) for case in OPEN_MATRIX] + [("secret", *case) for case in SECRET_MATRIX]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "kind,method,path,data,expect", MATRIX, ids=lambda v: v if isinstance(v, str) else ""
)
def test_role_route_matrix(app, login, world, kind, method, path, data, expect, role):
    group = world.open_group if kind == "open" else world.secret_group
    url = path.format(
        slug=group.slug, request=world.ids[f"{kind}_request"], gm=world.ids[f"{kind}_gm"]
    )
    response = _client(app, login, world, role).open(url, method=method, data=data or {})
    if role == "visitor":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    else:
        assert response.status_code == expect[role]


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_outsiders_get_404_for_an_unknown_slug_too(login, world, role):
    client = login(world.users[role])
    assert client.get("/groups/no-such-group").status_code == 404
    assert client.post("/groups/no-such-group/join").status_code == 404
    assert client.get("/groups/%E2%9C%93%00x").status_code == 404
    assert client.get("/groups/" + "x" * 100_000).status_code == 404
    assert client.get("/groups/ÄÖÜ-日本").status_code == 404


# --- list -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_list_never_shows_or_counts_a_confidential_group_to_outsiders(login, world, role):
    page = login(world.users[role]).get("/groups/", headers=EN).get_data(as_text=True)
    assert "AG Wohnen" in page
    assert "AG UMA" not in page
    assert "/groups/ag-uma" not in page
    assert SECRET not in page
    assert "1 Arbeitsgruppe" in page  # the user's saved language (German) wins


@pytest.mark.parametrize("role", ["group_member", "admin"])
def test_list_shows_the_confidential_group_to_its_members_and_admins(login, world, role):
    page = login(world.users[role]).get("/groups/", headers=EN).get_data(as_text=True)
    assert f'id="group-{world.secret_group.id}"' in page
    assert "group-confidential-badge" in page
    assert "2 Arbeitsgruppen" in page


def test_list_shows_member_counts_and_my_role(login, world):
    page = login(world.users["group_lead"]).get("/groups/").get_data(as_text=True)
    assert 'data-count="2"' in page
    assert 'data-role="lead"' in page


def test_list_marks_a_pending_request(login, world):
    page = login(world.users["requester"]).get("/groups/").get_data(as_text=True)
    assert "group-my-request" in page


def test_new_group_button_only_for_moderators_and_admins(login, world):
    assert 'id="group-new"' not in login(world.users["member"]).get("/groups/").get_data(True)
    assert 'id="group-new"' in login(world.users["moderator"]).get("/groups/").get_data(True)


def test_navigation_links_to_the_groups_for_logged_in_users(client, login, world):
    assert 'href="/groups/"' in login(world.users["member"]).get("/").get_data(as_text=True)
    assert 'href="/groups/"' not in client.get("/").get_data(as_text=True)


def test_list_page_uses_a_constant_number_of_queries(app, login, world, make_group, make_user):
    client = login(world.users["member"])

    def count_queries() -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engines[None]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get("/groups/").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def add_groups(number: int) -> None:
        for index in range(number):
            person = make_user()
            make_group(
                description=f"Gruppe **{index}**",
                join_mode=JoinMode.REQUEST,
                members={person.id: GroupRole.LEAD, world.users["member"].id: GroupRole.MEMBER},
            )

    add_groups(1)  # with the world's two groups: 3 groups, 2 of them readable
    few = count_queries()
    add_groups(27)  # 30 groups
    many = count_queries()
    assert few == many


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_description_leads_and_members(login, world):
    page = login(world.users["member"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert "Wohnungssuche" in page
    assert "Lena Lead" in page
    assert "Gero Groupmember" in page
    assert 'id="group-join"' in page
    assert 'id="group-edit"' not in page
    assert "/members/" not in page  # no management for non-leads


def test_description_markdown_is_sanitised(app, login, world, make_group):
    group = make_group(description="<script>alert(1)</script> **fett** [x](javascript:alert(1))")
    page = login(world.users["member"]).get(f"/groups/{group.slug}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert 'href="javascript' not in page
    assert "<strong>fett</strong>" in page


def test_detail_shows_management_for_leads(login, world):
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert 'id="group-edit"' in page
    assert 'id="group-audit"' in page
    assert f"/groups/ag-wohnen/members/{world.ids['open_gm']}/role" in page
    assert f"/groups/ag-wohnen/requests/{world.ids['open_request']}/approve" in page
    assert 'id="add-member"' in page
    assert 'id="group-meeting-new"' in page


def test_detail_lists_the_groups_upcoming_meetings(login, world, make_meeting):
    upcoming = make_meeting(title="Treffen AG Wohnen", group_id=world.open_group.id)
    past = make_meeting(
        title="Altes Treffen",
        group_id=world.open_group.id,
        starts_at=utcnow() - timedelta(days=3),
        ends_at=utcnow() - timedelta(days=3, hours=-2),
    )
    other = make_meeting(title="Vernetzungstreffen")
    page = login(world.users["member"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert f'href="/meetings/{upcoming.id}"' in page
    assert f'href="/meetings/{past.id}"' not in page
    assert f'href="/meetings/{other.id}"' not in page
    assert 'id="group-meeting-new"' not in page


def test_schedule_link_preselects_the_group(login, world):
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert f'href="/meetings/new?group={world.open_group.id}"' in page


def test_detail_hides_meetings_the_viewer_may_not_see(app, login, world, make_meeting):
    meeting = make_meeting(
        title="Fallbesprechung",
        group_id=world.secret_group.id,
        visibility=Visibility.GROUP,
    )
    page = login(world.users["group_member"]).get("/groups/ag-uma").get_data(as_text=True)
    assert f'href="/meetings/{meeting.id}"' in page
    assert login(world.users["member"]).get("/groups/ag-uma").status_code == 404


def test_invitation_mode_shows_no_join_button(login, world, make_group):
    group = make_group(join_mode=JoinMode.INVITATION)
    page = login(world.users["member"]).get(f"/groups/{group.slug}").get_data(as_text=True)
    assert 'id="group-join"' not in page
    assert 'id="group-request"' not in page
    assert 'id="group-invitation-only"' in page


def test_admin_sees_no_join_button_on_a_confidential_group(login, world):
    page = login(world.users["admin"]).get("/groups/ag-uma").get_data(as_text=True)
    assert 'id="group-join"' not in page
    assert 'id="group-request"' not in page


# --- create and edit --------------------------------------------------------------------------


def test_create_form_proposes_the_creator_as_lead(login, world):
    page = login(world.users["moderator"]).get("/groups/new").get_data(as_text=True)
    assert f'<option selected value="{world.users["moderator"].id}">' in page
    assert "privacy-reminder" in page


def test_moderator_creates_a_group_with_a_lead(app, login, world):
    lead = world.users["member"]
    response = login(world.users["moderator"]).post(
        "/groups/new", data=_group_form(lead=str(lead.id), confidentiality="confidential")
    )
    assert response.status_code == 303
    # The moderator is not in the new confidential group, so cannot see it: back to the list.
    assert response.headers["Location"] == "/groups/"
    with app.app_context():
        group = db.session.scalar(sa.select(WorkingGroup).where(WorkingGroup.slug == "ag-bildung"))
        assert group.confidentiality is Confidentiality.CONFIDENTIAL
        group_id = group.id
    assert _memberships(app, group_id) == {lead.id: GroupRole.LEAD}
    actions = [event.action for event in _events(app, object_id=group_id)]
    assert actions == [services.GROUP_CREATED, services.MEMBER_ADDED]
    mails = _mails(app)
    assert [mail.recipient for mail in mails] == [lead.email]
    assert "Neuangekommene" not in mails[0].body_text


def test_creator_as_lead_gets_no_mail(app, login, world):
    moderator = world.users["moderator"]
    login(moderator).post("/groups/new", data=_group_form(lead=str(moderator.id)))
    assert _mails(app) == []
    with app.app_context():
        group_id = db.session.scalar(
            sa.select(WorkingGroup.id).where(WorkingGroup.slug == "ag-bildung")
        )
    assert _memberships(app, group_id) == {moderator.id: GroupRole.LEAD}


def test_slugs_are_unique_and_stable(app, login, world):
    client = login(world.users["admin"])
    lead = str(world.users["admin"].id)
    assert (
        client.post("/groups/new", data=_group_form(name="AG Wohnen!", lead=lead)).headers[
            "Location"
        ]
        == "/groups/ag-wohnen-2"
    )
    assert (
        client.post("/groups/new", data=_group_form(name="AG-Wohnen", lead=lead)).headers[
            "Location"
        ]
        == "/groups/ag-wohnen-3"
    )
    response = client.post("/groups/ag-wohnen/edit", data=_group_form(name="AG Wohnen Leipzig"))
    assert response.headers["Location"] == "/groups/ag-wohnen"
    with app.app_context():
        assert db.session.get(WorkingGroup, world.open_group.id).name == "AG Wohnen Leipzig"


def test_a_group_called_new_does_not_hide_the_create_page(login, world):
    client = login(world.users["admin"])
    response = client.post(
        "/groups/new", data=_group_form(name="New", lead=str(world.users["admin"].id))
    )
    assert response.headers["Location"] == "/groups/new-2"
    assert client.get("/groups/new-2").status_code == 200


def test_duplicate_names_are_refused_ignoring_case(app, login, world):
    response = login(world.users["admin"]).post(
        "/groups/new", data=_group_form(name="ag wohnen", lead=str(world.users["admin"].id))
    )
    assert response.status_code == 200
    assert 'id="name-error"' in response.get_data(as_text=True)
    assert _group_count(app) == 2


def test_renaming_to_another_groups_name_is_refused(app, login, world):
    response = login(world.users["admin"]).post(
        "/groups/ag-wohnen/edit", data=_group_form(name="AG UMA")
    )
    assert response.status_code == 200
    assert 'id="name-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WorkingGroup, world.open_group.id).name == "AG Wohnen"


def test_unicode_names_work(app, login, world):
    response = login(world.users["admin"]).post(
        "/groups/new", data=_group_form(name="Ünïcødé 日本 AG", lead=str(world.users["admin"].id))
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/groups/uenicde-ag"


BAD_CREATE = {
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "huge name": {"name": "x" * 100_000},
    "nul in name": {"name": "AG\x00X"},
    "huge description": {"description": "x" * 100_000},
    "nul in description": {"description": "a\x00b"},
    "unknown lead": {"lead": "99999999999999999999"},
    "lead not a number": {"lead": "abc"},
    "no lead": {"lead": ""},
    "lead list": {"lead": ["abc", "1"]},
    "bad confidentiality": {"confidentiality": "secret"},
    "bad join mode": {"join_mode": "whenever"},
    "missing join mode": {"join_mode": ""},
}


@pytest.mark.parametrize("overrides", BAD_CREATE.values(), ids=BAD_CREATE.keys())
def test_bad_create_input_is_refused_without_a_trace(app, login, world, overrides):
    data = _group_form(lead=str(world.users["admin"].id))
    data.update(overrides)
    response = login(world.users["admin"]).post("/groups/new", data=data)
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    assert _group_count(app) == 2
    assert _mails(app) == []


def test_inactive_accounts_cannot_become_lead(app, login, world, make_user):
    sleeper = make_user(is_active=False)
    response = login(world.users["admin"]).post(
        "/groups/new", data=_group_form(lead=str(sleeper.id))
    )
    assert response.status_code == 200
    assert _group_count(app) == 2


BAD_EDIT = {
    "empty name": {"name": ""},
    "huge name": {"name": "x" * 100_000},
    "nul": {"description": "\x00"},
    "huge description": {"description": "x" * 100_000},
    "bad confidentiality": {"confidentiality": "1"},
    "bad join mode": {"join_mode": "0"},
}


@pytest.mark.parametrize("overrides", BAD_EDIT.values(), ids=BAD_EDIT.keys())
def test_bad_edit_input_changes_nothing(app, login, world, overrides):
    response = login(world.users["group_lead"]).post(
        "/groups/ag-wohnen/edit", data=_group_form(**overrides)
    )
    assert response.status_code == 200
    with app.app_context():
        group = db.session.get(WorkingGroup, world.open_group.id)
        assert (group.name, group.description) == ("AG Wohnen", "Wohnungssuche")
    assert _events(app, object_id=world.open_group.id) == []


def test_lead_edits_the_group_and_the_change_is_audited(app, login, world):
    response = login(world.users["group_lead"]).post(
        "/groups/ag-wohnen/edit",
        data=_group_form(name="AG Wohnen", confidentiality="confidential", join_mode="request"),
    )
    assert response.status_code == 303
    with app.app_context():
        group = db.session.get(WorkingGroup, world.open_group.id)
        assert group.confidentiality is Confidentiality.CONFIDENTIAL
        assert group.join_mode is JoinMode.REQUEST
    events = [(e.action, e.detail) for e in _events(app, object_id=world.open_group.id)]
    assert events == [
        (services.GROUP_UPDATED, ""),
        (services.GROUP_CONFIDENTIALITY_CHANGED, "confidential"),
        (services.GROUP_JOIN_MODE_CHANGED, "request"),
    ]
    assert login(world.users["member"]).get("/groups/ag-wohnen").status_code == 404


def test_a_group_made_confidential_takes_its_public_meetings_off_public_pages(
    app, client, login, world, make_meeting
):
    """Its meetings were public while the group was open; now only the group may see them."""
    public = make_meeting(
        group_id=world.open_group.id,
        title="Offenes Treffen der AG Wohnen",
        visibility=Visibility.PUBLIC,
        allows_guests=True,
        online_url="https://meet.example.org/ag-wohnen",
        is_online_url_public=True,
    )
    network = make_meeting(group_id=world.open_group.id, visibility=Visibility.NETWORK)
    assert client.get(f"/meetings/{public.id}").status_code == 200
    assert "Offenes Treffen" in client.get("/calendar/public.ics").get_data(as_text=True)

    response = login(world.users["group_lead"]).post(
        "/groups/ag-wohnen/edit",
        data=_group_form(name="AG Wohnen", confidentiality="confidential"),
        follow_redirects=True,
    )

    # The lead reads English.
    assert "2 meetings of the group are now visible to the group only." in response.get_data(
        as_text=True
    )
    assert client.get(f"/meetings/{public.id}").status_code == 404
    assert "Offenes Treffen" not in client.get("/calendar/public.ics").get_data(as_text=True)
    outsider = login(world.users["member"])
    assert outsider.get(f"/meetings/{network.id}").status_code == 404
    assert login(world.users["group_member"]).get(f"/meetings/{public.id}").status_code == 200
    with app.app_context():
        meeting = db.session.get(Meeting, public.id)
        assert meeting.visibility is Visibility.GROUP
        assert not meeting.allows_guests and not meeting.is_online_url_public


def test_opening_a_confidential_group_needs_a_confirmation(app, login, world):
    lead = login(world.users["group_lead"])
    page = lead.get("/groups/ag-uma/edit").get_data(as_text=True)
    assert 'name="confirm_open"' in page
    response = lead.post("/groups/ag-uma/edit", data=_group_form(name="AG UMA"))
    assert response.status_code == 200
    assert 'id="confirm_open-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WorkingGroup, world.secret_group.id).is_confidential
    response = lead.post("/groups/ag-uma/edit", data=_group_form(name="AG UMA", confirm_open="y"))
    assert response.status_code == 303
    with app.app_context():
        assert not db.session.get(WorkingGroup, world.secret_group.id).is_confidential


def test_open_groups_edit_form_has_no_confirmation(login, world):
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen/edit").get_data(as_text=True)
    assert 'name="confirm_open"' not in page
    assert 'name="lead"' not in page
    assert "privacy-reminder" in page


# --- joining ----------------------------------------------------------------------------------


def test_member_joins_an_open_group_once(app, login, world):
    client = login(world.users["member"])
    assert client.post("/groups/ag-wohnen/join").status_code == 303
    assert client.post("/groups/ag-wohnen/join").status_code == 303
    assert _memberships(app, world.open_group.id)[world.users["member"].id] is GroupRole.MEMBER
    assert len(_memberships(app, world.open_group.id)) == 3
    events = _events(app, object_id=world.open_group.id)
    assert [(e.action, e.detail, e.actor_id) for e in events] == [
        (services.MEMBER_JOINED, "member", world.users["member"].id)
    ]
    twin = _events(app, "user", world.users["member"].id)
    assert [(e.action, e.detail) for e in twin] == [
        (services.MEMBER_JOINED, f"group:{world.open_group.id}")
    ]
    assert _mails(app) == []


def test_joining_by_request_mails_every_active_lead_once(app, login, world, make_user, make_group):
    lead_en = make_user(name="Ed Lead", locale=Locale.EN)
    lead_de = make_user(name="Dora Lead", locale=Locale.DE)
    sleeper = make_user(name="Sleepy Lead", is_active=False)
    group = make_group(
        name="AG Arbeit",
        join_mode=JoinMode.REQUEST,
        description=SECRET,
        members={
            lead_en.id: GroupRole.LEAD,
            lead_de.id: GroupRole.LEAD,
            sleeper.id: GroupRole.LEAD,
        },
    )
    client = login(world.users["member"])
    assert client.post(f"/groups/{group.slug}/join").status_code == 303
    assert client.post(f"/groups/{group.slug}/join").status_code == 303  # double submit
    with app.app_context():
        requests = list(
            db.session.scalars(sa.select(JoinRequest).where(JoinRequest.group_id == group.id))
        )
    assert [(r.user_id, r.status) for r in requests] == [
        (world.users["member"].id, JoinRequestStatus.PENDING)
    ]
    assert world.users["member"].id not in _memberships(app, group.id)
    mails = _mails(app)
    assert sorted(mail.recipient for mail in mails) == sorted([lead_en.email, lead_de.email])
    by_recipient = {mail.recipient: mail for mail in mails}
    assert by_recipient[lead_en.email].subject == "Request to join AG Arbeit"
    assert 'lang="de"' in by_recipient[lead_de.email].body_html
    assert 'lang="en"' in by_recipient[lead_en.email].body_html
    for mail in mails:
        assert SECRET not in mail.body_text and SECRET not in (mail.body_html or "")
        assert world.users["member"].name in mail.body_text
        assert f"/groups/{group.slug}" in mail.body_text
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert 'id="my-request"' in page


def test_request_button_on_request_groups(login, world, make_group):
    group = make_group(join_mode=JoinMode.REQUEST)
    page = login(world.users["member"]).get(f"/groups/{group.slug}").get_data(as_text=True)
    assert 'id="group-request"' in page
    assert 'id="group-join"' not in page


def test_joining_an_invitation_group_is_forbidden(app, login, world, make_group):
    group = make_group(join_mode=JoinMode.INVITATION)
    assert login(world.users["member"]).post(f"/groups/{group.slug}/join").status_code == 403
    assert _memberships(app, group.id) == {}


@pytest.mark.parametrize("join_mode", list(JoinMode))
def test_outsiders_can_never_join_or_ask_a_confidential_group(
    app, login, world, make_group, join_mode
):
    group = make_group(confidentiality=Confidentiality.CONFIDENTIAL, join_mode=join_mode)
    for role in ("member", "moderator"):
        assert login(world.users[role]).post(f"/groups/{group.slug}/join").status_code == 404
    assert _memberships(app, group.id) == {}
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(JoinRequest.id)).where(JoinRequest.group_id == group.id)
            )
            == 0
        )
    assert _mails(app) == []


# --- answering requests -----------------------------------------------------------------------


def _request_status(app, request_id):
    with app.app_context():
        return db.session.get(JoinRequest, request_id).status


def test_lead_approves_a_request_once_and_the_requester_is_told(app, login, world):
    requester = world.users["requester"]
    lead = login(world.users["group_lead"])
    url = f"/groups/ag-wohnen/requests/{world.ids['open_request']}/approve"
    assert lead.post(url).status_code == 303
    assert lead.post(url).status_code == 303  # double submit
    assert _request_status(app, world.ids["open_request"]) is JoinRequestStatus.APPROVED
    assert _memberships(app, world.open_group.id)[requester.id] is GroupRole.MEMBER
    mails = _mails(app)
    assert [mail.recipient for mail in mails] == [requester.email]
    assert "/groups/ag-wohnen" in mails[0].body_text
    events = [(e.action, e.detail) for e in _events(app, object_id=world.open_group.id)]
    assert events == [(services.REQUEST_APPROVED, "approved")]
    with app.app_context():
        request = db.session.get(JoinRequest, world.ids["open_request"])
        assert request.decided_by_id == world.users["group_lead"].id
        assert request.decided_at is not None


def test_lead_declines_a_request_and_the_requester_is_told(app, login, world):
    requester = world.users["requester"]
    lead = login(world.users["group_lead"])
    url = f"/groups/ag-uma/requests/{world.ids['secret_request']}/decline"
    assert lead.post(url).status_code == 303
    assert lead.post(url).status_code == 303
    assert _request_status(app, world.ids["secret_request"]) is JoinRequestStatus.DECLINED
    assert requester.id not in _memberships(app, world.secret_group.id)
    mails = _mails(app)
    assert [mail.recipient for mail in mails] == [requester.email]
    assert SECRET not in mails[0].body_text
    assert "/groups/ag-uma" not in mails[0].body_text  # they cannot read it
    # Answering after a decision is refused: no approval of a declined request.
    lead.post(f"/groups/ag-uma/requests/{world.ids['secret_request']}/approve")
    assert _request_status(app, world.ids["secret_request"]) is JoinRequestStatus.DECLINED
    assert len(_mails(app)) == 1


def test_a_request_of_another_group_is_404(app, login, world, make_user, make_group):
    other_lead = make_user()
    other = make_group(members={other_lead.id: GroupRole.LEAD})
    client = login(other_lead)
    for url in (
        f"/groups/{other.slug}/requests/{world.ids['open_request']}/approve",
        f"/groups/{other.slug}/requests/99999999/decline",
        f"/groups/{other.slug}/requests/99999999999999999999/decline",
        f"/groups/{other.slug}/requests/abc/approve",
    ):
        assert client.post(url).status_code == 404, url
    assert _request_status(app, world.ids["open_request"]) is JoinRequestStatus.PENDING


def test_lead_adding_a_requester_closes_the_request(app, login, world):
    requester = world.users["requester"]
    response = login(world.users["group_lead"]).post(
        "/groups/ag-wohnen/members", data={"user": str(requester.id), "role": "member"}
    )
    assert response.status_code == 303
    assert _request_status(app, world.ids["open_request"]) is JoinRequestStatus.APPROVED


# --- adding, roles, removing, leaving ---------------------------------------------------------


def test_lead_adds_a_member_who_gets_one_mail(app, login, world):
    person = world.users["member"]
    lead = login(world.users["group_lead"])
    response = lead.post("/groups/ag-uma/members", data={"user": str(person.id), "role": "lead"})
    assert response.status_code == 303
    assert _memberships(app, world.secret_group.id)[person.id] is GroupRole.LEAD
    # The second submit finds the person in the group already: an error, nothing new.
    assert lead.post("/groups/ag-uma/members", data={"user": str(person.id)}).status_code == 200
    mails = _mails(app)
    assert [mail.recipient for mail in mails] == [person.email]
    assert SECRET not in mails[0].body_text
    assert "AG UMA" in mails[0].body_text
    events = [(e.action, e.detail) for e in _events(app, object_id=world.secret_group.id)]
    assert events == [(services.MEMBER_ADDED, "lead")]
    assert login(person).get("/groups/ag-uma").status_code == 200


def test_add_form_offers_only_active_people_outside_the_group(login, world, make_user):
    sleeper = make_user(name="Schlafende Person", is_active=False)
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert f'<option value="{world.users["member"].id}">' in page
    assert f'<option value="{world.users["group_member"].id}">' not in page
    assert f'<option value="{sleeper.id}">' not in page


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"user": ""},
        {"user": "99999999999999999999"},
        {"user": "abc"},
        {"user": "1\x00"},
        {"user": "x" * 100_000},
        {"user": "{member}", "role": "boss"},
        {"user": "{member}", "role": ""},
        {"user": "{group_member}"},
        {"user": "{sleeper}"},
    ],
    ids=[
        "empty",
        "blank",
        "huge id",
        "text",
        "nul",
        "100 kB",
        "bad role",
        "no role",
        "already in",
        "inactive",
    ],
)
def test_bad_add_member_input_changes_nothing(app, login, world, make_user, data):
    sleeper = make_user(is_active=False)
    values = {
        "member": world.users["member"].id,
        "group_member": world.users["group_member"].id,
        "sleeper": sleeper.id,
    }
    data = {key: value.format(**values) for key, value in data.items()}
    before = _memberships(app, world.open_group.id)
    response = login(world.users["group_lead"]).post("/groups/ag-wohnen/members", data=data)
    assert response.status_code == 200
    assert 'class="errors"' in response.get_data(as_text=True)
    assert _memberships(app, world.open_group.id) == before
    assert _mails(app) == []


def test_lead_promotes_and_demotes(app, login, world):
    lead = login(world.users["group_lead"])
    gm = world.ids["open_gm"]
    assert (
        lead.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "lead"}).status_code == 303
    )
    assert (
        lead.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "lead"}).status_code == 303
    )
    assert _memberships(app, world.open_group.id)[world.users["group_member"].id] is GroupRole.LEAD
    assert (
        lead.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "member"}).status_code
        == 303
    )
    assert (
        _memberships(app, world.open_group.id)[world.users["group_member"].id] is GroupRole.MEMBER
    )
    events = [(e.action, e.detail) for e in _events(app, object_id=world.open_group.id)]
    assert events == [(services.ROLE_CHANGED, "lead"), (services.ROLE_CHANGED, "member")]


@pytest.mark.parametrize("data", [{}, {"role": "boss"}, {"role": "\x00"}, {"role": "x" * 100_000}])
def test_bad_role_input_changes_nothing(app, login, world, data):
    response = login(world.users["group_lead"]).post(
        f"/groups/ag-wohnen/members/{world.ids['open_gm']}/role", data=data
    )
    assert response.status_code == 303
    assert (
        _memberships(app, world.open_group.id)[world.users["group_member"].id] is GroupRole.MEMBER
    )
    assert _events(app, object_id=world.open_group.id) == []


def test_memberships_of_another_group_are_404(app, login, world, make_user, make_group):
    other_lead = make_user()
    other = make_group(members={other_lead.id: GroupRole.LEAD})
    client = login(other_lead)
    for url in (
        f"/groups/{other.slug}/members/{world.ids['open_gm']}/role",
        f"/groups/{other.slug}/members/{world.ids['open_gm']}/remove",
        f"/groups/{other.slug}/members/99999999999999999999/remove",
    ):
        assert client.post(url, data={"role": "lead"}).status_code == 404, url
    assert len(_memberships(app, world.open_group.id)) == 2


def test_the_last_lead_cannot_leave_be_demoted_or_removed(app, login, world):
    lead_user = world.users["group_lead"]
    with app.app_context():
        lead_membership = db.session.scalar(
            sa.select(GroupMembership.id).where(
                GroupMembership.group_id == world.open_group.id,
                GroupMembership.user_id == lead_user.id,
            )
        )
    lead = login(lead_user)
    admin = login(world.users["admin"])
    response = lead.post("/groups/ag-wohnen/leave", headers=EN, follow_redirects=True)
    assert "only lead" in response.get_data(as_text=True)
    lead.post(f"/groups/ag-wohnen/members/{lead_membership}/role", data={"role": "member"})
    admin.post(f"/groups/ag-wohnen/members/{lead_membership}/role", data={"role": "member"})
    admin.post(f"/groups/ag-wohnen/members/{lead_membership}/remove")
    assert _memberships(app, world.open_group.id)[lead_user.id] is GroupRole.LEAD
    assert _events(app, object_id=world.open_group.id) == []


def test_with_a_second_lead_the_first_may_step_down(app, login, world):
    lead = login(world.users["group_lead"])
    lead.post(f"/groups/ag-wohnen/members/{world.ids['open_gm']}/role", data={"role": "lead"})
    assert lead.post("/groups/ag-wohnen/leave").status_code == 303
    assert _memberships(app, world.open_group.id) == {
        world.users["group_member"].id: GroupRole.LEAD
    }
    # The new lead is now the last one.
    second = login(world.users["group_member"])
    second.post("/groups/ag-wohnen/leave")
    assert _memberships(app, world.open_group.id) == {
        world.users["group_member"].id: GroupRole.LEAD
    }


def test_lead_removes_a_member(app, login, world):
    lead = login(world.users["group_lead"])
    url = f"/groups/ag-uma/members/{world.ids['secret_gm']}/remove"
    assert lead.post(url).status_code == 303
    assert lead.post(url).status_code == 404  # double submit: the membership is gone
    assert world.users["group_member"].id not in _memberships(app, world.secret_group.id)
    assert login(world.users["group_member"]).get("/groups/ag-uma").status_code == 404
    events = [(e.action, e.detail) for e in _events(app, object_id=world.secret_group.id)]
    assert events == [(services.MEMBER_REMOVED, "member")]
    twin = _events(app, "user", world.users["group_member"].id)
    assert [(e.action, e.actor_id) for e in twin] == [
        (services.MEMBER_REMOVED, world.users["group_lead"].id)
    ]


def test_member_leaves_and_a_second_leave_is_harmless(app, login, world):
    client = login(world.users["group_member"])
    assert client.post("/groups/ag-wohnen/leave").status_code == 303
    assert client.post("/groups/ag-wohnen/leave").status_code == 303
    assert world.users["group_member"].id not in _memberships(app, world.open_group.id)
    events = [(e.action, e.detail) for e in _events(app, object_id=world.open_group.id)]
    assert events == [(services.MEMBER_LEFT, "member")]


def test_leaving_a_confidential_group_goes_back_to_the_list(app, login, world):
    response = login(world.users["group_member"]).post("/groups/ag-uma/leave")
    assert response.status_code == 303
    assert response.headers["Location"] == "/groups/"


# --- audit trail ------------------------------------------------------------------------------


def test_audit_trail_names_who_did_what_to_whom(app, login, world):
    lead = login(world.users["group_lead"])
    lead.post(f"/groups/ag-wohnen/requests/{world.ids['open_request']}/approve")
    lead.post(f"/groups/ag-wohnen/members/{world.ids['open_gm']}/role", data={"role": "lead"})
    login(world.users["member"]).post("/groups/ag-wohnen/join")
    page = lead.get("/groups/ag-wohnen/audit", headers=EN).get_data(as_text=True)
    assert 'data-action="group.request_approved"' in page
    assert 'data-action="group.role_changed"' in page
    assert 'data-action="group.member_joined"' in page
    assert "Rita Requester" in page
    assert "Gero Groupmember" in page
    assert "Mia Member" in page
    assert "approved a request to join" in page


def test_audit_trail_shows_only_this_groups_events(app, login, world):
    login(world.users["group_member"]).post("/groups/ag-uma/leave")
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen/audit").get_data(as_text=True)
    assert "group.member_left" not in page


def test_audit_trail_pages_are_bounded(login, world):
    client = login(world.users["admin"])
    assert client.get("/groups/ag-wohnen/audit?page=99999999999999").status_code == 200
    assert client.get("/groups/ag-wohnen/audit?page=abc").status_code == 200


def test_people_are_offered_by_name_and_organisation_never_by_email(
    login, world, make_user, make_organization
):
    organization = make_organization(name="Flüchtlingsrat Leipzig")
    make_user(name="Sam Doe", organizations=[organization.id])
    first = make_user(name="Kim Roe")
    second = make_user(name="Kim Roe")
    page = login(world.users["group_lead"]).get("/groups/ag-wohnen").get_data(as_text=True)
    assert world.users["member"].email not in page
    assert ">Sam Doe (Flüchtlingsrat Leipzig)</option>" in page
    assert f">Kim Roe #{first.id}</option>" in page
    assert f">Kim Roe #{second.id}</option>" in page


def test_audit_trail_includes_status_changes_of_the_groups_content(app, login, world):
    from coordination.actions.models import Action
    from coordination.audit import services as audit
    from coordination.problems.models import GroupIssue, Solution

    lead = world.users["group_lead"]
    with app.app_context():
        actor = db.session.get(type(lead), lead.id)
        ids = {}
        for key, group in (("own", world.open_group), ("other", world.secret_group)):
            issue = GroupIssue(group_id=group.id, title="Problem")
            db.session.add(issue)
            db.session.flush()
            solution = Solution(issue_id=issue.id, text="Lösung")
            action = Action(group_id=group.id, title="Maßnahme")
            db.session.add_all([solution, action])
            db.session.flush()
            audit.record(
                "group_issue.status_changed",
                actor=actor,
                object_type="group_issue",
                object_id=issue.id,
                detail="in_progress",
            )
            audit.record(
                "solution.status_changed",
                actor=actor,
                object_type="solution",
                object_id=solution.id,
                detail="trial",
            )
            audit.record(
                "action.status_changed",
                actor=actor,
                object_type="action",
                object_id=action.id,
                detail="done",
            )
            ids[key] = (issue.id, solution.id, action.id)
        db.session.commit()
    page = login(lead).get("/groups/ag-wohnen/audit", headers=EN).get_data(as_text=True)
    issue_id, solution_id, action_id = ids["own"]
    assert f'href="/groups/ag-wohnen/issues/{issue_id}"' in page
    assert f"Solution #{solution_id}" in page
    assert f'href="/actions/{action_id}"' in page
    assert "on trial" in page
    other_issue, other_solution, other_action = ids["other"]
    assert f"/issues/{other_issue}" not in page
    assert f"Solution #{other_solution}<" not in page
    assert f'href="/actions/{other_action}"' not in page


def test_audit_trail_uses_a_constant_number_of_queries(app, login, world):
    client = login(world.users["group_lead"])

    def count_queries() -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engines[None]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get("/groups/ag-wohnen/audit").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    gm = world.ids["open_gm"]
    client.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "lead"})
    few = count_queries()
    for _ in range(5):
        client.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "member"})
        client.post(f"/groups/ag-wohnen/members/{gm}/role", data={"role": "lead"})
    assert count_queries() == few
