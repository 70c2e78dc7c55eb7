"""The demo store ``demo``: created on first run, its owner's password reset on every run."""

from __future__ import annotations

from app.forms.auth import SignupData
from app.services import stores
from app.services.auth import hash_password
from app.tables.control import Identity, Tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@autooffice.local"


async def seed(password: str) -> str:
    """Make sure the demo store and its owner exist; returns the store's slug."""
    identity = await Identity.select(Identity.id).where(Identity.email == DEMO_EMAIL).first()
    if identity is not None:
        await Identity.update({Identity.password_hash: await hash_password(password)}).where(
            Identity.id == identity["id"]
        )
    if not await Tenant.exists().where(Tenant.slug == DEMO_SLUG):
        data = SignupData("Demo Store", DEMO_SLUG, DEMO_EMAIL, password, "ru", "RUB", "RU")
        await stores.create_store(data, identity_id=identity["id"] if identity else None)
    return DEMO_SLUG
