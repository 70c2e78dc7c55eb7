"""The pool registry keeps every server under its connection cap, evicts idle pools, waits when busy."""

from __future__ import annotations

import asyncio

import pytest

from app.tenancy.middleware import slug_from_path
from app.tenancy.pools import PoolRegistry, PoolsExhausted

pytestmark = pytest.mark.unit


class FakePool:
    opened = 0
    live = 0
    peak = 0

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        FakePool.opened += 1
        FakePool.live += 1
        FakePool.peak = max(FakePool.peak, FakePool.live)

    def get_size(self) -> int:
        return 1

    async def close(self) -> None:
        await asyncio.sleep(0.001)
        FakePool.live -= 1

    def terminate(self) -> None:
        FakePool.live -= 1


async def fake_factory(*, max_size: int, **_: object) -> FakePool:
    await asyncio.sleep(0.001)
    return FakePool(max_size)


def registry(cap: int = 6, max_size: int = 2, timeout: float = 2.0) -> PoolRegistry:
    FakePool.opened = FakePool.live = FakePool.peak = 0
    return PoolRegistry(
        max_size=max_size, cap_per_server=cap, idle_seconds=60, acquire_timeout=timeout, pool_factory=fake_factory
    )


async def test_many_stores_at_once_never_exceed_the_cap() -> None:
    reg = registry(cap=6, max_size=2)

    async def request(i: int) -> None:
        handle = await reg.acquire(f"db{i}", "s1", {})
        await asyncio.sleep(0.002)
        await reg.release(handle)

    await asyncio.gather(*(request(i) for i in range(200)))
    stats = reg.stats()
    assert stats.peak_slots_by_server["s1"] <= 6
    assert FakePool.peak <= 3
    assert stats.evictions > 0 and stats.waits > 0
    await reg.close()
    assert FakePool.live == 0


async def test_same_store_shares_one_pool() -> None:
    reg = registry()
    handles = await asyncio.gather(*(reg.acquire("db", "s1", {}) for _ in range(10)))
    assert len({id(h) for h in handles}) == 1 and FakePool.opened == 1
    for handle in handles:
        await reg.release(handle)
    await reg.close()


async def test_servers_have_separate_budgets() -> None:
    reg = registry(cap=2, max_size=2)
    a = await reg.acquire("a", "s1", {})
    b = await reg.acquire("b", "s2", {})
    assert reg.stats().slots_by_server == {"s1": 2, "s2": 2}
    await reg.release(a)
    await reg.release(b)
    await reg.close()


async def test_busy_server_times_out_instead_of_overcommitting() -> None:
    reg = registry(cap=2, max_size=2, timeout=0.05)
    held = await reg.acquire("a", "s1", {})
    with pytest.raises(PoolsExhausted):
        await reg.acquire("b", "s1", {})
    await reg.release(held)
    second = await reg.acquire("b", "s1", {})  # the idle pool is evicted to make room
    assert reg.stats().evictions == 1
    await reg.release(second)
    await reg.close()


async def test_idle_pools_are_closed() -> None:
    reg = registry()
    handle = await reg.acquire("a", "s1", {})
    await reg.release(handle)
    assert await reg.close_idle(older_than=0) == 1
    assert reg.stats().pools == 0 and FakePool.live == 0
    await reg.close()


async def test_failed_pool_creation_frees_its_slots() -> None:
    async def broken(**_: object) -> FakePool:
        raise OSError("server down")

    reg = PoolRegistry(max_size=2, cap_per_server=2, idle_seconds=60, acquire_timeout=1, pool_factory=broken)
    for _ in range(3):
        with pytest.raises(OSError):
            await reg.acquire("a", "s1", {})
    assert reg.stats().slots_by_server["s1"] == 0
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
