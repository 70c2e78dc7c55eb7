"""Server-side sessions in the control database, saved before the response starts.

Litestar's server-side backend writes the session while the response is already being sent, so a
control database that fails at that moment (restarting, say) turns a finished page into a broken
500. Here the session is written only when it must be:

- a login, a sign-up or a logout saves (or deletes) it from the handler, through :func:`start_session`
  and :func:`end_session`, before the response exists, so a failure is an ordinary 503 page; the
  session id is replaced at the same time, so a planted session cookie is worthless;
- an unchanged session is written again only to slide its expiry, at most every ``RENEW_EVERY``
  seconds, and a failure to renew is logged, never raised into a response already on its way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from app.tenancy.runtime import UNAVAILABLE_ERRORS

log = logging.getLogger("autooffice.sessions")

RENEW_EVERY = 3600  # seconds between writes that only slide an unchanged session's expiry
_LOADED = "autooffice.session_loaded"  # (serialized data, seconds left) as read for this request
_SAVED = "autooffice.session_saved"  # the session id written by start_session, or "" after end_session


class RotatingSessionBackend(ServerSideSessionBackend):
    def _store(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        return self.config.get_store_from_app(connection.scope["app"])

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if not session_id or session_id == "null":
            return {}
        entry = await self._store(connection).get_with_ttl(session_id)
        if entry is None:
            return {}
        connection.scope["state"][_LOADED] = entry
        return self.deserialize_data(entry[0])

    async def start(self, connection: ASGIConnection[Any, Any, Any, Any], data: dict[str, Any]) -> None:
        """Replace the session with ``data`` under a new id, written now."""
        store = self._store(connection)
        old_id = connection.cookies.get(self.config.key)
        if old_id and old_id != "null":
            await self.delete(old_id, store=store)
        new_id = self.generate_session_id()
        await self.set(new_id, self.serialize_data(data, connection.scope), store=store)
        connection.scope["session"] = data
        connection.scope["state"][_SAVED] = new_id

    async def end(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Delete the session now; the browser is told to drop its cookie."""
        old_id = connection.cookies.get(self.config.key)
        if old_id and old_id != "null":
            await self.delete(old_id, store=self._store(connection))
        connection.scope["session"] = Empty
        connection.scope["state"][_SAVED] = ""

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope["state"]
        if _SAVED in state:
            self._set_cookie(message, state[_SAVED] or None)
            return
        session_id = self.get_session_id(connection)
        if scope_session is Empty or not scope_session:
            # Nothing to keep: no row is written for a visitor without a session (a shopper on an
            # order form), and a cookie the browser sent is dropped.
            if _LOADED in state:  # the handler emptied a session it was given
                await self._quietly(self.delete(session_id, store=self._store(connection)))
            if connection.cookies.get(self.config.key, "null") != "null":
                self._set_cookie(message, None)
            return
        data = self.serialize_data(scope_session, connection.scope)
        loaded, left = state.get(_LOADED, (None, None))
        max_age = int(self.config.max_age)
        if data != loaded or left is None or left < max_age - RENEW_EVERY:
            await self._quietly(self.set(session_id, data, store=self._store(connection)))
        self._set_cookie(message, session_id)

    async def _quietly(self, write: Awaitable[None]) -> None:
        """A write made while the response is already being sent: an outage here is logged, not raised
        (raising now could only break the response; the session was unchanged or is renewed later)."""
        try:
            await write
        except UNAVAILABLE_ERRORS as exc:
            log.warning("session not saved: %s", type(exc).__name__)

    def _set_cookie(self, message: Message, session_id: str | None) -> None:
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        if session_id is None:
            cookie = Cookie(value="null", key=self.config.key, expires=0, **params)
        else:
            cookie = Cookie(value=session_id, key=self.config.key, **params)
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


async def start_session(connection: ASGIConnection[Any, Any, Any, Any], data: dict[str, Any]) -> None:
    """Log in: a fresh session id holding ``data``, saved before the response (login, sign-up, join)."""
    await _session_backend(connection).start(connection, data)


async def end_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Log out: the session is deleted before the response."""
    await _session_backend(connection).end(connection)


def _session_backend(connection: ASGIConnection[Any, Any, Any, Any]) -> RotatingSessionBackend:
    return RotatingSessionBackend(config=connection.app.state.session_config)
