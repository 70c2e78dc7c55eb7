"""Landing, sign-up, login, logout, language switch and the store switcher."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from app.controllers._auth import SESSION_IDENTITY, account_context
from app.controllers._htmx import Form, redirect, render, safe_next
from app.errors import ValidationFailed
from app.forms.auth import COUNTRIES, CURRENCIES, LOCALE_DEFAULTS, locale_defaults, validate_login, validate_signup
from app.i18n import LOCALES, country_choices, currency_choices, normalize
from app.i18n import gettext as _
from app.services import auth, stores
from app.web.clients import client_host
from app.web.middleware import LANG_COOKIE
from app.web.sessions import end_session, start_session

NextParam = Annotated[str | None, QueryParameter(name="next")]


def _signup_context(values: dict[str, str], errors: dict[str, str], logged_in: bool) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "logged_in": logged_in,
        "locales": LOCALES,
        "currencies": currency_choices(CURRENCIES),
        "countries": country_choices(COUNTRIES),
        "locale_defaults": LOCALE_DEFAULTS,
    }


class AuthController(Controller):
    include_in_schema = False

    @get("/", name="home:index")
    async def home(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        identity_id = await account_context(request)
        members = request.scope["state"].get("memberships", [])
        if identity_id is not None and len(members) == 1:
            return Redirect(path=f"/s/{members[0].slug}/")
        return render(request, "auth/home.html", {"logged_in": identity_id is not None})

    @get("/stores", name="auth:stores")
    async def list_stores(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        if await account_context(request) is None:
            return Redirect(path="/login?next=/stores")
        return render(request, "auth/stores.html")

    @get("/signup", name="auth:signup")
    async def new_signup(self, request: Request[Any, Any, Any]) -> Template:
        logged_in = await account_context(request) is not None
        locale = request.scope["state"]["locale"]
        values = {"locale": locale, **locale_defaults(locale)}
        return render(
            request, "auth/signup.html", _signup_context(values, {}, logged_in), fragment="auth/_signup_form.html"
        )

    @post("/signup", name="auth:create")
    async def create_signup(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        identity_id = await account_context(request)
        form, errors = validate_signup(data, with_credentials=identity_id is None)
        client = client_host(request.scope)
        if form is not None and not await auth.signup_allowed(client):
            form, errors = None, {"__all__": _("Too many new stores from your address. Try again in an hour.")}
        if form is not None:
            try:
                tenant, identity_id = await stores.create_store(form, identity_id=identity_id)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                await start_session(request, {SESSION_IDENTITY: identity_id})
                return redirect(request, f"/s/{tenant.slug}/")
        values = {k: v[:200] for k, v in data.items() if k != "password"}
        return render(
            request,
            "auth/signup.html",
            _signup_context(values, errors, identity_id is not None),
            fragment="auth/_signup_form.html",
            status_code=422,
        )

    @get("/login", name="auth:login")
    async def new_login(self, request: Request[Any, Any, Any], next_: NextParam = None) -> Template:
        return render(
            request,
            "auth/login.html",
            {"values": {}, "errors": {}, "next": safe_next(next_, "")},
            fragment="auth/_login_form.html",
        )

    @post("/login", name="auth:authenticate")
    async def authenticate(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        form, errors = validate_login(data)
        target = safe_next(data.get("next"), "/")
        retry_after = 0
        if form is not None:
            settings = request.app.state.settings
            try:
                identity_id = await auth.login(
                    form,
                    client_host(request.scope),
                    attempts=settings.login_attempts,
                    address_attempts=settings.login_address_attempts,
                    first_delay=settings.login_first_delay_seconds,
                    max_delay=settings.login_max_delay_seconds,
                )
            except auth.LoginThrottled as exc:
                errors, retry_after = exc.errors, exc.retry_after
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                await start_session(request, {SESSION_IDENTITY: identity_id})
                return redirect(request, target)
        values = {"email": (data.get("email") or "")[:254]}
        response = render(
            request,
            "auth/login.html",
            {"values": values, "errors": errors, "next": target},
            fragment="auth/_login_form.html",
            status_code=429 if retry_after else 422,
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @post("/logout", name="auth:logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        await end_session(request)
        return redirect(request, "/login")

    @get("/lang/{code:str}", name="auth:language")
    async def switch_language(self, code: FromPath[str], next_: NextParam = None) -> Redirect:
        response = Redirect(path=safe_next(next_, "/"), status_code=303)
        locale = normalize(code)
        if locale:
            response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response
