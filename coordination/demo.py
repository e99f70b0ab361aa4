"""A realistic demo network (`flask seed-demo`): Leipzig organisations and accounts.

Every capability adds its part here, so a fresh instance shows what the platform does.
"""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from coordination.attendance.models import Attendance, AttendanceStatus
from coordination.auth import services as accounts
from coordination.auth.models import Locale, Role, User
from coordination.db import utcnow
from coordination.extensions import db
from coordination.groups import services as groups
from coordination.groups.models import Confidentiality, GroupRole, JoinMode, WorkingGroup
from coordination.meetings import services as meetings
from coordination.meetings.models import (
    AgendaItem,
    AgendaOutcome,
    Frequency,
    Meeting,
    MeetingKind,
    Minutes,
    MinutesStatus,
    Visibility,
)
from coordination.meetings.services import add_months
from coordination.organizations import services as organizations
from coordination.organizations.models import Organization, OrganizationKind
from coordination.registrations import services as registrations
from coordination.registrations.models import Registration, RegistrationStatus
from coordination.timeutil import local_to_utc, local_today

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
    created_groups = _seed_groups()
    _seed_meetings(created_groups)
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


VHS = ("VHS Leipzig, Raum 214", "Löhrstraße 3-7, 04105 Leipzig")

AGENDA = [
    ("Begrüßung und Vorstellungsrunde", 15),
    ("Berichte aus den Arbeitsgruppen", 30),
    ("Wegweiser: Stand der Redaktion", 30),
    ("Verschiedenes", 15),
]


