"""Rendering helpers: one URL serves the full page or its fragment; shared page context."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import quote

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Response, Template
from litestar.utils import url_quote

from app.i18n import LOCALE_NAMES, LOCALES, get_locale, normalize, set_locale

VARY = {"Vary": "HX-Request"}
# A URL-encoded form body as a plain dict (every HTML form posts this).
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
TRIGGER_HEADERS = {"receive": "HX-Trigger", "settle": "HX-Trigger-After-Settle", "swap": "HX-Trigger-After-Swap"}


# Response headers must be latin-1, and a toast or a file name in Russian or Ukrainian is not: every
# header that carries user text is built by the helpers below, never by hand (and never by
# litestar-htmx's trigger_event/TriggerEvent, whose JSON keeps non-ASCII characters as they are).


def header_json(value: Any) -> str:
    """``value`` as JSON for an htmx header, every non-ASCII character escaped (``\\u0421``)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def trigger(
    event: str, params: dict[str, Any] | None = None, *, after: Literal["receive", "settle", "swap"] = "receive"
) -> dict[str, str]:
    """The header that fires the client-side ``event`` with ``params`` as its ``detail``."""
    return {TRIGGER_HEADERS[after]: header_json({event: params or {}})}


def toast_headers(message: str, *, after: Literal["receive", "settle", "swap"] = "receive") -> dict[str, str]:
    """A short confirmation shown by ``static/js/app.js`` (the ``toast`` event)."""
    return trigger("toast", {"message": str(message)}, after=after)


def content_disposition(filename: str, kind: Literal["attachment", "inline"] = "attachment") -> str:
    """``Content-Disposition`` for any file name: an ASCII fallback plus the UTF-8 name (RFC 6266 / 5987)."""
    name = "".join(ch for ch in filename if ch.isprintable() and ch not in "\\/")[:200] or "download"
    plain = re.sub(r"_+", "_", "".join(_ascii_char(ch) for ch in name)).strip() or "download"
    if plain == name:
        return f'{kind}; filename="{plain}"'
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii_char(ch: str) -> str:
    """``é`` → ``e``, ``№`` → ``No``; a letter with no ASCII form (Cyrillic) → ``_``."""
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
    return plain if plain and all(c.isalnum() or c in "._- " for c in plain) else "_"


def hx_redirect(to: str) -> Response[None]:
    """``HX-Redirect`` to ``to`` (status 200, as htmx requires), the URL percent-encoded to ASCII."""
    return Response(content=None, status_code=200, headers={"HX-Redirect": url_quote(to)})


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
    headers = {**VARY, **(toast_headers(toast) if toast and wants_fragment(request) else {})}
    return Template(
        template_name=template,
        context={**base_context(request), **(context or {})},
        status_code=status_code,
        headers=headers,
    )


def redirect(request: Request[Any, Any, Any] | HTMXRequest, to: str) -> Redirect | Response[None]:
    """PRG after a successful form: 303 for plain requests, ``HX-Redirect`` for htmx ones."""
    if wants_fragment(request):
        return hx_redirect(to)
    return Redirect(path=to, status_code=303)


def speak_order_language(request: Request[Any, Any, Any], order_locale: str | None) -> str:
    """An order's pages (status, payment, invoice) speak the language it was placed in, whatever the
    browser or the staff member speaks; ``?lang=`` still overrides for that page."""
    locale = normalize(request.query_params.get("lang")) or normalize(order_locale) or get_locale()
    request.scope["state"]["locale"] = locale
    set_locale(locale)
    return locale


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site relative paths may be redirect targets."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
