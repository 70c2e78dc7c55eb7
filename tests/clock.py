"""The clock under a test's control: fixed instants on both sides of midnight, in a store's zone and in UTC.

A store in Moscow (UTC+3) starts its day at 21:00 UTC, so a test whose dates are right at noon can be wrong
at 21:45. Date-sensitive tests run at each of ``AROUND_MIDNIGHT`` with ``travel()`` (time-machine, ticking, so
timeouts and sessions still work) and build their data from ``store_day()``, never from the UTC date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import time_machine

from app import clock

MOSCOW = "Europe/Moscow"
# 23:59 and 00:01 in Moscow, then 23:59 and 00:01 in UTC (02:59 and 03:01 in Moscow), on a plain March day.
AROUND_MIDNIGHT = (
    datetime(2027, 3, 9, 20, 59, tzinfo=UTC),
    datetime(2027, 3, 9, 21, 1, tzinfo=UTC),
    datetime(2027, 3, 9, 23, 59, tzinfo=UTC),
    datetime(2027, 3, 10, 0, 1, tzinfo=UTC),
)


def label(instant: datetime) -> str:
    return instant.strftime("%H%M") + "utc"


@contextmanager
def travel(instant: datetime) -> Iterator[None]:
    """Run the block with the clock at ``instant`` (it keeps ticking from there)."""
    with time_machine.travel(instant, tick=True):
        yield


def store_day(days_ago: int, zone: str = MOSCOW) -> date:
    """The store's calendar day ``days_ago`` days before its today."""
    return clock.today(zone) - timedelta(days=days_ago)


def local(day: date, hour: int, minute: int = 0, zone: str = MOSCOW) -> datetime:
    """Wall-clock time ``hour:minute`` on the store's ``day``, as an aware instant."""
    return datetime.combine(day, time(hour, minute), clock.zone(zone))
