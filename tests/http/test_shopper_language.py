"""The shopper's language sticks to the order: its pages speak it whatever the browser sends (``?lang``
overrides); a shopper's 404/410 speaks the shopper's language and leads back to the store's form."""

from __future__ import annotations

import re

import pytest

from app.services import payments
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login
from tests.factories import place_order
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.http

KEYS = payments.Keys("t" * 48, "http://127.0.0.1:8000")  # the test app's secret and public address
# The translators' sentences, written out so the test does not read them through our own code.
KEEP_PAGE = {
    "ru": "Сохраните эту страницу",
    "uk": "Збережіть цю сторінку",
    "en": "Keep this page",
}
PAY_ON_DELIVERY = {"ru": "Оплатите заказ при получении", "uk": "Оплатіть замовлення під час отримання"}
BROWSER = {"ru": "ru-RU,ru;q=0.9", "uk": "uk-UA,uk;q=0.9", "en": "en-US,en;q=0.9"}
OTHER = {"ru": "uk", "uk": "en", "en": "ru"}  # a browser language that is not the order's


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    store = await seeded_store("lang-shop", tmp_path_factory.mktemp("lang"))
    async with tenancy.bind_tenant(store.tenant):
        cash = await payments.connect("cash_on_delivery", {}, keys=KEYS)
    return store, cash


async def place_in(client, slug: str, locale: str) -> str:
    """A shopper with an ``OTHER[locale]`` browser opens the form with ``?lang=locale`` and orders."""
    browser = {"Accept-Language": BROWSER[OTHER[locale]]}
    page = await client.get(f"/f/{slug}/order?lang={locale}", headers=browser)
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    offer = re.search(r'name="qty_(\d+)"', page.text).group(1)
    form = {"t": token, f"qty_{offer}": "1", "name": "Оксана", "phone": "+380501234567", "delivery": "pickup"}
    placed = await client.post(f"/f/{slug}/order?lang={locale}", data=form, headers=browser)
    assert placed.status_code == 303, placed.text[-400:]
    return placed.headers["location"]


def speaks(page, locale: str) -> bool:
    return f'<html lang="{locale}">' in page.text and KEEP_PAGE[locale] in page.text


@pytest.mark.parametrize("locale", ["uk", "ru", "en"])
async def test_the_status_page_speaks_the_orders_language_whatever_the_browser_says(client, shop, locale: str) -> None:
    store, _cash = shop
    status_url = await place_in(client, store.slug, locale)
    token = status_url.rsplit("/", 1)[-1]
    async with tenancy.bind_tenant(store.tenant):
        assert await Order.select(Order.locale).where(Order.token == token).first() == {"locale": locale}
    for browser in BROWSER.values():
        assert speaks(await client.get(status_url, headers={"Accept-Language": browser}), locale)
    override = OTHER[locale]
    asked = await client.get(f"{status_url}?lang={override}", headers={"Accept-Language": BROWSER[locale]})
    assert speaks(asked, override)  # ?lang still wins for that page
    assert speaks(await client.get(status_url), locale)  # and the next visit is the order's again


@pytest.mark.parametrize("locale", ["uk", "ru"])
async def test_the_payment_page_speaks_the_orders_language(client, shop, locale: str) -> None:
    store, cash = shop
    status_url = await place_in(client, store.slug, locale)
    page = await client.post(f"{status_url}/pay/{cash}", headers={"Accept-Language": BROWSER[OTHER[locale]]})
    assert page.status_code == 200 and 'data-testid="pay-instructions"' in page.text
    assert f'<html lang="{locale}">' in page.text and PAY_ON_DELIVERY[locale] in page.text


@pytest.mark.parametrize("locale", ["uk", "ru"])
async def test_the_demo_gateways_page_speaks_the_orders_language(client, runtime, tmp_path, locale) -> None:
    store = await seeded_store(f"lang-sandbox-{locale}", tmp_path)
    async with tenancy.bind_tenant(store.tenant):
        sandbox = await payments.connect("sandbox", {"secret": "s" * 32}, keys=KEYS, name="Demo pay")
    status_url = await place_in(client, store.slug, locale)
    browser = {"Accept-Language": BROWSER[OTHER[locale]]}
    started = await client.post(f"{status_url}/pay/{sandbox}", headers=browser)
    assert started.status_code == 303
    checkout = await client.get(started.headers["location"].replace(KEYS.public_url, ""), headers=browser)
    assert checkout.status_code == 200 and f'<html lang="{locale}">' in checkout.text


INVOICE = {"ru": "Счёт к заказу", "uk": "Рахунок до замовлення", "en": "Invoice for order"}


@pytest.mark.parametrize(("placed", "staff"), [("uk", "ru"), ("ru", "uk"), ("en", "uk")])
async def test_the_printed_invoice_speaks_the_orders_language_not_the_staffs(client, shop, placed, staff) -> None:
    store, _cash = shop
    token = (await place_in(client, store.slug, placed)).rsplit("/", 1)[-1]
    async with tenancy.bind_tenant(store.tenant):
        order_id = (await Order.select(Order.id).where(Order.token == token).first())["id"]
    await login(client, store.email)
    client.cookies.set("lang", staff)
    invoice = await client.get(f"/s/{store.slug}/orders/{order_id}/invoice")
    assert f'<html lang="{placed}">' in invoice.text and INVOICE[placed] in invoice.text
    asked = await client.get(f"/s/{store.slug}/orders/{order_id}/invoice?lang={staff}")
    assert f'<html lang="{staff}">' in asked.text and INVOICE[staff] in asked.text
    card = await client.get(f"/s/{store.slug}/orders/{order_id}")
    assert f'<html lang="{staff}">' in card.text  # the staff's own pages stay in the staff's language


