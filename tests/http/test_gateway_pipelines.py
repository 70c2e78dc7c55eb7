"""Every adapter end to end through the app: the shopper pays from the order page, the gateway's signed
notification reaches /hooks/{slug}/{gateway}/{connection} as raw bytes, reconciliation asks the gateway,
and staff refund in parts from the order card. Each gateway is a local fake written from its protocol.

Every test also posts the genuine notification under another store's address first: it changes nothing.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from app.gateways.paypal import PayPalGateway
from app.services import orders, payments
from app.tables.control import Tenant
from app.tables.customers import CustomerEvent
from app.tables.payments import Payment, PaymentEvent, Refund
from app.tenancy import runtime as tenancy
from tests.conftest import StoreFixture, csrf, login, make_store
from tests.fakes.gateways.cloudpayments import FakeCloudPayments
from tests.fakes.gateways.liqpay import FakeLiqPay
from tests.fakes.gateways.paypal import FakePayPal
from tests.fakes.gateways.robokassa import FakeRobokassa
from tests.fakes.gateways.stripe import FakeStripe
from tests.fakes.gateways.tbank import FakeTBank
from tests.fakes.gateways.wayforpay import FakeWayForPay
from tests.fakes.gateways.yookassa import FakeYooKassa

pytestmark = pytest.mark.http

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")  # the test app's secret and public address
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
FORM = re.compile(r'<form method="post" action="([^"]+)" hx-boost="false" data-testid="gateway-form">')


# -- helpers -------------------------------------------------------------------------------------------------


async def connected(
    slug: str, code: str, config: Mapping[str, str], base_url: str, *, currency: str = "RUB"
) -> tuple[StoreFixture, int]:
    country = {"RUB": "RU", "UAH": "UA"}.get(currency, "US")
    store = await make_store(slug, currency=currency, country=country, locale="uk" if currency == "UAH" else "ru")
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect(code, dict(config), keys=KEYS, base_url=base_url, name=code)
    return store, connection_id


async def place(
    store: StoreFixture,
    currency: str,
    lines: tuple[tuple[str, int, int], ...] = (("Чайник", 150000, 1),),
    *,
    discount: int = 0,
    delivery: int = 0,
) -> dict:
    draft = orders.OrderDraft(
        lines=tuple(orders.LineDraft(None, name, None, price, qty) for name, price, qty in lines),
        currency=currency,
        customer_name="Pat",
        phone="+79120005555",
        email="pat@example.com",
        discount_minor=discount,
        delivery_minor=delivery,
        delivery_name="Курьер" if delivery else "",
    )
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(draft)
    return order


async def pay(client: httpx.AsyncClient, store: StoreFixture, order: dict, connection_id: int) -> httpx.Response:
    """The shopper presses "Pay with ..." on their order page."""
    page = await client.get(f"/f/{store.slug}/o/{order['token']}")
    assert f"/pay/{connection_id}" in page.text
    return await client.post(f"/f/{store.slug}/o/{order['token']}/pay/{connection_id}")


def gateway_form(page: httpx.Response) -> tuple[str, list[tuple[str, str]]]:
    """The auto-submitting form the shopper's browser posts to the gateway: its action and hidden fields."""
    assert page.status_code == 200, page.text
    action = FORM.search(page.text)
    assert action is not None, page.text
    return html.unescape(action.group(1)), [(html.unescape(n), html.unescape(v)) for n, v in HIDDEN.findall(page.text)]


