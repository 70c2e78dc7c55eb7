"""The app's one clock, and the store's day.

Every "now" that decides a period, a store's "today" or a due date comes from ``now()``, and is passed
into SQL as a parameter instead of PostgreSQL's ``now()``, so a test that sets the clock (time-machine)
moves the whole calculation and a page never mixes the UTC date with the store's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


@cache
def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; UTC for an empty or unknown one (a store row written before zones were checked)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return ZoneInfo(DEFAULT_ZONE)


def today(zone_name: str | None, at: datetime | None = None) -> date:
    """The calendar day in the store's zone at ``at`` (now by default): a store's "today"."""
    return (at or now()).astimezone(zone(zone_name)).date()


def day_start(day: date, zone_name: str | None) -> datetime:
    """The instant the store's ``day`` begins (its local midnight), for comparing with stored timestamps."""
    return datetime.combine(day, time.min, zone(zone_name))


def day_range(first: date, last: date, zone_name: str | None) -> tuple[datetime, datetime]:
    """``[start, end)`` instants covering the store's days ``first`` to ``last`` inclusive."""
    return day_start(first, zone_name), day_start(last + timedelta(days=1), zone_name)
