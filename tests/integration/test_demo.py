"""The demo store: goods, months of orders, an embeddable form; seeding twice changes nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.services import balances, demo, demo_history, payments
from app.tables.catalog import Offer
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import make_store
from tests.integration.test_analytics import assert_rollups_match

pytestmark = pytest.mark.integration


async def test_demo_store_has_goods_orders_over_months_and_an_embeddable_form(runtime) -> None:
    keys = payments.Keys("t" * 48, "http://127.0.0.1:8000")
    await demo.seed("demo-demo-demo", keys)
    await demo.seed("demo-demo-demo", keys)
    tenant = await tenancy.lookup_tenant(demo.DEMO_SLUG, fresh=True)
    async with tenancy.bind_tenant(tenant):
        assert await Offer.count() == len(demo.GOODS)
        assert await Order.count() >= 120  # other tests in the session may order from the demo too
        oldest = await Order.select(Order.created_at).order_by(Order.created_at).first()
        assert oldest["created_at"] < datetime.now(UTC) - timedelta(days=60)
        form = (
            await OrderForm.select(OrderForm.allowed_origins)
            .where(OrderForm.code == "order")
            .output(load_json=True)
            .first()
        )
        assert form["allowed_origins"] == demo.DEMO_ORIGINS


async def test_demo_store_has_a_year_of_history_that_every_screen_can_show(runtime) -> None:
    keys = payments.Keys("t" * 48, "http://127.0.0.1:8000")
    await demo.seed("demo-demo-demo", keys)
    tenant = await tenancy.lookup_tenant(demo.DEMO_SLUG, fresh=True)
    async with tenancy.bind_tenant(tenant):
        oldest = await Order.select(Order.created_at).order_by(Order.created_at).first()
        assert oldest["created_at"] < datetime.now(UTC) - timedelta(days=300)
        facts = (
            await Order.raw(
                "SELECT count(*) AS customers, count(*) FILTER (WHERE orders_count >= 2) AS repeat,"
                " count(DISTINCT city) AS cities, count(DISTINCT utm->>'utm_source') AS channels FROM customer"
            )
        )[0]
        assert facts["repeat"] > facts["customers"] * 0.2
        assert facts["cities"] >= 5 and facts["channels"] >= 4
        kinds = {r["status"] for r in await Order.raw("SELECT DISTINCT status FROM payment")}
        assert {"succeeded", "refunded", "partially_refunded", "failed"} <= kinds
        # The order card's balance counts a payment only in the order's currency: a demo order paid in
        # full must read as paid, not as "0,00 paid" beside a succeeded payment.
        stray = await Order.raw(
            "SELECT count(*) AS n FROM payment p JOIN orders o ON o.id = p.order"
            " WHERE p.currency IS DISTINCT FROM o.currency"
        )
        assert stray[0]["n"] == 0
        paid = await Order.raw(
            "SELECT o.id, o.total_minor, o.currency FROM orders o JOIN payment p ON p.order = o.id"
            " WHERE p.status = 'succeeded' AND p.amount_minor = o.total_minor LIMIT 1"
        )
        due = await balances.of_order(paid[0])
        assert (due.paid_minor, due.due_minor) == (paid[0]["total_minor"], 0)
        groups = {
            r["group"]
            for r in await Order.raw('SELECT DISTINCT s."group" FROM orders o JOIN order_status s ON s.id = o.status')
        }
        assert {"new", "complete", "cancel", "delivery"} <= groups
        funnel = (await Order.raw("SELECT sum(opened) AS o, sum(started) AS s, sum(unfinished) AS u FROM form_day"))[0]
        assert funnel["o"] > funnel["s"] > funnel["u"] > 0
        months = await Order.raw("SELECT count(*) AS n FROM cohort_month WHERE month > cohort")
        assert months[0]["n"] >= 10
        await assert_rollups_match()


async def test_demo_history_is_the_same_for_the_same_seed(runtime) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    digests = []
    for slug in ("demo-seed-a", "demo-seed-b"):
        store = await make_store(slug)
        async with tenancy.bind_tenant(store.tenant):
            await demo._goods()
            await demo_history.seed_year(random.Random(7), "x", now=now)
            rows = await Order.raw(
                "SELECT o.total_minor, o.created_at, o.utm, c.city FROM orders o JOIN customer c ON c.id = o.customer"
                " ORDER BY o.created_at, o.total_minor"
            )
            digests.append([tuple(r.values()) for r in rows])
    assert digests[0] == digests[1] and len(digests[0]) > 500
