"""Moving one store to another server, and backing up / restoring one store's database.

A move: the store's role (same password) and an empty database are created on the target; the
store is paused (catalog status ``moving``, so every process answers 503 with ``Retry-After``), its
role is locked out of the source (``NOLOGIN``) and its sessions end; ``pg_dump`` → ``pg_restore``
copies it; every table's rows and checksum are compared; one control-plane transaction switches the
catalog (server, status, ``routing_version``) and NOTIFYs every process, which forget the cached
row and close their pools; then the old copy is dropped (or renamed with ``keep_old``). A failure
before the switch puts the store back where it was, serving again, and removes the half-made copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from app.tables.control import DbServer, Membership, Tenant
from app.tenancy import pgtools, privileges
from app.tenancy import runtime as rt
from app.tenancy.provision import (
    SlugTaken,
    StoreSpec,
    activate,
    admin_connection,
    deprovision,
    provision,
    quote_ident,
    quote_literal,
    role_sql,
    scram_verifier,
)

MOVABLE = frozenset({"active", "read_only", "moving"})  # "moving": an interrupted move is run again
RELOCATION_LOCK = 7_340_002  # control-plane advisory lock (with the tenant id) held by a move or restore
DRAIN_SECONDS = 5.0  # how long in-flight transactions of a paused store may finish before they are ended


class RelocationError(RuntimeError):
    """A move, backup or restore that cannot be done; the message is one line for the operator."""


@dataclass
class MoveReport:
    slug: str
    source: str
    target: str
    pause_seconds: float
    tables: list[pgtools.TablePrint]
    old_copy: str


@dataclass
class Manifest:
    """Written next to a backup (``FILE.json``): what the archive holds and how to check it."""

    slug: str
    name: str
    locale: str
    currency: str
    country: str
    schema_version: str
    server_major: int
    created_at: str
    tables: list[dict[str, object]] = field(default_factory=list)

    def prints(self) -> list[pgtools.TablePrint]:
        return [pgtools.TablePrint(str(t["table"]), int(t["rows"]), str(t["checksum"])) for t in self.tables]  # type: ignore[call-overload]


@dataclass
class BackupReport:
    slug: str
    file: Path
    manifest: Path
    size_bytes: int
    tables: list[pgtools.TablePrint]


@dataclass
class RestoreReport:
    slug: str
    server: str
    database: str
    tables: list[pgtools.TablePrint]
    verified: bool
    members: int


def manifest_path(file: Path) -> Path:
    return file.with_name(file.name + ".json")


# -- helpers ------------------------------------------------------------------------------------
async def server_major(server: str) -> int:
    async with admin_connection(server) as conn:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000


async def database_prints(server: str, database: str) -> list[pgtools.TablePrint]:
    async with admin_connection(server, database) as conn:
        return await pgtools.fingerprints(conn)


async def _set_status(
    tenant_id: int, status: str, slug: str, database: str, *, server_id: int | None = None, expect: str | None = None
) -> None:
    """Change status (and server) in one control-plane transaction that also tells every process."""
    pool = rt.get_runtime().control_pool
    async with pool.acquire() as conn, conn.transaction():
        changed = await conn.fetchval(
            "UPDATE tenant SET status = $1, server = coalesce($2, server), routing_version = routing_version + 1 "
            "WHERE id = $3 AND ($4::text IS NULL OR status = $4) RETURNING routing_version",
            status,
            server_id,
            tenant_id,
            expect,
        )
        if changed is None:
            raise RelocationError(f"store {slug} changed while it was being moved; nothing was switched")
        await rt.announce_tenant_change(slug, database, conn=conn)
    rt.forget_tenant(slug)


async def _lock_out(server: str, name: str) -> None:
    """No new session of the store's role on ``server``; running transactions get a few seconds, then
    every session on the database ends. Afterwards nothing can write to this copy."""
    role = quote_ident(name)
    async with admin_connection(server) as conn:
        await conn.execute(f"ALTER ROLE {role} NOLOGIN")
        deadline = time.monotonic() + DRAIN_SECONDS
        busy = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        while time.monotonic() < deadline and await conn.fetchval(busy + " AND state <> 'idle'", name):
            await asyncio.sleep(0.05)
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        deadline = time.monotonic() + 10
        while await conn.fetchval(busy, name):
            if time.monotonic() > deadline:
                raise RelocationError(f"sessions on {name} did not end")
            await asyncio.sleep(0.05)


async def _unlock(server: str, name: str) -> None:
    async with admin_connection(server) as conn:
        await conn.execute(f"ALTER ROLE {quote_ident(name)} LOGIN")


async def _prepare_target(server: str, name: str, password: str) -> None:
    """The store's role with its own password and an empty database on ``server``; leftovers of an
    earlier failed attempt (never a live store: the catalog says the store is elsewhere) are removed."""
    async with admin_connection(server) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
            # Left by an earlier move away from this server (it may own a kept ``_old`` copy): reuse it.
            role = quote_ident(name)
            verifier = quote_literal(scram_verifier(password))
            await conn.execute(f"ALTER ROLE {role} WITH LOGIN PASSWORD {verifier} CONNECTION LIMIT 20")
        else:
            await conn.execute(role_sql(name, password))
        await conn.execute(f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(name)} TEMPLATE template0")
        await privileges.close_to_public(conn, name)


async def _drop_copy(server: str, name: str) -> None:
    async with admin_connection(server) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")


async def _retire(server: str, name: str, keep_old: bool) -> str:
    """After the switch: drop the old copy, or keep it renamed (its role stays NOLOGIN)."""
    try:
        if not keep_old:
            await _drop_copy(server, name)
            return f"dropped from {server}"
        kept = f"{name[:59]}_old"
        async with admin_connection(server) as conn:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(kept)} WITH (FORCE)")
            await conn.execute(f"ALTER DATABASE {quote_ident(name)} RENAME TO {quote_ident(kept)}")
        return f"kept on {server} as {kept} (its role cannot log in)"
    except (OSError, asyncpg.PostgresError) as exc:
        return f"left on {server} (locked, not served): {exc}"


@asynccontextmanager
async def _exclusive(tenant_id: int, slug: str) -> AsyncIterator[None]:
    """One move or in-place restore of a store at a time, across every machine (a session lock on
    the control plane, on a connection of its own: a crashed runner releases it, and running the
    command again resumes)."""
    async with admin_connection(rt.PRIMARY_SERVER, rt.get_runtime().settings.db.control_database) as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", RELOCATION_LOCK, tenant_id):
            raise RelocationError(f"another move or restore of store {slug} is running")
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", RELOCATION_LOCK, tenant_id)


# -- move ---------------------------------------------------------------------------------------
async def _fresh(slug: str) -> rt.TenantInfo:
    info = await rt.lookup_tenant(slug, fresh=True)
    if info is None:
        raise RelocationError(f"no store called {slug!r}")
    return info


async def move_tenant(slug: str, target: str, *, keep_old: bool = False) -> MoveReport:
    """Move ``slug``'s database to server ``target``: short write pause, checked copy, atomic switch."""
    async with _exclusive((await _fresh(slug)).id, slug):
        return await _move(await _fresh(slug), target, keep_old)


