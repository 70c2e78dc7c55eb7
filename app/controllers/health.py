"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Response

from app.services import health


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz", name="health:live", media_type="text/plain")
    async def live(self) -> str:
        return "ok"

    @get("/readyz", name="health:ready", media_type="text/plain")
    async def ready(self) -> Response[str]:
        ok = await health.control_plane_ready()
        return Response("ready" if ok else "control plane unavailable", status_code=200 if ok else 503)
