"""Invitations by e-mail link: signed, expiring, single-use; accepting creates or links an identity."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from app.errors import Conflict, NotFound, ValidationFailed
from app.forms import rules
from app.forms.staff import AcceptData, InviteData
from app.i18n import gettext as _
from app.i18n import use_locale
from app.services import audit, staff
from app.services.auth import hash_password
from app.services.mail import InvitationMail, MailSettings, build_invitation_message, send_email
from app.tables.control import Identity, Membership
from app.tables.stores import StaffInvitation, StaffProfile, StoreSetting
from app.tenancy.runtime import store_transaction

INVITATION_DAYS = 7


def _signature(secret: str, slug: str, row: dict) -> str:
    expires = int(row["expires_at"].timestamp())
    message = f"invite:{slug}:{row['id']}:{row['nonce']}:{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def invitation_token(secret: str, slug: str, row: dict) -> str:
    """The link's token: the invitation id and an HMAC over store, id, nonce and expiry."""
    return f"{row['id']}.{_signature(secret, slug, row)}"


async def invite(
    data: InviteData, *, secret: str, slug: str, locale: str, actor_id: int, actor_role: str
) -> tuple[dict, str]:
    """Create an invitation (replacing an open one for the same e-mail); returns it and its token.

    Raises:
        ValidationFailed: an admin inviting an admin, or the person is already an active member.
    """
    if data.role == "admin" and actor_role != "owner":
        raise ValidationFailed({"role": _("Only the owner can invite administrators.")})
    if await StaffProfile.exists().where((StaffProfile.email == data.email) & (StaffProfile.active == True)):  # noqa: E712
        raise ValidationFailed({"email": _("This person is already a member of the store.")})
    now = datetime.now(UTC)
    async with store_transaction():
        await StaffInvitation.update({StaffInvitation.revoked_at: now}).where(
            (StaffInvitation.email == data.email)
            & StaffInvitation.accepted_at.is_null()
            & StaffInvitation.revoked_at.is_null()
        )
        rows = await StaffInvitation.insert(
            StaffInvitation(
                email=data.email,
                role=data.role,
                scope=data.scope,
                locale=locale,
                nonce=secrets.token_urlsafe(24),
                invited_by=actor_id,
                created_at=now,
                expires_at=now + timedelta(days=INVITATION_DAYS),
            )
        ).returning(*StaffInvitation.all_columns())
        await audit.record(
            "staff", data.email, "invite", actor_id=actor_id, actor=await staff.actor_name(actor_id),
            summary=data.email, after={"role": data.role, "scope": data.scope},
        )  # fmt: skip
    return rows[0], invitation_token(secret, slug, rows[0])


async def pending_invitations() -> list[dict]:
    return (
        await StaffInvitation.select()
        .where(StaffInvitation.accepted_at.is_null() & StaffInvitation.revoked_at.is_null())
        .order_by(StaffInvitation.created_at, ascending=False)
    )


async def revoke(invitation_id: int, *, actor_id: int) -> None:
    async with store_transaction():
        rows = (
            await StaffInvitation.update({StaffInvitation.revoked_at: datetime.now(UTC)})
            .where((StaffInvitation.id == invitation_id) & StaffInvitation.accepted_at.is_null())
            .returning(StaffInvitation.email)
        )
        if not rows:
            raise NotFound(_("This invitation does not exist."))
        await audit.record(
            "staff", rows[0]["email"], "revoke", actor_id=actor_id, actor=await staff.actor_name(actor_id),
            summary=rows[0]["email"],
        )  # fmt: skip


async def invitation(token: str, *, secret: str, slug: str) -> dict:
    """The open invitation behind a link.

    Raises:
        NotFound: a forged, damaged or revoked link, or one of another store.
        Conflict: the invitation was used already or has expired (the message says which).
    """
    head, _sep, signature = (token or "")[:200].partition(".")
    row = None
    invitation_id = rules.record_id(head)
    if invitation_id and signature:
        row = await StaffInvitation.select().where(StaffInvitation.id == invitation_id).first()
    if row is None or not hmac.compare_digest(_signature(secret, slug, row), signature) or row["revoked_at"]:
        raise NotFound(_("This invitation link is not valid. Ask for a new one."))
    if row["accepted_at"] is not None:
        raise Conflict(_("This invitation has already been used. Log in instead."))
    if row["expires_at"] <= datetime.now(UTC):
        raise Conflict(_("This invitation has expired. Ask for a new one."))
    return row


