"""Order history import against a real store: what the file holds lands, once, whole or not at all.

Expected counts and sums are taken from the files with csv / lxml here, not from the importer's parsers.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from app.i18n import use_locale
from app.services import orders
from app.services.imports import orders_apply
from app.tables.customers import Customer, CustomerEvent
from app.tables.orders import Order, OrderLine, OrderStatus
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "orders"
REAL = Path("/work/shared/fixtures/real")
SHOPIFY_REAL = REAL / "csv" / "shopify_orders_export_devstore.csv"
CML_REAL = REAL / "commerceml" / "1c_doc_v204" / "orders.xml"


def cents(raw: str) -> int:
    return int(Decimal(raw.replace(",", ".")) * 100)


def shopify_facts(data: bytes) -> dict:
    """Orders, line rows, totals and per-customer spend, read straight from the export."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    first = {}
    for row in rows:
        first.setdefault(row["Name"], row)
    spend: dict[str, int] = defaultdict(int)
    for row in first.values():
        if row["Email"] and not row["Cancelled at"]:
            spend[row["Email"].lower()] += cents(row["Total"])
    return {
        "orders": len(first),
        "lines": len(rows),
        "total": sum(cents(r["Total"]) for r in first.values()),
        "spend": dict(spend),
    }


async def imported() -> dict:
    orders = await Order.select().where(Order.source == "import")
    lines = await OrderLine.count().where(OrderLine.order.source == "import")
    return {"orders": len(orders), "lines": lines, "total": sum(o["total_minor"] for o in orders)}


async def run(*names: Path, **options) -> orders_apply.OrdersReport:
    return await orders_apply.import_files([(p.name, p.read_bytes()) for p in names], **options)


@pytest.mark.skipif(not SHOPIFY_REAL.exists(), reason="shared fixtures missing")
async def test_real_shopify_export_lands_whole_and_reimport_changes_nothing(runtime) -> None:
    store = await make_store("ord-shopify", currency="EUR", country="CA")
    facts = shopify_facts(SHOPIFY_REAL.read_bytes())
    async with tenancy.bind_tenant(store.tenant):
        preview = await run(SHOPIFY_REAL, dry_run=True)
        assert (preview.issues, preview.applied, preview.orders_new) == ([], False, facts["orders"])
        assert (await imported())["orders"] == 0
        report = await run(SHOPIFY_REAL)
        assert report.applied and report.orders_new == facts["orders"] and report.lines == facts["lines"]
        assert await imported() == {k: facts[k] for k in ("orders", "lines", "total")}
        numbers = {o["number"] for o in await Order.select(Order.number)}
        assert {f"#{n}" for n in range(1001, 1020)} <= numbers
        people = await Customer.select().where(Customer.email.is_in(list(facts["spend"])))
        assert {p["email"]: p["total_spent_minor"] for p in people} == facts["spend"]
        assert all(p["rfm_class"] for p in people)
        before = await Customer.select(Customer.id, Customer.total_spent_minor, Customer.orders_count)
        events = await CustomerEvent.count()
        again = await run(SHOPIFY_REAL)
        assert (again.orders_new, again.orders_unchanged, again.issues) == (0, facts["orders"], [])
        assert await imported() == {k: facts[k] for k in ("orders", "lines", "total")}
        assert await Customer.select(Customer.id, Customer.total_spent_minor, Customer.orders_count) == before
        assert await CustomerEvent.count() == events


@pytest.mark.skipif(not CML_REAL.exists(), reason="shared fixtures missing")
async def test_real_commerceml_203_orders_all_land(runtime) -> None:
    root = etree.fromstring(CML_REAL.read_bytes())
    # Two of the three documents are 1C's status updates of orders: no goods, no sum.
    documents = [d for d in root.findall("Документ") if d.find("Товары") is not None]
    updates = len(root.findall("Документ")) - len(documents)
    numbers = {d.findtext("Номер") for d in documents}
    store = await make_store("ord-cml-real")
    async with tenancy.bind_tenant(store.tenant):
        report = await run(CML_REAL)
        assert report.issues == [] and report.orders_new == len(documents) == 1
        assert [line for _n, line, _m in report.warnings] == [111, 141] and updates == 2
        landed = await Order.select(Order.number, Order.total_minor, Order.created_at)
        assert {o["number"] for o in landed} == numbers
        sums = {d.findtext("Номер"): cents(d.findtext("Сумма")) for d in documents}
        assert {o["number"]: o["total_minor"] for o in landed} == sums
        assert landed[0]["created_at"].year == 2007


