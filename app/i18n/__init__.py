"""Locale context, gettext callables and Babel formatting for ru, en and uk.

The active locale lives in a ContextVar that the tenant/locale middleware sets per request;
every helper here reads it, so services and templates never pass a locale around.
Catalogs are read from the ``.po`` files at first use and compiled in memory, so the
repository holds no build artefacts and a fresh clone translates without a compile step.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import available_timezones

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

from app import clock

LOCALES: tuple[str, ...] = ("ru", "en", "uk")
DEFAULT_LOCALE = "en"
LOCALE_NAMES = {"ru": "Русский", "en": "English", "uk": "Українська"}
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("autooffice_locale", default=DEFAULT_LOCALE)
# The store's time zone: every time the formatters below print is shown in it (set per request and job).
_zone: ContextVar[str] = ContextVar("autooffice_timezone", default=clock.DEFAULT_ZONE)


def get_locale() -> str:
    """The locale bound to the current request or job."""
    return _current.get()


def set_locale(locale: str) -> None:
    """Bind ``locale`` for the rest of the current context (middleware use)."""
    _current.set(normalize(locale) or DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Temporarily switch the locale (e-mails to a shopper, tests)."""
    token = _current.set(normalize(locale) or DEFAULT_LOCALE)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def get_timezone() -> str:
    """The IANA zone times are shown in for the current request or job (the store's)."""
    return _zone.get()


def set_timezone(zone: str | None) -> None:
    """Bind the store's zone for the rest of the current context (staff guard, shop pages)."""
    _zone.set(clock.zone(zone).key)


@contextmanager
def use_timezone(zone: str | None) -> Iterator[str]:
    """Temporarily show times in ``zone`` (a job working for one store, tests)."""
    token = _zone.set(clock.zone(zone).key)
    try:
        yield _zone.get()
    finally:
        _zone.reset(token)


def normalize(value: str | None) -> str | None:
    """``'uk-UA'`` → ``'uk'``; anything we do not ship → None."""
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LOCALES else None


def negotiate(accept_language: str | None) -> str | None:
    """Pick our best locale for an ``Accept-Language`` header, or None."""
    if not accept_language:
        return None
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    preferred = [tag for _, _, tag in sorted(weighted)]
    best = Locale.negotiate(preferred, list(LOCALES), sep="-")
    return str(best) if best else None


@cache
def translations(locale: str) -> Translations:
    """Compile ``locale``'s catalog in memory once per process."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str, **variables: object) -> str:
    """Translate ``message`` into the current locale; ``%(name)s`` placeholders are filled."""
    text = translations(get_locale()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Plural-aware translation (ru and uk have three forms); ``%(num)s`` is ``n``."""
    text = translations(get_locale()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def lazy_gettext(message: str, **variables: object) -> LazyProxy:
    """A string translated when rendered, for module-level labels and error messages."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext
_l = lazy_gettext


def babel_locale(locale: str | None = None) -> Locale:
    try:
        return Locale.parse(locale or get_locale())
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def format_money(minor: int, currency: str, locale: str | None = None) -> str:
    """Integer minor units + ISO code → CLDR-formatted amount (``1 234,50 ₽``)."""
    digits = babel_numbers.get_currency_precision(currency)
    amount = Decimal(minor).scaleb(-digits)
    return babel_numbers.format_currency(amount, currency, locale=babel_locale(locale))


def minor_to_plain(minor: int, currency: str) -> str:
    """Minor units as a plain decimal for an input field (``129050`` RUB → ``1290.50``)."""
    digits = babel_numbers.get_currency_precision(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def format_number(value: int | float | Decimal, locale: str | None = None) -> str:
    return babel_numbers.format_decimal(value, locale=babel_locale(locale))


def format_percent(value: float | Decimal, locale: str | None = None) -> str:
    return babel_numbers.format_percent(value, locale=babel_locale(locale))


def _local(value: datetime, zone: str | None) -> datetime:
    """An instant in the store's zone (a naive value is taken as UTC, as the database hands it over)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(clock.zone(zone or get_timezone()))


def format_date(
    value: date | datetime, fmt: str = "medium", locale: str | None = None, zone: str | None = None
) -> str:
    """A calendar day; an instant counts on the store's day, not the UTC one."""
    day = _local(value, zone).date() if isinstance(value, datetime) else value
    return babel_dates.format_date(day, format=fmt, locale=babel_locale(locale))


def format_datetime(value: datetime, fmt: str = "medium", locale: str | None = None, zone: str | None = None) -> str:
    """An instant in the store's zone, in the locale's CLDR pattern."""
    return babel_dates.format_datetime(_local(value, zone), format=fmt, locale=babel_locale(locale))


def format_time(value: datetime, fmt: str = "short", locale: str | None = None, zone: str | None = None) -> str:
    return babel_dates.format_time(_local(value, zone), format=fmt, locale=babel_locale(locale))


def local_datetime(value: datetime, zone: str | None = None) -> datetime:
    """An instant as the store's wall-clock time (to prefill a ``datetime-local`` input)."""
    return _local(value, zone)


_REGIONS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


@cache
def timezones() -> tuple[str, ...]:
    """The IANA zones a store may choose: the canonical region/city names, and UTC."""
    names = {name for name in available_timezones() if name.startswith(_REGIONS)}
    return ("UTC", *sorted(names))


def _offset(name: str, at: datetime, locale: str) -> str:
    return babel_dates.get_timezone_gmt(at.astimezone(clock.zone(name)), "long", locale=babel_locale(locale))


@cache
def _timezone_choices(locale: str, day: date) -> tuple[tuple[str, str], ...]:
    noon = datetime.combine(day, datetime.min.time(), UTC).replace(hour=12)
    out = []
    for name in timezones():
        city = babel_dates.get_timezone_location(name, locale=babel_locale(locale), return_city=True)
        place = name.replace("_", " ") if city in (name, "") else f"{name.replace('_', ' ')} — {city}"
        out.append((name, f"{place} ({_offset(name, noon, locale)})"))
    return tuple(out)


def timezone_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """``(zone, label)`` for the settings select: the IANA name, the city in the locale's words (CLDR) and
    today's offset (``Europe/Moscow — Москва (GMT+03:00)``)."""
    return list(_timezone_choices(locale or get_locale(), clock.now().date()))


def currency_name(code: str, locale: str | None = None) -> str:
    return babel_numbers.get_currency_name(code, locale=babel_locale(locale))


def currency_choices(codes: Sequence[str], locale: str | None = None) -> list[tuple[str, str]]:
    return [(code, f"{code} — {currency_name(code, locale)}") for code in codes]


def country_name(code: str, locale: str | None = None) -> str:
    return babel_locale(locale).territories.get(code, code)


def country_choices(codes: Sequence[str], locale: str | None = None) -> list[tuple[str, str]]:
    return sorted(((code, country_name(code, locale)) for code in codes), key=lambda item: item[1])


def format_phone(e164: str | None, country: str | None = None) -> str:
    """A stored ``+79031112235`` as staff write it: the national format for a number of the store's
    ``country`` (``8 (903) 111-22-35`` in a Russian store), the international one for any other number."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    national = bool(country) and phonenumbers.region_code_for_number(number) == (country or "").upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)
