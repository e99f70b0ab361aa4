"""Search (/search?q=…): hits per kind, umlauts and case, visibility, query counts, bad input.

Runs on SQLite and PostgreSQL: folding, LIKE escaping and visibility must give the same hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from markupsafe import Markup

from coordination.actions.models import Action
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups.models import Confidentiality, GroupRole, WorkingGroup
from coordination.meetings.models import Meeting, MeetingKind, MeetingStatus, Visibility
from coordination.organizations.models import Organization
from coordination.problems.models import GroupIssue, Solution
from coordination.projects.models import Project, ProjectStatus
from coordination.search import services
from coordination.search.views import OVERVIEW_LIMIT, PER_PAGE

EN = {"Accept-Language": "en"}
KINDS = services.KINDS


# --- helpers -----------------------------------------------------------------------------------


def _add(app, *objects) -> list[int]:
    with app.app_context():
        db.session.add_all(objects)
        db.session.commit()
        return [obj.id for obj in objects]


def add_problem(app, group_id: int, title: str, description: str = "") -> int:
    return _add(app, GroupIssue(group_id=group_id, title=title, description=description))[0]


def add_solution(app, issue_id: int, text: str) -> int:
    return _add(app, Solution(issue_id=issue_id, text=text))[0]


def add_action(app, group_id: int, title: str, notes: str = "") -> int:
    return _add(app, Action(group_id=group_id, title=title, notes=notes))[0]


def add_project(app, name: str, slug: str, summary: str = "", description: str = "") -> int:
    project = Project(
        name=name, slug=slug, summary=summary, description=description, status=ProjectStatus.ACTIVE
    )
    return _add(app, project)[0]


def search(client, q: str, **params) -> tuple[int, str]:
    response = client.get("/search", query_string={"q": q, **params}, headers=EN)
    return response.status_code, response.get_data(as_text=True)


def hit_ids(page: str, kind: str) -> set[int]:
    return {int(number) for number in re.findall(rf'id="search-hit-{kind}-(\d+)"', page)}


def count_of(page: str, kind: str) -> int | None:
    found = re.search(rf'id="search-count-{kind}" data-count="(\d+)"', page)
    return int(found.group(1)) if found else None


def statements_of(app, request) -> list[str]:
    """The SQL statements ``request()`` sends."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engines[None]
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


# --- folding and the query (no database) -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "mueller"),
        ("MÜLLER", "mueller"),
        ("mueller", "mueller"),
        ("Straße", "strasse"),
        ("STRAẞE", "strasse"),
        ("Öl Äpfel Übung", "oel aepfel uebung"),
        ("Mu\u0308ller", "mueller"),  # ü written as u + combining diaeresis
        ("École", "École"),  # only A–Z are lowered, as by SQLite and PostgreSQL under "C"
        ("İstanbul", "İstanbul"),
        ("محمد 🚀", "محمد 🚀"),
    ],
)
def test_fold(text, folded):
    assert services.fold(text) == folded


def test_parse_query_splits_folds_and_limits():
    query = services.parse_query("  MÜLLER   Straße a  müller  ")
    assert query.text == "MÜLLER Straße a müller"
    assert query.terms == ("mueller", "strasse")  # "a" too short, "müller" repeated
    many = services.parse_query(" ".join(f"wort{n}" for n in range(20)))
    assert len(many.terms) == services.MAX_TERMS
    long_word = services.parse_query("x" * 10_000)
    assert len(long_word.text) == services.MAX_QUERY_CHARS
    assert long_word.terms == ("x" * services.MAX_TERM_CHARS,)
    assert services.parse_query(" \t\n ").terms == ()
    assert services.parse_query(None).text == ""
    # Composed and decomposed umlauts are the same query.
    assert services.parse_query("Mu\u0308ller").terms == ("mueller",)


def test_highlight_escapes_and_marks_the_original_letters():
    marked = services.highlight("<b>Müller</b> & Söhne", ["mueller", "soehne"])
    assert isinstance(marked, Markup)
    assert str(marked) == "&lt;b&gt;<mark>Müller</mark>&lt;/b&gt; &amp; <mark>Söhne</mark>"
    assert str(services.highlight("Straße", ["strasse"])) == "<mark>Straße</mark>"
    assert str(services.highlight("Mu\u0308ller", ["mue"])) == "<mark>Mu\u0308</mark>ller"


