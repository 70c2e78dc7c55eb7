"""Hosted order forms: signed form tokens, the goods a form offers, and validating a shopper's submission."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import Gone, NotFound
from app.forms import _fields, rules
from app.i18n import gettext as _
from app.services import customers, outbox
from app.services.orders import LineDraft, OrderDraft
from app.tables.catalog import Category, Offer
from app.tables.forms import FormDraft, OrderForm
from app.tenancy.runtime import store_transaction

DEFAULT_FORM = "order"  # the form every store is created with
TOKEN_TTL = 24 * 3600
MAX_COMMENT = 2000
MAX_LINES = 50
OFFER_LIMIT = 60
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


@dataclass(frozen=True)
class FormToken:
    issued: int
    nonce: str


def sign_token(secret: str, slug: str, code: str, *, issued: int | None = None, nonce: str | None = None) -> str:
    issued = int(time.time()) if issued is None else issued
    nonce = nonce or secrets.token_urlsafe(16)
    message = f"{slug}:{code}:{issued}:{nonce}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"{issued}.{nonce}.{signature}"


def verify_token(secret: str, slug: str, code: str, token: str, *, now: float | None = None) -> FormToken | None:
    """The token's issue time and nonce if it was signed by us for this form and has not expired."""
    parts = (token or "").split(".")
    if len(parts) != 3 or len(token) > 200:
        return None
    try:
        issued = rules.integer(parts[0], low=0, high=rules.INT64_MAX)
    except rules.Invalid:
        return None
    nonce = parts[1]
    expected = sign_token(secret, slug, code, issued=issued, nonce=nonce)
    if not hmac.compare_digest(expected, token):
        return None
    if not 0 <= (now or time.time()) - issued <= TOKEN_TTL:
        return None
    return FormToken(issued, nonce)


async def get_form(code: str) -> dict:
    """The active form ``code``.

    Raises:
        NotFound: no such form.
        Gone: the form was switched off.
    """
    form = await OrderForm.select().where(OrderForm.code == code[:40]).output(load_json=True).first()
    if form is None:
        raise NotFound(_("This order form does not exist."))
    if not form["active"]:
        raise Gone(_("This order form no longer takes orders."))
    return form


async def page_form(code: str) -> dict:
    """Form ``code`` even if switched off (an order's own pages outlive its form), else the store's form.

    Raises:
        NotFound: the store has no such form and no form at all.
    """
    form = await OrderForm.select().where(OrderForm.code == code[:40]).output(load_json=True).first()
    form = form or await OrderForm.select().order_by(OrderForm.id).output(load_json=True).first()
    if form is None:
        raise NotFound(_("This order form does not exist."))
    return form


async def home_form_code() -> str | None:
    """Where a lost shopper goes back to: the store's ``order`` form if active, else its first active one."""
    rows = await OrderForm.select(OrderForm.code).where(OrderForm.active.eq(True)).order_by(OrderForm.id)
    codes = [row["code"] for row in rows]
    return DEFAULT_FORM if DEFAULT_FORM in codes else next(iter(codes), None)


def field_spec(form: Mapping, key: str) -> dict | None:
    return next((f for f in form["fields"] if f.get("key") == key and f.get("enabled", True)), None)


async def offers_for(
    form: Mapping, q: str = "", ids: list[int] | None = None, *, currency: str | None = None
) -> list[dict]:
    """Available offers this form sells (``ids`` narrows to those; ``q`` searches by name or SKU).

    ``currency``: only offers priced in the store's currency can be ordered (orders are in one currency).
    """
    query = (
        Offer.select(
            Offer.id,
            Offer.name,
            Offer.sku,
            Offer.price_minor,
            Offer.old_price_minor,
            Offer.currency,
            Offer.pictures,
            Offer.stock,
        )
        .where(Offer.available.eq(True), Offer.price_minor.is_not_null())  # no price: on request, not sold
        .output(load_json=True)
    )
    if currency:
        query = query.where(Offer.currency == currency)
    mode, goods = form["goods_mode"], form["goods"] or []
    if mode in ("fixed", "single"):
        query = query.where(Offer.id.is_in([int(g) for g in goods] or [0]))
    elif mode == "category" and goods:
        category = await Category.select(Category.path).where(Category.id == int(goods[0])).first()
        prefix = (category or {}).get("path", "")
        query = query.where(Offer.product.category.path.like(f"{prefix.replace('%', '')}%"))
    if ids is not None:
        query = query.where(Offer.id.is_in(ids or [0]))
    if q:
        query = query.where(Offer.name.ilike(f"%{q.replace('%', '')[:60]}%") | (Offer.sku == q[:60]))
    return await query.order_by(Offer.name).limit(OFFER_LIMIT if ids is None else MAX_LINES)