def _seed_meetings(created_groups: dict[str, WorkingGroup]) -> None:
    """The monthly Vernetzungstreffen at the VHS (past and future), and group meetings."""
    users = {user.email: user for user in db.session.scalars(sa.select(User))}
    moderator = users["moderator@example.org"]
    today = local_today()
    start = add_months(today.replace(day=1), -5)
    series = meetings.create_series(
        actor=moderator,
        title="Vernetzungstreffen Flüchtlingshilfe",
        kind=MeetingKind.NETWORK,
        frequency=Frequency.MONTHLY_WEEKDAY,
        interval=1,
        weekday=1,  # Tuesday
        week_of_month=2,
        start_date=start,
        start_time=time(17, 0),
        duration_minutes=120,
        venue_name=VHS[0],
        venue_address=VHS[1],
        description=(
            "Monatliches Treffen der Initiativen, Träger und Ehrenamtlichen in der "
            "Flüchtlingshilfe. Offen für alle, die sich in Leipzig für Geflüchtete engagieren; "
            "bitte anmelden, die Plätze im Raum sind begrenzt."
        ),
        visibility=Visibility.PUBLIC,
        capacity=40,
        allows_guests=True,
        registration_closes_hours=24,
    )
    occurrences = list(
        db.session.scalars(
            sa.select(Meeting).where(Meeting.series_id == series.id).order_by(Meeting.starts_at)
        )
    )
    now = utcnow()
    past = [meeting for meeting in occurrences if meeting.starts_at < now]
    future = [meeting for meeting in occurrences if meeting.starts_at >= now]
    members = [user for user in users.values() if user.email != "admin@example.org"]
    for number, meeting in enumerate(past):
        _agenda(meeting, with_outcomes=True)
        attendees = members[: 4 + number % 4]
        for index, user in enumerate(attendees):
            registration = Registration(
                meeting_id=meeting.id,
                user_id=user.id,
                organization_id=user.organizations[0].id if user.organizations else None,
                status=RegistrationStatus.CONFIRMED,
                confirmed_at=meeting.starts_at - timedelta(days=7),
            )
            db.session.add(registration)
            db.session.flush()
            status = (
                AttendanceStatus.EXCUSED if index == 2 and number % 2 else AttendanceStatus.PRESENT
            )
            db.session.add(
                Attendance(
                    meeting_id=meeting.id,
                    registration_id=registration.id,
                    user_id=user.id,
                    organization_id=registration.organization_id,
                    status=status,
                    checked_in_at=meeting.starts_at if status is AttendanceStatus.PRESENT else None,
                    recorded_by_id=moderator.id,
                )
            )
        db.session.add(
            Attendance(
                meeting_id=meeting.id,
                guest_name="Gast ohne Konto",
                organization_name="Nachbarschaftshilfe Plagwitz",
                status=AttendanceStatus.PRESENT,
                checked_in_at=meeting.starts_at,
                recorded_by_id=moderator.id,
            )
        )
        db.session.add(
            Minutes(
                meeting_id=meeting.id,
                body=(
                    "## Berichte aus den Arbeitsgruppen\n\n"
                    "Die AG Wohnen berichtet von zwei neuen Kontakten zu Wohnungsgenossenschaften.\n\n"
                    "## Wegweiser\n\nDie Kapitel *Ankommen* und *Schule* sind in der Abstimmung."
                ),
                status=MinutesStatus.PUBLISHED,
                author_id=moderator.id,
                published_by_id=moderator.id,
                published_at=meeting.ends_at + timedelta(days=2),
            )
        )
    if future:
        upcoming = future[0]
        _agenda(upcoming, with_outcomes=False)
        for user in members[:6]:
            registrations.register_member(
                upcoming,
                user,
                organization=user.organizations[0] if user.organizations else None,
            )
        registrations.register_guest(
            upcoming,
            name="Johanna Sommer",
            email="johanna.sommer@example.org",
            organization_name="Deutschkurs im Stadtteilladen",
            locale="de",
        )
    if len(future) > 2:
        meetings.cancel_meeting(future[2], actor=moderator)

    uma, wohnen = created_groups["ag-uma"], created_groups["ag-wohnen"]
    lead = users["member@example.org"]
    for weeks, title in (
        (-3, "AG UMA: Fallbesprechung (anonymisiert)"),
        (1, "AG UMA: Schulplätze"),
    ):
        day = today + timedelta(weeks=weeks)
        meetings.create_meeting(
            actor=lead,
            title=title,
            kind=MeetingKind.GROUP,
            group_id=uma.id,
            starts_at=local_to_utc(day, time(16, 0), strict=False),
            ends_at=local_to_utc(day, time(17, 30), strict=False),
            venue_name="Jugendhilfe Connewitz, Besprechungsraum",
            venue_address="Bornaische Straße 18, 04277 Leipzig",
            online_url="https://meet.example.org/ag-uma",
            visibility=Visibility.GROUP,
        )
    day = today + timedelta(days=10)
    meetings.create_meeting(
        actor=users["aylin@example.org"],
        title="AG Wohnen: Treffen mit Wohnungsgenossenschaften",
        kind=MeetingKind.GROUP,
        group_id=wohnen.id,
        starts_at=local_to_utc(day, time(18, 0), strict=False),
        ends_at=local_to_utc(day, time(19, 30), strict=False),
        venue_name="Stadtteilladen Lindenau",
        venue_address="Lützner Straße 30, 04177 Leipzig",
        visibility=Visibility.NETWORK,
        capacity=12,
    )
    db.session.flush()


def _agenda(meeting: Meeting, *, with_outcomes: bool) -> None:
    outcomes = [AgendaOutcome.INFORMATION, AgendaOutcome.INFORMATION, AgendaOutcome.DECISION, None]
    for position, (title, minutes) in enumerate(AGENDA):
        db.session.add(
            AgendaItem(
                meeting_id=meeting.id,
                position=position,
                title=title,
                duration_minutes=minutes,
                outcome=outcomes[position] if with_outcomes else None,
                outcome_note=(
                    "Die Redaktion legt den Entwurf bis zum nächsten Treffen vor."
                    if with_outcomes and outcomes[position] is AgendaOutcome.DECISION
                    else ""
                ),
            )
        )
