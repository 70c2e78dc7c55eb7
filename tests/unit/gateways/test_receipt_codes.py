"""Each gateway's receipt codes for VAT, taxation system, payment mode and subject, from its own documents.

Expected values are written out from the gateways' docs (summarised in /work/shared/reference/payment-protocols.md
and the 2025-2026 rate notices: 22 % and 22/122 from 1 January 2026; 5 %, 7 %, 5/105, 7/107 for УСН payers),
not read from the adapters' tables.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import unquote

import pytest

from app.gateways import cloudpayments, robokassa, tbank
from app.gateways.base import VAT_CODES, Money, Receipt, ReceiptItem

pytestmark = pytest.mark.unit

# CloudPayments CustomerReceipt: vat is the rate itself (null for no VAT), 110/120/122 for the calculated rates;
# taxationSystem 0 ОСН, 1 УСН доход, 2 УСН доход − расход, 3 ЕНВД, 4 ЕСХН, 5 ПСН.
CLOUDPAYMENTS_VAT = {
    "none": None,
    "vat0": 0,
    "vat5": 5,
    "vat7": 7,
    "vat10": 10,
    "vat20": 20,
    "vat22": 22,
    "vat105": 105,
    "vat107": 107,
    "vat110": 110,
    "vat120": 120,
    "vat122": 122,
}
CLOUDPAYMENTS_TAXATION = {"osn": 0, "usn_income": 1, "usn_income_outcome": 2, "envd": 3, "esn": 4, "patent": 5}
# Robokassa's "tax" and T-Bank's "Tax" take the rate names themselves.
NAMED_VAT = [
    "none",
    "vat0",
    "vat5",
    "vat7",
    "vat10",
    "vat20",
    "vat22",
    "vat105",
    "vat107",
    "vat110",
    "vat120",
    "vat122",
]


def receipt(vat: str, taxation: str = "usn_income", mode: str = "full_payment", subject: str = "commodity") -> Receipt:
    item = ReceiptItem(
        "Чай",
        Decimal(2),
        Money(50000, "RUB"),
        Money(100000, "RUB"),
        vat_code=vat,
        payment_mode=mode,
        payment_subject=subject,
        measure="kilogram",
    )
    return Receipt((item,), taxation=taxation, email="buyer@example.com")


def test_every_rate_in_force_is_offered() -> None:
    assert set(VAT_CODES) == set(NAMED_VAT) == set(CLOUDPAYMENTS_VAT)


@pytest.mark.parametrize("vat", NAMED_VAT)
def test_cloudpayments_vat(vat: str) -> None:
    assert cloudpayments.receipt_json(receipt(vat), None, None)["Items"][0]["vat"] == CLOUDPAYMENTS_VAT[vat]


@pytest.mark.parametrize("taxation", sorted(CLOUDPAYMENTS_TAXATION))
def test_cloudpayments_taxation(taxation: str) -> None:
    body = cloudpayments.receipt_json(receipt("vat22", taxation), None, None)
    assert body["taxationSystem"] == CLOUDPAYMENTS_TAXATION[taxation]


@pytest.mark.parametrize("vat", NAMED_VAT)
def test_robokassa_vat_and_sno(vat: str) -> None:
    body = json.loads(unquote(robokassa.receipt_param(receipt(vat, "usn_income_outcome", "prepayment"))))
    assert body["sno"] == "usn_income_outcome"
    assert body["items"][0]["tax"] == vat and body["items"][0]["payment_method"] == "prepayment"


@pytest.mark.parametrize("vat", NAMED_VAT)
def test_tbank_tax_and_taxation(vat: str) -> None:
    body = tbank.receipt_json(receipt(vat, "patent", "full_prepayment", "service"), None, None)
    assert body["Taxation"] == "patent"
    item = body["Items"][0]
    assert (item["Tax"], item["PaymentMethod"], item["PaymentObject"]) == (vat, "full_prepayment", "service")


def test_an_unknown_measure_or_rate_is_refused_before_any_gateway_sees_it() -> None:
    with pytest.raises(ValueError, match="measure"):
        ReceiptItem("Чай", Decimal(1), Money(100, "RUB"), Money(100, "RUB"), measure="bucket")
    with pytest.raises(ValueError, match="vat_code"):
        ReceiptItem("Чай", Decimal(1), Money(100, "RUB"), Money(100, "RUB"), vat_code="vat18")
