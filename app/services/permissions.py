"""The permission matrix: what each role may do. The one place that says so; guards and pages read it."""

from __future__ import annotations

from app.i18n import gettext as _

ROLES = ("owner", "admin", "manager", "operator", "analyst")
PUBLIC = "public"  # a route under /s/{slug} that needs no member: the invitation link (its token is the key)
SCOPED = "scope"  # allowed or not by the member's own setting (a manager's "own orders only")
ALL_ORDERS_ONLY = "all_orders"  # a matrix cell: allowed, except for a member limited to own orders
# Pages that read store-wide rollups (RFM classes, segment sizes, the portrait, reports) which cannot be cut
# down to one manager's orders: a member limited to own orders does not get them at all.
STORE_WIDE = frozenset({"segments.view", "segments.edit", "reports.view"})

# name -> area; the order is the order of the table on the staff page
PERMISSIONS: dict[str, str] = {
    "dashboard.view": "dashboard",
    "orders.view": "orders",
    "orders.view_all": "orders",
    "orders.create": "orders",
    "orders.edit": "orders",
    "orders.assign": "orders",
    "payments.refund": "orders",
    "customers.view": "customers",
    "customers.edit": "customers",
    "segments.view": "customers",
    "segments.edit": "customers",
    "reports.view": "reports",
    "products.view": "catalog",
    "products.edit": "catalog",
    "imports.run": "catalog",
    "tasks.view": "tasks",
    "tasks.manage": "tasks",
    "automation.manage": "tasks",
    "staff.view": "staff",
    "staff.manage": "staff",
    "audit.view": "staff",
    "settings.view": "settings",
    "settings.edit": "settings",
}

_ALL = frozenset(PERMISSIONS)
_WORK = {"dashboard.view", "orders.view", "orders.create", "orders.edit", "customers.view", "customers.edit"}
MATRIX: dict[str, dict[str, bool | str]] = {
    "owner": dict.fromkeys(_ALL, True),
    "admin": dict.fromkeys(_ALL, True),
    "manager": {
        **dict.fromkeys(_WORK | {"payments.refund", "segments.view", "products.view", "tasks.view"}, True),
        **dict.fromkeys({"tasks.manage", "staff.view"}, True),
        "orders.view_all": SCOPED,
    },
    "operator": {**dict.fromkeys(_WORK | {"products.view", "tasks.view"}, True), "orders.view_all": SCOPED},
    "analyst": dict.fromkeys(
        {"dashboard.view", "orders.view", "orders.view_all", "customers.view", "segments.view", "segments.edit"}
        | {"reports.view", "products.view", "tasks.view", "audit.view"},
        True,
    ),
}


def permission_label(name: str) -> str:
    return {
        "dashboard.view": _("See the dashboard"),
        "orders.view": _("See orders"),
        "orders.view_all": _("See orders of other managers"),
        "orders.create": _("Take orders"),
        "orders.edit": _("Edit orders and move statuses"),
        "orders.assign": _("Hand orders to managers"),
        "payments.refund": _("Refund payments"),
        "customers.view": _("See customers"),
        "customers.edit": _("Edit customers"),
        "segments.view": _("See segments"),
        "segments.edit": _("Edit segments"),
        "reports.view": _("See reports"),
        "products.view": _("See products"),
        "products.edit": _("Edit products"),
        "imports.run": _("Import goods"),
        "tasks.view": _("See own tasks"),
        "tasks.manage": _("Give tasks to others"),
        "automation.manage": _("Set up automation rules"),
        "staff.view": _("See colleagues and shifts"),
        "staff.manage": _("Invite staff, change roles, distribution"),
        "audit.view": _("Read the audit log"),
        "settings.view": _("See store settings"),
        "settings.edit": _("Change store settings and payments"),
    }[name]


def area_label(area: str) -> str:
    return {
        "dashboard": _("Dashboard"), "orders": _("Orders"), "customers": _("Customers"), "reports": _("Reports"),
        "catalog": _("Catalog"), "tasks": _("Tasks"), "staff": _("Staff"), "settings": _("Settings"),
    }[area]  # fmt: skip


def level(role: str, permission: str) -> bool | str:
    """True, False or ``SCOPED`` for a role; an unknown role or permission has nothing."""
    return MATRIX.get(role, {}).get(permission, False)


def allows(role: str, permission: str | None, *, own_orders_only: bool = False) -> bool:
    """Whether ``role`` may use a route declaring ``permission``.

    A route that declares nothing (or a name missing from the matrix) is the owner's alone: forgetting
    to declare a permission never opens a page to everyone (and a test fails on it). A member limited to
    own orders (``own_orders_only``) never gets the store-wide pages (``STORE_WIDE``).
    """
    if permission is None or permission not in PERMISSIONS:
        return role == "owner"
    if own_orders_only and permission in STORE_WIDE:
        return False
    return level(role, permission) is not False


def granted(role: str, *, own_orders_only: bool = False) -> frozenset[str]:
    return frozenset(name for name in PERMISSIONS if allows(role, name, own_orders_only=own_orders_only))


def sees_all_orders(role: str, scope: str) -> bool:
    """A member limited to their own orders sees only orders with their ``manager_id``."""
    value = level(role, "orders.view_all")
    return value is True or (value == SCOPED and scope != "own")


def _cell(role: str, name: str) -> bool | str:
    value = level(role, name)
    if value is True and name in STORE_WIDE and level(role, "orders.view_all") == SCOPED:
        return ALL_ORDERS_ONLY
    return value


def table() -> list[dict]:
    """The matrix as rows for the staff page: area, label, one cell per role."""
    return [
        {
            "name": name,
            "area": area_label(area),
            "label": permission_label(name),
            "cells": [_cell(role, name) for role in ROLES],
        }
        for name, area in PERMISSIONS.items()
    ]