def test_snippet_shows_the_text_around_the_first_match():
    text = "Anfang " + "lorem ipsum " * 40 + "hier steht Vormundschaft drin " + "dolor " * 40
    snippet = str(services.snippet(text, ["vormundschaft"]))
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>Vormundschaft</mark>" in snippet
    assert len(snippet) < services.SNIPPET_CHARS + 40
    assert str(services.snippet("kurz", ["nichts"])) == "kurz"


# --- the SQL folding agrees with Python, on each database --------------------------------------

FOLD_SAMPLES = [
    "Müller",
    "MÜLLER",
    "Straße STRAẞE",
    "Öl Äpfel Übung öl äpfel übung",
    "Mu\u0308ller A\u0308rger O\u0308l",
    "École ÉCOLE Łódź İ ı ǅ",
    "محمد 🚀 ゆ",
    "100% a_b c\\d",
]


@pytest.mark.parametrize("text", FOLD_SAMPLES)
def test_sql_fold_matches_python_fold(app, text):
    with app.app_context():
        folded = db.session.scalar(sa.select(services.Fold(sa.literal(text, sa.String))))
    assert folded == services.fold(text)


# --- a small network to search -----------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    groups: dict[str, WorkingGroup]
    ids: dict[str, int]


@pytest.fixture
def world(app, make_user, make_group, make_meeting, make_organization) -> World:
    """An open group and a confidential one; the word "Vormundschaft" in every kind of content."""
    users = {
        "admin": make_user(role=Role.ADMIN, locale=Locale.EN),
        "moderator": make_user(role=Role.MODERATOR, locale=Locale.EN),
        "member": make_user(locale=Locale.EN),
        "group_member": make_user(locale=Locale.EN),
        "group_lead": make_user(locale=Locale.EN),
    }
    members = {
        users["group_member"].id: GroupRole.MEMBER,
        users["group_lead"].id: GroupRole.LEAD,
    }
    groups = {
        "open": make_group(name="AG Wohnen", slug="ag-wohnen"),
        "confidential": make_group(
            name="AG UMA",
            slug="ag-uma",
            members=members,
            confidentiality=Confidentiality.CONFIDENTIAL,
        ),
    }
    open_id, secret_id = groups["open"].id, groups["confidential"].id
    ids: dict[str, int] = {}
    ids["public_meeting"] = make_meeting(
        title="Offenes Treffen zur Vormundschaft", visibility=Visibility.PUBLIC
    ).id
    ids["network_meeting"] = make_meeting(
        title="Vernetzungstreffen", description="Thema: **Vormundschaft** für Minderjährige"
    ).id
    ids["secret_meeting"] = make_meeting(
        title="AG-Treffen Vormundschaft",
        group_id=secret_id,
        kind=MeetingKind.GROUP,
        visibility=Visibility.GROUP,
    ).id
    ids["open_problem"] = add_problem(app, open_id, "Vormundschaft dauert zu lange")
    ids["secret_problem"] = add_problem(
        app, secret_id, "Geheime Fallbesprechung", "Vormundschaft für einen Jugendlichen"
    )
    ids["open_solution"] = add_solution(app, ids["open_problem"], "Vormundschaft beschleunigen")
    ids["secret_solution"] = add_solution(app, ids["secret_problem"], "Vormundschaft beantragen")
    ids["open_action"] = add_action(app, open_id, "Vormundschaft erklären")
    ids["secret_action"] = add_action(app, secret_id, "Anruf", "wegen der Vormundschaft")
    ids["project"] = add_project(
        app, "Wegweiser", "wegweiser", summary="Ein Leitfaden, auch zur Vormundschaft"
    )
    ids["organization"] = make_organization(
        name="Vormundschaftsverein Leipzig", slug="vormundschaftsverein", district="Süd"
    ).id
    return World(users=users, groups=groups, ids=ids)


def client_for(app, login, world: World, role: str):
    return app.test_client() if role == "anonymous" else login(world.users[role])


# --- hits per kind ------------------------------------------------------------------------------


