"""Request ids, JSON access logs with the store, and ``/metrics`` (token-protected, route templates only)."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import replace

import httpx
import pytest

from app import logs
from app.asgi import create_app
from tests.conftest import login

pytestmark = pytest.mark.http

TOKEN = "scrape-me-please"


@pytest.fixture(scope="module")
def metrics_app(settings, runtime):
    return create_app(replace(settings, metrics_token=TOKEN))


@pytest.fixture
async def metrics_client(metrics_app):
    transport = httpx.ASGITransport(app=metrics_app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture
def log_lines():
    """The JSON lines the access and app loggers write while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.Json())
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("autooffice")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


async def test_a_request_id_is_made_or_kept_and_echoed_even_on_errors(client, store_a) -> None:
    made = await client.get("/login")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    kept = await client.get("/login", headers={"X-Request-ID": "lb-7f3a.42"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    junk = await client.get("/login", headers={"X-Request-ID": "<script>" + "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", junk.headers["x-request-id"])
    unmatched = await client.get("/no/such/page", headers={"X-Request-ID": "trace-1"})
    assert unmatched.status_code == 404 and unmatched.headers["x-request-id"] == "trace-1"
    unknown_store = await client.get("/s/no-such-store/", headers={"X-Request-ID": "trace-2"})
    assert unknown_store.status_code == 404 and unknown_store.headers["x-request-id"] == "trace-2"


async def test_access_lines_are_json_with_store_route_and_request_id_and_no_secrets(
    client, store_a, store_b, log_lines
) -> None:
    await login(client, store_a.email)
    page = await client.get(f"/s/{store_a.slug}/orders/?q=1", headers={"X-Request-ID": "req-orders-1"})
    assert page.status_code == 200
    foreign = await client.get(f"/s/{store_b.slug}/orders/")
    assert foreign.status_code == 404  # store A's owner learns nothing about store B
    lines = {line.get("request_id"): line for line in log_lines() if line.get("logger") == "autooffice.access"}
    line = lines["req-orders-1"]
    assert line["store"] == store_a.slug and line["status"] == 200
    assert line["route"] == "/s/{slug}/orders" and line["path"].startswith(f"/s/{store_a.slug}/orders")
    assert line["level"] == "INFO" and "time" in line and line["duration_ms"] >= 0
    assert "q=1" not in json.dumps(line)  # query strings (tokens, e-mails) stay out of the log
    logging.getLogger("autooffice.test").warning(
        "cannot reach postgresql://ao_s_x:hunter2@db:5432/ao_s_x with password=hunter2 token: abc"
    )
    [warning] = [line for line in log_lines() if line.get("logger") == "autooffice.test"]
    assert "hunter2" not in warning["message"] and "abc" not in warning["message"]
    assert "postgresql://ao_s_x:***@db:5432" in warning["message"]


def test_scrubbing_and_the_text_format() -> None:
    assert logs.scrub('{"password": "s3cret", "user": "ann"}') == '{"password": ***, "user": "ann"}'
    assert logs.scrub("Authorization: Bearer abc.def") == "Authorization: ***"
    assert logs.scrub("secret_key=xyz&next=/s/") == "secret_key=***&next=/s/"
    config = logs.logging_config("text")
    assert "%(request_id)s" in config["formatters"]["main"]["format"]
    assert logs.logging_config("json")["formatters"]["main"] == {"()": "app.logs.Json"}


async def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client, metrics_client) -> None:
    assert (await client.get("/metrics")).status_code == 404
    wrong = await metrics_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "autooffice_" not in wrong.text
    assert (await metrics_client.get("/metrics")).status_code == 401


async def test_metrics_are_not_reachable_through_store_pages(metrics_client, store_a) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in (f"/s/{store_a.slug}/metrics", f"/f/{store_a.slug}/metrics", f"/api/v1/{store_a.slug}/metrics"):
        response = await metrics_client.get(path, headers=auth)
        assert response.status_code in (404, 405), path
        assert "autooffice_http_request_duration_seconds" not in response.text


async def test_metrics_show_route_templates_pools_jobs_and_stores(metrics_client, store_a) -> None:
    await metrics_client.get(f"/f/{store_a.slug}/order")
    await metrics_client.get("/definitely/not/here")
    response = await metrics_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    buckets = [line for line in text.splitlines() if line.startswith("autooffice_http_request_duration_seconds_bucket")]
    assert any('route="/f/{slug}/{code}"' in line and 'method="GET"' in line for line in buckets)
    assert not any(store_a.slug in line for line in buckets), "raw paths would explode the series count"
    assert any('route="<unmatched>"' in line for line in buckets)
    assert re.search(r'^autooffice_db_connection_slots\{server="primary"\} \d', text, re.M)
    assert re.search(r'^autooffice_db_connections\{server="primary"\} \d', text, re.M)
    assert re.search(r'^autooffice_db_pools\{server="primary"\} [1-9]', text, re.M)
    assert re.search(r"^autooffice_db_pool_spares_closed_total \d", text, re.M)
    assert re.search(r'^autooffice_stores\{status="active"\} [1-9]', text, re.M)
    assert "# TYPE autooffice_jobs gauge" in text
