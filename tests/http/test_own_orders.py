""" "Own orders only" means it everywhere: tasks, task links, customer cards and list, dashboard, reports, matrix.

One store, three managers: L is limited to own orders, U and O see all orders. Orders and tasks are laid out
below; what L and U see is written by hand in the tables (never derived from ``permissions``), and every
page is checked in ru and uk.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.services import orders, tasks
from app.tables.control import Identity
from app.tables.customers import Customer
from app.tables.orders import Order
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.factories import add_member, assign
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.http

LOCALES = ["ru", "uk"]
# order key -> (customer key, manager key, total in kopecks)
ORDERS = {"A1": ("C1", "L", 100000), "A2": ("C1", "O", 500000), "B1": ("C2", "O", 30000)}
CUSTOMERS = {"C1": ("Своя Клиентка", "+79125550101"), "C2": ("Чужой Клиент", "+79125550102")}
# task key -> (order, customer, assignee): every task is written by the owner
TASKS = {
    "T1": ("A1", None, "O"),  # on L's order
    "T2": ("A2", None, "O"),  # on O's order of L's customer: the order is not L's
    "T3": (None, "C1", "O"),  # on L's customer, no order
    "T4": (None, "C2", "O"),  # on a customer L has no order of
    "T5": (None, None, "L"),  # given to L
    "T6": (None, None, "O"),  # nothing to do with L
}
SEES_TASKS = {"L": {"T1", "T3", "T5"}, "U": {"T1", "T2", "T3", "T4", "T5", "T6"}}
SEES_CUSTOMERS = {"L": {"C1"}, "U": {"C1", "C2"}}
# the card of C1: (orders counted, total spent in kopecks, order numbers listed)
C1_CARD = {"L": (1, 100000, {"A1"}), "U": (2, 600000, {"A1", "A2"})}
# the customer list: customer -> (orders, spent in kopecks)
LIST_FIGURES = {"L": {"C1": (1, 100000)}, "U": {"C1": (2, 600000), "C2": (1, 30000)}}
DASHBOARD_ORDERS = {"L": "1", "U": "3"}
DASHBOARD_FUNNEL = {"L": False, "U": True}
# linking a task to an order by its number: the order -> answer
LINK = {"L": {"A1": 303, "A2": 422, "B1": 422}, "U": {"A1": 303, "A2": 303, "B1": 303}}
NOT_FOUND = {"ru": "Заказа с таким номером нет", "uk": "Замовлення з таким номером немає"}
# store-wide pages: reports are no manager's; segments (RFM, sizes, portrait) are closed to a limited one
STORE_WIDE = {
    "L": {"reports": 403, "segments/": 403, "segments/portrait": 403, "staff/": 200},
    "U": {"reports": 403, "segments/": 200, "segments/portrait": 200, "staff/": 200},
}


def digits(html: str) -> str:
    return re.sub(r"\D", "", re.sub(r"<[^>]+>", "", html))


def cell(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert found, testid
    return found.group(1)


@pytest.fixture(scope="module")
async def world(runtime):
    store = await make_store("own-orders")
    people = {
        "L": (await add_member(store, "manager", scope="own", name="Лариса Своя"))[0],
        "U": (await add_member(store, "manager", scope="all", name="Ульяна Все"))[0],
        "O": (await add_member(store, "manager", scope="all", name="Олег Другой"))[0],
    }
    emails = {}
    placed, customers = {}, {}
    for key, (customer, manager, total) in ORDERS.items():
        name, phone = CUSTOMERS[customer]
        async with tenancy.bind_tenant(store.tenant):
            draft = orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", total, 1),),
                currency="RUB", customer_name=name, phone=phone, source="staff",
            )  # fmt: skip
            order, _created = await orders.create_order(draft)
        await assign(store, order["id"], people[manager])
        placed[key], customers[customer] = order, order["customer"]
    ids = {}
    async with tenancy.bind_tenant(store.tenant):
        for key, (order_key, customer_key, assignee) in TASKS.items():
            order = placed[order_key] if order_key else None
            data = tasks.TaskData(
                f"Задача {key}", "", people[assignee], "normal", datetime(2026, 6, 15, 9, tzinfo=UTC), None,
                order["id"] if order else None, order["customer"] if order else customers.get(customer_key),
            )  # fmt: skip
            ids[key] = await tasks.create(data, author_id=store.identity_id)
    for key in ("L", "U"):
        emails[key] = await _email(store, people[key])
    return {"store": store, "people": people, "emails": emails, "orders": placed, "customers": customers, "tasks": ids}


async def _email(store, identity_id: int) -> str:
    row = await Identity.select(Identity.email).where(Identity.id == identity_id).first()
    return row["email"]


async def _as(client, world, who: str, locale: str) -> str:
    await client.get(f"/lang/{locale}")
    await login(client, world["emails"][who])
    return f"/s/{world['store'].slug}"


def _task_ids(html: str, world) -> set[str]:
    found = {int(n) for n in re.findall(r"/tasks/(\d+)\"", html)} | {
        int(n) for n in re.findall(r'id="task-(\d+)"', html)
    }
    return {key for key, task_id in world["tasks"].items() if task_id in found}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_task_pages_show_only_the_tasks_in_scope(client, world, who, locale) -> None:
    base = await _as(client, world, who, locale)
    for path in (
        "?view=all",
        "?view=open",
        "?layout=board",
        "?layout=board&by=assignee",
        "?layout=calendar&month=2026-06",
    ):
        page = await client.get(f"{base}/tasks/{path}")
        assert page.status_code == 200 and f'<html lang="{locale}">' in page.text, path
        assert _task_ids(page.text, world) == SEES_TASKS[who], path
    for key, task_id in world["tasks"].items():
        card = await client.get(f"{base}/tasks/{task_id}")
        assert card.status_code == (200 if key in SEES_TASKS[who] else 404), key


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_limited_manager_cannot_touch_a_task_out_of_scope(client, world, locale) -> None:
    base = await _as(client, world, "L", locale)
    hidden = world["tasks"]["T2"]
    for action, data in (("done", {"done": "1"}), ("comments", {"body": "чужое"}), ("edit", {"title": "X"})):
        response = await client.post(f"{base}/tasks/{hidden}/{action}", data={**data, "_csrf_token": csrf(client)})
        assert response.status_code == 404, action
    async with tenancy.bind_tenant(world["store"].tenant):
        row = await Task.select(Task.status, Task.title).where(Task.id == hidden).first()
    assert row == {"status": "open", "title": "Задача T2"}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_linking_a_task_to_an_order_number_out_of_scope_reads_as_not_found(client, world, who, locale) -> None:
    base = await _as(client, world, who, locale)
    for key, expected in LINK[who].items():
        async with tenancy.bind_tenant(world["store"].tenant):
            before = await Task.count()
        number = world["orders"][key]["number"]
        response = await client.post(
            f"{base}/tasks/new",
            data={"title": f"Связь {key}", "order": number, "assignee_id": str(world["people"][who]),
                  "priority": "normal", "_csrf_token": csrf(client)},
        )  # fmt: skip
        assert response.status_code == expected, key
        async with tenancy.bind_tenant(world["store"].tenant):
            after = await Task.count()
        if expected == 422:
            assert 'data-testid="error-order"' in response.text and NOT_FOUND[locale] in response.text
            assert after == before  # nothing saved
        else:
            assert after == before + 1
    hash_link = await client.post(
        f"{base}/tasks/new",
        data={"title": "По id", "order": f"#{world['orders']['B1']['id']}", "_csrf_token": csrf(client)},
    )
    assert hash_link.status_code == LINK[who]["B1"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_the_customer_card_counts_only_the_orders_in_scope(client, world, who, locale) -> None:
    base = await _as(client, world, who, locale)
    card = await client.get(f"{base}/customers/{world['customers']['C1']}")
    assert card.status_code == 200
    count, spent, numbers = C1_CARD[who]
    assert digits(cell(card.text, "customer-spent")) == str(spent)
    assert digits(cell(card.text, "customer-orders-count")) == str(count)
    assert digits(cell(card.text, "customer-average")) == str(spent // count)
    listed = {key for key, order in world["orders"].items() if f">{order['number']}</a>" in card.text}
    assert listed == numbers


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_the_customer_list_shows_own_customers_with_own_figures(client, world, who, locale) -> None:
    base = await _as(client, world, who, locale)
    for query in ("", "?sort=spent", "?sort=orders", "?has_orders=yes", "?q=Клиент"):
        page = await client.get(f"{base}/customers/{query}")
        assert page.status_code == 200, query
        rows = re.findall(r'<tr data-testid="customer-row">(.*?)</tr>', page.text, re.S)
        seen = {}
        for row in rows:
            key = next(k for k, cid in world["customers"].items() if f'/customers/{cid}"' in row)
            seen[key] = (int(digits(cell(row, "customer-row-orders"))), int(digits(cell(row, "customer-row-spent"))))
        assert seen == LIST_FIGURES[who], query
        assert set(seen) == SEES_CUSTOMERS[who]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_the_dashboard_counts_own_orders_and_says_so(client, world, who, locale) -> None:
    base = await _as(client, world, who, locale)
    page = await client.get(f"{base}/?period=30d")
    assert page.status_code == 200
    assert cell(page.text, "kpi-orders-value").strip() == DASHBOARD_ORDERS[who]
    assert ('data-testid="funnel"' in page.text) is DASHBOARD_FUNNEL[who]
    assert ('data-testid="dashboard-own-only"' in page.text) is (not DASHBOARD_FUNNEL[who])
    revenue = {"L": "1000", "U": "6300"}[who]  # whole roubles, not cancelled
    assert digits(cell(page.text, "kpi-revenue-value")) == revenue


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "U"])
async def test_store_wide_pages_are_closed_to_a_limited_manager_and_the_matrix_says_so(
    client, world, who, locale
) -> None:
    base = await _as(client, world, who, locale)
    for path, expected in STORE_WIDE[who].items():
        assert (await client.get(f"{base}/{path}")).status_code == expected, path
    staff = await client.get(f"{base}/staff/")
    assert (f'href="{base}/segments/"' in staff.text) is (STORE_WIDE[who]["segments/"] == 200)  # the sidebar
    assert staff.status_code == 200
    note = cell(staff.text, "own-orders-note")
    words = {"ru": ("задач", "клиент", "сводк", "сегмент"), "uk": ("завдан", "клієнт", "зведен", "сегмент")}[locale]
    assert all(word in note.lower() for word in words), note
    row = staff.text.split('data-testid="perm-segments.view"', 1)[1].split("</tr>", 1)[0]
    marks = [m for m in re.findall(r"[✓◐◑—]", row)]
    assert marks == ["✓", "✓", "◑", "—", "✓"]  # owner, admin, manager (not when limited), operator, analyst


# duplicates (same name and city): pair -> who sees it, and the figures a limited manager sees per person
DUPLICATES = {"Анна Своя": ("L", "owner"), "Борис Чужой": ("owner",)}


@pytest.fixture(scope="module")
async def twins(runtime):
    store = await make_store("own-dupes")
    limited, email = await add_member(store, "manager", scope="own")
    other, _email = await add_member(store, "manager", scope="all")
    for index, (name, city, manager) in enumerate((("Анна Своя", "Казань", limited), ("Борис Чужой", "Омск", other))):
        async with tenancy.bind_tenant(store.tenant):
            draft = orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 70000, 1),),
                currency="RUB", customer_name=name, phone=f"+7912555020{index}", source="staff",
            )  # fmt: skip
            order, _created = await orders.create_order(draft)
            await Customer.update({Customer.city: city}).where(Customer.id == order["customer"])
            now = datetime.now(UTC)
            twin = Customer(name=name, city=city, phone=f"+7912555030{index}", created_at=now, updated_at=now)
            await twin.save()
        await assign(store, order["id"], manager)
    return store, email


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["L", "owner"])
async def test_duplicates_show_only_pairs_with_an_own_customer_and_own_figures(client, twins, who, locale) -> None:
    store, limited_email = twins
    await client.get(f"/lang/{locale}")
    await login(client, limited_email if who == "L" else store.email)
    page = await client.get(f"/s/{store.slug}/customers/duplicates")
    assert page.status_code == 200
    pairs = re.findall(r'data-testid="duplicate-pair">(.*?)</section>', page.text, re.S)
    shown = {name for name in DUPLICATES if any(name in pair for pair in pairs)}
    assert shown == {name for name, viewers in DUPLICATES.items() if who in viewers}
    amounts = sorted(digits(m) for m in re.findall(r'class="muted small">([^<]*)</p>', "".join(pairs)))
    # "N orders · amount": 1 order of 700,00 and a twin with none
    assert amounts == (["0000", "170000"] if who == "L" else ["0000", "0000", "170000", "170000"])


@pytest.fixture(scope="module")
async def counter(runtime, tmp_path_factory):
    store = await seeded_store("own-take", tmp_path_factory.mktemp("own-take"))
    limited, email = await add_member(store, "manager", scope="own")
    return store, limited, email


@pytest.mark.parametrize("locale", LOCALES)
async def test_an_order_a_limited_manager_takes_is_theirs_and_opens(client, counter, locale) -> None:
    store, limited, email = counter
    await client.get(f"/lang/{locale}")
    await login(client, email)
    taken = await client.post(
        f"/s/{store.slug}/orders/new",
        data={"phone": "8 912 444-33-77", "name": "Звонок", "sku_0": "M-1", "qty_0": "1", "_csrf_token": csrf(client)},
    )
    assert taken.status_code == 303
    card = await client.get(taken.headers["location"])
    assert card.status_code == 200 and f'<html lang="{locale}">' in card.text
    order_id = int(taken.headers["location"].rsplit("/", 1)[1])
    async with tenancy.bind_tenant(store.tenant):
        row = await Order.select(Order.manager_id).where(Order.id == order_id).first()
    assert row == {"manager_id": limited}
