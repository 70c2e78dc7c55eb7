"""Goods and customers sorted by name: case set aside, each language's alphabet (a portable sort key in SQL).

Run also on PostgreSQL 15: AUTOOFFICE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import random

import pytest

from app.services import customers, products
from app.tables.catalog import Offer, Product
from app.tables.customers import Customer
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

# Written from the alphabets, not from the code: Ukrainian а б в г ґ д е є ж з и і ї й …, Russian а … е ё ж …
# (ё files with е, so "Ёж" comes before "Ежевика"); brands that differ only in case stay together.
UKRAINIAN = ["Арбуз", "Гусак", "Ґава", "Дуб", "Єнот", "Жук", "Ирій", "Іва", "Їжак", "Йогурт"]
RUSSIAN = ["Арбуз", "Гусак", "Дуб", "Ёж", "Ежевика", "Жук", "Йогурт", "Шкаф", "Щука", "Юла", "Яблоко"]
BRANDS = ["Bahco", "BOSCH дрель", "bosch ключ", "Bosch шуруповёрт", "Makita"]


def by_script(names: list[str]) -> tuple[list[str], list[str]]:
    """The Cyrillic names and the Latin ones, each in listed order (which script comes first is the language's)."""
    return [n for n in names if not n[0].isascii()], [n for n in names if n[0].isascii()]


def shuffled(names: list[str]) -> list[str]:
    copy = list(names)
    random.Random(7).shuffle(copy)
    return copy


async def add_goods(names: list[str]) -> None:
    for name in shuffled(names):
        product = Product(name=name)
        await product.save()
        await Offer(product=product.id, name=name, price_minor=100).save()


async def add_people(names: list[str]) -> None:
    for number, name in enumerate(shuffled(names)):
        await Customer(name=name, phone=f"+7912000{number:04d}").save()


@pytest.mark.parametrize(("locale", "cyrillic"), [("uk", UKRAINIAN), ("ru", RUSSIAN)])
async def test_goods_sort_by_the_store_languages_alphabet_ignoring_case(runtime, locale, cyrillic) -> None:
    store = await make_store(f"sort-goods-{locale}", locale=locale)
    async with tenancy.bind_tenant(store.tenant):
        await add_goods(cyrillic + BRANDS)
        page = await products.list_page(products.parse_filters({"sort": "name"}))
    assert by_script([item["name"] for item in page.items]) == (cyrillic, BRANDS)


@pytest.mark.parametrize(("locale", "cyrillic"), [("uk", UKRAINIAN), ("ru", RUSSIAN)])
async def test_customers_sort_by_the_store_languages_alphabet_with_and_without_search(
    runtime, locale, cyrillic
) -> None:
    store = await make_store(f"sort-people-{locale}", locale=locale)
    async with tenancy.bind_tenant(store.tenant):
        await add_people(cyrillic + BRANDS)
        listed = await customers.list_page(customers.parse_filters({"sort": "name"}), country="RU")
        searched = await customers.list_page(customers.parse_filters({"sort": "name", "q": "bosch"}), country="RU")
    assert by_script([row["name"] for row in listed.items]) == (cyrillic, BRANDS)
    assert [row["name"] for row in searched.items] == ["BOSCH дрель", "bosch ключ", "Bosch шуруповёрт"]


async def test_an_english_store_sorts_latin_first_and_keeps_brands_together(runtime) -> None:
    store = await make_store("sort-goods-en", locale="en")
    async with tenancy.bind_tenant(store.tenant):
        await add_goods(["Арбуз", "Яблоко", *BRANDS])
        page = await products.list_page(products.parse_filters({"sort": "name"}))
    assert [item["name"] for item in page.items] == [*BRANDS, "Арбуз", "Яблоко"]
