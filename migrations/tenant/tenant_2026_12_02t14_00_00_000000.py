from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "an offer may have no price (price on request)"


class RawTable(Table):
    pass


# Expand only. A feed that gives no price means "price on request": stored as NULL, never as 0.00, so such an
# offer is listed but cannot be ordered. Code that still writes a price keeps working.
STATEMENTS = [
    "ALTER TABLE offer ALTER COLUMN price_minor DROP NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