async def browser_posts(action: str, fields: list[tuple[str, str]]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.post(
            action, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )


async def notify(
    client: httpx.AsyncClient,
    store: StoreFixture,
    code: str,
    connection_id: int,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    query: str = "",
) -> httpx.Response:
    url = f"/hooks/{store.slug}/{code}/{connection_id}{query}"
    return await client.post(url, content=body, headers=dict(headers or {}))


async def the_payment(store: StoreFixture, order: dict) -> dict:
    async with tenancy.bind_tenant(store.tenant):
        return await Payment.select().where(Payment.order == order["id"]).order_by(Payment.id, ascending=False).first()


async def elsewhere_changes_nothing(
    client: httpx.AsyncClient,
    store: StoreFixture,
    other: StoreFixture,
    code: str,
    connection_id: int,
    order: dict,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    query: str = "",
) -> None:
    """Store A's genuine notification posted under store B's address is refused and changes nothing."""
    before = await the_payment(store, order)
    response = await notify(client, other, code, connection_id, body, headers, query)
    assert response.status_code in (400, 404)
    assert (await the_payment(store, order))["status"] == before["status"]
    async with tenancy.bind_tenant(other.tenant):
        assert await PaymentEvent.count().where(PaymentEvent.body == body.decode("utf-8", "replace")) == 0


async def shows_paid(client: httpx.AsyncClient, store: StoreFixture, order: dict) -> None:
    assert (await the_payment(store, order))["status"] == "succeeded"
    assert 'data-testid="order-paid"' in (await client.get(f"/f/{store.slug}/o/{order['token']}")).text
    async with tenancy.bind_tenant(store.tenant):
        credited = await CustomerEvent.count().where(
            (CustomerEvent.kind == "paid") & (CustomerEvent.order_id == order["id"])
        )
    assert credited == 1


async def refund_in_parts(
    client: httpx.AsyncClient, store: StoreFixture, order: dict, parts: tuple[str, ...], too_much: str
) -> dict:
    """Staff refund from the order card: each part, one refused overshoot, then the payment is refunded."""
    await login(client, store.email)
    payment = await the_payment(store, order)
    url = f"/s/{store.slug}/orders/{order['id']}/refund"
    for index, amount in enumerate(parts):
        form = {"payment": payment["id"], "amount": amount, "_csrf_token": csrf(client)}
        asked = await client.post(url, data=form)  # the confirmation step first
        assert asked.status_code == 200 and f'data-testid="refund-confirm-{payment["id"]}"' in asked.text
        done = await client.post(url, data={**form, "confirm": "1"})
        assert done.status_code == 303, done.text
        if index == 0:
            refused = await client.post(
                url, data={"payment": payment["id"], "amount": too_much, "_csrf_token": csrf(client)}
            )
            assert refused.status_code == 422 and 'data-testid="error-refund"' in refused.text
    final = await the_payment(store, order)
    assert final["status"] == "refunded" and final["refunded_minor"] == final["amount_minor"]
    async with tenancy.bind_tenant(store.tenant):
        rows = await Refund.select(Refund.status, Refund.provider_refund_id).where(Refund.payment == final["id"])
    assert len(rows) == len(parts) and all(r["status"] == "succeeded" and r["provider_refund_id"] for r in rows)
    return final


async def reconciled(store: StoreFixture, order: dict) -> str:
    """Reconciliation (the background job's work for one store) asks the gateway about the due payment."""
    async with tenancy.bind_tenant(store.tenant):
        tenant = await Tenant.select(Tenant.payments_due_at).where(Tenant.slug == store.slug).first()
        assert tenant["payments_due_at"] is not None  # starting the payment put the store on the due list
        await Payment.update({Payment.next_check_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
            Payment.order == order["id"]
        )
        await payments.reconcile_due(KEYS)
    return (await the_payment(store, order))["status"]


async def events(store: StoreFixture) -> dict[str, str]:
    async with tenancy.bind_tenant(store.tenant):
        return {
            e["event_id"]: e["outcome"] for e in await PaymentEvent.select(PaymentEvent.event_id, PaymentEvent.outcome)
        }


# -- Russian gateways ----------------------------------------------------------------------------------------


async def test_yookassa_redirect_unsigned_notification_status_query_refunds_with_receipts(
    client, runtime, store_b
) -> None:
    async with FakeYooKassa() as fake:
        config = {"shop_id": fake.shop_id, "secret_key": fake.secret_key}
        store, cid = await connected("e2e-yookassa", "yookassa", config, f"{fake.url}/v3")
        # Three kettles at 333.33 with a 100.00 discount: the receipt must still add up to the kopeck.
        order = await place(store, "RUB", (("Чайник", 33333, 3), ("Кружка", 10000, 1)), discount=10000, delivery=30000)
        started = await pay(client, store, order, cid)
        assert started.status_code == 303 and "yoomoney.ru/checkout" in started.headers["location"]
        receipt = fake.receipts[-1]
        total = sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in receipt["items"])
        assert total == Decimal(order["total_minor"]) / 100 == Decimal("1299.99")
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        body = fake.pay(payment_id)
        await elsewhere_changes_nothing(client, store, store_b, "yookassa", cid, order, body)
        answer = await notify(client, store, "yookassa", cid, body)
        assert answer.status_code == 200
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("300", "200.50", "799.49"), too_much="1000")
        refund_totals = [
            sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in r["items"])
            for r in fake.refund_receipts
        ]
        assert refund_totals == [Decimal("300"), Decimal("200.50"), Decimal("799.49")]

        second = await place(store, "RUB")
        await pay(client, store, second, cid)
        fake.pay((await the_payment(store, second))["provider_payment_id"])  # paid; the notification is lost
        assert await reconciled(store, second) == "succeeded"


