"""Facts read from every real CSV fixture, parsed in place from ../shared/fixtures/real/csv."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.services.imports import ImportFileError, parse_csv

pytestmark = pytest.mark.unit

CSV = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "real" / "csv"


def test_woocommerce_export_splits_products_variations_and_category_paths() -> None:
    result = parse_csv(CSV / "woocommerce_sample_products_2018.csv")
    assert result.preset == "woocommerce" and result.sources[0].encoding == "utf-8"  # BOM stripped
    assert (len(result.products), len(result.offers)) == (18, 22)
    assert not result.issues
    assert [(c.external_id, c.parent_external_id) for c in result.categories] == [
        ("Clothing", None),
        ("Clothing > Tshirts", "Clothing"),
        ("Clothing > Hoodies", "Clothing"),
        ("Clothing > Accessories", "Clothing"),
        ("Music", None),
        ("Decor", None),
    ]
    products = {p.external_id: p for p in result.products}
    assert products["woo-vneck-tee"].name == "V-Neck T-Shirt"
    assert len(products["woo-vneck-tee"].pictures) == 3
    assert products["woo-vneck-tee"].category_external_id == "Clothing > Tshirts"
    offers = {o.external_id: o for o in result.offers}
    variants = Counter(o.product_external_id for o in result.offers if o.external_id != o.product_external_id)
    assert variants == {"woo-vneck-tee": 3, "woo-hoodie": 4}
    assert (offers["woo-beanie"].price_minor, offers["woo-beanie"].old_price_minor) == (1800, 2000)
    assert offers["wp-pennant"].price_minor == 1105 and products["wp-pennant"].url
    assert offers["woo-hoodie-red"].params == [("Color", "Red", None), ("Logo", "No", None)]
    # Variable and grouped products describe goods but have no price of their own.
    assert "woo-vneck-tee" not in offers and "logo-collection" not in offers
    assert all(o.available is True and o.currency is None for o in result.offers)


def test_shopify_excel_round_trip_groups_rows_by_handle_and_flags_lost_barcodes() -> None:
    result = parse_csv(CSV / "shopify_product_template_2023_excel.csv")
    assert result.preset == "shopify"
    assert [(p.external_id, p.name) for p in result.products] == [
        ("example-shirt", "Example T-Shirt"),
        ("example-pants", "Example Jeans"),
        ("example-hat", "Example Beanie"),
    ]
    assert Counter(o.product_external_id for o in result.offers) == {
        "example-shirt": 12,
        "example-pants": 3,
        "example-hat": 1,
    }
    shirt, pants, hat = result.products
    assert (len(shirt.pictures), len(pants.pictures), len(hat.pictures)) == (6, 4, 1)  # image-only rows count
    assert (shirt.published, pants.published, hat.published) == (True, False, False)
    offers = {o.external_id: o for o in result.offers}
    assert offers["SRT_COT_111"].params == [("Color", "Green", None), ("Size", "S", None)]
    assert offers["HAT_GRY_275"].params == []  # "Title: Default Title" is no real option
    assert (offers["HAT_GRY_275"].price_minor, offers["HAT_GRY_275"].old_price_minor) == (1799, 2299)
    assert (offers["PNT_DEN_285"].price_minor, offers["PNT_DEN_285"].stock) == (9500, 20)
    assert all(o.barcode is None for o in result.offers)
    assert Counter(i.code for i in result.issues) == {"barcode_mangled": 16, "old_price_not_higher": 3}
    assert all(i.severity == "warning" for i in result.issues)


def test_shopify_2019_template_reads_doubled_quotes_in_option_values() -> None:
    result = parse_csv(CSV / "shopify_product_template_2019.csv")
    assert (len(result.products), len(result.offers)) == (1, 3)
    first, small, medium = result.offers
    assert first.params == [("Title", 'Lithograph - Height: 9" x Width: 12"', None)]
    assert first.external_id == 'example-t-shirt/Lithograph - Height: 9" x Width: 12"'  # no SKU: handle + option
    assert (small.external_id, small.price_minor, small.old_price_minor) == ("example-shirt-s", 1999, 2499)
    assert medium.params == [("Title", "Medium", None)]
    assert result.products[0].vendor == "Acme" and result.products[0].category_external_id == "Shirts"


def test_shopify_orders_export_is_refused_as_not_a_product_file() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_csv(CSV / "shopify_orders_export_devstore.csv")
    assert caught.value.code == "orders_export"
    assert "orders export" in caught.value.message
