"""A store's "today" is today in its zone, at every hour: staff results, form visits and segment sizes count
on the store's day, and the task calendar opens on the store's month, with the clock at fixed instants on
both sides of midnight in Moscow and in UTC. The expected days are written out by hand (Moscow is UTC+3)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from app.i18n import use_timezone
from app.services import analytics, orders, segments, staff_results, tasks
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.clock import AROUND_MIDNIGHT, label, travel
from tests.conftest import make_store

pytestmark = pytest.mark.integration

# The day it is in Moscow at each instant of AROUND_MIDNIGHT (20:59, 21:01, 23:59 UTC on the 9th, 00:01 on the 10th).
MOSCOW_TODAY = dict(zip(AROUND_MIDNIGHT, (date(2027, 3, 9), *[date(2027, 3, 10)] * 3), strict=True))


@pytest.mark.parametrize("instant", AROUND_MIDNIGHT, ids=label)
async def test_the_store_day_counts_whatever_the_utc_date(runtime, instant: datetime) -> None:
    with travel(instant):
        store = await make_store(f"days-{label(instant)}")
        async with tenancy.bind_tenant(store.tenant):
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),),
                    currency="RUB",
                    phone="+79120004411",
                    idempotency_key=secrets.token_hex(8),
                )
            )
            placed = instant - timedelta(minutes=1)
            await Order.update({Order.created_at: placed, Order.manager_id: store.identity_id}).where(
                Order.id == order["id"]
            )
            results = await staff_results.results(7)
            await analytics.record_form_opened("order", "")
            visits = await Order.raw("SELECT day FROM form_day")
            segment_id, errors = await segments.save(None, "Все", "static", [])
            assert not errors and segment_id is not None
            await segments.add_member(segment_id, order["customer"])
            snapshots = await Order.raw("SELECT day FROM segment_snapshot WHERE segment = {}", segment_id)
    today = MOSCOW_TODAY[instant]
    assert results.labels[-1] == today and results.labels[0] == today - timedelta(days=6)
    assert [sum(counts) for counts in results.daily.values()] == [1]
    assert next(iter(results.daily.values()))[-1] == 1  # a minute before the instant is the store's today
    assert [row["day"] for row in visits] == [today]
    assert [row["day"] for row in snapshots] == [today]


async def test_the_task_calendar_opens_on_the_month_it_is_in_the_store() -> None:
    with travel(datetime(2027, 3, 31, 21, 30, tzinfo=UTC)):  # 00:30 on 1 April in Moscow
        with use_timezone("Europe/Moscow"):
            assert tasks.parse_month(None) == (2027, 4)
        with use_timezone("UTC"):
            assert tasks.parse_month("") == (2027, 3)
