"""Applying a parsed feed to the store's catalog: staged with COPY, merged with SQL, all in one transaction.

The same code previews and applies: a preview runs the whole merge and rolls it back, so the counts it
shows are exactly what applying would do. Re-importing an unchanged file updates no row.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from app.i18n.messages import ngettext
from app.services.imports.merge import (
    BATCH_DDL,
    BATCH_PLANNING,
    BATCH_STEPS,
    FINAL_STEPS,
    KEEP_BATCH,
    MERGE_STEPS,
    STAGE_DDL,
    STAGE_TABLES,
    STREAMING_FORMATS,
    WHOLE_FILE_PLANNING,
)
from app.services.imports.pipeline import Batch, StreamSpec, batches
from app.services.imports.records import ImportFileError, RowIssue
from app.tenancy.runtime import store_transaction, transaction_connection

logger = logging.getLogger(__name__)
MAX_ISSUES = 10_000


class ImportCancelled(Exception):
    """Someone pressed Cancel; the transaction is rolled back."""


class _Rollback(Exception):
    """Raised to end a preview's transaction without keeping anything."""


@dataclass
class ApplyResult:
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[RowIssue] = field(default_factory=list)
    issue_total: int = 0
    is_full: bool = False
    applied: bool = False
    late_categories: bool = False  # a streaming merge saw categories after goods


