"""Several PostgreSQL servers: placement, one server down, moving a store under write load, the
503 page of a paused store, and the NOTIFY that tells every process a store moved.

Servers: the embedded test server (``primary``), a second embedded cluster this module starts and
stops (``second``), and the machine's PostgreSQL 15 (``machine``, ``remote`` tests)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace

import asyncpg
import pytest

from app import jobs
from app.forms.auth import SignupData
from app.services import fleet, orders, stores
from app.settings import PROJECT_DIR
from app.tables.control import DbServer, Tenant
from app.tables.orders import Order
from app.tenancy import migrate, pgtools, provision, relocate
from app.tenancy import runtime as tenancy
from app.tenancy.pools import PoolsExhausted
from tests.conftest import PASSWORD, login
from tests.integration.servers import MACHINE_DSN, EmbeddedCluster, reachable, register, unregister

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def second(runtime, settings):
    cluster = EmbeddedCluster("test-pg2")
    await register("second", cluster.dsn)
    yield cluster
    cluster.start()
    await unregister("second", cluster.dsn, settings.db.prefix)


@pytest.fixture(scope="module")
async def machine(runtime, settings):
    if not await reachable(MACHINE_DSN):
        pytest.skip("the machine's PostgreSQL does not answer on 127.0.0.1:5432")
    await register("machine", MACHINE_DSN)
    yield "machine"
    await unregister("machine", MACHINE_DSN, settings.db.prefix)


async def new_store(slug: str, *, server: str | None = None, identity_id: int | None = None, locale: str = "ru"):
    data = SignupData(f"Store {slug}", slug, f"owner@{slug}.example.com", PASSWORD, locale, "RUB", "RU")
    tenant, identity = await stores.create_store(data, identity_id=identity_id, server=server)
    return tenant, identity


def draft(key: str) -> orders.OrderDraft:
    line = orders.LineDraft(None, "Thing", "SKU-1", 1990, 1)
    return orders.OrderDraft(
        lines=(line,), currency="RUB", customer_name="Load", phone="+79161234567", idempotency_key=key
    )


async def place(slug: str, key: str) -> None:
    """Place one order as a request would: a paused or unreachable store means retry the same key."""
    for _attempt in range(400):
        info = await tenancy.lookup_tenant(slug)
        assert info is not None
        if info.status != "active":
            await asyncio.sleep(0.05)
            continue
        try:
            async with tenancy.bind_tenant(info):
                await orders.create_order(draft(key))
            return
        except (*tenancy.UNAVAILABLE_ERRORS, PoolsExhausted, asyncpg.InterfaceError):
            tenancy.store_unreachable(info)
            await asyncio.sleep(0.05)
    raise AssertionError(f"order {key} never went through")


async def order_keys(info: tenancy.TenantInfo) -> list[str]:
    async with tenancy.bind_tenant(info):
        return [r["idempotency_key"] for r in await Order.select(Order.idempotency_key)]


# -- placement ----------------------------------------------------------------------------------
async def test_new_stores_go_to_the_least_loaded_server_or_the_named_one(runtime, second, store_a) -> None:
    await DbServer.update({DbServer.accepts_new: True}).where(DbServer.name == "second")
    try:
        placed, owner = await new_store("placed-auto")  # "second" holds no store yet: fewest stores
        named, _ = await new_store("placed-named", server=tenancy.PRIMARY_SERVER, identity_id=owner)
    finally:
        await DbServer.update({DbServer.accepts_new: False}).where(DbServer.name == "second")
    assert placed.server == "second"
    assert named.server == tenancy.PRIMARY_SERVER
    listed = {s.name: s for s in await fleet.list_servers()}
    assert listed["second"].stores >= 1 and "postgres" in listed["second"].dsn
    assert listed["second"].reachable and listed["second"].version.startswith("18")
    with pytest.raises(LookupError):
        await new_store("placed-nowhere", server="no-such-server", identity_id=owner)
    for slug in ("placed-auto", "placed-named"):
        await provision.deprovision(slug)


# -- one server down ----------------------------------------------------------------------------
async def test_a_server_down_affects_only_its_stores_and_they_recover_without_restart(runtime, second, client) -> None:
    far, owner = await new_store("far-away", server="second")
    near, _ = await new_store("near-by", server=tenancy.PRIMARY_SERVER, identity_id=owner)
    await login(client, "owner@far-away.example.com")
    assert (await client.get("/s/far-away/")).status_code == 200
    assert (await client.get("/f/far-away/order")).status_code == 200
    second.stop()
    try:
        staff = await client.get("/s/far-away/orders/")
        assert staff.status_code == 503
        assert "Магазин временно недоступен" in staff.text  # the store's language (ru)
        assert staff.headers["retry-after"]
        form = await client.get("/f/far-away/order?lang=uk")
        assert form.status_code == 503
        assert "Магазин тимчасово недоступний" in form.text
        assert (await client.get("/s/near-by/orders/")).status_code == 200
        assert (await client.get("/f/near-by/order")).status_code == 200
        assert (await client.get("/stores")).status_code == 200
        listed = {s.name: s for s in await fleet.list_servers()}
        assert not listed["second"].reachable and listed[tenancy.PRIMARY_SERVER].reachable
        await jobs.sweep_unfinished(timestamp=0)  # periodic work skips the store it cannot reach
    finally:
        second.start()
    # No restart, no retry: the very first request after the server is back is served.
    assert (await client.get("/s/far-away/orders/")).status_code == 200
    assert (await client.get("/f/far-away/order")).status_code == 200
    await provision.deprovision(far.slug)
    await provision.deprovision(near.slug)


async def test_migrate_reports_a_server_that_is_down_and_migrates_the_rest(runtime, second, store_a) -> None:
    far, _ = await new_store("far-migrating", server="second")
    latest = migrate.tenant_schema_version()
    await Tenant.update({Tenant.schema_version: ""}).where(Tenant.slug.is_in([far.slug, store_a.slug]))
    second.stop()
    try:
        results = {r.slug: r for r in await migrate.migrate_all()}
    finally:
        second.start()
    assert not results["template@second"].ok
    assert not results[far.slug].ok and results[far.slug].error
    assert results[store_a.slug].ok and results[store_a.slug].version == latest
    again = {r.slug: r for r in await migrate.migrate_all()}
    assert again["far-migrating"].ok and "template@second" not in again
    await provision.deprovision(far.slug)


# -- a paused store -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "title"),
    [("ru", "Временно недоступно"), ("en", "Temporarily unavailable"), ("uk", "Тимчасово недоступно")],
)
async def test_a_paused_store_answers_503_in_the_visitors_language(
    runtime, client, store_a, store_b, locale, title
) -> None:
    await Tenant.update({Tenant.status: "moving"}).where(Tenant.slug == store_a.slug)
    tenancy.forget_tenant(store_a.slug)
    try:
        await login(client, store_a.email)
        for path in (f"/s/{store_a.slug}/orders/?lang={locale}", f"/f/{store_a.slug}/order?lang={locale}"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert f'<html lang="{locale}">' in response.text
            assert title in response.text
            assert response.headers["retry-after"] == "5"
        other = await client.get(f"/f/{store_b.slug}/order?lang={locale}")
        assert other.status_code == 200
        paused = await tenancy.lookup_tenant(store_a.slug)
        assert paused is not None
        with pytest.raises(tenancy.StoreUnavailable):  # jobs too: they retry later
            async with tenancy.bind_tenant(paused):
                pass
    finally:
        await Tenant.update({Tenant.status: "active"}).where(Tenant.slug == store_a.slug)
        tenancy.forget_tenant(store_a.slug)
    assert (await client.get(f"/s/{store_a.slug}/orders/")).status_code == 200


# -- routing changes reach every process -------------------------------------------------------
async def test_a_notice_from_another_process_drops_the_cached_store(runtime, store_b) -> None:
    await asyncio.wait_for(runtime.listening.wait(), 10)
    assert await tenancy.lookup_tenant(store_b.slug) is not None
    assert store_b.slug in runtime.tenants
    other = await asyncpg.connect(runtime.primary_dsn, database=runtime.settings.db.control_database)
    try:
        payload = json.dumps({"slug": store_b.slug, "database": store_b.tenant.database})
        await other.execute("SELECT pg_notify($1, $2)", tenancy.TENANT_CHANNEL, payload)
    finally:
        await other.close()
    for _ in range(100):
        if store_b.slug not in runtime.tenants:
            break
        await asyncio.sleep(0.02)
    assert store_b.slug not in runtime.tenants


# -- moving -------------------------------------------------------------------------------------
async def test_move_keeps_the_password_locks_the_old_copy_and_can_move_back(runtime, second, client) -> None:
    tenant, _ = await new_store("mover", server=tenancy.PRIMARY_SERVER)
    for i in range(5):
        await place("mover", f"before-{i}")
    report = await relocate.move_tenant("mover", "second", keep_old=True)
    assert report.target == "second" and "_old" in report.old_copy
    moved = await tenancy.lookup_tenant("mover", fresh=True)
    assert moved is not None and moved.server == "second" and moved.status == "active"
    assert moved.routing_version >= tenant.routing_version + 2
    assert sorted(await order_keys(moved)) == [f"before-{i}" for i in range(5)]
    # The old copy is locked: the store's own role cannot open it any more.
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await asyncpg.connect(
            runtime.primary_dsn, user=tenant.role, password=tenant.password, database=f"{tenant.database}_old"
        )
    # The same password opens the new copy; another store's role still cannot.
    conn = await asyncpg.connect(second.dsn, user=tenant.role, password=tenant.password, database=tenant.database)
    assert await conn.fetchval("SELECT count(*) FROM orders") == 5
    await conn.close()
    await place("mover", "after-move")
    await login(client, "owner@mover.example.com")
    assert (await client.get("/s/mover/orders/")).status_code == 200
    # Back to the primary, over the role the first move left there.
    back = await relocate.move_tenant("mover", tenancy.PRIMARY_SERVER)
    assert back.old_copy.startswith("dropped")
    home = await tenancy.lookup_tenant("mover", fresh=True)
    assert home is not None and home.server == tenancy.PRIMARY_SERVER
    assert len(await order_keys(home)) == 6
    with pytest.raises(relocate.RelocationError, match="already on server"):
        await relocate.move_tenant("mover", tenancy.PRIMARY_SERVER)
    with pytest.raises(relocate.RelocationError, match="unknown database server"):
        await relocate.move_tenant("mover", "nowhere")
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{tenant.database}_old"')
    await provision.deprovision("mover")


@pytest.mark.remote
async def test_move_under_write_load_loses_nothing_and_old_copy_is_gone(runtime, settings, machine, client) -> None:
    """Writers keep placing orders while another process (the CLI) moves the store from the
    machine's PostgreSQL 15 to the embedded one; every acknowledged order is there afterwards."""
    tenant, _ = await new_store("busy-shop", server=machine)
    cached = await tenancy.lookup_tenant("busy-shop")
    assert cached is not None and cached.server == machine
    acked: list[str] = []
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            key = f"w{w}-{i}"
            await place("busy-shop", key)
            acked.append(key)
            i += 1

    writers = [asyncio.create_task(writer(w)) for w in range(4)]
    while len(acked) < 40:
        await asyncio.sleep(0.02)
    env = {
        **os.environ,
        "AUTOOFFICE_DATABASE_URL": settings.db.url or "",
        "AUTOOFFICE_DB_PREFIX": settings.db.prefix,
        "AUTOOFFICE_SECRET_KEY": settings.secret_key,
    }
    mover = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "tenant", "move", "busy-shop", "--to", tenancy.PRIMARY_SERVER, "--json",
        env=env, cwd=PROJECT_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(mover.communicate(), 120)
    assert mover.returncode == 0, err.decode()
    report = json.loads(out)
    during = len(acked)
    while len(acked) < during + 20:
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*writers)
    # This process heard the switch from the other one: its cached row already points to the new server.
    for _ in range(50):
        now = await tenancy.lookup_tenant("busy-shop")
        if now is not None and now.server == tenancy.PRIMARY_SERVER:
            break
        await asyncio.sleep(0.05)
    assert now is not None and now.server == tenancy.PRIMARY_SERVER and now.status == "active"
    keys = await order_keys(now)
    assert sorted(keys) == sorted(acked) and len(keys) == len(set(keys))
    orders_at_switch = next(t for t in report["tables"] if t["table"] == "orders")
    assert orders_at_switch["rows"] <= len(acked) and report["pause_seconds"] < 30
    # The old copy is gone from the machine's server, role included.
    old = await asyncpg.connect(MACHINE_DSN)
    try:
        assert not await old.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", tenant.database)
        assert not await old.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", tenant.role)
    finally:
        await old.close()
    await login(client, "owner@busy-shop.example.com")
    page = await client.get("/s/busy-shop/orders/")
    assert page.status_code == 200
    await provision.deprovision("busy-shop")


