from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics rollups refreshed once per transaction, at commit"


class RawTable(Table):
    pass


# Before, every statement on orders, order lines or payments refreshed the orders it touched at once,
# so placing an order (the order, then its lines) or an edit touching all three refreshed the same order
# two or three times. Now the statement triggers only note the orders, and a deferred trigger refreshes
# what the transaction noted, once, as it commits: still inside the transaction, so the rollups never
# disagree with the base tables another transaction can see. The lock on a day's rollup row is taken
# at commit too, so concurrent orders of one store queue on it for a moment instead of a whole
# transaction.
STATEMENTS = [
    # The orders this transaction changed; rows of other transactions are never visible here
    # (uncommitted) or already gone (their commit refreshed and deleted them).
    "CREATE TABLE analytics_pending (order_id integer PRIMARY KEY)",
    # One row per transaction that noted something: its deferred trigger is the one refresh.
    "CREATE TABLE analytics_flush_due (txid xid8 PRIMARY KEY DEFAULT pg_current_xact_id())",
    """CREATE FUNCTION analytics_note_orders(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        IF ids IS NULL OR cardinality(ids) = 0 THEN RETURN; END IF;
        INSERT INTO analytics_pending SELECT DISTINCT i FROM unnest(ids) i WHERE i IS NOT NULL ORDER BY 1
        ON CONFLICT DO NOTHING;
        INSERT INTO analytics_flush_due DEFAULT VALUES ON CONFLICT DO NOTHING;
    END $$""",
    """CREATE FUNCTION analytics_flush() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        ids integer[];
    BEGIN
        DELETE FROM analytics_flush_due WHERE txid = NEW.txid;
        WITH gone AS (DELETE FROM analytics_pending RETURNING order_id)
        SELECT array_agg(order_id) INTO ids FROM gone;
        PERFORM analytics_refresh_orders(ids);
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER analytics_flush AFTER INSERT ON analytics_flush_due"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION analytics_flush()",
    """CREATE OR REPLACE FUNCTION analytics_orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM analytics_note_orders(ARRAY(SELECT id FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM analytics_note_orders(ARRAY(SELECT id FROM old_rows));
        ELSE
            PERFORM analytics_note_orders(ARRAY(
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE (n.status, n.customer, n.total_minor, n.created_at, n.currency, n.source, n.utm)
                      IS DISTINCT FROM (o.status, o.customer, o.total_minor, o.created_at, o.currency, o.source, o.utm)
            ));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION analytics_children_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM analytics_note_orders(ARRAY(SELECT "order" FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM analytics_note_orders(ARRAY(SELECT "order" FROM old_rows));
        ELSE
            PERFORM analytics_note_orders(ARRAY(SELECT "order" FROM new_rows UNION SELECT "order" FROM old_rows));
        END IF;
        RETURN NULL;
    END $$""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
