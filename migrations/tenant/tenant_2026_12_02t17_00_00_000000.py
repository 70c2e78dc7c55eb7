from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "goods and customers sorted by name, case set aside, Cyrillic in alphabet order"


class RawTable(Table):
    pass


# Expand only: the lists now sort by name under a key that sets case aside and puts Cyrillic letters in
# their alphabet's order (app/services/_collation.py), so "BOSCH" and "Bosch" sit together. The key is plain SQL
# under "C", the same on every server, so the index restores on any server a store moves to (an ICU collation
# would not exist on a server built without ICU). The lower(name) indexes stay until a later release drops them.
# The key of app/services/_collation.py, copied here as a snapshot.
_AFTER = "\ufffd"
_MOVES = (("ё", "е"), ("ґ", "г" + _AFTER), ("є", "е" + _AFTER), ("і", "и" + _AFTER), ("ї", "и" + _AFTER * 2))


def _key(column: str) -> str:
    expression = f'lower({column}) COLLATE "C"'
    for letter, place in _MOVES:
        expression = f"replace({expression}, '{letter}', '{place}')"
    return expression


KEY_STATEMENTS = [
    f'CREATE INDEX IF NOT EXISTS "offer_name_key" ON offer (({_key("name")}), id)',
    f'CREATE INDEX IF NOT EXISTS "customer_name_key" ON customer (({_key("name")}), id) WHERE merged_into IS NULL',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in KEY_STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
