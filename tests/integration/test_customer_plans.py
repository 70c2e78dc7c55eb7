"""At 200,000 customers every list query of the base is answered from an index, never a full scan.

Plans are checked, not timings (speed goals live in ``bench/``); the timings are printed for the record.
"""

from __future__ import annotations

import json
import time

import pytest

from app.services import customers, segments
from app.services._collation import sort_key
from app.services.customers._lists import LIST_COLUMNS, SEARCH_SORTS, SORTS, joined, where_clauses
from app.tables.customers import Customer
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.integration

FILL = """
INSERT INTO customer (name, phone, email, city, source, utm, tags, note, orders_count, total_spent_minor,
  first_order_at, last_order_at, created_at, updated_at, rfm_class)
SELECT (ARRAY['Анна','Борис','Вера','Глеб','Дарья'])[1 + i % 5] || ' '
         || (ARRAY['Иванова','Петров','Сидорова'])[1 + i % 3] || ' ' || i,
       '+7912' || lpad(i::text, 7, '0'), 'user' || i || '@example.com',
       (ARRAY['Казань','Москва','Самара','Пермь','Омск'])[1 + i % 5], 'form', jsonb_build_object(),
       CASE WHEN i % 50 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END, '', i % 7, (i % 7) * 150000,
       CASE WHEN i % 7 > 0 THEN now() - make_interval(days => i % 400) END,
       CASE WHEN i % 7 > 0 THEN now() - make_interval(days => i % 365) END,
       now() - make_interval(secs => i), now(),
       CASE WHEN i % 7 > 0 THEN (ARRAY['champions','loyal','lost','at_risk','new'])[1 + i % 5] END
FROM generate_series(1, 200000) i
"""


def scans(plan: dict) -> list[str]:
    found = [f"{plan['Node Type']}:{plan.get('Relation Name', '')}:{plan.get('Index Name', '')}"]
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


async def explain(sql: str, params: list) -> tuple[list[str], float]:
    started = time.perf_counter()
    rows = await Customer.raw(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params)
    elapsed = (time.perf_counter() - started) * 1000
    plan = rows[0]["QUERY PLAN"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return scans(plan[0]["Plan"]), elapsed


@pytest.fixture(scope="module")
async def big_store(runtime):
    store = await make_store("cust-200k")
    async with tenancy.bind_tenant(store.tenant):
        await Customer.raw(FILL)
        await Customer.raw("ANALYZE customer")
    return store


@pytest.mark.parametrize(
    ("label", "query"),
    [
        ("first page", {}),
        ("by spend", {"sort": "spent"}),
        ("by orders", {"sort": "orders"}),
        ("newest", {"sort": "new"}),
        ("by name", {"sort": "name"}),
        ("name prefix", {"q": "вера сидор"}),
        ("broad prefix", {"q": "а"}),
        ("broad prefix by spend", {"q": "анна", "sort": "spent"}),
        ("phone digits", {"q": "8 912 000 12"}),
        ("e-mail", {"q": "user4242@example.com"}),
        ("rfm class", {"rfm": "champions"}),
        ("tag", {"tag": "vip"}),
        ("city + has orders", {"city": "казань", "has_orders": "yes"}),
    ],
)
async def test_list_queries_use_indexes_at_200k(big_store, label: str, query: dict) -> None:
    async with tenancy.bind_tenant(big_store.tenant):
        filters = customers.parse_filters(query)
        where, params = joined(where_clauses(filters, "RU"))
        name = sort_key("(c.name || '')" if filters.q else "c.name")  # as list_page sorts
        order = (SEARCH_SORTS if filters.q else SORTS)[filters.sort].format(name=name)
        sql = f"SELECT {LIST_COLUMNS} FROM customer c WHERE {where} ORDER BY {order} LIMIT 50"
        nodes, ms = await explain(sql, params)
        print(f"{label}: {ms:.1f} ms {nodes}")
        assert not [n for n in nodes if n.startswith("Seq Scan:customer")], (label, nodes)
        page = await customers.list_page(filters, country="RU")
        assert page.items, label


async def test_first_page_count_is_capped_and_estimated(big_store) -> None:
    async with tenancy.bind_tenant(big_store.tenant):
        page = await customers.list_page(customers.parse_filters({}))
        assert page.total > customers.COUNT_CAP  # the planner's estimate of ~200,000, not a count
        assert 150_000 < page.total < 260_000
        filtered = await customers.list_page(customers.parse_filters({"city": "Казань"}))
        assert filtered.total == customers.COUNT_CAP + 1  # "more than 10,000"
        vip = segments.compile_rules([{"field": "tag", "op": "has", "value": "vip"}])
        assert await segments.count(vip) == 4000
