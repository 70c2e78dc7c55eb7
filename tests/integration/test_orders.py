"""Orders against a real store database: numbering under concurrency, customer de-duplication, statuses."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import Conflict
from app.services import customers, orders
from app.tables.customers import Customer, CustomerEvent
from app.tables.orders import Order, OrderChange
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

FORMATS = ["8 (912) 345-67-89", "+7 912 345 67 89", "89123456789", "+7(912)3456789"]


def draft(phone: str | None, key: str | None = None, email: str | None = None) -> orders.OrderDraft:
    return orders.OrderDraft(
        lines=(orders.LineDraft(None, "Чайник", "T-1", 129050, 2),),
        currency="RUB",
        customer_name="Анна",
        phone=phone,
        email=email,
        delivery_minor=30000,
        idempotency_key=key,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(f, "+79123456789") for f in FORMATS]
    + [("+380 44 123 4567", "+380441234567"), ("12345", None), ("not a phone", None), ("", None)],
)
def test_phones_normalise_to_e164_with_the_store_country(raw: str, expected: str | None) -> None:
    assert customers.normalize_phone(raw, "RU") == expected


async def test_two_hundred_concurrent_orders_get_distinct_numbers_and_one_customer_per_phone(runtime) -> None:
    store = await make_store("orders-rush")
    async with tenancy.bind_tenant(store.tenant):
        phones = [
            customers.normalize_phone(FORMATS[i % 4], "RU")
            if i % 2
            else customers.normalize_phone(f"+7 912 000 {i:04d}"[:16], "RU")
            for i in range(200)
        ]

        async def place(i: int) -> dict:
            async with tenancy.bind_tenant(store.tenant):
                order, created = await orders.create_order(draft(phones[i], key=f"k{i}"))
                assert created
                return order

        placed = await asyncio.gather(*(place(i) for i in range(200)))
        numbers = {o["number"] for o in placed}
        assert len(numbers) == 200
        assert await Order.count() == 200
        assert await Customer.count() == len({p for p in phones if p})
        same = (
            await Customer.select(Customer.orders_count, Customer.total_spent_minor)
            .where(Customer.phone == "+79123456789")
            .first()
        )
        assert same["orders_count"] == 100 and same["total_spent_minor"] == 100 * (2 * 129050 + 30000)


async def test_a_repeated_submission_places_one_order(runtime) -> None:
    store = await make_store("orders-replay")
    async with tenancy.bind_tenant(store.tenant):
        results = await asyncio.gather(*(orders.create_order(draft("+79120000001", key="same")) for _ in range(10)))
        assert len({order["id"] for order, _created in results}) == 1
        assert sum(1 for _order, created in results if created) == 1
        assert await Order.count() == 1
        # A later replay changes nothing: the same order, no number drawn, the customer counted once.
        drawn = await Order.raw("SELECT last_value FROM order_number_seq")
        again, created = await orders.place_order(draft("+79120000001", key="same"))
        assert not created and again.id == results[0][0]["id"] and again.token == results[0][0]["token"]
        assert await Order.raw("SELECT last_value FROM order_number_seq") == drawn
        assert await Customer.select(Customer.orders_count).output(as_list=True) == [1]
        # Inside a caller's transaction too: the replay's savepoint undoes its count, the caller's work stays.
        async with tenancy.store_transaction():
            again, created = await orders.place_order(draft("+79120000001", key="same"))
            fresh, _ = await orders.place_order(draft("+79120000001", key="other"))
        assert not created and again.id == results[0][0]["id"] and fresh.id != again.id
        assert await Customer.select(Customer.orders_count).output(as_list=True) == [2]


async def test_status_moves_follow_the_allowed_transitions_and_are_audited(runtime) -> None:
    store = await make_store("orders-status")
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(draft("+79120000002", email="anna@example.com"))
        moved = await orders.change_status(order["id"], "approval", actor_id=1, actor="boss@example.com")
        assert moved["status_code"] == "approval" and moved["confirmed"]
        with pytest.raises(Conflict):
            await orders.change_status(order["id"], "complete", actor_id=1, actor="boss@example.com")
        await orders.change_status(order["id"], "cancelled", actor_id=1, actor="boss@example.com")
        with pytest.raises(Conflict):
            await orders.change_status(order["id"], "new", actor_id=1, actor="boss@example.com")
        trail = await OrderChange.select(OrderChange.actor, OrderChange.field).where(OrderChange.order == order["id"])
        assert len(trail) == 2 and trail[0]["actor"] == "boss@example.com"
        kinds = [e["kind"] for e in await CustomerEvent.select(CustomerEvent.kind).order_by(CustomerEvent.id)]
        assert kinds == ["order_placed", "status_changed", "status_changed"]


async def test_edits_to_a_confirmed_order_are_audited_and_totals_follow(runtime) -> None:
    store = await make_store("orders-edit")
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(draft("+79120000003"))
        line = order["lines"][0]
        edit = orders.OrderEdit("Анна К.", "+79120000003", None, "Тверская 1", "", 10000, {line["id"]: 3})
        unconfirmed = await orders.update_order(order["id"], edit, actor_id=1, actor="a@example.com")
        assert unconfirmed["total_minor"] == 3 * 129050 - 10000 + 30000
        assert await OrderChange.count() == 0  # a new order is not audited yet
        await orders.change_status(order["id"], "approval", actor_id=1, actor="a@example.com")
        edit = orders.OrderEdit("Анна К.", "+79120000003", None, "Тверская 2", "", 10000, {line["id"]: 1})
        changed = await orders.update_order(order["id"], edit, actor_id=7, actor="m@example.com")
        assert changed["total_minor"] == 129050 - 10000 + 30000
        trail = {
            c["field"]: (c["before"], c["after"])
            for c in await OrderChange.select().where(OrderChange.actor == "m@example.com").output(load_json=True)
        }
        assert trail["delivery_address"] == ({"value": "Тверская 1"}, {"value": "Тверская 2"})
        assert trail["line:Чайник"] == ({"value": 3}, {"value": 1})
        await orders.change_status(order["id"], "cancelled", actor_id=1, actor="a@example.com")
        with pytest.raises(Conflict):
            await orders.update_order(order["id"], edit, actor_id=7, actor="m@example.com")


async def test_a_known_email_with_a_new_phone_still_places_the_order(runtime) -> None:
    store = await make_store("orders-email")
    async with tenancy.bind_tenant(store.tenant):
        first, _ = await orders.create_order(draft("+79120000010", email="same@example.com"))
        second, created = await orders.create_order(draft("+79120000011", email="same@example.com"))
        assert created and first["customer"] != second["customer"]
        by_email, _ = await orders.create_order(draft(None, email="same@example.com"))
        assert by_email["customer"] == first["customer"]
