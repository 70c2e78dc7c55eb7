from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T01:48:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog indexes: external ids, lookups, search"


class RawTable(Table):
    pass


STATEMENTS = [
    "CREATE UNIQUE INDEX category_source_external ON category (source, external_id) WHERE external_id IS NOT NULL",
    "CREATE UNIQUE INDEX product_source_external ON product (source, external_id) WHERE external_id IS NOT NULL",
    "CREATE UNIQUE INDEX offer_source_external ON offer (source, external_id) WHERE external_id IS NOT NULL",
    "CREATE INDEX category_parent ON category (parent)",
    "CREATE INDEX category_path ON category (path text_pattern_ops)",
    "CREATE INDEX product_category ON product (category)",
    "CREATE INDEX offer_product ON offer (product)",
    "CREATE INDEX offer_sku ON offer (lower(sku)) WHERE sku IS NOT NULL",
    "CREATE INDEX offer_barcode ON offer (barcode) WHERE barcode IS NOT NULL",
    "CREATE INDEX offer_price ON offer (price_minor, id)",
    "CREATE INDEX offer_updated ON offer (updated_at DESC, id)",
    "CREATE INDEX offer_name ON offer (lower(name), id)",
    "CREATE INDEX offer_stock ON offer (stock, id)",
    # Full-text search without extensions (pg_trgm is not in every build): 'simple' keeps words as typed.
    """ALTER TABLE offer ADD COLUMN search tsvector GENERATED ALWAYS AS (
         to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(sku, '') || ' ' || coalesce(barcode, ''))
       ) STORED""",
    "CREATE INDEX offer_search ON offer USING gin (search)",
    "CREATE INDEX import_job_created ON import_job (created_at DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
