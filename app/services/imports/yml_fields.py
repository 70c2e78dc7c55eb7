"""Reading the child elements of a YML ``<offer>`` into plain values, and the YML naming rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from app.services.imports.records import Param
from app.services.imports.values import ValueProblem, clean_line, normalize_lang, parse_quantity

# Anything that describes goods; an offer with none of these only moves a price or a stock level.
DESCRIPTIVE = frozenset(
    [
        "name",
        "model",
        "title",
        "url",
        "picture",
        "categoryId",
        "category",
        "description",
        "vendor",
        "typePrefix",
        "vendorCode",
        "article",
        "param",
        "barcode",
    ]
)
# Type-specific YML fields (book, audiobook, artist.title, tour, event-ticket, medicine...) kept as params.
_TYPE_FIELDS = frozenset(
    [
        "author",
        "publisher",
        "series",
        "year",
        "ISBN",
        "volume",
        "part",
        "language",
        "binding",
        "page_extent",
        "performed_by",
        "performance_type",
        "storage",
        "format",
        "recording_length",
        "artist",
        "media",
        "starring",
        "director",
        "originalName",
        "country",
        "worldRegion",
        "region",
        "days",
        "dataTour",
        "hotel_stars",
        "room",
        "meal",
        "included",
        "transport",
        "place",
        "hall",
        "hall_part",
        "date",
        "is_premiere",
        "is_kids",
        "country_of_origin",
        "weight",
        "dimensions",
        "width",
        "height",
        "length",
        "age",
    ]
)


@dataclass(slots=True)
class RawOffer:
    values: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    pictures: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    category: tuple[str, str] | None = None
    outlet_stock: int | None = None


def offer_name(kind: str | None, raw: RawOffer) -> str | None:
    """YML naming rules: vendor.model is "typePrefix vendor model"; artist.title is "artist — title"."""
    values = raw.values
    model = clean_line(values.get("model"))
    if model and (kind == "vendor.model" or "name" not in values):
        parts = (clean_line(values.get("typePrefix")), clean_line(values.get("vendor")), model)
        return " ".join(part for part in parts if part)
    name = clean_line(values.get("name")) or clean_line(first_value(raw.names))
    if name:
        return name
    title = clean_line(values.get("title"))
    artist = clean_line(values.get("artist"))
    if title:
        return f"{artist} — {title}" if artist else title
    return None


def first_value(mapping: dict[str, str]) -> str | None:
    return next(iter(mapping.values()), None)


def collect_offer(elem: etree._Element) -> RawOffer:
    raw = RawOffer()
    for node in elem:
        # local() and text() inlined: this loop runs once per field of every offer of a feed.
        tag = node.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        if tag[:1] == "{":
            tag = tag.rsplit("}", 1)[-1]
        value = "".join(node.itertext()) if len(node) else node.text
        value = (value.strip() or None) if value else None
        raw.tags.add(tag)
        lang = normalize_lang(node.get("lang")) if tag in ("name", "description") else None
        if lang:
            if value:
                (raw.names if tag == "name" else raw.descriptions).setdefault(lang, value)
        elif tag.startswith(("name_", "description_")):
            target = raw.names if tag.startswith("name_") else raw.descriptions
            if value and (code := normalize_lang(tag.split("_", 1)[1])):
                target.setdefault(code, value)
        elif tag in ("picture", "barcode"):
            if value:
                (raw.pictures if tag == "picture" else raw.barcodes).append(value)
        elif tag == "param":
            _param(node, value, raw)
        elif tag == "category":
            name = clean_line(value)
            code = clean_line(node.get("code")) or name
            raw.category = (code, name) if code and name else None
        elif tag == "outlets":
            raw.outlet_stock = _outlet_stock(node)
        else:
            if tag in _TYPE_FIELDS and value:
                raw.params.append(Param(tag, clean_line(value) or value))
            if value is not None:
                raw.values.setdefault(tag, value)
    return raw


def _param(node: etree._Element, value: str | None, raw: RawOffer) -> None:
    name = clean_line(node.get("name"))
    value = clean_line(value)
    if name and value:
        raw.params.append(Param(name, value, clean_line(node.get("unit"))))


def _outlet_stock(node: etree._Element) -> int | None:
    total: int | None = None
    for outlet in node:
        try:
            total = (total or 0) + parse_quantity(outlet.get("instock") or "")
        except ValueProblem:
            continue
    return total
