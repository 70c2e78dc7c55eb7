"""Order history import: preview in a rolled-back transaction, apply whole or not at all, re-import changes nothing.

Each order is keyed by its source and original number (``import:<format>:<number>`` in the order's idempotency
key), so the same file imported twice adds nothing. Customers are found or created by phone and e-mail as every
other entry point does; their totals and RFM classes are recomputed in the same transaction, and the analytics
triggers on ``orders`` roll the imported orders into the dashboard figures.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from app.i18n import gettext as _
from app.services import customers, rfm, stores
from app.services.imports.orders_cml import parse_commerceml
from app.services.imports.orders_csv import parse_mapped, parse_shopify, parse_woocommerce
from app.services.imports.orders_model import FORMATS, OrderRecord, OrdersFile, RowProblem
from app.tables.customers import Customer
from app.tables.orders import Order, OrderLine, OrderStatus
from app.tenancy.runtime import current_tenant, store_transaction

MAX_BYTES = 20 * 1024 * 1024
_PARSERS = {"commerceml": parse_commerceml, "shopify": parse_shopify, "woocommerce": parse_woocommerce}


@dataclass
class OrdersReport:
    """What an import did (or, in a preview, would do); ``issues`` are (file, line, message)."""

    format: str = ""
    applied: bool = False
    orders_new: int = 0
    orders_unchanged: int = 0
    lines: int = 0
    customers_new: int = 0
    customers_found: int = 0
    issues: list[tuple[str, int, str]] = field(default_factory=list)
    warnings: list[tuple[str, int, str]] = field(default_factory=list)


class _Rollback(Exception):
    """Undo the transaction: a preview, or a file with a wrong row."""


def detect(data: bytes) -> str:
    """The format of an orders file from its first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<"):
        return "commerceml"
    first = head.split(b"\n", 1)[0].lower()
    if b"lineitem name" in first and b"financial status" in first:
        return "shopify"
    if b"order_number" in first or b"line_items" in first:
        return "woocommerce"
    return "csv"


