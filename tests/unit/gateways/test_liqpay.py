"""LiqPay adapter end to end against the local fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from app.gateways.base import (
    ConfigInvalid,
    GatewayDeclined,
    GatewayUnavailable,
    Money,
    PaymentStatus,
    RefundRequest,
    SignatureInvalid,
    StepKind,
)
from app.gateways.liqpay import LiqPayGateway
from app.gateways.registry import get_gateway
from tests.fakes.gateways.liqpay import FakeLiqPay
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"public_key": "sandbox_i000", "private_key": "sandbox_priv"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeLiqPay]:
    async with FakeLiqPay() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield client


@pytest.fixture
def gateway(fake: FakeLiqPay, http: httpx.AsyncClient) -> LiqPayGateway:
    gw = get_gateway("liqpay", CONFIG, test_mode=True, base_url=fake.url, http=http)
    assert isinstance(gw, LiqPayGateway)
    return gw


async def submit_form(gateway: LiqPayGateway, http: httpx.AsyncClient) -> None:
    created = await gateway.create_payment(payment_request(150000, "UAH"))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.FORM_POST and step.url
    page = await http.post(
        step.url,
        content=urlencode(step.fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 200 and "checkout" in page.text


async def test_full_cycle_form_callback_status_refunds(
    gateway: LiqPayGateway, fake: FakeLiqPay, http: httpx.AsyncClient
) -> None:
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.PENDING
    await submit_form(gateway, http)
    assert fake.orders["1001"]["amount"] == 1500 and fake.orders["1001"]["sandbox"]

    note = gateway.parse_notification(fake.pay("1001"), {}, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.payment_ref == "1001"
    assert note.amount == Money(150000, "UAH")
    assert gateway.notification_response(note)[0] == 200
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.SUCCEEDED

    for key, minor in (("r1", 30000), ("r2", 20000)):
        assert (await gateway.refund(RefundRequest("1001", Money(minor, "UAH"), key))).status == "succeeded"
    with pytest.raises(GatewayDeclined):
        await gateway.refund(RefundRequest("1001", Money(100001, "UAH"), "r3"))
    await gateway.refund(RefundRequest("1001", Money(100000, "UAH"), "r4"))
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.REFUNDED


async def test_sandbox_status_is_not_success_on_a_live_connection(fake: FakeLiqPay, http: httpx.AsyncClient) -> None:
    test_gw = get_gateway("liqpay", CONFIG, test_mode=True, base_url=fake.url, http=http)
    assert isinstance(test_gw, LiqPayGateway)
    await submit_form(test_gw, http)
    body = fake.pay("1001")
    live = get_gateway("liqpay", CONFIG, base_url=fake.url, http=http)
    assert live.parse_notification(body, {}, {}).status is PaymentStatus.FAILED


async def test_forged_callback_is_refused(gateway: LiqPayGateway, fake: FakeLiqPay, http: httpx.AsyncClient) -> None:
    await submit_form(gateway, http)
    form = dict(parse_qsl(fake.pay("1001").decode()))
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(urlencode({**form, "data": form["data"][:-4] + "AAA="}).encode(), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(urlencode({"data": form["data"]}).encode(), {}, {})
    other = get_gateway("liqpay", {**CONFIG, "private_key": "other"})
    with pytest.raises(SignatureInvalid):
        other.parse_notification(urlencode(form).encode(), {}, {})


async def test_timeout_means_unknown_outcome(gateway: LiqPayGateway, fake: FakeLiqPay) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.refund(RefundRequest("1001", Money(100, "UAH"), "r"))


async def test_check_connection(gateway: LiqPayGateway, fake: FakeLiqPay, http: httpx.AsyncClient) -> None:
    await gateway.check_connection()
    bad = get_gateway("liqpay", {**CONFIG, "private_key": "wrong"}, base_url=fake.url, http=http)
    with pytest.raises(ConfigInvalid):
        await bad.check_connection()
