"""Transactional e-mail over SMTP: order confirmations for the shopper and new-order notices for the store."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import partial
from pathlib import Path

import aiosmtplib
from jinja2 import Environment, FileSystemLoader

from app.i18n import format_money, format_phone, get_locale, translations, use_locale
from app.i18n import gettext as _
from app.services.form_answers import Answer

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_SENDER = "AutoOffice <no-reply@autooffice.local>"


@dataclass(frozen=True)
class MailSettings:
    """SMTP connection; ``host=None`` disables outgoing mail."""

    host: str | None
    port: int = 25
    username: str | None = None
    # repr=False: a logged or printed settings object must never reveal the password.
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    use_tls: bool = False
    sender: str = DEFAULT_SENDER
    timeout: float = 10.0


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def mail_settings_from_env() -> MailSettings:
    """Read ``AUTOOFFICE_SMTP_*``; the port defaults to 465 with TLS, 587 with STARTTLS, else 25."""
    use_tls = _env_bool("AUTOOFFICE_SMTP_TLS")
    starttls = _env_bool("AUTOOFFICE_SMTP_STARTTLS") and not use_tls
    raw_port = os.environ.get("AUTOOFFICE_SMTP_PORT", "").strip()
    port = int(raw_port) if raw_port else (465 if use_tls else 587 if starttls else 25)
    return MailSettings(
        host=os.environ.get("AUTOOFFICE_SMTP_HOST", "").strip() or None,
        port=port,
        username=os.environ.get("AUTOOFFICE_SMTP_USER") or None,
        password=os.environ.get("AUTOOFFICE_SMTP_PASSWORD") or None,
        starttls=starttls,
        use_tls=use_tls,
        sender=os.environ.get("AUTOOFFICE_SMTP_FROM", "").strip() or DEFAULT_SENDER,
    )


@dataclass(frozen=True)
class OrderMailLine:
    name: str
    quantity: int
    price_minor: int
    total_minor: int


@dataclass(frozen=True)
class OrderMail:
    """Everything both order e-mails show; amounts are integer minor units of ``currency``."""

    store_name: str
    store_email: str | None
    store_locale: str
    currency: str
    order_number: str
    status_url: str
    staff_url: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    lines: tuple[OrderMailLine, ...]
    subtotal_minor: int
    delivery_name: str | None
    delivery_minor: int
    discount_minor: int
    total_minor: int
    shopper_locale: str
    comment: str | None = None
    store_country: str = ""  # phones of this country are shown in its national format
    answers: tuple[Answer, ...] = ()  # to the store's own questions, labelled in each language


def _jinja_gettext(message: str) -> str:
    return translations(get_locale()).ugettext(message)


def _jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ungettext(singular, plural, n)


def _autoescape(name: str | None) -> bool:
    """Every template ends in .html for Babel; only the ``*_text.html`` plain-text bodies go unescaped."""
    return not (name or "").endswith("_text.html")


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=_autoescape,  # noqa: S701 - on for every template except the plain-text bodies
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["phone"] = format_phone  # {{ mail.customer_phone|phone(mail.store_country) }}
    return env


_ENV = _build_environment()


def _one_line(value: str) -> str:
    """Collapse whitespace so user text cannot break out of a header."""
    return " ".join(value.split())


def _render(template: str, mail: OrderMail, locale: str) -> str:
    return _ENV.get_template(template).render(
        mail=mail,
        locale=locale,
        money=partial(format_money, currency=mail.currency, locale=locale),
        item_count=sum(line.quantity for line in mail.lines),
    )


def _set_reply_to(message: EmailMessage, name: str, address: str | None) -> None:
    if not address:
        return
    try:
        message["Reply-To"] = Address(_one_line(name), addr_spec=address)
    except ValueError:
        logger.info("Reply-To %r skipped: not a valid address", address)  # the mail itself still goes out


def _compose(mail: OrderMail, settings: MailSettings, kind: str, recipient: str) -> EmailMessage:
    """One multipart/alternative message (text first, HTML preferred) in the current locale."""
    locale = get_locale()
    sender_name, sender_address = parseaddr(settings.sender)
    message = EmailMessage()
    if kind == "shopper":
        message["Subject"] = _one_line(_("Order %(number)s received", number=mail.order_number))
        # Shoppers know the store, not AutoOffice: its name on our sending address, and replies go to the store.
        message["From"] = formataddr((_one_line(mail.store_name), sender_address))
        message["To"] = Address(_one_line(mail.customer_name), addr_spec=recipient)
        _set_reply_to(message, mail.store_name, mail.store_email)
    else:
        message["Subject"] = _one_line(_("New order %(number)s", number=mail.order_number))
        message["From"] = formataddr((sender_name, sender_address))
        message["To"] = Address(_one_line(mail.store_name), addr_spec=recipient)
        _set_reply_to(message, mail.customer_name, mail.customer_email)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "autooffice.local")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to a no-reply box
    message.set_content(_render(f"emails/order_{kind}_text.html", mail, locale), charset="utf-8")
    message.add_alternative(_render(f"emails/order_{kind}.html", mail, locale), subtype="html", charset="utf-8")
    message["Content-Language"] = locale  # after set_content(), which clears every Content-* header
    return message


def build_order_messages(mail: OrderMail, settings: MailSettings) -> list[tuple[str, EmailMessage]]:
    """The (recipient, message) pairs of an order: shopper first, then the store; skips missing or bad addresses."""
    specs = (("shopper", mail.customer_email, mail.shopper_locale), ("store", mail.store_email, mail.store_locale))
    messages: list[tuple[str, EmailMessage]] = []
    for kind, recipient, locale in specs:
        if not recipient:
            continue
        with use_locale(locale):
            try:
                messages.append((recipient, _compose(mail, settings, kind, recipient)))
            except ValueError as exc:  # an address the e-mail library rejects (header defects are ValueErrors)
                logger.warning("Order %s: %s e-mail not built: %s", mail.order_number, kind, exc)
    return messages


def _redact(text: str, settings: MailSettings) -> str:
    return text.replace(settings.password, "***") if settings.password else text


def _warn(settings: MailSettings, what: str, exc: BaseException) -> None:
    """Log a delivery failure with host and error only; the password is scrubbed even from server replies."""
    logger.warning(
        "SMTP %s via %s:%s failed: %s: %s",
        what,
        settings.host,
        settings.port,
        type(exc).__name__,
        _redact(str(exc), settings),
    )


async def deliver(messages: list[tuple[str, EmailMessage]], settings: MailSettings) -> list[str]:
    """Send ``messages`` over one SMTP session; never raises, returns the recipients that were accepted."""
    if not messages:
        return []
    if settings.host is None:
        logger.info("Mail is disabled (no AUTOOFFICE_SMTP_HOST); %d message(s) not sent", len(messages))
        return []
    sent: list[str] = []
    client = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        use_tls=settings.use_tls,
        start_tls=settings.starttls and not settings.use_tls,
        timeout=settings.timeout,
    )
    try:
        async with client:
            for recipient, message in messages:
                try:
                    await client.send_message(message, recipients=[recipient])
                except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
                    # A refused recipient or message must not stop the other one from going out.
                    _warn(settings, f"delivery to {recipient}", exc)
                    continue
                sent.append(recipient)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        _warn(settings, "session", exc)
    return sent


async def send_email(message: EmailMessage, settings: MailSettings) -> bool:
    """Send one message to its ``To`` address; False when mail is disabled or delivery failed."""
    recipient = message["To"].addresses[0].addr_spec if message["To"] else ""
    return bool(recipient) and bool(await deliver([(recipient, message)], settings))


async def send_order_emails(mail: OrderMail, settings: MailSettings) -> list[str]:
    """Mail the shopper (in ``shopper_locale``) and the store (in ``store_locale``); return who received it.

    Never raises on delivery problems: failures are logged (without the password) and left out of the result.
    """
    return await deliver(build_order_messages(mail, settings), settings)


@dataclass(frozen=True)
class PaymentLinkMail:
    """A payment link staff send to a shopper from the order card."""

    store_name: str
    store_email: str | None
    recipient: str
    customer_name: str
    order_number: str
    amount: str  # already formatted in the shopper's locale
    link: str


def build_payment_link_message(mail: PaymentLinkMail, settings: MailSettings) -> EmailMessage:
    """One plain-text message in the current locale, from the store's name; replies go to the store."""
    _sender_name, sender_address = parseaddr(settings.sender)
    message = EmailMessage()
    message["Subject"] = _one_line(_("Payment link for order %(number)s", number=mail.order_number))
    message["From"] = formataddr((_one_line(mail.store_name), sender_address))
    message["To"] = Address(_one_line(mail.customer_name), addr_spec=mail.recipient)
    _set_reply_to(message, mail.store_name, mail.store_email)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "autooffice.local")
    message["Auto-Submitted"] = "auto-generated"
    greeting = _("Hello, %(name)s!", name=mail.customer_name) if mail.customer_name else _("Hello!")
    body = "\n\n".join(
        [
            greeting,
            _(
                "Your order %(number)s at %(store)s comes to %(amount)s. You can pay for it here:",
                number=mail.order_number,
                store=mail.store_name,
                amount=mail.amount,
            ),
            mail.link,
            _("If you have already paid, please ignore this message."),
        ]
    )
    message.set_content(body + "\n", charset="utf-8")
    message["Content-Language"] = get_locale()
    return message


