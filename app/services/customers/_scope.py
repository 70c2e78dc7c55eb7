"""A member limited to own orders sees customers through those orders only: figures counted from them.

The customer row's ``orders_count``, ``total_spent_minor``, ``first_order_at`` and ``last_order_at`` count
every order of the store; for such a member they are computed from the member's own orders instead, with
the same rule (every order that is not cancelled, see ``_identity._RECOMPUTE``).
"""

from __future__ import annotations

import re

from app.tables.orders import Order

FIGURES = ("orders_count", "total_spent_minor", "first_order_at", "last_order_at")
# One row per customer who has at least one order of the manager (a cancelled one included).
OWN_FIGURES = (
    "SELECT o.customer, count(*) FILTER (WHERE s.\"group\" <> 'cancel') AS orders_count,"
    " coalesce(sum(o.total_minor) FILTER (WHERE s.\"group\" <> 'cancel'), 0)::bigint AS total_spent_minor,"
    " min(o.created_at) FILTER (WHERE s.\"group\" <> 'cancel') AS first_order_at,"
    " max(o.created_at) FILTER (WHERE s.\"group\" <> 'cancel') AS last_order_at"
    " FROM orders o JOIN order_status s ON s.id = o.status"
    " WHERE o.manager_id = {}::int AND o.customer IS NOT NULL"
)
_COLUMN = re.compile(r"\bc\.(" + "|".join(FIGURES) + r")\b")


def scoped(sql: str) -> str:
    """``sql`` over ``customer c`` with the figure columns read from the joined own-orders row ``m``."""
    return _COLUMN.sub(r"m.\1", sql)


def joined_from() -> str:
    """``FROM`` for the customer list of a limited member (one parameter: the manager's identity id)."""
    return f"customer c JOIN ({OWN_FIGURES} GROUP BY o.customer) m ON m.customer = c.id"


_NONE = {"orders_count": 0, "total_spent_minor": 0, "first_order_at": None, "last_order_at": None}


async def own_figures_of(customer_ids: list[int], manager_id: int) -> dict[int, dict]:
    """The figures of each customer with an own order of ``manager_id`` (customers without one are absent)."""
    rows = await Order.raw(
        f"{OWN_FIGURES} AND o.customer = ANY({{}}::int[]) GROUP BY o.customer", manager_id, customer_ids
    )
    return {row["customer"]: {key: row[key] for key in FIGURES} for row in rows}


async def own_figures(customer_id: int, manager_id: int) -> dict:
    return (await own_figures_of([customer_id], manager_id)).get(customer_id, dict(_NONE))
