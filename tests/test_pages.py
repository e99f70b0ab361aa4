"""Pages people use: error pages in their language, labelled form fields, landmarks."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from coordination.extensions import db
from coordination.organizations.models import Organization


def test_unexpected_errors_show_a_localised_500_page_and_roll_back(app, caplog):
    def explode():
        db.session.add(Organization(name="Half", slug="half", kind="other"))
        db.session.flush()
        raise RuntimeError("boom")

    app.add_url_rule("/_explode", view_func=explode)
    client = app.test_client()
    response = client.get("/_explode")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Etwas ist schiefgelaufen" in page or "schief" in page
    assert "boom" not in page and "Traceback" not in page
    english = client.get("/_explode", headers={"Accept-Language": "en"})
    assert "Something went wrong" in english.get_data(as_text=True)
    assert "incident" in caplog.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 0


def test_forbidden_page_is_localised(users, login):
    member = login(users["member"])
    assert "Nicht erlaubt" in member.get("/admin/users/").get_data(as_text=True)
    member.post("/language", data={"language": "en"})
    assert "Not allowed" in member.get("/admin/users/").get_data(as_text=True)


class _FormAudit(HTMLParser):
    """Collects inputs without a label, and the page's landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.landmarks: set[str] = set()
        self.open_labels = 0
        self.buttons_without_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("main", "nav", "header", "footer"):
            self.landmarks.add(tag)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"] or "")
        if tag in ("input", "select", "textarea"):
            if attributes.get("type") in ("hidden", "submit", "button"):
                return
            attributes["_wrapped"] = "yes" if self.open_labels else None
            self.controls.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1


PAGES = [
    (None, "/auth/login"),
    (None, "/auth/reset"),
    ("member", "/account/"),
    ("member", "/organizations/"),
    ("moderator", "/organizations/new"),
    ("admin", "/admin/invitations/"),
    ("admin", "/admin/users/"),
]


@pytest.mark.parametrize(("role", "path"), PAGES)
def test_every_form_field_has_a_label_and_pages_have_landmarks(
    app, users, login, make_organization, role, path
):
    make_organization()
    client = app.test_client() if role is None else login(users[role])
    response = client.get(path)
    assert response.status_code == 200
    audit = _FormAudit()
    audit.feed(response.get_data(as_text=True))
    unlabelled = [
        control
        for control in audit.controls
        if not control.get("_wrapped")
        and control.get("id") not in audit.label_for
        and not control.get("aria-label")
        and not control.get("aria-labelledby")
    ]
    assert unlabelled == []
    assert {"header", "main", "footer"} <= audit.landmarks


def test_field_errors_are_linked_to_their_field(client, users):
    page = client.post("/auth/login", data={"email": "not an email", "password": ""}).get_data(
        as_text=True
    )
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="email-error"' in page
    assert 'id="email-error"' in page


def test_anonymised_writing_reminder_macro_renders(app):
    """The reminder shown on forms about people (used by working groups and minutes)."""
    with app.test_request_context():
        template = app.jinja_env.from_string(
            '{% from "macros/forms.html" import anonymised_reminder %}{{ anonymised_reminder() }}'
        )
        html = template.render()
    assert "Anonymisiert schreiben." in html
    assert "Geburtsdaten" in html


def test_visitors_start_page_lists_upcoming_public_meetings_only(client, users, make_meeting):
    from coordination.meetings.models import Visibility

    make_meeting(title="Offenes Vernetzungstreffen", visibility=Visibility.PUBLIC)
    make_meeting(title="Internes Netzwerktreffen", visibility=Visibility.NETWORK)
    page = client.get("/").get_data(as_text=True)
    assert "Offenes Vernetzungstreffen" in page
    assert "Internes Netzwerktreffen" not in page


def test_members_dashboard_lists_their_next_meetings(users, login, make_meeting, make_group):
    from coordination.groups.models import Confidentiality
    from coordination.meetings.models import Visibility

    secret = make_group(confidentiality=Confidentiality.CONFIDENTIAL)
    make_meeting(title="Netzwerktreffen Dezember", visibility=Visibility.NETWORK)
    make_meeting(title="Vertrauliches AG-Treffen", group_id=secret.id, visibility=Visibility.GROUP)
    page = login(users["member"]).get("/").get_data(as_text=True)
    assert "Netzwerktreffen Dezember" in page
    assert "Vertrauliches AG-Treffen" not in page
