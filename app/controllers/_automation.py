"""After a POST that may have changed orders or payments, queue the store's automation at once.

Services write events to the outbox in their own transactions; this only wakes the worker (the
minute tick would find them anyway), so a queue problem never fails the request.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from app import jobs


async def kick_automation(request: Request[Any, Any, Any]) -> None:
    slug = request.path_params.get("slug")
    if request.method != "POST" or not slug:
        return
    try:
        await jobs.kick_automation(slug)
    except Exception:
        request.logger.exception("could not queue automation for %s", slug)
