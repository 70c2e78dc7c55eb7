"""RFM: recency, frequency and monetary scores 1–5 from tunable thresholds, and the named class of each customer.

Scores are computed in SQL over the customer's running totals (non-cancelled orders). The class comes
from the standard 5×5 map of recency against frequency; M is kept as a score for filters and the card.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from app.forms import rules
from app.i18n import gettext as _
from app.services._sqlarrays import int_array
from app.services.imports.values import ValueProblem, parse_money
from app.tables.customers import Customer
from app.tables.segments import RfmSetting

# Best first: the order classes are listed in, and the "top" class of the portrait.
CLASSES = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "cant_lose",
    "at_risk",
    "hibernating",
    "lost",
)

# rows R5..R1, columns F1..F5
GRID = {
    5: ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cant_lose"),
}
DEFAULTS = {"recency_days": [30, 90, 180, 365], "frequency": [2, 3, 5, 8], "monetary_minor": []}


def class_of(r: int, f: int) -> str:
    return GRID[r][f - 1]


def class_labels() -> dict[str, str]:
    return {
        "champions": _("Champions"),
        "loyal": _("Loyal"),
        "potential_loyalists": _("Potential loyalists"),
        "new": _("New customers"),
        "promising": _("Promising"),
        "need_attention": _("Need attention"),
        "about_to_sleep": _("About to sleep"),
        "cant_lose": _("Can't lose them"),
        "at_risk": _("At risk"),
        "hibernating": _("Hibernating"),
        "lost": _("Lost"),
    }


def class_label(code: str | None) -> str:
    if not code:
        return _("No orders yet")
    return class_labels().get(code, code)


async def settings() -> dict:
    row = await RfmSetting.select().output(load_json=True).first()
    if row is None:
        row = DEFAULTS | {"monetary_auto": []}
        created = await RfmSetting.insert(RfmSetting(**row, updated_at=datetime.now(UTC))).returning(RfmSetting.id)
        row = row | {"id": created[0]["id"]}
    return row


def _ascending_ints(text: str, *, low: int, high: int) -> list[int] | None:
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        values = [rules.integer(p, low=low, high=high) for p in parts]
    except rules.Invalid:
        return None
    if len(values) != 4:
        return None
    if values != sorted(set(values)) or values[0] < low or values[-1] > high:
        return None
    return values


def validate_settings(raw: Mapping[str, str], currency: str) -> tuple[dict | None, dict[str, str]]:
    """Four ascending boundaries per axis; money ones may be left empty (quintiles of the base)."""
    errors: dict[str, str] = {}
    recency = _ascending_ints(raw.get("recency_days", ""), low=1, high=3650)
    if recency is None:
        errors["recency_days"] = _("Enter four growing numbers of days, like 30, 90, 180, 365.")
    frequency = _ascending_ints(raw.get("frequency", ""), low=2, high=10000)
    if frequency is None:
        errors["frequency"] = _("Enter four growing order counts from 2, like 2, 3, 5, 8.")
    money_text = (raw.get("monetary") or "").strip()
    monetary: list[int] = []
    if money_text:
        try:
            monetary = [parse_money(p.strip(), currency) for p in money_text.split(";") if p.strip()]
        except ValueProblem:
            monetary = []
        if len(monetary) != 4 or monetary != sorted(set(monetary)) or monetary[0] <= 0:
            errors["monetary"] = _("Enter four growing amounts separated by ';', or leave it empty.")
    if errors:
        return None, errors
    return {"recency_days": recency, "frequency": frequency, "monetary_minor": monetary}, {}


async def save_settings(values: dict) -> None:
    config = await settings()
    await RfmSetting.update(
        {
            RfmSetting.recency_days: values["recency_days"],
            RfmSetting.frequency: values["frequency"],
            RfmSetting.monetary_minor: values["monetary_minor"],
            RfmSetting.updated_at: datetime.now(UTC),
        }
    ).where(RfmSetting.id == config["id"])
    await refresh()


_QUINTILES = (
    "SELECT coalesce(percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY total_spent_minor),"
    " ARRAY[]::bigint[]) AS q FROM customer WHERE merged_into IS NULL AND orders_count > 0"
)

# Scores from the thresholds ($1 recency days, $2 order counts, $3 money, as arrays of four), then the
# class from the grid arrays; only rows whose values change are written.
_REFRESH = """
WITH changed AS (UPDATE customer c SET rfm_r = s.r, rfm_f = s.f, rfm_m = s.m, rfm_class = g.cls
FROM (
  SELECT id,
    CASE WHEN orders_count = 0 THEN NULL ELSE 5 - (
      (now() - last_order_at > make_interval(days => ({}::text::int[])[1]))::int
      + (now() - last_order_at > make_interval(days => ({}::text::int[])[2]))::int
      + (now() - last_order_at > make_interval(days => ({}::text::int[])[3]))::int
      + (now() - last_order_at > make_interval(days => ({}::text::int[])[4]))::int) END AS r,
    CASE WHEN orders_count = 0 THEN NULL ELSE 1 + (SELECT count(*) FROM unnest({}::text::int[]) t
      WHERE orders_count >= t) END AS f,
    CASE WHEN orders_count = 0 THEN NULL ELSE 1 + (SELECT count(*) FROM unnest({}::text::bigint[]) t
      WHERE total_spent_minor > t) END AS m
  FROM customer WHERE merged_into IS NULL AND ({}::text::int[] IS NULL OR id = ANY({}::text::int[]))
) s
LEFT JOIN unnest({}::text::int[], {}::text::int[], {}::text[]) AS g(r, f, cls) ON g.r = s.r AND g.f = s.f
WHERE c.id = s.id AND (c.rfm_r, c.rfm_f, c.rfm_m, c.rfm_class) IS DISTINCT FROM (s.r, s.f, s.m, g.cls)
RETURNING 1) SELECT count(*) AS n FROM changed
"""


async def refresh(customer_ids: list[int] | None = None) -> int:
    """Recompute scores and classes for these customers (all when None); returns rows changed."""
    config = await settings()
    if customer_ids is None:
        quintiles = (await Customer.raw(_QUINTILES))[0]["q"] or []
        if list(quintiles) != config.get("monetary_auto"):
            await RfmSetting.update({RfmSetting.monetary_auto: [int(q) for q in quintiles]}).where(
                RfmSetting.id == config["id"]
            )
            config["monetary_auto"] = [int(q) for q in quintiles]
    money = config["monetary_minor"] or config.get("monetary_auto") or []
    rs, fs, classes = [], [], []
    for r, row in GRID.items():
        for f, cls in enumerate(row, start=1):
            rs.append(r)
            fs.append(f)
            classes.append(cls)
    days = config["recency_days"]
    result = await Customer.raw(
        _REFRESH,
        int_array(days),
        int_array(days),
        int_array(days),
        int_array(days),
        int_array(config["frequency"]),
        int_array(money),
        int_array(customer_ids),
        int_array(customer_ids),
        int_array(rs),
        int_array(fs),
        classes,
    )
    return int(result[0]["n"])


async def heatmap() -> dict:
    """Customers per (R, F) cell with the cell's class, and per class: count, share and money."""
    cells = await Customer.raw(
        "SELECT rfm_r AS r, rfm_f AS f, count(*) AS n, sum(total_spent_minor) AS spent FROM customer"
        " WHERE merged_into IS NULL AND rfm_r IS NOT NULL GROUP BY rfm_r, rfm_f"
    )
    counts = {(c["r"], c["f"]): c["n"] for c in cells}
    top = max(counts.values(), default=0)
    grid = [
        {
            "r": r,
            "cells": [
                {
                    "f": f,
                    "n": counts.get((r, f), 0),
                    "cls": class_of(r, f),
                    "level": 0 if not top else min(9, round(9 * counts.get((r, f), 0) / top)),
                }
                for f in range(1, 6)
            ],
        }
        for r in (5, 4, 3, 2, 1)
    ]
    by_class: dict[str, dict] = {c: {"n": 0, "spent": 0} for c in CLASSES}
    for c in cells:
        entry = by_class[class_of(c["r"], c["f"])]
        entry["n"] += c["n"]
        entry["spent"] += int(c["spent"] or 0)
    total = sum(e["n"] for e in by_class.values())
    for entry in by_class.values():
        entry["share"] = entry["n"] / total if total else 0.0
    return {"grid": grid, "classes": by_class, "total": total}
