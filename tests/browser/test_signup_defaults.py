"""In a real browser: choosing the sign-up language moves currency and country to that language's, unless the
owner already picked others."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("page_locale", "chosen", "expected"), [("ru", "uk", ("UAH", "UA")), ("uk", "ru", ("RUB", "RU"))]
)
async def test_choosing_the_language_moves_currency_and_country(
    page, live_server, page_locale, chosen, expected
) -> None:
    await page.goto(f"{live_server}/signup?lang={page_locale}")
    await page.select_option("#f-locale", chosen)
    assert (await page.input_value("#f-currency"), await page.input_value("#f-country")) == expected


@pytest.mark.parametrize("page_locale", ["ru", "uk"])
async def test_a_currency_the_owner_picked_stays_when_the_language_changes(page, live_server, page_locale) -> None:
    await page.goto(f"{live_server}/signup?lang={page_locale}")
    await page.select_option("#f-currency", "EUR")
    await page.select_option("#f-locale", "en")
    assert await page.input_value("#f-currency") == "EUR"
