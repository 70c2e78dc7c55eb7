"""Change records described for people: field labels and formatted values in the viewer's language.

Order history (``order_change``), the audit log and the customer timeline store field names and raw
values (data, not sentences). This module turns them, when a page is rendered, into a label and
formatted values — "Discount: 0,00 ₽ → 100,00 ₽", not "discount_minor: 0 → 10000" — using Babel's
CLDR formats for money, numbers, dates and lists, and the store's own names for its statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel.lists import format_list

from app.i18n import (
    LOCALE_NAMES,
    LOCALES,
    babel_locale,
    country_name,
    currency_name,
    format_date,
    format_datetime,
    format_money,
    format_number,
    get_locale,
    lazy_gettext,
    messages,
)
from app.i18n import gettext as _
from app.services import audit, customers, distribution, orders, receipts, staff
from app.tables.orders import Order
from app.tables.stores import StoreSetting

_l = lazy_gettext

# Every field name a change record may carry, by its label. A name missing here still reads as words.
FIELD_LABELS = {
    "customer_name": _l("Customer name"), "name": _l("Name"), "phone": _l("Phone"), "email": _l("E-mail"),
    "city": _l("City"), "delivery_address": _l("Delivery address"), "comment": _l("Comment"),
    "discount_minor": _l("Discount"), "delivery_minor": _l("Delivery cost"), "total_minor": _l("Total"),
    "status": _l("Status"), "manager": _l("Manager"), "manager_id": _l("Manager"), "tags": _l("Tags"),
    "role": _l("Role"), "scope": _l("Orders visible"), "on_shift": _l("On shift"), "active": _l("Active"),
    "mode": _l("Order distribution"), "locale": _l("Language"), "currency": _l("Currency"),
    "country": _l("Country"), "gateway": _l("Payment system"), "test_mode": _l("Test mode"),
    "code": _l("Code"), "group": _l("Group"), "names": _l("Names"), "color": _l("Colour"),
    "allowed": _l("Can move to"), "titles": _l("Titles"), "fields": _l("Form fields"),
    "goods_mode": _l("Goods on the form"), "goods": _l("Goods"), "max_quantity": _l("Maximum quantity"),
    "delivery": _l("Delivery options"), "thanks": _l("Thank-you text"), "languages": _l("Languages"),
    "allowed_origins": _l("Sites that may embed the form"), "label": _l("Label"), "required": _l("Required"),
    "price_minor": _l("Price"), "title": _l("Title"), "enabled": _l("On"), "address": _l("Address"),
    "key": _l("Field"), "amount_minor": _l("Amount"), "payment": _l("Payment"), "reason": _l("Reason"),
    "credentials": _l("Credentials re-entered"),
    "tax_system": _l("Taxation system"), "vat_code": _l("VAT"), "delivery_vat_code": _l("Delivery VAT"),
    "measure": _l("Unit of measure"), "payment_subject": _l("Payment subject"), "payment_mode": _l("Payment mode"),

    "event": _l("Event"), "conditions": _l("Conditions"), "actions": _l("Actions"),
    "delay_minutes": _l("Delay, minutes"), "merged": _l("Merged customer"), "restored": _l("Restored customer"),
    "orders": _l("Orders"), "to": _l("Recipient"), "sent": _l("Sent"), "format": _l("Format"),
    "files": _l("Files"), "created": _l("Created"), "updated": _l("Updated"), "errors": _l("Errors"),
}  # fmt: skip

# A field name meaning something else on another record: a customer's "name" is a person's name.
_ALIASES = {"customer": {"name": "customer_name"}}

ACTION_LABELS = {
    "edit": _l("Edited"), "status": _l("Status changed"), "assign": _l("Manager assigned"),
    "update": _l("Changed"), "create": _l("Created"), "delete": _l("Deleted"), "tags": _l("Tags changed"),
    "connect": _l("Connected"), "invite": _l("Invited"), "revoke": _l("Invitation revoked"),
    "join": _l("Joined"), "shift": _l("Shift changed"), "refund": _l("Refunded"),
    "enable": _l("Enabled"), "disable": _l("Disabled"),

    "merge": _l("Customers merged"), "unmerge": _l("Merge undone"), "payment_link": _l("Payment link e-mailed"),
    "import_start": _l("Import started"), "import_apply": _l("Import applied"), "import_fail": _l("Import failed"),
}  # fmt: skip


@dataclass(frozen=True)
class Lookups:
    """What values need to be readable: the money's currency, the store's statuses, staff names."""

    currency: str = "RUB"
    statuses: Mapping[str, Mapping] = field(default_factory=dict)
    managers: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str | None  # None: there was no earlier value (something created or added)
    after: str | None  # None: the value was removed


async def lookups(currency: str = "RUB") -> Lookups:
    statuses = {s["code"]: s for s in await orders.all_statuses()}
    return Lookups(currency=currency, statuses=statuses, managers=await staff.names())


def field_label(key: str) -> str:
    if key.startswith("line:"):
        return _("Quantity of “%(name)s”", name=key[5:])
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").strip().capitalize()


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else _("Changed")


def status_name(code: object, look: Lookups) -> str:
    status = look.statuses.get(str(code)) if code is not None else None
    if status is None:
        return "—" if code in (None, "") else str(code)
    names = status.get("names") or {}
    return names.get(get_locale()) or status.get("name") or names.get("en") or str(code)


_TAX_LABELS = {
    "tax_system": receipts.TAX_SYSTEM_LABELS,
    "vat_code": receipts.VAT_LABELS,
    "delivery_vat_code": receipts.VAT_LABELS,
    "measure": receipts.MEASURE_LABELS,
    "payment_subject": receipts.SUBJECT_LABELS,
    "payment_mode": receipts.MODE_LABELS,
}


def _special(key: str, value: Any, look: Lookups) -> str | None:
    """Values whose meaning depends on the field; None when the field has no rule of its own."""
    if key == "status" or key == "allowed":
        return _list([status_name(v, look) for v in value]) if isinstance(value, list) else status_name(value, look)
    if key in ("manager", "manager_id"):
        return look.managers.get(value, "—") if isinstance(value, int) else "—"
    if key == "phone" and isinstance(value, str) and value.startswith("+"):
        return customers.format_phone(value)
    if key == "role" and isinstance(value, str):
        return staff.role_label(value)
    if key == "scope" and isinstance(value, str):
        return staff.scope_label(value)
    if key == "group" and value in orders.GROUPS:
        return orders.group_label(value)
    if key == "mode" and value in distribution.MODES:
        return distribution.mode_label(value)
    if key in ("locale", "languages"):
        return _list([LOCALE_NAMES.get(v, v) for v in value]) if isinstance(value, list) else LOCALE_NAMES.get(value)
    if key == "currency" and isinstance(value, str) and value:
        return f"{value} — {currency_name(value)}"
    if key == "country" and isinstance(value, str) and value:
        return country_name(value)
    if key in _TAX_LABELS and isinstance(value, str):
        return str(_TAX_LABELS[key].get(value, value))
    if key.endswith("_minor") and isinstance(value, int) and not isinstance(value, bool):
        return format_money(value, look.currency)
    return None


def _list(items: Sequence[str]) -> str:
    return format_list(list(items), locale=babel_locale()) if items else "—"


def _text(value: str) -> str:
    """ISO dates and times (as the JSON columns keep them) in the viewer's format; other text as it is."""
    if 10 <= len(value) <= 32 and value[:4].isdigit() and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_date(moment.date()) if len(value) == 10 else format_datetime(moment, "short")
    return value


