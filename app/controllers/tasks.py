"""Tasks: my tasks, overdue, all; a board (by due date or by assignee) and a month calendar; the task card.

Staff who may hand out tasks (``tasks.manage``: owner, admin, manager) see and assign every task; the
others (operator, analyst) see the tasks given to them or written by them, and assign only to themselves.
A member limited to own orders sees, on top of that rule, only tasks on their own orders or customers, or
given to them; another manager's order number reads as not found when a task is linked to it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render, safe_next
from app.services import permissions, staff, tasks

LAYOUTS = ("list", "board", "calendar")


def _base(request: Request[Any, Any, Any]) -> str:
    return f"/s/{request.scope['state']['tenant'].slug}/tasks"


def _me(request: Request[Any, Any, Any]) -> int:
    return request.scope["state"]["member"].identity_id


def _only_for(request: Request[Any, Any, Any]) -> int | None:
    """None when the member sees every task; else their identity id."""
    member = request.scope["state"]["member"]
    return None if permissions.allows(member.role, "tasks.manage") else member.identity_id


def _scope(request: Request[Any, Any, Any]) -> dict[str, int | None]:
    """The two visibility limits every task read of this request keeps to."""
    return {"only_for": _only_for(request), "only_manager": request.scope["state"].get("orders_scope")}


async def _people(request: Request[Any, Any, Any]) -> dict[int, Any]:
    return {m.identity_id: m for m in await staff.members(active_only=False)}


def _assignable(request: Request[Any, Any, Any], people: dict[int, Any]) -> set[int]:
    if _only_for(request) is not None:
        return {_me(request)}
    return {pid for pid, m in people.items() if m.active}


def _form_context(
    request: Request[Any, Any, Any], values: dict[str, str], errors: dict[str, str], people: dict[int, Any]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "people": people,
        "assignable": _assignable(request, people),
        "priorities": [(p, tasks.priority_label(p)) for p in tasks.PRIORITIES],
    }


def _values(task: dict) -> dict[str, str]:
    def local(value: Any) -> str:
        return value.strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        "title": task["title"],
        "description": task["description"],
        "assignee_id": str(task["assignee_id"] or ""),
        "priority": task["priority"],
        "due_at": local(task["due_at"]),
        "reminder_at": local(task["reminder_at"]),
        "order": task.get("order_number") or "",
        "customer_id": str(task["customer_id"] or ""),
    }


class TaskController(Controller):
    path = "/tasks"
    include_in_schema = False

    @get("/", name="tasks:list", opt={"permission": "tasks.view"})
    async def list_tasks(self, request: Request[Any, Any, Any]) -> Template:
        me, scope = _me(request), _scope(request)
        query = request.query_params
        layout = query.get("layout") if query.get("layout") in LAYOUTS else "list"
        view = query.get("view") if query.get("view") in tasks.VIEWS else "mine"
        context: dict[str, Any] = {
            "layout": layout,
            "view": view,
            "people": await _people(request),
            "counts": await tasks.counts(me, **scope),
            "priority_label": tasks.priority_label,
            "column_label": tasks.column_label,
        }
        if layout == "board":
            context["by"] = "assignee" if query.get("by") == "assignee" else "status"
            context["board"] = await tasks.board(me, context["by"], **scope)
        elif layout == "calendar":
            context["month"] = await tasks.month(*tasks.parse_month(query.get("month")), **scope)
        else:
            context["tasks"] = await tasks.list_tasks(view, me, **scope)
        return render(request, "tasks/index.html", context)

    @get("/new", name="tasks:new", opt={"permission": "tasks.view"})
    async def new_task(self, request: Request[Any, Any, Any]) -> Template:
        query = request.query_params
        values = {
            "order": query.get("order", "")[:32],
            "customer_id": query.get("customer_id", "")[:12],
            "assignee_id": str(_me(request)),
            "priority": "normal",
            "next": safe_next(query.get("next"), ""),
        }
        return render(request, "tasks/new.html", _form_context(request, values, {}, await _people(request)))

    @post("/new", name="tasks:create", opt={"permission": "tasks.view"})
    async def create_task(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        people = await _people(request)
        task, errors = await tasks.validate(
            data, _assignable(request, people), only_manager=_scope(request)["only_manager"]
        )
        if task is None:
            values = {k: v[:5000] for k, v in data.items()}
            return render(request, "tasks/new.html", _form_context(request, values, errors, people), status_code=422)
        task_id = await tasks.create(task, author_id=_me(request))
        return redirect(request, safe_next(data.get("next"), f"{_base(request)}/{task_id}"))

    @get("/{task_id:int}", name="tasks:show", opt={"permission": "tasks.view"})
    async def show_task(self, request: Request[Any, Any, Any], task_id: FromPath[int]) -> Template:
        return render(request, "tasks/show.html", await _card(request, task_id))

    @post("/{task_id:int}/edit", name="tasks:update", opt={"permission": "tasks.view"})
    async def update_task(
        self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        card = await _card(request, task_id)
        task, errors = await tasks.validate(data, card["assignable"], only_manager=_scope(request)["only_manager"])
        if task is None:
            card.update(values={k: v[:5000] for k, v in data.items()}, errors=errors)
            return render(request, "tasks/show.html", card, status_code=422)
        await tasks.update(task_id, task)
        return redirect(request, f"{_base(request)}/{task_id}")

    @post("/{task_id:int}/done", name="tasks:done", opt={"permission": "tasks.view"})
    async def complete_task(self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form) -> Redirect:
        await tasks.get(task_id, **_scope(request))
        await tasks.set_done(task_id, data.get("done", "1") != "0")
        return redirect(request, safe_next(data.get("next"), f"{_base(request)}/{task_id}"))

    @post("/{task_id:int}/comments", name="tasks:comment", opt={"permission": "tasks.view"})
    async def add_comment(
        self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        await tasks.get(task_id, **_scope(request))
        errors = await tasks.add_comment(task_id, _me(request), data.get("body", ""))
        if errors:
            card = await _card(request, task_id)
            card.update(comment_errors=errors, comment=data.get("body", "")[:5000])
            return render(request, "tasks/show.html", card, status_code=422)
        return redirect(request, f"{_base(request)}/{task_id}#comments")


async def _card(request: Request[Any, Any, Any], task_id: int) -> dict[str, Any]:
    """The task card; NotFound for a task this member may not see."""
    task = await tasks.get(task_id, **_scope(request))
    people = await _people(request)
    return {
        "task": task,
        "comment_errors": {},
        "comment": "",
        "priority_label": tasks.priority_label,
        **_form_context(request, _values(task), {}, people),
    }
