"""The audit log: order, settings and staff changes recorded with who/when/before/after in the change's own
transaction, searchable by actor, entity, text and date; one store's log is invisible to another."""

from __future__ import annotations

import pytest

from app.errors import Conflict
from app.services import orders
from app.tables.audit import AuditEntry
from app.tenancy import runtime as tenancy
from tests.clock import store_day
from tests.conftest import csrf, login, make_store
from tests.factories import add_member, place_order

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("audit-shop", locale="en")


async def entries(store, **where) -> list[dict]:
    async with tenancy.bind_tenant(store.tenant):
        query = AuditEntry.select().output(load_json=True)
        for key, value in where.items():
            query = query.where(getattr(AuditEntry, key) == value)
        return await query.order_by(AuditEntry.id)


async def test_changes_are_recorded_and_searchable(client, shop) -> None:
    order = await place_order(shop, name="Audited Anna")
    await login(client, shop.email)
    base = f"/s/{shop.slug}"
    token = {"_csrf_token": csrf(client)}
    assert (
        await client.post(f"{base}/orders/{order['id']}/status", data={**token, "status": "approval"})
    ).status_code == 303
    edit = {**token, "customer_name": "Anna Audited", "phone": "", "email": "", "delivery_address": "", "comment": "x"}
    assert (await client.post(f"{base}/orders/{order['id']}/edit", data=edit)).status_code == 303
    store = {**token, "name": "Audit Shop Renamed", "locale": "en", "currency": "RUB", "country": "RU"}
    assert (await client.post(f"{base}/settings/store", data=store)).status_code in (200, 303)
    assert (await client.post(f"{base}/staff/distribution", data={**token, "mode": "round_robin"})).status_code == 303

    [status] = await entries(shop, entity="order", action="status")
    assert status["actor_id"] == shop.identity_id and status["actor"] == shop.email
    assert (status["before"], status["after"]) == ({"status": "new"}, {"status": "approval"})
    [edited] = await entries(shop, entity="order", action="edit")
    assert edited["after"]["customer_name"] == "Anna Audited" and edited["before"]["customer_name"] == "Audited Anna"
    settings = await entries(shop, entity="settings")
    assert {e["entity_id"] for e in settings} >= {"store", "distribution"}
    renamed = next(e for e in settings if e["entity_id"] == "store")
    assert renamed["after"] == {"name": "Audit Shop Renamed"}  # only what changed

    page = await client.get(f"{base}/staff/audit")
    assert page.status_code == 200 and page.text.count('data-testid="audit-row"') >= 4
    by_number = await client.get(f"{base}/staff/audit?q={order['number']}", headers={"HX-Request": "true"})
    assert by_number.text.lstrip().startswith('<section id="audit-table"')
    assert by_number.text.count('data-testid="audit-row"') == 2
    by_entity = await client.get(f"{base}/staff/audit?entity=settings")
    assert by_entity.text.count('data-testid="audit-row"') == len(settings)
    by_text = await client.get(f"{base}/staff/audit?q=Renamed")
    assert by_text.text.count('data-testid="audit-row"') == 1
    by_actor = await client.get(f"{base}/staff/audit?actor={shop.identity_id}")
    assert by_actor.text.count('data-testid="audit-row"') >= 4
    nobody = await client.get(f"{base}/staff/audit?actor=999999")
    assert 'data-testid="audit-empty"' in nobody.text
    # The filter's days are the store's (Moscow), whatever the UTC date is: today is today there.
    today, tomorrow = store_day(0).isoformat(), store_day(-1).isoformat()
    future = await client.get(f"{base}/staff/audit?from={tomorrow}")
    assert 'data-testid="audit-empty"' in future.text
    on_today = await client.get(f"{base}/staff/audit?from={today}&to={today}")
    assert on_today.text.count('data-testid="audit-row"') >= 4
    junk = await client.get(f"{base}/staff/audit?from=yesterday&entity=<script>&actor=abc&page=-5")
    assert junk.status_code == 200 and "<script>" not in junk.text.split("<main")[1]


async def test_customer_changes_are_recorded(client, shop) -> None:
    order = await place_order(shop, name="Carl Customer")
    await login(client, shop.email)
    url = f"/s/{shop.slug}/customers/{order['customer']}"
    data = {"_csrf_token": csrf(client), "name": "Carl Renamed", "phone": order["phone"], "email": "", "city": "Riga"}
    assert (await client.post(f"{url}/contacts", data=data)).status_code in (200, 303)
    assert (await client.post(f"{url}/tags", data={"_csrf_token": csrf(client), "tags": "vip"})).status_code == 303
    changes = await entries(shop, entity="customer", entity_id=str(order["customer"]))
    assert [c["action"] for c in changes] == ["update", "tags"]
    assert changes[0]["after"] == {"name": "Carl Renamed", "city": "Riga"}
    assert changes[0]["actor_id"] == shop.identity_id
    page = await client.get(f"/s/{shop.slug}/staff/audit?entity=customer&q=Carl")
    assert page.text.count('data-testid="audit-row"') == 2 and shop.email in page.text


async def test_staff_changes_are_recorded(client, shop) -> None:
    manager_id, manager_email = await add_member(shop, "manager")
    await login(client, shop.email)
    form = {"_csrf_token": csrf(client), "role": "operator", "scope": "own", "active": "1", "on_shift": "1"}
    assert (await client.post(f"/s/{shop.slug}/staff/members/{manager_id}", data=form)).status_code == 303
    changes = await entries(shop, entity="staff", entity_id=str(manager_id), action="update")
    assert changes[-1]["before"] == {"role": "manager", "scope": "all"}
    assert changes[-1]["after"] == {"role": "operator", "scope": "own"}
    invited = await entries(shop, entity="staff", action="invite", entity_id=manager_email)
    assert invited and invited[0]["after"]["role"] == "manager"


async def test_a_refused_change_leaves_no_audit_entry(shop) -> None:
    order = await place_order(shop)
    async with tenancy.bind_tenant(shop.tenant):
        await orders.change_status(order["id"], "cancelled", actor_id=None, actor="test")
        before = await AuditEntry.count()
        edit = orders.OrderEdit("New Name", None, None, "", "", 0, {})
        with pytest.raises(Conflict):
            await orders.update_order(order["id"], edit, actor_id=None, actor="test")
        assert await AuditEntry.count() == before


async def test_store_b_cannot_read_store_a_audit_log(client, shop, store_b) -> None:
    await login(client, store_b.email)
    assert (await client.get(f"/s/{shop.slug}/staff/audit")).status_code == 404
    own = await client.get(f"/s/{store_b.slug}/staff/audit?q=Audit+Shop")
    assert own.status_code == 200 and 'data-testid="audit-empty"' in own.text


@pytest.mark.parametrize(("lang", "heading", "verb"), [("ru", "Изменения", "Изменить"), ("uk", "Зміни", "Змінити")])
async def test_the_change_column_is_headed_with_a_noun_in_ru_and_uk(client, shop, lang, heading, verb) -> None:
    order = await place_order(shop)
    async with tenancy.bind_tenant(shop.tenant):
        await orders.change_status(order["id"], "approval", actor_id=None, actor="test")
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/staff/audit?lang={lang}")
    head = page.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert f">{heading}</th>" in head and verb not in head
