"""Stores: creating one (database, owner, membership) and reading or editing its settings."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from app import clock
from app.errors import ValidationFailed
from app.forms import _fields
from app.forms.auth import COUNTRIES, CURRENCIES, SignupData
from app.i18n import LOCALES, timezones
from app.i18n import gettext as _
from app.services import audit, receipts
from app.services.auth import hash_password
from app.tables.control import Identity, Membership, Tenant
from app.tables.stores import StaffProfile, StoreSetting
from app.tenancy.migrate import tenant_schema_version
from app.tenancy.provision import SlugTaken, StoreSpec, activate, deprovision, provision
from app.tenancy.runtime import TenantInfo, bind_tenant, current_tenant, forget_tenant, store_transaction


@dataclass(frozen=True)
class StoreView:
    slug: str
    name: str
    locale: str
    currency: str
    country: str
    timezone: str
    staff_count: int
    tax_system: str | None = None  # 54-FZ receipts (app.services.receipts)
    vat_code: str = "none"
    delivery_vat_code: str = "none"


async def create_store(
    data: SignupData, *, identity_id: int | None = None, server: str | None = None, role: str = "owner"
) -> tuple[TenantInfo, int]:
    """Provision a store for a new owner (``identity_id`` None) or an existing one.

    Raises:
        ValidationFailed: the slug or e-mail is taken; nothing has been created.
    """
    if await Tenant.exists().where(Tenant.slug == data.slug):
        raise ValidationFailed({"slug": _("This address is already taken. Choose another one.")})
    new_identity = identity_id is None
    if new_identity:
        identity_id = await _create_identity(data.email, data.password, data.locale)
    assert identity_id is not None
    try:
        tenant = await provision(
            StoreSpec(data.slug, data.store_name, data.locale, data.currency, data.country, server),
            schema_version=tenant_schema_version(),
        )
    except SlugTaken:
        await _drop_identity(identity_id, new_identity)
        raise ValidationFailed({"slug": _("This address is already taken. Choose another one.")}) from None
    except BaseException:
        await _drop_identity(identity_id, new_identity)
        raise
    try:
        email = (await Identity.select(Identity.email).where(Identity.id == identity_id).first() or {}).get("email", "")
        async with bind_tenant(tenant), store_transaction():
            await StoreSetting.insert(
                StoreSetting(
                    name=data.store_name,
                    locale=data.locale,
                    currency=data.currency,
                    country=data.country,
                    timezone=_default_timezone(data.country),
                )
            )
            await StaffProfile.insert(StaffProfile(identity_id=identity_id, email=email, role=role))
        await Membership.insert(Membership(identity=identity_id, tenant=tenant.id, role=role))
        await activate(tenant.slug)
    except BaseException:
        await deprovision(tenant.slug)
        await _drop_identity(identity_id, new_identity)
        raise
    return tenant, identity_id


async def _create_identity(email: str, password: str, locale: str) -> int:
    password_hash = await hash_password(password)
    try:
        rows = await Identity.insert(Identity(email=email, password_hash=password_hash, locale=locale)).returning(
            Identity.id
        )
    except asyncpg.UniqueViolationError:
        raise ValidationFailed(
            {"email": _("An account with this e-mail already exists. Log in to add a store.")}
        ) from None
    return int(rows[0]["id"])


async def _drop_identity(identity_id: int, created_here: bool) -> None:
    if created_here:
        await Identity.delete().where(Identity.id == identity_id)


_TIMEZONES = {
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "KZ": "Asia/Almaty",
    "BY": "Europe/Minsk",
    "UZ": "Asia/Tashkent",
    "AM": "Asia/Yerevan",
    "GE": "Asia/Tbilisi",
    "US": "America/New_York",
    "GB": "Europe/London",
    "DE": "Europe/Berlin",
    "PL": "Europe/Warsaw",
    "EE": "Europe/Tallinn",
    "LV": "Europe/Riga",
    "LT": "Europe/Vilnius",
    "CY": "Asia/Nicosia",
}


def _default_timezone(country: str) -> str:
    return _TIMEZONES.get(country, "UTC")


async def current_store() -> StoreView:
    """The bound store's settings."""
    tenant = current_tenant()
    row = await StoreSetting.select().first()
    staff = await StaffProfile.count().where(StaffProfile.active == True)  # noqa: E712
    if row is None:  # a store whose first row was never written still shows its catalog facts
        return StoreView(tenant.slug, tenant.name, tenant.locale, tenant.currency, tenant.country, "UTC", staff)
    return StoreView(
        tenant.slug,
        row["name"],
        row["locale"],
        row["currency"],
        row["country"],
        row["timezone"],
        staff,
        row["tax_system"],
        row["vat_code"],
        row["delivery_vat_code"],
    )


