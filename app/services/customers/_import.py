"""Customer import from CSV: upserts by phone (E.164) or e-mail, whole file or nothing, an event per customer."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

from charset_normalizer import from_bytes
from email_validator import EmailNotValidError, validate_email

from app.forms import rules
from app.i18n import gettext as _
from app.services.customers import _identity as ident
from app.tables.customers import Customer
from app.tenancy.runtime import store_transaction

MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024
# Header names people use for each column, in our three languages.
COLUMNS = {
    "name": {"name", "full name", "имя", "фио", "ім'я", "піб", "клиент", "клієнт"},
    "phone": {"phone", "телефон", "тел", "mobile"},
    "email": {"email", "e-mail", "почта", "пошта", "mail"},
    "city": {"city", "город", "місто"},
    "tags": {"tags", "теги", "тег", "tag"},
}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)


def _decode(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data[:200_000]).best()
        return data.decode(best.encoding, errors="replace") if best else None


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for column, names in COLUMNS.items():
            if key in names and column not in found:
                found[column] = index
    return found


def parse(data: bytes, country: str) -> tuple[list[dict], ImportResult]:
    """Rows checked one by one; every problem is reported with its line number."""
    result = ImportResult()
    if len(data) > MAX_BYTES:
        result.errors.append((0, _("The file is too large: at most %(size)s MB.", size=5)))
        return [], result
    text = _decode(data)
    if not text or not text.strip():
        result.errors.append((0, _("The file is empty or is not a text CSV file.")))
        return [], result
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    columns = _columns(next(reader, []))
    if "phone" not in columns and "email" not in columns:
        result.errors.append((1, _("The first line must name the columns, with a phone or an e-mail column.")))
        return [], result
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            result.errors.append((line, _("Too many rows: at most %(max)s per file.", max=MAX_ROWS)))
            break
        value = {k: (cells[i].strip() if i < len(cells) else "") for k, i in columns.items()}
        row, error = _row(value, country)
        if error:
            result.errors.append((line, error))
        else:
            rows.append(row | {"line": line})
    return rows, result


def _row(value: dict[str, str], country: str) -> tuple[dict, str | None]:
    if any(rules.has_forbidden(cell) for cell in value.values()):
        return {}, rules.control_message()
    phone = ident.normalize_phone(value.get("phone", ""), country) if value.get("phone") else None
    if value.get("phone") and phone is None:
        return {}, _("Enter a phone number we can call, e.g. +7 912 345-67-89.")
    email = None
    if value.get("email"):
        try:
            email = validate_email(value["email"][:254], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            return {}, _("Enter a valid e-mail address, like name@example.com.")
    if not phone and not email:
        return {}, _("Keep a phone or an e-mail: it is how we recognise the customer.")
    tags = [" ".join(t.split()).lower()[:40] for t in value.get("tags", "").replace(";", ",").split(",")]
    return {
        "name": value.get("name", "")[:200],
        "phone": phone,
        "email": email,
        "city": value.get("city", "")[:120],
        "tags": [t for t in dict.fromkeys(tags) if t][:20],
    }, None


async def import_csv(data: bytes, *, country: str, filename: str, actor_id: int | None) -> ImportResult:
    """Apply the whole file in one transaction, or nothing when any row is wrong."""
    rows, result = parse(data, country)
    if result.errors:
        return result
    async with store_transaction():
        for row in rows:
            column = Customer.phone if row["phone"] else Customer.email
            existed = await Customer.exists().where(
                (column == (row["phone"] or row["email"])) & Customer.merged_into.is_null()
            )
            customer_id = await ident.find_or_create(
                name=row["name"], phone=row["phone"], email=row["email"], source="import"
            )
            await Customer.raw(
                "UPDATE customer SET city = CASE WHEN city = '' THEN {} ELSE city END,"
                " tags = (SELECT coalesce(jsonb_agg(DISTINCT t), '[]'::jsonb) FROM"
                " (SELECT jsonb_array_elements_text(tags) t UNION SELECT unnest({}::text[])) x) WHERE id = {}",
                row["city"],
                row["tags"],
                customer_id,
            )
            await ident.add_event(
                customer_id, ident.IMPORT, actor_id=actor_id, data={"file": filename[:200], "line": row["line"]}
            )
            if existed:
                result.updated += 1
            else:
                result.created += 1
    return result
