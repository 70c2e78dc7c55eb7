"""Shared field checks; every message is translated in the caller's locale."""

from __future__ import annotations

from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from app.i18n import gettext as _


def text(
    raw: Mapping[str, str],
    name: str,
    errors: dict[str, str],
    *,
    required: bool = True,
    max_length: int = 200,
    min_length: int = 0,
) -> str:
    """A trimmed text value; records a translated error under ``name`` when it is wrong."""
    value = (raw.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = _("This field is required.")
        return ""
    if len(value) > max_length:
        errors[name] = _("Too long: at most %(max)s characters.", max=max_length)
    elif len(value) < min_length:
        errors[name] = _("Too short: at least %(min)s characters.", min=min_length)
    return value


def email(raw: Mapping[str, str], name: str, errors: dict[str, str]) -> str:
    value = text(raw, name, errors, max_length=254)
    if value and name not in errors:
        try:
            value = validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors[name] = _("Enter a valid e-mail address, like name@example.com.")
    return value


def choice(
    raw: Mapping[str, str],
    name: str,
    allowed: Mapping[str, object] | tuple[str, ...],
    errors: dict[str, str],
    default: str,
) -> str:
    value = (raw.get(name) or "").strip() or default
    if value not in allowed:
        errors[name] = _("Choose one of the offered options.")
        return default
    return value
