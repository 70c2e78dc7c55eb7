"""Orders, their lines and statuses, and the audit trail of changes to confirmed orders."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from app.tables.customers import Customer


class OrderStatus(Table, tablename="order_status"):
    """A store-defined status in one fixed group: new, approval, assembling, delivery, complete, cancel."""

    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    names = JSONB(default={})
    group = Varchar(length=16)
    position = Integer(default=0)
    color = Varchar(length=16, default="#6366f1")
    allowed = JSONB(default=[])  # codes this status may move to; empty: any status that is not final
    active = Boolean(default=True)


class Order(Table, tablename="orders"):
    number = Varchar(length=32, unique=True)
    token = Varchar(length=64, unique=True)  # the shopper's unguessable link
    idempotency_key = Varchar(length=64, null=True, default=None, unique=True)
    status = ForeignKey(references=OrderStatus, on_delete=OnDelete.restrict)
    customer = ForeignKey(references=Customer, null=True, on_delete=OnDelete.set_null)
    customer_name = Varchar(length=200, default="")
    phone = Varchar(length=20, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    currency = Varchar(length=3, default="RUB")
    subtotal_minor = BigInt(default=0)
    discount_minor = BigInt(default=0)
    delivery_minor = BigInt(default=0)
    total_minor = BigInt(default=0)
    delivery_method = Varchar(length=64, default="")
    delivery_name = Varchar(length=200, default="")
    delivery_address = Text(default="")
    source = Varchar(length=16, default="form")  # form | staff | api | import
    form_code = Varchar(length=40, null=True, default=None)
    utm = JSONB(default={})
    fields = JSONB(default={})  # the form's custom fields, as entered
    comment = Text(default="")
    locale = Varchar(length=8, default="ru")
    confirmed = Boolean(default=False)  # once it leaves the "new" group its changes are audited
    manager_id = Integer(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class OrderLine(Table, tablename="order_line"):
    """What was ordered, with the product and price as they were at that moment."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    offer_id = Integer(null=True, default=None)
    name = Varchar(length=500)
    sku = Varchar(length=255, null=True, default=None)
    price_minor = BigInt()
    quantity = Integer()
    total_minor = BigInt()
    position = Integer(default=0)


class OrderChange(Table, tablename="order_change"):
    """Audit trail: who changed what on an order, when, from what to what."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    at = Timestamptz()
    actor_id = Integer(null=True, default=None)
    actor = Varchar(length=254, default="")
    field = Varchar(length=64)
    before = JSONB(default={})
    after = JSONB(default={})


class SavedView(Table, tablename="saved_view"):
    """A named set of order-list filters a member of staff keeps at hand."""

    identity_id = Integer()
    name = Varchar(length=80)
    query = Text()
    created_at = Timestamptz()
