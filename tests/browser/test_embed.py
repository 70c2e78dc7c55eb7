"""The order form inside an iframe on another origin: it sizes itself, takes an order without cookies,
and a site that is not allowed cannot show it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, free_port, shot
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.browser


def store_site(live_server: str, slug: str) -> tuple[ThreadingHTTPServer, int]:
    """A store's own page on another origin, carrying the embed snippet."""
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body>'
        f"<h1>Our shop</h1><p>Order below.</p>"
        f'<script src="{live_server}/embed.js" data-store="{slug}" data-form="order" data-timeout="4000" '
        f'data-link-text="Open the form" async></script><p id="after">Footer</p></body></html>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


async def test_embedded_form_on_another_origin_takes_an_order(live_server, runtime, tmp_path) -> None:
    from playwright.async_api import async_playwright

    path = chromium_path()
    if path is None:
        pytest.skip("chromium is not installed")
    shop = await seeded_store("embed-shop", tmp_path)
    server, port = store_site(live_server, shop.slug)
    other, other_port = store_site(live_server, shop.slug)
    async with tenancy.bind_tenant(shop.tenant):
        from app.tables.forms import OrderForm

        await OrderForm.update({OrderForm.allowed_origins: [f"http://localhost:{port}"]}).where(
            OrderForm.code == "order"
        )
    try:
        async with async_playwright() as pw:
            # Chromium with third-party cookies blocked: the form must not need them.
            browser = await pw.chromium.launch(
                executable_path=path, args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"]
            )
            context = await browser.new_context(viewport={"width": 390, "height": 900})
            page = await context.new_page()
            await page.goto(f"http://localhost:{port}/")
            frame_el = page.locator("iframe")
            await frame_el.wait_for()
            frame = page.frame_locator("iframe")
            await frame.locator("[data-testid=order-form]").wait_for()
            await page.wait_for_timeout(500)
            before = (await frame_el.bounding_box())["height"]
            await frame.locator("[data-testid=qty-K-1]").fill("2")
            await frame.locator("[data-testid=field-name]").fill("Ольга")
            await frame.locator("[data-testid=field-phone]").fill("12")
            await frame.locator("[data-testid=order-submit]").click()
            await frame.locator("[data-testid=error-phone]").wait_for()
            await page.wait_for_timeout(500)
            after = (await frame_el.bounding_box())["height"]
            assert after > before, "the iframe grows with the error messages"
            await page.screenshot(path=shot("embed-errors"), full_page=True)
            await frame.locator("[data-testid=field-phone]").fill("+7 912 765-43-21")
            await frame.locator("[data-testid=order-submit]").click()
            await frame.locator("[data-testid=order-number]").wait_for()
            await page.screenshot(path=shot("embed-done"), full_page=True)
            assert await context.cookies(live_server) == []

            blocked = await context.new_page()
            await blocked.goto(f"http://127.0.0.1:{other_port}/")
            await blocked.locator("text=Open the form").wait_for(timeout=15_000)
            assert await blocked.locator("iframe").is_hidden()
            await browser.close()
    finally:
        server.shutdown()
        other.shutdown()
    async with tenancy.bind_tenant(shop.tenant):
        rows = await Order.select(Order.phone, Order.customer_name)
        assert rows == [{"phone": "+79127654321", "customer_name": "Ольга"}]
