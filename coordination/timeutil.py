"""Local wall-clock times in the network's time zone, and their UTC instants.

Forms take local times ("17:00 on 2 March"); the database keeps aware UTC. Around the
daylight-saving switches some local times do not exist (spring) or exist twice (autumn):
single meetings refuse them with a clear message, series occurrences shift past the gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


class NonexistentLocalTime(ValueError):
    """The local time falls into the hour skipped when clocks go forward."""


class AmbiguousLocalTime(ValueError):
    """The local time happens twice when clocks go back."""


def network_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["NETWORK_TIMEZONE"])


def _round_trips(local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(
        tzinfo=None
    )


def local_to_utc(
    day: date, at: time, zone: ZoneInfo | None = None, *, strict: bool = True
) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone`` (default: the network's).

    With ``strict`` a nonexistent or ambiguous local time raises; otherwise a nonexistent time
    moves forward by the gap (02:30 → 03:30) and an ambiguous one takes the first (summer) time.
    """
    zone = zone or network_zone()
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if not _round_trips(first):  # in the gap: 02:30 on the spring switch day
        if strict:
            raise NonexistentLocalTime(naive.isoformat(sep=" ", timespec="minutes"))
        gap = second.utcoffset() - first.utcoffset()  # type: ignore[operator]
        return (naive.replace(tzinfo=zone) + abs(gap)).astimezone(UTC)
    if strict and first.utcoffset() != second.utcoffset():  # 02:30 on the autumn switch day
        raise AmbiguousLocalTime(naive.isoformat(sep=" ", timespec="minutes"))
    return first.astimezone(UTC)


def utc_to_local(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    return value.astimezone(zone or network_zone())


def local_midnight_utc(day: date, zone: ZoneInfo | None = None) -> datetime:
    """UTC instant of the start of ``day`` in the network's zone (for all-day meetings)."""
    return local_to_utc(day, time(0, 0), zone, strict=False)


def local_today(zone: ZoneInfo | None = None) -> date:
    return datetime.now(zone or network_zone()).date()


def all_day_bounds(
    first_day: date, last_day: date, zone: ZoneInfo | None = None
) -> tuple[datetime, datetime]:
    """UTC start and exclusive end of all-day meeting from ``first_day`` to ``last_day``."""
    return local_midnight_utc(first_day, zone), local_midnight_utc(
        last_day + timedelta(days=1), zone
    )
