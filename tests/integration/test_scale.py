"""200 stores hit at once: every request succeeds and the app's connections stay under the cap."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from app.asgi import create_app
from app.tenancy import provision
from app.tenancy import runtime as tenancy
from tests.conftest import login, make_settings, make_store

pytestmark = pytest.mark.integration

STORES = 200
CAP = 24
IDLE = 1.0


async def sample_connections(dsn: str, prefix: str, stop: asyncio.Event, seen: list[int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            seen.append(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1", f"{prefix}\\_s\\_load%"
                )
            )
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def test_two_hundred_stores_at_once_stay_under_the_connection_cap(runtime, settings) -> None:
    first = await make_store("load-000")
    gate = asyncio.Semaphore(6)

    async def create(i: int) -> str:
        async with gate:
            return (await make_store(f"load-{i:03d}", identity_id=first.identity_id)).slug

    slugs = [first.slug, *await asyncio.gather(*(create(i) for i in range(1, STORES)))]
    capped = make_settings(settings.db.url or "", settings.db.prefix, max_connections_per_server=CAP)
    registry = runtime.registry
    old_cap, registry.cap = registry.cap, CAP
    old_idle, registry.idle_seconds = registry.idle_seconds, IDLE
    app = create_app(capped)
    stop, seen = asyncio.Event(), []
    sampler = asyncio.create_task(sample_connections(runtime.primary_dsn, settings.db.prefix, stop, seen))
    try:
        await registry.close_idle(older_than=0)
        registry.reset_peaks()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await login(client, first.email)
            responses = await asyncio.gather(*(client.get(f"/s/{slug}/") for slug in slugs))
        assert [r.status_code for r in responses] == [200] * STORES
        assert all(
            f'data-testid="store-name">Store {slug}<' in r.text for slug, r in zip(slugs, responses, strict=True)
        )
        stats = registry.stats()
        assert stats.peak_slots_by_server["primary"] <= CAP
        assert 0 < max(seen) <= CAP, f"peak tenant connections {max(seen)} > cap {CAP}"
        assert stats.evictions > 0

        # Idle stores cost nothing: their connections close on their own, then their pools.
        stop.set()
        await sampler
        await asyncio.sleep(IDLE * 3)
        conn = await asyncpg.connect(runtime.primary_dsn)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1", f"{settings.db.prefix}\\_s\\_load%"
            )
        finally:
            await conn.close()
        assert left == 0, f"{left} idle store connections still open"
        await registry.close_idle()  # (the janitor may have done it already)
        assert not [key for key in registry._handles if "_s_load_" in key]
    finally:
        stop.set()
        await sampler
        registry.cap = old_cap
        registry.idle_seconds = old_idle
        await registry.close_idle(older_than=0)
        for slug in slugs:
            await provision.deprovision(slug)


async def test_a_server_whose_connections_stay_busy_answers_503_not_500(runtime, settings, store_a, store_b) -> None:
    """Store B's request cannot get a connection while store A holds the whole (tiny) budget: it waits,
    then gets a translated 503 with Retry-After; store A is not disturbed, and B is served once A lets go."""
    registry = runtime.registry
    await registry.close_idle(older_than=0)
    old = registry.cap, registry.acquire_timeout
    registry.cap, registry.acquire_timeout = 1, 0.3
    app = create_app(settings)
    handle = await registry.acquire(
        f"{store_a.tenant.server}/{store_a.tenant.database}",
        "primary",
        {**tenancy.store_pool_config(runtime, runtime.primary_dsn, store_a.tenant)},
    )
    held = await handle.pool.acquire()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await login(client, store_b.email)
            busy = await client.get(f"/s/{store_b.slug}/orders/?lang=en")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
            assert "temporarily unavailable" in busy.text
            assert await held.fetchval("SELECT 1") == 1
            await handle.pool.release(held)
            held = None
            await registry.release(handle)
            handle = None
            assert (await client.get(f"/s/{store_b.slug}/orders/")).status_code == 200
    finally:
        if held is not None:
            await handle.pool.release(held)
        if handle is not None:
            await registry.release(handle)
        registry.cap, registry.acquire_timeout = old
        await registry.close_idle(older_than=0)
