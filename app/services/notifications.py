"""What the store and the shopper are told when an order arrives (e-mail, sent by a background job)."""

from __future__ import annotations

from app.i18n import format_money, messages, use_locale
from app.services import audit, customers, form_answers, orders
from app.services.mail import (
    MailSettings,
    OrderMail,
    OrderMailLine,
    PaymentLinkMail,
    build_payment_link_message,
    send_email,
    send_order_emails,
)
from app.tables.stores import StaffProfile, StoreSetting
from app.tenancy.runtime import current_tenant


async def order_placed(order_id: int, public_url: str, settings: MailSettings) -> list[str]:
    """E-mail the shopper (in the language they ordered in) and the store's owner; returns the recipients."""
    tenant = current_tenant()
    order = await orders.get(order_id)
    store = await StoreSetting.select(StoreSetting.name, StoreSetting.locale).first() or {}
    owner = await StaffProfile.select(StaffProfile.email).where(StaffProfile.role == "owner").first() or {}
    base = public_url.rstrip("/")
    mail = OrderMail(
        store_name=store.get("name", tenant.name),
        store_email=owner.get("email"),
        store_locale=store.get("locale", tenant.locale),
        currency=order["currency"],
        order_number=order["number"],
        status_url=f"{base}/f/{tenant.slug}/o/{order['token']}",
        staff_url=f"{base}/s/{tenant.slug}/orders/{order['id']}",
        customer_name=order["customer_name"],
        customer_email=order["email"],
        customer_phone=order["phone"],
        lines=tuple(
            OrderMailLine(line["name"], line["quantity"], line["price_minor"], line["total_minor"])
            for line in order["lines"]
        ),
        subtotal_minor=order["subtotal_minor"],
        delivery_name=order["delivery_name"] or None,
        delivery_minor=order["delivery_minor"],
        discount_minor=order["discount_minor"],
        total_minor=order["total_minor"],
        shopper_locale=order["locale"],
        comment=order["comment"] or None,
        store_country=tenant.country,
        answers=await form_answers.of_order(order),
    )
    sent = await send_order_emails(mail, settings)
    if order["email"] and order["email"] in sent:
        await customers.add_event(
            order["customer"],
            customers.MESSAGE,
            order_id=order["id"],
            data={"channel": "email", "to": order["email"], "about": "order_placed", "number": order["number"]},
        )
    return sent


async def payment_link(
    order_id: int,
    recipient: str,
    public_url: str,
    settings: MailSettings,
    *,
    actor_id: int | None = None,
    actor: str = "",
) -> bool:
    """E-mail the order's payment link to ``recipient`` in the shopper's language; True once the server took it.

    A link the mail server took goes to the audit log (who sent it where); one it refused changes nothing,
    so the form can say so and be sent again.
    """
    order = await orders.get(order_id)
    sent = await _send_payment_link(order, recipient, public_url, settings)
    if sent:
        await audit.record(
            "order", order_id, "payment_link", actor_id=actor_id, actor=actor,
            summary=messages.gettext("#%(number)s: payment link to %(email)s", number=order["number"], email=recipient),
            after={"to": recipient, "sent": True},
        )  # fmt: skip
    return sent


async def _send_payment_link(order: dict, recipient: str, public_url: str, settings: MailSettings) -> bool:
    tenant = current_tenant()
    store = await StoreSetting.select(StoreSetting.name).first() or {}
    owner = await StaffProfile.select(StaffProfile.email).where(StaffProfile.role == "owner").first() or {}
    with use_locale(order["locale"] or tenant.locale):
        mail = PaymentLinkMail(
            store_name=store.get("name", tenant.name),
            store_email=owner.get("email"),
            recipient=recipient,
            customer_name=order["customer_name"] or "",
            order_number=order["number"],
            amount=format_money(order["total_minor"], order["currency"]),
            link=f"{public_url.rstrip('/')}/f/{tenant.slug}/o/{order['token']}",
        )
        try:
            message = build_payment_link_message(mail, settings)
        except ValueError:  # an address the e-mail library refuses
            return False
    return await send_email(message, settings)
