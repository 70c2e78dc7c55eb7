"""One YML ``<offer>`` into a product and offer, or into a bare price/stock update (Prom sync feeds)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from app.i18n.messages import gettext, ngettext
from app.services.imports.records import (
    Category,
    Currency,
    Offer,
    PriceStockUpdate,
    Product,
    Record,
    RowIssue,
    Severity,
)
from app.services.imports.values import (
    ValueProblem,
    clean_line,
    clean_text,
    normalize_currency,
    parse_bool,
    parse_money,
    parse_quantity,
)
from app.services.imports.yml_fields import DESCRIPTIVE, RawOffer, collect_offer, first_value, offer_name

_STOCK_TAGS = ("quantity", "stock_quantity", "quantity_in_stock", "count", "stock", "amount")
_OLD_PRICE_TAGS = ("oldprice", "price_old", "old_price")
# Latin lookalikes of Cyrillic letters: Rozetka feeds spell "аvailable" with a Cyrillic "а".
_HOMOGLYPHS = str.maketrans("аеорсухАЕОРСХ", "aeopcyxAEOPCX")


@dataclass(slots=True)
class _Money:
    price: int | None = None
    old_price: int | None = None
    currency: str | None = None
    stock: int | None = None
    available: bool | None = None


def default_currency(currencies: list[Currency]) -> str | None:
    """The currency of an offer without currencyId: the feed's only one, or its single rate-1 one."""
    if len(currencies) == 1:
        return currencies[0].code
    base = [c.code for c in currencies if c.rate == Decimal(1)]
    return base[0] if len(base) == 1 else None


