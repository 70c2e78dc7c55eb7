"""The portrait of the ideal client: traits that over-represent a group of customers against the whole base.

Base: every customer with at least one non-cancelled order. Group: the part of the base in an RFM class
or a segment. For each value of each trait: customers with it in the group and in the base, each share
(of the group's and of the base's size), and the lift = share in group / share in base. Values seen in
fewer than ``MIN_SAMPLE`` group members are hidden: a lift from two people says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.i18n import format_money, format_number, format_percent, ngettext
from app.i18n import gettext as _
from app.services.customers._lists import Clause
from app.tables.customers import Customer

MIN_SAMPLE = 5
TRAITS = ("city", "source", "first_category", "basket", "between", "second")

_FIRST_CATEGORY = """
SELECT DISTINCT ON (o.customer) o.customer AS id, coalesce(k.name, '') AS value
FROM orders o JOIN order_status s ON s.id = o.status JOIN order_line l ON l.order = o.id
LEFT JOIN offer f ON f.id = l.offer_id LEFT JOIN product p ON p.id = f.product LEFT JOIN category k ON k.id = p.category
WHERE s."group" <> 'cancel' ORDER BY o.customer, o.created_at, o.id, l.position
"""
_SECOND_ORDER = """
SELECT customer AS id, created_at AS second_at FROM (
  SELECT o.customer, o.created_at, row_number() OVER (PARTITION BY o.customer ORDER BY o.created_at, o.id) AS n
  FROM orders o JOIN order_status s ON s.id = o.status WHERE s."group" <> 'cancel' AND o.customer IS NOT NULL
) x WHERE n = 2
"""

# Each trait's value per base customer (NULL: unknown, counted in the sizes but in no value).
_VALUES = {
    "city": "nullif(initcap(lower(trim(c.city))), '')",
    "source": "nullif(c.source, '')",
    "first_category": "nullif(fc.value, '')",
    # Quartiles of the base's average check; equal checks always share a band.
    "basket": (
        "CASE WHEN c.total_spent_minor / c.orders_count <= qb.q[1] THEN 'q1'"
        " WHEN c.total_spent_minor / c.orders_count <= qb.q[2] THEN 'q2'"
        " WHEN c.total_spent_minor / c.orders_count <= qb.q[3] THEN 'q3' ELSE 'q4' END"
    ),
    "between": (
        "CASE WHEN c.orders_count < 2 THEN NULL ELSE CASE"
        " WHEN extract(epoch FROM c.last_order_at - c.first_order_at) / 86400 / (c.orders_count - 1) <= 14 THEN 'd14'"
        " WHEN extract(epoch FROM c.last_order_at - c.first_order_at) / 86400 / (c.orders_count - 1) <= 30 THEN 'd30'"
        " WHEN extract(epoch FROM c.last_order_at - c.first_order_at) / 86400 / (c.orders_count - 1) <= 60 THEN 'd60'"
        " WHEN extract(epoch FROM c.last_order_at - c.first_order_at) / 86400 / (c.orders_count - 1) <= 120"
        " THEN 'd120' ELSE 'dmore' END END"
    ),
    "second": (
        "CASE WHEN so.second_at IS NULL THEN 'none' ELSE CASE"
        " WHEN so.second_at - c.first_order_at <= interval '7 days' THEN 'd7'"
        " WHEN so.second_at - c.first_order_at <= interval '30 days' THEN 'd30'"
        " WHEN so.second_at - c.first_order_at <= interval '90 days' THEN 'd90' ELSE 'dmore' END END"
    ),
}

_QUERY = """
WITH fc AS ({first_category}), so AS ({second_order}),
qb AS (
  SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY total_spent_minor / orders_count) AS q
  FROM customer WHERE merged_into IS NULL AND orders_count > 0
),
b AS (
  SELECT c.id, ({group}) AS g, c.total_spent_minor / c.orders_count AS avg_check, {columns}
  FROM customer c CROSS JOIN qb LEFT JOIN fc ON fc.id = c.id LEFT JOIN so ON so.id = c.id
  WHERE c.merged_into IS NULL AND c.orders_count > 0
)
SELECT trait, value, count(*) FILTER (WHERE g) AS ng, count(*) AS nb, min(avg_check) AS lo, max(avg_check) AS hi
FROM b CROSS JOIN LATERAL (VALUES {pairs}) v(trait, value)
WHERE value IS NOT NULL GROUP BY trait, value
UNION ALL SELECT '', '', count(*) FILTER (WHERE g), count(*), 0, 0 FROM b
"""


@dataclass(frozen=True)
class Trait:
    trait: str
    value: str
    label: str
    in_group: int
    in_base: int
    share_group: float
    share_base: float
    lift: float


@dataclass(frozen=True)
class Portrait:
    group_size: int
    base_size: int
    traits: list[Trait]  # shown ones, by lift, highest first
    hidden: int  # values left out for small samples


def trait_names() -> dict[str, str]:
    return {
        "city": _("City"),
        "source": _("Source"),
        "first_category": _("First category bought"),
        "basket": _("Average check"),
        "between": _("Days between orders"),
        "second": _("Time to the second order"),
    }


def _band_label(trait: str, value: str, lo: int, hi: int, currency: str) -> str:
    if trait == "basket":
        return _("%(low)s – %(high)s", low=format_money(lo, currency), high=format_money(hi, currency))
    if trait == "source":
        return {
            "form": _("order form"),
            "staff": _("taken by staff"),
            "api": _("API"),
            "import": _("import"),
        }.get(value, value)
    bands = {
        ("between", "d14"): _("up to 2 weeks"),
        ("between", "d30"): _("2 weeks to a month"),
        ("between", "d60"): _("1–2 months"),
        ("between", "d120"): _("2–4 months"),
        ("between", "dmore"): _("over 4 months"),
        ("second", "d7"): _("within a week"),
        ("second", "d30"): _("within a month"),
        ("second", "d90"): _("within 3 months"),
        ("second", "dmore"): _("after 3 months"),
        ("second", "none"): _("no second order yet"),
    }
    return bands.get((trait, value), value)


async def build(group: Clause, currency: str) -> Portrait:
    """The portrait of the customers matching ``group`` (a condition over ``customer c``)."""
    group_sql, params = group
    sql = _QUERY.format(
        first_category=_FIRST_CATEGORY,
        second_order=_SECOND_ORDER,
        group=group_sql,
        columns=", ".join(f"{expr} AS t_{name}" for name, expr in _VALUES.items()),
        pairs=", ".join(f"('{name}', t_{name})" for name in TRAITS),
    )
    rows = await Customer.raw(sql, *params)
    totals = next(r for r in rows if r["trait"] == "")
    group_size, base_size = int(totals["ng"]), int(totals["nb"])
    traits, hidden = [], 0
    for row in rows:
        if row["trait"] == "" or not group_size:
            continue
        if row["ng"] < MIN_SAMPLE:
            hidden += 1
            continue
        share_group, share_base = row["ng"] / group_size, row["nb"] / base_size
        label = _band_label(row["trait"], row["value"], int(row["lo"] or 0), int(row["hi"] or 0), currency)
        traits.append(
            Trait(
                row["trait"],
                row["value"],
                label,
                row["ng"],
                row["nb"],
                share_group,
                share_base,
                share_group / share_base,
            )
        )
    traits.sort(key=lambda t: (-t.lift, -t.in_group, t.trait, t.value))
    return Portrait(group_size, base_size, traits, hidden)


def _trait_sentence(t: Trait) -> str:
    values = {
        "value": t.label,
        "share": format_percent(t.share_group),
        "base": format_percent(t.share_base),
        "lift": format_number(round(t.lift, 1)),
    }
    templates = {
        "city": _("%(share)s of them live in %(value)s, against %(base)s of the whole base (%(lift)s×)."),
        "source": _("%(share)s of them first came through %(value)s, against %(base)s of the base (%(lift)s×)."),
        "first_category": _("%(share)s of them started with %(value)s, against %(base)s of the base (%(lift)s×)."),
        "basket": _("%(share)s of them spend %(value)s per order, against %(base)s of the base (%(lift)s×)."),
        "between": _("%(share)s of them order again every %(value)s, against %(base)s of the base (%(lift)s×)."),
        "second": _("%(share)s of them placed a second order %(value)s, against %(base)s of the base (%(lift)s×)."),
    }
    return templates[t.trait] % values


def story(portrait: Portrait, top: int = 3) -> list[str]:
    """The portrait told in a few sentences: who they are and the strongest traits (lift above 1.2)."""
    if not portrait.group_size:
        return [_("Nobody in this group has ordered yet.")]
    head = ngettext(
        "%(num)s customer of %(base)s who ordered is in this group.",
        "%(num)s customers of %(base)s who ordered are in this group.",
        portrait.group_size,
        base=format_number(portrait.base_size),
    )
    strong = [t for t in portrait.traits if t.lift >= 1.2][:top]
    if not strong:
        return [head, _("No trait stands out yet: the group looks like the rest of the base.")]
    return [head] + [_trait_sentence(t) for t in strong]
