"""In a real browser at 1280 px, in ru and uk: every badge on the order list and the board, and the board's
text, reads at WCAG AA (4.5:1) as the browser paints it; the pages are screenshotted for a look."""

from __future__ import annotations

import pytest

from app.services import demo, payments
from tests.browser.conftest import shot
from tests.unit.test_contrast import AA, parse_color, ratio

pytestmark = pytest.mark.browser

# The colour each element's text gets, and the first non-transparent background up its ancestors.
PAIRS_JS = """
(selector) => Array.from(document.querySelectorAll(selector)).filter(e => e.offsetParent && e.innerText.trim())
  .map(e => {
    let bg = 'rgba(0, 0, 0, 0)', node = e;
    while (node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
      bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
    }
    return [e.innerText.trim().slice(0, 40), getComputedStyle(e).color, bg];
  })
"""


def rgb(css: str) -> tuple[int, int, int]:
    color = parse_color(css.replace(" ", ""))
    assert color is not None, css
    return color


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_order_list_and_board_badges_read_at_aa(browser, live_server, runtime, settings, locale) -> None:
    await demo.seed(settings.demo_password, payments.Keys(settings.secret_key, live_server))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/login?lang={locale}")
    await page.fill("#f-email", demo.DEMO_EMAIL)
    await page.fill("#f-password", settings.demo_password)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/demo/")
    for view, selector in (("list", ".badge"), ("board", ".badge, .board-card span, .board-card strong")):
        await page.goto(f"{live_server}/lang/{locale}?next=/s/demo/orders%3Fview%3D{view}")
        assert await page.locator("html").get_attribute("lang") == locale
        await page.screenshot(path=shot(f"orders-{view}-{locale}-1280"), full_page=True)
        pairs = await page.evaluate(PAIRS_JS, selector)
        if view == "list":
            assert len(pairs) >= 5  # the demo's orders have status badges
        low = [(text, fg, bg, round(ratio(rgb(fg), rgb(bg)), 2)) for text, fg, bg in pairs]
        assert [p for p in low if p[3] < AA] == [], view
    await context.close()
