"""Shared bench plumbing: a throw-away prefix on the embedded (or named) server, and the result table."""

from __future__ import annotations

import os
import secrets
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from app import jobs
from app.forms.auth import SignupData
from app.services import stores
from app.settings import PROJECT_DIR, DatabaseSettings, Settings
from app.tenancy import migrate
from app.tenancy import runtime as tenancy
from app.tenancy.embedded import start_embedded
from app.tenancy.provision import drop_prefixed


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    goal: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_dsn() -> str:
    return os.environ.get("AUTOOFFICE_DATABASE_URL") or start_embedded(PROJECT_DIR / ".autooffice", name="bench-pg")


@asynccontextmanager
async def bench_runtime(**db: object) -> AsyncIterator[tenancy.Runtime]:
    dsn = bench_dsn()
    prefix = f"aob{secrets.token_hex(2)}"
    settings = Settings(
        db=DatabaseSettings(url=dsn, prefix=prefix, **db),  # type: ignore[arg-type]
        data_dir=PROJECT_DIR / ".autooffice",
        secret_key=secrets.token_urlsafe(32),
    )
    runtime = await tenancy.start(settings)
    try:
        await migrate.migrate_all()
        await jobs.ensure_schema(dsn, settings)
        yield runtime
    finally:
        await tenancy.stop()
        await drop_prefixed(dsn, prefix)


def print_table(rows: list[Row]) -> None:
    header = f"{'benchmark':<52} {'value':>12} {'baseline':>12} {'ratio':>7}  goal"
    print(header)
    print("-" * len(header))
    for row in rows:
        baseline = f"{row.baseline:.1f}" if row.baseline is not None else "—"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        print(f"{row.name:<52} {row.value:>9.1f} {row.unit:<2} {baseline:>12} {ratio:>7}  {row.goal}")


async def make_store(slug: str) -> tenancy.TenantInfo:
    data = SignupData(f"Bench {slug}", slug, f"owner@{slug}.example.com", "bench-password-1", "ru", "RUB", "RU")
    tenant, _identity = await stores.create_store(data)
    return tenant