@dataclass(frozen=True)
class StoreSettingsData:
    name: str
    locale: str
    currency: str
    country: str
    timezone: str | None  # None: the form did not carry the field, the zone stays as it is
    tax: receipts.StoreTax | None = None  # None: the form did not carry the tax fields, they stay as they are


def validate_settings(raw: Mapping[str, str]) -> tuple[StoreSettingsData | None, dict[str, str]]:
    errors: dict[str, str] = {}
    name = _fields.text(raw, "name", errors, max_length=120, min_length=2)
    locale = _fields.choice(raw, "locale", LOCALES, errors, default="ru")
    currency = _fields.choice(raw, "currency", CURRENCIES, errors, default="RUB")
    country = _fields.choice(raw, "country", COUNTRIES, errors, default="RU")
    zone = None
    if "timezone" in raw:
        zone = _fields.choice(raw, "timezone", timezones(), errors, default=_default_timezone(country))
    tax = None
    if "vat_code" in raw:
        tax, tax_errors = receipts.validate_store_tax(raw)
        errors.update(tax_errors)
    return (None if errors else StoreSettingsData(name, locale, currency, country, zone, tax)), errors


# The zone times are shown in, per store slug, read once per few seconds (like the tenant catalog).
_ZONE_SECONDS = 5.0
_zones: dict[str, tuple[float, str]] = {}


async def store_timezone() -> str:
    """The bound store's IANA zone (``UTC`` until one is set)."""
    slug = current_tenant().slug
    cached = _zones.get(slug)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    row = await StoreSetting.select(StoreSetting.timezone).first()
    zone = clock.zone((row or {}).get("timezone")).key
    _zones[slug] = (time.monotonic() + _ZONE_SECONDS, zone)
    return zone


async def update_settings(data: StoreSettingsData, *, actor_id: int | None = None, actor: str = "") -> StoreView:
    """Write the bound store's settings (audited) and mirror name, locale and currency into the catalog."""
    tenant = current_tenant()
    async with store_transaction():
        columns = (StoreSetting.name, StoreSetting.locale, StoreSetting.currency, StoreSetting.country)
        taxes = (StoreSetting.tax_system, StoreSetting.vat_code, StoreSetting.delivery_vat_code)
        before = await StoreSetting.select(*columns, StoreSetting.timezone, *taxes).first() or {}
        after = {
            "name": data.name,
            "locale": data.locale,
            "currency": data.currency,
            "country": data.country,
            "timezone": data.timezone or before.get("timezone") or _default_timezone(data.country),
        }
        if data.tax is not None:
            after |= {
                "tax_system": data.tax.tax_system,
                "vat_code": data.tax.vat_code,
                "delivery_vat_code": data.tax.delivery_vat_code,
            }
        await audit.record_changes(
            "settings", "store", "update", before, after, actor_id=actor_id, actor=actor, summary=_("Store")
        )
        if before.get("timezone") != after["timezone"]:
            # A new zone moves every order to another day: the trigger rebuilds the rollups, which in a big
            # store takes longer than the role's guard against runaway page queries.
            await StoreSetting.raw("SET LOCAL statement_timeout = '30min'")
        await StoreSetting.update(
            {getattr(StoreSetting, key): value for key, value in after.items()}
            | {StoreSetting.updated_at: clock.now()},
            force=True,
        )
    _zones.pop(tenant.slug, None)
    await Tenant.update(
        {
            Tenant.name: data.name,
            Tenant.locale: data.locale,
            Tenant.currency: data.currency,
            Tenant.country: data.country,
        }
    ).where(Tenant.id == tenant.id)
    forget_tenant(tenant.slug)
    return await current_store()


async def existing_identity(email: str) -> int | None:
    row = await Identity.select(Identity.id).where(Identity.email == email).first()
    return int(row["id"]) if row else None
