"""Benchmark of the calendar feeds (issue #5, point 7).

Seeds a temporary SQLite database with 5,000 meetings, serves the real app with gunicorn
(2 sync workers) on 127.0.0.1 and drives it with wrk, then times the feed build in-process.
HTTP figures are ratios to ``/healthz`` of the same app in the same run, because absolute
requests per second move with the machine (``../shared/research/performance.md``). The
endpoints are measured in interleaved rounds that start and end with ``/healthz``; each feed
measurement is compared with the mean of the ``/healthz`` measurements around its round.

Run it from the repository root with the project's virtualenv::

    bench/run.sh                  # or: .venv/bin/python bench/feeds.py
    bench/run.sh --summarize bench/results/feeds-*.json     # medians over several runs

Exit status: 0 all targets met, 1 a target missed (printed), 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LUA = BENCH / "report.lua"

MEETINGS = 5000
#: Goals from the issue, as ratios to the bare endpoint and milliseconds.
TARGET_304 = 0.5
TARGET_CACHED = 0.4
TARGET_COLD_MS = 20.0
#: The public feed should hold about this many events (the issue's "200-event feed").
PUBLIC_EVENTS = (150, 250)


# --- the environment -------------------------------------------------------------------------


def check_tools() -> list[str]:
    """What is missing to run the benchmark, each with how to install it."""
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu).")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        missing.append(
            "gunicorn is not installed in this virtualenv: `.venv/bin/pip install gunicorn` "
            "(or `.venv/bin/pip install -e '.[production]'`)."
        )
    try:
        import coordination  # noqa: F401
    except ImportError:
        missing.append(
            "the app is not importable: run this with the project's virtualenv "
            "(`bench/run.sh` or `.venv/bin/python bench/feeds.py`)."
        )
    return missing


def app_environment(workdir: Path) -> dict[str, str]:
    """Production settings for a throw-away database (config.py: SECRET_KEY, BASE_URL)."""
    return {
        "KNOTENPUNKT_ENV": "production",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": "https://knotenpunkt.example",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
        # Outgoing mail is never triggered here; keep it away from any real server anyway.
        "MAIL_SERVER": "",
    }


def migrate(env: dict[str, str]) -> None:
    """``flask db upgrade`` on the temporary database, as a deploy does."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env, "KNOTENPUNKT_ENV": "development"},
        check=True,
        capture_output=True,
        timeout=120,
    )


# --- seeding ---------------------------------------------------------------------------------

OPEN_GROUPS = [
    "AG Unbegleitete Minderjährige",
    "AG Wohnen",
    "AG Arbeit und Ausbildung",
    "AG Sprachkurse",
    "AG Gesundheit",
    "AG Rechtsberatung",
    "AG Patenschaften",
    "AG Öffentlichkeitsarbeit",
    "AG Frauen und Familien",
]
CONFIDENTIAL_GROUPS = ["Koordinierungskreis", "AG Abschiebungsbeobachtung", "AG Härtefälle"]
NETWORK_TITLES = [
    "Vernetzungstreffen",
    "Plenum des Netzwerks",
    "Infoabend: Asylverfahrensberatung",
    "Workshop: Umgang mit Behörden",
    "Sprachcafé",
    "Fortbildung: Traumasensible Begleitung",
    "Neue Ehrenamtliche: Einführungsabend",
    "Sommerfest der Initiativen",
]
GROUP_TITLES = ["Treffen", "Planung", "Fallbesprechung", "Offene Sprechstunde", "Klausur"]
VENUES = [
    ("Haus der Demokratie", "Bernhard-Göring-Straße 152, 04277 Leipzig"),
    ("Stadtteilladen Leipziger Osten", "Eisenbahnstraße 125, 04315 Leipzig"),
    ("Flüchtlingsrat, Beratungsraum", "Sternwartenstraße 4, 04103 Leipzig"),
    ("Café Tahrir", "Georg-Schwarz-Straße 19, 04177 Leipzig"),
    ("Gemeindesaal St. Lukas", "Juliusstraße 4, 04315 Leipzig"),
]
SENTENCES = [
    "Wir besprechen die aktuelle Lage in den Gemeinschaftsunterkünften.",
    "Bitte bringt Berichte aus euren Initiativen mit; jede Gruppe hat fünf Minuten.",
    "Für Kinderbetreuung ist gesorgt, bitte meldet euch vorher an.",
    "Dolmetschung ins Arabische, Dari und Englische ist möglich – sagt uns Bescheid.",
    "Themen: Wohnungssuche, Arbeitserlaubnis, Termine bei der Ausländerbehörde, Schulplätze.",
    "Der Raum ist barrierefrei über den Hof erreichbar (Klingel „Netzwerk“).",
    "Neue Gesichter sind herzlich willkommen; eine kurze Einführung gibt es um 17:30 Uhr.",
    "Protokoll und Unterlagen vom letzten Mal findet ihr auf der Gruppenseite.",
    "Wir sammeln Spenden für Fahrkarten: 12,50 € für eine Monatskarte, jede Hilfe zählt.",
    "Agenda: 1. Berichte; 2. Planung des Aktionstags; 3. Finanzen; 4. Verschiedenes.",
]


