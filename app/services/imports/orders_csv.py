"""Orders from CSV: the Shopify orders export, the WooCommerce orders export, or any CSV through a column map.

Shopify writes one row per line item; only an order's first row carries its totals. WooCommerce's
Order/Customer/Coupon Export writes one row per order, the items packed in ``line_items``
("name:Cap|sku:C-1|quantity:2|total:30.00;name:…"). A mapped CSV has one row per line item.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping

from charset_normalizer import from_bytes

from app.forms import rules
from app.i18n import gettext as _
from app.services.imports.orders_model import (
    MAX_ORDERS,
    LineRecord,
    OrderRecord,
    OrdersFile,
    RowProblem,
    check,
    moment,
    money,
    quantity,
)
from app.services.imports.orders_status import group_of
from app.services.imports.values import normalize_currency

# Canonical columns of a mapped CSV, and the headers that name them without a map.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "order", "order number", "номер", "номер заказа", "номер замовлення"),
    "date": ("date", "created at", "дата", "дата заказа", "дата замовлення"),
    "status": ("status", "статус"),
    "name": ("name", "customer", "клиент", "клієнт", "фио", "піб", "имя", "ім'я"),
    "phone": ("phone", "телефон"),
    "email": ("email", "e-mail", "почта", "пошта"),
    "item": ("item", "product", "товар", "назва товару", "наименование"),
    "sku": ("sku", "артикул"),
    "quantity": ("quantity", "qty", "количество", "кількість"),
    "price": ("price", "цена", "ціна"),
    "discount": ("discount", "скидка", "знижка"),
    "delivery": ("delivery", "shipping", "доставка"),
    "total": ("total", "сумма", "сума", "итого", "разом"),
    "currency": ("currency", "валюта"),
    "paid": ("paid", "оплачен", "оплачено"),
    "address": ("address", "адрес", "адреса"),
    "comment": ("comment", "комментарий", "коментар"),
}


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data[:200_000]).best()
        return data.decode(best.encoding if best else "cp1251", errors="replace")


def _rows(data: bytes) -> list[dict[str, str]]:
    text = decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader, [])]
    return [dict(zip(header, (c.strip() for c in cells), strict=False)) for cells in reader if any(cells)]


def _clean(value: str | None, limit: int = 200) -> str:
    try:
        return rules.text(value, max_length=100_000)[:limit]
    except rules.Invalid as exc:
        raise RowProblem(str(exc)) from None


def _grouped(
    data: bytes, fmt: str, number_of: Callable[[dict[str, str]], str], start: Callable, add: Callable
) -> OrdersFile:
    """Rows that share an order number make one order; a wrong row is reported with its line."""
    result = OrdersFile(fmt)
    by_number: dict[str, OrderRecord] = {}
    wrong: set[str] = set()  # orders with a wrong row: already reported, not checked again
    for line, row in enumerate(_rows(data), start=2):
        number = ""
        try:
            number = _clean(number_of(row), 40)
            order = by_number.get(number)
            if order is None:
                if len(by_number) >= MAX_ORDERS:
                    raise RowProblem(_("Too many orders: at most %(max)s per file.", max=MAX_ORDERS))
                order = by_number[number] = start(row, line, number)
            add(order, row)
        except RowProblem as exc:
            result.issues.append((line, str(exc)))
            wrong.add(number)
    for order in by_number.values():
        if order.number in wrong:
            continue
        try:
            check(order)
            result.orders.append(order)
        except RowProblem as exc:
            result.issues.append((order.line, str(exc)))
    return result


def _currency(raw: str | None, default: str) -> str:
    return normalize_currency(raw) or default


def parse_shopify(data: bytes, *, zone: str, currency: str, country: str, contact: Callable) -> OrdersFile:
    def start(row: Mapping[str, str], line: int, number: str) -> OrderRecord:
        cur = _currency(row.get("Currency"), currency)
        phone, email = contact(
            row.get("Phone") or row.get("Billing Phone") or row.get("Shipping Phone"),
            row.get("Email"),
            row.get("Billing Country") or row.get("Shipping Country"),
        )
        address = ", ".join(
            v for k in ("Shipping Street", "Shipping City", "Shipping Zip", "Shipping Country") if (v := row.get(k))
        )
        financial = (row.get("Financial Status") or "").lower()
        status = "cancelled" if row.get("Cancelled at") else (row.get("Fulfillment Status") or financial)
        return OrderRecord(
            line=line,
            number=number,
            placed_at=moment(row.get("Created at"), zone),
            currency=cur,
            group=group_of(status or "pending"),
            paid=financial in ("paid", "partially_refunded", "refunded"),
            customer_name=_clean(row.get("Billing Name") or row.get("Shipping Name")),
            phone=phone,
            email=email,
            discount_minor=money(row.get("Discount Amount"), cur),
            delivery_minor=money(row.get("Shipping"), cur),
            total_minor=money(row.get("Total"), cur) if row.get("Total") else None,
            delivery_method=_clean(row.get("Shipping Method"), 64),
            delivery_address=_clean(address, 1000),
            comment=_clean(row.get("Notes"), 5000),
        )

    def add(order: OrderRecord, row: Mapping[str, str]) -> None:
        order.lines.append(
            LineRecord(
                name=_clean(row.get("Lineitem name"), 500) or "—",
                sku=_clean(row.get("Lineitem sku"), 255) or None,
                price_minor=money(row.get("Lineitem price"), order.currency),
                quantity=quantity(row.get("Lineitem quantity")),
            )
        )

    return _grouped(data, "shopify", lambda row: row.get("Name", ""), start, add)


def _woo_items(raw: str, currency: str) -> list[LineRecord]:
    items = []
    for chunk in (c for c in raw.split(";") if c.strip()):
        fields = dict(part.partition(":")[::2] for part in chunk.split("|"))
        count = quantity(fields.get("quantity"))
        total = money(fields.get("total") or fields.get("subtotal"), currency)
        items.append(
            LineRecord(
                name=_clean(fields.get("name"), 500) or "—",
                sku=_clean(fields.get("sku"), 255) or None,
                price_minor=total // count,
                quantity=count,
            )
        )
    return items


def parse_woocommerce(data: bytes, *, zone: str, currency: str, country: str, contact: Callable) -> OrdersFile:
    def start(row: Mapping[str, str], line: int, number: str) -> OrderRecord:
        cur = _currency(row.get("order_currency"), currency)
        phone, email = contact(
            row.get("billing_phone"),
            row.get("billing_email"),
            row.get("billing_country") or row.get("shipping_country"),
        )
        name = " ".join(v for k in ("billing_first_name", "billing_last_name") if (v := row.get(k)))
        address = ", ".join(
            v
            for k in ("shipping_address_1", "shipping_city", "shipping_postcode", "shipping_country")
            if (v := row.get(k))
        )
        status = row.get("status") or "pending"
        return OrderRecord(
            line=line,
            number=number,
            placed_at=moment(row.get("order_date"), zone),
            currency=cur,
            group=group_of(status),
            paid=status.lower() in ("processing", "completed", "wc-processing", "wc-completed"),
            customer_name=_clean(name),
            phone=phone,
            email=email,
            discount_minor=money(row.get("discount_total"), cur),
            delivery_minor=money(row.get("shipping_total"), cur),
            total_minor=money(row.get("order_total"), cur) if row.get("order_total") else None,
            delivery_method=_clean(row.get("shipping_method"), 64),
            delivery_address=_clean(address, 1000),
            comment=_clean(row.get("customer_note"), 5000),
        )

    def add(order: OrderRecord, row: Mapping[str, str]) -> None:
        order.lines.extend(_woo_items(row.get("line_items", ""), order.currency))

    return _grouped(data, "woocommerce", lambda row: row.get("order_number") or row.get("order_id", ""), start, add)


def mapping_for(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Our column -> the file's header: headers that name our columns, then the map given over them."""
    found: dict[str, str] = {}
    for title in header:
        for column, names in COLUMNS.items():
            if title.strip().lower() in names and column not in found:
                found[column] = title
    by_lower = {title.strip().lower(): title for title in header}
    for column, title in (mapping or {}).items():
        if column in COLUMNS and title.strip():
            found[column] = by_lower.get(title.strip().lower(), title.strip())
    return found


