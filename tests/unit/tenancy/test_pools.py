"""The pool registry keeps every server under its connection cap, counting connections, not pools:
idle pools are evicted to make room, busy servers make requests wait, and a slot comes back however
its connection ends."""

from __future__ import annotations

import asyncio

import pytest

from app.tenancy.middleware import slug_from_path
from app.tenancy.pools import PoolRegistry, PoolsExhausted

pytestmark = pytest.mark.unit


class FakeConnection:
    live = 0
    peak = 0

    def __init__(self) -> None:
        self.listeners: list = []
        FakeConnection.live += 1
        FakeConnection.peak = max(FakeConnection.peak, FakeConnection.live)

    def add_termination_listener(self, callback) -> None:
        self.listeners.append(callback)

    closed = False

    def terminate(self) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        FakeConnection.live -= 1
        loop = asyncio.get_running_loop()
        for callback in self.listeners:  # asyncpg calls them soon after, not inline
            loop.call_soon(callback, self)
        self.listeners = []


class FakePool:
    """Opens connections through the registry's ``connect`` hook, as asyncpg's pool does."""

    opened = 0

    def __init__(self, max_size: int, connect, setup=None, reset=None) -> None:
        self.max_size = max_size
        self.connect = connect
        self.setup, self.reset = setup, reset
        self.free = asyncio.Semaphore(max_size)
        self.idle: list[FakeConnection] = []
        self.busy: set[FakeConnection] = set()
        FakePool.opened += 1

    async def acquire(self) -> FakeConnection:
        await self.free.acquire()
        self.idle = [c for c in self.idle if not c.closed]  # asyncpg reconnects a holder whose connection ended
        try:
            conn = self.idle.pop() if self.idle else await self.connect()
        except BaseException:
            self.free.release()
            raise
        self.busy.add(conn)
        if self.setup:
            await self.setup(conn)
        return conn

    async def release(self, conn: FakeConnection) -> None:
        self.busy.discard(conn)
        if not conn.closed:
            self.idle.append(conn)
            if self.reset:
                await self.reset(conn)
        self.free.release()

    def get_size(self) -> int:
        return sum(1 for c in [*self.idle, *self.busy] if not c.closed)

    closing = 0
    peak_closing = 0

    async def close(self) -> None:
        FakePool.closing += 1
        FakePool.peak_closing = max(FakePool.peak_closing, FakePool.closing)
        await asyncio.sleep(0.001)
        FakePool.closing -= 1
        for conn in [*self.idle, *self.busy]:
            conn.close()
        self.idle, self.busy = [], set()

    def terminate(self) -> None:
        for conn in [*self.idle, *self.busy]:
            conn.close()


async def fake_factory(*, max_size: int, connect, setup=None, reset=None, **_: object) -> FakePool:
    return FakePool(max_size, connect, setup, reset)


async def fake_connect(*_: object, **__: object) -> FakeConnection:
    await asyncio.sleep(0.001)
    return FakeConnection()


def registry(cap: int = 6, max_size: int = 2, timeout: float = 2.0, connect=fake_connect) -> PoolRegistry:
    FakeConnection.live = FakeConnection.peak = FakePool.opened = FakePool.peak_closing = 0
    return PoolRegistry(
        max_size=max_size,
        cap_per_server=cap,
        idle_seconds=60,
        acquire_timeout=timeout,
        pool_factory=fake_factory,
        connect=connect,
    )


async def query(reg: PoolRegistry, key: str, server: str = "s1", hold: float = 0.002) -> None:
    handle = await reg.acquire(key, server, {})
    try:
        conn = await handle.pool.acquire()
        await asyncio.sleep(hold)
        await handle.pool.release(conn)
    finally:
        await reg.release(handle)


async def test_many_stores_at_once_never_exceed_the_cap() -> None:
    reg = registry(cap=6, max_size=2)
    await asyncio.gather(*(query(reg, f"db{i}") for i in range(200)))
    stats = reg.stats()
    assert stats.peak_slots_by_server["s1"] == 6  # the whole budget used, never more
    assert FakeConnection.peak <= 6
    assert stats.evictions > 0 and stats.waits > 0
    await reg.close()
    await asyncio.sleep(0)
    assert FakeConnection.live == 0 and reg.stats().slots_by_server == {}


async def test_idle_pools_stay_warm_while_connections_fit_under_the_cap() -> None:
    """Six stores with one connection each fit a cap of six, though each pool may grow to two."""
    reg = registry(cap=6, max_size=2)
    for _round in range(3):
        for i in range(6):
            await query(reg, f"db{i}")
    assert FakePool.opened == 6 and reg.stats().evictions == 0
    assert reg.stats().slots_by_server == {"s1": 6}
    await query(reg, "db6")  # a seventh store: the least recently used idle pool makes room
    assert reg.stats().evictions == 1 and FakeConnection.live <= 6
    await reg.close()


async def test_a_busy_store_outlasts_a_crowd_of_one_off_visits() -> None:
    """Plain LRU would close the busy store's pool behind every few one-off visits; it stays warm."""
    reg = registry(cap=4, max_size=1)
    for _ in range(5):
        await query(reg, "busy")
    opened = FakePool.opened
    for i in range(40):
        await query(reg, f"once-{i}")
        if i % 5 == 4:
            await query(reg, "busy")
    assert FakePool.opened == opened + 40  # the busy store never needed a new pool
    assert reg.stats().evictions >= 36
    await reg.close()


