"""One set of input rules for every entry point: text, bounded integers, money, dates and record ids.

Each rule takes the raw text a user, a file or a gateway sent and returns a clean value or raises
``Invalid`` with a translated message. Nothing here calls ``int()``, ``Decimal()`` or
``date.fromisoformat`` on text that has not first matched a strict ASCII pattern, so "²", "٣", "--1",
"1_000" or a thousand-digit number never reach a conversion, and every number has explicit bounds.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from app.i18n import gettext as _

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
# Record ids are PostgreSQL ``serial`` (int4) columns: a larger id is refused here, not by asyncpg.
ID_MAX = INT32_MAX
# The calendar we accept: old enough for a birthday, never past what PostgreSQL and Python both handle.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)

# C0 controls and DEL, except tab, line feed and carriage return (a textarea posts CRLF line breaks).
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:[.,][0-9]{1,6})?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::[0-9]{2})?")


class Invalid(ValueError):
    """The value breaks a rule; ``message`` is already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def has_forbidden(value: str) -> bool:
    """True when ``value`` holds NUL or another control character we never store."""
    return FORBIDDEN.search(value) is not None


def control_message() -> str:
    """What a refused control character is called in the user's language."""
    return _("Remove the control characters (such as NUL) from this text.")


def text(value: str | None, *, max_length: int = 200, min_length: int = 0, required: bool = False) -> str:
    """Trimmed text without control characters (CRLF becomes LF), within the length bounds."""
    cleaned = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if has_forbidden(cleaned):
        raise Invalid(control_message())
    if not cleaned:
        if required:
            raise Invalid(_("This field is required."))
        return ""
    if len(cleaned) > max_length:
        raise Invalid(_("Too long: at most %(max)s characters.", max=max_length))
    if len(cleaned) < min_length:
        raise Invalid(_("Too short: at least %(min)s characters.", min=min_length))
    return cleaned


def integer(value: str | int | None, *, low: int, high: int) -> int:
    """A whole number in ``[low, high]``, written with ASCII digits and at most one leading minus."""
    if isinstance(value, bool):
        raise Invalid(_("Enter a whole number."))
    if isinstance(value, int):
        number = value
    else:
        raw = (value or "").strip()
        if not _INTEGER.fullmatch(raw):
            raise Invalid(_("Enter a whole number."))
        number = int(raw)
    if not low <= number <= high:
        raise Invalid(_("Enter a number from %(low)s to %(high)s.", low=low, high=high))
    return number


def optional_integer(value: str | None, *, low: int, high: int) -> int | None:
    """``integer`` for a field that may be left empty (None)."""
    return integer(value, low=low, high=high) if (value or "").strip() else None


def decimal(value: str | None, *, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """A decimal number (point or comma, at most ``places`` decimals) in ``[low, high]``."""
    raw = (value or "").strip().replace("\u00a0", "").replace(" ", "")
    if not _DECIMAL.fullmatch(raw):
        raise Invalid(_("Enter a number, like 1250 or 1250.50."))
    number = Decimal(raw.replace(",", "."))
    if -number.as_tuple().exponent > places:  # type: ignore[operator]
        raise Invalid(_("Use at most %(places)s digits after the decimal point.", places=places))
    if not low <= number <= high:
        raise Invalid(_("Enter a number from %(low)s to %(high)s.", low=low, high=high))
    return number


def _date_of(raw: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("Enter a real date.")) from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise Invalid(
            _("Enter a date between %(low)s and %(high)s.", low=DATE_MIN.isoformat(), high=DATE_MAX.isoformat())
        )
    return day


def day(value: str | None) -> date:
    """A calendar date written ``YYYY-MM-DD``, between 1900-01-01 and 2100-12-31."""
    raw = (value or "").strip()
    if not _DAY.fullmatch(raw):
        raise Invalid(_("Enter a date as YYYY-MM-DD."))
    return _date_of(raw)


def optional_day(value: str | None) -> date | None:
    return day(value) if (value or "").strip() else None


def moment(value: str | None) -> datetime:
    """A local date and time as a browser's ``datetime-local`` sends it (``YYYY-MM-DDTHH:MM``), naive."""
    match = _MOMENT.fullmatch((value or "").strip())
    if not match:
        raise Invalid(_("Enter a date and time like 2026-05-31 18:00."))
    day_part, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise Invalid(_("Enter a date and time like 2026-05-31 18:00."))
    return datetime.combine(_date_of(day_part), datetime.min.time()).replace(hour=hour, minute=minute)


def record_id(value: str | int | None) -> int | None:
    """A database id from a query string, a form field or a path: 1..ID_MAX, else None (reads as not found)."""
    try:
        return integer(value, low=1, high=ID_MAX)
    except Invalid:
        return None
