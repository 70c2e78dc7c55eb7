"""Answers to a store's own questions on its order form ("a good time to call"), labelled for reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.i18n import get_locale
from app.i18n import gettext as _
from app.tables.forms import OrderForm

CUSTOM_PREFIX = "custom_"
CUSTOM_KEYS = ("custom_1", "custom_2", "custom_3")  # the questions a form can ask (form_settings)


@dataclass(frozen=True)
class Answer:
    """One answer; ``labels`` is the question in each of the form's languages."""

    key: str
    value: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, locale: str) -> str:
        """The question in ``locale`` (then English, then any language); a removed question gets a plain name."""
        return self.labels.get(locale) or self.labels.get("en") or next(iter(self.labels.values()), "") or _(
            "Question %(number)s", number=self.key.removeprefix(CUSTOM_PREFIX)
        )


async def questions(form_code: str | None = None) -> dict[str, dict[str, str]]:
    """The store's questions by key, with their labels: of one form, or of every form (first form wins)."""
    query = OrderForm.select(OrderForm.code, OrderForm.fields).order_by(OrderForm.id).output(load_json=True)
    if form_code:
        query = query.where(OrderForm.code == form_code[:40])
    found: dict[str, dict[str, str]] = {}
    for form in await query:
        for spec in form["fields"] or []:
            key = spec.get("key", "")
            if key.startswith(CUSTOM_PREFIX) and key not in found:
                found[key] = dict(spec.get("label") or {})
    return found


async def of_order(order: Mapping) -> tuple[Answer, ...]:
    """The order's non-empty answers, in the form's order of questions (answers to removed questions last)."""
    values = {k: str(v) for k, v in (order.get("fields") or {}).items() if k.startswith(CUSTOM_PREFIX) and v}
    if not values:
        return ()
    labels = await questions(order.get("form_code") or None)
    keys = [k for k in labels if k in values] + sorted(k for k in values if k not in labels)
    return tuple(Answer(k, values[k], labels.get(k, {})) for k in keys)


def choices(labels: Mapping[str, Mapping[str, str]], locale: str | None = None) -> list[tuple[str, str]]:
    """(key, question) pairs for a list's column picker, in ``locale`` (the current one by default)."""
    speak = locale or get_locale()
    return [(key, Answer(key, "", labels[key]).label(speak)) for key in CUSTOM_KEYS if key in labels]
