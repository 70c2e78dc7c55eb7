"""The store's audit log: who changed what and when, for orders, customers, settings and staff."""

from __future__ import annotations

from piccolo.columns import JSONB, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    """One change; written in the same transaction as the change itself."""

    at = Timestamptz(index=True)
    actor_id = Integer(null=True, default=None, index=True)  # identity id; None: the system or a shopper
    actor = Varchar(length=254, default="")  # name or e-mail as it was, kept after the member leaves
    entity = Varchar(length=16, index=True)  # order | customer | settings | staff
    entity_id = Varchar(length=64, default="")
    action = Varchar(length=32)
    summary = Text(default="")  # searchable text: order number, setting name, e-mail
    summary_data = JSONB(default={})  # a translated summary as message id + parameters (app.i18n.messages)
    before = JSONB(default={})
    after = JSONB(default={})
