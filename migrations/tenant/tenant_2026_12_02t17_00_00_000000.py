from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "goods and customers sorted by name in the store language's ICU collation"


class RawTable(Table):
    pass


# Expand only: the lists now sort by name under the store language's ICU collation (app/services/_collation.py),
# so "BOSCH" and "Bosch" sit together and Cyrillic follows the alphabet. A store may switch language, so each
# collation gets its index. The lower(name) indexes stay until a later release drops them (contract).
COLLATIONS = ("ru-x-icu", "uk-x-icu", "und-x-icu")
STATEMENTS = [
    statement
    for collation in COLLATIONS
    for statement in (
        f'CREATE INDEX IF NOT EXISTS "offer_name_{collation}" ON offer (name COLLATE "{collation}", id)',
        f'CREATE INDEX IF NOT EXISTS "customer_name_{collation}" ON customer (name COLLATE "{collation}", id)'
        " WHERE merged_into IS NULL",
    )
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        present = await RawTable.raw(
            "SELECT collname FROM pg_collation WHERE collprovider = 'i' AND collname = ANY({})", list(COLLATIONS)
        )
        # A server built without ICU sorts by a key instead (app/services/_collation.py): no index to add.
        if len(present) == len(COLLATIONS):
            for statement in STATEMENTS:
                await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
