"""1C CommerceML 2.03–2.10 exchange packages (import, offers, prices, rests files), merged and streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from lxml import etree

from app.i18n.messages import gettext
from app.services.imports.commerceml_items import (
    choose_price_type,
    read_group,
    read_price_type,
    read_property,
)
from app.services.imports.commerceml_records import Package, offer_records, product_records, repeated_products
from app.services.imports.records import (
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
from app.services.imports.values import parse_bool
from app.services.imports.xmlsafe import XmlProlog, inspect_xml, iter_xml, local, release, text

ROOT = "КоммерческаяИнформация"
_SECTIONS = re.compile(
    r"<(?:[\w.-]+:)?(Каталог|ПакетПредложений|ИзмененияПакетаПредложений|Документ|Классификатор)[\s>/]"
)
_ORDER = {"import": 0, "offers": 1, "prices": 2, "rests": 3}
_FILE_KIND = re.compile(r"^(import|offers|prices|rests)(?:[\d_.]|$)")
_FLAGGED = ("Классификатор", "Каталог", "ПакетПредложений", "ИзмененияПакетаПредложений")
_TAGS = tuple(
    "{*}" + tag
    for tag in (
        *_FLAGGED,
        "СодержитТолькоИзменения",
        "Группа",
        "Свойство",
        "ТипЦены",
        "ТипыЦен",
        "Товар",
        "Предложение",
    )
)


def stream_commerceml(sources: Sequence[Source] | Source, names: Sequence[str] | None = None) -> ImportStream:
    """Stream one exchange: any mix of import/offers/prices/rests files, in any order.

    Raises:
        ImportFileError: a file is empty, unsafe, not CommerceML, or an orders document.
    """
    items = list(sources) if isinstance(sources, list | tuple) else [sources]
    files = []
    for index, item in enumerate(items):
        src = as_byte_source(item, names[index] if names else None)
        prolog = inspect_xml(src)
        files.append((_kind(src, prolog), src, prolog))
    files.sort(key=lambda entry: _ORDER.get(entry[0], 4))
    meta = FeedMeta("commerceml", [SourceInfo(src.name, prolog.encoding, kind=kind) for kind, src, prolog in files])
    return ImportStream(meta, lambda m: _records(files, m))


def parse_commerceml(sources: Sequence[Source] | Source, names: Sequence[str] | None = None) -> ParseResult:
    return stream_commerceml(sources, names).collect()


def _kind(src: ByteSource, prolog: XmlProlog) -> str:
    if prolog.root_local != ROOT:
        message = gettext(
            "This is not a CommerceML file: the root element is <%(root)s>.", root=prolog.root_local or "?"
        )
        raise ImportFileError("not_commerceml", message, source=src.name)
    sample, _ = src.sample()
    found = set(_SECTIONS.findall(sample.decode(prolog.encoding, errors="replace")))
    if "Документ" in found and not found & {"Каталог", "ПакетПредложений", "Классификатор"}:
        message = gettext("This CommerceML file holds orders (Документ), not a catalog; import it as orders.")
        raise ImportFileError("orders_not_catalog", message, source=src.name)
    # Bitrix step-by-step names (prices___<guid>.xml) and 1C's own (import0_1.xml) say what a file is.
    named = _FILE_KIND.match(src.name.lower())
    if named:
        return named.group(1)
    return "offers" if found & {"ПакетПредложений", "ИзмененияПакетаПредложений"} else "import"


def _records(files: list[tuple[str, ByteSource, XmlProlog]], meta: FeedMeta) -> Iterator[Record]:
    package = Package()
    for (_, src, prolog), info in zip(files, meta.sources, strict=True):
        for message in prolog.warnings:
            yield RowIssue(None, None, "encoding_mismatch", message, "warning", source=src.name)
        yield from _file_records(src, prolog, info, package, meta)
    yield from _flush_categories(package, None)
    yield from repeated_products(package)
    if package.orphans and not package.product_ids:
        message = gettext(
            "The package holds no products; %(count)s offers only update the price and stock of goods "
            "already in the catalog.",
            count=package.orphans,
        )
        yield RowIssue(None, None, "no_products", message, "warning")
    meta.is_full = package.catalog_seen and bool(package.product_ids) and not package.changes_only


def _file_records(
    src: ByteSource, prolog: XmlProlog, info: SourceInfo, package: Package, meta: FeedMeta
) -> Iterator[Record]:
    first = True
    for event, elem in iter_xml(src, prolog, _TAGS, events=("start", "end")):
        if first:
            first = False
            root = elem.getroottree().getroot()
            info.schema_version, info.generated_at = root.get("ВерсияСхемы"), root.get("ДатаФормирования")
        tag = local(elem)
        if event == "start":
            if tag in _FLAGGED and parse_bool(elem.get("СодержитТолькоИзменения")):
                package.changes_only = True
            package.catalog_seen = package.catalog_seen or tag == "Каталог"
            continue
        yield from _on_end(tag, elem, src.name, package, meta)


def _on_end(tag: str, elem: etree._Element, name: str, package: Package, meta: FeedMeta) -> Iterator[Record]:
    if tag == "Товар":
        yield from product_records(elem, name, package)
    elif tag == "Предложение":
        yield from offer_records(elem, name, package)
    elif tag == "Группа":
        group = read_group(elem)
        if group is not None:
            package.categories.append(group)
        return  # nested groups still need their parent's Ид: the whole Классификатор is freed at its end
    elif tag == "Свойство":
        found = read_property(elem)
        if found:
            package.properties[found[0]] = found[1]
    elif tag == "ТипЦены":
        price_type = read_price_type(elem)
        if price_type:
            package.price_types.append(price_type)
    elif tag == "ТипыЦен":
        yield from _choose_price_type(package, meta, name)
    elif tag == "СодержитТолькоИзменения":
        package.changes_only = package.changes_only or parse_bool(text(elem)) is True
    elif tag == "Классификатор":
        yield from _flush_categories(package, name)
    else:
        return
    release(elem)


def _flush_categories(package: Package, name: str | None) -> Iterator[Record]:
    if package.categories:
        yield from order_categories(package.categories, name)
        package.categories = []


def _choose_price_type(package: Package, meta: FeedMeta, name: str) -> Iterator[Record]:
    if not package.price_types or package.price_type is not None:
        return
    package.price_type, retail = choose_price_type(package.price_types)
    meta.price_type = package.price_type.name
    if len(package.price_types) > 1 and not retail:
        message = gettext(
            "No price type is named retail; prices of type %(name)s are used.", name=package.price_type.name
        )
        yield RowIssue(None, "price_type", "price_type_guessed", message, "warning", source=name)
