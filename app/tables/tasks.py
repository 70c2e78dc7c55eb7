"""Tasks that staff hand each other, linked to an order or a customer, and their comments."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Task(Table, tablename="task"):
    """Assignee and author are identity ids (control plane); ``author_id`` is None when a rule made it."""

    title = Varchar(length=200)
    description = Text(default="")
    assignee_id = Integer(null=True, default=None, index=True)
    author_id = Integer(null=True, default=None)
    rule_id = Integer(null=True, default=None)
    due_at = Timestamptz(null=True, default=None, index=True)
    priority = Varchar(length=8, default="normal")  # low | normal | high
    status = Varchar(length=8, default="open")  # open | done
    order_id = Integer(null=True, default=None, index=True)
    customer_id = Integer(null=True, default=None, index=True)
    reminder_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class TaskComment(Table, tablename="task_comment"):
    task = ForeignKey(references=Task, on_delete=OnDelete.cascade, index=True)
    author_id = Integer(null=True, default=None)
    body = Text()
    created_at = Timestamptz()
