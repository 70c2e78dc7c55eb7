"""Store settings (owner and admin)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template

from app.controllers._htmx import VARY, base_context, redirect, render, wants_fragment
from app.forms.auth import COUNTRIES, CURRENCIES
from app.i18n import LOCALES, country_choices, currency_choices
from app.i18n import gettext as _
from app.services import stores

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
MANAGERS = frozenset({"owner", "admin"})


def _require_manager(request: Request[Any, Any, Any]) -> None:
    member = request.scope["state"].get("member")
    if member is None or member.role not in MANAGERS:
        raise NotFoundException()


def _form_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "locales": LOCALES,
        "currencies": currency_choices(CURRENCIES),
        "countries": country_choices(COUNTRIES),
    }


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    @get("/", name="settings:index")
    async def show_settings(self, request: Request[Any, Any, Any]) -> Redirect:
        _require_manager(request)
        return Redirect(path=request.url.path.rstrip("/") + "/store")

    @get("/store", name="settings:store")
    async def edit_store(self, request: Request[Any, Any, Any]) -> Template:
        _require_manager(request)
        store = await stores.current_store()
        values = {"name": store.name, "locale": store.locale, "currency": store.currency, "country": store.country}
        return render(request, "settings/store.html", _form_context(values, {}), fragment="settings/_store_form.html")

    @post("/store", name="settings:update_store")
    async def update_store(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        _require_manager(request)
        form, errors = stores.validate_settings(data)
        if form is None:
            values = {k: v[:200] for k, v in data.items()}
            return render(
                request,
                "settings/store.html",
                _form_context(values, errors),
                fragment="settings/_store_form.html",
                status_code=422,
            )
        store = await stores.update_settings(form)
        values = {"name": store.name, "locale": store.locale, "currency": store.currency, "country": store.country}
        if wants_fragment(request):
            return HTMXTemplate(
                template_name="settings/_store_form.html",
                context={**base_context(request), **_form_context(values, {}), "saved": True},
                trigger_event="toast",
                params={"message": _("Settings saved.")},
                after="settle",
                headers=VARY,
            )
        return redirect(request, request.url.path + "?saved=1")
