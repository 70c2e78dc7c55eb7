"""Staff results for a period: per manager, orders handled, paid conversion, revenue, response time, overdue tasks.

"Handled" means orders created in the period whose manager is that person; "paid" means the order has a
payment that went through; the response time runs from the order's creation to its first status change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app import clock
from app.forms import rules
from app.services import staff, stores
from app.tables.orders import Order

PERIODS = (7, 30, 90, 365)

_SQL = """
WITH handled AS (
  SELECT o.id, o.manager_id, o.total_minor, o.created_at,
    EXISTS (SELECT 1 FROM payment p WHERE p."order" = o.id AND p.paid_at IS NOT NULL) AS paid,
    (SELECT min(c.at) FROM order_change c WHERE c."order" = o.id AND c.field = 'status') AS first_move
  FROM orders o WHERE o.manager_id IS NOT NULL AND o.created_at >= {}
)
SELECT manager_id, count(*) AS handled, count(*) FILTER (WHERE paid) AS paid,
  coalesce(sum(total_minor) FILTER (WHERE paid), 0) AS revenue_minor,
  avg(extract(epoch FROM first_move - created_at)) FILTER (WHERE first_move IS NOT NULL) AS response_seconds
FROM handled GROUP BY manager_id
"""

_DAILY = """
SELECT manager_id, (created_at AT TIME ZONE {})::date AS day, count(*) AS n FROM orders
WHERE manager_id IS NOT NULL AND created_at >= {} GROUP BY 1, 2
"""

_OVERDUE = """
SELECT assignee_id, count(*) AS n FROM task WHERE status = 'open' AND due_at < {} AND assignee_id IS NOT NULL
GROUP BY 1
"""


@dataclass(frozen=True)
class Row:
    identity_id: int
    name: str
    handled: int
    paid: int
    revenue_minor: int
    response_seconds: float | None
    overdue_tasks: int

    @property
    def conversion(self) -> float:
        return self.paid / self.handled if self.handled else 0.0


@dataclass(frozen=True)
class Results:
    days: int
    rows: list[Row]
    labels: list[date]
    daily: dict[str, list[int]]  # person's name → orders handled per day


def parse_days(text: str | None) -> int:
    days = rules.record_id(text)
    return days if days in PERIODS else 30


async def results(days: int) -> Results:
    zone = await stores.store_timezone()
    today = clock.today(zone)
    labels = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = clock.day_start(labels[0], zone)  # the store's days, not the UTC ones
    people = {m.identity_id: m for m in await staff.members(active_only=False)}
    stats = {row["manager_id"]: row for row in await Order.raw(_SQL, since)}
    overdue = {row["assignee_id"]: row["n"] for row in await Order.raw(_OVERDUE, clock.now())}
    ids = sorted(set(stats) | set(overdue) | {pid for pid, m in people.items() if m.active})

    def name(pid: int) -> str:
        person = people.get(pid)
        return (person.name or person.email) if person else f"#{pid}"

    rows = [
        Row(
            pid,
            name(pid),
            int(stats.get(pid, {}).get("handled") or 0),
            int(stats.get(pid, {}).get("paid") or 0),
            int(stats.get(pid, {}).get("revenue_minor") or 0),
            float(stats[pid]["response_seconds"]) if stats.get(pid, {}).get("response_seconds") is not None else None,
            int(overdue.get(pid, 0)),
        )
        for pid in ids
    ]
    rows.sort(key=lambda r: (-r.revenue_minor, -r.handled, r.name))
    index = {day: i for i, day in enumerate(labels)}
    daily: dict[str, list[int]] = {}
    for row in await Order.raw(_DAILY, zone, since):
        if row["day"] in index:
            series = daily.setdefault(name(row["manager_id"]), [0] * len(labels))
            series[index[row["day"]]] += row["n"]
    return Results(days, rows, labels, daily)
