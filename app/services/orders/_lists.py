"""The order list (search, status groups, pages) and the board by status group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from piccolo.query import WhereRaw

from app.i18n import gettext as _
from app.services import customers
from app.services._paging import PAGE_SIZE, Page, offset, parse_page
from app.services.form_answers import CUSTOM_KEYS as QUESTION_KEYS
from app.services.orders._model import GROUPS
from app.tables.orders import Order, SavedView


@dataclass(frozen=True)
class Filters:
    q: str = ""
    group: str = ""
    page: int = 1
    question: str = ""  # a store's own question shown as a column ("custom_1")
    answer: str = ""  # ... and the text its answer must contain


def parse_filters(raw: Mapping[str, str]) -> Filters:
    group = raw.get("group") or ""
    question = raw.get("question") or ""
    return Filters(
        q=(raw.get("q") or "").strip()[:100],
        group=group if group in GROUPS else "",
        page=parse_page(raw),
        question=question if question in QUESTION_KEYS else "",
        answer=(raw.get("answer") or "").strip()[:100] if question in QUESTION_KEYS else "",
    )


def _where(filters: Filters) -> list:
    clauses = []
    if filters.group:
        clauses.append(Order.status.group == filters.group)
    if filters.q:
        like = f"%{filters.q.replace('%', '')}%"
        spellings = phone_spellings(filters.q)
        if spellings:
            clauses.append(
                WhereRaw(
                    "(number = {} OR customer_name ILIKE {} OR email ILIKE {} OR phone LIKE ANY({}::text[]))",
                    filters.q,
                    like,
                    like,
                    [f"%{digits}%" for digits in spellings],
                )
            )
        else:
            clauses.append(WhereRaw("(number = {} OR customer_name ILIKE {} OR email ILIKE {})", filters.q, like, like))
    if filters.question and filters.answer:
        answer = filters.answer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(WhereRaw("fields ->> {} ILIKE {}", filters.question, f"%{answer}%"))
    return clauses


def phone_spellings(q: str) -> list[str]:
    """The digits to look for in stored phones: those typed (4 or more), and those of the number they spell
    in the store's country, so ``8 (903) 111 22 35`` finds ``+79031112235``."""
    digits = "".join(ch for ch in q if ch in "0123456789")
    if len(digits) < 4:
        return []
    e164 = customers.normalize_phone(q, customers.store_country())
    return list(dict.fromkeys([digits, *([e164.lstrip("+")] if e164 else [])]))


async def list_page(filters: Filters, *, only_manager: int | None = None) -> Page:
    """A page of the list; ``only_manager`` (a member limited to own orders) keeps that manager's orders."""
    query = Order.select(
        Order.id,
        Order.number,
        Order.customer_name,
        Order.phone,
        Order.fields,
        Order.total_minor,
        Order.currency,
        Order.created_at,
        Order.source,
        Order.manager_id,
        Order.status.code.as_alias("status_code"),
        Order.status.names.as_alias("status_names"),
        Order.status.color.as_alias("status_color"),
    ).output(load_json=True)
    count = Order.count()
    clauses = _where(filters)
    if only_manager is not None:
        clauses.append(Order.manager_id == only_manager)
    for clause in clauses:
        query = query.where(clause)
        count = count.where(clause)
    items = (
        await query.order_by(Order.created_at, ascending=False)
        .order_by(Order.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset(offset(filters.page))
    )
    return Page(items, await count, filters)


async def board(per_column: int = 20, *, only_manager: int | None = None) -> dict[str, list[dict]]:
    """The kanban: the newest orders of each status group (of one manager when ``only_manager``)."""
    columns: dict[str, list[dict]] = {}
    for group in GROUPS:
        where = Order.status.group == group
        if only_manager is not None:
            where = where & (Order.manager_id == only_manager)
        columns[group] = (
            await Order.select(
                Order.id,
                Order.number,
                Order.customer_name,
                Order.total_minor,
                Order.currency,
                Order.created_at,
                Order.status.names.as_alias("status_names"),
                Order.status.code.as_alias("status_code"),
            )
            .where(where)
            .order_by(Order.created_at, ascending=False)
            .limit(per_column)
            .output(load_json=True)
        )
    return columns


def filters_query(filters: Filters) -> str:
    pairs = (("q", filters.q), ("group", filters.group), ("question", filters.question), ("answer", filters.answer))
    return urlencode({k: v for k, v in pairs if v})


async def saved_views(identity_id: int) -> list[dict]:
    return (
        await SavedView.select(SavedView.id, SavedView.name, SavedView.query)
        .where(SavedView.identity_id == identity_id)
        .order_by(SavedView.name)
    )


async def save_view(identity_id: int, name: str, raw_query: Mapping[str, str]) -> dict[str, str]:
    """Keep the current filters under a name; returns errors (empty when saved)."""
    name = (name or "").strip()[:80]
    if not name:
        return {"view_name": _("Give the view a name.")}
    query = filters_query(parse_filters(raw_query))
    await SavedView.delete().where((SavedView.identity_id == identity_id) & (SavedView.name == name))
    await SavedView.insert(SavedView(identity_id=identity_id, name=name, query=query, created_at=datetime.now(UTC)))
    return {}


async def delete_view(identity_id: int, view_id: int) -> None:
    await SavedView.delete().where((SavedView.identity_id == identity_id) & (SavedView.id == view_id))
