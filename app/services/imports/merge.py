"""SQL that merges the staged rows of one import into the catalog (``$1`` is the source key).

Every UPDATE carries an ``IS DISTINCT FROM`` guard, so an unchanged row is not rewritten: importing the
same file twice changes nothing the second time, and the counts say so.
"""

# ruff: noqa: S608 - every statement is a constant; only table names from this module are interpolated

from __future__ import annotations

STAGE_TABLES: dict[str, list[str]] = {
    "stage_category": ["external_id", "name", "names", "parent_external_id", "line"],
    "stage_product": [
        "external_id",
        "name",
        "names",
        "description",
        "descriptions",
        "vendor",
        "vendor_code",
        "category_external_id",
        "pictures",
        "params",
        "url",
        "group_key",
        "line",
    ],
    "stage_offer": [
        "external_id",
        "product_external_id",
        "sku",
        "name",
        "price_minor",
        "old_price_minor",
        "currency",
        "stock",
        "available",
        "params",
        "pictures",
        "barcode",
        "line",
    ],
    "stage_update": ["external_id", "price_minor", "old_price_minor", "currency", "stock", "available", "line"],
}

STAGE_DDL = """
CREATE TEMP TABLE stage_category (external_id text, name text, names jsonb, parent_external_id text, line int)
  ON COMMIT DROP;
CREATE TEMP TABLE stage_product (external_id text, name text, names jsonb, description text, descriptions jsonb,
  vendor text, vendor_code text, category_external_id text, pictures jsonb, params jsonb, url text,
  group_key text, line int) ON COMMIT DROP;
CREATE TEMP TABLE stage_offer (external_id text, product_external_id text, sku text, name text,
  price_minor bigint, old_price_minor bigint, currency text, stock int, available bool, params jsonb,
  pictures jsonb, barcode text, line int) ON COMMIT DROP;
CREATE TEMP TABLE stage_update (external_id text, price_minor bigint, old_price_minor bigint, currency text,
  stock int, available bool, line int) ON COMMIT DROP;
"""

# The last occurrence of an id in the file wins.
_LAST = "DISTINCT ON (external_id) * FROM {table} WHERE external_id IS NOT NULL ORDER BY external_id, line DESC"

CATEGORIES = f"""
INSERT INTO category (source, external_id, name, names, path, updated_at)
SELECT $1, s.external_id, s.name, coalesce(s.names, '{{}}'), '', now()
FROM (SELECT {_LAST.format(table="stage_category")}) s
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO UPDATE
  SET name = excluded.name, names = excluded.names, updated_at = now()
  WHERE (category.name, category.names) IS DISTINCT FROM (excluded.name, excluded.names)
"""

CATEGORY_PARENTS = f"""
UPDATE category c SET parent = p.id, updated_at = now()
FROM (SELECT {_LAST.format(table="stage_category")}) s
LEFT JOIN category p ON p.source = $1 AND p.external_id = s.parent_external_id
WHERE c.source = $1 AND c.external_id = s.external_id AND c.id IS DISTINCT FROM p.id
  AND c.parent IS DISTINCT FROM p.id
"""

CATEGORY_PATHS = """
WITH RECURSIVE tree AS (
  SELECT id, name::text AS path, 1 AS depth FROM category WHERE parent IS NULL
  UNION ALL
  SELECT c.id, tree.path || ' / ' || c.name, tree.depth + 1 FROM category c JOIN tree ON c.parent = tree.id
  WHERE tree.depth < 32
)
UPDATE category SET path = tree.path FROM tree
WHERE category.id = tree.id AND category.path IS DISTINCT FROM tree.path
"""

_PRODUCT_SET = {
    "name": "excluded.name",
    "names": "excluded.names",
    "description": "coalesce(excluded.description, product.description)",
    "descriptions": "excluded.descriptions",
    "vendor": "coalesce(excluded.vendor, product.vendor)",
    "vendor_code": "coalesce(excluded.vendor_code, product.vendor_code)",
    "category": "coalesce(excluded.category, product.category)",
    "pictures": "excluded.pictures",
    "params": "excluded.params",
    "url": "coalesce(excluded.url, product.url)",
    "group_key": "coalesce(excluded.group_key, product.group_key)",
}

