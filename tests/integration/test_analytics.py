"""Analytics rollups against a real store database: after any mix of creates, edits, cancels, payments,
refunds, merges and deletes, every rollup equals a recomputation from the base tables."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from app.services import analytics, customers, forms, orders
from app.tables.orders import Order, OrderLine
from app.tables.payments import Payment, PaymentConnection
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

DAY = "(o.created_at AT TIME ZONE (SELECT timezone FROM store_setting LIMIT 1))::date"
PAID = "('succeeded', 'partially_refunded', 'refunded')"

# The rollups recomputed straight from orders, lines and payments (independent of the triggers' SQL).
EXPECTED_SALES = f"""
WITH p AS (
    SELECT "order", sum(amount_minor - refunded_minor) AS net, sum(refunded_minor) AS refunded
    FROM payment WHERE status IN {PAID} GROUP BY 1
), o AS (
    SELECT o.id, o.customer, o.created_at, {DAY} AS day, o.currency, o.source,
           coalesce(o.utm->>'utm_source', '') AS us, coalesce(o.utm->>'utm_campaign', '') AS uc,
           s."group" = 'cancel' AS cancelled, o.total_minor, coalesce(p.net, 0) AS net,
           coalesce(p.refunded, 0) AS refunded
    FROM orders o JOIN order_status s ON s.id = o.status LEFT JOIN p ON p."order" = o.id
), firsts AS (
    SELECT DISTINCT ON (customer) customer, day, currency, source, us, uc,
           count(*) OVER (PARTITION BY customer) AS purchases FROM o
    WHERE NOT cancelled AND customer IS NOT NULL ORDER BY customer, created_at, id
), sales AS (
    SELECT day, currency, source, us, uc, count(*) AS orders, count(*) FILTER (WHERE cancelled) AS cancelled,
           coalesce(sum(total_minor) FILTER (WHERE NOT cancelled), 0) AS revenue,
           count(*) FILTER (WHERE net > 0) AS paid_orders, sum(net) AS paid, sum(refunded) AS refunded
    FROM o GROUP BY 1, 2, 3, 4, 5
), news AS (
    SELECT day, currency, source, us, uc, count(*) AS n, count(*) FILTER (WHERE purchases >= 2) AS r,
           sum(purchases) AS p
    FROM firsts GROUP BY 1, 2, 3, 4, 5
)
SELECT day, currency, source, us AS utm_source, uc AS utm_campaign, coalesce(orders, 0) AS orders,
       coalesce(cancelled, 0) AS cancelled, coalesce(revenue, 0) AS revenue_minor,
       coalesce(paid_orders, 0) AS paid_orders, coalesce(paid, 0) AS paid_minor,
       coalesce(refunded, 0) AS refunded_minor, coalesce(n, 0) AS new_customers,
       coalesce(r, 0) AS repeat_customers, coalesce(p, 0) AS new_customer_orders
FROM sales FULL JOIN news USING (day, currency, source, us, uc)
ORDER BY 1, 2, 3, 4, 5
"""
ACTUAL_SALES = (
    "SELECT day, currency, source, utm_source, utm_campaign, orders, cancelled, revenue_minor, paid_orders,"
    " paid_minor, refunded_minor, new_customers, repeat_customers, new_customer_orders FROM sales_day"
    " ORDER BY 1, 2, 3, 4, 5"
)
EXPECTED_GOODS = f"""
SELECT {DAY} AS day, o.currency, coalesce('o' || l.offer_id, 's' || l.sku, 'n' || l.name) AS item,
       sum(l.quantity) AS quantity, sum(l.total_minor) AS revenue_minor, count(DISTINCT o.id) AS orders
