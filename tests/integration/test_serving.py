"""``autooffice serve --workers 2`` as a real process: a logged-in session is served by both workers in
turn, and a scrape of ``/metrics`` (answered by either) sums both workers' figures."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests import procs

pytestmark = pytest.mark.integration

TOKEN = "workers-metrics-token"


def _count(text: str, route: str) -> int:
    labels = rf'method="GET",route="{re.escape(route)}",status="200"'
    pattern = rf"^autooffice_http_request_duration_seconds_count\{{{labels}\}} (\S+)"
    match = re.search(pattern, text, re.M)
    return int(float(match.group(1))) if match else 0


async def test_two_workers_serve_one_session_in_turn_and_metrics_add_up(settings, store_a, store_b, tmp_path) -> None:
    env = procs.app_env(settings, AUTOOFFICE_METRICS_TOKEN=TOKEN)
    server, url = procs.serve(env, tmp_path / "serve.log", workers=2)
    try:
        # No keep-alive: every request is a new connection, which either worker may accept.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            page = await client.get("/login")
            assert page.status_code == 200
            response = await client.post(
                "/login",
                data={
                    "email": store_a.email,
                    "password": store_a.password,
                    "_csrf_token": client.cookies.get("csrftoken", ""),
                },
            )
            assert response.status_code == 303
            sent = 0
            served_by: dict[str, int] = {}
            for _round in range(15):
                batch = await asyncio.gather(*(client.get(f"/s/{store_a.slug}/") for _ in range(8)))
                sent += len(batch)
                assert all(r.status_code == 200 and 'data-testid="store-name"' in r.text for r in batch)
                ids = {r.headers["x-request-id"] for r in batch}
                for line in server.lines():
                    if line.get("request_id") in ids and line.get("logger") == "autooffice.access":
                        served_by[line["request_id"]] = line["pid"]
                if len(set(served_by.values())) >= 2:
                    break
            assert len(set(served_by.values())) == 2, f"one worker served everything: {set(served_by.values())}"
            assert all(line["store"] == store_a.slug for line in server.lines() if line.get("request_id") in served_by)
            # Still store A's session only: store B stays invisible on every worker.
            foreign = await asyncio.gather(*(client.get(f"/s/{store_b.slug}/") for _ in range(6)))
            assert {r.status_code for r in foreign} == {404}

            # Both workers' request counts are in every scrape, whichever worker answers it.
            scrapes = [
                (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text for _ in range(4)
            ]
            assert {_count(text, "/s/{slug}") for text in scrapes} == {sent}
            assert all('autooffice_db_pools{server="primary"}' in text for text in scrapes)
    finally:
        server.stop()
