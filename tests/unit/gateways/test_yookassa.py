"""YooKassa adapter end to end against the local fake API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.gateways.base import (
    ConfigInvalid,
    ErrorCode,
    GatewayDeclined,
    GatewayUnavailable,
    Money,
    NotificationKind,
    PaymentStatus,
    RefundRequest,
    SignatureInvalid,
    StepKind,
)
from app.gateways.registry import get_gateway
from app.gateways.yookassa import YooKassaGateway
from tests.fakes.gateways.yookassa import FakeYooKassa
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"shop_id": "123456", "secret_key": "test_secret"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeYooKassa]:
    async with FakeYooKassa() as server:
        yield server


@pytest.fixture
async def gateway(fake: FakeYooKassa) -> AsyncIterator[YooKassaGateway]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        gw = get_gateway("yookassa", CONFIG, test_mode=True, base_url=f"{fake.url}/v3", http=http)
        assert isinstance(gw, YooKassaGateway)
        yield gw


def refund(payment_id: str, minor: int, key: str) -> RefundRequest:
    return RefundRequest(payment_id, Money(minor, "RUB"), key)


async def test_full_cycle_create_notify_refetch_and_refund_in_parts(
    gateway: YooKassaGateway, fake: FakeYooKassa
) -> None:
    created = await gateway.create_payment(payment_request(150000, receipt=True))
    assert created.status is PaymentStatus.PENDING
    assert created.shopper_step is not None and created.shopper_step.kind is StepKind.REDIRECT
    assert created.shopper_step.url and created.shopper_step.url.startswith("https://yoomoney.ru/")
    sent = fake.requests[-1]
    assert sent.headers["idempotence-key"] == "idem-1001"
    assert sent.json()["amount"] == {"value": "1500.00", "currency": "RUB"}

    note = gateway.parse_notification(fake.pay(created.provider_payment_id or ""), {}, {})
    assert note.verified is False and gateway.notification_needs_confirmation
    assert note.status is PaymentStatus.SUCCEEDED and note.amount == Money(150000, "RUB")
    assert note.payment_ref == "1001" and note.event_id == f"payment.succeeded:{created.provider_payment_id}"
    assert gateway.notification_response(note) == (200, "text/plain", b"")

    status = await gateway.fetch_status(created.provider_payment_id)
    assert status.status is PaymentStatus.SUCCEEDED

    pid = created.provider_payment_id or ""
    first = await gateway.refund(refund(pid, 30000, "r1"))
    assert first.status == "succeeded" and first.amount == Money(30000, "RUB")
    await gateway.refund(refund(pid, 20000, "r2"))
    assert (await gateway.fetch_status(pid)).status is PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(GatewayDeclined) as over:
        await gateway.refund(refund(pid, 100001, "r3"))
    assert over.value.code is ErrorCode.REFUND_EXCEEDS_PAYMENT
    await gateway.refund(refund(pid, 100000, "r4"))
    final = await gateway.fetch_status(pid)
    assert final.status is PaymentStatus.REFUNDED and final.refunded == Money(150000, "RUB")


async def test_retry_with_the_same_idempotency_key_returns_the_same_payment(gateway: YooKassaGateway) -> None:
    first = await gateway.create_payment(payment_request())
    again = await gateway.create_payment(payment_request())
    assert again.provider_payment_id == first.provider_payment_id


async def test_http_202_is_repeated_with_the_same_key(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    fake.processing_once = True
    created = await gateway.create_payment(payment_request())
    assert created.provider_payment_id in fake.payments
    keys = [r.headers["idempotence-key"] for r in fake.requests if r.method == "POST"]
    assert keys == ["idem-1001", "idem-1001"]


async def test_receipt_items_carry_unit_price_and_vat_code(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    await gateway.create_payment(payment_request(150001, receipt=True))
    receipt = fake.requests[-1].json()["receipt"]
    assert receipt["tax_system_code"] == 1 and receipt["customer"]["email"] == "buyer@example.com"
    assert receipt["items"][0]["amount"] == {"value": "750.00", "currency": "RUB"}
    assert receipt["items"][0]["vat_code"] == 4 and receipt["items"][1]["vat_code"] == 1


async def test_forged_success_is_exposed_by_refetch(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    created = await gateway.create_payment(payment_request())
    forged_obj = {**fake.payments[created.provider_payment_id or ""], "status": "succeeded"}
    note = gateway.parse_notification(fake.notification("payment.succeeded", forged_obj), {}, {})
    assert note.verified is False
    assert (await gateway.fetch_status(note.provider_payment_id)).status is PaymentStatus.PENDING
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(b'{"type":"notification","event":"payment.succeeded"}', {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(b"not json", {}, {})


async def test_refund_notification_is_parsed_as_refund(gateway: YooKassaGateway) -> None:
    body = json.dumps(
        {
            "type": "notification",
            "event": "refund.succeeded",
            "object": {
                "id": "rf-1",
                "payment_id": "p-1",
                "status": "succeeded",
                "amount": {"value": "10.00", "currency": "RUB"},
            },
        }
    )
    note = gateway.parse_notification(body.encode(), {}, {})
    assert note.kind is NotificationKind.REFUND and note.provider_payment_id == "p-1"
    assert note.amount == Money(1000, "RUB")


async def test_timeout_means_unknown_outcome(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())


async def test_server_error_means_unknown_outcome(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    fake.fail_next = 500
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())


async def test_check_connection_rejects_wrong_credentials(fake: FakeYooKassa) -> None:
    async with httpx.AsyncClient(timeout=1.0) as http:
        good = get_gateway("yookassa", CONFIG, base_url=f"{fake.url}/v3", http=http)
        await good.check_connection()
        bad = get_gateway("yookassa", {**CONFIG, "secret_key": "wrong"}, base_url=f"{fake.url}/v3", http=http)
        with pytest.raises(ConfigInvalid) as err:
            await bad.check_connection()
    assert err.value.code is ErrorCode.INVALID_CREDENTIALS
    assert "wrong" not in repr(bad) and "wrong" not in str(err.value)
