"""Form origins: only ``scheme://host[:port]`` may frame an order form; anything else is a 422 next to the field.

The accepted and refused lines are a hand-written table (after the CSP source grammar, RFC 6454 origins and
WHATWG host parsing), in ru and uk; a refused save changes nothing, and a stored bad value never reaches the CSP.
"""

from __future__ import annotations

import pytest

from app.services import form_settings
from app.tables.forms import OrderForm
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store

pytestmark = pytest.mark.http

ACCEPTED = {
    "https://Shop.Example.com/": "https://shop.example.com",
    "http://localhost:8766": "http://localhost:8766",
    "https://магазин.рф": "https://xn--80aairftm.xn--p1ai",
    "http://127.0.0.1:8080": "http://127.0.0.1:8080",
    "http://[::1]:8766": "http://[::1]:8766",
    "HTTPS://shop.example.com:443": "https://shop.example.com:443",
}
REFUSED = [
    "*",
    "https://*.example.com",
    "https://shop.example.com;script-src *",
    "https://shop.example.com https://b.example.com",
    "https://shop.example.com/order",
    "https://shop.example.com?x=1",
    "https://shop.example.com#top",
    "https://user:secret@shop.example.com",
    "https://shop.example.com:99999",
    "https://shop.example.com:",
    "https://shop.example.com:0",
    "javascript:alert(1)",
    "ftp://shop.example.com",
    "shop.example.com",
    "https://",
    "https://shop..example.com",
    "http://0177.0.0.1",
    "http://2130706433",
    "'self'",
]
# the message next to the field, in the staff member's language (one hand-checked word of it per locale)
WILDCARD = {"ru": "звёздочк", "uk": "зірочк", "en": "wildcards"}


@pytest.fixture(scope="module")
async def shop(runtime):
    store = await make_store("origins-shop")
    async with tenancy.bind_tenant(store.tenant):
        await OrderForm.update({OrderForm.allowed_origins: ["https://kept.example.com"]}).where(
            OrderForm.code == "order"
        )
    return store


async def _post(client, store, origins: str):
    page = await client.get(f"/s/{store.slug}/settings/forms/order")
    assert page.status_code == 200
    return await client.post(
        f"/s/{store.slug}/settings/forms/order",
        data={"title_ru": "Заказ", "field_name": "on", "goods_mode": "all", "max_quantity": "5",
              "lang_ru": "on", "active": "on", "allowed_origins": origins, "_csrf_token": csrf(client)},
    )  # fmt: skip


async def _stored(store) -> list[str]:
    async with tenancy.bind_tenant(store.tenant):
        form = await form_settings.get("order")
    return form["allowed_origins"]


@pytest.mark.parametrize("locale", ["ru", "uk"])
@pytest.mark.parametrize("line", REFUSED)
async def test_a_line_that_is_not_an_origin_is_refused_next_to_the_field(client, shop, locale, line) -> None:
    await client.get(f"/lang/{locale}")
    await login(client, shop.email)
    response = await _post(client, shop, f"http://localhost:8766\n{line}")
    assert response.status_code == 422, line
    assert 'data-testid="error-allowed_origins"' in response.text
    assert f'<html lang="{locale}">' in response.text
    assert await _stored(shop) == ["https://kept.example.com"]  # nothing half-applied


@pytest.mark.parametrize("locale", ["ru", "uk", "en"])
async def test_the_refusal_says_why_in_the_staff_language(client, shop, locale) -> None:
    await client.get(f"/lang/{locale}")
    await login(client, shop.email)
    response = await _post(client, shop, "https://*.example.com")
    assert response.status_code == 422 and WILDCARD[locale] in response.text


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_clean_origins_are_saved_normalized_and_framed(client, runtime, locale) -> None:
    store = await make_store(f"origins-ok-{locale}")
    await client.get(f"/lang/{locale}")
    await login(client, store.email)
    response = await _post(client, store, "\n".join(ACCEPTED) + "\nhttp://localhost:8766")
    assert response.status_code == 303, response.text
    assert await _stored(store) == sorted(set(ACCEPTED.values()))
    form = await client.get(f"/f/{store.slug}/order")
    ancestors = form.headers["content-security-policy"].split("frame-ancestors", 1)[1]
    assert ancestors.split() == ["'self'", *sorted(set(ACCEPTED.values()))]


async def test_a_bad_origin_stored_before_never_reaches_the_csp_header(client, runtime) -> None:
    store = await make_store("origins-legacy")
    async with tenancy.bind_tenant(store.tenant):
        await OrderForm.update(
            {OrderForm.allowed_origins: ["https://ok.example.com", "https://x.example.com;script-src *", "*"]}
        ).where(OrderForm.code == "order")
    form = await client.get(f"/f/{store.slug}/order")
    assert form.headers["content-security-policy"].endswith("frame-ancestors 'self' https://ok.example.com")


async def test_more_than_twenty_sites_is_refused_not_cut(client, shop) -> None:
    await login(client, shop.email)
    response = await _post(client, shop, "\n".join(f"https://s{i}.example.com" for i in range(21)))
    assert response.status_code == 422 and 'data-testid="error-allowed_origins"' in response.text
