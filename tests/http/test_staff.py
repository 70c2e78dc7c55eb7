"""Staff over HTTP: every staff route × every role against the permission matrix, record scope, invitations,
roles and deactivation, and store isolation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.services import permissions, staff
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.factories import add_member, assign, place_order

pytestmark = pytest.mark.http

PUBLIC_ROUTES = {"staff:join", "staff:accept"}


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("staff-shop", locale="en")
    people = {"owner": (store.identity_id, store.email)}
    for role in ("admin", "manager", "operator", "analyst"):
        people[role] = await add_member(store, role)
    return store, people


def staff_routes(app) -> list[tuple[str, str, str, str | None]]:
    """(method, path template, route name, declared permission) of every handler the app mounts under /s/{slug}."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/s/{slug"):
            continue
        for handler in route.route_handlers:  # type: ignore[union-attr]
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, handler.name, handler.opt.get("permission")))
    return found


def test_every_staff_route_declares_a_known_permission(app) -> None:
    routes = staff_routes(app)
    assert len(routes) > 30
    undeclared = [(path, name) for _m, path, name, permission in routes if permission is None]
    assert not undeclared, f"routes without opt={{'permission': ...}}: {undeclared}"
    unknown = [(name, p) for _m, _p, name, p in routes if p not in permissions.PERMISSIONS and p != permissions.PUBLIC]
    assert not unknown, f"permissions missing from the matrix: {unknown}"
    public = {name for _m, _p, name, p in routes if p == permissions.PUBLIC}
    assert public == PUBLIC_ROUTES


def test_an_undeclared_permission_is_the_owners_alone() -> None:
    assert permissions.allows("owner", None)
    for role in ("admin", "manager", "operator", "analyst"):
        assert not permissions.allows(role, None)
        assert not permissions.allows(role, "made.up")


def concrete(path: str, slug: str, order_id: int) -> str:
    values = {"slug": slug, "order_id": str(order_id), "code": "no-such-code", "token": "x"}
    return re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m.group(1), "999999"), path)