class OfferReader:
    """Stateful across one feed: ids seen (duplicates), variant groups emitted, known categories."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.products = 0
        self.updates = 0
        self._currency: str | None = None
        self._categories: set[str] | None = None
        self._inline_categories: set[str] = set()
        self._offer_ids: set[str] = set()
        self._repeats: dict[str, list[int]] = {}  # id -> [times used, line of its first repeat]
        self._groups: set[str] = set()
        self._homoglyph_warned = False

    def repeats(self) -> Iterator[RowIssue]:
        """One error per id used more than once, with the exact count (the file's end is the first time it is known)."""
        for offer_id, (times, line) in self._repeats.items():
            message = ngettext(
                "Offer id %(id)s is used %(num)s time; only the first offer is kept.",
                "Offer id %(id)s is used %(num)s times; only the first offer is kept.",
                times,
                id=offer_id,
            )
            yield self._issue(line or None, "id", "duplicate_id", message, "error", offer_id)
        self._repeats.clear()

    def set_currencies(self, currencies: list[Currency]) -> None:
        self._currency = default_currency(currencies)

    def set_categories(self, ids: set[str], declared: bool) -> None:
        # Without a <categories> block (Prom, Epicentr) there is nothing to check categoryId against.
        self._categories = ids if declared else None

    def _issue(
        self,
        line: int | None,
        fld: str | None,
        code: str,
        message: str,
        severity: Severity,
        external_id: str | None,
    ) -> RowIssue:
        return RowIssue(line, fld, code, message, severity, external_id, self.source)

    def read(self, elem: etree._Element) -> Iterator[Record]:
        line = elem.sourceline
        offer_id = clean_line(elem.get("id"))
        if not offer_id:
            yield self._issue(line, "id", "missing_id", gettext("An offer has no id; it is skipped."), "error", None)
            return
        if offer_id in self._offer_ids:
            self._repeats.setdefault(offer_id, [1, line or 0])[0] += 1  # reported once, counted, at the end
            return
        self._offer_ids.add(offer_id)
        raw = collect_offer(elem)
        issues: list[RowIssue] = []
        money = self._money(elem, raw, offer_id, issues)
        yield from issues
        if money is None:
            return
        if not raw.tags & DESCRIPTIVE and not raw.names:
            self.updates += 1
            yield PriceStockUpdate(
                offer_id,
                money.price,
                money.old_price,
                money.currency,
                money.stock,
                money.available,
                line=line,
            )
            return
        yield from self._goods(elem, raw, offer_id, money)

    def _money(self, elem: etree._Element, raw: RawOffer, offer_id: str, issues: list[RowIssue]) -> _Money | None:
        line = elem.sourceline
        money = _Money(available=self._available(elem, issues))
        money.currency = self._currency_of(raw, offer_id, line, issues)
        price_text = raw.values.get("price")
        if price_text is None and raw.tags & DESCRIPTIVE:
            message = gettext("Offer %(id)s has no price.", id=offer_id)
            issues.append(self._issue(line, "price", "missing_price", message, "warning", offer_id))
        elif price_text is not None:
            try:
                money.price = parse_money(price_text, money.currency)
            except ValueProblem:
                message = gettext(
                    "Price %(value)s of offer %(id)s is not a number; the offer is skipped.",
                    value=price_text,
                    id=offer_id,
                )
                issues.append(self._issue(line, "price", "bad_price", message, "error", offer_id))
                return None
        old_text = next((raw.values[tag] for tag in _OLD_PRICE_TAGS if tag in raw.values), None)
        if old_text is not None:
            money.old_price = self._old_price(old_text, money, offer_id, line, issues)
        money.stock = self._stock(raw, offer_id, line, issues)
        return money

    def _old_price(
        self, raw: str, money: _Money, offer_id: str, line: int | None, issues: list[RowIssue]
    ) -> int | None:
        try:
            old = parse_money(raw, money.currency)
        except ValueProblem:
            message = gettext(
                "Old price %(value)s of offer %(id)s is not a number; it is ignored.", value=raw, id=offer_id
            )
            issues.append(self._issue(line, "old_price", "bad_old_price", message, "warning", offer_id))
            return None
        if money.price is not None and old <= money.price:
            message = gettext(
                "Old price %(value)s of offer %(id)s is not above the price; it is ignored.",
                value=raw,
                id=offer_id,
            )
            issues.append(self._issue(line, "old_price", "old_price_not_higher", message, "warning", offer_id))
            return None
        return old

    def _currency_of(self, raw: RawOffer, offer_id: str, line: int | None, issues: list[RowIssue]) -> str | None:
        given = raw.values.get("currencyId")
        if given is None:
            return self._currency
        code = normalize_currency(given)
        if code is None:
            message = gettext("Currency %(value)s of offer %(id)s is unknown.", value=given, id=offer_id)
            issues.append(self._issue(line, "currency", "bad_currency", message, "warning", offer_id))
        return code

    def _stock(self, raw: RawOffer, offer_id: str, line: int | None, issues: list[RowIssue]) -> int | None:
        tag = next((tag for tag in _STOCK_TAGS if tag in raw.values), None)
        if tag is None:
            return raw.outlet_stock
        try:
            return parse_quantity(raw.values[tag])
        except ValueProblem:
            message = gettext(
                "Stock %(value)s of offer %(id)s is not a number; it is ignored.",
                value=raw.values[tag],
                id=offer_id,
            )
            issues.append(self._issue(line, "stock", "bad_stock", message, "warning", offer_id))
            return None

    def _available(self, elem: etree._Element, issues: list[RowIssue]) -> bool | None:
        value = elem.get("available")
        if value is not None:
            return parse_bool(value)
        key = next((k for k in elem.attrib if k.translate(_HOMOGLYPHS) == "available"), None)
        if key is None:
            return None
        if not self._homoglyph_warned:
            self._homoglyph_warned = True
            message = gettext("Attribute %(attr)s is spelled with Cyrillic letters; it is read as available.", attr=key)
            issues.append(self._issue(elem.sourceline, "available", "homoglyph_attribute", message, "warning", None))
        return parse_bool(elem.get(key))

    def _goods(self, elem: etree._Element, raw: RawOffer, offer_id: str, money: _Money) -> Iterator[Record]:
        line = elem.sourceline
        name = offer_name(elem.get("type"), raw)
        if not name:
            message = gettext("Offer %(id)s has no name, model or title; it is skipped.", id=offer_id)
            yield self._issue(line, "name", "missing_name", message, "error", offer_id)
            return
        category_id = yield from self._category_of(raw, offer_id, line)
        group = clean_line(elem.get("group_id"))
        if group is None or group not in self._groups:
            if group is not None:
                self._groups.add(group)
            self.products += 1
            yield _product(raw, group or offer_id, name, group, category_id, line)
        values = raw.values
        # Variants keep their own params and pictures; a lone offer's live on its product.
        yield Offer(
            offer_id,
            group or offer_id,
            sku=clean_line(values.get("shop-sku") or values.get("vendorCode") or values.get("article")),
            name=name,
            price_minor=money.price,
            old_price_minor=money.old_price,
            currency=money.currency,
            stock=money.stock,
            available=money.available,
            params=raw.params if group else [],
            pictures=raw.pictures if group else [],
            barcode=raw.barcodes[0] if raw.barcodes else None,
            line=line,
        )

    def _category_of(self, raw: RawOffer, offer_id: str, line: int | None) -> Generator[Record, None, str | None]:
        if raw.category is not None:
            code, name = raw.category
            if code not in self._inline_categories:
                self._inline_categories.add(code)
                yield Category(code, name, line=line)
            return code
        category_id = clean_line(raw.values.get("categoryId"))
        if category_id and self._categories is not None and category_id not in self._categories:
            message = gettext(
                "Offer %(id)s refers to an unknown category %(category)s.", id=offer_id, category=category_id
            )
            yield self._issue(line, "category", "unknown_category", message, "warning", offer_id)
            return None
        return category_id


def _product(
    raw: RawOffer, key: str, name: str, group: str | None, category_id: str | None, line: int | None
) -> Product:
    """The product card: from the offer itself, or from the first offer of a variant group."""
    values = raw.values
    return Product(
        key,
        name,
        names_by_lang=raw.names,
        description=clean_text(values.get("description")) or first_value(raw.descriptions),
        descriptions_by_lang=raw.descriptions,
        vendor=clean_line(values.get("vendor")),
        vendor_code=clean_line(values.get("vendorCode") or values.get("article")),
        barcodes=[] if group else raw.barcodes,
        category_external_id=category_id,
        category_external_ids=[category_id] if category_id else [],
        pictures=list(raw.pictures),
        params=[] if group else raw.params,
        url=clean_line(values.get("url")),
        group_key=group,
        line=line,
    )
