"""Known product CSV layouts: Shopify's product template and WooCommerce's product export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from app.i18n.messages import gettext
from app.services.imports.csv_common import Row, RowTools, split_list
from app.services.imports.records import Offer, Param, Product, Record
from app.services.imports.values import ValueProblem, clean_line, clean_text, looks_like_excel_number

SHOPIFY_ORDERS = frozenset({"Name", "Financial Status", "Lineitem name", "Lineitem quantity"})
_SHOPIFY = frozenset({"Handle", "Title", "Variant Price"})
_WOO = frozenset({"ID", "Type", "SKU", "Name", "Regular price"})
_STATUS = {"active": True, "draft": False, "archived": False}


def detect_preset(header: Iterable[str]) -> str | None:
    columns = set(header)
    if columns >= SHOPIFY_ORDERS:
        return "shopify_orders"
    if columns >= _SHOPIFY:
        return "shopify"
    if columns >= _WOO:
        return "woocommerce"
    return None


def shopify_records(rows: Iterator[Row], tools: RowTools) -> Iterator[Record]:
    """Rows sharing a Handle are one product: its variants and its extra images."""
    group: list[Row] = []
    done: set[str] = set()
    for row in rows:
        handle = row.get("Handle")
        if handle is None:
            tools.issue(row.line, "Handle", "missing_id", gettext("The row has no Handle; it is skipped."))
            yield from tools.drain()
            continue
        if group and handle != group[0].get("Handle"):
            yield from _shopify_product(group, tools, done)
            group = []
        group.append(row)
    if group:
        yield from _shopify_product(group, tools, done)


def _shopify_product(rows: list[Row], tools: RowTools, done: set[str]) -> Iterator[Record]:
    first, handle = rows[0], rows[0].get("Handle") or ""
    if handle in done:
        message = gettext("Rows of product %(handle)s are not together; the later rows are skipped.", handle=handle)
        tools.issue(first.line, "Handle", "split_product", message, "error", handle)
        yield from tools.drain()
        return
    done.add(handle)
    kind = first.get("Type")
    paths, categories = tools.category_paths(kind, first.line)
    yield from categories
    options = [first.get(f"Option{i} Name") for i in (1, 2, 3)]
    offers = [offer for index, row in enumerate(rows) if (offer := _shopify_offer(row, index, options, tools))]
    pictures = list(dict.fromkeys(url for row in rows if (url := row.get("Image Src"))))
    extra = [Param(col, value) for col in ("Product Category", "Tags") if (value := first.get(col))]
    tools.products += 1
    yield Product(
        handle,
        clean_line(first.get("Title")) or handle,
        description=clean_text(first.get("Body (HTML)")),
        vendor=first.get("Vendor"),
        category_external_id=paths[0] if paths else None,
        category_external_ids=paths,
        pictures=pictures,
        params=extra,
        published=_STATUS.get((first.get("Status") or "").lower(), tools.flag(first.get("Published"))),
        line=first.line,
    )
    yield from tools.drain()
    yield from offers


def _shopify_offer(row: Row, index: int, options: list[str | None], tools: RowTools) -> Offer | None:
    values = [row.get(f"Option{i} Value") for i in (1, 2, 3)]
    if not any(values) and not row.code("Variant SKU") and not row.get("Variant Price"):
        return None  # an image-only row
    handle, sku = row.get("Handle") or "", row.code("Variant SKU")
    key = sku or "/".join([handle, *(v for v in values if v)])
    try:
        price = tools.money(row.get("Variant Price"), row.line, "Variant Price", key)
    except ValueProblem:
        return None
    stock = tools.quantity(row.get("Variant Inventory Qty"), row.line, key)
    tracked = row.get("Variant Inventory Tracker") is not None
    available = None if stock is None or not tracked else stock > 0 or row.get("Variant Inventory Policy") == "continue"
    params = [
        Param(name, value)
        for name, value in zip(options, values, strict=True)
        if name and value and (name, value) != ("Title", "Default Title")
    ]
    return Offer(
        key,
        handle,
        sku=sku,
        name=None,
        price_minor=price,
        old_price_minor=tools.old_price(row.get("Variant Compare At Price"), price, row.line, key),
        currency=tools.currency,
        stock=stock,
        available=available,
        params=params,
        pictures=[url] if (url := row.get("Variant Image")) else [],
        barcode=_barcode(row.code("Variant Barcode"), row.line, key, tools),
        line=row.line,
    )


def _barcode(raw: str | None, line: int, key: str, tools: RowTools) -> str | None:
    if raw and looks_like_excel_number(raw):
        message = gettext(
            "Barcode %(value)s was turned into a number by a spreadsheet; its digits are lost.", value=raw
        )
        tools.issue(line, "barcode", "barcode_mangled", message, "warning", key)
        return None
    return raw


def woo_records(rows: Iterator[Row], tools: RowTools) -> Iterator[Record]:
    """simple/external/downloadable rows are product+offer, variable/grouped a product, variation an offer."""
    keys: dict[str, str] = {}  # "id:44" -> the key that row got, since Parent may name either
    parents: set[str] = set()
    for row in rows:
        key = row.code("SKU") or (f"id:{row.get('ID')}" if row.get("ID") else None)
        if key is None:
            tools.issue(row.line, "SKU", "missing_id", gettext("The row has neither ID nor SKU; it is skipped."))
            yield from tools.drain()
            continue
        if row.get("ID"):
            keys[f"id:{row.get('ID')}"] = key
        kinds = {part.strip().lower() for part in (row.get("Type") or "simple").split(",")}
        if "variation" in kinds:
            yield from _woo_variation(row, key, keys, parents, tools)
            continue
        parents.add(key)
        yield from _woo_product(row, key, kinds, tools)


def _woo_product(row: Row, key: str, kinds: set[str], tools: RowTools) -> Iterator[Record]:
    offer = None if kinds & {"variable", "grouped"} else _woo_offer(row, key, key, tools)
    if offer is None and not kinds & {"variable", "grouped"}:
        yield from tools.drain()
        return
    paths, categories = tools.category_paths(row.get("Categories"), row.line, many=True)
    yield from categories
    tools.products += 1
    yield Product(
        key,
        clean_line(row.get("Name")) or key,
        description=clean_text(row.get("Description")) or clean_text(row.get("Short description")),
        vendor=row.get("Brands"),
        vendor_code=row.code("SKU"),
        category_external_id=paths[0] if paths else None,
        category_external_ids=paths,
        pictures=split_list(row.get("Images")),
        params=_woo_attributes(row),
        url=row.get("External URL"),
        published=_woo_published(row.get("Published")),
        line=row.line,
    )
    yield from tools.drain()
    if offer is not None:
        yield offer


def _woo_variation(row: Row, key: str, keys: dict[str, str], parents: set[str], tools: RowTools) -> Iterator[Record]:
    parent_ref = row.get("Parent")
    parent = keys.get(parent_ref, parent_ref) if parent_ref else None
    if parent is None or parent not in parents:
        message = gettext(
            "Variation %(id)s refers to an unknown parent %(parent)s; it is skipped.",
            id=key,
            parent=parent_ref or "-",
        )
        tools.issue(row.line, "Parent", "unknown_parent", message, "error", key)
    else:
        offer = _woo_offer(row, key, parent, tools)
        if offer is not None:
            offer.pictures = split_list(row.get("Images"))
            yield from tools.drain()
            yield offer
            return
    yield from tools.drain()


def _woo_offer(row: Row, key: str, product_key: str, tools: RowTools) -> Offer | None:
    try:
        regular = tools.money(row.get("Regular price"), row.line, "Regular price", key)
        sale = tools.money(row.get("Sale price"), row.line, "Sale price", key)
    except ValueProblem:
        return None
    price, old = (sale, regular) if sale is not None else (regular, None)
    if old is not None and price is not None and old <= price:
        old = None
    stock = tools.quantity(row.get("Stock"), row.line, key)
    in_stock = row.get("In stock?")
    available = tools.flag(in_stock) if in_stock != "backorder" else True
    return Offer(
        key,
        product_key,
        sku=row.code("SKU"),
        name=clean_line(row.get("Name")),
        price_minor=price,
        old_price_minor=old,
        currency=tools.currency,
        stock=stock,
        available=available,
        params=_woo_attributes(row) if product_key != key else [],
        line=row.line,
    )


def _woo_attributes(row: Row) -> list[Param]:
    params = []
    for index in range(1, 100):
        name = row.get(f"Attribute {index} name")
        if name is None and f"Attribute {index} name" not in row.values:
            break
        value = row.get(f"Attribute {index} value(s)")
        if name and value:
            params.append(Param(name, value))
    return params


def _woo_published(raw: str | None) -> bool | None:
    # WooCommerce writes 1 for published, 0 for private and -1 for draft.
    return None if raw is None else raw.strip() == "1"
