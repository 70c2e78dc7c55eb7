from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one membership per identity and store"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="control", description=DESCRIPTION)

    async def add_index() -> None:
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS membership_identity_tenant ON membership (identity, tenant)"
        )

    manager.add_raw(add_index)
    return manager