def test_member_finds_every_kind_with_links_and_snippets(app, login, world):
    status, page = search(login(world.users["member"]), "vormundschaft")
    assert status == 200
    ids = world.ids
    assert hit_ids(page, "meetings") == {ids["public_meeting"], ids["network_meeting"]}
    assert hit_ids(page, "problems") == {ids["open_problem"]}
    assert hit_ids(page, "solutions") == {ids["open_solution"]}
    assert hit_ids(page, "actions") == {ids["open_action"]}
    assert hit_ids(page, "projects") == {ids["project"]}
    assert hit_ids(page, "organizations") == {ids["organization"]}
    assert {kind: count_of(page, kind) for kind in KINDS} == {
        "meetings": 2,
        "problems": 1,
        "solutions": 1,
        "actions": 1,
        "projects": 1,
        "organizations": 1,
    }
    assert 'id="search-summary" data-count="7"' in page
    assert f'href="/meetings/{ids["network_meeting"]}"' in page
    assert f'href="/groups/ag-wohnen/issues/{ids["open_problem"]}"' in page
    assert (
        f'href="/groups/ag-wohnen/issues/{ids["open_problem"]}#solution-{ids["open_solution"]}"'
        in page
    )
    assert f'href="/actions/{ids["open_action"]}"' in page
    assert 'href="/projects/wegweiser"' in page
    assert 'href="/organizations/vormundschaftsverein"' in page
    # Snippets come from the description with the match marked; titles are marked too.
    assert "<mark>Vormundschaft</mark> für Minderjährige" in page
    assert "<mark>Vormundschaft</mark>sverein Leipzig" in page
    assert "auch zur <mark>Vormundschaft</mark>" in page


def test_every_word_must_occur(app, login, world):
    client = login(world.users["member"])
    _status, page = search(client, "vormundschaft leitfaden")
    assert hit_ids(page, "projects") == {world.ids["project"]}
    assert count_of(page, "organizations") is None  # no section for kinds without hits
    _status, page = search(client, "vormundschaft nirgendwo")
    assert 'id="search-nothing"' in page
    assert 'data-count="0"' in page


def test_fields_of_each_kind_are_searched(app, login, world, make_meeting, make_organization):
    meeting = make_meeting(title="Plenum", venue_name="Café Kontakt", venue_address="Löhrstraße 3")
    organization = make_organization(name="Hilfe e.V.", district="Grünau", description="Beratung")
    client = login(world.users["member"])
    assert meeting.id in hit_ids(search(client, "café")[1], "meetings")
    assert meeting.id in hit_ids(search(client, "loehrstrasse")[1], "meetings")
    assert organization.id in hit_ids(search(client, "gruenau")[1], "organizations")
    assert organization.id in hit_ids(search(client, "beratung")[1], "organizations")
    action = add_action(app, world.groups["open"].id, "Flyer", "Druckerei anrufen")
    assert action in hit_ids(search(client, "druckerei")[1], "actions")


# --- umlauts and case --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "queries"),
    [
        ("Familie Müller", ["Müller", "mueller", "MÜLLER", "MUELLER", "müLLer", "Mu\u0308ller"]),
        ("Mu\u0308ller-Stiftung", ["Müller", "mueller", "MÜLLER"]),
        ("Straßenküche", ["strasse", "STRASSE", "Straße", "STRAẞE", "strassenkueche"]),
        ("STRASSENFEST", ["straße", "Strasse"]),
        ("Ökumenisches Zentrum", ["ökumenisch", "OEKUMENISCH", "oekumenisch"]),
        ("Übersetzungshilfe", ["übersetzung", "UEBERSETZUNG", "Uebersetzung"]),
    ],
)
def test_umlauts_and_case_find_each_other(app, login, world, make_organization, stored, queries):
    organization = make_organization(name=stored)
    client = login(world.users["member"])
    for query in queries:
        assert organization.id in hit_ids(search(client, query)[1], "organizations"), query


def test_non_german_letters_keep_their_case_on_both_databases(login, world, make_organization):
    organization = make_organization(name="École de Leipzig")
    client = login(world.users["member"])
    assert organization.id in hit_ids(search(client, "École")[1], "organizations")
    assert organization.id in hit_ids(search(client, "cole")[1], "organizations")
    # É is not an ASCII letter: "école" does not find "École", on SQLite as on PostgreSQL.
    assert organization.id not in hit_ids(search(client, "école")[1], "organizations")
    assert organization.id in hit_ids(search(client, "LEIPZIG")[1], "organizations")
    # "muller" is not "Müller" (ü is ue): the same answer on every database.
    other = make_organization(name="Müller Hilfe")
    assert other.id not in hit_ids(search(client, "muller")[1], "organizations")


