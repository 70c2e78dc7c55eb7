"""Segments: dynamic ones (rules compiled to parameterised SQL) and static lists, their sizes over time.

A rule is ``{"field", "op", "value"}``; a segment's rules all hold (AND). Values only ever travel as
query parameters: the SQL text comes from the fixed templates below, never from the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app import clock
from app.errors import NotFound
from app.forms import rules as input_rules
from app.i18n import gettext as _
from app.i18n import minor_to_plain
from app.services import rfm, stores
from app.services.customers._lists import Clause, joined
from app.services.imports.values import ValueProblem, parse_money
from app.tables.catalog import Category, Offer
from app.tables.customers import Customer
from app.tables.orders import OrderLine
from app.tables.segments import Segment, SegmentMember, SegmentSnapshot
from app.tenancy.runtime import store_transaction

MAX_RULES = 12
SOURCES = ("form", "staff", "api", "import")
_BOUGHT = (
    "EXISTS (SELECT 1 FROM orders o JOIN order_line l ON l.order = o.id JOIN order_status s ON s.id = o.status"
    " WHERE o.customer = c.id AND s.\"group\" <> 'cancel' AND {cond})"
)
_IN_CATEGORY = (
    "l.offer_id IN (SELECT f.id FROM offer f JOIN product p ON p.id = f.product WHERE p.category IN ("
    "WITH RECURSIVE t(id) AS (SELECT {}::int UNION SELECT k.id FROM category k JOIN t ON k.parent = t.id)"
    " SELECT id FROM t))"
)
_UTM = "(c.utm->>'{key}' = {{}} OR EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.utm->>'{key}' = {{}}))"

# field -> op -> SQL template (one "{}" per parameter; the value is repeated as needed)
TEMPLATES: dict[str, dict[str, str]] = {
    "rfm_class": {"is": "c.rfm_class = ANY({}::text[])", "is_not": "NOT coalesce(c.rfm_class, '') = ANY({}::text[])"},
    "total_spent": {"gte": "c.total_spent_minor >= {}", "lte": "c.total_spent_minor <= {}"},
    "orders_count": {"gte": "c.orders_count >= {}", "lte": "c.orders_count <= {}"},
    "last_order_days": {
        "within": "c.last_order_at >= now() - make_interval(days => {})",
        "over": "c.last_order_at < now() - make_interval(days => {})",
    },
    "city": {"is": "lower(c.city) = lower({})", "is_not": "lower(c.city) <> lower({})"},
    "product": {
        "bought": _BOUGHT.format(cond="l.sku = {}"),
        "not_bought": "NOT " + _BOUGHT.format(cond="l.sku = {}"),
    },
    "category": {
        "bought": _BOUGHT.format(cond=_IN_CATEGORY),
        "not_bought": "NOT " + _BOUGHT.format(cond=_IN_CATEGORY),
    },
    "source": {"is": "c.source = {}", "is_not": "c.source <> {}"},
    "utm_source": {"is": _UTM.format(key="utm_source")},
    "utm_campaign": {"is": _UTM.format(key="utm_campaign")},
    "tag": {"has": "c.tags @> jsonb_build_array({}::text)", "has_not": "NOT c.tags @> jsonb_build_array({}::text)"},
    "form_unfinished": {
        "within": "EXISTS (SELECT 1 FROM customer_event e WHERE e.customer = c.id AND e.kind = 'form_unfinished'"
        " AND e.at >= now() - make_interval(days => {}))",
    },
}


def field_labels() -> dict[str, str]:
    return {
        "rfm_class": _("RFM class"),
        "total_spent": _("Total spent"),
        "orders_count": _("Number of orders"),
        "last_order_days": _("Last order"),
        "city": _("City"),
        "product": _("Bought the product (SKU)"),
        "category": _("Bought from the category"),
        "source": _("Source"),
        "utm_source": _("UTM source"),
        "utm_campaign": _("UTM campaign"),
        "tag": _("Tag"),
        "form_unfinished": _("Left a form unfinished"),
    }


def op_labels() -> dict[str, str]:
    return {
        "is": _("is"),
        "is_not": _("is not"),
        "gte": _("at least"),
        "lte": _("at most"),
        "within": _("within the last N days"),
        "over": _("more than N days ago"),
        "bought": _("bought"),
        "not_bought": _("never bought"),
        "has": _("has"),
        "has_not": _("does not have"),
    }


@dataclass(frozen=True)
class Rule:
    field: str
    op: str
    value: object  # list[str] | int | str, already checked

    def as_json(self) -> dict:
        return {"field": self.field, "op": self.op, "value": self.value}


def compile_rules(rules: list[Rule] | list[dict]) -> Clause:
    """AND of the rules as one SQL condition over ``customer c`` and its parameters."""
    parts: list[Clause] = []
    for rule in rules:
        r = rule if isinstance(rule, Rule) else Rule(rule["field"], rule["op"], rule["value"])
        template = TEMPLATES[r.field][r.op]
        parts.append((template, [r.value] * template.count("{}")))
    if not parts:
        return "TRUE", []
    return joined(parts)


def rows_of(raw: Mapping[str, str]) -> list[dict[str, str]]:
    """The editor's rows as posted (``r0_field``, ``r0_op``, ``r0_value``, ``r0_cls_<class>``)."""
    rows = []
    for i in range(MAX_RULES):
        field = (raw.get(f"r{i}_field") or "").strip()
        if not field or raw.get(f"r{i}_remove"):
            continue
        classes = ",".join(c for c in rfm.CLASSES if raw.get(f"r{i}_cls_{c}"))
        value = classes if field == "rfm_class" else (raw.get(f"r{i}_value") or "").strip()[:200]
        rows.append({"field": field, "op": (raw.get(f"r{i}_op") or "").strip(), "value": value})
    return rows


