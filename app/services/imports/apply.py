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

from app.services.imports.merge import MERGE_STEPS, STAGE_DDL, STAGE_TABLES
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


async def _stage(
    conn: asyncpg.Connection,
    spec: StreamSpec,
    result: ApplyResult,
    progress: list[int],
    should_stop: Callable[[], bool],
    use_process: bool | None,
) -> None:
    stop = threading.Event()
    async for item in batches(spec, stop, use_process=use_process):
        progress[0] = item.progress
        if not isinstance(item, Batch):
            result.is_full = item.is_full
            return
        if should_stop():
            raise ImportCancelled()
        result.issue_total += len(item.issues)
        result.issues.extend(item.issues[: max(0, MAX_ISSUES - len(result.issues))])
        for table, data in item.tables.items():
            await conn.copy_to_table(table, source=io.BytesIO(data), columns=STAGE_TABLES[table], format="csv")


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
            started = time.perf_counter()
            await _stage(conn, spec, result, progress, should_stop, use_process)
            logger.debug("staging took %.3fs", time.perf_counter() - started)
            # Temp tables have no statistics until analysed; without them the merge plans nested loops.
            await conn.execute("ANALYZE stage_category, stage_product, stage_offer, stage_update")
            result.counts.update(await _stage_counts(conn))
            await _merge(conn, source, currency, result)
            if not apply:
                raise _Rollback()
            result.applied = True
    except _Rollback:
        pass
    return result


async def _merge(conn: asyncpg.Connection, source: str, currency: str, result: ApplyResult) -> None:
    counts = result.counts
    for name, sql, kind in MERGE_STEPS:
        if name == "marked_unavailable" and not result.is_full:
            continue
        started = time.perf_counter()
        args = tuple(value for index, value in enumerate((source, currency), 1) if f"${index}" in sql)
        if kind == "upsert":
            rows = await conn.fetch(sql + " RETURNING (xmax = 0) AS inserted", *args)
            counts[f"{name}_new"] = sum(1 for row in rows if row["inserted"])
            counts[f"{name}_changed"] = len(rows) - counts[f"{name}_new"]
        elif kind == "scalar":
            counts[name] = int(await conn.fetchval(sql, *args))
        else:
            status = await conn.execute(sql, *args)
            counts[name] = int(status.rsplit(" ", 1)[-1])
        logger.debug("merge step %s took %.3fs", name, time.perf_counter() - started)
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
