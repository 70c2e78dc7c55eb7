"""Imports and the catalog over HTTP: upload, preview, apply, browse, search, edit; store isolation."""

from __future__ import annotations

import re

import pytest

from app import jobs
from tests.conftest import SHARED, csrf, login, make_store

pytestmark = pytest.mark.http

FEED = SHARED / "fixtures" / "real" / "yml" / "eva_ua_name_ua_price_old.xml"


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("catalog-shop", locale="en")


async def upload(client, slug: str, path=FEED) -> str:
    with path.open("rb") as handle:
        response = await client.post(
            f"/s/{slug}/imports/", files={"files": (path.name, handle, "text/xml")}, data={"_csrf_token": csrf(client)}
        )
    assert response.status_code == 303, response.text[-500:]
    return response.headers["location"]


async def test_upload_preview_apply_then_browse(client, shop) -> None:
    await login(client, shop.email)
    job_url = await upload(client, shop.slug)
    page = await client.get(job_url)
    assert 'data-status="queued"' in page.text and 'hx-trigger="every 1s"' in page.text
    await jobs.run_worker(wait=False)
    progress = await client.get(f"{job_url}/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 286  # final state: htmx stops polling
    assert 'data-status="previewed"' in progress.text and 'data-testid="count-new">150<' in progress.text
    applied = await client.post(f"{job_url}/apply", data={"_csrf_token": csrf(client)})
    assert applied.status_code == 303
    await jobs.run_worker(wait=False)
    done = await client.get(job_url)
    assert 'data-status="done"' in done.text
    listing = await client.get(f"/s/{shop.slug}/products/")
    assert 'data-testid="product-total">150 offers<' in listing.text
    assert listing.text.count('data-testid="product-row"') == 50
    report = await client.get(f"{job_url}/report.csv")
    assert report.headers["content-type"].startswith("text/csv")


async def test_search_filter_sort_and_fragment(client, shop) -> None:
    await login(client, shop.email)
    full = await client.get(f"/s/{shop.slug}/products/?availability=unavailable")
    assert 'data-testid="product-total">9 offers<' in full.text
    fragment = await client.get(f"/s/{shop.slug}/products/?sort=-price&q=zzzz-no-such", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="products-table"')
    assert 'data-testid="products-empty"' in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


async def test_product_card_edits_price_and_stock(client, shop) -> None:
    await login(client, shop.email)
    listing = await client.get(f"/s/{shop.slug}/products/?sort=price")
    offer_id = re.search(rf'href="/s/{shop.slug}/products/(\d+)"', listing.text).group(1)
    url = f"/s/{shop.slug}/products/{offer_id}"
    bad = await client.post(
        url, data={"price": "-5", "stock": "many", "_csrf_token": csrf(client)}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422
    assert 'data-testid="error-price"' in bad.text and 'data-testid="error-stock"' in bad.text
    good = await client.post(
        url,
        data={"price": "1 299,50", "stock": "7", "available": "on", "_csrf_token": csrf(client)},
        headers={"HX-Request": "true"},
    )
    assert good.status_code == 200 and 'data-testid="saved"' in good.text
    assert "toast" in good.headers.get("hx-trigger", "")
    card = await client.get(url)
    assert 'value="1299.50"' in card.text and 'value="7"' in card.text


async def test_upload_without_file_is_refused_in_users_language(client, shop) -> None:
    await login(client, shop.email)
    await client.get("/lang/uk")
    response = await client.post(
        f"/s/{shop.slug}/imports/", files={"files": ("", b"", "text/xml")}, data={"_csrf_token": csrf(client)}
    )
    assert response.status_code == 422
    assert 'data-testid="error-files"' in response.text and "Оберіть файл" in response.text


async def test_store_b_sees_nothing_of_store_a_catalog(client, shop, store_b) -> None:
    await login(client, store_b.email)
    for path in (f"/s/{shop.slug}/products/", f"/s/{shop.slug}/imports/", f"/s/{shop.slug}/imports/1"):
        assert (await client.get(path)).status_code == 404
    own = await client.get(f"/s/{store_b.slug}/products/")
    assert 'data-testid="products-empty"' in own.text
    assert (await client.get(f"/s/{store_b.slug}/imports/1")).status_code == 404


async def test_generic_csv_asks_for_columns_then_previews(client, shop, tmp_path) -> None:
    await login(client, shop.email)
    path = tmp_path / "price-list.csv"
    path.write_text(
        "Артикул,Наименование товара,Цена розничная,Остаток\nA-1,Чайник,1290.50,3\nA-2,Кружка,350,0\n", encoding="utf-8"
    )
    job_url = await upload(client, shop.slug, path)
    page = await client.get(job_url)
    assert 'data-status="mapping"' in page.text and 'data-testid="mapping-form"' in page.text
    incomplete = await client.post(f"{job_url}/mapping", data={"sku": "Артикул", "_csrf_token": csrf(client)})
    assert incomplete.status_code == 422
    mapped = await client.post(
        f"{job_url}/mapping",
        data={
            "sku": "Артикул",
            "name": "Наименование товара",
            "price": "Цена розничная",
            "stock": "Остаток",
            "_csrf_token": csrf(client),
        },
    )
    assert mapped.status_code == 303
    await jobs.run_worker(wait=False)
    preview = await client.get(job_url)
    assert 'data-status="previewed"' in preview.text and 'data-testid="count-new">2<' in preview.text


async def test_upload_over_the_size_limit_gets_a_clear_error(client, shop) -> None:
    await login(client, shop.email)
    big = b"<yml_catalog>" + b" " * (101 * 1024 * 1024)
    response = await client.post(
        f"/s/{shop.slug}/imports/", files={"files": ("big.xml", big, "text/xml")}, data={"_csrf_token": csrf(client)}
    )
    assert response.status_code == 413
    assert "too large" in response.text
    assert (await client.get("/healthz")).status_code == 200


async def test_feed_link_form_validates_and_saves(client, shop) -> None:
    await login(client, shop.email)
    bad = await client.post(
        f"/s/{shop.slug}/imports/feed",
        data={"url": "ftp://x/feed", "schedule": "daily", "action": "save", "_csrf_token": csrf(client)},
    )
    assert bad.status_code == 422 and 'data-testid="error-url"' in bad.text
    good = await client.post(
        f"/s/{shop.slug}/imports/feed",
        data={
            "url": "https://shop.example.com/yml.xml",
            "schedule": "daily",
            "action": "save",
            "_csrf_token": csrf(client),
        },
    )
    assert good.status_code == 303
    page = await client.get(f"/s/{shop.slug}/imports/")
    assert 'value="https://shop.example.com/yml.xml"' in page.text
    assert '<option value="daily" selected>' in page.text