def test_unicode_queries(login, world, make_organization):
    arabic = make_organization(name="جمعية محمد للمساعدة")
    rocket = make_organization(name="Team 🚀🚀 Start")
    client = login(world.users["member"])
    assert hit_ids(search(client, "محمد")[1], "organizations") == {arabic.id}
    assert hit_ids(search(client, "🚀🚀")[1], "organizations") == {rocket.id}
    status, page = search(client, "ゆ 🚀 \u202eRTL")
    assert status == 200


# --- visibility --------------------------------------------------------------------------------

SECRETS = ("secret_meeting", "secret_problem", "secret_solution", "secret_action")
SECRET_OF_KIND = dict(zip(("meetings", "problems", "solutions", "actions"), SECRETS, strict=True))


@pytest.mark.parametrize(
    ("role", "sees_secrets"),
    [
        ("member", False),
        ("moderator", False),  # not in the group: a moderator reads no confidential content
        ("group_member", True),
        ("group_lead", True),
        ("admin", True),
    ],
)
def test_confidential_hits_only_for_the_group_and_admins(app, login, world, role, sees_secrets):
    _status, page = search(login(world.users[role]), "vormundschaft")
    ids = world.ids
    found = {
        "secret_meeting": ids["secret_meeting"] in hit_ids(page, "meetings"),
        "secret_problem": ids["secret_problem"] in hit_ids(page, "problems"),
        "secret_solution": ids["secret_solution"] in hit_ids(page, "solutions"),
        "secret_action": ids["secret_action"] in hit_ids(page, "actions"),
    }
    assert found == dict.fromkeys(SECRETS, sees_secrets)
    extra = 1 if sees_secrets else 0
    assert count_of(page, "meetings") == 2 + extra
    assert count_of(page, "problems") == 1 + extra
    assert count_of(page, "solutions") == 1 + extra
    assert count_of(page, "actions") == 1 + extra
    for text in ("Geheime Fallbesprechung", "einen Jugendlichen", "AG-Treffen", "AG UMA", "ag-uma"):
        assert (text in page) is sees_secrets, text
    # The open content is there for everyone logged in.
    assert ids["open_problem"] in hit_ids(page, "problems")


@pytest.mark.parametrize("kind", ["problems", "solutions", "actions", "meetings"])
def test_outsiders_do_not_find_confidential_content_page_by_page(login, world, kind):
    for role in ("member", "moderator"):
        _status, page = search(login(world.users[role]), "vormundschaft", type=kind)
        secret = world.ids[SECRET_OF_KIND[kind]]
        assert secret not in hit_ids(page, kind)
        assert hit_ids(page, kind)  # the open content is there
        assert "AG UMA" not in page


def test_a_secret_word_yields_nothing_for_outsiders(login, world):
    """Even the counts must not reveal that confidential content exists."""
    for role in ("member", "moderator"):
        _status, page = search(login(world.users[role]), "Fallbesprechung")
        assert 'id="search-summary" data-count="0"' in page
    _status, page = search(login(world.users["group_member"]), "Fallbesprechung")
    assert 'id="search-summary" data-count="1"' in page


def test_visitors_search_public_meetings_only(app, world):
    client = app.test_client()
    status, page = search(client, "vormundschaft")
    assert status == 200
    assert hit_ids(page, "meetings") == {world.ids["public_meeting"]}
    for kind in ("problems", "solutions", "actions", "projects", "organizations"):
        assert count_of(page, kind) is None
        assert f"search-hit-{kind}" not in page
    assert 'id="search-login"' in page
    # Asking for another kind shows the public meetings instead, never that kind.
    for kind in ("problems", "organizations"):
        _status, page = search(client, "vormundschaft", type=kind)
        assert hit_ids(page, "meetings") == {world.ids["public_meeting"]}
        assert count_of(page, kind) is None


def test_visitors_do_not_find_network_or_group_meetings_by_venue(app, world, make_meeting):
    make_meeting(title="Intern", venue_name="Geheimer Ort")
    public = make_meeting(title="Offen", venue_name="Geheimer Ort", visibility=Visibility.PUBLIC)
    _status, page = search(app.test_client(), "geheimer")
    assert hit_ids(page, "meetings") == {public.id}


def test_cancelled_meetings_are_found_and_marked(login, world, make_meeting):
    meeting = make_meeting(title="Abgesagtes Plenum", status=MeetingStatus.CANCELLED)
    _status, page = search(login(world.users["member"]), "plenum")
    assert meeting.id in hit_ids(page, "meetings")
    assert "Cancelled" in page


