"""Tasks: create, edit, complete, comment; my tasks, overdue, a board and a month calendar; reminders.

Times are entered and shown in the store's time zone (``store_setting.timezone``) and stored in UTC.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from piccolo.columns.combination import Or
from piccolo.query import Count, Select, WhereRaw

from app import clock
from app.errors import NotFound
from app.forms import rules
from app.i18n import get_timezone
from app.i18n import gettext as _
from app.services import stores
from app.tables.customers import Customer, CustomerEvent
from app.tables.orders import Order
from app.tables.tasks import Task, TaskComment
from app.tenancy.runtime import store_transaction

PRIORITIES = ("high", "normal", "low")
TASK = "task"  # customer timeline kind
VIEWS = ("mine", "overdue", "open", "done", "all")
Q = TypeVar("Q", Select, Count)


def priority_label(priority: str) -> str:
    return {"high": _("High"), "normal": _("Normal"), "low": _("Low")}.get(priority, priority)


@dataclass(frozen=True)
class TaskData:
    title: str
    description: str
    assignee_id: int | None
    priority: str
    due_at: datetime | None
    reminder_at: datetime | None
    order_id: int | None
    customer_id: int | None


async def store_zone() -> ZoneInfo:
    return clock.zone(await stores.store_timezone())


def _parse_local(raw: str, zone: ZoneInfo) -> datetime:
    """A ``datetime-local`` value in the store's zone, within the sane calendar (``rules.moment``)."""
    return rules.moment(raw).replace(tzinfo=zone)


async def validate(
    raw: Mapping[str, str], member_ids: set[int], *, only_manager: int | None = None
) -> tuple[TaskData | None, dict[str, str]]:
    """Parse the task form; every problem comes back as a translated message under its field.

    ``only_manager`` (a member limited to own orders): another manager's order number reads as not found.
    """
    errors: dict[str, str] = {}
    title = (raw.get("title") or "").strip()
    if not title:
        errors["title"] = _("This field is required.")
    elif len(title) > 200:
        errors["title"] = _("Keep it under %(count)s characters.", count=200)
    description = (raw.get("description") or "").strip()
    if len(description) > 5000:
        errors["description"] = _("Keep it under %(count)s characters.", count=5000)
    assignee = (raw.get("assignee_id") or "").strip()
    assignee_id = rules.record_id(assignee)
    if assignee and assignee_id not in member_ids:
        errors["assignee_id"] = _("Choose one of the offered options.")
    priority = raw.get("priority") or "normal"
    if priority not in PRIORITIES:
        errors["priority"] = _("Choose one of the offered options.")
    zone = await store_zone()
    moments: dict[str, datetime | None] = {}
    for key in ("due_at", "reminder_at"):
        text = (raw.get(key) or "").strip()
        try:
            moments[key] = _parse_local(text, zone) if text else None
        except rules.Invalid as exc:
            errors[key] = exc.message
    order_id = await _order_ref(raw.get("order") or "", errors, only_manager)
    customer_id = await _customer_ref(raw.get("customer_id") or "", errors)
    if errors:
        return None, errors
    if order_id and not customer_id:
        row = await Order.select(Order.customer).where(Order.id == order_id).first()
        customer_id = row["customer"] if row else None
    data = TaskData(
        title, description, assignee_id, priority, moments["due_at"], moments["reminder_at"], order_id, customer_id
    )
    return data, {}


async def _order_ref(text: str, errors: dict[str, str], only_manager: int | None = None) -> int | None:
    """An order named by its number (what staff see) or ``#id``; None when left empty."""
    text = text.strip().lstrip("№").strip()
    if not text:
        return None
    if text.startswith("#") and (by_id := rules.record_id(text[1:])) is not None:
        query = Order.select(Order.id).where(Order.id == by_id)
    else:
        query = Order.select(Order.id).where(Order.number == text[:32])
    if only_manager is not None:  # the same answer as for a number that does not exist
        query = query.where(Order.manager_id == only_manager)
    row = await query.first()
    if row is None:
        errors["order"] = _("There is no order with this number.")
        return None
    return row["id"]


async def _customer_ref(text: str, errors: dict[str, str]) -> int | None:
    text = text.strip()
    if not text:
        return None
    customer_id = rules.record_id(text)
    if customer_id is None or await Customer.count().where(Customer.id == customer_id) == 0:
        errors["customer_id"] = _("This customer does not exist.")
        return None
    return customer_id


def _values(data: TaskData) -> dict:
    return {
        Task.title: data.title,
        Task.description: data.description,
        Task.assignee_id: data.assignee_id,
        Task.priority: data.priority,
        Task.due_at: data.due_at,
        Task.reminder_at: data.reminder_at,
        Task.order_id: data.order_id,
        Task.customer_id: data.customer_id,
    }


