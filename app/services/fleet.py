"""Operator views of the fleet: stores and database servers (the CLI's ``tenant`` and ``server`` verbs)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.errors import Conflict, ValidationFailed
from app.i18n import gettext as _
from app.tables.control import DbServer, Tenant
from app.tenancy import migrate
from app.tenancy.provision import admin_connection
from app.tenancy.runtime import get_runtime


@dataclass(frozen=True)
class TenantRow:
    slug: str
    name: str
    database: str
    role: str
    server: str
    schema_version: str
    status: str
    size_bytes: int | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ServerRow:
    name: str
    dsn: str
    status: str
    accepts_new: bool
    stores: int
    reachable: bool = False
    version: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def redact_dsn(dsn: str) -> str:
    """The DSN with any password removed (in the user part, the query, or key=value form)."""
    dsn = re.sub(r"(password=)[^&\s]*", r"\1***", dsn)
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


async def _sizes(server: str, databases: list[str]) -> dict[str, int]:
    try:
        async with admin_connection(server) as conn:
            rows = await conn.fetch(
                "SELECT datname, pg_database_size(datname) AS size FROM pg_database WHERE datname = ANY($1)",
                databases,
            )
    except (OSError, asyncpg.PostgresError):
        return {}
    return {row["datname"]: int(row["size"]) for row in rows}


async def list_tenants() -> list[TenantRow]:
    rows = await Tenant.select(
        Tenant.slug,
        Tenant.name,
        Tenant.database,
        Tenant.role,
        Tenant.server.name.as_alias("server"),
        Tenant.schema_version,
        Tenant.status,
    ).order_by(Tenant.slug)
    sizes: dict[str, int] = {}
    for server in {row["server"] for row in rows}:
        sizes.update(await _sizes(server, [r["database"] for r in rows if r["server"] == server]))
    return [TenantRow(**row, size_bytes=sizes.get(row["database"])) for row in rows]


async def _probe(dsn: str) -> tuple[bool, str]:
    """Whether the server answers now, and its PostgreSQL version."""
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, ValueError):
        return False, ""
    try:
        return True, str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


async def list_servers() -> list[ServerRow]:
    runtime = get_runtime()
    servers = await DbServer.select().order_by(DbServer.id)
    counts: dict[int, int] = {}
    for row in await Tenant.select(Tenant.server):
        counts[row["server"]] = counts.get(row["server"], 0) + 1
    dsns = [runtime.secret("server-dsn", row["dsn_encrypted"]) for row in servers]
    probes = await asyncio.gather(*(_probe(dsn) for dsn in dsns))
    return [
        ServerRow(
            row["name"],
            redact_dsn(dsn),
            row["status"],
            row["accepts_new"],
            counts.get(row["id"], 0),
            reachable,
            version,
        )
        for row, dsn, (reachable, version) in zip(servers, dsns, probes, strict=True)
    ]


async def add_server(name: str, dsn: str, *, accepts_new: bool = True) -> ServerRow:
    """Register a PostgreSQL server for new stores and build its template.

    Raises:
        ValidationFailed: the name is malformed or the server cannot be reached as a superuser.
        Conflict: a server with this name exists.
    """
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 63:
        raise ValidationFailed({"name": _("Use letters, digits, hyphens and underscores (at most 63).")})
    if await DbServer.exists().where(DbServer.name == name):
        raise Conflict(_("Server %(name)s already exists.", name=name))
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        raise ValidationFailed({"dsn": _("Cannot connect: %(reason)s", reason=str(exc))}) from None
    try:
        if not await conn.fetchval(
            "SELECT rolsuper OR rolcreatedb AND rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ):
            raise ValidationFailed({"dsn": _("The role must be able to create databases and roles.")})
    finally:
        await conn.close()
    runtime = get_runtime()
    await DbServer.insert(DbServer(name=name, dsn_encrypted=runtime.seal("server-dsn", dsn), accepts_new=accepts_new))
    runtime.servers.pop(name, None)
    try:
        await migrate.migrate_template(name)
    except BaseException:
        await DbServer.delete().where(DbServer.name == name)  # no half-registered server
        runtime.servers.pop(name, None)
        raise
    return next(s for s in await list_servers() if s.name == name)


async def active_stores() -> list[str]:
    return [row["slug"] for row in await Tenant.select(Tenant.slug).where(Tenant.status == "active")]
