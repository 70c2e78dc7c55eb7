"""Reconciliation at scale: stores record when a payment is next due in the control plane, and the
periodic task queues only those stores (one store job each), never walking every store's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import jobs
from app.services import orders, payments
from app.tables.control import Tenant
from app.tables.payments import Payment
from app.tenancy import runtime as tenancy
from tests.conftest import make_store
from tests.fakes.gateways.yookassa import FakeYooKassa

pytestmark = pytest.mark.integration

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")


async def due_at(slug: str) -> datetime | None:
    row = await Tenant.select(Tenant.payments_due_at).where(Tenant.slug == slug).first()
    return row["payments_due_at"]


async def queued_for(slug: str) -> int:
    rows = await Tenant.raw(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE task_name = 'payments.reconcile_store'"
        " AND args->>'slug' = {}",
        slug,
    )
    return rows[0]["n"]


async def test_only_stores_with_due_payments_are_visited_and_backoff_moves_the_due_time(
    runtime, settings, monkeypatch
) -> None:
    monkeypatch.setattr(jobs, "get_settings", lambda: settings)  # the worker decrypts with the test's key
    async with FakeYooKassa() as fake:
        busy = await make_store("due-busy")
        idle = await make_store("due-idle")
        async with tenancy.bind_tenant(busy.tenant):
            connection_id = await payments.connect(
                "yookassa",
                {"shop_id": fake.shop_id, "secret_key": fake.secret_key},
                keys=KEYS,
                base_url=f"{fake.url}/v3",
            )
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Чайник", None, 150000, 1),), currency="RUB", phone="+79120007777"
                )
            )
            assert await due_at(busy.slug) is None
            await payments.start(order["token"], connection_id, keys=KEYS)
        started = await due_at(busy.slug)
        assert started is not None and await due_at(idle.slug) is None
        soon = datetime.now(UTC) + timedelta(seconds=1)
        due = await payments.due_stores(soon)
        assert busy.slug in due and idle.slug not in due

        # The minute tick queues one job per due store (a second tick while it waits is merged), none for idle.
        await jobs.reconcile_payments(timestamp=0)
        await jobs.reconcile_payments(timestamp=0)
        assert await queued_for(busy.slug) == 1 and await queued_for(idle.slug) == 0
        await jobs.run_worker(wait=False)

        # Still pending at the gateway: the payment backs off, and so does the store's due time.
        later = await due_at(busy.slug)
        assert later is not None and later > datetime.now(UTC)
        assert busy.slug not in await payments.due_stores()
        assert busy.slug in await payments.due_stores(later + timedelta(seconds=1))

        # Paid at the gateway (the notification never came): the next visit settles it and clears the store.
        async with tenancy.bind_tenant(busy.tenant):
            fake.pay((await Payment.select(Payment.provider_payment_id).first())["provider_payment_id"])
        await Tenant.update({Tenant.payments_due_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
            Tenant.slug == busy.slug
        )
        async with tenancy.bind_tenant(busy.tenant):
            await Payment.update({Payment.next_check_at: datetime.now(UTC) - timedelta(seconds=1)}, force=True)
        await jobs.reconcile_payments(timestamp=0)
        await jobs.run_worker(wait=False)
        async with tenancy.bind_tenant(busy.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "succeeded"
        assert await due_at(busy.slug) is None
        assert busy.slug not in await payments.due_stores(datetime.now(UTC) + timedelta(days=1))


async def test_a_payment_started_while_reconciliation_runs_keeps_the_store_due(runtime) -> None:
    """The store's due time is written, then read again: a payment started in between is not forgotten."""
    store = await make_store("due-race")
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect("cash_on_delivery", {}, keys=KEYS)
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", None, 1000, 1),), currency="RUB", phone="+79120007778"
            )
        )
        await payments.start(order["token"], connection_id, keys=KEYS)
        # Offline methods have nothing to ask: reconciliation stops checking them and the store is not due.
        await payments.reconcile_due(KEYS)
        assert (await Payment.select(Payment.next_check_at).first())["next_check_at"] is None
    assert await due_at(store.slug) is None
    async with tenancy.bind_tenant(store.tenant):
        other, _ = await orders.create_order(  # the first order's pending payment would be reused
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", None, 1000, 1),), currency="RUB", phone="+79120007779"
            )
        )
        await payments.start(other["token"], connection_id, keys=KEYS)
    assert await due_at(store.slug) is not None
