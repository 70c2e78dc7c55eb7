"""Locale negotiation and Babel formatting of money, numbers and dates."""

from __future__ import annotations

from datetime import date

import pytest

from app import i18n

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("uk-UA,uk;q=0.9,ru;q=0.8,en;q=0.5", "uk"),
        ("de-DE,en-US;q=0.8", "en"),
        ("ru", "ru"),
        ("en;q=0.1, ru;q=0.9", "ru"),
        ("fr-FR", None),
        ("", None),
        ("garbage;;;q=abc", None),
    ],
)
def test_accept_language_negotiation(header: str, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


def test_money_is_minor_units_formatted_by_locale() -> None:
    assert i18n.format_money(123450, "RUB", "ru").replace("\xa0", " ").replace("\u202f", " ") == "1 234,50 ₽"
    assert i18n.format_money(123450, "USD", "en") == "$1,234.50"
    assert "₴" in i18n.format_money(99, "UAH", "uk")
    assert i18n.format_money(500, "JPY", "en") == "¥500"


def test_dates_follow_the_locale() -> None:
    day = date(2026, 3, 8)
    assert "марта" in i18n.format_date(day, "long", "ru")
    assert "березня" in i18n.format_date(day, "long", "uk")
    assert "March" in i18n.format_date(day, "long", "en")


def test_gettext_follows_the_bound_locale() -> None:
    with i18n.use_locale("uk"):
        assert i18n.gettext("Log in") == "Увійти"
    with i18n.use_locale("ru"):
        assert i18n.gettext("Too long: at most %(max)s characters.", max=5) == "Слишком длинно: не больше 5 символов."
    with i18n.use_locale("en"):
        assert i18n.gettext("Log in") == "Log in"


def test_a_too_short_text_reads_correctly_in_ukrainian_for_two() -> None:
    # "щонайменше 2 символів" is wrong Ukrainian; "не менше" governs the genitive for every number.
    from app.forms import rules

    with i18n.use_locale("uk"), pytest.raises(rules.Invalid) as refused:
        rules.text("a", min_length=2)
    assert refused.value.message == "Закоротко: не менше 2 символів."
