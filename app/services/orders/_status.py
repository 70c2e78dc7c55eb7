"""Statuses and moving an order between them, with the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from app.errors import Conflict, NotFound
from app.i18n import gettext as _
from app.services import customers
from app.services.orders._model import FINAL_GROUPS
from app.services.orders._read import get
from app.tables.orders import Order, OrderChange, OrderStatus
from app.tenancy.runtime import store_transaction


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
