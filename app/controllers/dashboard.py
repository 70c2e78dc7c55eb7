"""The store's home page."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from app.controllers._htmx import render
from app.i18n import LOCALE_NAMES, country_name
from app.services import stores


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="dashboard:show", opt={"permission": "dashboard.view"})
    async def show_dashboard(self, request: Request[Any, Any, Any]) -> Template:
        store = await stores.current_store()
        context = {
            "store": store,
            "language_name": LOCALE_NAMES.get(store.locale, store.locale),
            "country_name": country_name(store.country),
            "today": date.today(),
        }
        return render(request, "dashboard/show.html", context)
