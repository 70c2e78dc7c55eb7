"""The store's staff: members, roles and record scope, shifts, assignment of orders (invitations: ``invitations``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.errors import NotFound, ValidationFailed
from app.forms.staff import MemberData
from app.i18n import gettext as _
from app.services import audit, distribution
from app.services.orders._read import lock_order
from app.tables.control import Membership
from app.tables.orders import Order, OrderChange
from app.tables.stores import StaffProfile
from app.tenancy.runtime import store_transaction

ROLES = ("owner", "admin", "manager", "operator", "analyst")
SCOPES = ("all", "own")


@dataclass(frozen=True)
class Member:
    identity_id: int
    name: str
    email: str
    role: str
    scope: str
    on_shift: bool
    active: bool
    last_seen_at: datetime | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.email


def role_label(role: str) -> str:
    return {
        "owner": _("Owner"), "admin": _("Administrator"), "manager": _("Manager"),
        "operator": _("Operator"), "analyst": _("Analyst"),
    }.get(role, role)  # fmt: skip


def scope_label(scope: str) -> str:
    return {"all": _("All orders"), "own": _("Own orders only")}.get(scope, scope)


_COLUMNS = (
    StaffProfile.identity_id,
    StaffProfile.name,
    StaffProfile.email,
    StaffProfile.role,
    StaffProfile.scope,
    StaffProfile.on_shift,
    StaffProfile.active,
    StaffProfile.last_seen_at,
)


async def members(active_only: bool = True) -> list[Member]:
    """The store's members (by role, then name); deactivated ones too unless ``active_only``."""
    query = StaffProfile.select(*_COLUMNS)
    if active_only:
        query = query.where(StaffProfile.active == True)  # noqa: E712
    rows = await query.order_by(StaffProfile.id)
    found = [Member(**row) for row in rows]
    return sorted(found, key=lambda m: (ROLES.index(m.role) if m.role in ROLES else 9, m.display_name.lower()))


async def member(identity_id: int) -> Member | None:
    row = await StaffProfile.select(*_COLUMNS).where(StaffProfile.identity_id == identity_id).first()
    return Member(**row) if row else None


async def names() -> dict[int, str]:
    """Identity id → the name to show, for every member ever (old orders keep their manager's name)."""
    return {m.identity_id: m.display_name for m in await members(active_only=False)}


SEEN_EVERY = timedelta(minutes=5)


async def seen(identity_id: int, last_seen_at: datetime | None) -> None:
    """Note that a member used the store now (at most once a few minutes, to spare writes). With the
    ``last_seen_at`` the request already read, a recent visit costs no query at all."""
    if last_seen_at is not None and datetime.now(UTC) - last_seen_at < SEEN_EVERY:
        return
    await StaffProfile.raw(
        "UPDATE staff_profile SET last_seen_at = now() WHERE identity_id = {}"
        " AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => {}))",
        identity_id,
        int(SEEN_EVERY.total_seconds()),
    )


async def assign_order(order_id: int, identity_id: int | None, *, actor_id: int | None) -> None:
    """Make ``identity_id`` (an active member; None: nobody) the order's manager, with history and audit.

    Raises:
        NotFound: no such order.
        ValidationFailed: ``identity_id`` is not an active member of this store.
    """
    target = await member(identity_id) if identity_id is not None else None
    if identity_id is not None and (target is None or not target.active):
        raise ValidationFailed({"manager": _("Choose an active member of staff.")})
    actor = await member(actor_id) if actor_id is not None else None
    actor_name = actor.display_name if actor else ""
    async with store_transaction():
        await lock_order(order_id)
        row = await Order.select(Order.manager_id, Order.number).where(Order.id == order_id).first()
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
                actor=actor_name,
                field="manager",
                before={"value": row["manager_id"]},
                after={"value": identity_id},
            )
        )
        await audit.record(
            "order",
            order_id,
            "assign",
            actor_id=actor_id,
            actor=actor_name,
            summary=f"#{row['number']} → {target.display_name if target else '—'}",
            before={"manager_id": row["manager_id"]},
            after={"manager_id": identity_id},
        )


# --- members: role, scope, shift, deactivation ---------------------------------------------------------------


async def actor_name(actor_id: int | None) -> str:
    actor = await member(actor_id) if actor_id is not None else None
    return actor.display_name if actor else ""


async def update_member(
    tenant_id: int, identity_id: int, data: MemberData, *, actor_id: int, actor_role: str
) -> Member:
    """Change a member's role, scope, shift or active flag (in the store and in the control plane).

    Raises:
        NotFound: not a member of this store.
        ValidationFailed: an admin touching an owner or admin, or the last active owner losing the role.
    """
    async with store_transaction():
        # Lock the owners' rows: two owners demoting each other at once cannot leave the store without one.
        owners = await StaffProfile.raw(
            "SELECT identity_id FROM staff_profile WHERE role = 'owner' AND active ORDER BY id FOR UPDATE"
        )
        target = await member(identity_id)
        if target is None:
            raise NotFound(_("This member of staff does not exist."))
        privileged = {"owner", "admin"}
        if actor_role != "owner" and (target.role in privileged or data.role in privileged):
            raise ValidationFailed({"role": _("Only the owner can change administrators and owners.")})
        losing_owner = target.role == "owner" and target.active and (data.role != "owner" or not data.active)
        if losing_owner and len(owners) <= 1:
            raise ValidationFailed({"role": _("The store needs an active owner. Make someone else owner first.")})
        after = {"role": data.role, "scope": data.scope, "on_shift": data.on_shift, "active": data.active}
        before = {"role": target.role, "scope": target.scope, "on_shift": target.on_shift, "active": target.active}
        await StaffProfile.update(
            {
                StaffProfile.role: data.role,
                StaffProfile.scope: data.scope,
                StaffProfile.on_shift: data.on_shift,
                StaffProfile.active: data.active,
            }
        ).where(StaffProfile.identity_id == identity_id)
        await audit.record_changes(
            "staff", identity_id, "update", before, after,
            actor_id=actor_id, actor=await actor_name(actor_id), summary=target.email,
        )  # fmt: skip
        # Last: if the control plane refuses, the store's transaction rolls back with it.
        await Membership.update({Membership.role: data.role, Membership.active: data.active}).where(
            (Membership.identity == identity_id) & (Membership.tenant == tenant_id)
        )
    updated = await member(identity_id)
    assert updated is not None
    return updated


async def set_shift(identity_id: int, on_shift: bool, *, actor_id: int) -> None:
    async with store_transaction():
        target = await member(identity_id)
        if target is None:
            raise NotFound(_("This member of staff does not exist."))
        await StaffProfile.update({StaffProfile.on_shift: on_shift}).where(StaffProfile.identity_id == identity_id)
        await audit.record_changes(
            "staff", identity_id, "shift", {"on_shift": target.on_shift}, {"on_shift": on_shift},
            actor_id=actor_id, actor=await actor_name(actor_id), summary=target.email,
        )  # fmt: skip


async def set_distribution(new_mode: str, *, actor_id: int | None) -> None:
    async with store_transaction():
        before, after = await distribution.set_mode(new_mode)
        await audit.record_changes(
            "settings", "distribution", "update", {"mode": before}, {"mode": after},
            actor_id=actor_id, actor=await actor_name(actor_id), summary=_("Order distribution"),
        )  # fmt: skip
