"""The customer card: contacts (edited with dedupe), orders, payments, totals, tags, notes, tasks, timeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, time

from piccolo.query import WhereRaw

from app.errors import NotFound
from app.forms import _fields, rules
from app.i18n import gettext as _
from app.services import audit, tasks
from app.services.customers import _identity as ident
from app.services.customers import _scope
from app.tables.customers import Customer, CustomerEvent, CustomerMerge
from app.tables.orders import Order
from app.tables.payments import Payment
from app.tables.segments import Segment, SegmentMember
from app.tenancy.runtime import store_transaction

TIMELINE_PAGE = 50


def event_labels() -> dict[str, str]:
    return {
        ident.FORM_OPENED: _("Opened the order form"),
        ident.FORM_UNFINISHED: _("Left the form unfinished"),
        ident.ORDER_PLACED: _("Placed an order"),
        ident.ORDER_EDITED: _("Order changed"),
        ident.STATUS_CHANGED: _("Order status changed"),
        ident.PAYMENT_TRIED: _("Started a payment"),
        ident.PAID: _("Paid"),
        ident.PAYMENT_FAILED: _("Payment failed"),
        "payment_canceled": _("Payment cancelled"),
        ident.REFUNDED: _("Refunded"),
        ident.NOTE: _("Note"),
        ident.TASK: _("Task"),
        ident.MESSAGE: _("Message sent"),
        ident.IMPORT: _("Imported"),
        ident.CONTACT_CHANGED: _("Contacts changed"),
        ident.MERGED: _("Duplicate merged in"),
        ident.UNMERGED: _("Merge undone"),
    }


EVENT_KINDS = (
    ident.FORM_OPENED,
    ident.FORM_UNFINISHED,
    ident.ORDER_PLACED,
    ident.ORDER_EDITED,
    ident.STATUS_CHANGED,
    ident.PAYMENT_TRIED,
    ident.PAID,
    ident.PAYMENT_FAILED,
    ident.REFUNDED,
    ident.NOTE,
    ident.TASK,
    ident.MESSAGE,
    ident.IMPORT,
    ident.CONTACT_CHANGED,
    ident.MERGED,
    ident.UNMERGED,
)


def event_label(kind: str) -> str:
    return event_labels().get(kind, kind.replace("_", " "))


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


async def get(customer_id: int) -> dict:
    """Raises NotFound for an unknown customer."""
    row = await Customer.select().where(Customer.id == customer_id).output(load_json=True).first()
    if row is None:
        raise NotFound(_("This customer does not exist."))
    return row


async def card(customer_id: int, *, only_manager: int | None = None) -> dict:
    """Everything the card shows except the timeline (paged separately); ``only_manager`` (a member limited
    to own orders) hides the orders and payments of other managers' orders, and counts the totals (orders,
    spent, average, first and last order) from the member's own orders only."""
    customer = await get(customer_id)
    orders = await Order.raw(
        "SELECT o.id, o.number, o.total_minor, o.currency, o.created_at, s.code AS status_code, s.names AS"
        ' status_names, s.color AS status_color, s."group" AS status_group FROM orders o JOIN order_status s'
        " ON s.id = o.status WHERE o.customer = {} AND ({}::int IS NULL OR o.manager_id = {}::int)"
        " ORDER BY o.created_at DESC LIMIT 100",
        customer_id,
        only_manager,
        only_manager,
    )
    for order in orders:
        order["status_names"] = _json(order["status_names"]) or {}
    payments = await Payment.raw(
        "SELECT p.id, p.ref, p.status, p.amount_minor, p.refunded_minor, p.currency, p.created_at, p.paid_at,"
        " o.id AS order_id, o.number FROM payment p JOIN orders o ON o.id = p.order WHERE o.customer = {}"
        " AND ({}::int IS NULL OR o.manager_id = {}::int) ORDER BY p.created_at DESC LIMIT 100",
        customer_id,
        only_manager,
        only_manager,
    )
    lists = await SegmentMember.raw(
        "SELECT s.id, s.name FROM segment_member m JOIN segment s ON s.id = m.segment WHERE m.customer = {}"
        " ORDER BY s.name",
        customer_id,
    )
    static_lists = await Segment.select(Segment.id, Segment.name).where(Segment.kind == "static").order_by(Segment.name)
    merges = await CustomerMerge.raw(
        "SELECT m.id, m.at, m.merged, c.name, c.phone, c.email FROM customer_merge m JOIN customer c ON c.id = m.merged"
        " WHERE m.survivor = {} AND m.undone_at IS NULL ORDER BY m.at DESC",
        customer_id,
    )
    if only_manager is not None:
        customer.update(await _scope.own_figures(customer_id, only_manager))
    count = customer["orders_count"]
    paid = sum(
        p["amount_minor"] - p["refunded_minor"]
        for p in payments
        if p["status"] in ("succeeded", "refunded", "partially_refunded")
    )
    return {
        "customer": customer,
        "orders": orders,
        "payments": payments,
        "paid_minor": paid,
        "average_minor": customer["total_spent_minor"] // count if count else 0,
        "lists": lists,
        "static_lists": [s for s in static_lists if s["id"] not in {x["id"] for x in lists}],
        "merges": merges,
    }


