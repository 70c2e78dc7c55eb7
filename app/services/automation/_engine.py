"""Running rules: drain the event outbox, match conditions, act (now or later), log every run, stop loops.

Loops are stopped twice over: an event caused by a rule's action carries ``depth + 1`` (see
``services.outbox``) and rules ignore events deeper than ``MAX_DEPTH``; and one rule acts on one order
or customer at most ``RATE_LIMIT`` times an hour. Both leave a ``stopped`` run in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from app.errors import AppError
from app.i18n import format_money, messages, use_locale
from app.i18n.messages import Localized
from app.i18n.messages import gettext as _
from app.services import identities, orders, outbox, staff, tasks
from app.services.imports.fetch import BlockedAddress, guarded_client
from app.services.mail import MailSettings, send_email, simple_message
from app.tables.automation import AutomationEvent, AutomationRule, AutomationRun
from app.tables.customers import Customer
from app.tables.orders import Order
from app.tenancy.runtime import current_tenant, store_transaction, transaction_connection

logger = logging.getLogger(__name__)

MAX_DEPTH = 3
RATE_LIMIT = 5  # runs of one rule on one order/customer per hour
SIGNATURE_HEADER = "X-AutoOffice-Signature"
TIMESTAMP_HEADER = "X-AutoOffice-Timestamp"


@dataclass(frozen=True)
class Env:
    """What actions need from outside the store: links, mail, and whether private addresses may be called."""

    public_url: str
    mail: MailSettings
    allow_private: bool = False


class ActionFailed(Exception):
    """An action could not be done; the message (translated) goes to the run log."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp + "." + body`` with the rule's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


async def _claim_events(limit: int) -> list[dict]:
    return await AutomationEvent.raw(
        "UPDATE automation_event SET processed_at = now() WHERE id IN (SELECT id FROM automation_event"
        " WHERE processed_at IS NULL ORDER BY id LIMIT {} FOR UPDATE SKIP LOCKED)"
        " RETURNING id, kind, order_id, customer_id, data, depth",
        limit,
    )


def _data(event: Mapping) -> dict:
    data = event["data"]
    return json.loads(data) if isinstance(data, str) else dict(data or {})


async def drain(env: Env, *, rounds: int = 20, batch: int = 200) -> list[tuple[int, int]]:
    """Handle every pending event, including those the rules' own actions emit on the way.

    Returns the delayed runs as ``(run_id, seconds)`` so the caller can queue them for that moment.
    """
    delayed: list[tuple[int, int]] = []
    for _round in range(rounds):
        events = await _claim_events(batch)
        if not events:
            break
        rules = await AutomationRule.select().where(AutomationRule.active.eq(True)).output(load_json=True)
        groups = {s["code"]: s["group"] for s in await orders.all_statuses()}
        for event in events:
            candidates = [rule for rule in rules if rule["event"] == event["kind"]]
            if not candidates:
                continue
            async with store_transaction():  # one connection per event; each run's actions in a savepoint
                ctx = await _context(event, current=False)
                for rule in candidates:
                    if _matches(rule, ctx, groups):
                        scheduled = await _start(rule, event, env)
                        if scheduled:
                            delayed.append(scheduled)
    return delayed


async def _order(order_id: int | None) -> dict | None:
    """The order's facts that conditions and actions use, in one query (no lines, no history)."""
    if not order_id:
        return None
    return (
        await Order.select(
            *Order.all_columns(),
            Order.status.code.as_alias("status_code"),
            Order.status.group.as_alias("status_group"),
        )
        .where(Order.id == order_id)
        .output(load_json=True)
        .first()
    )


async def _context(event: Mapping, *, current: bool) -> dict:
    """What conditions look at; with ``current`` the order as it is now (a delayed run re-checks)."""
    data = _data(event)
    order = await _order(event["order_id"])
    ctx: dict = {"data": data, "order": order, "missing": bool(event["order_id"]) and order is None}
    if order is not None:
        ctx["status"] = order["status_code"]
        if event["kind"] == outbox.STATUS_CHANGED and not current:
            ctx["status"] = data.get("to")
    return ctx


