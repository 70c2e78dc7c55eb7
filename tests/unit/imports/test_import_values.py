"""Money, quantities, currencies and flags as feeds write them, read without floats."""

from __future__ import annotations

import pytest

from app.services.imports.values import (
    ValueProblem,
    looks_like_excel_number,
    normalize_currency,
    normalize_lang,
    parse_bool,
    parse_money,
    parse_quantity,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "minor"),
    [
        ("1 234,50", 123_450),
        ("1\u00a0234,50", 123_450),
        ("1234.5", 123_450),
        ("500.000000", 50_000),
        ("1,234.50", 123_450),
        ("1.234,50", 123_450),
        ("12356.00", 1_235_600),
        (".5", 50),
        ("0", 0),
        ("0.105", 11),  # half up at the kopeck
        ("1 000 000", 100_000_000),
    ],
)
def test_money_is_read_into_integer_minor_units(raw: str, minor: int) -> None:
    assert parse_money(raw, "RUB") == minor
    assert isinstance(parse_money(raw, "RUB"), int)


def test_money_uses_the_currency_precision() -> None:
    assert parse_money("1500", "JPY") == 1500
    assert parse_money("19.99", None) == 1999


@pytest.mark.parametrize("raw", ["", "abc", "12,50 руб", "-5", "1e3", "4.6347E+11", "1..2", "NaN"])
def test_unreadable_or_negative_money_is_a_problem(raw: str) -> None:
    with pytest.raises(ValueProblem):
        parse_money(raw, "RUB")


def test_quantities_accept_1c_decimals_and_round_down() -> None:
    assert parse_quantity("377") == 377
    assert parse_quantity("5.000") == 5
    assert parse_quantity("2,7") == 2


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("RUR", "RUB"),
        ("руб", "RUB"),
        ("руб.", "RUB"),
        ("643", "RUB"),
        ("грн", "UAH"),
        ("uah", "UAH"),
        ("USD", "USD"),
        ("€", "EUR"),
        ("рубли?", None),
        (None, None),
    ],
)
def test_currency_codes_are_normalized_to_iso(raw: str | None, code: str | None) -> None:
    assert normalize_currency(raw) == code


def test_flags_and_languages() -> None:
    assert [parse_bool(v) for v in ("true", "FALSE", "да", "ні", "1", "maybe", None)] == [
        True,
        False,
        True,
        False,
        True,
        None,
        None,
    ]
    assert [normalize_lang(v) for v in ("ua", "uk-UA", "ru", "RUS")] == ["uk", "uk", "ru", "ru"]


def test_excel_scientific_notation_is_recognised() -> None:
    assert looks_like_excel_number("4.6347E+11") and looks_like_excel_number("3.65275e+11")
    assert not looks_like_excel_number("4606347000011")
