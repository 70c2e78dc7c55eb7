"""Composition root: the only module that imports every layer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from asyncpg import InterfaceError
from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import jobs, metrics
from app.controllers import ROUTE_HANDLERS, shop
from app.controllers._htmx import base_context, hx_redirect, wants_fragment
from app.errors import AppError
from app.i18n import gettext as _
from app.i18n import set_locale
from app.services import health
from app.settings import Settings, get_settings
from app.tenancy import runtime as tenancy
from app.tenancy.middleware import SLUG, TenantMiddleware, slug_from_path
from app.tenancy.pools import PoolsExhausted
from app.web import guard
from app.web.clients import ForwardedMiddleware, parse_networks
from app.web.guard import InputGuardMiddleware
from app.web.middleware import LocaleMiddleware, SecurityHeadersMiddleware, resolve_locale
from app.web.observe import ObserveMiddleware
from app.web.privacy import PrivacyMiddleware
from app.web.sessions import RotatingSessionConfig
from app.web.stores import PostgresStore
from app.web.templating import build_environment

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Litestar matches these as regular expressions anywhere in the path: anchor every one.
PUBLIC_PREFIXES = ["^/hooks/", "^/api/v1/", "^/f/", "^/healthz$", "^/readyz$", "^/metrics$"]


def _error_page(
    request: Request[Any, Any, Any], status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    if wants_json(request):
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        return Response(problem, status_code=status, headers=headers, media_type="application/problem+json")
    context = {**base_context(request), "status": status, "title": title, "detail": detail}
    template = "errors/error.html"
    if request.url.path.startswith("/f/") and context["tenant"] is not None:
        # A shopper lost on a store's form or order link: their language, and the way back to that store.
        template = "errors/shop.html"
        context.update(shop.error_context(request))
    elif request.url.path.startswith("/f/"):
        context["home_url"] = _shop_home_guess(request)
    return Template(template_name=template, context=context, status_code=status, headers=headers)


def _shop_home_guess(request: Request[Any, Any, Any]) -> str | None:
    """No route matched under ``/f/{slug}/`` (so no store was looked up): try that store's form page."""
    slug = slug_from_path(request.url.path)
    if not slug or not SLUG.fullmatch(slug) or request.url.path.rstrip("/") == f"/f/{slug}":
        return None
    return f"/f/{slug}/?lang={request.scope['state'].get('locale', '')}"


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """A JSON client (it asks for JSON, or sent JSON) gets problem JSON instead of an HTML page."""
    accept = request.headers.get("accept", "")
    sent = request.headers.get("content-type", "")
    return ("json" in accept and "text/html" not in accept) or sent.split(";", 1)[0].strip().endswith("json")


def _ensure_locale(request: Request[Any, Any, Any]) -> None:
    """Errors raised before the locale middleware ran (a paused store) still speak the user's language."""
    if "locale" not in request.scope["state"]:
        locale = resolve_locale(request.scope)
        request.scope["state"]["locale"] = locale
        set_locale(locale)


