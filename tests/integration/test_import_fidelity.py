"""Nothing in a catalog file is lost silently: what the file holds (counted with lxml or csv) lands or is reported."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lxml import etree

from app.i18n import use_locale
from app.services import forms as shop_forms
from app.services import products
from app.services.imports import jobs
from app.tables.catalog import Offer, Product
from app.tenancy import runtime as tenancy
from tests.conftest import SHARED, make_store

pytestmark = pytest.mark.integration

UT11 = SHARED / "fixtures" / "real" / "commerceml" / "ut11_v207"
ALL_GOODS = {"goods_mode": "all", "goods": []}
LOCALES = ("en", "ru", "uk")


async def run(paths: list[Path], storage: Path, options: dict | None = None) -> dict:
    job_id = await jobs.create_job(paths, storage, options=options)
    job = await jobs.run_job(job_id)
    if job["status"] == "previewed":
        await jobs.request_apply(job_id)
        job = await jobs.run_job(job_id)
    assert job["status"] == "done", job["fatal"]
    return job


def xpath_ids(path: Path, tag: str) -> list[str]:
    tree = etree.parse(str(path))
    return [str(i) for i in tree.xpath(f"//*[local-name()='{tag}']/*[local-name()='Ид']/text()")]


async def codes(job: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for issue in await jobs.issues(job["id"], limit=10_000):
        found.setdefault(issue["code"], []).append(issue["message"])
    return found


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("locale", LOCALES)
async def test_1c_import_xml_alone_lists_its_products_as_price_on_request(runtime, tmp_path, locale) -> None:
    shop = await make_store(f"fid-import-{locale}", locale=locale)
    in_file = set(xpath_ids(UT11 / "import0_1.xml", "Товар"))
    async with tenancy.bind_tenant(shop.tenant):
        with use_locale(locale):
            job = await run([UT11 / "import0_1.xml"], tmp_path)
            issues = await codes(job)
        assert {r["external_id"] for r in await Product.select(Product.external_id)} == in_file
        page = await products.list_page(products.parse_filters({}))
        assert page.total == len(in_file)  # the products screen lists every one of them
        assert all(item["price_minor"] is None for item in page.items)  # never 0.00
        assert await shop_forms.offers_for(ALL_GOODS) == []  # price on request: not orderable
        [message] = issues["price_on_request"]
        assert str(len(in_file)) in message
        # The offers file then prices them: orderable, and no placeholder is left behind.
        await run([UT11 / "import0_1.xml", UT11 / "offers0_1.xml"], tmp_path)
        offers_in_file = set(xpath_ids(UT11 / "offers0_1.xml", "Предложение"))
        landed = {
            r["external_id"] for r in await Offer.select(Offer.external_id).where(Offer.price_minor.is_not_null())
        }
        assert offers_in_file <= landed
        unpriced = in_file - {o.split("#", 1)[0] for o in offers_in_file} - offers_in_file
        assert await Offer.count().where(Offer.price_minor.is_null()) == len(unpriced)
        assert len(await shop_forms.offers_for(ALL_GOODS)) > 0


@pytest.mark.parametrize("locale", LOCALES)
async def test_offer_without_its_product_becomes_a_product_named_from_the_offer(runtime, tmp_path, locale) -> None:
    shop = await make_store(f"fid-orphan-{locale}", locale=locale)
    head = '<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация ВерсияСхемы="2.07">'
    import_xml = write(
        tmp_path,
        "import.xml",
        head + "<Каталог><Ид>c</Ид><Товары><Товар><Ид>p1</Ид><Наименование>Стол</Наименование></Товар>"
        "</Товары></Каталог></КоммерческаяИнформация>",
    )
    offers_xml = write(
        tmp_path,
        "offers.xml",
        head + "<ПакетПредложений><Предложения>"
        "<Предложение><Ид>p1</Ид><Наименование>Стол</Наименование><Цены><Цена><ЦенаЗаЕдиницу>100</ЦенаЗаЕдиницу>"
        "<Валюта>RUB</Валюта></Цена></Цены><Количество>2</Количество></Предложение>"
        "<Предложение><Ид>lost#1</Ид><Наименование>Стул синий</Наименование><Цены><Цена>"
        "<ЦенаЗаЕдиницу>50</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена><Цена><ЦенаЗаЕдиницу>55</ЦенаЗаЕдиницу>"
        "<Валюта>RUB</Валюта></Цена></Цены><Количество>3</Количество></Предложение>"
        "</Предложения></ПакетПредложений></КоммерческаяИнформация>",
    )
    async with tenancy.bind_tenant(shop.tenant):
        with use_locale(locale):
            job = await run([import_xml, offers_xml], tmp_path)
            issues = await codes(job)
        made = await Product.select(Product.name).where(Product.external_id == "lost").first()
        assert made == {"name": "Стул синий"}
        offer = await Offer.select(Offer.price_minor, Offer.stock).where(Offer.external_id == "lost#1").first()
        assert offer == {"price_minor": 5000, "stock": 3}
        assert {o["name"] for o in await shop_forms.offers_for(ALL_GOODS)} == {"Стол", "Стул синий"}
        assert len(issues["product_missing"]) == 1 and len(issues["price_clash"]) == 1
        assert "50" in issues["price_clash"][0]


def yml(offers: str, currencies: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><name>S</name>{currencies}'
        f"<offers>{offers}</offers></shop></yml_catalog>"
    )


@pytest.mark.parametrize("locale", LOCALES)
async def test_yml_missing_price_assumed_currency_and_exact_duplicate_count(runtime, tmp_path, locale) -> None:
    shop = await make_store(f"fid-yml-{locale}", locale=locale, currency="RUB")
    repeated = "".join(f'<offer id="d"><name>Dup {i}</name><price>1</price></offer>' for i in range(8))
    feed = write(
        tmp_path,
        "feed.xml",
        yml(
            f'<offer id="a"><name>Priced</name><price>10</price></offer>'
            f'<offer id="b"><name>On request</name></offer>{repeated}'
        ),
    )
    counted = etree.parse(str(feed)).xpath("//offer/@id")
    assert counted.count("d") == 8
    async with tenancy.bind_tenant(shop.tenant):
        with use_locale(locale):
            job = await run([feed], tmp_path)
            issues = await codes(job)
        prices = {r["external_id"]: r["price_minor"] for r in await Offer.select(Offer.external_id, Offer.price_minor)}
        assert prices == {"a": 1000, "b": None, "d": 100}
        assert [o["name"] for o in await shop_forms.offers_for(ALL_GOODS)] == ["Dup 0", "Priced"]
        [duplicate] = issues["duplicate_id"]
        assert "8" in duplicate and "2" not in duplicate
        [assumed] = issues["currency_assumed"]
        assert "RUB" in assumed and "2" in assumed  # a and d; b has no price to assume a currency for
        assert len(issues["price_on_request"]) == 1


async def test_spreadsheet_apostrophes_are_stripped_from_codes(runtime, tmp_path) -> None:
    shop = await make_store("fid-csv", locale="en")
    path = tmp_path / "goods.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "price", "barcode"])
        writer.writerow(["'0042", "'Quoted' name", "10", "'4600000000017"])
    with path.open(newline="", encoding="utf-8") as handle:
        assert next(iter(list(csv.DictReader(handle))))["sku"] == "'0042"  # the file does hold the apostrophe
    async with tenancy.bind_tenant(shop.tenant):
        mapping = {"sku": "sku", "name": "name", "price": "price", "barcode": "barcode"}
        await run([path], tmp_path, {"delimiter": ",", "mapping": mapping})
        offer = await Offer.select(Offer.sku, Offer.name, Offer.barcode).first()
        assert offer == {"sku": "0042", "name": "'Quoted' name", "barcode": "4600000000017"}