async def create(data: TaskData, *, author_id: int | None, rule_id: int | None = None) -> int:
    """Save a task; a task about a customer also lands on their timeline."""
    now = datetime.now(UTC)
    async with store_transaction():
        fields = {column._meta.name: value for column, value in _values(data).items()}
        row = Task(author_id=author_id, rule_id=rule_id, status="open", created_at=now, updated_at=now, **fields)
        await row.save()
        if data.customer_id:
            await CustomerEvent.insert(
                CustomerEvent(
                    customer=data.customer_id,
                    kind=TASK,
                    at=now,
                    order_id=data.order_id,
                    actor_id=author_id,
                    data={
                        "task": row.id,
                        "text": data.title,
                        "due": data.due_at.astimezone(await store_zone()).date().isoformat() if data.due_at else None,
                        "assignee": data.assignee_id,
                    },
                )
            )
    return row.id


async def update(task_id: int, data: TaskData) -> None:
    await _exists(task_id)
    values = _values(data)
    current = await Task.select(Task.reminder_at).where(Task.id == task_id).first()
    if current and current["reminder_at"] != data.reminder_at:
        values[Task.reminded_at] = None  # a new reminder time is a new reminder
    await Task.update({**values, Task.updated_at: datetime.now(UTC)}).where(Task.id == task_id)


async def set_done(task_id: int, done: bool) -> None:
    await _exists(task_id)
    now = datetime.now(UTC)
    await Task.update(
        {Task.status: "done" if done else "open", Task.done_at: now if done else None, Task.updated_at: now}
    ).where(Task.id == task_id)


async def add_comment(task_id: int, author_id: int | None, body: str) -> dict[str, str]:
    """Add a comment; returns errors (empty when saved)."""
    await _exists(task_id)
    body = (body or "").strip()
    if not body:
        return {"body": _("Write something first.")}
    if len(body) > 5000:
        return {"body": _("Keep it under %(count)s characters.", count=5000)}
    await TaskComment.insert(TaskComment(task=task_id, author_id=author_id, body=body, created_at=datetime.now(UTC)))
    return {}


async def _exists(task_id: int) -> None:
    if not await Task.exists().where(Task.id == task_id):
        raise NotFound(_("This task does not exist."))


def _local(rows: list[dict], zone: ZoneInfo) -> list[dict]:
    now = clock.now()
    for row in rows:
        for key in ("due_at", "reminder_at", "created_at", "done_at"):
            if row.get(key):
                row[key] = row[key].astimezone(zone)
        row["overdue"] = row["status"] == "open" and row["due_at"] is not None and row["due_at"] < now
    return rows


def _mine(identity_id: int) -> Or:
    return (Task.assignee_id == identity_id) | (Task.author_id == identity_id)


def _own_orders(identity_id: int) -> WhereRaw:
    """For a member limited to own orders: tasks given to or written by them, tasks on their orders, and tasks
    on their customers that name no order (a task on another manager's order stays hidden)."""
    return WhereRaw(
        "(assignee_id = {} OR author_id = {} OR order_id IN (SELECT id FROM orders WHERE manager_id = {})"
        " OR (order_id IS NULL AND customer_id IN (SELECT customer FROM orders WHERE manager_id = {})))",
        identity_id, identity_id, identity_id, identity_id,
    )  # fmt: skip


def _visible(query: Q, only_for: int | None, only_manager: int | None) -> Q:
    if only_for is not None:  # staff who may not hand out tasks see theirs only
        query = query.where(_mine(only_for))
    if only_manager is not None:
        query = query.where(_own_orders(only_manager))
    return query


async def get(task_id: int, *, only_for: int | None = None, only_manager: int | None = None) -> dict:
    """A task with its comments and linked order number.

    Raises:
        NotFound: no such task in this store (or not one this member may see).
    """
    task = await _visible(Task.select().where(Task.id == task_id), only_for, only_manager).first()
    if task is None:
        raise NotFound(_("This task does not exist."))
    zone = await store_zone()
    _local([task], zone)
    task["comments"] = await TaskComment.select().where(TaskComment.task == task_id).order_by(TaskComment.id)
    for comment in task["comments"]:
        comment["created_at"] = comment["created_at"].astimezone(zone)
    task["order_number"] = await _number(task["order_id"])
    return task


async def _number(order_id: int | None) -> str | None:
    if not order_id:
        return None
    row = await Order.select(Order.number).where(Order.id == order_id).first()
    return row["number"] if row else None


async def list_tasks(
    view: str,
    identity_id: int,
    *,
    assignee: int | None = None,
    only_for: int | None = None,
    only_manager: int | None = None,
    limit: int = 200,
) -> list[dict]:
    """``mine``: my open tasks; ``overdue``: open and past due; ``open``/``done``/``all`` for the store."""
    query = _visible(Task.select(), only_for, only_manager)
    now = datetime.now(UTC)
    if view == "mine":
        query = query.where((Task.assignee_id == identity_id) & (Task.status == "open"))
    elif view == "overdue":
        query = query.where((Task.status == "open") & (Task.due_at < now))
    elif view in ("open", "done"):
        query = query.where(Task.status == view)
    if assignee is not None:
        query = query.where(Task.assignee_id == assignee)
    rows = await query.order_by(Task.status).order_by(Task.due_at, ascending=True).order_by(Task.id).limit(limit)
    rows = _local(rows, await store_zone())
    numbers = await _numbers({r["order_id"] for r in rows if r["order_id"]})
    for row in rows:
        row["order_number"] = numbers.get(row["order_id"])
    return rows


