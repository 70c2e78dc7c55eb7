"""Staff results: who handled how many orders, how many got paid, revenue, response time, overdue tasks."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from app.controllers._htmx import render
from app.i18n import format_date, format_money, format_number, format_percent
from app.i18n import gettext as _
from app.services import charts, staff_results
from app.services.imports.values import minor_digits


class StaffResultsController(Controller):
    path = "/staff/results"
    include_in_schema = False

    @get("/", name="staff:results", opt={"permission": "reports.view"})
    async def show_results(self, request: Request[Any, Any, Any]) -> Template:
        days = staff_results.parse_days(request.query_params.get("days"))
        data = await staff_results.results(days)
        currency = request.scope["state"]["tenant"].currency
        rows = [r for r in data.rows if r.handled or r.overdue_tasks]
        svg: dict[str, str] = {}
        unit = 10 ** minor_digits(currency)
        if rows:
            svg["revenue"] = charts.hbar(
                {r.name: r.revenue_minor / unit for r in rows},
                title=_("Revenue from paid orders"),
                formatter=lambda v: format_money(round(v * unit), currency),
                width=480,
            )
            svg["conversion"] = charts.hbar(
                {r.name: r.conversion for r in rows}, title=_("Conversion to paid"), formatter=format_percent, width=480
            )
            svg["response"] = charts.hbar(
                {r.name: round((r.response_seconds or 0) / 60, 1) for r in rows},
                title=_("Average response time, minutes"),
                formatter=format_number,
                width=480,
            )
        if data.daily:
            step = max(1, len(data.labels) // 12)
            svg["daily"] = charts.line(
                data.daily,
                [format_date(d, "d MMM") if i % step == 0 else "" for i, d in enumerate(data.labels)],
                title=_("Orders handled per day"),
                formatter=format_number,
                width=480,
            )
        context = {"results": data, "rows": rows, "svg": svg, "periods": staff_results.PERIODS, "currency": currency}
        return render(request, "staff_results/show.html", context)