PRODUCTS = f"""
INSERT INTO product (source, external_id, name, names, description, descriptions, vendor, vendor_code, category,
  pictures, params, url, group_key, created_at, updated_at)
SELECT $1, s.external_id, s.name, coalesce(s.names, '{{}}'), coalesce(s.description, ''),
  coalesce(s.descriptions, '{{}}'), s.vendor, s.vendor_code, cat.id, coalesce(s.pictures, '[]'),
  coalesce(s.params, '[]'), s.url, s.group_key, now(), now()
FROM (SELECT {_LAST.format(table="stage_product")}) s
LEFT JOIN category cat ON cat.source = $1 AND cat.external_id IS NOT NULL
  AND cat.external_id = s.category_external_id
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO UPDATE
  SET {", ".join(f"{k} = {v}" for k, v in _PRODUCT_SET.items())}, updated_at = now()
  WHERE ({", ".join(f"product.{k}" for k in _PRODUCT_SET)}) IS DISTINCT FROM ({", ".join(_PRODUCT_SET.values())})
"""

# Match by external id first; an offer this source has never seen may still be a known SKU.
ADOPT_BY_SKU = """
UPDATE offer o SET source = $1, external_id = s.external_id, updated_at = now()
FROM (SELECT DISTINCT ON (lower(sku)) external_id, sku FROM stage_offer n
      WHERE sku IS NOT NULL AND external_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM offer x WHERE x.source = $1 AND x.external_id IS NOT NULL
                        AND x.external_id = n.external_id)
      ORDER BY lower(sku), line DESC) s
WHERE o.sku IS NOT NULL AND lower(o.sku) = lower(s.sku)
  AND NOT (o.source = $1 AND o.external_id IN (SELECT external_id FROM stage_offer WHERE external_id IS NOT NULL))
"""

_OFFER_SET = {
    "product": "excluded.product",
    "sku": "coalesce(excluded.sku, offer.sku)",
    "name": "excluded.name",
    "price_minor": "excluded.price_minor",
    "old_price_minor": "excluded.old_price_minor",
    "currency": "excluded.currency",
    "stock": "coalesce(excluded.stock, offer.stock)",
    "available": "excluded.available",
    "params": "excluded.params",
    "pictures": "excluded.pictures",
    "barcode": "coalesce(excluded.barcode, offer.barcode)",
}

OFFERS = f"""
INSERT INTO offer (product, source, external_id, sku, name, price_minor, old_price_minor, currency, stock,
  available, params, pictures, barcode, created_at, updated_at)
SELECT p.id, $1, s.external_id, s.sku, coalesce(s.name, p.name), s.price_minor, s.old_price_minor,
  coalesce(s.currency, $2), s.stock, coalesce(s.available, s.stock IS NULL OR s.stock > 0),
  coalesce(s.params, '[]'), coalesce(s.pictures, '[]'), s.barcode, now(), now()
FROM (SELECT {_LAST.format(table="stage_offer")}) s
JOIN product p ON p.source = $1 AND p.external_id IS NOT NULL AND p.external_id = s.product_external_id
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO UPDATE
  SET {", ".join(f"{k} = {v}" for k, v in _OFFER_SET.items())}, updated_at = now()
  WHERE ({", ".join(f"offer.{k}" for k in _OFFER_SET)}) IS DISTINCT FROM ({", ".join(_OFFER_SET.values())})
"""

