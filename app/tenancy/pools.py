"""A registry of small, lazily created per-database asyncpg pools under a per-server cap.

Every pool may open up to ``max_size`` connections, so a pool holds ``max_size`` slots of its
server's budget from creation until it is closed. When a server's budget is spent the least
recently used idle pool is closed to make room; when none is idle, callers wait (bounded by
``acquire_timeout``). Pools start with no connection and asyncpg closes idle connections, so a
quiet store costs nothing; a janitor closes pools nobody has used for ``idle_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.tenancy.engine import DatabaseHandle


class PoolsExhausted(RuntimeError):
    """No slot became free in time on the store's server."""


@dataclass
class PoolStats:
    pools: int
    slots_by_server: dict[str, int]
    connections_by_server: dict[str, int]
    peak_slots_by_server: dict[str, int]
    peak_connections_by_server: dict[str, int]
    waits: int
    evictions: int


class PoolRegistry:
    def __init__(
        self,
        *,
        max_size: int,
        cap_per_server: int,
        idle_seconds: float,
        acquire_timeout: float,
        statement_cache_size: int = 100,
        connect_timeout: float = 5.0,
        pool_factory: Callable[..., Any] = asyncpg.create_pool,
    ) -> None:
        if cap_per_server < max_size:
            raise ValueError("cap_per_server must allow at least one pool")
        self.max_size = max_size
        self.cap = cap_per_server
        self.idle_seconds = idle_seconds
        self.acquire_timeout = acquire_timeout
        self.statement_cache_size = statement_cache_size
        self.connect_timeout = connect_timeout
        self._create_pool = pool_factory
        self._handles: OrderedDict[str, DatabaseHandle] = OrderedDict()
        self._slots: dict[str, int] = {}
        self._peak_slots: dict[str, int] = {}
        self._peak_conns: dict[str, int] = {}
        self._cond = asyncio.Condition()
        self._janitor: asyncio.Task[None] | None = None
        self._closed = False
        self.waits = 0
        self.evictions = 0

    # -- acquire / release -------------------------------------------------------------
    async def acquire(self, key: str, server: str, config: dict[str, Any]) -> DatabaseHandle:
        """A handle for ``key`` whose pool is ready; pair with :meth:`release`."""
        deadline = time.monotonic() + self.acquire_timeout
        async with self._cond:
            while True:
                handle = self._handles.get(key)
                if handle is not None and handle.pool is not None:
                    handle.in_use += 1
                    self._handles.move_to_end(key)
                    return handle
                if handle is None and self._reserve(server):
                    handle = DatabaseHandle(key=key, server=server, config=config, slots=self.max_size)
                    handle.in_use = 1
                    self._handles[key] = handle
                    break
                if handle is None:
                    self._evict_one(server)
                self.waits += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolsExhausted(f"no database connection slot free on server {server}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), remaining)
        return await self._open(handle)

    async def _open(self, handle: DatabaseHandle) -> DatabaseHandle:
        try:
            # min_size=0: creating the pool connects nobody, so a server that is down costs nothing here;
            # asyncpg replaces a pooled connection the server dropped (restart, terminate) on next acquire.
            options = {
                "min_size": 0,
                "max_size": self.max_size,
                "max_inactive_connection_lifetime": self.idle_seconds,
                "statement_cache_size": self.statement_cache_size,
                "timeout": self.connect_timeout,
                **handle.config,  # a server behind PgBouncer brings statement_cache_size=0
            }
            handle.pool = await self._create_pool(**options)
        except BaseException:
            async with self._cond:
                self._handles.pop(handle.key, None)
                self._free(handle.server, handle.slots)
                self._cond.notify_all()
            raise
        async with self._cond:
            self._cond.notify_all()  # waiters for the same key may proceed
        return handle

    async def release(self, handle: DatabaseHandle) -> None:
        async with self._cond:
            handle.in_use -= 1
            handle.last_used = time.monotonic()
            self._note_connections(handle.server)
            self._cond.notify_all()

    # -- slots ---------------------------------------------------------------------------
    def _reserve(self, server: str) -> bool:
        used = self._slots.get(server, 0)
        if used + self.max_size > self.cap:
            return False
        self._slots[server] = used + self.max_size
        self._peak_slots[server] = max(self._peak_slots.get(server, 0), self._slots[server])
        return True

    def _free(self, server: str, slots: int) -> None:
        self._slots[server] = self._slots.get(server, 0) - slots

    def _evict_one(self, server: str) -> None:
        """Start closing the least recently used idle pool on ``server``; its slots free on close."""
        for key, handle in self._handles.items():
            if handle.server == server and handle.in_use == 0 and handle.pool is not None:
                del self._handles[key]
                self.evictions += 1
                asyncio.get_running_loop().create_task(self._close(handle))
                return

    async def _close(self, handle: DatabaseHandle) -> None:
        if handle.in_use:
            # Evicted while in use (a store moving): users bound before the eviction finish first,
            # nobody new gets this handle, and closing never breaks a transaction in flight.
            async with self._cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait_for(lambda: handle.in_use <= 0), 10)
        pool, handle.pool = handle.pool, None
        try:
            if pool is not None:
                await asyncio.wait_for(pool.close(), 10)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            if pool is not None:
                pool.terminate()
        finally:
            async with self._cond:
                self._free(handle.server, handle.slots)
                self._cond.notify_all()

    def _note_connections(self, server: str) -> None:
        total = sum(h.pool.get_size() for h in self._handles.values() if h.server == server and h.pool)
        self._peak_conns[server] = max(self._peak_conns.get(server, 0), total)

    # -- maintenance -----------------------------------------------------------------------
    async def evict(self, key: str) -> None:
        """Close ``key``'s pool (store moved, suspended or migrated); in-flight users finish first."""
        async with self._cond:
            handle = self._handles.pop(key, None)
        if handle is not None:
            await self._close(handle)

    async def evict_database(self, database: str) -> int:
        """Close every pool of ``database`` on any server (the store moved or was restored)."""
        async with self._cond:
            keys = [key for key in self._handles if key.rsplit("/", 1)[-1] == database]
            handles = [self._handles.pop(key) for key in keys]
        await asyncio.gather(*(self._close(h) for h in handles))
        return len(handles)

    async def close_idle(self, older_than: float | None = None) -> int:
        limit = time.monotonic() - (self.idle_seconds if older_than is None else older_than)
        async with self._cond:
            idle = [h for h in self._handles.values() if h.in_use == 0 and h.last_used <= limit]
            for handle in idle:
                del self._handles[handle.key]
        await asyncio.gather(*(self._close(h) for h in idle))
        return len(idle)

    def start_janitor(self) -> None:
        async def sweep() -> None:
            while not self._closed:
                await asyncio.sleep(max(1.0, self.idle_seconds / 2))
                await self.close_idle()

        self._janitor = asyncio.get_running_loop().create_task(sweep())

    async def close(self) -> None:
        self._closed = True
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
        async with self._cond:
            handles = list(self._handles.values())
            self._handles.clear()
        await asyncio.gather(*(self._close(h) for h in handles))

    def servers_of_open_pools(self) -> list[str]:
        return [h.server for h in self._handles.values() if h.pool is not None]

    def reset_peaks(self) -> None:
        self._peak_slots = dict(self._slots)
        self._peak_conns = {}

    def stats(self) -> PoolStats:
        conns: dict[str, int] = {}
        for handle in self._handles.values():
            if handle.pool is not None:
                conns[handle.server] = conns.get(handle.server, 0) + handle.pool.get_size()
        return PoolStats(
            pools=len(self._handles),
            slots_by_server=dict(self._slots),
            connections_by_server=conns,
            peak_slots_by_server=dict(self._peak_slots),
            peak_connections_by_server=dict(self._peak_conns),
            waits=self.waits,
            evictions=self.evictions,
        )
