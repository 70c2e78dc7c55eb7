"""The products screen shows what a catalog file holds: a 1C import.xml sent alone lists every product."""

from __future__ import annotations

import pytest
from lxml import etree

from app import jobs
from tests.conftest import SHARED, csrf, login, make_store

pytestmark = pytest.mark.http

IMPORT_XML = SHARED / "fixtures" / "real" / "commerceml" / "ut11_v207" / "import0_1.xml"
LOCALES = ("en", "ru", "uk")


@pytest.fixture(scope="module")
async def shops(runtime):
    return {locale: await make_store(f"fid-screen-{locale}", locale=locale) for locale in LOCALES}


async def import_alone(client, slug: str) -> None:
    with IMPORT_XML.open("rb") as handle:
        response = await client.post(
            f"/s/{slug}/imports/",
            files={"files": (IMPORT_XML.name, handle, "text/xml")},
            data={"_csrf_token": csrf(client)},
        )
    assert response.status_code == 303, response.text[-500:]
    job_url = response.headers["location"]
    await jobs.run_worker(wait=False)
    assert (await client.post(f"{job_url}/apply", data={"_csrf_token": csrf(client)})).status_code == 303
    await jobs.run_worker(wait=False)
    done = await client.get(job_url)
    assert 'data-status="done"' in done.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_import_xml_alone_fills_the_products_screen_with_price_on_request(client, shops, locale) -> None:
    shop = shops[locale]
    names = etree.parse(str(IMPORT_XML)).xpath("//*[local-name()='Товар']/*[local-name()='Наименование']/text()")
    await login(client, shop.email)
    await import_alone(client, shop.slug)
    listing = await client.get(f"/s/{shop.slug}/products/")
    assert listing.status_code == 200
    assert 'data-testid="products-empty"' not in listing.text
    assert listing.text.count('data-testid="product-row"') == len(names) == 36
    assert listing.text.count('data-testid="price-on-request"') == len(names)  # never 0.00
    assert "0.00" not in listing.text and "0,00" not in listing.text
    found = await client.get(f"/s/{shop.slug}/products/", params={"q": names[0].split()[0]})
    assert 'data-testid="product-row"' in found.text


async def test_other_store_does_not_see_the_imported_goods(client, shops) -> None:
    await login(client, shops["en"].email)
    await import_alone(client, shops["en"].slug)
    other = await make_store("fid-screen-other", locale="en")
    await login(client, other.email)
    listing = await client.get(f"/s/{other.slug}/products/")
    assert 'data-testid="products-empty"' in listing.text