UPDATES = f"""
UPDATE offer o SET
  price_minor = coalesce(u.price_minor, o.price_minor),
  old_price_minor = CASE WHEN u.price_minor IS NULL THEN o.old_price_minor ELSE u.old_price_minor END,
  currency = coalesce(u.currency, o.currency),
  stock = coalesce(u.stock, o.stock),
  available = coalesce(u.available, CASE WHEN u.stock IS NOT NULL THEN u.stock > 0 END, o.available),
  updated_at = now()
FROM (SELECT {_LAST.format(table="stage_update")}) u
WHERE o.source = $1 AND o.external_id IS NOT NULL AND o.external_id = u.external_id
  AND (o.price_minor, o.old_price_minor, o.currency, o.stock, o.available) IS DISTINCT FROM (
    coalesce(u.price_minor, o.price_minor),
    CASE WHEN u.price_minor IS NULL THEN o.old_price_minor ELSE u.old_price_minor END,
    coalesce(u.currency, o.currency), coalesce(u.stock, o.stock),
    coalesce(u.available, CASE WHEN u.stock IS NOT NULL THEN u.stock > 0 END, o.available))
"""

# A full feed describes the whole catalog of its source: what it no longer lists is unavailable, not deleted.
# A product's own price-on-request offer (same external id, no price) is listed as long as the product is.
UNAVAILABLE = """
UPDATE offer o SET available = false, updated_at = now()
WHERE o.source = $1 AND o.available AND o.external_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM stage_offer s WHERE s.external_id = o.external_id)
  AND NOT (o.price_minor IS NULL AND EXISTS (SELECT 1 FROM stage_product p WHERE p.external_id = o.external_id))
"""

# A product the file sends without any offer (a 1C import.xml sent alone, a grouped product) is still listed:
# it gets one offer with its own external id and no price, "price on request", which nobody can order until a
# later file prices it (an offers.xml whose Предложение has the product's Ид updates exactly this offer).
PRODUCT_OFFERS = """
INSERT INTO offer (product, source, external_id, name, price_minor, currency, available, params, pictures,
  created_at, updated_at)
SELECT p.id, $1, p.external_id, p.name, NULL, $2, true, '[]', p.pictures, now(), now()
FROM (SELECT DISTINCT external_id FROM stage_product WHERE external_id IS NOT NULL) s
JOIN product p ON p.source = $1 AND p.external_id IS NOT NULL AND p.external_id = s.external_id
WHERE NOT EXISTS (SELECT 1 FROM offer o WHERE o.product = p.id)
ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
"""

# Once a product has offers of its own, the placeholder above is dropped (nothing can have ordered it: no price).
STALE_PRODUCT_OFFERS = """
DELETE FROM offer o USING product p
WHERE o.product = p.id AND p.source = $1 AND o.source = $1 AND o.external_id = p.external_id
  AND o.price_minor IS NULL
  AND NOT EXISTS (SELECT 1 FROM stage_offer s WHERE s.external_id = o.external_id)
  AND EXISTS (SELECT 1 FROM offer x WHERE x.product = p.id AND x.id <> o.id)
"""

# Goods of this file listed without a price (reported, so "price on request" is never a surprise).
PRICE_ON_REQUEST = """
SELECT count(*) FROM offer o
WHERE o.source = $1 AND o.price_minor IS NULL AND o.external_id IS NOT NULL
  AND (EXISTS (SELECT 1 FROM stage_offer s WHERE s.external_id = o.external_id)
       OR EXISTS (SELECT 1 FROM stage_product s WHERE s.external_id = o.external_id))
"""

# Prices the file gives without a currency take the store's: reported, since UAH read as RUB is a loss.
CURRENCY_ASSUMED = """
SELECT count(DISTINCT external_id) FROM stage_offer WHERE currency IS NULL AND price_minor IS NOT NULL
"""

ORPHAN_OFFERS = f"""
SELECT count(*) FROM (SELECT {_LAST.format(table="stage_offer")}) s
WHERE NOT EXISTS (SELECT 1 FROM product p WHERE p.source = $1 AND p.external_id IS NOT NULL
                  AND p.external_id = s.product_external_id)
"""

