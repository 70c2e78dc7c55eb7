"""54-FZ receipts end to end: the store's and the product's tax settings reach YooKassa, checked by its SDK.

The store sets its taxation system and delivery VAT on the settings screen, the product its VAT, unit and
subject on the product card (both in the staff's language); a shopper pays through the fake YooKassa API; the
receipt the fake received must be one the official ``yookassa`` SDK's PaymentRequest accepts, with the codes
YooKassa's docs give (УСН доход = 2, 5 % = 7, 22 % = 11, kilogram); the receipt is kept on the payment with
YooKassa's receipt status and shown on the order card, and a refund keeps its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.services import orders, payments
from app.tables.catalog import Offer, Product
from app.tables.payments import Payment, Refund
from app.tables.stores import StoreSetting
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.fakes.gateways.yookassa import FakeYooKassa

yookassa = pytest.importorskip("yookassa")
from yookassa.domain.request.payment_request import PaymentRequest as SdkPaymentRequest  # noqa: E402
from yookassa.domain.request.refund_request import RefundRequest as SdkRefundRequest  # noqa: E402

pytestmark = pytest.mark.http

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")
SAVED = {"ru": "Настройки сохранены.", "uk": "Налаштування збережено."}
CHOOSE = {"ru": "Выберите один из предложенных вариантов.", "uk": "Оберіть один із запропонованих варіантів."}


async def _offer(name: str, price_minor: int) -> int:
    now = datetime.now(UTC)
    product = await Product.insert(Product(name=name, created_at=now, updated_at=now)).returning(Product.id)
    offer = await Offer.insert(
        Offer(product=product[0]["id"], name=name, price_minor=price_minor, created_at=now, updated_at=now)
    ).returning(Offer.id)
    return offer[0]["id"]


def _store_form(client, store, **tax: str) -> dict[str, str]:
    return {
        "name": f"Store {store.slug}",
        "locale": "ru",
        "currency": "RUB",
        "country": "RU",
        "timezone": "Europe/Moscow",
        **tax,
        "_csrf_token": csrf(client),
    }


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_bad_taxation_system_or_vat_is_refused_and_nothing_is_saved(client, runtime, locale) -> None:
    store = await make_store(f"tax-bad-{locale}")
    await client.get(f"/lang/{locale}")
    await login(client, store.email)
    await client.get(f"/s/{store.slug}/settings/store")
    form = _store_form(client, store, tax_system="envd", vat_code="vat18", delivery_vat_code="vat22")
    form["name"] = "Renamed store"
    response = await client.post(f"/s/{store.slug}/settings/store", data=form)
    assert response.status_code == 422
    assert 'data-testid="error-tax_system"' in response.text and 'data-testid="error-vat_code"' in response.text
    assert CHOOSE[locale] in response.text
    async with tenancy.bind_tenant(store.tenant):
        row = await StoreSetting.select(StoreSetting.name, StoreSetting.tax_system, StoreSetting.vat_code).first()
    assert row == {"name": f"Store {store.slug}", "tax_system": None, "vat_code": "none"}  # nothing half-applied


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_bad_product_tax_field_is_refused_and_nothing_is_saved(client, runtime, locale) -> None:
    store = await make_store(f"tax-product-bad-{locale}")
    async with tenancy.bind_tenant(store.tenant):
        offer_id = await _offer("Чай", 50000)
    await client.get(f"/lang/{locale}")
    await login(client, store.email)
    await client.get(f"/s/{store.slug}/products/{offer_id}")
    data = {"price": "999", "vat_code": "vat5", "measure": "bucket", "payment_subject": "commodity",
            "payment_mode": "full_payment", "_csrf_token": csrf(client)}  # fmt: skip
    response = await client.post(f"/s/{store.slug}/products/{offer_id}", data=data)
    assert response.status_code == 422 and 'data-testid="error-measure"' in response.text
    assert CHOOSE[locale] in response.text
    async with tenancy.bind_tenant(store.tenant):
        assert (await Offer.select(Offer.price_minor).first())["price_minor"] == 50000
        assert (await Product.select(Product.vat_code, Product.measure).first()) == {
            "vat_code": None,
            "measure": "piece",
        }


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_the_receipt_carries_the_store_and_product_tax_and_is_kept_and_shown(client, runtime, locale) -> None:
    store = await make_store(f"tax-receipt-{locale}")
    await client.get(f"/lang/{locale}")
    await login(client, store.email)
    await client.get(f"/s/{store.slug}/settings/store")
    form = _store_form(client, store, tax_system="usn_income", vat_code="vat22", delivery_vat_code="vat22")
    saved = await client.post(f"/s/{store.slug}/settings/store", data=form, headers={"HX-Request": "true"})
    assert saved.status_code == 200 and SAVED[locale] in saved.text
    audit = await client.get(f"/s/{store.slug}/staff/audit?entity=settings")
    taxation = {"ru": "Система налогообложения", "uk": "Система оподаткування"}[locale]
    assert audit.status_code == 200 and taxation in audit.text and "22%" in audit.text  # labels, not codes
    assert "usn_income" not in audit.text and "vat22" not in audit.text
    async with tenancy.bind_tenant(store.tenant):
        tea = await _offer("Чай", 50000)
        cup = await _offer("Чашка", 30000)
    await client.get(f"/s/{store.slug}/products/{tea}")
    product = {
        "price": "500",
        "available": "on",
        "vat_code": "vat5",
        "measure": "kilogram",
        "payment_subject": "commodity",
        "payment_mode": "full_prepayment",
        "_csrf_token": csrf(client),
    }
    assert (await client.post(f"/s/{store.slug}/products/{tea}", data=product)).status_code == 200

    async with FakeYooKassa() as fake:
        async with tenancy.bind_tenant(store.tenant):
            connection_id = await payments.connect(
                "yookassa", {"shop_id": fake.shop_id, "secret_key": fake.secret_key}, keys=KEYS,
                base_url=f"{fake.url}/v3",
            )  # fmt: skip
            order, _ = await orders.create_order(
                orders.OrderDraft(
                    lines=(
                        orders.LineDraft(tea, "Чай", None, 50000, 2),
                        orders.LineDraft(cup, "Чашка", None, 30000, 1),
                    ),
                    currency="RUB",
                    phone="+79120005555",
                    delivery_name="Курьер",
                    delivery_minor=20000,
                )
            )
            await payments.start(order["token"], connection_id, keys=KEYS)
        sent = fake.receipts[-1]
        sdk = SdkPaymentRequest({"amount": {"value": "1500.00", "currency": "RUB"}, "receipt": sent})
        sdk.validate()
        assert sdk.receipt.tax_system_code == 2  # УСН доход
        lines = {item.description: item for item in sdk.receipt.items}
        assert (lines["Чай"].vat_code, lines["Чай"].measure, lines["Чай"].payment_mode) == (
            7,
            "kilogram",
            "full_prepayment",
        )
        assert (lines["Чашка"].vat_code, lines["Чашка"].measure) == (11, "piece")  # the store's default VAT
        assert (lines["Курьер"].vat_code, lines["Курьер"].payment_subject) == (11, "service")

        async with tenancy.bind_tenant(store.tenant):
            stored = await Payment.select(Payment.receipt, Payment.receipt_status).output(load_json=True).first()
            assert stored["receipt_status"] == "pending"  # as YooKassa reports it until the register prints
            assert stored["receipt"]["taxation"] == "usn_income"
            assert [i["vat_code"] for i in stored["receipt"]["items"]] == ["vat5", "vat22", "vat22"]
            payment = await Payment.select(Payment.id, Payment.provider_payment_id).first()
        fake.pay(payment["provider_payment_id"])  # no notification: reconciliation asks and settles it
        async with tenancy.bind_tenant(store.tenant):
            await Payment.update({Payment.next_check_at: datetime.now(UTC)}, force=True)
            assert await payments.reconcile_due(KEYS) == 1
            settled = await Payment.select(Payment.status, Payment.receipt_status).first()
            assert settled == {"status": "succeeded", "receipt_status": "succeeded"}  # YooKassa's word on the receipt
        async with tenancy.bind_tenant(store.tenant):
            await payments.refund(payment["id"], 30000, keys=KEYS, actor="owner", reason="")
            refund_receipt = (await Refund.select(Refund.receipt).output(load_json=True).first())["receipt"]
        refund_body = fake.requests[-1].json()
        sdk_refund = SdkRefundRequest(refund_body)
        sdk_refund.validate()
        assert sdk_refund.receipt.tax_system_code == 2
        assert sum(int(i["amount_minor"]) for i in refund_receipt["items"]) == 30000

    card = await client.get(f"/s/{store.slug}/orders/{order['id']}")
    assert card.status_code == 200
    assert 'data-testid="payment-receipt"' in card.text and 'data-testid="refund-receipt"' in card.text
    vat = {"ru": ("НДС 5%", "НДС 22%", "Чек зарегистрирован"), "uk": ("ПДВ 5%", "ПДВ 22%", "Чек зареєстровано")}
    assert all(label in card.text for label in vat[locale])
