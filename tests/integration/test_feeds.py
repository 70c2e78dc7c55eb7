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
from app.tables.imports import FeedSource, ImportJob
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
        # Hosts a resolver reads as another address: octal, hex, a single number, too few parts.
        "http://0177.0.0.1/feed.xml",
        "http://0x7f.0.0.1/feed.xml",
        "http://2130706433/feed.xml",
        "http://127.1/feed.xml",
        "http://192.168.0.1.5/feed.xml",
        "http://exa mple.com/feed.xml",
        "http://example.com/my feed.xml",
        "http://example.com/feed.xml\x00",
        "http://ex\u200bample.com/feed.xml",
        "http://[::1/feed.xml",
        "http://[zz::1]/feed.xml",
        "http://example.com:99999/feed.xml",
        "http://example.com:0/feed.xml",
        "http://example.com:abc/feed.xml",
        "http://a..b/feed.xml",
        "http://-shop-.com/feed.xml",
        "http://" + "a" * 2000 + ".com/",
    ],
)
def test_malformed_feed_links_are_refused(url: str) -> None:
    data, errors = feeds.validate({"url": url, "schedule": "daily"})
    assert data is None and "url" in errors
    assert errors["url"][0].isupper() and errors["url"].endswith(".")  # a sentence, not a parser's message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/yml.xml",
        "https://shop.example.com:8443/export/yml.xml?key=a%20b&x=1",
        "http://203.0.113.7/feed.xml",
        "http://[2001:db8::1]:8080/feed.xml",
        "https://магазин.рф/товары.xml",
        "https://1c-export.example.com./feed.xml",
    ],
)
def test_well_formed_feed_links_pass(url: str) -> None:
    data, errors = feeds.validate({"url": url, "schedule": "daily"})
    assert errors == {} and data is not None and data.url == url


@pytest.mark.parametrize(
    ("lang", "phrase"),
    [("ru", "не является правильным IP-адресом"), ("uk", "не є правильною IP-адресою"), ("en", "is not a valid IP")],
)
async def test_a_saved_link_that_cannot_be_parsed_fails_its_run_with_the_reason(
    runtime, tmp_path, lang: str, phrase: str
) -> None:
    """A link saved before the rules were strict: the scheduled run says why instead of dying."""
    store = await make_store(f"feed-octal-{lang}", locale=lang)
    async with tenancy.bind_tenant(store.tenant):
        await FeedSource.insert(FeedSource(url="http://0177.0.0.1/feed.xml", schedule="hourly"))
    await jobs.defer_feed(store.slug)
    await jobs.run_worker(wait=False)
    async with tenancy.bind_tenant(store.tenant):
        runs = await ImportJob.select(ImportJob.status, ImportJob.fatal)
        assert len(runs) == 1 and runs[0]["status"] == "failed"
        assert "0177.0.0.1" in runs[0]["fatal"] and phrase in runs[0]["fatal"]
        feed = await feeds.get_feed()
        assert feed["last_error"] == runs[0]["fatal"] and feed["last_run_at"] is not None
        assert await Offer.count() == 0


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