def _description(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return ""
    paragraphs = [
        " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 4)))
        for _ in range(rng.randint(1, 4))
    ]
    return "\n\n".join(paragraphs)


def seed(rng: random.Random) -> dict[str, Any]:
    """5,000 meetings and their surroundings, inserted in bulk. Needs an app context."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from coordination.auth.models import Locale, Role, User
    from coordination.calendar import services
    from coordination.calendar.models import CalendarRevision
    from coordination.extensions import db
    from coordination.groups.models import (
        Confidentiality,
        GroupMembership,
        GroupRole,
        JoinMode,
        WorkingGroup,
    )
    from coordination.meetings.models import (
        Meeting,
        MeetingKind,
        MeetingStatus,
        Visibility,
        new_ical_uid,
    )
    from coordination.registrations.models import Registration, RegistrationStatus
    from coordination.text import slugify
    from coordination.timeutil import local_midnight_utc, local_to_utc, local_today

    now = datetime.now(UTC)
    today = local_today()
    begun = time.perf_counter()

    # People: 1 admin, 3 moderators, 60 members; member 5 is the subscriber with a feed token.
    password = generate_password_hash("not-used-by-the-benchmark", method="pbkdf2:sha256:1000")
    users = []
    for uid in range(1, 65):
        role = Role.ADMIN if uid == 1 else Role.MODERATOR if uid <= 4 else Role.MEMBER
        joined = now - timedelta(days=rng.randint(30, 1500))
        users.append(
            {
                "id": uid,
                "email": f"person{uid}@example.org",
                "name": f"Person {uid}",
                "password_hash": password,
                "role": role,
                "locale": Locale.EN if uid % 5 == 0 and uid != 5 else Locale.DE,
                "is_active": uid == 5 or rng.random() > 0.05,
                "last_login_at": now - timedelta(days=rng.randint(0, 60)),
                "created_at": joined,
                "updated_at": joined,
            }
        )
    db.session.execute(sa.insert(User), users)
    subscriber_id = 5

    groups = []
    for gid, name in enumerate(OPEN_GROUPS + CONFIDENTIAL_GROUPS, start=1):
        founded = now - timedelta(days=rng.randint(400, 1800))
        groups.append(
            {
                "id": gid,
                "name": name,
                "slug": slugify(name),
                "description": _description(rng),
                "confidentiality": (
                    Confidentiality.CONFIDENTIAL
                    if name in CONFIDENTIAL_GROUPS
                    else Confidentiality.OPEN
                ),
                "join_mode": JoinMode.REQUEST if name in CONFIDENTIAL_GROUPS else JoinMode.OPEN,
                "created_at": founded,
                "updated_at": founded,
            }
        )
    db.session.execute(sa.insert(WorkingGroup), groups)
    open_ids = [g["id"] for g in groups if g["confidentiality"] is Confidentiality.OPEN]
    confidential_ids = [g["id"] for g in groups if g["id"] not in open_ids]

    # Memberships: the subscriber leads one open group, belongs to another and to one
    # confidential group; the other members belong to 0-3 groups.
    member_of = {subscriber_id: {open_ids[0]: GroupRole.LEAD, open_ids[1]: GroupRole.MEMBER}}
    member_of[subscriber_id][confidential_ids[0]] = GroupRole.MEMBER
    for uid in range(6, 65):
        chosen = rng.sample(open_ids + confidential_ids, rng.choice([0, 1, 1, 1, 2, 2, 3]))
        member_of[uid] = {gid: GroupRole.MEMBER for gid in chosen}
    memberships = [
        {"group_id": gid, "user_id": uid, "role": role, "since": now - timedelta(days=100)}
        for uid, roles in member_of.items()
        for gid, role in roles.items()
    ]
    db.session.execute(sa.insert(GroupMembership), memberships)

    # Meetings over the last ~3.75 years and the coming year. 30 % network meetings (a third
    # of them public), 50 % meetings of open groups (a tenth public), 20 % of confidential
    # groups (group visibility, some network). The window (90 days back, all future) holds
    # about a quarter of them, which gives the public feed about 200 events.
    meetings = []
    for mid in range(1, MEETINGS + 1):
        kind_roll = rng.random()
        if kind_roll < 0.30:
            group_id, kind = None, MeetingKind.NETWORK
            visibility = Visibility.PUBLIC if rng.random() < 0.35 else Visibility.NETWORK
            title = rng.choice(NETWORK_TITLES)
        elif kind_roll < 0.80:
            group_id, kind = rng.choice(open_ids), MeetingKind.GROUP
            roll = rng.random()
            visibility = (
                Visibility.PUBLIC
                if roll < 0.10
                else Visibility.NETWORK
                if roll < 0.55
                else Visibility.GROUP
            )
            title = f"{rng.choice(GROUP_TITLES)} {groups[group_id - 1]['name']}"
        else:
            group_id, kind = rng.choice(confidential_ids), MeetingKind.GROUP
            visibility = Visibility.GROUP if rng.random() < 0.9 else Visibility.NETWORK
            title = f"{rng.choice(GROUP_TITLES)} {groups[group_id - 1]['name']}"
        day = today + timedelta(days=rng.randint(-1370, 365))
        all_day = rng.random() < 0.03
        if all_day:
            starts_at = local_midnight_utc(day)
            ends_at = local_midnight_utc(day + timedelta(days=rng.choice([1, 1, 1, 2])))
        else:
            at = rng.choice([clock(10), clock(14), clock(17), clock(18), clock(18, 30), clock(19)])
            starts_at = local_to_utc(day, at, strict=False)
            ends_at = starts_at + timedelta(minutes=rng.choice([60, 90, 90, 120, 120, 180]))
        created_at = min(starts_at - timedelta(days=rng.randint(7, 60)), now)
        updated_at = min(created_at + timedelta(days=rng.randint(0, 6)), now)
        cancelled = rng.random() < 0.06
        venue_name, venue_address = rng.choice(VENUES) if rng.random() < 0.8 else ("", "")
        online = rng.random() < 0.35 or not venue_name
        meetings.append(
            {
                "id": mid,
                "title": title,
                "kind": kind,
                "group_id": group_id,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "is_all_day": all_day,
                "venue_name": venue_name,
                "venue_address": venue_address,
                "online_url": f"https://meet.example.org/knotenpunkt-{mid}" if online else "",
                "is_online_url_public": online and rng.random() < 0.5,
                "description": _description(rng),
                "visibility": visibility,
                "status": MeetingStatus.CANCELLED if cancelled else MeetingStatus.SCHEDULED,
                "cancelled_at": updated_at if cancelled else None,
                "capacity": rng.choice([None, None, 20, 30, 50, 80]),
                "ical_uid": new_ical_uid(),
                "sequence": rng.choice([0, 0, 0, 1, 1, 2, 3]) + (1 if cancelled else 0),
                "created_by_id": rng.randint(1, 4),
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
    db.session.execute(sa.insert(Meeting), meetings)

    # Registrations: 0-8 members per meeting, a guest now and then; the subscriber has ~40.
    registrations = []
    statuses = [RegistrationStatus.CONFIRMED] * 8 + [
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.CANCELLED,
    ]
    subscriber_meetings = set(rng.sample(range(1, MEETINGS + 1), 40))
    for meeting in meetings:
        people = rng.sample(range(6, 65), rng.randint(0, 8))
        if meeting["id"] in subscriber_meetings:
            people.append(subscriber_id)
        for uid in people:
            registrations.append(
                {
                    "meeting_id": meeting["id"],
                    "user_id": uid,
                    "guest_email": None,
                    "status": rng.choice(statuses),
                    "created_at": meeting["created_at"],
                    "updated_at": meeting["created_at"],
                }
            )
        if rng.random() < 0.3:
            registrations.append(
                {
                    "meeting_id": meeting["id"],
                    "user_id": None,
                    "guest_email": f"guest{meeting['id']}@example.net",
                    "status": RegistrationStatus.CONFIRMED,
                    "created_at": meeting["created_at"],
                    "updated_at": meeting["created_at"],
                }
            )
    db.session.execute(sa.insert(Registration), registrations)

    # Bulk inserts bypass the ORM's change tracking; count the change as the app would.
    db.session.execute(
        sa.update(CalendarRevision)
        .where(CalendarRevision.id == 1)
        .values(number=CalendarRevision.number + 1, changed_at=now)
    )
    subscriber = db.session.get(User, subscriber_id)
    token, _row = services.create_token(subscriber, "Thunderbird (benchmark)")
    db.session.commit()

    public_events = len(services.public_meetings())
    return {
        "meetings": len(meetings),
        "users": len(users),
        "groups": len(groups),
        "memberships": len(memberships),
        "registrations": len(registrations),
        "public_feed_events": public_events,
        "personal_feed_events": len(services.personal_meetings(subscriber)[0]),
        "subscriber_id": subscriber_id,
        "token": token,
        "seconds": round(time.perf_counter() - begun, 2),
    }


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    env: dict[str, str], port: int, log: Path, target: str = "wsgi:app", cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        target,
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn by its PID: TERM (the master stops its workers), KILL if it hangs."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def wait_until_healthy(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if fetch(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz:\n{log.read_text(errors='replace')}")


# --- the load ----------------------------------------------------------------------------------


def wrk(port: int, path: str, header: str, seconds: float, threads: int, connections: int) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}{path}",
    ]
    done = subprocess.run(
        command,
        env={**os.environ, "BENCH_HEADER": header},
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    requests = max(raw["requests"], 1)
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "bytes_per_response": raw["bytes"] / requests,
        # wrk counts HTTP statuses >= 400 as "status" errors; the rest are socket errors.
        "errors": sum(raw["errors"].values()),
        "error_detail": raw["errors"],
    }


def worker_cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the gunicorn workers, children of ``master``."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == master:  # fields[1] is the parent's pid
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def endpoints(port: int, master: int, token: str) -> list[dict[str, Any]]:
    """The measured requests, each checked once by hand for the expected status."""
    public = "/calendar/public.ics"
    personal = f"/calendar/personal/{token}.ics"
    bare = {"key": "bare", "label": "/healthz (bare endpoint)", "path": "/healthz", "header": ""}
    plan = [bare]
    for name, path in (("public", public), ("personal", personal)):
        status, headers, body = fetch(port, path)
        if status != 200 or "BEGIN:VCALENDAR" not in body.decode("utf-8", "replace"):
            raise RuntimeError(f"{path} answered {status}, not a calendar")
        etag = headers["ETag"]
        status, _headers, _body = fetch(port, path, {"If-None-Match": etag})
        if status != 304:
            raise RuntimeError(f"{path} with If-None-Match: {etag} answered {status}, not 304")
        plan += [
            {
                "key": f"{name}_304",
                "label": f"{name} feed 304 (If-None-Match)",
                "path": path,
                "header": f"If-None-Match: {etag}",
            },
            {
                "key": f"{name}_200",
                "label": f"{name} feed 200, cached ({len(body) / 1024:.0f} KiB)",
                "path": path,
                "header": "",
                "expect_bytes": len(body),
            },
        ]
    return [{**endpoint, "port": port, "master": master} for endpoint in plan]


def measure_slice(endpoint: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then measure one endpoint for ``args.duration`` seconds."""
    port, path, header = endpoint["port"], endpoint["path"], endpoint["header"]
    wrk(port, path, header, args.warmup, args.threads, args.connections)
    cpu_before = worker_cpu_seconds(endpoint["master"])
    measured = wrk(port, path, header, args.duration, args.threads, args.connections)
    cpu = worker_cpu_seconds(endpoint["master"]) - cpu_before
    measured["worker_cpu_ms_per_request"] = 1000 * cpu / max(measured["requests"], 1)
    # A 200 where a 304 was meant (or the reverse) shows in the bytes per response.
    if measured["bytes_per_response"] < endpoint.get("expect_bytes", 0):
        measured["errors"] += 1
        measured["error_detail"]["short_body"] = 1
    if endpoint["key"].endswith("_304") and measured["bytes_per_response"] > 4096:
        measured["errors"] += 1
        measured["error_detail"]["not_304"] = 1
    return measured


def _sum_errors(runs: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for measured in runs:
        for kind, count in measured["error_detail"].items():
            if count:
                total[kind] = total.get(kind, 0) + count
    return total


def drive(plan: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, dict]:
    """Interleaved rounds: /healthz, then each feed endpoint; /healthz once more at the end.

    The load of a shared machine comes and goes within seconds. Short slices in rounds expose
    every endpoint to the same conditions, and each feed slice is compared with the mean of the
    /healthz slices just before and after its round (the first and the last measurement are
    /healthz, as in the reference method).
    """
    slices: dict[str, list[dict[str, Any]]] = {endpoint["key"]: [] for endpoint in plan}
    for round_number in range(args.rounds):
        for endpoint in plan:
            measured = measure_slice(endpoint, args)
            slices[endpoint["key"]].append(measured)
            print(
                f"  round {round_number + 1}  {endpoint['label']:<38} {measured['rps']:7.0f} req/s"
                f"  p50 {measured['p50_ms']:5.1f} ms  p99 {measured['p99_ms']:5.1f} ms"
                f"  {measured['worker_cpu_ms_per_request']:5.2f} ms CPU/req",
                flush=True,
            )
    slices["bare"].append(measure_slice(plan[0], args))
    print(f"  final    {plan[0]['label']:<38} {slices['bare'][-1]['rps']:7.0f} req/s", flush=True)

    bare = [measured["rps"] for measured in slices["bare"]]
    results = {}
    for endpoint in plan:
        runs = slices[endpoint["key"]]
        ratios = [
            1.0
            if endpoint["key"] == "bare"
            else measured["rps"] / ((bare[index] + bare[index + 1]) / 2)
            for index, measured in enumerate(runs[: args.rounds])
        ]
        results[endpoint["key"]] = {
            "label": endpoint["label"],
            "rps": statistics.median(m["rps"] for m in runs),
            "ratio": statistics.median(ratios),
            "ratios": ratios,
            "p50_ms": statistics.median(m["p50_ms"] for m in runs),
            "p99_ms": statistics.median(m["p99_ms"] for m in runs),
            "bytes_per_response": statistics.median(m["bytes_per_response"] for m in runs),
            "worker_cpu_ms_per_request": statistics.median(
                m["worker_cpu_ms_per_request"] for m in runs
            ),
            "requests": sum(m["requests"] for m in runs),
            "errors": sum(m["errors"] for m in runs),
            "error_detail": _sum_errors(runs),
            "slices": runs,
        }
    return results


# --- in-process timings ------------------------------------------------------------------------


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    """Medians in ms of wall-clock and CPU time; on a busy machine only the wall time grows."""
    ordered = sorted(wall)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "min_ms": ordered[0] * 1000,
        "p90_ms": ordered[int(len(ordered) * 0.9) - 1] * 1000,
        "cpu_median_ms": statistics.median(cpu) * 1000,
        "runs": len(ordered),
    }


def _timed(app: Any, path: str, work: Callable[[], Any], runs: int, warmup: int = 3) -> dict:
    """Time ``work`` in a fresh request context each run (fresh session: no identity map)."""
    wall, cpu = [], []
    for index in range(warmup + runs):
        with app.test_request_context(path):
            began, began_cpu = time.perf_counter(), time.process_time()
            work()
            elapsed, elapsed_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if index >= warmup:
            wall.append(elapsed)
            cpu.append(elapsed_cpu)
    return _stats(wall, cpu)


def _timed_requests(client: Any, path: str, headers: dict[str, str], runs: int) -> dict:
    """Whole requests through the WSGI app (no network), as gunicorn's workers run them."""
    wall, cpu = [], []
    for index in range(runs + 20):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        response.get_data()
        elapsed, elapsed_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        response.close()
        if index >= 20:
            wall.append(elapsed)
            cpu.append(elapsed_cpu)
    return _stats(wall, cpu)


def measure_inproc(app: Any, seeded: dict[str, Any], runs: int) -> dict[str, Any]:
    from coordination.auth.models import User
    from coordination.calendar import services
    from coordination.extensions import db

    public = "/calendar/public.ics"
    gc.enable()
    out: dict[str, Any] = {}
    with app.test_request_context(public):
        body = services.build_public_feed("de")
    out["public_feed_bytes"] = len(body)
    out["public_feed_events"] = body.count(b"BEGIN:VEVENT")
    out["cold_build_public"] = _timed(app, public, lambda: services.build_public_feed("de"), runs)
    out["query_public"] = _timed(app, public, services.public_meetings, runs)

    def cold_through_cache() -> None:
        services.feed_cache().clear()
        checked = services.validators("public", "de")
        services.cached_feed("public", checked.etag, lambda: services.build_public_feed("de"))

    out["cold_cached_feed_public"] = _timed(app, public, cold_through_cache, runs)
    out["validators_public"] = _timed(app, public, lambda: services.validators("public", "de"), 200)

    def personal() -> None:
        services.build_personal_feed(db.session.get(User, seeded["subscriber_id"]))

    with app.test_request_context(public):
        body = services.build_personal_feed(db.session.get(User, seeded["subscriber_id"]))
    out["personal_feed_bytes"] = len(body)
    out["personal_feed_events"] = body.count(b"BEGIN:VEVENT")
    out["cold_build_personal"] = _timed(app, public, personal, max(runs // 3, 5))

    # Whole requests in-process: what Flask and the extensions add around the view.
    client = app.test_client()
    etag = client.get(public).headers["ETag"]
    token_path = f"/calendar/personal/{seeded['token']}.ics"
    personal_etag = client.get(token_path).headers["ETag"]
    out["request_bare"] = _timed_requests(client, "/healthz", {}, 200)
    out["request_public_304"] = _timed_requests(client, public, {"If-None-Match": etag}, 200)
    out["request_public_200"] = _timed_requests(client, public, {}, 200)
    out["request_personal_304"] = _timed_requests(
        client, token_path, {"If-None-Match": personal_etag}, 200
    )
    return out


# --- evaluation and output ---------------------------------------------------------------------


def evaluate(http: dict[str, dict], inproc: dict[str, Any]) -> tuple[dict, list[dict]]:
    ratios = {key: value["ratio"] for key, value in http.items()}
    cold = inproc["cold_build_public"]
    errors = {key: value["error_detail"] for key, value in http.items() if value["errors"]}
    checks = [
        {
            "what": f"public feed 304 path >= {TARGET_304}x bare",
            "value": f"{ratios['public_304']:.2f}x",
            "ok": ratios["public_304"] >= TARGET_304,
        },
        {
            "what": f"public feed cached 200 >= {TARGET_CACHED}x bare",
            "value": f"{ratios['public_200']:.2f}x",
            "ok": ratios["public_200"] >= TARGET_CACHED,
        },
        {
            "what": f"cold build of the {inproc['public_feed_events']}-event feed "
            f"<= {TARGET_COLD_MS:g} ms CPU",
            "value": f"{cold['cpu_median_ms']:.1f} ms (wall {cold['median_ms']:.1f} ms)",
            "ok": cold["cpu_median_ms"] <= TARGET_COLD_MS,
        },
        {
            "what": "no failed requests (non-2xx/3xx, socket errors, wrong status)",
            "value": json.dumps(errors) if errors else "none",
            "ok": not errors,
        },
    ]
    return {"bare_rps": http["bare"]["rps"], "ratios": ratios}, checks


def warnings(result: dict[str, Any]) -> list[str]:
    """Signs that the machine's load changed or was high: read the figures with care."""
    out = []
    bare = [measured["rps"] for measured in result["http"]["bare"]["slices"]]
    spread = (max(bare) - min(bare)) / statistics.median(bare)
    if spread > 0.15:
        out.append(
            f"/healthz varied by {spread:.0%} between its {len(bare)} measurements: "
            "the machine's load changed during the run"
        )
    for key, row in result["http"].items():
        if key != "bare" and max(row["ratios"]) > 1.3 * min(row["ratios"]):
            out.append(
                f"{row['label']}: ratios of the rounds range from {min(row['ratios']):.2f} "
                f"to {max(row['ratios']):.2f}"
            )
    events = result["inproc"]["public_feed_events"]
    if not PUBLIC_EVENTS[0] <= events <= PUBLIC_EVENTS[1]:
        out.append(f"the public feed holds {events} events, not about 200: check the seed data")
    cold = result["inproc"]["cold_build_public"]
    if cold["median_ms"] > 1.3 * cold["cpu_median_ms"]:
        out.append(
            f"wall time of the cold build is {cold['median_ms'] / cold['cpu_median_ms']:.1f}x "
            "its CPU time: other processes were competing for the CPU"
        )
    return out


def print_report(result: dict[str, Any]) -> None:
    http, inproc = result["http"], result["inproc"]
    ratios = result["summary"]["ratios"]
    rounds = result["settings"]["rounds"]
    print()
    print(f"HTTP, medians of {rounds} rounds (x bare: median of the per-round ratios)")
    print(
        f"{'endpoint':<38} {'req/s':>7} {'x bare':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'B/resp':>7} {'CPU/req':>8} {'errors':>6}"
    )
    for key, row in http.items():
        print(
            f"{row['label']:<38} {row['rps']:7.0f} {ratios[key]:7.2f} {row['p50_ms']:7.1f} "
            f"{row['p99_ms']:7.1f} {row['bytes_per_response']:7.0f} "
            f"{row['worker_cpu_ms_per_request']:6.2f}ms {row['errors']:6d}"
        )
    print("CPU/req: CPU time of both gunicorn workers per request (not wrk's).")
    if "plain_flask" in http:
        print(
            "plain Flask: the same server with an app that has nothing but /healthz; the app's "
            f"/healthz reaches {1 / ratios['plain_flask']:.2f}x of it."
        )
    print()
    print(f"{'in-process (ms, median; gc on)':<52} {'wall':>7} {'CPU':>7} {'min':>7} {'p90':>7}")
    rows = [
        ("cold_build_public", "build public feed: SQL + render"),
        ("query_public", "  of which the SQL query"),
        ("cold_cached_feed_public", "cold miss via validators() + FeedCache"),
        ("validators_public", "validators() alone (the 304 path's work)"),
        ("cold_build_personal", "build personal feed: SQL + render"),
        ("request_bare", "whole request /healthz (test client)"),
        ("request_public_304", "whole request public 304 (test client)"),
        ("request_public_200", "whole request public 200 cached (test client)"),
        ("request_personal_304", "whole request personal 304 (test client)"),
    ]
    for key, label in rows:
        row = inproc[key]
        print(
            f"{label:<52} {row['median_ms']:7.2f} {row['cpu_median_ms']:7.2f} "
            f"{row['min_ms']:7.2f} {row['p90_ms']:7.2f}"
        )
    print(
        f"public feed: {inproc['public_feed_events']} events, "
        f"{inproc['public_feed_bytes'] / 1024:.0f} KiB; personal feed: "
        f"{inproc['personal_feed_events']} events, {inproc['personal_feed_bytes'] / 1024:.0f} KiB"
    )
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    print()
    print("targets:")
    for check in result["checks"]:
        print(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['what']}: {check['value']}")


def start_plain_flask(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], dict]:
    """A Flask app with nothing but /healthz, served the same way: the framework's ceiling."""
    port = free_port()
    log = workdir / "plain.log"
    server = start_gunicorn(env, port, log, target="plain_app:app", cwd=BENCH)
    wait_until_healthy(port, server, log)
    endpoint = {
        "key": "plain_flask",
        "label": "plain Flask /healthz (for comparison)",
        "path": "/healthz",
        "header": "",
        "port": port,
        "master": server.pid,
    }
    return server, endpoint


def run(args: argparse.Namespace) -> int:
    missing = check_tools()
    if missing:
        print("cannot run the benchmark:", *missing, sep="\n  ", file=sys.stderr)
        return 2
    began = time.monotonic()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="knotenpunkt-bench-"))
    server = plain = None
    try:
        env = app_environment(workdir)
        # config.py reads the environment on import: set it before the app is imported.
        os.environ.update(env)
        print(f"migrating and seeding {workdir / 'bench.sqlite'} ...", flush=True)
        migrate(env)
        from coordination import create_app
        from coordination.extensions import db

        app = create_app()
        with app.app_context():
            seeded = seed(random.Random(args.seed))
            db.engine.dispose()
        print(
            f"  {seeded['meetings']} meetings, {seeded['registrations']} registrations in "
            f"{seeded['seconds']} s; public feed {seeded['public_feed_events']} events, "
            f"personal feed {seeded['personal_feed_events']} events",
            flush=True,
        )
        port = free_port()
        log = workdir / "gunicorn.log"
        server = start_gunicorn(env, port, log)
        wait_until_healthy(port, server, log)
        plan = endpoints(port, server.pid, seeded["token"])
        if args.reference:
            plain, reference = start_plain_flask(env, workdir)
            plan.append(reference)
        print(
            f"gunicorn (2 sync workers, pid {server.pid}) on 127.0.0.1:{port}; wrk "
            f"-t{args.threads} -c{args.connections}; {args.rounds} rounds of "
            f"{args.warmup:g} s warm-up + {args.duration:g} s per endpoint",
            flush=True,
        )
        http = drive(plan, args)
        for process in (server, plain):
            if process is not None:
                stop(process)
        print(f"in-process timings ({args.runs} runs each) ...", flush=True)
        inproc = measure_inproc(app, seeded, args.runs)
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", None) or ""
        print(f"benchmark failed: {error}\n{detail}", file=sys.stderr)
        return 2
    finally:
        for process in (server, plain):
            if process is not None:
                stop(process)
        shutil.rmtree(workdir, ignore_errors=True)

    summary, checks = evaluate(http, inproc)
    seeded.pop("token")
    result = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - began, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "settings": {
            "workers": 2,
            "threads": args.threads,
            "connections": args.connections,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "inproc_runs": args.runs,
        },
        "seed": seeded,
        "http": http,
        "inproc": inproc,
        "summary": summary,
        "checks": checks,
        "passed": all(check["ok"] for check in checks),
    }
    result["warnings"] = warnings(result)
    print_report(result)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"feeds-{datetime.now():%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nresults: {path.relative_to(ROOT)} ({result['seconds']} s)")
    if not result["passed"]:
        print("TARGET MISSED: " + "; ".join(c["what"] for c in checks if not c["ok"]))
        return 1
    return 0


