"""Rendering helpers: one URL serves the full page or its fragment; shared page context."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.plugins.htmx import ClientRedirect, HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template

from app.i18n import LOCALE_NAMES, LOCALES, get_locale

VARY = {"Vary": "HX-Request"}
# A URL-encoded form body as a plain dict (every HTML form posts this).
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def base_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What every page's layout needs; read from request state only (no queries here)."""
    state = request.scope["state"]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "locale": get_locale(),
        "languages": [(code, LOCALE_NAMES[code], f"/lang/{code}?next={quote(here, safe='')}") for code in LOCALES],
        "tenant": state.get("tenant"),
        "member": state.get("member"),
        "memberships": state.get("memberships", []),
        "identity_email": state.get("identity_email"),
        "nav": state.get("nav", []),
        "perms": state.get("perms", frozenset()),
        "language_options": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "public_url": request.app.state.settings.public_url.rstrip("/"),
    }


def render(
    request: Request[Any, Any, Any],
    page: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    toast: str | None = None,
) -> Template:
    """The full ``page`` on a normal request, ``fragment`` on an htmx (non-boosted) request.

    ``toast`` shows a short confirmation through the ``toast`` event (htmx requests only).
    """
    template = fragment if fragment and wants_fragment(request) else page
    extra: dict[str, Any] = {}
    if toast and wants_fragment(request):
        extra = {"trigger_event": "toast", "params": {"message": toast}, "after": "receive"}
    return HTMXTemplate(
        template_name=template,
        context={**base_context(request), **(context or {})},
        status_code=status_code,
        headers=VARY,
        **extra,
    )


def redirect(request: Request[Any, Any, Any] | HTMXRequest, to: str) -> Redirect | ClientRedirect:
    """PRG after a successful form: 303 for plain requests, ``HX-Redirect`` for htmx ones."""
    if wants_fragment(request):
        return ClientRedirect(redirect_to=to)
    return Redirect(path=to, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site relative paths may be redirect targets."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
