"""Mixed traffic over many stores against the same traffic on one store, in the same run, over a real
server process: shoppers open and send order forms, staff open the dashboard and the order list.

The many-stores run picks each request's store with a Zipf-like popularity (store k is chosen in
proportion to 1/k), so a few stores are hot and the long tail wakes up now and then, opening
connections under the per-server cap. Both runs are measured in their steady state: the one store
after a warm-up, the many stores after a warm-up pass drawn from the same popularity (so the hot
stores have warm pools, as on a server that has been up a while, and the tail still connects cold).
Printed: time per request (1/throughput) and p99 of both runs and their ratios (goal ≤ 1.3x), the
store connections opened per request, the peak store connections held on the server (sampled from
``pg_stat_activity``), and the first request of a long-idle store against a warm one.
``AUTOOFFICE_BENCH_STORES`` changes the store count (default 500; 2000 for the full-scale check).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time

import asyncpg
import httpx

from app.forms.auth import SignupData
from app.services import forms, stores
from app.tables.catalog import Offer, Product
from app.tenancy import runtime as tenancy
from bench._common import Row, bench_runtime
from bench.forms import percentile, start_server

STORES = int(os.environ.get("AUTOOFFICE_BENCH_STORES", "500"))
REQUESTS = int(os.environ.get("AUTOOFFICE_BENCH_REQUESTS", "1200"))
WARM_UP = REQUESTS // 2
CONCURRENCY = 16
# The server runs with the shipped defaults: 60 connections per server, pools of 3, idle after 60 s.
CAP = 60
PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away bench login
# (weight, kind): shoppers open the form more often than they send it; staff mostly read lists.
MIX = [(40, "form"), (20, "order"), (15, "dashboard"), (25, "orders")]


async def provision(count: int) -> tuple[list[tenancy.TenantInfo], str, dict[str, int]]:
    owner = "owner@traffic.example.com"
    first, identity = await stores.create_store(
        SignupData("Traffic 0", "traffic-0000", owner, PASSWORD, "ru", "RUB", "RU")
    )
    gate = asyncio.Semaphore(6)

    async def one(i: int) -> tenancy.TenantInfo:
        async with gate:
            data = SignupData(f"Traffic {i}", f"traffic-{i:04d}", owner, PASSWORD, "ru", "RUB", "RU")
            tenant, _ = await stores.create_store(data, identity_id=identity)
            return tenant

    tenants = [first, *await asyncio.gather(*(one(i) for i in range(1, count)))]
    offers: dict[str, int] = {}

    async def goods(tenant: tenancy.TenantInfo) -> None:
        async with gate, tenancy.bind_tenant(tenant):
            product = (await Product.insert(Product(name="Чайник")).returning(Product.id))[0]["id"]
            row = await Offer.insert(
                Offer(product=product, name="Чайник", sku="K-1", price_minor=129050, currency="RUB")
            ).returning(Offer.id)
            offers[tenant.slug] = row[0]["id"]

    await asyncio.gather(*(goods(t) for t in tenants))
    await tenancy.get_runtime().registry.close_idle(older_than=0)
    return tenants, owner, offers


def plan(slugs: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (kind, slug) pairs: kinds from MIX, stores Zipf-like over ``slugs`` (rank 1 hottest)."""
    rng = random.Random(seed)
    weights = [1 / rank for rank in range(1, len(slugs) + 1)]
    kinds = rng.choices([k for _w, k in MIX], weights=[w for w, _k in MIX], k=count)
    chosen = rng.choices(slugs, weights=weights, k=count)
    return list(zip(kinds, chosen, strict=True))


async def drive(
    client: httpx.AsyncClient, requests: list[tuple[str, str]], secret: str, offers: dict[str, int]
) -> tuple[list[float], float]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    samples: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            kind, slug = queue.get_nowait()
            started = time.perf_counter()
            if kind == "form":
                response = await client.get(f"/f/{slug}/order")
            elif kind == "order":
                token = forms.sign_token(secret, slug, "order")
                data = {
                    "t": token,
                    f"qty_{offers[slug]}": "1",
                    "name": "Покупатель",
                    "phone": f"+7912{random.randrange(10**7):07d}",
                    "delivery": "pickup",
                }
                response = await client.post(f"/f/{slug}/order", data=data)
            elif kind == "dashboard":
                response = await client.get(f"/s/{slug}/")
            else:
                response = await client.get(f"/s/{slug}/orders/")
            samples.append(time.perf_counter() - started)
            assert response.status_code in (200, 303), (kind, slug, response.status_code, response.text[:300])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return samples, time.perf_counter() - started


