"""Automation rules against a real store database: every event, every action, a delayed action, loops stopped."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiosmtpd.controller import Controller

from app import jobs
from app.gateways.base import Money, PaymentStatus
from app.gateways.sandbox import SandboxGateway
from app.services import automation, forms, orders, outbox, payments, segments
from app.services.mail import MailSettings
from app.tables.automation import AutomationEvent, AutomationRule, AutomationRun
from app.tables.customers import Customer
from app.tables.orders import Order
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import make_store

pytestmark = pytest.mark.integration

ENV = automation.Env("http://127.0.0.1:8000", MailSettings(host=None), allow_private=True)
KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")
SECRET = "sandbox-secret-0123456789"


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("auto-shop")


@pytest.fixture
async def bound(shop):
    """The store bound, with no rules and no pending events left over from another test."""
    async with tenancy.bind_tenant(shop.tenant):
        await automation.drain(ENV)
        await AutomationRule.delete(force=True)
        yield shop
        await AutomationRule.delete(force=True)


async def rule(event: str, action: dict, *, conditions: dict | None = None, delay: int = 0, name: str = "r") -> int:
    return await automation.create_rule(
        {
            "name": name,
            "event": event,
            "conditions": conditions or {},
            "actions": [action],
            "delay_minutes": delay,
            "active": True,
        }
    )


async def new_order(phone: str = "+79120001111", total: int = 100000, **extra) -> dict:
    order, _ = await orders.create_order(
        orders.OrderDraft(
            lines=(orders.LineDraft(None, "Чайник", "K-1", total, 1),), currency="RUB", phone=phone, **extra
        )
    )
    return order


async def runs_of(rule_id: int) -> list[dict]:
    return await AutomationRun.select().where(AutomationRun.rule == rule_id).order_by(AutomationRun.id)


def task_action(title: str = "Call {number}") -> dict:
    return {"type": "create_task", "title": title, "assignee": "manager", "due_hours": 2}


async def test_order_created_creates_a_task_for_the_manager_with_conditions(bound) -> None:
    big = await rule(outbox.ORDER_CREATED, task_action(), conditions={"min_total": 50000, "source": "form"})
    await Order.update({Order.manager_id: None}).where(Order.id > 0)
    order = await new_order(total=90000)
    small = await new_order(phone="+79120001112", total=100)
    await Order.update({Order.manager_id: bound.identity_id}).where(Order.id == order["id"])
    await automation.drain(ENV)
    made = await Task.select().where(Task.rule_id == big)
    assert [t["order_id"] for t in made] == [order["id"]]  # the small order fails "total at least"
    assert made[0]["title"] == f"Call {order['number']}"
    assert made[0]["assignee_id"] == bound.identity_id
    assert made[0]["due_at"] > datetime.now(UTC) + timedelta(minutes=100)
    assert small["id"] not in [t["order_id"] for t in made]
    assert [r["status"] for r in await runs_of(big)] == ["done"]


async def test_status_change_moves_status_with_a_status_condition(bound) -> None:
    moved = await rule(
        outbox.STATUS_CHANGED, {"type": "change_status", "status": "assembling"}, conditions={"status": "approval"}
    )
    order = await new_order(phone="+79120001113")
    await orders.change_status(order["id"], "approval", actor_id=None, actor="test")
    await automation.drain(ENV)
    assert (await orders.get(order["id"]))["status_code"] == "assembling"
    runs = await runs_of(moved)
    assert [r["status"] for r in runs] == ["done"]  # the move to "assembling" does not match "approval"


async def _pay(order: dict, status: PaymentStatus) -> None:
    connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS)
    step = await payments.start(order["token"], connection_id, keys=KEYS)
    gateway = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url)
    page = gateway.verify_page(dict(parse_qsl(urlsplit(step.url).query)))
    body, headers = gateway.build_notification(
        provider_payment_id=page.provider_payment_id,
        payment_ref=page.payment_ref,
        amount=Money(page.amount.minor, "RUB"),
        status=status,
        event_id=f"evt-{order['id']}-{status}",
    )
    await payments.handle_notification(connection_id, body, headers, {}, keys=KEYS)


async def test_payment_received_and_failed_tag_the_customer(bound) -> None:
    await rule(outbox.PAYMENT_RECEIVED, {"type": "add_tag", "tag": "paid"}, conditions={"gateway": "sandbox"})
    await rule(outbox.PAYMENT_FAILED, {"type": "add_tag", "tag": "payment-failed"})
    paid, failed = await new_order(phone="+79120001114"), await new_order(phone="+79120001115")
    await _pay(paid, PaymentStatus.SUCCEEDED)
    await _pay(failed, PaymentStatus.FAILED)
    await automation.drain(ENV)
    tags = {
        row["id"]: row["tags"]
        for row in await Customer.select(Customer.id, Customer.tags).output(load_json=True)
        if row["id"] in (paid["customer"], failed["customer"])
    }
    assert tags == {paid["customer"]: ["paid"], failed["customer"]: ["payment-failed"]}


async def test_unfinished_form_segment_and_no_order_events(bound) -> None:
    lead = await rule(outbox.FORM_UNFINISHED, {"type": "add_tag", "tag": "lead"}, conditions={"form": "order"})
    seg = await rule(outbox.SEGMENT_ENTERED, {"type": "add_tag", "tag": "vip"}, conditions={"segment": 7})
    idle = await rule(
        outbox.NO_ORDER,
        {"type": "create_task", "title": "Win back", "assignee": str(bound.identity_id)},
        conditions={"days": 60},
    )
    await forms.save_draft("nonce-unfinished-1", "order", {"phone": "+79120001116", "name": "Lead"}, "RU")
    await forms.sweep_unfinished(older_than_minutes=0)
    order = await new_order(phone="+79120001117")
    await outbox.segment_entered(order["customer"], 7, "VIP")
    await outbox.segment_entered(order["customer"], 8, "Other")  # another segment: no match
    old = datetime.now(UTC) - timedelta(days=61)
    await Customer.update({Customer.last_order_at: old}).where(Customer.id == order["customer"])
    assert await automation.scan_no_order() >= 1
    assert await automation.scan_no_order() == 0  # one event per gap, however often the scan runs
    await automation.drain(ENV)
    assert [r["status"] for r in await runs_of(lead)] == ["done"]
    assert [r["status"] for r in await runs_of(seg)] == ["done"]
    tags = await Customer.select(Customer.tags).where(Customer.id == order["customer"]).output(load_json=True).first()
    assert tags["tags"] == ["vip"]
    idle_tasks = await Task.select().where(Task.rule_id == idle)
    assert [t["customer_id"] for t in idle_tasks] == [order["customer"]]
    assert idle_tasks[0]["assignee_id"] == bound.identity_id


async def test_assign_manager_and_send_email(bound, monkeypatch) -> None:
    messages: list = []

    class Sink:
        async def handle_DATA(self, server, session, envelope) -> str:
            messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default)))
            return "250 OK"

    port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    env = automation.Env(ENV.public_url, MailSettings(host="127.0.0.1", port=port), allow_private=True)
    try:
        await rule(outbox.ORDER_CREATED, {"type": "assign_manager", "manager": bound.identity_id}, name="assign")
        mail_rule = await rule(
            outbox.ORDER_CREATED,
            {"type": "send_email", "to": "customer", "subject": "Order {number}", "body": "Total {total}"},
            name="mail",
        )
        await rule(
            outbox.ORDER_CREATED,
            {"type": "send_email", "to": "manager", "subject": "New: {number}", "body": "{customer}"},
            conditions={"min_total": 100001},
            name="tell the manager",
        )
        order = await new_order(phone="+79120001118", email="buyer@example.com", total=200000)
        nomail = await new_order(phone="+79120001119")
        await automation.drain(env)
    finally:
        smtp.stop()
    assert (await orders.get(order["id"]))["manager_id"] == bound.identity_id
    assert [(rcpt, m["Subject"]) for rcpt, m in messages] == [
        (["buyer@example.com"], f"Order {order['number']}"),
        ([bound.email], f"New: {order['number']}"),  # the manager the first rule just assigned
    ]
    assert "2" in messages[0][1].get_content()
    statuses = {r["order_id"]: (r["status"], r["error"]) for r in await runs_of(mail_rule)}
    assert statuses[order["id"]][0] == "done"
    assert statuses[nomail["id"]][0] == "failed" and statuses[nomail["id"]][1]  # no address: logged, not raised


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


async def test_call_url_signs_the_payload_and_private_addresses_are_refused(bound) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    Receiver.received.clear()
    try:
        hook = await rule(outbox.ORDER_CREATED, {"type": "call_url", "url": url})
        order = await new_order(phone="+79120001120")
        await automation.drain(ENV)
        # The same rule without the closed-installation switch: 127.0.0.1 is not on the internet.
        order2 = await new_order(phone="+79120001121")
        await automation.drain(automation.Env(ENV.public_url, ENV.mail, allow_private=False))
    finally:
        server.shutdown()
    secret = (await automation.get_rule(hook))["secret"]
    assert len(Receiver.received) == 1
    headers, body = Receiver.received[0]
    timestamp = headers[automation.TIMESTAMP_HEADER]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[automation.SIGNATURE_HEADER], expected)
    assert abs(int(timestamp) - datetime.now(UTC).timestamp()) < 120
    payload = json.loads(body)
    assert payload["order"]["number"] == order["number"] and payload["event"]["kind"] == "order_created"
    assert payload["store"] == bound.slug
    runs = {r["order_id"]: r for r in await runs_of(hook)}
    assert runs[order["id"]]["status"] == "done"
    assert runs[order2["id"]]["status"] == "failed" and "127.0.0.1" in runs[order2["id"]]["error"]


async def test_a_delayed_action_waits_and_rechecks_its_conditions(bound) -> None:
    later = await rule(outbox.ORDER_CREATED, task_action("Still new: {number}"), conditions={"group": "new"}, delay=30)
    waiting, moved = await new_order(phone="+79120001122"), await new_order(phone="+79120001123")
    delayed = await automation.drain(ENV)
    assert sorted(seconds for _run, seconds in delayed) == [1800, 1800]
    assert await Task.count().where(Task.rule_id == later) == 0
    assert await automation.run_due(ENV) == 0  # not yet
    await orders.change_status(moved["id"], "approval", actor_id=None, actor="test")
    assert await automation.run_due(ENV, now=datetime.now(UTC) + timedelta(minutes=31)) == 2
    made = await Task.select().where(Task.rule_id == later)
    assert [t["order_id"] for t in made] == [waiting["id"]]
    by_order = {r["order_id"]: r["status"] for r in await runs_of(later)}
    assert by_order == {waiting["id"]: "done", moved["id"]: "skipped"}


async def test_the_worker_queues_a_delayed_run_for_its_moment(bound) -> None:
    await rule(outbox.ORDER_CREATED, task_action(), delay=15)
    await new_order(phone="+79120001124")
    await AutomationEvent.count()  # the event is committed
    await jobs._drain_store(bound.slug)
    run = await AutomationRun.select().where(AutomationRun.status == "scheduled").first()
    assert run is not None
    async with jobs.jobs_app.connector.pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT scheduled_at FROM procrastinate_jobs WHERE task_name = 'automation.run' AND args->>'run_id' = %s",
            (str(run["id"]),),
        )
        (scheduled_at,) = await cur.fetchone()
    assert timedelta(minutes=14) < scheduled_at - datetime.now(UTC) < timedelta(minutes=16)


async def test_rules_that_ping_pong_statuses_are_stopped(bound) -> None:
    for code in ("ping", "pong"):
        await orders.create_status({"code": code, "group": "approval", "name_en": code.title()})
    await orders.update_status("ping", {"name_en": "Ping", "allow_pong": "on", "active": "on"})
    await orders.update_status("pong", {"name_en": "Pong", "allow_ping": "on", "active": "on"})
    allowed = {f"allow_{code}": "on" for code in ("approval", "assembling", "cancelled", "ping")}
    await orders.update_status("new", {"name_en": "New", "active": "on", **allowed})
    to_pong = await rule(
        outbox.STATUS_CHANGED, {"type": "change_status", "status": "pong"}, conditions={"status": "ping"}
    )
    to_ping = await rule(
        outbox.STATUS_CHANGED, {"type": "change_status", "status": "ping"}, conditions={"status": "pong"}
    )
    order = await new_order(phone="+79120001125")
    await orders.change_status(order["id"], "ping", actor_id=None, actor="test")
    await asyncio.wait_for(automation.drain(ENV), timeout=60)
    assert await AutomationEvent.count().where(AutomationEvent.processed_at.is_null()) == 0
    runs = await AutomationRun.select().where(AutomationRun.rule.is_in([to_pong, to_ping])).order_by(AutomationRun.id)
    assert [r["status"] for r in runs] == ["done"] * automation.MAX_DEPTH + ["stopped"]
    assert runs[-1]["depth"] == automation.MAX_DEPTH
    changes = [c for c in (await orders.get(order["id"]))["history"] if c["field"] == "status"]
    assert len(changes) == 1 + automation.MAX_DEPTH


async def test_one_rule_on_one_record_is_rate_limited(bound) -> None:
    noisy = await rule(outbox.SEGMENT_ENTERED, {"type": "add_tag", "tag": "seen"})
    order = await new_order(phone="+79120001126")
    for _ in range(automation.RATE_LIMIT + 2):
        await outbox.segment_entered(order["customer"], 1)
    await automation.drain(ENV)
    statuses = [r["status"] for r in await runs_of(noisy)]
    assert statuses == ["done"] * automation.RATE_LIMIT + ["stopped"] * 2


async def test_a_broken_action_is_logged_and_rolls_back(bound) -> None:
    broken = await rule(outbox.ORDER_CREATED, {"type": "change_status", "status": "complete"})
    order = await new_order(phone="+79120001127")  # new → complete is not an allowed move
    await automation.drain(ENV)
    run = (await runs_of(broken))[0]
    assert run["status"] == "failed" and run["error"]
    assert (await orders.get(order["id"]))["status_code"] == "new"


async def test_prune_forgets_old_events_and_runs_but_keeps_no_order_gaps(bound) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    for kind in (outbox.ORDER_CREATED, outbox.NO_ORDER):
        await AutomationEvent.insert(AutomationEvent(kind=kind, data={}, created_at=old, processed_at=old))
    assert await automation.prune() >= 1
    kinds = {
        row["kind"]
        for row in await AutomationEvent.select(AutomationEvent.kind).where(
            AutomationEvent.processed_at < datetime.now(UTC) - timedelta(days=30)
        )
    }
    assert kinds == {outbox.NO_ORDER}


async def test_customers_entering_a_watched_segment_become_events(bound) -> None:
    segment_id, errors = await segments.save(None, "Kazan", "dynamic", [segments.Rule("city", "is", "Казань")])
    assert not errors
    tag = await rule(outbox.SEGMENT_ENTERED, {"type": "add_tag", "tag": "kazan"}, conditions={"segment": segment_id})
    before = await new_order(phone="+79120001130")
    await Customer.update({Customer.city: "Казань"}).where(Customer.id == before["customer"])
    assert await automation.scan_segments() == 0  # the first scan only notes who is already there
    newcomer = await new_order(phone="+79120001131")
    await Customer.update({Customer.city: "Казань"}).where(Customer.id == newcomer["customer"])
    assert await automation.scan_segments() == 1
    assert await automation.scan_segments() == 0  # entering happens once
    await Customer.update({Customer.city: "Пермь"}).where(Customer.id == newcomer["customer"])
    assert await automation.scan_segments() == 0  # left
    await Customer.update({Customer.city: "казань"}).where(Customer.id == newcomer["customer"])
    assert await automation.scan_segments() == 1  # and came back
    await automation.drain(ENV)
    assert [r["customer_id"] for r in await runs_of(tag)] == [newcomer["customer"]] * 2
    tags = (
        await Customer.select(Customer.id, Customer.tags)
        .where(Customer.id.is_in([before["customer"], newcomer["customer"]]))
        .output(load_json=True)
    )
    assert {row["id"]: row["tags"] for row in tags} == {before["customer"]: [], newcomer["customer"]: ["kazan"]}
