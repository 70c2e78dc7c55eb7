from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "messages as data: message id and parameters beside the stored text"


class RawTable(Table):
    pass


# (The default is jsonb_build_object(), not a literal: Piccolo reads braces in raw SQL as placeholders.)
# Expand only: the text columns stay and are still written, so the previous release reads what this
# one writes, and rows written before have {} here and show their text. Each new column holds
# {"id": <English message id>, "params": {...}}, translated when it is read, in the reader's language.
STATEMENTS = [
    "ALTER TABLE import_issue ADD COLUMN IF NOT EXISTS message_data jsonb NOT NULL DEFAULT jsonb_build_object()",
    "ALTER TABLE import_job ADD COLUMN IF NOT EXISTS fatal_data jsonb NOT NULL DEFAULT jsonb_build_object()",
    "ALTER TABLE automation_run ADD COLUMN IF NOT EXISTS outcome_data jsonb NOT NULL DEFAULT jsonb_build_object()",
    "ALTER TABLE automation_run ADD COLUMN IF NOT EXISTS error_data jsonb NOT NULL DEFAULT jsonb_build_object()",
    "ALTER TABLE audit_entry ADD COLUMN IF NOT EXISTS summary_data jsonb NOT NULL DEFAULT jsonb_build_object()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
