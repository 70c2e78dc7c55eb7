"""Orders: creation (numbered, idempotent, customer found or created), statuses, audit trail, lists."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from piccolo.query import WhereRaw

from app.errors import Conflict, NotFound
from app.forms import _fields
from app.i18n import gettext as _
from app.services import customers
from app.services.imports.values import ValueProblem, parse_money
from app.tables.catalog import Offer
from app.tables.orders import Order, OrderChange, OrderLine, OrderStatus
from app.tenancy.runtime import store_transaction

GROUPS = ("new", "approval", "assembling", "delivery", "complete", "cancel")
FINAL_GROUPS = frozenset({"complete", "cancel"})
PAGE_SIZE = 50


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
    locale: str = "ru"
    discount_minor: int = 0
    idempotency_key: str | None = None


def group_label(group: str) -> str:
    return {
        "new": _("New"), "approval": _("Approval"), "assembling": _("Assembling"), "delivery": _("Delivery"),
        "complete": _("Complete"), "cancel": _("Cancelled"),
    }[group]  # fmt: skip


async def create_order(draft: OrderDraft) -> tuple[dict, bool]:
    """The order for this draft and whether it is new; a repeated idempotency key returns the first order."""
    if draft.idempotency_key:
        existing = await _by_key(draft.idempotency_key)
        if existing:
            return existing, False
    now = datetime.now(UTC)
    subtotal = sum(line.price_minor * line.quantity for line in draft.lines)
    total = max(0, subtotal - draft.discount_minor) + draft.delivery_minor
    async with store_transaction():
        customer_id = await customers.find_or_create(
            name=draft.customer_name, phone=draft.phone, email=draft.email, source=draft.source, utm=draft.utm
        )
        status = (
            await OrderStatus.select(OrderStatus.id)
            .where(OrderStatus.group == "new")
            .order_by(OrderStatus.position)
            .first()
        )
        number = await Order.raw("SELECT nextval('order_number_seq') AS n")
        rows = await Order.raw(
            "INSERT INTO orders (number, token, idempotency_key, status, customer, customer_name, phone, email,"
            " currency, subtotal_minor, discount_minor, delivery_minor, total_minor, delivery_method, delivery_name,"
            " delivery_address, source, form_code, utm, fields, comment, locale, confirmed, created_at, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb, {},"
            " {}, false, {}, {}) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            str(number[0]["n"]),
            secrets.token_urlsafe(24),
            draft.idempotency_key,
            status["id"],
            customer_id,
            draft.customer_name,
            draft.phone,
            draft.email,
            draft.currency,
            subtotal,
            draft.discount_minor,
            draft.delivery_minor,
            total,
            draft.delivery_method,
            draft.delivery_name,
            draft.delivery_address,
            draft.source,
            draft.form_code,
            _json(draft.utm),
            _json(draft.fields),
            draft.comment,
            draft.locale,
            now,
            now,
        )
        if not rows:  # the same submission won a race a moment ago
            existing = await _by_key(draft.idempotency_key or "")
            assert existing is not None
            return existing, False
        order_id = rows[0]["id"]
        await OrderLine.insert(
            *[
                OrderLine(
                    order=order_id,
                    offer_id=line.offer_id,
                    name=line.name,
                    sku=line.sku,
                    price_minor=line.price_minor,
                    quantity=line.quantity,
                    total_minor=line.price_minor * line.quantity,
                    position=index,
                )
                for index, line in enumerate(draft.lines)
            ]
        )
        await customers.record_order(customer_id, total, now)
        await customers.add_event(
            customer_id,
            customers.ORDER_PLACED,
            order_id=order_id,
            data={
                "number": str(number[0]["n"]),
                "total_minor": total,
                "currency": draft.currency,
                "source": draft.source,
            },
        )
    return await get(order_id), True


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _by_key(key: str) -> dict | None:
    row = await Order.select(Order.id).where(Order.idempotency_key == key).first()
    return await get(row["id"]) if row else None


async def get(order_id: int) -> dict:
    """An order with its status, lines and history.

    Raises:
        NotFound: no such order in this store.
    """
    order = (
        await Order.select(
            *Order.all_columns(),
            Order.status.code.as_alias("status_code"),
            Order.status.names.as_alias("status_names"),
            Order.status.group.as_alias("status_group"),
            Order.status.color.as_alias("status_color"),
        )
        .where(Order.id == order_id)
        .output(load_json=True)
        .first()
    )
    if order is None:
        raise NotFound(_("This order does not exist."))
    order["lines"] = await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.position)
    order["history"] = (
        await OrderChange.select().where(OrderChange.order == order_id).order_by(OrderChange.at).output(load_json=True)
    )
    return order


async def by_token(token: str) -> dict:
    row = await Order.select(Order.id).where(Order.token == token[:64]).first()
    if row is None:
        raise NotFound(_("This order does not exist."))
    return await get(row["id"])


async def statuses() -> list[dict]:
    return (
        await OrderStatus.select()
        .where(OrderStatus.active.eq(True))
        .order_by(OrderStatus.position)
        .output(load_json=True)
    )


def status_name(status: Mapping, locale: str) -> str:
    names = status.get("names") or status.get("status_names") or {}
    return names.get(locale) or status.get("name") or status.get("code", "")


async def change_status(order_id: int, code: str, *, actor_id: int | None, actor: str) -> dict:
    """Move an order to another status, if the current one allows it; final statuses never move.

    Raises:
        NotFound: unknown order or status.
        Conflict: the move is not allowed.
    """
    order = await get(order_id)
    target = await OrderStatus.select().where(OrderStatus.code == code).output(load_json=True).first()
    if target is None:
        raise NotFound(_("This status does not exist."))
    current = await OrderStatus.select().where(OrderStatus.code == order["status_code"]).output(load_json=True).first()
    if target["code"] == current["code"]:
        return order
    if current["group"] in FINAL_GROUPS or (current["allowed"] and target["code"] not in current["allowed"]):
        raise Conflict(_("An order cannot move from this status to that one."))
    now = datetime.now(UTC)
    async with store_transaction():
        await Order.update(
            {
                Order.status: target["id"],
                Order.updated_at: now,
                Order.confirmed: order["confirmed"] or target["group"] != "new",
            }
        ).where(Order.id == order_id)
        await OrderChange.insert(
            OrderChange(
                order=order_id,
                at=now,
                actor_id=actor_id,
                actor=actor,
                field="status",
                before={"code": current["code"]},
                after={"code": target["code"]},
            )
        )
        await customers.add_event(
            order["customer"],
            customers.STATUS_CHANGED,
            order_id=order_id,
            actor_id=actor_id,
            data={"from": current["code"], "to": target["code"], "number": order["number"]},
        )
    return await get(order_id)


@dataclass(frozen=True)
class Filters:
    q: str = ""
    group: str = ""
    page: int = 1


def parse_filters(raw: Mapping[str, str]) -> Filters:
    try:
        page = max(1, min(int(raw.get("page") or 1), 10_000))
    except ValueError:
        page = 1
    group = raw.get("group") or ""
    return Filters(q=(raw.get("q") or "").strip()[:100], group=group if group in GROUPS else "", page=page)


@dataclass(frozen=True)
class Page:
    items: list[dict]
    total: int
    filters: Filters

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


def _where(filters: Filters) -> list:
    clauses = []
    if filters.group:
        clauses.append(Order.status.group == filters.group)
    if filters.q:
        like = f"%{filters.q.replace('%', '')}%"
        digits = "".join(ch for ch in filters.q if ch.isdigit())
        clauses.append(
            WhereRaw(
                "(number = {} OR customer_name ILIKE {} OR email ILIKE {} OR phone LIKE {})",
                filters.q,
                like,
                like,
                f"%{digits}%" if len(digits) >= 4 else "\x00",
            )
        )
    return clauses


async def list_page(filters: Filters) -> Page:
    query = Order.select(
        Order.id,
        Order.number,
        Order.customer_name,
        Order.phone,
        Order.total_minor,
        Order.currency,
        Order.created_at,
        Order.source,
        Order.status.code.as_alias("status_code"),
        Order.status.names.as_alias("status_names"),
        Order.status.color.as_alias("status_color"),
    ).output(load_json=True)
    count = Order.count()
    for clause in _where(filters):
        query = query.where(clause)
        count = count.where(clause)
    items = (
        await query.order_by(Order.created_at, ascending=False)
        .order_by(Order.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    return Page(items, await count, filters)


async def board(per_column: int = 20) -> dict[str, list[dict]]:
    """The kanban: the newest orders of each status group."""
    columns: dict[str, list[dict]] = {}
    for group in GROUPS:
        columns[group] = (
            await Order.select(
                Order.id,
                Order.number,
                Order.customer_name,
                Order.total_minor,
                Order.currency,
                Order.created_at,
                Order.status.names.as_alias("status_names"),
                Order.status.code.as_alias("status_code"),
            )
            .where(Order.status.group == group)
            .order_by(Order.created_at, ascending=False)
            .limit(per_column)
            .output(load_json=True)
        )
    return columns


STAFF_LINES = 6


async def validate_staff_order(
    raw: Mapping[str, str], *, country: str, currency: str, locale: str
) -> tuple[OrderDraft | None, dict[str, str]]:
    """An order taken by phone: a contact and up to six lines given by SKU and quantity."""
    errors: dict[str, str] = {}
    name = _fields.text(raw, "name", errors, required=False, max_length=200)
    phone = None
    phone_text = _fields.text(raw, "phone", errors, required=True, max_length=40)
    if phone_text and "phone" not in errors:
        phone = customers.normalize_phone(phone_text, country)
        if phone is None:
            errors["phone"] = _("Enter a phone number we can call, e.g. +7 912 345-67-89.")
    email = _fields.email(raw, "email", errors) if (raw.get("email") or "").strip() else None
    comment = _fields.text(raw, "comment", errors, required=False, max_length=2000)
    wanted: list[tuple[str, int, int]] = []
    for index in range(STAFF_LINES):
        sku = (raw.get(f"sku_{index}") or "").strip()[:255]
        qty = (raw.get(f"qty_{index}") or "").strip()
        if not sku:
            continue
        if not qty.isdigit() or not 1 <= int(qty) <= 9999:
            errors[f"qty_{index}"] = _("Choose a quantity from 1 to %(max)s.", max=9999)
            continue
        wanted.append((sku, int(qty), index))
    found = {
        row["sku"]: row
        for row in await Offer.select(Offer.id, Offer.name, Offer.sku, Offer.price_minor).where(
            Offer.sku.is_in([sku for sku, _qty, _i in wanted] or [""])
        )
    }
    for sku, _qty, index in wanted:
        if sku not in found:
            errors[f"sku_{index}"] = _("No product with this SKU.")
    if not wanted and "qty_0" not in errors:
        errors["sku_0"] = _("Choose at least one item.")
    if errors:
        return None, errors
    lines = tuple(
        LineDraft(found[sku]["id"], found[sku]["name"], sku, found[sku]["price_minor"], qty) for sku, qty, _i in wanted
    )
    draft = OrderDraft(
        lines=lines,
        currency=currency,
        customer_name=name,
        phone=phone,
        email=email,
        comment=comment,
        source="staff",
        locale=locale,
    )
    return draft, errors


@dataclass(frozen=True)
class OrderEdit:
    customer_name: str
    phone: str | None
    email: str | None
    delivery_address: str
    comment: str
    discount_minor: int
    quantities: dict[int, int]
    add: tuple[LineDraft, ...] = ()


async def validate_edit(
    raw: Mapping[str, str], order: Mapping, *, country: str
) -> tuple[OrderEdit | None, dict[str, str]]:
    errors: dict[str, str] = {}
    name = _fields.text(raw, "customer_name", errors, required=False, max_length=200)
    phone_text = _fields.text(raw, "phone", errors, required=False, max_length=40)
    phone = customers.normalize_phone(phone_text, country) if phone_text else None
    if phone_text and phone is None:
        errors["phone"] = _("Enter a phone number we can call, e.g. +7 912 345-67-89.")
    email = _fields.email(raw, "email", errors) if (raw.get("email") or "").strip() else None
    address = _fields.text(raw, "delivery_address", errors, required=False, max_length=500)
    comment = _fields.text(raw, "comment", errors, required=False, max_length=2000)
    discount_text = (raw.get("discount") or "0").strip() or "0"
    try:
        discount = parse_money(discount_text, order["currency"])
    except ValueProblem:
        discount = -1
    if discount < 0 or discount > order["subtotal_minor"] + 10**12:
        errors["discount"] = _("Enter an amount like 1290 or 1290.50.")
    quantities: dict[int, int] = {}
    for line in order["lines"]:
        text = (raw.get(f"line_{line['id']}") or str(line["quantity"])).strip()
        if not text.isdigit() or int(text) > 9999:
            errors[f"line_{line['id']}"] = _("Choose a quantity from 1 to %(max)s.", max=9999)
        else:
            quantities[line["id"]] = int(text)
    add: tuple[LineDraft, ...] = ()
    sku = (raw.get("add_sku") or "").strip()[:255]
    if sku:
        offer = await Offer.select(Offer.id, Offer.name, Offer.sku, Offer.price_minor).where(Offer.sku == sku).first()
        qty = (raw.get("add_qty") or "1").strip()
        if offer is None:
            errors["add_sku"] = _("No product with this SKU.")
        elif not qty.isdigit() or not 1 <= int(qty) <= 9999:
            errors["add_qty"] = _("Choose a quantity from 1 to %(max)s.", max=9999)
        else:
            add = (LineDraft(offer["id"], offer["name"], offer["sku"], offer["price_minor"], int(qty)),)
    if not errors and not any(quantities.values()) and not add:
        errors["lines"] = _("Choose at least one item.")
    if errors:
        return None, errors
    return OrderEdit(name, phone, email, address, comment, max(0, discount), quantities, add), errors


async def update_order(order_id: int, edit: OrderEdit, *, actor_id: int | None, actor: str) -> dict:
    """Apply staff edits; on a confirmed order every changed field goes into the audit trail.

    Raises:
        Conflict: the order is in a final status.
    """
    order = await get(order_id)
    if order["status_group"] in FINAL_GROUPS:
        raise Conflict(_("A completed or cancelled order cannot be changed."))
    now = datetime.now(UTC)
    changes: list[tuple[str, object, object]] = []
    async with store_transaction():
        for line in order["lines"]:
            qty = edit.quantities.get(line["id"], line["quantity"])
            if qty == line["quantity"]:
                continue
            changes.append((f"line:{line['name']}", line["quantity"], qty))
            if qty == 0:
                await OrderLine.delete().where(OrderLine.id == line["id"])
            else:
                await OrderLine.update(
                    {OrderLine.quantity: qty, OrderLine.total_minor: qty * line["price_minor"]}
                ).where(OrderLine.id == line["id"])
        for position, line in enumerate(edit.add, start=len(order["lines"])):
            await OrderLine.insert(
                OrderLine(
                    order=order_id,
                    offer_id=line.offer_id,
                    name=line.name,
                    sku=line.sku,
                    price_minor=line.price_minor,
                    quantity=line.quantity,
                    total_minor=line.price_minor * line.quantity,
                    position=position,
                )
            )
            changes.append((f"line:{line.name}", 0, line.quantity))
        values = {
            "customer_name": edit.customer_name,
            "phone": edit.phone,
            "email": edit.email,
            "delivery_address": edit.delivery_address,
            "comment": edit.comment,
            "discount_minor": edit.discount_minor,
        }
        changes += [(key, order[key], value) for key, value in values.items() if order[key] != value]
        lines = await OrderLine.select(OrderLine.total_minor).where(OrderLine.order == order_id)
        subtotal = sum(row["total_minor"] for row in lines)
        total = max(0, subtotal - edit.discount_minor) + order["delivery_minor"]
        await Order.update(
            {getattr(Order, k): v for k, v in values.items()}
            | {Order.subtotal_minor: subtotal, Order.total_minor: total, Order.updated_at: now}
        ).where(Order.id == order_id)
        if order["confirmed"]:
            for name, before, after in changes:
                await OrderChange.insert(
                    OrderChange(
                        order=order_id,
                        at=now,
                        actor_id=actor_id,
                        actor=actor,
                        field=name[:64],
                        before={"value": before},
                        after={"value": after},
                    )
                )
    return await get(order_id)
