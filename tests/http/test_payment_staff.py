"""Staff payment screens: "check connection" per gateway, and e-mailing the payment link from the order card."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from app.services import orders, payments
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import csrf, login, make_store
from tests.fakes.gateways.cloudpayments import FakeCloudPayments
from tests.fakes.gateways.tbank import FakeTBank
from tests.fakes.gateways.yookassa import FakeYooKassa
from tests.integration.test_order_mail import Sink

pytestmark = pytest.mark.http

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")


async def check(client, slug: str, connection_id: int, *, htmx: bool = True):
    headers = {"HX-Request": "true", "x-csrftoken": csrf(client)} if htmx else {}
    data = {} if htmx else {"_csrf_token": csrf(client)}
    return await client.post(f"/s/{slug}/settings/payments/{connection_id}/check", headers=headers, data=data)


def state_of(response) -> str:
    assert response.status_code == 200, response.text
    marker = 'data-testid="check-result" data-state="'
    return response.text.split(marker, 1)[1].split('"', 1)[0]


async def test_check_connection_tells_working_rejected_and_unreachable_apart(client, runtime, store_b) -> None:
    store = await make_store("pay-check", locale="en")
    async with FakeYooKassa() as yookassa, FakeTBank() as tbank, FakeCloudPayments() as cloud:
        async with tenancy.bind_tenant(store.tenant):
            good = await payments.connect(
                "yookassa", {"shop_id": yookassa.shop_id, "secret_key": yookassa.secret_key}, keys=KEYS,
                base_url=f"{yookassa.url}/v3",
            )  # fmt: skip
            wrong = await payments.connect(
                "yookassa", {"shop_id": yookassa.shop_id, "secret_key": "not-the-key"}, keys=KEYS,
                base_url=f"{yookassa.url}/v3",
            )  # fmt: skip
            tbank_wrong = await payments.connect(
                "tbank", {"terminal_key": tbank.terminal_key, "password": "nope"}, keys=KEYS, base_url=tbank.url
            )
            tbank_good = await payments.connect(
                "tbank", {"terminal_key": tbank.terminal_key, "password": tbank.password}, keys=KEYS, base_url=tbank.url
            )
            cloud_good = await payments.connect(
                "cloudpayments", {"public_id": cloud.public_id, "api_secret": cloud.api_secret}, keys=KEYS,
                base_url=cloud.url,
            )  # fmt: skip
            down = await payments.connect(
                "cloudpayments", {"public_id": "pk", "api_secret": "s"}, keys=KEYS,
                base_url=f"http://127.0.0.1:{free_port()}",
            )  # fmt: skip
            sandbox = await payments.connect("sandbox", {"secret": "sandbox-secret-0123456789"}, keys=KEYS)
            cash = await payments.connect("cash_on_delivery", {}, keys=KEYS)
            bank = await payments.connect(
                "bank_transfer", {"recipient": "OOO Test", "account": "123", "bank_name": "Bank"}, keys=KEYS
            )
        await login(client, store.email)
        page = await client.get(f"/s/{store.slug}/settings/payments/")
        assert f'data-testid="check-connection-{good}"' in page.text
        for kind in ("check", "pay", "fail", "confirm", "refund", "cancel"):  # one address per type to paste
            assert f"/hooks/{store.slug}/cloudpayments/{cloud_good}/{kind}<" in page.text
        assert f"/hooks/{store.slug}/yookassa/{good}<" in page.text

        ok = await check(client, store.slug, good)
        assert state_of(ok) == "ok" and "accepted the credentials" in ok.text
        assert "<html" not in ok.text  # htmx gets the fragment only
        assert yookassa.requests[-1].path == "/v3/payments"  # a real, authenticated call was made
        rejected = await check(client, store.slug, wrong)
        assert state_of(rejected) == "rejected" and "rejected the credentials" in rejected.text
        assert "not-the-key" not in rejected.text
        assert state_of(await check(client, store.slug, tbank_wrong)) == "rejected"
        assert state_of(await check(client, store.slug, tbank_good)) == "ok"
        assert state_of(await check(client, store.slug, cloud_good)) == "ok"
        unreachable = await check(client, store.slug, down)
        assert state_of(unreachable) == "unreachable" and "could not be reached" in unreachable.text
        assert state_of(await check(client, store.slug, sandbox)) == "ok"
        assert state_of(await check(client, store.slug, cash)) == "ok"
        bad_account = await check(client, store.slug, bank)
        assert state_of(bad_account) == "rejected" and "Account number or IBAN" in bad_account.text

        # Without JavaScript the whole page comes back with the result in place.
        plain = await check(client, store.slug, good, htmx=False)
        assert state_of(plain) == "ok" and 'data-testid="payment-connections"' in plain.text

        # In Russian the result is translated.
        ru = await client.post(
            f"/s/{store.slug}/settings/payments/{wrong}/check?lang=ru",
            headers={"HX-Request": "true", "x-csrftoken": csrf(client)},
        )
        assert "Платёжная система отклонила ключи" in ru.text

    # No CSRF token: refused. Store B's owner cannot check store A's connection.
    assert (await client.post(f"/s/{store.slug}/settings/payments/{good}/check")).status_code == 403
    await login(client, store_b.email)
    foreign = await client.post(
        f"/s/{store.slug}/settings/payments/{good}/check", headers={"HX-Request": "true", "x-csrftoken": csrf(client)}
    )
    assert foreign.status_code in (403, 404)
    async with tenancy.bind_tenant(store_b.tenant):
        ids = {c["id"] for c in await payments.list_connections()}
    if good not in ids:  # the same id under B's own address names no connection of B
        mine = await client.post(
            f"/s/{store_b.slug}/settings/payments/{good}/check",
            headers={"HX-Request": "true", "x-csrftoken": csrf(client)},
        )
        assert mine.status_code == 404


async def test_staff_e_mail_the_payment_link_in_the_shoppers_language(client, runtime, monkeypatch) -> None:
    sink = Sink()
    port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(port))
    try:
        store = await make_store("pay-link-mail", locale="ru")
        other = await make_store("pay-link-other", locale="ru")
        async with tenancy.bind_tenant(store.tenant):
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Kettle", "K-1", 129050, 1),),
                    currency="RUB",
                    customer_name="Jane",
                    phone="+79120000019",
                    email="jane@example.com",
                    locale="en",
                )
            )
        await login(client, store.email)
        card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
        assert 'data-testid="mail-link-form"' in card.text and 'value="jane@example.com"' in card.text
        url = f"/s/{store.slug}/orders/{order['id']}/payment-link"

        bad = await client.post(url, data={"link_email": "not an address", "_csrf_token": csrf(client)})
        assert bad.status_code == 422 and 'data-testid="error-link"' in bad.text
        empty = await client.post(url, data={"link_email": "", "_csrf_token": csrf(client)})
        assert empty.status_code == 422
        assert not sink.messages

        sent = await client.post(url, data={"link_email": "jane@example.com", "_csrf_token": csrf(client)})
        assert sent.status_code == 200 and 'data-testid="link-sent"' in sent.text
        assert (await client.post(url, data={"link_email": "jane@example.com"})).status_code == 403  # no CSRF

        # Store B's staff cannot mail store A's order (the order id names nothing in B, or B's own order).
        await login(client, other.email)
        foreign = await client.post(url, data={"link_email": "x@example.com", "_csrf_token": csrf(client)})
        assert foreign.status_code in (403, 404)
    finally:
        smtp.stop()
    assert len(sink.messages) == 1
    rcpt, message = sink.messages[0]
    assert rcpt == ["jane@example.com"]
    assert order["number"] in message["Subject"] and "Payment link" in message["Subject"]  # the shopper's English
    text = message.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:8000/f/{store.slug}/o/{order['token']}" in text and "1,290.50" in text
    assert message["Reply-To"].addresses[0].addr_spec == store.email


async def test_mail_server_down_is_reported_not_hidden(client, runtime, monkeypatch) -> None:
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(free_port()))
    store = await make_store("pay-link-down")
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", None, 1000, 1),), currency="RUB", phone="+79120000029"
            )
        )
    await login(client, store.email)
    failed = await client.post(
        f"/s/{store.slug}/orders/{order['id']}/payment-link",
        data={"link_email": "pat@example.com", "_csrf_token": csrf(client)},
    )
    assert failed.status_code == 422 and "Не удалось отправить письмо" in failed.text


async def test_settings_offer_taxation_systems_as_a_choice(client, runtime, store_b) -> None:
    store = await make_store("pay-tax-choice", locale="en")
    await login(client, store.email)
    form = await client.get(f"/s/{store.slug}/settings/payments/?code=tbank")
    assert '<select id="f-taxation" name="taxation"' in form.text
    assert '<option value="osn" selected>' in form.text and "Simplified, on income (USN 6%)" in form.text
    wrong = await client.post(
        f"/s/{store.slug}/settings/payments/",
        data={"code": "tbank", "terminal_key": "T1", "password": "p", "taxation": "flat", "_csrf_token": csrf(client)},
    )
    assert wrong.status_code == 422 and 'data-testid="error-taxation"' in wrong.text
    # Store B's owner cannot open store A's payment settings.
    await login(client, store_b.email)
    assert (await client.get(f"/s/{store.slug}/settings/payments/?code=tbank")).status_code in (403, 404)
