"""Creating and dropping store databases: a role per store, a database cloned from the template."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from app.tables.control import DbServer, Tenant
from app.tenancy import privileges
from app.tenancy import runtime as rt
from app.tenancy.engine import DatabaseHandle, bound


class SlugTaken(Exception):
    """Another store already uses this slug (or its database name)."""


@dataclass(frozen=True)
class StoreSpec:
    slug: str
    name: str
    locale: str
    currency: str
    country: str
    server: str | None = None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def names_for(slug: str) -> str:
    """Database and role share one name (``sameuser`` in pg_hba works for defence in depth)."""
    return f"{rt.get_runtime().settings.db.prefix}_s_{slug.replace('-', '_')}"


@asynccontextmanager
async def admin_connection(server: str, database: str | None = None) -> AsyncIterator[asyncpg.Connection]:
    """An admin connection: pooled for the server's maintenance database, a fresh one for any other."""
    if database is None:
        pool = await rt.admin_pool(server)
        async with pool.acquire() as conn:
            yield conn
        return
    dsn = await rt.server_dsn(server)
    conn = await asyncpg.connect(dsn, database=database)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def bound_admin(server: str, database: str, role: str | None = None) -> AsyncIterator[None]:
    """Bind the routed engine to ``database`` as the admin (optionally acting as ``role``)."""
    dsn = await rt.server_dsn(server)
    config: dict = {"dsn": dsn, "database": database}
    if role:
        config["server_settings"] = {"role": role}
    pool = await asyncpg.create_pool(min_size=0, max_size=2, **config)
    try:
        async with bound(DatabaseHandle(key=f"admin:{database}", server=server, config=config, pool=pool)):
            yield
    finally:
        await pool.close()


async def choose_server(requested: str | None) -> tuple[int, str]:
    """The named server, or the accepting server with the fewest stores."""
    rows = await DbServer.raw(
        "SELECT s.id, s.name, (SELECT count(*) FROM tenant t WHERE t.server = s.id) AS stores FROM db_server s "
        "WHERE ({} <> '' AND s.name = {}) OR ({} = '' AND s.accepts_new AND s.status = 'active') "
        "ORDER BY stores, s.id LIMIT 1",
        requested or "",
        requested or "",
        requested or "",
    )
    if not rows:
        problem = f"unknown database server {requested!r}" if requested else "no database server accepts new stores"
        raise LookupError(problem)
    return rows[0]["id"], rows[0]["name"]


async def provision(spec: StoreSpec, *, schema_version: str, from_template: bool = True) -> rt.TenantInfo:
    """Create the store's role, database and catalog row; on any failure nothing is left behind."""
    runtime = rt.get_runtime()
    name = names_for(spec.slug)
    server_id, server_name = await choose_server(spec.server)
    password = secrets.token_urlsafe(24)
    try:
        row = await Tenant.insert(
            Tenant(
                slug=spec.slug,
                name=spec.name,
                database=name,
                role=name,
                server=server_id,
                role_password_encrypted=runtime.seal("tenant-role", password),
                status="provisioning",
                locale=spec.locale,
                currency=spec.currency,
                country=spec.country,
                schema_version=schema_version,
            )
        ).returning(Tenant.id)
    except asyncpg.UniqueViolationError as exc:
        raise SlugTaken(spec.slug) from exc
    created: list[str] = []
    try:
        await create_database(server_name, name, password, created, from_template=from_template)
    except BaseException:
        await _undo(server_name, name, created)
        await Tenant.delete().where(Tenant.id == row[0]["id"])
        raise
    rt.forget_tenant(spec.slug)
    return rt.TenantInfo(
        id=row[0]["id"],
        slug=spec.slug,
        name=spec.name,
        database=name,
        role=name,
        password=password,
        server=server_name,
        status="provisioning",
        locale=spec.locale,
        currency=spec.currency,
        country=spec.country,
        schema_version=schema_version,
    )


# A store role's password is a random 192-bit key the app generated, not something a person chose, so
# stretching it buys nothing: guessing it is hopeless at any iteration count. Every store connection
# pays the count twice (server and client), and store connections are opened often under the
# per-server cap, so the verifier uses far fewer than PostgreSQL's 4096 (which guards human passwords).
SCRAM_ITERATIONS = 256


def scram_verifier(password: str, iterations: int = SCRAM_ITERATIONS, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677), computed here so
    the plain password never reaches the server (nor its statement log). ``password`` is ASCII, for
    which SASLprep changes nothing."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def role_sql(name: str, password: str) -> str:
    """Create a store's login role with its limits (the same on every server it lives on)."""
    role = quote_ident(name)
    return (
        f"CREATE ROLE {role} LOGIN PASSWORD {quote_literal(scram_verifier(password))} CONNECTION LIMIT 20;"
        f"ALTER ROLE {role} SET statement_timeout = '60s';"
        f"ALTER ROLE {role} SET idle_in_transaction_session_timeout = '120s'"
    )


async def create_database(
    server: str, name: str, password: str, created: list[str], *, from_template: bool = True
) -> None:
    """Create role and database; ``created`` records what exists so a failure undoes only that.

    ``from_template=False`` makes an empty database (a move or a restore fills it with pg_restore).
    """
    settings = rt.get_runtime().settings.db
    template = settings.template_database if from_template else "template0"
    async with admin_connection(server) as conn:
        await conn.execute(role_sql(name, password))
        created.append("role")
        await conn.execute(
            f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(name)} TEMPLATE {quote_ident(template)}"
        )
        created.append("database")
        await privileges.close_to_public(conn, name)
    if not from_template:
        return
    async with admin_connection(server, name) as conn:
        # Template objects belong to a NOLOGIN template role; hand them to the store's own role.
        await conn.execute(
            f"REASSIGN OWNED BY {quote_ident(settings.template_role)} TO {quote_ident(name)};"
            f"REVOKE ALL ON SCHEMA public FROM {quote_ident(settings.template_role)}"
        )


async def _undo(server: str, name: str, created: list[str]) -> None:
    async with admin_connection(server) as conn:
        if "database" in created:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        if "role" in created:
            await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")


async def activate(slug: str) -> None:
    await Tenant.update({Tenant.status: "active"}).where(Tenant.slug == slug)
    rt.forget_tenant(slug)


async def drop_database(server: str, name: str) -> None:
    """Drop a store's database and role if they exist (rollback and test clean-up)."""
    async with admin_connection(server) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")


async def deprovision(slug: str) -> None:
    """Remove a store entirely: database, role, memberships and catalog row."""
    info = await rt.lookup_tenant(slug, fresh=True)
    if info is None:
        return
    await rt.get_runtime().registry.evict(f"{info.server}/{info.database}")
    await drop_database(info.server, info.database)
    await Tenant.delete().where(Tenant.id == info.id)
    rt.forget_tenant(slug)


async def drop_prefixed(dsn: str, prefix: str) -> None:
    """Drop every database and role named ``<prefix>_…`` on a server (test and bench clean-up)."""
    conn = await asyncpg.connect(dsn)
    try:
        pattern = f"{prefix}\\_%"
        for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", pattern):
            await conn.execute(f"ALTER DATABASE {quote_ident(row['datname'])} WITH IS_TEMPLATE false")
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(row['datname'])} WITH (FORCE)")
        for row in await conn.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", pattern):
            await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(row['rolname'])}")
    finally:
        await conn.close()
