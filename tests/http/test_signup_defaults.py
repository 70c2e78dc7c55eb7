"""Sign-up: the store's currency and country follow the chosen language (uk → Ukraine and UAH)."""

from __future__ import annotations

import re

import pytest

from app.tables.control import Tenant
from tests.conftest import PASSWORD, csrf, login

pytestmark = pytest.mark.http

# What an owner in each language expects to find pre-selected (ISO 4217 / ISO 3166, not read from the code).
EXPECTED = {"uk": ("UAH", "UA"), "ru": ("RUB", "RU"), "en": ("RUB", "RU")}


def selected(html: str, name: str) -> str:
    block = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.S)
    assert block, name
    chosen = re.findall(r'<option value="([^"]+)" selected>', block.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


@pytest.mark.parametrize("locale", ["uk", "ru", "en"])
async def test_signup_page_preselects_the_page_languages_currency_and_country(client, locale) -> None:
    page = await client.get(f"/signup?lang={locale}")
    assert page.status_code == 200
    assert selected(page.text, "locale") == locale
    assert (selected(page.text, "currency"), selected(page.text, "country")) == EXPECTED[locale]
    assert "data-locale-defaults=" in page.text  # the script that follows a changed language reads this


@pytest.mark.parametrize(("locale", "slug"), [("uk", "lviv-shop"), ("ru", "kazan-shop")])
async def test_signup_without_currency_or_country_takes_the_chosen_languages(client, locale, slug) -> None:
    await client.get(f"/signup?lang={locale}")
    form = {
        "store_name": "Крамниця" if locale == "uk" else "Лавка",
        "slug": slug,
        "email": f"owner@{slug}.example.com",
        "password": PASSWORD,
        "locale": locale,
        "_csrf_token": csrf(client),
    }
    response = await client.post(f"/signup?lang={locale}", data=form)
    assert response.status_code == 303, response.text[-2000:]
    row = await Tenant.select(Tenant.currency, Tenant.country, Tenant.locale).where(Tenant.slug == slug).first()
    assert row == {"currency": EXPECTED[locale][0], "country": EXPECTED[locale][1], "locale": locale}


async def test_an_explicit_currency_and_country_win_over_the_languages(client) -> None:
    await client.get("/signup?lang=uk")
    form = {
        "store_name": "Крамниця",
        "slug": "odesa-eur",
        "email": "owner@odesa-eur.example.com",
        "password": PASSWORD,
        "locale": "uk",
        "currency": "EUR",
        "country": "PL",
        "_csrf_token": csrf(client),
    }
    response = await client.post("/signup?lang=uk", data=form)
    assert response.status_code == 303, response.text[-2000:]
    row = await Tenant.select(Tenant.currency, Tenant.country).where(Tenant.slug == "odesa-eur").first()
    assert row == {"currency": "EUR", "country": "PL"}


async def test_store_a_owner_cannot_open_store_b(client, store_a, store_b) -> None:
    await login(client, store_a.email)
    response = await client.get(f"/s/{store_b.slug}/settings/store")
    assert response.status_code == 404
    assert store_b.tenant.name not in response.text