UNKNOWN_UPDATES = f"""
SELECT count(*) FROM (SELECT {_LAST.format(table="stage_update")}) u
WHERE NOT EXISTS (SELECT 1 FROM offer o WHERE o.source = $1 AND o.external_id IS NOT NULL
                  AND o.external_id = u.external_id)
"""

# A category that arrives after the goods that name it (a feed with <categories> after <offers>) is linked
# once every batch has been merged.
LATE_CATEGORY_LINKS = f"""
UPDATE product p SET category = c.id, updated_at = now()
FROM (SELECT {_LAST.format(table="stage_product")}) s
JOIN category c ON c.source = $1 AND c.external_id = s.category_external_id
WHERE p.source = $1 AND p.external_id = s.external_id AND p.category IS NULL
"""

# Whole-file steps after the goods are merged: what the file lists without offers, prices or currencies.
CATALOG_CHECKS: list[tuple[str, str, str]] = [
    ("products_listed_without_offers", PRODUCT_OFFERS, "status"),
    ("product_offers_dropped", STALE_PRODUCT_OFFERS, "status"),
    ("price_on_request", PRICE_ON_REQUEST, "scalar"),
    ("currency_assumed", CURRENCY_ASSUMED, "scalar"),
]

# (count name, SQL, how to count): "upsert" rows are split into new and changed by RETURNING.
MERGE_STEPS: list[tuple[str, str, str]] = [
    ("categories", CATEGORIES, "upsert"),
    ("category_links", CATEGORY_PARENTS, "status"),
    ("category_paths", CATEGORY_PATHS, "status"),
    ("products", PRODUCTS, "upsert"),
    ("offers_matched_by_sku", ADOPT_BY_SKU, "status"),
    ("offers_without_product", ORPHAN_OFFERS, "scalar"),
    ("offers", OFFERS, "upsert"),
    ("updates_not_found", UNKNOWN_UPDATES, "scalar"),
    ("offers_updated", UPDATES, "status"),
    ("marked_unavailable", UNAVAILABLE, "status"),
    *CATALOG_CHECKS,
]

# Streaming merge (YML): the row steps run per batch on ``batch_*`` tables while the parser reads on; the
# steps that need the whole file (category tree, late category links, what disappeared) run at the end.
BATCH_DDL = "".join(
    f"CREATE TEMP TABLE {name.replace('stage_', 'batch_')} (LIKE {name}) ON COMMIT DROP;\n" for name in STAGE_TABLES
)
_PER_BATCH = {"categories", "products", "offers_matched_by_sku", "offers_without_product", "offers",
              "updates_not_found", "offers_updated"}  # fmt: skip
BATCH_STEPS: list[tuple[str, str, str]] = [
    (name, sql.replace("stage_", "batch_"), kind) for name, sql, kind in MERGE_STEPS if name in _PER_BATCH
]
FINAL_STEPS: list[tuple[str, str, str]] = [
    ("category_links", CATEGORY_PARENTS, "status"),
    ("category_paths", CATEGORY_PATHS, "status"),
    ("late_category_links", LATE_CATEGORY_LINKS, "status"),
    ("marked_unavailable", UNAVAILABLE, "status"),
    # A YML offer always brings its product, so only the price and currency checks apply (the bench stays fast).
    *(step for step in CATALOG_CHECKS if step[0] in {"price_on_request", "currency_assumed"}),
]
KEEP_BATCH = "".join(
    f"INSERT INTO {name} SELECT * FROM {name.replace('stage_', 'batch_')}; TRUNCATE {name.replace('stage_', 'batch_')};"
    for name in STAGE_TABLES
)
# Mid-import, the catalog's statistics still describe it as it was before (often empty), so the planner
# would loop over the whole catalog once per batch row. Hash joins cost one pass of the catalog per merge
# whatever the statistics say; the streaming merge sizes its merges so that those passes stay linear.
BATCH_PLANNING = "SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off"
WHOLE_FILE_PLANNING = "SET LOCAL enable_nestloop = on; SET LOCAL enable_mergejoin = on"
STREAMING_FORMATS = frozenset({"yml"})
