"""The page's own form: found in the rendered HTML with lxml, filled with valid values by field type,
and hostile values to put in its fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from urllib.parse import urlsplit

import lxml.html

# One per kind the issue names: NUL, ESC, 10 kB, a superscript digit, an Arabic-Indic digit, a doubled sign,
# 10^20, a negative number and dates at both ends of what a date type can hold.
HOSTILE = (
    "a\x00b",
    "\x1b[2J",
    "x" * 10240,
    "²",
    "٣",
    "--1",
    str(10**20),
    "-1",
    "0001-01-01",
    "9999-12-31",
)
# Path ids past int64, below zero and zero-padded.
HOSTILE_IDS = (str(10**20), "9223372036854775808", "-1", "00000000000000000001")
MALFORMED_MULTIPART = (
    "multipart/form-data; boundary=walker",
    b"--walker\r\nContent-Disposition: form-data; name=\"a\r\n\r\nno end",
)
WRONG_TYPE = ("application/json", b'{"not": "a form"')

VALID_BY_TYPE = {
    "email": "walker@example.com",
    "tel": "+79161234567",
    "number": "1",
    "date": "2026-06-15",
    "datetime-local": "2026-06-15T10:30",
    "time": "10:30",
    "month": "2026-06",
    "url": "https://example.com/feed.xml",
    "password": "walker-password-123",
    "color": "#336699",
    "search": "walker",
}
VALID_BY_NAME = {
    "phone": "+79161234567",
    "email": "walker@example.com",
    "slug": "walker-new",
    "code": "walker",
    "origins": "https://shop.example.com",
    "allowed_origins": "https://shop.example.com",
    "currency": "RUB",
}


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, valid value), in document order
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type (text, hidden, select, ...)
    files: list[str] = field(default_factory=list)

    def editable(self) -> list[str]:
        """Field names a person types or picks (a hostile value goes there); CSRF and form tokens excluded."""
        seen: list[str] = []
        for name, _value in self.fields:
            if name in seen or "csrf" in name or self.kinds.get(name) == "submit":
                continue
            if self.kinds.get(name) == "hidden" and name in ("t", "token", "form_token"):
                continue
            seen.append(name)
        return seen

    def with_value(self, names: list[str], value: str) -> list[tuple[str, str]]:
        return [(n, value if n in names else v) for n, v in self.fields]


def _path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or "/"


def _valid(element: lxml.html.HtmlElement, kind: str, overrides: dict[str, str]) -> str | None:
    name = element.get("name", "")
    for pattern, given in overrides.items():
        if fnmatch(name, pattern):
            return given
    value = element.get("value")
    if value or kind == "hidden" or (element.get("required") is None and not any(k in name for k in VALID_BY_NAME)):
        return value or ""  # an optional field left as the page shows it
    if kind == "number":
        low = element.get("min")
        return low if low and low.lstrip("-").isascii() and float(low) > 0 else "1"
    if kind == "text" and element.get("inputmode") in ("numeric", "decimal"):
        return "1"
    for key, guess in VALID_BY_NAME.items():
        if key in name:
            return guess
    return VALID_BY_TYPE.get(kind, "Walker value")


def _option_value(option: lxml.html.HtmlElement) -> str:
    value = option.get("value")
    return option.text_content() if value is None else value


def _fields(form: lxml.html.HtmlElement, result: Form, overrides: dict[str, str]) -> None:
    submitted = False
    for element in form.iter("input", "select", "textarea", "button"):
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        tag = element.tag
        kind = (element.get("type") or ("submit" if tag == "button" else "text")).lower()
        if tag in ("select", "textarea"):
            kind = tag
        result.kinds.setdefault(name, kind)
        if kind in ("submit", "image", "reset", "button"):
            if not submitted and kind == "submit" and element.get("formaction") is None:  # the form's own button
                submitted = True
                result.fields.append((name, element.get("value", "")))
            continue
        if kind == "file":
            result.files.append(name)
            continue
        given = next((v for pattern, v in overrides.items() if fnmatch(name, pattern)), None)
        if given is not None and kind not in ("checkbox", "radio"):
            if not any(n == name for n, _v in result.fields):
                result.fields.append((name, given))
            continue
        if kind in ("checkbox", "radio"):
            if element.get("checked") is not None or (kind == "radio" and not any(n == name for n, _ in result.fields)):
                result.fields.append((name, element.get("value", "on")))
            continue
        if tag == "select":
            options = [o for o in element.iter("option") if o.get("disabled") is None]
            chosen = [o for o in options if o.get("selected") is not None]
            filled = [o for o in options if _option_value(o).strip()]
            pick = chosen or filled or options  # a "Choose…" option with an empty value is not a choice
            for option in pick[: (len(pick) if element.get("multiple") is not None and chosen else 1)]:
                result.fields.append((name, _option_value(option).strip()))
            continue
        if tag == "textarea":
            typed = element.text_content() or _valid(element, "textarea", overrides)
            result.fields.append((name, typed or "Walker note"))
            continue
        result.fields.append((name, _valid(element, kind, overrides) or ""))


def find_form(
    html: str, page_url: str, action_path: str, selector: str | None = None, *,
    method: str = "post", overrides: dict[str, str] | None = None,
) -> Form | None:  # fmt: skip
    """The form on the page that sends ``method`` to ``action_path`` (or the one the XPath ``selector`` names)."""
    if not html.strip():
        return None
    document = lxml.html.document_fromstring(html)
    for element in document.xpath(selector) if selector else document.forms:
        sends = "post" if element.get("hx-post") else (element.get("method") or "get").lower()
        sent_to = [a for a in (element.get("hx-post"), element.get("action")) if a is not None]
        targets = {_path(a) if a else _path(page_url) for a in sent_to}
        if selector is None and (sends != method or _path(action_path) not in targets):
            continue
        multipart = (element.get("enctype") or "").lower() == "multipart/form-data"
        action = element.get("action") or page_url
        result = Form(action=action if _path(action) == _path(action_path) else action_path, method=sends,
                      multipart=multipart)  # fmt: skip
        _fields(element, result, overrides or {})
        present = {name for name, _value in result.fields}
        # A valid value for a field the page adds only after a choice (htmx), e.g. a segment rule's operator.
        result.fields += [(n, v) for n, v in (overrides or {}).items() if n not in present and "*" not in n]
        return result
    return None


def html_lang(html: str) -> str | None:
    head = html[:2000].lower()
    start = head.find("<html")
    if start < 0:
        return None
    tag = head[start : head.find(">", start)]
    marker = 'lang="'
    if marker not in tag:
        return None
    return tag.split(marker, 1)[1].split('"', 1)[0]


ERROR_TEXT = re.compile(r'data-testid="(?:form-)?error(?:-[\w-]+)?"[^>]*>([^<]+)')


def error_texts(html: str) -> list[str]:
    """What the page says went wrong: field errors and form errors (data-testid="error-…"/"form-error")."""
    said = [text.strip() for text in ERROR_TEXT.findall(html) if text.strip()]
    if 'class="card error-card"' in html or "auth-card error-card" in html:  # an error page: its title and detail
        card = lxml.html.fromstring(html).xpath("//section[contains(@class, 'error-card')]")
        said += [p.text_content().strip() for p in card[0].xpath("./h1|./p[not(@class)]")] if card else []
    return said


def visible_text(html: str) -> str:
    try:
        document = lxml.html.fromstring(html)
    except Exception:
        return html
    for bad in document.xpath("//script|//style"):
        bad.drop_tree()
    return document.text_content()
