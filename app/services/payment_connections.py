"""Managing a store's payment connections: edit (credentials and names per language), disable, enable, delete.

Secrets are never shown back: a secret left blank keeps the stored one. A disabled connection offers no Pay
button and starts no payment, but its notifications and reconciliation keep working for payments already
started. A connection is deleted only while no payment uses it. Every change is written to the audit log, its
summary as data, and never with a credential in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from app import crypto
from app.errors import Conflict, NotFound, ValidationFailed
from app.forms import rules
from app.gateways.base import ConfigInvalid
from app.gateways.registry import gateway_class
from app.i18n import LOCALES
from app.i18n import gettext as _
from app.i18n.messages import gettext
from app.services import audit
from app.services.payments import PURPOSE, TEST_ONLY, Keys
from app.tables.payments import Payment, PaymentConnection
from app.tenancy.runtime import store_transaction

NAME_LENGTH = 120


def names_from(values: Mapping[str, str]) -> dict[str, str]:
    """The ``name_<locale>`` fields of a form, checked by the input rules (an error is keyed by its field)."""
    names: dict[str, str] = {}
    errors: dict[str, str] = {}
    for locale in LOCALES:
        try:
            names[locale] = rules.text(values.get(f"name_{locale}"), max_length=NAME_LENGTH)
        except rules.Invalid as exc:
            errors[f"name_{locale}"] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return {locale: name for locale, name in names.items() if name}


async def _locked(connection_id: int) -> dict:
    """The connection's row, locked for the change (call inside a transaction)."""
    rows = await PaymentConnection.raw(
        "SELECT id, code, name, names, test_mode, active, config_encrypted FROM payment_connection"
        " WHERE id = {} FOR UPDATE",
        connection_id,
    )
    if not rows:
        raise NotFound(_("This payment connection does not exist."))
    row = rows[0]
    if isinstance(row["names"], str):
        row["names"] = json.loads(row["names"])
    return row


def _merged_config(row: Mapping, values: Mapping[str, str], keys: Keys) -> tuple[dict, list[str]]:
    """The new settings: re-entered fields replace the stored ones, a blank secret keeps its stored value.
    Returns the settings and the names (never the values) of the fields that changed."""
    cls = gateway_class(row["code"])
    stored = json.loads(crypto.decrypt(keys.secret_key, PURPOSE, row["config_encrypted"]))
    config: dict[str, str] = {}
    for field in cls.config_fields:
        entered = (values.get(field.name) or "").strip()
        if entered:
            config[field.name] = entered
        elif field.secret and stored.get(field.name):
            config[field.name] = stored[field.name]
    try:
        config = cls.validate_config(config)
    except ConfigInvalid as exc:
        raise ValidationFailed({key: _(str(text)) for key, text in exc.errors.items()}) from None
    changed = sorted(key for key in set(config) | set(stored) if config.get(key) != stored.get(key))
    return config, changed


async def edit(
    connection_id: int,
    values: Mapping[str, str],
    *,
    keys: Keys,
    test_mode: bool,
    actor_id: int | None = None,
    actor: str = "",
) -> None:
    """Save a connection's names per language, test mode and re-entered credentials, all or nothing.

    Raises:
        NotFound: no such connection in this store.
        ValidationFailed: a name breaks the input rules, or the gateway refuses the settings.
    """
    names = names_from(values)
    async with store_transaction():
        row = await _locked(connection_id)
        config, changed = _merged_config(row, values, keys)
        test_mode = test_mode or row["code"] in TEST_ONLY
        name = names.get("en") or next(iter(names.values()), "") or row["name"]
        await PaymentConnection.update(
            {
                PaymentConnection.name: name,
                PaymentConnection.names: names,
                PaymentConnection.test_mode: test_mode,
                PaymentConnection.config_encrypted: crypto.encrypt(keys.secret_key, PURPOSE, json.dumps(config)),
            }
        ).where(PaymentConnection.id == connection_id)
        before = {"name": row["name"], "names": row["names"], "test_mode": row["test_mode"]}
        after = {"name": name, "names": names, "test_mode": test_mode}
        if changed:  # which settings were re-entered, never their values
            before["credentials"], after["credentials"] = "", ", ".join(changed)
        await audit.record_changes(
            "settings", f"payment:{connection_id}", "edit", before, after, actor_id=actor_id, actor=actor,
            summary=gettext("Payment connection %(name)s edited", name=name),
        )  # fmt: skip


async def set_active(connection_id: int, active: bool, *, actor_id: int | None = None, actor: str = "") -> None:
    """Enable or disable a connection (disabled: no Pay button, no new payment; notifications still work).

    Raises:
        NotFound: no such connection in this store.
    """
    async with store_transaction():
        row = await _locked(connection_id)
        if row["active"] == active:
            return
        await PaymentConnection.update({PaymentConnection.active: active}).where(PaymentConnection.id == connection_id)
        summary = (
            gettext("Payment connection %(name)s enabled", name=row["name"])
            if active
            else gettext("Payment connection %(name)s disabled", name=row["name"])
        )
        await audit.record(
            "settings", f"payment:{connection_id}", "enable" if active else "disable",
            actor_id=actor_id, actor=actor, summary=summary,
            before={"active": row["active"]}, after={"active": active},
        )  # fmt: skip


async def delete(connection_id: int, *, actor_id: int | None = None, actor: str = "") -> None:
    """Delete a connection no payment uses (its stored notifications go with it).

    Raises:
        NotFound: no such connection in this store.
        Conflict: a payment uses it (disable it instead); nothing is changed.
    """
    async with store_transaction():
        row = await _locked(connection_id)  # a payment started meanwhile waits for this lock, or is seen
        used = await Payment.count().where(Payment.connection == connection_id)
        if used:
            raise Conflict(
                _("%(name)s has payments and cannot be deleted. Disable it instead: it will offer no Pay button.")
                % {"name": row["name"]}
            )
        await PaymentConnection.delete().where(PaymentConnection.id == connection_id)
        await audit.record(
            "settings", f"payment:{connection_id}", "delete", actor_id=actor_id, actor=actor,
            summary=gettext("Payment connection %(name)s deleted", name=row["name"]),
            before={"gateway": row["code"], "name": row["name"]},
        )  # fmt: skip


async def form_values(keys: Keys) -> dict[int, dict[str, str]]:
    """What each connection's edit form shows: names per language, test mode and the settings that are not
    secret (a secret field stays blank: leaving it blank keeps the stored secret)."""
    rows = await PaymentConnection.select(
        PaymentConnection.id, PaymentConnection.code, PaymentConnection.name, PaymentConnection.names,
        PaymentConnection.test_mode, PaymentConnection.config_encrypted,
    ).output(load_json=True)  # fmt: skip
    shown: dict[int, dict[str, str]] = {}
    for row in rows:
        config = json.loads(crypto.decrypt(keys.secret_key, PURPOSE, row["config_encrypted"]))
        secret = {field.name for field in gateway_class(row["code"]).config_fields if field.secret}
        values = {key: str(value) for key, value in config.items() if key not in secret}
        names = row["names"] or {}
        values.update({f"name_{locale}": names.get(locale, "") for locale in LOCALES})
        if not names:
            values["name_en"] = row["name"]
        values["test_mode"] = "on" if row["test_mode"] else ""
        shown[row["id"]] = values
    return shown
