from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T03:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one distribution row, indexes for scoped order lists, open-order counts and audit search"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("INSERT INTO distribution (mode, last_identity_id, updated_at) VALUES ('off', NULL, now())")
        await RawTable.raw("CREATE INDEX orders_manager_created ON orders (manager_id, created_at DESC)")
        await RawTable.raw("CREATE INDEX audit_entry_entity_at ON audit_entry (entity, at DESC)")

    manager.add_raw(run)
    return manager
