"""Provisioning a store against a bare ``CREATE DATABASE … TEMPLATE`` on the same server, same run."""

from __future__ import annotations

import time

from app.forms.auth import SignupData
from app.services import stores
from app.tenancy import migrate, provision
from app.tenancy import runtime as tenancy
from bench._common import Row, bench_runtime, median_ms

ROUNDS = 15


async def run() -> list[Row]:
    async with bench_runtime() as runtime:
        settings = runtime.settings.db
        bare, prov, full = [], [], []
        version = migrate.tenant_schema_version()
        async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
            for i in range(ROUNDS):
                name = f"{settings.prefix}_bare_{i}"
                started = time.perf_counter()
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings.template_database}"')
                bare.append(time.perf_counter() - started)
        for i in range(ROUNDS):
            started = time.perf_counter()
            await provision.provision(provision.StoreSpec(f"p{i}", "P", "ru", "RUB", "RU"), schema_version=version)
            await provision.activate(f"p{i}")
            prov.append(time.perf_counter() - started)
        for i in range(ROUNDS):
            data = SignupData("Shop", f"s{i}", f"o{i}@example.com", "long-enough-pass", "ru", "RUB", "RU")
            started = time.perf_counter()
            await stores.create_store(data)
            full.append(time.perf_counter() - started)
    base = median_ms(bare)
    return [
        Row("provision: CREATE DATABASE … TEMPLATE (bare)", base, "ms"),
        Row("provision: store database + role + ownership", median_ms(prov), "ms", base, "≤ 2x"),
        Row("provision: whole sign-up (argon2, owner, first rows)", median_ms(full), "ms", base, "info"),
    ]
