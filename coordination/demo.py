"""A realistic demo network (`flask seed-demo`): Leipzig organisations and accounts.

Every capability adds its part here, so a fresh instance shows what the platform does.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from coordination.auth import services as accounts
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import Confidentiality, GroupRole, JoinMode, WorkingGroup
from coordination.organizations import services as organizations
from coordination.organizations.models import Organization, OrganizationKind

ORGANIZATIONS = [
    # name, kind, district, website, description
    ("Volkshochschule Leipzig", OrganizationKind.EDUCATION, "Mitte",
     "https://www.vhs-leipzig.de",
     "Gastgeberin der Vernetzungstreffen in der Löhrstraße 3-7. Integrations- und "
     "Sprachkurse, Beratung zu Kursangeboten."),
    ("Flüchtlingsrat Leipzig e.V.", OrganizationKind.ASSOCIATION, "Ost", "",
     "Beratung zu Asylverfahren, Öffentlichkeitsarbeit, Vernetzung der Initiativen."),
    ("Caritasverband Leipzig e.V.", OrganizationKind.WELFARE, "Süd", "",
     "Migrationsberatung für Erwachsene, Jugendmigrationsdienst."),
    ("Diakonie Leipzig", OrganizationKind.WELFARE, "Mitte", "",
     "Flüchtlingssozialarbeit in Gemeinschaftsunterkünften, psychosoziale Beratung."),
    ("DRK Kreisverband Leipzig-Stadt e.V.", OrganizationKind.WELFARE, "Nordost", "",
     "Betrieb von Unterkünften, Suchdienst, Erste-Hilfe-Kurse auf Arabisch und Farsi."),
    ("Willkommen in Grünau", OrganizationKind.INITIATIVE, "West", "",
     "Nachbarschaftsinitiative: Patenschaften, Hausaufgabenhilfe, Begegnungscafé."),
    ("Refugee Law Clinic Leipzig", OrganizationKind.INITIATIVE, "Mitte", "",
     "Studentische Rechtsberatung für Geflüchtete, ehrenamtlich und kostenlos."),
    ("Stadt Leipzig – Sozialamt, Abteilung Migration", OrganizationKind.AUTHORITY, "Mitte", "",
     "Unterbringung und Leistungen nach dem Asylbewerberleistungsgesetz."),
    ("Leipziger Netzwerk Syrischer Familien", OrganizationKind.SELF_ORGANIZATION, "Ost", "",
     "Selbstorganisation: Dolmetschen, Begleitung zu Ämtern, Elterntreffen."),
    ("Kontaktstelle Wohnen", OrganizationKind.ASSOCIATION, "Süd", "",
     "Vermittlung von Wohnungen an Geflüchtete, Begleitung bei Besichtigungen."),
    ("Jugendhilfe Connewitz e.V.", OrganizationKind.ASSOCIATION, "Süd", "",
     "Wohngruppen und ambulante Hilfen für unbegleitete minderjährige Geflüchtete."),
]  # fmt: skip

ACCOUNTS = [
    # email, name, role, locale, organisation names
    ("admin@example.org", "Jonas Richter", Role.ADMIN, Locale.DE, ["Volkshochschule Leipzig"]),
    ("moderator@example.org", "Angelika Kell", Role.MODERATOR, Locale.DE,
     ["Volkshochschule Leipzig"]),
    ("member@example.org", "Mira Hoffmann", Role.MEMBER, Locale.DE,
     ["Jugendhilfe Connewitz e.V."]),
    ("samir@example.org", "Samir Haddad", Role.MEMBER, Locale.EN,
     ["Leipziger Netzwerk Syrischer Familien"]),
    ("lena@example.org", "Lena Wagner", Role.MEMBER, Locale.DE, ["Flüchtlingsrat Leipzig e.V."]),
    ("thomas@example.org", "Thomas Berger", Role.MEMBER, Locale.DE,
     ["Caritasverband Leipzig e.V."]),
    ("aylin@example.org", "Aylin Demir", Role.MEMBER, Locale.DE, ["Willkommen in Grünau"]),
    ("paul@example.org", "Paul Neumann", Role.MEMBER, Locale.DE, ["Refugee Law Clinic Leipzig"]),
    ("katrin@example.org", "Katrin Vogel", Role.MEMBER, Locale.DE,
     ["Stadt Leipzig – Sozialamt, Abteilung Migration"]),
]  # fmt: skip


GROUPS = [
    # name, slug, confidentiality, join mode, description, {email: role}
    (
        "AG UMA",
        "ag-uma",
        Confidentiality.CONFIDENTIAL,
        JoinMode.REQUEST,
        "Arbeitsgruppe zur Unterstützung unbegleiteter minderjähriger Geflüchteter (UMA): "
        "Probleme sammeln, Lösungen suchen und erproben. Vertraulich: Fälle nur anonymisiert.",
        {"member@example.org": GroupRole.LEAD, "lena@example.org": GroupRole.MEMBER,
         "paul@example.org": GroupRole.MEMBER, "katrin@example.org": GroupRole.MEMBER},
    ),
    (
        "AG Wohnen",
        "ag-wohnen",
        Confidentiality.OPEN,
        JoinMode.OPEN,
        "Wohnungssuche, Auszug aus Gemeinschaftsunterkünften, Kontakte zu Vermieter/innen.",
        {"aylin@example.org": GroupRole.LEAD, "thomas@example.org": GroupRole.MEMBER,
         "samir@example.org": GroupRole.MEMBER},
    ),
    (
        "AG Wegweiser",
        "ag-wegweiser",
        Confidentiality.OPEN,
        JoinMode.OPEN,
        "Redaktion des Wegweisers für Haupt- und Ehrenamtliche in der Flüchtlingshilfe.",
        {"lena@example.org": GroupRole.LEAD, "samir@example.org": GroupRole.MEMBER,
         "moderator@example.org": GroupRole.MEMBER},
    ),
]  # fmt: skip


def erase_all() -> None:
    """Delete every row of every table (children first)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.flush()


def seed(password: str) -> list[tuple[str, str, str]]:
    """Create the demo network; returns (email, role, name) for every account made."""
    now = utcnow()
    by_name: dict[str, Organization] = {}
    for index, (name, kind, district, website, description) in enumerate(ORGANIZATIONS):
        organization = organizations.create_organization(
            name=name,
            actor=None,
            kind=kind,
            district=district,
            website=website,
            contact_email="",
            contact_phone="",
            description=description,
        )
        # Some entries have not been checked for a while, as in any real directory.
        organization.last_confirmed_at = now - timedelta(days=30 * (index % 8))
        by_name[name] = organization

    made = []
    for email, name, role, locale, org_names in ACCOUNTS:
        accounts.create_user(
            email=email,
            name=name,
            password=password,
            role=role,
            locale=locale,
            organizations=[by_name[org] for org in org_names],
        )
        made.append((email, role.value, name))
    db.session.flush()
    _seed_groups()
    return made


def _seed_groups() -> dict[str, WorkingGroup]:
    users = {user.email: user for user in db.session.scalars(sa.select(User))}
    created = {}
    for name, slug, confidentiality, join_mode, description, members in GROUPS:
        group = WorkingGroup(
            name=name,
            slug=slug,
            confidentiality=confidentiality,
            join_mode=join_mode,
            description=description,
        )
        db.session.add(group)
        db.session.flush()
        for email, role in members.items():
            groups.add_member(group, users[email], role)
        created[slug] = group
    return created