# --- the role × route matrix for /search --------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["anonymous", "member", "group_member", "group_lead", "moderator", "admin"]
)
@pytest.mark.parametrize(
    "params",
    [{}, {"q": "vormundschaft"}, {"q": "vormundschaft", "type": "actions", "page": "2"}],
    ids=["form", "query", "one kind"],
)
def test_search_answers_every_role(app, login, world, role, params):
    response = client_for(app, login, world, role).get("/search", query_string=params)
    assert response.status_code == 200
    assert 'id="search-q"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "member"])
def test_every_page_has_the_search_box(app, login, world, role):
    page = client_for(app, login, world, role).get("/").get_data(as_text=True)
    assert 'id="site-search-q"' in page
    assert 'action="/search"' in page


# --- query counts -------------------------------------------------------------------------------


def _add_many(app, world: World, numbers: range, word: str) -> None:
    open_id, secret_id = world.groups["open"].id, world.groups["confidential"].id
    with app.app_context():
        start = utcnow() + timedelta(days=3)
        for n in numbers:
            group_id = open_id if n % 2 else secret_id
            issue = GroupIssue(group_id=group_id, title=f"{word} Problem {n}")
            db.session.add(issue)
            db.session.flush()
            db.session.add_all(
                [
                    Solution(issue_id=issue.id, text=f"{word} Lösung {n}"),
                    Action(group_id=group_id, title=f"{word} Maßnahme {n}"),
                    Project(name=f"{word} Projekt {n}", slug=f"{word.lower()}-projekt-{n}"),
                    Organization(
                        name=f"{word} Verein {n}", slug=f"{word.lower()}-{n}", kind="other"
                    ),
                ]
            )
            db.session.add(
                Meeting(
                    title=f"{word} Treffen {n}",
                    starts_at=start + timedelta(hours=n),
                    ends_at=start + timedelta(hours=n + 1),
                    visibility=Visibility.PUBLIC if n % 3 else Visibility.NETWORK,
                )
            )
        db.session.commit()


@pytest.mark.parametrize("role", ["anonymous", "member", "group_member", "admin"])
def test_query_count_does_not_grow_with_the_hits(app, login, world, role):
    client = client_for(app, login, world, role)

    def counts() -> list[int]:
        return [
            len(statements_of(app, lambda p=params: client.get("/search", query_string=p)))
            for params in (
                {"q": "Suchwort"},
                {"q": "Suchwort", "type": "meetings"},
                {"q": "Suchwort", "type": "organizations", "page": "999"},  # past the end
            )
        ]

    _add_many(app, world, range(2), "Suchwort")
    few = counts()
    _add_many(app, world, range(2, 62), "Suchwort")
    many = counts()
    assert few == many


def test_one_query_per_kind(app, login, world):
    member = login(world.users["member"])
    statements = statements_of(app, lambda: search(member, "vormundschaft"))
    assert len([s for s in statements if " LIKE " in s]) == len(KINDS)
    visitor = app.test_client()
    statements = statements_of(app, lambda: search(visitor, "vormundschaft"))
    assert len([s for s in statements if " LIKE " in s]) == 1


# --- limits and pages ---------------------------------------------------------------------------


def test_overview_shows_a_few_per_kind_and_links_to_all(app, login, world, make_organization):
    for n in range(PER_PAGE + 5):
        make_organization(name=f"Tafel {n:02d}", slug=f"tafel-{n:02d}")
    client = login(world.users["member"])
    _status, page = search(client, "tafel")
    assert len(hit_ids(page, "organizations")) == OVERVIEW_LIMIT
    assert count_of(page, "organizations") == PER_PAGE + 5
    assert 'id="search-more-organizations"' in page
    assert "type=organizations" in page

    _status, first = search(client, "tafel", type="organizations")
    _status, second = search(client, "tafel", type="organizations", page="2")
    assert len(hit_ids(first, "organizations")) == PER_PAGE
    assert len(hit_ids(second, "organizations")) == 5
    assert not hit_ids(first, "organizations") & hit_ids(second, "organizations")
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert 'id="search-all-kinds"' in first
    # Past the end: the last page. Nonsense page numbers: the first.
    _status, beyond = search(client, "tafel", type="organizations", page="999999999999")
    assert hit_ids(beyond, "organizations") == hit_ids(second, "organizations")
    _status, nonsense = search(client, "tafel", type="organizations", page="abc")
    assert hit_ids(nonsense, "organizations") == hit_ids(first, "organizations")


