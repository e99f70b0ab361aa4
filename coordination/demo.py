"""A realistic demo network (`flask seed-demo`): Leipzig organisations and accounts.

Every capability adds its part here, so a fresh instance shows what the platform does.
"""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from coordination.actions.models import Action, ActionStatus
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
from coordination.notifications import invitations, preferences
from coordination.organizations import services as organizations
from coordination.organizations.models import Organization, OrganizationKind
from coordination.problems.models import (
    Endorsement,
    GroupIssue,
    IssueEvent,
    IssueEventKind,
    Priority,
    ProblemStatus,
    Solution,
    SolutionStatus,
)
from coordination.projects.models import (
    Milestone,
    PartnerRole,
    Project,
    ProjectEvent,
    ProjectEventKind,
    ProjectPartner,
    ProjectStatus,
    project_group,
    project_meeting,
)
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
    _seed_group_work(created_groups)
    _seed_projects(created_groups)
    _seed_notification_settings()
    return made


def _seed_notification_settings() -> None:
    """The member reads the weekly digest and wants reminders two days ahead; everybody has
    heard of the demo's past changes (no update mails for history on the first run)."""
    member = db.session.scalar(sa.select(User).where(User.email == "member@example.org"))
    if member is not None:
        preferences.save_preferences(member, digest=True, reminder_lead_hours=48)
    db.session.execute(
        sa.update(Registration)
        .values(
            notified_sequence=sa.select(Meeting.sequence)
            .where(Meeting.id == Registration.meeting_id)
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


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
    # The moderator invites the whole network to every date; `flask notifications run` mails
    # the invitations for the dates of the next weeks.
    invitations.add_audience(actor=moderator, series=series, all_members=True)
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


# (title, description, priority, status, solutions, actions)
# solutions: (text, status, outcome note, endorsers); actions: (title, owner, due in days, status)
PROBLEMS = {
    "ag-uma": [
        (
            "Lange Wartezeiten bis zur Bestellung eines Vormunds",
            "Zwischen Ankunft und Bestellung eines Vormunds vergehen bei mehreren Jugendlichen "
            "drei bis fünf Monate. In dieser Zeit können Anträge (Schule, Konto, Gesundheit) nur "
            "verzögert gestellt werden.",
            Priority.HIGH,
            ProblemStatus.IN_PROGRESS,
            [
                ("Übergangsweise Vereinsvormundschaften bei einem freien Träger beantragen.",
                 SolutionStatus.TRIAL, "Erprobung mit zwei Fällen seit September.",
                 ["lena@example.org", "paul@example.org"]),
                ("Ehrenamtliche Pat/innen für die Wartezeit vermitteln.",
                 SolutionStatus.PROPOSED, "", ["katrin@example.org"]),
                ("Beschwerde beim Familiengericht über jede einzelne Verzögerung.",
                 SolutionStatus.REJECTED, "Zu aufwendig; besser gebündelt über das Jugendamt.", []),
            ],
            [
                ("Gespräch mit dem Jugendamt (Fachdienst UMA) zu Bearbeitungszeiten",
                 "member@example.org", -12, ActionStatus.OPEN),
                ("Liste der Vereine mit Vormundschaften zusammenstellen",
                 "lena@example.org", -20, ActionStatus.DONE),
            ],
        ),
        (
            "Fehlende Schulplätze für neu angekommene 16- bis 17-Jährige",
            "Neu angekommene Jugendliche über 16 warten teils mehrere Monate auf einen Platz in "
            "einer Vorbereitungsklasse. Betrifft derzeit geschätzt 15 Jugendliche.",
            Priority.URGENT,
            ProblemStatus.OPEN,
            [
                ("Berufsvorbereitende Klassen mit Deutsch als Zweitsprache (DaZ) ausweiten.",
                 SolutionStatus.ADOPTED, "Beschlossen beim Vernetzungstreffen; Umsetzung läuft.",
                 ["member@example.org", "paul@example.org", "katrin@example.org"]),
                ("Übergangs-Sprachkurse an der VHS bis zum Schulplatz anbieten.",
                 SolutionStatus.PROPOSED, "", ["lena@example.org"]),
            ],
            [
                ("Termin beim Landesamt für Schule und Bildung vereinbaren",
                 "paul@example.org", -5, ActionStatus.OPEN),
                ("Übersicht freier DaZ-Plätze erstellen", "katrin@example.org", 14,
                 ActionStatus.OPEN),
            ],
        ),
        (
            "Abbruch der Jugendhilfe mit Eintritt der Volljährigkeit",
            "Mit 18 endet für einige Jugendliche die Unterstützung abrupt; eine Anschlusshilfe "
            "wird oft zu spät beantragt.",
            Priority.NORMAL,
            ProblemStatus.OPEN,
            [],
            [],
        ),
        (
            "Dolmetschkosten bei Arztbesuchen",
            "Unklar war, wer die Kosten für Sprachmittlung bei Arztbesuchen übernimmt.",
            Priority.LOW,
            ProblemStatus.RESOLVED,
            [
                ("Kostenübernahme über das Jugendamt im Hilfeplan festhalten.",
                 SolutionStatus.ADOPTED, "Funktioniert; im Hilfeplan-Formular ergänzt.",
                 ["member@example.org"]),
            ],
            [("Musterformulierung an alle Träger schicken", "member@example.org", -40,
              ActionStatus.DONE)],
        ),
    ],
    "ag-wohnen": [
        (
            "Besichtigungen scheitern an fehlender Bonitätsauskunft",
            "Vermieter verlangen eine SCHUFA-Auskunft, die Geflüchtete ohne Konto-Historie nicht "
            "vorlegen können.",
            Priority.HIGH,
            ProblemStatus.OPEN,
            [
                ("Mietschuldenfreiheitsbescheinigung der Unterkunft als Ersatz anbieten.",
                 SolutionStatus.TRIAL, "", ["thomas@example.org", "samir@example.org"]),
            ],
            [("Musterschreiben für Vermieter entwerfen", "aylin@example.org", 7,
              ActionStatus.OPEN)],
        ),
    ],
}  # fmt: skip


def _seed_group_work(created_groups: dict[str, WorkingGroup]) -> None:
    """Problems with solutions in every state, endorsements, actions (some overdue), timelines."""
    users = {user.email: user for user in db.session.scalars(sa.select(User))}
    today = local_today()
    for slug, problems in PROBLEMS.items():
        group = created_groups[slug]
        lead = next(m.user for m in group.memberships if m.role is GroupRole.LEAD)
        for age, (title, description, priority, status, solutions, actions) in enumerate(problems):
            created = utcnow() - timedelta(days=60 - 10 * age)
            issue = GroupIssue(
                group_id=group.id, title=title, description=description, priority=priority,
                status=status, reporter_id=lead.id, created_at=created, updated_at=created,
            )  # fmt: skip
            db.session.add(issue)
            db.session.flush()
            events = [IssueEvent(issue_id=issue.id, kind=IssueEventKind.CREATED, actor_id=lead.id,
                                 created_at=created)]  # fmt: skip
            if status is not ProblemStatus.OPEN:
                events.append(IssueEvent(issue_id=issue.id, kind=IssueEventKind.STATUS_CHANGED,
                                         actor_id=lead.id, detail=status.value,
                                         created_at=created + timedelta(days=20)))  # fmt: skip
            for number, (text, solution_status, note, endorsers) in enumerate(solutions):
                when = created + timedelta(days=3 + number)
                solution = Solution(
                    issue_id=issue.id, text=text, status=solution_status, outcome_note=note,
                    proposer_id=users[endorsers[0]].id if endorsers else lead.id,
                    created_at=when, updated_at=when,
                )  # fmt: skip
                db.session.add(solution)
                db.session.flush()
                events.append(IssueEvent(issue_id=issue.id, kind=IssueEventKind.SOLUTION_PROPOSED,
                                         actor_id=solution.proposer_id, solution_id=solution.id,
                                         created_at=when))  # fmt: skip
                for email in endorsers:
                    db.session.add(Endorsement(solution_id=solution.id, user_id=users[email].id,
                                               created_at=when + timedelta(days=1)))  # fmt: skip
                    events.append(IssueEvent(issue_id=issue.id, kind=IssueEventKind.ENDORSED,
                                             actor_id=users[email].id, solution_id=solution.id,
                                             created_at=when + timedelta(days=1)))  # fmt: skip
                if solution_status is not SolutionStatus.PROPOSED:
                    events.append(IssueEvent(issue_id=issue.id,
                                             kind=IssueEventKind.SOLUTION_STATUS_CHANGED,
                                             actor_id=lead.id, solution_id=solution.id,
                                             detail=solution_status.value,
                                             created_at=when + timedelta(days=5)))  # fmt: skip
            for action_title, owner, due_in_days, action_status in actions:
                action = Action(
                    group_id=group.id, title=action_title, owner_id=users[owner].id,
                    due_date=today + timedelta(days=due_in_days), status=action_status,
                    issue_id=issue.id, created_by_id=lead.id,
                    completed_at=utcnow() if action_status is ActionStatus.DONE else None,
                )  # fmt: skip
                db.session.add(action)
                db.session.flush()
                events.append(IssueEvent(issue_id=issue.id, kind=IssueEventKind.ACTION_CREATED,
                                         actor_id=lead.id, action_id=action.id,
                                         created_at=created + timedelta(days=8)))  # fmt: skip
                if action_status is ActionStatus.DONE:
                    events.append(IssueEvent(issue_id=issue.id, kind=IssueEventKind.ACTION_DONE,
                                             actor_id=users[owner].id, action_id=action.id))  # fmt: skip
            db.session.add_all(events)
    # The past AG UMA meeting discussed the guardianship problem.
    uma = created_groups["ag-uma"]
    past_meeting = db.session.scalar(
        sa.select(Meeting)
        .where(Meeting.group_id == uma.id, Meeting.starts_at < utcnow())
        .order_by(Meeting.starts_at.desc())
    )
    guardianship = db.session.scalar(
        sa.select(GroupIssue).where(GroupIssue.group_id == uma.id).order_by(GroupIssue.id)
    )
    if past_meeting is not None and guardianship is not None:
        db.session.add(AgendaItem(meeting_id=past_meeting.id, position=0, title=guardianship.title,
                                  duration_minutes=45, problem_id=guardianship.id,
                                  outcome=AgendaOutcome.ACTION,
                                  outcome_note="Gespräch mit dem Jugendamt vereinbaren."))  # fmt: skip
        db.session.add(IssueEvent(issue_id=guardianship.id, kind=IssueEventKind.ON_AGENDA,
                                  actor_id=users["member@example.org"].id,
                                  meeting_id=past_meeting.id,
                                  created_at=past_meeting.starts_at))  # fmt: skip
    db.session.flush()


# --- shared projects --------------------------------------------------------------------------

WEGWEISER_DESCRIPTION = (
    "Ein gemeinsamer Wegweiser mit allen Informationen, die haupt- und ehrenamtliche "
    "Helfer/innen in Leipzig brauchen: Ankommen, Beratungsstellen, Schule, Wohnen, Arbeit, "
    "Gesundheit.\n\n"
    "**So arbeiten wir:** Jedes Kapitel hat eine verantwortliche Organisation. Die AG Wegweiser "
    "stimmt die Entwürfe ab, beim Vernetzungstreffen berichten wir über den Stand.\n\n"
    "- Druckfassung (DIN A5) und Online-Version\n"
    "- Übersetzungen ins Arabische, Farsi und Ukrainische\n"
)

# name, slug, summary, description, creator, lead contact, status trail (status, days ago),
# partners (organisation, role), milestones (title, due in days, done days ago, done by)
PROJECTS = [
    (
        "Wegweiser",
        "wegweiser",
        "Ein Handbuch für Haupt- und Ehrenamtliche in der Leipziger Flüchtlingshilfe.",
        WEGWEISER_DESCRIPTION,
        "moderator@example.org",
        "lena@example.org",
        [(ProjectStatus.IDEA, 150), (ProjectStatus.PLANNING, 120), (ProjectStatus.ACTIVE, 90)],
        [("Flüchtlingsrat Leipzig e.V.", PartnerRole.LEAD),
         ("Volkshochschule Leipzig", PartnerRole.PARTNER),
         ("Caritasverband Leipzig e.V.", PartnerRole.PARTNER),
         ("Leipziger Netzwerk Syrischer Familien", PartnerRole.PARTNER),
         ("Refugee Law Clinic Leipzig", PartnerRole.PARTNER)],
        [("Gliederung und Kapitelverantwortliche festlegen", -100, 105, "lena@example.org"),
         ("Kapitel „Ankommen“ und „Schule“ abgestimmt", -30, 35, "samir@example.org"),
         ("Kapitel „Wohnen“ und „Arbeit“: Entwurf", -10, None, None),
         ("Übersetzungen ins Arabische, Farsi und Ukrainische", 45, None, None),
         ("Druckfassung und Online-Version veröffentlichen", 120, None, None)],
    ),
    (
        "Brückenkurse Deutsch für neu angekommene Jugendliche",
        "brueckenkurse-deutsch",
        "Deutschkurse an der VHS für Jugendliche, die noch auf einen Schulplatz warten.",
        "Jugendliche, die neu in Leipzig ankommen, warten oft Monate auf einen Platz in einer "
        "Vorbereitungsklasse. Brückenkurse an der VHS sollen die Zeit bis dahin überbrücken.\n\n"
        "Gesucht: Räume am Vormittag, Lehrkräfte für Deutsch als Zweitsprache, Fahrkarten.",
        "member@example.org",  # the AG UMA's lead started it from the group's solution
        "member@example.org",
        [(ProjectStatus.IDEA, 20), (ProjectStatus.PLANNING, 14)],
        [("Jugendhilfe Connewitz e.V.", PartnerRole.LEAD),
         ("Volkshochschule Leipzig", PartnerRole.PARTNER),
         ("Stadt Leipzig – Sozialamt, Abteilung Migration", PartnerRole.PARTNER)],
        [("Bedarf bei den Trägern der Jugendhilfe abfragen", -7, 8, "member@example.org"),
         ("Kursräume und Lehrkräfte an der VHS klären", 21, None, None)],
    ),
    (
        "Sprachcafé-Netzwerk",
        "sprachcafe-netzwerk",
        "Die Sprachcafés der Stadtteile tauschen Material und Ehrenamtliche aus.",
        "Eine Idee aus dem Vernetzungstreffen: ein gemeinsamer Kalender der Sprachcafés und ein "
        "Materialpool.",
        "moderator@example.org",
        "aylin@example.org",
        [(ProjectStatus.IDEA, 5)],
        [("Willkommen in Grünau", PartnerRole.LEAD), ("Diakonie Leipzig", PartnerRole.PARTNER)],
        [("Erstes Treffen der Sprachcafés", None, None, None)],
    ),
]  # fmt: skip


def _seed_projects(created_groups: dict[str, WorkingGroup]) -> None:
    """The Wegweiser and two more projects, with partners, milestones and status trails.

    The Brückenkurse come from an adopted solution of the confidential AG UMA; their text is
    general, and only the group's members see where they came from.
    """
    users = {user.email: user for user in db.session.scalars(sa.select(User))}
    organizations = {org.name: org for org in db.session.scalars(sa.select(Organization))}
    today = local_today()
    now = utcnow()
    made: dict[str, Project] = {}
    for name, slug, summary, description, by, contact, statuses, partners, milestones in PROJECTS:
        creator = users[by]
        created = now - timedelta(days=statuses[0][1])
        project = Project(
            name=name, slug=slug, summary=summary, description=description,
            status=statuses[-1][0], status_changed_at=now - timedelta(days=statuses[-1][1]),
            lead_contact_id=users[contact].id, created_by_id=creator.id,
            created_at=created, updated_at=now - timedelta(days=1),
        )  # fmt: skip
        db.session.add(project)
        db.session.flush()
        events = [ProjectEvent(project_id=project.id, kind=ProjectEventKind.CREATED,
                               actor_id=creator.id, detail=statuses[0][0].value,
                               created_at=created)]  # fmt: skip
        for status, days_ago in statuses[1:]:
            events.append(ProjectEvent(project_id=project.id, kind=ProjectEventKind.STATUS,
                                       actor_id=users[contact].id, detail=status.value,
                                       created_at=now - timedelta(days=days_ago)))  # fmt: skip
        for org_name, role in partners:
            organization = organizations[org_name]
            db.session.add(ProjectPartner(project_id=project.id, organization_id=organization.id,
                                          role=role, since=created))  # fmt: skip
            events.append(ProjectEvent(project_id=project.id, kind=ProjectEventKind.PARTNER_ADDED,
                                       actor_id=creator.id,
                                       detail=f"{organization.id}:{role.value}",
                                       created_at=created))  # fmt: skip
        for title, due_in, done_ago, done_by in milestones:
            milestone = Milestone(
                project_id=project.id, title=title,
                due_date=today + timedelta(days=due_in) if due_in is not None else None,
                done_at=now - timedelta(days=done_ago) if done_ago is not None else None,
                done_by_id=users[done_by].id if done_by else None,
                created_at=created, updated_at=created,
            )  # fmt: skip
            db.session.add(milestone)
            db.session.flush()
            events.append(ProjectEvent(project_id=project.id,
                                       kind=ProjectEventKind.MILESTONE_ADDED,
                                       actor_id=users[contact].id, detail=str(milestone.id),
                                       created_at=created))  # fmt: skip
            if milestone.done_at is not None:
                events.append(ProjectEvent(project_id=project.id,
                                           kind=ProjectEventKind.MILESTONE_DONE,
                                           actor_id=milestone.done_by_id, detail=str(milestone.id),
                                           created_at=milestone.done_at))  # fmt: skip
        db.session.add_all(events)
        made[slug] = project

    wegweiser = made["wegweiser"]
    db.session.execute(
        sa.insert(project_group).values(project_id=wegweiser.id,
                                        group_id=created_groups["ag-wegweiser"].id)
    )  # fmt: skip
    network = list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.kind == MeetingKind.NETWORK, Meeting.series_id.is_not(None))
            .order_by(Meeting.starts_at)
        )
    )
    past = [meeting for meeting in network if meeting.starts_at < now]
    upcoming = [m for m in network if m.starts_at >= now and not m.is_cancelled]
    for meeting in past[-2:] + upcoming[:1]:
        db.session.execute(
            sa.insert(project_meeting).values(project_id=wegweiser.id, meeting_id=meeting.id)
        )
    # Every network meeting reports on the Wegweiser under its own agenda item.
    db.session.execute(
        sa.update(AgendaItem)
        .where(AgendaItem.title == "Wegweiser: Stand der Redaktion")
        .values(project_id=wegweiser.id)
    )

    # The Brückenkurse come from the adopted solution on school places in the AG UMA.
    uma = created_groups["ag-uma"]
    solution = db.session.scalar(
        sa.select(Solution)
        .join(GroupIssue, GroupIssue.id == Solution.issue_id)
        .where(GroupIssue.group_id == uma.id, Solution.status == SolutionStatus.ADOPTED,
               GroupIssue.title.like("Fehlende Schulplätze%"))
    )  # fmt: skip
    courses = made["brueckenkurse-deutsch"]
    if solution is not None:
        courses.origin_group_id = uma.id
        courses.origin_issue_id = solution.issue_id
        courses.origin_solution_id = solution.id
        db.session.execute(sa.insert(project_group).values(project_id=courses.id, group_id=uma.id))
    db.session.flush()
