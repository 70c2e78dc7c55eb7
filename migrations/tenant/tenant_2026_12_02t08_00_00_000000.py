from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a payment keeps the shopper's step for reuse; a refund keeps its reason"


class RawTable(Table):
    pass


# Expand only: new nullable or defaulted columns, so code that does not know them keeps working.
# A second Pay on an order returns the stored step of its pending payment instead of creating another.
STATEMENTS = [
    "ALTER TABLE payment ADD COLUMN IF NOT EXISTS shopper_step jsonb NULL",
    "ALTER TABLE refund ADD COLUMN IF NOT EXISTS reason text NOT NULL DEFAULT ''",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