def test_title_matches_come_first(login, world, make_organization):
    later = make_organization(name="Aaa Verein", description="Wir helfen bei der Wohnungssuche")
    first = make_organization(name="Zzz Wohnungssuche")
    _status, page = search(login(world.users["member"]), "wohnungssuche")
    assert page.index(f"search-hit-organizations-{first.id}") < page.index(
        f"search-hit-organizations-{later.id}"
    )


def test_unknown_type_shows_all_kinds(login, world):
    _status, page = search(login(world.users["member"]), "vormundschaft", type="users")
    assert count_of(page, "organizations") == 1
    assert count_of(page, "problems") == 1


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "member"])
@pytest.mark.parametrize("q", ["", "   ", "\t\n", "a", "x y z"])
def test_empty_or_too_short_queries_show_the_form_and_search_nothing(app, login, world, role, q):
    client = client_for(app, login, world, role)
    responses = []
    statements = statements_of(app, lambda: responses.append(search(client, q)))
    status, page = responses[0]
    assert status == 200
    assert not [s for s in statements if " LIKE " in s]
    assert 'id="search-q"' in page
    assert ('id="search-too-short"' in page) is bool(q.strip())
    assert "search-hit-" not in page


def test_no_q_at_all_shows_the_form(app, login, world):
    response = login(world.users["member"]).get("/search", headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="search-too-short"' not in page and 'id="search-summary"' not in page


def test_huge_query_is_cut_not_an_error(app, login, world):
    for client in (app.test_client(), login(world.users["member"])):
        status, page = search(client, "vormundschaft " + "x" * 10_000)
        assert status == 200
        value = re.search(r'id="search-q" name="q" value="([^"]*)"', page).group(1)
        assert len(value) == services.MAX_QUERY_CHARS
        status, _page = search(client, "ab " * 5_000)
        assert status == 200


def test_nul_bytes_are_refused(app, login, world):
    for client in (app.test_client(), login(world.users["member"])):
        assert client.get("/search?q=abc%00def").status_code == 400
        assert client.get("/search?q=abc&type=%00").status_code == 400


@pytest.mark.parametrize("q", ["%%__", "__", "%_%", "\\\\", "\\%", "[a-z]*", ".*"])
def test_wildcards_match_only_themselves(login, world, make_organization, q):
    make_organization(name="Perfekt 100 Prozent")  # would match "%" or "_" as wildcards
    _status, page = search(login(world.users["member"]), q)
    assert 'id="search-summary" data-count="0"' in page


def test_wildcard_characters_are_found_literally(login, world, make_organization):
    percent = make_organization(name="Hilfe zu 100% ehrenamtlich")
    underscore = make_organization(name="Projekt_Name Verein")
    backslash = make_organization(name="Pfad C:\\Daten")
    client = login(world.users["member"])
    assert hit_ids(search(client, "100%")[1], "organizations") == {percent.id}
    assert hit_ids(search(client, "t_n")[1], "organizations") == {underscore.id}
    assert hit_ids(search(client, "c:\\daten")[1], "organizations") == {backslash.id}
    assert hit_ids(search(client, "0%")[1], "organizations") == {percent.id}


@pytest.mark.parametrize(
    "q",
    [
        "' OR '1'='1",
        "'; DROP TABLE organization; --",
        '" OR 1=1 --',
        "vormundschaft') OR ('a'='a",
        "UNION SELECT password_hash FROM user_account",
        "$$ E'\\x' COLLATE \"C\"",
    ],
)
def test_sql_like_input_is_plain_text(app, login, world, q):
    status, page = search(login(world.users["member"]), q)
    assert status == 200
    assert 'id="search-summary" data-count="0"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) >= 1


def test_markup_in_content_and_query_is_escaped(login, world, make_organization):
    make_organization(name="<script>alert(1)</script> Hilfe", description="<img src=x onerror=y>")
    _status, page = search(login(world.users["member"]), "<script>alert(1)</script>")
    assert "<script>alert" not in page
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in page
    _status, page = search(login(world.users["member"]), "hilfe onerror")
    assert "<img" not in page
    assert "&lt;img src=x <mark>onerror</mark>=y&gt;" in page


def test_repeated_parameters_use_the_first(login, world):
    response = login(world.users["member"]).get(
        "/search?q=vormundschaft&q=other&type=actions&type=problems", headers=EN
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert hit_ids(page, "actions") == {world.ids["open_action"]}
    assert count_of(page, "problems") is None