async def timeline(
    customer_id: int, *, before: int | None = None, kind: str = "", only_manager: int | None = None
) -> list[dict]:
    """Newest first, ``TIMELINE_PAGE`` at a time (``before`` = the last event id seen); ``only_manager`` leaves
    out events about other managers' orders."""
    query = (
        CustomerEvent.select()
        .where(CustomerEvent.customer == customer_id)
        .order_by(CustomerEvent.at, ascending=False)
        .order_by(CustomerEvent.id, ascending=False)
        .limit(TIMELINE_PAGE)
        .output(load_json=True)
    )
    if before:
        anchor = await CustomerEvent.select(CustomerEvent.at).where(CustomerEvent.id == before).first()
        if anchor:
            query = query.where(
                (CustomerEvent.at < anchor["at"]) | ((CustomerEvent.at == anchor["at"]) & (CustomerEvent.id < before))
            )
    if kind in EVENT_KINDS:
        query = query.where(CustomerEvent.kind == kind)
    if only_manager is not None:
        query = query.where(
            WhereRaw("(order_id IS NULL OR order_id IN (SELECT id FROM orders WHERE manager_id = {}))", only_manager)
        )
    return await query


async def update_contacts(customer_id: int, raw: Mapping[str, str], *, country: str, actor_id: int | None) -> dict:
    """Edit name, phone, e-mail, city; a phone or e-mail of another customer is refused with a pointer to them.

    Returns errors (empty when saved); ``errors["duplicate_of"]`` names the other customer's id.
    """
    customer = await get(customer_id)
    errors: dict[str, str] = {}
    name = _fields.text(raw, "name", errors, required=False, max_length=200)
    city = _fields.text(raw, "city", errors, required=False, max_length=120)
    phone_text = _fields.text(raw, "phone", errors, required=False, max_length=40)
    phone = ident.normalize_phone(phone_text, country) if phone_text else None
    if phone_text and phone is None and "phone" not in errors:
        errors["phone"] = _("Enter a phone number we can call, e.g. +7 912 345-67-89.")
    email = _fields.email(raw, "email", errors) if (raw.get("email") or "").strip() else None
    if not errors and not phone and not email:
        errors["phone"] = _("Keep a phone or an e-mail: it is how we recognise the customer.")
    for field, value in (("phone", phone), ("email", email)):
        if value and field not in errors:
            column = getattr(Customer, field)
            other = (
                await Customer.select(Customer.id)
                .where((column == value) & Customer.merged_into.is_null() & (Customer.id != customer_id))
                .first()
            )
            if other:
                errors[field] = _("Another customer has this contact. Merge the two instead.")
                errors["duplicate_of"] = str(other["id"])
    if errors:
        return errors
    values = {"name": name, "city": city, "phone": phone, "email": email}
    changed = {k: [customer[k], v] for k, v in values.items() if customer[k] != v}
    if changed:
        async with store_transaction():
            await Customer.update(
                {getattr(Customer, k): v for k, v in values.items()} | {Customer.updated_at: datetime.now(UTC)}
            ).where(Customer.id == customer_id)
            await ident.add_event(customer_id, ident.CONTACT_CHANGED, actor_id=actor_id, data={"changed": changed})
            await audit.record_changes(
                "customer", customer_id, "update", {k: customer[k] for k in values}, values,
                actor_id=actor_id, summary=customer["name"] or customer["phone"] or customer["email"] or "",
            )  # fmt: skip
    return {}


async def set_tags(customer_id: int, text: str, *, actor_id: int | None = None) -> list[str]:
    """Tags from a comma-separated line: trimmed, lower-cased, unique, at most 20 of 40 characters (audited)."""
    customer = await get(customer_id)
    tags: list[str] = []
    for part in text.split(","):
        tag = " ".join(part.split()).lower()[:40]
        if tag and tag not in tags:
            tags.append(tag)
    tags = tags[:20]
    async with store_transaction():
        await Customer.update({Customer.tags: tags, Customer.updated_at: datetime.now(UTC)}).where(
            Customer.id == customer_id
        )
        await audit.record_changes(
            "customer", customer_id, "tags", {"tags": customer["tags"] or []}, {"tags": tags},
            actor_id=actor_id, summary=customer["name"] or customer["phone"] or customer["email"] or "",
        )  # fmt: skip
    return tags


async def add_note(customer_id: int, text: str, *, actor_id: int | None, actor: str) -> dict[str, str]:
    await get(customer_id)
    text = text.strip()
    if not text:
        return {"note": _("This field is required.")}
    if len(text) > 4000:
        return {"note": _("Too long: at most %(max)s characters.", max=4000)}
    await ident.add_event(customer_id, ident.NOTE, actor_id=actor_id, data={"text": text, "by": actor})
    return {}


async def add_task(customer_id: int, text: str, due: str, *, actor_id: int | None, actor: str) -> dict[str, str]:
    """A follow-up for staff (call back, send an offer) with a due date, on the customer's timeline."""
    await get(customer_id)
    errors: dict[str, str] = {}
    text = text.strip()
    if not text:
        errors["task"] = _("This field is required.")
    elif len(text) > 1000:
        errors["task"] = _("Too long: at most %(max)s characters.", max=1000)
    try:
        due_day = rules.optional_day(due)
    except rules.Invalid as exc:
        errors["due"] = exc.message
        due_day = None
    if errors:
        return errors
    # A real task (on the tasks page, with reminders); it also lands on the timeline.
    zone = await tasks.store_zone()
    due_at = datetime.combine(due_day, time(18, 0), zone) if due_day else None
    title = text if len(text) <= 200 else text[:199] + "…"
    data = tasks.TaskData(title, text if text != title else "", actor_id, "normal", due_at, None, None, customer_id)
    await tasks.create(data, author_id=actor_id)
    return {}
