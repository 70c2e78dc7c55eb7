"""Catalog tables in every store database: categories, products and their offers (SKUs, variants).

Each row remembers where it came from (``source``: yml, commerceml, csv, manual) and its id there
(``external_id``); a re-import matches on that pair, so it updates instead of duplicating.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Category(Table, tablename="category"):
    source = Varchar(length=16, default="manual")
    external_id = Varchar(length=255, null=True, default=None)
    name = Varchar(length=255)
    names = JSONB(default={})  # translations by language code, e.g. {"uk": "…"}
    parent = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    path = Text(default="")  # "Root / Child / Leaf", kept current by the import
    updated_at = Timestamptz()


class Product(Table, tablename="product"):
    source = Varchar(length=16, default="manual")
    external_id = Varchar(length=255, null=True, default=None)
    name = Varchar(length=500)
    names = JSONB(default={})
    description = Text(default="")
    descriptions = JSONB(default={})
    vendor = Varchar(length=255, null=True, default=None)
    vendor_code = Varchar(length=255, null=True, default=None)
    category = ForeignKey(references=Category, null=True, on_delete=OnDelete.set_null)
    pictures = JSONB(default=[])
    params = JSONB(default=[])  # [[name, value, unit], …]
    url = Text(null=True, default=None)
    group_key = Varchar(length=255, null=True, default=None)
    vat_code = Varchar(length=8, null=True, default=None)  # None: the store's default VAT
    measure = Varchar(length=24, default="piece")  # FFD 1.2 unit of measure
    payment_subject = Varchar(length=32, default="commodity")
    payment_mode = Varchar(length=24, default="full_payment")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Offer(Table, tablename="offer"):
    """What is sold: a SKU or a variant of a product, with its own price and stock."""

    product = ForeignKey(references=Product, on_delete=OnDelete.cascade)
    source = Varchar(length=16, default="manual")
    external_id = Varchar(length=255, null=True, default=None)
    sku = Varchar(length=255, null=True, default=None)
    name = Varchar(length=500)
    price_minor = BigInt(null=True, default=0)  # NULL: price on request (not orderable)
    old_price_minor = BigInt(null=True, default=None)
    currency = Varchar(length=3, default="RUB")
    stock = Integer(null=True, default=None)
    available = Boolean(default=True)
    params = JSONB(default=[])
    pictures = JSONB(default=[])
    barcode = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
