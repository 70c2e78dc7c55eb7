"""The demo store: goods, months of orders, an embeddable form; seeding twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services import demo, payments
from app.tables.catalog import Offer
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tenancy import runtime as tenancy

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
