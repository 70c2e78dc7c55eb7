"""Staff input: invitations, a member's role and scope, accepting an invitation, distribution mode."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.forms import _fields
from app.forms.auth import check_password
from app.i18n import gettext as _

INVITABLE_ROLES = ("admin", "manager", "operator", "analyst")
ROLES = ("owner", *INVITABLE_ROLES)
SCOPES = ("all", "own")
MODES = ("off", "round_robin", "least_loaded")


@dataclass(frozen=True)
class InviteData:
    email: str
    role: str
    scope: str


@dataclass(frozen=True)
class MemberData:
    role: str
    scope: str
    on_shift: bool
    active: bool


@dataclass(frozen=True)
class AcceptData:
    name: str
    password: str


def validate_invite(raw: Mapping[str, str]) -> tuple[InviteData | None, dict[str, str]]:
    errors: dict[str, str] = {}
    email = _fields.email(raw, "email", errors)
    role = _fields.choice(raw, "role", INVITABLE_ROLES, errors, "manager")
    scope = _fields.choice(raw, "scope", SCOPES, errors, "all")
    return (None if errors else InviteData(email, role, scope)), errors


def _flag(raw: Mapping[str, str], name: str) -> bool:
    return (raw.get(name) or "").strip().lower() in {"1", "on", "true", "yes"}


def validate_member(raw: Mapping[str, str]) -> tuple[MemberData | None, dict[str, str]]:
    errors: dict[str, str] = {}
    role = _fields.choice(raw, "role", ROLES, errors, "manager")
    scope = _fields.choice(raw, "scope", SCOPES, errors, "all")
    return (None if errors else MemberData(role, scope, _flag(raw, "on_shift"), _flag(raw, "active"))), errors


def validate_accept(raw: Mapping[str, str], email: str) -> tuple[AcceptData | None, dict[str, str]]:
    """A new identity's name and password (typed twice)."""
    errors: dict[str, str] = {}
    name = _fields.text(raw, "name", errors, max_length=120)
    password = raw.get("password") or ""
    if not password:
        errors["password"] = _("This field is required.")
    elif len(password) > 200:
        errors["password"] = _("Too long: at most %(max)s characters.", max=200)
    check_password(password, email, errors)
    if "password" not in errors and password != (raw.get("password2") or ""):
        errors["password2"] = _("The passwords do not match.")
    return (None if errors else AcceptData(name, password)), errors


def validate_mode(raw: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    mode = _fields.choice(raw, "mode", MODES, errors, "off")
    return (None if errors else mode), errors
