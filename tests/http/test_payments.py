"""Payment notifications over HTTP with the sandbox gateway: verified, stored once, amounts checked."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.gateways.base import Money, PaymentStatus
from app.gateways.sandbox import SandboxGateway
from app.services import orders, payments
from app.tables.customers import CustomerEvent
from app.tables.payments import Payment, PaymentEvent
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.http

SECRET = "sandbox-secret-0123456789"
KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")


@pytest.fixture(scope="module")
async def paid_setup(runtime):
    store = await make_store("pay-shop")
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS)
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),), currency="RUB", phone="+79120001111"
            )
        )
        step = await payments.start(order["token"], connection_id, keys=KEYS)
    page = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url).verify_page(
        dict(parse_qsl(urlsplit(step.url).query))
    )
    return store, connection_id, order, page


def signed(page, *, amount: int | None = None, event: str = "evt-1") -> tuple[bytes, dict[str, str]]:
    gateway = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url)
    return gateway.build_notification(
        provider_payment_id=page.provider_payment_id,
        payment_ref=page.payment_ref,
        amount=Money(amount or page.amount.minor, "RUB"),
        status=PaymentStatus.SUCCEEDED,
        event_id=event,
    )


async def test_forged_notification_changes_nothing(client, paid_setup) -> None:
    store, connection_id, _order, page = paid_setup
    body, headers = signed(page, event="forged")
    forged = json.loads(body) | {"amount": 1}
    response = await client.post(
        f"/hooks/{store.slug}/sandbox/{connection_id}", content=json.dumps(forged).encode(), headers=headers
    )
    assert response.status_code == 400
    async with tenancy.bind_tenant(store.tenant):
        assert await PaymentEvent.count() == 0
        assert (await Payment.select(Payment.status).first())["status"] == "pending"


async def test_wrong_amount_is_refused_and_logged(client, paid_setup) -> None:
    store, connection_id, _order, page = paid_setup
    body, headers = signed(page, amount=50000, event="evt-wrong")
    response = await client.post(f"/hooks/{store.slug}/sandbox/{connection_id}", content=body, headers=headers)
    assert response.status_code == 200
    async with tenancy.bind_tenant(store.tenant):
        event = await PaymentEvent.select(PaymentEvent.outcome).where(PaymentEvent.event_id == "evt-wrong").first()
        assert event["outcome"] == "mismatch"
        assert (await Payment.select(Payment.status).first())["status"] == "pending"


async def test_the_same_notification_ten_times_at_once_credits_once(client, paid_setup) -> None:
    store, connection_id, order, page = paid_setup
    body, headers = signed(page, event="evt-ok")
    responses = await asyncio.gather(
        *(client.post(f"/hooks/{store.slug}/sandbox/{connection_id}", content=body, headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    async with tenancy.bind_tenant(store.tenant):
        assert (await Payment.select(Payment.status).first())["status"] == "succeeded"
        assert await PaymentEvent.count().where(PaymentEvent.event_id == "evt-ok") == 1
        paid = await CustomerEvent.count().where(
            (CustomerEvent.kind == "paid") & (CustomerEvent.order_id == order["id"])
        )
        assert paid == 1


async def test_store_b_cannot_use_store_a_connection(client, paid_setup, store_b) -> None:
    _store, connection_id, _order, page = paid_setup
    body, headers = signed(page, event="evt-cross")
    response = await client.post(f"/hooks/{store_b.slug}/sandbox/{connection_id}", content=body, headers=headers)
    assert response.status_code == 404
