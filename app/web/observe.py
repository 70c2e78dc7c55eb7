"""The outermost layer of every HTTP request: a request id (the caller's ``X-Request-ID`` or a new one,
echoed back), one access log line with the store and the route, and the latency histogram by route
template. It wraps Litestar's whole handler, so unmatched paths and error pages are counted too."""

from __future__ import annotations

import logging
import time

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import logs, metrics

access_log = logging.getLogger("autooffice.access")
HEADER = b"x-request-id"


def _incoming_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == HEADER:
            return value.decode("latin-1")
    return None


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = logs.new_request_id(_incoming_id(scope))
        scope.setdefault("state", {})["request_id"] = request_id
        id_token = logs.request_id_var.set(request_id)
        store_token = logs.store_var.set("")
        status = [500]
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or metrics.UNMATCHED
            tenant = scope.get("state", {}).get("tenant")
            metrics.observe_request(scope["method"], route, status[0], elapsed)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status[0],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status[0],
                    "duration_ms": round(elapsed * 1000, 2),
                    "store": tenant.slug if tenant is not None else "",
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            logs.store_var.reset(store_token)
            logs.request_id_var.reset(id_token)
