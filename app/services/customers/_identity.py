"""Customers: found or created by normalised phone (E.164) or e-mail, never twice; their timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import phonenumbers

from app import i18n
from app.services._sqlarrays import int_array
from app.tables.customers import Customer, CustomerEvent
from app.tenancy.runtime import current_tenant

# Timeline event kinds (DESIGN.md "Data rules").
FORM_OPENED = "form_opened"
FORM_UNFINISHED = "form_unfinished"
ORDER_PLACED = "order_placed"
ORDER_EDITED = "order_edited"
STATUS_CHANGED = "status_changed"
PAYMENT_TRIED = "payment_tried"
PAID = "paid"
PAYMENT_FAILED = "payment_failed"
REFUNDED = "refunded"
NOTE = "note"
TASK = "task"
MESSAGE = "message"
IMPORT = "import"
CONTACT_CHANGED = "contact_changed"
MERGED = "merged"
UNMERGED = "unmerged"


# A new customer starts with the order being placed, if any; the upserts add it to a found one, so
# placing an order writes the customer row once (each version of it costs every one of its indexes).
_INSERT = (
    "INSERT INTO customer (name, phone, email, city, source, utm, tags, note, orders_count, total_spent_minor,"
    " first_order_at, last_order_at, created_at, updated_at)"
    " VALUES ({}, {}, {}, '', {}, {}::jsonb, '[]'::jsonb, '', {}, {}, {}, {}, {}, {})"
)
# Found by phone: the e-mail is written only when no other customer has it (its unique index would fail).
_INSERT_BY_PHONE = (
    "INSERT INTO customer (name, phone, email, city, source, utm, tags, note, orders_count, total_spent_minor,"
    " first_order_at, last_order_at, created_at, updated_at)"
    " SELECT {}, {}, e.email, '', {}, {}::jsonb, '[]'::jsonb, '', {}, {}, {}, {}, {}, {}"
    " FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM customer WHERE email = {}::text AND merged_into IS NULL)"
    " THEN NULL ELSE {}::text END AS email) e"
)
_COUNT_ORDER = (
    " DO UPDATE SET updated_at = excluded.updated_at,"
    " orders_count = customer.orders_count + excluded.orders_count,"
    " total_spent_minor = customer.total_spent_minor + excluded.total_spent_minor,"
    " first_order_at = coalesce(customer.first_order_at, excluded.first_order_at),"
    " last_order_at = coalesce(excluded.last_order_at, customer.last_order_at)"
    " RETURNING id, name, email, phone"
)
_UPSERT_BY_PHONE = (
    _INSERT_BY_PHONE + " ON CONFLICT (phone) WHERE phone IS NOT NULL AND merged_into IS NULL" + _COUNT_ORDER
)
_UPSERT_BY_EMAIL = _INSERT + " ON CONFLICT (email) WHERE email IS NOT NULL AND merged_into IS NULL" + _COUNT_ORDER


def normalize_phone(raw: str, region: str) -> str | None:
    """``8 (912) 345-67-89`` with region RU → ``+79123456789``; None when it is not a possible number."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str | None, country: str | None = None) -> str:
    """The phone as the bound store's staff write it (see ``i18n.format_phone``)."""
    return i18n.format_phone(e164, country if country is not None else store_country())


def store_country() -> str:
    """The bound store's country (``""`` outside a store: phones are then shown internationally)."""
    try:
        return current_tenant().country
    except LookupError:
        return ""


async def find_or_create(
    *,
    name: str,
    phone: str | None,
    email: str | None,
    source: str,
    utm: dict | None = None,
    order: tuple[int, datetime] | None = None,
) -> int | None:
    """The customer with this phone (else e-mail), created if new; concurrent calls agree on one row.

    ``order`` (total, placed at) is a new order of theirs, counted into their running totals by the same
    statement (a new order is never cancelled, so adding it is exact; edits and cancellations call
    ``recompute_totals``). Call it in the order's transaction, so a rolled-back order is not counted.
    """
    if not phone and not email:
        return None
    key = "phone" if phone else "email"
    now = datetime.now(UTC)
    utm_json = json.dumps(utm or {})
    total, at = order if order is not None else (0, None)
    counts = (1 if order is not None else 0, total, at, at, now, now)
    if phone:
        rows = await Customer.raw(_UPSERT_BY_PHONE, name, phone, source, utm_json, *counts, email, email)
    else:
        rows = await Customer.raw(_UPSERT_BY_EMAIL, name, None, email, source, utm_json, *counts)
    row = rows[0]
    changes = {}
    if name and not row["name"]:
        changes[Customer.name] = name
    if email and not row["email"] and key == "phone":
        taken = await Customer.exists().where((Customer.email == email) & Customer.merged_into.is_null())
        if not taken:
            changes[Customer.email] = email
    if changes:
        await Customer.update(changes).where(Customer.id == row["id"])
    return int(row["id"])


async def add_event(
    customer_id: int | None,
    kind: str,
    *,
    order_id: int | None = None,
    actor_id: int | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> None:
    if customer_id is None:
        return
    await CustomerEvent.insert(
        CustomerEvent(
            customer=customer_id,
            kind=kind,
            at=at or datetime.now(UTC),
            order_id=order_id,
            actor_id=actor_id,
            data=data or {},
        )
    )


# "Spent" counts every order that is not cancelled (paid or not: cash on delivery is common); the
# first and last order dates count the same orders.
_RECOMPUTE = (
    "UPDATE customer c SET orders_count = coalesce(t.n, 0), total_spent_minor = coalesce(t.spent, 0),"
    " first_order_at = t.first_at, last_order_at = t.last_at, updated_at = now()"
    " FROM unnest({}::text::int[]) AS ids(id) LEFT JOIN (SELECT o.customer, count(*) n, sum(o.total_minor) spent,"
    " min(o.created_at) first_at, max(o.created_at) last_at FROM orders o JOIN order_status s ON s.id = o.status"
    " WHERE o.customer = ANY({}::text::int[]) AND s.\"group\" <> 'cancel' GROUP BY o.customer) t ON t.customer = ids.id"
    " WHERE c.id = ids.id"
)


async def recompute_totals(customer_ids: list[int | None]) -> None:
    """Orders count, total spent, first and last order of these customers, from their orders."""
    ids = sorted({i for i in customer_ids if i is not None})
    if ids:
        await Customer.raw(_RECOMPUTE, int_array(ids), int_array(ids))
