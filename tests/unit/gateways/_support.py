"""Shared helpers for gateway tests: request builders and the location of the shared payment fixtures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.gateways.base import Money, PaymentRequest, Receipt, ReceiptItem

# CI checks the shared folder out beside the clone; the fixtures are read in place, never copied in.
FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "payments"


def load_vectors(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def receipt_for(amount: Money, *, lines: int = 2) -> Receipt:
    """A receipt whose lines add up to ``amount`` (the last line takes the remainder)."""
    share = amount.minor // lines
    items = [
        ReceiptItem(
            f"Товар {n + 1}",
            Decimal(1),
            Money(share, amount.currency),
            Money(share, amount.currency),
            vat_code="vat20",
        )
        for n in range(lines - 1)
    ]
    rest = Money(amount.minor - share * (lines - 1), amount.currency)
    items.append(ReceiptItem("Доставка", Decimal(1), rest, rest, payment_subject="service"))
    return Receipt(tuple(items), taxation="osn", email="buyer@example.com")


def payment_request(
    minor: int = 150000,
    currency: str = "RUB",
    *,
    ref: str = "1001",
    key: str = "idem-1001",
    receipt: bool = False,
    **overrides: Any,
) -> PaymentRequest:
    amount = Money(minor, currency)
    fields: dict[str, Any] = {
        "payment_ref": ref,
        "order_number": "A-1001",
        "idempotency_key": key,
        "amount": amount,
        "description": "Заказ A-1001",
        "return_url": "https://shop.example/f/demo/o/tok",
        "notify_url": "https://crm.example/hooks/demo/gw/7",
        "fail_url": "https://shop.example/f/demo/o/tok?fail=1",
        "customer_email": "buyer@example.com",
        "customer_phone": "+79211234567",
        "receipt": receipt_for(amount) if receipt else None,
    }
    fields.update(overrides)
    return PaymentRequest(**fields)
