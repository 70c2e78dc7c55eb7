"""Applying a parsed feed to the store's catalog: staged with COPY, merged with SQL, all in one transaction.

The same code previews and applies: a preview runs the whole merge and rolls it back, so the counts it
shows are exactly what applying would do. Re-importing an unchanged file updates no row.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import asyncpg

from app.services.imports.merge import MERGE_STEPS, STAGE_DDL, STAGE_TABLES
from app.services.imports.records import (
    Category,
    ImportFileError,
    ImportStream,
    Offer,
    PriceStockUpdate,
    Product,
    RowIssue,
)
from app.tenancy.runtime import store_transaction, transaction_connection

BATCH = 2000
MAX_ISSUES = 10_000
QUEUE_DEPTH = 4


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


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _category_row(r: Category) -> tuple:
    return (r.external_id, r.name[:255], _json(r.names_by_lang), r.parent_external_id, r.line)


def _product_row(r: Product) -> tuple:
    return (
        r.external_id,
        r.name[:500],
        _json(r.names_by_lang),
        r.description,
        _json(r.descriptions_by_lang),
        r.vendor and r.vendor[:255],
        r.vendor_code and r.vendor_code[:255],
        r.category_external_id,
        _json(r.pictures),
        _json([list(p) for p in r.params]),
        r.url,
        r.group_key,
        r.line,
    )


def _offer_row(r: Offer) -> tuple:
    return (
        r.external_id,
        r.product_external_id,
        r.sku and r.sku[:255],
        r.name and r.name[:500],
        r.price_minor,
        r.old_price_minor,
        r.currency,
        r.stock,
        r.available,
        _json([list(p) for p in r.params]),
        _json(r.pictures),
        r.barcode and r.barcode[:64],
        r.line,
    )


def _update_row(r: PriceStockUpdate) -> tuple:
    return (r.offer_external_id, r.price_minor, r.old_price_minor, r.currency, r.stock, r.available, r.line)


ROWS: dict[type, tuple[str, Callable[..., tuple]]] = {
    Category: ("stage_category", _category_row),
    Product: ("stage_product", _product_row),
    Offer: ("stage_offer", _offer_row),
    PriceStockUpdate: ("stage_update", _update_row),
}


async def _batches(stream: ImportStream, cancelled: threading.Event) -> AsyncIterator[list]:
    """Parse in a thread (lxml holds the CPU) while the loop copies the previous batch to PostgreSQL."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_DEPTH)
    context = contextvars.copy_context()  # the parser translates its messages in the store's locale

    def produce() -> None:
        try:
            for batch in stream.batches(BATCH):
                if cancelled.is_set():
                    return
                asyncio.run_coroutine_threadsafe(queue.put(batch), loop).result()
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()
        except BaseException as exc:
            asyncio.run_coroutine_threadsafe(queue.put(exc), loop).result()

    worker = threading.Thread(target=context.run, args=(produce,), daemon=True, name="import-parser")
    worker.start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        cancelled.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            while not queue.empty():
                queue.get_nowait()
            await asyncio.sleep(0.01)


async def _stage(
    conn: asyncpg.Connection, stream: ImportStream, result: ApplyResult, should_stop: Callable[[], bool]
) -> None:
    stop = threading.Event()
    async for batch in _batches(stream, stop):
        if should_stop():
            stop.set()
            raise ImportCancelled()
        grouped: dict[str, list[tuple]] = {}
        for record in batch:
            if isinstance(record, RowIssue):
                result.issue_total += 1
                if len(result.issues) < MAX_ISSUES:
                    result.issues.append(record)
                continue
            table, to_row = ROWS[type(record)]
            grouped.setdefault(table, []).append(to_row(record))
        for table, rows in grouped.items():
            await conn.copy_records_to_table(table, records=rows, columns=STAGE_TABLES[table])


async def apply_stream(
    stream: ImportStream, *, source: str, currency: str, apply: bool, should_stop: Callable[[], bool] = lambda: False
) -> ApplyResult:
    """Stage every record, merge into the catalog, then commit (``apply``) or roll back (preview).

    Raises:
        ImportFileError: the file is broken; nothing was changed.
        ImportCancelled: cancelled; nothing was changed.
    """
    result = ApplyResult()
    try:
        async with store_transaction():
            conn = transaction_connection()
            await conn.execute(STAGE_DDL)
            await _stage(conn, stream, result, should_stop)
            result.is_full = stream.meta.is_full
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
