"""Segment export to CSV and XLSX, read in batches by id so a large segment never sits in memory whole."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime

from openpyxl import Workbook

from app.i18n import gettext as _
from app.i18n import local_datetime, minor_to_plain
from app.services import spreadsheet
from app.services.customers._lists import Clause
from app.tables.customers import Customer

BATCH = 2000
_SELECT = (
    "SELECT c.id, c.name, c.phone, c.email, c.city, c.source, c.tags, c.orders_count, c.total_spent_minor,"
    " c.first_order_at, c.last_order_at, c.rfm_class FROM customer c"
)


def headers() -> list[str]:
    return [
        "id",
        _("Full name"),
        _("Phone"),
        _("E-mail"),
        _("City"),
        _("Source"),
        _("Tags"),
        _("Orders"),
        _("Total spent"),
        _("First order"),
        _("Last order"),
        _("RFM class"),
    ]


def _day(value: datetime | None) -> str:
    """The store's calendar day of an instant (the zone the request or job is bound to), as ISO."""
    return local_datetime(value).date().isoformat() if value else ""


async def rows(where: Clause, currency: str) -> AsyncIterator[list]:
    sql, params = where
    last = 0
    while True:
        batch = await Customer.raw(
            f"{_SELECT} WHERE c.merged_into IS NULL AND c.id > {{}} AND ({sql}) ORDER BY c.id LIMIT {BATCH}",
            last,
            *params,
        )
        for r in batch:
            tags = json.loads(r["tags"]) if isinstance(r["tags"], str) else r["tags"]
            yield [
                r["id"],
                r["name"],
                r["phone"] or "",
                r["email"] or "",
                r["city"],
                r["source"],
                ", ".join(tags or []),
                r["orders_count"],
                minor_to_plain(r["total_spent_minor"], currency),
                _day(r["first_order_at"]),
                _day(r["last_order_at"]),
                r["rfm_class"] or "",
            ]
        if len(batch) < BATCH:
            return
        last = batch[-1]["id"]


async def csv_chunks(where: Clause, currency: str) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer.writerow(spreadsheet.csv_row(headers()))
    async for row in rows(where, currency):
        writer.writerow(spreadsheet.csv_row(row))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def xlsx_chunks(where: Clause, currency: str, title: str) -> AsyncIterator[bytes]:
    """openpyxl's write-only mode keeps rows on disk; the finished file is streamed in 64 KiB chunks."""
    book = Workbook(write_only=True)
    name = spreadsheet.clean(title).strip() or "Segment"
    sheet = book.create_sheet(title=name[:31].translate(str.maketrans("[]:*?/\\", "_______")))
    sheet.append(spreadsheet.xlsx_row(sheet, headers()))
    async for row in rows(where, currency):
        sheet.append(spreadsheet.xlsx_row(sheet, row))
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        while chunk := handle.read(64 * 1024):
            yield chunk
