"""The shopper's side: the hosted order form, its embed script, and the order status page.

No cookies are needed here (browsers drop them in cross-site iframes): the form carries a signed,
expiring token whose nonce is also the order's idempotency key, so a double click or a replay places
one order, and the order page is found by its unguessable token.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from app import jobs
from app.controllers._htmx import Form, content_disposition, speak_order_language, wants_fragment
from app.controllers.hooks import keys_of
from app.errors import Conflict, NotFound
from app.i18n import LOCALE_NAMES, LOCALES, normalize
from app.i18n import gettext as _
from app.services import analytics, balances, forms, orders, origins, payments
from app.tenancy.runtime import TenantInfo

logger = logging.getLogger(__name__)

EMBED_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "embed.js"
BASE_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)


def _tenant(request: Request[Any, Any, Any]) -> TenantInfo:
    return request.scope["state"]["tenant"]


def _origin(value: str | None) -> str | None:
    # The strict parser: a stored or sent value with "*", ";" or a space never reaches the CSP header.
    return origins.safe(value)


def frame_headers(allowed: list[str]) -> dict[str, str]:
    """Only the store's own allowed origins may frame its forms."""
    origins = " ".join(o for o in (_origin(a) for a in allowed) if o)
    return {
        "Content-Security-Policy": f"{BASE_CSP}; frame-ancestors 'self' {origins}".strip(),
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Vary": "HX-Request",
    }


def _lang_override(request: Request[Any, Any, Any]) -> str | None:
    return normalize(request.query_params.get("lang"))


def _keep_query(request: Request[Any, Any, Any]) -> str:
    """The shopper's ``?lang``/``embed``/``parent`` choices, for the links and forms of the next page."""
    query = request.query_params
    keep = {"lang": _lang_override(request), "embed": "1" if query.get("embed") == "1" else None}
    keep["parent"] = _origin(query.get("parent")) if keep["embed"] else None
    pairs = [f"{key}={value}" for key, value in keep.items() if value]
    return "?" + "&".join(pairs) if pairs else ""


