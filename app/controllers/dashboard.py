"""The store's home page: the owner's overview of the business for a period."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from app.controllers._htmx import render
from app.services import analytics, dashboard, stores


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="dashboard:show", opt={"permission": "dashboard.view"})
    async def show_dashboard(self, request: Request[Any, Any, Any]) -> Template:
        store = await stores.current_store()
        period, errors = analytics.parse_period(request.query_params, analytics.store_today(store.timezone))
        context = {
            "store": store,
            "period": period,
            "errors": errors,
            "query": dict(request.query_params),
            **await dashboard.overview(period, store.currency, only_manager=request.scope["state"].get("orders_scope")),
        }
        status = 422 if errors else 200
        return render(request, "dashboard/show.html", context, fragment="dashboard/_body.html", status_code=status)
