"""Messages as data: a sentence stored as its English message id and parameters, rendered per viewer.

A report line, a run log entry or an audit summary is written once but read by people who work in
different languages. ``gettext`` here translates as usual and returns a ``Message``: a ``str`` (so
every caller, log and old text column keeps working) that also remembers its message id and
parameters. ``as_data`` turns it into a JSON-safe ``{"id": ..., "params": ...}`` for a JSONB column,
and ``render`` translates that again, in the locale of whoever reads it. Rows written before a column
existed have ``{}`` and show their stored text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.i18n import get_locale, translations


class Message(str):
    """Translated text that keeps ``msgid`` and ``params`` (survives pickling to a parser process)."""

    msgid: str
    params: dict[str, Any]
    plural: str | None  # the plural id of an ``ngettext`` message; its count is ``params["num"]``

    def __new__(cls, text: str, msgid: str, params: Mapping[str, Any], plural: str | None = None) -> Message:
        obj = super().__new__(cls, text)
        obj.msgid = msgid
        obj.params = dict(params)
        obj.plural = plural
        return obj

    def __reduce__(self) -> tuple:
        return (Message, (str(self), self.msgid, self.params, self.plural))


class Localized(str):
    """A name the store keeps per language (a status's names): shown in the current locale, stored whole."""

    names: dict[str, str]

    def __new__(cls, names: Mapping[str, str], fallback: str = "") -> Localized:
        obj = super().__new__(cls, _pick(names, get_locale()) or fallback)
        obj.names = {str(k): str(v) for k, v in names.items() if v} or {"en": fallback}
        return obj

    def __reduce__(self) -> tuple:
        return (Localized, (self.names, str(self)))


def _pick(names: Mapping[str, str], locale: str) -> str:
    return names.get(locale) or names.get("en") or next((v for v in names.values() if v), "")


def _plain(value: Any) -> Any:
    if isinstance(value, Localized):
        return {"names": value.names}
    if isinstance(value, Message):
        data = {"id": value.msgid, "params": {k: _plain(v) for k, v in value.params.items()}}
        return {**data, "plural": value.plural} if value.plural else data
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def gettext(message: str, **variables: Any) -> Message:
    """Translate ``message`` into the current locale, remembering the message id and ``variables``."""
    text = translations(get_locale()).ugettext(message)
    return Message(text % variables if variables else text, message, variables)


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Message:
    """The plural form for ``num`` (ru and uk have three), remembered with ``num`` so it renders per viewer."""
    params = {"num": num, **variables}
    return Message(translations(get_locale()).ungettext(singular, plural, num) % params, singular, params, plural)


def as_data(text: object) -> dict[str, Any]:
    """``{"id", "params"}`` for a ``Message`` (a nested message parameter is kept as data too); ``{}`` for plain text.

    A list of texts becomes ``{"all": [...]}`` (plain ones as ``{"text": ...}``), rendered joined by "; ".
    """
    if isinstance(text, list | tuple):
        data: Any = {"all": [as_data(part) or {"text": str(part)} for part in text]}
    elif isinstance(text, Message):
        data = _plain(text)
    else:
        return {}
    # Guard against parameters JSON cannot hold (the column is JSONB).
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))


def _param(value: Any, locale: str) -> Any:
    if isinstance(value, Mapping) and "id" in value:
        return render(value, "", locale=locale)
    if isinstance(value, Mapping) and isinstance(value.get("names"), Mapping):
        return _pick(value["names"], locale)
    return value


def render(data: Mapping[str, Any] | None, fallback: str = "", *, locale: str | None = None) -> str:
    """The stored message in ``locale`` (the viewer's by default); ``fallback`` when there is none or it breaks."""
    locale = locale or get_locale()
    if data and isinstance(data.get("all"), list):
        parts = [render(p, str(p.get("text", "")), locale=locale) for p in data["all"] if isinstance(p, Mapping)]
        return "; ".join(part for part in parts if part) or fallback
    msgid = data.get("id") if data else None
    if not isinstance(msgid, str):
        return fallback
    params = data.get("params") or {}
    plural, num = data.get("plural"), params.get("num") if isinstance(params, Mapping) else None
    if isinstance(plural, str) and isinstance(num, int):
        text = translations(locale).ungettext(msgid, plural, num)
    else:
        text = translations(locale).ugettext(msgid)
    if not isinstance(params, Mapping) or not params:
        return text
    try:
        return text % {key: _param(value, locale) for key, value in params.items()}
    except (KeyError, TypeError, ValueError):
        return fallback or msgid
