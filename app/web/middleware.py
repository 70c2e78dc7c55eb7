"""Per-request locale and security headers."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import DEFAULT_LOCALE, get_locale, negotiate, normalize, set_locale, set_timezone

LANG_COOKIE = "lang"
# Public order forms are framed by store sites and set their own frame-ancestors.
FRAMEABLE_PREFIXES = ("/f/", "/embed.js")
CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def resolve_locale(scope: Scope) -> str:
    """The user's choice (``?lang=``, then the language cookie), the store's default, then the browser."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    chosen = normalize((query.get("lang") or [""])[0])
    if chosen:
        return chosen
    tenant = scope.get("state", {}).get("tenant")
    if scope["path"].startswith("/f/"):
        # Shoppers: their browser's language, then the store's; a staff language cookie is not theirs.
        browser = negotiate(_header(scope, b"accept-language"))
        return browser or normalize(tenant.locale if tenant else None) or DEFAULT_LOCALE
    cookie = SimpleCookie()
    try:
        cookie.load(_header(scope, b"cookie"))
    except Exception:
        cookie = SimpleCookie()
    if LANG_COOKIE in cookie and (chosen := normalize(cookie[LANG_COOKIE].value)):
        return chosen
    if tenant is not None and (chosen := normalize(tenant.locale)):
        return chosen
    return negotiate(_header(scope, b"accept-language")) or DEFAULT_LOCALE


class LocaleMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        locale = resolve_locale(scope)
        scope["state"]["locale"] = locale
        set_locale(locale)
        set_timezone(None)  # UTC until a store's page binds the store's zone (staff guard)

        async def send_wrapper(message: Message) -> None:
            # The language the answer was written in (a handler may have switched it, e.g. to an order's).
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).setdefault("Content-Language", get_locale())
            await send(message)

        await next_app(scope, receive, send_wrapper)


class SecurityHeadersMiddleware(ASGIMiddleware):
    """Staff and account pages can never be framed; everything gets nosniff and a strict referrer."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        frameable = scope["path"].startswith(FRAMEABLE_PREFIXES)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not frameable:
                    headers["X-Frame-Options"] = "DENY"
                    headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await next_app(scope, receive, send_wrapper)
