"""Test set-up: a real PostgreSQL (embedded unless AUTOOFFICE_TEST_DATABASE_URL), a throw-away prefix
for every database and role this run creates, two stores A and B, and clients for the ASGI app."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import time_machine

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
if os.environ.get("AUTOOFFICE_TEST_NOW"):
    # e.g. AUTOOFFICE_TEST_NOW=2026-12-01T21:45:00+00:00 runs the whole session from that instant (ticking), to
    # show the suite passes at any hour; tests/clock.py is for tests that set the clock themselves.
    time_machine.travel(datetime.fromisoformat(os.environ["AUTOOFFICE_TEST_NOW"]), tick=True).start()

from app import jobs
from app.asgi import create_app
from app.forms.auth import SignupData
from app.services import stores
from app.settings import PROJECT_DIR, DatabaseSettings, Settings
from app.tenancy import migrate
from app.tenancy import runtime as tenancy
from app.tenancy.embedded import start_embedded
from app.tenancy.provision import drop_prefixed

SHARED = PROJECT_DIR.parent / "shared"
PASSWORD = "correct-horse-battery"


def _test_dsn() -> str:
    url = os.environ.get("AUTOOFFICE_TEST_DATABASE_URL")
    if url:
        return url
    return start_embedded(PROJECT_DIR / ".autooffice", name="test-pg", fast_unsafe=True)


def make_settings(dsn: str, prefix: str, **db: object) -> Settings:
    db_settings = DatabaseSettings(
        url=dsn, prefix=prefix, pool_max_size=2, max_connections_per_server=40, pool_idle_seconds=30, acquire_timeout=20
    )
    db_settings = replace(db_settings, **db)  # type: ignore[arg-type]
    return Settings(
        db=db_settings,
        data_dir=PROJECT_DIR / ".autooffice",
        secret_key="t" * 48,
        login_attempts=5,
    )


@pytest.fixture(scope="session")
def test_dsn() -> str:
    return _test_dsn()


@pytest.fixture(scope="session")
def db_prefix() -> str:
    return f"aot{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def settings(test_dsn: str, db_prefix: str) -> Settings:
    return make_settings(test_dsn, db_prefix)


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[tenancy.Runtime]:
    rt = await tenancy.start(settings)
    await migrate.migrate_all()
    await jobs.ensure_schema(rt.primary_dsn, settings)
    try:
        async with jobs.opened(rt.primary_dsn, settings):
            yield rt
    finally:
        await tenancy.stop()
        await drop_prefixed(settings.db.url or "", settings.db.prefix)


@dataclass(frozen=True)
class StoreFixture:
    slug: str
    email: str
    password: str
    tenant: tenancy.TenantInfo
    identity_id: int


async def make_store(
    slug: str,
    *,
    email: str | None = None,
    identity_id: int | None = None,
    locale: str = "ru",
    currency: str = "RUB",
    country: str = "RU",
) -> StoreFixture:
    email = email or f"owner@{slug}.example.com"
    data = SignupData(f"Store {slug}", slug, email, PASSWORD, locale, currency, country)
    tenant, identity = await stores.create_store(data, identity_id=identity_id)
    return StoreFixture(slug, email, PASSWORD, tenant, identity)


@pytest.fixture(scope="session")
async def store_a(runtime: tenancy.Runtime) -> StoreFixture:
    return await make_store("store-a", locale="ru")


@pytest.fixture(scope="session")
async def store_b(runtime: tenancy.Runtime) -> StoreFixture:
    return await make_store("store-b", locale="uk", currency="UAH", country="UA")


@pytest.fixture(scope="session")
def app(settings: Settings, runtime: tenancy.Runtime):
    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """Calls the ASGI app in the test's own event loop (the runtime's pools live there)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    response = await client.post(
        "/login", data={"email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")}
    )
    assert response.status_code in (302, 303), response.text


def csrf(client: httpx.AsyncClient) -> str:
    return client.cookies.get("csrftoken", "")


@pytest.fixture
def shared_dir() -> Path:
    return SHARED