FROM order_line l JOIN orders o ON o.id = l."order" JOIN order_status s ON s.id = o.status
WHERE s."group" <> 'cancel' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ACTUAL_GOODS = "SELECT day, currency, item, quantity, revenue_minor, orders FROM goods_day ORDER BY 1, 2, 3"
EXPECTED_COHORTS = f"""
WITH o AS (
    SELECT o.id, o.customer, o.created_at, {DAY} AS day, o.total_minor FROM orders o
    JOIN order_status s ON s.id = o.status WHERE s."group" <> 'cancel' AND o.customer IS NOT NULL
), c AS (SELECT customer, date_trunc('month', min(day))::date AS cohort FROM o GROUP BY 1)
SELECT c.cohort, date_trunc('month', o.day)::date AS month, count(DISTINCT o.customer) AS customers,
       count(*) AS orders, sum(o.total_minor) AS revenue_minor
FROM o JOIN c USING (customer) GROUP BY 1, 2 ORDER BY 1, 2
"""
ACTUAL_COHORTS = "SELECT cohort, month, customers, orders, revenue_minor FROM cohort_month ORDER BY 1, 2"
EXPECTED_CUSTOMERS = f"""
SELECT o.customer AS customer_id, count(*) AS orders, sum(o.total_minor) AS revenue_minor,
       min({DAY}) AS first_day
FROM orders o JOIN order_status s ON s.id = o.status
WHERE s."group" <> 'cancel' AND o.customer IS NOT NULL GROUP BY 1 ORDER BY 1
"""
ACTUAL_CUSTOMERS = "SELECT customer_id, orders, revenue_minor, first_day FROM customer_fact ORDER BY 1"
EXPECTED_FORMS = """
SELECT (created_at AT TIME ZONE (SELECT timezone FROM store_setting LIMIT 1))::date AS day, form_code,
       coalesce(utm->>'utm_source', '') AS utm_source, count(*) AS started,
       count(*) FILTER (WHERE reported AND NOT converted) AS unfinished
FROM form_draft GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ACTUAL_FORMS = "SELECT day, form_code, utm_source, started, unfinished FROM form_day WHERE started > 0 ORDER BY 1, 2, 3"

PAIRS = [
    (EXPECTED_SALES, ACTUAL_SALES),
    (EXPECTED_GOODS, ACTUAL_GOODS),
    (EXPECTED_COHORTS, ACTUAL_COHORTS),
    (EXPECTED_CUSTOMERS, ACTUAL_CUSTOMERS),
    (EXPECTED_FORMS, ACTUAL_FORMS),
]


async def assert_rollups_match() -> None:
    for expected, actual in PAIRS:
        want = [tuple(r.values()) for r in await Order.raw(expected)]
        got = [tuple(r.values()) for r in await Order.raw(actual)]
        assert got == want, f"\nwant {want}\ngot  {got}"


def draft(phone: str, price: int, *, qty: int = 1, utm: dict | None = None, sku: str = "T-1") -> orders.OrderDraft:
    return orders.OrderDraft(
        lines=(orders.LineDraft(None, f"Goods {sku}", sku, price, qty), orders.LineDraft(None, "Mug", "M-1", 500, 2)),
        currency="RUB",
        customer_name="Анна",
        phone=customers.normalize_phone(phone, "RU"),
        delivery_minor=300,
        source="form",
        form_code="order",
        utm=utm or {},
        idempotency_key=secrets.token_hex(8),
    )


async def pay(order_id: int, connection: int, amount: int, status: str = "succeeded") -> int:
    rows = await Payment.insert(
        Payment(
            order=order_id,
            connection=connection,
            ref=secrets.token_hex(8),
            idempotency_key=secrets.token_hex(8),
            status=status,
            amount_minor=amount,
            currency="RUB",
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
    )
    return rows[0]["id"]


async def _connection() -> int:
    rows = await PaymentConnection.insert(
        PaymentConnection(code="sandbox", name="s", config_encrypted="x", created_at=datetime.now(UTC))
    )
    return rows[0]["id"]


async def test_rollups_equal_a_recomputation_after_creates_edits_cancels_payments_refunds(runtime) -> None:
    store = await make_store("rollups-mix")
    async with tenancy.bind_tenant(store.tenant):
        conn = await _connection()
        placed = []
        for i in range(8):
            order, _ = await orders.create_order(
                draft(
                    f"+7 912 000 00{i % 3:02d}",
                    1000 * (i + 1),
                    qty=i % 2 + 1,
                    utm={"utm_source": ["vk", "ya", ""][i % 3], "utm_campaign": "spring" if i % 2 else ""},
                    sku=f"T-{i % 4}",
                )
            )
            placed.append(order)
        await assert_rollups_match()
        # Spread over days and months, so cohorts and days differ.
        for i, order in enumerate(placed):
            when = datetime(2026, 8, 1, 21, 30, tzinfo=UTC) + timedelta(days=17 * i)
            await Order.update({Order.created_at: when}).where(Order.id == order["id"])
        await assert_rollups_match()
        await orders.change_status(placed[0]["id"], "cancelled", actor_id=None, actor="t")
        await orders.change_status(placed[1]["id"], "approval", actor_id=None, actor="t")
        p1 = await pay(placed[1]["id"], conn, placed[1]["total_minor"])
        await pay(placed[2]["id"], conn, 700, status="pending")
        p3 = await pay(placed[3]["id"], conn, placed[3]["total_minor"])
        await assert_rollups_match()
        await Payment.update({Payment.refunded_minor: 500, Payment.status: "partially_refunded"}).where(
            Payment.id == p1
        )
        await Payment.update({Payment.refunded_minor: placed[3]["total_minor"], Payment.status: "refunded"}).where(
            Payment.id == p3
        )
        await Payment.update({Payment.status: "succeeded"}).where(Payment.order == placed[2]["id"])
        await assert_rollups_match()
        # A line edited, a line removed, the customer of an order changed (as a merge does), an order deleted.
        await OrderLine.update({OrderLine.quantity: 5, OrderLine.total_minor: 2500}).where(
            (OrderLine.order == placed[4]["id"]) & (OrderLine.sku == "M-1")
        )
        await OrderLine.delete().where((OrderLine.order == placed[5]["id"]) & (OrderLine.sku == "M-1"))
        await Order.update({Order.customer: placed[6]["customer"]}).where(Order.id == placed[4]["id"])
        await Order.delete().where(Order.id == placed[7]["id"])
        await assert_rollups_match()
        # The first purchase cancelled: the customer's cohort and first day move to the next purchase.
        await orders.change_status(placed[3]["id"], "cancelled", actor_id=None, actor="t")
        await assert_rollups_match()
        # Forms: contacts typed, some left unfinished, some converted.
        for i in range(4):
            await forms.save_draft(f"n{i}", "order", {"phone": f"+7912111000{i}", "utm_source": "vk"}, "RU")
        await forms.order_sent(forms.FormToken(0, "n0"), "order", None, placed[0]["id"])
        await forms.sweep_unfinished(older_than_minutes=-1)
        await assert_rollups_match()
        before = [await Order.raw(q) for _, q in PAIRS]
        await analytics.rebuild()
        assert [await Order.raw(q) for _, q in PAIRS] == before
        # A new time zone moves every day boundary: the rollups follow.
        await Order.raw("UPDATE store_setting SET timezone = 'Asia/Vladivostok'")
        await assert_rollups_match()


async def test_rollups_stay_exact_with_a_bulk_statement_over_many_orders(runtime) -> None:
    store = await make_store("rollups-bulk")
    async with tenancy.bind_tenant(store.tenant):
        for i in range(12):
            await orders.create_order(draft(f"+7 912 000 01{i % 5:02d}", 900 + i))
        await Order.raw(
            "UPDATE orders SET created_at = created_at - make_interval(days => id % 40),"
            " status = (SELECT id FROM order_status WHERE code = 'cancelled') WHERE id % 3 = 0"
        )
        await assert_rollups_match()
        await Order.raw('DELETE FROM order_line WHERE position = 1 AND "order" % 2 = 0')
        await assert_rollups_match()
        totals = await analytics.totals("RUB", date(2000, 1, 1), date(2100, 1, 1))
        assert totals["orders"] == 12
        assert totals["cancelled"] == 4


async def test_rollups_follow_a_transaction_at_its_commit_and_not_when_it_rolls_back(runtime) -> None:
    store = await make_store("rollups-commit")
    async with tenancy.bind_tenant(store.tenant):
        connection = await _connection()
        with pytest.raises(LookupError):
            async with tenancy.store_transaction():
                placed, _ = await orders.place_order(draft("+7 912 000 0201", 1000))
                await pay(placed.id, connection, 1000)
                raise LookupError("changed our mind")
        assert await Order.count() == 0
        assert await Order.raw("SELECT count(*) AS n FROM sales_day") == [{"n": 0}]
        # Order, lines and a payment in one transaction: the rollups see all of it once it commits.
        async with tenancy.store_transaction():
            placed, _ = await orders.place_order(draft("+7 912 000 0201", 1000))
            await pay(placed.id, connection, 2300)
            await OrderLine.update({OrderLine.quantity: 3, OrderLine.total_minor: 1500}).where(
                (OrderLine.order == placed.id) & (OrderLine.sku == "M-1")
            )
        await assert_rollups_match()
        totals = await analytics.totals("RUB", date(2000, 1, 1), date(2100, 1, 1))
        assert totals["orders"] == 1
        # Nothing is left noted for a later transaction to refresh.
        left = await Order.raw(
            "SELECT (SELECT count(*) FROM analytics_pending) AS pending,"
            " (SELECT count(*) FROM analytics_flush_due) AS due"
        )
        assert left == [{"pending": 0, "due": 0}]
