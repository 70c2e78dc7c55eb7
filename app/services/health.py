"""Readiness: the control plane answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.tables.control import DbServer, Tenant
from app.tenancy.runtime import get_runtime


async def control_plane_ready(timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(DbServer.count(), timeout)
    except (OSError, TimeoutError, Exception):
        return False
    return True


@dataclass(frozen=True)
class PoolFigures:
    pools_by_server: dict[str, int]
    connections: dict[str, int]
    slots: dict[str, int]
    cap: int
    waits: int
    evictions: int
    spares_closed: int


@dataclass(frozen=True)
class Snapshot:
    """Figures for ``/metrics``: the queue and the catalog as the database sees them, this process's pools."""

    pools: PoolFigures
    jobs: list[tuple[str, str, int]]
    stores: dict[str, int]


def pool_figures() -> PoolFigures:
    registry = get_runtime().registry
    stats = registry.stats()
    pools: dict[str, int] = {}
    for server in registry.servers_of_open_pools():
        pools[server] = pools.get(server, 0) + 1
    return PoolFigures(
        pools,
        stats.connections_by_server,
        stats.slots_by_server,
        registry.cap,
        stats.waits,
        stats.evictions,
        stats.spares_closed,
    )


async def snapshot() -> Snapshot:
    # Finished jobs pile up in the table; the depth that matters is what waits, runs or failed.
    job_rows = await Tenant.raw(
        "SELECT queue_name, status::text AS status, count(*) AS n FROM procrastinate_jobs"
        " WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1, 2 ORDER BY 1, 2"
    )
    store_rows = await Tenant.raw("SELECT status, count(*) AS n FROM tenant GROUP BY 1")
    return Snapshot(
        pools=pool_figures(),
        jobs=[(r["queue_name"], r["status"], int(r["n"])) for r in job_rows],
        stores={r["status"]: int(r["n"]) for r in store_rows},
    )
