"""Shared field checks; every message is translated in the caller's locale."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from email_validator import EmailNotValidError, validate_email

from app.forms import rules
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
    try:
        return rules.text(raw.get(name), max_length=max_length, min_length=min_length, required=required)
    except rules.Invalid as exc:
        errors[name] = exc.message
        return (raw.get(name) or "").strip()


def integer(
    raw: Mapping[str, str], name: str, errors: dict[str, str], *, low: int, high: int, default: int | None = None
) -> int | None:
    """A bounded whole number; empty gives ``default``; a wrong one records a translated error."""
    value = raw.get(name)
    if not (value or "").strip():
        return default
    try:
        return rules.integer(value, low=low, high=high)
    except rules.Invalid as exc:
        errors[name] = exc.message
        return default


def day(raw: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    """An optional calendar date in the sane range; a wrong one records a translated error."""
    try:
        return rules.optional_day(raw.get(name))
    except rules.Invalid as exc:
        errors[name] = exc.message
        return None


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