async def store_connections(conn: asyncpg.Connection, pattern: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1", pattern)


async def sample(dsn: str, pattern: str, stop: asyncio.Event, seen: list[int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            seen.append(await store_connections(conn, pattern))
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def sessions_opened(dsn: str, prefix: str) -> int:
    """Connections ever opened to the store databases (``pg_stat_database.sessions``, PostgreSQL 14+)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database WHERE datname LIKE $1", f"{prefix}\\_s\\_%"
        )
    finally:
        await conn.close()


async def drop_stores(dsn: str, tenants: list[tenancy.TenantInfo]) -> None:
    """Drop the stores a few at a time (the shared clean-up drops one by one, slow for hundreds)."""
    gate = asyncio.Semaphore(4)

    async def one(tenant: tenancy.TenantInfo) -> None:
        async with gate:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{tenant.database}" WITH (FORCE)')
                await conn.execute(f'DROP ROLE IF EXISTS "{tenant.role}"')
            finally:
                await conn.close()

    await tenancy.get_runtime().registry.close_idle(older_than=0)
    await asyncio.gather(*(one(t) for t in tenants))


async def run() -> list[Row]:
    async with bench_runtime() as runtime:
        settings = runtime.settings
        started = time.perf_counter()
        tenants, owner, offers = await provision(STORES)
        provision_s = time.perf_counter() - started
        slugs = [t.slug for t in tenants]
        one = slugs[0]
        env = {"AUTOOFFICE_MAX_CONNECTIONS_PER_SERVER": str(CAP), "AUTOOFFICE_LOG_LEVEL": "WARNING"}
        os.environ.update(env)
        try:
            proc, url = start_server(runtime)
        finally:
            for key in env:
                os.environ.pop(key, None)
        many_plan = plan(slugs, REQUESTS, seed=8)
        one_plan = [(kind, one) for kind, _slug in many_plan]
        warm_plan = plan(slugs, WARM_UP, seed=9)
        stop, seen_many, seen_one = asyncio.Event(), [], []
        patterns = {"one": tenants[0].role, "many": f"{settings.db.prefix}\\_s\\_%"}
        try:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                await client.get("/login")
                login = await client.post(
                    "/login",
                    data={"email": owner, "password": PASSWORD, "_csrf_token": client.cookies.get("csrftoken", "")},
                )
                assert login.status_code == 303, login.text[:300]
                # Warm up: the process and the one store, then the many stores' hot set.
                await drive(client, [(kind, one) for kind, _slug in warm_plan], settings.secret_key, offers)
                await drive(client, warm_plan, settings.secret_key, offers)
                # Halves interleaved (one, many, one, many) so machine noise hits both alike.
                half = REQUESTS // 2
                results: dict[str, tuple[list[float], float]] = {"one": ([], 0.0), "many": ([], 0.0)}
                opened = {"one": 0, "many": 0}
                for part in (slice(0, half), slice(half, None)):
                    for name, requests, seen in (("one", one_plan, seen_one), ("many", many_plan, seen_many)):
                        stop.clear()
                        sampler = asyncio.create_task(sample(runtime.primary_dsn, patterns[name], stop, seen))
                        before = await sessions_opened(runtime.primary_dsn, settings.db.prefix)
                        samples, elapsed = await drive(client, requests[part], settings.secret_key, offers)
                        opened[name] += await sessions_opened(runtime.primary_dsn, settings.db.prefix) - before
                        stop.set()
                        await sampler
                        done, total = results[name]
                        results[name] = (done + samples, total + elapsed)

                # First request of a long-idle store (no pool, nothing cached) against a warm store.
                visited = {slug for _kind, slug in many_plan + warm_plan}
                cold = [s for s in reversed(slugs) if s not in visited][:30]
                warm_times, cold_times = [], []
                for slug in cold:
                    await client.get(f"/s/{one}/orders/")
                    t0 = time.perf_counter()
                    warm = await client.get(f"/s/{one}/orders/")
                    warm_times.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    first = await client.get(f"/s/{slug}/orders/")
                    cold_times.append(time.perf_counter() - t0)
                    assert warm.status_code == 200 and first.status_code == 200
        finally:
            proc.terminate()
            proc.wait(10)
            await drop_stores(runtime.primary_dsn, tenants)

    one_samples, one_elapsed = results["one"]
    many_samples, many_elapsed = results["many"]
    one_rps = len(one_samples) / one_elapsed
    many_rps = len(many_samples) / many_elapsed
    label = f"traffic: {STORES} stores (Zipf)"
    rows = [
        Row(f"traffic: provision {STORES} stores (s)", provision_s, "s"),
        Row(f"traffic: one store, throughput (c={CONCURRENCY})", one_rps, "/s"),
        Row(f"{label}, throughput", many_rps, "/s", one_rps, "info"),
        Row(f"{label}, time per request (1/throughput)", 1000 / many_rps, "ms", 1000 / one_rps, "≤ 1.3x"),
        Row("traffic: one store, p99", percentile(one_samples, 0.99), "ms"),
        Row(f"{label}, p99", percentile(many_samples, 0.99), "ms", percentile(one_samples, 0.99), "≤ 1.3x"),
        Row(f"{label}, p50", percentile(many_samples, 0.5), "ms", percentile(one_samples, 0.5), "info"),
        Row(f"{label}, stores visited", len(visited), "n"),
        Row(
            f"{label}, store connections opened per 100 requests",
            100 * opened["many"] / REQUESTS,
            "n",
            100 * opened["one"] / REQUESTS,
            "info",
        ),
        Row(f"{label}, peak store connections", max(seen_many), "n", CAP, f"≤ cap {CAP}"),
        Row("traffic: one store, peak connections of that store", max(seen_one), "n"),
        Row(
            "traffic: first request of an idle store (warm = baseline)",
            statistics.median(cold_times) * 1000,
            "ms",
            statistics.median(warm_times) * 1000,
            "info",
        ),
    ]
    return rows
