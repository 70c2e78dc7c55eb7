"""PayPal adapter end to end against the local fake API (OAuth, orders, capture, refunds, RSA webhooks)."""

from __future__ import annotations

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
    RequestInvalid,
    SignatureInvalid,
    StepKind,
)
from app.gateways.paypal import PayPalGateway
from app.gateways.registry import get_gateway
from tests.fakes.gateways.paypal import FakePayPal
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"client_id": "client", "client_secret": "secret", "webhook_id": "WH-FAKE-1"}


@pytest.fixture
async def fake() -> AsyncIterator[FakePayPal]:
    async with FakePayPal() as server:
        yield server


@pytest.fixture
async def gateway(fake: FakePayPal) -> AsyncIterator[PayPalGateway]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        gw = get_gateway("paypal", CONFIG, test_mode=True, base_url=fake.url, http=http)
        assert isinstance(gw, PayPalGateway)
        gw.trust_roots = [fake.root]
        yield gw


async def test_full_cycle_order_approve_capture_refunds(gateway: PayPalGateway, fake: FakePayPal) -> None:
    created = await gateway.create_payment(payment_request(1500, "USD"))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.REDIRECT and step.url and "checkoutnow" in step.url
    sent = fake.requests[-1]
    assert sent.headers["paypal-request-id"] == "idem-1001"
    assert sent.json()["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "15.00"}

    order_id = created.provider_payment_id or ""
    body, headers = fake.approve(order_id)
    note = await gateway.receive_notification(body, headers, {})
    assert note.verified and note.status is PaymentStatus.WAITING_CAPTURE and note.payment_ref == "1001"
    assert note.provider_payment_id == order_id and note.amount == Money(1500, "USD")

    captured = await gateway.capture(order_id, idempotency_key="cap-1001")
    assert captured.status is PaymentStatus.SUCCEEDED
    assert (await gateway.capture(order_id, idempotency_key="cap-1001")).status is PaymentStatus.SUCCEEDED
    capture = captured.raw["purchase_units"][0]["payments"]["captures"][0]
    body, headers = fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
    note = await gateway.receive_notification(body, headers, {})
    assert note.kind is NotificationKind.PAYMENT and note.status is PaymentStatus.SUCCEEDED
    assert note.provider_payment_id == order_id

    for key, minor in (("r1", 300), ("r2", 200)):
        assert (await gateway.refund(RefundRequest(order_id, Money(minor, "USD"), key))).status == "succeeded"
    assert (await gateway.fetch_status(order_id)).status is PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(GatewayDeclined) as over:
        await gateway.refund(RefundRequest(order_id, Money(1001, "USD"), "r3"))
    assert over.value.code is ErrorCode.REFUND_EXCEEDS_PAYMENT
    await gateway.refund(RefundRequest(order_id, Money(1000, "USD"), "r4"))
    assert (await gateway.fetch_status(order_id)).status is PaymentStatus.REFUNDED


async def test_zero_decimal_value_and_same_request_id(gateway: PayPalGateway, fake: FakePayPal) -> None:
    first = await gateway.create_payment(payment_request(500, "JPY"))
    assert fake.requests[-1].json()["purchase_units"][0]["amount"]["value"] == "500"
    assert (await gateway.create_payment(payment_request(500, "JPY"))).provider_payment_id == first.provider_payment_id


async def test_forged_or_misbound_webhooks_are_refused(gateway: PayPalGateway, fake: FakePayPal) -> None:
    created = await gateway.create_payment(payment_request(1500, "USD"))
    body, headers = fake.approve(created.provider_payment_id or "")
    with pytest.raises(SignatureInvalid):
        await gateway.receive_notification(body.replace(b"APPROVED", b"COMPLETED"), headers, {})
    other_hook = fake.webhook("CHECKOUT.ORDER.APPROVED", fake.orders[created.provider_payment_id or ""], "WH-OTHER")
    with pytest.raises(SignatureInvalid):  # signed for another store's webhook id
        await gateway.receive_notification(*other_hook, {})
    with pytest.raises(SignatureInvalid):
        await gateway.receive_notification(body, {**headers, "PAYPAL-CERT-URL": "https://evil.example/cert.pem"}, {})
    gateway.trust_roots = None  # the OS store does not trust the fake's root
    with pytest.raises(SignatureInvalid):
        await gateway.receive_notification(body, headers, {})


async def test_timeout_means_unknown_outcome(gateway: PayPalGateway, fake: FakePayPal) -> None:
    await gateway.check_connection()  # token cached, so the next call is the order itself
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request(1500, "USD"))


async def test_check_connection_rejects_wrong_secret(fake: FakePayPal) -> None:
    async with httpx.AsyncClient(timeout=1.0) as http:
        bad = get_gateway("paypal", {**CONFIG, "client_secret": "nope"}, base_url=fake.url, http=http)
        with pytest.raises(ConfigInvalid):
            await bad.check_connection()


@pytest.mark.parametrize(
    ("minor", "currency", "value"), [(150000, "HUF", "1500"), (9900, "TWD", "99"), (500, "JPY", "500")]
)
async def test_currencies_paypal_takes_in_whole_units_are_sent_without_decimals(
    gateway: PayPalGateway, fake: FakePayPal, minor: int, currency: str, value: str
) -> None:
    created = await gateway.create_payment(payment_request(minor, currency))
    assert created.shopper_step is not None
    assert fake.requests[-1].json()["purchase_units"][0]["amount"] == {"currency_code": currency, "value": value}


async def test_a_fractional_huf_amount_is_refused_before_calling_paypal(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    calls = len(fake.requests)
    with pytest.raises(RequestInvalid):
        await gateway.create_payment(payment_request(150050, "HUF"))
    assert len(fake.requests) == calls


async def test_a_completed_order_whose_capture_is_pending_does_not_credit(
    gateway: PayPalGateway, fake: FakePayPal
) -> None:
    created = await gateway.create_payment(payment_request(1500, "USD"))
    order = fake.orders[created.provider_payment_id or ""]
    capture = {"id": "3C679366HH0000001", "status": "PENDING", "amount": order["purchase_units"][0]["amount"]}
    order["purchase_units"][0]["payments"] = {"captures": [capture]}
    order["status"] = "COMPLETED"
    body, headers = fake.webhook("CHECKOUT.ORDER.COMPLETED", order)
    note = await gateway.receive_notification(body, headers, {})
    assert note.kind is NotificationKind.PAYMENT and note.status is PaymentStatus.PENDING
    capture["status"] = "COMPLETED"
    body, headers = fake.webhook("CHECKOUT.ORDER.COMPLETED", order)
    assert (await gateway.receive_notification(body, headers, {})).status is PaymentStatus.SUCCEEDED


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.paypal.com/v1/notifications/certs/CERT-1",
        "https://www.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com@evil.example/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/oauth2/token",
    ],
)
def test_the_certificate_url_must_be_paypal_api_hosts_cert_path(url: str) -> None:
    gateway = get_gateway("paypal", CONFIG)
    assert isinstance(gateway, PayPalGateway)
    with pytest.raises(SignatureInvalid):
        gateway._cert_url({"paypal-cert-url": url})


def test_paypal_own_certificate_urls_are_accepted() -> None:
    gateway = get_gateway("paypal", CONFIG)
    assert isinstance(gateway, PayPalGateway)
    for host in ("api.paypal.com", "api-m.sandbox.paypal.com"):
        url = f"https://{host}/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
        assert gateway._cert_url({"paypal-cert-url": url}) == url
