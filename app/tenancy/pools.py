"""A registry of lazily created per-database asyncpg pools under a per-server connection cap.

The cap counts connections, not pools: every connection a store pool opens first takes a slot of its
server's budget (through asyncpg's ``connect`` hook) and gives it back when it closes, however it
closes (idle timeout, pool closed, server gone). A pool costs nothing until it connects, so many
stores keep warm pools side by side as long as the server's total stays under the cap. When the
budget is spent, the coldest idle pool is closed to make room: the one whose store has been asked for
least lately (a request count that halves every ``HEAT_HALF_LIFE`` seconds, kept across evictions, so
a store with steady traffic outlives a crowd of one-off visits, which plain LRU would not). A busy
store's second or third connection counts for its store's heat shared among its connections, so a
spare connection idle for the moment goes before a store whose only connection is worth more. Every
waiting connect gets a pool evicted for it, so a burst of new stores frees slots in parallel, and a
thirtieth of the cap is kept free ahead of need. When no pool is idle, the connecting request waits,
bounded by ``acquire_timeout``, then gets :class:`PoolsExhausted` (a 503). asyncpg closes
connections idle for ``idle_seconds``, and a janitor closes the pools left empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.tenancy.engine import DatabaseHandle

HEAT_HALF_LIFE = 60.0
_DECAY = math.log(2) / HEAT_HALF_LIFE


async def keep_session(conn: asyncpg.Connection) -> None:
    """The ``reset`` our pools run when a connection comes back: nothing beyond asyncpg's own step,
    which rolls back a transaction left open. asyncpg's default also sends ``RESET ALL``, ``UNLISTEN *``
    and ``pg_advisory_unlock_all()``: a second round trip after every query, since Piccolo takes a
    connection per statement. Our pooled connections keep no session state (settings are ``SET
    LOCAL``, LISTEN and session locks use connections of their own), and a pool serves one database
    through one role, so nothing can leak from one store to another either way."""


class PoolsExhausted(RuntimeError):
    """No connection slot became free in time on the store's server."""


