from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T04:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one row per customer seen in a watched segment"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("CREATE UNIQUE INDEX automation_segment_seen_once ON automation_segment_seen (segment, customer)")

    manager.add_raw(run)
    return manager
