"""Order e-mails: languages, Babel money, HTML escaping and failure handling, against a local SMTP sink."""

from __future__ import annotations

import dataclasses
import email
import logging
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from app.services import mail
from app.services.mail import MailSettings, OrderMail, OrderMailLine, send_order_emails
from tests.procs import free_port

pytestmark = pytest.mark.unit

PASSWORD = "s3cret-Пароль-42"


class Sink:
    """aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: object, session: object, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def received(self) -> dict[str, EmailMessage]:
        out: dict[str, EmailMessage] = {}
        for envelope in self.envelopes:
            parsed = email.message_from_bytes(envelope.original_content or b"", policy=policy.default)
            for rcpt in envelope.rcpt_tos:
                out[rcpt] = parsed  # type: ignore[assignment]
        return out


@pytest.fixture(scope="module")
def sink_server() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def sink(sink_server: tuple[Sink, int]) -> Sink:
    sink_server[0].envelopes.clear()
    return sink_server[0]


@pytest.fixture
def settings(sink_server: tuple[Sink, int]) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=sink_server[1], timeout=2.0)


def order(**overrides: object) -> OrderMail:
    base = OrderMail(
        store_name="Магазин «Ромашка»",
        store_email="shop@example.com",
        store_locale="ru",
        currency="RUB",
        order_number="A-1001",
        status_url="https://shop.example/f/romashka/orders/tok123",
        staff_url="https://crm.example/s/romashka/orders/17",
        customer_name="Олена Петренко",
        customer_email="olena@example.com",
        customer_phone="+380671234567",
        lines=(OrderMailLine("Чайник «Утро»", 2, 129050, 258100), OrderMailLine("Кружка", 1, 50000, 50000)),
        subtotal_minor=308100,
        delivery_name="Нова Пошта",
        delivery_minor=9000,
        discount_minor=10000,
        total_minor=307100,
        shopper_locale="ru",
        comment="Позвоните перед доставкой",
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def plain_spaces(value: str) -> str:
    return value.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("shopper", "store", "currency", "words", "shopper_money", "store_money"),
    [
        ("ru", "uk", "RUB", ("Заказ", "Нове замовлення", "Итого", "Разом"), "1 290,50 ₽", "1 290,50 RUB"),
        ("uk", "en", "UAH", ("Замовлення", "New order", "Разом", "Total"), "1 290,50 ₴", "UAH1,290.50"),
        ("en", "ru", "RUB", ("Order", "Новый заказ", "Total", "Итого"), "RUB1,290.50", "1 290,50 ₽"),
    ],
)
async def test_shopper_and_store_each_get_mail_in_their_language(
    sink: Sink,
    settings: MailSettings,
    shopper: str,
    store: str,
    currency: str,
    words: tuple[str, str, str, str],
    shopper_money: str,
    store_money: str,
) -> None:
    sent = await send_order_emails(order(shopper_locale=shopper, store_locale=store, currency=currency), settings)

    assert sent == ["olena@example.com", "shop@example.com"]
    received = sink.received()
    to_shopper, to_store = received["olena@example.com"], received["shop@example.com"]
    assert words[0] in to_shopper["Subject"] and "A-1001" in to_shopper["Subject"]
    assert words[1] in to_store["Subject"] and "A-1001" in to_store["Subject"]
    for message, word, money, locale in (
        (to_shopper, words[2], shopper_money, shopper),
        (to_store, words[3], store_money, store),
    ):
        text, html = parts(message)
        assert word in text and word in html
        assert money in plain_spaces(text) and money in plain_spaces(html)
        assert "Чайник «Утро»" in text and "Чайник «Утро»" in html
        assert message["Content-Language"] == locale
    assert "/orders/tok123" in parts(to_shopper)[1] and "/orders/17" in parts(to_store)[1]
    assert "Олена Петренко" in str(to_shopper["To"]) and "+380 67 123 4567" in parts(to_store)[0]


async def test_message_is_utf8_multipart_alternative_with_id_and_date(sink: Sink, settings: MailSettings) -> None:
    await send_order_emails(order(), settings)

    received = sink.received()
    message = received["olena@example.com"]
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())
    assert message["Message-ID"].startswith("<") and message["Date"]
    assert message["Message-ID"] != received["shop@example.com"]["Message-ID"]
    # Replies reach a person: the shopper writes to the store, the store answers the shopper.
    assert message["Reply-To"].addresses[0].addr_spec == "shop@example.com"
    assert received["shop@example.com"]["Reply-To"].addresses[0].addr_spec == "olena@example.com"


async def test_html_part_escapes_a_malicious_customer_name(sink: Sink, settings: MailSettings) -> None:
    evil = "<script>alert('x')</script> Іван"
    await send_order_emails(order(customer_name=evil, comment="<b>hi</b>"), settings)

    for message in sink.received().values():
        text, html = parts(message)
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "<b>hi</b>" not in html
        assert evil in text


async def test_nobody_is_mailed_without_addresses(sink: Sink, settings: MailSettings) -> None:
    assert await send_order_emails(order(customer_email=None, store_email=None), settings) == []
    assert await send_order_emails(order(customer_email=None), settings) == ["shop@example.com"]
    assert [envelope.rcpt_tos for envelope in sink.envelopes] == [["shop@example.com"]]


async def test_a_refused_recipient_does_not_stop_the_other(
    sink: Sink, settings: MailSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        sent = await send_order_emails(order(customer_email="refused@example.com"), settings)

    assert sent == ["shop@example.com"]
    assert list(sink.received()) == ["shop@example.com"] and "refused@example.com" in caplog.text


async def test_disabled_mail_returns_nothing_without_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=mail.__name__):
        assert await send_order_emails(order(), MailSettings(host=None)) == []
    assert "disabled" in caplog.text


async def test_unreachable_server_returns_nothing_and_never_logs_the_password(caplog: pytest.LogCaptureFixture) -> None:
    settings = MailSettings(host="127.0.0.1", port=free_port(), username="shop", password=PASSWORD, timeout=1.0)
    with caplog.at_level(logging.INFO):
        assert await send_order_emails(order(), settings) == []
    assert "failed" in caplog.text and PASSWORD not in caplog.text
    assert PASSWORD not in repr(settings)


async def test_smtp_error_is_logged_without_password(
    sink: Sink, settings: MailSettings, caplog: pytest.LogCaptureFixture
) -> None:
    # The sink offers no AUTH, so logging in fails with an SMTP error after connecting.
    with_login = dataclasses.replace(settings, username="shop", password=PASSWORD)
    with caplog.at_level(logging.INFO):
        assert await send_order_emails(order(), with_login) == []
    assert sink.envelopes == [] and "AUTH" in caplog.text and PASSWORD not in caplog.text


def test_settings_from_env_pick_the_port_for_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS", "TLS", "FROM"):
        monkeypatch.delenv(f"AUTOOFFICE_SMTP_{name}", raising=False)
    assert mail.mail_settings_from_env().host is None
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("AUTOOFFICE_SMTP_STARTTLS", "true")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PASSWORD", PASSWORD)
    configured = mail.mail_settings_from_env()
    assert (configured.host, configured.port, configured.starttls, configured.password) == (
        "smtp.example.com",
        587,
        True,
        PASSWORD,
    )
    assert PASSWORD not in repr(configured)
    monkeypatch.setenv("AUTOOFFICE_SMTP_TLS", "1")
    assert (mail.mail_settings_from_env().port, mail.mail_settings_from_env().starttls) == (465, False)
