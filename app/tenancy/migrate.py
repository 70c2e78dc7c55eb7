"""Migrations: control plane, then each server's template, then every store database in parallel.

Resumable: a store whose recorded ``schema_version`` is the latest is skipped, and one store's
failure is recorded on its catalog row and reported without stopping the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from piccolo.apps.migrations.commands.forwards import run_forwards

from app.tables.control import DbServer, Tenant
from app.tables.control_app import APP_CONFIG as CONTROL_APP
from app.tables.tenant_app import APP_CONFIG as TENANT_APP
from app.tenancy import privileges
from app.tenancy import runtime as rt
from app.tenancy.provision import admin_connection, bound_admin, quote_ident

MIGRATION_LOCK = 7_340_001  # pg_advisory_lock key held while a database migrates


@dataclass
class TenantResult:
    slug: str
    version: str
    ok: bool
    error: str = ""


def latest_version(folder: str) -> str:
    ids = []
    for path in Path(folder).glob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith("ID = "):
                ids.append(line.split("=", 1)[1].strip().strip("\"'"))
    return max(ids) if ids else ""


def tenant_schema_version() -> str:
    return latest_version(TENANT_APP.migrations_folder_path)


async def _forwards(app_name: str) -> None:
    # Piccolo prints progress; silence it once for the whole call, never per concurrent task.
    with contextlib.redirect_stdout(io.StringIO()):
        result = await run_forwards(app_name=app_name)
    if not result.success:
        raise RuntimeError(result.message or f"{app_name} migrations failed")


async def migrate_control() -> None:
    runtime = rt.get_runtime()
    settings = runtime.settings
    async with admin_connection(rt.PRIMARY_SERVER, settings.db.control_database) as conn:
        await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        async with bound_admin(rt.PRIMARY_SERVER, settings.db.control_database):
            await _forwards(CONTROL_APP.app_name)
    sealed = runtime.seal("server-dsn", runtime.primary_dsn)
    existing = await DbServer.select(DbServer.id).where(DbServer.name == rt.PRIMARY_SERVER).first()
    if existing:
        await DbServer.update({DbServer.dsn_encrypted: sealed}).where(DbServer.id == existing["id"])
    else:
        await DbServer.insert(DbServer(name=rt.PRIMARY_SERVER, dsn_encrypted=sealed))


async def migrate_template(server: str) -> None:
    """(Re)build ``server``'s template database at the latest store schema."""
    db = rt.get_runtime().settings.db
    tpl, owner = db.template_database, db.template_role
    async with admin_connection(server) as conn:
        await conn.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", owner):
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await conn.execute(f"CREATE ROLE {quote_ident(owner)} NOLOGIN")
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", tpl):
            await conn.execute(f"CREATE DATABASE {quote_ident(tpl)} TEMPLATE template0")
        await privileges.revoke_public_connect(conn, db.prefix)
        await conn.execute(f"ALTER DATABASE {quote_ident(tpl)} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true")
        try:
            async with admin_connection(server, tpl) as tconn:
                # PUBLIC has already lost CONNECT on the template (revoke_public_connect above).
                await tconn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {quote_ident(owner)}")
            async with bound_admin(server, tpl, role=owner):
                await _forwards(TENANT_APP.app_name)
        finally:
            await conn.execute(f"ALTER DATABASE {quote_ident(tpl)} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true")


async def migrate_tenant(tenant: rt.TenantInfo, version: str) -> TenantResult:
    dsn = await rt.server_dsn(tenant.server)
    try:
        timeout = rt.get_runtime().settings.db.connect_timeout
        lock = await asyncpg.connect(timeout=timeout, **rt.tenant_config(dsn, tenant))
        try:
            await lock.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            async with rt.bind_tenant(tenant):
                await _forwards(TENANT_APP.app_name)
        finally:
            await lock.close()
    except Exception as exc:  # one store's failure must not stop the fleet
        await Tenant.update({Tenant.last_error: str(exc)[:2000]}).where(Tenant.id == tenant.id)
        return TenantResult(tenant.slug, tenant.schema_version, False, str(exc))
    await Tenant.update({Tenant.schema_version: version, Tenant.last_error: ""}).where(Tenant.id == tenant.id)
    await rt.get_runtime().registry.evict(f"{tenant.server}/{tenant.database}")  # drop cached plans
    rt.forget_tenant(tenant.slug)
    return TenantResult(tenant.slug, version, True)


async def migrate_tenants(concurrency: int = 8) -> list[TenantResult]:
    version = tenant_schema_version()
    rows = await Tenant.select(Tenant.slug, Tenant.schema_version).where(Tenant.status != "provisioning")
    results = [TenantResult(r["slug"], version, True) for r in rows if r["schema_version"] == version]
    pending = [r["slug"] for r in rows if r["schema_version"] != version]
    gate = asyncio.Semaphore(concurrency)

    async def one(slug: str) -> TenantResult:
        async with gate:
            info = await rt.lookup_tenant(slug, fresh=True)
            assert info is not None
            return await migrate_tenant(info, version)

    results += await asyncio.gather(*(one(slug) for slug in pending))
    return sorted(results, key=lambda r: r.slug)


async def migrate_all(concurrency: int = 8) -> list[TenantResult]:
    """Control plane, every server's template, every store. A server that cannot be reached is
    reported (as ``template@<server>``) and its stores fail one by one; the others go ahead."""
    await migrate_control()
    failed: list[TenantResult] = []
    version = tenant_schema_version()
    for row in await DbServer.select(DbServer.name).where(DbServer.status == "active"):
        try:
            await migrate_template(row["name"])
        except (OSError, asyncpg.PostgresError) as exc:
            failed.append(TenantResult(f"template@{row['name']}", version, False, str(exc) or type(exc).__name__))
    return failed + await migrate_tenants(concurrency)
