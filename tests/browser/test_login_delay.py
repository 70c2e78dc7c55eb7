"""In a real browser: a sign-in that must wait says so on the form (htmx swaps the 429), in Ukrainian
and Russian, and the owner signs in once the wait is over."""

from __future__ import annotations

import pytest

from app.services.auth import pair_key
from app.tables.control import KvEntry
from tests.conftest import PASSWORD, make_store

pytestmark = pytest.mark.browser

THROTTLED = {
    "uk": "Забагато невдалих спроб. Спробуйте ще раз через",
    "ru": "Слишком много неудачных попыток. Повторите через",
}


async def _pretend_failures(email: str, failures: int) -> str:
    """Fifteen failures from the browser's address just now: the next try owes the longest wait."""
    key = f"ratelimit:{pair_key(email, '127.0.0.1')}"
    await KvEntry.raw(
        "INSERT INTO kv_entry (key, value, expires_at) VALUES ({}, convert_to({}, 'UTF8'), now() + interval '1 day') "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        key,
        str(failures),
    )
    return key


@pytest.mark.parametrize("lang", ["uk", "ru"])
async def test_a_sign_in_that_must_wait_says_so_on_the_form(page, live_server, runtime, lang: str) -> None:
    store = await make_store(f"browser-delay-{lang}")
    key = await _pretend_failures(store.email, 15)
    await page.goto(f"{live_server}/lang/{lang}?next=/login")  # the language chooser, as a person would
    await page.fill("#f-email", store.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    form = page.locator("[data-testid=login-form]")
    await form.get_by_text(THROTTLED[lang]).wait_for()
    assert page.url == f"{live_server}/login"
    assert await page.locator(".toast-error").count() == 0  # said on the form, not as "request failed"

    await KvEntry.delete().where(KvEntry.key == key)  # the wait is over
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{store.slug}/")
