"""Unsigned notifications (YooKassa) cost the store at most one API call per payment per minute, and a
gateway failure while checking one is a 503 that the gateway retries, never a 500."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from app.services import orders, payments
from app.tables.payments import Payment, PaymentEvent
from app.tenancy import runtime as tenancy
from tests.conftest import make_store
from tests.fakes.gateways.yookassa import FakeYooKassa

pytestmark = pytest.mark.http

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")


def asks(fake: FakeYooKassa) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.startswith("/v3/payments/"))


async def started(fake: FakeYooKassa, slug: str, locale: str = "ru") -> tuple:
    store = await make_store(slug, locale=locale)
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect(
            "yookassa", {"shop_id": fake.shop_id, "secret_key": fake.secret_key}, keys=KEYS,
            base_url=f"{fake.url}/v3",
        )  # fmt: skip
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 150000, 1),), currency="RUB", phone="+79120006666",
                locale=locale,
            )
        )  # fmt: skip
        await payments.start(order["token"], connection_id, keys=KEYS)
        payment_id = (await Payment.select(Payment.provider_payment_id).first())["provider_payment_id"]
    return store, connection_id, payment_id


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
async def test_a_flood_of_forged_notifications_asks_the_gateway_once(client, runtime, lang) -> None:
    async with FakeYooKassa() as fake:
        store, connection_id, payment_id = await started(fake, f"yk-flood-{lang}", lang)
        url = f"/hooks/{store.slug}/yookassa/{connection_id}?lang={lang}"
        forged = fake.notification("payment.succeeded", {**fake.payments[payment_id], "status": "succeeded"})
        answers = await asyncio.gather(*(client.post(url, content=forged) for _ in range(20)))
        assert sorted({a.status_code for a in answers}) == [200, 503]  # the first is asked about, then 503s
        assert asks(fake) == 1
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "pending"


async def test_a_forged_notification_about_no_payment_of_ours_asks_nothing(client, runtime) -> None:
    async with FakeYooKassa() as fake:
        store, connection_id, _payment_id = await started(fake, "yk-stranger")
        stranger = {"id": str(uuid.uuid4()), "status": "succeeded", "amount": {"value": "1.00", "currency": "RUB"}}
        body = fake.notification("payment.succeeded", stranger)
        for _ in range(5):
            assert (await client.post(f"/hooks/{store.slug}/yookassa/{connection_id}", content=body)).status_code == 200
        assert asks(fake) == 0
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "pending"


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
async def test_a_gateway_failure_while_confirming_is_a_503_and_the_retry_credits(client, runtime, lang) -> None:
    async with FakeYooKassa() as fake:
        store, connection_id, payment_id = await started(fake, f"yk-down-{lang}", lang)
        url = f"/hooks/{store.slug}/yookassa/{connection_id}?lang={lang}"
        genuine = fake.pay(payment_id)
        fake.fail_next = 500
        assert (await client.post(url, content=genuine)).status_code == 503
        async with tenancy.bind_tenant(store.tenant):
            assert await PaymentEvent.count() == 0  # nothing stored: the retry is handled afresh
        retried = await client.post(url, content=genuine)  # a failed call does not count against the minute
        assert retried.status_code == 200
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "succeeded"
        assert json.loads(genuine)["object"]["id"] == payment_id


async def test_store_b_cannot_post_notifications_to_store_a_connection(client, runtime, store_b) -> None:
    async with FakeYooKassa() as fake:
        store, connection_id, payment_id = await started(fake, "yk-cross")
        body = fake.pay(payment_id)
        assert (await client.post(f"/hooks/{store_b.slug}/yookassa/{connection_id}", content=body)).status_code == 404
        assert asks(fake) == 0
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "pending"
