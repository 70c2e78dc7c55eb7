"""The walker itself: builds each route's URL from the table, sends requests as a role in a language, and
records every answer that breaks a rule (a 5xx, the wrong language, a refusal that changed something)."""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.http.walker import forms
from tests.http.walker.state import StoreState, changed
from tests.http.walker.table import ENTRIES, PARAMS, Entry

LOCALES = ("ru", "uk", "en")
CYRILLIC = re.compile(r"[а-яёіїєґ]", re.IGNORECASE)
# Letters one of the two languages has and the other has not.
ONLY = {"ru": re.compile(r"[ыэъё]", re.IGNORECASE), "uk": re.compile(r"[іїєґ]", re.IGNORECASE)}


def json_texts(response: httpx.Response) -> list[str]:
    """The human parts of a JSON error (problem+json's title and detail, or any message/error string)."""
    try:
        body = response.json()
    except ValueError:
        return [response.text]
    if not isinstance(body, dict):
        return [response.text]
    return [v for k, v in body.items() if k in ("title", "detail", "message", "error") and isinstance(v, str)]


def speaks(text: str, locale: str) -> bool:
    """Whether a message reads as ``locale``: Cyrillic for ru and uk (without the other's letters), none for en."""
    if not re.search(r"[^\W\d_]{3}", text):
        return True  # nothing to read: a number, a code
    if locale == "en":
        return not CYRILLIC.search(text)
    other = "uk" if locale == "ru" else "ru"
    return bool(CYRILLIC.search(text)) and not ONLY[other].search(text)
# Answers to machines, not people: a gateway, a monitor, an asset.
UNSPOKEN = ("/hooks/", "/healthz", "/readyz", "/metrics", "/static/", "/embed.js", "/schema")
# Documents handed to the shopper speak the order's language, whoever prints them (tests/http/test_shopper_language.py);
# only their refusals speak the request's.
ORDER_DOCUMENT = re.compile(r"^/s/[^/]+/orders/\d+/invoice(\?|$)")


