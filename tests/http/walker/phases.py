"""What the walker sends for one route: GETs as every role and in every language, then hostile query values
and ids; for a POST, the page's own form with valid values, then hostile values, broken bodies and the roles
that may not send it."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import httpx

from app.services import permissions
from tests.http.walker import forms
from tests.http.walker.runner import LOCALES, Route, Walker
from tests.http.walker.state import changed

SIGNED_FIELDS = ("amount", "payment_ref", "status", "currency", "event_id", "payment_id", "type")
ROLES = ("owner", "admin", "manager", "operator", "analyst", "anonymous")
# Query parameters the list pages read, hostile-filled alongside the fields of the page's own search form.
QUERY_NAMES = ("page", "q", "status", "sort", "from", "to", "period", "limit", "cursor", "view", "segment", "tag")


def to_login(response: httpx.Response) -> bool:
    """A visitor without a session is sent to sign in: a 303, or HX-Redirect for htmx."""
    target = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    return target.startswith("/login")


def main_role(route: Route) -> str:
    return "anonymous" if route.entry.anonymous else "owner"


def _fields_for(role_client: httpx.AsyncClient, fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    token = role_client.cookies.get("csrftoken") or ""
    body: dict[str, list[str]] = {}
    for name, value in fields:
        body.setdefault(name, []).append(token if "csrf" in name else value)
    return body


async def walk_get(w: Walker, route: Route, index: int) -> None:
    url = await w.url(route) + await _query(w, route)
    for r, role in enumerate(ROLES):
        step = index + r
        await w.send(role, "GET", url, locale=LOCALES[step % 3], htmx=step % 2 == 0)
    role = main_role(route)
    page = None
    for locale in LOCALES:
        page = await w.send(role, "GET", url, locale=locale, htmx=False)
    await w.send(role, "GET", url, locale=LOCALES[index % 3], htmx=True)
    search = forms.find_form(page.text, url, url, method="get") if page is not None else None
    names = sorted({n for n, _v in (search.fields if search else [])} - {"lang"} | set(QUERY_NAMES))
    base = url.split("?", 1)[0]
    for i, value in enumerate(forms.HOSTILE):
        # A URL holds about 64 kB: the 10 kB value goes into a few of the names, the others into all.
        query = urlencode(dict.fromkeys(names if len(value) < 1000 else names[index % 3 :: 3][:4], value))
        locale = LOCALES[(index + i) % 3]
        await w.send(role, "GET", f"{base}?{query}", locale=locale, htmx=i % 2 == 1, what="hostile query")
    await walk_ids(w, route, index, role)


async def walk_ids(w: Walker, route: Route, index: int, role: str, data: dict | None = None) -> None:
    """Ids past int64, negative and zero-padded, in each integer path parameter in turn."""
    ints = [name for name, kind in route.params() if kind == "int"]
    for k, value in enumerate(forms.HOSTILE_IDS if ints else ()):
        url = await w.url(route, override={ints[k % len(ints)]: value})
        locale, htmx = LOCALES[(index + k) % 3], k % 2 == 0
        if route.method == "GET":
            await w.send(role, "GET", url, locale=locale, htmx=htmx, what="hostile id")
        else:
            await w.refused_changes_nothing(route, role, url, locale=locale, htmx=htmx, what="hostile id", data=data)


async def _query(w: Walker, route: Route) -> str:
    query = route.entry.query
    return await w.url(route, query) if "{" in query else query


async def page_form(w: Walker, route: Route, role: str, locale: str) -> tuple[str, forms.Form | None]:
    """The URL to post to and the route's form as the page shows it to ``role``."""
    post_url = await w.url(route)
    entry = route.entry
    page_url = (await w.url(route, entry.page) if entry.page else post_url) + await _query(w, route)
    page = await w.send(role, "GET", page_url, locale=locale, htmx=False, what="(the form's page)")
    w.page_status = f"{page_url} {page.status_code}"
    form = None
    if page.status_code == 200:
        form = forms.find_form(page.text, page_url, post_url, entry.form, overrides=entry.valid)
    if form is not None and urlsplit(form.action).path.rstrip("/") == post_url.rstrip("/"):
        query = urlsplit(form.action).query
        post_url = urlsplit(form.action).path + (f"?{query}" if query else "")
    return post_url, form


