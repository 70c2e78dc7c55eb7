"""In a real browser, in Ukrainian: the owner renames a payment connection per language and disables it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from app.services import orders, payments
from app.tenancy import runtime as tenancy
from tests.browser.conftest import shot
from tests.conftest import PASSWORD, make_store

pytestmark = pytest.mark.browser


async def test_owner_renames_and_disables_a_connection_in_ukrainian(browser, live_server, runtime, settings) -> None:
    shop = await make_store("pc-browser", locale="uk", currency="UAH", country="UA")
    keys = payments.Keys(settings.secret_key, live_server)
    async with tenancy.bind_tenant(shop.tenant):
        connection_id = await payments.connect("sandbox", {"secret": "sandbox-secret-0123456789"}, keys=keys)
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),),
                currency="UAH",
                phone="+380501234567",
                locale="uk",
            )
        )
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    staff = await context.new_page()
    await staff.goto(f"{live_server}/login?lang=uk")
    await staff.fill("#f-email", shop.email)
    await staff.fill("#f-password", PASSWORD)
    await staff.click("[data-testid=login-submit]")
    await staff.wait_for_url(f"{live_server}/s/{shop.slug}/")
    await staff.goto(f"{live_server}/s/{shop.slug}/settings/payments/")
    item = staff.locator(f"[data-testid=connection-{connection_id}]")
    assert await item.locator("[data-testid=connection-mode]").inner_text() == "Тестовий"
    await item.locator(f"[data-testid=edit-connection-{connection_id}] summary").click()
    form = item.locator("[data-testid=edit-form]")
    await form.locator("[data-testid=edit-name_uk]").fill("Оплата карткою")
    await form.locator("[data-testid=edit-name_ru]").fill("Оплата картой")
    await form.locator("[data-testid=edit-name_en]").fill("Card")
    await form.locator("[data-testid=edit-save]").click()
    item = staff.locator(f"[data-testid=connection-{connection_id}]")
    await expect(item.locator("[data-testid=connection-name]")).to_have_text("Оплата карткою")
    await staff.screenshot(path=shot("payment-connection-renamed-uk"), full_page=True)

    shopper = await context.new_page()
    await shopper.goto(f"{live_server}/f/{shop.slug}/o/{order['token']}")
    pay = shopper.locator("[data-testid=pay-sandbox]")
    assert "Оплата карткою" in await pay.inner_text()
    assert "гроші не списуються" in await shopper.locator("[data-testid=test-payment-note]").inner_text()

    await item.locator("[data-testid=disable-connection]").click()
    await expect(item.locator("[data-testid=connection-disabled]")).to_have_text("Вимкнено")
    await staff.screenshot(path=shot("payment-connection-disabled-uk"), full_page=True)
    await shopper.reload()
    await shopper.locator("[data-testid=order-total]").wait_for()
    assert await shopper.locator("[data-testid=pay-sandbox]").count() == 0
    await context.close()
