"""Demo extras for the customer screens: tags and notes, RFM classes, example segments with a size history.

Called after the demo store's orders exist (``autooffice demo``); safe to run again.
"""

from __future__ import annotations

import random

from app import clock
from app.services import customers, segments, stores
from app.tables.customers import Customer, CustomerEvent
from app.tables.segments import Segment, SegmentSnapshot
from app.tenancy.runtime import bind_tenant, lookup_tenant

NOTES = (
    "Просит звонить после 18:00",
    "Любит новинки, предлагать первой",
    "Оптовый покупатель, нужен счёт на юрлицо",
    "Забирает самовывозом",
)

# Customers with three or more non-cancelled orders placed before each day's end: the real history of that
# rule, over the store's last 60 days (its today is a parameter; each day ends at the store's midnight).
_REPEAT_HISTORY = """
SELECT d::date AS day, (SELECT count(*) FROM (SELECT o.customer FROM orders o JOIN order_status s ON s.id = o.status
  WHERE s."group" <> 'cancel' AND o.customer IS NOT NULL
    AND o.created_at < (d::date + 1)::timestamp AT TIME ZONE analytics_tz()
  GROUP BY o.customer HAVING count(*) >= 3) x) AS size
FROM generate_series({}::date - 59, {}::date - 1, interval '1 day') d
"""


async def seed_store(slug: str) -> None:
    """Bind the store and add the extras (the demo command calls this after seeding orders)."""
    tenant = await lookup_tenant(slug, fresh=True)
    if tenant is not None:
        async with bind_tenant(tenant):
            await seed_extras()


async def seed_extras(rng: random.Random | None = None) -> None:
    rng = rng or random.Random(6)
    if not await CustomerEvent.exists().where(CustomerEvent.kind == customers.NOTE):
        top = (
            await Customer.select(Customer.id)
            .where(Customer.orders_count >= 2)
            .order_by(Customer.total_spent_minor, ascending=False)
            .limit(40)
        )
        for index, row in enumerate(top):
            await customers.set_tags(row["id"], "vip" if index < 15 else "постоянный")
            if index % 4 == 0:
                await customers.add_note(row["id"], rng.choice(NOTES), actor_id=None, actor="demo")
    await segments.refresh_all()
    if await Segment.exists():
        return
    repeat, _ = await segments.save(None, "Повторные покупатели", "dynamic", [segments.Rule("orders_count", "gte", 3)])
    await segments.save(
        None, "Чемпионы и лояльные", "dynamic", [segments.Rule("rfm_class", "is", ["champions", "loyal"])]
    )
    await segments.save(None, "Давно не заказывали", "dynamic", [segments.Rule("last_order_days", "over", 90)])
    await segments.save(None, "Обзвон на неделе", "static", [])
    today = clock.today(await stores.store_timezone())
    for row in await Customer.raw(_REPEAT_HISTORY, today, today):
        await SegmentSnapshot.raw(
            "INSERT INTO segment_snapshot (segment, day, size) VALUES ({}, {}, {}) ON CONFLICT DO NOTHING",
            repeat,
            row["day"],
            row["size"],
        )
