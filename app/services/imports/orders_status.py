"""Other platforms' order statuses mapped to our six groups (Shopify, WooCommerce, 1C/Bitrix, our own words)."""

from __future__ import annotations

import re

from app.i18n import gettext as _
from app.services.imports.orders_model import GROUPS, RowProblem

_WORDS = {
    "new": (
        "new",
        "pending",
        "open",
        "unfulfilled",
        "принят",
        "новый",
        "новий",
        "[n] принят",
        "wc-pending",
        "открыт",
        "відкрито",
    ),
    "approval": ("approval", "on-hold", "wc-on-hold", "authorized", "согласование", "погодження", "ожидает"),
    "assembling": (
        "assembling",
        "processing",
        "wc-processing",
        "partial",
        "paid",
        "сборка",
        "комплектація",
        "в работе",
        "согласован",
        "к обеспечению",
    ),
    "delivery": ("delivery", "shipped", "in transit", "доставка", "отгружен", "к отгрузке", "відвантажено"),
    "complete": (
        "complete",
        "completed",
        "wc-completed",
        "fulfilled",
        "выполнен",
        "виконано",
        "[f] выполнен",
        "завершен",
        "доставлен",
        "closed",
        "закрыт",
        "закрито",
    ),
    "cancel": (
        "cancel",
        "cancelled",
        "canceled",
        "wc-cancelled",
        "refunded",
        "wc-refunded",
        "failed",
        "wc-failed",
        "voided",
        "отменен",
        "отменён",
        "скасовано",
        "возврат",
    ),
}
_GROUP_OF = {word: group for group, words in _WORDS.items() for word in words}
# Bitrix writes its status letter before the name: "[N] Принят", "[P] Оплачен", "[F] Выполнен".
_BITRIX = re.compile(r"\[(\w)\]\s*(.*)")
_LETTERS = {"n": "new", "p": "assembling", "f": "complete"}


def group_of(raw: str) -> str:
    """Our group for a status as another platform writes it; an unknown status is a row problem."""
    text = " ".join((raw or "").lower().split())
    group = _GROUP_OF.get(text)
    letter = _BITRIX.fullmatch(text)
    if group is None and letter:
        group = _GROUP_OF.get(letter.group(2)) or _LETTERS.get(letter.group(1))
    if group is None:
        raise RowProblem(
            _(
                "The status %(status)s is not one we can map; use one of: %(groups)s.",
                status=raw[:40],
                groups=", ".join(GROUPS),
            )
        )
    return group