async def _move(info: rt.TenantInfo, target: str, keep_old: bool) -> MoveReport:
    slug = info.slug
    if info.status not in MOVABLE:
        raise RelocationError(f"store {slug} is {info.status}; only active stores can be moved")
    if info.server == target:
        raise RelocationError(f"store {slug} is already on server {target}")
    row = await DbServer.select(DbServer.id, DbServer.status).where(DbServer.name == target).first()
    if row is None:
        raise RelocationError(f"unknown database server {target!r}")
    source_major, target_major = await server_major(info.server), await server_major(target)
    if target_major < source_major:
        raise RelocationError(
            f"server {target} runs PostgreSQL {target_major}, older than {source_major} on {info.server}; "
            "a dump cannot be loaded into an older major version"
        )
    dump_tools = pgtools.tools_for(source_major)
    restore_tools = dump_tools  # any pg_restore reads an older archive; the oldest fits the target best
    name = info.database
    previous = "active" if info.status == "moving" else info.status
    await _prepare_target(target, name, info.password)
    started = time.monotonic()
    try:
        await _set_status(info.id, "moving", slug, name)
        await rt.get_runtime().registry.evict_database(name)
        await _lock_out(info.server, name)
        with tempfile.TemporaryDirectory(prefix="autooffice-move-") as tmp:
            archive = Path(tmp) / "store.dump"
            await pgtools.dump(dump_tools, await rt.server_dsn(info.server), name, archive)
            await pgtools.restore(restore_tools, await rt.server_dsn(target), name, name, archive)
        before, after = await database_prints(info.server, name), await database_prints(target, name)
        problems = pgtools.differences(before, after)
        if problems:
            raise RelocationError("the copy differs from the original: " + "; ".join(problems[:5]))
        await _set_status(info.id, previous, slug, name, server_id=row["id"], expect="moving")
    except BaseException:
        with contextlib.suppress(Exception):
            await _unlock(info.server, name)
        with contextlib.suppress(Exception):
            await _set_status(info.id, previous, slug, name)
        with contextlib.suppress(Exception):
            await _drop_copy(target, name)
        raise
    pause = time.monotonic() - started
    old = await _retire(info.server, name, keep_old)
    return MoveReport(slug, info.server, target, pause, after, old)


