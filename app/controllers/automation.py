"""Settings → automation: rules (event, conditions, action, delay), their secret, and the run log."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render
from app.i18n import minor_to_plain
from app.services import automation, form_settings, orders, outbox, segments, staff


async def _choices(request: Request[Any, Any, Any]) -> dict[str, Any]:
    statuses = await orders.all_statuses()
    locale = request.scope["state"]["locale"]
    people = await staff.members()
    return {
        "events": [(kind, automation.event_label(kind)) for kind in outbox.KINDS],
        "actions": [(kind, automation.action_label(kind)) for kind in automation.ACTIONS],
        "statuses": [(s["code"], orders.status_name(s, locale)) for s in statuses],
        "groups": [(g, orders.group_label(g)) for g in orders.GROUPS],
        "sources": list(automation.SOURCES),
        "people": [(str(m.identity_id), m.name or m.email) for m in people],
        "forms": [f["code"] for f in await form_settings.list_forms()],
        "segments": [(str(seg["id"]), seg["name"]) for seg in await segments.all_segments()],
        "event_label": automation.event_label,
        "action_label": automation.action_label,
        "run_status_label": automation.run_status_label,
    }


def _ctx(statuses: list, people: list) -> dict[str, Any]:
    return {
        "status_codes": {code for code, _name in statuses},
        "groups": set(orders.GROUPS),
        "member_ids": {int(pid) for pid, _name in people},
    }


def _base(request: Request[Any, Any, Any]) -> str:
    return f"/s/{request.scope['state']['tenant'].slug}/settings/automation"


def _actor(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who is changing the rule, for the audit log."""
    member = request.scope["state"]["member"]
    return {"actor_id": member.identity_id, "actor": member.email}


class AutomationSettingsController(Controller):
    path = "/settings/automation"
    include_in_schema = False

    @get("/", name="automation:list", opt={"permission": "automation.manage"})
    async def list_rules(self, request: Request[Any, Any, Any]) -> Template:
        context = {
            **await _choices(request),
            "rules": await automation.list_rules(),
            "runs": await automation.runs(limit=100),
        }
        return render(request, "automation/index.html", context)

    @get("/new", name="automation:new", opt={"permission": "automation.manage"})
    async def new_rule(self, request: Request[Any, Any, Any]) -> Template:
        values = {"event": request.query_params.get("event", "order_created"), "active": "on", "delay_minutes": "0"}
        context = {**await _choices(request), "values": values, "errors": {}, "rule": None}
        return render(request, "automation/edit.html", context)

    @post("/new", name="automation:create", opt={"permission": "automation.manage"})
    async def create_rule(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        choices = await _choices(request)
        currency = request.scope["state"]["tenant"].currency
        rule, errors = automation.validate(data, currency=currency, ctx=_ctx(choices["statuses"], choices["people"]))
        if rule is None:
            context = {**choices, "values": {k: v[:5000] for k, v in data.items()}, "errors": errors, "rule": None}
            return render(request, "automation/edit.html", context, status_code=422)
        rule_id = await automation.create_rule(rule, **_actor(request))
        return redirect(request, f"{_base(request)}/{rule_id}?saved=1")

    @get("/{rule_id:int}", name="automation:edit", opt={"permission": "automation.manage"})
    async def edit_rule(self, request: Request[Any, Any, Any], rule_id: FromPath[int]) -> Template:
        rule = await automation.get_rule(rule_id)
        currency = request.scope["state"]["tenant"].currency
        values = automation.form_values(rule, lambda minor: minor_to_plain(minor, currency))
        context = {
            **await _choices(request),
            "values": values,
            "errors": {},
            "rule": rule,
            "runs": await automation.runs(limit=50, rule_id=rule_id),
        }
        return render(request, "automation/edit.html", context)

    @post("/{rule_id:int}", name="automation:update", opt={"permission": "automation.manage"})
    async def update_rule(
        self, request: Request[Any, Any, Any], rule_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        existing = await automation.get_rule(rule_id)
        choices = await _choices(request)
        currency = request.scope["state"]["tenant"].currency
        rule, errors = automation.validate(data, currency=currency, ctx=_ctx(choices["statuses"], choices["people"]))
        if rule is None:
            values = {k: v[:5000] for k, v in data.items()}
            context = {**choices, "values": values, "errors": errors, "rule": existing, "runs": []}
            return render(request, "automation/edit.html", context, status_code=422)
        await automation.update_rule(rule_id, rule, **_actor(request))
        return redirect(request, f"{_base(request)}/{rule_id}?saved=1")

    @post("/{rule_id:int}/delete", name="automation:delete", opt={"permission": "automation.manage"})
    async def delete_rule(self, request: Request[Any, Any, Any], rule_id: FromPath[int]) -> Redirect:
        await automation.delete_rule(rule_id, **_actor(request))
        return redirect(request, f"{_base(request)}/")
