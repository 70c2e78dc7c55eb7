"""The audit log: one row per change, written inside the transaction of the change; searchable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from piccolo.query import WhereRaw

from app import clock
from app.forms import rules
from app.i18n import get_timezone, messages
from app.i18n import gettext as _
from app.services._paging import PAGE_SIZE, Page, offset, parse_page
from app.tables.audit import AuditEntry

ENTITIES = ("order", "customer", "settings", "staff", "automation", "import")


def entity_label(entity: str) -> str:
    return {
        "order": _("Order"), "customer": _("Customer"), "settings": _("Settings"), "staff": _("Staff"),
        "automation": _("Automation rule"), "import": _("Import"),
    }.get(entity, entity)  # fmt: skip


def _plain(value: Any) -> Any:
    """JSON-safe copy (dates and other objects as text) so any before/after can be stored."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


async def record(
    entity: str,
    entity_id: object,
    action: str,
    *,
    actor_id: int | None,
    actor: str = "",
    summary: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Write one entry; call it inside the transaction that makes the change so both land or neither."""
    await AuditEntry.insert(
        AuditEntry(
            at=datetime.now(UTC),
            actor_id=actor_id,
            actor=actor[:254],
            entity=entity,
            entity_id=str(entity_id)[:64],
            action=action[:32],
            summary=summary[:2000],
            summary_data=messages.as_data(summary),  # a translated summary is kept as its message id too
            before=_plain(dict(before or {})),
            after=_plain(dict(after or {})),
        )
    )


async def record_changes(
    entity: str,
    entity_id: object,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    actor_id: int | None,
    actor: str = "",
    summary: str = "",
) -> bool:
    """Record only the fields that changed; returns whether anything was written."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    if not changed:
        return False
    await record(
        entity,
        entity_id,
        action,
        actor_id=actor_id,
        actor=actor,
        summary=summary,
        before={key: before.get(key) for key in changed},
        after={key: after.get(key) for key in changed},
    )
    return True


@dataclass(frozen=True)
class AuditFilters:
    q: str = ""
    entity: str = ""
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1


def _day(value: str | None) -> date | None:
    try:
        return rules.optional_day((value or "").strip()[:10])
    except rules.Invalid:
        return None


def parse_filters(raw: Mapping[str, str]) -> AuditFilters:
    """Lenient: an unknown entity, actor or date is ignored rather than an error."""
    entity = raw.get("entity") or ""
    actor = (raw.get("actor") or "").strip()
    return AuditFilters(
        q=(raw.get("q") or "").strip()[:100],
        entity=entity if entity in ENTITIES else "",
        actor_id=rules.record_id(actor),
        date_from=_day(raw.get("from")),
        date_to=_day(raw.get("to")),
        page=parse_page(raw),
    )


def filters_query(filters: AuditFilters) -> str:
    pairs = {
        "q": filters.q,
        "entity": filters.entity,
        "actor": str(filters.actor_id or ""),
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _where(filters: AuditFilters) -> list:
    clauses: list = []
    if filters.entity:
        clauses.append(AuditEntry.entity == filters.entity)
    if filters.actor_id is not None:
        clauses.append(AuditEntry.actor_id == filters.actor_id)
    if filters.date_from:
        # The days typed are the store's days: they begin at its midnight, not at UTC's.
        clauses.append(AuditEntry.at >= clock.day_start(filters.date_from, get_timezone()))
    if filters.date_to:
        clauses.append(AuditEntry.at < clock.day_start(filters.date_to + timedelta(days=1), get_timezone()))
    if filters.q:
        like = f"%{filters.q.replace('%', '').replace('_', '')}%"
        clauses.append(
            WhereRaw(
                "(summary ILIKE {} OR actor ILIKE {} OR entity_id = {}"
                " OR before::text ILIKE {} OR after::text ILIKE {})",
                like,
                like,
                filters.q,
                like,
                like,
            )
        )
    return clauses


async def search(filters: AuditFilters) -> Page:
    query = AuditEntry.select().output(load_json=True)
    count = AuditEntry.count()
    for clause in _where(filters):
        query = query.where(clause)
        count = count.where(clause)
    items = (
        await query.order_by(AuditEntry.at, ascending=False)
        .order_by(AuditEntry.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset(offset(filters.page))
    )
    return Page(items, await count, filters)
