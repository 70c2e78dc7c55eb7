"""Headers that carry user text (htmx events, download file names) stay latin-1 in any language."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.controllers._htmx import content_disposition, header_json, hx_redirect, toast_headers, trigger

pytestmark = pytest.mark.unit

TEXTS = ["Статус изменён.", "Статус змінено. «Їжак» і ґанок", "Saved.", 'quote " and \\ backslash', "emoji 🎉"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_toast_in_any_language_is_an_ascii_header_that_decodes_back(text: str) -> None:
    [(name, value)] = toast_headers(text).items()
    assert name == "HX-Trigger"
    assert value.isascii() and value.encode("latin-1")  # what an HTTP header may carry
    assert json.loads(value) == {"toast": {"message": text}}


def test_trigger_names_the_header_for_each_moment_and_escapes_params() -> None:
    assert list(trigger("x", after="settle")) == ["HX-Trigger-After-Settle"]
    assert list(trigger("x", after="swap")) == ["HX-Trigger-After-Swap"]
    assert json.loads(trigger("refresh")["HX-Trigger"]) == {"refresh": {}}
    assert header_json({"ключ": ["ї"]}) == '{"\\u043a\\u043b\\u044e\\u0447":["\\u0457"]}'


@pytest.mark.parametrize(
    ("filename", "fallback"),
    [
        ("segment-7.csv", "segment-7.csv"),
        ("Постоянные клиенты.xlsx", "_ _.xlsx"),
        ("Счёт №15.pdf", "_ No15.pdf"),
        ('bad"name\r\n.csv', "bad_name.csv"),
    ],
)
def test_a_file_name_in_any_language_has_an_ascii_fallback_and_the_utf8_name(filename: str, fallback: str) -> None:
    value = content_disposition(filename)
    assert value.isascii() and "\r" not in value and "\n" not in value
    # The standard library's RFC 2231/5987 reader, not our code, decides what a browser would save.
    expected = filename.replace("\r", "").replace("\n", "")
    ascii_part, _sep, utf8_part = value.partition("; filename*=")
    assert saved_name(ascii_part) == fallback
    assert saved_name(f"attachment; filename*={utf8_part}" if utf8_part else ascii_part) == expected


def saved_name(disposition: str) -> str | None:
    message = EmailMessage()
    message["Content-Disposition"] = disposition
    return message.get_filename()


def test_inline_disposition_and_an_empty_name() -> None:
    assert content_disposition("invoice-A-1.pdf", "inline") == 'inline; filename="invoice-A-1.pdf"'
    assert content_disposition("") == 'attachment; filename="download"'


def test_an_htmx_redirect_to_a_cyrillic_url_is_percent_encoded() -> None:
    response = hx_redirect("/s/demo/customers/?q=Анна")
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/s/demo/customers/?q=%D0%90%D0%BD%D0%BD%D0%B0"


APP = Path(__file__).resolve().parents[2] / "app"
# litestar-htmx's helpers put their JSON in headers without escaping; only controllers/_htmx.py builds these.
BY_HAND = re.compile(
    r"trigger_event\s*=|TriggerEvent\(|ClientRedirect\(|HXLocation\(|PushUrl\(|ReplaceUrl\(|Reswap\(|Retarget\("
    r"|[\"']HX-[A-Za-z-]+[\"']\s*:|[\"']Content-Disposition[\"']\s*:\s*f?[\"']",
    re.IGNORECASE,
)


def test_nothing_but_the_helper_builds_headers_that_carry_user_text() -> None:
    offenders = [
        f"{path.relative_to(APP)}:{number}: {line.strip()}"
        for path in APP.rglob("*.py")
        if path.name != "_htmx.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BY_HAND.search(line)
    ]
    assert offenders == [], "use app.controllers._htmx (trigger, toast_headers, hx_redirect, content_disposition)"
