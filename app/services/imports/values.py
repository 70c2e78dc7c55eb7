"""Parsing of the scalar values feeds carry: money, quantities, flags, currency codes, languages."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision

MAX_MONEY_MINOR = 10**13
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_PLAIN_NUMBER = re.compile(r"^([0-9]+|[0-9]*\.[0-9]+)$")  # ASCII digits only: Decimal would read "٣" too
_SIMPLE_NUMBER = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")  # "1234" or "1234.50": most feed values, read directly
_EXCEL_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")

_CURRENCY_ALIASES = {
    "RUR": "RUB",
    "РУБ": "RUB",
    "РУБ.": "RUB",
    "Р.": "RUB",
    "Р": "RUB",
    "₽": "RUB",
    "643": "RUB",
    "РУБЛЬ": "RUB",
    "ГРН": "UAH",
    "ГРН.": "UAH",
    "₴": "UAH",
    "980": "UAH",
    "$": "USD",
    "840": "USD",
    "€": "EUR",
    "978": "EUR",
    "ТЕНГЕ": "KZT",
    "₸": "KZT",
    "398": "KZT",
    "BYR": "BYN",
    "933": "BYN",
}
_TRUE = {"true", "1", "yes", "y", "да", "так", "instock", "in stock", "in_stock", "+", "есть", "є"}
_FALSE = {"false", "0", "no", "n", "нет", "ні", "outofstock", "out of stock", "out_of_stock", "-"}
# Ukrainian is "ua" in Rozetka/Epicentr feeds, but the ISO 639-1 code we store is "uk".
_LANG_ALIASES = {"ua": "uk", "ukr": "uk", "rus": "ru", "eng": "en"}


class ValueProblem(ValueError):
    """A value that cannot be read; the caller turns it into a RowIssue."""


def clean_text(value: str | None) -> str | None:
    """Strip and collapse a text node; whitespace-only (as in many YML descriptions) becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


# Two whitespace characters in a row, or any whitespace other than a plain space.
_NEEDS_COLLAPSE = re.compile(r"\s\s|[^\S ]")


def clean_line(value: str | None) -> str | None:
    """A single-line value (name, model, id): inner runs of whitespace and line breaks collapse."""
    if not value:
        return None
    text = value.strip()
    if not text:
        return None
    # Most values are already clean; skip the split/join (a hot path on 100k-offer feeds).
    if _NEEDS_COLLAPSE.search(text) is None:
        return text
    return " ".join(text.split())


def parse_decimal(raw: str) -> Decimal:
    """Read "1 234,50", "1234.5", "500.000000", "1,234.50", ".5" without ever touching float."""
    if _SIMPLE_NUMBER.fullmatch(raw):
        return Decimal(raw)
    text = _SPACES.sub("", raw.strip())
    sign = text[:1] if text[:1] in "+-" else ""
    text = text[len(sign) :]
    if "," in text and "." in text:
        # Whichever separator comes last is the decimal one; the other must group thousands.
        point = "." if text.rfind(".") > text.rfind(",") else ","
        whole, _, fraction = text.rpartition(point)
        text = _ungroup(whole, "," if point == "." else ".", raw) + "." + fraction
    elif text.count(",") > 1 or text.count(".") > 1:
        text = _ungroup(text, "," if text.count(",") > 1 else ".", raw)
    text = text.replace(",", ".")
    if not _PLAIN_NUMBER.match(text):
        raise ValueProblem(raw)
    return Decimal(sign + text)


def _ungroup(text: str, separator: str, raw: str) -> str:
    if not re.fullmatch(r"[0-9]{1,3}(?:" + re.escape(separator) + r"[0-9]{3})+", text):
        raise ValueProblem(raw)
    return text.replace(separator, "")


@lru_cache(maxsize=64)
def minor_digits(currency: str | None) -> int:
    return get_currency_precision(currency) if currency else 2


def parse_money(raw: str, currency: str | None = None) -> int:
    """Amount in the currency's minor units (kopecks, cents); rounds half up past that precision."""
    amount = parse_decimal(raw)
    if amount < 0 or amount.adjusted() > 15:
        raise ValueProblem(raw)
    digits = minor_digits(currency)
    minor = int((amount.scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if minor > MAX_MONEY_MINOR:  # a line of 9999 such items in a 50-line order still fits a bigint
        raise ValueProblem(raw)
    return minor


def parse_quantity(raw: str) -> int:
    """Stock as a whole number; 1C writes "5.000", and fractional stock is rounded down."""
    amount = parse_decimal(raw)
    if amount.adjusted() > 15:
        raise ValueProblem(raw)
    return int(amount.quantize(Decimal(1), rounding=ROUND_DOWN))


def parse_bool(raw: str | None) -> bool | None:
    if raw is None:
        return None
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def normalize_currency(raw: str | None) -> str | None:
    """ISO 4217 code for "RUR", "руб", "грн", "643"...; None when the text is no currency we know."""
    text = clean_line(raw)
    if not text:
        return None
    upper = text.upper()
    if upper in _CURRENCY_ALIASES:
        return _CURRENCY_ALIASES[upper]
    if len(upper) == 3 and upper.isascii() and upper.isalpha():
        return upper
    return None


def normalize_lang(raw: str | None) -> str | None:
    text = clean_line(raw)
    if not text:
        return None
    code = text.replace("_", "-").split("-")[0].lower()
    return _LANG_ALIASES.get(code, code)


def looks_like_excel_number(raw: str) -> bool:
    """True for "4.6347E+11": Excel rewrote a long code as a float and its digits are gone."""
    return bool(_EXCEL_SCIENTIFIC.match(raw.strip()))
