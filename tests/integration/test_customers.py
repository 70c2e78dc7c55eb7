"""Customers against a real store: totals through edits and cancels, RFM classes, segments, merge and undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import Conflict
from app.services import customers, demo_customers, orders, portrait, rfm, segments
from app.tables.customers import Customer, CustomerEvent
from app.tables.orders import Order
from app.tables.segments import Segment
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration


def draft(phone: str | None, total_rub: int = 1000, email: str | None = None, name: str = "Анна") -> orders.OrderDraft:
    return orders.OrderDraft(
        lines=(orders.LineDraft(None, "Чайник", "T-1", total_rub * 100, 1),),
        currency="RUB",
        customer_name=name,
        phone=phone,
        email=email,
    )


async def place(phone: str | None, total_rub: int, *, days_ago: int = 0, email: str | None = None) -> dict:
    order, _ = await orders.create_order(draft(phone, total_rub, email))
    if days_ago:
        at = datetime.now(UTC) - timedelta(days=days_ago)
        await Order.update({Order.created_at: at}).where(Order.id == order["id"])
        await customers.recompute_totals([order["customer"]])
    return order


async def person(customer_id: int) -> dict:
    return await Customer.select().where(Customer.id == customer_id).first()


async def test_totals_follow_edits_and_cancellation(runtime) -> None:
    store = await make_store("cust-totals")
    async with tenancy.bind_tenant(store.tenant):
        first = await place("+79120000001", 1000)
        second = await place("+79120000001", 500)
        cid = first["customer"]
        assert (await person(cid))["total_spent_minor"] == 150000
        edit, errors = await orders.validate_edit({"line_" + str(second["lines"][0]["id"]): "3"}, second, country="RU")
        assert not errors
        await orders.update_order(second["id"], edit, actor_id=None, actor="test")
        assert (await person(cid))["total_spent_minor"] == 100000 + 150000
        await orders.change_status(first["id"], "cancelled", actor_id=None, actor="test")
        row = await person(cid)
        assert (row["orders_count"], row["total_spent_minor"]) == (1, 150000)
        kinds = {e["kind"] for e in await CustomerEvent.select(CustomerEvent.kind).where(CustomerEvent.customer == cid)}
        assert {"order_placed", "order_edited", "status_changed"} <= kinds


async def buyer(phone: str, ages: list[int], total_rub: int = 1000) -> int:
    """A customer whose orders were placed ``ages`` days ago."""
    customer_id = None
    for age in ages:
        order = await place(phone, total_rub, days_ago=age)
        customer_id = order["customer"]
    assert customer_id is not None
    return customer_id


async def test_rfm_classes_match_the_grid_computed_by_hand(runtime) -> None:
    store = await make_store("cust-rfm")
    async with tenancy.bind_tenant(store.tenant):
        # Default thresholds: R5 <= 30 days, R4 <= 90, R3 <= 180, R2 <= 365; F2 = 2, F3 = 3-4, F4 = 5-7, F5 >= 8.
        expected = {
            await buyer("+79120000011", [5 + i for i in range(8)]): ("champions", 5, 5),
            await buyer("+79120000012", [2]): ("new", 5, 1),
            await buyer("+79120000013", [60 + i for i in range(5)]): ("loyal", 4, 4),
            await buyer("+79120000014", [200, 210, 220]): ("at_risk", 2, 3),
            await buyer("+79120000015", [400]): ("lost", 1, 1),
            await buyer("+79120000016", [400 + i for i in range(8)]): ("cant_lose", 1, 5),
        }
        await rfm.refresh()
        for customer_id, (cls, r, f) in expected.items():
            row = await person(customer_id)
            assert (row["rfm_class"], row["rfm_r"], row["rfm_f"]) == (cls, r, f), customer_id
        heat = await rfm.heatmap()
        assert heat["total"] == 6
        assert heat["classes"]["champions"]["n"] == 1
        assert next(c for c in heat["grid"][0]["cells"] if c["f"] == 5)["n"] == 1  # R5 F5
        # Tuned thresholds move customers: with R5 <= 1 day the newcomer (2 days) becomes "promising".
        values, errors = rfm.validate_settings({"recency_days": "1, 90, 180, 365", "frequency": "2,3,5,8"}, "RUB")
        assert not errors
        await rfm.save_settings(values)
        newcomer = next(cid for cid, v in expected.items() if v[0] == "new")
        assert (await person(newcomer))["rfm_class"] == "promising"
        _, errors = rfm.validate_settings({"recency_days": "90, 30", "frequency": "a"}, "RUB")
        assert set(errors) == {"recency_days", "frequency"}


async def test_segment_counts_match_hand_counts(runtime) -> None:
    store = await make_store("cust-segments")
    async with tenancy.bind_tenant(store.tenant):
        a = await buyer("+79120000021", [5 + i for i in range(8)], 2000)  # 8 orders, 16 000
        b = await buyer("+79120000022", [2], 500)  # 1 order, 500
        c = await buyer("+79120000023", [60 + i for i in range(5)], 1000)  # 5 orders, 5 000
        d = await buyer("+79120000024", [200, 210, 220], 1000)  # 3 orders, 3 000
        await Customer.update({Customer.city: "Казань"}).where(Customer.id.is_in([a, b]))
        await customers.set_tags(c, "vip, опт")
        await rfm.refresh()

        async def size(*rules: dict) -> int:
            found, errors = await segments.validate_rules(list(rules), "RUB")
            assert not errors
            return await segments.count(segments.compile_rules(found))

        assert await size({"field": "orders_count", "op": "gte", "value": "5"}) == 2
        assert await size({"field": "total_spent", "op": "gte", "value": "3000"}) == 3
        assert await size({"field": "total_spent", "op": "lte", "value": "500"}) == 1
        assert await size({"field": "last_order_days", "op": "within", "value": "30"}) == 2
        assert await size({"field": "last_order_days", "op": "over", "value": "100"}) == 1
        assert await size({"field": "city", "op": "is", "value": "казань"}) == 2
        assert await size({"field": "tag", "op": "has", "value": "VIP"}) == 1
        assert await size({"field": "rfm_class", "op": "is", "value": "champions,loyal"}) == 2
        assert await size({"field": "product", "op": "bought", "value": "T-1"}) == 4
        assert await size({"field": "product", "op": "not_bought", "value": "T-1"}) == 0
        assert await size({"field": "source", "op": "is", "value": "form"}) == 4
        _, errors = await segments.validate_rules(
            [
                {"field": "product", "op": "bought", "value": "NO-SUCH"},
                {"field": "total_spent", "op": "gte", "value": "lots"},
                {"field": "orders_count", "op": "gte", "value": "-1"},
                {"field": "nonsense", "op": "is", "value": "x"},
                {"field": "rfm_class", "op": "is", "value": ""},
            ],
            "RUB",
        )
        assert set(errors) == {"r0_value", "r1_value", "r2_value", "r3_field", "r4_value"}
        # A value is a parameter, never SQL: a quote in a city matches nobody and breaks nothing.
        assert await size({"field": "city", "op": "is", "value": "x' OR '1'='1"}) == 0
        assert (
            await size(
                {"field": "orders_count", "op": "gte", "value": "3"},
                {"field": "last_order_days", "op": "within", "value": "100"},
            )
            == 2
        )
        assert {a, b, c, d}


async def test_portrait_lifts_match_hand_computation(runtime) -> None:
    store = await make_store("cust-portrait")
    async with tenancy.bind_tenant(store.tenant):
        # 20 buyers: 10 tagged vip (8 in Kazan, 2 in Moscow), 10 others (2 in Kazan, 8 in Moscow).
        for i in range(20):
            cid = await buyer(f"+7912000{i:04d}", [3])
            vip = i < 10
            city = "Казань" if (i < 8 or 10 <= i < 12) else "Москва"
            await Customer.update({Customer.city: city}).where(Customer.id == cid)
            if vip:
                await customers.set_tags(cid, "vip")
        group = segments.compile_rules([{"field": "tag", "op": "has", "value": "vip"}])
        result = await portrait.build(group, "RUB")
        assert (result.group_size, result.base_size) == (10, 20)
        kazan = next(t for t in result.traits if t.trait == "city" and t.value == "Казань")
        assert (kazan.in_group, kazan.in_base) == (8, 10)
        assert kazan.share_group == pytest.approx(0.8)
        assert kazan.share_base == pytest.approx(0.5)
        assert kazan.lift == pytest.approx(1.6)
        # Moscow: 2 in the group, below the minimum sample: hidden, and counted as hidden.
        assert not [t for t in result.traits if t.value == "Москва"]
        assert result.hidden >= 1
        source = next(t for t in result.traits if t.trait == "source")
        assert source.lift == pytest.approx(1.0)
        assert result.traits[0] == kazan  # the strongest trait leads
        story = portrait.story(result)
        assert "10" in story[0] and "Казань" in story[1]


async def test_merge_moves_both_histories_and_undo_puts_them_back(runtime) -> None:
    store = await make_store("cust-merge")
    async with tenancy.bind_tenant(store.tenant):
        by_phone = (await place("+79120000031", 1000))["customer"]
        by_email = (await place(None, 700, email="anna@example.com"))["customer"]
        # The same person orders with both contacts: found by phone, the e-mail stays with the other row.
        both = await place("+79120000031", 300, email="anna@example.com")
        assert both["customer"] == by_phone != by_email
        pairs = await customers.duplicates()
        assert [(p["a"]["id"], p["b"]["id"], p["reason"]) for p in pairs] == [
            (min(by_phone, by_email), max(by_phone, by_email), "email")
        ]
        await customers.add_note(by_email, "Звонила", actor_id=None, actor="test")
        events_before = await CustomerEvent.count().where(CustomerEvent.customer == by_email)
        merge_id = await customers.merge(by_phone, by_email, actor_id=None)
        survivor, merged = await person(by_phone), await person(by_email)
        assert merged["merged_into"] == by_phone
        assert (survivor["orders_count"], survivor["total_spent_minor"]) == (3, 200000)
        assert survivor["email"] == "anna@example.com"
        assert await CustomerEvent.count().where(CustomerEvent.customer == by_email) == 0
        assert await Order.count().where(Order.customer == by_email) == 0
        assert await customers.duplicates() == []
        # The merged row is out of the base list.
        page = await customers.list_page(customers.parse_filters({}))
        assert [c["id"] for c in page.items] == [by_phone]

        restored = await customers.undo_merge(merge_id, actor_id=None)
        assert restored == by_email
        survivor, merged = await person(by_phone), await person(by_email)
        assert merged["merged_into"] is None
        assert (survivor["orders_count"], survivor["total_spent_minor"]) == (2, 130000)
        assert (merged["orders_count"], merged["total_spent_minor"]) == (1, 70000)
        assert survivor["email"] is None and merged["email"] == "anna@example.com"
        # Its own events came back, plus the "merge undone" event.
        assert await CustomerEvent.count().where(CustomerEvent.customer == by_email) == events_before + 1
        with pytest.raises(Conflict):
            await customers.undo_merge(merge_id, actor_id=None)


async def test_search_finds_by_name_prefix_phone_digits_and_email(runtime) -> None:
    store = await make_store("cust-search")
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(draft("+79161234567", 100, "Maria.Ivanova@Example.com", "Мария Иванова"))
        await orders.create_order(draft("+79990000000", 100, None, "Пётр"))
        cid = order["customer"]

        async def found(q: str) -> list[int]:
            page = await customers.list_page(customers.parse_filters({"q": q}), country="RU")
            return [c["id"] for c in page.items]

        for q in (
            "мари",
            "Иван",
            "мария иванова",
            "8 916 123-45-67",
            "916123",
            "+7916",
            "maria.ivanova@example.com",
            "maria",
        ):
            assert await found(q) == [cid], q
        assert await found("нет такого") == []
        assert len(await found("&|!:*()'")) == 2  # nothing searchable: the filter is ignored, no SQL error


async def test_demo_extras_give_segments_a_history_and_run_twice_safely(runtime) -> None:
    store = await make_store("cust-demo-extras")
    async with tenancy.bind_tenant(store.tenant):
        await buyer("+79120000041", [40, 20, 10, 5])
        await buyer("+79120000042", [3])
        await demo_customers.seed_extras()
        await demo_customers.seed_extras()
        assert await Segment.count() == 4
        repeat = await Segment.select().where(Segment.name == "Повторные покупатели").first()
        assert repeat["size"] == 1
        history = await segments.history(repeat["id"])
        assert len(history) >= 30
        # Before the third order (10 days ago) nobody had three orders: the history is real, not a copy.
        assert history[0]["size"] == 0 and history[-1]["size"] == 1
        assert await Customer.count().where(Customer.rfm_class.is_not_null()) == 2
        assert await CustomerEvent.count().where(CustomerEvent.kind == "note") == 1
