"""Least privilege on every server we manage: PUBLIC may CONNECT to none of the databases we run.

PostgreSQL grants CONNECT and TEMPORARY on every new database to PUBLIC, so without this any store's
role could open the control plane, ``postgres`` or a template. A store database is locked down when it
is created (``provision.create_database``); this covers the rest: the server's maintenance database,
``postgres``, ``template0``/``template1``, and every database carrying our prefix (control plane,
template, stores). It runs at start-up (``runtime.start``), for every server on ``autooffice migrate``
and on ``autooffice server add``; it is idempotent and cheap, so it runs every time.
"""

from __future__ import annotations

import contextlib
import logging

import asyncpg

log = logging.getLogger("autooffice.tenancy")

SYSTEM_DATABASES = ("postgres", "template0", "template1")
# pg_advisory_xact_lock key while one process changes a database's ACL. Advisory locks belong to the
# database they are taken in: every caller uses an admin connection to the DSN's own database.
PRIVILEGES_LOCK = 7_340_003

# Databases (system ones, the connection's own, ours by prefix) on which PUBLIC still holds CONNECT:
# a NULL ACL is the built-in default, which grants it.
_OPEN_TO_PUBLIC = """
SELECT d.datname FROM pg_database d
WHERE (d.datname = ANY($1::text[]) OR d.datname = current_database() OR d.datname LIKE $2)
  AND (d.datacl IS NULL OR EXISTS (
        SELECT 1 FROM aclexplode(d.datacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT'))
ORDER BY d.datname
"""


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _prefix_pattern(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}\\_%"


async def open_to_public(conn: asyncpg.Connection, prefix: str) -> list[str]:
    """Our databases on ``conn``'s server that PUBLIC can still connect to."""
    rows = await conn.fetch(_OPEN_TO_PUBLIC, list(SYSTEM_DATABASES), _prefix_pattern(prefix))
    return [row["datname"] for row in rows]


async def close_to_public(conn: asyncpg.Connection, database: str) -> None:
    """Take every privilege on ``database`` away from PUBLIC (a database we have just created), in turn
    with any other process doing the same on this server."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PRIVILEGES_LOCK)
        await conn.execute(f"REVOKE ALL ON DATABASE {_quote_ident(database)} FROM PUBLIC")


async def revoke_public_connect(conn: asyncpg.Connection, prefix: str) -> list[str]:
    """Take CONNECT (and TEMPORARY) away from PUBLIC on our databases of ``conn``'s server.

    ``conn`` is an admin connection. Returns the databases that stay open because the admin may not
    change them (a managed server whose ``postgres`` belongs to the provider); those are logged.
    """
    if not await open_to_public(conn, prefix):
        return []
    # Several processes start at once (``serve --workers N``); two REVOKEs of one database's ACL at
    # the same moment fail with "tuple concurrently updated", so they take turns.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PRIVILEGES_LOCK)
        for name in await open_to_public(conn, prefix):
            # A savepoint, so one refusal (reported below) does not undo the others.
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(f"REVOKE ALL ON DATABASE {_quote_ident(name)} FROM PUBLIC")
    left = await open_to_public(conn, prefix)
    if left:
        log.warning("PUBLIC keeps CONNECT on databases the admin role cannot change: %s", ", ".join(left))
    return left
