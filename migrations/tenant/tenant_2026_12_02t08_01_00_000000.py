from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T08:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "when a payment was last asked about for an unsigned notification"


class RawTable(Table):
    pass


# Expand only. An unsigned notification (YooKassa) or one that credits (CloudPayments Pay) is believed only once
# the gateway confirms it; this is when we last asked, so forged ones cannot make us ask more than once a minute.
STATEMENTS = [
    "ALTER TABLE payment ADD COLUMN IF NOT EXISTS verified_at timestamptz NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