def _messages(status: int) -> tuple[str, str]:
    return {
        400: (_("The request was refused"), _("Check what was sent and try again.")),
        403: (_("Access denied"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("The page does not exist, or you have no access to it.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        410: (_("No longer available"), _("This page is no longer available.")),
        413: (
            _("The file is too large"),
            _("Upload at most 100 MB at a time, or import the file from the command line."),
        ),
        415: (_("Send the form as the page does"), _("This address takes only the data of its own form.")),
        503: (_("Temporarily unavailable"), _("This store is temporarily unavailable. Try again in a minute.")),
    }.get(status, (_("Something went wrong"), _("We could not complete the request. Try again later.")))


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException):
        target = "/login?" + urlencode({"next": request.url.path})
        if wants_fragment(request):
            return hx_redirect(target)
        return Redirect(path=target, status_code=303)
    _ensure_locale(request)
    status = exc.status_code
    if status == 403 and "csrf" in str(exc.detail).lower():
        return _error_page(request, 403, _("The form has expired"), _("Reload the page and send the form again."))
    title, detail = _messages(status)
    return _error_page(request, status, title, detail, exc.headers)


def app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    title, _detail = _messages(exc.status_code)
    return _error_page(request, exc.status_code, title, exc.message)


def database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The store's database server is down, restarting, or the store is locked by a move: 503, and the
    next request re-reads where the store lives."""
    tenant = request.scope["state"].get("tenant")
    if tenant is not None:
        tenancy.store_unreachable(tenant)
    logger.warning("store database unavailable: %s", type(exc).__name__)
    return _unavailable_page(request)


def pools_busy(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every connection this process may hold to the store's server is busy, and stayed busy for the
    whole wait: 503, so the client retries instead of piling up."""
    logger.warning("no database connection free: %s", exc)
    return _unavailable_page(request)


def _unavailable_page(request: Request[Any, Any, Any]) -> Response[Any]:
    _ensure_locale(request)
    title, detail = _messages(503)
    return _error_page(request, 503, title, detail, {"Retry-After": "5"})


def interface_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if tenancy.connection_lost(exc):
        return database_down(request, exc)
    return server_error(request, exc)


def broken_text(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Bytes that are not UTF-8 in a part the guard could not read first (a large upload's text field)."""
    _ensure_locale(request)
    return app_error(request, guard.refusal())


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error", exc_info=exc)
    title, detail = _messages(500)
    return _error_page(request, 500, title, detail)


METRICS_EVERY = 5.0


async def _publish_pool_metrics() -> None:
    """Every few seconds: this process's pool figures into its gauges (summed over workers at scrape)."""
    while True:
        with contextlib.suppress(RuntimeError):
            metrics.record_pools(health.pool_figures())
        await asyncio.sleep(METRICS_EVERY)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def tenancy_lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = await tenancy.start(settings)
        try:
            async with jobs.opened(runtime.primary_dsn, settings):
                worker = asyncio.create_task(jobs.run_worker()) if settings.inprocess_worker else None
                publisher = asyncio.create_task(_publish_pool_metrics())
                try:
                    yield
                finally:
                    for task in (publisher, worker):
                        if task is not None:
                            task.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await task
        finally:
            await tenancy.stop()

    sessions = RotatingSessionConfig(
        store="sessions", secure=settings.cookie_secure, samesite="lax", httponly=True, max_age=14 * 24 * 3600
    )
    app = Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
        ],
        plugins=[HTMXPlugin()],
        middleware=[
            ForwardedMiddleware(parse_networks(settings.trusted_proxies)),
            PrivacyMiddleware(always_secure=settings.cookie_secure or settings.public_url.startswith("https://")),
            SecurityHeadersMiddleware(),
            TenantMiddleware(),
            LocaleMiddleware(),
            InputGuardMiddleware(),
            sessions.middleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.cookie_secure,
            cookie_samesite="lax",
            exclude=PUBLIC_PREFIXES,
        ),
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(build_environment())),
        stores={"sessions": PostgresStore("sessions")},
        exception_handlers={
            HTTPException: http_error,
            AppError: app_error,
            **dict.fromkeys(tenancy.UNAVAILABLE_ERRORS, database_down),
            PoolsExhausted: pools_busy,
            InterfaceError: interface_error,
            UnicodeDecodeError: broken_text,
            Exception: server_error,
        },
        lifespan=[tenancy_lifespan],
        openapi_config=None,  # no /schema until the API issue gives it content
        state=State({"settings": settings, "session_config": sessions}),
        debug=settings.debug,
        logging_config=None,  # the process's logging is app.logs (set up by the CLI), not Litestar's
    )
    # Outside Litestar's own handler, so unmatched paths and error pages get a request id and a log line.
    app.asgi_handler = ObserveMiddleware(app.asgi_handler)
    return app
