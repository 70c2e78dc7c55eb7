"""A person opens the customer base, a customer card, the RFM map, a segment and the portrait in ru, en and uk."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from app.services import customers, orders, rfm, segments
from app.tables.catalog import Category, Offer, Product
from app.tables.customers import Customer
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.browser.conftest import shot
from tests.clock import store_day
from tests.conftest import PASSWORD, make_store

pytestmark = pytest.mark.browser

# What sticks out past a phone's width (for the failure message).
WIDE = (
    "[...document.querySelectorAll('body *')].filter(e => !e.parentElement.closest('.table-scroll')"
    " && e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className).slice(0, 12)"
)
CITIES = ["Казань", "Москва", "Самара", "Пермь"]


async def seed(slug: str) -> dict:
    """Sixty customers over a year: the loyal ones in Kazan start with teapots and come back often."""
    store = await make_store(slug, locale="ru")
    rng = random.Random(7)
    now = datetime.now(UTC)
    async with tenancy.bind_tenant(store.tenant):
        offers = {}
        for name in ("Чайники", "Кружки", "Чай"):
            cat = await Category.insert(Category(name=name, path=name, updated_at=now)).returning(Category.id)
            prod = await Product.insert(
                Product(name=name[:-1], category=cat[0]["id"], created_at=now, updated_at=now)
            ).returning(Product.id)
            offer = await Offer.insert(
                Offer(
                    product=prod[0]["id"],
                    name=name[:-1],
                    sku=name[:3],
                    price_minor=150000,
                    created_at=now,
                    updated_at=now,
                )
            ).returning(Offer.id)
            offers[name] = offer[0]["id"]
        segment_id, _ = await segments.save(
            None,
            "Постоянные",
            "dynamic",
            (await segments.validate_rules([{"field": "orders_count", "op": "gte", "value": "3"}], "RUB"))[0],
        )
        first = None
        for i in range(60):
            loyal = i < 20
            category = "Чайники" if loyal and i % 5 else rng.choice(["Кружки", "Чай"])
            count = rng.randint(4, 9) if loyal else rng.randint(1, 2)
            start = rng.randint(20, 360)
            for n in range(count):
                age = max(1, start - n * rng.randint(10, 40)) if loyal else start + n * 30
                line = orders.LineDraft(offers[category if n == 0 else "Чай"], category, None, 150000 + i * 1000, 1)
                order, _ = await orders.create_order(
                    orders.OrderDraft(
                        lines=(line,),
                        currency="RUB",
                        customer_name=f"Клиент {i:02d}",
                        phone=f"+7912100{i:04d}",
                        email=f"client{i}@example.com",
                    )
                )
                await Order.update({Order.created_at: now - timedelta(days=age)}).where(Order.id == order["id"])
            cid = order["customer"]
            first = first or cid
            city = "Казань" if loyal and i % 4 else rng.choice(CITIES)
            await Customer.update({Customer.city: city}).where(Customer.id == cid)
            await customers.recompute_totals([cid])
            if loyal:
                await customers.set_tags(cid, "vip")
            if i % 9 == 0:
                segment = await segments.get(segment_id)
                await segments.snapshot(segment, day=store_day(7 - i // 9))  # the store's days, not UTC's
        await customers.add_note(first, "Любит зелёный чай, звонить после 18:00", actor_id=None, actor="owner")
        await customers.add_task(first, "Предложить новую коллекцию", "2026-12-10", actor_id=None, actor="owner")
        await rfm.refresh()
        await segments.snapshot(await segments.get(segment_id))
    return {"store": store, "customer": first, "segment": segment_id}


async def test_customer_screens_show_charts_in_three_languages(browser, live_server, runtime) -> None:
    data = await seed("browser-customers")
    store = data["store"]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#f-email", store.email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/{store.slug}/")
    base = f"{live_server}/s/{store.slug}"
    for locale in ("ru", "en", "uk"):
        await page.goto(f"{live_server}/lang/{locale}?next=/s/{store.slug}/customers/")
        await page.wait_for_selector("[data-testid=customers-table]")
        assert await page.locator("[data-testid=customer-row]").count() == 50
        await page.fill("[data-testid=customer-search]", "Клиент 07")
        await expect(page.locator("[data-testid=customer-row]")).to_have_count(1)
        await page.screenshot(path=shot(f"customers-list-{locale}"), full_page=True)

        await page.goto(f"{base}/customers/{data['customer']}")
        assert await page.locator("[data-testid=event-note]").count() == 1
        assert await page.locator("[data-testid=event-order_placed]").count() >= 4
        assert await page.locator("html").get_attribute("lang") == locale
        await page.screenshot(path=shot(f"customer-card-{locale}"), full_page=True)

        await page.goto(f"{base}/segments/")
        cells = page.locator(".rfm-cell")
        assert await cells.count() == 25
        assert await page.locator(".rfm-cell:not(.heat-0)").count() >= 3
        await page.screenshot(path=shot(f"segments-rfm-{locale}"), full_page=True)

        await page.goto(f"{base}/segments/{data['segment']}")
        chart = page.locator("[data-testid=segment-history] svg")
        assert await chart.count() == 1
        assert (await chart.bounding_box())["height"] > 100
        assert await page.locator("[data-testid=segment-history] svg .line").count() >= 1
        await page.screenshot(path=shot(f"segment-{locale}"), full_page=True)

        await page.goto(f"{base}/segments/portrait?group=segment:{data['segment']}")
        bars = page.locator("[data-testid=portrait-chart] svg .rect")
        assert await bars.count() >= 3, "the lift chart has bars"
        assert (await page.locator("[data-testid=portrait-chart] svg").bounding_box())["height"] > 100
        assert await page.locator("[data-testid=trait-city]").count() >= 1
        await page.screenshot(path=shot(f"portrait-{locale}"), full_page=True)

    # The live count follows the rule editor as rules change (htmx, no reload).
    await page.goto(f"{base}/segments/new")
    await page.select_option("[data-testid=rule-0-field]", "orders_count")
    await page.wait_for_selector("[data-testid=rule-0-value]")
    await page.fill("[data-testid=rule-0-value]", "4")
    await expect(page.locator("[data-testid=segment-count]")).to_contain_text(re.compile(r"\d"))
    await page.screenshot(path=shot("segment-editor-uk"), full_page=True)
    await context.close()

    # A phone: the list and the card stay usable at 390 px.
    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    small = await phone.new_page()
    await small.goto(f"{live_server}/login")
    await small.fill("#f-email", store.email)
    await small.fill("#f-password", PASSWORD)
    await small.click("[data-testid=login-submit]")
    await small.wait_for_url(f"{live_server}/s/{store.slug}/")
    await small.goto(f"{base}/customers/{data['customer']}")
    await small.screenshot(path=shot("customer-card-390"), full_page=True)
    wide = await small.evaluate(WIDE)
    assert await small.evaluate("document.documentElement.scrollWidth") <= 390 + 1, wide
    await small.goto(f"{base}/segments/")
    await small.screenshot(path=shot("segments-rfm-390"), full_page=True)
    wide = await small.evaluate(WIDE)
    assert await small.evaluate("document.documentElement.scrollWidth") <= 390 + 1, wide
    await phone.close()
