from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T03:49:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customer search vector, list and filter indexes, segment constraints, customer totals backfill"

# Words of the name, the e-mail and its local part, and the phone's digits (full and the last ten), so
# prefix queries ("anna:*", "912345:*") hit one GIN index; PostgreSQL here has no pg_trgm.
SEARCH = (
    "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(email, '') || ' '"
    " || coalesce(split_part(email, '@', 1), '') || ' ' || coalesce(ltrim(phone, '+'), '') || ' '"
    " || coalesce(right(phone, 10), ''))"
)

STATEMENTS = [
    f"ALTER TABLE customer ADD COLUMN search tsvector GENERATED ALWAYS AS ({SEARCH}) STORED",
    "CREATE INDEX IF NOT EXISTS customer_search ON customer USING gin (search) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_tags ON customer USING gin (tags jsonb_path_ops) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_last_order ON customer (last_order_at DESC NULLS LAST, id DESC) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_spent ON customer (total_spent_minor DESC, id DESC) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_orders_count ON customer (orders_count DESC, id DESC) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_created ON customer (created_at DESC, id DESC) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_name ON customer (lower(name), id) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_city ON customer (lower(city)) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_rfm ON customer (rfm_class) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_phone_digits ON customer (phone text_pattern_ops) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_email_lower ON customer (lower(email)) WHERE merged_into IS NULL",
    "CREATE INDEX IF NOT EXISTS customer_merged_into ON customer (merged_into) WHERE merged_into IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS orders_email ON orders (email) WHERE email IS NOT NULL",
    "CREATE UNIQUE INDEX IF NOT EXISTS segment_member_once ON segment_member (segment, customer)",
    "CREATE INDEX IF NOT EXISTS segment_member_customer ON segment_member (customer)",
    "CREATE UNIQUE INDEX IF NOT EXISTS segment_snapshot_day ON segment_snapshot (segment, day)",
    "CREATE INDEX IF NOT EXISTS customer_event_kind ON customer_event (kind, at)",
    "INSERT INTO rfm_setting (recency_days, frequency, monetary_minor, monetary_auto, updated_at)"
    " VALUES ('[30, 90, 180, 365]', '[2, 3, 5, 8]', '[]', '[]', now())",
    # Totals count non-cancelled orders (docs/architecture.md "Customers"); recompute them once.
    "UPDATE customer c SET orders_count = coalesce(t.n, 0), total_spent_minor = coalesce(t.spent, 0),"
    " first_order_at = t.first_at, last_order_at = t.last_at FROM customer c2 LEFT JOIN ("
    "SELECT o.customer, count(*) n, sum(o.total_minor) spent, min(o.created_at) first_at, max(o.created_at) last_at"
    " FROM orders o JOIN order_status s ON s.id = o.status WHERE s.\"group\" <> 'cancel' GROUP BY o.customer) t"
    " ON t.customer = c2.id WHERE c.id = c2.id AND (c.orders_count, c.total_spent_minor) IS DISTINCT FROM"
    " (coalesce(t.n, 0), coalesce(t.spent, 0))",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
