"""Automation rules: what they react to, their conditions and actions, validated from the settings form."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from app.errors import NotFound
from app.forms import rules
from app.i18n import gettext as _
from app.i18n import messages
from app.services import audit, outbox
from app.services.imports.fetch import check_url
from app.services.imports.values import ValueProblem, parse_money
from app.tables.automation import AutomationRule, AutomationRun
from app.tenancy.runtime import store_transaction

ACTIONS = ("create_task", "change_status", "assign_manager", "send_email", "call_url", "add_tag")
SOURCES = ("form", "staff", "api", "import")
MAX_DELAY_MINUTES = 60 * 24 * 30


def event_label(kind: str) -> str:
    return {
        outbox.ORDER_CREATED: _("Order created"),
        outbox.STATUS_CHANGED: _("Order status changed"),
        outbox.PAYMENT_RECEIVED: _("Payment received"),
        outbox.PAYMENT_FAILED: _("Payment failed"),
        outbox.FORM_UNFINISHED: _("Order form left unfinished"),
        outbox.SEGMENT_ENTERED: _("Customer entered a segment"),
        outbox.NO_ORDER: _("No order for N days"),
    }.get(kind, kind)


def action_label(kind: str) -> str:
    return {
        "create_task": _("Create a task"),
        "change_status": _("Change the order status"),
        "assign_manager": _("Assign a manager"),
        "send_email": _("Send an e-mail"),
        "call_url": _("Call a URL with a signed payload"),
        "add_tag": _("Add a tag to the customer"),
    }.get(kind, kind)


def run_status_label(status: str) -> str:
    return {
        "scheduled": _("Scheduled"), "running": _("Running"), "done": _("Done"), "failed": _("Failed"),
        "stopped": _("Stopped"), "skipped": _("Skipped"),
    }.get(status, status)  # fmt: skip


def _int(text: str, low: int, high: int) -> int | None:
    try:
        return rules.integer(text, low=low, high=high)
    except rules.Invalid:
        return None


def _conditions(raw: Mapping[str, str], event: str, currency: str, ctx: Mapping, errors: dict[str, str]) -> dict:
    cond: dict = {}
    if raw.get("cond_status"):
        if raw["cond_status"] not in ctx["status_codes"]:
            errors["cond_status"] = _("Choose one of the offered options.")
        cond["status"] = raw["cond_status"]
    if raw.get("cond_group"):
        if raw["cond_group"] not in ctx["groups"]:
            errors["cond_group"] = _("Choose one of the offered options.")
        cond["group"] = raw["cond_group"]
    if (raw.get("cond_min_total") or "").strip():
        try:
            cond["min_total"] = parse_money(raw["cond_min_total"], currency)
        except ValueProblem:
            errors["cond_min_total"] = _("Enter an amount like 1290 or 1290.50.")
    if raw.get("cond_source"):
        if raw["cond_source"] not in SOURCES:
            errors["cond_source"] = _("Choose one of the offered options.")
        cond["source"] = raw["cond_source"]
    for key in ("utm_source", "form", "gateway"):
        value = (raw.get(f"cond_{key}") or "").strip()[:100]
        if value:
            cond[key] = value
    if (raw.get("cond_segment") or "").strip():
        segment = _int(raw["cond_segment"], 1, 2**31 - 1)
        if segment is None:
            errors["cond_segment"] = _("Enter a whole number.")
        cond["segment"] = segment
    if event == outbox.NO_ORDER:
        days = _int(raw.get("cond_days", ""), 1, 3650)
        if days is None:
            errors["cond_days"] = _("Enter a number of days from 1 to 3650.")
        cond["days"] = days
    return cond


def _action(raw: Mapping[str, str], ctx: Mapping, errors: dict[str, str]) -> dict:
    kind = raw.get("action") or ""
    members = {str(m) for m in ctx["member_ids"]}
    if kind not in ACTIONS:
        errors["action"] = _("Choose one of the offered options.")
        return {}
    action: dict = {"type": kind}
    if kind == "create_task":
        action["title"] = (raw.get("task_title") or "").strip()[:200]
        if not action["title"]:
            errors["task_title"] = _("This field is required.")
        assignee = raw.get("task_assignee") or "manager"
        if assignee != "manager" and assignee not in members:
            errors["task_assignee"] = _("Choose one of the offered options.")
        action["assignee"] = assignee
        hours = (raw.get("task_due_hours") or "").strip()
        action["due_hours"] = _int(hours, 0, 24 * 365) if hours else None
        if hours and action["due_hours"] is None:
            errors["task_due_hours"] = _("Enter a whole number of hours up to a year.")
    elif kind == "change_status":
        if raw.get("to_status") not in ctx["status_codes"]:
            errors["to_status"] = _("Choose one of the offered options.")
        action["status"] = raw.get("to_status")
    elif kind == "assign_manager":
        if raw.get("manager") not in members:
            errors["manager"] = _("Choose one of the offered options.")
        action["manager"] = rules.record_id(raw.get("manager"))
    elif kind == "send_email":
        to = (raw.get("email_to") or "").strip()
        if to not in ("customer", "manager") and ("@" not in to or len(to) > 254 or " " in to):
            errors["email_to"] = _("Enter an e-mail address, or choose the customer or the manager.")
        action.update(to=to, subject=(raw.get("email_subject") or "").strip()[:200])
        action["body"] = (raw.get("email_body") or "").strip()[:5000]
        if not action["subject"]:
            errors["email_subject"] = _("This field is required.")
    elif kind == "call_url":
        try:
            action["url"] = check_url(raw.get("url") or "")
        except ValueError as exc:
            errors["url"] = str(exc)
    elif kind == "add_tag":
        action["tag"] = (raw.get("tag") or "").strip()[:40]
        if not action["tag"]:
            errors["tag"] = _("This field is required.")
    return action


def validate(raw: Mapping[str, str], *, currency: str, ctx: Mapping) -> tuple[dict | None, dict[str, str]]:
    """The rule the form describes, or translated errors per field.

    ``ctx`` holds what the choices may be: ``status_codes``, ``groups``, ``member_ids``.
    """
    errors: dict[str, str] = {}
    name = (raw.get("name") or "").strip()[:120]
    if not name:
        errors["name"] = _("This field is required.")
    event = raw.get("event") or ""
    if event not in outbox.KINDS:
        errors["event"] = _("Choose one of the offered options.")
    delay = _int(raw.get("delay_minutes") or "0", 0, MAX_DELAY_MINUTES)
    if delay is None:
        errors["delay_minutes"] = _("Enter minutes from 0 to 43200 (30 days).")
    conditions = _conditions(raw, event, currency, ctx, errors)
    action = _action(raw, ctx, errors)
    if action.get("type") in ("change_status", "assign_manager") and event in (
        outbox.FORM_UNFINISHED,
        outbox.SEGMENT_ENTERED,
        outbox.NO_ORDER,
    ):
        errors["action"] = _("This event has no order to act on.")
    if errors:
        return None, errors
    return {
        "name": name,
        "event": event,
        "conditions": conditions,
        "actions": [action],
        "delay_minutes": delay,
        "active": raw.get("active") in ("on", "true", "1"),
    }, {}


async def list_rules() -> list[dict]:
    return await AutomationRule.select().order_by(AutomationRule.id).output(load_json=True)


async def get_rule(rule_id: int) -> dict:
    row = await AutomationRule.select().where(AutomationRule.id == rule_id).output(load_json=True).first()
    if row is None:
        raise NotFound(_("This rule does not exist."))
    return row


def _audited(rule: Mapping) -> dict:
    """What the audit log keeps of a rule (never its signing secret)."""
    return {key: rule[key] for key in ("name", "event", "conditions", "actions", "delay_minutes", "active")}


async def create_rule(data: dict, *, actor_id: int | None = None, actor: str = "") -> int:
    now = datetime.now(UTC)
    row = AutomationRule(**data, secret=secrets.token_urlsafe(32), created_at=now, updated_at=now)
    async with store_transaction():
        await row.save()
        await audit.record(
            "automation", row.id, "create", actor_id=actor_id, actor=actor, summary=data["name"], after=_audited(data)
        )
    return row.id


async def update_rule(rule_id: int, data: dict, *, actor_id: int | None = None, actor: str = "") -> None:
    values = {getattr(AutomationRule, key): value for key, value in data.items()}
    async with store_transaction():
        before = await get_rule(rule_id)
        await AutomationRule.update({**values, AutomationRule.updated_at: datetime.now(UTC)}).where(
            AutomationRule.id == rule_id
        )
        await audit.record_changes(
            "automation", rule_id, "update", _audited(before), _audited({**before, **data}),
            actor_id=actor_id, actor=actor, summary=data.get("name") or before["name"],
        )  # fmt: skip


async def delete_rule(rule_id: int, *, actor_id: int | None = None, actor: str = "") -> None:
    async with store_transaction():
        before = await get_rule(rule_id)
        await AutomationRule.delete().where(AutomationRule.id == rule_id)
        await audit.record(
            "automation", rule_id, "delete", actor_id=actor_id, actor=actor, summary=before["name"],
            before=_audited(before),
        )  # fmt: skip


def form_values(rule: Mapping, minor_to_plain: Callable[[int], str]) -> dict[str, str]:
    """The settings form's fields for an existing rule."""
    cond, action = rule["conditions"], (rule["actions"] or [{}])[0]
    values = {
        "name": rule["name"],
        "event": rule["event"],
        "delay_minutes": str(rule["delay_minutes"]),
        "active": "on" if rule["active"] else "",
        "action": action.get("type", ""),
        "cond_status": cond.get("status") or "",
        "cond_group": cond.get("group") or "",
        "cond_min_total": minor_to_plain(cond["min_total"]) if cond.get("min_total") is not None else "",
        "cond_source": cond.get("source") or "",
        "cond_utm_source": cond.get("utm_source") or "",
        "cond_form": cond.get("form") or "",
        "cond_gateway": cond.get("gateway") or "",
        "cond_segment": str(cond.get("segment") or ""),
        "cond_days": str(cond.get("days") or ""),
        "task_title": action.get("title", ""),
        "task_assignee": str(action.get("assignee", "manager")),
        "task_due_hours": "" if action.get("due_hours") is None else str(action["due_hours"]),
        "to_status": action.get("status") or "",
        "manager": str(action.get("manager") or ""),
        "email_to": action.get("to", ""),
        "email_subject": action.get("subject", ""),
        "email_body": action.get("body", ""),
        "url": action.get("url", ""),
        "tag": action.get("tag", ""),
    }
    return values


async def runs(limit: int = 100, rule_id: int | None = None) -> list[dict]:
    query = AutomationRun.select(*AutomationRun.all_columns(), AutomationRun.rule.name.as_alias("rule_name"))
    if rule_id is not None:
        query = query.where(AutomationRun.rule == rule_id)
    rows = await query.order_by(AutomationRun.id, ascending=False).limit(limit).output(load_json=True)
    for row in rows:  # in the viewer's language; runs logged before message ids keep their text
        row["outcome"] = messages.render(row.get("outcome_data"), row["outcome"])
        row["error"] = messages.render(row.get("error_data"), row["error"])
    return rows
