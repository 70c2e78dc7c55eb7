"""Refunds made in a gateway's cabinet are learnt from the gateway's own notification, each exactly once.

Per gateway: the shopper pays, staff refund a part from the order card, the gateway echoes our refund back
(known, not counted again), then the merchant refunds in the cabinet and the gateway notifies twice: the
refund is recorded once, with the balance, order history, audit log and customer timeline, like a staff
refund. Staff work in ru and uk (and en); the gateway's notifications carry no language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
import pytest

from app.gateways.paypal import PayPalGateway
from app.tables.audit import AuditEntry
from app.tables.customers import CustomerEvent
from app.tables.orders import OrderChange
from app.tables.payments import Payment, Refund
from app.tenancy import runtime as tenancy
from tests.conftest import StoreFixture, csrf, login
from tests.fakes.gateways.paypal import FakePayPal
from tests.fakes.gateways.stripe import FakeStripe
from tests.fakes.gateways.tbank import FakeTBank, reference_token
from tests.fakes.gateways.wayforpay import FakeWayForPay
from tests.fakes.gateways.yookassa import FakeYooKassa
from tests.http.test_gateway_pipelines import (
    browser_posts,
    connected,
    events,
    gateway_form,
    notify,
    pay,
    place,
    shows_paid,
    the_payment,
)

pytestmark = pytest.mark.http
LANGS = pytest.mark.parametrize("lang", ["en", "ru", "uk"])


async def staff_refund(client: httpx.AsyncClient, store: StoreFixture, order: dict, amount: str, lang: str) -> None:
    """Staff refund ``amount`` from the order card, confirmed, in ``lang``."""
    await login(client, store.email)
    payment = await the_payment(store, order)
    done = await client.post(
        f"/s/{store.slug}/orders/{order['id']}/refund?lang={lang}",
        data={"payment": payment["id"], "amount": amount, "confirm": "1", "_csrf_token": csrf(client)},
    )
    assert done.status_code == 303, done.text


async def recorded(store: StoreFixture, order: dict) -> dict:
    """What the order knows of its refunds: the payment, the refund rows and every trace of them."""
    payment = await the_payment(store, order)
    async with tenancy.bind_tenant(store.tenant):
        rows = await Refund.select(Refund.amount_minor, Refund.actor, Refund.provider_refund_id).where(
            Refund.payment == payment["id"]
        )
        history = await OrderChange.select(OrderChange.actor, OrderChange.after).where(
            (OrderChange.order == order["id"]) & (OrderChange.field == "refund")
        )
        audited = await AuditEntry.count().where(
            (AuditEntry.entity == "order") & (AuditEntry.action == "refund")
            & (AuditEntry.entity_id == str(order["id"]))
        )  # fmt: skip
        timeline = await CustomerEvent.count().where(
            (CustomerEvent.kind == "refunded") & (CustomerEvent.order_id == order["id"])
        )
    return {
        "status": payment["status"],
        "refunded_minor": payment["refunded_minor"],
        "refunds": sorted((r["actor"] != "gateway", r["amount_minor"]) for r in rows),
        "history": sorted(json.loads(h["after"])["amount_minor"] for h in history),
        "audited": audited,
        "timeline": timeline,
    }


def expect(status: str, refunded: int, ours: int, theirs: int) -> dict:
    """The independent expectation: one staff refund of ``ours`` and one cabinet refund of ``theirs``."""
    return {
        "status": status,
        "refunded_minor": refunded,
        "refunds": sorted([(True, ours), (False, theirs)]),
        "history": sorted([ours, theirs]),
        "audited": 2,
        "timeline": 2,
    }


async def twice(
    client: httpx.AsyncClient, store: StoreFixture, code: str, cid: int, body: bytes, headers: Mapping | None = None
) -> None:
    for _ in range(2):
        answer = await notify(client, store, code, cid, body, headers)
        assert answer.status_code == 200, answer.text


async def allow_confirmation(store: StoreFixture, order: dict) -> None:
    """A gateway is asked about a notification at most once a minute per payment: the minute has passed."""
    async with tenancy.bind_tenant(store.tenant):
        await Payment.update({Payment.verified_at: None}).where(Payment.order == order["id"])


async def twice_confirmed(
    client: httpx.AsyncClient, store: StoreFixture, order: dict, code: str, cid: int, body: bytes
) -> None:
    """An unverified notification sent twice, each a minute apart, so each is confirmed with the gateway."""
    for _ in range(2):
        await allow_confirmation(store, order)
        answer = await notify(client, store, code, cid, body)
        assert answer.status_code == 200, answer.text


@LANGS
async def test_yookassa_refund_succeeded_from_the_cabinet_is_recorded_once(client, runtime, lang) -> None:
    async with FakeYooKassa() as fake:
        config = {"shop_id": fake.shop_id, "secret_key": fake.secret_key}
        store, cid = await connected(f"cab-yk-{lang}", "yookassa", config, f"{fake.url}/v3")
        order = await place(store, "RUB", (("Чайник", 150000, 1),))
        await pay(client, store, order, cid)
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        assert (await notify(client, store, "yookassa", cid, fake.pay(payment_id))).status_code == 200
        await shows_paid(client, store, order)
        await staff_refund(client, store, order, "300", lang)
        ours = next(iter(fake.refunds.values()))
        await twice_confirmed(client, store, order, "yookassa", cid, fake.notification("refund.succeeded", ours))
        assert (await the_payment(store, order))["refunded_minor"] == 30000  # our own, echoed: not again

        await twice_confirmed(client, store, order, "yookassa", cid, fake.refund_in_cabinet(payment_id, "500.00"))
        assert await recorded(store, order) == expect("partially_refunded", 80000, 30000, 50000)


async def test_yookassa_forged_refund_notification_records_nothing(client, runtime) -> None:
    async with FakeYooKassa() as fake:
        config = {"shop_id": fake.shop_id, "secret_key": fake.secret_key}
        store, cid = await connected("cab-yk-forged", "yookassa", config, f"{fake.url}/v3")
        order = await place(store, "RUB", (("Чайник", 150000, 1),))
        await pay(client, store, order, cid)
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        await notify(client, store, "yookassa", cid, fake.pay(payment_id))
        # Unsigned, and YooKassa's own refunded total for the payment (none) does not cover it.
        forged = {"id": "forged-1", "status": "succeeded", "payment_id": payment_id,
                  "amount": {"value": "1500.00", "currency": "RUB"}}  # fmt: skip
        await allow_confirmation(store, order)
        assert (await notify(client, store, "yookassa", cid, fake.notification("refund.succeeded", forged))).is_success
        payment = await the_payment(store, order)
        assert (payment["status"], payment["refunded_minor"]) == ("succeeded", 0)


@LANGS
async def test_stripe_refund_events_and_charge_refunded_count_each_refund_once(client, runtime, lang) -> None:
    async with FakeStripe() as fake:
        config = {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret}
        store, cid = await connected(f"cab-stripe-{lang}", "stripe", config, fake.url)
        order = await place(store, "USD", (("Kettle", 2500, 2),))
        await pay(client, store, order, cid)
        body, headers = fake.complete((await the_payment(store, order))["provider_payment_id"])
        assert (await notify(client, store, "stripe", cid, body, headers)).status_code == 200
        await shows_paid(client, store, order)
        await staff_refund(client, store, order, "10", lang)
        intent = fake.refunds[-1]["payment_intent"]
        await twice(client, store, "stripe", cid, *fake.event("refund.created", fake.refunds[-1]))
        await twice(client, store, "stripe", cid, *fake.event("charge.refunded", fake.charge(intent)))
        assert (await the_payment(store, order))["refunded_minor"] == 1000

        theirs = fake.refund_in_dashboard(intent, 1500)  # no metadata of ours: found through the PaymentIntent
        await twice(client, store, "stripe", cid, *fake.event("refund.created", theirs))
        await twice(client, store, "stripe", cid, *fake.event("refund.updated", theirs))
        await twice(client, store, "stripe", cid, *fake.event("charge.refunded", fake.charge(intent)))
        assert await recorded(store, order) == expect("partially_refunded", 2500, 1000, 1500)


async def test_stripe_charge_refunded_alone_records_the_dashboard_refund(client, runtime) -> None:
    async with FakeStripe() as fake:
        config = {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret}
        store, cid = await connected("cab-stripe-charge", "stripe", config, fake.url)
        order = await place(store, "USD", (("Kettle", 2500, 2),))
        await pay(client, store, order, cid)
        body, headers = fake.complete((await the_payment(store, order))["provider_payment_id"])
        await notify(client, store, "stripe", cid, body, headers)
        await staff_refund(client, store, order, "10", "en")
        intent = fake.refunds[-1]["payment_intent"]
        fake.refund_in_dashboard(intent, 4000)  # the rest, learnt only from the charge's refunded total
        charge_refunded = fake.event("charge.refunded", fake.charge(intent))
        fake.fail_next = 500  # the PaymentIntent lookup fails: a 503 Stripe retries, nothing stored
        assert (await notify(client, store, "stripe", cid, *charge_refunded)).status_code == 503
        assert (await the_payment(store, order))["refunded_minor"] == 1000
        await twice(client, store, "stripe", cid, *charge_refunded)
        assert await recorded(store, order) == expect("refunded", 5000, 1000, 4000)
        assert "refund_recorded" in (await events(store)).values()


@LANGS
async def test_paypal_capture_refunded_from_the_dashboard_is_recorded_once(client, runtime, lang, monkeypatch) -> None:
    async with FakePayPal() as fake:
        monkeypatch.setattr(PayPalGateway, "trust_roots", [fake.root])
        config = {"client_id": fake.client_id, "client_secret": fake.secret, "webhook_id": fake.webhook_id}
        store, cid = await connected(f"cab-paypal-{lang}", "paypal", config, fake.url)
        order = await place(store, "USD", (("Kettle", 1500, 1),))
        await pay(client, store, order, cid)
        order_id = (await the_payment(store, order))["provider_payment_id"]
        assert (await notify(client, store, "paypal", cid, *fake.approve(order_id))).status_code == 200
        await shows_paid(client, store, order)
        await staff_refund(client, store, order, "5", lang)
        await twice(client, store, "paypal", cid, *fake.webhook("PAYMENT.CAPTURE.REFUNDED", fake.refunds[-1]))
        assert (await the_payment(store, order))["refunded_minor"] == 500

        theirs = fake.refund_in_dashboard(order_id, "4.00")
        await twice(client, store, "paypal", cid, *fake.webhook("PAYMENT.CAPTURE.REFUNDED", theirs))
        assert await recorded(store, order) == expect("partially_refunded", 900, 500, 400)


@LANGS
async def test_tbank_refunded_and_partial_refunded_are_recorded_once(client, runtime, lang) -> None:
    async with FakeTBank() as fake:
        config = {"terminal_key": fake.terminal_key, "password": fake.password, "taxation": "usn_income"}
        store, cid = await connected(f"cab-tbank-{lang}", "tbank", config, fake.url)
        order = await place(store, "RUB", (("Чайник", 100000, 1),))
        await pay(client, store, order, cid)
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        assert (await notify(client, store, "tbank", cid, fake.pay(payment_id))).status_code == 200
        await shows_paid(client, store, order)
        await staff_refund(client, store, order, "100", lang)
        ours = next(iter(fake.cancels.values()))
        await twice(client, store, "tbank", cid, fake.refund_notification(ours))  # PARTIAL_REFUNDED, ours
        assert (await the_payment(store, order))["refunded_minor"] == 10000

        await twice(client, store, "tbank", cid, fake.refund_in_cabinet(payment_id, 90000))  # REFUNDED, the rest
        assert await recorded(store, order) == expect("refunded", 100000, 10000, 90000)


async def test_tbank_refunded_without_amounts_records_the_rest(client, runtime) -> None:
    async with FakeTBank() as fake:
        config = {"terminal_key": fake.terminal_key, "password": fake.password, "taxation": "usn_income"}
        store, cid = await connected("cab-tbank-bare", "tbank", config, fake.url)
        order = await place(store, "RUB", (("Чайник", 100000, 1),))
        await pay(client, store, order, cid)
        payment_id = (await the_payment(store, order))["provider_payment_id"]
        await notify(client, store, "tbank", cid, fake.pay(payment_id))
        await staff_refund(client, store, order, "250", "en")
        answer = fake.refund_in_cabinet(payment_id, 75000)
        note = {k: v for k, v in json.loads(answer).items() if k not in ("OriginalAmount", "NewAmount", "Token")}
        note["Token"] = reference_token(note, fake.password)
        await twice(client, store, "tbank", cid, json.dumps(note).encode())
        assert await recorded(store, order) == expect("refunded", 100000, 25000, 75000)


@LANGS
async def test_wayforpay_refunded_with_its_total_is_recorded_once(client, runtime, lang) -> None:
    async with FakeWayForPay() as fake:
        config = {"merchant_account": fake.account, "secret_key": fake.secret, "merchant_domain": "shop.example.com"}
        store, cid = await connected(f"cab-wfp-{lang}", "wayforpay", config, fake.url, currency="UAH")
        order = await place(store, "UAH", (("Чайник", 100000, 1),))
        action, fields = gateway_form(await pay(client, store, order, cid))
        await browser_posts(action, fields)
        ref = dict(fields)["orderReference"]
        assert (await notify(client, store, "wayforpay", cid, fake.pay(ref))).status_code == 200
        await shows_paid(client, store, order)
        await staff_refund(client, store, order, "100", lang)
        await twice_confirmed(client, store, order, "wayforpay", cid, fake.refund_notification(ref))  # ours, echoed
        assert (await the_payment(store, order))["refunded_minor"] == 10000
        await twice_confirmed(client, store, order, "wayforpay", cid, fake.refund_in_cabinet(ref, "300"))
        assert await recorded(store, order) == expect("partially_refunded", 40000, 10000, 30000)


async def test_stripe_charge_refunded_before_the_refund_event_counts_it_once(client, runtime) -> None:
    """Stripe does not order its events: the total may come first, then the refund named by its id."""
    async with FakeStripe() as fake:
        config = {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret}
        store, cid = await connected("cab-stripe-order", "stripe", config, fake.url)
        order = await place(store, "USD", (("Kettle", 2500, 2),))
        await pay(client, store, order, cid)
        body, headers = fake.complete((await the_payment(store, order))["provider_payment_id"])
        await notify(client, store, "stripe", cid, body, headers)
        await staff_refund(client, store, order, "10", "en")
        intent = fake.refunds[-1]["payment_intent"]
        first, second = fake.refund_in_dashboard(intent, 700), fake.refund_in_dashboard(intent, 800)
        await twice(client, store, "stripe", cid, *fake.event("charge.refunded", fake.charge(intent)))  # 2500
        await twice(client, store, "stripe", cid, *fake.event("refund.created", second))
        await twice(client, store, "stripe", cid, *fake.event("refund.created", first))
        state = await recorded(store, order)
        assert (state["status"], state["refunded_minor"]) == ("partially_refunded", 2500)
        assert sum(amount for _, amount in state["refunds"]) == 2500
        async with tenancy.bind_tenant(store.tenant):
            named = await Refund.select(Refund.provider_refund_id, Refund.amount_minor).where(
                Refund.provider_refund_id.is_in([first["id"], second["id"]])
            )
        assert sorted(r["amount_minor"] for r in named) == [700, 800]