@asynccontextmanager
async def client_for(app, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A separate browser session logged in as ``email``."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        await login(client, email)
        yield client


async def test_every_staff_route_with_every_role_follows_the_matrix(app, shop) -> None:
    store, people = shop
    order = await place_order(store)
    checked = 0
    for role, (_identity, email) in people.items():
        async with client_for(app, email) as client:
            for method, path, name, permission in staff_routes(app):
                if permission == permissions.PUBLIC:
                    continue
                url = concrete(path, store.slug, order["id"])
                if method == "GET":
                    response = await client.get(url)
                else:
                    response = await client.post(url, data={"_csrf_token": csrf(client)})
                allowed = permissions.allows(role, permission)
                if allowed:
                    assert response.status_code != 403, (role, name, response.status_code)
                    assert response.status_code < 500, (role, name, response.text[-300:])
                else:
                    assert response.status_code == 403, (role, name, response.status_code)
                checked += 1
            # The sidebar offers only what the role may open.
            home = await client.get(f"/s/{store.slug}/orders/")
            nav = set(re.findall(r'data-testid="nav-([a-z_]+:[a-z_]+)"', home.text))
            assert ("staff:list" in nav) == permissions.allows(role, "staff.view")
            assert ("settings:index" in nav) == permissions.allows(role, "settings.view")
            assert ("imports:list" in nav) == permissions.allows(role, "imports.run")
            assert ("staff:audit" in nav) == permissions.allows(role, "audit.view")
    assert checked >= 5 * 30


async def test_owner_reads_the_permission_matrix(client, shop) -> None:
    store, _people = shop
    await login(client, store.email)
    page = await client.get(f"/s/{store.slug}/staff/")
    assert page.status_code == 200
    for name in permissions.PERMISSIONS:
        assert f'data-testid="perm-{name}"' in page.text
    assert 'data-testid="invite-form"' in page.text and 'data-testid="distribution-form"' in page.text


async def test_a_manager_sees_staff_but_no_management_buttons(app, shop) -> None:
    store, people = shop
    async with client_for(app, people["manager"][1]) as client:
        page = await client.get(f"/s/{store.slug}/staff/")
        assert page.status_code == 200
        assert 'data-testid="invite-form"' not in page.text and "edit-member-" not in page.text
        assert 'data-testid="shift-form"' in page.text
        order = await place_order(store)
        card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
        assert 'data-testid="assign-form"' not in card.text  # orders.assign is not a manager's


async def test_own_scope_manager_never_sees_another_managers_order(app, shop) -> None:
    store, _people = shop
    mine_id, mine_email = await add_member(store, "manager", scope="own")
    other_id, _ = await add_member(store, "manager", scope="own")
    _all_id, all_email = await add_member(store, "manager", scope="all")
    mine = await place_order(store, name="Mine Customer")
    theirs = await place_order(store, name="Their Customer")
    await assign(store, mine["id"], mine_id)
    await assign(store, theirs["id"], other_id)
    async with client_for(app, mine_email) as client:
        base = f"/s/{store.slug}/orders"
        listing = await client.get(f"{base}/")
        assert mine["number"] in listing.text and theirs["number"] not in listing.text
        board = await client.get(f"{base}/?view=board")
        assert f'/orders/{mine["id"]}"' in board.text and f'/orders/{theirs["id"]}"' not in board.text
        search = await client.get(f"{base}/?q={theirs['number']}")
        assert 'data-testid="order-row"' not in search.text
        search = await client.get(f"{base}/?q=Their+Customer", headers={"HX-Request": "true"})
        assert 'data-testid="order-row"' not in search.text
        assert (await client.get(f"{base}/{theirs['id']}")).status_code == 404
        assert (await client.get(f"{base}/{theirs['id']}/invoice")).status_code == 404
        token = {"_csrf_token": csrf(client)}
        moved = await client.post(f"{base}/{theirs['id']}/status", data={**token, "status": "cancelled"})
        assert moved.status_code == 404
        assert (await client.post(f"{base}/{theirs['id']}/edit", data=token)).status_code == 404
        assert (await client.get(f"{base}/{mine['id']}")).status_code == 200
        # The customer card and its timeline do not show another manager's order either.
        customer = await client.get(f"/s/{store.slug}/customers/{theirs['customer']}")
        assert customer.status_code == 200 and theirs["number"] not in customer.text
        timeline = await client.get(f"/s/{store.slug}/customers/{theirs['customer']}?kind=order_placed")
        assert theirs["number"] not in timeline.text
    async with client_for(app, all_email) as client:
        listing = await client.get(f"/s/{store.slug}/orders/")
        assert mine["number"] in listing.text and theirs["number"] in listing.text
        customer = await client.get(f"/s/{store.slug}/customers/{theirs['customer']}")
        assert theirs["number"] in customer.text  # the same card shows it to a manager who sees all
        timeline = await client.get(f"/s/{store.slug}/customers/{theirs['customer']}?kind=order_placed")
        assert theirs["number"] in timeline.text


async def test_owner_hands_an_order_to_a_manager_and_history_names_them(client, shop) -> None:
    store, people = shop
    order = await place_order(store)
    await login(client, store.email)
    url = f"/s/{store.slug}/orders/{order['id']}"
    manager_id = people["manager"][0]
    done = await client.post(f"{url}/manager", data={"_csrf_token": csrf(client), "manager": str(manager_id)})
    assert done.status_code == 303
    card = await client.get(url)
    assert "Manager " in card.text.split('data-testid="order-manager"')[1][:80]
    bad = await client.post(f"{url}/manager", data={"_csrf_token": csrf(client), "manager": "abc"})
    assert bad.status_code == 422 and 'data-testid="error-manager"' in bad.text
    stranger = await client.post(f"{url}/manager", data={"_csrf_token": csrf(client), "manager": "999999"})
    assert stranger.status_code == 422


async def test_role_rules_admins_and_the_last_owner(app, client, shop) -> None:
    store, people = shop
    admin_id, admin_email = people["admin"]
    manager_id, _ = people["manager"]
    await login(client, store.email)
    form = {"_csrf_token": csrf(client), "role": "manager", "scope": "all", "active": "1", "on_shift": "1"}
    last_owner = await client.post(f"/s/{store.slug}/staff/members/{store.identity_id}", data=form)
    assert last_owner.status_code == 422 and 'data-testid="error-role"' in last_owner.text
    deactivate_self = await client.post(
        f"/s/{store.slug}/staff/members/{store.identity_id}", data={**form, "role": "owner", "active": ""}
    )
    assert deactivate_self.status_code == 422
    async with client_for(app, admin_email) as admin:
        data = {"_csrf_token": csrf(admin), "role": "admin", "scope": "all", "active": "1"}
        promote = await admin.post(f"/s/{store.slug}/staff/members/{manager_id}", data=data)
        assert promote.status_code == 422 and 'data-testid="error-role"' in promote.text
        touch_owner = await admin.post(
            f"/s/{store.slug}/staff/members/{store.identity_id}", data={**data, "role": "owner"}
        )
        assert touch_owner.status_code == 422
        invite_admin = await admin.post(
            f"/s/{store.slug}/staff/invitations",
            data={"_csrf_token": csrf(admin), "email": "boss@example.com", "role": "admin", "scope": "all"},
        )
        assert invite_admin.status_code == 422 and 'data-testid="error-role"' in invite_admin.text
    bad = await client.post(f"/s/{store.slug}/staff/members/{manager_id}", data={**form, "role": "emperor"})
    assert bad.status_code == 422 and 'data-testid="error-role"' in bad.text
    assert (await client.post(f"/s/{store.slug}/staff/members/{admin_id}", data=form)).status_code == 303


async def test_deactivated_member_is_refused_but_keeps_their_name_on_orders(app, client, shop) -> None:
    store, _people = shop
    leaver_id, leaver_email = await add_member(store, "manager", name="Leaving Larry")
    order = await place_order(store)
    await assign(store, order["id"], leaver_id)
    async with client_for(app, leaver_email) as leaver:
        assert (await leaver.get(f"/s/{store.slug}/orders/")).status_code == 200
        await login(client, store.email)
        form = {"_csrf_token": csrf(client), "role": "manager", "scope": "all", "on_shift": "1"}  # no "active"
        assert (await client.post(f"/s/{store.slug}/staff/members/{leaver_id}", data=form)).status_code == 303
        assert (await leaver.get(f"/s/{store.slug}/orders/")).status_code == 404
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
    assert "Leaving Larry" in card.text
    page = await client.get(f"/s/{store.slug}/staff/")
    assert 'data-testid="member-inactive"' in page.text
    # A login as that person still works, but the store is not theirs any more.
    async with client_for(app, leaver_email) as again:
        assert (await again.get(f"/s/{store.slug}/")).status_code == 404


async def test_staff_of_store_a_cannot_reach_store_b(app, shop, store_b) -> None:
    _store, people = shop
    async with client_for(app, people["admin"][1]) as admin:
        for url in ("/staff/", "/staff/audit", "/orders/"):
            assert (await admin.get(f"/s/{store_b.slug}{url}")).status_code == 404
        token = csrf(admin)
        data = {"_csrf_token": token, "role": "manager", "scope": "all", "active": "1"}
        changed = await admin.post(f"/s/{store_b.slug}/staff/members/{store_b.identity_id}", data=data)
        assert changed.status_code == 404
        invite = {"_csrf_token": token, "email": "x@example.com", "role": "manager", "scope": "all"}
        assert (await admin.post(f"/s/{store_b.slug}/staff/invitations", data=invite)).status_code == 404
    async with tenancy.bind_tenant(store_b.tenant):
        assert [m.email for m in await staff.members()] == [store_b.email]
