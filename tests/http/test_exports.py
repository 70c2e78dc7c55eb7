"""Exports that cannot attack a spreadsheet: hostile names in the segment CSV/XLSX and the import report CSV.

The expected cells are written out by hand from OWASP's CSV-injection advice (a leading =, +, -, @, tab or CR
makes a formula), not derived from the guard under test; the files are read back with csv and openpyxl.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from app.services import segments, spreadsheet
from app.services.imports import jobs
from app.tables.customers import Customer
from app.tables.imports import ImportIssue, ImportJob
from app.tenancy import runtime as tenancy
from tests.conftest import login, make_store
from tests.factories import place_order

pytestmark = pytest.mark.http

# name stored in the database -> (CSV cell, XLSX cell value, XLSX quote prefix)
HOSTILE = {
    '=HYPERLINK("https://evil.example/","x")': ('\'=HYPERLINK("https://evil.example/","x")', None, True),
    "+cmd|' /C calc'!A0": ("'+cmd|' /C calc'!A0", None, True),
    "-2+3+cmd|' /C calc'!A0": ("'-2+3+cmd|' /C calc'!A0", None, True),
    "@SUM(1+9)*cmd|' /C calc'!A0": ("'@SUM(1+9)*cmd|' /C calc'!A0", None, True),
    "\t=1+1": ("'\t=1+1", None, True),
    "\r=1+1": ("'\r=1+1", None, True),
    "   =1+1": ("'   =1+1", None, True),
    "Ann\x01a\x1b[31m Iva\x0bnova\x07\x7f": ("Anna[31m Ivanova", "Anna[31m Ivanova", False),  # PostgreSQL holds no NUL
    "Анна = 1+1": ("Анна = 1+1", None, False),
    "Ольга-Мария": ("Ольга-Мария", None, False),
}


def _xlsx_value(name: str) -> str:
    return HOSTILE[name][1] if HOSTILE[name][1] is not None else name


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("export-guard")
    for name in HOSTILE:
        order = await place_order(store, name="placeholder")
        async with tenancy.bind_tenant(store.tenant):
            await Customer.update({Customer.name: name}).where(Customer.id == order["customer"])
    async with tenancy.bind_tenant(store.tenant):
        rules, _errors = await segments.validate_rules([{"field": "orders_count", "op": "gte", "value": "1"}], "RUB")
        seg_id, _ = await segments.save(None, "=Все", "dynamic", rules)
    return store, seg_id


async def test_segment_csv_writes_every_hostile_name_as_text_and_keeps_every_row(client, shop) -> None:
    store, seg_id = shop
    await login(client, store.email)
    response = await client.get(f"/s/{store.slug}/segments/{seg_id}/export?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(HOSTILE)  # a NUL or an ESC never cuts the file short
    names = {row[1] for row in rows[1:]}
    assert names == {csv_cell for csv_cell, _x, _q in HOSTILE.values()}
    phones = {row[2] for row in rows[1:]}
    assert all(phone.startswith("'+7912") for phone in phones)  # "+…" is a formula to Excel too


async def test_segment_xlsx_cells_are_strings_never_formulas(client, shop) -> None:
    store, seg_id = shop
    await login(client, store.email)
    response = await client.get(f"/s/{store.slug}/segments/{seg_id}/export?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 1 + len(HOSTILE)
    by_value = {row[1].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert set(by_value) == {_xlsx_value(name) for name in HOSTILE}
    for name, (_csv, _x, quoted) in HOSTILE.items():
        cell = by_value[_xlsx_value(name)]
        assert cell.data_type == "s", name
        assert bool(cell.quotePrefix) is quoted, name
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
    assert sheet["H2"].data_type == "n"  # an order count stays a number


async def test_import_report_csv_guards_cells_and_strips_controls(shop) -> None:
    store, _seg = shop
    async with tenancy.bind_tenant(store.tenant):
        job = ImportJob(status="failed", format="yml", created_at=datetime.now(UTC))
        await job.save()
        for value in ("=1+2", "@cmd", "ok\x08\x1b", "-1"):  # offer ids as a supplier's file gave them
            await ImportIssue.insert(ImportIssue(job=job.id, code="bad", message="x", external_id=value))
        text = "".join(await jobs.report_csv(job.id))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[-1] for r in rows[1:]] == ["'=1+2", "'@cmd", "ok", "'-1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@a", "'@a"), ("\t1", "'\t1"), ("\r1", "'\r1"),
        (" =1", "' =1"), ("\u00a0=1", "'\u00a0=1"), ("\n=1", "'\n=1"), ("a=1", "a=1"), ("", ""),
        ("x\x00y\x1bz\x7f\x85", "xyz"), ("line\nnext", "line\nnext"), (None, ""), (12, 12),
    ],
)  # fmt: skip
def test_csv_cell_table(value, expected) -> None:
    assert spreadsheet.csv_cell(value) == expected