def error_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What a shopper's 404/410 page needs: the store's languages and the way back to its form."""
    tenant, locale = _tenant(request), request.scope["state"]["locale"]
    embed = "&embed=1" if request.query_params.get("embed") == "1" else ""
    home = f"/f/{tenant.slug}/"
    return {
        "embed": bool(embed),
        "parent": None,
        "languages": [(code, LOCALE_NAMES[code], f"{request.url.path}?lang={code}{embed}") for code in LOCALES],
        "home_url": None if request.url.path.rstrip("/") == home.rstrip("/") else f"{home}?lang={locale}{embed}",
    }


def _page(
    request: Request[Any, Any, Any], template: str, context: dict[str, Any], form: dict, status_code: int = 200
) -> Template:
    tenant = _tenant(request)
    locale = request.scope["state"]["locale"]
    embed = request.query_params.get("embed") == "1"
    parent = _origin(request.query_params.get("parent")) if embed else None
    if parent and parent not in {_origin(a) for a in form["allowed_origins"]}:
        parent = None  # never tell an origin we do not trust how tall the form is
    here = request.url.path
    languages = [
        (
            code,
            LOCALE_NAMES[code],
            f"{here}?lang={code}{'&embed=1' if embed else ''}{'&parent=' + parent if parent else ''}",
        )
        for code in form["languages"]
        if code in LOCALE_NAMES
    ]
    base = {
        "tenant": tenant,
        "locale": locale,
        "form": form,
        "embed": embed,
        "parent": parent,
        "languages": languages,
        "title": forms.localized(form["titles"], locale) or form["title"],
        "localized": forms.localized,
    }
    return Template(
        template_name=template,
        context={**base, **context},
        status_code=status_code,
        headers=frame_headers(form["allowed_origins"]),
    )


class ShopController(Controller):
    path = "/f/{slug:str}"
    include_in_schema = False

    @get("/", name="shop:home")
    async def home(self, request: Request[Any, Any, Any]) -> Redirect:
        """The store's own form (where a lost shopper is sent back to)."""
        code = await forms.home_form_code()
        if code is None:
            raise NotFound(_("This store takes no orders online right now."))
        return Redirect(path=f"/f/{_tenant(request).slug}/{code}{_keep_query(request)}", status_code=303)

    @get("/{code:str}", name="shop:form")
    async def show_form(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
        form = await forms.get_form(code)
        query = request.query_params
        secret = request.app.state.settings.secret_key
        values = {key: str(query.get(key) or "")[:200] for key in ("name", "phone", "email", *forms.UTM_KEYS)}
        if not query.get("q") and not wants_fragment(request):  # a search inside the form is not a new visit
            await analytics.record_form_opened(form["code"], values["utm_source"])
        context = {
            "token": forms.sign_token(secret, _tenant(request).slug, code),
            "values": values,
            "errors": {},
            "offers": await forms.offers_for(form, str(query.get("q") or ""), currency=_tenant(request).currency),
            "q": query.get("q") or "",
            "quantities": {},
        }
        return _page(request, "shop/form.html", context, form)

    @post("/{code:str}", name="shop:submit")
    async def submit_form(
        self, request: Request[Any, Any, Any], code: FromPath[str], data: Form
    ) -> Template | Redirect:
        tenant = _tenant(request)
        form = await forms.get_form(code)
        secret = request.app.state.settings.secret_key
        token = forms.verify_token(secret, tenant.slug, code, data.get("t", ""))
        locale = request.scope["state"]["locale"]
        errors: dict[str, str]
        if token is None:
            errors = {"__all__": _("This form has expired. Please check your order and send it again.")}
            draft = None
        else:
            draft, errors = await forms.validate_submission(
                data, form, country=tenant.country, currency=tenant.currency, locale=locale, nonce=token.nonce
            )
        if draft is not None:
            order, created = await orders.place_order(draft)
            await forms.order_sent(token, code, order.customer_id if created else None, order.id)  # type: ignore[arg-type]
            if created:
                await _notify(request, tenant.slug, order.id)
            return Redirect(path=_status_url(request, tenant, order.token), status_code=303)
        quantities = {k[4:]: v for k, v in data.items() if k.startswith("qty_")}
        context = {
            "token": forms.sign_token(secret, tenant.slug, code),
            "values": {k: v[:500] for k, v in data.items()},
            "errors": errors,
            "offers": await forms.offers_for(form, "", currency=tenant.currency),
            "q": "",
            "quantities": quantities,
        }
        return _page(request, "shop/form.html", context, form, status_code=422)

    @post("/{code:str}/draft", name="shop:draft", status_code=204)
    async def save_draft(self, request: Request[Any, Any, Any], code: FromPath[str], data: Form) -> None:
        tenant = _tenant(request)
        token = forms.verify_token(request.app.state.settings.secret_key, tenant.slug, code, data.get("t", ""))
        if token is not None:
            await forms.save_draft(token.nonce, code, data, tenant.country)

    @get("/o/{token:str}", name="shop:order")
    async def show_order(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        returned = request.query_params.get("token")  # PayPal's return adds ?token=<order id>&PayerID=...
        if returned:
            await payments.settle_return(token, returned[:128], keys=keys_of(request))
        order = await orders.by_token(token)
        locale = speak_order_language(request, order["locale"])
        form = await forms.page_form(order["form_code"] or forms.DEFAULT_FORM)
        context = {
            "order": order,
            "keep_query": _keep_query(request),
            "thanks": forms.localized(form["thanks"], locale),
            "balance": await balances.of_order(order),
            "balance_labels": balances.state_labels(),
            "connections": await payments.list_connections(active_only=True),
            "test_only": payments.TEST_ONLY,
        }
        return _page(request, "shop/order.html", context, form)

    @post("/o/{token:str}", name="shop:order_return", status_code=303)
    async def return_to_order(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Redirect:
        """Some gateways (WayForPay) send the shopper back with a POST: the order page is shown by its GET.
        The posted fields prove nothing and are not read; the page asks the stored payment state."""
        order = await orders.by_token(token)  # 404 for an unknown order
        embed = "?embed=1" if request.query_params.get("embed") == "1" else ""
        return Redirect(path=f"/f/{_tenant(request).slug}/o/{order['token']}{embed}", status_code=303)

    @post("/o/{token:str}/pay/{connection_id:int}", name="shop:pay")
    async def pay(
        self, request: Request[Any, Any, Any], token: FromPath[str], connection_id: FromPath[int]
    ) -> Redirect | Template:
        speak_order_language(request, await orders.locale_by_token(token))
        try:
            step = await payments.start(token, connection_id, keys=keys_of(request))
        except Conflict:  # nothing is due (paid meanwhile, say in another tab): the order page tells so
            return Redirect(path=f"/f/{_tenant(request).slug}/o/{token}{_keep_query(request)}", status_code=303)
        if step.url and not step.fields:
            return Redirect(path=step.url, status_code=303)
        form = await forms.page_form(forms.DEFAULT_FORM)
        context = {"step": step, "keep_query": _keep_query(request)}
        return _page(request, "shop/pay_redirect.html", context, form)

    @get("/o/{token:str}/invoice/{connection_id:int}", name="shop:invoice")
    async def invoice(
        self, request: Request[Any, Any, Any], token: FromPath[str], connection_id: FromPath[int]
    ) -> Response[bytes]:
        """The bank-transfer invoice as a PDF, for the shopper to pay from their bank."""
        locale = speak_order_language(request, await orders.locale_by_token(token))
        name, pdf = await payments.bank_invoice(token, connection_id, keys=keys_of(request), locale=locale)
        headers = {"Content-Disposition": content_disposition(name, "inline"), "Cache-Control": "private, no-store"}
        return Response(pdf, media_type="application/pdf", headers=headers)

    @get("/sandbox/pay", name="shop:sandbox")
    async def sandbox_page(self, request: Request[Any, Any, Any]) -> Template:
        checkout = await payments.sandbox_checkout(dict(request.query_params), keys_of(request))
        speak_order_language(request, checkout.locale)
        form = await forms.page_form(forms.DEFAULT_FORM)
        context = {"checkout": checkout, "query": dict(request.query_params)}
        return _page(request, "shop/sandbox.html", context, form)

    @post("/sandbox/pay", name="shop:sandbox_pay")
    async def sandbox_pay(self, request: Request[Any, Any, Any], data: Form) -> Redirect:
        decline = data.pop("decline", None) is not None
        target = await payments.sandbox_pay(data, keys_of(request), decline=decline)
        return Redirect(path=target, status_code=303)


async def _notify(request: Request[Any, Any, Any], slug: str, order_id: int) -> None:
    """Queue the order e-mails; the order is already placed, so a queue problem must not fail the request."""
    try:
        await jobs.defer_order_mail(slug, order_id)
    except Exception:
        logger.exception("could not queue the e-mails for order %s of %s", order_id, slug)


def _status_url(request: Request[Any, Any, Any], tenant: TenantInfo, order_token: str) -> str:
    suffix = "?embed=1" if request.query_params.get("embed") == "1" else ""
    parent = request.query_params.get("parent")
    if suffix and parent and _origin(parent):
        suffix += f"&parent={_origin(parent)}"
    return f"/f/{tenant.slug}/o/{order_token}{suffix}"


class EmbedController(Controller):
    include_in_schema = False

    @get("/embed.js", name="shop:embed", media_type="text/javascript")
    async def embed_script(self) -> Response[bytes]:
        return Response(
            EMBED_JS.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )
