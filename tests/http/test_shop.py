"""The hosted order form over HTTP: languages, framing rules, validation, replays, and store isolation."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from app.services import forms
from app.services.imports import jobs as import_jobs
from app.tables.customers import Customer, CustomerEvent
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store

pytestmark = pytest.mark.http

FEED = (
    "<yml_catalog><shop><offers>"
    '<offer id="kettle"><name>Чайник</name><price>1290.50</price><vendorCode>K-1</vendorCode></offer>'
    '<offer id="mug"><name>Кружка</name><price>350</price><vendorCode>M-1</vendorCode></offer>'
    "</offers></shop></yml_catalog>"
)


async def seeded_store(slug: str, tmp: Path):
    store = await make_store(slug)
    feed = tmp / f"{slug}.xml"
    feed.write_text(FEED, encoding="utf-8")
    async with tenancy.bind_tenant(store.tenant):
        job_id = await import_jobs.create_job([feed], tmp)
        await import_jobs.request_apply_now(job_id)
        assert (await import_jobs.run_job(job_id))["status"] == "done"
        await OrderForm.update({OrderForm.allowed_origins: ["http://localhost:8766"]}).where(OrderForm.code == "order")
    return store


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    return await seeded_store("form-shop", tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
async def other_shop(runtime, tmp_path_factory):
    return await seeded_store("form-other", tmp_path_factory.mktemp("other"))


def ids(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="qty_(\d+)"[^>]*data-testid="qty-([^"]+)"', page))


async def open_form(client, slug: str, query: str = "") -> tuple[str, dict[str, str], str]:
    page = await client.get(f"/f/{slug}/order{query}")
    assert page.status_code == 200
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    offers = {sku: offer_id for offer_id, sku in ids(page.text).items()}
    return token, offers, page.text


@pytest.mark.parametrize(
    ("lang", "phrase"), [("ru", "Оформить заказ"), ("en", "Place the order"), ("uk", "Оформити замовлення")]
)
async def test_form_speaks_the_shoppers_language(client, shop, lang: str, phrase: str) -> None:
    _token, offers, page = await open_form(client, shop.slug, f"?lang={lang}")
    assert f'<html lang="{lang}">' in page and phrase in page
    assert set(offers) == {"K-1", "M-1"}
    accept = await client.get(f"/f/{shop.slug}/order", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
    assert '<html lang="uk">' in accept.text


async def test_only_allowed_origins_may_frame_the_form_and_staff_pages_never(client, shop) -> None:
    page = await client.get(f"/f/{shop.slug}/order")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'self' http://localhost:8766" in csp
    assert "x-frame-options" not in page.headers
    staff = await client.get("/login")
    assert staff.headers["x-frame-options"] == "DENY"


async def test_a_valid_order_lands_and_a_replay_places_nothing_new(client, shop) -> None:
    token, offers, _ = await open_form(client, shop.slug, "?utm_source=vk&name=Анна")
    form = {
        "t": token,
        f"qty_{offers['K-1']}": "2",
        "name": "Анна",
        "phone": "8 (912) 345-67-89",
        "delivery": "courier",
        "address": "Москва, Тверская 1",
        "utm_source": "vk",
    }
    first = await client.post(f"/f/{shop.slug}/order?lang=ru", data=form)
    assert first.status_code == 303 and first.headers["location"].startswith(f"/f/{shop.slug}/o/")
    second = await client.post(f"/f/{shop.slug}/order?lang=ru", data=form)
    assert second.headers["location"] == first.headers["location"]
    page = await client.get(first.headers["location"])
    assert 'data-testid="order-number"' in page.text
    assert "2 881,00" in page.text.replace("\xa0", " ").replace("\u202f", " ")  # 2 × 1290.50 + 300 delivery
    async with tenancy.bind_tenant(shop.tenant):
        rows = await Order.select(Order.phone, Order.utm, Order.total_minor).output(load_json=True)
        assert rows == [{"phone": "+79123456789", "utm": {"utm_source": "vk"}, "total_minor": 288100}]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"phone": ""}, "phone", "обязательно"),
        ({"phone": "12345"}, "phone", "номер телефона"),
        ({"comment": "x" * 1_000_000}, "comment", "Слишком длинно"),
        ({"qty": "-1"}, "lines", "количество"),
        ({"qty": "0"}, "lines", "хотя бы один"),
        ({"foreign": True}, "lines", "недоступен"),
        ({"t": "1700000000.forged.deadbeef"}, "__all__", "устарела"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_creates_nothing(
    client, shop, other_shop, change, field, message
) -> None:
    token, offers, _ = await open_form(client, shop.slug)
    form = {"t": token, f"qty_{offers['K-1']}": "1", "name": "Иван", "phone": "+7 912 111 22 33", "delivery": "pickup"}
    if "qty" in change:
        form[f"qty_{offers['K-1']}"] = change["qty"]
    elif change.get("foreign"):
        _t, foreign, _ = await open_form(client, other_shop.slug)
        form = {**form, f"qty_{offers['K-1']}": "", f"qty_{int(foreign['K-1']) + 10_000}": "1"}
    else:
        form.update(change)
    async with tenancy.bind_tenant(shop.tenant):
        before = await Order.count()
    response = await client.post(f"/f/{shop.slug}/order?lang=ru", data=form)
    assert response.status_code == 422
    testid = "form-error" if field == "__all__" else f"error-{field}"
    assert f'data-testid="{testid}"' in response.text
    assert message.lower() in response.text.lower()
    async with tenancy.bind_tenant(shop.tenant):
        assert await Order.count() == before


async def test_staff_see_their_orders_and_store_b_sees_none(client, shop, store_b) -> None:
    await login(client, shop.email)
    listing = await client.get(f"/s/{shop.slug}/orders/")
    assert 'data-testid="order-row"' in listing.text
    order_id = re.search(rf'href="/s/{shop.slug}/orders/(\d+)"', listing.text).group(1)
    card = await client.get(f"/s/{shop.slug}/orders/{order_id}")
    assert 'data-testid="order-lines"' in card.text and "Анна" in card.text
    board = await client.get(f"/s/{shop.slug}/orders/?view=board")
    assert 'data-testid="board-order"' in board.text
    await login(client, store_b.email)
    assert (await client.get(f"/s/{shop.slug}/orders/{order_id}")).status_code == 404
    assert 'data-testid="orders-empty"' in (await client.get(f"/s/{store_b.slug}/orders/")).text


async def test_embed_script_is_served(client) -> None:
    script = await client.get("/embed.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "autooffice:height" in script.text


async def test_owner_designs_the_form_and_the_shopper_sees_it(client, runtime, tmp_path) -> None:
    shop = await seeded_store("form-design", tmp_path)
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/settings/forms/order")
    assert page.status_code == 200 and 'data-testid="form-settings"' in page.text
    listing = await client.get(f"/s/{shop.slug}/settings/forms/")
    assert f'data-store="{shop.slug}" data-form="order"' in listing.text.replace("&#34;", '"')
    base = {
        "title_ru": "Быстрый заказ",
        "title_en": "Quick order",
        "title_uk": "Швидке замовлення",
        "field_name": "on",
        "required_name": "on",
        "field_email": "on",
        "goods_mode": "single",
        "goods_skus": "M-1",
        "max_quantity": "5",
        "delivery_0_name_ru": "Самовывоз",
        "delivery_0_price": "0",
        "thanks_ru": "Спасибо!",
        "custom_1_label_ru": "Удобное время звонка",
        "required_custom_1": "on",
        "lang_ru": "on",
        "lang_en": "on",
        "active": "on",
        "_csrf_token": csrf(client),
    }
    bad = await client.post(
        f"/s/{shop.slug}/settings/forms/order",
        data={**base, "allowed_origins": "javascript:alert(1)", "goods_skus": "NOPE"},
    )
    assert bad.status_code == 422
    assert 'data-testid="error-allowed_origins"' in bad.text and 'data-testid="error-goods_skus"' in bad.text
    good = await client.post(
        f"/s/{shop.slug}/settings/forms/order",
        data={**base, "allowed_origins": "https://Shop.Example.com/\nhttp://localhost:8766"},
    )
    assert good.status_code == 303
    form = await client.get(f"/f/{shop.slug}/order?lang=ru")
    assert "Быстрый заказ" in form.text and "M-1" in form.text and "K-1" not in form.text
    assert (
        "frame-ancestors 'self' http://localhost:8766 https://shop.example.com"
        in form.headers["content-security-policy"]
    )
    assert 'data-testid="shop-lang-uk"' not in form.text
    assert "Удобное время звонка" in form.text
    token = re.search(r'name="t" value="([^"]+)"', form.text).group(1)
    offer = re.search(r'name="qty_(\d+)"', form.text).group(1)
    missing = await client.post(
        f"/f/{shop.slug}/order?lang=ru", data={"t": token, f"qty_{offer}": "1", "name": "Ян", "phone": "+79120000555"}
    )
    assert missing.status_code == 422 and 'data-testid="error-custom_1"' in missing.text
    placed = await client.post(
        f"/f/{shop.slug}/order?lang=ru",
        data={
            "t": token,
            f"qty_{offer}": "1",
            "name": "Ян",
            "phone": "+79120000555",
            "custom_1": "после 18:00",
            "delivery": "d0",
        },
    )
    assert placed.status_code == 303
    async with tenancy.bind_tenant(shop.tenant):
        row = await Order.select(Order.fields, Order.customer).output(load_json=True).first()
        assert row["fields"] == {"custom_1": "после 18:00"}
        kinds = [
            e["kind"]
            for e in await CustomerEvent.select(CustomerEvent.kind)
            .where(CustomerEvent.customer == row["customer"])
            .order_by(CustomerEvent.at)
        ]
        assert kinds == ["form_opened", "order_placed"]


async def test_a_contact_left_in_an_unsent_form_becomes_a_lead(client, shop) -> None:
    token, _offers, _ = await open_form(client, shop.slug)
    saved = await client.post(
        f"/f/{shop.slug}/order/draft", data={"t": token, "phone": "8 912 555-44-33", "name": "Лид"}
    )
    assert saved.status_code == 204
    forged = await client.post(f"/f/{shop.slug}/order/draft", data={"t": "1.2.3", "phone": "8 912 555-44-34"})
    assert forged.status_code == 204
    async with tenancy.bind_tenant(shop.tenant):
        assert await forms.sweep_unfinished(older_than_minutes=-1) == 1
        assert await forms.sweep_unfinished(older_than_minutes=-1) == 0
        lead = await Customer.select(Customer.id, Customer.name).where(Customer.phone == "+79125554433").first()
        assert lead["name"] == "Лид"
        kinds = [
            e["kind"]
            for e in await CustomerEvent.select(CustomerEvent.kind).where(CustomerEvent.customer == lead["id"])
        ]
        assert kinds == ["form_unfinished"]


async def test_two_hundred_concurrent_submissions_make_two_hundred_orders(client, runtime, tmp_path) -> None:
    shop = await seeded_store("form-rush", tmp_path)
    _token, offers, _ = await open_form(client, shop.slug)
    secret = "t" * 48
    formats = ["8 (912) 345-67-89", "+7 912 345 67 89"]

    async def submit(i: int) -> int:
        data = {
            "t": forms.sign_token(secret, shop.slug, "order"),
            f"qty_{offers['K-1']}": "1",
            "name": f"N{i}",
            "phone": formats[i % 2],
            "delivery": "pickup",
        }
        return (await client.post(f"/f/{shop.slug}/order", data=data)).status_code

    codes = await asyncio.gather(*(submit(i) for i in range(200)))
    assert codes == [303] * 200
    async with tenancy.bind_tenant(shop.tenant):
        assert await Order.count() == 200
        assert len({r["number"] for r in await Order.select(Order.number)}) == 200
        assert await Customer.count() == 1


async def test_staff_take_an_order_by_phone_and_print_its_invoice(client, shop) -> None:
    await login(client, shop.email)
    bad = await client.post(
        f"/s/{shop.slug}/orders/new",
        data={"phone": "8 912 444-33-22", "sku_0": "NOPE", "qty_0": "1", "_csrf_token": csrf(client)},
    )
    assert bad.status_code == 422 and 'data-testid="error-sku_0"' in bad.text
    good = await client.post(
        f"/s/{shop.slug}/orders/new",
        data={"phone": "8 912 444-33-22", "name": "Звонок", "sku_0": "M-1", "qty_0": "3", "_csrf_token": csrf(client)},
    )
    assert good.status_code == 303
    card = await client.get(good.headers["location"])
    assert "Звонок" in card.text and 'data-testid="invoice-link"' in card.text
    invoice = await client.get(good.headers["location"] + "/invoice")
    assert 'data-testid="invoice"' in invoice.text and "1 050,00" in invoice.text.replace("\xa0", " ").replace(
        "\u202f", " "
    )
    async with tenancy.bind_tenant(shop.tenant):
        assert await Order.count().where(Order.source == "staff") == 1


async def test_staff_edit_an_order_from_its_card(client, shop) -> None:
    await login(client, shop.email)
    created = await client.post(
        f"/s/{shop.slug}/orders/new",
        data={"phone": "8 912 444-33-99", "sku_0": "M-1", "qty_0": "1", "_csrf_token": csrf(client)},
    )
    url = created.headers["location"]
    bad = await client.post(f"{url}/edit", data={"phone": "nope", "add_sku": "NOPE", "_csrf_token": csrf(client)})
    assert bad.status_code == 422
    assert 'data-testid="error-phone"' in bad.text and 'data-testid="error-add_sku"' in bad.text
    good = await client.post(
        f"{url}/edit",
        data={
            "phone": "8 912 444-33-99",
            "add_sku": "K-1",
            "add_qty": "2",
            "comment": "Позвонить заранее",
            "_csrf_token": csrf(client),
        },
    )
    assert good.status_code == 303
    card = await client.get(url)
    assert "Позвонить заранее" in card.text and card.text.count('<td class="num">2</td>') >= 1


async def test_saved_views_keep_filters_per_person(client, shop) -> None:
    await login(client, shop.email)
    saved = await client.post(
        f"/s/{shop.slug}/orders/views",
        data={"view_name": "Новые с сайта", "group": "new", "q": "", "_csrf_token": csrf(client)},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?group=new")
    page = await client.get(f"/s/{shop.slug}/orders/?group=new")
    assert 'href="?group=new" aria-current="true">Новые с сайта</a>' in page.text


async def test_store_defines_its_own_statuses(client, shop) -> None:
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/settings/statuses/")
    assert 'data-testid="status-new"' in page.text
    bad = await client.post(
        f"/s/{shop.slug}/settings/statuses/", data={"code": "New!", "group": "nope", "_csrf_token": csrf(client)}
    )
    assert bad.status_code == 422 and 'data-testid="error-code"' in bad.text and 'data-testid="error-group"' in bad.text
    good = await client.post(
        f"/s/{shop.slug}/settings/statuses/",
        data={
            "code": "awaiting-payment",
            "group": "approval",
            "name_ru": "Ждём оплату",
            "name_en": "Awaiting payment",
            "color": "#f59e0b",
            "_csrf_token": csrf(client),
        },
    )
    assert good.status_code == 303
    edited = await client.post(
        f"/s/{shop.slug}/settings/statuses/new",
        data={
            "name_ru": "Новый",
            "name_en": "New",
            "name_uk": "Новий",
            "color": "#6366f1",
            "allow_awaiting-payment": "on",
            "allow_cancelled": "on",
            "active": "on",
            "_csrf_token": csrf(client),
        },
    )
    assert edited.status_code == 303
    async with tenancy.bind_tenant(shop.tenant):
        from app.services import orders

        order, _ = await orders.create_order(
            orders.OrderDraft(lines=(orders.LineDraft(None, "X", None, 100, 1),), currency="RUB", phone="+79120000077")
        )
        moved = await orders.change_status(order["id"], "awaiting-payment", actor_id=None, actor="t")
        assert moved["status_group"] == "approval"


async def test_order_search_by_name_and_by_phone(client, shop) -> None:
    await login(client, shop.email)
    by_name = await client.get(f"/s/{shop.slug}/orders/?q=Анна")
    assert by_name.status_code == 200 and 'data-testid="order-row"' in by_name.text
    by_phone = await client.get(f"/s/{shop.slug}/orders/?q=912 345")
    assert by_phone.status_code == 200 and 'data-testid="order-row"' in by_phone.text
