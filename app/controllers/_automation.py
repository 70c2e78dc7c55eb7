"""After a POST that may have changed orders or payments, queue the store's automation at once.

Services write events to the outbox in their own transactions; this only wakes the worker (the
minute tick would find them anyway), so a queue problem never fails the request.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request

from app import jobs

log = logging.getLogger("autooffice.automation")


async def kick_automation(request: Request[Any, Any, Any]) -> None:
    slug = request.path_params.get("slug")
    if request.method != "POST" or not slug:
        return
    try:
        await jobs.kick_automation(slug)
    except Exception:
        # The response has been sent: this must not raise (Litestar has no logger of its own here).
        log.exception("could not queue automation for %s", slug)
