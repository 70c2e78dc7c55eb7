"""CloudPayments adapter end to end against the local fake API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.gateways.base import (
    ROUTE_KIND,
    ConfigInvalid,
    GatewayDeclined,
    GatewayUnavailable,
    Money,
    NotificationKind,
    PaymentStatus,
    RefundRequest,
    SignatureInvalid,
    StepKind,
)
from app.gateways.cloudpayments import CloudPaymentsGateway
from app.gateways.registry import get_gateway
from tests.fakes.gateways.cloudpayments import FakeCloudPayments
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"public_id": "pk_test", "api_secret": "api_secret_test"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeCloudPayments]:
    async with FakeCloudPayments() as server:
        yield server


@pytest.fixture
async def gateway(fake: FakeCloudPayments) -> AsyncIterator[CloudPaymentsGateway]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        gw = get_gateway("cloudpayments", CONFIG, test_mode=True, base_url=fake.url, http=http)
        assert isinstance(gw, CloudPaymentsGateway)
        yield gw


async def test_full_cycle_link_notification_status_refunds(
    gateway: CloudPaymentsGateway, fake: FakeCloudPayments
) -> None:
    created = await gateway.create_payment(payment_request(150000, receipt=True))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.REDIRECT and step.url
    assert step.widget["publicId"] == "pk_test" and step.widget["invoiceId"] == "1001"
    sent = fake.requests[-1]
    assert sent.headers["x-request-id"] == "idem-1001" and sent.json()["Amount"] == 1500.0
    receipt = json.loads(sent.json()["JsonData"])["CloudPayments"]["CustomerReceipt"]
    assert sum(item["amount"] for item in receipt["Items"]) == 1500.0

    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.PENDING
    tx_id = fake.pay(created.raw["Id"])
    body, headers = fake.pay_notification(tx_id)
    note = gateway.parse_notification(body, headers, {ROUTE_KIND: "pay"})
    assert not note.verified  # a Pay credits only once the API confirms the transaction
    assert note.status is PaymentStatus.SUCCEEDED and note.kind is NotificationKind.PAYMENT
    assert note.provider_payment_id == str(tx_id) and note.payment_ref == "1001"
    assert note.amount == Money(150000, "RUB") and note.event_id == f"pay:{tx_id}"
    assert gateway.notification_response(note) == (200, "application/json", b'{"code":0}')

    by_ref = await gateway.fetch_status(payment_ref="1001")
    by_id = await gateway.fetch_status(str(tx_id))
    assert by_ref.status is by_id.status is PaymentStatus.SUCCEEDED

    for key, minor in (("r1", 30000), ("r2", 20000)):
        assert (await gateway.refund(RefundRequest(str(tx_id), Money(minor, "RUB"), key))).status == "succeeded"
    with pytest.raises(GatewayDeclined):
        await gateway.refund(RefundRequest(str(tx_id), Money(100001, "RUB"), "r3"))
    await gateway.refund(RefundRequest(str(tx_id), Money(100000, "RUB"), "r4"))


async def test_same_request_id_returns_the_same_order(gateway: CloudPaymentsGateway) -> None:
    first = await gateway.create_payment(payment_request())
    again = await gateway.create_payment(payment_request())
    assert first.shopper_step and again.shopper_step and first.shopper_step.url == again.shopper_step.url


async def test_the_type_comes_from_the_route_and_the_body_must_agree(
    gateway: CloudPaymentsGateway, fake: FakeCloudPayments
) -> None:
    created = await gateway.create_payment(payment_request())
    body, headers = fake.check_notification(created.raw["Id"])
    for query in ({}, {"type": "pay"}, {ROUTE_KIND: "nonsense"}):  # no type, or one from the query string
        with pytest.raises(SignatureInvalid):
            gateway.parse_notification(body, headers, query)
    check = gateway.parse_notification(body, headers, {ROUTE_KIND: "check", "type": "pay"})
    assert check.kind is NotificationKind.CHECK and check.status is None
    with pytest.raises(SignatureInvalid):  # a payment body at the refund address
        gateway.parse_notification(body, headers, {ROUTE_KIND: "refund"})
    tx_id = fake.pay(created.raw["Id"], status="Declined")
    declined, declined_headers = fake.fail_notification(created.raw["Id"])
    with pytest.raises(SignatureInvalid):  # a declined card at the Pay address
        gateway.parse_notification(declined, declined_headers, {ROUTE_KIND: "pay"})
    note = gateway.parse_notification(declined, declined_headers, {ROUTE_KIND: "fail"})
    assert note.status is PaymentStatus.FAILED and note.verified
    assert (await gateway.fetch_status(str(tx_id))).status is PaymentStatus.FAILED


async def test_forged_notification_is_refused(gateway: CloudPaymentsGateway, fake: FakeCloudPayments) -> None:
    created = await gateway.create_payment(payment_request())
    body, headers = fake.pay_notification(fake.pay(created.raw["Id"]))
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace(b"Amount=1500.00", b"Amount=1.00"), headers, {ROUTE_KIND: "pay"})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body, {}, {ROUTE_KIND: "pay"})
    only_raw = {"Content-HMAC": headers["Content-HMAC"]}
    assert gateway.parse_notification(body, only_raw, {ROUTE_KIND: "pay"}).status is PaymentStatus.SUCCEEDED


async def test_timeout_means_unknown_outcome(gateway: CloudPaymentsGateway, fake: FakeCloudPayments) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())


async def test_check_connection(fake: FakeCloudPayments, gateway: CloudPaymentsGateway) -> None:
    await gateway.check_connection()
    async with httpx.AsyncClient(timeout=1.0) as http:
        bad = get_gateway("cloudpayments", {**CONFIG, "api_secret": "wrong"}, base_url=fake.url, http=http)
        with pytest.raises(ConfigInvalid):
            await bad.check_connection()


def test_check_reject_answer() -> None:
    assert CloudPaymentsGateway.reject_response(12) == (200, "application/json", b'{"code": 12}')
