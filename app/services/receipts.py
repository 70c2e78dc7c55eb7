"""54-FZ receipts (FFD 1.2): the store's taxation system and VAT, each product's tax fields, the receipt kept.

The receipt itself is built from the order by ``payments.receipt_for``; this module supplies what it needs to
know about tax (``order_tax``), validates the settings, and turns the receipt sent into data stored on the
payment or refund (``as_data``) and back into readable labels on the order card (``shown``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.forms import _fields
from app.gateways.base import MEASURES, PAYMENT_MODES, PAYMENT_SUBJECTS, VAT_CODES, Receipt
from app.i18n import _l, format_money
from app.i18n import gettext as _
from app.tables.catalog import Offer
from app.tables.payments import Payment
from app.tables.stores import StoreSetting

# The taxation systems a store can choose (tag 1055). ЕНВД was abolished in 2021, so it is not offered,
# though the gateways still know its code.
TAX_SYSTEMS = ("osn", "usn_income", "usn_income_outcome", "esn", "patent")

# The same names as the gateway settings' taxation choices (payments.choice_labels).
TAX_SYSTEM_LABELS = {
    "osn": _l("General taxation (OSN)"),
    "usn_income": _l("Simplified, on income (USN 6%)"),
    "usn_income_outcome": _l("Simplified, income minus expenses (USN 15%)"),
    "envd": _l("Imputed income (ENVD)"),
    "esn": _l("Unified agricultural tax (ESHN)"),
    "patent": _l("Patent"),
}
VAT_LABELS = {
    "none": _l("No VAT"),
    "vat0": _l("VAT 0%"),
    "vat5": _l("VAT 5%"),
    "vat7": _l("VAT 7%"),
    "vat10": _l("VAT 10%"),
    "vat20": _l("VAT 20%"),
    "vat22": _l("VAT 22%"),
    "vat105": _l("VAT 5/105"),
    "vat107": _l("VAT 7/107"),
    "vat110": _l("VAT 10/110"),
    "vat120": _l("VAT 20/120"),
    "vat122": _l("VAT 22/122"),
}
MEASURE_LABELS = {
    "piece": _l("pieces"),
    "gram": _l("grams"),
    "kilogram": _l("kilograms"),
    "ton": _l("tonnes"),
    "centimeter": _l("centimetres"),
    "decimeter": _l("decimetres"),
    "meter": _l("metres"),
    "square_centimeter": _l("square centimetres"),
    "square_decimeter": _l("square decimetres"),
    "square_meter": _l("square metres"),
    "milliliter": _l("millilitres"),
    "liter": _l("litres"),
    "cubic_meter": _l("cubic metres"),
    "kilowatt_hour": _l("kilowatt-hours"),
    "gigacalorie": _l("gigacalories"),
    "day": _l("calendar days"),
    "hour": _l("hours"),
    "minute": _l("minutes"),
    "second": _l("seconds"),
    "kilobyte": _l("kilobytes"),
    "megabyte": _l("megabytes"),
    "gigabyte": _l("gigabytes"),
    "terabyte": _l("terabytes"),
    "another": _l("other unit"),
}
SUBJECT_LABELS = {
    "commodity": _l("Goods"),
    "excise": _l("Excise goods"),
    "job": _l("Work"),
    "service": _l("Service"),
    "gambling_bet": _l("Gambling bet"),
    "gambling_prize": _l("Gambling prize"),
    "lottery": _l("Lottery ticket"),
    "lottery_prize": _l("Lottery prize"),
    "intellectual_activity": _l("Intellectual property"),
    "payment": _l("Payment"),
    "agent_commission": _l("Agent's commission"),
    "composite": _l("Composite"),
    "another": _l("Other"),
}
MODE_LABELS = {
    "full_prepayment": _l("Full prepayment"),
    "prepayment": _l("Partial prepayment"),
    "advance": _l("Advance"),
    "full_payment": _l("Full payment"),
    "partial_payment": _l("Partial payment and credit"),
    "credit": _l("Credit"),
    "credit_payment": _l("Credit repayment"),
}
RECEIPT_STATUS_LABELS = {
    "pending": _l("Receipt being registered"),
    "succeeded": _l("Receipt registered"),
    "canceled": _l("Receipt not registered"),
    "sent": _l("Receipt sent"),
}
assert set(VAT_LABELS) == set(VAT_CODES) and set(MEASURE_LABELS) == set(MEASURES)
assert set(SUBJECT_LABELS) == set(PAYMENT_SUBJECTS) and set(MODE_LABELS) == set(PAYMENT_MODES)


@dataclass(frozen=True)
class LineTax:
    """What a receipt line says about tax: a product's fields, or the store's defaults."""

    vat_code: str = "none"
    measure: str = "piece"
    payment_subject: str = "commodity"
    payment_mode: str = "full_payment"


@dataclass(frozen=True)
class OrderTax:
    """The tax of an order's receipt: one LineTax per order line (same order), and the delivery's VAT."""

    tax_system: str | None = None
    lines: tuple[LineTax, ...] = ()
    delivery_vat_code: str = "none"


@dataclass(frozen=True)
class StoreTax:
    tax_system: str | None
    vat_code: str
    delivery_vat_code: str


@dataclass(frozen=True)
class ProductTax:
    vat_code: str | None  # None: the store's default
    measure: str
    payment_subject: str
    payment_mode: str


def choices() -> dict[str, list[tuple[str, str]]]:
    """The options of the tax selects (store settings and product card), labelled in the viewer's language."""
    return {
        "tax_system_options": [("", _("Not sent"))] + [(code, str(TAX_SYSTEM_LABELS[code])) for code in TAX_SYSTEMS],
        "vat_options": [(code, str(label)) for code, label in VAT_LABELS.items()],
        "product_vat_options": [("", _("As the store's default"))]
        + [(code, str(label)) for code, label in VAT_LABELS.items()],
        "measure_options": [(code, str(label)) for code, label in MEASURE_LABELS.items()],
        "subject_options": [(code, str(label)) for code, label in SUBJECT_LABELS.items()],
        "mode_options": [(code, str(label)) for code, label in MODE_LABELS.items()],
    }


