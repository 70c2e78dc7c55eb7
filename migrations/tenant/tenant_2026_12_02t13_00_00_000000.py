from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "54-FZ receipts under FFD 1.2: the store's taxation system and VAT, per-product tax, receipts sent"


class RawTable(Table):
    pass


# Expand only: every column is new, nullable or with a default, so the running code is not disturbed.
# A product's vat_code NULL follows the store's default VAT; a store's tax_system NULL sends no taxation system.
STATEMENTS = [
    "ALTER TABLE store_setting ADD COLUMN IF NOT EXISTS tax_system varchar(24) NULL",
    "ALTER TABLE store_setting ADD COLUMN IF NOT EXISTS vat_code varchar(8) NOT NULL DEFAULT 'none'",
    "ALTER TABLE store_setting ADD COLUMN IF NOT EXISTS delivery_vat_code varchar(8) NOT NULL DEFAULT 'none'",
    "ALTER TABLE product ADD COLUMN IF NOT EXISTS vat_code varchar(8) NULL",
    "ALTER TABLE product ADD COLUMN IF NOT EXISTS measure varchar(24) NOT NULL DEFAULT 'piece'",
    "ALTER TABLE product ADD COLUMN IF NOT EXISTS payment_subject varchar(32) NOT NULL DEFAULT 'commodity'",
    "ALTER TABLE product ADD COLUMN IF NOT EXISTS payment_mode varchar(24) NOT NULL DEFAULT 'full_payment'",
    "ALTER TABLE payment ADD COLUMN IF NOT EXISTS receipt jsonb NULL",
    "ALTER TABLE payment ADD COLUMN IF NOT EXISTS receipt_status varchar(24) NULL",
    "ALTER TABLE refund ADD COLUMN IF NOT EXISTS receipt jsonb NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