class _StreamingMerge:
    """Merges staged batches into the catalog while the parser reads on (one transaction: still all or nothing).

    Batches collect in ``batch_*`` tables and are merged when they hold at least half as many rows as have
    been merged so far (and ``MIN_MERGE`` at least): each merge hashes the catalog once, so geometric sizes
    keep the total work linear in the file, and the last merge after the parser ends is a small one.
    """

    MIN_MERGE = 5_000

    def __init__(self, conn: asyncpg.Connection, source: str, currency: str, result: ApplyResult) -> None:
        self.conn, self.source, self.currency, self.result = conn, source, currency, result
        self.pending = self.merged = 0
        self.goods_merged = False

    async def add(self, batch: Batch) -> None:
        if "stage_category" in batch.tables and self.goods_merged:
            self.result.late_categories = True  # categories after goods: linked at the end
        self.pending += batch.rows
        if self.pending >= max(self.MIN_MERGE, self.merged // 2):
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        await _run_steps(self.conn, BATCH_STEPS, self.source, self.currency, self.result.counts)
        await self.conn.execute(KEEP_BATCH)
        self.merged += self.pending
        self.pending = 0
        self.goods_merged = True


async def _stage(
    conn: asyncpg.Connection,
    spec: StreamSpec,
    result: ApplyResult,
    progress: list[int],
    should_stop: Callable[[], bool],
    use_process: bool | None,
    streaming: _StreamingMerge | None = None,
) -> None:
    """COPY every batch into the stage tables, or hand it to ``streaming`` to merge as the file is read."""
    stop = threading.Event()
    async for item in batches(spec, stop, use_process=use_process):
        progress[0] = item.progress
        if not isinstance(item, Batch):
            result.is_full = item.is_full
            if streaming:
                await streaming.flush()
            return
        if should_stop():
            raise ImportCancelled()
        result.issue_total += len(item.issues)
        result.issues.extend(item.issues[: max(0, MAX_ISSUES - len(result.issues))])
        for table, data in item.tables.items():
            target = table.replace("stage_", "batch_") if streaming else table
            await conn.copy_to_table(target, source=io.BytesIO(data), columns=STAGE_TABLES[table], format="csv")
        if streaming:
            await streaming.add(item)


async def apply_stream(
    spec: StreamSpec,
    *,
    source: str,
    currency: str,
    apply: bool,
    progress: list[int] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    use_process: bool | None = None,
) -> ApplyResult:
    """Stage every record, merge into the catalog, then commit (``apply``) or roll back (preview).

    Raises:
        ImportFileError: the file is broken; nothing was changed.
        ImportCancelled: cancelled; nothing was changed.
    """
    result = ApplyResult()
    progress = progress if progress is not None else [0]
    try:
        async with store_transaction():
            conn = transaction_connection()
            await conn.execute(STAGE_DDL)
            streaming = spec.fmt in STREAMING_FORMATS
            if streaming:
                await conn.execute(BATCH_DDL)
                await conn.execute(BATCH_PLANNING)  # until the whole-file steps
            started = time.perf_counter()
            merger = _StreamingMerge(conn, source, currency, result) if streaming else None
            await _stage(conn, spec, result, progress, should_stop, use_process, merger)
            logger.debug("staging took %.3fs", time.perf_counter() - started)
            # Temp tables have no statistics until analysed; without them the merge plans nested loops.
            await conn.execute("ANALYZE stage_category, stage_product, stage_offer, stage_update")
            result.counts.update(await _stage_counts(conn))
            if streaming:
                await conn.execute(WHOLE_FILE_PLANNING)
                await _finish(conn, source, currency, result)
            else:
                await _merge(conn, source, currency, result)
            _report_counts(result, currency)
            if not apply:
                raise _Rollback()
            result.applied = True
    except _Rollback:
        pass
    return result


async def _run_steps(
    conn: asyncpg.Connection, steps: list[tuple[str, str, str]], source: str, currency: str, counts: dict[str, int]
) -> None:
    """Run merge steps, adding their row counts to ``counts`` (so per-batch runs sum up)."""
    for name, sql, kind in steps:
        started = time.perf_counter()
        args = tuple(value for index, value in enumerate((source, currency), 1) if f"${index}" in sql)
        if kind == "upsert":
            rows = await conn.fetch(sql + " RETURNING (xmax = 0) AS inserted", *args)
            new = sum(1 for row in rows if row["inserted"])
            counts[f"{name}_new"] = counts.get(f"{name}_new", 0) + new
            counts[f"{name}_changed"] = counts.get(f"{name}_changed", 0) + len(rows) - new
        elif kind == "scalar":
            counts[name] = counts.get(name, 0) + int(await conn.fetchval(sql, *args))
        else:
            status = await conn.execute(sql, *args)
            counts[name] = counts.get(name, 0) + int(status.rsplit(" ", 1)[-1])
        logger.debug("merge step %s took %.3fs", name, time.perf_counter() - started)


async def _merge(conn: asyncpg.Connection, source: str, currency: str, result: ApplyResult) -> None:
    steps = [step for step in MERGE_STEPS if step[0] != "marked_unavailable" or result.is_full]
    await _run_steps(conn, steps, source, currency, result.counts)
    _unchanged(result.counts)


async def _finish(conn: asyncpg.Connection, source: str, currency: str, result: ApplyResult) -> None:
    """The whole-file steps of a streaming merge."""
    steps = [
        step
        for step in FINAL_STEPS
        if (step[0] != "marked_unavailable" or result.is_full)
        and (step[0] != "late_category_links" or result.late_categories)
    ]
    await _run_steps(conn, steps, source, currency, result.counts)
    result.counts.pop("late_category_links", None)
    for name in ("categories", "products", "offers"):
        for suffix in ("_new", "_changed"):
            result.counts.setdefault(name + suffix, 0)
    for name in ("offers_matched_by_sku", "offers_without_product", "updates_not_found", "offers_updated"):
        result.counts.setdefault(name, 0)
    _unchanged(result.counts)


def _report_counts(result: ApplyResult, currency: str) -> None:
    """What the whole file lands differently from how it reads goes first in the row report, with exact counts."""
    counts, found = result.counts, []
    if num := counts.get("price_on_request", 0):
        message = ngettext(
            "%(num)s product has no price: it is listed as price on request and cannot be ordered until priced.",
            "%(num)s products have no price: they are listed as price on request and cannot be ordered until priced.",
            num,
        )
        found.append(RowIssue(None, "price", "price_on_request", message, "warning"))
    if num := counts.get("currency_assumed", 0):
        message = ngettext(
            "%(num)s price has no currency; the store's currency %(currency)s is assumed.",
            "%(num)s prices have no currency; the store's currency %(currency)s is assumed.",
            num,
            currency=currency,
        )
        found.append(RowIssue(None, "currency", "currency_assumed", message, "warning"))
    result.issues[:0] = found
    result.issue_total += len(found)


def _unchanged(counts: dict[str, int]) -> None:
    counts["offers_unchanged"] = max(
        0, counts["offers_in_file"] - counts["offers_new"] - counts["offers_changed"] - counts["offers_without_product"]
    )


async def _stage_counts(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(DISTINCT external_id) FROM stage_category) AS categories_in_file,"
        " (SELECT count(DISTINCT external_id) FROM stage_product) AS products_in_file,"
        " (SELECT count(DISTINCT external_id) FROM stage_offer) AS offers_in_file,"
        " (SELECT count(DISTINCT external_id) FROM stage_update) AS updates_in_file"
    )
    return dict(row)


__all__ = ["ApplyResult", "ImportCancelled", "ImportFileError", "apply_stream"]
