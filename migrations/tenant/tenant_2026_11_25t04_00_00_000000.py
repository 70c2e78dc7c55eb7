from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics rollups (sales, goods, customers, cohorts, form funnel) kept current by triggers"


class RawTable(Table):
    pass


# What each order last contributed to the rollups. A change to an order, its lines or its payments
# subtracts that and adds the order's contribution as it is now, so the rollups always equal a
# recomputation from the base tables, whatever statement touched them. Days are in the store's time zone.
TABLES = [
    """CREATE TABLE order_fact (
        order_id integer PRIMARY KEY,
        customer_id integer,
        day date NOT NULL,
        currency varchar(3) NOT NULL,
        source varchar(16) NOT NULL,
        utm_source varchar(100) NOT NULL,
        utm_campaign varchar(100) NOT NULL,
        created_at timestamptz NOT NULL,
        cancelled boolean NOT NULL,
        total_minor bigint NOT NULL,
        paid_minor bigint NOT NULL,
        refunded_minor bigint NOT NULL,
        lines jsonb NOT NULL
    )""",
    "CREATE INDEX order_fact_customer ON order_fact (customer_id, created_at, order_id)",
    """CREATE TABLE sales_day (
        day date NOT NULL,
        currency varchar(3) NOT NULL,
        source varchar(16) NOT NULL,
        utm_source varchar(100) NOT NULL,
        utm_campaign varchar(100) NOT NULL,
        orders integer NOT NULL DEFAULT 0,
        cancelled integer NOT NULL DEFAULT 0,
        revenue_minor bigint NOT NULL DEFAULT 0,
        paid_orders integer NOT NULL DEFAULT 0,
        paid_minor bigint NOT NULL DEFAULT 0,
        refunded_minor bigint NOT NULL DEFAULT 0,
        new_customers integer NOT NULL DEFAULT 0,
        repeat_customers integer NOT NULL DEFAULT 0,
        new_customer_orders integer NOT NULL DEFAULT 0,
        PRIMARY KEY (day, currency, source, utm_source, utm_campaign)
    )""",
    """CREATE TABLE goods_day (
        day date NOT NULL,
        currency varchar(3) NOT NULL,
        item varchar(260) NOT NULL,
        name varchar(500) NOT NULL,
        quantity bigint NOT NULL DEFAULT 0,
        revenue_minor bigint NOT NULL DEFAULT 0,
        orders integer NOT NULL DEFAULT 0,
        PRIMARY KEY (day, currency, item)
    )""",
    """CREATE TABLE customer_fact (
        customer_id integer PRIMARY KEY,
        first_order_id integer NOT NULL,
        first_at timestamptz NOT NULL,
        first_day date NOT NULL,
        cohort date NOT NULL,
        currency varchar(3) NOT NULL,
        source varchar(16) NOT NULL,
        utm_source varchar(100) NOT NULL,
        utm_campaign varchar(100) NOT NULL,
        orders integer NOT NULL,
        revenue_minor bigint NOT NULL,
        last_at timestamptz NOT NULL
    )""",
    "CREATE INDEX customer_fact_first_day ON customer_fact (first_day)",
    """CREATE TABLE customer_month (
        customer_id integer NOT NULL,
        month date NOT NULL,
        cohort date NOT NULL,
        orders integer NOT NULL,
        revenue_minor bigint NOT NULL,
        PRIMARY KEY (customer_id, month)
    )""",
    """CREATE TABLE cohort_month (
        cohort date NOT NULL,
        month date NOT NULL,
        customers integer NOT NULL DEFAULT 0,
        orders integer NOT NULL DEFAULT 0,
        revenue_minor bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (cohort, month)
    )""",
    """CREATE TABLE form_day (
        day date NOT NULL,
        form_code varchar(40) NOT NULL,
        utm_source varchar(100) NOT NULL,
        opened integer NOT NULL DEFAULT 0,
        started integer NOT NULL DEFAULT 0,
        unfinished integer NOT NULL DEFAULT 0,
        PRIMARY KEY (day, form_code, utm_source)
    )""",
]

# A customer's first purchase, purchase count and months, from the order facts (for some or all customers).
CUSTOMER_ROWS = """CREATE FUNCTION {name} RETURNS void LANGUAGE sql AS $$
        INSERT INTO customer_fact
        SELECT customer_id, (array_agg(order_id ORDER BY created_at, order_id))[1],
               min(created_at), (array_agg(day ORDER BY created_at, order_id))[1],
               date_trunc('month', (array_agg(day ORDER BY created_at, order_id))[1])::date,
               (array_agg(currency ORDER BY created_at, order_id))[1],
               (array_agg(source ORDER BY created_at, order_id))[1],
               (array_agg(utm_source ORDER BY created_at, order_id))[1],
               (array_agg(utm_campaign ORDER BY created_at, order_id))[1],
               count(*), sum(total_minor), max(created_at)
        FROM order_fact WHERE {where} customer_id IS NOT NULL AND NOT cancelled GROUP BY customer_id;
        INSERT INTO customer_month
        SELECT f.customer_id, date_trunc('month', f.day)::date, c.cohort, count(*), sum(f.total_minor)
        FROM order_fact f JOIN customer_fact c USING (customer_id)
        WHERE {where_f} NOT f.cancelled GROUP BY 1, 2, 3;
    $$"""

