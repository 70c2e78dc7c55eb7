"""CommerceML Товар and Предложение into records, with the state one exchange package accumulates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from app.i18n.messages import gettext, ngettext
from app.services.imports.commerceml_items import (
    PriceType,
    Property,
    characteristics,
    offer_prices,
    offer_stock,
    read_product,
)
from app.services.imports.records import Category, Offer, PriceStockUpdate, Product, Record, RowIssue, Severity
from app.services.imports.values import ValueProblem, clean_line, normalize_currency, parse_money
from app.services.imports.xmlsafe import text


@dataclass(slots=True)
class Package:
    """What one exchange has taught us so far; lives across the whole list of files."""

    categories: list[Category] = field(default_factory=list)
    properties: dict[str, Property] = field(default_factory=dict)
    price_types: list[PriceType] = field(default_factory=list)
    price_type: PriceType | None = None
    # Only ids are kept (not products), so memory grows by a few dozen bytes per product.
    product_ids: set[str] = field(default_factory=set)
    catalog_seen: bool = False
    changes_only: bool = False
    orphans: int = 0
    repeats: dict[str, list] = field(default_factory=dict)  # product id -> [times used, first repeat line, file]


def repeated_products(package: Package) -> Iterator[RowIssue]:
    for product_id, (times, line, name) in package.repeats.items():
        message = ngettext(
            "Product %(id)s is used %(num)s time; only the first one is kept.",
            "Product %(id)s is used %(num)s times; only the first one is kept.",
            times,
            id=product_id,
        )
        yield RowIssue(line or None, "id", "duplicate_id", message, "error", product_id, name)
    package.repeats.clear()


def _issue(
    elem: etree._Element,
    fld: str,
    code: str,
    message: str,
    severity: Severity,
    external_id: str | None,
    name: str,
) -> RowIssue:
    return RowIssue(elem.sourceline, fld, code, message, severity, external_id, name)


def product_records(elem: etree._Element, name: str, package: Package) -> Iterator[Record]:
    product = read_product(elem, package.properties)
    if product is None:
        external_id = text(elem, "Ид")
        if external_id:
            message = gettext("Product %(id)s has no name; it is skipped.", id=external_id)
            yield _issue(elem, "name", "missing_name", message, "error", external_id, name)
        else:
            message = gettext("A product has no Ид; it is skipped.")
            yield _issue(elem, "id", "missing_id", message, "error", None, name)
        return
    if product.external_id in package.product_ids:
        # Counted, and reported once with the exact count when the package ends.
        package.repeats.setdefault(product.external_id, [1, elem.sourceline or 0, name])[0] += 1
        return
    package.product_ids.add(product.external_id)
    yield product


def offer_records(elem: etree._Element, name: str, package: Package) -> Iterator[Record]:
    """An offer of a known product is an Offer; anything else is a price/stock update keyed by Ид."""
    offer_id = text(elem, "Ид")
    if not offer_id:
        message = gettext("An offer has no Ид; it is skipped.")
        yield _issue(elem, "id", "missing_id", message, "error", None, name)
        return
    issues: list[RowIssue] = []
    priced = _price(elem, offer_id, package, issues, name)
    yield from issues
    if priced is None:
        return
    price, currency = priced
    stock, title, params = offer_stock(elem), clean_line(text(elem, "Наименование")), characteristics(elem)
    product_id = _product_of(offer_id, package.product_ids)
    describes = bool(title or params)
    if product_id and describes:
        yield _offer(elem, offer_id, product_id, price, currency, stock, title, params)
        return
    if product_id is None and describes and package.product_ids:
        # The exchange describes goods but not this one's product: the offer becomes a product of its own,
        # named from the offer, rather than a price for nothing.
        package.orphans += 1
        product_id = offer_id.split("#", 1)[0]
        package.product_ids.add(product_id)
        message = gettext(
            "Offer %(id)s belongs to a product that is not in the import files; a product named from the offer "
            "was added.",
            id=offer_id,
        )
        yield _issue(elem, "product", "product_missing", message, "warning", offer_id, name)
        yield Product(product_id, title or offer_id, params=params if not title else [], line=elem.sourceline)
        yield _offer(elem, offer_id, product_id, price, currency, stock, title, params)
        return
    package.orphans += describes
    yield PriceStockUpdate(offer_id, price, None, currency, stock, None, title, elem.sourceline)


def _offer(
    elem: etree._Element,
    offer_id: str,
    product_id: str,
    price: int | None,
    currency: str | None,
    stock: int | None,
    title: str | None,
    params: list,
) -> Offer:
    return Offer(
        offer_id,
        product_id,
        sku=clean_line(text(elem, "Артикул")),
        name=title,
        price_minor=price,
        currency=currency,
        stock=stock,
        params=params,
        barcode=clean_line(text(elem, "Штрихкод")),
        line=elem.sourceline,
    )


def _product_of(offer_id: str, product_ids: set[str]) -> str | None:
    """Offer "p#v" belongs to product "p#v" (old-style variant Товар) or else to product "p"."""
    if offer_id in product_ids:
        return offer_id
    head = offer_id.split("#", 1)[0]
    return head if head in product_ids else None


def _price(
    elem: etree._Element, offer_id: str, package: Package, issues: list[RowIssue], name: str
) -> tuple[int | None, str | None] | None:
    """The chosen price type's amount and currency; None when the amount is unreadable (row skipped)."""
    prices = offer_prices(elem)
    price_type = package.price_type
    wanted = price_type.external_id if price_type is not None else (prices[0].type_id if prices else None)
    same = [p for p in prices if p.type_id == wanted]  # without price types, every untyped price is one type
    if not same:
        if price_type is not None and prices:  # no price at all is counted for the whole package instead
            message = gettext(
                "Offer %(id)s has no price of type %(type)s; no price is taken from it.",
                id=offer_id,
                type=price_type.name,
            )
            issues.append(_issue(elem, "price", "missing_price", message, "warning", offer_id, name))
        return None, None
    chosen = same[0]
    if len(same) > 1 and len({(p.amount, p.currency) for p in same}) > 1:
        message = ngettext(
            "Offer %(id)s has %(num)s price of one type; the first, %(value)s, is used.",
            "Offer %(id)s has %(num)s prices of one type; the first, %(value)s, is used.",
            len(same),
            id=offer_id,
            value=chosen.amount,
        )
        issues.append(_issue(elem, "price", "price_clash", message, "warning", offer_id, name))
    currency = normalize_currency(chosen.currency) or (price_type.currency if price_type else None)
    try:
        return parse_money(chosen.amount, currency), currency
    except ValueProblem:
        message = gettext(
            "Price %(value)s of offer %(id)s is not a number; the offer is skipped.",
            value=chosen.amount,
            id=offer_id,
        )
        issues.append(_issue(elem, "price", "bad_price", message, "error", offer_id, name))
        return None
