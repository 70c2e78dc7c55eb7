"""Identities, passwords (argon2), login with a shared rate limit, memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import ValidationFailed
from app.forms.auth import LoginData
from app.i18n import gettext as _
from app.tables.control import Identity, KvEntry, Membership, Tenant

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("autooffice-timing-equaliser")


@dataclass(frozen=True)
class Member:
    identity_id: int
    email: str
    tenant_id: int
    slug: str
    store_name: str
    role: str


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


async def hit_counter(key: str, window_seconds: int) -> int:
    """Atomically count one event under ``key`` in a fixed window shared by every worker."""
    rows = await KvEntry.raw(
        """
        INSERT INTO kv_entry (key, value, expires_at)
        VALUES ({}, convert_to('1', 'UTF8'), now() + make_interval(secs => {}))
        ON CONFLICT (key) DO UPDATE SET
          value = CASE WHEN kv_entry.expires_at < now() THEN convert_to('1', 'UTF8')
                  ELSE convert_to((convert_from(kv_entry.value, 'UTF8')::int + 1)::text, 'UTF8') END,
          expires_at = CASE WHEN kv_entry.expires_at < now() THEN excluded.expires_at
                       ELSE kv_entry.expires_at END
        RETURNING convert_from(value, 'UTF8')::int AS hits
        """,
        f"ratelimit:{key}",
        window_seconds,
    )
    return int(rows[0]["hits"])


async def clear_counter(key: str) -> None:
    await KvEntry.delete().where(KvEntry.key == f"ratelimit:{key}")


async def current_hits(key: str) -> int:
    row = (
        await KvEntry.select(KvEntry.value)
        .where((KvEntry.key == f"ratelimit:{key}") & (KvEntry.expires_at > datetime.now(UTC)))
        .first()
    )
    return int(bytes(row["value"]).decode()) if row else 0


async def login(data: LoginData, client_ip: str, *, attempts: int, window_seconds: int) -> int:
    """Return the identity id for valid credentials.

    Every attempt is counted before the password is checked, so parallel guesses cannot slip past the
    limit; a success clears the account's count and gives the address its attempt back.

    Raises:
        ValidationFailed: wrong credentials, or too many attempts for this e-mail or address.
    """
    account, address = f"login:{data.email}", f"login-ip:{client_ip}"
    per_account = await hit_counter(account, window_seconds)
    per_address = await hit_counter(address, window_seconds)
    if per_account > attempts or per_address > attempts * 4:
        minutes = max(1, window_seconds // 60)
        raise ValidationFailed({"__all__": _("Too many attempts. Try again in %(minutes)s minutes.", minutes=minutes)})
    row = await Identity.select(Identity.id, Identity.password_hash).where(Identity.email == data.email).first()
    ok = await verify_password(row["password_hash"] if row else _DUMMY_HASH, data.password)
    if not row or not ok:
        raise ValidationFailed({"__all__": _("Wrong e-mail or password.")})
    await clear_counter(account)
    await undo_hit(address)
    await Identity.update({Identity.last_login_at: datetime.now(UTC)}).where(Identity.id == row["id"])
    return int(row["id"])


async def undo_hit(key: str) -> None:
    await KvEntry.raw(
        "UPDATE kv_entry SET value = convert_to(greatest(convert_from(value, 'UTF8')::int - 1, 0)::text, 'UTF8')"
        " WHERE key = {}",
        f"ratelimit:{key}",
    )


async def signup_allowed(client_ip: str, *, per_hour: int = 20) -> bool:
    """Each sign-up creates a database and a role: an address may start only so many an hour."""
    return await hit_counter(f"signup-ip:{client_ip}", 3600) <= per_hour


async def identity_email(identity_id: int) -> str | None:
    row = await Identity.select(Identity.email).where(Identity.id == identity_id).first()
    return row["email"] if row else None


async def memberships(identity_id: int) -> list[Member]:
    """Every active store this identity belongs to, by store name."""
    rows = (
        await Membership.select(
            Membership.identity.id.as_alias("identity_id"),
            Membership.identity.email.as_alias("email"),
            Membership.tenant.id.as_alias("tenant_id"),
            Membership.tenant.slug.as_alias("slug"),
            Membership.tenant.name.as_alias("store_name"),
            Membership.role,
        )
        .where(
            (Membership.identity == identity_id)
            & (Membership.active == True)  # noqa: E712
            & (Membership.tenant.status.is_in(["active", "read_only"]))
        )
        .order_by(Membership.tenant.name)
    )
    return [Member(**row) for row in rows]


async def membership(identity_id: int, tenant_id: int) -> Member | None:
    for member in await memberships(identity_id):
        if member.tenant_id == tenant_id:
            return member
    return None


async def tenant_ids_of(identity_id: int) -> set[int]:
    rows = await Membership.select(Membership.tenant).where(Membership.identity == identity_id)
    return {row["tenant"] for row in rows}


async def store_exists(slug: str) -> bool:
    return await Tenant.exists().where(Tenant.slug == slug)
