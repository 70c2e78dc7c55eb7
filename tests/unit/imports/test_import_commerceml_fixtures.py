"""Facts read from every real CommerceML fixture set, parsed in place from ../shared/fixtures/real."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from app.services.imports import ImportFileError, parse_commerceml

pytestmark = pytest.mark.unit

CML = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "real" / "commerceml"


def test_official_204_sample_merges_import_and_offers_given_in_any_order() -> None:
    folder = CML / "1c_doc_v204"
    result = parse_commerceml([folder / "offers.xml", folder / "import.xml"])
    assert [s.kind for s in result.sources] == ["import", "offers"]
    assert result.sources[0].schema_version == "2.04"
    assert result.is_full and not result.issues
    assert [(c.name, c.parent_external_id) for c in result.categories] == [("Мебель", None)]
    assert [p.name for p in result.products] == ["Стол обеденный", "Стол обеденный", "Стулья", "Стулья"]
    table = result.products[0]
    assert table.group_key == "05e26d70-01e4-11dc-a411-00055d80a2d1"
    assert table.params[0] == ("Цвет", "Белый", None)
    # Four price types; the retail one ("Розничная", in roubles) wins over the USD ones.
    assert result.price_type == "Розничная"
    assert [(o.price_minor, o.currency, o.stock) for o in result.offers] == [(700, "RUB", 0), (700, "RUB", 0)]
    assert result.offers[0].product_external_id == table.external_id


def test_orders_document_is_refused_as_not_a_catalog() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_commerceml([CML / "1c_doc_v204" / "orders.xml"])
    assert caught.value.code == "orders_not_catalog"


def test_readyscript_changes_only_package_is_not_full_and_resolves_characteristics() -> None:
    folder = CML / "readyscript_v205_incremental"
    result = parse_commerceml([folder / "import.xml", folder / "offers.xml"])
    assert not result.is_full
    assert len(result.categories) == 4
    parents = {c.name: c.parent_external_id for c in result.categories}
    names = {c.external_id: c.name for c in result.categories}
    assert names[parents["Группа 3"]] == "Товары"
    dress = result.products[0]
    assert (dress.name, dress.vendor_code) == ("Платье 2", "П2")
    # Dictionary properties are resolved through ВариантыЗначений; empty values are dropped.
    assert [(p.name, p.value) for p in dress.params] == [
        ("Скидка %", "30"),
        ("Бренд", "GSFR"),
        ("Цвет", "Красный;Черный"),
        ("Размер", "38;39;40;41;42;43"),
    ]
    variant = result.offers[1]
    assert variant.product_external_id == dress.external_id
    assert [(p.name, p.value) for p in variant.params] == [("Размер", "39"), ("Цвет", "Красный")]
    assert (variant.price_minor, variant.currency, variant.stock) == (1_235_600, "RUB", 9)


def _ids(path: Path, tag: str) -> list[str]:
    """Ид of every ``tag`` in the file, read with lxml XPath (independent of our parser)."""
    tree = etree.parse(str(path))
    return [str(i) for i in tree.xpath(f"//*[local-name()='{tag}']/*[local-name()='Ид']/text()")]


def test_ut11_offers_without_their_product_become_products_named_from_the_offer() -> None:
    folder = CML / "ut11_v207"
    products, offers = _ids(folder / "import0_1.xml", "Товар"), _ids(folder / "offers0_1.xml", "Предложение")
    orphans = [o for o in offers if o.split("#", 1)[0] not in products and o not in products]
    assert len(orphans) == 8  # the file's own fact, counted above; none may vanish
    result = parse_commerceml([folder / "offers0_1.xml", folder / "import0_1.xml"])
    assert result.is_full and result.price_type == "BASE"
    assert (len(result.categories), len(result.products), len(result.offers), len(result.updates)) == (
        1,
        len(set(products)) + len(orphans),
        len(offers),
        0,
    )
    assert Counter(i.code for i in result.issues) == {"product_missing": 8}
    rug = result.products[0]
    assert rug.name == "Портативный коврик Portable 140x200x1 см, Деревянные лошадки"
    assert (rug.vendor, rug.vendor_code, rug.barcodes) == ("Crazy Boom", "PM-421-WP", ["8809288404089"])
    assert ("Страна производства", "КОРЕЯ, РЕСПУБЛИКА", None) in rug.params
    # Stock is Количество; the three per-warehouse Склад values (1 + 0 + 376) agree with it.
    assert (result.offers[0].price_minor, result.offers[0].stock) == (10_000, 377)
    orphan_id = "1ebb7d25-a752-11e8-80c8-0cc47ab29cd1"
    orphan = next(o for o in result.offers if o.external_id == orphan_id)
    assert (orphan.name, orphan.price_minor, orphan.stock) == ("Детское кресло Higher, белое", 10_000, 0)
    made = next(p for p in result.products if p.external_id == orphan.product_external_id)
    assert made.name == "Детское кресло Higher, белое"


def test_bitrix_split_files_merge_prices_and_rests_into_updates() -> None:
    folder = CML / "bitrix_v209_split"
    files = sorted(folder.iterdir(), reverse=True)  # rests, prices, offers, import: order must not matter
    result = parse_commerceml(files)
    assert [s.kind for s in result.sources] == ["import", "offers", "prices", "rests"]
    assert not result.is_full
    assert (len(result.categories), len(result.products), len(result.offers)) == (97, 0, 0)
    assert result.price_type == "Типовое соглашение Интернет-МХТ"
    assert len(result.updates) == 978
    assert all(u.price_minor is not None and u.stock is not None for u in result.updates)
    first = {u.offer_external_id: u for u in result.updates}["26b0dc1e-4d66-11e4-99fe-003048c64779"]
    assert (first.price_minor, first.currency, first.stock) == (18_100, "RUB", 1)
    assert first.name == "Дезодорант для мужчин Чистая линия Фито защита без белых следов 150мл"  # no trailing space
    assert [i.code for i in result.issues] == ["no_products"]
    tree = {c.external_id: c for c in result.categories}
    assert tree["392672ee-31d7-11e4-a628-003048c64779"].parent_external_id == "dadf39b8-00f8-11e4-81ce-00155d003d0f"


def test_prices_file_alone_yields_price_updates_only() -> None:
    prices = next((CML / "bitrix_v209_split").glob("prices___*.xml"))
    result = parse_commerceml(prices)
    assert len(result.updates) == 978 and all(u.stock is None for u in result.updates)
    assert not result.issues  # prices files are keyed updates by nature: nothing to warn about
