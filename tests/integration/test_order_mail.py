"""A new order e-mails the shopper and the store through SMTP (a local sink), from a background job."""

from __future__ import annotations

import email
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from app import jobs
from app.services import orders
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import make_store

pytestmark = pytest.mark.integration


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


async def test_new_order_mails_shopper_and_store_in_their_languages(runtime, monkeypatch) -> None:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(port))
    try:
        store = await make_store("mail-shop", locale="ru")
        async with tenancy.bind_tenant(store.tenant):
            draft = orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 129050, 1),),
                currency="RUB",
                customer_name="Jane",
                phone="+79120000009",
                email="jane@example.com",
                locale="en",
            )
            order, _ = await orders.create_order(draft)
        await jobs.defer_order_mail(store.slug, order["id"])
        await jobs.run_worker(wait=False)
    finally:
        controller.stop()
    by_rcpt = {rcpt[0]: message for rcpt, message in sink.messages}
    assert set(by_rcpt) == {"jane@example.com", store.email}
    assert order["number"] in by_rcpt["jane@example.com"]["Subject"]
    shopper_text = by_rcpt["jane@example.com"].get_body(("plain",)).get_content()
    assert "1,290.50" in shopper_text  # English for the shopper
    store_text = by_rcpt[store.email].get_body(("plain",)).get_content()
    assert "Чайник" in store_text and "Заказ" in by_rcpt[store.email]["Subject"] + store_text