@pytest.mark.remote
async def test_a_move_to_an_older_postgresql_is_refused_before_anything_changes(runtime, machine) -> None:
    tenant, _ = await new_store("stay-put", server=tenancy.PRIMARY_SERVER)
    with pytest.raises(relocate.RelocationError, match="older than"):
        await relocate.move_tenant("stay-put", machine)
    info = await tenancy.lookup_tenant("stay-put", fresh=True)
    assert info is not None and info.server == tenancy.PRIMARY_SERVER and info.status == "active"
    assert replace(info, routing_version=tenant.routing_version) == replace(tenant, status="active")
    await place("stay-put", "still-works")
    await provision.deprovision("stay-put")


async def test_a_failed_move_leaves_the_store_serving_where_it_was(runtime, second, monkeypatch) -> None:
    tenant, _ = await new_store("not-moved", server=tenancy.PRIMARY_SERVER)
    await place("not-moved", "first")

    async def broken_restore(*args: object, **kwargs: object) -> None:
        raise pgtools.CopyFailed("pg_restore failed: disk full")

    monkeypatch.setattr(pgtools, "restore", broken_restore)
    with pytest.raises(pgtools.CopyFailed, match="disk full"):
        await relocate.move_tenant("not-moved", "second")
    info = await tenancy.lookup_tenant("not-moved", fresh=True)
    assert info is not None and info.server == tenancy.PRIMARY_SERVER and info.status == "active"
    await place("not-moved", "second")  # the role may log in again and writes land on the source
    assert sorted(await order_keys(info)) == ["first", "second"]
    target = await asyncpg.connect(second.dsn)
    try:
        assert not await target.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", tenant.database)
    finally:
        await target.close()
    await provision.deprovision("not-moved")
