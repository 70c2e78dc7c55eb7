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
    updated_at = Timestamptz()


class StaffProfile(Table, tablename="staff_profile"):
    """A member of staff as this store knows them; ``identity_id`` points into the control plane."""

    identity_id = Integer(unique=True)
    email = Varchar(length=254)
    name = Varchar(length=120, default="")
    role = Varchar(length=16, default="owner")
    active = Boolean(default=True)
    created_at = Timestamptz()
