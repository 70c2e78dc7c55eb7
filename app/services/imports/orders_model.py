"""Past orders read from another platform's export: one record per order, problems per row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from app.i18n import gettext as _
from app.services.imports.values import ValueProblem, parse_decimal, parse_money

FORMATS = ("commerceml", "shopify", "woocommerce", "csv")
MAX_ORDERS = 50_000
MAX_LINES = 500
MAX_QUANTITY = 9_999  # with MAX_MONEY_MINOR per unit, an order's sum still fits a bigint
GROUPS = ("new", "approval", "assembling", "delivery", "complete", "cancel")
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?")
_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})|(\d{2})\.(\d{2})\.(\d{4})")


class RowProblem(ValueError):
    """One value of a row is wrong; the message is already translated."""


@dataclass
class LineRecord:
    name: str
    sku: str | None
    price_minor: int
    quantity: int


@dataclass
class OrderRecord:
    """One order as the file holds it; ``line`` is where it starts (a row, or an element's line)."""

    line: int
    number: str
    placed_at: datetime
    currency: str
    group: str = "new"
    paid: bool = False
    customer_name: str = ""
    phone: str | None = None
    email: str | None = None
    lines: list[LineRecord] = field(default_factory=list)
    discount_minor: int = 0
    delivery_minor: int = 0
    total_minor: int | None = None
    delivery_method: str = ""
    delivery_address: str = ""
    comment: str = ""

    @property
    def subtotal_minor(self) -> int:
        return sum(line.price_minor * line.quantity for line in self.lines)

    @property
    def computed_total(self) -> int:
        return max(0, self.subtotal_minor - self.discount_minor) + self.delivery_minor


@dataclass
class OrdersFile:
    """What one file holds: its orders and the rows that are wrong, as (line, message)."""

    format: str
    orders: list[OrderRecord] = field(default_factory=list)
    issues: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # reported, not refused: nothing to import


def money(raw: str | None, currency: str) -> int:
    text = (raw or "").strip()
    if not text:
        return 0
    try:
        return parse_money(text, currency)
    except ValueProblem:
        raise RowProblem(_("%(value)s is not an amount of money.", value=text[:40])) from None


def quantity(raw: str | None) -> int:
    try:
        amount = parse_decimal((raw or "").strip() or "1")
    except ValueProblem:
        raise RowProblem(_("%(value)s is not a quantity.", value=(raw or "")[:40])) from None
    if amount != amount.to_integral_value() or not 0 < amount <= MAX_QUANTITY:
        raise RowProblem(_("%(value)s is not a quantity.", value=(raw or "")[:40]))
    return int(amount)


def moment(raw: str | None, zone: str) -> datetime:
    """A timestamp with its own offset, or the store's local time when the file gives none."""
    text = (raw or "").strip()
    match = _STAMP.match(text)
    try:
        if match:
            day, clock, offset = match.groups()
            clock = clock if clock.count(":") == 2 else clock + ":00"
            if offset:
                offset = "+00:00" if offset == "Z" else offset[:3] + ":" + offset[-2:]
                return datetime.fromisoformat(f"{day}T{clock}{offset}")
            return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(zone))
        day_match = _DAY.fullmatch(text)
        if day_match:
            iso = day_match.group(1) or f"{day_match.group(4)}-{day_match.group(3)}-{day_match.group(2)}"
            return datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        pass
    raise RowProblem(_("%(value)s is not a date we can read, e.g. 2025-05-11 09:55.", value=text[:40] or "—"))


def check(order: OrderRecord) -> None:
    """Whole-order checks once all its rows are read."""
    if not order.number:
        raise RowProblem(_("The order has no number."))
    if len(order.number) > 32:
        raise RowProblem(_("The order number is longer than %(max)s characters.", max=32))
    if not order.lines:
        raise RowProblem(_("The order %(number)s has no lines.", number=order.number))
    if len(order.lines) > MAX_LINES:
        raise RowProblem(_("The order %(number)s has more than %(max)s lines.", number=order.number, max=MAX_LINES))
