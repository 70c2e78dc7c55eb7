"""Piccolo engines whose pool follows a ContextVar, so one set of Table classes serves every store.

``ROUTED_DB`` is the engine every tenant table (and Piccolo's migration machinery, through
``piccolo_conf``) resolves to; its ``pool`` and ``config`` are read from the handle bound in the
current context. ``CONTROL_DB`` is the control-plane engine, bound once at start-up. Neither
constructor does I/O, unlike ``PostgresEngine.__init__``, which connects synchronously.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from asyncpg import Pool
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction


@dataclass(eq=False)
class DatabaseHandle:
    """One database's pool plus the bookkeeping the registry needs."""

    key: str
    server: str
    config: dict[str, Any]
    pool: Pool | None = None
    in_use: int = 0
    last_used: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    connections: set[Any] = field(default_factory=set)  # open connections of the pool
    idle: set[Any] = field(default_factory=set)  # those not lent out right now


class NotBound(LookupError):
    """A tenant table was queried outside a bound store context."""


_current: ContextVar[DatabaseHandle | None] = ContextVar("autooffice_db", default=None)


def current_handle() -> DatabaseHandle:
    handle = _current.get()
    if handle is None:
        raise NotBound("no store database is bound to this context")
    return handle


class _SafeTransaction(PostgresTransaction):
    """Piccolo's transaction, hardened for connections that break (a server restarting, a store
    being moved): whatever BEGIN, COMMIT or ROLLBACK raises, the connection goes back to its pool
    (terminated if broken) and the context is no longer bound to the dead transaction. Piccolo's own
    ``__aexit__`` skips both when the rollback fails, which leaves the task pointing at a closed
    connection for good."""

    __slots__ = ()

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            await self._give_back(broken=True)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        broken = False
        try:
            if exception is not None:
                if not self._rolled_back:
                    try:
                        await self.rollback()
                    except Exception:
                        broken = True  # the original error is the one worth raising
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    broken = True
                    raise
        finally:
            try:
                await self._give_back(broken)
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None

    async def _give_back(self, broken: bool) -> None:
        if broken or self.connection.is_closed():
            self.connection.terminate()
        pool = self.engine.pool
        with contextlib.suppress(Exception):
            if pool is not None:
                await pool.release(self.connection)
            else:
                await self.connection.close()


class _QuietPostgresEngine(PostgresEngine):
    """A PostgresEngine that skips the connecting constructor."""

    def __init__(self, name: str) -> None:
        self.extensions = ()
        self.extra_nodes = {}
        self.log_queries = False
        self.log_responses = False
        self.engine_type = "postgres"
        self.min_version_number = 10
        self.query_id = 0
        self.current_transaction = ContextVar(f"pg_tx_{name}", default=None)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _SafeTransaction(engine=self, allow_nested=allow_nested)

    async def get_version(self) -> float:
        return 15.0

    async def prep_database(self) -> None:
        return None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        return None

    async def close_connection_pool(self) -> None:
        return None


class RoutingEngine(_QuietPostgresEngine):
    """Routes every query to the database bound in the current context."""

    @property  # type: ignore[override]
    def pool(self) -> Pool | None:
        return current_handle().pool

    @pool.setter
    def pool(self, value: Pool | None) -> None:
        raise AttributeError("pools are owned by the PoolRegistry")

    @property  # type: ignore[override]
    def config(self) -> dict[str, Any]:
        return current_handle().config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        raise AttributeError("config follows the bound handle")


class ControlEngine(_QuietPostgresEngine):
    """The control-plane engine; ``attach`` gives it a pool at start-up."""

    def __init__(self) -> None:
        super().__init__("control")
        self._pool: Pool | None = None
        self._config: dict[str, Any] = {}

    @property  # type: ignore[override]
    def pool(self) -> Pool | None:
        return self._pool

    @pool.setter
    def pool(self, value: Pool | None) -> None:
        self._pool = value

    @property  # type: ignore[override]
    def config(self) -> dict[str, Any]:
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._config = value

    def attach(self, pool: Pool | None, config: dict[str, Any]) -> None:
        self._pool = pool
        self._config = config


ROUTED_DB = RoutingEngine("routed")
CONTROL_DB = ControlEngine()


@asynccontextmanager
async def bound(handle: DatabaseHandle) -> AsyncIterator[DatabaseHandle]:
    """Bind ``handle`` for the enclosed code; refuses to switch inside an open transaction."""
    if _current.get() is not None and ROUTED_DB.transaction_exists():
        raise RuntimeError("cannot switch store database inside an open transaction")
    token = _current.set(handle)
    try:
        yield handle
    finally:
        _current.reset(token)