def _quantities(raw: Mapping[str, str], max_quantity: int, errors: dict[str, str]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for key, value in raw.items():
        if not key.startswith("qty_") or not (value or "").strip():
            continue
        offer_id = rules.record_id(key[4:])
        if offer_id is None:
            errors["lines"] = _("One of the goods is not available in this form.")
            continue
        try:
            quantity = rules.integer(value, low=0, high=max_quantity)
        except rules.Invalid:
            errors["lines"] = _("Choose a quantity from 1 to %(max)s.", max=max_quantity)
            continue
        if quantity > 0:
            wanted[offer_id] = quantity
    if not wanted and "lines" not in errors:
        errors["lines"] = _("Choose at least one item.")
    if len(wanted) > MAX_LINES:
        errors["lines"] = _("Too many different items in one order.")
    return wanted


def _contact(raw: Mapping[str, str], form: Mapping, country: str, errors: dict[str, str]) -> dict[str, object]:
    def required(key: str) -> bool:
        spec = field_spec(form, key)
        return bool(spec and spec.get("required"))

    name = (
        _fields.text(raw, "name", errors, required=required("name"), max_length=200) if field_spec(form, "name") else ""
    )
    phone_text = _fields.text(raw, "phone", errors, required=required("phone"), max_length=40)
    phone = None
    if phone_text and "phone" not in errors:
        phone = customers.normalize_phone(phone_text, country)
        if phone is None:
            errors["phone"] = _("Enter a phone number we can call, e.g. +7 912 345-67-89.")
    email = None
    if field_spec(form, "email") and (raw.get("email") or "").strip():
        email = _fields.email(raw, "email", errors) or None
    elif required("email"):
        errors["email"] = _("This field is required.")
    if not phone and not email and "phone" not in errors and "email" not in errors:
        errors["phone"] = _("Leave a phone number or an e-mail so we can reach you.")
    comment = _fields.text(raw, "comment", errors, required=required("comment"), max_length=MAX_COMMENT)
    return {"name": name, "phone": phone, "email": email, "comment": comment}


def _delivery(raw: Mapping[str, str], form: Mapping, errors: dict[str, str]) -> tuple[dict | None, str]:
    options = form["delivery"] or []
    if not options:
        return None, ""
    code = raw.get("delivery") or ""
    option = next((o for o in options if o.get("code") == code), None)
    if option is None:
        errors["delivery"] = _("Choose how to get your order.")
        return None, ""
    address = ""
    if option.get("address"):
        address = _fields.text(raw, "address", errors, max_length=500)
    return option, address


def _custom(raw: Mapping[str, str], form: Mapping, errors: dict[str, str]) -> dict[str, str]:
    values = {}
    for spec in form["fields"]:
        key = spec.get("key", "")
        if not key.startswith("custom_") or not spec.get("enabled", True):
            continue
        values[key] = _fields.text(raw, key, errors, required=bool(spec.get("required")), max_length=500)
    return values


async def validate_submission(
    raw: Mapping[str, str], form: Mapping, *, country: str, currency: str, locale: str, nonce: str
) -> tuple[OrderDraft | None, dict[str, str]]:
    """Turn a posted form into an order draft, or translated errors keyed by field."""
    errors: dict[str, str] = {}
    wanted = _quantities(raw, int(form["max_quantity"]), errors)
    contact = _contact(raw, form, country, errors)
    option, address = _delivery(raw, form, errors)
    custom = _custom(raw, form, errors)
    offers = {o["id"]: o for o in await offers_for(form, ids=list(wanted), currency=currency)} if wanted else {}
    if wanted and set(wanted) - set(offers):
        errors["lines"] = _("One of the goods is not available in this form.")
    if errors:
        return None, errors
    lines = tuple(LineDraft(o["id"], o["name"], o["sku"], o["price_minor"], wanted[o["id"]]) for o in offers.values())
    utm = {key: str(raw.get(key) or "")[:200] for key in UTM_KEYS if raw.get(key)}
    return OrderDraft(
        lines=lines,
        currency=currency,
        customer_name=str(contact["name"]),
        phone=contact["phone"],  # type: ignore[arg-type]
        email=contact["email"],
        delivery_method=(option or {}).get("code", ""),  # type: ignore[arg-type]
        delivery_name=localized((option or {}).get("name"), locale),
        delivery_minor=int((option or {}).get("price_minor", 0)),
        delivery_address=address,
        comment=str(contact["comment"]),
        source="form",
        form_code=form["code"],
        utm=utm,
        fields=custom,
        locale=locale,
        idempotency_key=f"form:{nonce}",
    ), errors


def localized(names: Mapping | None, locale: str) -> str:
    if not names:
        return ""
    return names.get(locale) or names.get("en") or next(iter(names.values()), "")


async def save_draft(nonce: str, form_code: str, raw: Mapping[str, str], country: str) -> None:
    """Remember a contact typed into a form that has not been sent yet (a possible lead)."""
    phone = customers.normalize_phone(raw.get("phone") or "", country)
    email = (raw.get("email") or "").strip().lower()[:254] or None
    if not phone and not email:
        return
    now = datetime.now(UTC)
    utm = {key: str(raw.get(key) or "")[:200] for key in UTM_KEYS if raw.get(key)}
    await FormDraft.raw(
        _SAVE_DRAFT,
        form_code[:40],
        (raw.get("name") or "")[:200],
        phone,
        email,
        json.dumps(utm),
        now,
        now,
        nonce[:64],
    )


# A draft saved after its order (the form's last keystrokes are sent a moment after the submit) is born
# converted: the order for its nonce is already there. Once converted, a draft stays converted.
_SAVE_DRAFT = (
    "INSERT INTO form_draft (nonce, form_code, name, phone, email, utm, converted, reported, created_at,"
    " updated_at, note) SELECT n.nonce, {}, {}, {}, {}, {}::jsonb,"
    " EXISTS (SELECT 1 FROM orders o WHERE o.idempotency_key = 'form:' || n.nonce), false, {}, {}, ''"
    " FROM (SELECT {}::varchar AS nonce) n"
    " ON CONFLICT (nonce) DO UPDATE SET name = excluded.name, phone = excluded.phone,"
    " email = excluded.email, updated_at = excluded.updated_at,"
    " converted = form_draft.converted OR excluded.converted"
)

# A draft whose nonce has an order, or whose phone or e-mail ordered since the draft was started (the
# buyer reloaded the form and sent a fresh copy), was converted, whatever order the requests
# committed in: it is marked so before any lead is drawn.
_MARK_CONVERTED = (
    "UPDATE form_draft d SET converted = true WHERE NOT d.converted AND NOT d.reported AND ("
    "EXISTS (SELECT 1 FROM orders o WHERE o.idempotency_key = 'form:' || d.nonce)"
    " OR EXISTS (SELECT 1 FROM orders o WHERE o.phone = d.phone AND o.created_at >= d.created_at)"
    " OR EXISTS (SELECT 1 FROM orders o WHERE o.email = d.email AND o.created_at >= d.created_at))"
)


async def sweep_unfinished(older_than_minutes: int = 30) -> int:
    """Turn contacts typed into a form but never sent into leads on the customer's timeline.

    Each draft is handled in its own transaction, so one bad draft never loses the others.
    """
    await FormDraft.raw(_MARK_CONVERTED)
    drafts = await FormDraft.raw(
        "SELECT id, form_code, name, phone, email, utm FROM form_draft WHERE NOT converted AND NOT reported"
        " AND updated_at < now() - make_interval(mins => {}) ORDER BY id LIMIT 500",
        older_than_minutes,
    )
    done = 0
    for row in drafts:
        async with store_transaction():
            claimed = (
                await FormDraft.update({FormDraft.reported: True})
                .where((FormDraft.id == row["id"]) & (FormDraft.reported.eq(False)))
                .returning(FormDraft.id)
            )
            if not claimed:
                continue  # another worker took it
            utm = json.loads(row["utm"]) if isinstance(row["utm"], str) else row["utm"]
            customer_id = await customers.find_or_create(
                name=row["name"], phone=row["phone"], email=row["email"], source="form", utm=utm
            )
            await customers.add_event(
                customer_id,
                customers.FORM_UNFINISHED,
                data={"form": row["form_code"], "phone": row["phone"], "email": row["email"]},
            )
            await outbox.emit(outbox.FORM_UNFINISHED, customer_id=customer_id, data={"form": row["form_code"]})
        done += 1
    return done


async def order_sent(token: FormToken, form_code: str, customer_id: int | None, order_id: int) -> None:
    """The form's draft became an order; for a new order with a customer, the customer opened the form
    when its token was issued, the first step on their timeline. One statement for both."""
    await FormDraft.raw(
        "WITH draft AS (UPDATE form_draft SET converted = true WHERE nonce = {} AND NOT converted)"
        " INSERT INTO customer_event (customer, kind, at, order_id, data)"
        " SELECT {}::int, {}, {}, {}, {}::jsonb WHERE {}::int IS NOT NULL",
        token.nonce[:64],
        customer_id,
        customers.FORM_OPENED,
        datetime.fromtimestamp(token.issued, UTC),
        order_id,
        json.dumps({"form": form_code}),
        customer_id,
    )
