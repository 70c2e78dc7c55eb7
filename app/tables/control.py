"""Control-plane tables: servers, stores (tenants), identities, memberships, a small key/value store."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from app.tenancy.engine import CONTROL_DB


class DbServer(Table, db=CONTROL_DB, tablename="db_server"):
    """A PostgreSQL server that hosts store databases."""

    name = Varchar(length=63, unique=True)
    dsn_encrypted = Text()  # admin DSN, encrypted: it may carry a password
    status = Varchar(length=16, default="active")  # active | draining | down
    accepts_new = Boolean(default=True)
    created_at = Timestamptz()


class Tenant(Table, db=CONTROL_DB, tablename="tenant"):
    """A store: where its database lives and who it is."""

    slug = Varchar(length=40, unique=True)
    name = Varchar(length=120)
    database = Varchar(length=63, unique=True)
    role = Varchar(length=63, unique=True)
    role_password_encrypted = Text()
    server = ForeignKey(references=DbServer)
    schema_version = Varchar(length=64, default="")
    status = Varchar(length=16, default="provisioning")  # provisioning | active | read_only | suspended
    routing_version = Integer(default=1)
    locale = Varchar(length=8, default="ru")
    currency = Varchar(length=3, default="RUB")
    country = Varchar(length=2, default="RU")
    last_error = Text(default="")
    created_at = Timestamptz()
    # When the store's scheduled feed import is next due (None: no schedule); read by the dispatcher.
    feed_due_at = Timestamptz(null=True, default=None, index=True)
    # When a payment of the store is next to be asked about (None: nothing open); read by the dispatcher.
    payments_due_at = Timestamptz(null=True, default=None, index=True)


class Identity(Table, db=CONTROL_DB, tablename="identity"):
    """A person who can log in; may belong to several stores."""

    email = Varchar(length=254, unique=True)
    password_hash = Text()
    name = Varchar(length=120, default="")
    locale = Varchar(length=8, default="")
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class Membership(Table, db=CONTROL_DB, tablename="membership"):
    """Identity × store × role."""

    identity = ForeignKey(references=Identity, index=True)
    tenant = ForeignKey(references=Tenant, index=True)
    role = Varchar(length=16, default="owner")  # owner | admin | manager | operator | analyst
    active = Boolean(default=True)
    created_at = Timestamptz()


class KvEntry(Table, db=CONTROL_DB, tablename="kv_entry"):
    """Sessions and rate-limit counters shared by every worker process."""

    key = Varchar(length=255, unique=True)
    value = Bytea()
    expires_at = Timestamptz(null=True, default=None, index=True, index_method=IndexMethod.btree)
