"""Waking the automation after a POST runs once the response is sent: a queue that fails (the control
database restarting, say) is logged and never turns the finished response into a 500."""

from __future__ import annotations

import logging

import pytest
from litestar import Request

from app import jobs
from app.controllers._automation import kick_automation

pytestmark = pytest.mark.unit


async def test_a_failing_queue_is_logged_not_raised(monkeypatch, caplog) -> None:
    async def broken(slug: str) -> None:
        raise OSError(f"control database down ({slug})")

    monkeypatch.setattr(jobs, "kick_automation", broken)
    request = Request({"type": "http", "method": "POST", "path_params": {"slug": "shop"}, "headers": []})
    with caplog.at_level(logging.ERROR, logger="autooffice.automation"):
        await kick_automation(request)
    assert "could not queue automation for shop" in caplog.text
