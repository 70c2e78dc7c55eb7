"""Inline edits answer 200 in every language: the toast travels in HX-Trigger as escaped JSON."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.services.imports import jobs as import_jobs
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.factories import place_order

pytestmark = pytest.mark.http

FEED = (
    '<yml_catalog><shop><offers><offer id="k"><name>Чайник</name><price>1290.50</price></offer>'
    "</offers></shop></yml_catalog>"
)
# From the catalogs' translators, written out here so the test does not read them through our code.
STATUS_CHANGED = {"ru": "Статус изменён.", "uk": "Статус змінено.", "en": "Status changed."}
SAVED = {"ru": "Сохранено.", "uk": "Збережено.", "en": "Saved."}
LOCALES = ["ru", "uk", "en"]


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    store = await make_store("headers-shop", locale="ru")
    feed: Path = tmp_path_factory.mktemp("headers") / "feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    async with tenancy.bind_tenant(store.tenant):
        job_id = await import_jobs.create_job([feed], feed.parent)
        await import_jobs.request_apply_now(job_id)
        assert (await import_jobs.run_job(job_id))["status"] == "done"
    return store


async def as_staff(client, store, locale: str) -> None:
    await login(client, store.email)
    client.cookies.set("lang", locale)


def toast_of(response) -> str:
    header = response.headers["hx-trigger"]
    assert header.isascii()
    return json.loads(header)["toast"]["message"]


async def status_of(store, order_id: int) -> str:
    async with tenancy.bind_tenant(store.tenant):
        row = await Order.select(Order.status.code).where(Order.id == order_id).first()
    return row["status.code"]


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_status_change_over_htmx_answers_200_with_the_toast_in_the_staff_language(
    client, shop, locale: str
) -> None:
    order = await place_order(shop, name="Олена")
    await as_staff(client, shop, locale)
    moved = await client.post(
        f"/s/{shop.slug}/orders/{order['id']}/status",
        data={"status": "approval", "_csrf_token": csrf(client)},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200, moved.text[-300:]
    assert toast_of(moved) == STATUS_CHANGED[locale]
    assert await status_of(shop, order["id"]) == "approval"


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_status_change_from_the_board_answers_the_board_with_the_toast(client, shop, locale: str) -> None:
    order = await place_order(shop, name="Дмитро")
    await as_staff(client, shop, locale)
    board = await client.get(f"/s/{shop.slug}/orders/?view=board")
    assert f'id="board-order-{order["id"]}"' in board.text and 'data-testid="board-move"' in board.text
    url = f"/s/{shop.slug}/orders/{order['id']}/status"
    moved = await client.post(
        url, data={"status": "approval", "from": "board", "_csrf_token": csrf(client)}, headers={"HX-Request": "true"}
    )
    assert moved.status_code == 200, moved.text[-300:]
    assert toast_of(moved) == STATUS_CHANGED[locale]
    assert moved.text.lstrip().startswith('<div id="orders-board">')
    assert await status_of(shop, order["id"]) == "approval"
    plain = await client.post(url, data={"status": "assembling", "from": "board", "_csrf_token": csrf(client)})
    assert plain.status_code == 303 and plain.headers["location"] == f"/s/{shop.slug}/orders/?view=board"
    refused = await client.post(
        url, data={"status": "no-such", "from": "board", "_csrf_token": csrf(client)}, headers={"HX-Request": "true"}
    )
    assert refused.status_code in (404, 422) and await status_of(shop, order["id"]) == "assembling"


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_price_saved_on_the_product_card_answers_200_with_the_toast(client, shop, locale: str) -> None:
    await as_staff(client, shop, locale)
    listing = await client.get(f"/s/{shop.slug}/products/")
    offer_id = re.search(rf'href="/s/{shop.slug}/products/(\d+)"', listing.text).group(1)
    saved = await client.post(
        f"/s/{shop.slug}/products/{offer_id}",
        data={"price": "1 499,00", "stock": "3", "available": "on", "_csrf_token": csrf(client)},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200, saved.text[-300:]
    assert toast_of(saved) == SAVED[locale]
    card = await client.get(f"/s/{shop.slug}/products/{offer_id}")
    assert 'value="1499.00"' in card.text


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_store_settings_saved_over_htmx_toast_after_settle(client, shop, locale: str) -> None:
    await as_staff(client, shop, locale)
    data = {"name": "Магазин «Ґанок»", "locale": "ru", "currency": "RUB", "country": "RU", "_csrf_token": csrf(client)}
    saved = await client.post(f"/s/{shop.slug}/settings/store", data=data, headers={"HX-Request": "true"})
    assert saved.status_code == 200
    assert json.loads(saved.headers["hx-trigger-after-settle"])["toast"]["message"]
    assert saved.headers["hx-trigger-after-settle"].isascii()


@pytest.mark.parametrize(
    ("fmt", "name", "locale"), [("csv", "Постійні «VIP»", "uk"), ("xlsx", "Постоянные клиенты", "ru")]
)
async def test_a_segment_export_is_saved_under_the_segments_own_name(client, shop, fmt, name, locale) -> None:
    await as_staff(client, shop, locale)
    created = await client.post(
        f"/s/{shop.slug}/segments/new",
        data={"name": name, "kind": "dynamic", "r0_field": "orders_count", "r0_op": "gte", "r0_value": "1",
              "_csrf_token": csrf(client)},
    )  # fmt: skip
    assert created.status_code == 303
    exported = await client.get(f"{created.headers['location']}/export?format={fmt}")
    assert exported.status_code == 200
    disposition = exported.headers["content-disposition"]
    assert disposition.isascii() and disposition.startswith("attachment; filename=")
    message = EmailMessage()  # the standard library's RFC 2231 reader decides the saved name
    message["Content-Disposition"] = "attachment; filename*=" + disposition.split("filename*=", 1)[1]
    assert message.get_filename() == f"{name}.{fmt}"


async def test_an_htmx_request_after_the_session_ended_is_sent_to_login_by_hx_redirect(client, shop) -> None:
    answer = await client.get(f"/s/{shop.slug}/orders/?q=Олена", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == f"/login?next=%2Fs%2F{shop.slug}%2Forders"


async def test_another_store_cannot_move_this_stores_order(client, shop, store_b) -> None:
    order = await place_order(shop)
    await as_staff(client, store_b, "uk")
    moved = await client.post(
        f"/s/{shop.slug}/orders/{order['id']}/status",
        data={"status": "approval", "_csrf_token": csrf(client)},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code in (302, 303, 403, 404) or "hx-redirect" in moved.headers
    assert await status_of(shop, order["id"]) == "new"
