"""Imports against a real store database: preview, apply, re-import, full feeds, broken files, cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.services.imports import jobs
from app.tables.catalog import Category, Offer, Product
from app.tenancy import runtime as tenancy
from tests.conftest import SHARED, make_store

pytestmark = pytest.mark.integration

REAL = SHARED / "fixtures" / "real"


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("import-shop")


async def run(paths: list[Path], storage: Path, *, apply: bool = True, options: dict | None = None) -> dict:
    job_id = await jobs.create_job(paths, storage, options=options)
    job = await jobs.run_job(job_id)
    if apply and job["status"] == "previewed":
        await jobs.request_apply(job_id)
        job = await jobs.run_job(job_id)
    return job


async def catalog_counts() -> tuple[int, int, int]:
    return await Category.count(), await Product.count(), await Offer.count()


async def test_yml_feed_previews_then_applies_then_reimport_changes_nothing(shop, tmp_path) -> None:
    feed = REAL / "yml" / "eva_ua_name_ua_price_old.xml"
    async with tenancy.bind_tenant(shop.tenant):
        before = await catalog_counts()
        preview = await run([feed], tmp_path, apply=False)
        assert preview["status"] == "previewed"
        assert preview["counts"]["offers_new"] == 150 and preview["counts"]["products_new"] == 150
        assert await catalog_counts() == before  # a preview changes nothing
        done = await run([feed], tmp_path)
        assert done["status"] == "done", done["fatal"]
        assert await Offer.count() == before[2] + 150
        unavailable = await Offer.count().where((Offer.source == "yml") & (Offer.available == False))  # noqa: E712
        assert unavailable == 9
        stamp = await Offer.select(Offer.updated_at).order_by(Offer.updated_at, ascending=False).first()
        again = await run([feed], tmp_path)
        assert again["counts"]["offers_new"] == 0 and again["counts"]["offers_changed"] == 0
        assert again["counts"]["offers_unchanged"] == 150 and again["counts"]["products_changed"] == 0
        assert await Offer.select(Offer.updated_at).order_by(Offer.updated_at, ascending=False).first() == stamp


async def test_cp1251_feed_keeps_cyrillic_and_minor_units(shop, tmp_path) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        job = await run([REAL / "yml" / "frezermsk_cp1251_vendor_model.xml"], tmp_path)
        assert job["status"] == "done" and job["counts"]["offers_new"] == 106
        currencies = {r["currency"] for r in await Offer.select(Offer.currency).where(Offer.source == "yml")}
        assert {"EUR", "RUB", "USD"} <= currencies
        names = [r["name"] for r in await Offer.select(Offer.name).where(Offer.source == "yml").limit(200)]
        assert any(any("а" <= ch <= "я" for ch in name.lower()) for name in names)


async def test_full_feed_marks_missing_offers_unavailable_not_deleted(shop, tmp_path) -> None:
    def feed(ids: list[int]) -> Path:
        offers = "".join(f'<offer id="f{i}"><name>Item {i}</name><price>{i}0</price></offer>' for i in ids)
        path = tmp_path / f"feed{len(ids)}.xml"
        path.write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><name>S</name>'
            f"<offers>{offers}</offers></shop></yml_catalog>",
            encoding="utf-8",
        )
        return path

    async with tenancy.bind_tenant(shop.tenant):
        await run([feed([1, 2, 3])], tmp_path)
        job = await run([feed([1, 2])], tmp_path)
        assert job["counts"]["marked_unavailable"] >= 1
        gone = await Offer.select(Offer.available, Offer.price_minor).where(Offer.external_id == "f3").first()
        assert gone == {"available": False, "price_minor": 3000}


async def test_price_and_stock_only_feed_updates_known_offers(shop, tmp_path) -> None:
    full = tmp_path / "full.xml"
    full.write_text(
        '<yml_catalog><shop><offers><offer id="p1"><name>A</name><price>10</price></offer>'
        "</offers></shop></yml_catalog>",
        encoding="utf-8",
    )
    partial = tmp_path / "partial.xml"
    partial.write_text(
        '<yml_catalog><shop><offers><offer id="p1"><price>12.50</price><quantity>4</quantity>'
        '</offer><offer id="nope"><price>1</price></offer></offers></shop></yml_catalog>',
        encoding="utf-8",
    )
    async with tenancy.bind_tenant(shop.tenant):
        await run([full], tmp_path)
        job = await run([partial], tmp_path)
        assert job["status"] == "done", job["fatal"]
        row = await Offer.select(Offer.price_minor, Offer.stock, Offer.name).where(Offer.external_id == "p1").first()
        assert row == {"price_minor": 1250, "stock": 4, "name": "A"}


async def test_commerceml_exchange_of_several_files(shop, tmp_path) -> None:
    folder = REAL / "commerceml" / "ut11_v207"
    async with tenancy.bind_tenant(shop.tenant):
        job = await run(sorted(folder.iterdir()), tmp_path)
        assert job["status"] == "done", job["fatal"]
        in_file = len(etree.parse(str(folder / "offers0_1.xml")).xpath("//*[local-name()='Предложение']"))
        assert in_file == 44  # 8 of them without their product in import0_1.xml: they become products
        assert job["counts"]["offers_new"] == in_file
        assert await Offer.count().where(Offer.source == "commerceml") == in_file


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><yml_catalog>&x;</yml_catalog>',
            "XXE",
        ),
        ("", "empty"),
        ('<?xml version="1.0"?><yml_catalog><shop><offers><offer id="1"><name>A', "truncated"),
    ],
)
async def test_broken_files_change_nothing(shop, tmp_path, content: str, code: str) -> None:
    path = tmp_path / f"{code}.xml"
    path.write_text(content, encoding="utf-8")
    async with tenancy.bind_tenant(shop.tenant):
        before = await catalog_counts()
        job = await run([path], tmp_path)
        assert job["status"] == "failed" and job["fatal"]
        assert await catalog_counts() == before


async def test_cancelled_import_changes_nothing(shop, tmp_path) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        before = await catalog_counts()
        job_id = await jobs.create_job([REAL / "yml" / "epicentr_no_shop_multilang.xml"], tmp_path)
        cancelled = await jobs.cancel(job_id)
        assert cancelled["status"] == "cancelled"
        assert (await jobs.run_job(job_id))["status"] == "cancelled"
        assert await catalog_counts() == before


async def test_row_report_lists_line_field_and_reason(shop, tmp_path) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        job = await run([REAL / "yml" / "vendor_model_unavailable.xml"], tmp_path, apply=False)
        assert job["warnings"] > 0
        report = "".join(await jobs.report_csv(job["id"]))
        assert report.splitlines()[0].startswith("File,Line,Field")
        assert len(report.splitlines()) == 1 + job["warnings"] + job["errors"]


def fixture_sets() -> list[tuple[str, list[Path]]]:
    sets = [(f"yml/{p.name}", [p]) for p in sorted((REAL / "yml").glob("*.xml"))]
    sets += [(f"csv/{p.name}", [p]) for p in sorted((REAL / "csv").glob("*.csv")) if "orders" not in p.name]
    for folder in sorted((REAL / "commerceml").iterdir()):
        files = [p for p in sorted(folder.iterdir()) if not p.name.startswith("orders")]
        sets.append((f"commerceml/{folder.name}", files))
    return sets


@pytest.mark.parametrize(("label", "paths"), fixture_sets(), ids=[label for label, _ in fixture_sets()])
async def test_every_real_fixture_imports_and_a_second_import_changes_nothing(runtime, tmp_path, label, paths) -> None:
    store = await make_store("fx-" + str(abs(hash(label)) % 10**8))
    async with tenancy.bind_tenant(store.tenant):
        first = await run(paths, tmp_path, options={"currency": "USD"} if label.startswith("csv") else None)
        assert first["status"] == "done", f"{label}: {first['fatal']}"
        counts = first["counts"]
        assert counts["offers_new"] + counts.get("offers_updated", 0) + counts["categories_new"] > 0 or (
            counts["updates_in_file"] > 0
        ), label
        second = await run(paths, tmp_path, options={"currency": "USD"} if label.startswith("csv") else None)
        assert second["status"] == "done"
        again = second["counts"]
        changed = {
            k: v for k, v in again.items() if k.endswith(("_new", "_changed", "offers_updated", "unavailable")) and v
        }
        assert not changed, f"{label}: second import changed {changed}"


async def test_shopify_orders_export_is_refused_with_a_reason(shop, tmp_path) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        job = await run([REAL / "csv" / "shopify_orders_export_devstore.csv"], tmp_path)
        assert job["status"] == "failed" and "orders" in job["fatal"].lower()


async def test_csv_with_the_wrong_delimiter_is_refused(shop, tmp_path) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text("name;price;sku\nA;10;X1\nB;20;X2\n", encoding="utf-8")
    async with tenancy.bind_tenant(shop.tenant):
        before = await catalog_counts()
        job = await run([path], tmp_path, options={"delimiter": ",", "mapping": {"name": "name", "price": "price"}})
        assert job["status"] == "failed" and job["fatal"]
        assert await catalog_counts() == before


async def test_report_cells_never_become_spreadsheet_formulas(shop, tmp_path) -> None:
    feed = tmp_path / "formula.xml"
    feed.write_text(
        "<yml_catalog><shop><offers><offer id='=HYPERLINK(\"https://evil/\",1)'><name>A</name>"
        "<price>abc</price></offer></offers></shop></yml_catalog>",
        encoding="utf-8",
    )
    async with tenancy.bind_tenant(shop.tenant):
        job = await run([feed], tmp_path, apply=False)
        report = "".join(await jobs.report_csv(job["id"]))
        assert "'=HYPERLINK" in report and ",=HYPERLINK" not in report


async def test_big_yml_merges_batch_by_batch_and_links_categories_that_come_last(runtime, tmp_path) -> None:
    """A feed of several parse batches is merged as it streams; <categories> after <offers> still link up."""
    count = 4500  # more than two parse batches
    offers = "".join(
        f'<offer id="o{i}" available="true"><name>Item {i}</name><price>{10 + i}.50</price>'
        f"<currencyId>RUB</currencyId><categoryId>{2 if i % 2 else 1}</categoryId><count>{i % 5}</count></offer>"
        for i in range(count)
    )
    feed = tmp_path / "late-categories.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><yml_catalog date="2026-11-01"><shop><name>S</name>'
        f'<currencies><currency id="RUB" rate="1"/></currencies><offers>{offers}</offers>'
        '<categories><category id="1">Tools</category><category id="2" parentId="1">Drills</category></categories>'
        "</shop></yml_catalog>",
        encoding="utf-8",
    )
    shop = await make_store("import-stream")
    async with tenancy.bind_tenant(shop.tenant):
        preview = await run([feed], tmp_path / "a", apply=False)
        assert preview["counts"]["offers_new"] == count and await Offer.count() == 0
        job = await run([feed], tmp_path / "b")
        assert job["status"] == "done", job["fatal"]
        assert job["counts"]["offers_new"] == count and job["counts"]["products_new"] == count
        drills = await Category.select(Category.id, Category.path).where(Category.external_id == "2").first()
        assert drills["path"] == "Tools / Drills"
        linked = await Product.count().where(Product.category == drills["id"])
        assert linked == count // 2
        price = await Offer.select(Offer.price_minor).where(Offer.external_id == "o4499").first()
        assert price["price_minor"] == 450950
        again = await run([feed], tmp_path / "c")
        assert again["counts"]["offers_unchanged"] == count and again["counts"]["products_changed"] == 0
