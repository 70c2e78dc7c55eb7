"""The order history import screen: upload, exact preview, apply whole, row report in ru/uk, store isolation."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from app import jobs
from tests.conftest import SHARED, csrf, login, make_store

pytestmark = pytest.mark.http

DATA = Path(__file__).resolve().parents[1] / "data" / "orders"
SHOPIFY = DATA / "shopify_orders.csv"
REAL_SHOPIFY = SHARED / "fixtures" / "real" / "csv" / "shopify_orders_export_devstore.csv"


def count(page: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}">([^<]+)<', page)
    assert match, testid
    return int(re.sub(r"\D", "", match.group(1)))


async def upload(client, slug: str, name: str, data: bytes, fmt: str = ""):
    return await client.post(
        f"/s/{slug}/imports/orders/",
        files={"files": (name, data, "text/csv")},
        data={"_csrf_token": csrf(client), "format": fmt},
    )


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_preview_then_apply_lands_every_order_on_the_order_list(client, runtime, locale) -> None:
    store = await make_store(f"ordimp-{locale}", locale=locale)
    numbers = {row["Name"] for row in csv.DictReader(SHOPIFY.open(encoding="utf-8"))}
    await login(client, store.email)
    page = await client.get(f"/s/{store.slug}/imports/orders/")
    assert page.status_code == 200 and 'data-testid="order-import-form"' in page.text
    preview = await upload(client, store.slug, SHOPIFY.name, SHOPIFY.read_bytes())
    assert preview.status_code == 200, preview.text[-800:]
    assert count(preview.text, "count-orders-new") == len(numbers) == 3
    listing = await client.get(f"/s/{store.slug}/orders/")
    assert listing.text.count('data-testid="order-row"') == 0  # the preview changed nothing
    action = re.search(r'action="(/s/[^"]+/apply)"', preview.text).group(1)
    applied = await client.post(action, data={"_csrf_token": csrf(client)})
    assert applied.status_code == 200 and 'data-testid="order-import-done"' in applied.text
    listing = await client.get(f"/s/{store.slug}/orders/")
    assert listing.text.count('data-testid="order-row"') == len(numbers)
    assert all(f">{number}</a>" in listing.text for number in numbers)
    again = await client.post(action, data={"_csrf_token": csrf(client)})
    assert again.status_code == 200 and count(again.text, "count-orders-unchanged") == len(numbers)
    listing = await client.get(f"/s/{store.slug}/orders/")
    assert listing.text.count('data-testid="order-row"') == len(numbers)  # applying twice changed nothing


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_broken_row_is_refused_with_a_translated_row_report(client, runtime, locale) -> None:
    store = await make_store(f"ordimp-bad-{locale}", locale=locale)
    await login(client, store.email)
    broken = SHOPIFY.read_text(encoding="utf-8").replace("2025-06-01 12:00:00 -0400", "вчера")
    response = await upload(client, store.slug, "broken.csv", broken.encode())
    assert response.status_code == 422 and 'data-testid="order-import-refused"' in response.text
    assert "order-import-apply" not in response.text
    assert "вчера" in response.text and "is not a date we can read" not in response.text
    listing = await client.get(f"/s/{store.slug}/orders/")
    assert listing.text.count('data-testid="order-row"') == 0


async def test_any_csv_lands_through_the_column_map_given_on_the_form(client, runtime) -> None:
    store = await make_store("ordimp-map", locale="uk", currency="UAH", country="UA")
    await login(client, store.email)
    data = "Док;Коли;Що;Скільки;Почім;Тел\nZ-7;2025-02-03 10:00;Сир;2;120,50;+380671112233\n".encode()
    form = {"_csrf_token": csrf(client), "format": "csv", "map_number": "Док", "map_date": "коли"}
    form |= {"map_item": "Що", "map_quantity": "Скільки", "map_price": "Почім", "map_phone": "Тел"}
    preview = await client.post(
        f"/s/{store.slug}/imports/orders/", files={"files": ("x.csv", data, "text/csv")}, data=form
    )
    assert preview.status_code == 200, preview.text[-600:]
    assert count(preview.text, "count-orders-new") == 1 and count(preview.text, "count-customers-new") == 1
    action = re.search(r'action="(/s/[^"]+/apply)"', preview.text).group(1)
    applied = await client.post(action, data={"_csrf_token": csrf(client)})
    assert applied.status_code == 200 and 'data-testid="order-import-done"' in applied.text
    listing = await client.get(f"/s/{store.slug}/orders/")
    assert ">Z-7</a>" in listing.text
    wrong = await client.post(
        f"/s/{store.slug}/imports/orders/",
        files={"files": ("x.csv", data, "text/csv")},
        data=form | {"map_price": "Немає такої"},
    )
    assert wrong.status_code == 422 and "Немає такої" in wrong.text and "no column named" not in wrong.text


async def test_bad_form_input_is_a_422_not_a_crash(client, runtime) -> None:
    store = await make_store("ordimp-form", locale="en")
    await login(client, store.email)
    response = await upload(client, store.slug, SHOPIFY.name, SHOPIFY.read_bytes(), fmt="excel")
    assert response.status_code == 422 and 'data-testid="error-format"' in response.text
    empty = await client.post(
        f"/s/{store.slug}/imports/orders/", files={"files": ("", b"", "text/csv")}, data={"_csrf_token": csrf(client)}
    )
    assert empty.status_code == 422 and 'data-testid="error-files"' in empty.text
    garbage = await upload(client, store.slug, "x.xml", b"<\x00\xff not xml")
    assert garbage.status_code == 422


async def test_store_b_cannot_apply_or_see_store_a_import(client, runtime) -> None:
    a, b = await make_store("ordimp-iso-a", locale="en"), await make_store("ordimp-iso-b", locale="en")
    await login(client, a.email)
    preview = await upload(client, a.slug, SHOPIFY.name, SHOPIFY.read_bytes())
    token = re.search(r"/imports/orders/([^/]+)/apply", preview.text).group(1)
    await login(client, b.email)
    stolen = await client.post(f"/s/{b.slug}/imports/orders/{token}/apply", data={"_csrf_token": csrf(client)})
    assert stolen.status_code == 404
    foreign = await client.post(f"/s/{a.slug}/imports/orders/{token}/apply", data={"_csrf_token": csrf(client)})
    assert foreign.status_code in (302, 303, 403, 404)
    listing = await client.get(f"/s/{b.slug}/orders/")
    assert listing.text.count('data-testid="order-row"') == 0


@pytest.mark.skipif(not REAL_SHOPIFY.exists(), reason="shared fixtures missing")
async def test_catalog_refusal_of_an_orders_file_links_to_this_screen(client, runtime) -> None:
    store = await make_store("ordimp-link", locale="en")
    await login(client, store.email)
    with REAL_SHOPIFY.open("rb") as handle:
        created = await client.post(
            f"/s/{store.slug}/imports/",
            files={"files": (REAL_SHOPIFY.name, handle, "text/csv")},
            data={"_csrf_token": csrf(client)},
        )
    await jobs.run_worker(wait=False)
    job = await client.get(created.headers["location"])
    assert 'data-testid="import-as-orders"' in job.text and f"/s/{store.slug}/imports/orders/" in job.text
