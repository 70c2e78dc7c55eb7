"""The tenancy core against a real PostgreSQL: isolation, routing, provisioning, migrations."""

from __future__ import annotations

import asyncio
import base64
import random

import asyncpg
import pytest

from app.tables.control import Tenant
from app.tables.stores import StoreSetting
from app.tenancy import migrate, provision
from app.tenancy import runtime as tenancy
from app.tenancy.engine import current_handle
from tests.conftest import make_store

pytestmark = pytest.mark.integration


async def test_store_role_cannot_open_another_store_database(runtime, store_a, store_b) -> None:
    a = store_a.tenant
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(runtime.primary_dsn, user=a.role, password=a.password, database=store_b.tenant.database)
    own = await asyncpg.connect(runtime.primary_dsn, user=a.role, password=a.password, database=a.database)
    try:
        owners = {
            r["tableowner"] for r in await own.fetch("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
        assert owners == {a.role}
        assert not await own.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    finally:
        await own.close()


async def test_store_role_password_is_stored_as_our_own_scram_verifier(runtime, store_a) -> None:
    """The verifier is computed by the app (the plain password never reaches the server) with the
    store-key iteration count, and only the right password opens the store."""
    a = store_a.tenant
    probe = f"{runtime.settings.db.prefix}_scram_probe"
    admin = await asyncpg.connect(runtime.primary_dsn)
    try:
        verifier = await admin.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", a.role)
        # PostgreSQL's own verifier for a known password: ours must match it bit for bit, given its salt.
        await admin.execute(f"SET password_encryption = 'scram-sha-256'; CREATE ROLE {probe} PASSWORD 'pencil-42'")
        theirs = await admin.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", probe)
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {probe}")
        await admin.close()
    iterations, salt = theirs.split("$")[1].split(":")
    assert provision.scram_verifier("pencil-42", int(iterations), base64.b64decode(salt)) == theirs
    assert verifier.startswith(f"SCRAM-SHA-256${provision.SCRAM_ITERATIONS}:")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(runtime.primary_dsn, user=a.role, password=a.password + "x", database=a.database)


async def test_concurrent_requests_each_see_only_their_store(runtime, store_a, store_b) -> None:
    async def read(store) -> str:
        async with tenancy.bind_tenant(store.tenant), tenancy.store_transaction():
            await asyncio.sleep(random.random() / 100)
            row = await StoreSetting.select(StoreSetting.name).first()
            return row["name"]

    expected = {store_a.slug: await read(store_a), store_b.slug: await read(store_b)}
    assert expected[store_a.slug] != expected[store_b.slug]
    stores = [store_a, store_b] * 25
    names = await asyncio.gather(*(read(s) for s in stores))
    assert names == [expected[s.slug] for s in stores]


async def test_rollback_stays_in_its_store(runtime, store_a, store_b) -> None:
    async with tenancy.bind_tenant(store_a.tenant):
        before = (await StoreSetting.select(StoreSetting.name).first())["name"]
    with pytest.raises(RuntimeError):
        async with tenancy.bind_tenant(store_a.tenant), tenancy.store_transaction():
            await StoreSetting.update({StoreSetting.name: "changed"}, force=True)
            raise RuntimeError("abort")
    async with tenancy.bind_tenant(store_a.tenant):
        assert (await StoreSetting.select(StoreSetting.name).first())["name"] == before


async def test_pooled_connections_come_back_in_one_round_trip_and_never_inside_a_transaction(runtime, store_a) -> None:
    """Store pools skip asyncpg's RESET ALL round trip on release; a transaction left open is still
    rolled back, so the next user of the connection starts clean."""
    async with tenancy.bind_tenant(store_a.tenant):
        pool = current_handle().pool
        await StoreSetting.select(StoreSetting.name).first()
        sent: list[str] = []
        conn = await pool.acquire()
        conn.add_query_logger(lambda record: sent.append(record.query))
        await conn.execute("BEGIN")
        await conn.execute("UPDATE store_setting SET name = 'left open'")
        await pool.release(conn)
        assert not any("RESET ALL" in query for query in sent), sent
        sent.clear()
        conn = await pool.acquire()
        try:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM store_setting WHERE name = 'left open'") == 0
        finally:
            await pool.release(conn)
        assert sent == ["SELECT count(*) FROM store_setting WHERE name = 'left open'"]


async def test_switching_store_inside_a_transaction_is_refused(runtime, store_a, store_b) -> None:
    async with tenancy.bind_tenant(store_a.tenant), tenancy.store_transaction():
        with pytest.raises(RuntimeError, match="inside an open transaction"):
            async with tenancy.bind_tenant(store_b.tenant):
                pass


async def test_query_without_bound_store_fails_loudly(runtime) -> None:
    with pytest.raises(LookupError):
        await StoreSetting.select().first()


async def test_migrate_is_resumable_and_records_each_version(runtime, store_a, store_b) -> None:
    latest = migrate.tenant_schema_version()
    await Tenant.update({Tenant.schema_version: ""}).where(Tenant.slug == store_a.slug)
    results = {r.slug: r for r in await migrate.migrate_tenants()}
    assert results[store_a.slug].ok and results[store_a.slug].version == latest
    rows = await Tenant.select(Tenant.slug, Tenant.schema_version).where(
        Tenant.slug.is_in([store_a.slug, store_b.slug])
    )
    assert {r["schema_version"] for r in rows} == {latest}


async def test_one_broken_store_does_not_stop_the_fleet(runtime, store_a) -> None:
    broken = await make_store("broken-one")
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
        await conn.execute(f'DROP DATABASE "{broken.tenant.database}" WITH (FORCE)')
    await Tenant.update({Tenant.schema_version: ""}).where(Tenant.slug.is_in([broken.slug, store_a.slug]))
    results = {r.slug: r for r in await migrate.migrate_tenants()}
    assert not results[broken.slug].ok and results[broken.slug].error
    assert results[store_a.slug].ok
    assert (await Tenant.select(Tenant.last_error).where(Tenant.slug == broken.slug).first())["last_error"]
    await provision.deprovision(broken.slug)


async def test_failed_provisioning_leaves_nothing_behind(runtime, settings) -> None:
    clash = f"{settings.db.prefix}_s_clash"
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
        await conn.execute(f'CREATE DATABASE "{clash}"')
    spec = provision.StoreSpec("clash", "Clash", "ru", "RUB", "RU")
    with pytest.raises(asyncpg.DuplicateDatabaseError):
        await provision.provision(spec, schema_version="x")
    assert not await Tenant.exists().where(Tenant.slug == "clash")
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
        assert not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", clash)
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", clash)  # not ours: kept
        await conn.execute(f'DROP DATABASE "{clash}"')


async def test_taken_slug_is_refused_before_any_database_work(runtime, store_a) -> None:
    with pytest.raises(provision.SlugTaken):
        await provision.provision(provision.StoreSpec(store_a.slug, "x", "ru", "RUB", "RU"), schema_version="x")


async def test_a_fleet_migration_cut_short_resumes_where_it_stopped(runtime) -> None:
    """The runner dies while one store is still migrating (its lock is held elsewhere): the stores
    already done keep their recorded version, and the next run finishes only what is left."""
    latest = migrate.tenant_schema_version()
    first = await make_store("crash-0")
    fleet = [first] + [await make_store(f"crash-{i}", identity_id=first.identity_id) for i in range(1, 4)]
    slugs = [s.slug for s in fleet]
    await Tenant.update({Tenant.schema_version: "", Tenant.last_error: ""}).where(Tenant.slug.is_in(slugs))
    stuck = fleet[2].tenant
    holder = await asyncpg.connect(runtime.primary_dsn, database=stuck.database)
    try:
        await holder.execute(f"SELECT pg_advisory_lock({migrate.MIGRATION_LOCK})")
        run = asyncio.create_task(migrate.migrate_tenants(concurrency=4))
        done: set[str] = set()
        for _ in range(300):
            rows = await Tenant.select(Tenant.slug).where(Tenant.slug.is_in(slugs) & (Tenant.schema_version == latest))
            done = {r["slug"] for r in rows}
            if len(done) == 3:
                break
            await asyncio.sleep(0.05)
        assert done == set(slugs) - {stuck.slug}
        run.cancel()  # the crash
        with pytest.raises(asyncio.CancelledError):
            await run
    finally:
        await holder.close()
    versions = {r["slug"]: r["schema_version"] for r in await Tenant.select().where(Tenant.slug.is_in(slugs))}
    assert versions[stuck.slug] == "" and all(versions[s] == latest for s in done)
    results = {r.slug: r for r in await migrate.migrate_tenants()}
    assert all(results[s].ok for s in slugs)
    assert (await Tenant.select(Tenant.schema_version).where(Tenant.slug == stuck.slug).first())[
        "schema_version"
    ] == latest
    for slug in slugs:
        await provision.deprovision(slug)
