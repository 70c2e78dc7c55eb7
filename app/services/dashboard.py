"""The owner's overview: revenue, orders, average check and paid share against the previous period,
trends and the funnel from a form opened to an order paid — all read from the rollups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel import dates as babel_dates
from babel import numbers as babel_numbers

from app.i18n import babel_locale, format_number, format_percent
from app.i18n import gettext as _
from app.services import analytics, charts

CHART_WIDTH = 540  # drawn at about the size a card shows it, so its text stays readable from desktop to phone


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    value: str
    previous: str
    delta: float | None  # relative change; None when the previous period had nothing to compare with
    delta_text: str
    good: bool | None  # whether the change is good news (drives colour; the arrow gives direction)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _delta(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def _metric(key: str, label: str, current: float | None, previous: float | None, fmt) -> Metric:
    delta = _delta(current, previous)
    if delta is None:
        text = _("new") if current and not previous else "—"
    else:
        arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
        text = f"{arrow} {format_percent(abs(delta))}"
    good = None if not delta else delta > 0
    shown = fmt(current) if current is not None else "—"
    before = fmt(previous) if previous is not None else "—"
    return Metric(key, label, shown, before, delta, text, good)


def metrics(cur: Mapping[str, int], prev: Mapping[str, int], currency: str) -> list[Metric]:
    def money(v: float) -> str:
        return money_whole(round(v), currency)

    valid, prev_valid = cur["orders"] - cur["cancelled"], prev["orders"] - prev["cancelled"]
    return [
        _metric("revenue", _("Revenue"), cur["revenue_minor"], prev["revenue_minor"], money),
        _metric("orders", _("Orders"), cur["orders"], prev["orders"], format_number),
        _metric(
            "average",
            _("Average check"),
            cur["revenue_minor"] / valid if valid else None,
            prev["revenue_minor"] / prev_valid if prev_valid else None,
            money,
        ),
        _metric(
            "paid_share",
            _("Paid share"),
            _ratio(cur["paid_orders"], cur["orders"]),
            _ratio(prev["paid_orders"], prev["orders"]),
            format_percent,
        ),
        _metric("paid", _("Received"), cur["paid_minor"], prev["paid_minor"], money),
        _metric("new_customers", _("New customers"), cur["new_customers"], prev["new_customers"], format_number),
    ]


def money_whole(minor: int, currency: str) -> str:
    """Money rounded to whole units for headline figures (``1 834 105 ₽``): cents only add noise there."""
    digits = babel_numbers.get_currency_precision(currency)
    locale = babel_locale()
    pattern = locale.currency_formats["standard"].pattern.split(";")[0].replace(".00", "")
    major = (Decimal(minor).scaleb(-digits)).quantize(Decimal(1))
    return babel_numbers.format_currency(major, currency, format=pattern, locale=locale, currency_digits=False)


def bucket_label(day: date, granularity: str) -> str:
    locale = babel_locale()
    if granularity == "month":
        return babel_dates.format_skeleton("yMMM", day, locale=locale)
    return babel_dates.format_skeleton("MMMd", day, locale=locale)


def money_axis(currency: str):
    """Short money labels for axes and tooltips (``1,2 млн ₽``), in the reader's locale."""
    digits = babel_numbers.get_currency_precision(currency)
    locale = babel_locale()

    def fmt(value: float) -> str:
        major = Decimal(str(value)).scaleb(-digits)
        if abs(major) < 10000:
            return babel_numbers.format_currency(major, currency, locale=locale, format="¤#,##0")
        return babel_numbers.format_compact_currency(major, currency, locale=locale, fraction_digits=1)

    return fmt


def trend_charts(period: analytics.Period, cur: dict, prev: dict, currency: str) -> dict[str, str]:
    labels = [bucket_label(b, period.granularity) for b in cur]
    now_rows, before_rows = list(cur.values()), list(prev.values())
    before = [row["revenue_minor"] for row in before_rows][: len(now_rows)]
    revenue = charts.line(
        {_("This period"): [row["revenue_minor"] for row in now_rows], _("Previous period"): before},
        labels,
        title=_("Revenue"),
        formatter=money_axis(currency),
        width=CHART_WIDTH,
    )
    orders = charts.bar(
        {
            _("First purchase"): [row["new_customers"] for row in now_rows],
            _("Repeat purchase"): [max(0, row["orders"] - row["cancelled"] - row["new_customers"]) for row in now_rows],
            _("Cancelled"): [row["cancelled"] for row in now_rows],
        },
        labels,
        title=_("Orders"),
        formatter=lambda v: format_number(round(v)),
        stacked=True,
        width=CHART_WIDTH,
    )
    return {"revenue": revenue, "orders": orders}


def funnel_steps(counts: Mapping[str, int]) -> list[dict]:
    steps = [
        ("opened", _("Form opened")),
        ("started", _("Contact typed")),
        ("placed", _("Order placed")),
        ("paid", _("Paid")),
    ]
    top = counts["opened"] or max((counts[key] for key, _label in steps), default=0)
    return [
        {"key": key, "label": label, "count": counts[key], "share": _ratio(counts[key], top)} for key, label in steps
    ]


async def overview(period: analytics.Period, currency: str, *, only_manager: int | None = None) -> dict:
    """Everything the dashboard shows for ``period`` (rollups only: fast at any number of orders).

    ``only_manager`` (a member limited to own orders): the figures of their orders only, and no funnel,
    because form visits belong to no manager (the page says so).
    """
    scope = {"only_manager": only_manager}
    cur = await analytics.totals(currency, period.start, period.end, **scope)
    prev = await analytics.totals(currency, period.prev_start, period.prev_end, **scope)
    cur_series = await analytics.series(currency, period.start, period.end, period.granularity, **scope)
    prev_series = await analytics.series(currency, period.prev_start, period.prev_end, period.granularity, **scope)
    result = {
        "metrics": metrics(cur, prev, currency),
        "totals": cur,
        "previous": prev,
        "charts": trend_charts(period, cur_series, prev_series, currency),
        "funnel": None,
        "unfinished": None,
        "own_only": only_manager is not None,
        "empty": cur["orders"] == 0 and prev["orders"] == 0,
    }
    if only_manager is None:
        counts = await analytics.funnel(currency, period.start, period.end)
        steps = funnel_steps(counts)
        result["charts"]["funnel"] = charts.funnel(
            {step["label"]: step["count"] for step in steps},
            title=_("Funnel"),
            formatter=lambda v: format_number(round(v)),
            width=CHART_WIDTH,
        )
        result.update(funnel=steps, unfinished=counts["unfinished"])
    return result