class ServerErrors(logging.Handler):
    """Keeps the exception behind the latest 500 (asgi.server_error logs it), so a failure names its cause."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.record: logging.LogRecord | None = None
        logging.getLogger("app.asgi").addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.record = record

    def last(self) -> str:
        record, self.record = self.record, None
        if record is None or not record.exc_info or record.exc_info[1] is None:
            return ""
        exc = record.exc_info[1]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/app/" in f.filename]
        where = f" at {frames[-1].filename.split('/app/', 1)[1]}:{frames[-1].lineno}" if frames else ""
        return f"[{type(exc).__name__}: {str(exc)[:160]}{where}]"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the route table spells it: /s/{slug:str}/orders/{order_id:int}
    name: str | None
    permission: str | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def entry(self) -> Entry:
        return ENTRIES[self.key]

    def params(self) -> list[tuple[str, str]]:
        return re.findall(r"\{(\w+):(\w+)\}", self.path)


def routes_of(app: Any) -> list[Route]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", set()) - {"HEAD", "OPTIONS"}):
                found.append(Route(method, route.path, handler.name, handler.opt.get("permission")))
    return found


def missing_entries(app: Any) -> list[str]:
    return sorted(route.key for route in routes_of(app) if route.key not in ENTRIES)


@dataclass
class Walker:
    state: StoreState
    slug: str
    clients: dict[str, httpx.AsyncClient]  # role -> a logged-in session; "anonymous" has none
    known: dict[str, str]  # literal values PARAMS name with "="
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    refused_valid: list[str] = field(default_factory=list)
    kept: dict | None = None
    signer: Any = None  # fields -> (body, headers) of a correctly signed gateway notification
    page_status: str = ""  # the latest form page fetched, for the report
    errors: ServerErrors = field(default_factory=lambda: ServerErrors())

    async def value(self, key: str) -> str:
        spec = PARAMS.get(key, key)
        if spec.startswith("="):
            literal = spec[1:]
            return self.known.get(literal, literal)
        found = await self.state.value(spec)
        return "999999" if found is None else str(found)

    async def url(self, route: Route, template: str | None = None, override: dict[str, str] | None = None) -> str:
        """``template`` (an entry's page, or the route's own path) with every parameter filled."""
        template = template or route.path
        values = {"slug": self.slug, **(override or {})}
        for name in set(re.findall(r"\{(\w+)(?::\w+)?\}", template)) - set(values):
            values[name] = await self.value(route.entry.params.get(name, name))
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], template)

    def fail(self, what: str, response: httpx.Response | None, note: str) -> None:
        tail = "" if response is None else f" -> {response.status_code} {response.text[-300:]!r}"
        self.failures.append(f"{what}: {note}{tail}")

    async def send(
        self, role: str, method: str, url: str, *, locale: str, htmx: bool, what: str = "", **kwargs: Any
    ) -> httpx.Response:
        client = self.clients[role]
        if method == "GET" or not what.startswith("hostile"):
            self.kept = None  # only a run of refused POSTs leaves the store as the last snapshot saw it
        if url.startswith("/f/"):  # shoppers choose their language with ?lang (a form's action may carry one)
            base, _q, query = url.partition("?")
            kept = [pair for pair in query.split("&") if pair and not pair.startswith("lang=")]
            url = f"{base}?{'&'.join([*kept, f'lang={locale}'])}"
        client.cookies.set("lang", locale)
        headers = {"Accept-Language": locale, **kwargs.pop("headers", {})}
        if htmx:
            headers["HX-Request"] = "true"
        if method == "POST":
            headers.setdefault("x-csrftoken", client.cookies.get("csrftoken") or "")
        self.requests += 1
        response = await client.request(method, url, headers=headers, **kwargs)
        label = f"{role} {locale} {'htmx' if htmx else 'plain'} {method} {url[:160]} {what}".rstrip()
        if response.status_code >= 500:
            self.fail(label, response, f"server error {self.errors.last()}")
        elif not url.startswith(UNSPOKEN) and not (response.status_code < 400 and ORDER_DOCUMENT.match(url)):
            self.check_language(label, response, locale)
        return response

    def check_language(self, label: str, response: httpx.Response, locale: str) -> None:
        kind = response.headers.get("content-type", "")
        if response.status_code in range(300, 400) or not response.content:
            return
        spoken = response.headers.get("content-language")
        if spoken is not None and spoken != locale:
            self.fail(label, None, f"Content-Language {spoken!r}, not {locale!r}")
        if "html" not in kind and "json" not in kind:
            return
        text = response.text
        lang = forms.html_lang(text) if "html" in kind else None
        if lang is not None and lang != locale:
            self.fail(label, None, f'<html lang="{lang}">, not {locale!r}')
        if response.status_code >= 400:
            if spoken is None and lang is None and "json" not in kind:  # JSON: its message is checked below
                self.fail(label, response, "an error with neither <html lang> nor Content-Language")
            said = forms.error_texts(text) if "html" in kind else json_texts(response)
            wrong = [t for t in said if not speaks(t, locale)]
            if wrong:
                self.fail(label, None, f"errors not in {locale!r}: {wrong[:3]}")

    async def refused_changes_nothing(
        self, route: Route, role: str, url: str, *, locale: str, htmx: bool, what: str, **kwargs: Any
    ) -> httpx.Response:
        """A POST with a state check around it: a refusal (4xx or 5xx) leaves every row as it was."""
        before = self.kept or await self.state.snapshot()
        self.kept = None
        response = await self.send(role, "POST", url, locale=locale, htmx=htmx, what=what, **kwargs)
        if response.status_code >= 400:
            after = await self.state.snapshot()
            diff = changed(before, after, route.entry.changes)
            if diff:
                self.fail(f"{role} {locale} POST {url} {what}", response, f"refused, yet changed {diff}")
            else:
                self.kept = after  # the next refused POST in a row starts from here, saving a snapshot
        return response
