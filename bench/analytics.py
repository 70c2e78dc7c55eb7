"""Owner pages at scale: p95 of the dashboard, the reports and the customer list on a store with
1,000,000 orders and 200,000 customers, next to the same pages on a store of 10,000 orders in the same
run (goal: within 2x). Data is made in SQL (``generate_series``), then the rollups are rebuilt.

``BENCH_ANALYTICS_ORDERS`` sets the big store's size (default 1,000,000) for quicker runs.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

import httpx

from app.asgi import create_app
from app.services import analytics
from app.tables.orders import Order, OrderStatus
from app.tables.payments import PaymentConnection
from app.tenancy import runtime as tenancy
from app.tenancy.runtime import store_transaction
from bench._common import Row, bench_runtime, make_store

BIG = int(os.environ.get("BENCH_ANALYTICS_ORDERS", "1000000"))
SMALL = 10_000
SAMPLES = 60
PAGES = [
    ("dashboard (30 days)", "/s/{slug}/?period=30d"),
    ("dashboard (year, by month)", "/s/{slug}/?period=year&by=month"),
    ("reports (year)", "/s/{slug}/reports?period=year"),
    ("customer list", "/s/{slug}/customers/"),
]
TABLES = ("orders", "order_line", "payment", "form_draft")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def fill(orders: int) -> float:
    """A year of orders by orders/5 customers (a few buy often), lines, payments and form visits."""
    customers = max(1, orders // 5)
    started = time.perf_counter()
    statuses = {r["code"]: r["id"] for r in await OrderStatus.select(OrderStatus.code, OrderStatus.id)}
    connection = await PaymentConnection.insert(
        PaymentConnection(code="sandbox", name="bench", config_encrypted="-", created_at=datetime.now(UTC))
    )
    async with store_transaction():
        await Order.raw("SET LOCAL statement_timeout = 0")
        # Secondary indexes are built once after the load rather than kept up row by row.
        indexes = await Order.raw(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY({})"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            ["customer", *TABLES],
        )
        for index in indexes:
            await Order.raw(f'DROP INDEX "{index["indexname"]}"')
        for table in TABLES:
            await Order.raw(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await Order.raw("SELECT setseed(0.42)")
        await Order.raw(
            "INSERT INTO customer (name, phone, email, city, source, utm, tags, note, orders_count,"
            " total_spent_minor, created_at, updated_at)"
            " SELECT 'Покупатель ' || i, '+7900' || lpad(i::text, 7, '0'),"
            " CASE WHEN i % 3 = 0 THEN 'c' || i || '@example.ru' END,"
            " (ARRAY['Москва','Санкт-Петербург','Казань','Екатеринбург','Новосибирск','Самара','Краснодар'])"
            "[1 + i % 7], 'form', jsonb_build_object('utm_source',"
            " (ARRAY['yandex','vk','telegram','newsletter','instagram','',''])[1 + i % 7]), '[]', '', 0, 0,"
            " now() - interval '400 days', now() FROM generate_series(1, {}::int) i",
            customers,
        )
        bounds = (await Order.raw("SELECT min(id) AS lo, max(id) AS hi FROM customer"))[0]
        await Order.raw(
            "INSERT INTO orders (number, token, status, customer, customer_name, phone, currency, subtotal_minor,"
            " discount_minor, delivery_minor, total_minor, delivery_method, delivery_name, delivery_address,"
            " source, form_code, utm, fields, comment, locale, confirmed, created_at, updated_at)"
            " SELECT 'B' || i, md5('bench' || i), CASE WHEN r < 9 THEN {}::int WHEN r < 13 THEN {}::int"
            " WHEN r < 18 THEN {}::int ELSE {}::int END, c, 'Покупатель', NULL, 'RUB', total, 0, 0, total,"
            " 'courier', 'Курьер', '',"
            " CASE WHEN r % 5 = 0 THEN 'staff' ELSE 'form' END, CASE WHEN r % 5 = 0 THEN NULL ELSE 'order' END,"
            " jsonb_build_object('utm_source', (ARRAY['yandex','vk','telegram','newsletter','instagram','',''])"
            "[1 + (c + r) % 7], 'utm_campaign', 'c' || r % 4),"
            " jsonb_build_object(), '', 'ru', r >= 13, at, at"
            " FROM (SELECT i, {}::int + floor(({}::int - {}::int + 1) * power(random(), 1.7))::int AS c,"
            " now() - random() * interval '365 days' AS at, (random() * 100)::int AS r,"
            " (1000 + floor(random() * 9000) * 100)::bigint AS total FROM generate_series(1, {}::int) i) g",
            statuses["cancelled"],
            statuses["new"],
            statuses["delivery"],
            statuses["complete"],
            bounds["lo"],
            bounds["hi"],
            bounds["lo"],
            orders,
        )
        log(f"    customers and orders: {time.perf_counter() - started:.1f} s")
        await Order.raw(
            'INSERT INTO order_line ("order", offer_id, name, sku, price_minor, quantity, total_minor, position)'
            " SELECT o.id, NULL, 'Товар ' || k, 'SKU-' || k, o.total_minor / n, 1, o.total_minor / n, p"
            " FROM orders o CROSS JOIN LATERAL (SELECT 1 + o.id % 2 AS n) m"
            " CROSS JOIN LATERAL generate_series(0, m.n - 1) p"
            " CROSS JOIN LATERAL (SELECT 1 + floor(300 * power(random(), 2.5) + p * 0)::int AS k) x"
        )
        log(f"    lines: {time.perf_counter() - started:.1f} s")
        await Order.raw(
            'INSERT INTO payment ("order", connection, ref, idempotency_key, status, amount_minor, currency,'
            " refunded_minor, attempts, paid_at, created_at, updated_at)"
            " SELECT id, {}, 'P' || id, 'bench-' || id, CASE WHEN id % 40 = 0 THEN 'partially_refunded'"
            " ELSE 'succeeded' END, total_minor, 'RUB', CASE WHEN id % 40 = 0 THEN total_minor / 2 ELSE 0 END, 0,"
            " created_at, created_at, created_at FROM orders WHERE id % 10 < 6",
            connection[0]["id"],
        )
        await Order.raw(
            "INSERT INTO form_draft (nonce, form_code, name, phone, email, utm, converted, reported, created_at,"
            " updated_at, note) SELECT 'bench-' || id, 'order', '', phone, NULL, utm, id % 3 <> 0, id % 3 = 0,"
            " created_at, created_at, '' FROM orders WHERE form_code IS NOT NULL AND id % 2 = 0"
        )
        await Order.raw(
            "INSERT INTO form_day (day, form_code, utm_source, opened)"
            " SELECT (created_at AT TIME ZONE analytics_tz())::date, 'order', coalesce(utm->>'utm_source', ''),"
            " count(*) * 6 FROM orders WHERE form_code IS NOT NULL GROUP BY 1, 2, 3"
        )
        log(f"    payments, drafts, visits: {time.perf_counter() - started:.1f} s")
        await Order.raw(
            "UPDATE customer c SET orders_count = s.n, total_spent_minor = s.total, first_order_at = s.first,"
            " last_order_at = s.last FROM (SELECT customer, count(*) AS n, sum(total_minor) AS total,"
            " min(created_at) AS first, max(created_at) AS last FROM orders GROUP BY customer) s"
            " WHERE s.customer = c.id"
        )
        for index in indexes:
            await Order.raw(index["indexdef"])
        log(f"    indexes: {time.perf_counter() - started:.1f} s")
        for table in TABLES:
            await Order.raw(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    generated = time.perf_counter() - started
    log(f"  {orders:,} orders generated in {generated:.1f} s; rebuilding rollups …")
    await analytics.rebuild()
    # Vacuumed as well as analysed: the store is measured as autovacuum leaves it, and autovacuum does
    # not wake up on the fresh million rows halfway through the timings (one run measured 3x for that).
    for table in ("customer", "orders", "order_line", "payment", "order_fact", "sales_day", "customer_fact"):
        await Order.raw(f"VACUUM (ANALYZE) {table}")
    return time.perf_counter() - started


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


async def login(client: httpx.AsyncClient, email: str) -> None:
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": "bench-password-1", "_csrf_token": client.cookies.get("csrftoken", "")},
    )
    assert response.status_code in (302, 303), response.text[:300]


async def timings(clients: dict[str, httpx.AsyncClient]) -> dict[str, dict[str, float | None]]:
    """p95 per page and store; requests to the two stores alternate, so both see the same machine load."""
    out: dict[str, dict[str, float | None]] = {slug: {} for slug in clients}
    for name, path in PAGES:
        samples: dict[str, list[float]] = {slug: [] for slug in clients}
        missing = False
        for slug, client in clients.items():
            first = await client.get(path.format(slug=slug))  # warm up
            missing = missing or first.status_code == 404
            assert first.status_code in (200, 404), (path, first.status_code)
        if missing:  # the customer list is not in this build
            for slug in clients:
                out[slug][name] = None
            continue
        for _ in range(SAMPLES):
            for slug, client in clients.items():
                started = time.perf_counter()
                response = await client.get(path.format(slug=slug))
                samples[slug].append(time.perf_counter() - started)
                assert response.status_code == 200
        for slug in clients:
            out[slug][name] = p95(samples[slug])
    return out


async def run() -> list[Row]:
    async with bench_runtime() as runtime:
        stores = {}
        for slug, size in (("bench-small", SMALL), ("bench-big", BIG)):
            tenant = await make_store(slug)
            async with tenancy.bind_tenant(tenant):
                log(f"analytics: filling {slug} with {size:,} orders …")
                stores[slug] = (tenant, await fill(size))
        app = create_app(runtime.settings)
        clients = {}
        for slug in stores:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            clients[slug] = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=60)
            await login(clients[slug], f"owner@{slug}.example.com")
        try:
            results = await timings(clients)
        finally:
            for client in clients.values():
                await client.aclose()
    rows = [Row(f"analytics: generate + rebuild {BIG:,} orders", stores["bench-big"][1], "s", None, "info")]
    label = f"{BIG // 1000:,}k" if BIG < 1_000_000 else f"{BIG / 1_000_000:g}M"
    for name, _path in PAGES:
        small, big = results["bench-small"][name], results["bench-big"][name]
        if small is None or big is None:
            continue
        rows.append(Row(f"analytics: {name} p95, {label} orders", big, "ms", small, "≤2x"))
    return rows
