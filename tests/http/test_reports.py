"""Reports over HTTP: repeat purchase rate, cohorts, ABC classes and sources match hand computation on a
small store; the period picker validates; store A never sees store B's numbers."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import pytest

from app.i18n import format_money, format_percent, use_locale
from app.services import analytics, customers, orders
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import login, make_store

pytestmark = pytest.mark.http


def text_of(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    assert match, name
    return match.group(1).strip()


async def place(phone: str, lines: list[tuple[str, int, int]], when: datetime, utm: str = "") -> dict:
    order, _ = await orders.create_order(
        orders.OrderDraft(
            lines=tuple(orders.LineDraft(None, name, name, price, qty) for name, price, qty in lines),
            currency="RUB",
            customer_name="Покупатель",
            phone=customers.normalize_phone(phone, "RU"),
            source="form",
            form_code="order",
            utm={"utm_source": utm} if utm else {},
            idempotency_key=secrets.token_hex(8),
        )
    )
    await Order.update({Order.created_at: when}).where(Order.id == order["id"])
    return order


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("reports-shop")
    async with tenancy.bind_tenant(store.tenant):
        # Goods revenue in the period (Aug–Oct): Kettle 7000, Pan 1500, Mug 1000, Spoon 500 (total 10000).
        # Cumulative: Kettle 70 % → A; Pan starts at 70 % → A; Mug starts at 85 % → B; Spoon starts at 95 % → C.
        await place("+7 912 200 0001", [("Kettle", 3500, 2)], at(8, 3), utm="vk")  # customer 1, cohort Aug
        await place("+7 912 200 0001", [("Pan", 1500, 1)], at(9, 10), utm="vk")  # customer 1 again in Sep
        await place("+7 912 200 0002", [("Mug", 500, 2)], at(8, 20), utm="ya")  # customer 2, cohort Aug
        await place("+7 912 200 0003", [("Spoon", 500, 1)], at(10, 1))  # customer 3, cohort Oct
        cancelled = await place("+7 912 200 0004", [("Kettle", 3500, 9)], at(9, 2), utm="ya")
        await orders.change_status(cancelled["id"], "cancelled", actor_id=None, actor="t")
        for utm in ["vk"] * 4 + ["ya"] * 3:
            await analytics.record_form_opened("order", utm)
        await Order.raw("UPDATE form_day SET day = '2026-09-15'")
    return store


async def test_reports_match_hand_computation(client, shop) -> None:
    await client.get("/lang/en")
    await login(client, shop.email)
    page = (await client.get(f"/s/{shop.slug}/reports?from=2026-08-01&to=2026-10-31")).text
    with use_locale("en"):
        # Three customers made a first purchase in the period; one of them (customer 1) bought again.
        assert text_of(page, "repeat-rate") == format_percent(1 / 3)
        assert text_of(page, "customers-total") == "3"
        # Cohorts: August (2 customers) – month 1 (September): customer 1 came back → 50 %.
        assert text_of(page, "cohort-2026-08-01-0") == format_percent(1.0)
        assert text_of(page, "cohort-2026-08-01-1") == format_percent(0.5)
        assert text_of(page, "cohort-2026-08-01-2") == format_percent(0.0)
        assert text_of(page, "cohort-2026-10-01-0") == format_percent(1.0)
        classes = re.findall(r'data-testid="abc-class">(\w)<', page)
        assert classes == ["A", "A", "B", "C"]
        names = re.findall(r'data-testid="abc-row"><td>.*?</td><td>([^<]+)</td>', page)
        assert names == ["Kettle", "Pan", "Mug", "Spoon"]
        vk = re.search(r'data-testid="source-form-vk">(.*?)</tr>', page, flags=re.S).group(1)
        assert text_of(vk, "source-orders") == "2"
        assert text_of(vk, "source-revenue") == format_money(8500, "RUB")
        assert text_of(vk, "source-conversion") == format_percent(2 / 4)
        ya = re.search(r'data-testid="source-form-ya">(.*?)</tr>', page, flags=re.S).group(1)
        assert text_of(ya, "source-orders") == "2"  # the cancelled order counts as placed, not as revenue
        assert text_of(ya, "source-revenue") == format_money(1000, "RUB")
    for chart in ("chart-cohorts", "chart-abc", "chart-sources"):
        assert re.search(rf'data-testid="{chart}".*?<svg', page, flags=re.S), chart


async def test_an_empty_period_says_so(client, shop) -> None:
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/reports?from=2001-01-01&to=2001-02-01")
    assert page.status_code == 200
    for empty in ("cohorts-empty", "abc-empty", "sources-empty"):
        assert f'data-testid="{empty}"' in page.text
    assert text_of(page.text, "repeat-rate") == "—"


async def test_bad_dates_get_a_422_with_the_form(client, shop) -> None:
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/reports?from=2026-01-01&to=2020-01-01")
    assert page.status_code == 422
    assert 'data-testid="period-error"' in page.text
    fragment = await client.get(f"/s/{shop.slug}/reports?period=year", headers={"HX-Request": "true"})
    assert 'id="reports-body"' in fragment.text[:300] and "<html" not in fragment.text


async def test_store_b_cannot_see_store_a_reports(client, shop, store_b) -> None:
    await login(client, store_b.email)
    assert (await client.get(f"/s/{shop.slug}/reports")).status_code == 404
    own = await client.get(f"/s/{store_b.slug}/reports?from=2026-08-01&to=2026-10-31")
    assert own.status_code == 200
    assert "Kettle" not in own.text
    assert 'data-testid="abc-empty"' in own.text
