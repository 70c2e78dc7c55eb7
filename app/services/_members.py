"""Who works in the current store: a minimal stand-in for ``services.staff`` (issue 7, staff half).

It reads the control plane's memberships of the bound store; ``services.staff`` replaces it once it
lands on main (same names: ``members()``, ``assign_order()``, ``Member``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import NotFound
from app.i18n import gettext as _
from app.services.orders._read import lock_order
from app.tables.control import Membership
from app.tables.orders import Order, OrderChange
from app.tenancy.runtime import current_tenant, store_transaction


@dataclass(frozen=True)
class Member:
    identity_id: int
    name: str
    email: str
    role: str
    scope: str = "all"
    on_shift: bool = True
    active: bool = True


async def members(active_only: bool = True) -> list[Member]:
    query = Membership.select(
        Membership.identity.id.as_alias("identity_id"),
        Membership.identity.name.as_alias("name"),
        Membership.identity.email.as_alias("email"),
        Membership.role,
        Membership.active,
    ).where(Membership.tenant == current_tenant().id)
    if active_only:
        query = query.where(Membership.active == True)  # noqa: E712
    rows = await query.order_by(Membership.identity.email)
    return [Member(**row) for row in rows]


async def assign_order(order_id: int, identity_id: int | None, *, actor_id: int | None) -> None:
    """Make ``identity_id`` the order's manager (audited).

    Raises:
        NotFound: the person is not a member of this store.
    """
    if identity_id is not None and identity_id not in {m.identity_id for m in await members()}:
        raise NotFound(_("This person is not a member of the store."))
    async with store_transaction():
        await lock_order(order_id)
        row = await Order.select(Order.manager_id).where(Order.id == order_id).first()
        if row is None:
            raise NotFound(_("This order does not exist."))
        if row["manager_id"] == identity_id:
            return
        now = datetime.now(UTC)
        await Order.update({Order.manager_id: identity_id, Order.updated_at: now}).where(Order.id == order_id)
        await OrderChange.insert(
            OrderChange(
                order=order_id,
                at=now,
                actor_id=actor_id,
                actor="",
                field="manager",
                before={"id": row["manager_id"]},
                after={"id": identity_id},
            )
        )
