"""The customer base: search, filters, sort and pages, fast at hundreds of thousands of customers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from urllib.parse import urlencode

from app import clock
from app.forms import rules
from app.i18n import get_timezone
from app.i18n import gettext as _
from app.services._collation import sort_key
from app.services._paging import PAGE_SIZE, Page, offset, parse_page
from app.services.customers import _scope
from app.services.customers._identity import format_phone, normalize_phone
from app.tables.customers import Customer

# Counting stops here: beyond it the list says "more than …" (or the planner's estimate when unfiltered),
# so a page never counts 200,000 rows.
COUNT_CAP = 10_000

# sort key -> ORDER BY (each backed by a partial index in the migration)
SORTS = {
    "recent": "c.last_order_at DESC NULLS LAST, c.id DESC",
    "spent": "c.total_spent_minor DESC, c.id DESC",
    "orders": "c.orders_count DESC, c.id DESC",
    "new": "c.created_at DESC, c.id DESC",
    "name": "{name}, c.id",
}
# With a search, the matches come from the GIN index and are sorted afterwards: these orders cannot walk
# a btree, or the planner would walk the whole base in sort order hoping to meet rare matches early.
SEARCH_SORTS = {
    "recent": "(c.last_order_at + interval '0 s') DESC NULLS LAST, c.id + 0 DESC",
    "spent": "c.total_spent_minor + 0 DESC, c.id + 0 DESC",
    "orders": "c.orders_count + 0 DESC, c.id + 0 DESC",
    "new": "(c.created_at + interval '0 s') DESC, c.id + 0 DESC",
    "name": "{name}, c.id + 0",
}
_WORD = re.compile(r"[^\w@.\-]+", re.UNICODE)
_PHONEISH = re.compile(r"^[\d\s()+\-.]+$")

Clause = tuple[str, list]


@dataclass(frozen=True)
class Filters:
    q: str = ""
    rfm: str = ""
    tag: str = ""
    city: str = ""
    source: str = ""
    has_orders: str = ""  # "" | yes | no
    last_from: str = ""  # ISO dates of the last order
    last_to: str = ""
    segment: str = ""
    sort: str = "recent"
    page: int = 1

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("sort", "page"))


def _date(text: str) -> str:
    try:
        return rules.day(text).isoformat()
    except rules.Invalid:
        return ""


def parse_filters(raw: Mapping[str, str]) -> Filters:
    """Lenient: anything unknown is simply not applied."""
    sort = raw.get("sort") or "recent"
    has = raw.get("has_orders") or ""
    segment = (raw.get("segment") or "").strip()
    return Filters(
        q=(raw.get("q") or "").strip()[:100],
        rfm=(raw.get("rfm") or "").strip()[:20],
        tag=(raw.get("tag") or "").strip()[:40],
        city=(raw.get("city") or "").strip()[:120],
        source=(raw.get("source") or "").strip()[:16],
        has_orders=has if has in ("yes", "no") else "",
        last_from=_date(raw.get("last_from") or ""),
        last_to=_date(raw.get("last_to") or ""),
        segment=segment if rules.record_id(segment) else "",
        sort=sort if sort in SORTS else "recent",
        page=parse_page(raw),
    )


def filters_query(filters: Filters, **override: object) -> str:
    values = {f.name: getattr(filters, f.name) for f in fields(filters)} | override
    return urlencode({k: v for k, v in values.items() if v and not (k == "sort" and v == "recent") and k != "page"})


def search_clause(q: str, country: str = "") -> Clause | None:
    """Prefix search over name words, e-mail and phone digits through the ``search`` tsvector."""
    q = q.strip()
    if not q:
        return None
    if _PHONEISH.match(q):
        digits = re.sub(r"\D", "", q)
        if len(digits) < 3:
            return None
        if country.upper() in ("RU", "KZ") and len(digits) >= 4 and digits.startswith("8"):
            digits = "7" + digits[1:]  # 8 912 … is how Russians write +7 912 …
        e164 = normalize_phone(q, country) if country else None
        spellings = dict.fromkeys([digits, *([e164.lstrip("+")] if e164 else [])])
        return "c.search @@ to_tsquery('simple', {})", [" | ".join(f"{d}:*" for d in spellings)]
    words = [w.strip(".-@") for w in _WORD.split(q.lower())]
    words = [w for w in words if w][:6]
    if not words:
        return None
    query = " & ".join(f"'{w}':*" for w in words)  # quoted lexemes: tsquery operators in w are literal
    if "@" in q:
        return "(c.search @@ to_tsquery('simple', {}) OR lower(c.email) = {})", [query, q.lower()]
    return "c.search @@ to_tsquery('simple', {})", [query]


def where_clauses(filters: Filters, country: str = "", extra: Clause | None = None) -> list[Clause]:
    clauses: list[Clause] = [("c.merged_into IS NULL", [])]
    found = search_clause(filters.q, country)
    if found:
        clauses.append(found)
    if filters.rfm == "none":
        clauses.append(("c.rfm_class IS NULL", []))
    elif filters.rfm:
        clauses.append(("c.rfm_class = {}", [filters.rfm]))
    if filters.tag:
        clauses.append(("c.tags @> jsonb_build_array({}::text)", [filters.tag]))
    if filters.city:
        clauses.append(("lower(c.city) = lower({})", [filters.city]))
    if filters.source:
        clauses.append(("c.source = {}", [filters.source]))
    if filters.has_orders == "yes":
        clauses.append(("c.orders_count > 0", []))
    elif filters.has_orders == "no":
        clauses.append(("c.orders_count = 0", []))
    if filters.last_from:
        # The store's days, which begin at its midnight (a bare ::date would begin at the session's, UTC).
        start = clock.day_start(date.fromisoformat(filters.last_from), get_timezone())
        clauses.append(("c.last_order_at >= {}", [start]))
    if filters.last_to:
        end = clock.day_start(date.fromisoformat(filters.last_to) + timedelta(days=1), get_timezone())
        clauses.append(("c.last_order_at < {}", [end]))
    if extra:
        clauses.append(extra)
    return clauses


def joined(clauses: list[Clause]) -> Clause:
    return " AND ".join(f"({sql})" for sql, _ in clauses), [p for _, params in clauses for p in params]


LIST_COLUMNS = (
    "c.id, c.name, c.phone, c.email, c.city, c.source, c.tags, c.orders_count, c.total_spent_minor,"
    " c.first_order_at, c.last_order_at, c.rfm_class, c.created_at"
)


async def list_page(
    filters: Filters, *, country: str = "", extra: Clause | None = None, only_manager: int | None = None
) -> Page:
    """One page of the base; the total is exact up to COUNT_CAP, then the planner's estimate when unfiltered.

    ``only_manager`` (a member limited to own orders): only customers with an order of theirs, each with
    the figures of those orders (filters and sorts on figures use them too).
    The SQL text comes only from fixed clause templates and the sort whitelist; values are parameters.
    """
    where, params = joined(where_clauses(filters, country, extra))
    searching = search_clause(filters.q, country) is not None
    name = sort_key("(c.name || '')" if searching else "c.name")
    order = (SEARCH_SORTS if searching else SORTS)[filters.sort].format(name=name)
    skip = offset(filters.page)
    source, columns, first = "customer c", LIST_COLUMNS, []
    if only_manager is not None:
        source, first = _scope.joined_from(), [only_manager]
        where, order, columns = _scope.scoped(where), _scope.scoped(order), _scope.scoped(columns)
    rows = await Customer.raw(
        f"SELECT {columns} FROM {source} WHERE {where} ORDER BY {order} LIMIT {PAGE_SIZE} OFFSET {skip}",  # noqa: S608
        *first,
        *params,
    )
    capped = f"SELECT 1 FROM {source} WHERE {where} LIMIT {COUNT_CAP + 1}"  # noqa: S608
    counted = await Customer.raw(f"SELECT count(*) AS n FROM ({capped}) x", *first, *params)  # noqa: S608
    total = counted[0]["n"]
    if total > COUNT_CAP and not filters.active and only_manager is None:
        estimate = await Customer.raw(
            "SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = 'customer'::regclass"
        )
        total = max(total, estimate[0]["n"])
    for row in rows:
        row["tags"] = _tags(row["tags"])
        row["phone_display"] = format_phone(row["phone"])
    return Page(rows, total, filters)


def _tags(value: object) -> list[str]:
    if isinstance(value, str):  # raw queries return jsonb as text
        value = json.loads(value)
    return [str(t) for t in value or []]


async def cities(limit: int = 50) -> list[str]:
    """The most common cities, for the filter's suggestions."""
    rows = await Customer.raw(
        "SELECT min(city) AS city FROM customer WHERE merged_into IS NULL AND city <> ''"
        " GROUP BY lower(city) ORDER BY count(*) DESC LIMIT {}",
        limit,
    )
    return sorted(row["city"] for row in rows)


SOURCES = ("form", "staff", "api", "import")


def sources() -> tuple[str, ...]:
    return SOURCES


def source_label(code: str) -> str:
    return {
        "form": _("Order form"),
        "staff": _("Taken by staff"),
        "api": _("API"),
        "import": _("Import"),
    }.get(code, code or "—")


def sort_labels() -> dict[str, str]:
    return {
        "recent": _("Last order, newest first"),
        "spent": _("Total spent, highest first"),
        "orders": _("Number of orders"),
        "new": _("Newest customers"),
        "name": _("Name, A to Z"),
    }


async def all_tags(limit: int = 100) -> list[str]:
    rows = await Customer.raw(
        "SELECT t AS tag FROM (SELECT jsonb_array_elements_text(tags) t FROM customer"
        " WHERE merged_into IS NULL AND tags <> '[]'::jsonb LIMIT 50000) x GROUP BY t ORDER BY count(*) DESC LIMIT {}",
        limit,
    )
    return sorted(row["tag"] for row in rows)
