"""One payment at a time and balances: what is due after payments, refunds and edits, on both screens."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.gateways.sandbox import SandboxGateway
from app.services import orders, payments
from app.tables.audit import AuditEntry
from app.tables.orders import OrderChange
from app.tables.payments import Payment
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.fakes.gateways.yookassa import FakeYooKassa

pytestmark = pytest.mark.http

SECRET = "sandbox-secret-0123456789"
KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")
LOCALES = ("en", "ru", "uk")


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("pay-balance")
    async with tenancy.bind_tenant(store.tenant):
        sandbox = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS, name="Demo")
    return store, sandbox


async def new_order(store, price_minor: int, locale: str = "ru", quantity: int = 1) -> dict:
    async with tenancy.bind_tenant(store.tenant):
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", price_minor, quantity),),
                currency="RUB",
                phone="+79120005555",
                locale=locale,
            )
        )
    return order


async def pay_through_sandbox(client, store, order: dict, connection_id: int) -> int:
    """The shopper presses Pay and then pays on the sandbox page; returns the amount asked for."""
    started = await client.post(f"/f/{store.slug}/o/{order['token']}/pay/{connection_id}")
    assert started.status_code == 303, started.text
    query = dict(parse_qsl(urlsplit(started.headers["location"]).query))
    page = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url).verify_page(query)
    paid = await client.post(f"/f/{store.slug}/sandbox/pay", data=query)
    assert paid.status_code == 303
    return page.amount.minor


async def edit_quantity(store, order: dict, quantity: int) -> None:
    async with tenancy.bind_tenant(store.tenant):
        current = await orders.get(order["id"])
        line = current["lines"][0]
        edit = orders.OrderEdit("", current["phone"], None, "", "", 0, {line["id"]: quantity})
        await orders.update_order(order["id"], edit, actor_id=None, actor="test")


async def payment_rows(store, order: dict) -> list[dict]:
    async with tenancy.bind_tenant(store.tenant):
        return await Payment.select(Payment.status, Payment.amount_minor).where(Payment.order == order["id"])


def text_of(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match, f"{name} not on the page"
    return match.group(1)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize("lang", LOCALES)
async def test_ten_starts_at_once_make_one_payment_and_one_gateway_call(client, runtime, lang) -> None:
    async with FakeYooKassa() as fake:
        store = await make_store(f"pay-once-{lang}", locale=lang)
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa", {"shop_id": fake.shop_id, "secret_key": fake.secret_key}, keys=KEYS,
                base_url=f"{fake.url}/v3",
            )  # fmt: skip
        order = await new_order(store, 1000000, lang)
        url = f"/f/{store.slug}/o/{order['token']}/pay/{connection_id}?lang={lang}"
        responses = await asyncio.gather(*(client.post(url) for _ in range(10)))
        assert {r.status_code for r in responses} == {303}
        assert len({r.headers["location"] for r in responses}) == 1  # every tab goes to the same hosted page
        creates = [r for r in fake.requests if r.method == "POST" and r.path == "/v3/payments"]
        assert len(creates) == 1
        assert await payment_rows(store, order) == [{"status": "pending", "amount_minor": 1000000}]


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_paid_order_offers_no_pay_and_starts_no_payment(client, shop, lang) -> None:
    store, sandbox = shop
    order = await new_order(store, 160000, lang)
    assert await pay_through_sandbox(client, store, order, sandbox) == 160000
    page = await client.get(f"/f/{store.slug}/o/{order['token']}?lang={lang}")
    assert 'data-testid="order-paid"' in page.text and 'data-testid="pay-sandbox"' not in page.text
    again = await client.post(f"/f/{store.slug}/o/{order['token']}/pay/{sandbox}?lang={lang}")
    # Back to the order page, in the shopper's chosen language.
    assert again.status_code == 303 and again.headers["location"] == f"/f/{store.slug}/o/{order['token']}?lang={lang}"
    assert await payment_rows(store, order) == [{"status": "succeeded", "amount_minor": 160000}]


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_paid_order_raised_by_an_edit_asks_for_the_difference_only(client, shop, lang) -> None:
    store, sandbox = shop
    order = await new_order(store, 160000, lang)
    await pay_through_sandbox(client, store, order, sandbox)
    await edit_quantity(store, order, 2)  # 1 600 ₽ paid, the order now costs 3 200 ₽
    await login(client, store.email)
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}?lang={lang}")
    assert 'data-testid="order-balance" data-state="partly_paid"' in card.text
    assert digits(text_of(card.text, "balance-due")) == "160000"
    page = await client.get(f"/f/{store.slug}/o/{order['token']}?lang={lang}")
    assert 'data-testid="order-paid"' not in page.text and 'data-testid="pay-sandbox"' in page.text
    assert digits(text_of(page.text, "balance-due")) == "160000"
    assert await pay_through_sandbox(client, store, order, sandbox) == 160000
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}?lang={lang}")
    assert 'data-testid="order-balance" data-state="paid"' in card.text


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_partly_refunded_order_edited_up_asks_for_what_is_not_covered(client, shop, lang) -> None:
    store, sandbox = shop
    order = await new_order(store, 300000, lang)
    await pay_through_sandbox(client, store, order, sandbox)
    await login(client, store.email)
    async with tenancy.bind_tenant(store.tenant):
        payment = await Payment.select(Payment.id).where(Payment.order == order["id"]).first()
    refund = await client.post(
        f"/s/{store.slug}/orders/{order['id']}/refund?lang={lang}",
        data={"payment": payment["id"], "amount": "1000", "confirm": "1", "_csrf_token": csrf(client)},
    )
    assert refund.status_code == 303
    await edit_quantity(store, order, 3)  # 3 000 paid, 1 000 refunded: 2 000 held; the order now costs 9 000
    page = await client.get(f"/f/{store.slug}/o/{order['token']}?lang={lang}")
    assert digits(text_of(page.text, "balance-refunded")) == "100000"
    assert digits(text_of(page.text, "balance-due")) == "700000"
    assert await pay_through_sandbox(client, store, order, sandbox) == 700000


@pytest.mark.parametrize("lang", LOCALES)
async def test_an_order_made_cheaper_after_payment_is_flagged_as_overpaid(client, shop, lang) -> None:
    store, sandbox = shop
    order = await new_order(store, 160000, lang, quantity=2)
    await pay_through_sandbox(client, store, order, sandbox)
    await edit_quantity(store, order, 1)
    await login(client, store.email)
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}?lang={lang}")
    assert 'data-testid="order-balance" data-state="overpaid"' in card.text
    assert 'data-testid="overpaid-flag"' in card.text
    assert digits(text_of(card.text, "balance-overpaid")) == "160000"
    page = await client.get(f"/f/{store.slug}/o/{order['token']}?lang={lang}")
    assert 'data-state="overpaid"' in page.text and 'data-testid="pay-sandbox"' not in page.text


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_second_pay_after_a_gateway_timeout_retries_the_same_payment(client, runtime, lang) -> None:
    async with FakeYooKassa() as fake:
        store = await make_store(f"pay-retry-{lang}", locale=lang)
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa", {"shop_id": fake.shop_id, "secret_key": fake.secret_key}, keys=KEYS,
                base_url=f"{fake.url}/v3",
            )  # fmt: skip
        order = await new_order(store, 150000, lang)
        url = f"/f/{store.slug}/o/{order['token']}/pay/{connection_id}?lang={lang}"
        fake.fail_next = 503
        assert (await client.post(url)).status_code == 503
        assert (await client.post(url)).status_code == 303
        keys = {r.headers["idempotence-key"] for r in fake.requests if r.path == "/v3/payments" and r.method == "POST"}
        assert len(keys) == 1  # the same request again, so the gateway cannot make two payments of it
        assert await payment_rows(store, order) == [{"status": "pending", "amount_minor": 150000}]


async def test_store_b_cannot_start_a_payment_on_store_a_order(client, shop, store_b) -> None:
    store, sandbox = shop
    order = await new_order(store, 160000)
    response = await client.post(f"/f/{store_b.slug}/o/{order['token']}/pay/{sandbox}")
    assert response.status_code == 404
    assert await payment_rows(store, order) == []


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_staff_refund_is_confirmed_first_and_written_to_history_and_audit(client, shop, lang) -> None:
    store, sandbox = shop
    order = await new_order(store, 250000, lang)
    await pay_through_sandbox(client, store, order, sandbox)
    await login(client, store.email)
    async with tenancy.bind_tenant(store.tenant):
        payment = await Payment.select(Payment.id).where(Payment.order == order["id"]).first()
    url = f"/s/{store.slug}/orders/{order['id']}/refund?lang={lang}"
    asked = await client.post(url, data={"payment": payment["id"], "amount": "400", "_csrf_token": csrf(client)})
    assert asked.status_code == 200 and f'data-testid="refund-confirm-{payment["id"]}"' in asked.text
    async with tenancy.bind_tenant(store.tenant):  # nothing is refunded before the confirmation
        assert (await Payment.select(Payment.refunded_minor).where(Payment.id == payment["id"]).first()) == {
            "refunded_minor": 0
        }
    too_much = await client.post(url, data={"payment": payment["id"], "amount": "9000", "_csrf_token": csrf(client)})
    assert too_much.status_code == 422 and 'data-testid="error-refund"' in too_much.text
    done = await client.post(
        url,
        data={
            "payment": payment["id"], "amount": "400", "confirm": "1", "reason": "Скол на крышке",
            "_csrf_token": csrf(client),
        },
    )  # fmt: skip
    assert done.status_code == 303
    async with tenancy.bind_tenant(store.tenant):
        change = await OrderChange.select(OrderChange.field, OrderChange.after).where(
            (OrderChange.order == order["id"]) & (OrderChange.field == "refund")
        ).output(load_json=True)  # fmt: skip
        assert [c["after"]["amount_minor"] for c in change] == [40000]
        assert change[0]["after"]["reason"] == "Скол на крышке"
        entry = await AuditEntry.select(AuditEntry.actor, AuditEntry.after).where(
            (AuditEntry.entity == "order")
            & (AuditEntry.entity_id == str(order["id"]))
            & (AuditEntry.action == "refund")
        ).output(load_json=True)  # fmt: skip
        assert len(entry) == 1 and entry[0]["actor"] == store.email and entry[0]["after"]["amount_minor"] == 40000
    card = await client.get(f"/s/{store.slug}/orders/{order['id']}?lang={lang}")
    assert 'data-testid="history-refund"' in card.text and "Скол на крышке" in card.text
    assert digits(text_of(card.text, "balance-refunded")) == "40000"
    assert digits(text_of(card.text, "balance-due")) == "40000"


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_gateway_returning_the_shopper_with_a_post_lands_on_the_order_page(client, shop, lang) -> None:
    """WayForPay posts the shopper back to returnUrl; the posted fields change nothing."""
    store, _sandbox = shop
    order = await new_order(store, 160000, lang)
    back = await client.post(
        f"/f/{store.slug}/o/{order['token']}?lang={lang}",
        data={"orderReference": "x", "transactionStatus": "Approved", "merchantSignature": "forged"},
    )
    assert back.status_code == 303 and back.headers["location"] == f"/f/{store.slug}/o/{order['token']}"
    page = await client.get(back.headers["location"])
    assert page.status_code == 200 and 'data-testid="order-paid"' not in page.text
    missing = await client.post(f"/f/{store.slug}/o/no-such-order", data={})
    assert missing.status_code == 404