async def test_evictions_run_in_parallel_for_a_burst_of_new_stores() -> None:
    """Each waiting connect gets a pool evicted for it, not one eviction at a time for all of them."""
    reg = registry(cap=8, max_size=1)
    for i in range(8):
        await query(reg, f"old-{i}")
    await asyncio.gather(*(query(reg, f"new-{i}", hold=0.05) for i in range(8)))
    assert reg.stats().evictions == 8 and FakeConnection.peak <= 8
    assert FakePool.peak_closing > 1
    await reg.close()


async def test_same_store_shares_one_pool() -> None:
    reg = registry()
    handles = await asyncio.gather(*(reg.acquire("db", "s1", {}) for _ in range(10)))
    assert len({id(h) for h in handles}) == 1 and FakePool.opened == 1
    for handle in handles:
        await reg.release(handle)
    await reg.close()


async def test_servers_have_separate_budgets() -> None:
    reg = registry(cap=2, max_size=2)
    await asyncio.gather(query(reg, "a", "s1"), query(reg, "a2", "s1"), query(reg, "b", "s2"))
    assert reg.stats().slots_by_server == {"s1": 2, "s2": 1}
    assert reg.stats().waits == 0
    await reg.close()


async def test_busy_server_times_out_instead_of_overcommitting() -> None:
    reg = registry(cap=2, max_size=2, timeout=0.05)
    held = await reg.acquire("a", "s1", {})
    conns = [await held.pool.acquire(), await held.pool.acquire()]
    other = await reg.acquire("b", "s1", {})
    with pytest.raises(PoolsExhausted):
        await other.pool.acquire()
    await reg.release(other)
    for conn in conns:
        await held.pool.release(conn)
    await reg.release(held)
    await query(reg, "b")  # room is made: the idle store's spare connection, worth least, is closed
    assert (reg.stats().evictions, reg.trims) == (0, 1)
    await reg.close()


@pytest.mark.parametrize(("warm_visits", "closed"), [(6, "spare of the busy store"), (2, "the warm store")])
async def test_a_busy_stores_idle_spare_goes_before_a_store_whose_only_connection_is_worth_more(
    warm_visits: int, closed: str
) -> None:
    reg = registry(cap=3, max_size=2)
    for _ in range(8):
        await query(reg, "busy")
    await asyncio.gather(query(reg, "busy", hold=0.01), query(reg, "busy", hold=0.01))  # a peak: two connections
    for _ in range(warm_visits):
        await query(reg, "warm")
    assert reg.stats().slots_by_server == {"s1": 3}
    await query(reg, "new")  # the cap is reached: one slot must be freed
    sizes = {key: h.pool.get_size() for key, h in reg._handles.items()}
    if closed == "the warm store":  # busy: 10 visits over 2 connections = 5 each, more than the warm store's 2
        assert sizes == {"busy": 2, "new": 1} and (reg.stats().evictions, reg.trims) == (1, 0)
    else:  # 5 a connection is less than the warm store's 6: the spare goes, both stores stay warm
        assert sizes == {"busy": 1, "warm": 1, "new": 1} and (reg.stats().evictions, reg.trims) == (0, 1)
    assert FakeConnection.peak <= 3
    await reg.close()


async def test_a_slot_comes_back_when_its_connection_ends_on_its_own() -> None:
    """The server dropped the connection, or asyncpg closed it for idling: its slot is free again."""
    reg = registry(cap=1, max_size=1, timeout=0.5)
    handle = await reg.acquire("a", "s1", {})
    conn = await handle.pool.acquire()
    await handle.pool.release(conn)
    handle.pool.idle.remove(conn)
    conn.close()
    await asyncio.sleep(0)
    assert reg.stats().slots_by_server == {}
    await reg.release(handle)
    await query(reg, "b")
    assert reg.stats().evictions == 0
    await reg.close()


async def test_idle_pools_are_closed() -> None:
    reg = registry()
    await query(reg, "a")
    assert await reg.close_idle(older_than=0) == 1
    await asyncio.sleep(0)
    assert reg.stats().pools == 0 and FakeConnection.live == 0 and reg.stats().slots_by_server == {}
    await reg.close()


async def test_failed_connection_frees_its_slot() -> None:
    async def broken(*_: object, **__: object) -> FakeConnection:
        raise OSError("server down")

    reg = registry(cap=1, max_size=1, connect=broken)
    for _ in range(3):
        with pytest.raises(OSError):
            await query(reg, "a")
    assert reg.stats().slots_by_server == {} and reg.stats().waits == 0
    await reg.close()


async def test_failed_pool_creation_is_forgotten() -> None:
    async def broken(**_: object) -> FakePool:
        raise OSError("bad configuration")

    reg = PoolRegistry(max_size=2, cap_per_server=2, idle_seconds=60, acquire_timeout=1, pool_factory=broken)
    for _ in range(3):
        with pytest.raises(OSError):
            await reg.acquire("a", "s1", {})
    assert reg.stats().pools == 0
    await reg.close()


@pytest.mark.parametrize(
    ("path", "slug"),
    [
        ("/s/shop/orders", "shop"),
        ("/f/shop/order", "shop"),
        ("/hooks/shop/yookassa/1", "shop"),
        ("/api/v1/shop/orders", "shop"),
        ("/signup", None),
        ("/s/", None),
        ("/static/css/app.css", None),
    ],
)
def test_store_is_found_in_the_url(path: str, slug: str | None) -> None:
    assert slug_from_path(path) == slug
