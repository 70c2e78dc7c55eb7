"""T-Bank adapter end to end against the local fake API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

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
from app.gateways.tbank import TBankGateway
from tests.fakes.gateways.tbank import FakeTBank
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

CONFIG = {"terminal_key": "1321054611234DEMO", "password": "Dfsfh56dgKl"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTBank]:
    async with FakeTBank() as server:
        yield server


@pytest.fixture
async def gateway(fake: FakeTBank) -> AsyncIterator[TBankGateway]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        gw = get_gateway("tbank", CONFIG, test_mode=True, base_url=fake.url, http=http)
        assert isinstance(gw, TBankGateway)
        yield gw


async def test_full_cycle_init_notification_state_and_refunds(gateway: TBankGateway, fake: FakeTBank) -> None:
    created = await gateway.create_payment(payment_request(150000, receipt=True))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.REDIRECT and step.url
    sent = fake.requests[-1].json()
    assert sent["Amount"] == 150000 and sent["OrderId"] == "1001"
    assert sum(item["Amount"] for item in sent["Receipt"]["Items"]) == 150000

    pid = created.provider_payment_id or ""
    body = fake.pay(pid)
    note = gateway.parse_notification(body, {"Content-Type": "application/json"}, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.kind is NotificationKind.PAYMENT
    assert note.amount == Money(150000, "RUB") and note.payment_ref == "1001" and note.provider_payment_id == pid
    assert gateway.notification_response(note) == (200, "text/plain", b"OK")

    assert (await gateway.fetch_status(pid)).status is PaymentStatus.SUCCEEDED
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.SUCCEEDED

    first = await gateway.refund(RefundRequest(pid, Money(30000, "RUB"), "r1"))
    assert first.status == "succeeded" and fake.requests[-1].json()["ExternalRequestId"] == "r1"
    await gateway.refund(RefundRequest(pid, Money(20000, "RUB"), "r2"))
    await gateway.refund(RefundRequest(pid, Money(20000, "RUB"), "r2"))  # a retry, not a third refund
    assert (await gateway.fetch_status(pid)).status is PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(GatewayDeclined):
        await gateway.refund(RefundRequest(pid, Money(100001, "RUB"), "r3"))
    await gateway.refund(RefundRequest(pid, Money(100000, "RUB"), "r4"))
    assert (await gateway.fetch_status(pid)).status is PaymentStatus.REFUNDED


async def test_unknown_create_outcome_is_resolved_by_order_id(gateway: TBankGateway, fake: FakeTBank) -> None:
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.PENDING
    created = await gateway.create_payment(payment_request())
    fake.pay(created.provider_payment_id or "", status="AUTHORIZED")
    assert (await gateway.fetch_status(payment_ref="1001")).status is PaymentStatus.WAITING_CAPTURE


async def test_forged_or_modified_notification_is_refused(gateway: TBankGateway, fake: FakeTBank) -> None:
    created = await gateway.create_payment(payment_request())
    body = fake.pay(created.provider_payment_id or "")
    data = json.loads(body)
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(json.dumps({**data, "Amount": 100}).encode(), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(json.dumps({**data, "Extra": "added"}).encode(), {}, {})
    with pytest.raises(SignatureInvalid):
        gateway.parse_notification(json.dumps({k: v for k, v in data.items() if k != "Token"}).encode(), {}, {})
    # Nested objects are outside the Token, so changing DATA alone keeps it valid.
    assert gateway.parse_notification(json.dumps({**data, "DATA": {"x": 1}}).encode(), {}, {}).verified


async def test_wrong_password_is_a_config_error(fake: FakeTBank) -> None:
    async with httpx.AsyncClient(timeout=1.0) as http:
        bad = get_gateway("tbank", {**CONFIG, "password": "wrong"}, base_url=fake.url, http=http)
        with pytest.raises(ConfigInvalid):
            await bad.create_payment(payment_request())
        with pytest.raises(ConfigInvalid):
            await bad.check_connection()  # GetState of a payment that cannot exist: the bank refuses the Token
        good = get_gateway("tbank", CONFIG, base_url=fake.url, http=http)
        await good.check_connection()  # "payment not found" proves the key and password are right
    with pytest.raises(ConfigInvalid):
        await get_gateway("tbank", {**CONFIG, "terminal_key": "x" * 21}).check_connection()


async def test_timeout_means_unknown_outcome(gateway: TBankGateway, fake: FakeTBank) -> None:
    fake.delay = 1.5
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(payment_request())


async def test_server_error_means_unknown_outcome(gateway: TBankGateway, fake: FakeTBank) -> None:
    fake.fail_next = 503
    with pytest.raises(GatewayUnavailable):
        await gateway.refund(RefundRequest("1", Money(100, "RUB"), "r"))


def test_demo_terminals_use_the_production_host_even_in_test_mode() -> None:
    """T-Bank's docs: DEMO terminals are served by securepay.tinkoff.ru; the test host is for live terminals."""
    demo = get_gateway("tbank", CONFIG, test_mode=True)
    assert demo.base_url == "https://securepay.tinkoff.ru"
    live_terminal = get_gateway("tbank", {**CONFIG, "terminal_key": "1321054611234"}, test_mode=True)
    assert live_terminal.base_url == "https://rest-api-test.tinkoff.ru"
    assert get_gateway("tbank", {**CONFIG, "terminal_key": "1321054611234"}).base_url == "https://securepay.tinkoff.ru"


async def test_pay_type_is_sent_only_when_the_store_set_it(fake: FakeTBank) -> None:
    async with httpx.AsyncClient(timeout=1.0) as http:
        plain = get_gateway("tbank", CONFIG, test_mode=True, base_url=fake.url, http=http)
        await plain.create_payment(payment_request(150000))
        assert "PayType" not in fake.requests[-1].json()
        one = get_gateway("tbank", {**CONFIG, "pay_type": "one_stage"}, test_mode=True, base_url=fake.url, http=http)
        await one.create_payment(payment_request(150000, ref="1002"))
        assert fake.requests[-1].json()["PayType"] == "O"