def _matches(rule: Mapping, ctx: Mapping, groups: Mapping[str, str]) -> bool:
    cond = rule["conditions"] or {}
    order, data = ctx["order"], ctx["data"]
    if ctx["missing"]:
        return False
    if cond.get("status") and ctx.get("status") != cond["status"]:
        return False
    if cond.get("group") and groups.get(ctx.get("status") or "") != cond["group"]:
        return False
    if cond.get("min_total") is not None and (order is None or order["total_minor"] < cond["min_total"]):
        return False
    if cond.get("source") and (order is None or order["source"] != cond["source"]):
        return False
    utm = (order or {}).get("utm") or data.get("utm") or {}
    if cond.get("utm_source") and utm.get("utm_source") != cond["utm_source"]:
        return False
    if cond.get("form") and ((order or {}).get("form_code") or data.get("form")) != cond["form"]:
        return False
    if cond.get("gateway") and data.get("gateway") != cond["gateway"]:
        return False
    if cond.get("segment") and data.get("segment") != cond["segment"]:
        return False
    return not (cond.get("days") and data.get("days") != cond["days"])


def _entity(event: Mapping) -> str:
    return f"order:{event['order_id']}" if event["order_id"] else f"customer:{event['customer_id']}"


async def _log(rule: Mapping, event: Mapping, status: str, *, outcome: str = "", due: datetime | None = None) -> int:
    now = datetime.now(UTC)
    row = AutomationRun(
        rule=rule["id"],
        event_id=event["id"],
        event_kind=event["kind"],
        order_id=event["order_id"],
        customer_id=event["customer_id"],
        entity=_entity(event),
        depth=event["depth"],
        status=status,
        outcome=outcome,
        outcome_data=messages.as_data(outcome),
        due_at=due or now,
        created_at=now,
        finished_at=None if status == "scheduled" else now,
    )
    await row.save()
    return row.id


async def _start(rule: Mapping, event: Mapping, env: Env) -> tuple[int, int] | None:
    if event["depth"] >= MAX_DEPTH:
        await _log(rule, event, "stopped", outcome=_("Stopped: rules kept triggering each other (a loop)."))
        return None
    since = datetime.now(UTC) - timedelta(hours=1)
    recent = await AutomationRun.count().where(
        (AutomationRun.rule == rule["id"])
        & (AutomationRun.entity == _entity(event))
        & (AutomationRun.created_at >= since)
        & AutomationRun.status.is_in(["scheduled", "running", "done", "failed"])
    )
    if recent >= RATE_LIMIT:
        await _log(rule, event, "stopped", outcome=_("Stopped: this rule ran too often for the same record."))
        return None
    delay = int(rule["delay_minutes"] or 0) * 60
    run_id = await _log(rule, event, "scheduled", due=datetime.now(UTC) + timedelta(seconds=delay))
    if delay:
        return run_id, delay
    await execute(run_id, env)
    return None


async def run_due(env: Env, *, now: datetime | None = None, limit: int = 100) -> int:
    """Run delayed runs whose time has come (the safety net behind the queued jobs); returns how many."""
    now = now or datetime.now(UTC)
    rows = (
        await AutomationRun.select(AutomationRun.id)
        .where((AutomationRun.status == "scheduled") & (AutomationRun.due_at <= now))
        .order_by(AutomationRun.due_at)
        .limit(limit)
    )
    for row in rows:
        await execute(row["id"], env)
    return len(rows)


async def execute(run_id: int, env: Env) -> str | None:
    """Do a scheduled run's actions once (claimed atomically); returns the run's final status.

    One transaction (one connection) holds the claim, the actions and the log entry; the actions sit in
    a savepoint, so a failing action rolls back what it and its siblings did while the log keeps why.
    """
    async with store_transaction():
        claimed = await AutomationRun.raw(
            "UPDATE automation_run SET status = 'running' WHERE id = {} AND status = 'scheduled'"
            " RETURNING id, rule, event_id, event_kind AS kind, order_id, customer_id, depth, due_at, created_at",
            run_id,
        )
        if not claimed:
            return None
        run = claimed[0]
        rule = await AutomationRule.select().where(AutomationRule.id == run["rule"]).output(load_json=True).first()
        stored = await AutomationEvent.select(AutomationEvent.data).where(AutomationEvent.id == run["event_id"]).first()
        event = {**run, "id": run["event_id"], "data": (stored or {}).get("data") or {}}
        status, outcome, error = "done", "", ""  # Message or list of them: kept as data for the log
        if rule is None or not rule["active"]:
            status, outcome = "skipped", _("The rule was switched off.")
        elif run["due_at"] > run["created_at"] and not await _still_matches(rule, event):
            status, outcome = "skipped", _("The conditions no longer hold.")
        else:
            status, outcome, error = await _act_all(rule, event, run, env)
        await AutomationRun.update(
            {
                AutomationRun.status: status,
                AutomationRun.outcome: _text(outcome)[:2000],
                AutomationRun.outcome_data: messages.as_data(outcome),
                AutomationRun.error: str(error)[:2000],
                AutomationRun.error_data: messages.as_data(error),
                AutomationRun.finished_at: datetime.now(UTC),
            }
        ).where(AutomationRun.id == run_id)
    return status


