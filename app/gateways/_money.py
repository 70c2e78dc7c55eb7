"""Money in integer minor units and the 54-FZ receipt model shared by every gateway (re-exported by base)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2; a zero-decimal currency must never be multiplied by 100.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

# Every rate the gateways take today: 22 % and 22/122 are in force from 1 January 2026 (20 % and 20/120 stay
# for receipts corrected for earlier sales); 5 %, 7 %, 5/105 and 7/107 are for УСН payers since 2025.
VAT_CODES = (
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
)
# FFD 1.2 units of measure (tag 2108), named as YooKassa's SDK names them (ReceiptItemMeasure).
MEASURES = (
    "piece",
    "gram",
    "kilogram",
    "ton",
    "centimeter",
    "decimeter",
    "meter",
    "square_centimeter",
    "square_decimeter",
    "square_meter",
    "milliliter",
    "liter",
    "cubic_meter",
    "kilowatt_hour",
    "gigacalorie",
    "day",
    "hour",
    "minute",
    "second",
    "kilobyte",
    "megabyte",
    "gigabyte",
    "terabyte",
    "another",
)
PAYMENT_MODES = (
    "full_prepayment",
    "prepayment",
    "advance",
    "full_payment",
    "partial_payment",
    "credit",
    "credit_payment",
)
PAYMENT_SUBJECTS = (
    "commodity",
    "excise",
    "job",
    "service",
    "gambling_bet",
    "gambling_prize",
    "lottery",
    "lottery_prize",
    "intellectual_activity",
    "payment",
    "agent_commission",
    "composite",
    "another",
)
TAXATION_SYSTEMS = ("osn", "usn_income", "usn_income_outcome", "envd", "esn", "patent")


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (JPY 0, RUB 2, KWD 3)."""
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount as an integer of minor units plus an ISO-4217 code; never a float."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("Money.minor must be an int of minor units")
        if not _CURRENCY_RE.match(self.currency):
            raise ValueError(f"not an ISO-4217 currency code: {self.currency!r}")

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.exponent)

    def format(self) -> str:
        """Plain decimal string with the currency's digits: ``"100.00"``, ``"500"`` for JPY."""
        return f"{self.to_decimal():.{self.exponent}f}"

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """Parse a gateway's decimal amount; refuse sub-minor precision instead of rounding it away."""
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal amount: {value!r}") from exc
        if not number.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        minor = number.scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"amount {value!r} is more precise than {currency} allows")
        return cls(int(minor), currency.upper())

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    """One 54-FZ receipt line; ``amount`` is the line total and must equal ``price * quantity``."""

    name: str
    quantity: Decimal
    price: Money
    amount: Money
    vat_code: str = "none"
    payment_mode: str = "full_payment"
    payment_subject: str = "commodity"
    measure: str = "piece"

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, Decimal) or self.quantity <= 0:
            raise ValueError("ReceiptItem.quantity must be a positive Decimal")
        self.price._same(self.amount)
        for value, allowed, what in (
            (self.vat_code, VAT_CODES, "vat_code"),
            (self.payment_mode, PAYMENT_MODES, "payment_mode"),
            (self.payment_subject, PAYMENT_SUBJECTS, "payment_subject"),
            (self.measure, MEASURES, "measure"),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {what}: {value!r}")
        expected = (Decimal(self.price.minor) * self.quantity).quantize(Decimal(1), ROUND_HALF_UP)
        if expected != self.amount.minor:
            # T-Bank and YooKassa refuse a line whose total is not price x quantity, so catch it here.
            raise ValueError(f"receipt line {self.name!r}: amount is not price x quantity")


@dataclass(frozen=True, slots=True)
class Receipt:
    """A fiscal receipt (54-FZ); adapters map it to each gateway's own shape."""

    items: tuple[ReceiptItem, ...]
    taxation: str | None = None
    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("a receipt needs at least one item")
        if self.taxation is not None and self.taxation not in TAXATION_SYSTEMS:
            raise ValueError(f"unknown taxation system: {self.taxation!r}")

    def total(self) -> Money:
        total = Money(0, self.items[0].amount.currency)
        for item in self.items:
            total = total + item.amount
        return total

    def matches(self, amount: Money) -> bool:
        """True when the lines add up to ``amount`` exactly (the gateways reject anything else)."""
        return self.items[0].amount.currency == amount.currency and self.total().minor == amount.minor
