"""Format sniffing and the single entry points that dispatch to the right parser."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.services.imports import ImportFileError, detect_format, parse_file, parse_files, stream_files

pytestmark = pytest.mark.unit

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "real"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("yml/yandex_doc_example_all_offer_types.xml", "yml"),
        ("yml/rozetka_shmakovka_cr_no_decl.xml", "yml"),
        ("yml/frezermsk_cp1251_vendor_model.xml", "yml"),
        ("yml/epicentr_no_shop_multilang.xml", "yml"),
        ("commerceml/ut11_v207/import0_1.xml", "commerceml"),
        ("commerceml/1c_doc_v204/offers.xml", "commerceml"),
        ("csv/woocommerce_sample_products_2018.csv", "csv"),
        ("csv/shopify_product_template_2019.csv", "csv"),
    ],
)
def test_every_kind_of_fixture_is_recognised(relative: str, expected: str) -> None:
    assert detect_format(REAL / relative) == expected


def test_parse_file_dispatches_without_being_told_the_format() -> None:
    assert parse_file(REAL / "yml" / "ecwid_karsaman_group_id.xml").format == "yml"
    assert parse_file(REAL / "csv" / "shopify_product_template_2019.csv").preset == "shopify"
    assert len(parse_file(REAL / "commerceml" / "1c_doc_v204" / "import.xml").products) == 4


def test_uploaded_stream_can_be_sniffed_and_then_parsed() -> None:
    upload = io.BytesIO((REAL / "yml" / "vendor_model_unavailable.xml").read_bytes())
    assert detect_format(upload) == "yml"
    assert len(parse_file(upload).offers) == 5


def test_several_commerceml_files_form_one_exchange() -> None:
    folder = REAL / "commerceml" / "ut11_v207"
    result = parse_files([folder / "offers0_1.xml", folder / "import0_1.xml"])
    # 36 products, and 8 offers whose product import0_1.xml lacks become products of their own
    assert (len(result.products), len(result.offers)) == (44, 44)


def test_several_files_of_other_formats_are_refused() -> None:
    files = [REAL / "commerceml" / "1c_doc_v204" / "import.xml", REAL / "yml" / "prom_price_stock_only.xml"]
    with pytest.raises(ImportFileError) as caught:
        stream_files(files)
    assert caught.value.code == "mixed_files"


def test_unknown_xml_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        detect_format(io.BytesIO(b'<?xml version="1.0"?><rss><channel/></rss>'))
    assert caught.value.code == "unsupported_xml"
