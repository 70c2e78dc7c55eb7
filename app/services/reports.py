"""Reports: repeat purchases, monthly cohort retention, ABC analysis of goods, sources and UTM.

Read from the rollups only (``customer_fact``, ``cohort_month``, ``goods_day``, ``sales_day``, ``form_day``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.i18n import format_percent
from app.i18n import gettext as _
from app.services import analytics, charts
from app.services.dashboard import CHART_WIDTH, bucket_label, money_axis
from app.tables.orders import Order

ABC_LIMITS = (0.80, 0.95)  # A: the goods that make the first 80 % of revenue, B: the next 15 %, C: the rest
ABC_SHOWN = 200
COHORT_MONTHS = 12
HBAR_WIDTH = 820  # rankings have long labels on the left: wider, so ten bars stay a readable height


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def repeat_purchases(start: date, end: date) -> dict:
    """Of the customers whose first purchase fell in the period, how many bought again (ever since).

    Read from ``sales_day``, where each customer is counted once on the day of their first purchase.
    """
    rows = await Order.raw(
        "SELECT coalesce(sum(new_customers) FILTER (WHERE day BETWEEN {} AND {}), 0) AS first,"
        " coalesce(sum(repeat_customers) FILTER (WHERE day BETWEEN {} AND {}), 0) AS repeat,"
        " coalesce(sum(new_customer_orders) FILTER (WHERE day BETWEEN {} AND {}), 0) AS orders,"
        " coalesce(sum(new_customers), 0) AS customers, coalesce(sum(repeat_customers), 0) AS all_repeat"
        " FROM sales_day",
        start,
        end,
        start,
        end,
        start,
        end,
    )
    row = {key: int(value) for key, value in rows[0].items()}
    return {
        "first": row["first"],
        "repeat": row["repeat"],
        "rate": _share(row["repeat"], row["first"]),
        "orders_per_customer": row["orders"] / row["first"] if row["first"] else None,
        "customers": row["customers"],
        "overall_rate": _share(row["all_repeat"], row["customers"]),
    }


@dataclass(frozen=True)
class CohortRow:
    cohort: date
    label: str
    size: int
    cells: list[dict]  # per month since the first purchase: customers, share, colour


async def cohorts(end: date, months: int = COHORT_MONTHS) -> list[CohortRow]:
    """Monthly cohorts by first purchase (the last ``months`` months up to ``end``) and their retention."""
    first = end.replace(day=1)
    for _i in range(months - 1):
        first = (first.replace(day=1) - date.resolution).replace(day=1)
    rows = await Order.raw(
        "SELECT cohort, month, customers FROM cohort_month WHERE cohort BETWEEN {} AND {} ORDER BY 1, 2",
        first,
        end,
    )
    table: dict[date, dict[int, int]] = {}
    for row in rows:
        offset = (row["month"].year - row["cohort"].year) * 12 + row["month"].month - row["cohort"].month
        table.setdefault(row["cohort"], {})[offset] = int(row["customers"])
    out = []
    last_offset = (end.year - first.year) * 12 + end.month - first.month
    for cohort, cells in sorted(table.items()):
        size = cells.get(0, 0)
        span = last_offset - ((cohort.year - first.year) * 12 + cohort.month - first.month)
        shown = []
        for offset in range(span + 1):
            count = cells.get(offset, 0)
            share = _share(count, size)
            shown.append(
                {
                    "offset": offset,
                    "customers": count,
                    "share": share,
                    "colour": charts.heat_colour(share),
                    "dark": (share or 0) >= 0.45,
                }
            )
        out.append(CohortRow(cohort, bucket_label(cohort, "month"), size, shown))
    return out


async def abc(currency: str, start: date, end: date) -> dict:
    """Goods ranked by revenue in the period; A = first 80 % of revenue, B = the next 15 %, C = the rest."""
    rows = await Order.raw(
        "SELECT item, max(name) AS name, sum(quantity) AS quantity, sum(revenue_minor) AS revenue_minor,"
        " sum(orders) AS orders FROM goods_day WHERE currency = {} AND day BETWEEN {} AND {}"
        " GROUP BY item HAVING sum(revenue_minor) > 0 ORDER BY 4 DESC, 2",
        currency,
        start,
        end,
    )
    total = sum(int(r["revenue_minor"]) for r in rows)
    running = 0
    goods = []
    summary = {klass: {"count": 0, "revenue_minor": 0} for klass in "ABC"}
    for row in rows:
        revenue = int(row["revenue_minor"])
        before = running / total if total else 0
        running += revenue
        # A good belongs to the class in which its revenue starts (so the top seller is always A).
        klass = "A" if before < ABC_LIMITS[0] else "B" if before < ABC_LIMITS[1] else "C"
        summary[klass]["count"] += 1
        summary[klass]["revenue_minor"] += revenue
        goods.append(
            {
                "name": row["name"],
                "quantity": int(row["quantity"]),
                "orders": int(row["orders"]),
                "revenue_minor": revenue,
                "share": revenue / total if total else 0,
                "cumulative": running / total if total else 0,
                "class": klass,
            }
        )
    for klass in summary.values():
        klass["share"] = _share(klass["revenue_minor"], total)
    chart = charts.hbar(
        {g["name"]: g["revenue_minor"] for g in goods[:10]},
        title=_("Top goods by revenue"),
        formatter=money_axis(currency),
        width=HBAR_WIDTH,
    )
    return {"goods": goods[:ABC_SHOWN], "count": len(goods), "summary": summary, "total": total, "chart": chart}


async def sources(currency: str, start: date, end: date) -> dict:
    """Orders, revenue, payment and new customers per channel and UTM source; conversion from form opens."""
    rows = await Order.raw(
        "SELECT source, utm_source, sum(orders) AS orders, sum(orders - cancelled) AS valid,"
        " sum(revenue_minor) AS revenue_minor, sum(paid_orders) AS paid_orders, sum(new_customers) AS new_customers"
        " FROM sales_day WHERE currency = {} AND day BETWEEN {} AND {} GROUP BY 1, 2 ORDER BY 5 DESC, 3 DESC",
        currency,
        start,
        end,
    )
    opens = await Order.raw(
        "SELECT utm_source, sum(opened) AS opened FROM form_day WHERE day BETWEEN {} AND {} GROUP BY 1",
        start,
        end,
    )
    opened = {r["utm_source"]: int(r["opened"]) for r in opens}
    out = []
    for row in rows:
        orders = int(row["orders"])
        visits = opened.get(row["utm_source"], 0) if row["source"] == "form" else 0
        out.append(
            {
                "source": row["source"],
                "utm_source": row["utm_source"],
                "orders": orders,
                "revenue_minor": int(row["revenue_minor"]),
                "average_minor": int(row["revenue_minor"]) // int(row["valid"]) if row["valid"] else None,
                "paid_share": _share(int(row["paid_orders"]), orders),
                "new_customers": int(row["new_customers"]),
                "opened": visits,
                "conversion": _share(orders, visits),
            }
        )
    by_utm: dict[str, int] = {}
    for row in out:
        key = row["utm_source"] or _("(no UTM)")
        by_utm[key] = by_utm.get(key, 0) + row["revenue_minor"]
    chart = charts.hbar(
        dict(sorted(by_utm.items(), key=lambda kv: -kv[1])[:10]),
        title=_("Revenue by UTM source"),
        formatter=money_axis(currency),
        width=HBAR_WIDTH,
    )
    return {"rows": out, "chart": chart}


def repeat_chart(rows: list[CohortRow]) -> str:
    """Share of each cohort that came back within its first three months."""
    values = {}
    for row in rows:
        later = sum(c["customers"] for c in row.cells[1:4])
        values[row.label] = round(100 * later / row.size, 1) if row.size else None
    return charts.bar(
        {_("Came back within 3 months"): list(values.values())},
        list(values.keys()),
        title=_("Came back within 3 months"),
        formatter=lambda v: format_percent(v / 100),
        width=CHART_WIDTH,
    )


async def overview(period: analytics.Period, currency: str) -> dict:
    cohort_rows = await cohorts(period.end)
    return {
        "repeat": await repeat_purchases(period.start, period.end),
        "cohorts": cohort_rows,
        "cohort_chart": repeat_chart(cohort_rows),
        "cohort_width": max((len(r.cells) for r in cohort_rows), default=0),
        "abc": await abc(currency, period.start, period.end),
        "sources": await sources(currency, period.start, period.end),
        "channel_names": {"form": _("Order form"), "staff": _("Staff"), "api": _("API"), "import": _("Import")},
    }
