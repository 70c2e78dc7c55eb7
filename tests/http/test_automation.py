"""Automation settings and staff results over HTTP: rule forms (422 on bad input), the worker wired to
requests, the results page with charts, and store isolation."""

from __future__ import annotations

import pytest

from app import jobs
from app.services import orders
from app.tables.automation import AutomationRule
from app.tables.orders import Order
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("rule-shop", locale="en")


async def test_bad_rules_are_refused_with_errors_per_field(client, shop) -> None:
    await login(client, shop.email)
    url = f"/s/{shop.slug}/settings/automation/new"
    assert (await client.get(url)).status_code == 200
    cases = [
        ({"name": "", "event": "order_created", "action": "add_tag", "tag": "x"}, "name"),
        ({"name": "a", "event": "nope", "action": "add_tag", "tag": "x"}, "event"),
        ({"name": "a", "event": "no_order", "action": "add_tag", "tag": "x"}, "cond_days"),
        ({"name": "a", "event": "order_created", "action": "call_url", "url": "ftp://example.com/x"}, "url"),
        ({"name": "a", "event": "order_created", "action": "change_status", "to_status": "zzz"}, "to_status"),
        (
            {"name": "a", "event": "order_created", "action": "add_tag", "tag": "x", "delay_minutes": "-5"},
            "delay_minutes",
        ),
        (
            {"name": "a", "event": "order_created", "action": "add_tag", "tag": "x", "cond_min_total": "lots"},
            "cond_min_total",
        ),
        ({"name": "a", "event": "form_unfinished", "action": "change_status", "to_status": "approval"}, "action"),
        (
            {
                "name": "a",
                "event": "order_created",
                "action": "send_email",
                "email_to": "not an address",
                "email_subject": "s",
            },
            "email_to",
        ),
    ]
    for data, field in cases:
        response = await client.post(url, data={**data, "_csrf_token": csrf(client)})
        assert response.status_code == 422, data
        assert f'data-testid="error-{field}"' in response.text, (field, data)
    async with tenancy.bind_tenant(shop.tenant):
        assert await AutomationRule.count() == 0


async def test_a_rule_made_in_settings_runs_after_a_status_change_from_the_order_card(client, shop) -> None:
    await login(client, shop.email)
    created = await client.post(
        f"/s/{shop.slug}/settings/automation/new",
        data={
            "name": "Confirm call",
            "event": "status_changed",
            "cond_status": "approval",
            "action": "create_task",
            "task_title": "Confirm {number}",
            "task_assignee": str(shop.identity_id),
            "task_due_hours": "4",
            "delay_minutes": "0",
            "active": "on",
            "_csrf_token": csrf(client),
        },
    )
    assert created.status_code == 303
    rule_url = created.headers["location"].split("?")[0]
    assert 'data-testid="rule-form"' in (await client.get(rule_url)).text
    async with tenancy.bind_tenant(shop.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Kettle", "K-1", 5000, 1),), currency="RUB", phone="+79120003311"
            )
        )
    moved = await client.post(
        f"/s/{shop.slug}/orders/{order['id']}/status", data={"status": "approval", "_csrf_token": csrf(client)}
    )
    assert moved.status_code == 303
    await jobs.run_worker(wait=False)  # the request queued the store's automation
    async with tenancy.bind_tenant(shop.tenant):
        task = await Task.select().where(Task.order_id == order["id"]).first()
    assert task is not None and task["title"] == f"Confirm {order['number']}"
    card = await client.get(f"/s/{shop.slug}/orders/{order['id']}")  # a card with history and a task
    assert card.status_code == 200 and 'data-testid="order-task"' in card.text
    listing = await client.get(f"/s/{shop.slug}/settings/automation/")
    assert 'data-testid="run-done"' in listing.text and "Confirm call" in listing.text
    edited = await client.post(
        rule_url,
        data={
            "name": "Confirm call",
            "event": "status_changed",
            "action": "call_url",
            "url": "https://example.com/hook",
            "_csrf_token": csrf(client),
        },
    )
    assert edited.status_code == 303
    assert 'data-testid="rule-secret"' in (await client.get(rule_url)).text
    deleted = await client.post(f"{rule_url}/delete", data={"_csrf_token": csrf(client)})
    assert deleted.status_code == 303
    async with tenancy.bind_tenant(shop.tenant):
        assert await AutomationRule.count() == 0


async def test_staff_results_show_each_manager_with_charts(client, shop) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Kettle", "K-1", 7000, 1),), currency="RUB", phone="+79120003312"
            )
        )
        await Order.update({Order.manager_id: shop.identity_id}).where(Order.id == order["id"])
        await orders.change_status(order["id"], "approval", actor_id=shop.identity_id, actor=shop.email)
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/staff/results/?days=7")
    assert page.status_code == 200
    assert f'data-testid="result-{shop.identity_id}"' in page.text
    assert 'data-testid="chart-daily"' in page.text and "<svg" in page.text


async def test_store_b_cannot_reach_store_a_rules_or_results(client, shop, store_b) -> None:
    async with tenancy.bind_tenant(shop.tenant):
        rule = AutomationRule(name="A only", event="order_created", actions=[{"type": "add_tag", "tag": "a"}])
        await rule.save()
    await login(client, store_b.email)
    for path in ("settings/automation/", f"settings/automation/{rule.id}", "staff/results/"):
        assert (await client.get(f"/s/{shop.slug}/{path}")).status_code == 404, path
    posted = await client.post(
        f"/s/{shop.slug}/settings/automation/{rule.id}/delete", data={"_csrf_token": csrf(client)}
    )
    assert posted.status_code == 404
    assert (await client.get(f"/s/{store_b.slug}/settings/automation/{rule.id}")).status_code == 404
    async with tenancy.bind_tenant(shop.tenant):
        assert await AutomationRule.count().where(AutomationRule.id == rule.id) == 1
