"""Any other CSV: a column mapping (proposed from en/ru/uk header names) turned into records."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.i18n.messages import gettext
from app.services.imports.csv_common import Row, RowTools, split_list
from app.services.imports.records import Offer, PriceStockUpdate, Product, Record
from app.services.imports.values import (
    ValueProblem,
    clean_line,
    clean_text,
    normalize_currency,
    normalize_lang,
    parse_bool,
    parse_quantity,
)

# Target field -> header names that usually mean it, lower-case, in English, Russian and Ukrainian.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id",
        "external id",
        "external_id",
        "product id",
        "ид",
        "идентификатор",
        "ідентифікатор",
        "код",
        "код товара",
        "код товару",
        "xml_id",
    ),
    "sku": ("sku", "артикул", "article", "vendor code", "vendorcode", "арт.", "арт", "mpn", "модель"),
    "name": (
        "name",
        "title",
        "product name",
        "product",
        "наименование",
        "название",
        "название товара",
        "наименование товара",
        "назва",
        "назва товару",
        "найменування",
        "товар",
    ),
    "description": ("description", "body (html)", "описание", "опис", "описание товара", "опис товару"),
    "vendor": (
        "vendor",
        "brand",
        "manufacturer",
        "производитель",
        "бренд",
        "виробник",
        "марка",
        "торговая марка",
    ),
    "category": ("category", "categories", "категория", "категорія", "раздел", "розділ", "группа", "група"),
    "price": (
        "price",
        "regular price",
        "retail price",
        "цена",
        "ціна",
        "стоимость",
        "вартість",
        "цена продажи",
        "розничная цена",
        "роздрібна ціна",
    ),
    "old_price": (
        "old price",
        "oldprice",
        "compare at price",
        "старая цена",
        "стара ціна",
        "цена до скидки",
        "ціна до знижки",
        "зачеркнутая цена",
    ),
    "currency": ("currency", "валюта"),
    "stock": (
        "stock",
        "quantity",
        "qty",
        "остаток",
        "остатки",
        "количество",
        "кількість",
        "залишок",
        "залишки",
    ),
    "available": (
        "available",
        "availability",
        "in stock",
        "in stock?",
        "наличие",
        "наявність",
        "в наличии",
        "в наявності",
        "доступность",
    ),
    "barcode": ("barcode", "ean", "ean13", "gtin", "upc", "штрихкод", "штрих-код", "штрих код"),
    "pictures": (
        "image",
        "images",
        "picture",
        "pictures",
        "photo",
        "image src",
        "image url",
        "изображение",
        "изображения",
        "фото",
        "картинка",
        "зображення",
    ),
    "url": ("url", "link", "product url", "ссылка", "посилання"),
    "group_key": ("group_id", "group id", "parent sku", "parent", "группа товаров", "ид группы"),
}
_NOISE = re.compile(r"[\s*:]+$")


def _normal(header: str) -> str:
    return _NOISE.sub("", " ".join(header.replace("\ufeff", "").lower().split()))


def guess_mapping(header: Iterable[str]) -> dict[str, str]:
    """Propose ``{target_field: column}`` from header names ("Артикул", "Ціна", "Наличие"...).

    "Цена, руб" and "Ціна (грн)" match "цена"/"ціна": a unit after a comma or bracket is ignored.
    """
    columns = list(header)
    mapping: dict[str, str] = {}
    for target, names in SYNONYMS.items():
        for column in columns:
            normal = _normal(column)
            bare = re.split(r"[,(]", normal, maxsplit=1)[0].strip()
            if (normal in names or bare in names) and column not in mapping.values():
                mapping[target] = column
                break
    return mapping


_CODES = frozenset({"external_id", "sku", "barcode", "group_key"})


def generic_records(rows: Iterator[Row], mapping: dict[str, str], tools: RowTools) -> Iterator[Record]:
    """With a name column rows are goods; without one they are price/stock updates keyed by id or SKU."""
    groups: set[str] = set()
    for row in rows:
        key = row.code(mapping.get("external_id")) or row.code(mapping.get("sku"))
        if key is None:
            tools.issue(row.line, "external_id", "missing_id", gettext("The row has no id or SKU; it is skipped."))
            yield from tools.drain()
            continue
        yield from _row_records(row, key, mapping, tools, groups)
        yield from tools.drain()


def _row_records(row: Row, key: str, mapping: dict[str, str], tools: RowTools, groups: set[str]) -> Iterator[Record]:
    def cell(target: str) -> str | None:
        if target in _CODES:
            return row.code(mapping.get(target))
        return row.get(mapping.get(target))

    currency = normalize_currency(cell("currency")) or tools.currency
    try:
        price = tools.money(cell("price"), row.line, "price", key)
    except ValueProblem:
        return
    old = tools.old_price(cell("old_price"), price, row.line, key)
    stock, available = _stock_and_flag(cell("stock"), cell("available"), row.line, key, tools)
    name = clean_line(cell("name"))
    if "name" not in mapping:
        tools.updates += 1
        yield PriceStockUpdate(key, price, old, currency, stock, available, line=row.line)
        return
    if name is None:
        message = gettext("Row %(id)s has no name; it is skipped.", id=key)
        tools.issue(row.line, "name", "missing_name", message, "error", key)
        return
    group = cell("group_key")
    product_key = group or key
    if group is None or group not in groups:
        if group is not None:
            groups.add(group)
        yield from _product(row, product_key, name, group, mapping, tools)
    yield Offer(
        key,
        product_key,
        sku=cell("sku"),
        name=name,
        price_minor=price,
        old_price_minor=old,
        currency=currency,
        stock=stock,
        available=available,
        barcode=cell("barcode"),
        line=row.line,
    )


def _product(
    row: Row, key: str, name: str, group: str | None, mapping: dict[str, str], tools: RowTools
) -> Iterator[Record]:
    paths, categories = tools.category_paths(row.get(mapping.get("category")), row.line)
    yield from categories
    names = {
        lang: value
        for target, column in mapping.items()
        if target.startswith("name_") and (lang := normalize_lang(target[5:])) and (value := row.get(column))
    }
    descriptions = {
        lang: value
        for target, column in mapping.items()
        if target.startswith("description_") and (lang := normalize_lang(target[12:])) and (value := row.get(column))
    }
    tools.products += 1
    yield Product(
        key,
        name,
        names_by_lang=names,
        description=clean_text(row.get(mapping.get("description"))),
        descriptions_by_lang=descriptions,
        vendor=row.get(mapping.get("vendor")),
        vendor_code=row.code(mapping.get("sku")),
        barcodes=[b] if (b := row.code(mapping.get("barcode"))) else [],
        category_external_id=paths[0] if paths else None,
        category_external_ids=paths,
        pictures=split_list(row.get(mapping.get("pictures"))),
        url=row.get(mapping.get("url")),
        group_key=group,
        line=row.line,
    )


def _stock_and_flag(
    stock_raw: str | None, flag_raw: str | None, line: int, key: str, tools: RowTools
) -> tuple[int | None, bool | None]:
    stock = tools.quantity(stock_raw, line, key)
    available = parse_bool(flag_raw)
    if available is None and flag_raw is not None:
        # Many shops put a count in the "Наличие" column instead of yes/no.
        try:
            count = parse_quantity(flag_raw)
        except ValueProblem:
            return stock, None
        stock = count if stock is None else stock
        available = count > 0
    return stock, available