def _choice(raw: Mapping[str, str], key: str, allowed: Sequence[str], errors: dict[str, str], default: str) -> str:
    return _fields.choice(raw, key, tuple(allowed), errors, default=default)


def validate_store_tax(raw: Mapping[str, str]) -> tuple[StoreTax | None, dict[str, str]]:
    """The store settings' tax fields; an empty taxation system means none is sent."""
    errors: dict[str, str] = {}
    system = None
    if (raw.get("tax_system") or "").strip():
        system = _choice(raw, "tax_system", TAX_SYSTEMS, errors, "osn")
    vat = _choice(raw, "vat_code", VAT_CODES, errors, "none")
    delivery = _choice(raw, "delivery_vat_code", VAT_CODES, errors, "none")
    return (None if errors else StoreTax(system, vat, delivery)), errors


def validate_product_tax(raw: Mapping[str, str]) -> tuple[ProductTax | None, dict[str, str]]:
    """The product card's tax fields; an empty VAT follows the store's default."""
    errors: dict[str, str] = {}
    vat = None
    if (raw.get("vat_code") or "").strip():
        vat = _choice(raw, "vat_code", VAT_CODES, errors, "none")
    measure = _choice(raw, "measure", MEASURES, errors, "piece")
    subject = _choice(raw, "payment_subject", PAYMENT_SUBJECTS, errors, "commodity")
    mode = _choice(raw, "payment_mode", PAYMENT_MODES, errors, "full_payment")
    return (None if errors else ProductTax(vat, measure, subject, mode)), errors


async def store_tax() -> StoreTax:
    row = await StoreSetting.select(
        StoreSetting.tax_system, StoreSetting.vat_code, StoreSetting.delivery_vat_code
    ).first()
    row = row or {}
    return StoreTax(row.get("tax_system"), row.get("vat_code") or "none", row.get("delivery_vat_code") or "none")


