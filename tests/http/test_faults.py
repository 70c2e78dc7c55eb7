"""Faults: a connection lost under a request is a 503 in the visitor's language, and an order form sent
again after a 503 places one order."""

from __future__ import annotations

import asyncpg
import pytest

from app.services import dashboard, forms
from app.tables.customers import Customer
from app.tables.orders import Order
from app.tenancy import runtime as tenancy
from tests.conftest import login
from tests.http.test_shop import open_form, seeded_store

pytestmark = pytest.mark.http

UNAVAILABLE = {"en": "Temporarily unavailable", "ru": "Временно недоступно", "uk": "Тимчасово недоступно"}


async def released_connection_error(dsn: str) -> asyncpg.InterfaceError:
    """The real error asyncpg raises when a request uses a connection its pool has taken back, which
    is what a database restart does to connections in use."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        await pool.release(conn)
        try:
            await conn.fetchval("SELECT 1")
        except asyncpg.InterfaceError as exc:
            assert "released back to the pool" in str(exc)
            return exc
    finally:
        await pool.close()
    raise AssertionError("asyncpg ran a query on a released connection")


@pytest.fixture(scope="module")
async def fault_shop(runtime, tmp_path_factory):
    return await seeded_store("fault-shop", tmp_path_factory.mktemp("fault"))


def test_a_connection_released_to_the_pool_counts_as_lost() -> None:
    assert tenancy.connection_lost(
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool")
    )
    assert not tenancy.connection_lost(asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"))


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_a_connection_released_during_a_restart_is_a_503_not_a_500(
    client, runtime, store_a, monkeypatch, lang: str
) -> None:
    error = await released_connection_error(runtime.primary_dsn)

    async def lost(*_args, **_kwargs):
        raise error

    await login(client, store_a.email)
    monkeypatch.setattr(dashboard, "overview", lost)
    for headers in ({}, {"HX-Request": "true"}):
        response = await client.get(f"/s/{store_a.slug}/?lang={lang}", headers=headers)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert UNAVAILABLE[lang] in response.text
    monkeypatch.undo()
    assert (await client.get(f"/s/{store_a.slug}/")).status_code == 200


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_an_order_sent_again_after_a_503_is_placed_once(
    client, runtime, fault_shop, monkeypatch, lang: str
) -> None:
    error = await released_connection_error(runtime.primary_dsn)
    token, offers, _ = await open_form(client, fault_shop.slug, f"?lang={lang}")
    phone = {"ru": "+7 912 345-67-01", "uk": "+7 912 345-67-02", "en": "+7 912 345-67-03"}[lang]
    form = {
        "t": token,
        f"qty_{offers['M-1']}": "3",
        "name": "Олена",
        "phone": phone,
        "delivery": "courier",
        "address": "Київ, Хрещатик 1",
    }
    async with tenancy.bind_tenant(fault_shop.tenant):
        before = await Order.count()

    async def lost_after_commit(*_args, **_kwargs):
        raise error  # the order is committed; the shopper's answer is lost with the connection

    monkeypatch.setattr(forms, "order_sent", lost_after_commit)
    failed = await client.post(f"/f/{fault_shop.slug}/order?lang={lang}", data=form)
    assert failed.status_code == 503 and UNAVAILABLE[lang] in failed.text
    monkeypatch.undo()
    async with tenancy.bind_tenant(fault_shop.tenant):
        assert await Order.count() == before + 1  # it was accepted

    again = await client.post(f"/f/{fault_shop.slug}/order?lang={lang}", data=form)
    assert again.status_code == 303 and again.headers["location"].startswith(f"/f/{fault_shop.slug}/o/")
    once_more = await client.post(f"/f/{fault_shop.slug}/order?lang={lang}", data=form)
    assert once_more.headers["location"] == again.headers["location"]
    page = await client.get(again.headers["location"])
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    async with tenancy.bind_tenant(fault_shop.tenant):
        assert await Order.count() == before + 1
        placed = await Order.select(Order.customer).where(Order.phone == phone.replace(" ", "").replace("-", ""))
        assert len(placed) == 1
        customer = await Customer.select(Customer.orders_count).where(Customer.id == placed[0]["customer"]).first()
        assert customer["orders_count"] == 1
