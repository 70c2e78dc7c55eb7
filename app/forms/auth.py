"""Sign-up and login input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.forms import _fields
from app.i18n import LOCALES
from app.i18n import gettext as _

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "demo",
        "dashboard",
        "docs",
        "embed",
        "f",
        "help",
        "hooks",
        "healthz",
        "readyz",
        "metrics",
        "login",
        "logout",
        "mail",
        "new",
        "null",
        "root",
        "s",
        "settings",
        "shop",
        "signup",
        "static",
        "status",
        "support",
        "system",
        "test",
        "undefined",
        "www",
        "autooffice",
        "staff",
        "stores",
        "store",
        "account",
        "accounts",
    }
)
CURRENCIES = ("RUB", "UAH", "KZT", "BYN", "USD", "EUR", "GBP", "PLN", "UZS", "AMD", "GEL")
COUNTRIES = ("RU", "UA", "KZ", "BY", "UZ", "AM", "GE", "US", "GB", "DE", "PL", "EE", "LV", "LT", "CY")
# The store's currency and country a language suggests when the owner names neither (English keeps the
# Russian defaults: most English-speaking owners here still sell in Russia).
LOCALE_DEFAULTS: dict[str, tuple[str, str]] = {"ru": ("RUB", "RU"), "uk": ("UAH", "UA"), "en": ("RUB", "RU")}


def locale_defaults(locale: str) -> dict[str, str]:
    """The currency and country a store in this language starts with."""
    currency, country = LOCALE_DEFAULTS.get(locale, LOCALE_DEFAULTS["ru"])
    return {"currency": currency, "country": country}


COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty1234",
        "1q2w3e4r5t",
        "iloveyou123",
        "administrator",
        "letmein123",
        "welcome123",
        "0987654321",
        "1111111111",
        "abcdefghij",
    }
)
MIN_PASSWORD = 10


@dataclass(frozen=True)
class SignupData:
    store_name: str
    slug: str
    email: str
    password: str
    locale: str
    currency: str
    country: str


def check_password(password: str, email: str, errors: dict[str, str]) -> None:
    if "password" in errors:
        return
    lowered = password.lower()
    if len(password) < MIN_PASSWORD:
        errors["password"] = _("Use at least %(min)s characters.", min=MIN_PASSWORD)
    elif lowered in COMMON_PASSWORDS or len(set(password)) < 4 or lowered == email.lower():
        errors["password"] = _("This password is too easy to guess. Mix words, digits and symbols.")


def validate_signup(
    raw: Mapping[str, str], *, with_credentials: bool = True
) -> tuple[SignupData | None, dict[str, str]]:
    errors: dict[str, str] = {}
    store_name = _fields.text(raw, "store_name", errors, max_length=120, min_length=2)
    slug = _fields.text(raw, "slug", errors, max_length=40).lower()
    if slug and "slug" not in errors:
        if not SLUG_RE.match(slug) or "--" in slug:
            errors["slug"] = _("Use 3–40 Latin letters, digits and hyphens; start and end with a letter or digit.")
        elif slug in RESERVED_SLUGS:
            errors["slug"] = _("This address is reserved. Choose another one.")
    email = password = ""
    if with_credentials:
        email = _fields.email(raw, "email", errors)
        password = raw.get("password") or ""
        if not password:
            errors["password"] = _("This field is required.")
        elif len(password) > 256:
            errors["password"] = _("Too long: at most %(max)s characters.", max=256)
        check_password(password, email, errors)
    locale = _fields.choice(raw, "locale", LOCALES, errors, default="ru")
    defaults = locale_defaults(locale)
    currency = _fields.choice(raw, "currency", CURRENCIES, errors, default=defaults["currency"])
    country = _fields.choice(raw, "country", COUNTRIES, errors, default=defaults["country"])
    if errors:
        return None, errors
    return SignupData(store_name, slug, email, password, locale, currency, country), errors


@dataclass(frozen=True)
class LoginData:
    email: str
    password: str


def validate_login(raw: Mapping[str, str]) -> tuple[LoginData | None, dict[str, str]]:
    errors: dict[str, str] = {}
    email = _fields.text(raw, "email", errors, max_length=254).lower()
    password = raw.get("password") or ""
    if not password:
        errors["password"] = _("This field is required.")
    elif len(password) > 256:
        errors["password"] = _("Too long: at most %(max)s characters.", max=256)
    if errors:
        return None, errors
    return LoginData(email, password), errors