@pytest.mark.parametrize(("staff", "store_locale"), [("ru", "ru"), ("uk", "ru"), ("en", "ru")])
async def test_an_order_taken_by_staff_speaks_the_stores_language(client, shop, staff, store_locale) -> None:
    store, _cash = shop
    await login(client, store.email)
    client.cookies.set("lang", staff)
    data = {"phone": "8 912 555-44-33", "sku_0": "M-1", "qty_0": "1", "_csrf_token": csrf(client)}
    created = await client.post(f"/s/{store.slug}/orders/new", data=data)
    assert created.status_code == 303
    order_id = int(created.headers["location"].rstrip("/").rsplit("/", 1)[-1])
    async with tenancy.bind_tenant(store.tenant):
        assert (await Order.select(Order.locale).where(Order.id == order_id).first())["locale"] == store_locale


@pytest.mark.parametrize(
    ("query", "browser", "locale", "title"),
    [
        ("", "uk-UA,uk;q=0.9", "uk", "Сторінку не знайдено"),
        ("?lang=ru", "uk-UA,uk;q=0.9", "ru", "Страница не найдена"),
        ("?lang=uk", "en-US", "uk", "Сторінку не знайдено"),
        ("", "en-US", "en", "Page not found"),
    ],
)
async def test_an_unknown_order_link_is_a_404_in_the_shoppers_language_leading_to_the_stores_form(
    client, shop, query, browser, locale, title
) -> None:
    store, _cash = shop
    for path in (f"/f/{store.slug}/o/no-such-token", f"/f/{store.slug}/no-such-form"):
        page = await client.get(f"{path}{query}", headers={"Accept-Language": browser})
        assert page.status_code == 404 and 'data-testid="error-404"' in page.text
        assert f'<html lang="{locale}">' in page.text and title in page.text
        assert store.tenant.name in page.text and 'href="/"' not in page.text
        back = re.search(r'href="([^"]+)" data-testid="back-to-form"', page.text).group(1)
        assert back == f"/f/{store.slug}/?lang={locale}"
        form = await client.get(back.replace("&amp;", "&"))
        assert form.status_code == 303 and form.headers["location"] == f"/f/{store.slug}/order?lang={locale}"


@pytest.mark.parametrize("locale", ["uk", "ru"])
async def test_a_link_cut_short_is_a_404_in_the_shoppers_language_leading_to_the_stores_form(
    client, shop, locale
) -> None:
    store, _cash = shop
    for path in (f"/f/{store.slug}/o/", f"/f/{store.slug}/o/token/extra"):
        page = await client.get(path, headers={"Accept-Language": BROWSER[locale]})
        assert page.status_code == 404 and f'<html lang="{locale}">' in page.text
        back = re.search(r'href="([^"]+)" data-testid="back-to-form"', page.text).group(1)
        assert back == f"/f/{store.slug}/?lang={locale}"
        assert (await client.get(back)).headers["location"] == f"/f/{store.slug}/order?lang={locale}"
    unknown = await client.get("/f/no-such-store/", headers={"Accept-Language": BROWSER[locale]})
    assert unknown.status_code == 404 and 'data-testid="back-to-form"' not in unknown.text


@pytest.mark.parametrize("locale", ["uk", "ru"])
async def test_a_switched_off_form_is_410_and_its_orders_keep_their_pages(client, runtime, tmp_path, locale) -> None:
    store = await seeded_store(f"lang-closed-{locale}", tmp_path)
    status_url = await place_in(client, store.slug, locale)
    async with tenancy.bind_tenant(store.tenant):
        await OrderForm.update({OrderForm.active: False}).where(OrderForm.code == "order")
    closed = await client.get(f"/f/{store.slug}/order", headers={"Accept-Language": BROWSER[locale]})
    assert closed.status_code == 410 and 'data-testid="error-410"' in closed.text
    assert f'<html lang="{locale}">' in closed.text and 'data-testid="back-to-form"' in closed.text
    nowhere = await client.get(f"/f/{store.slug}/?lang={locale}")
    assert nowhere.status_code == 404 and 'data-testid="back-to-form"' not in nowhere.text  # no form to go to
    assert speaks(await client.get(status_url, headers={"Accept-Language": BROWSER[OTHER[locale]]}), locale)
    submitted = await client.post(f"/f/{store.slug}/order?lang={locale}", data={"t": "x"})
    assert submitted.status_code == 410 and f'<html lang="{locale}">' in submitted.text
    async with tenancy.bind_tenant(store.tenant):
        assert await Order.count() == 1


async def test_an_order_from_elsewhere_without_a_language_takes_the_stores(client, store_b) -> None:
    order = await place_order(store_b)  # as an import or an integration would: no language given
    async with tenancy.bind_tenant(store_b.tenant):
        assert (await Order.select(Order.locale).where(Order.id == order["id"]).first())["locale"] == "uk"
    page = await client.get(f"/f/{store_b.slug}/o/{order['token']}", headers={"Accept-Language": "ru"})
    assert speaks(page, "uk")


async def test_another_stores_link_does_not_open_this_stores_order(client, shop, store_b) -> None:
    store, _cash = shop
    status_url = await place_in(client, store.slug, "uk")
    token = status_url.rsplit("/", 1)[-1]
    page = await client.get(f"/f/{store_b.slug}/o/{token}", headers={"Accept-Language": "uk"})
    # Store B's own 404 (its name may have been changed by other tests): the way back leads to B's form.
    assert page.status_code == 404 and store.slug not in page.text
    assert f'href="/f/{store_b.slug}/?lang=uk"' in page.text
