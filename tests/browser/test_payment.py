"""In a real browser, the demo store's order is paid through the sandbox gateway and shows as paid."""

from __future__ import annotations

import pytest

from app.services import demo, payments
from app.tables.forms import OrderForm
from app.tables.payments import Payment
from app.tenancy import runtime as tenancy
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, shot
from tests.browser.test_embed import store_site
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.browser


async def test_demo_order_paid_through_the_sandbox(browser, live_server, runtime, settings) -> None:
    await demo.seed(settings.demo_password, payments.Keys(settings.secret_key, live_server))
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{live_server}/f/demo/order?lang=en")
    await page.locator("[data-testid=qty-DM-001]").fill("1")
    await page.locator("[data-testid=field-name]").fill("Alex")
    await page.locator("[data-testid=field-phone]").fill("+7 912 300 40 50")
    await page.locator("[data-testid=delivery-pickup]").check()
    await page.locator("[data-testid=order-submit]").click()
    await page.locator("[data-testid=order-number]").wait_for()
    number = (await page.locator("[data-testid=order-number]").inner_text()).split()[-1]
    order_url = page.url
    await page.locator("[data-testid=pay-sandbox]").click()
    await page.locator("[data-testid=sandbox-page]").wait_for()
    await page.screenshot(path=shot("sandbox-page"), full_page=True)
    await page.locator("[data-testid=sandbox-pay]").click()
    await page.locator("[data-testid=order-paid]").wait_for()
    assert page.url.split("?")[0] == order_url.split("?")[0]

    staff = await context.new_page()
    await staff.goto(f"{live_server}/login?lang=en")
    await staff.fill("#f-email", demo.DEMO_EMAIL)
    await staff.fill("#f-password", settings.demo_password)
    await staff.click("[data-testid=login-submit]")
    await staff.wait_for_url(f"{live_server}/s/demo/")
    await staff.goto(f"{live_server}/s/demo/orders/?q={number}")
    await staff.locator("[data-testid=order-row] a").first.click()
    await staff.locator("[data-testid=order-payments]").wait_for()
    status = staff.locator("[data-testid=payment-status]").first
    assert (
        await status.get_attribute("data-status") == "succeeded" and await status.inner_text() == "Оплачен"
    )  # the demo staff read Russian
    assert await staff.locator("[data-testid=mail-link-form]").is_visible()
    await staff.screenshot(path=shot("order-card-paid"), full_page=True)

    # The owner checks the sandbox connection from the settings screen (an htmx button, no page reload).
    await staff.goto(f"{live_server}/s/demo/settings/payments/")
    await staff.locator("[data-testid=check-connection]").first.click()
    result = staff.locator("[data-testid=check-result]").first
    await result.wait_for()
    assert await result.get_attribute("data-state") == "ok"
    await staff.screenshot(path=shot("payment-settings-checked"), full_page=True)
    await context.close()


async def test_a_double_click_on_pay_in_an_iframe_charges_once(live_server, runtime, settings, tmp_path) -> None:
    """The form embedded on the store's site; the shopper double-clicks Pay; one payment, paid once."""
    from playwright.async_api import async_playwright

    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed")
    shop = await seeded_store("embed-pay", tmp_path)
    server, port = store_site(live_server, shop.slug)
    async with tenancy.bind_tenant(shop.tenant):
        await OrderForm.update({OrderForm.allowed_origins: [f"http://localhost:{port}"]}).where(
            OrderForm.code == "order"
        )
        await payments.connect(
            "sandbox",
            {"secret": "sandbox-secret-0123456789"},
            keys=payments.Keys(settings.secret_key, live_server),
            name="Demo",
        )
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(viewport={"width": 390, "height": 900})).new_page()
            await page.goto(f"http://localhost:{port}/")
            frame = page.frame_locator("iframe")
            await frame.locator("[data-testid=qty-M-1]").fill("1")
            await frame.locator("[data-testid=field-name]").fill("Pat")
            await frame.locator("[data-testid=field-phone]").fill("+7 912 765-43-22")
            await frame.locator("[data-testid=delivery-pickup]").check()
            await frame.locator("[data-testid=order-submit]").click()
            await frame.locator("[data-testid=pay-sandbox]").dblclick()
            await frame.locator("[data-testid=sandbox-pay]").click()
            await frame.locator("[data-testid=order-paid]").wait_for()
            await page.screenshot(path=shot("embed-paid-once"), full_page=True)
            await frame.locator("[data-testid=pay-sandbox]").wait_for(state="detached")
            await browser.close()
    finally:
        server.shutdown()
    async with tenancy.bind_tenant(shop.tenant):
        assert await Payment.select(Payment.status, Payment.amount_minor) == [
            {"status": "succeeded", "amount_minor": 35000}
        ]
