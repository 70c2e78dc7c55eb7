"""A person signs up in a real browser, works in three languages, and cannot reach another store."""

from __future__ import annotations

import asyncpg
import pytest

from app.tenancy.runtime import lookup_tenant
from tests.browser.conftest import shot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def test_signup_in_browser_creates_isolated_store(page, live_server, runtime, settings, store_a) -> None:
    await page.goto(f"{live_server}/signup?lang=en")
    await page.fill("#f-store_name", "Лавка чудес")
    await page.fill("#f-slug", "wonder-shop")
    await page.select_option("#f-currency", "UAH")
    await page.fill("#f-email", "owner@wonder-shop.example.com")
    await page.fill("#f-password", "short")
    await page.click("[data-testid=signup-submit]")
    error = page.locator("[data-testid=error-password]")
    await error.wait_for()
    assert "at least 10" in (await error.inner_text())
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=signup-submit]")
    await page.wait_for_url(f"{live_server}/s/wonder-shop/")
    assert await page.locator("[data-testid=store-name]").inner_text() == "Лавка чудес"
    await page.screenshot(path=shot("dashboard-phone"), full_page=True)

    name = f"{settings.db.prefix}_s_wonder_shop"
    conn = await asyncpg.connect(runtime.primary_dsn)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        assert await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
    finally:
        await conn.close()
    wonder = await lookup_tenant("wonder-shop", fresh=True)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(
            runtime.primary_dsn, user=wonder.role, password=wonder.password, database=store_a.tenant.database
        )

    response = await page.goto(f"{live_server}/s/{store_a.slug}/")
    assert response.status == 404

    await page.goto(f"{live_server}/s/wonder-shop/")
    await page.click("[data-testid=lang-uk]")
    await page.wait_for_load_state()
    assert await page.locator("html").get_attribute("lang") == "uk"
    assert "Зведення" in await page.locator(".topbar-title").inner_text()


async def test_login_and_settings_at_desktop_width(browser, live_server, store_b) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"{live_server}/login?lang=en")
    await page.fill("#f-email", store_b.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{store_b.slug}/")
    assert await page.locator("html").get_attribute("lang") == "uk"  # the store's default language
    await page.click("[data-testid=lang-en]")
    await page.wait_for_load_state()
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.click("[data-testid='nav-settings:index']")
    await page.wait_for_url(f"{live_server}/s/{store_b.slug}/settings/store")
    await page.fill("#f-name", "")
    await page.click("[data-testid=store-save]")
    await page.locator("[data-testid=error-name]").wait_for()
    await page.fill("#f-name", "Store B renamed")
    await page.click("[data-testid=store-save]")
    await page.locator("[data-testid=saved]").wait_for()
    await page.screenshot(path=shot("settings-desktop"), full_page=True)
    await context.close()
