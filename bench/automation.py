"""Automation: how long the outbox drain takes per event (two rules: a task and a tag), against the cost
of creating the order that emitted it, measured in the same run."""

from __future__ import annotations

import time

from app.services import automation, orders, outbox
from app.services.mail import MailSettings
from app.tables.automation import AutomationEvent
from app.tenancy import runtime as tenancy
from bench._common import Row, bench_runtime, make_store

N = 500


async def run() -> list[Row]:
    async with bench_runtime():
        store = await make_store("bench-rules")
        async with tenancy.bind_tenant(store):
            env = automation.Env("http://127.0.0.1", MailSettings(host=None))
            started = time.perf_counter()
            for i in range(N):
                await orders.create_order(
                    orders.OrderDraft(
                        lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),),
                        currency="RUB",
                        phone=f"+7912{i:07d}",
                    )
                )
            per_order = (time.perf_counter() - started) / N * 1000
            await automation.drain(env)  # no rules yet: the events are only marked handled
            for action in (
                {"type": "create_task", "title": "Call {number}", "assignee": "manager", "due_hours": 2},
                {"type": "add_tag", "tag": "new"},
            ):
                await automation.create_rule(
                    {
                        "name": action["type"],
                        "event": outbox.ORDER_CREATED,
                        "conditions": {"min_total": 100},
                        "actions": [action],
                        "delay_minutes": 0,
                        "active": True,
                    }
                )
            # Emit N fresh events for the same orders (as a re-run would) and drain them.
            await AutomationEvent.raw(
                "INSERT INTO automation_event (kind, order_id, customer_id, data, depth, created_at)"
                " SELECT 'order_created', id, customer, jsonb_build_object(), 0, now() FROM orders"
            )
            started = time.perf_counter()
            await automation.drain(env, rounds=100)
            per_event = (time.perf_counter() - started) / N * 1000
    return [
        Row("automation: create an order (emits one event)", per_order, "ms"),
        Row("automation: drain one event, 2 rules", per_event, "ms", per_order, "< 2x an order"),
    ]