async def test_robokassa_form_post_result_url_opstate_and_refunds(client, runtime, store_b) -> None:
    async with FakeRobokassa() as fake:
        config = {"merchant_login": fake.login, "password1": fake.p1, "password2": fake.p2, "password3": fake.p3}
        store, cid = await connected("e2e-robokassa", "robokassa", config, fake.url)
        order = await place(store, "RUB", (("Чайник", 50000, 2),), delivery=25000)
        action, fields = gateway_form(await pay(client, store, order, cid))
        assert action == f"{fake.url}/Merchant/Index.aspx"
        assert "Оплата прошла успешно" in (await browser_posts(action, fields)).text
        inv_id = dict(fields)["InvId"]
        body = fake.result_bodies[inv_id]
        await elsewhere_changes_nothing(client, store, store_b, "robokassa", cid, order, body)
        forged = body.replace(b"1250.000000", b"1.000000")
        assert (await notify(client, store, "robokassa", cid, forged)).status_code == 400
        # Validly signed, but for another sum: refused as a mismatch, and the event id (InvId) stays free.
        wrong_sig = fake._hash(f"1.000000:{inv_id}:{fake.p2}").upper()
        wrong = forged.replace(dict(parse_qsl(body.decode()))["SignatureValue"].encode(), wrong_sig.encode())
        assert (await notify(client, store, "robokassa", cid, wrong)).status_code == 200
        assert (await the_payment(store, order))["status"] == "pending"
        answer = await notify(client, store, "robokassa", cid, body)
        assert answer.status_code == 200 and answer.text == f"OK{inv_id}"
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("100", "1150"), too_much="1200")
        sums = [sum(Decimal(str(i["Cost"])) * Decimal(str(i["Quantity"])) for i in r) for r in fake.refund_receipts]
        assert sums == [Decimal("100"), Decimal("1150")]

        second = await place(store, "RUB")
        action, fields = gateway_form(await pay(client, store, second, cid))
        await browser_posts(action, fields)  # paid at Robokassa; the ResultURL call never arrives
        assert await reconciled(store, second) == "succeeded"


