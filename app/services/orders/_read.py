"""Reading one order with its status, lines and history."""

from __future__ import annotations

from app.errors import NotFound
from app.i18n import gettext as _
from app.tables.orders import Order, OrderChange, OrderLine


async def get(order_id: int, *, only_manager: int | None = None) -> dict:
    """An order with its status, lines and history; ``only_manager`` hides orders of other managers.

    Raises:
        NotFound: no such order in this store (or it belongs to another manager).
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
    if order is None or (only_manager is not None and order["manager_id"] != only_manager):
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


async def locale_by_token(token: str) -> str:
    """The language the order behind this shopper link was placed in.

    Raises:
        NotFound: no order has this link.
    """
    row = await Order.select(Order.locale).where(Order.token == token[:64]).first()
    if row is None:
        raise NotFound(_("This order does not exist."))
    return row["locale"]


async def lock_order(order_id: int) -> None:
    """Lock the order row for the rest of the current transaction (status moves and edits queue up)."""
    await Order.raw("SELECT id FROM orders WHERE id = {} FOR UPDATE", order_id)
