"""Tasks: my tasks, overdue, all; a board (by due date or by assignee) and a month calendar; the task card."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.controllers._htmx import Form, redirect, render, safe_next
from app.services import _members as staff
from app.services import tasks

LAYOUTS = ("list", "board", "calendar")


def _base(request: Request[Any, Any, Any]) -> str:
    return f"/s/{request.scope['state']['tenant'].slug}/tasks"


async def _people() -> dict[int, Any]:
    return {m.identity_id: m for m in await staff.members(active_only=False)}


def _form_context(values: dict[str, str], errors: dict[str, str], people: dict[int, Any]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "people": people,
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

    @get("/", name="tasks:list")
    async def list_tasks(self, request: Request[Any, Any, Any]) -> Template:
        me = request.scope["state"]["member"].identity_id
        query = request.query_params
        layout = query.get("layout") if query.get("layout") in LAYOUTS else "list"
        view = query.get("view") if query.get("view") in tasks.VIEWS else "mine"
        context: dict[str, Any] = {
            "layout": layout,
            "view": view,
            "people": await _people(),
            "counts": await tasks.counts(me),
            "priority_label": tasks.priority_label,
            "column_label": tasks.column_label,
        }
        if layout == "board":
            context["by"] = "assignee" if query.get("by") == "assignee" else "status"
            context["board"] = await tasks.board(me, context["by"])
        elif layout == "calendar":
            context["month"] = await tasks.month(*tasks.parse_month(query.get("month")))
        else:
            context["tasks"] = await tasks.list_tasks(view, me)
        return render(request, "tasks/index.html", context)

    @get("/new", name="tasks:new")
    async def new_task(self, request: Request[Any, Any, Any]) -> Template:
        query = request.query_params
        values = {
            "order": query.get("order", "")[:32],
            "customer_id": query.get("customer_id", "")[:12],
            "assignee_id": str(request.scope["state"]["member"].identity_id),
            "priority": "normal",
            "next": safe_next(query.get("next"), ""),
        }
        return render(request, "tasks/new.html", _form_context(values, {}, await _people()))

    @post("/new", name="tasks:create")
    async def create_task(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        people = await _people()
        task, errors = await tasks.validate(data, {p for p, m in people.items() if m.active})
        if task is None:
            values = {k: v[:5000] for k, v in data.items()}
            return render(request, "tasks/new.html", _form_context(values, errors, people), status_code=422)
        task_id = await tasks.create(task, author_id=request.scope["state"]["member"].identity_id)
        return redirect(request, safe_next(data.get("next"), f"{_base(request)}/{task_id}"))

    @get("/{task_id:int}", name="tasks:show")
    async def show_task(self, request: Request[Any, Any, Any], task_id: FromPath[int]) -> Template:
        return render(request, "tasks/show.html", await _card(task_id))

    @post("/{task_id:int}/edit", name="tasks:update")
    async def update_task(
        self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        card = await _card(task_id)
        task, errors = await tasks.validate(data, {p for p, m in card["people"].items() if m.active})
        if task is None:
            card.update(values={k: v[:5000] for k, v in data.items()}, errors=errors)
            return render(request, "tasks/show.html", card, status_code=422)
        await tasks.update(task_id, task)
        return redirect(request, f"{_base(request)}/{task_id}")

    @post("/{task_id:int}/done", name="tasks:done")
    async def complete_task(self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form) -> Redirect:
        await tasks.set_done(task_id, data.get("done", "1") != "0")
        return redirect(request, safe_next(data.get("next"), f"{_base(request)}/{task_id}"))

    @post("/{task_id:int}/comments", name="tasks:comment")
    async def add_comment(
        self, request: Request[Any, Any, Any], task_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        errors = await tasks.add_comment(task_id, request.scope["state"]["member"].identity_id, data.get("body", ""))
        if errors:
            card = await _card(task_id)
            card.update(comment_errors=errors, comment=data.get("body", "")[:5000])
            return render(request, "tasks/show.html", card, status_code=422)
        return redirect(request, f"{_base(request)}/{task_id}#comments")


async def _card(task_id: int) -> dict[str, Any]:
    task = await tasks.get(task_id)
    people = await _people()
    return {
        "task": task,
        "comment_errors": {},
        "comment": "",
        "priority_label": tasks.priority_label,
        **_form_context(_values(task), {}, people),
    }