async def test_cloudpayments_check_pay_fail_refund_notifications(client, runtime, store_b) -> None:
    async with FakeCloudPayments() as fake:
        config = {"public_id": fake.public_id, "api_secret": fake.api_secret}
        store, cid = await connected("e2e-cloudpay", "cloudpayments", config, fake.url)
        order = await place(store, "RUB", (("Чайник", 120000, 1),))
        started = await pay(client, store, order, cid)
        assert started.status_code == 303 and started.headers["location"].startswith("https://orders.cloudpayments")
        cp_order = started.headers["location"].rsplit("/", 1)[1]

        # Check: a wrong amount is refused with code 12, the right one allowed with code 0; neither changes status.
        body, headers = fake.check_notification(cp_order, amount="1.00")
        await elsewhere_changes_nothing(
            client, store, store_b, "cloudpayments", cid, order, body, headers, "/check"
        )
        refused = await notify(client, store, "cloudpayments", cid, body, headers, "/check")
        assert refused.json() == {"code": 12}
        body, headers = fake.check_notification(cp_order)
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/check")).json() == {"code": 0}
        assert (await the_payment(store, order))["status"] == "pending"
        unknown, unknown_headers = fake.signed(
            body.replace(b"InvoiceId=", b"InvoiceId=9", 1).replace(b"TransactionId=", b"TransactionId=9", 1)
        )
        answer = await notify(client, store, "cloudpayments", cid, unknown, unknown_headers, "/check")
        assert answer.json() == {"code": 10}

        # Fail: the first card is declined; then the shopper pays with another card.
        body, headers = fake.fail_notification(cp_order)
        answer = await notify(client, store, "cloudpayments", cid, body, headers, "/fail")
        assert answer.json() == {"code": 0} and (await the_payment(store, order))["status"] == "failed"
        tx_id = fake.pay(cp_order)
        body, headers = fake.pay_notification(tx_id)
        forged = {**headers, "Content-HMAC": "AAAA", "X-Content-HMAC": "AAAA"}
        assert (await notify(client, store, "cloudpayments", cid, body, forged, "/pay")).status_code == 400
        answer = await notify(client, store, "cloudpayments", cid, body, headers, "/pay")
        assert answer.json() == {"code": 0}
        await shows_paid(client, store, order)
        assert (await the_payment(store, order))["provider_payment_id"] == str(tx_id)

        # Refund: ours through the API (with a receipt), then its notification is known, not counted twice.
        await login(client, store.email)
        payment = await the_payment(store, order)
        refund_url = f"/s/{store.slug}/orders/{order['id']}/refund"
        done = await client.post(
            refund_url, data={"payment": payment["id"], "amount": "200", "confirm": "1", "_csrf_token": csrf(client)}
        )
        assert done.status_code == 303
        assert sum(Decimal(str(i["amount"])) for i in fake.refund_receipts[-1]["Items"]) == Decimal("200")
        ours = max(fake.refund_transactions)
        body, headers = fake.refund_notification(ours)
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/refund")).json() == {"code": 0}
        assert (await the_payment(store, order))["refunded_minor"] == 20000
        # A refund made in the CloudPayments cabinet is learnt from its notification alone.
        theirs = fake.refund_in_cabinet(tx_id, Decimal("1000.00"))
        body, headers = fake.refund_notification(theirs)
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/refund")).json() == {"code": 0}
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/refund")).json() == {"code": 0}
        final = await the_payment(store, order)
        assert final["status"] == "refunded" and final["refunded_minor"] == 120000
        outcomes = await events(store)
        assert outcomes[f"refund:{ours}"] == "refund_known" and outcomes[f"refund:{theirs}"] == "refund_recorded"

        second = await place(store, "RUB")
        cp_second = (await pay(client, store, second, cid)).headers["location"].rsplit("/", 1)[1]
        # A signed Check replayed to the Pay address credits nothing: the API knows no paid transaction of it.
        body, headers = fake.check_notification(cp_second)
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/pay")).json() == {"code": 0}
        assert (await the_payment(store, second))["status"] == "pending"
        # Without a type in the route (or with one in the query string only) a notification is refused.
        assert (await notify(client, store, "cloudpayments", cid, body, headers)).status_code == 400
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "?type=pay")).status_code == 400
        assert (await notify(client, store, "cloudpayments", cid, body, headers, "/bogus")).status_code == 400
        fake.pay(cp_second)  # paid; no notification: reconciliation finds it by our InvoiceId
        assert await reconciled(store, second) == "succeeded"


