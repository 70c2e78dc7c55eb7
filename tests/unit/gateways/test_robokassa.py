"""Robokassa adapter end to end against the local fake: form POST, ResultURL, OpStateExt, refund API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from app.gateways.base import (
    ConfigInvalid,
    ErrorCode,
    GatewayDeclined,
    GatewayUnavailable,
    Money,
    PaymentStatus,
    RefundRequest,
    RequestInvalid,
    SignatureInvalid,
    StepKind,
)
from app.gateways.registry import get_gateway
from app.gateways.robokassa import RobokassaGateway, signature
from tests.fakes.gateways.robokassa import FakeRobokassa
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {
    "merchant_login": "demo",
    "password1": "pass_one",
    "password2": "pass_two",
    "password3": "pass_three",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeRobokassa]:
    async with FakeRobokassa() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield client


@pytest.fixture
def gateway(fake: FakeRobokassa, http: httpx.AsyncClient) -> RobokassaGateway:
    gw = get_gateway("robokassa", CONFIG, test_mode=True, base_url=fake.url, http=http)
    assert isinstance(gw, RobokassaGateway)
    return gw


async def shopper_pays(
    gateway: RobokassaGateway, http: httpx.AsyncClient, fake: FakeRobokassa, *, receipt: bool = False
) -> str:
    created = await gateway.create_payment(payment_request(150000, receipt=receipt))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.FORM_POST and step.url
    # What the browser does with an auto-submitting form: urlencode every field once.
    page = await http.post(
        step.url,
        content=urlencode(step.fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "успешно" in page.text, page.text
    return fake.result_bodies[created.provider_payment_id or ""].decode()


async def test_full_cycle_form_result_status_and_refunds(
    gateway: RobokassaGateway, fake: FakeRobokassa, http: httpx.AsyncClient
) -> None:
    created = await gateway.create_payment(payment_request(150000))
    fields = dict(created.shopper_step.fields if created.shopper_step else ())
    assert fields["OutSum"] == "1500.00" and fields["InvId"] == "1001" and fields["IsTest"] == "1"

    body = await shopper_pays(gateway, http, fake)
    assert "OutSum=1500.000000" in body
    note = gateway.parse_notification(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"}, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.amount == Money(150000, "RUB")
    assert note.raw["OutSum"] == "1500.000000"  # hashed exactly as received
    assert gateway.notification_response(note) == (200, "text/plain", b"OK1001")

    status = await gateway.fetch_status("1001")
    assert status.status is PaymentStatus.SUCCEEDED and status.amount == Money(150000, "RUB")

    for key, minor in (("r1", 30000), ("r2", 20000)):
        result = await gateway.refund(RefundRequest("1001", Money(minor, "RUB"), key))
        assert result.status == "succeeded" and result.amount.minor == minor
    with pytest.raises(GatewayDeclined) as over:
        await gateway.refund(RefundRequest("1001", Money(100001, "RUB"), "r3"))
    assert over.value.code is ErrorCode.REFUND_EXCEEDS_PAYMENT
    await gateway.refund(RefundRequest("1001", Money(100000, "RUB"), "r4"))


async def test_receipt_is_signed_urlencoded_once_and_accepted(
    gateway: RobokassaGateway, fake: FakeRobokassa, http: httpx.AsyncClient
) -> None:
    body = await shopper_pays(gateway, http, fake, receipt=True)
    assert gateway.parse_notification(body.encode(), {}, {}).status is PaymentStatus.SUCCEEDED


async def test_result_by_get_query_and_sha256(fake: FakeRobokassa, http: httpx.AsyncClient) -> None:
    fake.algorithm = "sha256"
    gw = get_gateway("robokassa", {**CONFIG, "hash_algorithm": "sha256"}, base_url=fake.url, http=http)
    assert isinstance(gw, RobokassaGateway)
    body = await shopper_pays(gw, http, fake)
    note = gw.parse_notification(b"", {}, dict(parse_qsl(body)))
    assert note.provider_payment_id == "1001"


async def test_forged_or_modified_result_is_refused(
    gateway: RobokassaGateway, fake: FakeRobokassa, http: httpx.AsyncClient
) -> None:
    body = await shopper_pays(gateway, http, fake)
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace("OutSum=1500.000000", "OutSum=15.000000").encode(), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(body.replace("InvId=1001", "InvId=1002").encode(), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(b"OutSum=1500.00&InvId=1001", {}, {})
    wrong = get_gateway("robokassa", {**CONFIG, "password2": "other"})
    with pytest.raises(SignatureInvalid):
        wrong.parse_notification(body.encode(), {}, {})


def test_success_return_is_verified_with_password1(gateway: RobokassaGateway) -> None:
    query = {
        "OutSum": "1500.00",
        "InvId": "1001",
        "SignatureValue": signature(["1500.00", "1001", "pass_one"]),
    }
    assert gateway.verify_return(query) == "1001"
    with pytest.raises(SignatureInvalid):
        gateway.verify_return({**query, "InvId": "1002"})


async def test_inv_id_must_be_an_integer(gateway: RobokassaGateway) -> None:
    with pytest.raises(RequestInvalid):
        await gateway.create_payment(payment_request(ref="A-1"))


async def test_status_of_unpaid_invoice_is_pending(gateway: RobokassaGateway) -> None:
    assert (await gateway.fetch_status("4242")).status is PaymentStatus.PENDING


async def test_timeout_means_unknown_outcome(gateway: RobokassaGateway, fake: FakeRobokassa) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.fetch_status("1001")


async def test_check_connection(gateway: RobokassaGateway, fake: FakeRobokassa, http: httpx.AsyncClient) -> None:
    await gateway.check_connection()
    bad = get_gateway("robokassa", {**CONFIG, "password2": "nope"}, base_url=fake.url, http=http)
    with pytest.raises(ConfigInvalid):
        await bad.check_connection()