async def _numbers(order_ids: set[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = await Order.select(Order.id, Order.number).where(Order.id.is_in(list(order_ids)))
    return {row["id"]: row["number"] for row in rows}


async def for_order(order_id: int) -> list[dict]:
    rows = await Task.select().where(Task.order_id == order_id).order_by(Task.status).order_by(Task.id)
    return _local(rows, await store_zone())


async def for_customer(customer_id: int) -> list[dict]:
    rows = await Task.select().where(Task.customer_id == customer_id).order_by(Task.status).order_by(Task.id)
    return _local(rows, await store_zone())


async def board(
    identity_id: int, by: str, *, only_for: int | None = None, only_manager: int | None = None
) -> list[tuple[str, list[dict]]]:
    """Open tasks in columns: ``by="status"`` → overdue / today / later / no date / done recently;
    ``by="assignee"`` → one column per identity id (None: nobody)."""
    rows = await list_tasks("all", identity_id, only_for=only_for, only_manager=only_manager, limit=500)
    if by == "assignee":
        columns: dict[str, list[dict]] = {}
        for row in rows:
            if row["status"] == "open":
                columns.setdefault(str(row["assignee_id"] or ""), []).append(row)
        return sorted(columns.items(), key=lambda item: (item[0] == "", item[0]))
    zone = await store_zone()
    today = clock.today(zone.key)
    columns = {"overdue": [], "today": [], "later": [], "undated": [], "done": []}
    for row in rows:
        if row["status"] == "done":
            if row["done_at"] and row["done_at"].date() >= today - timedelta(days=7):
                columns["done"].append(row)
        elif row["overdue"]:
            columns["overdue"].append(row)
        elif row["due_at"] is None:
            columns["undated"].append(row)
        else:
            columns["today" if row["due_at"].date() == today else "later"].append(row)
    return list(columns.items())


def column_label(key: str) -> str:
    return {
        "overdue": _("Overdue"), "today": _("Today"), "later": _("Later"), "undated": _("No due date"),
        "done": _("Done this week"),
    }[key]  # fmt: skip


async def month(year: int, month_no: int, *, only_for: int | None = None, only_manager: int | None = None) -> dict:
    """A month grid (weeks of days, Monday first) with the tasks due on each day."""
    zone = await store_zone()
    first = date(year, month_no, 1)
    start = datetime(year, month_no, 1, tzinfo=zone)
    end = datetime(year + month_no // 12, month_no % 12 + 1, 1, tzinfo=zone)
    query = _visible(Task.select().where((Task.due_at >= start) & (Task.due_at < end)), only_for, only_manager)
    rows = await query.order_by(Task.due_at)
    by_day: dict[date, list[dict]] = {}
    for row in _local(rows, zone):
        by_day.setdefault(row["due_at"].date(), []).append(row)
    weeks = [
        [{"date": day, "in_month": day.month == month_no, "tasks": by_day.get(day, [])} for day in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month_no)
    ]
    previous = first - timedelta(days=1)
    following = end.date()
    return {
        "first": first,
        "weeks": weeks,
        "today": clock.today(zone.key),
        "total": len(rows),
        "prev": f"{previous.year}-{previous.month:02d}",
        "next": f"{following.year}-{following.month:02d}",
    }


def parse_month(text: str | None) -> tuple[int, int]:
    year_text, _sep, month_text = (text or "").partition("-")
    try:
        return rules.integer(year_text, low=2000, high=2100), rules.integer(month_text, low=1, high=12)
    except rules.Invalid:
        pass
    today = clock.today(get_timezone())  # the request's store zone: the month it is there
    return today.year, today.month


async def counts(identity_id: int, *, only_for: int | None = None, only_manager: int | None = None) -> dict[str, int]:
    now = clock.now()
    mine = await Task.count().where((Task.assignee_id == identity_id) & (Task.status == "open"))
    overdue = _visible(Task.count().where((Task.status == "open") & (Task.due_at < now)), only_for, only_manager)
    return {"mine": mine, "overdue": await overdue}


async def claim_due_reminders(now: datetime | None = None, limit: int = 100) -> list[dict]:
    """Open tasks whose reminder time has come, each claimed once (concurrent workers never double-send)."""
    now = now or clock.now()
    rows = await Task.raw(
        "UPDATE task SET reminded_at = {} WHERE id IN (SELECT id FROM task WHERE status = 'open'"
        " AND reminded_at IS NULL AND reminder_at <= {} ORDER BY reminder_at LIMIT {} FOR UPDATE SKIP LOCKED)"
        " RETURNING id, title, description, assignee_id, due_at, order_id, priority",
        now,
        now,
        limit,
    )
    return _local([{**row, "status": "open"} for row in rows], await store_zone())
