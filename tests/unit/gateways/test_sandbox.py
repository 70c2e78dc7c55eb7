"""Sandbox and offline gateways: no network, magic amounts, signed sandbox notifications, requisites."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from app.gateways.base import (
    Capability,
    ConfigInvalid,
    ErrorCode,
    Money,
    NotSupported,
    PaymentStatus,
    RefundRequest,
    RequestInvalid,
    SignatureInvalid,
    StepKind,
)
from app.gateways.registry import GATEWAYS, describe, get_gateway
from app.gateways.sandbox import SandboxGateway
from tests.unit.gateways._support import payment_request

pytestmark = pytest.mark.unit

SECRET = "s3cret-s3cret-s3cret"


def sandbox() -> SandboxGateway:
    gw = get_gateway("sandbox", {"secret": SECRET}, test_mode=True, base_url="https://crm.example/f/demo/")
    assert isinstance(gw, SandboxGateway)
    return gw


async def test_sandbox_redirects_to_our_own_page_and_notifies_signed() -> None:
    gw = sandbox()
    created = await gw.create_payment(payment_request(150000))
    step = created.shopper_step
    assert step is not None and step.kind is StepKind.REDIRECT and step.url
    assert step.url.startswith("https://crm.example/f/demo/sandbox/pay?")
    page = gw.verify_page(dict(parse_qsl(urlsplit(step.url).query)))
    assert page.outcome is PaymentStatus.SUCCEEDED and page.amount == Money(150000, "RUB")

    body, headers = gw.build_notification(
        provider_payment_id=page.provider_payment_id,
        payment_ref=page.payment_ref,
        amount=page.amount,
        status=page.outcome,
    )
    note = gw.parse_notification(body, headers, {})
    assert note.verified and note.status is PaymentStatus.SUCCEEDED and note.payment_ref == "1001"
    assert note.provider_payment_id == created.provider_payment_id
    assert gw.notification_response(note)[0] == 200

    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body.replace(b"150000", b"950000"), headers, {})
    with pytest.raises(SignatureInvalid):
        gw.parse_notification(body, {}, {})


async def test_sandbox_magic_amounts() -> None:
    gw = sandbox()
    created = await gw.create_payment(payment_request(150005))
    assert created.shopper_step and created.shopper_step.url
    page = gw.verify_page(dict(parse_qsl(urlsplit(created.shopper_step.url).query)))
    assert page.outcome is PaymentStatus.FAILED
    with pytest.raises(RequestInvalid) as err:
        await gw.create_payment(payment_request(150017))
    assert err.value.code is ErrorCode.INVALID_AMOUNT


async def test_sandbox_same_key_same_payment_and_tampered_page_refused() -> None:
    gw = sandbox()
    first = await gw.create_payment(payment_request())
    again = await gw.create_payment(payment_request())
    assert first.provider_payment_id == again.provider_payment_id
    assert first.shopper_step and first.shopper_step.url
    query = dict(parse_qsl(urlsplit(first.shopper_step.url).query))
    with pytest.raises(SignatureInvalid):
        gw.verify_page({**query, "amount": "100"})


async def test_sandbox_refunds_and_connection_check() -> None:
    gw = sandbox()
    for key, minor in (("r1", 30000), ("r2", 20000), ("r3", 100000)):
        result = await gw.refund(RefundRequest("sbx_x", Money(minor, "RUB"), key))
        assert result.status == "succeeded" and result.amount.minor == minor
    await gw.check_connection()
    with pytest.raises(ConfigInvalid):
        await get_gateway("sandbox", {"secret": "short"}).check_connection()


async def test_bank_transfer_returns_requisites_without_network() -> None:
    config = {
        "recipient": "ООО Ромашка",
        "account": "40702810900000000001",
        "bank_name": "АО Банк",
        "inn": "7701234567",
        "bik": "044525225",
    }
    gw = get_gateway("bank_transfer", config)
    created = await gw.create_payment(payment_request(150000))
    assert created.status is PaymentStatus.PENDING and created.shopper_step
    info = created.shopper_step.instructions
    assert created.shopper_step.kind is StepKind.INSTRUCTIONS
    assert info["account"] == "40702810900000000001" and info["purpose"] == "Payment for order A-1001"
    assert info["amount"] == "1500.00"
    await gw.check_connection()
    with pytest.raises(ConfigInvalid) as err:
        await get_gateway("bank_transfer", {**config, "account": "123", "bik": "12"}).check_connection()
    assert set(err.value.errors) == {"account", "bik"}
    await get_gateway("bank_transfer", {**config, "account": "DE89 3704 0044 0532 0130 00"}).check_connection()
    with pytest.raises(NotSupported):
        gw.parse_notification(b"", {}, {})


async def test_cash_on_delivery_is_offline() -> None:
    gw = get_gateway("cash_on_delivery", {})
    created = await gw.create_payment(payment_request(150000))
    assert created.shopper_step and created.shopper_step.kind is StepKind.INSTRUCTIONS
    assert Capability.OFFLINE in gw.capabilities


def test_registry_describes_every_gateway_and_validates_config() -> None:
    described = {d["code"]: d for d in describe()}
    assert set(described) == set(GATEWAYS)
    assert described["bank_transfer"]["capabilities"]["offline"] is True
    with pytest.raises(ConfigInvalid) as err:
        get_gateway("bank_transfer", {"recipient": "x", "typo": "y"})
    assert err.value.errors["account"] and err.value.errors["typo"]
    with pytest.raises(ConfigInvalid):
        get_gateway("no-such-gateway", {})
    assert "s3cret" not in repr(sandbox())
    assert sandbox().config.redacted() == {"secret": "********"}
