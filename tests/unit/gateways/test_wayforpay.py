"""WayForPay adapter end to end against the local fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from app.gateways.base import (
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
from app.gateways.registry import get_gateway
from app.gateways.wayforpay import WayForPayGateway
from tests.fakes.gateways.wayforpay import FakeWayForPay
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {
    "merchant_account": "test_merch_n1",
    "secret_key": "flk3409refn54t54t*FNJRET",
    "merchant_domain": "shop.example.com",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeWayForPay]:
    async with FakeWayForPay() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield client


@pytest.fixture
def gateway(fake: FakeWayForPay, http: httpx.AsyncClient) -> WayForPayGateway:
    gw = get_gateway("wayforpay", CONFIG, test_mode=True, base_url=fake.url, http=http)
    assert isinstance(gw, WayForPayGateway)
    return gw


async def submit_form(gateway: WayForPayGateway, http: httpx.AsyncClient, *, receipt: bool = False) -> None:
    created = await gateway.create_payment(payment_request(150000, "UAH", receipt=receipt))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.FORM_POST and step.url
    page = await http.post(
        step.url,
        content=urlencode(step.fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "checkout" in page.text, page.text


async def test_full_cycle_form_callback_accept_status_refunds(
    gateway: WayForPayGateway, fake: FakeWayForPay, http: httpx.AsyncClient
) -> None:
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.PENDING
    await submit_form(gateway, http, receipt=True)
    body = fake.pay("1001")
    assert b'"amount": 1500.0' in body  # written as a float, signed as "1500"
    note = gateway.parse_notification(body, {"Content-Type": "application/json"}, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.kind is NotificationKind.PAYMENT
    assert note.amount == Money(150000, "UAH") and note.payment_ref == "1001"
    status, content_type, reply = gateway.notification_response(note)
    assert (status, content_type) == (200, "application/json") and fake.accept_is_valid(reply)
    assert json.loads(reply)["orderReference"] == "1001"

    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.SUCCEEDED
    for key, minor in (("r1", 30000), ("r2", 20000)):
        assert (await gateway.refund(RefundRequest("1001", Money(minor, "UAH"), key))).status == "succeeded"
    with pytest.raises(GatewayDeclined):
        await gateway.refund(RefundRequest("1001", Money(100001, "UAH"), "r3"))
    await gateway.refund(RefundRequest("1001", Money(100000, "UAH"), "r4"))
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.REFUNDED


async def test_forged_callback_is_refused(
    gateway: WayForPayGateway, fake: FakeWayForPay, http: httpx.AsyncClient
) -> None:
    await submit_form(gateway, http)
    body = fake.pay("1001")
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace(b"1500.0", b"15.0"), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace(b'"Approved"', b'"Declined"'), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(urlencode(json.loads(body)).encode(), {}, {})  # a form is not the protocol


async def test_timeout_means_unknown_outcome(gateway: WayForPayGateway, fake: FakeWayForPay) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.fetch_status(payment_ref="1001")


async def test_check_connection(gateway: WayForPayGateway, fake: FakeWayForPay, http: httpx.AsyncClient) -> None:
    await gateway.check_connection()
    bad = get_gateway("wayforpay", {**CONFIG, "secret_key": "wrong"}, base_url=fake.url, http=http)
    with pytest.raises(ConfigInvalid):
        await bad.check_connection()


async def test_a_json_null_is_signed_as_an_empty_string_as_php_does(
    gateway: WayForPayGateway, fake: FakeWayForPay, http: httpx.AsyncClient
) -> None:
    """A declined card has no authCode: WayForPay's PHP sends null and signs implode(';', ...), where null is ''."""
    await submit_form(gateway, http)
    data = json.loads(fake.pay("1001"))
    data.update(authCode=None, transactionStatus="Declined", reasonCode=1101)
    signed = [data["merchantAccount"], "1001", "1500", "UAH", "", data["cardPan"], "Declined", "1101"]
    data["merchantSignature"] = fake.sign(*signed)
    note = gateway.parse_notification(json.dumps(data).encode(), {"Content-Type": "application/json"}, {})
    assert note.status is PaymentStatus.FAILED
    data["merchantSignature"] = fake.sign(*[*signed[:4], "None", *signed[5:]])  # Python's str(None) is not it
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(json.dumps(data).encode(), {"Content-Type": "application/json"}, {})
