"""The per-process tenancy runtime: control-plane pool, store pool registry, store lookup and binding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app import crypto, logs
from app.settings import Settings
from app.tables.control import DbServer, Tenant
from app.tenancy import privileges
from app.tenancy.embedded import start_embedded
from app.tenancy.engine import CONTROL_DB, ROUTED_DB, bound
from app.tenancy.pools import PoolRegistry, keep_session

PRIMARY_SERVER = "primary"
TENANT_CACHE_SECONDS = 30.0
# Control-plane NOTIFY channel: a store's routing changed (moved, restored, paused); every process
# forgets its cached catalog row and closes its pools for that database.
TENANT_CHANNEL = "autooffice_tenant"
# Errors meaning "the store's database cannot be used right now" (server down or restarting, a store
# locked during a move, a database that is gone): the request gets a 503 and the next one re-reads
# the catalog.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.exceptions.OperatorInterventionError,  # "terminating connection due to administrator command"
    asyncpg.CrashShutdownError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.TooManyConnectionsError,
    # asyncpg's pool raises this when it resets a connection the server has just dropped.
    asyncpg.InternalClientError,
)


# What asyncpg says when a connection went away under a query: closed by the server or the pool, or
# handed back to the pool while a request still held it (a database restart resets and releases it).
_LOST_CONNECTION_WORDS = ("closed", "closing", "released back to the pool")


def connection_lost(exc: BaseException) -> bool:
    """An ``asyncpg.InterfaceError`` that means the connection (or its pool) went away, not a bug."""
    message = str(exc).lower()
    return isinstance(exc, asyncpg.InterfaceError) and any(word in message for word in _LOST_CONNECTION_WORDS)


log = logging.getLogger("autooffice.tenancy")
PAUSED_STATUSES = frozenset({"moving"})


class StoreUnavailable(ConnectionError):
    """The store is paused for a few seconds (being moved or restored): retry shortly.

    A ``ConnectionError`` (so an ``OSError``): web requests answer 503, jobs retry like on a network error.
    """


@dataclass(frozen=True)
class TenantInfo:
    """What a request needs to know about its store; safe to cache for a few seconds."""

    id: int
    slug: str
    name: str
    database: str
    role: str
    password: str = field(repr=False)
    server: str
    status: str
    locale: str
    currency: str
    country: str
    schema_version: str
    routing_version: int = 1


@dataclass
class Runtime:
    settings: Settings
    primary_dsn: str
    control_pool: asyncpg.Pool
    registry: PoolRegistry
    servers: dict[str, str] = field(default_factory=dict)  # name -> admin DSN
    tenants: dict[str, tuple[float, TenantInfo | None]] = field(default_factory=dict)
    admin_pools: dict[str, asyncpg.Pool] = field(default_factory=dict)
    users: int = 0
    listener: asyncio.Task[None] | None = None
    listening: asyncio.Event = field(default_factory=asyncio.Event)

    def secret(self, purpose: str, value: str) -> str:
        return crypto.decrypt(self.settings.secret_key, purpose, value)

    def seal(self, purpose: str, value: str) -> str:
        return crypto.encrypt(self.settings.secret_key, purpose, value)


_runtime: Runtime | None = None
_start_lock = asyncio.Lock()
_tenant: ContextVar[TenantInfo | None] = ContextVar("autooffice_tenant", default=None)


def get_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("tenancy runtime is not started")
    return _runtime


def resolve_primary_dsn(settings: Settings) -> str:
    return settings.db.url or start_embedded(settings.data_dir)


async def ensure_database(dsn: str, name: str, prefix: str) -> None:
    """Create the control-plane database if needed, and keep PUBLIC out of the server's databases."""
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
        await privileges.revoke_public_connect(conn, prefix)
    finally:
        await conn.close()


