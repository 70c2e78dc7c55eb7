"""Test data built through the real services: members joining by invitation, orders placed as a form would."""

from __future__ import annotations

import secrets

from app.forms.staff import AcceptData, InviteData, MemberData
from app.services import invitations, orders, staff
from app.tenancy import runtime as tenancy
from tests.conftest import PASSWORD, StoreFixture

SECRET = "t" * 48  # tests/conftest.make_settings


async def add_member(
    store: StoreFixture, role: str, *, scope: str = "all", name: str | None = None, email: str | None = None
) -> tuple[int, str]:
    """A new member of ``store`` who joined through an invitation; returns (identity id, e-mail)."""
    email = email or f"{role}-{secrets.token_hex(4)}@{store.slug}.example.com"
    async with tenancy.bind_tenant(store.tenant):
        _row, token = await invitations.invite(
            InviteData(email, role if role != "owner" else "admin", scope),
            secret=SECRET, slug=store.slug, locale="en", actor_id=store.identity_id, actor_role="owner",
        )  # fmt: skip
        identity_id = await invitations.accept(
            token, secret=SECRET, slug=store.slug, tenant_id=store.tenant.id, identity_id=None,
            data=AcceptData(name or f"{role.title()} {email[:12]}", PASSWORD),
        )  # fmt: skip
        if role == "owner":
            await staff.update_member(
                store.tenant.id, identity_id, MemberData("owner", scope, True, True),
                actor_id=store.identity_id, actor_role="owner",
            )  # fmt: skip
    return identity_id, email


async def place_order(store: StoreFixture, *, name: str = "Jane", source: str = "form") -> dict:
    async with tenancy.bind_tenant(store.tenant):
        draft = orders.OrderDraft(
            lines=(orders.LineDraft(None, "Kettle", "K-1", 129050, 1),),
            currency=store.tenant.currency,
            customer_name=name,
            phone=f"+7912{secrets.randbelow(10**7):07d}",
            source=source,
        )
        order, _created = await orders.create_order(draft)
    return order


async def assign(store: StoreFixture, order_id: int, identity_id: int | None) -> None:
    async with tenancy.bind_tenant(store.tenant):
        await staff.assign_order(order_id, identity_id, actor_id=store.identity_id)