def _text(outcome: str | list[str]) -> str:
    return "; ".join(outcome) if isinstance(outcome, list) else str(outcome)


async def _act_all(rule: Mapping, event: Mapping, run: Mapping, env: Env) -> tuple[str, str | list[str], str]:
    """(status, outcome, error) of doing every action of ``rule``, inside a savepoint."""
    try:
        with outbox.caused_by_rule(run["depth"] + 1):
            async with transaction_connection().transaction():
                results = [await _act(action, rule, event, env) for action in rule["actions"]]
    except (ActionFailed, AppError) as exc:
        return "failed", "", exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    except Exception as exc:  # a broken action must never stop the other rules
        logger.exception("automation run %s failed", run["id"])
        return "failed", "", f"{type(exc).__name__}: {exc}"[:500]
    return "done", results, ""


async def _still_matches(rule: Mapping, event: Mapping) -> bool:
    groups = {s["code"]: s["group"] for s in await orders.all_statuses()}
    return _matches(rule, await _context(event, current=True), groups)


def _fill(template: str, order: Mapping | None) -> str:
    """Replace ``{number}``, ``{customer}``, ``{total}`` with the order's values."""
    if order is None:
        return template
    values = {
        "{number}": order["number"],
        "{customer}": order["customer_name"] or "",
        "{total}": format_money(order["total_minor"], order["currency"]),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


async def _act(action: Mapping, rule: Mapping, event: Mapping, env: Env) -> str:
    order = await _order(event["order_id"])  # fresh for each action: an earlier one may have changed it
    kind = action.get("type")
    if kind in ("change_status", "assign_manager") and order is None:
        raise ActionFailed(_("This event has no order to act on."))
    if kind == "create_task":
        return await _create_task(action, rule, event, order)
    if kind == "change_status":
        moved = await orders.change_status(order["id"], action["status"], actor_id=None, actor=f"rule:{rule['name']}")
        status = Localized(moved.get("status_names") or {}, action["status"])
        return _("Status changed to %(status)s.", status=status)
    if kind == "assign_manager":
        await staff.assign_order(order["id"], action["manager"], actor_id=None)
        return _("Manager assigned.")
    if kind == "send_email":
        return await _send_email(action, event, order, env)
    if kind == "call_url":
        return await _call_url(action, rule, event, order, env)
    if kind == "add_tag":
        return await _add_tag(action, event, order)
    raise ActionFailed(_("Unknown action."))


async def _create_task(action: Mapping, rule: Mapping, event: Mapping, order: Mapping | None) -> str:
    assignee = action.get("assignee", "manager")
    assignee_id = (order or {}).get("manager_id") if assignee == "manager" else int(assignee)
    due = action.get("due_hours")
    data = tasks.TaskData(
        title=_fill(action["title"], order),
        description=_("Created by the rule “%(name)s”.", name=rule["name"]),
        assignee_id=assignee_id,
        priority="normal",
        due_at=datetime.now(UTC) + timedelta(hours=due) if due is not None else None,
        reminder_at=None,
        order_id=(order or {}).get("id"),
        customer_id=(order or {}).get("customer") or event["customer_id"],
    )
    task_id = await tasks.create(data, author_id=None, rule_id=rule["id"])
    return _("Task #%(id)s created.", id=task_id)


async def _recipient(action: Mapping, event: Mapping, order: Mapping | None) -> tuple[str | None, str, str]:
    """(address, name, locale) the e-mail goes to."""
    tenant = current_tenant()
    if action["to"] == "customer":
        if order is not None:
            return order["email"], order["customer_name"], order["locale"]
        row = await Customer.select(Customer.email, Customer.name).where(Customer.id == event["customer_id"]).first()
        return (row or {}).get("email"), (row or {}).get("name", ""), tenant.locale
    if action["to"] == "manager":
        people = {m.identity_id: m for m in await staff.members()}
        person = people.get((order or {}).get("manager_id"))
        if person is None:
            return None, "", tenant.locale
        language = (await identities.locales([person.identity_id])).get(person.identity_id)
        return person.email, person.name, language or tenant.locale
    return action["to"], "", tenant.locale


async def _send_email(action: Mapping, event: Mapping, order: Mapping | None, env: Env) -> str:
    address, name, locale = await _recipient(action, event, order)
    if not address:
        raise ActionFailed(_("There is no e-mail address to send to."))
    with use_locale(locale):
        try:
            message = simple_message(
                address, _fill(action["subject"], order), _fill(action.get("body", ""), order), env.mail, name=name
            )
        except ValueError:
            raise ActionFailed(_("The e-mail address is not valid.")) from None
    if not await send_email(message, env.mail):
        raise ActionFailed(_("The e-mail was not sent: mail is switched off or the server refused it."))
    return _("E-mail sent to %(address)s.", address=address)


def payload(rule: Mapping, event: Mapping, order: Mapping | None) -> dict:
    """What a called URL receives: the event, the rule, and the order's main facts."""
    body: dict = {
        "store": current_tenant().slug,
        "rule": {"id": rule["id"], "name": rule["name"]},
        "event": {"id": event["id"], "kind": event["kind"], "data": _data(event)},
        "customer_id": event["customer_id"],
    }
    if order is not None:
        body["order"] = {
            key: order[key]
            for key in ("id", "number", "status_code", "total_minor", "currency", "customer_name", "phone", "email")
        } | {"manager_id": order["manager_id"], "source": order["source"]}
    return body


async def _call_url(action: Mapping, rule: Mapping, event: Mapping, order: Mapping | None, env: Env) -> str:
    body = json.dumps(payload(rule, event, order), ensure_ascii=False, default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(rule["secret"], timestamp, body),
    }
    try:
        async with guarded_client(env.allow_private) as client:
            client.follow_redirects = False  # a redirect could point anywhere; the receiver must answer itself
            response = await client.post(action["url"], content=body, headers=headers, timeout=10.0)
    except BlockedAddress as exc:
        raise ActionFailed(exc.message) from None
    except httpx.HTTPError as exc:
        raise ActionFailed(_("The URL could not be reached: %(error)s", error=type(exc).__name__)) from None
    if not 200 <= response.status_code < 300:
        raise ActionFailed(_("The URL answered with HTTP status %(status)s.", status=response.status_code))
    return _("The URL answered %(status)s.", status=response.status_code)


async def _add_tag(action: Mapping, event: Mapping, order: Mapping | None) -> str:
    customer_id = (order or {}).get("customer") or event["customer_id"]
    if not customer_id:
        raise ActionFailed(_("This event has no customer."))
    await Customer.raw(
        "UPDATE customer SET tags = tags || to_jsonb({}::text), updated_at = now() WHERE id = {} AND NOT tags ? {}",
        action["tag"],
        customer_id,
        action["tag"],
    )
    return _("Tag “%(tag)s” added.", tag=action["tag"])


async def scan_no_order(now: datetime | None = None) -> int:
    """Daily: customers whose last order is older than a rule's N days get one ``no_order`` event per gap."""
    now = now or datetime.now(UTC)
    rules = (
        await AutomationRule.select(AutomationRule.conditions)
        .where((AutomationRule.event == outbox.NO_ORDER) & AutomationRule.active.eq(True))
        .output(load_json=True)
    )
    emitted = 0
    for days in sorted({int(r["conditions"].get("days") or 0) for r in rules} - {0}):
        rows = await AutomationEvent.raw(
            "INSERT INTO automation_event (kind, customer_id, data, depth, created_at)"
            " SELECT 'no_order', c.id, jsonb_build_object('days', {}::int, 'key', k.key), 0, {}"
            " FROM customer c CROSS JOIN LATERAL (SELECT {}::int || ':' || extract(epoch FROM c.last_order_at)::bigint"
            " AS key) k WHERE c.merged_into IS NULL AND c.last_order_at < {}::timestamptz - make_interval(days => {})"
            " AND NOT EXISTS (SELECT 1 FROM automation_event e WHERE e.kind = 'no_order' AND e.customer_id = c.id"
            " AND e.data->>'key' = k.key) RETURNING id",
            days,
            now,
            days,
            now,
            days,
        )
        emitted += len(rows)
    return emitted


async def prune(*, events_days: int = 30, runs_days: int = 90) -> int:
    """Daily: forget handled events and old runs. ``no_order`` events stay: they remember which gaps fired."""
    events = await AutomationEvent.raw(
        "DELETE FROM automation_event WHERE processed_at < now() - make_interval(days => {}) AND kind <> 'no_order'"
        " RETURNING id",
        events_days,
    )
    runs = await AutomationRun.raw(
        "DELETE FROM automation_run WHERE finished_at < now() - make_interval(days => {}) RETURNING id", runs_days
    )
    return len(events) + len(runs)
