"""The route walker: every route of the app's own route table, as every role, in ru, uk and en, over htmx and
plain requests, first with the page's own form filled with valid values, then with hostile ones. No answer
is a 5xx, errors speak the request's language, and a refused POST changes no row of the store."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from litestar import get
from litestar.params import FromPath

from app.asgi import create_app
from app.forms.staff import InviteData
from app.gateways.base import PaymentStatus
from app.gateways.sandbox import SIGNATURE_HEADER, SandboxGateway, sign
from app.services import invitations, orders, payments, staff
from app.services.imports import orders_uploads
from app.tenancy import runtime as tenancy
from tests.conftest import login
from tests.factories import SECRET, add_member, place_order
from tests.http.test_shop import seeded_store
from tests.http.walker.phases import ROLES, main_role, walk_get, walk_post
from tests.http.walker.runner import Walker, missing_entries, routes_of
from tests.http.walker.state import StoreState
from tests.http.walker.table import ENTRIES, ORDERS_CSV

pytestmark = pytest.mark.http

KEYS = payments.Keys(SECRET, "http://127.0.0.1:8000")
HOOK_SECRET = "walker-sandbox-secret-0123"


def test_every_route_has_an_entry(app) -> None:
    assert len(routes_of(app)) > 100
    assert missing_entries(app) == [], "add these routes to tests/http/walker/table.py"


def test_a_route_without_an_entry_is_reported(settings) -> None:
    @get("/walker-probe/{thing_id:int}", name="probe:show", sync_to_thread=False)
    def probe(thing_id: FromPath[int]) -> str:
        return str(thing_id)

    app = create_app(settings)
    app.register(probe)
    assert missing_entries(app) == ["GET /walker-probe/{thing_id:int}"]


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.77", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


@pytest.fixture(scope="module")
async def walker(app, runtime, tmp_path_factory) -> AsyncIterator[Walker]:
    store = await seeded_store("walker", tmp_path_factory.mktemp("walker"))
    people = {"owner": (store.identity_id, store.email)}
    for role in ("admin", "manager", "operator", "analyst"):
        people[role] = await add_member(store, role, scope="own" if role == "manager" else "all")
    await place_order(store, name="Not the manager's")
    async with tenancy.bind_tenant(store.tenant):
        line = orders.LineDraft(None, "Чайник", "K-1", 100000, 1)  # the sandbox pays amounts ending in 00
        draft = orders.OrderDraft(lines=(line,), currency="RUB", customer_name="The manager's", phone="+79161110000")
        mine, _created = await orders.create_order(draft)
        await staff.assign_order(mine["id"], people["manager"][0], actor_id=store.identity_id)
        connection_id = await payments.connect("sandbox", {"secret": HOOK_SECRET}, keys=KEYS)
        step = await payments.start(mine["token"], connection_id, keys=KEYS)
        _row, invite_token = await invitations.invite(
            InviteData("joiner@walker.example.com", "operator", "all"),
            secret=SECRET, slug=store.slug, locale="en", actor_id=store.identity_id, actor_role="owner",
        )  # fmt: skip
        storage = app.state.settings.data_dir / "uploads"
        order_upload = orders_uploads.save(storage, [("walker.csv", ORDERS_CSV)], None)
    sandbox = SandboxGateway({"secret": HOOK_SECRET}, base_url=KEYS.public_url)
    page = sandbox.verify_page(dict(parse_qsl(urlsplit(step.url).query)))

    def signer(fields: dict) -> tuple[bytes, dict[str, str]]:
        """A notification signed as the sandbox signs it, with ``fields`` put in its JSON."""
        body, _headers = sandbox.build_notification(
            provider_payment_id=page.provider_payment_id, payment_ref=page.payment_ref, amount=page.amount,
            status=PaymentStatus.SUCCEEDED,
        )  # fmt: skip
        body = json.dumps({**json.loads(body), **fields}).encode()
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(HOOK_SECRET, body)}

    known = {
        "analyst": str(people["analyst"][0]),
        "owner_email": store.email,
        "invite_token": invite_token,
        "payable_token": mine["token"],
        "hook_connection": str(connection_id),
        "sandbox_query": urlsplit(step.url).query,
        "order_upload": order_upload,
    }
    async with AsyncExitStack() as stack:
        clients = {}
        for role in ROLES:
            clients[role] = await stack.enter_async_context(_client(app))
            if role != "anonymous":
                await login(clients[role], people[role][1])
        await clients["anonymous"].get("/login")  # a CSRF cookie, as a visitor's browser has
        yield Walker(StoreState(store.tenant), store.slug, clients, known, signer=signer)


async def test_every_route_answers_every_role_and_language_without_breaking(app, walker: Walker, request) -> None:
    started = time.monotonic()
    routes = {route.key: route for route in routes_of(app)}
    only = os.environ.get("AUTOOFFICE_WALKER_ONLY", "")  # a regular expression on "METHOD path", to walk a few
    ordered = [routes[key] for key in ENTRIES if key in routes and re.search(only, key)]
    ordered = [r for r in ordered if not r.entry.last] + [r for r in ordered if r.entry.last]
    for index, route in enumerate(ordered):
        async with _own_session(app, walker, route):
            if route.method == "GET":
                await walk_get(walker, route, index)
            else:
                await walk_post(walker, route, index)
    elapsed = time.monotonic() - started
    summary = f"route walker: {len(ordered)} routes, {walker.requests} requests in {elapsed:.0f} s"
    summary += f" ({walker.state.seconds:.0f} s of them reading the store's state)"
    print(f"\n{summary}\nvalid forms refused:\n" + "\n".join(walker.refused_valid))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # shown in `make test` too, where print is captured
        reporter.write_line(f"\n{summary}")
    assert only or walker.requests > 2000, summary
    assert not walker.failures, f"{summary}; {len(walker.failures)} failures:\n" + "\n".join(walker.failures[:80])


class _own_session:
    """Routes that end or change a session (login, logout, sign-up, joining) get a throw-away one."""

    def __init__(self, app, walker: Walker, route) -> None:
        self.app, self.walker, self.route = app, walker, route
        self.saved: httpx.AsyncClient | None = None

    async def __aenter__(self) -> None:
        if not self.route.entry.own_session:
            return
        role = main_role(self.route)
        self.saved = self.walker.clients[role]
        fresh = _client(self.app)
        if role == "anonymous":
            await fresh.get("/login")
        else:
            await login(fresh, self.walker.known.get(f"{role}_email", ""))
        self.walker.clients[role] = fresh

    async def __aexit__(self, *exc: object) -> None:
        if self.saved is not None:
            await self.walker.clients[main_role(self.route)].aclose()
            self.walker.clients[main_role(self.route)] = self.saved
