"""YML rules on generated feeds: bad rows are skipped with reasons, the rest still imports."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from app.services.imports import ImportFileError, ParseResult, detect_format, parse_yml
from app.services.imports.records import Category, order_categories

pytestmark = pytest.mark.unit


def _feed(offers: str, head: str = "") -> ParseResult:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2024-05-01"><shop><name>S</name>\n'
        f"{head}<offers>\n{offers}</offers></shop></yml_catalog>\n"
    )
    return parse_yml(io.BytesIO(text.encode()))


def test_bad_price_skips_the_offer_and_keeps_the_others() -> None:
    result = _feed(
        '<offer id="1"><name>A</name><price>10</price></offer>\n'
        '<offer id="2"><name>B</name><price>десять</price></offer>\n'
        '<offer id="3"><name>C</name><price>30</price></offer>\n'
    )
    assert [o.external_id for o in result.offers] == ["1", "3"]
    [issue] = result.errors
    assert (issue.line, issue.field, issue.code, issue.external_id) == (5, "price", "bad_price", "2")
    assert "десять" in issue.message


def test_duplicate_offer_id_and_nameless_offer_are_errors() -> None:
    result = _feed(
        '<offer id="1"><name>A</name><price>1</price></offer>\n'
        '<offer id="1"><name>A again</name><price>2</price></offer>\n'
        '<offer id="2"><price>3</price><url>http://x/2</url></offer>\n'
        "<offer><name>No id</name><price>4</price></offer>\n"
    )
    assert [o.name for o in result.offers] == ["A"]
    assert [i.code for i in result.errors] == ["missing_name", "missing_id", "duplicate_id"]


def test_old_price_not_above_price_is_dropped_with_a_warning() -> None:
    result = _feed('<offer id="1"><name>A</name><price>100</price><oldprice>90</oldprice></offer>\n')
    assert result.offers[0].old_price_minor is None
    assert [i.code for i in result.warnings] == ["old_price_not_higher"]


def test_named_rate_sources_and_default_currency() -> None:
    head = '<currencies><currency id="RUR" rate="1"/><currency id="USD" rate="CBRF" plus="3"/></currencies>\n'
    result = _feed('<offer id="1"><name>A</name><price>1,5</price></offer>\n', head)
    assert [(c.code, c.rate, c.rate_source, c.plus) for c in result.currencies] == [
        ("RUB", Decimal(1), None, None),
        ("USD", None, "CBRF", Decimal(3)),
    ]
    assert (result.offers[0].currency, result.offers[0].price_minor) == ("RUB", 150)


def test_stock_variants_and_outlets_are_read() -> None:
    result = _feed(
        '<offer id="1"><name>A</name><price>1</price><count>4</count></offer>\n'
        '<offer id="2"><name>B</name><price>1</price><quantity>7</quantity></offer>\n'
        '<offer id="3"><name>C</name><price>1</price><outlets><outlet id="1" instock="2"/>'
        '<outlet id="2" instock="5"/></outlets></offer>\n'
    )
    assert [o.stock for o in result.offers] == [4, 7, 7]


def test_lang_attributes_and_suffixes_fill_names_by_language() -> None:
    result = _feed(
        '<offer id="1"><name>Чайник</name><name_ua>Чайник (укр)</name_ua><name lang="en">Kettle</name>'
        "<price>1</price><barcode>4600000000011</barcode><barcode>4600000000028</barcode></offer>\n"
    )
    product = result.products[0]
    assert product.name == "Чайник"
    assert product.names_by_lang == {"uk": "Чайник (укр)", "en": "Kettle"}
    assert product.barcodes == ["4600000000011", "4600000000028"]
    assert result.offers[0].barcode == "4600000000011"


def test_categories_with_cycles_and_late_parents_are_ordered_parents_first() -> None:
    ordered = order_categories(
        [
            Category("3", "Child", "2"),
            Category("2", "Parent", "1"),
            Category("1", "Root"),
            Category("a", "Loop A", "b"),
            Category("b", "Loop B", "a"),
            Category("1", "Duplicate root"),
        ]
    )
    categories = [c for c in ordered if isinstance(c, Category)]
    # The loop is cut at its topmost link: "b" becomes a root and "a" stays under it.
    assert [c.external_id for c in categories] == ["1", "2", "3", "b", "a"]
    assert [c.parent_external_id for c in categories] == [None, "1", "2", None, "b"]
    assert sorted(r.code for r in ordered if not isinstance(r, Category)) == ["category_cycle", "duplicate_category"]


def test_zip_archive_is_refused_with_a_hint() -> None:
    with pytest.raises(ImportFileError) as caught:
        detect_format(io.BytesIO(b"PK\x03\x04" + b"\x00" * 40))
    assert caught.value.code == "archive"