def contact_reader(country: str):
    """Normalized (phone, e-mail) of a row; a local number is read in the order's country, else the store's."""

    def contact(
        raw_phone: str | None, raw_email: str | None, region: str | None = None
    ) -> tuple[str | None, str | None]:
        phone = email = None
        if (raw_phone or "").strip():
            home = (region or "").strip().upper()
            phone = customers.normalize_phone(raw_phone.strip(), home if len(home) == 2 else country)
            if phone is None:
                raise RowProblem(_("%(value)s is not a phone number we can call.", value=raw_phone.strip()[:40]))
        if (raw_email or "").strip():
            try:
                email = validate_email(raw_email.strip()[:254], check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                raise RowProblem(_("%(value)s is not a valid e-mail address.", value=raw_email.strip()[:60])) from None
        return phone, email

    return contact


def parse(
    data: bytes, *, fmt: str | None, zone: str, currency: str, country: str, mapping: Mapping[str, str] | None = None
) -> OrdersFile:
    """The orders a file holds and its wrong rows; nothing is written."""
    chosen = fmt or detect(data)
    if len(data) > MAX_BYTES:
        result = OrdersFile(chosen)
        result.issues.append((0, _("The file is too large: at most %(size)s MB.", size=20)))
        return result
    options = dict(zone=zone, currency=currency, country=country, contact=contact_reader(country))
    if chosen == "csv":
        return parse_mapped(data, mapping=mapping, **options)
    return _PARSERS[chosen](data, **options)


async def import_files(
    files: list[tuple[str, bytes]],
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    mapping: Mapping[str, str] | None = None,
) -> OrdersReport:
    """Preview (``dry_run``) or apply these files' orders, all of them or none.

    Raises:
        ValueError: ``fmt`` is not one of ``FORMATS``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(fmt)
    store = await stores.current_store()
    report = OrdersReport()
    parsed: list[OrdersFile] = []
    for name, data in files:
        result = parse(
            data, fmt=fmt, zone=store.timezone, currency=store.currency, country=store.country, mapping=mapping
        )
        report.format = report.format or result.format
        report.issues.extend((name, line, message) for line, message in result.issues)
        report.warnings.extend((name, line, message) for line, message in result.warnings)
        parsed.append(result)
    if report.issues:
        return report
    try:
        async with store_transaction():
            await _write(parsed, [name for name, _data in files], report)
            if report.issues or dry_run:
                raise _Rollback
            await Order.raw(_SKIP_TAKEN_NUMBERS)  # not in a preview: a sequence does not roll back
    except _Rollback:
        return report
    report.applied = True
    return report


async def _write(parsed: list[OrdersFile], names: list[str], report: OrdersReport) -> None:
    statuses = await _status_by_group()
    people_before = await Customer.count()
    touched: set[int] = set()
    seen: set[str] = set()
    for name, result in zip(names, parsed, strict=True):
        for order in result.orders:
            key = f"import:{result.format}:{order.number}"[:64]
            if key in seen:
                report.issues.append((name, order.line, _("The order %(number)s appears twice.", number=order.number)))
                continue
            seen.add(key)
            if await Order.exists().where(Order.idempotency_key == key):
                report.orders_unchanged += 1
                continue
            if await Order.exists().where(Order.number == order.number):
                message = _("The number %(number)s is already used by another order.", number=order.number)
                report.issues.append((name, order.line, message))
                continue
            customer_id = await _customer(order)
            await _insert(order, key, statuses[order.group], customer_id, result.format)
            report.orders_new += 1
            report.lines += len(order.lines)
            if customer_id is not None:
                touched.add(customer_id)
    report.customers_new = await Customer.count() - people_before
    report.customers_found = len(touched) - report.customers_new
    if touched:
        await customers.recompute_totals(sorted(touched))
        await rfm.refresh(customer_ids=sorted(touched))


async def _status_by_group() -> dict[str, int]:
    rows = await OrderStatus.select(OrderStatus.id, OrderStatus.group).order_by(OrderStatus.position)
    found: dict[str, int] = {}
    for row in rows:
        found.setdefault(row["group"], row["id"])
    return found


async def _customer(order: OrderRecord) -> int | None:
    if not order.phone and not order.email:
        return None
    return await customers.find_or_create(
        name=order.customer_name, phone=order.phone, email=order.email, source="import"
    )


async def _insert(order: OrderRecord, key: str, status_id: int, customer_id: int | None, fmt: str) -> None:
    total = order.total_minor if order.total_minor is not None else order.computed_total
    row = Order(
        number=order.number,
        token=secrets.token_urlsafe(24),
        idempotency_key=key,
        status=status_id,
        customer=customer_id,
        customer_name=order.customer_name,
        phone=order.phone,
        email=order.email,
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        discount_minor=order.discount_minor,
        delivery_minor=order.delivery_minor,
        total_minor=total,
        delivery_method=order.delivery_method,
        delivery_address=order.delivery_address,
        source="import",
        fields={"import": {"format": fmt, "paid": order.paid}},
        comment=order.comment,
        locale=current_tenant().locale,
        confirmed=order.group != "new",
        created_at=order.placed_at,
        updated_at=order.placed_at,
    )
    await row.save()
    await OrderLine.insert(
        *[
            OrderLine(
                order=row.id,
                name=line.name,
                sku=line.sku,
                price_minor=line.price_minor,
                quantity=line.quantity,
                total_minor=line.price_minor * line.quantity,
                position=index,
            )
            for index, line in enumerate(order.lines)
        ]
    )
    await customers.add_event(
        customer_id,
        customers.ORDER_PLACED,
        order_id=row.id,
        data={"number": order.number, "total_minor": total, "currency": order.currency, "source": "import"},
        at=order.placed_at,
    )


# Our own numbers are drawn from order_number_seq: move it past the imported plain numbers ("512", not
# "#1001"), so an order placed later never draws a number an imported order already has.
_SKIP_TAKEN_NUMBERS = (
    "SELECT setval('order_number_seq', taken) FROM (SELECT max(number::bigint) AS taken FROM orders"
    " WHERE source = 'import' AND number ~ '^[0-9]+$' AND length(number) <= 15) imported, order_number_seq"
    " WHERE taken >= CASE WHEN is_called THEN last_value + 1 ELSE last_value END"
)


def as_json(report: OrdersReport) -> str:
    return json.dumps(report.__dict__, ensure_ascii=False)
