"""The organisation directory: filters, details, create and edit, sanitised descriptions."""

from __future__ import annotations

import sqlalchemy as sa

from coordination.audit.models import AuditEvent
from coordination.extensions import db
from coordination.organizations.models import Organization, OrganizationKind


def _form(**overrides):
    data = {
        "name": "Flüchtlingsrat Leipzig e.V.",
        "kind": "association",
        "district": "Ost",
        "website": "https://example.org",
        "contact_email": "Kontakt@Example.org",
        "contact_phone": "+49 341 123456",
        "description": "Beratung **Asylverfahren**",
    }
    data.update(overrides)
    return data


def test_directory_lists_and_filters(users, login, make_organization):
    make_organization(name="Caritas Süd", kind=OrganizationKind.WELFARE, district="Süd")
    make_organization(
        name="Willkommen in Grünau", kind=OrganizationKind.INITIATIVE, district="West"
    )
    member = login(users["member"])
    page = member.get("/organizations/").get_data(as_text=True)
    assert "Caritas Süd" in page and "Willkommen in Grünau" in page
    page = member.get("/organizations/?kind=welfare").get_data(as_text=True)
    assert "Caritas Süd" in page and "Willkommen in Grünau" not in page
    page = member.get("/organizations/?district=West").get_data(as_text=True)
    assert "Caritas Süd" not in page and "Willkommen in Grünau" in page


def test_unknown_filter_values_are_ignored(users, login, make_organization):
    make_organization(name="Caritas Süd")
    member = login(users["member"])
    for query in (
        "kind=nonsense",
        "district=' OR 1=1 --",
        "page=abc",
        "page=-5",
        "page=99999999999",
    ):
        response = member.get(f"/organizations/?{query}")
        assert response.status_code == 200, query


def test_detail_shows_details_and_members(app, users, login, make_organization, make_user):
    organization = make_organization(name="Refugee Law Clinic", contact_phone="0341 1")
    make_user(name="Paul Neumann", organizations=[organization.id])
    page = login(users["member"]).get(f"/organizations/{organization.slug}").get_data(as_text=True)
    assert "Refugee Law Clinic" in page
    assert "Paul Neumann" in page


def test_unknown_slug_is_404(users, login):
    assert login(users["member"]).get("/organizations/nope").status_code == 404


def test_moderator_creates_an_organisation_with_a_slug(app, users, login):
    response = login(users["moderator"]).post("/organizations/new", data=_form())
    assert response.status_code == 303
    assert response.headers["Location"] == "/organizations/fluechtlingsrat-leipzig-e-v"
    with app.app_context():
        organization = db.session.scalar(sa.select(Organization))
        assert organization.contact_email == "kontakt@example.org"
        assert organization.kind is OrganizationKind.ASSOCIATION
        assert organization.last_confirmed_at is not None
        assert db.session.scalar(sa.select(AuditEvent.action)) == "organization.created"


def test_duplicate_names_are_refused_beside_the_field(app, users, login, make_organization):
    make_organization(name="Caritas Süd")
    response = login(users["moderator"]).post("/organizations/new", data=_form(name="caritas süd"))
    assert response.status_code == 200
    assert 'id="name-error"' in response.get_data(as_text=True)


def test_slugs_stay_unique_and_stable(app, users, login, make_organization):
    make_organization(name="Other", slug="cafe-international")
    moderator = login(users["moderator"])
    response = moderator.post("/organizations/new", data=_form(name="Café International"))
    assert response.headers["Location"] == "/organizations/cafe-international-2"
    moderator.post("/organizations/cafe-international-2/edit", data=_form(name="Café Global"))
    with app.app_context():
        organization = db.session.scalar(
            sa.select(Organization).where(Organization.slug == "cafe-international-2")
        )
        assert organization.name == "Café Global"


def test_description_markdown_is_sanitised(users, login, make_organization):
    organization = make_organization(
        description=(
            "Hello <script>alert(1)</script> [click](javascript:alert(2)) "
            "<img src=x onerror=alert(3)> **bold**"
        )
    )
    page = login(users["member"]).get(f"/organizations/{organization.slug}").get_data(as_text=True)
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert 'href="javascript' not in page
    assert "<img" not in page


def test_members_cannot_create_or_edit(users, login, make_organization):
    organization = make_organization()
    member = login(users["member"])
    assert member.get("/organizations/new").status_code == 403
    assert member.post("/organizations/new", data=_form()).status_code == 403
    assert member.post(f"/organizations/{organization.slug}/edit", data=_form()).status_code == 403
    assert member.post(f"/organizations/{organization.slug}/confirm").status_code == 403


def test_confirm_marks_the_entry_as_checked(app, users, login, make_organization):
    organization = make_organization()
    response = login(users["moderator"]).post(f"/organizations/{organization.slug}/confirm")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Organization, organization.id).last_confirmed_at is not None


def test_website_must_be_http(users, login):
    response = login(users["moderator"]).post(
        "/organizations/new", data=_form(website="javascript:alert(1)")
    )
    assert response.status_code == 200
    assert 'id="website-error"' in response.get_data(as_text=True)


def test_list_page_uses_a_constant_number_of_queries(
    app, users, login, make_organization, make_user
):
    member = login(users["member"])

    def count_queries() -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engines[None]
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert member.get("/organizations/").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    organization = make_organization()
    make_user(organizations=[organization.id])
    few = count_queries()
    for _ in range(25):
        org = make_organization()
        make_user(organizations=[org.id])
    many = count_queries()
    assert few == many
