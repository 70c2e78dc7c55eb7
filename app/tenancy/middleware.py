"""Binds the store named in the URL for the whole request: ``/s/{slug}``, ``/f/{slug}``, ``/hooks/{slug}``,
``/api/v1/{slug}``. Runs as middleware, not DI: a ContextVar set in a dependency would be lost."""

from __future__ import annotations

import re

from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.tenancy.runtime import PAUSED_STATUSES, bind_tenant, lookup_tenant

SERVING_STATUSES = frozenset({"active", "read_only"})
RETRY_AFTER = {"Retry-After": "5"}
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]")
STATE_KEY = "tenant"


def slug_from_path(path: str) -> str | None:
    parts = path.split("/", 5)
    if len(parts) >= 3 and parts[1] in {"s", "f", "hooks"} and parts[2]:
        return parts[2]
    if len(parts) >= 4 and parts[1] == "api" and parts[2] == "v1" and parts[3]:
        return parts[3]
    return None


class TenantMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        slug = slug_from_path(scope["path"])
        if slug is not None and not SLUG.fullmatch(slug):
            raise NotFoundException()  # never look up (or cache) names no store can have
        if slug is None:
            await next_app(scope, receive, send)
            return
        tenant = await lookup_tenant(slug)
        if tenant is not None and tenant.status in PAUSED_STATUSES:
            scope["state"][STATE_KEY] = tenant  # the error page speaks the store's language
            raise ServiceUnavailableException(headers=RETRY_AFTER)
        if tenant is None or tenant.status not in SERVING_STATUSES:
            raise NotFoundException()
        scope["state"][STATE_KEY] = tenant
        # No connection is taken here: the first query takes one (a busy server is a 503 from app.asgi).
        async with bind_tenant(tenant):
            await next_app(scope, receive, send)