async def start(settings: Settings) -> Runtime:
    """Start (or share) the runtime; every ``start`` is paired with a ``stop``."""
    global _runtime
    async with _start_lock:
        if _runtime is None:
            dsn = resolve_primary_dsn(settings)
            await ensure_database(dsn, settings.db.control_database, settings.db.prefix)
            config = {"dsn": dsn, "database": settings.db.control_database}
            pool = await asyncpg.create_pool(min_size=1, max_size=8, reset=keep_session, **config)
            CONTROL_DB.attach(pool, config)
            registry = PoolRegistry(
                max_size=settings.db.pool_max_size,
                cap_per_server=settings.db.max_connections_per_server,
                idle_seconds=settings.db.pool_idle_seconds,
                acquire_timeout=settings.db.acquire_timeout,
                statement_cache_size=settings.db.statement_cache_size,
                connect_timeout=settings.db.connect_timeout,
            )
            registry.start_janitor()
            _runtime = Runtime(settings=settings, primary_dsn=dsn, control_pool=pool, registry=registry)
            _runtime.servers[PRIMARY_SERVER] = dsn
            _runtime.listener = asyncio.get_running_loop().create_task(_listen(_runtime, config))
        _runtime.users += 1
        return _runtime


async def stop() -> None:
    global _runtime
    async with _start_lock:
        if _runtime is None:
            return
        _runtime.users -= 1
        if _runtime.users > 0:
            return
        runtime, _runtime = _runtime, None
        if runtime.listener is not None:
            runtime.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.listener
        for pool in runtime.admin_pools.values():
            await pool.close()
        await runtime.registry.close()
        await runtime.control_pool.close()
        CONTROL_DB.attach(None, {})


async def server_dsn(name: str) -> str:
    runtime = get_runtime()
    if name not in runtime.servers:
        row = await DbServer.select(DbServer.dsn_encrypted).where(DbServer.name == name).first()
        if row is None:
            raise LookupError(f"unknown database server {name!r}")
        runtime.servers[name] = runtime.secret("server-dsn", row["dsn_encrypted"])
    return runtime.servers[name]


async def admin_pool(server: str) -> asyncpg.Pool:
    """A small pool of admin connections to ``server``'s maintenance database (provisioning, sizes)."""
    runtime = get_runtime()
    if server not in runtime.admin_pools:
        timeout = runtime.settings.db.connect_timeout
        pool = await asyncpg.create_pool(await server_dsn(server), min_size=0, max_size=2, timeout=timeout)
        if server in runtime.admin_pools:  # another task won the race
            await pool.close()
        else:
            runtime.admin_pools[server] = pool
    return runtime.admin_pools[server]


def forget_tenant(slug: str) -> None:
    if _runtime is not None:
        _runtime.tenants.pop(slug, None)


async def _listen(runtime: Runtime, config: dict[str, Any]) -> None:
    """Follow routing changes announced by any process (``autooffice tenant move`` on another machine).

    A notification missed while the connection was down is covered by forgetting the whole cache on
    reconnect; a process that misses one anyway cannot be served from an old copy, because the old
    database is locked and then dropped, so it gets a 503 and re-reads the catalog.
    """

    def on_notice(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            change = json.loads(payload)
            slug, database = str(change["slug"]), str(change["database"])
        except (ValueError, KeyError, TypeError):
            return
        runtime.tenants.pop(slug, None)
        asyncio.get_running_loop().create_task(runtime.registry.evict_database(database))

    while True:
        try:
            conn = await asyncpg.connect(timeout=10, **config)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1.0)
            continue
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _c, done=closed: done.set())
        try:
            await conn.add_listener(TENANT_CHANNEL, on_notice)
            runtime.tenants.clear()  # anything announced while we were not listening
            runtime.listening.set()
            await closed.wait()
            log.warning("lost the control-plane listener connection; reconnecting")
        except (OSError, asyncpg.PostgresError):
            pass
        finally:
            runtime.listening.clear()
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())
        await asyncio.sleep(1.0)


async def announce_tenant_change(slug: str, database: str, *, conn: asyncpg.Connection | None = None) -> None:
    """Tell every process (this one included) that ``slug``'s routing changed; inside a transaction on
    ``conn`` the notice goes out on commit."""
    payload = json.dumps({"slug": slug, "database": database})
    if conn is not None:
        await conn.execute("SELECT pg_notify($1, $2)", TENANT_CHANNEL, payload)
    else:
        await get_runtime().control_pool.execute("SELECT pg_notify($1, $2)", TENANT_CHANNEL, payload)
    forget_tenant(slug)


