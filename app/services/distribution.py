"""Who gets a new order: managers on shift, in turn or the least loaded, under the distribution row's lock."""

from __future__ import annotations

from datetime import UTC, datetime

from app.i18n import gettext as _
from app.services._sqlarrays import int_array
from app.tables.stores import Distribution, StaffProfile

MODES = ("off", "round_robin", "least_loaded")


def mode_label(mode: str) -> str:
    return {
        "off": _("Off: new orders stay unassigned"),
        "round_robin": _("In turn (round robin)"),
        "least_loaded": _("To the least loaded (fewest open orders)"),
    }[mode]


async def mode() -> str:
    row = await Distribution.select(Distribution.mode).first()
    return row["mode"] if row else "off"


async def set_mode(new_mode: str) -> tuple[str, str]:
    """Store the mode; returns (before, after). Unknown modes are the caller's to reject."""
    assert new_mode in MODES
    before = await mode()
    # One row by design (the migration inserts it), hence no WHERE.
    updated = await Distribution.update(
        {Distribution.mode: new_mode, Distribution.updated_at: datetime.now(UTC)}, force=True
    ).returning(Distribution.id)
    if not updated:
        await Distribution.insert(Distribution(mode=new_mode, updated_at=datetime.now(UTC)))
    return before, new_mode


async def candidates() -> list[int]:
    """Identity ids of active managers on shift, in a stable order."""
    rows = (
        await StaffProfile.select(StaffProfile.identity_id)
        .where(
            (StaffProfile.role == "manager")
            & (StaffProfile.active == True)  # noqa: E712
            & (StaffProfile.on_shift == True)  # noqa: E712
        )
        .order_by(StaffProfile.identity_id)
    )
    return [row["identity_id"] for row in rows]


def _in_turn(ids: list[int], last: int | None) -> list[int]:
    """``ids`` rotated so the one after ``last`` comes first."""
    if last is None:
        return ids
    after = [i for i in ids if i > last]
    return after + [i for i in ids if i <= last]


async def pick_manager() -> int | None:
    """The manager for a new order, or None (distribution off, nobody on shift).

    Call inside the transaction that creates the order: the distribution row stays locked until it commits,
    so two orders placed at once never read the same "last" manager or the same open-order counts.
    """
    if await mode() == "off":
        return None
    rows = await Distribution.raw("SELECT id, mode, last_identity_id FROM distribution ORDER BY id LIMIT 1 FOR UPDATE")
    if not rows or rows[0]["mode"] == "off":
        return None
    ids = await candidates()
    if not ids:
        return None
    ordered = _in_turn(ids, rows[0]["last_identity_id"])
    chosen = ordered[0]
    if rows[0]["mode"] == "least_loaded":
        loads = {
            row["manager_id"]: row["n"]
            for row in await Distribution.raw(
                "SELECT o.manager_id, count(*) AS n FROM orders o JOIN order_status s ON s.id = o.status"
                " WHERE o.manager_id = ANY({}::text::int[]) AND s.\"group\" NOT IN ('complete', 'cancel')"
                " GROUP BY o.manager_id",
                int_array(ids),
            )
        }
        chosen = min(ordered, key=lambda identity_id: loads.get(identity_id, 0))  # ties: next in turn
    await Distribution.raw(
        "UPDATE distribution SET last_identity_id = {}, updated_at = now() WHERE id = {}", chosen, rows[0]["id"]
    )
    return chosen
