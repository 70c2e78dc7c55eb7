"""The dashboard over HTTP: figures match hand computation, the previous period compares safely, the
period picker validates, htmx gets the fragment, and store A never sees store B's numbers.

The store is in Moscow and the figures are checked with the clock at fixed instants on both sides of its
midnight and of UTC's (tests/clock.py): a period is made of the store's days, whatever the UTC date is."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from app.i18n import format_money, format_percent, use_locale
from app.services import analytics, customers, orders
from app.services.dashboard import money_whole
from app.tables.orders import Order
from app.tables.payments import Payment, PaymentConnection
from app.tenancy import runtime as tenancy
from tests.clock import AROUND_MIDNIGHT, label, local, store_day, travel
from tests.conftest import login, make_store

pytestmark = pytest.mark.http


def text_of(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    assert match, name
    return match.group(1).strip()


async def place(phone: str, price: int, when: datetime, *, utm: str = "", source: str = "form") -> dict:
    order, _ = await orders.create_order(
        orders.OrderDraft(
            lines=(orders.LineDraft(None, "Чайник", "K-1", price, 1),),
            currency="RUB",
            customer_name="Анна",
            phone=customers.normalize_phone(phone, "RU"),
            source=source,
            form_code="order" if source == "form" else None,
            utm={"utm_source": utm} if utm else {},
            idempotency_key=secrets.token_hex(8),
        )
    )
    await Order.update({Order.created_at: when}).where(Order.id == order["id"])
    return order


async def paid(order: dict) -> None:
    conn = await PaymentConnection.select(PaymentConnection.id).first()
    if conn is None:
        rows = await PaymentConnection.insert(
            PaymentConnection(code="sandbox", name="s", config_encrypted="x", created_at=datetime.now(UTC))
        )
        conn = rows[0]
    await Payment.insert(
        Payment(
            order=order["id"],
            connection=conn["id"],
            ref=secrets.token_hex(8),
            idempotency_key=secrets.token_hex(8),
            status="succeeded",
            amount_minor=order["total_minor"],
            currency="RUB",
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
    )


@pytest.fixture(scope="module", params=AROUND_MIDNIGHT, ids=label)
async def shop(runtime, request):
    with travel(request.param):
        store = await make_store(f"dash-shop-{label(request.param)}")
        async with tenancy.bind_tenant(store.tenant):
            # This period (the store's last 7 and 30 days): three orders by two customers, one cancelled, one
            # paid. The first is a minute old: on the store's today even where the UTC date is still yesterday.
            first = await place("+7 912 100 0001", 10000, datetime.now(UTC) - timedelta(minutes=1), utm="vk")
            await place("+7 912 100 0002", 20000, local(store_day(5), 12), utm="ya")
            # Five minutes into the first day of the last 7 days (UTC's clock still shows the day before).
            cancelled = await place("+7 912 100 0001", 30000, local(store_day(6), 0, 5))
            await orders.change_status(cancelled["id"], "cancelled", actor_id=None, actor="t")
            await paid(first)
            # The previous 30 days: one order of 5000, not paid.
            await place("+7 912 100 0003", 5000, local(store_day(40), 12))
            for _ in range(4):
                await analytics.record_form_opened("order", "vk")
        yield store


async def test_figures_match_hand_computation_and_compare_with_the_previous_period(client, shop) -> None:
    await client.get("/lang/en")
    await login(client, shop.email)
    page = (await client.get(f"/s/{shop.slug}/?period=30d")).text
    with use_locale("en"):
        assert text_of(page, "kpi-revenue-value") == money_whole(30000, "RUB")  # 10000 + 20000, cancelled left out
        assert text_of(page, "kpi-orders-value") == "3"
        assert text_of(page, "kpi-average-value") == money_whole(15000, "RUB")  # 30000 / 2 valid orders
        assert text_of(page, "kpi-paid_share-value") == format_percent(1 / 3)
        assert text_of(page, "kpi-revenue-delta") == "▲ " + format_percent(5.0)  # 30000 against 5000
        assert text_of(page, "kpi-orders-delta") == "▲ " + format_percent(2.0)
        assert text_of(page, "kpi-average-delta") == "▲ " + format_percent(2.0)  # 15000 against 5000
        assert text_of(page, "kpi-paid_share-delta") == "new"  # 0 paid before: no division by zero
    assert text_of(page, "kpi-new_customers-value") == "2"  # 0001 and 0002; 0003 came before
    assert text_of(page, "funnel-opened-count") == "4"
    assert text_of(page, "funnel-placed-count") == "3"
    assert text_of(page, "funnel-paid-count") == "1"
    for chart in ("chart-revenue", "chart-orders", "funnel"):
        assert re.search(rf'data-testid="{chart}".*?<svg', page, flags=re.S), chart
    assert 'class="delta delta-good"' in page


async def test_an_empty_previous_period_shows_no_change_instead_of_failing(client, shop) -> None:
    await client.get("/lang/en")
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/?period=7d")
    assert page.status_code == 200
    assert text_of(page.text, "kpi-orders-value") == "3"
    assert text_of(page.text, "kpi-orders-delta") == "new"  # nothing 8–14 days ago
    far = await client.get(f"/s/{shop.slug}/?from=2001-01-01&to=2001-01-31")
    assert 'data-testid="dashboard-empty"' in far.text
    assert text_of(far.text, "kpi-orders-delta") == "—"


@pytest.mark.parametrize("by", ["day", "week", "month"])
async def test_every_granularity_and_preset_renders_charts(client, shop, by: str) -> None:
    await login(client, shop.email)
    for preset in analytics.PRESETS:
        page = await client.get(f"/s/{shop.slug}/?period={preset}&by={by}")
        assert page.status_code == 200
        assert page.text.count("<svg") >= 3


async def test_a_bad_period_gets_a_clear_error_in_the_users_language(client, shop) -> None:
    await client.get("/lang/ru")
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/?from=2026-13-01&to=yesterday")
    assert page.status_code == 422
    assert "ГГГГ-ММ-ДД" in text_of(page.text, "period-error")
    backwards = await client.get(f"/s/{shop.slug}/?from=2026-05-01&to=2026-04-01")
    assert backwards.status_code == 422
    assert (await client.get(f"/s/{shop.slug}/?period=forever&by=hour")).status_code == 422


async def test_htmx_gets_the_fragment(client, shop) -> None:
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/?period=90d", headers={"HX-Request": "true"})
    assert page.text.lstrip().startswith('<div id="dashboard-body"') or 'id="dashboard-body"' in page.text[:400]
    assert "<html" not in page.text
    assert page.headers["vary"] == "HX-Request"


async def test_store_b_cannot_see_store_a_numbers(client, shop, store_b) -> None:
    await client.get("/lang/en")
    await login(client, store_b.email)
    assert (await client.get(f"/s/{shop.slug}/")).status_code == 404
    own = (await client.get(f"/s/{store_b.slug}/?period=30d")).text
    assert text_of(own, "kpi-orders-value") == "0"
    assert format_money(30000, "RUB") not in own


async def test_opening_the_hosted_form_counts_a_visit_but_a_search_inside_it_does_not(client, runtime) -> None:
    store = await make_store("dash-visits")
    for query in ("?utm_source=vk", "?utm_source=vk&lang=en", "", "?q=kettle&utm_source=vk"):
        assert (await client.get(f"/f/{store.slug}/order{query}")).status_code == 200
    assert (await client.get(f"/f/{store.slug}/order", headers={"HX-Request": "true"})).status_code == 200
    async with tenancy.bind_tenant(store.tenant):
        rows = await Order.raw("SELECT utm_source, opened FROM form_day ORDER BY 1")
    assert [(r["utm_source"], r["opened"]) for r in rows] == [("", 1), ("vk", 2)]
    await login(client, store.email)
    page = (await client.get(f"/s/{store.slug}/?period=7d")).text
    assert text_of(page, "funnel-opened-count") == "3"
    assert text_of(page, "funnel-placed-count") == "0"
