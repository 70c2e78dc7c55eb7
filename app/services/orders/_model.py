"""Order drafts, status groups and their labels."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.i18n import gettext as _

GROUPS = ("new", "approval", "assembling", "delivery", "complete", "cancel")
FINAL_GROUPS = frozenset({"complete", "cancel"})


@dataclass(frozen=True)
class LineDraft:
    offer_id: int | None
    name: str
    sku: str | None
    price_minor: int
    quantity: int


@dataclass(frozen=True)
class OrderDraft:
    lines: tuple[LineDraft, ...]
    currency: str
    customer_name: str = ""
    phone: str | None = None
    email: str | None = None
    delivery_method: str = ""
    delivery_name: str = ""
    delivery_minor: int = 0
    delivery_address: str = ""
    comment: str = ""
    source: str = "form"
    form_code: str | None = None
    utm: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    locale: str | None = None  # the shopper's language; None: the store's default
    discount_minor: int = 0
    idempotency_key: str | None = None


def group_label(group: str) -> str:
    return {
        "new": _("New"), "approval": _("Approval"), "assembling": _("Assembling"), "delivery": _("Delivery"),
        "complete": _("Complete"), "cancel": _("Cancelled"),
    }[group]  # fmt: skip
