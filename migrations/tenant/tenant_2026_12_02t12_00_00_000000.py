from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payment connection names per language; the sandbox is test-only"


class RawTable(Table):
    pass


# (No braces in the statements: raw() reads them as parameters.)
# Expand only: ``name`` stays (the fallback and what older code reads). The sandbox moves no money, so a
# sandbox connection saved as live (which let any shopper mark their own order paid) becomes a test one.
STATEMENTS = [
    "ALTER TABLE payment_connection ADD COLUMN IF NOT EXISTS names jsonb NOT NULL DEFAULT jsonb_build_object()",
    "UPDATE payment_connection SET test_mode = true WHERE code = 'sandbox' AND NOT test_mode",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
