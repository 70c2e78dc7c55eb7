"""Stripe adapter end to end against the local fake API."""

from __future__ import annotations

import time
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
from app.gateways.registry import get_gateway
from app.gateways.stripe import StripeGateway, from_stripe_amount, to_stripe_amount
from tests.fakes.gateways.stripe import FakeStripe
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"secret_key": "sk_test_fake", "webhook_secret": "whsec_fake"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe() as server:
        yield server


@pytest.fixture
async def gateway(fake: FakeStripe) -> AsyncIterator[StripeGateway]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        gw = get_gateway("stripe", CONFIG, test_mode=True, base_url=fake.url, http=http)
        assert isinstance(gw, StripeGateway)
        yield gw


async def test_full_cycle_session_webhook_status_refunds(gateway: StripeGateway, fake: FakeStripe) -> None:
    created = await gateway.create_payment(payment_request(2500, "EUR"))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.REDIRECT and step.url
    sent = fake.requests[-1]
    assert sent.headers["idempotency-key"] == "idem-1001"
    assert sent.form()["line_items[0][price_data][unit_amount]"] == "2500"

    body, headers = fake.complete(created.provider_payment_id or "")
    note = gateway.parse_notification(body, headers, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.kind is NotificationKind.PAYMENT
    assert note.payment_ref == "1001" and note.amount == Money(2500, "EUR") and note.event_id.startswith("evt_")
    assert gateway.notification_response(note)[0] == 200
    assert (await gateway.fetch_status(created.provider_payment_id)).status is PaymentStatus.SUCCEEDED

    session_id = created.provider_payment_id or ""
    for key, minor in (("r1", 500), ("r2", 700)):
        result = await gateway.refund(RefundRequest(session_id, Money(minor, "EUR"), key))
        assert result.status == "succeeded" and result.refund_id.startswith("re_")
    with pytest.raises(GatewayDeclined) as over:
        await gateway.refund(RefundRequest(session_id, Money(1301, "EUR"), "r3"))
    assert over.value.code is ErrorCode.REFUND_EXCEEDS_PAYMENT
    await gateway.refund(RefundRequest(session_id, Money(1300, "EUR"), "r4"))


async def test_zero_decimal_currency_is_not_multiplied(gateway: StripeGateway, fake: FakeStripe) -> None:
    created = await gateway.create_payment(payment_request(500, "JPY"))
    assert fake.requests[-1].form()["line_items[0][price_data][unit_amount]"] == "500"
    assert created.amount == Money(500, "JPY")
    assert to_stripe_amount(Money(100, "ISK")) == 10000 and from_stripe_amount(10000, "isk") == Money(100, "ISK")


async def test_same_idempotency_key_replays_the_session(gateway: StripeGateway) -> None:
    first = await gateway.create_payment(payment_request())
    assert (await gateway.create_payment(payment_request())).provider_payment_id == first.provider_payment_id


async def test_forged_stale_or_modified_webhook_is_refused(gateway: StripeGateway, fake: FakeStripe) -> None:
    created = await gateway.create_payment(payment_request())
    body, headers = fake.complete(created.provider_payment_id or "")
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace(b'"paid"', b'"unpaid"'), headers, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body, {"Stripe-Signature": "t=1,v1=00"}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body, {}, {})
    stale_body, stale_headers = fake.event(
        "checkout.session.completed", {"id": "cs_x"}, timestamp=int(time.time()) - 301
    )
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(stale_body, stale_headers, {})


async def test_timeout_and_5xx_mean_unknown_outcome(gateway: StripeGateway, fake: FakeStripe) -> None:
    fake.fail_next = 502
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())


async def test_check_connection(gateway: StripeGateway, fake: FakeStripe) -> None:
    await gateway.check_connection()
    async with httpx.AsyncClient(timeout=1.0) as http:
        wrong = get_gateway(
            "stripe", {**CONFIG, "secret_key": "sk_test_other"}, test_mode=True, base_url=fake.url, http=http
        )
        with pytest.raises(ConfigInvalid):
            await wrong.check_connection()
        live_key_in_test = get_gateway("stripe", {**CONFIG, "secret_key": "sk_live_x"}, test_mode=True, http=http)
        with pytest.raises(ConfigInvalid) as err:
            await live_key_in_test.check_connection()
    assert "secret_key" in err.value.errors


async def test_three_decimal_currencies_go_in_thousandths_ending_in_zero(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    """Stripe's Currencies page: 5.120 KWD is sent as 5120, and the last digit must be 0."""
    created = await gateway.create_payment(payment_request(5120, "KWD"))
    assert fake.requests[-1].form()["line_items[0][price_data][unit_amount]"] == "5120"
    assert created.amount == Money(5120, "KWD") and Money(5120, "KWD").format() == "5.120"
    calls = len(fake.requests)
    for currency in ("BHD", "JOD", "KWD", "OMR", "TND"):
        with pytest.raises(RequestInvalid):
            await gateway.create_payment(payment_request(5125, currency))
    assert len(fake.requests) == calls
