"""The demo store ``demo``: goods, a year of customers, orders, payments and form visits, and a form.

Created on first run; later runs reset the owner's password and keep the data (re-seeding is idempotent).
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from pathlib import Path

from app.forms.auth import SignupData
from app.services import analytics, demo_history, invitations, payments, staff, stores
from app.services.auth import hash_password
from app.services.imports import jobs as import_jobs
from app.tables.catalog import Offer
from app.tables.control import Identity, Tenant
from app.tables.forms import OrderForm
from app.tables.orders import Order
from app.tables.payments import PaymentConnection
from app.tenancy.runtime import bind_tenant, lookup_tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@autooffice.local"
DEMO_ORIGINS = ["http://localhost:8766", "http://127.0.0.1:8766"]
CATEGORIES = {1: "Кухня", 2: "Посуда", 3: "Текстиль", 4: "Хранение"}
GOODS = [
    ("Чайник эмалированный 2 л", 2, 189000),
    ("Сковорода чугунная 26 см", 2, 249000),
    ("Кастрюля 3 л со стеклянной крышкой", 2, 215000),
    ("Набор ножей, 5 шт.", 1, 329000),
    ("Разделочная доска из бука", 1, 89000),
    ("Кружка керамическая 350 мл", 2, 45000),
    ("Полотенце кухонное, 2 шт.", 3, 59000),
    ("Скатерть льняная 140×180", 3, 279000),
    ("Фартук хлопковый", 3, 99000),
    ("Контейнеры для круп, 3 шт.", 4, 129000),
    ("Банка для специй с крышкой", 4, 35000),
    ("Хлебница бамбуковая", 4, 159000),
    ("Френч-пресс 600 мл", 1, 149000),
    ("Термос 1 л", 1, 219000),
    ("Форма для выпечки 24 см", 2, 119000),
]


async def seed(password: str, keys: payments.Keys | None = None) -> str:
    """Make sure the demo store, its owner and its data exist; returns the store's slug."""
    identity = await Identity.select(Identity.id).where(Identity.email == DEMO_EMAIL).first()
    if identity is not None:
        await Identity.update({Identity.password_hash: await hash_password(password)}).where(
            Identity.id == identity["id"]
        )
    if not await Tenant.exists().where(Tenant.slug == DEMO_SLUG):
        data = SignupData("Demo Store", DEMO_SLUG, DEMO_EMAIL, password, "ru", "RUB", "RU")
        await stores.create_store(data, identity_id=identity["id"] if identity else None)
    tenant = await lookup_tenant(DEMO_SLUG, fresh=True)
    assert tenant is not None
    async with bind_tenant(tenant):
        await OrderForm.update({OrderForm.allowed_origins: DEMO_ORIGINS}).where(OrderForm.code == "order")
        if not await Offer.exists():
            await _goods()
        if len(await staff.members()) == 1:
            await _team(tenant.id, password)
        if keys is not None and not await PaymentConnection.exists():
            # The demo pays through the sandbox: a hosted page of our own and signed notifications.
            secret = hashlib.sha256(keys.secret_key.encode()).hexdigest()
            await payments.connect("sandbox", {"secret": secret}, keys=keys, name="Demo pay")
        if not await Order.exists():
            await _orders(random.Random(2026))
    return DEMO_SLUG


TEAM = [
    ("anna@autooffice.local", "Анна Смирнова", "manager", "own"),
    ("ivan@autooffice.local", "Иван Петров", "manager", "all"),
    ("olga@autooffice.local", "Ольга Иванова", "analyst", "all"),
]


async def _team(tenant_id: int, password: str) -> None:
    """Two managers (one sees only her own orders) and an analyst; new orders go to the managers in turn."""
    for email, name, role, scope in TEAM:
        await invitations.add_member(tenant_id, email, name, role, scope, password)
    await staff.set_distribution("round_robin", actor_id=None)


async def _goods() -> None:
    categories = "".join(f'<category id="{i}">{name}</category>' for i, name in CATEGORIES.items())
    offers = "".join(
        f'<offer id="d{i}" available="true"><name>{name}</name><price>{price / 100:.2f}</price>'
        f"<currencyId>RUB</currencyId><categoryId>{category}</categoryId><vendorCode>DM-{i:03d}</vendorCode>"
        f"<count>{5 + i * 3 % 17}</count></offer>"
        for i, (name, category, price) in enumerate(GOODS, 1)
    )
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "demo.xml"
        feed.write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><name>Demo</name>'
            f"<categories>{categories}</categories><offers>{offers}</offers></shop></yml_catalog>",
            encoding="utf-8",
        )
        job_id = await import_jobs.create_job([feed], Path(tmp) / "uploads")
        await import_jobs.request_apply_now(job_id)
        await import_jobs.run_job(job_id)


async def _orders(rng: random.Random) -> None:
    await demo_history.seed_year(rng, DEMO_EMAIL)
    await analytics.rebuild()