async def test_tbank_redirect_token_notification_getstate_and_cancel_refunds(client, runtime, store_b) -> None:
    async with FakeTBank() as fake:
        config = {"terminal_key": fake.terminal_key, "password": fake.password, "taxation": "usn_income"}
        store, cid = await connected("e2e-tbank", "tbank", config, fake.url)
        order = await place(store, "RUB", (("Чайник", 99999, 3),), discount=1)
        started = await pay(client, store, order, cid)
        assert started.status_code == 303 and "securepayments.tinkoff.ru" in started.headers["location"]
        assert fake.receipts[-1]["Taxation"] == "usn_income"
        assert sum(i["Amount"] for i in fake.receipts[-1]["Items"]) == order["total_minor"] == 299996
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        body = fake.pay(payment_id)
        await elsewhere_changes_nothing(client, store, store_b, "tbank", cid, order, body)
        forged = body.replace(b'"Amount": 299996', b'"Amount": 100', 1)
        assert (await notify(client, store, "tbank", cid, forged)).status_code == 400
        answer = await notify(client, store, "tbank", cid, body)
        assert answer.status_code == 200 and answer.text == "OK"
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("1000", "999.96", "999.99", "0.01"), too_much="5000")
        assert [sum(i["Amount"] for i in r["Items"]) for r in fake.refund_receipts] == [100000, 99996, 99999, 1]

        second = await place(store, "RUB")
        await pay(client, store, second, cid)
        fake.pay((await the_payment(store, second))["provider_payment_id"])
        assert await reconciled(store, second) == "succeeded"


# -- international gateways ----------------------------------------------------------------------------------


async def test_stripe_checkout_session_signed_webhook_and_refunds(client, runtime, store_b) -> None:
    async with FakeStripe() as fake:
        config = {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret}
        store, cid = await connected("e2e-stripe", "stripe", config, fake.url)
        order = await place(store, "USD", (("Kettle", 2500, 2),))
        started = await pay(client, store, order, cid)
        assert started.status_code == 303 and "checkout.stripe.com" in started.headers["location"]
        session_id = (await the_payment(store, order))["provider_payment_id"]
        body, headers = fake.complete(session_id)
        await elsewhere_changes_nothing(client, store, store_b, "stripe", cid, order, body, headers)
        assert (await notify(client, store, "stripe", cid, body.replace(b"5000", b"50", 1), headers)).status_code == 400
        answer = await notify(client, store, "stripe", cid, body, headers)
        assert answer.status_code == 200 and answer.json() == {"received": True}
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("10", "15.50", "24.50"), too_much="45")

        second = await place(store, "USD")
        await pay(client, store, second, cid)
        fake.complete((await the_payment(store, second))["provider_payment_id"])
        assert await reconciled(store, second) == "succeeded"


