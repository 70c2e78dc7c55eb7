"""Generic CSV: guessed and explicit mappings, delimiter sniffing and refusal of misread tables."""

from __future__ import annotations

import io

import pytest

from app.services.imports import ImportFileError, guess_mapping, parse_csv

pytestmark = pytest.mark.unit


def _csv(text: str, **options: object) -> object:
    return parse_csv(io.BytesIO(text.encode("utf-8")), **options)  # type: ignore[arg-type]


def test_guess_mapping_understands_russian_headers() -> None:
    header = [
        "Артикул",
        "Наименование",
        "Цена, руб",
        "Старая цена",
        "Остаток",
        "Наличие",
        "Производитель",
        "Фото",
    ]
    assert guess_mapping(header) == {
        "sku": "Артикул",
        "name": "Наименование",
        "price": "Цена, руб",
        "old_price": "Старая цена",
        "stock": "Остаток",
        "available": "Наличие",
        "vendor": "Производитель",
        "pictures": "Фото",
    }


def test_guess_mapping_understands_ukrainian_and_english_headers() -> None:
    assert guess_mapping(["Код", "Назва", "Ціна (грн)", "Кількість", "Категорія"]) == {
        "external_id": "Код",
        "name": "Назва",
        "price": "Ціна (грн)",
        "stock": "Кількість",
        "category": "Категорія",
    }
    assert guess_mapping(["SKU", "Title", "Price", "Compare at price", "Qty", "Barcode"]) == {
        "sku": "SKU",
        "name": "Title",
        "price": "Price",
        "old_price": "Compare at price",
        "stock": "Qty",
        "barcode": "Barcode",
    }


def test_semicolon_file_with_decimal_commas_is_sniffed_and_priced_in_kopecks() -> None:
    result = _csv(
        "Артикул;Наименование;Цена;Остаток;Категория\n"
        "A-1;Стол;1 234,50;3;Мебель > Столы\nA-2;Стул;99,9;0;Мебель > Стулья\n"
    )
    assert [(o.external_id, o.price_minor, o.stock) for o in result.offers] == [
        ("A-1", 123_450, 3),
        ("A-2", 9990, 0),
    ]
    assert [(c.external_id, c.parent_external_id) for c in result.categories] == [
        ("Мебель", None),
        ("Мебель > Столы", "Мебель"),
        ("Мебель > Стулья", "Мебель"),
    ]
    assert result.is_full and result.preset == "generic"


def test_explicit_mapping_and_store_currency_apply() -> None:
    text = "code\ttitle\tcost\tgroup\nX1\tКофта S\t10\tK\nX2\tКофта M\t10\tK\n"
    result = _csv(
        text,
        mapping={"external_id": "code", "name": "title", "price": "cost", "group_key": "group"},
        currency="UAH",
    )
    assert [p.external_id for p in result.products] == ["K"]  # rows sharing a group are variants
    assert [(o.external_id, o.product_external_id, o.currency) for o in result.offers] == [
        ("X1", "K", "UAH"),
        ("X2", "K", "UAH"),
    ]


def test_file_without_a_name_column_becomes_price_and_stock_updates() -> None:
    result = _csv("sku,price,stock\nA-1,10.5,4\nA-2,1234.5,0\n")
    assert not result.is_full and not result.products
    assert [(u.offer_external_id, u.price_minor, u.stock) for u in result.updates] == [
        ("A-1", 1050, 4),
        ("A-2", 123_450, 0),
    ]


def test_availability_column_holding_counts_sets_stock() -> None:
    result = _csv("sku,name,наличие\nA,Стол,5\nB,Стул,0\nC,Шкаф,есть\nD,Полка,нет\n")
    # "0" and "1" read as no/yes; larger numbers are counts.
    assert [(o.stock, o.available) for o in result.offers] == [
        (5, True),
        (None, False),
        (None, True),
        (None, False),
    ]


def test_bad_price_skips_only_that_row_with_an_error() -> None:
    result = _csv("sku,name,price\nA,Table,12.50\nB,Chair,twelve\nC,Lamp,3\n")
    assert [o.external_id for o in result.offers] == ["A", "C"]
    [issue] = result.issues
    assert (issue.line, issue.code, issue.severity, issue.external_id) == (3, "bad_price", "error", "B")
    assert "twelve" in issue.message


def test_row_with_extra_filled_columns_is_skipped() -> None:
    rows = "".join(f"A{i},Table {i},{i}\n" for i in range(9))
    result = _csv("sku,name,price\n" + rows + "B,Chair,2,surprise\nC,Lamp,3,\n")
    assert [o.external_id for o in result.offers][-2:] == ["A8", "C"]  # an empty extra cell is tolerated
    assert [(i.line, i.code) for i in result.issues] == [(11, "extra_columns")]


def test_a_few_ragged_rows_in_a_small_file_are_beyond_tolerance() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("sku,name,price\nA,Table,1\nB,Chair,2,surprise\nC,Lamp\n")
    assert caught.value.code == "inconsistent_columns"


def test_wrong_forced_delimiter_is_refused_when_the_header_shows_another() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("sku;name;price\nA;Table;1\nB;Chair;2\n", delimiter=",")
    assert caught.value.code == "wrong_delimiter"
    assert "semicolon" in caught.value.message and caught.value.line == 1


def test_header_and_rows_disagreeing_on_the_delimiter_are_refused() -> None:
    text = "sku;name;price\n" + "".join(f"A{i},Table {i},{i}\n" for i in range(10))
    with pytest.raises(ImportFileError) as caught:
        _csv(text)
    assert caught.value.code == "inconsistent_columns"


def test_single_column_file_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("just one column\nvalue\nanother\n")
    assert caught.value.code == "no_delimiter"


def test_excel_sep_hint_line_names_the_delimiter() -> None:
    result = _csv("sep=;\nsku;name;price\nA;Table;1,5\n")
    assert [(o.external_id, o.price_minor) for o in result.offers] == [("A", 150)]


def test_mapping_to_a_missing_column_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("sku,name\nA,B\n", mapping={"sku": "sku", "name": "Name"})
    assert caught.value.code == "unknown_column"


def test_unrecognised_headers_are_refused_with_a_hint_to_map() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("foo,bar\n1,2\n")
    assert caught.value.code == "unmapped_columns"


def test_empty_csv_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        _csv("\n\n")
    assert caught.value.code == "empty_file"
