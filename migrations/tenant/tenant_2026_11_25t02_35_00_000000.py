from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T02:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index for sorting offers by name"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("CREATE INDEX IF NOT EXISTS offer_name_sort ON offer (name, id)")

    manager.add_raw(run)
    return manager
