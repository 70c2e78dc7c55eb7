"""A store owner imports the Shopify orders export and sees the RFM map and the cohorts fill."""

from __future__ import annotations

import csv

import pytest

from tests.browser.conftest import shot
from tests.conftest import PASSWORD, SHARED, make_store

pytestmark = pytest.mark.browser

SHOPIFY = SHARED / "fixtures" / "real" / "csv" / "shopify_orders_export_devstore.csv"


@pytest.mark.skipif(not SHOPIFY.exists(), reason="shared fixtures missing")
async def test_import_shopify_orders_then_rfm_and_cohorts_fill(browser, live_server, runtime) -> None:
    rows = list(csv.DictReader(SHOPIFY.open(encoding="utf-8-sig")))
    orders = len({r["Name"] for r in rows})
    buyers = len({r["Email"].lower() for r in rows if r["Email"]})
    shop = await make_store("browser-orders", locale="en", currency="EUR", country="CA")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#f-email", shop.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{shop.slug}/")
    await page.goto(f"{live_server}/s/{shop.slug}/imports/")
    await page.click("[data-testid=order-import-link]")
    await page.set_input_files("#o-files", str(SHOPIFY))
    await page.click("[data-testid=order-import-submit]")
    await page.wait_for_selector("[data-testid=order-import-preview]")
    assert await page.locator("[data-testid=count-orders-new]").inner_text() == str(orders)
    await page.click("[data-testid=order-import-apply]")
    await page.wait_for_selector("[data-testid=order-import-done]")
    await page.screenshot(path=shot("order-import-done"), full_page=True)

    await page.goto(f"{live_server}/s/{shop.slug}/segments/")
    counts = [int(await cell.inner_text() or 0) for cell in await page.locator("[data-testid^=rfm-count-]").all()]
    assert sum(counts) == buyers == 3
    await page.goto(f"{live_server}/s/{shop.slug}/reports/?from=2025-05-01&to=2025-07-31")
    cohort = page.locator("[data-testid='cohort-2025-05-01']")
    assert await cohort.count() == 1
    assert int(await cohort.locator("td").first.inner_text()) > 0  # the cohort's size: buyers who came that month
    await page.screenshot(path=shot("order-import-cohorts"), full_page=True)