async def test_paypal_approved_order_is_captured_by_webhook_or_return_then_refunded(
    client, runtime, store_b, monkeypatch
) -> None:
    async with FakePayPal() as fake:
        monkeypatch.setattr(PayPalGateway, "trust_roots", [fake.root])  # the fake's CA stands in for PayPal's
        config = {"client_id": fake.client_id, "client_secret": fake.secret, "webhook_id": fake.webhook_id}
        store, cid = await connected("e2e-paypal", "paypal", config, fake.url)
        order = await place(store, "USD", (("Kettle", 1500, 1),))
        started = await pay(client, store, order, cid)
        assert started.status_code == 303 and "paypal.com/checkoutnow" in started.headers["location"]
        order_id = (await the_payment(store, order))["provider_payment_id"]
        body, headers = fake.approve(order_id)  # the buyer approved; PayPal sends CHECKOUT.ORDER.APPROVED
        await elsewhere_changes_nothing(client, store, store_b, "paypal", cid, order, body, headers)
        other_hook, other_headers = fake.webhook("CHECKOUT.ORDER.APPROVED", fake.orders[order_id], webhook_id="WH-2")
        assert (await notify(client, store, "paypal", cid, other_hook, other_headers)).status_code == 400
        assert (await notify(client, store, "paypal", cid, body, headers)).status_code == 200
        assert fake.orders[order_id]["status"] == "COMPLETED"  # captured by the pipeline
        await shows_paid(client, store, order)
        capture = fake.orders[order_id]["purchase_units"][0]["payments"]["captures"][0]
        body, headers = fake.webhook("PAYMENT.CAPTURE.COMPLETED", capture)
        assert (await notify(client, store, "paypal", cid, body, headers)).status_code == 200
        await shows_paid(client, store, order)  # credited once
        await refund_in_parts(client, store, order, ("5", "10"), too_much="11")

        # The shopper comes back before any webhook: the return asks PayPal, captures, and only then credits.
        second = await place(store, "USD", (("Mug", 900, 1),))
        await pay(client, store, second, cid)
        second_id = (await the_payment(store, second))["provider_payment_id"]
        fake.orders[second_id]["status"] = "APPROVED"
        back = await client.get(f"/f/{store.slug}/o/{second['token']}?token={second_id}&PayerID=BUYER1")
        assert back.status_code == 200 and 'data-testid="order-paid"' in back.text
        # A return naming another order (or a forged token) captures nothing.
        third = await place(store, "USD", (("Spoon", 300, 1),))
        await pay(client, store, third, cid)
        back = await client.get(f"/f/{store.slug}/o/{third['token']}?token={second_id}")
        assert 'data-testid="order-paid"' not in back.text and (await the_payment(store, third))["status"] == "pending"
        # Approved but never returned and no webhook: reconciliation captures it.
        third_id = (await the_payment(store, third))["provider_payment_id"]
        fake.orders[third_id]["status"] = "APPROVED"
        assert await reconciled(store, third) == "succeeded"
        assert fake.orders[third_id]["status"] == "COMPLETED"


# -- Ukrainian gateways --------------------------------------------------------------------------------------


async def test_liqpay_form_post_signed_callback_status_and_refunds(client, runtime, store_a) -> None:
    async with FakeLiqPay() as fake:
        config = {"public_key": fake.public_key, "private_key": fake.private_key}
        store, cid = await connected("e2e-liqpay", "liqpay", config, fake.url, currency="UAH")
        order = await place(store, "UAH", (("Чайник", 150000, 1),))
        action, fields = gateway_form(await pay(client, store, order, cid))
        assert action == f"{fake.url}/api/3/checkout"
        sent = json.loads(base64.b64decode(dict(fields)["data"]))
        assert urlsplit(sent["server_url"]).path == f"/hooks/{store.slug}/liqpay/{cid}"
        assert (await browser_posts(action, fields)).status_code == 200
        body = fake.pay(sent["order_id"])
        await elsewhere_changes_nothing(client, store, store_a, "liqpay", cid, order, body)
        form = dict(parse_qsl(body.decode()))
        forged = urlencode({"data": form["data"], "signature": fake.sign(form["data"] + "x")}).encode()
        assert (await notify(client, store, "liqpay", cid, forged)).status_code == 400
        assert (await notify(client, store, "liqpay", cid, body)).status_code == 200
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("500", "1000"), too_much="1001")

        second = await place(store, "UAH")
        action, fields = gateway_form(await pay(client, store, second, cid))
        await browser_posts(action, fields)
        fake.pay(json.loads(base64.b64decode(dict(fields)["data"]))["order_id"])
        assert await reconciled(store, second) == "succeeded"


