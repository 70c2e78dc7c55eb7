"""Phones shown as the store's staff write them, and found by any spelling, in the order and customer lists."""

from __future__ import annotations

import re

import pytest

from app.services import mail, orders
from app.tenancy import runtime as tenancy
from tests.conftest import login, make_store

pytestmark = pytest.mark.http

LANGS = ["ru", "uk"]
RU_PHONE = "+79031112235"
RU_SHOWN = "8 (903) 111-22-35"  # how a Russian writes it (national format)
UA_PHONE = "+380501234567"
UA_ABROAD = "+380 50 123 4567"  # a foreign number: international format
UA_SHOWN = "050 123 4567"  # the same number in a Ukrainian store


async def place(store, name: str, phone: str) -> dict:
    async with tenancy.bind_tenant(store.tenant):
        draft = orders.OrderDraft(
            lines=(orders.LineDraft(None, "Чайник", "K-1", 129000, 1),),
            currency=store.tenant.currency,
            customer_name=name,
            phone=phone,
            locale="ru",
        )
        order, _created = await orders.create_order(draft)
        return order


@pytest.fixture(scope="module")
async def ru_store(runtime):
    store = await make_store("phones-ru")
    first = await place(store, "Пётр", RU_PHONE)
    second = await place(store, "Олена", UA_PHONE)
    return store, first, second


@pytest.fixture(scope="module")
async def ua_store(runtime):
    store = await make_store("phones-ua", locale="uk", currency="UAH", country="UA")
    order = await place(store, "Олена", UA_PHONE)
    return store, order


def shown(page: str, text: str) -> bool:
    """The text appears as page text or a field's value (not only inside a tel: link)."""
    return re.search(rf'>[^<]*{re.escape(text)}|value="{re.escape(text)}"', page) is not None


@pytest.mark.parametrize("lang", LANGS)
async def test_staff_pages_show_phones_in_the_stores_format(client, ru_store, lang: str) -> None:
    store, first, second = ru_store
    await login(client, store.email)
    base = f"/s/{store.slug}"
    customer = first["customer"]
    pages = {
        "order list": f"{base}/orders/?lang={lang}",
        "order card": f"{base}/orders/{first['id']}?lang={lang}",
        "invoice": f"{base}/orders/{first['id']}/invoice?lang={lang}",
        "customer list": f"{base}/customers/?lang={lang}",
        "customer card": f"{base}/customers/{customer}?lang={lang}",
    }
    for what, url in pages.items():
        page = await client.get(url)
        assert page.status_code == 200, what
        assert f'<html lang="{lang}">' in page.text, what
        assert shown(page.text, RU_SHOWN), what
        assert not shown(page.text, RU_PHONE), what
    listed = (await client.get(f"{base}/orders/?lang={lang}")).text
    assert shown(listed, UA_ABROAD) and not shown(listed, UA_PHONE)
    card = (await client.get(f"{base}/orders/{second['id']}?lang={lang}")).text
    assert shown(card, UA_ABROAD) and f'href="tel:{UA_PHONE}"' in card


@pytest.mark.parametrize("lang", LANGS)
async def test_a_ukrainian_store_shows_its_own_numbers_nationally(client, ua_store, lang: str) -> None:
    store, order = ua_store
    await login(client, store.email)
    for url in (f"/s/{store.slug}/orders/?lang={lang}", f"/s/{store.slug}/orders/{order['id']}?lang={lang}"):
        page = (await client.get(url)).text
        assert shown(page, UA_SHOWN) and not shown(page, UA_PHONE), url


SPELLINGS = ["+7 903 111-22-35", "8 (903) 111 22 35", "9031112235", "8-903-111-22-35", "+79031112235"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_any_spelling_finds_the_order_and_the_customer(client, ru_store, lang: str, spelling: str) -> None:
    store, first, _second = ru_store
    await login(client, store.email)
    found = await client.get(f"/s/{store.slug}/orders/", params={"q": spelling, "lang": lang})
    assert found.status_code == 200
    assert found.text.count('data-testid="order-row"') == 1 and f"/orders/{first['id']}\"" in found.text
    people = await client.get(f"/s/{store.slug}/customers/", params={"q": spelling, "lang": lang})
    assert people.status_code == 200
    assert people.text.count('data-testid="customer-row"') == 1 and f"/customers/{first['customer']}\"" in people.text


@pytest.mark.parametrize("lang", LANGS)
async def test_a_ukrainian_number_is_found_as_written_in_ukraine(client, ua_store, lang: str) -> None:
    store, _order = ua_store
    await login(client, store.email)
    for spelling in ("050 123 45 67", "(050) 123-45-67", "+380 50 123 4567"):
        found = await client.get(f"/s/{store.slug}/orders/", params={"q": spelling, "lang": lang})
        assert found.text.count('data-testid="order-row"') == 1, spelling
        people = await client.get(f"/s/{store.slug}/customers/", params={"q": spelling, "lang": lang})
        assert people.text.count('data-testid="customer-row"') == 1, spelling


async def test_a_store_never_finds_or_shows_another_stores_phones(client, ru_store, ua_store) -> None:
    ua, _order = ua_store
    await login(client, ua.email)
    found = await client.get(f"/s/{ua.slug}/orders/", params={"q": "8 (903) 111 22 35"})
    assert found.status_code == 200 and 'data-testid="order-row"' not in found.text
    people = await client.get(f"/s/{ua.slug}/customers/", params={"q": "9031112235"})
    assert 'data-testid="customer-row"' not in people.text
    ru, first, _second = ru_store
    assert (await client.get(f"/s/{ru.slug}/orders/{first['id']}")).status_code in (403, 404)


@pytest.mark.parametrize("lang", LANGS)
async def test_the_stores_order_mail_shows_the_phone_in_the_stores_format(lang: str) -> None:
    letter = mail.OrderMail(
        store_name="Магазин",
        store_email="owner@phones.example.com",
        store_locale=lang,
        currency="RUB",
        order_number="1001",
        status_url="https://example.com/o/x",
        staff_url="https://example.com/s/x/orders/1",
        customer_name="Пётр",
        customer_email="petr@example.com",
        customer_phone=RU_PHONE,
        lines=(mail.OrderMailLine("Чайник", 1, 129000, 129000),),
        subtotal_minor=129000,
        delivery_name=None,
        delivery_minor=0,
        discount_minor=0,
        total_minor=129000,
        shopper_locale=lang,
        store_country="RU",
    )
    messages = dict(mail.build_order_messages(letter, mail.MailSettings(host=None)))
    store_mail = messages["owner@phones.example.com"]
    text = store_mail.get_body(("plain",)).get_content()
    html = store_mail.get_body(("html",)).get_content()
    assert RU_SHOWN in text and RU_SHOWN in html and f'href="tel:{RU_PHONE}"' in html
