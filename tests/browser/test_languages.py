"""Russian and Ukrainian in a real browser: inline edits show their toast (never "request failed"), and an
order placed in Ukrainian from an English browser keeps speaking Ukrainian."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from app.services.imports import jobs as import_jobs
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.browser.conftest import shot
from tests.conftest import PASSWORD, StoreFixture, make_store
from tests.factories import place_order

pytestmark = pytest.mark.browser

FEED = (
    '<yml_catalog><shop><offers><offer id="kettle"><name>Чайник</name><price>1290.50</price>'
    "<vendorCode>K-1</vendorCode></offer></offers></shop></yml_catalog>"
)
# The translators' words, written out here rather than read through our own catalogs.
STATUS_CHANGED = {"ru": "Статус изменён.", "uk": "Статус змінено."}
SAVED = {"ru": "Сохранено.", "uk": "Збережено."}
APPROVAL = {"ru": "Согласование", "uk": "Погодження"}


async def seeded(slug: str, locale: str, tmp: Path) -> StoreFixture:
    store = await make_store(slug, locale=locale, currency="UAH" if locale == "uk" else "RUB")
    feed = tmp / f"{slug}.xml"
    feed.write_text(FEED, encoding="utf-8")
    async with tenancy.bind_tenant(store.tenant):
        job_id = await import_jobs.create_job([feed], tmp)
        await import_jobs.request_apply_now(job_id)
        assert (await import_jobs.run_job(job_id))["status"] == "done"
    return store


async def staff_page(browser, live_server: str, store: StoreFixture, locale: str):
    # The browser says English: the staff pages follow the store's language (ru or uk).
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#f-email", store.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{store.slug}/")
    assert await page.get_attribute("html", "lang") == locale
    return context, page


async def shows_toast(page, text: str) -> None:
    await expect(page.locator("#toasts .toast").first).to_have_text(text)
    assert await page.locator("#toasts .toast-error").count() == 0


async def status_of(store: StoreFixture, order_id: int) -> str:
    async with tenancy.bind_tenant(store.tenant):
        row = await Order.select(Order.status.code).where(Order.id == order_id).first()
    return row["status.code"]


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_status_change_from_the_order_card_shows_its_toast(
    browser, live_server, runtime, tmp_path, locale: str
) -> None:
    store = await seeded(f"browser-card-{locale}", locale, tmp_path)
    order = await place_order(store, name="Олена")
    context, page = await staff_page(browser, live_server, store, locale)
    try:
        await page.goto(f"{live_server}/s/{store.slug}/orders/{order['id']}")
        await page.select_option("[data-testid=status-select]", "approval")
        await page.click("[data-testid=status-save]")
        await shows_toast(page, STATUS_CHANGED[locale])
        await expect(page.locator("[data-testid=order-status]")).to_have_text(APPROVAL[locale])
        assert await status_of(store, order["id"]) == "approval"
    finally:
        await context.close()


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_status_change_from_the_board_shows_its_toast_and_moves_the_card(
    browser, live_server, runtime, tmp_path, locale: str
) -> None:
    store = await seeded(f"browser-board-{locale}", locale, tmp_path)
    order = await place_order(store, name="Дмитро")
    context, page = await staff_page(browser, live_server, store, locale)
    try:
        await page.goto(f"{live_server}/s/{store.slug}/orders/?view=board")
        card = page.locator(f"#board-order-{order['id']}")
        await card.locator("[data-testid=board-move-select]").select_option("approval")
        await card.locator("[data-testid=board-move]").click()
        await shows_toast(page, STATUS_CHANGED[locale])
        moved = page.locator(f"[data-testid=board-col-approval] #board-order-{order['id']}")
        await expect(moved).to_have_count(1)
        assert await status_of(store, order["id"]) == "approval"
        await page.screenshot(path=shot(f"board-move-{locale}"), full_page=True)
    finally:
        await context.close()


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_price_saved_on_the_product_card_shows_its_toast(
    browser, live_server, runtime, tmp_path, locale: str
) -> None:
    store = await seeded(f"browser-price-{locale}", locale, tmp_path)
    context, page = await staff_page(browser, live_server, store, locale)
    try:
        await page.goto(f"{live_server}/s/{store.slug}/products/")
        await page.locator("[data-testid=product-row] a").first.click()
        await page.wait_for_url(re.compile(rf".*/s/{store.slug}/products/\d+$"))
        await page.fill("[data-testid=offer-form] input[name=price]", "1499,00")
        await page.click("[data-testid=offer-save]")
        await shows_toast(page, SAVED[locale])
        await expect(page.locator("[data-testid=saved]")).to_have_count(1)
        await expect(page.locator("[data-testid=offer-form] input[name=price]")).to_have_value("1499.00")
    finally:
        await context.close()


async def test_an_order_placed_in_ukrainian_from_an_english_browser_stays_ukrainian(
    browser, live_server, runtime, tmp_path
) -> None:
    store = await seeded("browser-lang-shopper", "ru", tmp_path)
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = await context.new_page()
    try:
        assert await page.evaluate("navigator.language") == "en-US"
        await page.goto(f"{live_server}/f/{store.slug}/order?lang=uk")
        assert await page.get_attribute("html", "lang") == "uk"
        await page.fill("[data-testid=qty-K-1]", "1")
        await page.fill("[data-testid=field-name]", "Оксана")
        await page.fill("[data-testid=field-phone]", "+7 912 345-67-80")
        await page.click("[data-testid=order-submit]")
        await page.wait_for_url(re.compile(rf".*/f/{store.slug}/o/[^/?]+(\?.*)?$"))
        status_url = page.url.split("?")[0]
        await page.close()

        later = await context.new_page()  # a later visit from the same English browser, without ?lang
        await later.goto(status_url)
        assert await later.get_attribute("html", "lang") == "uk"
        await expect(later.locator("[data-testid=order-page]")).to_contain_text("Збережіть цю сторінку")
        await later.screenshot(path=shot("order-status-uk-from-en-browser"), full_page=True)
        await later.goto(f"{status_url}?lang=en")
        assert await later.get_attribute("html", "lang") == "en"
    finally:
        await context.close()


BACK_TO_FORM = {"ru": "Перейти к форме заказа магазина", "uk": "Перейти до форми замовлення магазину"}


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_shoppers_404_leads_back_to_the_form_through_a_whole_button(browser, live_server, locale) -> None:
    store = await make_store(f"browser-404-{locale}", locale=locale)
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale=locale)
    page = await context.new_page()
    await page.goto(f"{live_server}/f/{store.slug}/o/no-such-order")
    back = page.locator("[data-testid=back-to-form]")
    await expect(back).to_have_text(BACK_TO_FORM[locale])
    box = await back.bounding_box()
    words = await back.evaluate(
        "a => { const r = document.createRange(); r.selectNodeContents(a); return r.getBoundingClientRect().height; }"
    )
    assert box["height"] >= 44 and box["height"] > words  # a button around its words, not a pill behind a line
    await back.click()
    await page.wait_for_url(re.compile(rf"/f/{store.slug}/(order)?(\?.*)?$"))  # the form, not the missing order
    await context.close()
