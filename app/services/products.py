"""The catalog as staff see it: offers with search, filters, sort and pagination; a product card; edits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.query import OrderByRaw, WhereRaw

from app.errors import NotFound
from app.forms import _fields, rules
from app.i18n import gettext as _
from app.services import receipts
from app.services._collation import sort_key
from app.services._paging import PAGE_SIZE, Page, offset, parse_page
from app.services.imports.values import ValueProblem, parse_money
from app.tables.catalog import Category, Offer, Product
from app.tenancy.runtime import store_transaction

SORTS = {
    "name": (Offer.name, True),
    "-updated": (Offer.updated_at, False),
    "price": (Offer.price_minor, True),
    "-price": (Offer.price_minor, False),
    "stock": (Offer.stock, True),
    "-stock": (Offer.stock, False),
}
AVAILABILITY = ("", "available", "unavailable")
_WORD = re.compile(r"[\w-]+", re.UNICODE)


@dataclass(frozen=True)
class Filters:
    q: str = ""
    category: int | None = None
    availability: str = ""
    sort: str = "name"
    page: int = 1

    def query(self, **changes: object) -> str:
        values = {
            "q": self.q,
            "category": self.category or "",
            "availability": self.availability,
            "sort": self.sort,
            "page": self.page,
            **changes,
        }
        return "&".join(f"{k}={v}" for k, v in values.items() if v not in ("", None, 1) or k == "sort")


def parse_filters(raw: Mapping[str, str]) -> Filters:
    """Lenient: anything unknown falls back to the default rather than failing the page."""
    category = rules.record_id(raw.get("category"))
    sort = raw.get("sort") or "name"
    availability = raw.get("availability") or ""
    return Filters(
        q=(raw.get("q") or "").strip()[:100],
        category=category,
        availability=availability if availability in AVAILABILITY else "",
        sort=sort if sort in SORTS else "name",
        page=parse_page(raw),
    )


def _search_query(text: str) -> str | None:
    """Every word as a prefix, all required: «крас пла» finds «Красное платье»."""
    words = [w.lower() for w in _WORD.findall(text)][:8]
    return " & ".join(f"'{w}':*" for w in words if "'" not in w) or None


def _where(filters: Filters) -> list:
    clauses = []
    if filters.q and (tsquery := _search_query(filters.q)):
        clauses.append(WhereRaw("(search @@ to_tsquery('simple', {}) OR barcode = {})", tsquery, filters.q))
    if filters.category:
        clauses.append(
            WhereRaw(
                "product IN (SELECT p.id FROM product p JOIN category c ON c.id = p.category WHERE c.id = {} "
                "OR c.path LIKE (SELECT replace(path, '%', '\\%') || ' / %' FROM category WHERE id = {}))",
                filters.category,
                filters.category,
            )
        )
    if filters.availability:
        clauses.append(Offer.available == (filters.availability == "available"))
    return clauses


async def list_page(filters: Filters) -> Page:
    clauses = _where(filters)
    query = Offer.select(
        Offer.id,
        Offer.name,
        Offer.sku,
        Offer.price_minor,
        Offer.old_price_minor,
        Offer.currency,
        Offer.stock,
        Offer.available,
        Offer.pictures,
        Offer.product.category.path.as_alias("category_path"),
    ).output(load_json=True)
    count = Offer.count()
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    if filters.sort == "name":
        query = query.order_by(OrderByRaw(sort_key("offer.name")), OrderByRaw("offer.id"))
    else:
        column, ascending = SORTS[filters.sort]
        query = query.order_by(column, ascending=ascending).order_by(Offer.id)
    items = await query.limit(PAGE_SIZE).offset(offset(filters.page))
    return Page(items=items, total=await count, filters=filters)


async def categories() -> list[dict]:
    return await Category.select(Category.id, Category.path, Category.name).order_by(Category.path)


async def show(offer_id: int) -> dict:
    """An offer with its product, category and sibling variants.

    Raises:
        NotFound: no such offer in this store.
    """
    offer = await Offer.select(*Offer.all_columns()).where(Offer.id == offer_id).output(load_json=True).first()
    if offer is None:
        raise NotFound(_("This product does not exist."))
    product = (
        await Product.select(*Product.all_columns(), Product.category.path.as_alias("category_path"))
        .where(Product.id == offer["product"])
        .output(load_json=True)
        .first()
    )
    variants = (
        await Offer.select(
            Offer.id, Offer.name, Offer.sku, Offer.price_minor, Offer.currency, Offer.stock, Offer.available
        )
        .where(Offer.product == offer["product"])
        .order_by(Offer.id)
    )
    return {"offer": offer, "product": product, "variants": variants}


@dataclass(frozen=True)
class OfferEdit:
    price_minor: int
    old_price_minor: int | None
    stock: int | None
    available: bool
    tax: receipts.ProductTax | None = None  # None: the form did not carry the tax fields, they stay as they are


def validate_edit(raw: Mapping[str, str], currency: str) -> tuple[OfferEdit | None, dict[str, str]]:
    errors: dict[str, str] = {}
    price = _money(raw, "price", currency, errors, required=True)
    old_price = _money(raw, "old_price", currency, errors, required=False)
    stock_text = _fields.text(raw, "stock", errors, required=False, max_length=10)
    stock: int | None = None
    if stock_text and "stock" not in errors:
        try:
            stock = rules.integer(stock_text, low=0, high=10_000_000)
        except rules.Invalid:
            errors["stock"] = _("Enter a whole number from 0 to 10,000,000, or leave it empty.")
    tax = None
    if "measure" in raw:
        tax, tax_errors = receipts.validate_product_tax(raw)
        errors.update(tax_errors)
    if errors or price is None:
        return None, errors
    return OfferEdit(price, old_price, stock, raw.get("available") in ("on", "true", "1"), tax), errors


def _money(raw: Mapping[str, str], name: str, currency: str, errors: dict[str, str], *, required: bool) -> int | None:
    text = _fields.text(raw, name, errors, required=required, max_length=20)
    if not text or name in errors:
        return None
    try:
        value = parse_money(text, currency)
    except ValueProblem:
        value = None
    if value is None or value > 10**13:
        errors[name] = _("Enter an amount like 1290 or 1290.50.")
        return None
    return value


async def update_offer(offer_id: int, edit: OfferEdit) -> dict:
    async with store_transaction():
        rows = await _update_offer(offer_id, edit)
        if rows and edit.tax is not None:
            await Product.update(
                {
                    Product.vat_code: edit.tax.vat_code,
                    Product.measure: edit.tax.measure,
                    Product.payment_subject: edit.tax.payment_subject,
                    Product.payment_mode: edit.tax.payment_mode,
                    Product.updated_at: datetime.now(UTC),
                }
            ).where(Product.id == rows[0]["product"])
    if not rows:
        raise NotFound(_("This product does not exist."))
    return await show(offer_id)


async def _update_offer(offer_id: int, edit: OfferEdit) -> list[dict]:
    return (
        await Offer.update(
            {
                Offer.price_minor: edit.price_minor,
                Offer.old_price_minor: edit.old_price_minor,
                Offer.stock: edit.stock,
                Offer.available: edit.available,
                Offer.updated_at: datetime.now(UTC),
            }
        )
        .where(Offer.id == offer_id)
        .returning(Offer.id, Offer.product)
    )