def store_unreachable(tenant: TenantInfo) -> None:
    """A request for ``tenant`` could not use its database: re-read the catalog next time (it may
    have moved). The pool itself needs nothing: asyncpg drops connections the server closed."""
    forget_tenant(tenant.slug)


async def lookup_tenant(slug: str, *, fresh: bool = False) -> TenantInfo | None:
    """The store called ``slug`` (any status), cached per process for a few seconds."""
    runtime = get_runtime()
    cached = runtime.tenants.get(slug)
    now = time.monotonic()
    if cached is not None and not fresh and now - cached[0] < TENANT_CACHE_SECONDS:
        return cached[1]
    row = (
        await Tenant.select(*Tenant.all_columns(), Tenant.server.name.as_alias("server_name"))
        .where(Tenant.slug == slug)
        .first()
    )
    info = _tenant_info(runtime, row) if row else None
    if info is not None:  # misses are not cached: the cache cannot be grown with made-up names
        runtime.tenants[slug] = (now, info)
    return info


def _tenant_info(runtime: Runtime, row: dict[str, Any]) -> TenantInfo:
    return TenantInfo(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        database=row["database"],
        role=row["role"],
        password=runtime.secret("tenant-role", row["role_password_encrypted"]),
        server=row["server_name"],
        status=row["status"],
        locale=row["locale"],
        currency=row["currency"],
        country=row["country"],
        schema_version=row["schema_version"],
        routing_version=row["routing_version"],
    )


def tenant_config(dsn: str, tenant: TenantInfo) -> dict[str, Any]:
    return {"dsn": dsn, "user": tenant.role, "password": tenant.password, "database": tenant.database}


def store_pool_config(runtime: Runtime, dsn: str, tenant: TenantInfo) -> dict[str, Any]:
    """How the store's pool connects: directly, or through the server's PgBouncer (transaction mode).

    Behind PgBouncer < 1.21 a named prepared statement may land on another server connection, so
    asyncpg's statement cache is turned off there; nothing else we run on store pools keeps session
    state (migration locks and the job queue's LISTEN use direct connections).
    """
    config = tenant_config(dsn, tenant)
    bouncer = runtime.settings.db.pgbouncer.get(tenant.server)
    if bouncer:
        host, _, port = bouncer.rpartition(":")
        config.update(host=host or "127.0.0.1", port=int(port or 6432), statement_cache_size=0)
    return config


def current_tenant() -> TenantInfo:
    tenant = _tenant.get()
    if tenant is None:
        raise LookupError("no store is bound to this context")
    return tenant


@asynccontextmanager
async def bind_tenant(tenant: TenantInfo) -> AsyncIterator[TenantInfo]:
    """Route every tenant-table query in the enclosed code to ``tenant``'s database."""
    if tenant.status in PAUSED_STATUSES:
        raise StoreUnavailable(f"store {tenant.slug} is paused ({tenant.status})")
    runtime = get_runtime()
    dsn = await server_dsn(tenant.server)
    key = f"{tenant.server}/{tenant.database}"
    handle = await runtime.registry.acquire(key, tenant.server, store_pool_config(runtime, dsn, tenant))
    token = _tenant.set(tenant)
    log_token = logs.store_var.set(tenant.slug)
    try:
        async with bound(handle):
            yield tenant
    finally:
        logs.store_var.reset(log_token)
        _tenant.reset(token)
        await runtime.registry.release(handle)


def store_transaction():
    """A transaction on the bound store's database (nested calls join the outer one)."""
    return ROUTED_DB.transaction()


@asynccontextmanager
async def store_atomic() -> AsyncIterator[None]:
    """All or nothing, even when nested: a transaction of its own, or a savepoint inside the open one
    (a nested ``store_transaction()`` joins the outer transaction, so an exception raised inside it
    would leave its writes for the outer one to commit)."""
    outer = ROUTED_DB.current_transaction.get()
    if outer is None:
        async with ROUTED_DB.transaction():
            yield
        return
    savepoint = await outer.savepoint()
    try:
        yield
    except BaseException:
        await savepoint.rollback_to()
        raise
    await savepoint.release()


def transaction_connection() -> asyncpg.Connection:
    """The asyncpg connection of the open store transaction, for COPY and other bulk work."""
    transaction = ROUTED_DB.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk work needs an open store transaction")
    return transaction.connection
