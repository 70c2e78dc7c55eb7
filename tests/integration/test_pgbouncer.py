"""Store traffic through a real PgBouncer in transaction mode (Debian's ``pgbouncer``): shopper orders,
staff pages and edits, and a catalog import (COPY into temp tables) all work with the statement cache
off, while the default cache breaks as soon as two server connections take turns."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests import pgbouncer
from tests.conftest import csrf, login
from tests.http.test_shop import open_form, seeded_store

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        pgbouncer.binary() is None, reason="Debian's pgbouncer is not installed (apt-get install pgbouncer)"
    ),
]


@pytest.fixture(scope="module")
def bouncer(test_dsn):
    with pgbouncer.running(test_dsn, pool_size=2) as running:
        yield running


@pytest.fixture
async def through_bouncer(runtime, bouncer):
    """The runtime marks the primary server as behind the bouncer; store pools reopen through it."""
    old = runtime.settings
    runtime.settings = old.with_db(pgbouncer={tenancy.PRIMARY_SERVER: bouncer.address})
    await runtime.registry.close_idle(older_than=0)
    try:
        yield bouncer
    finally:
        await runtime.registry.close_idle(older_than=0)
        runtime.settings = old


async def test_orders_forms_staff_pages_and_imports_go_through_pgbouncer(
    client, through_bouncer, tmp_path, store_b
) -> None:
    shop = await seeded_store("bouncer-shop", tmp_path)  # imports the goods: COPY + temp tables, one transaction
    key = f"{shop.tenant.server}/{shop.tenant.database}"
    async with tenancy.bind_tenant(shop.tenant) as _bound:
        handle = tenancy.get_runtime().registry._handles[key]
        assert handle.config["port"] == through_bouncer.port and handle.config["statement_cache_size"] == 0

    # Shoppers: twenty orders at once over two server connections.
    async def place(i: int) -> str:
        token, offers, _ = await open_form(client, shop.slug)
        form = {"t": token, f"qty_{offers['K-1']}": "1", "name": "Покупатель", "phone": f"+7912{i:07d}"}
        response = await client.post(f"/f/{shop.slug}/order", data={**form, "delivery": "pickup"})
        assert response.status_code == 303, response.text[:500]
        status = await client.get(response.headers["location"])
        assert status.status_code == 200
        return response.headers["location"]

    pages = await asyncio.gather(*(place(i) for i in range(20)))
    assert len(set(pages)) == 20

    # Staff: lists, a card, an order by phone, a status move, an edit.
    await login(client, shop.email)
    listing = await client.get(f"/s/{shop.slug}/orders/")
    assert listing.status_code == 200
    created = await client.post(
        f"/s/{shop.slug}/orders/new",
        data={"phone": "8 912 444-33-22", "name": "Звонок", "sku_0": "M-1", "qty_0": "2", "_csrf_token": csrf(client)},
    )
    assert created.status_code == 303
    card_url = created.headers["location"]
    card = await client.get(card_url)
    assert "Звонок" in card.text
    moved = await client.post(f"{card_url}/status", data={"status": "approval", "_csrf_token": csrf(client)})
    assert moved.status_code in (200, 303) and 'data-testid="status-error"' not in moved.text
    edited = await client.post(
        f"{card_url}/edit",
        data={"phone": "8 912 444-33-22", "comment": "через PgBouncer", "_csrf_token": csrf(client)},
    )
    assert edited.status_code in (200, 303)
    for path in ("", "orders/", "products/", "imports/", "settings/statuses/"):
        assert (await client.get(f"/s/{shop.slug}/{path}")).status_code == 200, path
    assert (await client.get(f"/s/{store_b.slug}/orders/")).status_code == 404  # store B stays invisible

    async with tenancy.bind_tenant(shop.tenant):
        assert await Order.count() == 21
        assert await Order.count().where(Order.status.code == "approval") == 1
        assert await Order.count().where(Order.comment == "через PgBouncer") == 1

    # The bouncer really carried it: its pool for the store's database saw the transactions.
    stats = through_bouncer.admin("SHOW STATS")
    rows = [line.split("|") for line in stats.splitlines()]
    header = rows[0]
    row = next(r for r in rows if r and r[0] == shop.tenant.database)
    assert int(row[header.index("total_xact_count")]) > 40


async def test_the_default_statement_cache_breaks_behind_a_transaction_pooler(through_bouncer, store_a) -> None:
    """Why the setting exists: a prepared statement lives on one server connection only."""
    config = {
        "host": "127.0.0.1",
        "port": through_bouncer.port,
        "user": store_a.tenant.role,
        "password": store_a.tenant.password,
        "database": store_a.tenant.database,
    }
    cached = await asyncpg.connect(**config)  # statement_cache_size defaults to 100
    other = await asyncpg.connect(**config, statement_cache_size=0)
    try:
        assert await cached.fetchval("SELECT $1::int", 1) == 1  # prepared on server connection S1
        holding = other.transaction()
        await holding.start()
        await other.fetchval("SELECT 1")  # the other client now holds S1 (PgBouncer reuses it first)
        with pytest.raises(asyncpg.PostgresError, match="prepared statement"):
            await cached.fetchval("SELECT $1::int", 2)  # runs on S2, where the statement does not exist
        await holding.rollback()
        fixed = await asyncpg.connect(**config, statement_cache_size=0)
        try:
            held = other.transaction()
            await held.start()
            await other.fetchval("SELECT 1")
            assert await fixed.fetchval("SELECT $1::int", 3) == 3
            await held.rollback()
        finally:
            await fixed.close()
    finally:
        await cached.close()
        await other.close()
