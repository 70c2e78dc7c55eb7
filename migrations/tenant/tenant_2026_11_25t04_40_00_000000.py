from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T04:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "goods names apart from goods_day (narrow period sums for ABC); rebuild refreshes statistics"


class RawTable(Table):
    pass


STATEMENTS = [
    "CREATE TABLE goods_item (item varchar(260) PRIMARY KEY, name varchar(500) NOT NULL)",
    "INSERT INTO goods_item (item, name) SELECT DISTINCT ON (item) item, name FROM goods_day ORDER BY item, day DESC",
    """CREATE OR REPLACE FUNCTION analytics_sales_add(ids integer[], sign integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO sales_day AS t (day, currency, source, utm_source, utm_campaign, orders, cancelled,
                                    revenue_minor, paid_orders, paid_minor, refunded_minor)
        SELECT day, currency, source, utm_source, utm_campaign, sign * count(*),
               sign * count(*) FILTER (WHERE cancelled),
               sign * coalesce(sum(total_minor) FILTER (WHERE NOT cancelled), 0),
               sign * count(*) FILTER (WHERE paid_minor - refunded_minor > 0),
               sign * sum(paid_minor - refunded_minor), sign * sum(refunded_minor)
        FROM order_fact WHERE order_id = ANY(ids)
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (day, currency, source, utm_source, utm_campaign) DO UPDATE SET
            orders = t.orders + excluded.orders, cancelled = t.cancelled + excluded.cancelled,
            revenue_minor = t.revenue_minor + excluded.revenue_minor,
            paid_orders = t.paid_orders + excluded.paid_orders, paid_minor = t.paid_minor + excluded.paid_minor,
            refunded_minor = t.refunded_minor + excluded.refunded_minor;
        INSERT INTO goods_item AS t (item, name)
        SELECT e->>0, max(e->>1) FROM order_fact f, jsonb_array_elements(f.lines) e
        WHERE f.order_id = ANY(ids) AND sign > 0 GROUP BY 1 ORDER BY 1
        ON CONFLICT (item) DO UPDATE SET name = excluded.name WHERE t.name IS DISTINCT FROM excluded.name;
        INSERT INTO goods_day AS t (day, currency, item, quantity, revenue_minor, orders)
        SELECT f.day, f.currency, e->>0, sign * sum((e->>2)::bigint), sign * sum((e->>3)::bigint),
               sign * count(*)
        FROM order_fact f, jsonb_array_elements(f.lines) e
        WHERE f.order_id = ANY(ids)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, currency, item) DO UPDATE SET
            quantity = t.quantity + excluded.quantity, revenue_minor = t.revenue_minor + excluded.revenue_minor,
            orders = t.orders + excluded.orders;
    $$""",
    "ALTER TABLE goods_day DROP COLUMN name",
    """CREATE OR REPLACE FUNCTION analytics_rebuild() RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        tz text := analytics_tz();
    BEGIN
        TRUNCATE order_fact, sales_day, goods_day, goods_item, customer_fact, customer_month, cohort_month;
        -- The same facts as order_fact_source, joined in bulk (hash joins) rather than order by order.
        INSERT INTO order_fact
        SELECT o.id, o.customer, (o.created_at AT TIME ZONE tz)::date, o.currency, o.source,
               left(coalesce(o.utm->>'utm_source', ''), 100), left(coalesce(o.utm->>'utm_campaign', ''), 100),
               o.created_at, s."group" = 'cancel', o.total_minor,
               coalesce(p.paid, 0)::bigint, coalesce(p.refunded, 0)::bigint,
               CASE WHEN s."group" = 'cancel' THEN '[]'::jsonb ELSE coalesce(l.lines, '[]'::jsonb) END
        FROM orders o
        JOIN order_status s ON s.id = o.status
        LEFT JOIN (
            SELECT "order", sum(amount_minor) AS paid, sum(refunded_minor) AS refunded FROM payment
            WHERE status IN ('succeeded', 'partially_refunded', 'refunded') GROUP BY 1
        ) p ON p."order" = o.id
        LEFT JOIN (
            SELECT "order", jsonb_agg(jsonb_build_array(item, name, quantity, revenue)) AS lines FROM (
                SELECT "order", coalesce('o' || offer_id, 's' || left(sku, 250), 'n' || left(name, 250)) AS item,
                       max(left(name, 500)) AS name, sum(quantity) AS quantity, sum(total_minor) AS revenue
                FROM order_line GROUP BY 1, 2
            ) x GROUP BY 1
        ) l ON l."order" = o.id;
        INSERT INTO sales_day (day, currency, source, utm_source, utm_campaign, orders, cancelled,
                               revenue_minor, paid_orders, paid_minor, refunded_minor)
        SELECT day, currency, source, utm_source, utm_campaign, count(*), count(*) FILTER (WHERE cancelled),
               coalesce(sum(total_minor) FILTER (WHERE NOT cancelled), 0),
               count(*) FILTER (WHERE paid_minor - refunded_minor > 0),
               sum(paid_minor - refunded_minor), sum(refunded_minor)
        FROM order_fact GROUP BY 1, 2, 3, 4, 5;
        INSERT INTO goods_day (day, currency, item, quantity, revenue_minor, orders)
        SELECT f.day, f.currency, e->>0, sum((e->>2)::bigint), sum((e->>3)::bigint), count(*)
        FROM order_fact f, jsonb_array_elements(f.lines) e GROUP BY 1, 2, 3;
        INSERT INTO goods_item (item, name)
        SELECT DISTINCT ON (e->>0) e->>0, e->>1 FROM order_fact f, jsonb_array_elements(f.lines) e
        ORDER BY e->>0, f.created_at DESC;
        PERFORM analytics_customer_rows_all();
        INSERT INTO sales_day AS t (day, currency, source, utm_source, utm_campaign, new_customers,
                                    repeat_customers, new_customer_orders)
        SELECT first_day, currency, source, utm_source, utm_campaign, count(*),
               count(*) FILTER (WHERE orders >= 2), sum(orders) FROM customer_fact
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (day, currency, source, utm_source, utm_campaign) DO UPDATE SET
            new_customers = excluded.new_customers, repeat_customers = excluded.repeat_customers,
            new_customer_orders = excluded.new_customer_orders;
        INSERT INTO cohort_month (cohort, month, customers, orders, revenue_minor)
        SELECT cohort, month, count(*), sum(orders), sum(revenue_minor) FROM customer_month GROUP BY 1, 2;
        UPDATE form_day SET started = 0, unfinished = 0 WHERE started <> 0 OR unfinished <> 0;
        INSERT INTO form_day AS t (day, form_code, utm_source, started, unfinished)
        SELECT (created_at AT TIME ZONE tz)::date, form_code,
               left(coalesce(utm->>'utm_source', ''), 100), count(*),
               count(*) FILTER (WHERE reported AND NOT converted)
        FROM form_draft GROUP BY 1, 2, 3
        ON CONFLICT (day, form_code, utm_source) DO UPDATE SET started = excluded.started,
            unfinished = excluded.unfinished;
        DELETE FROM form_day WHERE opened = 0 AND started = 0 AND unfinished = 0;
        -- Fresh statistics, so the pages' plans fit the rewritten tables at once.
        ANALYZE order_fact, sales_day, goods_day, goods_item, customer_fact, customer_month, cohort_month, form_day;
    END $$""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
