"""Readiness: the control plane answers."""

from __future__ import annotations

import asyncio

from app.tables.control import DbServer


async def control_plane_ready(timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(DbServer.count(), timeout)
    except (OSError, TimeoutError, Exception):
        return False
    return True
