"""Analytics rollups: periods, reads from the per-day tables, counting form opens, rebuilding.

The rollup tables (``sales_day``, ``goods_day``, ``customer_fact``, ``cohort_month``, ``form_day``) are
kept current by PostgreSQL triggers on orders, order lines, payments and form drafts (see the migrations
``2026-11-25T04:00`` and ``…T05:10``), so every entry point — form, staff, API, import, payment
notification, a manual UPDATE — is covered in the same transaction (orders are refreshed once, as it
commits). Pages read only the rollups, never the order tables.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from app import clock
from app.forms import rules
from app.i18n import gettext as _
from app.tables.orders import Order
from app.tenancy.runtime import store_transaction

PRESETS = ("7d", "30d", "90d", "month", "year")
GRANULARITIES = ("day", "week", "month")
_PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90, "year": 365}
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    prev_start: date
    prev_end: date
    granularity: str
    preset: str  # one of PRESETS, or "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def store_today(timezone: str) -> date:
    """The store's "today" by the app's clock: the day in its zone, which may not be the UTC day."""
    return clock.today(timezone)


def _default_granularity(days: int) -> str:
    return "day" if days <= 45 else "week" if days <= 200 else "month"


def _previous(start: date, end: date, preset: str) -> tuple[date, date]:
    if preset == "month":  # month to date against the same days of the month before
        prev_start = (start - timedelta(days=1)).replace(day=1)
        last = calendar.monthrange(prev_start.year, prev_start.month)[1]
        return prev_start, prev_start.replace(day=min(end.day, last))
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def parse_period(raw: Mapping[str, str], today: date) -> tuple[Period, dict[str, str]]:
    """The period asked for in the query string; bad input falls back to 30 days with an error."""
    errors: dict[str, str] = {}
    preset = raw.get("period") or "30d"
    start = end = None
    if raw.get("from") or raw.get("to"):
        preset = "custom"
        try:
            start, end = rules.day(raw.get("from")), rules.day(raw.get("to"))
        except rules.Invalid:
            errors["from"] = _("Enter both dates as YYYY-MM-DD.")
        else:
            if start > end:
                errors["from"] = _("The start date must not be after the end date.")
            elif (end - start).days >= MAX_DAYS:
                errors["from"] = _("Choose a period of at most three years.")
    elif preset not in PRESETS:
        errors["period"] = _("Choose one of the offered options.")
    if errors or start is None or end is None:
        preset = "30d" if errors or preset == "custom" else preset
        end = today
        start = today.replace(day=1) if preset == "month" else today - timedelta(days=_PRESET_DAYS[preset] - 1)
    granularity = raw.get("by") or ""
    if granularity and granularity not in GRANULARITIES:
        errors["by"] = _("Choose one of the offered options.")
    if granularity not in GRANULARITIES:
        granularity = _default_granularity((end - start).days + 1)
    prev_start, prev_end = _previous(start, end, preset)
    return Period(start, end, prev_start, prev_end, granularity, preset), errors


def bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def buckets(start: date, end: date, granularity: str) -> list[date]:
    """Every bucket start from ``start`` to ``end``, so days without orders still show (as zero)."""
    out: list[date] = []
    current = bucket(start, granularity)
    while current <= end:
        out.append(current)
        if granularity == "month":
            current = (current + timedelta(days=32)).replace(day=1)
        else:
            current += timedelta(days=7 if granularity == "week" else 1)
    return out


_TOTALS = (
    "SELECT coalesce(sum(orders), 0) AS orders, coalesce(sum(cancelled), 0) AS cancelled,"
    " coalesce(sum(revenue_minor), 0) AS revenue_minor, coalesce(sum(paid_orders), 0) AS paid_orders,"
    " coalesce(sum(paid_minor), 0) AS paid_minor, coalesce(sum(refunded_minor), 0) AS refunded_minor,"
    " coalesce(sum(new_customers), 0) AS new_customers"
    " FROM sales_day WHERE currency = {} AND day BETWEEN {} AND {}"
)


async def totals(currency: str, start: date, end: date, *, only_manager: int | None = None) -> dict[str, int]:
    if only_manager is not None:
        return (await _own_series(currency, start, end, None, only_manager)).get(None, dict(_EMPTY))
    rows = await Order.raw(_TOTALS, currency, start, end)
    return {key: int(value) for key, value in rows[0].items()}


async def series(
    currency: str, start: date, end: date, granularity: str, *, only_manager: int | None = None
) -> dict[date, dict[str, int]]:
    """Totals per bucket (day, week starting Monday, or month); missing buckets are zero."""
    unit = {"day": "day", "week": "week", "month": "month"}[granularity]
    if only_manager is not None:
        found = await _own_series(currency, start, end, unit, only_manager)
    else:
        rows = await Order.raw(
            "SELECT date_trunc({}, day)::date AS bucket, sum(orders) AS orders, sum(cancelled) AS cancelled,"
            " sum(revenue_minor) AS revenue_minor, sum(paid_orders) AS paid_orders, sum(paid_minor) AS paid_minor,"
            " sum(new_customers) AS new_customers FROM sales_day WHERE currency = {} AND day BETWEEN {} AND {}"
            " GROUP BY 1",
            unit,
            currency,
            start,
            end,
        )
        found = {row["bucket"]: {k: int(v) for k, v in row.items() if k != "bucket"} for row in rows}
    return {b: found.get(b, dict(_EMPTY)) for b in buckets(start, end, granularity)}


_EMPTY = dict.fromkeys(
    ("orders", "cancelled", "revenue_minor", "paid_orders", "paid_minor", "refunded_minor", "new_customers"), 0
)
# sales_day has no manager: a member limited to own orders gets the same figures from the per-order facts
# (order_fact, kept by the same triggers) of their orders, and new customers from customer_fact whose first
# order is theirs. The bucket is NULL for a whole-period total.
_OWN_SALES = (
    "SELECT CASE WHEN {}::text IS NULL THEN NULL ELSE date_trunc({}::text, f.day)::date END AS bucket,"
    " count(*) AS orders, count(*) FILTER (WHERE f.cancelled) AS cancelled,"
    " coalesce(sum(f.total_minor) FILTER (WHERE NOT f.cancelled), 0) AS revenue_minor,"
    " count(*) FILTER (WHERE f.paid_minor - f.refunded_minor > 0) AS paid_orders,"
    " coalesce(sum(f.paid_minor - f.refunded_minor), 0) AS paid_minor,"
    " coalesce(sum(f.refunded_minor), 0) AS refunded_minor"
    " FROM order_fact f JOIN orders o ON o.id = f.order_id"
    " WHERE o.manager_id = {} AND f.currency = {} AND f.day BETWEEN {} AND {} GROUP BY 1"
)
_OWN_NEW = (
    "SELECT CASE WHEN {}::text IS NULL THEN NULL ELSE date_trunc({}::text, c.first_day)::date END AS bucket,"
    " count(*) AS new_customers FROM customer_fact c JOIN orders o ON o.id = c.first_order_id"
    " WHERE o.manager_id = {} AND c.currency = {} AND c.first_day BETWEEN {} AND {} GROUP BY 1"
)


async def _own_series(
    currency: str, start: date, end: date, unit: str | None, manager_id: int
) -> dict[date | None, dict[str, int]]:
    args = (unit, unit, manager_id, currency, start, end)
    found: dict[date | None, dict[str, int]] = {}
    for row in await Order.raw(_OWN_SALES, *args):
        found[row["bucket"]] = {**_EMPTY, **{k: int(v) for k, v in row.items() if k != "bucket"}}
    for row in await Order.raw(_OWN_NEW, *args):
        found.setdefault(row["bucket"], dict(_EMPTY))["new_customers"] = int(row["new_customers"])
    return found


async def funnel(currency: str, start: date, end: date) -> dict[str, int]:
    """From a form being opened to an order being paid, for orders placed through forms."""
    forms = await Order.raw(
        "SELECT coalesce(sum(opened), 0) AS opened, coalesce(sum(started), 0) AS started,"
        " coalesce(sum(unfinished), 0) AS unfinished FROM form_day WHERE day BETWEEN {} AND {}",
        start,
        end,
    )
    sales = await Order.raw(
        "SELECT coalesce(sum(orders), 0) AS placed, coalesce(sum(paid_orders), 0) AS paid FROM sales_day"
        " WHERE currency = {} AND source = 'form' AND day BETWEEN {} AND {}",
        currency,
        start,
        end,
    )
    return {**{k: int(v) for k, v in forms[0].items()}, **{k: int(v) for k, v in sales[0].items()}}


async def record_form_opened(form_code: str, utm_source: str) -> None:
    """Count one opening of a hosted form (opens have no base table: the counter is the record)."""
    await Order.raw(
        "INSERT INTO form_day AS t (day, form_code, utm_source, opened)"
        " VALUES (({}::timestamptz AT TIME ZONE analytics_tz())::date, {}, {}, 1)"
        " ON CONFLICT (day, form_code, utm_source) DO UPDATE SET opened = t.opened + 1",
        clock.now(),
        form_code[:40],
        utm_source[:100],
    )


async def rebuild() -> None:
    """Recompute every rollup of the bound store from its base tables (after imports or repairs)."""
    async with store_transaction():
        # A big store takes longer than the role's guard against runaway page queries.
        await Order.raw("SET LOCAL statement_timeout = '30min'")
        await Order.raw("SELECT analytics_rebuild()")
