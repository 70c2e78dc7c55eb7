"""Automation: rules, the outbox of business events they react to, and the log of every run."""

from __future__ import annotations

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class AutomationRule(Table, tablename="automation_rule"):
    """On ``event``, when every condition holds, run ``actions`` (now, or ``delay_minutes`` later)."""

    name = Varchar(length=120)
    event = Varchar(length=32, index=True)
    conditions = JSONB(default={})
    actions = JSONB(default=[])  # [{"type": "create_task", ...params}]
    delay_minutes = Integer(default=0)
    secret = Varchar(length=64, default="")  # signs the payload of "call a URL"
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AutomationEvent(Table, tablename="automation_event"):
    """Transactional outbox: written in the same transaction as the change it reports.

    ``depth`` counts how many rule actions led here (0: a person, a shopper or a gateway did it).
    """

    kind = Varchar(length=32)
    order_id = Integer(null=True, default=None)
    customer_id = Integer(null=True, default=None)
    data = JSONB(default={})
    depth = Integer(default=0)
    created_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)


class AutomationRun(Table, tablename="automation_run"):
    """One rule meeting one event: scheduled, done, failed, or stopped (loop, rate limit)."""

    rule = ForeignKey(references=AutomationRule, on_delete=OnDelete.cascade, index=True)
    event_id = Integer(null=True, default=None)
    event_kind = Varchar(length=32)
    order_id = Integer(null=True, default=None)
    customer_id = Integer(null=True, default=None)
    entity = Varchar(length=64, default="")  # "order:12" / "customer:7": what the rate limit counts
    depth = Integer(default=0)
    status = Varchar(length=12, default="scheduled")  # scheduled | running | done | failed | stopped
    outcome = Text(default="")
    error = Text(default="")
    outcome_data = JSONB(default={})  # outcome and error as message id + parameters (app.i18n.messages)
    error_data = JSONB(default={})
    due_at = Timestamptz()
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class AutomationSegmentWatch(Table, tablename="automation_segment_watch"):
    """A segment some "customer entered a segment" rule watches; its members were first seen ``since``."""

    segment = Integer(unique=True)
    since = Timestamptz()


class AutomationSegmentSeen(Table, tablename="automation_segment_seen"):
    """Who was in a watched segment at the last scan; a customer not here yet has just entered."""

    segment = Integer()
    customer = Integer()
