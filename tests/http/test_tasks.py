"""Tasks over HTTP: create, bad input (422, translated), complete, comment, views, order card, isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.services import auth, orders
from app.tables.control import Identity, Membership
from app.tables.customers import CustomerEvent
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.conftest import PASSWORD, csrf, login, make_store

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("task-shop", locale="ru")
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),), currency="RUB", phone="+79120002211"
            )
        )
    return store, order


async def test_bad_task_input_is_refused_with_translated_errors(client, shop) -> None:
    store, _order = shop
    await client.get("/lang/ru")
    await login(client, store.email)
    response = await client.post(
        f"/s/{store.slug}/tasks/new",
        data={
            "title": "",
            "due_at": "31.02.2026 25:00",
            "assignee_id": "999999",
            "priority": "urgent!",
            "order": "NO-SUCH",
            "customer_id": "abc",
            "_csrf_token": csrf(client),
        },
    )
    assert response.status_code == 422
    for field in ("title", "due_at", "assignee_id", "priority", "order", "customer_id"):
        assert f'data-testid="error-{field}"' in response.text, field
    assert "Это поле обязательно" in response.text
    async with tenancy.bind_tenant(store.tenant):
        assert await Task.count() == 0  # nothing half-saved


async def test_owner_creates_completes_and_comments_a_task_linked_to_an_order(client, shop) -> None:
    store, order = shop
    await login(client, store.email)
    created = await client.post(
        f"/s/{store.slug}/tasks/new",
        data={
            "title": "Перезвонить клиенту",
            "description": "Уточнить адрес",
            "assignee_id": str(store.identity_id),
            "priority": "high",
            "due_at": "2020-01-02T10:00",
            "order": order["number"],
            "_csrf_token": csrf(client),
        },
    )
    assert created.status_code == 303
    url = created.headers["location"]
    card = await client.get(url)
    assert 'data-testid="task-heading">Перезвонить клиенту' in card.text
    assert 'data-testid="task-order"' in card.text
    for path in (
        "?view=mine",
        "?view=overdue",
        "?layout=board",
        "?layout=board&by=assignee",
        "?layout=calendar&month=2020-01",
    ):
        page = await client.get(f"/s/{store.slug}/tasks/{path}")
        assert page.status_code == 200 and "Перезвонить клиенту" in page.text, path
    order_card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
    assert 'data-testid="order-task"' in order_card.text and "Перезвонить клиенту" in order_card.text

    empty = await client.post(f"{url}/comments", data={"body": "  ", "_csrf_token": csrf(client)})
    assert empty.status_code == 422 and 'data-testid="error-body"' in empty.text
    said = await client.post(f"{url}/comments", data={"body": "Не отвечает", "_csrf_token": csrf(client)})
    assert said.status_code == 303
    assert "Не отвечает" in (await client.get(url)).text

    done = await client.post(f"{url}/done", data={"done": "1", "_csrf_token": csrf(client)})
    assert done.status_code == 303
    overdue = await client.get(f"/s/{store.slug}/tasks/?view=overdue")
    assert "Перезвонить клиенту" not in overdue.text
    task_id = int(url.rsplit("/", 1)[1])
    async with tenancy.bind_tenant(store.tenant):
        task = await Task.select().where(Task.id == task_id).first()
        assert task["status"] == "done" and task["customer_id"] == order["customer"]
        event = await CustomerEvent.select().where(CustomerEvent.kind == "task").output(load_json=True).first()
        assert event["customer"] == order["customer"] and event["data"]["task"] == task_id


async def test_editing_a_task_with_a_bad_date_keeps_it_unchanged(client, shop) -> None:
    store, _order = shop
    await login(client, store.email)
    created = await client.post(
        f"/s/{store.slug}/tasks/new", data={"title": "Сверить склад", "_csrf_token": csrf(client)}
    )
    url = created.headers["location"]
    bad = await client.post(
        f"{url}/edit", data={"title": "Новое", "reminder_at": "завтра", "_csrf_token": csrf(client)}
    )
    assert bad.status_code == 422 and 'data-testid="error-reminder_at"' in bad.text
    good = await client.post(
        f"{url}/edit", data={"title": "Сверить склад до обеда", "priority": "low", "_csrf_token": csrf(client)}
    )
    assert good.status_code == 303
    assert "Сверить склад до обеда" in (await client.get(url)).text


async def test_store_b_cannot_reach_store_a_tasks(client, shop, store_b) -> None:
    store, _order = shop
    async with tenancy.bind_tenant(store.tenant):
        task = await Task.select(Task.id, Task.status).first()
    await login(client, store_b.email)
    assert (await client.get(f"/s/{store.slug}/tasks/")).status_code == 404
    assert (await client.get(f"/s/{store.slug}/tasks/{task['id']}")).status_code == 404
    posted = await client.post(
        f"/s/{store.slug}/tasks/{task['id']}/done", data={"done": "0", "_csrf_token": csrf(client)}
    )
    assert posted.status_code == 404
    own = await client.get(f"/s/{store_b.slug}/tasks/{task['id']}")
    assert own.status_code == 404  # store B's database has no such task
    async with tenancy.bind_tenant(store.tenant):
        assert (await Task.select(Task.status).where(Task.id == task["id"]).first())["status"] == task["status"]


async def add_member(store, email: str, role: str) -> int:
    identity = Identity(email=email, password_hash=await auth.hash_password(PASSWORD), created_at=datetime.now(UTC))
    await identity.save()
    await Membership.insert(
        Membership(identity=identity.id, tenant=store.tenant.id, role=role, active=True, created_at=datetime.now(UTC))
    )
    return identity.id


async def test_an_operator_sees_and_assigns_only_their_own_tasks(client, shop) -> None:
    store, _order = shop
    operator_id = await add_member(store, "operator@task-shop.example.com", "operator")
    await login(client, store.email)
    owners = await client.post(
        f"/s/{store.slug}/tasks/new",
        data={"title": "Только для владельца", "assignee_id": str(store.identity_id), "_csrf_token": csrf(client)},
    )
    hidden_url = owners.headers["location"]
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    client.cookies.clear()
    await login(client, "operator@task-shop.example.com")
    given = await client.post(
        f"/s/{store.slug}/tasks/new",
        data={"title": "Задача оператору", "assignee_id": str(store.identity_id), "_csrf_token": csrf(client)},
    )
    assert given.status_code == 422 and 'data-testid="error-assignee_id"' in given.text
    own = await client.post(
        f"/s/{store.slug}/tasks/new",
        data={"title": "Своя задача", "assignee_id": str(operator_id), "_csrf_token": csrf(client)},
    )
    assert own.status_code == 303
    listing = await client.get(f"/s/{store.slug}/tasks/?view=all")
    assert "Своя задача" in listing.text and "Только для владельца" not in listing.text
    board = await client.get(f"/s/{store.slug}/tasks/?layout=board&by=assignee")
    assert "Только для владельца" not in board.text
    assert (await client.get(hidden_url)).status_code == 404
    done = await client.post(f"{hidden_url}/done", data={"_csrf_token": csrf(client)})
    assert done.status_code == 404


async def test_a_task_added_on_the_customer_card_is_a_real_task(client, shop) -> None:
    store, order = shop
    await login(client, store.email)
    url = f"/s/{store.slug}/customers/{order['customer']}"
    added = await client.post(
        f"{url}/tasks", data={"task": "Предложить скидку", "due": "2026-12-01", "_csrf_token": csrf(client)}
    )
    assert added.status_code == 303
    card = await client.get(url)
    assert 'data-testid="timeline-task"' in card.text and "Предложить скидку" in card.text
    mine = await client.get(f"/s/{store.slug}/tasks/?view=mine")
    assert "Предложить скидку" in mine.text
    async with tenancy.bind_tenant(store.tenant):
        task = await Task.select().where(Task.title == "Предложить скидку").first()
    assert task["customer_id"] == order["customer"] and task["assignee_id"] == store.identity_id
    assert task["due_at"].astimezone(ZoneInfo("Europe/Moscow")).date().isoformat() == "2026-12-01"  # the store's day
