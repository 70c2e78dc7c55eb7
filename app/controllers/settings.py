"""Store settings (owner and admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import VARY, Form, base_context, redirect, render, toast_headers, wants_fragment
from app.controllers.hooks import keys_of
from app.errors import Conflict, ValidationFailed
from app.forms.auth import COUNTRIES, CURRENCIES
from app.i18n import LOCALES, country_choices, currency_choices, minor_to_plain, timezone_choices
from app.i18n import gettext as _
from app.services import form_settings, orders, payment_connections, payments, products, receipts, stores


def _actor(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who is changing the settings, for the audit log."""
    member = request.scope["state"]["member"]
    return {"actor_id": member.identity_id, "actor": member.email}


def _form_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "locales": LOCALES,
        "currencies": currency_choices(CURRENCIES),
        "countries": country_choices(COUNTRIES),
        "timezones": timezone_choices(),
        **receipts.choices(),
    }


def _store_values(store: stores.StoreView) -> dict[str, str]:
    return {
        "name": store.name,
        "locale": store.locale,
        "currency": store.currency,
        "country": store.country,
        "timezone": store.timezone,
        "tax_system": store.tax_system or "",
        "vat_code": store.vat_code,
        "delivery_vat_code": store.delivery_vat_code,
    }


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    @get("/", name="settings:index", opt={"permission": "settings.view"})
    async def show_settings(self, request: Request[Any, Any, Any]) -> Redirect:
        return Redirect(path=request.url.path.rstrip("/") + "/store")

    @get("/store", name="settings:store", opt={"permission": "settings.view"})
    async def edit_store(self, request: Request[Any, Any, Any]) -> Template:
        store = await stores.current_store()
        values = _store_values(store)
        return render(request, "settings/store.html", _form_context(values, {}), fragment="settings/_store_form.html")

    @post("/store", name="settings:update_store", opt={"permission": "settings.edit"})
    async def update_store(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
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
        store = await stores.update_settings(form, **_actor(request))
        values = _store_values(store)
        if wants_fragment(request):
            return Template(
                template_name="settings/_store_form.html",
                context={**base_context(request), **_form_context(values, {}), "saved": True},
                headers={**VARY, **toast_headers(_("Settings saved."), after="settle")},
            )
        return redirect(request, request.url.path + "?saved=1")


def _form_values(form: dict, currency: str) -> dict[str, str]:
    values: dict[str, str] = {f"title_{loc}": (form["titles"] or {}).get(loc, "") for loc in LOCALES}
    for spec in form["fields"]:
        values[f"field_{spec['key']}"] = "on" if spec.get("enabled") else ""
        values[f"required_{spec['key']}"] = "on" if spec.get("required") else ""
        for loc, label in (spec.get("label") or {}).items():
            values[f"{spec['key']}_label_{loc}"] = label
    values.update(
        goods_mode=form["goods_mode"],
        max_quantity=str(form["max_quantity"]),
        allowed_origins="\n".join(form["allowed_origins"]),
        active="on" if form["active"] else "",
    )
    if form["goods_mode"] == "category" and form["goods"]:
        values["goods_category"] = str(form["goods"][0])
    for index, option in enumerate(form["delivery"][: form_settings.MAX_DELIVERY]):
        for loc in LOCALES:
            values[f"delivery_{index}_name_{loc}"] = (option.get("name") or {}).get(loc, "")
        values[f"delivery_{index}_price"] = minor_to_plain(int(option.get("price_minor", 0)), currency)
        values[f"delivery_{index}_address"] = "on" if option.get("address") else ""
    for loc in LOCALES:
        values[f"thanks_{loc}"] = (form["thanks"] or {}).get(loc, "")
        values[f"lang_{loc}"] = "on" if loc in form["languages"] else ""
    return values


class FormSettingsController(Controller):
    path = "/settings/forms"
    include_in_schema = False

    @get("/", name="settings:forms", opt={"permission": "settings.view"})
    async def list_forms(self, request: Request[Any, Any, Any]) -> Template:
        public = request.app.state.settings.public_url.rstrip("/")
        return render(request, "settings/forms.html", {"forms": await form_settings.list_forms(), "public": public})

    @get("/{code:str}", name="settings:form", opt={"permission": "settings.view"})
    async def edit_form(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
        form = await form_settings.get(code)
        tenant = request.scope["state"]["tenant"]
        values = _form_values(form, tenant.currency)
        if form["goods_mode"] in ("fixed", "single"):
            values["goods_skus"] = "\n".join(await form_settings.skus_of(form["goods"]))
        return render(request, "settings/form_edit.html", await _editor_context(request, form, values, {}))

    @post("/{code:str}", name="settings:update_form", opt={"permission": "settings.edit"})
    async def update_form(
        self, request: Request[Any, Any, Any], code: FromPath[str], data: Form
    ) -> Template | Redirect:
        form = await form_settings.get(code)
        tenant = request.scope["state"]["tenant"]
        settings, errors = await form_settings.validate(data, tenant.currency)
        if settings is None:
            values = {k: v[:2000] for k, v in data.items()}
            context = await _editor_context(request, form, values, errors)
            return render(request, "settings/form_edit.html", context, status_code=422)
        await form_settings.update(code, settings, **_actor(request))
        return redirect(request, f"/s/{tenant.slug}/settings/forms/{code}?saved=1")


async def _editor_context(request: Request[Any, Any, Any], form: dict, values: dict, errors: dict) -> dict[str, Any]:
    public = request.app.state.settings.public_url.rstrip("/")
    return {
        "form": form,
        "values": values,
        "errors": errors,
        "locales": LOCALES,
        "public": public,
        "standard_fields": form_settings.STANDARD_FIELDS,
        "custom_fields": form_settings.CUSTOM_FIELDS,
        "modes": form_settings.GOODS_MODES,
        "category_options": [("", "—")] + [(str(c["id"]), c["path"] or c["name"]) for c in await products.categories()],
        "delivery_rows": range(form_settings.MAX_DELIVERY),
    }


class StatusSettingsController(Controller):
    path = "/settings/statuses"
    include_in_schema = False

    @get("/", name="settings:statuses", opt={"permission": "settings.view"})
    async def list_statuses(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "settings/statuses.html", await _status_context({}, {}))

    @post("/", name="settings:create_status", opt={"permission": "settings.edit"})
    async def create_status(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        errors = await orders.create_status(data, **_actor(request))
        if errors:
            context = await _status_context({k: v[:100] for k, v in data.items()}, errors)
            return render(request, "settings/statuses.html", context, status_code=422)
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/settings/statuses/")

    @post("/{code:str}", name="settings:update_status", opt={"permission": "settings.edit"})
    async def update_status(
        self, request: Request[Any, Any, Any], code: FromPath[str], data: Form
    ) -> Template | Redirect:
        errors = await orders.update_status(code, data, **_actor(request))
        if errors:
            context = await _status_context({}, {}, edit_code=code, edit_errors=errors)
            return render(request, "settings/statuses.html", context, status_code=422)
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/settings/statuses/")


async def _status_context(
    values: dict, errors: dict, edit_code: str | None = None, edit_errors: dict | None = None
) -> dict[str, Any]:
    return {
        "statuses": await orders.all_statuses(),
        "group_label": orders.group_label,
        "group_options": [(group, orders.group_label(group)) for group in orders.GROUPS],
        "values": values,
        "errors": errors,
        "locales": LOCALES,
        "edit_code": edit_code,
        "edit_errors": edit_errors or {},
    }


class PaymentSettingsController(Controller):
    path = "/settings/payments"
    include_in_schema = False

    @get("/", name="settings:payments", opt={"permission": "settings.view"})
    async def list_payments(self, request: Request[Any, Any, Any]) -> Template:
        code = str(request.query_params.get("code") or "")
        return render(request, "settings/payments.html", await _payment_context(request, code, {}, {}))

    @post("/", name="settings:connect_payment", opt={"permission": "settings.edit"})
    async def connect_payment(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        code = data.get("code", "")
        try:
            await payments.connect(
                code,
                data,
                keys=keys_of(request),
                name=(data.get("name") or "")[:120],
                names=payment_connections.names_from(data),
                test_mode=data.get("test_mode") == "on",
                **_actor(request),
            )
        except ValidationFailed as exc:
            values = {k: v[:200] for k, v in data.items() if k not in _secret_fields(code)}
            return render(
                request,
                "settings/payments.html",
                await _payment_context(request, code, values, exc.errors),
                status_code=422,
            )
        return redirect(request, f"/s/{request.scope['state']['tenant'].slug}/settings/payments/")

    @post("/{connection_id:int}/check", name="settings:check_payment", opt={"permission": "settings.edit"})
    async def check_payment(self, request: Request[Any, Any, Any], connection_id: FromPath[int]) -> Template:
        """The "check connection" button: a cheap authenticated call, its result shown beside the connection."""
        result = await payments.check_connection(connection_id, keys=keys_of(request))
        context = await _payment_context(request, "", {}, {})
        context["checks"] = {connection_id: result}
        context["c"] = next(c for c in context["connections"] if c["id"] == connection_id)
        return render(request, "settings/payments.html", context, fragment="settings/_connection_check.html")

    @post("/{connection_id:int}", name="settings:edit_payment", opt={"permission": "settings.edit"})
    async def edit_payment(
        self, request: Request[Any, Any, Any], connection_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        """Save a connection's names, test mode and re-entered credentials (a blank secret keeps the stored one)."""
        try:
            await payment_connections.edit(
                connection_id, data, keys=keys_of(request), test_mode=data.get("test_mode") == "on", **_actor(request)
            )
        except ValidationFailed as exc:
            context = await _payment_context(request, "", {}, {})
            secret = _secret_fields(next((c["code"] for c in context["connections"] if c["id"] == connection_id), ""))
            context["edit_id"], context["edit_errors"] = connection_id, exc.errors
            context["forms"][connection_id] = {k: v[:200] for k, v in data.items() if k not in secret}
            return render(request, "settings/payments.html", context, status_code=422)
        return redirect(request, _payments_url(request))

    @post("/{connection_id:int}/disable", name="settings:disable_payment", opt={"permission": "settings.edit"})
    async def disable_payment(self, request: Request[Any, Any, Any], connection_id: FromPath[int]) -> Redirect:
        """No Pay button and no new payment; notifications of payments already started still work."""
        await payment_connections.set_active(connection_id, False, **_actor(request))
        return redirect(request, _payments_url(request))

    @post("/{connection_id:int}/enable", name="settings:enable_payment", opt={"permission": "settings.edit"})
    async def enable_payment(self, request: Request[Any, Any, Any], connection_id: FromPath[int]) -> Redirect:
        await payment_connections.set_active(connection_id, True, **_actor(request))
        return redirect(request, _payments_url(request))

    @post("/{connection_id:int}/delete", name="settings:delete_payment", opt={"permission": "settings.edit"})
    async def delete_payment(
        self, request: Request[Any, Any, Any], connection_id: FromPath[int]
    ) -> Template | Redirect:
        """Only a connection no payment uses; otherwise the page says why and suggests disabling it."""
        try:
            await payment_connections.delete(connection_id, **_actor(request))
        except Conflict as exc:
            context = await _payment_context(request, "", {}, {})
            context["refusal"] = str(exc)
            return render(request, "settings/payments.html", context, status_code=409)
        return redirect(request, _payments_url(request))


def _payments_url(request: Request[Any, Any, Any]) -> str:
    return f"/s/{request.scope['state']['tenant'].slug}/settings/payments/"


def _secret_fields(code: str) -> set[str]:
    gateway = next((g for g in payments.gateways() if g["code"] == code), None)
    return {f["name"] for f in (gateway or {}).get("config_fields", []) if f["secret"]}


async def _payment_context(request: Request[Any, Any, Any], code: str, values: dict, errors: dict) -> dict[str, Any]:
    keys = keys_of(request)
    gateways = payments.gateways()
    chosen = next((g for g in gateways if g["code"] == code), None)
    connections = [
        {**c, "hooks": payments.hook_urls(keys, c["code"], c["id"])}
        for c in await payments.list_connections()
    ]
    values = values or {"test_mode": "on"}
    if chosen:
        labels = payments.choice_labels()
        for f in chosen["config_fields"]:
            f["options"] = [(c, labels.get(c, c)) for c in f["choices"]]
            if f["choices"] and not values.get(f["name"]) and f["default"]:
                values = {**values, f["name"]: f["default"]}
    return {
        "gateways": gateways,
        "chosen": chosen,
        "values": values,
        "errors": errors,
        "connections": connections,
        "checks": {},
        "forms": await payment_connections.form_values(keys),
        "fields": {g["code"]: g["config_fields"] for g in gateways},
        "choice_labels": payments.choice_labels(),
        "test_only": payments.TEST_ONLY,
        "locales": LOCALES,
        "edit_id": None,
        "edit_errors": {},
        "refusal": "",
    }
