"""Least privilege: a store's role reaches its own database and nothing else on any server we manage.

The roles log in exactly as the app does: role, password and database from the catalog row
(``lookup_tenant``), so a store whose catalog password were wrong would fail here too.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.services import fleet
from app.tables.control import DbServer
from app.tenancy import migrate, privileges
from app.tenancy import runtime as tenancy
from tests.integration.servers import EmbeddedCluster, unregister

pytestmark = pytest.mark.integration


async def _connect_as(tenant: tenancy.TenantInfo, database: str) -> asyncpg.Connection:
    dsn = await tenancy.server_dsn(tenant.server)
    config = {**tenancy.tenant_config(dsn, tenant), "database": database}
    return await asyncpg.connect(timeout=10, **config)


async def _public_may_connect(dsn: str, database: str) -> bool:
    """Asked of PostgreSQL itself: does a role with no grants of its own (PUBLIC only) get CONNECT?"""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP ROLE IF EXISTS ao_probe_nobody; CREATE ROLE ao_probe_nobody NOLOGIN")
        try:
            return await conn.fetchval("SELECT has_database_privilege('ao_probe_nobody', $1, 'CONNECT')", database)
        finally:
            await conn.execute("DROP ROLE ao_probe_nobody")
    finally:
        await conn.close()


async def test_each_store_role_reaches_its_own_database_only(runtime, settings, store_a, store_b) -> None:
    a = await tenancy.lookup_tenant(store_a.slug, fresh=True)
    b = await tenancy.lookup_tenant(store_b.slug, fresh=True)
    assert a is not None and b is not None
    for own, other in ((a, b), (b, a)):
        conn = await _connect_as(own, own.database)
        try:
            assert await conn.fetchval("SELECT current_database()") == own.database
        finally:
            await conn.close()
        # template1 accepts connections, so it is refused on privilege like the others.
        for foreign in (other.database, settings.db.control_database, "postgres", "template1"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await _connect_as(own, foreign)
    # Templates that refuse every connection (ours, template0) are checked on the privilege itself.
    for database in (settings.db.template_database, "template0", settings.db.control_database, "postgres"):
        assert not await _public_may_connect(runtime.primary_dsn, database), database


async def test_migrate_takes_connect_back_from_public_on_a_server_that_already_exists(runtime, settings) -> None:
    async with (await tenancy.admin_pool(tenancy.PRIMARY_SERVER)).acquire() as conn:
        await conn.execute(
            f'GRANT CONNECT ON DATABASE postgres TO PUBLIC; GRANT CONNECT ON DATABASE "{settings.db.control_database}" '
            "TO PUBLIC; GRANT CONNECT ON DATABASE template1 TO PUBLIC"
        )
        assert set(await privileges.open_to_public(conn, settings.db.prefix)) >= {
            "postgres",
            "template1",
            settings.db.control_database,
        }
    failed = [r for r in await migrate.migrate_all() if not r.ok]
    assert not failed
    for database in ("postgres", "template1", settings.db.control_database):
        assert not await _public_may_connect(runtime.primary_dsn, database), database


async def test_server_add_locks_down_the_new_server(runtime, settings) -> None:
    cluster = EmbeddedCluster("test-pg2")
    conn = await asyncpg.connect(cluster.dsn)
    try:
        await conn.execute(
            "GRANT CONNECT ON DATABASE postgres TO PUBLIC; GRANT CONNECT ON DATABASE template1 TO PUBLIC"
        )
    finally:
        await conn.close()
    assert await _public_may_connect(cluster.dsn, "postgres")
    try:
        await fleet.add_server("locked", cluster.dsn, accepts_new=False)
        for database in ("postgres", "template1", "template0", settings.db.template_database):
            assert not await _public_may_connect(cluster.dsn, database), database
    finally:
        if await DbServer.exists().where(DbServer.name == "locked"):
            await unregister("locked", cluster.dsn, settings.db.prefix)


async def test_start_up_takes_connect_back_before_serving(runtime, settings) -> None:
    conn = await asyncpg.connect(runtime.primary_dsn)
    try:
        await conn.execute(f'GRANT CONNECT ON DATABASE "{settings.db.control_database}" TO PUBLIC')
    finally:
        await conn.close()
    assert await _public_may_connect(runtime.primary_dsn, settings.db.control_database)
    await tenancy.ensure_database(runtime.primary_dsn, settings.db.control_database, settings.db.prefix)
    assert not await _public_may_connect(runtime.primary_dsn, settings.db.control_database)


async def test_processes_starting_at_once_all_lock_down_without_tripping_over_each_other(runtime, settings) -> None:
    conns = [await asyncpg.connect(runtime.primary_dsn) for _ in range(6)]
    try:
        await conns[0].execute(
            "GRANT CONNECT ON DATABASE postgres TO PUBLIC; GRANT CONNECT ON DATABASE template1 TO PUBLIC"
        )
        results = await asyncio.gather(
            *(privileges.revoke_public_connect(conn, settings.db.prefix) for conn in conns), return_exceptions=True
        )
        assert results == [[]] * 6
        assert await privileges.open_to_public(conns[0], settings.db.prefix) == []
    finally:
        for conn in conns:
            await conn.close()