def format_value(key: str, value: Any, look: Lookups) -> str:
    """One stored value as a person reads it: "—" for nothing, yes/no, money, names, lists as lists."""
    special = _special(key, value, look)
    if special is not None:
        return special
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, datetime):
        return format_datetime(value, "short")
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, list):
        return _list([format_value(key, item, look) for item in value])
    if isinstance(value, Mapping):
        if set(value) <= set(LOCALES):  # texts per language (titles, names)
            return "; ".join(f"{LOCALE_NAMES[k]}: {format_value(key, v, look)}" for k, v in value.items() if v)
        return "; ".join(f"{field_label(str(k))}: {format_value(str(k), v, look)}" for k, v in value.items())
    return _text(str(value))


def line(key: str, before: Any, after: Any, look: Lookups, *, has_before: bool = True) -> ChangeLine:
    return ChangeLine(
        field_label(key), format_value(key, before, look) if has_before else None, format_value(key, after, look)
    )


def order_history(order: Mapping, look: Lookups) -> list[dict]:
    """The order's ``order_change`` rows as {at, actor, line}, oldest first."""
    entries = []
    for change in order.get("history") or []:
        key = change["field"]
        slot = "code" if key == "status" else "value"
        before, after = (change.get("before") or {}).get(slot), (change.get("after") or {}).get(slot)
        actor = change.get("actor") or (_("Automatic distribution") if key == "manager" else "—")
        if actor.startswith("rule:"):
            actor = _("Rule “%(name)s”", name=actor[5:])
        refund = key == "refund"
        entry_line = _refund_line(change.get("after") or {}, look) if refund else line(key, before, after, look)
        entries.append({"at": change["at"], "actor": actor, "line": entry_line, "kind": key})
    return entries


