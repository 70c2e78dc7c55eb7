"""Yandex Market Language feeds and their marketplace dialects (Rozetka, Prom, Epicentr, Ecwid), streamed."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from app.i18n.messages import gettext
from app.services.imports.records import (
    Category,
    Currency,
    FeedMeta,
    ImportFileError,
    ImportStream,
    ParseResult,
    Record,
    RowIssue,
    SourceInfo,
    order_categories,
)
from app.services.imports.sources import ByteSource, Source, as_byte_source
from app.services.imports.values import ValueProblem, clean_line, normalize_currency, parse_decimal
from app.services.imports.xmlsafe import (
    XmlProlog,
    child,
    inspect_xml,
    iter_xml,
    local,
    parent_is,
    release,
    text,
)
from app.services.imports.yml_offers import OfferReader

_TAGS = ("{*}currency", "{*}category", "{*}categories", "{*}offer")


def stream_yml(source: Source, name: str | None = None) -> ImportStream:
    """Stream a YML feed; the file is sniffed (encoding, safety, root) before this returns.

    Raises:
        ImportFileError: empty, unsafe or non-YML file (later, from the iteration: broken XML).
    """
    src = as_byte_source(source, name)
    prolog = inspect_xml(src)
    if prolog.root_local != "yml_catalog":
        raise ImportFileError(
            "not_yml",
            gettext(
                "This is not a YML feed: the root element is <%(root)s>, not <yml_catalog>.",
                root=prolog.root_local or "?",
            ),
            source=src.name,
        )
    meta = FeedMeta("yml", [SourceInfo(src.name, prolog.encoding, kind="yml")])
    return ImportStream(meta, lambda m: _records(src, prolog, m))


def parse_yml(source: Source, name: str | None = None) -> ParseResult:
    return stream_yml(source, name).collect()


def _records(src: ByteSource, prolog: XmlProlog, meta: FeedMeta) -> Iterator[Record]:
    for message in prolog.warnings:
        yield RowIssue(None, None, "encoding_mismatch", message, "warning", source=src.name)
    reader = OfferReader(src.name)
    pending: list[Category] = []
    categories_done = shop_read = False
    for _event, elem in iter_xml(src, prolog, _TAGS):
        if not shop_read:
            shop_read = True
            _read_shop(elem, meta.sources[0])
        tag = local(elem)
        if tag == "offer":
            if not categories_done:
                categories_done = True
                yield from _flush(pending, reader, src.name)
            yield from reader.read(elem)
            release(elem)
        elif tag == "category" and parent_is(elem, "categories"):
            category = _category(elem)
            if category is None:
                yield _nameless_category(elem, src.name)
            else:
                pending.append(category)
            release(elem)
        elif tag == "categories" and not categories_done:
            categories_done = True
            yield from _flush(pending, reader, src.name)
            release(elem)
        elif tag == "currency" and parent_is(elem, "currencies"):
            meta.currencies.append(_currency(elem))
            reader.set_currencies(meta.currencies)
            release(elem)
    if not categories_done or pending:  # no offers at all, or <categories> after <offers>: still import them
        yield from _flush(pending, reader, src.name)
    yield from reader.repeats()
    meta.is_full = reader.products > 0 and reader.updates == 0


def _flush(pending: list[Category], reader: OfferReader, name: str) -> Iterator[Record]:
    ordered = order_categories(pending, name)
    reader.set_categories({c.external_id for c in ordered if isinstance(c, Category)}, declared=bool(pending))
    yield from ordered
    pending.clear()


def _read_shop(elem: etree._Element, info: SourceInfo) -> None:
    """Shop facts sit before currencies/categories/offers, so they are complete at the first event."""
    root = elem.getroottree().getroot()
    info.generated_at = root.get("date")
    shop = child(root, "shop")
    if shop is not None:
        info.shop_name = text(shop, "name") or text(shop, "company")
        info.shop_url = text(shop, "url")
        info.platform = text(shop, "platform")


def _category(elem: etree._Element) -> Category | None:
    external_id = clean_line(elem.get("id"))
    name = clean_line(text(elem))
    if not external_id or not name:
        return None
    parent = clean_line(elem.get("parentId"))
    # "0" is a common sentinel for "no parent" (frezermsk, many Bitrix exports).
    parent = None if parent in (None, "0") else parent
    names = {}
    for key, value in elem.attrib.items():
        if key.startswith("name_") and value.strip():
            names[key[5:]] = value.strip()
    return Category(external_id, name, parent, names, line=elem.sourceline)


def _nameless_category(elem: etree._Element, name: str) -> RowIssue:
    external_id = clean_line(elem.get("id"))
    if not external_id:
        message = gettext("A category has no id; it is skipped.")
        return RowIssue(elem.sourceline, "id", "missing_id", message, "error", None, name)
    message = gettext("Category %(id)s has no name; it is skipped.", id=external_id)
    return RowIssue(elem.sourceline, "name", "missing_name", message, "error", external_id, name)


def _currency(elem: etree._Element) -> Currency:
    raw_code = elem.get("id") or ""
    code = normalize_currency(raw_code) or raw_code.strip().upper()
    currency = Currency(code)
    rate = (elem.get("rate") or "").strip()
    if rate:
        try:
            currency.rate = parse_decimal(rate)
        except ValueProblem:
            # YML lets a shop name a rate source (CBRF, NBU, NBK, CB) instead of a number.
            currency.rate_source = rate
    plus = (elem.get("plus") or "").strip()
    if plus:
        try:
            currency.plus = parse_decimal(plus)
        except ValueProblem:
            currency.plus = None
    return currency
