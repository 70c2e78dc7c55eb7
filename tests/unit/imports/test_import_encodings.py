"""Encodings and line ends: declarations, BOMs, detection of undeclared windows-1251, CR-only files."""

from __future__ import annotations

import codecs
import io

import pytest

from app.services.imports import ImportFileError, parse_csv, parse_yml

pytestmark = pytest.mark.unit

BODY = (
    '<yml_catalog date="2024-01-01">\n<shop><name>Пасека</name>\n'
    '<currencies><currency id="RUR" rate="1"/></currencies>\n'
    '<categories><category id="1">Мёд и продукты пчеловодства</category></categories>\n<offers>\n'
    '<offer id="1" available="true"><name>Мёд липовый, банка 0,5 л</name><price>1 234,50</price>'
    "<currencyId>RUR</currencyId><categoryId>1</categoryId></offer>\n"
    '<offer id="2" available="false"><name>Пыльца цветочная</name><price>500.000000</price>'
    "<currencyId>RUR</currencyId><categoryId>1</categoryId></offer>\n</offers></shop></yml_catalog>\n"
)
DECLARED = '<?xml version="1.0" encoding="windows-1251"?>\n' + BODY


def test_cp1251_feed_without_declaration_is_detected_and_decoded() -> None:
    result = parse_yml(io.BytesIO(BODY.encode("cp1251")))
    assert result.sources[0].encoding == "cp1251"
    assert [p.name for p in result.products] == ["Мёд липовый, банка 0,5 л", "Пыльца цветочная"]
    assert result.categories[0].name == "Мёд и продукты пчеловодства"
    assert [o.price_minor for o in result.offers] == [123_450, 50_000]


def test_declared_windows_1251_is_read_natively() -> None:
    result = parse_yml(io.BytesIO(DECLARED.encode("cp1251")))
    assert result.sources[0].encoding == "windows-1251" and not result.issues
    assert result.products[1].name == "Пыльца цветочная"


def test_file_claiming_utf8_but_written_in_cp1251_is_decoded_with_a_warning() -> None:
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + BODY).encode("cp1251")
    result = parse_yml(io.BytesIO(data))
    assert result.products[0].name == "Мёд липовый, банка 0,5 л"
    assert [(i.code, i.severity) for i in result.issues] == [("encoding_mismatch", "warning")]


def test_cr_only_line_ends_keep_true_line_numbers() -> None:
    result = parse_yml(io.BytesIO(BODY.replace("\n", "\r").encode("cp1251")))
    assert [o.line for o in result.offers] == [6, 7]
    assert result.products[0].name == "Мёд липовый, банка 0,5 л"


def test_cr_only_truncated_file_reports_its_real_line() -> None:
    data = BODY.replace("\n", "\r").encode("utf-8")
    with pytest.raises(ImportFileError) as caught:
        parse_yml(io.BytesIO(data[: data.index("Пыльца".encode())]))
    assert caught.value.code == "truncated_xml" and caught.value.line == 7


def test_utf8_bom_and_utf16_bom_files_parse_alike() -> None:
    utf8 = parse_yml(io.BytesIO(codecs.BOM_UTF8 + BODY.encode()))
    utf16 = parse_yml(io.BytesIO(('<?xml version="1.0" encoding="UTF-16"?>\n' + BODY).encode("utf-16")))
    assert [p.name for p in utf8.products] == [p.name for p in utf16.products]
    assert utf16.sources[0].encoding.startswith("utf-16")


def test_crlf_file_counts_lines_once() -> None:
    result = parse_yml(io.BytesIO(BODY.replace("\n", "\r\n").encode()))
    assert [o.line for o in result.offers] == [6, 7]


def test_cp1251_csv_without_bom_is_detected() -> None:
    text = "Артикул;Наименование;Цена;Наличие\nA-1;Стол обеденный;1 234,50;да\nA-2;Стул венский;500;нет\n"
    result = parse_csv(io.BytesIO(text.encode("cp1251")))
    assert result.sources[0].encoding == "cp1251"
    assert [p.name for p in result.products] == ["Стол обеденный", "Стул венский"]
    assert [(o.price_minor, o.available) for o in result.offers] == [(123_450, True), (50_000, False)]


def test_cr_only_csv_is_split_into_rows_with_line_numbers() -> None:
    text = "sku,name,price\rA-1,Table,10.50\rA-2,Chair,5\r"
    result = parse_csv(io.BytesIO(text.encode()))
    assert [(o.external_id, o.price_minor, o.line) for o in result.offers] == [
        ("A-1", 1050, 2),
        ("A-2", 500, 3),
    ]


def test_bytes_invalid_in_the_detected_encoding_are_reported() -> None:
    head = ("sku,name\n" + "A,Мёд\n" * 10000).encode()  # more than the sniffed sample, all UTF-8
    with pytest.raises(ImportFileError) as caught:
        parse_csv(io.BytesIO(head + b"B,\xff\xfe\n"))
    assert caught.value.code == "bad_encoding"