def _refund_line(data: Mapping, look: Lookups) -> ChangeLine:
    """A refund as one sentence: its amount in the payment's currency, the payment, the reason given."""
    amount = data.get("amount_minor")
    money = format_money(amount if isinstance(amount, int) else 0, str(data.get("currency") or look.currency))
    text = _("Refund %(amount)s of payment #%(ref)s", amount=money, ref=data.get("payment", ""))
    if data.get("reason"):
        text = f"{text} · {data['reason']}"
    return ChangeLine(_("Refund"), None, text)


def _settings_summary(entity_id: str) -> str | None:
    """Settings entries name what changed by a fixed text, written in the actor's language; say it in the viewer's."""
    kind, _sep, code = entity_id.partition(":")
    if entity_id == "store":
        return _("Store")
    if entity_id == "distribution":
        return _("Order distribution")
    if kind == "status":
        return _("Order statuses")
    if kind == "form" and code:
        return _("Order form %(code)s", code=code)
    return None


def audit_entry(entry: Mapping, look: Lookups) -> dict:
    """An ``audit_entry`` row with ``action_label``, a ``summary`` in the viewer's language and ``lines``."""
    alias = _ALIASES.get(entry["entity"], {})
    before = {alias.get(k, k): v for k, v in (entry.get("before") or {}).items()}
    after = {alias.get(k, k): v for k, v in (entry.get("after") or {}).items()}
    lines = [line(key, before.get(key), value, look, has_before=key in before) for key, value in after.items()]
    lines += [ChangeLine(field_label(key), format_value(key, value, look), None) for key, value in before.items()
              if key not in after]  # fmt: skip
    return {
        **entry,
        "entity_label": audit.entity_label(entry["entity"]),
        "action_label": action_label(entry["action"]),
        "summary": messages.render(entry.get("summary_data"), "")
        or (entry["entity"] == "settings" and _settings_summary(entry.get("entity_id") or ""))
        or entry.get("summary")
        or "",
        "lines": lines,
    }


def timeline_event(event: Mapping, look: Lookups) -> dict:
    """A ``customer_event`` with ``lines``: a status move by the store's names, changed contacts by label."""
    data = event.get("data") or {}
    lines: list[ChangeLine] = []
    if event["kind"] == "status_changed":
        lines.append(line("status", data.get("from"), data.get("to"), look))
    elif event["kind"] == "contact_changed":
        changed = data.get("changed") or {}
        alias = _ALIASES["customer"]
        lines = [
            line(alias.get(key, key), pair[0], pair[1], look)
            for key, pair in changed.items()
            if isinstance(pair, list) and len(pair) == 2
        ]
    due = format_value("due", data["due"], look) if data.get("due") else ""
    return {**event, "lines": lines, "due": due}


async def describe_order(order: Mapping) -> list[dict]:
    """The order's history, readable: labels, its own currency, the store's status names, staff names."""
    return order_history(order, await lookups(order["currency"]))


async def describe_timeline(events: Sequence[Mapping]) -> list[dict]:
    look = await lookups()  # the lines carry statuses and contacts; amounts keep the event's own currency
    return [timeline_event(event, look) for event in events]


async def describe_audit(items: Sequence[Mapping]) -> list[dict]:
    """Audit rows, readable; an order's amounts in that order's currency, the rest in the store's."""
    setting = await StoreSetting.select(StoreSetting.currency).first()
    look = await lookups((setting or {}).get("currency") or "RUB")
    ids = [int(e["entity_id"]) for e in items if e["entity"] == "order" and str(e["entity_id"]).isdecimal()]
    ids = [i for i in ids if i < 2**31]
    rows = await Order.select(Order.id, Order.currency).where(Order.id.is_in(ids)) if ids else []
    currencies = {str(row["id"]): row["currency"] for row in rows}
    described = []
    for entry in items:
        currency = currencies.get(str(entry["entity_id"])) if entry["entity"] == "order" else None
        own = Lookups(currency, look.statuses, look.managers) if currency else look
        described.append(audit_entry(entry, own))
    return described
