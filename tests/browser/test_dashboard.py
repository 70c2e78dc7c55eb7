"""In a real browser, the owner opens the dashboard and the reports of the demo store in ru, en and uk,
on a desktop and on a phone; the charts are drawn (bars, lines and points), not empty boxes."""

from __future__ import annotations

import pytest

from app.services import demo, payments
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser

MARKS = "svg .plot .series rect, svg .plot .series path, svg .plot .series circle"


async def drawn(page, testid: str) -> int:
    """How many data marks a chart holds (pygal puts bars, lines and dots inside ``.series``)."""
    return await page.locator(f"[data-testid={testid}]").locator(MARKS).count()


@pytest.mark.parametrize("locale", ["ru", "en", "uk"])
async def test_owner_sees_charts_on_the_dashboard_and_reports(browser, live_server, runtime, settings, locale) -> None:
    await demo.seed(settings.demo_password, payments.Keys(settings.secret_key, live_server))
    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        context = await browser.new_context(viewport={"width": width, "height": height})
        page = await context.new_page()
        await page.goto(f"{live_server}/login?lang={locale}")
        await page.fill("#f-email", demo.DEMO_EMAIL)
        await page.fill("#f-password", settings.demo_password)
        await page.click("[data-testid=login-submit]")
        await page.wait_for_url(f"{live_server}/s/demo/")
        await page.goto(f"{live_server}/lang/{locale}?next=/s/demo/%3Fperiod%3D90d")
        await page.locator("[data-testid=chart-revenue] svg").wait_for()
        assert await page.locator("html").get_attribute("lang") == locale
        for chart in ("chart-revenue", "chart-orders", "funnel"):
            assert await drawn(page, chart) >= 4, chart
        assert await page.locator("[data-testid=kpi-revenue-value]").inner_text() not in ("", "—")
        await page.screenshot(path=shot(f"dashboard-{locale}-{name}"), full_page=True)
        # The period picker swaps the body in place (htmx) and keeps the charts.
        await page.locator("[data-testid=period-presets] a").nth(4).click()
        await page.wait_for_url("**period=year**")
        await page.locator("[data-testid=chart-revenue] svg").wait_for()
        assert await drawn(page, "chart-revenue") >= 2
        await page.locator("[data-testid=nav-reports\\:show]").first.click() if name == "desktop" else None
        await page.goto(f"{live_server}/s/demo/reports?period=year")
        await page.locator("[data-testid=cohort-table]").wait_for()
        for chart in ("chart-cohorts", "chart-abc", "chart-sources"):
            assert await drawn(page, chart) >= 3, chart
        assert await page.locator("[data-testid=abc-row]").count() >= 10
        await page.screenshot(path=shot(f"reports-{locale}-{name}"), full_page=True)
        if name == "phone":  # nothing sticks out sideways on a 390 px screen except inside scrolling tables
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1
        await context.close()
