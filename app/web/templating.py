"""The Jinja environment: i18n extension bound to the request locale, Babel filters, asset helpers."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import i18n
from app.tenancy.runtime import current_tenant
from app.web import assets, colors

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def _gettext(message: str) -> str:
    return i18n.translations(i18n.get_locale()).ugettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.get_locale()).ungettext(singular, plural, n)


def _phone(e164: str | None) -> str:
    """``{{ order.phone|phone }}``: formatted for the store whose page this is."""
    try:
        country = current_tenant().country
    except LookupError:
        country = ""
    return i18n.format_phone(e164, country)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Jinja's "newstyle" gettext formats %(name)s itself, so it gets the raw lookups.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=lambda minor, currency: i18n.format_money(minor, currency),
        number=i18n.format_number,
        percent=i18n.format_percent,
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        phone=_phone,
        badge_style=colors.badge_style,
        zip_labels=lambda keys, labels: [(key, labels.get(key, key)) for key in keys],
    )
    env.globals.update(htmx_src=assets.htmx_src, htmx_integrity=assets.HTMX_SHA384)
    return env
