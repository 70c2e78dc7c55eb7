"""Store-level tables in every store database: the store's own settings and its staff."""

from __future__ import annotations

from piccolo.columns import Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class StoreSetting(Table, tablename="store_setting"):
    """One row: what the store calls itself and how it formats money and dates."""

    name = Varchar(length=120)
    locale = Varchar(length=8, default="ru")
    currency = Varchar(length=3, default="RUB")
    country = Varchar(length=2, default="RU")
    timezone = Varchar(length=64, default="Europe/Moscow")
    tax_system = Varchar(length=24, null=True, default=None)  # 54-FZ taxation system; None sends none
    vat_code = Varchar(length=8, default="none")  # the default VAT of goods
    delivery_vat_code = Varchar(length=8, default="none")
    updated_at = Timestamptz()


class StaffProfile(Table, tablename="staff_profile"):
    """A member of staff as this store knows them; ``identity_id`` points into the control plane."""

    identity_id = Integer(unique=True)
    email = Varchar(length=254)
    name = Varchar(length=120, default="")
    role = Varchar(length=16, default="owner")
    active = Boolean(default=True)
    created_at = Timestamptz()
    scope = Varchar(length=8, default="all")  # all | own: which orders a manager or operator sees
    on_shift = Boolean(default=True)  # new orders are distributed only to managers on shift
    last_seen_at = Timestamptz(null=True, default=None)


class Distribution(Table, tablename="distribution"):
    """One row: how new orders are handed to managers; locked while an order is assigned."""

    mode = Varchar(length=16, default="off")  # off | round_robin | least_loaded
    last_identity_id = Integer(null=True, default=None)  # who got the last order (round robin)
    updated_at = Timestamptz()


class StaffInvitation(Table, tablename="staff_invitation"):
    """An e-mailed invitation to join the store. The link carries an HMAC (keyed by the app's secret) of this
    row's nonce, so the database alone cannot rebuild a working link."""

    email = Varchar(length=254)
    role = Varchar(length=16)
    scope = Varchar(length=8, default="all")
    locale = Varchar(length=8, default="ru")
    nonce = Varchar(length=64)
    invited_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = Integer(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