@dataclass(frozen=True)
class InvitationMail:
    """An invitation to join a store's staff; ``link`` is the signed, single-use accept link."""

    recipient: str
    store_name: str
    inviter: str
    role_label: str
    link: str
    days: int


def build_invitation_message(mail: InvitationMail, settings: MailSettings) -> EmailMessage:
    """The invitation in the current locale (the caller picks it), text and HTML."""
    _sender_name, sender_address = parseaddr(settings.sender)
    message = EmailMessage()
    message["Subject"] = _one_line(_("Join %(store)s on AutoOffice", store=mail.store_name))
    message["From"] = formataddr((_one_line(mail.store_name), sender_address))
    message["To"] = Address("", addr_spec=mail.recipient)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "autooffice.local")
    message["Auto-Submitted"] = "auto-generated"
    text = _ENV.get_template("emails/staff_invitation_text.html").render(mail=mail)
    message.set_content(text, charset="utf-8")
    html = _ENV.get_template("emails/staff_invitation.html").render(mail=mail)
    message.add_alternative(html, subtype="html", charset="utf-8")
    message["Content-Language"] = get_locale()
    return message


def simple_message(recipient: str, subject: str, body: str, settings: MailSettings, *, name: str = "") -> EmailMessage:
    """A plain-text message in the current locale (task reminders, automation e-mails).

    Raises:
        ValueError: ``recipient`` is not an e-mail address.
    """
    sender_name, sender_address = parseaddr(settings.sender)
    message = EmailMessage()
    message["Subject"] = _one_line(subject)[:300]
    message["From"] = formataddr((sender_name, sender_address))
    message["To"] = Address(_one_line(name), addr_spec=recipient)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "autooffice.local")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    message["Content-Language"] = get_locale()
    return message
