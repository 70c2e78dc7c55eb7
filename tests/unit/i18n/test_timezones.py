"""Times in the store's zone: the formatters convert every instant, a day begins at the store's midnight
(23 hours long when the clocks go forward), and the zones offered are the canonical IANA names.
Expected values are worked out by hand from the zones' offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app import clock
from app.i18n import format_date, format_datetime, format_time, timezone_choices, timezones, use_timezone

pytestmark = pytest.mark.unit

LATE = datetime(2027, 3, 9, 21, 30, tzinfo=UTC)  # 00:30 on the 10th in Moscow, 23:30 on the 9th in Kyiv


def test_an_instant_is_shown_in_the_bound_zone_or_the_one_asked_for() -> None:
    assert format_datetime(LATE, "short", locale="ru") == "09.03.2027, 21:30"  # nothing bound: UTC
    with use_timezone("Europe/Moscow"):
        assert format_datetime(LATE, "short", locale="ru") == "10.03.2027, 00:30"
        assert format_date(LATE, "short", locale="ru") == "10.03.2027"  # the store's day, not UTC's
        assert format_time(LATE, locale="uk") == "00:30"
        assert format_datetime(LATE, "short", locale="uk", zone="Europe/Kyiv") == "09.03.27, 23:30"
    assert format_date(date(2027, 3, 9), "short", locale="ru") == "09.03.2027"  # a day stays that day


def test_a_naive_value_is_taken_as_utc_and_an_unknown_zone_as_utc() -> None:
    with use_timezone("Europe/Moscow"):
        assert format_time(datetime(2027, 3, 9, 21, 30), locale="ru") == "00:30"
    with use_timezone("Mars/Olympus"):
        assert format_time(LATE, locale="ru") == "21:30"
    assert clock.zone("../etc/passwd").key == "UTC"


def test_a_store_day_begins_at_its_midnight_and_may_be_23_hours_long() -> None:
    assert clock.day_start(date(2027, 3, 10), "Europe/Moscow") == datetime(2027, 3, 9, 21, 0, tzinfo=UTC)
    start, end = clock.day_range(date(2027, 3, 14), date(2027, 3, 14), "America/New_York")  # clocks go forward
    assert (start, end) == (datetime(2027, 3, 14, 5, tzinfo=UTC), datetime(2027, 3, 15, 4, tzinfo=UTC))
    assert clock.today("Europe/Moscow", LATE) == date(2027, 3, 10)
    assert clock.today("UTC", LATE) == date(2027, 3, 9)


def test_the_zones_offered_are_canonical_iana_names_with_a_localized_label() -> None:
    zones = set(timezones())
    assert {"UTC", "Europe/Moscow", "Europe/Kyiv", "Asia/Almaty", "America/New_York"} <= zones
    assert not {"US/Eastern", "Etc/GMT+3", "posixrules", "W-SU", ""} & zones
    labels = dict(timezone_choices("ru"))
    assert labels["Europe/Moscow"] == "Europe/Moscow — Москва (GMT+03:00)"
    assert labels["UTC"] == "UTC (GMT+00:00)"
