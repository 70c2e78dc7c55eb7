"""Statuses and moving an order between them, with the audit trail."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from app.errors import Conflict, NotFound
from app.i18n import LOCALES
from app.i18n import gettext as _
from app.services import audit, customers, outbox, rfm
from app.services.orders._model import FINAL_GROUPS, GROUPS
from app.services.orders._read import get, lock_order
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
    target = await OrderStatus.select().where(OrderStatus.code == code).output(load_json=True).first()
    if target is None:
        raise NotFound(_("This status does not exist."))
    now = datetime.now(UTC)
    async with store_transaction():
        # The row lock makes concurrent moves queue; each re-checks the status it finds.
        await lock_order(order_id)
        order = await get(order_id)
        current = (
            await OrderStatus.select().where(OrderStatus.code == order["status_code"]).output(load_json=True).first()
        )
        if target["code"] == current["code"]:
            return order
        if current["group"] in FINAL_GROUPS or (current["allowed"] and target["code"] not in current["allowed"]):
            raise Conflict(_("An order cannot move from this status to that one."))
        confirmed = order["confirmed"] or target["group"] != "new"
        await Order.update({Order.status: target["id"], Order.updated_at: now, Order.confirmed: confirmed}).where(
            Order.id == order_id
        )
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
        if "cancel" in (current["group"], target["group"]) and order["customer"]:
            await customers.recompute_totals([order["customer"]])
            await rfm.refresh(customer_ids=[order["customer"]])
        await audit.record(
            "order", order_id, "status", actor_id=actor_id, actor=actor, summary=f"#{order['number']}",
            before={"status": current["code"]}, after={"status": target["code"]},
        )  # fmt: skip
        await outbox.emit(
            outbox.STATUS_CHANGED,
            order_id=order_id,
            customer_id=order["customer"],
            data={"from": current["code"], "to": target["code"]},
        )
    return await get(order_id)


_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


async def all_statuses() -> list[dict]:
    return await OrderStatus.select().order_by(OrderStatus.position).output(load_json=True)


def _status_fields(raw: Mapping[str, str], codes: set[str], errors: dict[str, str]) -> dict:
    names = {loc: (raw.get(f"name_{loc}") or "").strip()[:100] for loc in LOCALES}
    if not any(names.values()):
        errors["name_en"] = _("This field is required.")
    color = (raw.get("color") or "#6366f1").strip()
    if not _COLOR.match(color):
        errors["color"] = _("Choose a colour like #4338ca.")
    allowed = [code for code in codes if raw.get(f"allow_{code}") in ("on", "true", "1")]
    fallback = next((v for v in names.values() if v), "")
    return {
        "names": {loc: v or fallback for loc, v in names.items()},
        "name": names.get("en") or fallback,
        "color": color,
        "allowed": sorted(allowed),
    }


async def create_status(raw: Mapping[str, str], *, actor_id: int | None = None, actor: str = "") -> dict[str, str]:
    """Add a store status in one of the fixed groups; returns errors (empty when created)."""
    errors: dict[str, str] = {}
    existing = {s["code"] for s in await all_statuses()}
    code = (raw.get("code") or "").strip().lower()
    if not _CODE.match(code):
        errors["code"] = _("Use 2–32 Latin letters, digits, '-' or '_', starting with a letter.")
    elif code in existing:
        errors["code"] = _("A status with this code exists.")
    group = raw.get("group") or ""
    if group not in GROUPS:
        errors["group"] = _("Choose one of the offered options.")
    fields = _status_fields(raw, existing, errors)
    if errors:
        return errors
    position = max([s["position"] for s in await all_statuses()] or [0]) + 5
    async with store_transaction():
        await OrderStatus.insert(OrderStatus(code=code, group=group, position=position, active=True, **fields))
        await audit.record(
            "settings", f"status:{code}", "create", actor_id=actor_id, actor=actor, summary=_("Order statuses"),
            after={"code": code, "group": group, **fields},
        )  # fmt: skip
    return {}


async def update_status(
    code: str, raw: Mapping[str, str], *, actor_id: int | None = None, actor: str = ""
) -> dict[str, str]:
    """Rename, recolour, switch off or change where a status may lead; its group stays."""
    statuses = await all_statuses()
    if code not in {s["code"] for s in statuses}:
        raise NotFound(_("This status does not exist."))
    errors: dict[str, str] = {}
    fields = _status_fields(raw, {s["code"] for s in statuses} - {code}, errors)
    if errors:
        return errors
    active = raw.get("active") in ("on", "true", "1")
    before = next(s for s in statuses if s["code"] == code)
    async with store_transaction():
        await OrderStatus.update(
            {**{getattr(OrderStatus, k): v for k, v in fields.items()}, OrderStatus.active: active}
        ).where(OrderStatus.code == code)
        await audit.record_changes(
            "settings", f"status:{code}", "update", before, {**fields, "active": active},
            actor_id=actor_id, actor=actor, summary=_("Order statuses"),
        )  # fmt: skip
    return {}