FUNCTIONS = [
    """CREATE FUNCTION analytics_tz() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce((SELECT timezone FROM store_setting ORDER BY id LIMIT 1), 'UTC')
    $$""",
    # An order's contribution as it is now (the same shape as order_fact).
    """CREATE VIEW order_fact_source AS
        SELECT o.id AS order_id, o.customer AS customer_id,
               (o.created_at AT TIME ZONE analytics_tz())::date AS day,
               o.currency, o.source,
               left(coalesce(o.utm->>'utm_source', ''), 100) AS utm_source,
               left(coalesce(o.utm->>'utm_campaign', ''), 100) AS utm_campaign,
               o.created_at, s."group" = 'cancel' AS cancelled, o.total_minor,
               coalesce(p.paid, 0)::bigint AS paid_minor, coalesce(p.refunded, 0)::bigint AS refunded_minor,
               CASE WHEN s."group" = 'cancel' THEN '[]'::jsonb ELSE coalesce(l.lines, '[]'::jsonb) END AS lines
        FROM orders o
        JOIN order_status s ON s.id = o.status
        LEFT JOIN LATERAL (
            SELECT sum(amount_minor) AS paid, sum(refunded_minor) AS refunded FROM payment
            WHERE "order" = o.id AND status IN ('succeeded', 'partially_refunded', 'refunded')
        ) p ON true
        LEFT JOIN LATERAL (
            SELECT jsonb_agg(jsonb_build_array(item, name, quantity, revenue)) AS lines FROM (
                SELECT coalesce('o' || offer_id, 's' || left(sku, 250), 'n' || left(name, 250)) AS item,
                       max(left(name, 500)) AS name, sum(quantity) AS quantity, sum(total_minor) AS revenue
                FROM order_line WHERE "order" = o.id GROUP BY 1
            ) x
        ) l ON true""",
    """CREATE FUNCTION analytics_sales_add(ids integer[], sign integer) RETURNS void LANGUAGE sql AS $$
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
        INSERT INTO goods_day AS t (day, currency, item, name, quantity, revenue_minor, orders)
        SELECT f.day, f.currency, e->>0, max(e->>1), sign * sum((e->>2)::bigint), sign * sum((e->>3)::bigint),
               sign * count(*)
        FROM order_fact f, jsonb_array_elements(f.lines) e
        WHERE f.order_id = ANY(ids)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, currency, item) DO UPDATE SET
            name = CASE WHEN sign > 0 THEN excluded.name ELSE t.name END,
            quantity = t.quantity + excluded.quantity, revenue_minor = t.revenue_minor + excluded.revenue_minor,
            orders = t.orders + excluded.orders;
    $$""",
    # New customers are counted on the day, source and campaign of their first purchase.
    """CREATE FUNCTION analytics_customers_add(cids integer[], sign integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO sales_day AS t (day, currency, source, utm_source, utm_campaign, new_customers,
                                    repeat_customers, new_customer_orders)
        SELECT first_day, currency, source, utm_source, utm_campaign, sign * count(*),
               sign * count(*) FILTER (WHERE orders >= 2), sign * sum(orders)
        FROM customer_fact WHERE customer_id = ANY(cids)
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (day, currency, source, utm_source, utm_campaign) DO UPDATE SET
            new_customers = t.new_customers + excluded.new_customers,
            repeat_customers = t.repeat_customers + excluded.repeat_customers,
            new_customer_orders = t.new_customer_orders + excluded.new_customer_orders;
        INSERT INTO cohort_month AS t (cohort, month, customers, orders, revenue_minor)
        SELECT cohort, month, sign * count(*), sign * sum(orders), sign * sum(revenue_minor)
        FROM customer_month WHERE customer_id = ANY(cids)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (cohort, month) DO UPDATE SET customers = t.customers + excluded.customers,
            orders = t.orders + excluded.orders, revenue_minor = t.revenue_minor + excluded.revenue_minor;
    $$""",
    CUSTOMER_ROWS.format(
        name="analytics_customer_rows(cids integer[])",
        where="customer_id = ANY(cids) AND",
        where_f="f.customer_id = ANY(cids) AND",
    ),
    CUSTOMER_ROWS.format(name="analytics_customer_rows_all()", where="", where_f=""),
    """CREATE FUNCTION analytics_refresh_customers(cids integer[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        IF cids IS NULL OR cardinality(cids) = 0 THEN RETURN; END IF;
        PERFORM analytics_customers_add(cids, -1);
        DELETE FROM customer_month WHERE customer_id = ANY(cids);
        DELETE FROM customer_fact WHERE customer_id = ANY(cids);
        PERFORM analytics_customer_rows(cids);
        PERFORM analytics_customers_add(cids, 1);
        DELETE FROM cohort_month WHERE customers = 0 AND orders = 0;
    END $$""",
    """CREATE FUNCTION analytics_refresh_orders(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        cids integer[];
        days date[];
    BEGIN
        IF ids IS NULL OR cardinality(ids) = 0 THEN RETURN; END IF;
        ids := ARRAY(SELECT DISTINCT unnest(ids) ORDER BY 1);
        PERFORM analytics_sales_add(ids, -1);
        WITH gone AS (DELETE FROM order_fact WHERE order_id = ANY(ids) RETURNING customer_id, day)
        SELECT array_agg(DISTINCT customer_id) FILTER (WHERE customer_id IS NOT NULL), array_agg(DISTINCT day)
        INTO cids, days FROM gone;
        INSERT INTO order_fact SELECT * FROM order_fact_source WHERE order_id = ANY(ids);
        PERFORM analytics_sales_add(ids, 1);
        cids := ARRAY(
            SELECT DISTINCT c FROM (
                SELECT unnest(coalesce(cids, ARRAY[]::integer[])) AS c
                UNION SELECT customer_id FROM order_fact WHERE order_id = ANY(ids) AND customer_id IS NOT NULL
            ) u ORDER BY 1
        );
        PERFORM analytics_refresh_customers(cids);
        DELETE FROM sales_day WHERE day = ANY(days) AND orders = 0 AND new_customers = 0;
        DELETE FROM goods_day WHERE day = ANY(days) AND orders = 0;
    END $$""",
    # Everything from the base tables again (after imports, data repair, or a new time zone).
    # Form opens are counted as they happen and have no base table, so they are kept.
    """CREATE FUNCTION analytics_rebuild() RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        tz text := analytics_tz();
    BEGIN
        TRUNCATE order_fact, sales_day, goods_day, customer_fact, customer_month, cohort_month;
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
        INSERT INTO goods_day (day, currency, item, name, quantity, revenue_minor, orders)
        SELECT f.day, f.currency, e->>0, max(e->>1), sum((e->>2)::bigint), sum((e->>3)::bigint), count(*)
        FROM order_fact f, jsonb_array_elements(f.lines) e GROUP BY 1, 2, 3;
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
    END $$""",
    # Statement-level triggers see every row a statement touched at once (bulk edits stay set-based).
    """CREATE FUNCTION analytics_orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM analytics_refresh_orders(ARRAY(SELECT id FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM analytics_refresh_orders(ARRAY(SELECT id FROM old_rows));
        ELSE
            PERFORM analytics_refresh_orders(ARRAY(
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE (n.status, n.customer, n.total_minor, n.created_at, n.currency, n.source, n.utm)
                      IS DISTINCT FROM (o.status, o.customer, o.total_minor, o.created_at, o.currency, o.source, o.utm)
            ));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION analytics_children_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM analytics_refresh_orders(ARRAY(SELECT "order" FROM new_rows));
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM analytics_refresh_orders(ARRAY(SELECT "order" FROM old_rows));
        ELSE
            PERFORM analytics_refresh_orders(ARRAY(SELECT "order" FROM new_rows UNION SELECT "order" FROM old_rows));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION analytics_draft_add(d form_draft, sign integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO form_day AS t (day, form_code, utm_source, started, unfinished)
        VALUES ((d.created_at AT TIME ZONE analytics_tz())::date, d.form_code,
                left(coalesce(d.utm->>'utm_source', ''), 100), sign,
                CASE WHEN d.reported AND NOT d.converted THEN sign ELSE 0 END)
        ON CONFLICT (day, form_code, utm_source) DO UPDATE SET started = t.started + excluded.started,
            unfinished = t.unfinished + excluded.unfinished;
    $$""",
    """CREATE FUNCTION analytics_draft_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM analytics_draft_add(OLD, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM analytics_draft_add(NEW, 1);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION analytics_timezone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.timezone IS DISTINCT FROM OLD.timezone THEN
            PERFORM analytics_rebuild();
        END IF;
        RETURN NULL;
    END $$""",
]

