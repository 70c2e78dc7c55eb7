"""Shared row helpers for CSV presets: value parsing that reports issues, category paths, rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.i18n.messages import gettext
from app.services.imports.records import Category, RowIssue, Severity
from app.services.imports.values import ValueProblem, clean_line, parse_bool, parse_money, parse_quantity

# WooCommerce escapes a comma inside a category name as "\,".
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


@dataclass(slots=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str | None) -> str | None:
        """The stripped cell, or None when the column is absent or the cell empty."""
        if column is None:
            return None
        value = self.values.get(column)
        value = value.strip() if value else None
        return value or None

    def code(self, column: str | None) -> str | None:
        """An id, SKU or barcode cell without the apostrophe a spreadsheet puts first to keep it text ('0042)."""
        value = self.get(column)
        if value and value.startswith("'"):
            value = value[1:].strip()
        return value or None


class RowTools:
    """Per-file helpers; issues found while parsing a row wait in ``pending`` until the caller drains them."""

    def __init__(self, source: str, currency: str | None) -> None:
        self.source = source
        self.currency = currency
        self.pending: list[RowIssue] = []
        self.products = 0
        self.updates = 0
        self._categories: set[str] = set()

    def issue(
        self,
        line: int | None,
        fld: str | None,
        code: str,
        message: str,
        severity: Severity = "error",
        external_id: str | None = None,
    ) -> RowIssue:
        found = RowIssue(line, fld, code, message, severity, external_id, self.source)
        self.pending.append(found)
        return found

    def drain(self) -> Iterator[RowIssue]:
        yield from self.pending
        self.pending.clear()

    def money(self, raw: str | None, line: int, fld: str, key: str | None) -> int | None:
        """Minor units, or None; an unreadable amount records an error and raises ValueProblem."""
        if raw is None:
            return None
        try:
            return parse_money(raw, self.currency)
        except ValueProblem:
            message = gettext("%(field)s %(value)s is not a valid amount; the row is skipped.", field=fld, value=raw)
            self.issue(line, fld, "bad_price", message, "error", key)
            raise

    def old_price(self, raw: str | None, price: int | None, line: int, key: str | None) -> int | None:
        """A compare-at price is kept only above the price: a lower one would show a fake discount."""
        if raw is None:
            return None
        try:
            old = parse_money(raw, self.currency)
        except ValueProblem:
            message = gettext("Old price %(value)s is not a valid amount; it is ignored.", value=raw)
            self.issue(line, "old_price", "bad_old_price", message, "warning", key)
            return None
        if price is not None and old <= price:
            message = gettext("Old price %(value)s is not above the price; it is ignored.", value=raw)
            self.issue(line, "old_price", "old_price_not_higher", message, "warning", key)
            return None
        return old

    def quantity(self, raw: str | None, line: int, key: str | None) -> int | None:
        if raw is None:
            return None
        try:
            return parse_quantity(raw)
        except ValueProblem:
            message = gettext("Stock %(value)s is not a number; it is ignored.", value=raw)
            self.issue(line, "stock", "bad_stock", message, "warning", key)
            return None

    def flag(self, raw: str | None) -> bool | None:
        return parse_bool(raw)

    def category_paths(self, raw: str | None, line: int, many: bool = False) -> tuple[list[str], list[Category]]:
        """ "A > B, C" into path ids ("A > B", "C") and the categories not seen before, parents first."""
        if raw is None:
            return [], []
        texts = [part.replace("\\,", ",") for part in _UNESCAPED_COMMA.split(raw)] if many else [raw]
        paths: list[str] = []
        new: list[Category] = []
        for text in texts:
            parts = [name for name in (clean_line(p) for p in text.split(">")) if name]
            for depth in range(len(parts)):
                path = " > ".join(parts[: depth + 1])
                if path not in self._categories:
                    self._categories.add(path)
                    parent = " > ".join(parts[:depth]) or None
                    new.append(Category(path, parts[depth], parent, line=line))
            if parts:
                paths.append(" > ".join(parts))
        return paths, new


def split_list(raw: str | None) -> list[str]:
    """Picture lists: comma, semicolon, pipe or whitespace separated URLs."""
    if not raw:
        return []
    return [item for item in re.split(r"[,;|\s]+", raw) if item]
