"""Order balances: paid, refunded, due and overpaid, from the order's current total and its payments.

Nothing is stored: the balance is worked out from the order and its payments each time, so an edit of the
order (lines, discount) moves the payment state at once: unpaid, partly paid, paid or overpaid.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.i18n import gettext as _
from app.tables.payments import Payment

# Payments that took money; what was given back of them is their ``refunded_minor``.
TOOK_MONEY = ("succeeded", "partially_refunded", "refunded")
# Approved by the shopper, not captured yet: not paid, but not due either (it would be paid twice).
HELD = ("waiting_capture",)


class PaymentState(enum.StrEnum):
    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    OVERPAID = "overpaid"


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    total_minor: int
    paid_minor: int = 0
    refunded_minor: int = 0
    held_minor: int = 0

    @property
    def net_minor(self) -> int:
        """What the store holds: paid and not refunded."""
        return self.paid_minor - self.refunded_minor

    @property
    def due_minor(self) -> int:
        """What the shopper still owes: the total less what was paid and not refunded (and what is approved)."""
        return max(0, self.total_minor - self.net_minor - self.held_minor)

    @property
    def overpaid_minor(self) -> int:
        """Paid beyond the total (the order was made cheaper, or paid twice): to be refunded."""
        return max(0, self.net_minor - self.total_minor)

    @property
    def state(self) -> PaymentState:
        if self.net_minor > self.total_minor:
            return PaymentState.OVERPAID
        if self.net_minor == self.total_minor and (self.total_minor > 0 or self.paid_minor > 0):
            return PaymentState.PAID
        return PaymentState.PARTLY_PAID if self.net_minor > 0 else PaymentState.UNPAID


def balance(total_minor: int, currency: str, payments: Iterable[Mapping]) -> Balance:
    """The balance of an order of ``total_minor`` given its payments (rows with status and amounts)."""
    paid = refunded = held = 0
    for payment in payments:
        if payment["currency"] != currency:
            continue
        if payment["status"] in TOOK_MONEY:
            paid += int(payment["amount_minor"])
            refunded += int(payment["refunded_minor"] or 0)
        elif payment["status"] in HELD:
            held += int(payment["amount_minor"])
    return Balance(currency, int(total_minor), paid, refunded, held)


async def of_order(order: Mapping) -> Balance:
    """The balance of an order row (its ``id``, ``total_minor`` and ``currency``)."""
    rows = await Payment.select(
        Payment.status, Payment.amount_minor, Payment.refunded_minor, Payment.currency
    ).where(Payment.order == order["id"])
    return balance(order["total_minor"], order["currency"], rows)


def state_labels() -> dict[str, str]:
    """Payment states of an order as staff and shoppers read them, in the current language."""
    return {
        PaymentState.UNPAID: _("Not paid"),
        PaymentState.PARTLY_PAID: _("Partly paid"),
        PaymentState.PAID: _("Paid"),
        PaymentState.OVERPAID: _("Overpaid"),
    }
