"""Creating orders: numbered, idempotent, the customer found or created."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from app.services import customers, distribution, outbox, rfm
from app.services.orders._model import LineDraft, OrderDraft
from app.services.orders._read import get
from app.tables.orders import Order, OrderChange, OrderLine, OrderStatus
from app.tenancy.runtime import store_transaction


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
        manager_id = await distribution.pick_manager()
        if manager_id is not None:
            await Order.update({Order.manager_id: manager_id}).where(Order.id == order_id)
            # No actor: the card's history reads "automatic distribution".
            await OrderChange.insert(
                OrderChange(
                    order=order_id,
                    at=now,
                    field="manager",
                    before={"value": None},
                    after={"value": manager_id},
                )
            )
        await OrderLine.insert(*[line_row(order_id, line, index) for index, line in enumerate(draft.lines)])
        await customers.record_order(customer_id, total, now)
        if customer_id is not None:
            await rfm.refresh(customer_ids=[customer_id])
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
        await outbox.emit(
            outbox.ORDER_CREATED,
            order_id=order_id,
            customer_id=customer_id,
            data={"total_minor": total, "source": draft.source, "form": draft.form_code, "utm": draft.utm},
        )
    return await get(order_id), True


def line_row(order_id: int, line: LineDraft, position: int) -> OrderLine:
    """An order line that snapshots the product and price as they are now."""
    return OrderLine(
        order=order_id,
        offer_id=line.offer_id,
        name=line.name,
        sku=line.sku,
        price_minor=line.price_minor,
        quantity=line.quantity,
        total_minor=line.price_minor * line.quantity,
        position=position,
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _by_key(key: str) -> dict | None:
    row = await Order.select(Order.id).where(Order.idempotency_key == key).first()
    return await get(row["id"]) if row else None
