"""Creating orders: numbered, idempotent, the customer found or created."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import NotFound
from app.i18n import gettext as _
from app.services import customers, distribution, outbox, rfm
from app.services.orders._model import LineDraft, OrderDraft
from app.services.orders._read import get
from app.tables.orders import Order, OrderChange, OrderLine
from app.tenancy.runtime import current_tenant, store_atomic


@dataclass(frozen=True)
class PlacedOrder:
    """What placing an order tells the caller without reading it back."""

    id: int
    token: str
    number: str
    customer_id: int | None


class _Replayed(Exception):
    """The idempotency key already has an order: undo this attempt's customer upsert."""


async def create_order(draft: OrderDraft) -> tuple[dict, bool]:
    """The order for this draft (read back whole) and whether it is new."""
    placed, created = await place_order(draft)
    return await get(placed.id), created


async def place_order(draft: OrderDraft, *, manager_id: int | None = None) -> tuple[PlacedOrder, bool]:
    """Place the order for this draft; a repeated idempotency key gives the first order and ``False``.

    ``manager_id``: the order is theirs from the start (a member limited to own orders who takes an order
    must be able to open it); otherwise the distribution picks a manager.

    The order row is written by one statement that also draws its number and its first status, and
    that writes nothing (drawing no number, so no gap) when the key is already taken; a submission
    racing this one still meets the key's unique index, and then this attempt is rolled back whole.
    """
    now = datetime.now(UTC)
    subtotal = sum(line.price_minor * line.quantity for line in draft.lines)
    total = max(0, subtotal - draft.discount_minor) + draft.delivery_minor
    token = secrets.token_urlsafe(24)
    try:
        async with store_atomic():  # a savepoint when nested: a replay undoes its customer upsert
            customer_id = await customers.find_or_create(
                name=draft.customer_name,
                phone=draft.phone,
                email=draft.email,
                source=draft.source,
                utm=draft.utm,
                order=(total, now),
            )
            rows = await Order.raw(
                _INSERT,
                token,
                draft.idempotency_key,
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
                draft.locale or current_tenant().locale,
                now,
                now,
                draft.idempotency_key,
            )
            if not rows:
                raise _Replayed
            order_id, number = rows[0]["id"], rows[0]["number"]
            picked = manager_id if manager_id is not None else await distribution.pick_manager()
            if picked is not None:
                await Order.update({Order.manager_id: picked}).where(Order.id == order_id)
                # No actor when the distribution chose: the card's history reads "automatic distribution".
                await OrderChange.insert(
                    OrderChange(
                        order=order_id,
                        at=now,
                        actor_id=manager_id,
                        field="manager",
                        before={"value": None},
                        after={"value": picked},
                    )
                )
            await OrderLine.insert(*[line_row(order_id, line, index) for index, line in enumerate(draft.lines)])
            if customer_id is not None:
                await rfm.refresh(customer_ids=[customer_id])
            await customers.add_event(
                customer_id,
                customers.ORDER_PLACED,
                order_id=order_id,
                data={"number": number, "total_minor": total, "currency": draft.currency, "source": draft.source},
            )
            await outbox.emit(
                outbox.ORDER_CREATED,
                order_id=order_id,
                customer_id=customer_id,
                data={"total_minor": total, "source": draft.source, "form": draft.form_code, "utm": draft.utm},
            )
    except _Replayed:
        first = (
            await Order.select(Order.id, Order.token, Order.number, Order.customer)
            .where(Order.idempotency_key == draft.idempotency_key)
            .first()
        )
        if first is None:  # the first order was deleted in the meantime
            raise NotFound(_("This order does not exist.")) from None
        return PlacedOrder(first["id"], first["token"], first["number"], first["customer"]), False
    return PlacedOrder(order_id, token, number, customer_id), True


_INSERT = (
    "INSERT INTO orders (number, token, idempotency_key, status, customer, customer_name, phone, email,"
    " currency, subtotal_minor, discount_minor, delivery_minor, total_minor, delivery_method, delivery_name,"
    " delivery_address, source, form_code, utm, fields, comment, locale, confirmed, created_at, updated_at)"
    " SELECT nextval('order_number_seq')::text, {}, {},"
    " (SELECT id FROM order_status WHERE \"group\" = 'new' ORDER BY position LIMIT 1),"
    " {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb, {}, {}, false, {}, {}"
    " WHERE NOT EXISTS (SELECT 1 FROM orders WHERE idempotency_key = {})"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, number"
)


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