@dataclass
class PoolStats:
    pools: int
    slots_by_server: dict[str, int]  # connections open or opening, counted against the cap
    connections_by_server: dict[str, int]  # connections the pools report open
    peak_slots_by_server: dict[str, int]
    waits: int
    evictions: int
    spares_closed: int


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
        connect: Callable[..., Any] = asyncpg.connect,
    ) -> None:
        if cap_per_server < 1 or max_size < 1:
            raise ValueError("a server needs room for at least one connection")
        self.max_size = max_size
        self.cap = cap_per_server
        self.headroom = cap_per_server // 30  # slots kept free by closing idle pools early
        self.idle_seconds = idle_seconds
        self.acquire_timeout = acquire_timeout
        self.statement_cache_size = statement_cache_size
        self.connect_timeout = connect_timeout
        self._create_pool = pool_factory
        self._connect = connect
        self._handles: OrderedDict[str, DatabaseHandle] = OrderedDict()
        self._slots: dict[str, int] = {}
        self._peak_slots: dict[str, int] = {}
        self._freeing: dict[str, int] = {}  # connections of evicted pools still closing
        self._waiting: dict[str, int] = {}  # connects waiting for a slot
        self._heat: dict[str, tuple[float, float]] = {}  # key -> (decayed request count, when)
        self._cond = asyncio.Condition()
        self._janitor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # wake-ups and evictions under way (kept referenced)
        self._trimming: set[Any] = set()  # spare connections being closed to free a slot
        self._closed = False
        self.waits = 0
        self.evictions = 0
        self.trims = 0

    # -- acquire / release -------------------------------------------------------------
    async def acquire(self, key: str, server: str, config: dict[str, Any]) -> DatabaseHandle:
        """A handle for ``key`` whose pool is ready; pair with :meth:`release`. Opens no connection."""
        async with self._cond:
            self._warm(key)
            while True:
                handle = self._handles.get(key)
                if handle is None:
                    handle = DatabaseHandle(key=key, server=server, config=config)
                    handle.in_use = 1
                    self._handles[key] = handle
                    break
                handle.in_use += 1
                self._handles.move_to_end(key)
                # Another task may be creating this pool: wait until it is ready (or was given up).
                while handle.pool is None and self._handles.get(key) is handle:
                    await self._cond.wait()
                if handle.pool is not None:
                    return handle
                handle.in_use -= 1
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
                "connect": self._connector(handle),
                "setup": self._lent(handle),
                "reset": self._returned(handle),
                **handle.config,  # a server behind PgBouncer brings statement_cache_size=0
            }
            handle.pool = await self._create_pool(**options)
        except BaseException:
            async with self._cond:
                if self._handles.get(handle.key) is handle:
                    del self._handles[handle.key]
                self._cond.notify_all()
            raise
        async with self._cond:
            self._cond.notify_all()  # waiters for the same key may proceed
        return handle

    async def release(self, handle: DatabaseHandle) -> None:
        async with self._cond:
            handle.in_use -= 1
            handle.last_used = time.monotonic()
            self._cond.notify_all()

    # -- connection slots ------------------------------------------------------------------
    def _connector(self, handle: DatabaseHandle) -> Callable[..., Any]:
        server = handle.server

        def ended(conn: Any) -> None:
            handle.connections.discard(conn)
            handle.idle.discard(conn)
            if conn in self._trimming:
                self._trimming.discard(conn)
                self._freeing[server] = self._freeing.get(server, 0) - 1
            self._give_slot(server)

        async def connect(*args: Any, **kwargs: Any) -> Any:
            await self._take_slot(server)
            try:
                conn = await self._connect(*args, **kwargs)
            except BaseException:
                self._give_slot(server)
                raise
            handle.connections.add(conn)
            conn.add_termination_listener(ended)
            return conn

        return connect

    @staticmethod
    def _lent(handle: DatabaseHandle) -> Callable[..., Any]:
        """asyncpg's ``setup``: the connection is lent out (asyncpg passes a proxy; its ``_con`` is the connection)."""

        async def setup(proxy: Any) -> None:
            handle.idle.discard(getattr(proxy, "_con", proxy))

        return setup

    @staticmethod
    def _returned(handle: DatabaseHandle) -> Callable[..., Any]:
        """asyncpg's ``reset``: the connection is back, idle (and, as ``keep_session``, nothing is sent)."""

        async def reset(conn: Any) -> None:
            if conn in handle.connections:
                handle.idle.add(conn)

        return reset

    async def _take_slot(self, server: str) -> None:
        deadline = time.monotonic() + self.acquire_timeout
        async with self._cond:
            if self._slots.get(server, 0) >= self.cap:
                self.waits += 1
                self._waiting[server] = self._waiting.get(server, 0) + 1
                try:
                    while self._slots.get(server, 0) >= self.cap:
                        # Evict for every waiter not yet covered by connections already closing, so a
                        # burst of new stores frees slots in parallel instead of one pool at a time.
                        if self._freeing.get(server, 0) < self._waiting[server]:
                            self._evict_one(server)
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise PoolsExhausted(f"no database connection slot free on server {server}")
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._cond.wait(), remaining)
                finally:
                    self._waiting[server] -= 1
            taken = self._slots.get(server, 0) + 1
            self._slots[server] = taken
            self._peak_slots[server] = max(self._peak_slots.get(server, 0), taken)
            # Keep a few slots free ahead of need: close the coldest idle pool now, in the background,
            # so the next new store's connect rarely has to wait for a close to finish.
            if taken + self.headroom > self.cap and self._freeing.get(server, 0) < self.headroom:
                self._evict_one(server)

    def _give_slot(self, server: str) -> None:
        """A connection closed (or never opened); called from asyncpg's termination listener."""
        self._slots[server] = self._slots.get(server, 0) - 1
        if not self._closed:
            self._spawn(self._wake())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def _warm(self, key: str) -> None:
        now = time.monotonic()
        self._heat[key] = (self._heat_of(key, now) + 1.0, now)

    def _heat_of(self, key: str, now: float) -> float:
        heat, at = self._heat.get(key, (0.0, now))
        return heat * math.exp(-_DECAY * (now - at))

    def _evict_one(self, server: str) -> None:
        """Free a slot on ``server``: close the coldest idle pool that holds connections (ties: least
        recently used), or a busy store's idle spare connection when that is worth less (its store's
        heat shared among the pool's connections)."""
        now = time.monotonic()
        victim, coldest = None, math.inf
        spare, spare_worth = None, math.inf
        for handle in self._handles.values():  # least recently used first
            if handle.server != server or handle.pool is None:
                continue
            heat = self._heat_of(handle.key, now)
            if handle.in_use == 0 and handle.pool.get_size() and heat < coldest:
                victim, coldest = handle, heat
            if len(handle.connections) > 1 and handle.idle and heat / len(handle.connections) < spare_worth:
                spare, spare_worth = handle, heat / len(handle.connections)
        if spare is not None and spare_worth <= coldest:
            conn = spare.idle.pop()
            spare.connections.discard(conn)
            self.trims += 1
            self._trimming.add(conn)
            self._freeing[server] = self._freeing.get(server, 0) + 1
            conn.terminate()  # idle: asyncpg's pool reconnects that holder when it is next needed
            return
        if victim is None:
            return
        del self._handles[victim.key]
        self.evictions += 1
        freeing = victim.pool.get_size()
        self._freeing[server] = self._freeing.get(server, 0) + freeing
        self._spawn(self._close(victim, freeing=freeing))

    async def _close(self, handle: DatabaseHandle, *, freeing: int = 0) -> None:
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
                self._freeing[handle.server] = self._freeing.get(handle.server, 0) - freeing
                self._cond.notify_all()

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
        """Close pools unused for ``older_than`` seconds (default ``idle_seconds``)."""
        limit = time.monotonic() - (self.idle_seconds if older_than is None else older_than)
        async with self._cond:
            idle = [h for h in self._handles.values() if h.in_use == 0 and h.last_used <= limit]
            for handle in idle:
                del self._handles[handle.key]
            now = time.monotonic()
            self._heat = {k: v for k, v in self._heat.items() if k in self._handles or self._heat_of(k, now) > 0.01}
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

    def stats(self) -> PoolStats:
        conns: dict[str, int] = {}
        for handle in self._handles.values():
            if handle.pool is not None:
                conns[handle.server] = conns.get(handle.server, 0) + handle.pool.get_size()
        return PoolStats(
            pools=len(self._handles),
            slots_by_server={server: n for server, n in self._slots.items() if n},
            connections_by_server=conns,
            peak_slots_by_server=dict(self._peak_slots),
            waits=self.waits,
            evictions=self.evictions,
            spares_closed=self.trims,
        )