# -- backup / restore ---------------------------------------------------------------------------
async def backup_tenant(slug: str, file: Path) -> BackupReport:
    """``pg_dump`` of one store, plus ``FILE.json`` with the rows and checksum of every table taken
    from the very snapshot the dump reads (the store keeps working meanwhile)."""
    info = await rt.lookup_tenant(slug, fresh=True)
    if info is None:
        raise RelocationError(f"no store called {slug!r}")
    if not file.parent.is_dir():
        raise RelocationError(f"no such directory: {file.parent}")
    major = await server_major(info.server)
    tools = pgtools.tools_for(major)
    partial = file.with_name(f".{file.name}.{secrets.token_hex(4)}.part")
    try:
        async with (
            admin_connection(info.server, info.database) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            prints = await pgtools.fingerprints(conn)
            await pgtools.dump(tools, await rt.server_dsn(info.server), info.database, partial, snapshot=snapshot)
        manifest = Manifest(
            slug=info.slug,
            name=info.name,
            locale=info.locale,
            currency=info.currency,
            country=info.country,
            schema_version=info.schema_version,
            server_major=major,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            tables=[p.as_dict() for p in prints],
        )
        manifest_path(file).write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2))
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(slug, file, manifest_path(file), file.stat().st_size, prints)


def read_manifest(file: Path) -> Manifest | None:
    path = manifest_path(file)
    if not path.is_file():
        return None
    try:
        return Manifest(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise RelocationError(f"unreadable manifest {path}: {exc}") from None


async def restore_tenant(
    slug: str, file: Path, *, source: str | None = None, server: str | None = None
) -> RestoreReport:
    """Restore a backup into a NEW store ``slug`` (for inspection, or to bring a lost store back).

    The store's settings come from the backup's manifest (or from ``source``); with ``source``, that
    store's staff become members of the new one. The restored tables are checked against the
    manifest's rows and checksums; on any difference nothing is kept. Other stores are not touched.
    """
    if not file.is_file():
        raise RelocationError(f"no such file: {file}")
    if await Tenant.exists().where(Tenant.slug == slug):
        raise RelocationError(f"store {slug} exists; restore into a new name (then inspect or move it)")
    manifest = read_manifest(file)
    original = await rt.lookup_tenant(source, fresh=True) if source else None
    if source and original is None:
        raise RelocationError(f"no store called {source!r}")
    base = original or manifest
    if base is None:
        raise RelocationError(f"{manifest_path(file)} is missing; pass --from SLUG to name the original store")
    spec = StoreSpec(
        slug,
        f"{base.name} (restored)"[:120],
        base.locale,
        base.currency,
        base.country,
        server or (original.server if original else None),
    )
    try:
        tenant = await provision(
            spec, schema_version=manifest.schema_version if manifest else original.schema_version, from_template=False
        )  # type: ignore[union-attr]
    except SlugTaken:
        raise RelocationError(f"store {slug} exists; restore into a new name") from None
    try:
        tools = pgtools.tools_for(await server_major(tenant.server))
        await pgtools.restore(tools, await rt.server_dsn(tenant.server), tenant.database, tenant.role, file)
        prints = await database_prints(tenant.server, tenant.database)
        verified = False
        if manifest is not None:
            problems = pgtools.differences(manifest.prints(), prints, exact_sequences=False)
            if problems:
                raise RelocationError("the restored data differs from the backup: " + "; ".join(problems[:5]))
            verified = True
        members = 0
        if original is not None:
            rows = await Membership.select(Membership.identity, Membership.role, Membership.active).where(
                Membership.tenant == original.id
            )
            if rows:
                await Membership.insert(
                    *[
                        Membership(identity=r["identity"], tenant=tenant.id, role=r["role"], active=r["active"])
                        for r in rows
                    ]
                )
            members = len(rows)
        await activate(slug)
    except BaseException:
        with contextlib.suppress(Exception):
            await deprovision(slug)
        raise
    return RestoreReport(slug, tenant.server, tenant.database, prints, verified, members)


__all__ = [
    "BackupReport",
    "Manifest",
    "MoveReport",
    "RelocationError",
    "RestoreReport",
    "backup_tenant",
    "move_tenant",
    "replace_from_backup",
    "restore_tenant",
]


async def replace_from_backup(slug: str, file: Path, *, keep_old: bool = False) -> RestoreReport:
    """Put an existing store back to a backup, in place (disaster recovery).

    The archive is loaded into a staging database beside the store's and checked against the
    manifest while the store keeps serving; then a short pause (as in a move) swaps the two by
    renaming. The replaced database is dropped, or kept as ``<name>_old`` with ``keep_old``.
    """
    if not file.is_file():
        raise RelocationError(f"no such file: {file}")
    async with _exclusive((await _fresh(slug)).id, slug):
        return await _replace(await _fresh(slug), file, keep_old)


async def _replace(info: rt.TenantInfo, file: Path, keep_old: bool) -> RestoreReport:
    slug = info.slug
    if info.status not in MOVABLE:
        raise RelocationError(f"store {slug} is {info.status}; only active stores can be restored in place")
    manifest = read_manifest(file)
    server, name = info.server, info.database
    staging, kept = f"{name[:55]}_restore", f"{name[:59]}_old"
    tools = pgtools.tools_for(await server_major(server))
    async with admin_connection(server) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(staging)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {quote_ident(staging)} OWNER {quote_ident(name)} TEMPLATE template0")
        await privileges.close_to_public(conn, staging)
    try:
        await pgtools.restore(tools, await rt.server_dsn(server), staging, name, file)
        prints = await database_prints(server, staging)
        if manifest is not None and (problems := pgtools.differences(manifest.prints(), prints, exact_sequences=False)):
            raise RelocationError("the restored data differs from the backup: " + "; ".join(problems[:5]))
    except BaseException:
        with contextlib.suppress(Exception):
            await _drop_database(server, staging)
        raise
    previous = "active" if info.status == "moving" else info.status
    renamed = False
    try:
        await _set_status(info.id, "moving", slug, name)
        await rt.get_runtime().registry.evict_database(name)
        await _lock_out(server, name)
        async with admin_connection(server) as conn:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(kept)} WITH (FORCE)")
            await conn.execute(f"ALTER DATABASE {quote_ident(name)} RENAME TO {quote_ident(kept)}")
            renamed = True
            await conn.execute(f"ALTER DATABASE {quote_ident(staging)} RENAME TO {quote_ident(name)}")
    except BaseException:
        with contextlib.suppress(Exception):
            async with admin_connection(server) as conn:
                if renamed and not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f"ALTER DATABASE {quote_ident(kept)} RENAME TO {quote_ident(name)}")
        with contextlib.suppress(Exception):
            await _drop_database(server, staging)
        with contextlib.suppress(Exception):
            await _unlock(server, name)
        with contextlib.suppress(Exception):
            await _set_status(info.id, previous, slug, name)
        raise
    await _unlock(server, name)
    if manifest is not None:
        await Tenant.update({Tenant.schema_version: manifest.schema_version}).where(Tenant.id == info.id)
    await _set_status(info.id, previous, slug, name, expect="moving")
    if not keep_old:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await _drop_database(server, kept)
    return RestoreReport(slug, server, name, prints, manifest is not None, 0)


async def _drop_database(server: str, database: str) -> None:
    async with admin_connection(server) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE)")
