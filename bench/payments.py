"""Reconciliation dispatch: finding the stores with payments to check, as the per-minute job does.

Baseline (the old dispatcher): open every active store and ask its database for due payments. Measured:
read the due stores from the control plane (``tenant.payments_due_at``), then open only those. Both find
the same stores; the ratio is the share of the old per-minute cost that remains.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from app.services import orders, payments
from app.services.fleet import active_stores
from app.tables.payments import Payment
from app.tenancy.runtime import bind_tenant, lookup_tenant
from bench._common import Row, bench_runtime, make_store, median_ms

STORES = 40
BUSY = 4  # stores with a payment waiting for the gateway
ROUNDS = 5


async def _due_in_store(now: datetime) -> int:
    return await Payment.count().where(
        Payment.status.is_in(["pending", "waiting_capture"]) & (Payment.next_check_at <= now)
    )


async def walk_all(now: datetime) -> set[str]:
    found = set()
    for slug in await active_stores():
        tenant = await lookup_tenant(slug)
        if tenant is not None:
            async with bind_tenant(tenant):
                if await _due_in_store(now):
                    found.add(slug)
    return found


async def due_only(now: datetime) -> set[str]:
    found = set()
    for slug in await payments.due_stores(now):
        tenant = await lookup_tenant(slug)
        if tenant is not None:
            async with bind_tenant(tenant):
                if await _due_in_store(now):
                    found.add(slug)
    return found


async def run() -> list[Row]:
    async with bench_runtime() as runtime:
        keys = payments.Keys(runtime.settings.secret_key, "http://127.0.0.1:8000")
        tenants = [await make_store(f"bpay{i}") for i in range(STORES)]
        for tenant in tenants[:BUSY]:
            async with bind_tenant(tenant):
                requisites = {"recipient": "OOO Bench", "account": "40702810900000000001", "bank_name": "Bank"}
                connection_id = await payments.connect("bank_transfer", requisites, keys=keys)
                order, _ = await orders.create_order(
                    orders.OrderDraft(lines=(orders.LineDraft(None, "Чайник", None, 1000, 1),), currency="RUB")
                )
                await payments.start(order["token"], connection_id, keys=keys)
        now = datetime.now(UTC) + timedelta(seconds=1)
        assert await walk_all(now) == await due_only(now) == {t.slug for t in tenants[:BUSY]}
        samples: dict[str, list[float]] = {"all": [], "due": []}
        for _ in range(ROUNDS):
            for name, fn in (("all", walk_all), ("due", due_only)):
                started = time.perf_counter()
                await fn(now)
                samples[name].append(time.perf_counter() - started)
        baseline = median_ms(samples["all"])
        return [
            Row(f"reconcile dispatch, {STORES} stores, {BUSY} due: walk all", baseline, "ms"),
            Row(
                f"reconcile dispatch, {STORES} stores, {BUSY} due: due only",
                median_ms(samples["due"]),
                "ms",
                baseline,
                "≤ 0.3x (scales with due stores)",
            ),
        ]
