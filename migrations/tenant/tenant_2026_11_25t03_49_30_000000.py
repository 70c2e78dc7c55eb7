from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T03:49:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the automation outbox drain, the per-rule rate limit and due reminders"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("CREATE INDEX automation_event_pending ON automation_event (id) WHERE processed_at IS NULL")
        await RawTable.raw("CREATE INDEX automation_run_limit ON automation_run (rule, entity, created_at)")
        await RawTable.raw("CREATE INDEX automation_run_due ON automation_run (due_at) WHERE status = 'scheduled'")
        await RawTable.raw(
            "CREATE INDEX task_reminder_due ON task (reminder_at) WHERE reminded_at IS NULL AND status = 'open'"
        )

    manager.add_raw(run)
    return manager
