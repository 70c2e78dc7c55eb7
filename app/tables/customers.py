"""Customers and their timeline: one row per person, found again by normalised phone or e-mail."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Customer(Table, tablename="customer"):
    name = Varchar(length=200, default="")
    phone = Varchar(length=20, null=True, default=None)  # E.164
    email = Varchar(length=254, null=True, default=None)  # lower-case
    city = Varchar(length=120, default="")
    source = Varchar(length=16, default="")  # where we first met them: form, staff, api, import
    utm = JSONB(default={})
    tags = JSONB(default=[])
    note = Text(default="")
    orders_count = Integer(default=0)
    total_spent_minor = BigInt(default=0)
    first_order_at = Timestamptz(null=True, default=None)
    last_order_at = Timestamptz(null=True, default=None)
    merged_into = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # RFM scores 1–5 and the named class, kept by services/rfm.py (NULL: no orders yet).
    rfm_r = SmallInt(null=True, default=None)
    rfm_f = SmallInt(null=True, default=None)
    rfm_m = SmallInt(null=True, default=None)
    rfm_class = Varchar(length=20, null=True, default=None)


class CustomerEvent(Table, tablename="customer_event"):
    """One step on a customer's timeline (form opened, left unfinished, order placed, status changed, …)."""

    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    kind = Varchar(length=32)
    at = Timestamptz()
    order_id = Integer(null=True, default=None)
    actor_id = Integer(null=True, default=None)
    data = JSONB(default={})


class CustomerMerge(Table, tablename="customer_merge"):
    """One merge of a duplicate into a survivor, with what moved, so it can be undone."""

    survivor = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    merged = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    at = Timestamptz()
    actor_id = Integer(null=True, default=None)
    moved = JSONB(default={})  # {"orders": [...], "events": [...], "lists": [...], "survivor_before": {...}}
    undone_at = Timestamptz(null=True, default=None)
