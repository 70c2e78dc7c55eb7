"""``/metrics`` for Prometheus: only with ``AUTOOFFICE_METRICS_TOKEN`` set, and only for its bearer."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Response

from app import metrics
from app.services import health


def _authorised(request: Request[Any, Any, Any]) -> bool | None:
    """None: the endpoint is off; False: wrong or missing token; True: the scraper."""
    token = request.app.state.settings.metrics_token
    if not token:
        return None
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class MetricsController(Controller):
    include_in_schema = False

    @get("/metrics", name="metrics", cache=False)
    async def scrape(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        allowed = _authorised(request)
        if allowed is None:
            raise NotFoundException()
        if not allowed:
            return Response(
                b"bearer token required\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        snapshot = await health.snapshot()
        metrics.record_pools(snapshot.pools)
        body, content_type = metrics.render(metrics.job_families(snapshot.jobs, snapshot.stores))
        return Response(body, media_type=content_type)
