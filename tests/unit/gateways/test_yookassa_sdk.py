"""What our YooKassa adapter sends, checked by the official ``yookassa`` SDK's request and receipt models.

The SDK is the referee (a dev dependency, never imported by the app): its PaymentRequest and ReceiptRequest
models must accept our JSON, and measure, vat_code, payment_subject, payment_mode and tax_system_code must come
back out of them as we sent them. The enum members are read from the SDK's own classes, not from our tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from app.gateways.base import (
    MEASURES,
    PAYMENT_MODES,
    PAYMENT_SUBJECTS,
    TAXATION_SYSTEMS,
    VAT_CODES,
    Money,
    Receipt,
    ReceiptItem,
    RefundRequest,
)
from app.gateways.registry import get_gateway
from app.gateways.yookassa import YooKassaGateway, receipt_json
from tests.fakes.gateways.yookassa import FakeYooKassa
from tests.unit.gateways._support import payment_request

yookassa = pytest.importorskip("yookassa")
from yookassa.domain.models.receipt_data.receipt_item import (  # noqa: E402
    PaymentMode,
    PaymentSubject,
    ReceiptItemMeasure,
)
from yookassa.domain.request.payment_request import PaymentRequest as SdkPaymentRequest  # noqa: E402
from yookassa.domain.request.refund_request import RefundRequest as SdkRefundRequest  # noqa: E402

pytestmark = pytest.mark.unit

CONFIG = {"shop_id": "123456", "secret_key": "test_secret"}

# YooKassa's docs (54fz/other-services/parameters-values): vat_code 1 no VAT, 2 0 %, 3 10 %, 4 20 %, 5 10/110,
# 6 20/120, 7 5 %, 8 7 %, 9 5/105, 10 7/107, 11 22 %, 12 22/122; tax_system_code 1 ОСН, 2 УСН доход,
# 3 УСН доход − расход, 4 ЕНВД, 5 ЕСХН, 6 ПСН.
DOCUMENTED_VAT = {
    "none": 1,
    "vat0": 2,
    "vat10": 3,
    "vat20": 4,
    "vat110": 5,
    "vat120": 6,
    "vat5": 7,
    "vat7": 8,
    "vat105": 9,
    "vat107": 10,
    "vat22": 11,
    "vat122": 12,
}
DOCUMENTED_TAX_SYSTEMS = {"osn": 1, "usn_income": 2, "usn_income_outcome": 3, "envd": 4, "esn": 5, "patent": 6}


def sdk_values(enum_class: type) -> set[str]:
    return {value for name, value in vars(enum_class).items() if name.isupper() and isinstance(value, str)}


def receipt(
    vat: str = "vat22",
    mode: str = "full_payment",
    subject: str = "commodity",
    measure: str = "piece",
    taxation: str | None = "usn_income",
) -> Receipt:
    item = ReceiptItem(
        "Чай",
        Decimal(2),
        Money(50000, "RUB"),
        Money(100000, "RUB"),
        vat_code=vat,
        payment_mode=mode,
        payment_subject=subject,
        measure=measure,
    )
    return Receipt((item,), taxation=taxation, email="buyer@example.com")


def sdk_payment(body: dict) -> SdkPaymentRequest:
    request = SdkPaymentRequest(body)
    request.validate()  # raises ValueError on what the SDK refuses
    return request


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


async def test_the_payment_we_send_is_accepted_by_the_sdk_and_keeps_every_receipt_field(
    gateway: YooKassaGateway, fake: FakeYooKassa
) -> None:
    await gateway.create_payment(dataclasses.replace(payment_request(100000), receipt=receipt()))
    body = fake.requests[-1].json()
    sdk = sdk_payment(body)
    item = sdk.receipt.items[0]
    assert item.measure == ReceiptItemMeasure.PIECE
    assert item.vat_code == 11 and item.payment_mode == PaymentMode.FULL_PAYMENT
    assert item.payment_subject == PaymentSubject.COMMODITY
    assert sdk.receipt.tax_system_code == 2
    theirs, ours = dict(sdk)["receipt"]["items"][0], body["receipt"]["items"][0]
    assert Decimal(theirs.pop("quantity")) == Decimal(ours.pop("quantity")) == 2  # the SDK keeps it as a float
    assert theirs == ours  # the SDK's JSON is ours, unchanged


async def test_the_refund_receipt_is_accepted_by_the_sdk(gateway: YooKassaGateway, fake: FakeYooKassa) -> None:
    created = await gateway.create_payment(payment_request(100000))
    fake.pay(created.provider_payment_id)
    await gateway.refund(RefundRequest(created.provider_payment_id, Money(100000, "RUB"), "r-1", receipt=receipt()))
    body = fake.requests[-1].json()
    sdk = SdkRefundRequest(body)
    sdk.validate()
    assert sdk.receipt.items[0].measure == "piece" and sdk.receipt.tax_system_code == 2


def test_every_measure_and_mode_and_subject_we_offer_is_one_the_sdk_knows() -> None:
    assert set(MEASURES) == sdk_values(ReceiptItemMeasure)
    assert set(PAYMENT_SUBJECTS) == sdk_values(PaymentSubject)
    sent_modes = {receipt_json(receipt(mode=mode), None, None)["items"][0]["payment_mode"] for mode in PAYMENT_MODES}
    assert sent_modes == sdk_values(PaymentMode)  # "prepayment" goes out as the SDK's "partial_prepayment"


@pytest.mark.parametrize("vat", VAT_CODES)
def test_every_vat_rate_round_trips_with_its_documented_code(vat: str) -> None:
    body = {"amount": {"value": "1000.00", "currency": "RUB"}, "receipt": receipt_json(receipt(vat=vat), None, None)}
    assert sdk_payment(body).receipt.items[0].vat_code == DOCUMENTED_VAT[vat]


@pytest.mark.parametrize("taxation", TAXATION_SYSTEMS)
def test_every_taxation_system_round_trips_with_its_documented_code(taxation: str) -> None:
    body = {
        "amount": {"value": "1000.00", "currency": "RUB"},
        "receipt": receipt_json(receipt(taxation=taxation), None, None),
    }
    assert sdk_payment(body).receipt.tax_system_code == DOCUMENTED_TAX_SYSTEMS[taxation]


@pytest.mark.parametrize("measure", ["kilogram", "liter", "hour", "square_meter"])
def test_measures_round_trip(measure: str) -> None:
    body = {
        "amount": {"value": "1000.00", "currency": "RUB"},
        "receipt": receipt_json(receipt(measure=measure), None, None),
    }
    assert sdk_payment(body).receipt.items[0].measure == measure
