"""Staff work on orders: taking one by phone, and editing lines, contact and delivery (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import Conflict
from app.forms import _fields, rules
from app.i18n import gettext as _
from app.services import audit, customers, rfm
from app.services.imports.values import ValueProblem, parse_money
from app.services.orders._create import line_row
from app.services.orders._model import FINAL_GROUPS, LineDraft, OrderDraft
from app.services.orders._read import get, lock_order
from app.tables.catalog import Offer
from app.tables.orders import Order, OrderChange, OrderLine
from app.tenancy.runtime import store_transaction

STAFF_LINES = 6
MAX_QUANTITY = 9999


def _quantity(text: str, *, low: int) -> int | None:
    try:
        return rules.integer(text, low=low, high=MAX_QUANTITY)
    except rules.Invalid:
        return None


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
        count = _quantity(qty, low=1)
        if count is None:
            errors[f"qty_{index}"] = _("Choose a quantity from 1 to %(max)s.", max=MAX_QUANTITY)
            continue
        wanted.append((sku, count, index))
    found = {
        row["sku"]: row
        for row in await Offer.select(Offer.id, Offer.name, Offer.sku, Offer.price_minor).where(
            Offer.sku.is_in([sku for sku, _qty, _i in wanted] or [""])
            & (Offer.currency == currency)
            & Offer.price_minor.is_not_null()
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
        count = _quantity(text, low=0)
        if count is None:
            errors[f"line_{line['id']}"] = _("Choose a quantity from 1 to %(max)s.", max=MAX_QUANTITY)
        else:
            quantities[line["id"]] = count
    add: tuple[LineDraft, ...] = ()
    sku = (raw.get("add_sku") or "").strip()[:255]
    if sku:
        offer = (
            await Offer.select(Offer.id, Offer.name, Offer.sku, Offer.price_minor)
            .where((Offer.sku == sku) & (Offer.currency == order["currency"]) & Offer.price_minor.is_not_null())
            .first()
        )
        qty = (raw.get("add_qty") or "1").strip()
        if offer is None:
            errors["add_sku"] = _("No product with this SKU.")
        elif (count := _quantity(qty, low=1)) is None:
            errors["add_qty"] = _("Choose a quantity from 1 to %(max)s.", max=MAX_QUANTITY)
        else:
            add = (LineDraft(offer["id"], offer["name"], offer["sku"], offer["price_minor"], count),)
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
    now = datetime.now(UTC)
    changes: list[tuple[str, object, object]] = []
    async with store_transaction():
        await lock_order(order_id)
        order = await get(order_id)
        if order["status_group"] in FINAL_GROUPS:
            raise Conflict(_("A completed or cancelled order cannot be changed."))
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
        if edit.add:
            start = len(order["lines"])
            await OrderLine.insert(*(line_row(order_id, line, start + i) for i, line in enumerate(edit.add)))
            changes.extend((f"line:{line.name}", 0, line.quantity) for line in edit.add)
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
        if changes:
            await audit.record(
                "order", order_id, "edit", actor_id=actor_id, actor=actor, summary=f"#{order['number']}",
                before={name: before for name, before, _after in changes},
                after={name: after for name, _before, after in changes},
            )  # fmt: skip
        if order["confirmed"] and changes:
            await OrderChange.insert(
                *[
                    OrderChange(
                        order=order_id,
                        at=now,
                        actor_id=actor_id,
                        actor=actor,
                        field=name[:64],
                        before={"value": before},
                        after={"value": after},
                    )
                    for name, before, after in changes
                ]
            )
        if order["customer"] and changes:
            await customers.recompute_totals([order["customer"]])
            await rfm.refresh(customer_ids=[order["customer"]])
            await customers.add_event(
                order["customer"],
                customers.ORDER_EDITED,
                order_id=order_id,
                actor_id=actor_id,
                data={"number": order["number"], "total_minor": total, "currency": order["currency"]},
            )
    return await get(order_id)
