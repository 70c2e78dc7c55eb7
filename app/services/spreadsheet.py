"""Cells for CSV and XLSX exports that a spreadsheet can never run: the one guard every export goes through.

A text cell that starts (after blanks) with ``=``, ``+``, ``-``, ``@``, a tab or a CR would be read by Excel,
LibreOffice or Google Sheets as a formula (CSV/formula injection, OWASP). In CSV such a cell gets a leading
apostrophe; in XLSX every text cell is written as a string cell (``t="inlineStr"``, never ``<f>``) with the value
intact, and a hostile one also carries Excel's own "quote prefix" style, so editing it keeps it text.
Control characters are stripped first: a NUL or an ESC in one customer's name must not break the file or cut the
export short (XLSX cannot hold them at all). Tab, LF and CR inside a cell are kept; CSV quoting holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_BLANKS = " \u00a0\u2007\u202f\u3000"
_KEEP = {0x09, 0x0A, 0x0D}
_CONTROLS = dict.fromkeys([c for c in range(0x20) if c not in _KEEP] + [0x7F, *range(0x80, 0xA0)])


def clean(text: str) -> str:
    """``text`` without C0/C1 control characters (tab, LF and CR stay)."""
    return text.translate(_CONTROLS)


def is_hostile(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula: its first non-blank character starts one."""
    return text.lstrip(_BLANKS)[:1] in TRIGGERS or text.lstrip()[:1] in TRIGGERS


def csv_cell(value: Any) -> Any:
    """A value ready for ``csv.writer``: text cleaned and, when hostile, prefixed with an apostrophe.

    Numbers are left alone: they can never be formulas. None becomes an empty cell.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = clean(value)
    return "'" + text if is_hostile(text) else text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A write-only cell: text is always a string cell (data_type ``s``), never a formula."""
    if value is None or not isinstance(value, str):
        return value
    text = clean(value)
    cell = WriteOnlyCell(sheet, value=None)
    cell.value = text
    cell.data_type = "s"  # openpyxl would make "=…" a formula; a string cell is shown, never run
    if is_hostile(text):
        cell.quotePrefix = True
    return cell


def xlsx_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(sheet, value) for value in values]
