"""Normalized catalog records, issues and the streaming envelope every import parser returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple

from app.errors import AppError
from app.i18n.messages import gettext

FeedFormat = Literal["yml", "commerceml", "csv"]
Severity = Literal["error", "warning"]


class ImportFileError(AppError):
    """The whole file is unusable (empty, truncated, unsafe, wrong kind); nothing from it may be applied."""

    status_code = 422

    def __init__(self, code: str, message: str, line: int | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.text = message  # a Message keeps its id and parameters for the report
        self.code = code
        self.line = line
        self.source = source

    def describe(self) -> str:
        """The reason with its file and line, as a ``Message`` when the reason is one."""
        if self.source and self.line:
            return gettext("%(file)s: %(reason)s (line %(line)s)", file=self.source, reason=self.text, line=self.line)
        if self.source:
            return gettext("%(file)s: %(reason)s", file=self.source, reason=self.text)
        if self.line:
            return gettext("%(reason)s (line %(line)s)", reason=self.text, line=self.line)
        return self.text

    def __str__(self) -> str:
        return str(self.describe())


class Param(NamedTuple):
    name: str
    value: str
    unit: str | None = None


@dataclass(slots=True)
class Currency:
    code: str
    rate: Decimal | None = None
    # YML allows a named rate source ("CBRF", "NBU", "CB") instead of a number.
    rate_source: str | None = None
    plus: Decimal | None = None


@dataclass(slots=True)
class Category:
    external_id: str
    name: str
    parent_external_id: str | None = None
    names_by_lang: dict[str, str] = field(default_factory=dict)
    line: int | None = None


@dataclass(slots=True)
class Product:
    external_id: str
    name: str
    names_by_lang: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    descriptions_by_lang: dict[str, str] = field(default_factory=dict)
    vendor: str | None = None
    vendor_code: str | None = None
    barcodes: list[str] = field(default_factory=list)
    category_external_id: str | None = None
    category_external_ids: list[str] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    url: str | None = None
    group_key: str | None = None
    published: bool | None = None
    deleted: bool = False
    line: int | None = None


@dataclass(slots=True)
class Offer:
    external_id: str
    product_external_id: str
    sku: str | None = None
    name: str | None = None
    price_minor: int | None = None
    old_price_minor: int | None = None
    currency: str | None = None
    stock: int | None = None
    available: bool | None = None
    params: list[Param] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)
    barcode: str | None = None
    line: int | None = None


@dataclass(slots=True)
class PriceStockUpdate:
    """New price and/or stock for an offer that this file does not describe; None leaves a value as is."""

    offer_external_id: str
    price_minor: int | None = None
    old_price_minor: int | None = None
    currency: str | None = None
    stock: int | None = None
    available: bool | None = None
    name: str | None = None
    line: int | None = None

    def merge(self, later: PriceStockUpdate) -> None:
        """Fold a later partial update (split price and rest files) into this one."""
        for name in ("price_minor", "old_price_minor", "currency", "stock", "available", "name"):
            value = getattr(later, name)
            if value is not None:
                setattr(self, name, value)


@dataclass(slots=True)
class RowIssue:
    line: int | None
    field: str | None
    code: str
    message: str
    severity: Severity = "error"
    external_id: str | None = None
    source: str | None = None


@dataclass(slots=True)
class SourceInfo:
    name: str
    encoding: str | None = None
    kind: str | None = None
    schema_version: str | None = None
    generated_at: str | None = None
    shop_name: str | None = None
    shop_url: str | None = None
    platform: str | None = None


Record = Category | Product | Offer | PriceStockUpdate | RowIssue


@dataclass(slots=True)
class FeedMeta:
    """Facts about the feed; ``is_full`` and counts are final only once ``complete`` is True."""

    format: FeedFormat
    sources: list[SourceInfo] = field(default_factory=list)
    is_full: bool = False
    currencies: list[Currency] = field(default_factory=list)
    price_type: str | None = None
    preset: str | None = None
    complete: bool = False


@dataclass(slots=True)
class ParseResult:
    format: FeedFormat
    sources: list[SourceInfo]
    is_full: bool
    currencies: list[Currency]
    price_type: str | None
    preset: str | None
    categories: list[Category] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    updates: list[PriceStockUpdate] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[RowIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[RowIssue]:
        return [issue for issue in self.issues if issue.severity == "warning"]


class ImportStream:
    """Records of one import, produced lazily so a 200 MB feed never sits in memory.

    Iterate once (or use :meth:`batches`); a fatal problem found mid-file raises
    :class:`ImportFileError` from the iteration, so the consumer must apply records inside one
    transaction and roll it back then. ``meta`` is complete after the iteration ends.
    """

    def __init__(self, meta: FeedMeta, produce: Callable[[FeedMeta], Iterator[Record]]) -> None:
        self.meta = meta
        self._produce = produce
        self._started = False

    def __iter__(self) -> Iterator[Record]:
        if self._started:
            raise RuntimeError("an ImportStream can be consumed only once")
        self._started = True
        yield from self._produce(self.meta)
        self.meta.complete = True

    def batches(self, size: int = 1000) -> Iterator[list[Record]]:
        batch: list[Record] = []
        for record in self:
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def collect(self) -> ParseResult:
        """Everything in memory at once: for small files, previews and tests."""
        meta = self.meta
        result = ParseResult(meta.format, meta.sources, False, meta.currencies, None, None)
        updates: dict[str, PriceStockUpdate] = {}
        for record in self:
            if isinstance(record, Category):
                result.categories.append(record)
            elif isinstance(record, Product):
                result.products.append(record)
            elif isinstance(record, Offer):
                result.offers.append(record)
            elif isinstance(record, PriceStockUpdate):
                if record.offer_external_id in updates:
                    updates[record.offer_external_id].merge(record)
                else:
                    updates[record.offer_external_id] = record
            else:
                result.issues.append(record)
        result.updates = list(updates.values())
        result.is_full, result.price_type, result.preset = meta.is_full, meta.price_type, meta.preset
        return result


def order_categories(categories: list[Category], source: str | None = None) -> list[Category | RowIssue]:
    """Parents before children, dangling parents and cycles cut to the top level, each with a warning."""
    issues: list[Category | RowIssue] = []
    by_id: dict[str, Category] = {}
    for category in categories:
        if category.external_id in by_id:
            message = gettext("Category %(id)s appears twice; the first one is kept.", id=category.external_id)
            issues.append(_category_issue(category, "id", "duplicate_category", message, source))
        else:
            by_id[category.external_id] = category
    for category in by_id.values():
        parent = category.parent_external_id
        if parent is not None and parent not in by_id:
            message = gettext(
                "Category %(id)s refers to a missing parent %(parent)s; it is placed at the top level.",
                id=category.external_id,
                parent=parent,
            )
            issues.append(_category_issue(category, "parent", "missing_parent", message, source))
            category.parent_external_id = None
    return issues + _parents_first(by_id, source)


def _parents_first(by_id: dict[str, Category], source: str | None) -> list[Category | RowIssue]:
    out: list[Category | RowIssue] = []
    done: set[str] = set()
    for category in by_id.values():
        chain: list[Category] = []
        node: Category | None = category
        while node is not None and node.external_id not in done and node not in chain:
            chain.append(node)
            node = by_id.get(node.parent_external_id) if node.parent_external_id else None
        if node is not None and node in chain:
            # Cutting the topmost link keeps the reversed chain a valid parents-first order.
            cut = chain[-1]
            message = gettext("Category %(id)s is its own ancestor; it is placed at the top level.", id=cut.external_id)
            out.append(_category_issue(cut, "parent", "category_cycle", message, source))
            cut.parent_external_id = None
        for item in reversed(chain):
            done.add(item.external_id)
            out.append(item)
    return out


def _category_issue(category: Category, fld: str, code: str, message: str, source: str | None) -> RowIssue:
    return RowIssue(category.line, fld, code, message, "warning", category.external_id, source)
