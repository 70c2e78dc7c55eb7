"""What a refused request must leave alone: every table of the store's database (and the store's memberships
in the control plane), read straight from PostgreSQL."""

from __future__ import annotations

import time

from app.tables.control import Membership
from app.tables.orders import Order
from app.tenancy import runtime as tenancy


async def _tables() -> list[str]:
    rows = await Order.raw(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'piccolo%' ORDER BY 1"
    )
    return [row["tablename"] for row in rows]


NEWEST = "coalesce(max(x.xmin::text::bigint), 0)::text"
# Tables a plain visit writes to (a member's "seen a minute ago"): their rows are compared without that column.
VOLATILE = {
    "staff_profile": "md5(coalesce(string_agg((to_jsonb(x) - 'last_seen_at')::text, '|' ORDER BY x.id), ''))",
}


def _digest_sql(tables: list[str]) -> str:
    """Per table: its row count and the newest row version (xmin); an insert, update or delete moves one.
    Cheaper than hashing every row, and a rolled-back write leaves both as they were."""
    parts = [f"SELECT '{t}' AS t, count(*) AS n, {VOLATILE.get(t, NEWEST)} AS h FROM \"{t}\" x" for t in tables]
    return " UNION ALL ".join(parts)


class StoreState:
    """Snapshots of one store: ``await state.snapshot()`` gives {table: (rows, digest)}."""

    def __init__(self, tenant: tenancy.TenantInfo) -> None:
        self.tenant = tenant
        self._sql: str | None = None
        self.seconds = 0.0  # spent taking snapshots

    async def snapshot(self) -> dict[str, tuple[int, str]]:
        started = time.monotonic()
        try:
            return await self._snapshot()
        finally:
            self.seconds += time.monotonic() - started

    async def _snapshot(self) -> dict[str, tuple[int, str]]:
        async with tenancy.bind_tenant(self.tenant):
            if self._sql is None:
                self._sql = _digest_sql(await _tables())
            rows = await Order.raw(self._sql)
        members = await Membership.raw(
            "SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws(',', identity, role, active), '|'"
            " ORDER BY identity), '')) AS h FROM membership WHERE tenant = {}",
            self.tenant.id,
        )
        found = {row["t"]: (row["n"], row["h"]) for row in rows}
        found["control.membership"] = (members[0]["n"], members[0]["h"])
        # A refused sign-up or invitation leaves no store and no person behind.
        for table in ("tenant", "identity"):
            row = (await Membership.raw(f"SELECT count(*) AS n, {NEWEST} AS h FROM {table} x"))[0]
            found[f"control.{table}"] = (row["n"], row["h"])
        return found

    async def value(self, sql: str) -> object:
        """One value from the store's database (for filling path parameters)."""
        async with tenancy.bind_tenant(self.tenant):
            rows = await Order.raw(sql)
        if not rows:
            return None
        return next(iter(rows[0].values()))


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]], allowed: frozenset[str]) -> list:
    """Tables whose rows differ, other than those the entry allows a refusal to write."""
    return sorted(t for t in set(before) | set(after) if t not in allowed and before.get(t) != after.get(t))
