"""Customers and their timeline: one row per person, found again by normalised phone or e-mail."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
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


class CustomerEvent(Table, tablename="customer_event"):
    """One step on a customer's timeline (form opened, left unfinished, order placed, status changed, …)."""

    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    kind = Varchar(length=32)
    at = Timestamptz()
    order_id = Integer(null=True, default=None)
    actor_id = Integer(null=True, default=None)
    data = JSONB(default={})
