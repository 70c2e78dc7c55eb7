"""A person uploads a feed, watches the progress bar to the end, applies it and sees the goods."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot
from tests.conftest import PASSWORD, make_store

pytestmark = pytest.mark.browser


def write_feed(path, offers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><name>B</name>'
            '<categories><category id="1">Одежда</category><category id="2" parentId="1">Платья</category>'
            "</categories><offers>\n"
        )
        for i in range(offers):
            out.write(
                f'<offer id="b{i}"><name>Платье {i}</name><price>{1000 + i}</price><currencyId>RUB</currencyId>'
                f"<categoryId>2</categoryId><vendorCode>DR-{i:05d}</vendorCode><count>{i % 5}</count>"
                f"<description>{'Лёгкое летнее платье. ' * 20}</description></offer>\n"
            )
        out.write("</offers></shop></yml_catalog>\n")


async def test_upload_watch_progress_apply_and_browse(browser, live_server, runtime, tmp_path) -> None:
    shop = await make_store("browser-catalog", locale="ru")
    feed = tmp_path / "dresses.xml"
    write_feed(feed, 15_000)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#f-email", shop.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{shop.slug}/")
    await page.click("[data-testid='nav-imports:list']")
    await page.set_input_files("#f-files", str(feed))
    await page.click("[data-testid=import-submit]")
    await page.wait_for_url(f"{live_server}/s/{shop.slug}/imports/*")

    seen: list[int] = []
    status = page.locator("[data-testid=job-status]")
    for _ in range(1800):  # generous: CI machines can be busy
        current = await status.get_attribute("data-status")
        bar = page.locator("[data-testid=progress]")
        if await bar.count():
            seen.append(int(await bar.get_attribute("value") or 0))
        if current == "previewed":
            break
        await page.wait_for_timeout(100)
    assert await status.get_attribute("data-status") == "previewed"
    assert seen == sorted(seen), "the progress bar never goes backwards"
    assert await page.locator("[data-testid=count-new]").inner_text() in {"15 000", "15\u00a0000", "15\u202f000"}
    await page.screenshot(path=shot("import-preview"), full_page=True)

    await page.click("[data-testid=import-apply]")
    await page.locator("[data-testid=import-done]").wait_for(timeout=180_000)
    await page.click("[data-testid='nav-products:list']")
    await page.wait_for_url(f"{live_server}/s/{shop.slug}/products/")
    assert "15" in await page.locator("[data-testid=product-total]").inner_text()
    await page.fill("[data-testid=product-search]", "DR-00042")
    rows = page.locator("[data-testid=product-row]")
    for _ in range(100):  # the search runs as you type (CSP forbids eval, so no wait_for_function)
        if await rows.count() == 1:
            break
        await page.wait_for_timeout(100)
    assert await rows.count() == 1
    assert "Платье 42" in await page.locator("[data-testid=product-row]").inner_text()
    await page.screenshot(path=shot("products"), full_page=True)
    await context.close()