async def order_tax(order: Mapping[str, Any]) -> OrderTax:
    """The store's settings and each line's product tax (lines of deleted products take the store's defaults)."""
    store = await store_tax()
    offer_ids = sorted({int(line["offer_id"]) for line in order["lines"] if line.get("offer_id")})
    products: dict[int, Mapping[str, Any]] = {}
    if offer_ids:
        rows = await Offer.select(
            Offer.id,
            Offer.product.vat_code.as_alias("vat_code"),
            Offer.product.measure.as_alias("measure"),
            Offer.product.payment_subject.as_alias("payment_subject"),
            Offer.product.payment_mode.as_alias("payment_mode"),
        ).where(Offer.id.is_in(offer_ids))
        products = {row["id"]: row for row in rows}
    lines = []
    for line in order["lines"]:
        product = products.get(int(line.get("offer_id") or 0))
        if product is None:
            lines.append(LineTax(vat_code=store.vat_code))
            continue
        lines.append(
            LineTax(
                product["vat_code"] or store.vat_code,
                product["measure"],
                product["payment_subject"],
                product["payment_mode"],
            )
        )
    return OrderTax(store.tax_system, tuple(lines), store.delivery_vat_code)


def as_data(receipt: Receipt | None) -> dict[str, Any] | None:
    """The receipt sent, as data for a jsonb column (codes, not sentences; contacts stay on the order)."""
    if receipt is None:
        return None
    return {
        "taxation": receipt.taxation,
        "currency": receipt.items[0].amount.currency,
        "items": [
            {
                "name": item.name,
                "quantity": str(item.quantity),
                "price_minor": item.price.minor,
                "amount_minor": item.amount.minor,
                "vat_code": item.vat_code,
                "measure": item.measure,
                "payment_subject": item.payment_subject,
                "payment_mode": item.payment_mode,
            }
            for item in receipt.items
        ],
    }


def status_of(raw: Mapping[str, Any], receipt: Receipt | None) -> str | None:
    """The gateway's receipt status where it reports one (YooKassa's ``receipt_registration``), else "sent"."""
    if receipt is None:
        return None
    status = raw.get("receipt_registration")
    return status if isinstance(status, str) and status in RECEIPT_STATUS_LABELS else "sent"


async def note_status(payment_id: int, raw: Mapping[str, Any]) -> None:
    """Keep the receipt status the gateway reports on a fetched payment (YooKassa's ``receipt_registration``)."""
    status = raw.get("receipt_registration")
    if isinstance(status, str) and status in RECEIPT_STATUS_LABELS:
        await Payment.update({Payment.receipt_status: status}).where(
            (Payment.id == payment_id) & Payment.receipt.is_not_null()
        )


def _label(labels: Mapping[str, Any], code: str | None) -> str:
    return str(labels.get(code, code)) if code else ""


def shown(data: Mapping[str, Any] | None, status: str | None = None) -> dict[str, Any] | None:
    """A stored receipt with its codes as labels in the viewer's language, for the order card."""
    if not data or not data.get("items"):
        return None
    currency = data.get("currency") or "RUB"
    return {
        "taxation": _label(TAX_SYSTEM_LABELS, data.get("taxation")),
        "status": _label(RECEIPT_STATUS_LABELS, status),
        "status_code": status or "",
        "lines": [
            {
                "name": item["name"],
                "quantity": item["quantity"],
                "measure": _label(MEASURE_LABELS, item.get("measure")),
                "price": format_money(int(item["price_minor"]), currency),
                "amount": format_money(int(item["amount_minor"]), currency),
                "vat": _label(VAT_LABELS, item.get("vat_code")),
                "subject": _label(SUBJECT_LABELS, item.get("payment_subject")),
                "mode": _label(MODE_LABELS, item.get("payment_mode")),
            }
            for item in data["items"]
        ],
    }