async def test_commerceml_208_keeps_numbers_dates_delivery_discount_and_dedupes(runtime) -> None:
    store = await make_store("ord-cml")
    async with tenancy.bind_tenant(store.tenant):
        report = await run(DATA / "commerceml_208_orders.xml")
        assert (report.issues, report.orders_new, report.customers_new) == ([], 2, 1)
        rows = {o["number"]: o for o in await Order.select(Order.all_columns(), Order.status.group)}
        first, second = rows["1001"], rows["1002"]
        assert (first["total_minor"], first["delivery_minor"], first["subtotal_minor"]) == (230000, 30000, 200000)
        assert (second["discount_minor"], second["total_minor"]) == (10000, 50000)
        assert (first["status.group"], second["status.group"]) == ("complete", "new")
        assert json.loads(first["fields"])["import"]["paid"] is True
        assert first["created_at"].isoformat().startswith("2025-01-10T09:30:00")  # 12:30 in Moscow
        assert first["customer"] == second["customer"]  # phone+e-mail, then the same e-mail in another case
        person = await Customer.select().where(Customer.id == first["customer"]).first()
        assert (person["orders_count"], person["total_spent_minor"]) == (2, 280000)
        # The same orders in cp1251 are the same source and numbers: nothing changes.
        again = await run(DATA / "commerceml_208_orders_cp1251.xml")
        assert (again.orders_new, again.orders_unchanged, again.issues) == (0, 2, [])
        assert await Order.count() == 2
        # Our numbering starts at 1001 too: an order placed now must not draw an imported number.
        placed, _created = await orders.create_order(
            orders.OrderDraft(lines=(orders.LineDraft(None, "Лампа", None, 100000, 1),), currency="RUB")
        )
        assert placed["number"] == "1003"


async def test_woocommerce_and_mapped_csv_land_with_statuses_mapped(runtime) -> None:
    store = await make_store("ord-csv", currency="UAH", country="UA")
    woo = list(csv.DictReader((DATA / "woocommerce_orders.csv").open(encoding="utf-8")))
    async with tenancy.bind_tenant(store.tenant):
        report = await run(DATA / "woocommerce_orders.csv")
        assert report.issues == [] and report.orders_new == len(woo) == 3
        groups = {
            o["number"]: o["status.group"]
            for o in await Order.select(Order.number, Order.status.group).where(Order.source == "import")
        }
        assert groups == {"512": "complete", "513": "assembling", "514": "cancel"}
        olena = await Customer.select().where(Customer.email == "olena@example.com").first()
        assert olena["phone"] == "+380671234567" and olena["orders_count"] == 2
        assert olena["total_spent_minor"] == cents(woo[0]["order_total"]) + cents(woo[1]["order_total"])
        placed, _created = await orders.create_order(
            orders.OrderDraft(lines=(orders.LineDraft(None, "Чашка", None, 45000, 1),), currency="UAH")
        )
        assert placed["number"] == "1001"  # imported numbers below ours leave our numbering alone
        ivan = await Customer.select().where(Customer.email == "ivan@example.com").first()
        assert (ivan["phone"], ivan["orders_count"], ivan["total_spent_minor"]) == ("+380501112233", 0, 0)
    russian = await make_store("ord-mapped")
    async with tenancy.bind_tenant(russian.tenant):
        mapped = await run(DATA / "mapped_orders.csv")
        assert mapped.issues == [] and (mapped.orders_new, mapped.lines) == (2, 3)
        person = await Customer.select().where(Customer.phone == "+79120001122").first()
        assert (person["orders_count"], person["total_spent_minor"]) == (1, 110000)  # the cancelled one not spent


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_broken_row_refuses_the_whole_file_with_a_translated_row_report(runtime, locale) -> None:
    store = await make_store(f"ord-broken-{locale}", locale=locale)
    text = (DATA / "shopify_orders.csv").read_text(encoding="utf-8").replace(",40.00,SB-1,,", ",сорок,SB-1,,")
    async with tenancy.bind_tenant(store.tenant):
        with use_locale(locale):
            report = await orders_apply.import_files([("broken.csv", text.encode())])
        assert not report.applied and await Order.count() == 0 and await Customer.count() == 0
        assert [(name, line) for name, line, _m in report.issues] == [("broken.csv", 3)]
        message = report.issues[0][2]
        assert "сорок" in message and "is not an amount" not in message


async def test_control_characters_and_huge_quantities_are_row_problems_not_crashes(runtime) -> None:
    store = await make_store("ord-hostile")
    text = (DATA / "shopify_orders.csv").read_text(encoding="utf-8")
    text = text.replace("#1002,", "#10\x0002,").replace(
        ",1,Snowboard,40.00,SB-1,Anna", ",99999999,Snowboard,40.00,SB-1,Anna"
    )
    async with tenancy.bind_tenant(store.tenant):
        report = await orders_apply.import_files([("hostile.csv", text.encode())])
        assert not report.applied and [line for _n, line, _m in report.issues] == [4, 5]
        assert await Order.count() == 0


async def test_an_order_number_taken_by_another_order_refuses_the_file(runtime) -> None:
    store = await make_store("ord-clash")
    async with tenancy.bind_tenant(store.tenant):
        status = await OrderStatus.select(OrderStatus.id).first()
        await Order.raw(
            "INSERT INTO orders (number, token, status, created_at, updated_at)"
            " VALUES ('1002', 't-clash', {}, now(), now())",
            status["id"],
        )
        report = await run(DATA / "commerceml_208_orders.xml")
        assert not report.applied and [line for _n, line, _m in report.issues] == [50]
        assert await Order.count() == 1 and await Customer.count() == 0


async def test_store_b_cannot_see_store_a_import(runtime) -> None:
    a, b = await make_store("ord-iso-a"), await make_store("ord-iso-b")
    async with tenancy.bind_tenant(a.tenant):
        assert (await run(DATA / "shopify_orders.csv")).orders_new == 3
    async with tenancy.bind_tenant(b.tenant):
        assert await Order.count() == 0 and await Customer.count() == 0
