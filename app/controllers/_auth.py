"""Guards: staff pages need a session whose identity is a member of the store in the URL, and the
permission the route declares (``opt={"permission": ...}``) in that member's role."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.i18n import gettext as _
from app.i18n import set_timezone
from app.services import auth, permissions, staff, stores

SESSION_IDENTITY = "identity_id"


def identity_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    if "session" not in connection.scope:
        return None
    value = connection.session.get(SESSION_IDENTITY)
    return int(value) if isinstance(value, int) else None


def nav_for(slug: str, granted: frozenset[str] | None = None) -> list[dict[str, str]]:
    """The sidebar: the areas that exist and that this member may open (all of them when ``granted`` is None)."""
    items = [
        ("dashboard:show", _("Dashboard"), "home", f"/s/{slug}/", "dashboard.view"),
        ("orders:list", _("Orders"), "orders", f"/s/{slug}/orders/", "orders.view"),
        ("tasks:list", _("Tasks"), "tasks", f"/s/{slug}/tasks/", "tasks.view"),
        ("customers:list", _("Customers"), "users", f"/s/{slug}/customers/", "customers.view"),
        ("segments:list", _("Segments"), "segments", f"/s/{slug}/segments/", "segments.view"),
        ("reports:show", _("Reports"), "chart", f"/s/{slug}/reports", "reports.view"),
        ("products:list", _("Products"), "box", f"/s/{slug}/products/", "products.view"),
        ("imports:list", _("Imports"), "upload", f"/s/{slug}/imports/", "imports.run"),
        ("staff:list", _("Staff"), "staff", f"/s/{slug}/staff/", "staff.view"),
        ("staff:audit", _("Audit log"), "audit", f"/s/{slug}/staff/audit", "audit.view"),
        ("staff:results", _("Staff results"), "chart", f"/s/{slug}/staff/results/", "reports.view"),
        ("settings:index", _("Settings"), "settings", f"/s/{slug}/settings", "settings.view"),
    ]
    return [
        {"name": name, "label": label, "icon": icon, "href": href}
        for name, label, icon, href, permission in items
        if granted is None or permission in granted
    ]


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    permission = handler.opt.get("permission")
    if permission == permissions.PUBLIC:
        return  # the invitation link: its signed, single-use token is the credential
    identity_id = identity_id_of(connection)
    if identity_id is None:
        raise NotAuthorizedException()
    tenant = connection.scope["state"]["tenant"]
    members = await auth.memberships(identity_id)
    member = next((m for m in members if m.tenant_id == tenant.id), None)
    if member is None:
        # Not "forbidden": a session of store A must not even learn that store B exists.
        raise NotFoundException()
    profile = await staff.member(identity_id)
    set_timezone(await stores.store_timezone())  # every time on the store's pages is shown in its zone
    # Limited to own orders: every order query of the request keeps to them, and store-wide pages are closed.
    own_only = not permissions.sees_all_orders(member.role, profile.scope if profile else "all")
    granted = permissions.granted(member.role, own_orders_only=own_only)
    state = connection.scope["state"]
    state.update(
        member=member,
        memberships=members,
        identity_email=member.email,
        perms=granted,
        orders_scope=identity_id if own_only else None,
        nav=nav_for(tenant.slug, granted),
    )
    if tenant.status == "active":
        await staff.seen(identity_id, profile.last_seen_at if profile else None)
    if not permissions.allows(member.role, permission, own_orders_only=own_only):
        raise PermissionDeniedException()


async def account_context(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """Fill the layout's account menu on pages outside a store; returns the identity id."""
    identity_id = identity_id_of(connection)
    if identity_id is None:
        return None
    members = await auth.memberships(identity_id)
    email = members[0].email if members else await auth.identity_email(identity_id)
    if email is None:
        return None
    connection.scope["state"].update(memberships=members, identity_email=email)
    return identity_id
