"""Payment notifications over HTTP with the sandbox gateway: verified, stored once, amounts checked."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.gateways.base import Money, PaymentStatus
from app.gateways.sandbox import SandboxGateway
from app.services import orders, payments
from app.tables.customers import CustomerEvent
from app.tables.payments import Payment, PaymentConnection, PaymentEvent
from app.tenancy import runtime as tenancy
from tests.conftest import make_store

pytestmark = pytest.mark.http

SECRET = "sandbox-secret-0123456789"
KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")


@pytest.fixture(scope="module")
async def paid_setup(runtime):
    store = await make_store("pay-shop")
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS)
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),), currency="RUB", phone="+79120001111"
            )
        )
        step = await payments.start(order["token"], connection_id, keys=KEYS)
    page = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url).verify_page(
        dict(parse_qsl(urlsplit(step.url).query))
    )
    return store, connection_id, order, page


def signed(page, *, amount: int | None = None, event: str = "evt-1") -> tuple[bytes, dict[str, str]]:
    gateway = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url)
    return gateway.build_notification(
        provider_payment_id=page.provider_payment_id,
        payment_ref=page.payment_ref,
        amount=Money(amount or page.amount.minor, "RUB"),
        status=PaymentStatus.SUCCEEDED,
        event_id=event,
    )


async def test_forged_notification_changes_nothing(client, paid_setup) -> None:
    store, connection_id, _order, page = paid_setup
    body, headers = signed(page, event="forged")
    forged = json.loads(body) | {"amount": 1}
    response = await client.post(
        f"/hooks/{store.slug}/sandbox/{connection_id}", content=json.dumps(forged).encode(), headers=headers
    )
    assert response.status_code == 400
    async with tenancy.bind_tenant(store.tenant):
        assert await PaymentEvent.count() == 0
        assert (await Payment.select(Payment.status).first())["status"] == "pending"


async def test_wrong_amount_is_refused_and_logged(client, paid_setup) -> None:
    store, connection_id, _order, page = paid_setup
    body, headers = signed(page, amount=50000, event="evt-wrong")
    response = await client.post(f"/hooks/{store.slug}/sandbox/{connection_id}", content=body, headers=headers)
    assert response.status_code == 200
    async with tenancy.bind_tenant(store.tenant):
        event = (
            await PaymentEvent.select(PaymentEvent.outcome).where(PaymentEvent.event_id.like("evt-wrong|%")).first()
        )
        assert event["outcome"] == "mismatch"
        assert (await Payment.select(Payment.status).first())["status"] == "pending"


async def test_the_same_notification_ten_times_at_once_credits_once(client, paid_setup) -> None:
    store, connection_id, order, page = paid_setup
    body, headers = signed(page, event="evt-ok")
    responses = await asyncio.gather(
        *(client.post(f"/hooks/{store.slug}/sandbox/{connection_id}", content=body, headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    async with tenancy.bind_tenant(store.tenant):
        assert (await Payment.select(Payment.status).first())["status"] == "succeeded"
        assert await PaymentEvent.count().where(PaymentEvent.event_id == "evt-ok") == 1
        paid = await CustomerEvent.count().where(
            (CustomerEvent.kind == "paid") & (CustomerEvent.order_id == order["id"])
        )
        assert paid == 1


async def test_store_b_cannot_use_store_a_connection(client, paid_setup, store_b) -> None:
    _store, connection_id, _order, page = paid_setup
    body, headers = signed(page, event="evt-cross")
    response = await client.post(f"/hooks/{store_b.slug}/sandbox/{connection_id}", content=body, headers=headers)
    assert response.status_code == 404


async def test_shopper_pays_through_the_sandbox_from_the_order_page(client, runtime, tmp_path) -> None:
    from tests.http.test_shop import open_form, seeded_store

    shop = await seeded_store("pay-flow", tmp_path)
    async with tenancy.bind_tenant(shop.tenant):
        await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, name="Demo pay")
    token, offers, _ = await open_form(client, shop.slug)
    placed = await client.post(
        f"/f/{shop.slug}/order?lang=en",
        data={
            "t": token,
            f"qty_{offers['M-1']}": "1",
            "name": "Pat",
            "phone": "+7 912 000 12 12",
            "delivery": "pickup",
        },
    )
    order_url = placed.headers["location"]
    page = await client.get(order_url)
    assert 'data-testid="pay-sandbox"' in page.text and 'data-testid="order-paid"' not in page.text
    connection_id = re.search(r"/pay/(\d+)", page.text).group(1)
    started = await client.post(f"{order_url}/pay/{connection_id}")
    assert started.status_code == 303 and f"/f/{shop.slug}/sandbox/pay?" in started.headers["location"]
    sandbox_url = started.headers["location"].replace(KEYS.public_url, "")
    checkout = await client.get(sandbox_url)
    assert checkout.status_code == 200 and 'data-testid="sandbox-pay"' in checkout.text
    tampered = await client.get(sandbox_url.replace("amount=35000", "amount=100"))
    assert tampered.status_code == 404
    query = dict(parse_qsl(urlsplit(sandbox_url).query))
    paid = await client.post(f"/f/{shop.slug}/sandbox/pay", data=query)
    assert paid.status_code == 303
    assert 'data-testid="order-paid"' in (await client.get(order_url)).text


async def test_owner_connects_a_gateway_and_the_secret_is_never_shown(client, runtime) -> None:
    from tests.conftest import csrf, login

    shop = await make_store("pay-settings")
    await login(client, shop.email)
    form = await client.get(f"/s/{shop.slug}/settings/payments/?code=sandbox")
    assert 'data-testid="connect-form"' in form.text
    short = await client.post(
        f"/s/{shop.slug}/settings/payments/", data={"code": "sandbox", "secret": "", "_csrf_token": csrf(client)}
    )
    assert short.status_code == 422
    done = await client.post(
        f"/s/{shop.slug}/settings/payments/",
        data={
            "code": "sandbox",
            "name": "Demo",
            "secret": "a-very-long-sandbox-secret",
            "test_mode": "on",
            "_csrf_token": csrf(client),
        },
    )
    assert done.status_code == 303
    page = await client.get(f"/s/{shop.slug}/settings/payments/")
    assert 'data-testid="payment-connections"' in page.text and "a-very-long-sandbox-secret" not in page.text
    assert f"/hooks/{shop.slug}/sandbox/" in page.text
    async with tenancy.bind_tenant(shop.tenant):
        stored = await PaymentConnection.select(PaymentConnection.config_encrypted).first()
        assert "a-very-long-sandbox-secret" not in stored["config_encrypted"]


async def test_a_payment_the_shopper_never_returns_from_is_settled_by_reconciliation(runtime) -> None:
    """The fake YooKassa says the payment succeeded; no notification ever comes; reconciliation marks it paid."""
    from tests.fakes.gateways.yookassa import FakeYooKassa

    async with FakeYooKassa() as fake:
        store = await make_store("pay-reconcile")
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa",
                {"shop_id": fake.shop_id, "secret_key": fake.secret_key},
                keys=KEYS,
                base_url=f"{fake.url}/v3",
            )
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Чайник", "K-1", 150000, 1),), currency="RUB", phone="+79120002222"
                )
            )
            await payments.start(order["token"], connection_id, keys=KEYS)
            payment = await Payment.select(Payment.provider_payment_id).first()
            assert await payments.reconcile_due(KEYS) == 0  # still pending at the gateway: checked again later
            fake.pay(payment["provider_payment_id"])  # the shopper paid, but no notification reaches us
            await Payment.update({Payment.next_check_at: datetime.now(UTC)}, force=True)
            assert await payments.reconcile_due(KEYS) == 1
            assert (await Payment.select(Payment.status).first())["status"] == "succeeded"


async def test_unsigned_yookassa_notifications_are_believed_only_after_asking(client, runtime) -> None:
    from tests.fakes.gateways.yookassa import FakeYooKassa

    async with FakeYooKassa() as fake:
        store = await make_store("pay-yookassa")
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa",
                {"shop_id": fake.shop_id, "secret_key": fake.secret_key},
                keys=KEYS,
                base_url=f"{fake.url}/v3",
            )
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Чайник", "K-1", 150000, 1),), currency="RUB", phone="+79120003333"
                )
            )
            await payments.start(order["token"], connection_id, keys=KEYS)
            payment_id = (await Payment.select(Payment.provider_payment_id).first())["provider_payment_id"]
        forged = fake.notification("payment.succeeded", {**fake.payments[payment_id], "status": "succeeded"})
        url = f"/hooks/{store.slug}/yookassa/{connection_id}"
        assert (await client.post(url, content=forged)).status_code == 200
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "pending"  # the gateway said pending
        genuine = fake.pay(payment_id)
        # Asked about this payment a moment ago: the gateway is not asked again within the minute; YooKassa
        # retries a notification that was not answered 200.
        assert (await client.post(url, content=genuine)).status_code == 503
        async with tenancy.bind_tenant(store.tenant):
            await Payment.update({Payment.verified_at: datetime.now(UTC) - timedelta(minutes=1)}, force=True)
        assert (await client.post(url, content=genuine)).status_code == 200
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "succeeded"


async def test_staff_refund_in_parts_and_never_more_than_was_paid(client, paid_setup) -> None:
    from tests.conftest import csrf, login

    store, _connection_id, order, _page = paid_setup  # paid by the earlier test in this module
    async with tenancy.bind_tenant(store.tenant):
        payment = await Payment.select(Payment.id, Payment.status).first()
    assert payment["status"] == "succeeded"
    await login(client, store.email)
    url = f"/s/{store.slug}/orders/{order['id']}/refund"
    first = await client.post(
        url, data={"payment": payment["id"], "amount": "300", "confirm": "1", "_csrf_token": csrf(client)}
    )
    assert first.status_code == 303
    too_much = await client.post(url, data={"payment": payment["id"], "amount": "800", "_csrf_token": csrf(client)})
    assert too_much.status_code == 422 and 'data-testid="error-refund"' in too_much.text
    rest = await client.post(
        url, data={"payment": payment["id"], "amount": "700", "confirm": "1", "_csrf_token": csrf(client)}
    )
    assert rest.status_code == 303
    async with tenancy.bind_tenant(store.tenant):
        final = await Payment.select(Payment.status, Payment.refunded_minor).first()
        assert final == {"status": "refunded", "refunded_minor": 100000}
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
    assert 'data-testid="order-payments"' in card.text and "refunded" in card.text


def test_receipts_add_up_to_the_order_total() -> None:
    order = {
        "currency": "RUB",
        "discount_minor": 0,
        "delivery_minor": 30000,
        "delivery_name": "Курьер",
        "total_minor": 2 * 129050 + 30000,
        "email": "a@example.com",
        "phone": None,
        "lines": [{"name": "Чайник", "quantity": 2, "price_minor": 129050, "total_minor": 258100}],
    }
    receipt = payments.receipt_for(order)
    assert receipt is not None and receipt.total().minor == order["total_minor"]
    assert receipt.items[-1].payment_subject == "service"
    assert payments.receipt_for({**order, "currency": "USD"}) is None


async def test_a_gateway_timeout_leaves_the_payment_pending_for_reconciliation(client, runtime) -> None:
    from tests.fakes.gateways.yookassa import FakeYooKassa

    async with FakeYooKassa() as fake:
        store = await make_store("pay-timeout")
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa",
                {"shop_id": fake.shop_id, "secret_key": fake.secret_key},
                keys=KEYS,
                base_url=f"{fake.url}/v3",
            )
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(orders.LineDraft(None, "Чайник", "K-1", 150000, 1),), currency="RUB", phone="+79120004444"
                )
            )
        fake.fail_next = 503
        response = await client.post(f"/f/{store.slug}/o/{order['token']}/pay/{connection_id}")
        assert response.status_code == 503
        async with tenancy.bind_tenant(store.tenant):
            assert (await Payment.select(Payment.status).first())["status"] == "pending"
