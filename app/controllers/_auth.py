"""Guards: staff pages need a session whose identity is a member of the store in the URL."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler

from app.i18n import gettext as _
from app.services import auth

SESSION_IDENTITY = "identity_id"


def identity_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    if "session" not in connection.scope:
        return None
    value = connection.session.get(SESSION_IDENTITY)
    return int(value) if isinstance(value, int) else None


def nav_for(slug: str) -> list[dict[str, str]]:
    """Areas that exist; the rest of DESIGN.md's areas join as they are built."""
    return [
        {"name": "dashboard:show", "label": _("Dashboard"), "icon": "home", "href": f"/s/{slug}/"},
        {"name": "orders:list", "label": _("Orders"), "icon": "orders", "href": f"/s/{slug}/orders/"},
        {"name": "customers:list", "label": _("Customers"), "icon": "users", "href": f"/s/{slug}/customers/"},
        {"name": "segments:list", "label": _("Segments"), "icon": "segments", "href": f"/s/{slug}/segments/"},
        {"name": "reports:show", "label": _("Reports"), "icon": "chart", "href": f"/s/{slug}/reports"},
        {"name": "products:list", "label": _("Products"), "icon": "box", "href": f"/s/{slug}/products/"},
        {"name": "imports:list", "label": _("Imports"), "icon": "upload", "href": f"/s/{slug}/imports/"},
        {"name": "settings:index", "label": _("Settings"), "icon": "settings", "href": f"/s/{slug}/settings"},
    ]


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    identity_id = identity_id_of(connection)
    if identity_id is None:
        raise NotAuthorizedException()
    tenant = connection.scope["state"]["tenant"]
    members = await auth.memberships(identity_id)
    member = next((m for m in members if m.tenant_id == tenant.id), None)
    if member is None:
        # Not "forbidden": a session of store A must not even learn that store B exists.
        raise NotFoundException()
    state = connection.scope["state"]
    state.update(member=member, memberships=members, identity_email=member.email, nav=nav_for(tenant.slug))


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