async def accept(
    token: str, *, secret: str, slug: str, tenant_id: int, identity_id: int | None, data: AcceptData | None
) -> int:
    """Join the store: a new identity (``data`` given) or the logged-in one whose e-mail was invited.

    The invitation is claimed with a conditional UPDATE, so a link used twice at once joins once.

    Raises:
        NotFound, Conflict: as ``invitation``.
        ValidationFailed: the logged-in identity has another e-mail, or the e-mail has an account (log in).
    """
    row = await invitation(token, secret=secret, slug=slug)
    async with store_transaction():
        claimed = await StaffInvitation.raw(
            "UPDATE staff_invitation SET accepted_at = now() WHERE id = {} AND accepted_at IS NULL"
            " AND revoked_at IS NULL AND expires_at > now() RETURNING id",
            row["id"],
        )
        if not claimed:
            raise Conflict(_("This invitation has already been used. Log in instead."))
        identity_id, name = await _joining_identity(row["email"], identity_id, data)
        await StaffInvitation.update({StaffInvitation.accepted_by: identity_id}).where(StaffInvitation.id == row["id"])
        await _upsert_profile(identity_id, row, name)
        await audit.record(
            "staff", identity_id, "join", actor_id=identity_id, actor=name or row["email"],
            summary=row["email"], after={"role": row["role"], "scope": row["scope"]},
        )  # fmt: skip
        await _upsert_membership(identity_id, tenant_id, row["role"])
    return identity_id


async def _joining_identity(email: str, identity_id: int | None, data: AcceptData | None) -> tuple[int, str]:
    existing = await Identity.select(Identity.id, Identity.name).where(Identity.email == email).first()
    if identity_id is not None:
        if existing is None or existing["id"] != identity_id:
            message = _("This invitation is for %(email)s. Log in with that e-mail.", email=email)
            raise ValidationFailed({"__all__": message})
        return identity_id, existing["name"]
    if existing is not None or data is None:
        message = _("You already have an account with %(email)s. Log in to accept.", email=email)
        raise ValidationFailed({"__all__": message})
    password_hash = await hash_password(data.password)
    rows = await Identity.insert(
        Identity(email=email, password_hash=password_hash, name=data.name, created_at=datetime.now(UTC))
    ).returning(Identity.id)
    return int(rows[0]["id"]), data.name


async def _upsert_profile(identity_id: int, row: dict, name: str) -> None:
    values = {
        StaffProfile.email: row["email"], StaffProfile.role: row["role"], StaffProfile.scope: row["scope"],
        StaffProfile.active: True, StaffProfile.on_shift: True,
    }  # fmt: skip
    if name:
        values[StaffProfile.name] = name
    updated = (
        await StaffProfile.update(values).where(StaffProfile.identity_id == identity_id).returning(StaffProfile.id)
    )
    if not updated:
        await StaffProfile.insert(
            StaffProfile(
                identity_id=identity_id, email=row["email"], name=name, role=row["role"], scope=row["scope"],
                active=True, on_shift=True, created_at=datetime.now(UTC),
            )
        )  # fmt: skip


async def _upsert_membership(identity_id: int, tenant_id: int, role: str) -> None:
    """A returning member (deactivated before) gets the old membership back with the new role."""
    updated = (
        await Membership.update({Membership.role: role, Membership.active: True})
        .where((Membership.identity == identity_id) & (Membership.tenant == tenant_id))
        .returning(Membership.id)
    )
    if not updated:
        await Membership.insert(
            Membership(identity=identity_id, tenant=tenant_id, role=role, active=True, created_at=datetime.now(UTC))
        )


async def send_invitation(
    invitation_id: int, *, secret: str, slug: str, public_url: str, settings: MailSettings
) -> bool:
    """E-mail an open invitation in the language it was written in; False if closed or not delivered."""
    row = await StaffInvitation.select().where(StaffInvitation.id == invitation_id).first()
    if row is None or row["accepted_at"] or row["revoked_at"]:
        return False
    store = await StoreSetting.select(StoreSetting.name).first() or {}
    inviter = await staff.actor_name(row["invited_by"])
    link = f"{public_url.rstrip('/')}/s/{slug}/join/{invitation_token(secret, slug, row)}"
    with use_locale(row["locale"]):
        message = build_invitation_message(
            InvitationMail(
                recipient=row["email"], store_name=store.get("name", slug), inviter=inviter or store.get("name", slug),
                role_label=staff.role_label(row["role"]), link=link, days=INVITATION_DAYS,
            ),
            settings,
        )  # fmt: skip
    return await send_email(message, settings)


async def has_account(email: str) -> bool:
    return await Identity.exists().where(Identity.email == email)


async def add_member(tenant_id: int, email: str, name: str, role: str, scope: str, password: str) -> int:
    """Put a person on the staff without an invitation (the demo's team); an existing identity is reused."""
    existing = await Identity.select(Identity.id).where(Identity.email == email).first()
    if existing is not None:
        identity_id = int(existing["id"])
    else:
        rows = await Identity.insert(
            Identity(email=email, password_hash=await hash_password(password), name=name, created_at=datetime.now(UTC))
        ).returning(Identity.id)
        identity_id = int(rows[0]["id"])
    async with store_transaction():
        await _upsert_profile(identity_id, {"email": email, "role": role, "scope": scope}, name)
        await _upsert_membership(identity_id, tenant_id, role)
    return identity_id
