"""Facts read from every real YML fixture, parsed in place from ../shared/fixtures/real/yml."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from app.services.imports import ParseResult, parse_yml

pytestmark = pytest.mark.unit

YML = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "real" / "yml"


def _parse(name: str) -> ParseResult:
    return parse_yml(YML / name)


def test_yandex_example_reads_every_offer_type_and_the_category_tree() -> None:
    result = _parse("yandex_doc_example_all_offer_types.xml")
    products = {p.external_id: p for p in result.products}
    offers = {o.external_id: o for o in result.offers}
    assert (len(result.categories), len(products), len(offers)) == (19, 7, 7)
    assert result.is_full and not result.issues
    # vendor.model is named "typePrefix vendor model" (the vendor here starts with a Cyrillic "Н").
    assert products["12341"].name == "Принтер НP Color LaserJet 3000"
    assert products["12342"].name == "Все не так. В 2 томах. Том 1"
    assert products["12344"].name == "Pink Floyd — Dark Side Of The Moon, Platinum Disc"
    assert products["12345"].name == "Свадьба Мюриэл"
    assert ("author", "Александра Маринина") in [(p.name, p.value) for p in products["12342"].params]
    assert offers["12341"].price_minor == 1_500_000 and offers["12341"].old_price_minor == 2_500_000
    assert offers["12347"].price_minor == 500_000 and offers["12347"].currency == "RUB"
    parents = {c.external_id: c.parent_external_id for c in result.categories}
    assert parents["101"] == "10" and parents["10"] == "1" and parents["1"] is None
    assert products["12341"].category_external_id == "101"
    assert [(c.code, c.rate) for c in result.currencies] == [
        ("RUB", Decimal(1)),
        ("USD", Decimal(30)),
        ("EUR", Decimal(40)),
    ]


def test_yandex_example_lists_categories_parents_first() -> None:
    seen: set[str] = set()
    for category in _parse("yandex_doc_example_all_offer_types.xml").categories:
        assert category.parent_external_id is None or category.parent_external_id in seen
        seen.add(category.external_id)


def test_vendor_model_fixture_reports_dangling_references_and_unavailable_offers() -> None:
    result = _parse("vendor_model_unavailable.xml")
    assert (len(result.products), len(result.offers)) == (5, 5)
    assert sum(o.available is False for o in result.offers) == 3
    assert {p.external_id: p.name for p in result.products}["12395"] == "DT 20000"  # no <vendor>
    assert [c.external_id for c in result.categories] == [
        "5700",
        "5701",
        "5702",
        "5703",
        "5704",
        "5705",
        "5898",
        "5900",
    ]
    codes = Counter((i.code, i.severity) for i in result.issues)
    assert codes == {
        ("missing_name", "error"): 1,
        ("missing_parent", "warning"): 2,
        ("unknown_category", "warning"): 5,
    }
    assert all(o.currency == "RUB" for o in result.offers)  # RUR is normalized
    assert [c.rate for c in result.currencies] == [Decimal(1), Decimal("57.72"), Decimal("53.66")]
    assert len(result.products[0].pictures) == 3 and len(result.products[0].params) == 7


def test_cp1251_feed_decodes_cyrillic_names_and_keeps_each_offer_currency() -> None:
    result = _parse("frezermsk_cp1251_vendor_model.xml")
    assert result.sources[0].encoding == "windows-1251"
    assert (len(result.categories), len(result.products), len(result.offers)) == (1, 106, 106)
    assert result.categories[0].name == "Фрезеры" and result.categories[0].parent_external_id is None
    names = {p.external_id: p.name for p in result.products}
    assert names["49"] == "AEG OF 2050 E (403665)"  # the leading space of <model> is gone
    assert "BOSCH GKF 600 Professional кромочный" in names.values()
    offers = {o.external_id: o for o in result.offers}
    assert (offers["49"].price_minor, offers["49"].currency) == (24_928, "EUR")
    assert (offers["1"].price_minor, offers["1"].currency) == (20_500, "USD")
    assert Counter(o.currency for o in result.offers) == {"EUR": 59, "RUB": 37, "USD": 10}
    assert all(p.description is None for p in result.products)  # whitespace-only descriptions
    assert result.products[2].url == "http://frezermsk2.ru/catalog/155/Black%26Decker/46.html"


def test_ecwid_group_id_offers_become_variants_of_eleven_products() -> None:
    result = _parse("ecwid_karsaman_group_id.xml")
    assert (len(result.products), len(result.offers)) == (11, 77)
    assert Counter(o.product_external_id for o in result.offers) == {p.external_id: 7 for p in result.products}
    first = result.products[0]
    assert first.external_id == first.group_key == "413376464"
    assert first.name == "Красно-белый утепленный бомбер с капюшоном от КарСаМаН на молнии."
    assert len(first.pictures) == 7
    variant = {o.external_id: o for o in result.offers}["413376464C229995501"]
    assert ("Размер", "52", "RU") in variant.params and variant.price_minor == 860_000
    assert sum(len(o.pictures) for o in result.offers) == 129
    assert result.currencies[0].code == "RUB" and result.currencies[0].rate is None
    assert result.sources[0].shop_url == "https://карсаман.рф/" and result.sources[0].platform == "Ecwid"


def test_rozetka_cr_only_feed_without_declaration_reads_cyrillic_available_attribute() -> None:
    result = _parse("rozetka_shmakovka_cr_no_decl.xml")
    assert (len(result.categories), len(result.products), len(result.offers)) == (41, 25, 25)
    assert all(o.available is True for o in result.offers)
    assert [i.code for i in result.issues] == ["homoglyph_attribute"]
    first = result.offers[0]
    assert (first.external_id, first.price_minor, first.stock, first.line) == ("4820204710248", 9900, 999, 53)
    assert result.products[1].name == 'Мёд c сублимированной клубникой, мёд-шмёд "Тыдыщ!" 250 г'
    fifties = [c for c in result.categories if c.name == "150"]
    assert len(fifties) == 9 and len({c.parent_external_id for c in fifties}) == 9
    assert sum(len(p.params) for p in result.products) == 132
    assert result.products[0].description is not None and "<b>Состав:</b>" in result.products[0].description


def test_eva_feed_reads_ukrainian_names_and_price_old() -> None:
    result = _parse("eva_ua_name_ua_price_old.xml")
    assert (len(result.categories), len(result.products), len(result.offers)) == (14, 150, 150)
    assert sum(o.available is False for o in result.offers) == 9
    assert sum(o.old_price_minor is not None for o in result.offers) == 71
    pan = {o.external_id: o for o in result.offers}["1052247"]
    assert (pan.price_minor, pan.old_price_minor, pan.stock, pan.currency) == (199_900, 364_900, 0, "UAH")
    product = result.products[0]
    assert product.names_by_lang == {"uk": "Сковорода Fiskars Steel 28 см (1059096)"}
    assert set(product.descriptions_by_lang) == {"uk"} and product.vendor_code == "1059096"
    assert sum(len(p.pictures) for p in result.products) == 610
    assert sum(len(p.params) for p in result.products) == 1004


def test_epicentr_feed_without_shop_reads_inline_categories_and_languages() -> None:
    result = _parse("epicentr_no_shop_multilang.xml")
    assert (len(result.products), len(result.offers)) == (206, 206)
    assert [(c.external_id, c.name) for c in result.categories] == [("5442", "Валізи")]
    first = result.products[0]
    assert first.name == "Чемодан Snowball 33703 большой 101л черный (33703-L-Black)"
    assert first.names_by_lang["uk"] == "Валіза Snowball 33703 велика 101л чорна (33703-L-Black)"
    assert first.category_external_id == "5442" and first.vendor == "Snowball"
    assert sum(o.available is False for o in result.offers) == 87
    assert sum(p.vendor is None for p in result.products) == 6
    assert sum(o.old_price_minor is not None for o in result.offers) == 25
    assert {o.currency for o in result.offers} == {None}  # no currencies at all: the store's own applies
    assert result.offers[0].price_minor == 325_000
    assert ("Висота", "75", None) in first.params and ("height", "750", None) in first.params


def test_prom_price_and_stock_feed_is_a_partial_update() -> None:
    result = _parse("prom_price_stock_only.xml")
    assert not result.is_full
    assert (len(result.products), len(result.offers), len(result.updates)) == (0, 0, 152)
    assert sum(u.available is False for u in result.updates) == 46
    first = result.updates[0]
    assert (first.offer_external_id, first.price_minor, first.stock, first.currency) == (
        "110904206",
        348_000,
        1,
        "UAH",
    )
    assert sum(u.stock or 0 for u in result.updates) == 415
