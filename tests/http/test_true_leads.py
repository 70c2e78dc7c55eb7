"""Leads are true: a draft that belongs to a placed order is converted, whenever it arrives."""

from __future__ import annotations

import asyncio

import pytest

from app.services import forms
from app.tables.automation import AutomationEvent
from app.tables.customers import Customer, CustomerEvent
from app.tables.forms import FormDraft
from app.tenancy import runtime as tenancy
from tests.http.test_shop import open_form, seeded_store

pytestmark = pytest.mark.http

LANGS = ["ru", "uk"]


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    return await seeded_store("leads-shop", tmp_path_factory.mktemp("leads"))


@pytest.fixture(scope="module")
async def other_shop(runtime, tmp_path_factory):
    return await seeded_store("leads-other", tmp_path_factory.mktemp("leads-other"))


async def submit(client, slug: str, lang: str, token: str, offer: str, phone: str):
    data = {"t": token, f"qty_{offer}": "1", "name": "Покупатель", "phone": phone, "delivery": "pickup"}
    return await client.post(f"/f/{slug}/order?lang={lang}", data=data)


async def draft(client, slug: str, lang: str, token: str, phone: str):
    return await client.post(f"/f/{slug}/order/draft?lang={lang}", data={"t": token, "phone": phone, "name": "Лид"})


async def lead_kinds(store, e164: str) -> tuple[list[str], list[str]]:
    """The customer's timeline and the automation events about them, after the lead sweep ran."""
    async with tenancy.bind_tenant(store.tenant):
        await forms.sweep_unfinished(older_than_minutes=-1)
        customer = await Customer.select(Customer.id).where(Customer.phone == e164).first()
        events = await CustomerEvent.select(CustomerEvent.kind).where(CustomerEvent.customer == customer["id"])
        automation = await AutomationEvent.select(AutomationEvent.kind).where(
            AutomationEvent.customer_id == customer["id"]
        )
        return [e["kind"] for e in events], [a["kind"] for a in automation]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_draft_saved_before_the_order_is_converted(client, shop, lang: str) -> None:
    phone = {"ru": "+79125550101", "uk": "+79125550102"}[lang]
    token, offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await draft(client, shop.slug, lang, token, phone)).status_code == 204
    assert (await submit(client, shop.slug, lang, token, offers["K-1"], phone)).status_code == 303
    timeline, automation = await lead_kinds(shop, phone)
    assert "form_unfinished" not in timeline and "form_unfinished" not in automation
    assert "order_placed" in timeline


@pytest.mark.parametrize("lang", LANGS)
async def test_a_draft_saved_after_the_order_is_born_converted(client, shop, lang: str) -> None:
    phone = {"ru": "+79125550201", "uk": "+79125550202"}[lang]
    token, offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await submit(client, shop.slug, lang, token, offers["K-1"], phone)).status_code == 303
    assert (await draft(client, shop.slug, lang, token, "8 (912) 555-02-0" + phone[-1])).status_code == 204
    async with tenancy.bind_tenant(shop.tenant):
        row = await FormDraft.select(FormDraft.converted).where(FormDraft.phone == phone).first()
        assert row["converted"] is True
    timeline, automation = await lead_kinds(shop, phone)
    assert "form_unfinished" not in timeline and "form_unfinished" not in automation


@pytest.mark.parametrize("lang", LANGS)
async def test_drafts_racing_their_orders_never_become_leads(client, shop, lang: str) -> None:
    phones = [f"+7912556{lang == 'uk':d}{i:03d}" for i in range(12)]
    opened = [await open_form(client, shop.slug, f"?lang={lang}") for _ in phones]

    async def both(i: int) -> None:
        token, offers, _ = opened[i]
        calls = [
            submit(client, shop.slug, lang, token, offers["M-1"], phones[i]),
            draft(client, shop.slug, lang, token, phones[i]),
        ]
        answers = await asyncio.gather(*(calls if i % 2 else calls[::-1]))
        assert sorted(a.status_code for a in answers) == [204, 303]

    await asyncio.gather(*(both(i) for i in range(len(phones))))
    for phone in phones:
        timeline, automation = await lead_kinds(shop, phone)
        assert "form_unfinished" not in timeline and "form_unfinished" not in automation, phone


@pytest.mark.parametrize("lang", LANGS)
async def test_a_buyer_who_reloaded_the_form_and_ordered_is_no_lead(client, shop, lang: str) -> None:
    phone = {"ru": "+79125550301", "uk": "+79125550302"}[lang]
    first, _offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await draft(client, shop.slug, lang, first, phone)).status_code == 204
    second, offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await submit(client, shop.slug, lang, second, offers["K-1"], phone)).status_code == 303
    timeline, automation = await lead_kinds(shop, phone)
    assert "form_unfinished" not in timeline and "form_unfinished" not in automation


@pytest.mark.parametrize("lang", LANGS)
async def test_a_form_left_unsent_is_still_a_lead(client, shop, lang: str) -> None:
    phone = {"ru": "+79125550401", "uk": "+79125550402"}[lang]
    token, _offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await draft(client, shop.slug, lang, token, phone)).status_code == 204
    timeline, automation = await lead_kinds(shop, phone)
    assert timeline == ["form_unfinished"] and automation == ["form_unfinished"]


async def test_an_order_in_another_store_does_not_convert_this_stores_draft(client, shop, other_shop) -> None:
    phone = "+79125550501"
    token, _offers, _ = await open_form(client, shop.slug, "?lang=ru")
    assert (await draft(client, shop.slug, "ru", token, phone)).status_code == 204
    elsewhere, offers, _ = await open_form(client, other_shop.slug, "?lang=ru")
    assert (await submit(client, other_shop.slug, "ru", elsewhere, offers["K-1"], phone)).status_code == 303
    timeline, _automation = await lead_kinds(shop, phone)
    assert timeline == ["form_unfinished"]
    theirs, _ = await lead_kinds(other_shop, phone)
    assert "form_unfinished" not in theirs


@pytest.mark.parametrize("lang", LANGS)
async def test_a_draft_written_while_its_order_was_uncommitted_is_converted_by_the_sweep(
    client, shop, lang: str
) -> None:
    """The draft's insert ran while the order's transaction was still open, so neither saw the other."""
    phone = {"ru": "+79125550601", "uk": "+79125550602"}[lang]
    token, offers, _ = await open_form(client, shop.slug, f"?lang={lang}")
    assert (await submit(client, shop.slug, lang, token, offers["K-1"], phone)).status_code == 303
    nonce = forms.verify_token("t" * 48, shop.slug, "order", token).nonce
    async with tenancy.bind_tenant(shop.tenant):
        await FormDraft.raw(
            "INSERT INTO form_draft (nonce, form_code, name, phone, utm, converted, reported, created_at,"
            " updated_at, note) VALUES ({}, 'order', 'Лид', {}, '{{}}'::jsonb, false, false, now(), now(), '')",
            nonce,
            phone,
        )
    timeline, automation = await lead_kinds(shop, phone)
    assert "form_unfinished" not in timeline and "form_unfinished" not in automation
    async with tenancy.bind_tenant(shop.tenant):
        row = await FormDraft.select(FormDraft.converted, FormDraft.reported).where(FormDraft.nonce == nonce).first()
        assert row == {"converted": True, "reported": False}