async def validate_rules(rows: list[dict[str, str]], currency: str) -> tuple[list[Rule], dict[str, str]]:
    """Check each row; errors are keyed ``r<i>_value`` etc. for the editor (rows renumbered from 0)."""
    rules: list[Rule] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        field, op, text = row["field"], row["op"], row["value"]
        if field not in TEMPLATES:
            errors[f"r{i}_field"] = _("Choose one of the offered options.")
            continue
        if op not in TEMPLATES[field]:
            op = next(iter(TEMPLATES[field]))
        value, error = await _value(field, text, currency)
        if error:
            errors[f"r{i}_value"] = error
            continue
        rules.append(Rule(field, op, value))
    return rules, errors


async def _value(field: str, text: str, currency: str) -> tuple[object, str | None]:
    if field == "rfm_class":
        chosen = [c for c in text.split(",") if c in rfm.CLASSES]
        return chosen, None if chosen else _("Choose at least one class.")
    if field == "total_spent":
        try:
            return parse_money(text, currency), None
        except ValueProblem:
            return None, _("Enter an amount like 1290 or 1290.50.")
    if field in ("orders_count", "last_order_days", "form_unfinished"):
        try:
            return input_rules.integer(text, low=0, high=36500), None
        except input_rules.Invalid:
            return None, _("Enter a whole number from 0 to %(max)s.", max=36500)
    if field == "category":
        category_id = input_rules.record_id(text)
        if category_id is None or not await Category.exists().where(Category.id == category_id):
            return None, _("Choose a category.")
        return category_id, None
    if not text:
        return None, _("This field is required.")
    if field == "product" and not (
        await Offer.exists().where(Offer.sku == text) or await OrderLine.exists().where(OrderLine.sku == text)
    ):
        return None, _("No product with this SKU.")
    if field == "tag":
        return " ".join(text.split()).lower()[:40], None
    return text, None


def rows_for_editor(rules: list[dict], currency: str) -> list[dict[str, str]]:
    """Stored rules back into editor rows (money as the user typed it)."""
    rows = []
    for rule in rules:
        value = rule["value"]
        if rule["field"] == "rfm_class":
            value = ",".join(value)
        elif rule["field"] == "total_spent":
            value = minor_to_plain(int(value), currency)
        rows.append({"field": rule["field"], "op": rule["op"], "value": str(value)})
    return rows


async def where_of(segment: Mapping) -> Clause:
    if segment["kind"] == "static":
        return "c.id IN (SELECT customer FROM segment_member WHERE segment = {})", [segment["id"]]
    return compile_rules(segment["rules"])


