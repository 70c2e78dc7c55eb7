"""Responses that must stay private: Secure cookies, and no caching of staff or order pages.

- Every cookie we set (session, CSRF, language) is ``Secure`` unless the request is plain http to
  localhost, which is a development run (``make run``); ``AUTOOFFICE_COOKIE_SECURE=1`` or an https
  ``AUTOOFFICE_PUBLIC_URL`` makes it Secure there too. Behind a TLS proxy the request reaches us
  as http with the public host name, so its cookies are Secure.
- Staff pages (``/s/…``), account pages and a shopper's order pages (``/f/{slug}/o/…``) carry
  ``Cache-Control: no-store``: neither a shared cache nor the browser's history may keep them.
"""

from __future__ import annotations

import re

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
NO_STORE = re.compile(r"^/(s/|f/[^/]+/o/|f/[^/]+/sandbox/|login$|signup$|stores$|join/|logout$)")


def _host(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = value.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[: host.find("]") + 1]
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    server = scope.get("server")
    return str(server[0]).lower() if server else ""


def development_request(scope: Scope) -> bool:
    """Plain http to this machine: the only case where cookies may go without ``Secure``."""
    return scope.get("scheme", "http") == "http" and _host(scope) in LOCAL_HOSTS


def _secure(cookie: str) -> str:
    attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
    return cookie if "secure" in attributes else f"{cookie}; Secure"


class PrivacyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, *, always_secure: bool = False) -> None:
        self.always_secure = always_secure

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        secure = self.always_secure or not development_request(scope)
        no_store = bool(NO_STORE.match(scope["path"]))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if secure:
                    cookies = headers.getall("set-cookie", [])
                    if cookies:
                        del headers["set-cookie"]
                        for cookie in cookies:
                            headers.add("set-cookie", _secure(cookie))
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await next_app(scope, receive, send_wrapper)
