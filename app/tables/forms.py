"""Hosted order forms a store designs and embeds on its own site."""

from __future__ import annotations

from piccolo.columns import JSONB, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OrderForm(Table, tablename="order_form"):
    code = Varchar(length=40, unique=True)
    title = Varchar(length=200)
    titles = JSONB(default={})
    fields = JSONB(default=[])  # [{"key": "name", "enabled": true, "required": true, "label": {...}}, …]
    goods_mode = Varchar(length=16, default="all")  # all | category | fixed | single
    goods = JSONB(default=[])  # category id, offer ids, or one offer id
    max_quantity = Integer(default=10)
    delivery = JSONB(default=[])  # [{"code": "pickup", "name": {...}, "price_minor": 0, "address": false}, …]
    thanks = JSONB(default={})  # thank-you text per language
    languages = JSONB(default=["ru", "en", "uk"])
    allowed_origins = JSONB(default=[])  # sites that may embed the form in an iframe
    active = Boolean(default=True)
    updated_at = Timestamptz()


class FormDraft(Table, tablename="form_draft"):
    """A contact typed into a form that was not (yet) submitted: becomes a lead if left unfinished."""

    nonce = Varchar(length=64, unique=True)
    form_code = Varchar(length=40)
    name = Varchar(length=200, default="")
    phone = Varchar(length=20, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    utm = JSONB(default={})
    converted = Boolean(default=False)
    reported = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    note = Text(default="")