def summarize(paths: list[str]) -> int:
    """Medians (and ranges) over several result files; ratios are taken per run first."""
    loaded = [(path, json.loads(Path(path).read_text())) for path in paths]
    # Files written by an older version of this script lack the per-round ratios.
    skipped = [path for path, r in loaded if "ratio" not in r["http"].get("bare", {})]
    if skipped:
        print("skipped (older format): " + ", ".join(Path(path).name for path in skipped))
    paths = [path for path, r in loaded if path not in skipped]
    results = [r for path, r in loaded if path not in skipped]
    if not results:
        return 2
    median = statistics.median
    print(f"{len(results)} runs: " + ", ".join(Path(path).name for path in paths))
    print(
        f"{'endpoint':<38} {'req/s':>7} {'x bare':>7} {'range':>11} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'CPU/req':>8}"
    )
    for key, row in results[0]["http"].items():
        rows = [r["http"][key] for r in results if key in r["http"]]
        ratios = [row["ratio"] for row in rows]
        print(
            f"{row['label']:<38} {median(r['rps'] for r in rows):7.0f}"
            f" {median(ratios):7.2f} {min(ratios):5.2f}-{max(ratios):<5.2f}"
            f" {median(r['p50_ms'] for r in rows):7.1f} {median(r['p99_ms'] for r in rows):7.1f}"
            f" {median(r['worker_cpu_ms_per_request'] for r in rows):6.2f}ms"
        )
    print(f"{'in-process (ms, median of the runs)':<52} {'wall':>7} {'CPU':>7} {'CPU range':>13}")
    for key, value in results[0]["inproc"].items():
        if isinstance(value, dict):
            wall = [r["inproc"][key]["median_ms"] for r in results]
            cpu = [r["inproc"][key]["cpu_median_ms"] for r in results]
            print(
                f"{key:<52} {median(wall):7.2f} {median(cpu):7.2f} {min(cpu):6.2f}-{max(cpu):<6.2f}"
            )
    passed = [r["passed"] for r in results]
    print(f"all targets met in {sum(passed)} of {len(passed)} runs")
    for path, r in zip(paths, results, strict=True):
        missed = [c["what"] + ": " + c["value"] for c in r["checks"] if not c["ok"]]
        if missed:
            print(f"  {Path(path).name} missed: " + "; ".join(missed))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of endpoints")
    parser.add_argument("--duration", type=float, default=3, help="seconds measured per slice")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per slice")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--runs", type=int, default=30, help="in-process runs per timing")
    parser.add_argument("--seed", type=int, default=5, help="random seed for the data")
    parser.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="skip the plain Flask app measured for comparison",
    )
    parser.add_argument("--summarize", nargs="+", metavar="RESULT", help="medians over results")
    args = parser.parse_args(argv)
    if args.summarize:
        return summarize(args.summarize)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
