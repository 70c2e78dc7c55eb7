"""Feed URLs: the SSRF guard, a fetched feed imported and applied, and the schedule dispatcher."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import jobs
from app.services.imports import feeds
from app.services.imports.fetch import is_public
from app.tables.catalog import Offer
from app.tables.imports import ImportJob
from app.tenancy import runtime as tenancy
from tests.conftest import SHARED, make_store

pytestmark = pytest.mark.integration

YML = SHARED / "fixtures" / "real" / "yml"


@pytest.fixture(scope="module")
def feed_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(YML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1", False),
        ("0.0.0.0", False),
    ],
)
def test_only_public_addresses_pass_the_guard(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pw@example.com/x",
        "not a url",
    ],
)
def test_malformed_feed_links_are_refused(url: str) -> None:
    data, errors = feeds.validate({"url": url, "schedule": "daily"})
    assert data is None and "url" in errors


async def test_private_address_is_refused_and_recorded(runtime, feed_server, tmp_path) -> None:
    store = await make_store("feed-guard")
    async with tenancy.bind_tenant(store.tenant):
        await feeds.save_feed(feeds.FeedSettings(f"{feed_server}/eva_ua_name_ua_price_old.xml", "off"))
        job = await feeds.run_feed(tmp_path)
        assert job["status"] == "failed" and "127.0.0.1" in job["fatal"]
        assert await Offer.count() == 0
        assert (await feeds.get_feed())["last_error"]


async def test_fetched_feed_is_imported_and_applied(runtime, feed_server, tmp_path) -> None:
    store = await make_store("feed-fetch")
    async with tenancy.bind_tenant(store.tenant):
        await feeds.save_feed(feeds.FeedSettings(f"{feed_server}/eva_ua_name_ua_price_old.xml", "daily"))
        job = await feeds.run_feed(tmp_path, allow_private=True)
        assert job["status"] == "done", job["fatal"]
        assert await Offer.count() == 150
        await feeds.save_feed(feeds.FeedSettings(f"{feed_server}/no-such-file.xml", "daily"))
        failed = await feeds.run_feed(tmp_path, allow_private=True)
        assert failed["status"] == "failed" and "404" in failed["fatal"]
        assert await Offer.count() == 150


async def test_dispatcher_queues_due_stores_and_the_worker_runs_them(runtime, feed_server) -> None:
    store = await make_store("feed-sched")
    async with tenancy.bind_tenant(store.tenant):
        await feeds.save_feed(feeds.FeedSettings(f"{feed_server}/eva_ua_name_ua_price_old.xml", "hourly"))
    assert store.slug not in await feeds.due_stores()
    assert store.slug in await feeds.due_stores(datetime.now(UTC) + timedelta(hours=2))
    await jobs.defer_feed(store.slug)
    await jobs.defer_feed(store.slug)  # a second request while one is queued is merged
    await jobs.run_worker(wait=False)
    async with tenancy.bind_tenant(store.tenant):
        runs = await ImportJob.select(ImportJob.status, ImportJob.fatal)
        # The worker uses the process settings, where private addresses are refused: one guarded run.
        assert len(runs) == 1 and runs[0]["status"] == "failed" and "127.0.0.1" in runs[0]["fatal"]
