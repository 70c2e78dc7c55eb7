"""Answers to the store's own questions: on the order card, in both e-mails, as a list column and a filter."""

from __future__ import annotations

import pytest

from app.services import mail, notifications
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import login
from tests.http.test_shop import open_form, seeded_store

pytestmark = pytest.mark.http

LANGS = ["ru", "uk"]
QUESTION = {"ru": "Удобное время звонка", "uk": "Зручний час дзвінка", "en": "A good time to call"}


async def with_question(store):
    async with tenancy.bind_tenant(store.tenant):
        form = await OrderForm.select(OrderForm.fields).where(OrderForm.code == "order").output(load_json=True).first()
        fields = [f for f in form["fields"] if not f["key"].startswith("custom_")]
        fields.append({"key": "custom_1", "enabled": True, "required": False, "label": QUESTION})
        await OrderForm.update({OrderForm.fields: fields}).where(OrderForm.code == "order")
    return store


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    return await with_question(await seeded_store("answers-shop", tmp_path_factory.mktemp("answers")))


@pytest.fixture(scope="module")
async def other_shop(runtime, tmp_path_factory):
    return await with_question(await seeded_store("answers-other", tmp_path_factory.mktemp("answers-other")))


async def order_with_answer(client, store, lang: str, phone: str, answer: str) -> int:
    token, offers, _page = await open_form(client, store.slug, f"?lang={lang}")
    data = {"t": token, f"qty_{offers['K-1']}": "1", "name": "Ян", "phone": phone, "delivery": "pickup"}
    placed = await client.post(f"/f/{store.slug}/order?lang={lang}", data={**data, "custom_1": answer})
    assert placed.status_code == 303
    async with tenancy.bind_tenant(store.tenant):
        return (await Order.select(Order.id).where(Order.phone == phone).first())["id"]


@pytest.mark.parametrize("lang", LANGS)
async def test_the_order_card_shows_the_answer_under_its_question(client, shop, lang: str) -> None:
    phone = {"ru": "+79125557101", "uk": "+79125557102"}[lang]
    order_id = await order_with_answer(client, shop, lang, phone, "после 18:00 <b>")
    await login(client, shop.email)
    card = await client.get(f"/s/{shop.slug}/orders/{order_id}?lang={lang}")
    assert card.status_code == 200
    assert 'data-testid="order-answers"' in card.text and QUESTION[lang] in card.text
    assert '<dd data-testid="answer-custom_1">после 18:00 &lt;b&gt;</dd>' in card.text


@pytest.mark.parametrize("lang", LANGS)
async def test_both_order_emails_carry_the_answer(client, shop, lang: str, monkeypatch) -> None:
    phone = {"ru": "+79125557201", "uk": "+79125557202"}[lang]
    order_id = await order_with_answer(client, shop, lang, phone, "утром")
    async with tenancy.bind_tenant(shop.tenant):
        await Order.update({Order.email: "buyer@example.com", Order.locale: lang}).where(Order.id == order_id)
    letters: list[mail.OrderMail] = []

    async def keep(letter, settings):
        letters.append(letter)
        return []

    monkeypatch.setattr(notifications, "send_order_emails", keep)
    async with tenancy.bind_tenant(shop.tenant):
        await notifications.order_placed(order_id, "https://office.example.com", mail.MailSettings(host=None))
    (letter,) = letters
    messages = dict(mail.build_order_messages(letter, mail.MailSettings(host=None)))
    shopper, store = messages["buyer@example.com"], messages[shop.email]
    for message, question in ((shopper, QUESTION[lang]), (store, QUESTION["ru"])):  # the store speaks ru
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"{question}: утром" in text
        assert question in html and "утром" in html


@pytest.mark.parametrize("lang", LANGS)
async def test_the_answer_is_a_column_and_a_filter_of_the_order_list(client, shop, lang: str) -> None:
    phone = {"ru": "+79125557301", "uk": "+79125557302"}[lang]
    order_id = await order_with_answer(client, shop, lang, phone, f"в обед 50%_{lang}")
    await login(client, shop.email)
    url = f"/s/{shop.slug}/orders/"
    plain = await client.get(url, params={"lang": lang})
    assert 'data-testid="order-question"' in plain.text and 'data-testid="answer-column"' not in plain.text
    column = await client.get(url, params={"lang": lang, "question": "custom_1"})
    assert f'<th scope="col" data-testid="answer-column">{QUESTION[lang]}</th>' in column.text
    assert f"в обед 50%_{lang}" in column.text
    found = await client.get(url, params={"lang": lang, "question": "custom_1", "answer": f"50%_{lang}"})
    assert found.text.count('data-testid="order-row"') == 1 and f"/orders/{order_id}\"" in found.text
    wildcard = await client.get(url, params={"lang": lang, "question": "custom_1", "answer": "%"})
    rows = wildcard.text.count('data-testid="order-row"')
    assert rows >= 1 and rows == wildcard.text.count("в обед 50%_")  # "%" is a character, not a wildcard
    none = await client.get(url, params={"lang": lang, "question": "custom_1", "answer": "ночью"})
    assert 'data-testid="order-row"' not in none.text
    htmx = await client.get(url, params={"question": "custom_1", "answer": "обед"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and htmx.text.startswith('<section id="orders-table"')


@pytest.mark.parametrize("lang", LANGS)
async def test_a_bad_question_or_answer_is_ignored_not_an_error(client, shop, lang: str) -> None:
    await login(client, shop.email)
    bad = ({"question": "phone"}, {"question": "custom_9"}, {"question": "custom_1", "answer": "\\" * 99})
    for params in bad:
        page = await client.get(f"/s/{shop.slug}/orders/", params={"lang": lang, **params})
        assert page.status_code == 200, params


async def test_another_store_sees_neither_the_answers_nor_the_orders(client, shop, other_shop) -> None:
    order_id = await order_with_answer(client, shop, "ru", "+79125557401", "секрет магазина А")
    await login(client, other_shop.email)
    listed = await client.get(f"/s/{other_shop.slug}/orders/", params={"question": "custom_1", "answer": "секрет"})
    assert listed.status_code == 200 and 'data-testid="order-row"' not in listed.text
    assert (await client.get(f"/s/{shop.slug}/orders/{order_id}")).status_code in (403, 404)