def parse_mapped(
    data: bytes, *, zone: str, currency: str, country: str, contact: Callable, mapping: Mapping[str, str] | None = None
) -> OrdersFile:
    rows = _rows(data)
    header = list(rows[0].keys()) if rows else []
    cols = mapping_for(header, mapping)
    missing = [c for c in ("number", "date", "item", "price") if c not in cols]
    absent = [title for title in cols.values() if title not in header]
    if missing or absent:
        result = OrdersFile("csv")
        if missing:
            result.issues.append((1, _("The file has no column for: %(columns)s.", columns=", ".join(missing))))
        if absent:
            result.issues.append((1, _("The file has no column named %(names)s.", names=", ".join(absent)[:200])))
        return result

    def get(row: Mapping[str, str], column: str) -> str:
        return row.get(cols.get(column, ""), "") or ""

    def start(row: Mapping[str, str], line: int, number: str) -> OrderRecord:
        cur = _currency(get(row, "currency"), currency)
        phone, email = contact(get(row, "phone"), get(row, "email"))
        return OrderRecord(
            line=line,
            number=number,
            placed_at=moment(get(row, "date"), zone),
            currency=cur,
            group=group_of(get(row, "status") or "complete"),
            paid=get(row, "paid").lower() in ("1", "yes", "true", "да", "так", "paid"),
            customer_name=_clean(get(row, "name")),
            phone=phone,
            email=email,
            discount_minor=money(get(row, "discount"), cur),
            delivery_minor=money(get(row, "delivery"), cur),
            total_minor=money(get(row, "total"), cur) if get(row, "total") else None,
            delivery_address=_clean(get(row, "address"), 1000),
            comment=_clean(get(row, "comment"), 5000),
        )

    def add(order: OrderRecord, row: Mapping[str, str]) -> None:
        order.lines.append(
            LineRecord(
                name=_clean(get(row, "item"), 500) or "—",
                sku=_clean(get(row, "sku"), 255) or None,
                price_minor=money(get(row, "price"), order.currency),
                quantity=quantity(get(row, "quantity")),
            )
        )

    return _grouped(data, "csv", lambda row: get(row, "number"), start, add)
