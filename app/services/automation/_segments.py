""" "Customer entered a segment": who joined a watched segment since the last scan.

Dynamic segments are rules, not stored lists, so the scan remembers who it saw in each segment a
rule watches. The first scan of a segment only takes that baseline (everyone already inside has not
"entered" anything); later scans emit one event per newcomer, and a customer who left and comes back
enters again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.services import outbox, segments
from app.tables.automation import AutomationRule, AutomationSegmentSeen, AutomationSegmentWatch
from app.tenancy.runtime import store_transaction


async def watched_segments() -> set[int]:
    rules = (
        await AutomationRule.select(AutomationRule.conditions)
        .where((AutomationRule.event == outbox.SEGMENT_ENTERED) & AutomationRule.active.eq(True))
        .output(load_json=True)
    )
    if any(not (rule["conditions"] or {}).get("segment") for rule in rules):
        return {s["id"] for s in await segments.all_segments()}  # a rule for any segment
    return {int(rule["conditions"]["segment"]) for rule in rules}


async def scan_segments() -> int:
    """Emit ``segment_entered`` for customers new in a watched segment; returns how many."""
    entered = 0
    for segment_id in sorted(await watched_segments()):
        segment = await segments.find(segment_id)
        if segment is None:
            continue
        sql, params = await segments.where_of(segment)
        # The segment's own compiled SQL (fixed text; its values are parameters).
        members = f"FROM customer c WHERE c.merged_into IS NULL AND ({sql})"
        insert = f"INSERT INTO automation_segment_seen (segment, customer) SELECT {{}}, c.id {members}"
        gone = f"DELETE FROM automation_segment_seen s WHERE s.segment = {{}} AND NOT EXISTS (SELECT 1 {members} AND c.id = s.customer)"  # noqa: S608, E501
        async with store_transaction():
            baseline = not await AutomationSegmentWatch.exists().where(AutomationSegmentWatch.segment == segment_id)
            new = await AutomationSegmentSeen.raw(
                insert + " ON CONFLICT (segment, customer) DO NOTHING RETURNING customer", segment_id, *params
            )
            await AutomationSegmentSeen.raw(gone, segment_id, *params)
            if baseline:
                await AutomationSegmentWatch.insert(AutomationSegmentWatch(segment=segment_id, since=datetime.now(UTC)))
                continue
            for row in new:
                await outbox.segment_entered(row["customer"], segment_id, segment["name"])
            entered += len(new)
    return entered