TRIGGERS = [
    "CREATE TRIGGER analytics_orders_ins AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION analytics_orders_changed()",
    "CREATE TRIGGER analytics_orders_upd AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows"
    " NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_orders_changed()",
    "CREATE TRIGGER analytics_orders_del AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION analytics_orders_changed()",
]
for _table in ("order_line", "payment"):
    TRIGGERS += [
        f"CREATE TRIGGER analytics_{_table}_ins AFTER INSERT ON {_table} REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION analytics_children_changed()",
        f"CREATE TRIGGER analytics_{_table}_upd AFTER UPDATE ON {_table} REFERENCING OLD TABLE AS old_rows"
        " NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_children_changed()",
        f"CREATE TRIGGER analytics_{_table}_del AFTER DELETE ON {_table} REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION analytics_children_changed()",
    ]
TRIGGERS += [
    "CREATE TRIGGER analytics_form_draft AFTER INSERT OR UPDATE OR DELETE ON form_draft"
    " FOR EACH ROW EXECUTE FUNCTION analytics_draft_changed()",
    "CREATE TRIGGER analytics_timezone AFTER UPDATE OF timezone ON store_setting"
    " FOR EACH ROW EXECUTE FUNCTION analytics_timezone_changed()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        for statement in TABLES + FUNCTIONS + TRIGGERS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
