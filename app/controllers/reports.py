"""Reports: repeat purchases, cohorts, ABC analysis of goods, sources and UTM."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from app.controllers._htmx import render
from app.services import analytics, reports, stores


class ReportController(Controller):
    path = "/reports"
    include_in_schema = False

    @get("/", name="reports:show", opt={"permission": "reports.view"})
    async def show_reports(self, request: Request[Any, Any, Any]) -> Template:
        store = await stores.current_store()
        period, errors = analytics.parse_period(request.query_params, analytics.store_today(store.timezone))
        context = {"store": store, "period": period, "errors": errors, **await reports.overview(period, store.currency)}
        status = 422 if errors else 200
        return render(request, "reports/show.html", context, fragment="reports/_body.html", status_code=status)