def _body(w: Walker, route: Route, role: str, form: forms.Form | None, fields: list | None = None) -> dict:
    entry = route.entry
    if entry.raw is not None:
        content, headers = w.signer({}) if w.signer else (entry.raw, {"Content-Type": "application/json"})
        return {"content": content, "headers": headers}
    data = _fields_for(w.clients[role], fields if fields is not None else (form.fields if form else []))
    if not data:
        data = {"_csrf_token": [w.clients[role].cookies.get("csrftoken") or ""]}
    if entry.files or (form and form.multipart):
        plain = ("walker.txt", b"walker", "text/plain")
        files = {name: entry.files.get(name, plain) for name in (form.files if form else [])}
        files.update(entry.files)
        return {"data": data, "files": files}
    return {"data": data}


async def walk_post(w: Walker, route: Route, index: int) -> None:
    role = main_role(route)
    if route.entry.last:
        await walk_hostile(w, route, index, role)
        await walk_roles(w, route, index)
    # The valid form over htmx in each language (toasts and redirects travel in headers), then once plain.
    sends = [(locale, True) for locale in LOCALES] + [(LOCALES[index % 3], False)]
    for n, (locale, htmx) in enumerate(sends):
        url, form = await page_form(w, route, role, locale)
        response = await w.refused_changes_nothing(
            route, role, url, locale=locale, htmx=htmx, what="valid form", **_body(w, route, role, form)
        )
        if response.status_code >= 400 and n == 0:
            said = re.findall(r'data-testid="(?:form-)?error(?:-([\w-]+))?"[^>]*>([^<]*)', response.text)
            found = [n for n, _v in form.fields] if form else "none on the page"
            said = said or response.text[-200:]
            w.refused_valid.append(f"{route.key}: {response.status_code} {said!r} fields {found} ({w.page_status})")
    if not route.entry.last:
        await walk_hostile(w, route, index, role)
        await walk_roles(w, route, index)


async def walk_hostile(w: Walker, route: Route, index: int, role: str) -> None:
    url, form = await page_form(w, route, role, LOCALES[(index + 1) % 3])
    names = form.editable() if form else []
    sends = []
    if route.entry.raw is not None:
        # Unsigned garbage, then hostile values in each field of a correctly signed notification.
        sends = [{"content": v.encode(), "headers": {"Content-Type": "application/json"}} for v in forms.HOSTILE]
        for k, value in enumerate(forms.HOSTILE if w.signer else ()):
            for name in SIGNED_FIELDS[k % 2 :: 2]:
                content, headers = w.signer({name: value})
                sends.append({"content": content, "headers": headers})
    elif names:
        sends = [_body(w, route, role, form, form.with_value(names, v)) for v in forms.HOSTILE]
        sends += [
            _body(w, route, role, form, form.with_value([n], forms.HOSTILE[(index + j) % len(forms.HOSTILE)]))
            for j, n in enumerate(names)
        ]
    else:
        sends = [_body(w, route, role, form, [("_csrf_token", ""), ("value", v)]) for v in forms.HOSTILE]
    for kind, content in (forms.MALFORMED_MULTIPART, forms.WRONG_TYPE):
        sends.append({"content": content, "headers": {"Content-Type": kind}})
    if form and (form.files or route.entry.files):
        hostile_file = ("walker.bin", b"\x00\xff\xfe" + b"\x1b" * 64, "application/octet-stream")
        sends.append({"data": _fields_for(w.clients[role], form.fields),
                      "files": dict.fromkeys(form.files or route.entry.files, hostile_file)})  # fmt: skip
    for k, kwargs in enumerate(sends):
        step = index + k
        await w.refused_changes_nothing(
            route, role, url, locale=LOCALES[step % 3], htmx=step % 2 == 1, what=f"hostile #{k}", **kwargs
        )
    await walk_ids(w, route, index, role, data=_body(w, route, role, form).get("data"))


async def walk_roles(w: Walker, route: Route, index: int) -> None:
    """Every other role sends the owner's valid form: one without the permission is refused and changes nothing."""
    if route.entry.anonymous or not route.path.startswith("/s/") or route.permission == permissions.PUBLIC:
        return
    owner_url, form = await page_form(w, route, "owner", "en")
    for r, role in enumerate(ROLES[1:]):
        locale = LOCALES[(index + r) % 3]
        allowed = role != "anonymous" and permissions.allows(role, route.permission)
        if allowed and role != "manager":
            continue
        before = await w.state.snapshot()
        response = await w.send(role, "POST", owner_url, locale=locale, htmx=r % 2 == 0, what="role check",
                                **_body(w, route, role, form))  # fmt: skip
        refused = response.status_code >= 400 or to_login(response)
        if not allowed and not refused:
            w.fail(f"{role} POST {owner_url}", response, "a role without the permission was not refused")
        diff = changed(before, await w.state.snapshot(), route.entry.changes) if refused else []
        if diff:
            w.fail(f"{role} POST {owner_url}", response, f"refused, yet changed {diff}")
