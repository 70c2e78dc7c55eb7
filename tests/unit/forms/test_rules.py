"""The shared input rules refuse hostile values with a translated message and accept ordinary ones."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.forms import rules
from app.i18n import use_locale

pytestmark = pytest.mark.unit

HOSTILE_NUMBERS = ["²", "٣", "--1", "10^20", str(10**20), "1_000", "+5", "1e3", "0x10", " ", "1.5", "١٢", "12\x00"]


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31mred", "bell\x07", "\x7f", "form\x0cfeed", "\x00"])
def test_text_refuses_nul_and_control_characters(value: str) -> None:
    with pytest.raises(rules.Invalid) as refused:
        rules.text(value)
    assert "NUL" in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("  Анна  ", "Анна"), ("a\tb", "a\tb"), ("line 1\r\nline 2", "line 1\nline 2"), ("", "")],
)
def test_text_keeps_tabs_and_newlines(value: str, expected: str) -> None:
    assert rules.text(value, max_length=50) == expected


def test_text_bounds_its_length_and_says_so_in_russian_and_ukrainian() -> None:
    with use_locale("ru"), pytest.raises(rules.Invalid) as ru:
        rules.text("x" * 10_240, max_length=200)
    with use_locale("uk"), pytest.raises(rules.Invalid) as uk:
        rules.text("x" * 10_240, max_length=200)
    assert "200" in ru.value.message and "Слишком длинно" in ru.value.message
    assert "200" in uk.value.message and "Задовго" in uk.value.message
    with use_locale("ru"), pytest.raises(rules.Invalid) as nul:
        rules.text("\x00")
    assert "NUL" in nul.value.message
    assert "управляющ" in nul.value.message.lower()


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
def test_integer_refuses_everything_but_plain_ascii_digits(value: str) -> None:
    with pytest.raises(rules.Invalid):
        rules.integer(value, low=-(10**6), high=10**6)


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("42", 42), (" 7 ", 7), ("-3", -3), ("0009", 9)])
def test_integer_reads_plain_numbers(value: str, expected: int) -> None:
    assert rules.integer(value, low=-10, high=100) == expected


@pytest.mark.parametrize("value", ["-1", "101", "9223372036854775808"])
def test_integer_refuses_values_outside_its_bounds(value: str) -> None:
    with use_locale("uk"), pytest.raises(rules.Invalid) as refused:
        rules.integer(value, low=0, high=100)
    assert "0" in refused.value.message and "100" in refused.value.message


@pytest.mark.parametrize(
    "value", ["2147483648", str(2**40), "9223372036854775808", str(10**20), "0", "-1", "٣", "abc", "", None, "1" * 5000]
)
def test_record_id_is_none_past_int64_and_for_junk(value: str | None) -> None:
    assert rules.record_id(value) is None


def test_record_id_takes_the_largest_serial() -> None:
    assert rules.record_id("2147483647") == 2147483647  # PostgreSQL's integer (serial) maximum
    assert rules.record_id(12) == 12


@pytest.mark.parametrize(
    "value",
    ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", "2024-02-30", "2024-1-5", "٢٠٢٤-٠١-٠١", "24-01-01"],
)
def test_day_refuses_dates_outside_the_sane_range(value: str) -> None:
    with pytest.raises(rules.Invalid):
        rules.day(value)


def test_day_accepts_the_range_edges() -> None:
    assert rules.day("1900-01-01") == date(1900, 1, 1)
    assert rules.day("2100-12-31") == date(2100, 12, 31)
    assert rules.optional_day("") is None


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59", "0001-01-01T00:00", "2026-01-01T24:00", "2026-01-01T10:60", "tomorrow"]
)
def test_moment_refuses_impossible_times(value: str) -> None:
    with pytest.raises(rules.Invalid):
        rules.moment(value)


def test_moment_reads_a_datetime_local_value() -> None:
    assert rules.moment("2026-12-02T09:30") == datetime(2026, 12, 2, 9, 30)


@pytest.mark.parametrize(("value", "expected"), [("1250", "1250"), ("1250,50", "1250.50"), ("1 250.5", "1250.5")])
def test_decimal_reads_point_and_comma(value: str, expected: str) -> None:
    assert rules.decimal(value, low=Decimal(0), high=Decimal(10**9)) == Decimal(expected)


@pytest.mark.parametrize("value", ["²", "٣", "--1", "1e5", "NaN", "Infinity", "10^20", str(10**20), "1.234", "-1"])
def test_decimal_refuses_hostile_numbers(value: str) -> None:
    with pytest.raises(rules.Invalid):
        rules.decimal(value, low=Decimal(0), high=Decimal(10**9))
