from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T03:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payment references and one stored event per gateway event"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("CREATE SEQUENCE IF NOT EXISTS payment_ref_seq START 100001")
        await RawTable.raw("CREATE UNIQUE INDEX payment_event_once ON payment_event (connection, event_id)")

    manager.add_raw(run)
    return manager
