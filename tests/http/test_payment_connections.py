"""Managing payment connections from the settings screen: edit, rename per language, disable, enable, delete.

Expected texts are the translations as a reader would write them, not read from the catalogs.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from app import crypto
from app.errors import NotFound
from app.gateways.base import Money, PaymentStatus
from app.gateways.sandbox import SandboxGateway
from app.services import orders, payments
from app.tables.audit import AuditEntry
from app.tables.payments import Payment, PaymentConnection
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store

pytestmark = pytest.mark.http

SECRET = "sandbox-secret-0123456789"
KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")  # the test settings' secret key and public URL
LANGS = ["ru", "uk"]
EDITED = {"ru": "Подключение оплаты Card изменено", "uk": "Підключення оплати Card змінено"}
REFUSED = {
    "ru": "По подключению Demo есть платежи, его нельзя удалить. Отключите его",
    "uk": "Підключення Demo має платежі, його не можна видалити. Вимкніть його",
}
TOO_LONG = {"ru": "Слишком длинно", "uk": "Задовго"}


async def _shop(client, slug: str, lang: str):
    shop = await make_store(f"{slug}-{lang}")
    await login(client, shop.email)
    await client.get(f"/lang/{lang}")
    async with tenancy.bind_tenant(shop.tenant):
        connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, name="Demo")
    return shop, connection_id


async def _order(shop, locale: str = "uk") -> dict:
    async with tenancy.bind_tenant(shop.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),),
                currency="RUB",
                phone="+79120001111",
                locale=locale,
            )
        )
    return order


async def _stored(shop, connection_id: int) -> dict:
    async with tenancy.bind_tenant(shop.tenant):
        row = await PaymentConnection.select().where(PaymentConnection.id == connection_id).output(load_json=True)
        entries = await AuditEntry.select().where(AuditEntry.entity_id == f"payment:{connection_id}").output(
            load_json=True
        )
    if not row:
        return {"row": None, "audit": entries}
    config = json.loads(crypto.decrypt(KEYS.secret_key, payments.PURPOSE, row[0]["config_encrypted"]))
    return {"row": row[0], "config": config, "audit": entries}


@pytest.mark.parametrize("lang", LANGS)
async def test_renamed_per_language_with_the_secret_kept_and_audited(client, runtime, lang) -> None:
    shop, connection_id = await _shop(client, "pc-rename", lang)
    form = await client.get(f"/s/{shop.slug}/settings/payments/")
    assert f'data-testid="edit-connection-{connection_id}"' in form.text and SECRET not in form.text
    saved = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}",
        data={"name_en": "Card", "name_ru": "Картой", "name_uk": "Карткою", "secret": "", "_csrf_token": csrf(client)},
    )
    assert saved.status_code == 303
    stored = await _stored(shop, connection_id)
    assert stored["row"]["names"] == {"en": "Card", "ru": "Картой", "uk": "Карткою"}
    assert stored["config"] == {"secret": SECRET}  # blank kept the stored secret
    [entry] = [e for e in stored["audit"] if e["action"] == "edit"]
    assert entry["summary_data"]["id"] == "Payment connection %(name)s edited"
    assert "credentials" not in entry["after"]
    log = await client.get(f"/s/{shop.slug}/staff/audit")
    assert EDITED[lang] in log.text
    # The shopper reads the name in the order's language.
    order = await _order(shop, "uk")
    page = await client.get(f"/f/{shop.slug}/o/{order['token']}")
    assert "Карткою" in page.text and 'data-testid="test-payment-note"' in page.text
    en_page = await client.get(f"/f/{shop.slug}/o/{order['token']}?lang=en")
    assert "Pay with Card" in en_page.text
    # A re-entered secret replaces the stored one; the log says which setting changed, never its value.
    new_secret = "another-sandbox-secret-98765"
    again = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}",
        data={"name_en": "Card", "name_ru": "Картой", "name_uk": "Карткою", "secret": new_secret,
              "_csrf_token": csrf(client)},
    )  # fmt: skip
    assert again.status_code == 303
    stored = await _stored(shop, connection_id)
    assert stored["config"] == {"secret": new_secret}
    edits = [e for e in stored["audit"] if e["action"] == "edit"]
    assert edits[-1]["after"] == {"credentials": "secret"} and new_secret not in json.dumps(edits, default=str)


@pytest.mark.parametrize("lang", LANGS)
async def test_a_refused_edit_changes_nothing(client, runtime, lang) -> None:
    shop, connection_id = await _shop(client, "pc-refuse", lang)
    before = await _stored(shop, connection_id)
    refused = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}",
        data={"name_en": "x" * 121, "secret": "a-new-secret-that-would-be-valid", "_csrf_token": csrf(client)},
    )
    assert refused.status_code == 422 and TOO_LONG[lang] in refused.text
    assert 'data-testid="error-name_en"' in refused.text
    assert "a-new-secret-that-would-be-valid" not in refused.text  # a secret is never shown back
    nul = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}",
        data={"name_en": "Ca\x00rd", "secret": "", "_csrf_token": csrf(client)},
    )
    assert 400 <= nul.status_code < 500
    after = await _stored(shop, connection_id)
    assert after["row"] == before["row"] and after["config"] == {"secret": SECRET}
    assert [e["action"] for e in after["audit"]] == ["connect"]


@pytest.mark.parametrize("lang", LANGS)
async def test_disabled_offers_no_pay_but_its_notifications_still_apply(client, runtime, lang) -> None:
    shop, connection_id = await _shop(client, "pc-disable", lang)
    started = await _order(shop)
    async with tenancy.bind_tenant(shop.tenant):
        step = await payments.start(started["token"], connection_id, keys=KEYS)
    fresh = await _order(shop)
    disabled = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}/disable", data={"_csrf_token": csrf(client)}
    )
    assert disabled.status_code == 303
    listing = await client.get(f"/s/{shop.slug}/settings/payments/")
    assert 'data-testid="connection-disabled"' in listing.text and 'data-testid="enable-connection"' in listing.text
    page = await client.get(f"/f/{shop.slug}/o/{fresh['token']}")
    assert 'data-testid="pay-sandbox"' not in page.text
    pay = await client.post(f"/f/{shop.slug}/o/{fresh['token']}/pay/{connection_id}")
    assert pay.status_code == 404
    async with tenancy.bind_tenant(shop.tenant):
        with pytest.raises(NotFound):
            await payments.start(fresh["token"], connection_id, keys=KEYS)
        assert await Payment.count().where(Payment.order == fresh["id"]) == 0
    # The payment started before is still credited by its notification.
    sandbox = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url)
    page_data = sandbox.verify_page(dict(parse_qsl(urlsplit(step.url).query)))
    body, headers = sandbox.build_notification(
        provider_payment_id=page_data.provider_payment_id, payment_ref=page_data.payment_ref,
        amount=Money(100000, "RUB"), status=PaymentStatus.SUCCEEDED, event_id="evt-after-disable",
    )  # fmt: skip
    hook = await client.post(f"/hooks/{shop.slug}/sandbox/{connection_id}", content=body, headers=headers)
    assert hook.status_code == 200
    async with tenancy.bind_tenant(shop.tenant):
        paid = await Payment.select(Payment.status).where(Payment.order == started["id"]).first()
    assert paid["status"] == "succeeded"
    enabled = await client.post(
        f"/s/{shop.slug}/settings/payments/{connection_id}/enable", data={"_csrf_token": csrf(client)}
    )
    assert enabled.status_code == 303
    assert 'data-testid="pay-sandbox"' in (await client.get(f"/f/{shop.slug}/o/{fresh['token']}")).text
    actions = [e["action"] for e in (await _stored(shop, connection_id))["audit"]]
    assert actions == ["connect", "disable", "enable"]


@pytest.mark.parametrize("lang", LANGS)
async def test_deleted_only_when_unused(client, runtime, lang) -> None:
    shop, used_id = await _shop(client, "pc-delete", lang)
    async with tenancy.bind_tenant(shop.tenant):
        unused_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, name="Spare")
    order = await _order(shop)
    async with tenancy.bind_tenant(shop.tenant):
        await payments.start(order["token"], used_id, keys=KEYS)
    refused = await client.post(
        f"/s/{shop.slug}/settings/payments/{used_id}/delete", data={"_csrf_token": csrf(client)}
    )
    assert refused.status_code == 409 and REFUSED[lang] in refused.text and 'data-testid="form-error"' in refused.text
    kept = await _stored(shop, used_id)
    assert kept["row"] is not None and [e["action"] for e in kept["audit"]] == ["connect"]
    deleted = await client.post(
        f"/s/{shop.slug}/settings/payments/{unused_id}/delete", data={"_csrf_token": csrf(client)}
    )
    assert deleted.status_code == 303
    gone = await _stored(shop, unused_id)
    assert gone["row"] is None and [e["action"] for e in gone["audit"]] == ["connect", "delete"]
    again = await client.post(
        f"/s/{shop.slug}/settings/payments/{unused_id}/delete", data={"_csrf_token": csrf(client)}
    )
    assert again.status_code == 404


async def test_store_b_cannot_touch_store_a_connections(client, runtime) -> None:
    shop_a = await make_store("pc-cross-a")
    async with tenancy.bind_tenant(shop_a.tenant):
        for _ in range(3):  # an id store B does not have
            connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, name="A pay")
    shop_b = await make_store("pc-cross-b", locale="uk", currency="UAH", country="UA")
    await login(client, shop_b.email)
    before = await _stored(shop_a, connection_id)
    for action in ("", "/disable", "/delete"):
        own = await client.post(
            f"/s/{shop_b.slug}/settings/payments/{connection_id}{action}",
            data={"name_en": "Hijacked", "secret": "", "_csrf_token": csrf(client)},
        )
        assert own.status_code == 404
        other = await client.post(
            f"/s/{shop_a.slug}/settings/payments/{connection_id}{action}",
            data={"name_en": "Hijacked", "secret": "", "_csrf_token": csrf(client)},
        )
        assert other.status_code in (403, 404)
    assert await _stored(shop_a, connection_id) == before


@pytest.mark.parametrize("lang", LANGS)
async def test_the_sandbox_is_always_a_test_connection(client, runtime, lang) -> None:
    shop = await make_store(f"pc-sandbox-{lang}")
    await login(client, shop.email)
    await client.get(f"/lang/{lang}")
    form = await client.get(f"/s/{shop.slug}/settings/payments/?code=sandbox")
    assert 'data-testid="test-only"' in form.text and 'name="test_mode"' not in form.text.split("connect-form")[1]
    live = await client.post(
        f"/s/{shop.slug}/settings/payments/",
        data={"code": "sandbox", "name_en": "Live pay", "secret": SECRET, "_csrf_token": csrf(client)},
    )  # no test_mode: asked for live
    assert live.status_code == 303
    async with tenancy.bind_tenant(shop.tenant):
        cli_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, test_mode=False)
        rows = await PaymentConnection.select(PaymentConnection.id, PaymentConnection.test_mode)
    assert [r["test_mode"] for r in rows] == [True, True]
    edited = await client.post(
        f"/s/{shop.slug}/settings/payments/{cli_id}",
        data={"name_en": "Live now", "secret": "", "_csrf_token": csrf(client)},
    )
    assert edited.status_code == 303
    assert (await _stored(shop, cli_id))["row"]["test_mode"] is True
    listing = await client.get(f"/s/{shop.slug}/settings/payments/")
    assert listing.text.count('data-testid="connection-mode"') == 2
    assert {"ru": ">Тестовый<", "uk": ">Тестовий<"}[lang] in listing.text
    assert 'badge-done" data-testid="connection-mode"' not in listing.text  # no "Live" badge
    # A row stored as live before this change still talks to the gateway in test mode.
    async with tenancy.bind_tenant(shop.tenant):
        row = dict(await payments.connection(cli_id), test_mode=False)
        assert payments.gateway_for(row, KEYS).test_mode is True


async def test_a_delete_racing_a_start_leaves_no_payment_without_its_connection(client, runtime) -> None:
    from app.services import payment_connections

    shop = await make_store("pc-race")
    for _ in range(3):
        async with tenancy.bind_tenant(shop.tenant):
            connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS)
        order = await _order(shop)

        async def start(token=order["token"], cid=connection_id):
            async with tenancy.bind_tenant(shop.tenant):
                return await payments.start(token, cid, keys=KEYS)

        async def delete(cid=connection_id):
            async with tenancy.bind_tenant(shop.tenant):
                return await payment_connections.delete(cid)

        results = await asyncio.gather(start(), delete(), return_exceptions=True)
        kinds = {type(r).__name__ for r in results if isinstance(r, Exception)}
        assert kinds <= {"NotFound", "Conflict"}, results
        stored = await _stored(shop, connection_id)
        async with tenancy.bind_tenant(shop.tenant):
            started = await Payment.count().where(Payment.order == order["id"])
        assert (stored["row"] is None and started == 0) or (stored["row"] is not None and started == 1)