async def test_wayforpay_form_post_callback_signed_accept_status_and_refunds(client, runtime, store_a) -> None:
    async with FakeWayForPay() as fake:
        config = {"merchant_account": fake.account, "secret_key": fake.secret, "merchant_domain": "shop.example.com"}
        store, cid = await connected("e2e-wayforpay", "wayforpay", config, fake.url, currency="UAH")
        order = await place(store, "UAH", (("Чайник", 50000, 2), ("Кружка", 12345, 1)))
        action, fields = gateway_form(await pay(client, store, order, cid))
        assert action == f"{fake.url}/pay"
        assert "WayForPay checkout" in (await browser_posts(action, fields)).text
        ref = dict(fields)["orderReference"]
        body = fake.pay(ref)
        await elsewhere_changes_nothing(client, store, store_a, "wayforpay", cid, order, body)
        forged = body.replace(b'"authCode": "541963"', b'"authCode": "000000"', 1)
        assert (await notify(client, store, "wayforpay", cid, forged)).status_code == 400
        answer = await notify(client, store, "wayforpay", cid, body)
        assert answer.status_code == 200 and fake.accept_is_valid(answer.content)
        again = await notify(client, store, "wayforpay", cid, body)  # repeated: the same accept, credited once
        assert fake.accept_is_valid(again.content)
        await shows_paid(client, store, order)
        await refund_in_parts(client, store, order, ("123.45", "1000"), too_much="2000")

        second = await place(store, "UAH")
        action, fields = gateway_form(await pay(client, store, second, cid))
        await browser_posts(action, fields)
        fake.pay(dict(fields)["orderReference"])
        assert await reconciled(store, second) == "succeeded"


async def test_offline_methods_show_instructions_and_never_mark_paid(client, runtime, store_b) -> None:
    store = await make_store("e2e-offline")
    async with tenancy.bind_tenant(store.tenant):
        bank = await payments.connect(
            "bank_transfer",
            {"recipient": "ООО Ромашка", "account": "40702810900000000001", "bank_name": "Банк", "bik": "044525225"},
            keys=KEYS,
        )
        cash = await payments.connect("cash_on_delivery", {}, keys=KEYS)
    order = await place(store, "RUB")
    page = await pay(client, store, order, bank)
    assert page.status_code == 200 and 'data-testid="pay-instructions"' in page.text
    assert "40702810900000000001" in page.text and order["number"] in page.text
    invoice_url = f"/f/{store.slug}/o/{order['token']}/invoice/{bank}"
    assert 'data-testid="invoice-pdf"' in page.text and invoice_url in page.text
    pdf = await client.get(invoice_url)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.count(b"/Type /Page\n") == 1
    assert f'filename="invoice-{order["number"]}.pdf"' in pdf.headers["content-disposition"]
    assert (await client.get(f"/f/{store.slug}/o/{order['token']}/invoice/{cash}")).status_code == 404
    assert (await client.get(f"/f/{store_b.slug}/o/{order['token']}/invoice/{bank}")).status_code == 404
    page = await pay(client, store, order, cash)
    assert 'data-testid="pay-instructions"' in page.text and "1500.00" in page.text
    assert (await the_payment(store, order))["status"] == "pending"
    # Offline methods take no notifications at all, from this store or another.
    assert (await notify(client, store, "bank_transfer", bank, b"{}")).status_code == 400
    assert (await notify(client, store_b, "bank_transfer", bank, b"{}")).status_code in (400, 404)
    assert 'data-testid="order-paid"' not in (await client.get(f"/f/{store.slug}/o/{order['token']}")).text
    # Staff confirm the transfer arrived: credited once, then refundable by hand.
    await login(client, store.email)
    payment = await the_payment(store, order)
    url = f"/s/{store.slug}/orders/{order['id']}/payments/{payment['id']}/received"
    assert (await client.post(url, data={"_csrf_token": csrf(client)})).status_code == 303
    assert (await client.post(url, data={"_csrf_token": csrf(client)})).status_code == 422  # not pending any more
    await shows_paid(client, store, order)
    await refund_in_parts(client, store, order, ("500", "1000"), too_much="1001")