async def count(where: Clause) -> int:
    sql, params = where
    rows = await Customer.raw(f"SELECT count(*) AS n FROM customer c WHERE c.merged_into IS NULL AND ({sql})", *params)  # noqa: S608 (fixed SQL text; values are parameters)
    return int(rows[0]["n"])


async def all_segments() -> list[dict]:
    return await Segment.select().order_by(Segment.name).output(load_json=True)


async def find(segment_id: int) -> dict | None:
    return await Segment.select().where(Segment.id == segment_id).output(load_json=True).first()


async def get(segment_id: int) -> dict:
    row = await Segment.select().where(Segment.id == segment_id).output(load_json=True).first()
    if row is None:
        raise NotFound(_("This segment does not exist."))
    return row


async def save(segment_id: int | None, name: str, kind: str, rules: list[Rule]) -> tuple[int | None, dict[str, str]]:
    """Create (``segment_id`` None) or update a segment; returns its id and errors."""
    name = " ".join(name.split())[:120]
    if not name:
        return None, {"name": _("Give the segment a name.")}
    if kind not in ("dynamic", "static"):
        return None, {"kind": _("Choose one of the offered options.")}
    if kind == "dynamic" and not rules:
        return None, {"rules": _("Add at least one condition.")}
    now = datetime.now(UTC)
    values = {"name": name, "kind": kind, "rules": [r.as_json() for r in rules] if kind == "dynamic" else []}
    async with store_transaction():
        if segment_id is None:
            created = await Segment.insert(Segment(**values, created_at=now, updated_at=now)).returning(Segment.id)
            segment_id = created[0]["id"]
        else:
            await get(segment_id)
            await Segment.update({getattr(Segment, k): v for k, v in values.items()} | {Segment.updated_at: now}).where(
                Segment.id == segment_id
            )
        await snapshot(await get(segment_id))
    return segment_id, {}


async def delete(segment_id: int) -> None:
    await Segment.delete().where(Segment.id == segment_id)


async def add_member(segment_id: int, customer_id: int) -> None:
    segment = await get(segment_id)
    if segment["kind"] != "static":
        raise NotFound(_("This segment does not exist."))
    await SegmentMember.raw(
        "INSERT INTO segment_member (segment, customer, added_at) SELECT {}, id, now() FROM customer"
        " WHERE id = {} AND merged_into IS NULL ON CONFLICT DO NOTHING",
        segment_id,
        customer_id,
    )
    await snapshot(segment)


async def remove_member(segment_id: int, customer_id: int) -> None:
    segment = await get(segment_id)
    await SegmentMember.delete().where((SegmentMember.segment == segment_id) & (SegmentMember.customer == customer_id))
    await snapshot(segment)


async def snapshot(segment: Mapping, day: date | None = None) -> int:
    """Today's size of one segment, kept in ``segment_snapshot`` (one row per day) and on the segment."""
    size = await count(await where_of(segment))
    day = day or clock.today(await stores.store_timezone())
    await SegmentSnapshot.raw(
        "INSERT INTO segment_snapshot (segment, day, size) VALUES ({}, {}, {})"
        " ON CONFLICT (segment, day) DO UPDATE SET size = excluded.size",
        segment["id"],
        day,
        size,
    )
    await Segment.update({Segment.size: size}).where(Segment.id == segment["id"])
    return size


async def refresh_all() -> int:
    """The periodic job: RFM for everyone, then every segment's size for today. Returns segments counted."""
    await rfm.refresh()
    segments = await all_segments()
    for segment in segments:
        await snapshot(segment)
    return len(segments)


async def history(segment_id: int, days: int = 90) -> list[dict]:
    since = clock.today(await stores.store_timezone()) - timedelta(days=days)
    return (
        await SegmentSnapshot.select(SegmentSnapshot.day, SegmentSnapshot.size)
        .where((SegmentSnapshot.segment == segment_id) & (SegmentSnapshot.day >= since))
        .order_by(SegmentSnapshot.day)
    )


async def categories() -> list[dict]:
    return await Category.select(Category.id, Category.name, Category.path).order_by(Category.path).limit(500)
