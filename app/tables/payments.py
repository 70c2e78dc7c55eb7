"""Payment connections (a store's gateway accounts), payments, and every notification received."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from app.tables.orders import Order


class PaymentConnection(Table, tablename="payment_connection"):
    code = Varchar(length=32)  # the gateway's registry code
    name = Varchar(length=120)  # the fallback when ``names`` has none for the shopper's language
    names = JSONB(default={})  # locale -> the name shown to shoppers on the pay button
    config_encrypted = Text()  # the gateway settings, encrypted with a key that never enters the database
    test_mode = Boolean(default=True)
    base_url = Text(null=True, default=None)  # API address override (local fakes, proxies)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Payment(Table, tablename="payment"):
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    connection = ForeignKey(references=PaymentConnection, on_delete=OnDelete.restrict)
    ref = Varchar(length=40, unique=True)  # our reference, sent as the gateway's order id
    idempotency_key = Varchar(length=64, unique=True)  # stored before the gateway is called
    status = Varchar(length=24, default="pending")
    amount_minor = BigInt()
    currency = Varchar(length=3)
    provider_payment_id = Varchar(length=128, null=True, default=None, index=True)
    refunded_minor = BigInt(default=0)
    attempts = Integer(default=0)
    next_check_at = Timestamptz(null=True, default=None, index=True)
    paid_at = Timestamptz(null=True, default=None)
    verified_at = Timestamptz(null=True, default=None)  # last asked the gateway about an unsigned notification
    shopper_step = JSONB(null=True, default=None)  # what the gateway answered, returned again to a second Pay
    receipt = JSONB(null=True, default=None)  # the 54-FZ receipt sent (app.services.receipts.as_data)
    receipt_status = Varchar(length=24, null=True, default=None)  # the gateway's, where it reports one
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentEvent(Table, tablename="payment_event"):
    """One gateway notification, stored once per (connection, event id); what it did is in ``outcome``."""

    connection = ForeignKey(references=PaymentConnection, on_delete=OnDelete.cascade)
    event_id = Varchar(length=200)
    payment = ForeignKey(references=Payment, null=True, on_delete=OnDelete.set_null)
    status = Varchar(length=24, default="")
    amount_minor = BigInt(null=True, default=None)
    currency = Varchar(length=3, null=True, default=None)
    outcome = Varchar(length=24, default="")  # applied | ignored | mismatch | unknown_payment
    body = Text(default="")
    received_at = Timestamptz()


class Refund(Table, tablename="refund"):
    """A refund of part or all of a payment; its amount is reserved on the payment while it is asked for."""

    payment = ForeignKey(references=Payment, on_delete=OnDelete.cascade, index=True)
    amount_minor = BigInt()
    status = Varchar(length=16, default="pending")  # pending | succeeded | failed | unknown
    idempotency_key = Varchar(length=64, unique=True)
    provider_refund_id = Varchar(length=128, null=True, default=None)
    actor = Varchar(length=254, default="")
    reason = Text(default="")
    receipt = JSONB(null=True, default=None)  # the refund receipt sent ("возврат прихода")
    created_at = Timestamptz()
