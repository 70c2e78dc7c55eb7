"""Identities, passwords (argon2), login with a growing delay (never a lock-out), memberships."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import ValidationFailed
from app.forms.auth import LoginData
from app.i18n import gettext as _
from app.i18n import ngettext
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


# Failures are forgotten a day after the last attempt of an (account, address) pair.
LOGIN_MEMORY_SECONDS = 24 * 3600


# When the next attempt of a kv_entry row may come: any time during the first ``free`` attempts (not
# "from the last one on": a concurrent statement that took the row lock first may carry a later now()),
# then its last counted attempt (``expires_at`` minus the memory) plus ``first`` seconds doubling up to
# ``cap``.
_ALLOWED_AT = (
    "(SELECT CASE WHEN convert_from(kv_entry.value, 'UTF8')::int < p.free THEN '-infinity'::timestamptz"
    " ELSE kv_entry.expires_at - p.memory + make_interval(secs => least(p.cap, p.first * 2 ^ least("
    "convert_from(kv_entry.value, 'UTF8')::int - p.free, 40))) END FROM p)"
)


# One attempt under a key, counted only when due: the row's lock orders parallel attempts.
_CLAIM_SQL = """
WITH p AS (
  SELECT make_interval(secs => {}) AS memory, {}::int AS free, {}::float8 AS first, {}::float8 AS cap
)
INSERT INTO kv_entry (key, value, expires_at)
SELECT {}, convert_to('1', 'UTF8'), now() + p.memory FROM p
ON CONFLICT (key) DO UPDATE SET
  value = CASE
    WHEN kv_entry.expires_at < now() THEN convert_to('1', 'UTF8')
    WHEN ALLOWED_AT <= now() THEN convert_to((convert_from(kv_entry.value, 'UTF8')::int + 1)::text, 'UTF8')
    ELSE kv_entry.value END,
  expires_at = CASE
    WHEN kv_entry.expires_at < now() OR ALLOWED_AT <= now() THEN excluded.expires_at
    ELSE kv_entry.expires_at END
RETURNING CASE WHEN kv_entry.expires_at = (SELECT now() + memory FROM p) THEN 0
  ELSE ceil(extract(epoch FROM ALLOWED_AT - now()))::int END AS wait
""".replace("ALLOWED_AT", _ALLOWED_AT)


class LoginThrottled(ValidationFailed):
    """Too many failed attempts from this address: wait ``retry_after`` seconds (a delay, not a lock)."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        message = ngettext(
            "Too many failed attempts. Try again in %(num)s second.",
            "Too many failed attempts. Try again in %(num)s seconds.",
            retry_after,
        )
        super().__init__({"__all__": message})
        self.retry_after = retry_after


def address_bucket(client_ip: str) -> str:
    """The address attempts are counted against: an IPv6 client owns its whole /64, so it counts as one."""
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def pair_key(email: str, client_ip: str) -> str:
    """The counter of one account's attempts from one address (the e-mail hashed: keys stay short)."""
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"login:{digest}|{address_bucket(client_ip)}"


async def claim_attempt(key: str, free: int, first_delay: int, max_delay: int) -> int:
    """Count one attempt under ``key`` if it may be made now; else the seconds left to wait.

    After ``free`` attempts each further one must come ``first_delay`` × 2^k seconds (at most
    ``max_delay``) after the previous one. One statement under the row's lock, shared by every
    worker, so parallel guesses cannot all slip in. The row keeps the attempt count in ``value`` and
    the time of the last counted attempt as ``expires_at - LOGIN_MEMORY_SECONDS``.
    """
    rows = await KvEntry.raw(
        _CLAIM_SQL,
        LOGIN_MEMORY_SECONDS,
        free,
        first_delay,
        max_delay,
        f"ratelimit:{key}",
    )
    return max(0, int(rows[0]["wait"]))


async def login(
    data: LoginData,
    client_ip: str,
    *,
    attempts: int,
    address_attempts: int | None = None,
    first_delay: int = 1,
    max_delay: int = 900,
) -> int:
    """Return the identity id for valid credentials.

    No stranger can lock an account: failures are counted per (account, address), and past
    ``attempts`` of them each further try waits twice as long as the one before; an address failing on
    many accounts waits too, after ``address_attempts`` (four times ``attempts`` unless given). The
    attempt is counted before the password is checked, so parallel guesses cannot slip past the delay;
    a success clears the pair and gives the address its attempt back.

    Raises:
        LoginThrottled: this address must wait before trying this account (or any account) again.
        ValidationFailed: wrong credentials.
    """
    pair, address = pair_key(data.email, client_ip), f"login-ip:{address_bucket(client_ip)}"
    wait = await claim_attempt(pair, attempts, first_delay, max_delay)
    if not wait:
        free = address_attempts if address_attempts is not None else attempts * 4
        wait = await claim_attempt(address, free, first_delay, max_delay)
    if wait:
        raise LoginThrottled(wait)
    row = await Identity.select(Identity.id, Identity.password_hash).where(Identity.email == data.email).first()
    ok = await verify_password(row["password_hash"] if row else _DUMMY_HASH, data.password)
    if not row or not ok:
        raise ValidationFailed({"__all__": _("Wrong e-mail or password.")})
    await clear_counter(pair)
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
    return await hit_counter(f"signup-ip:{address_bucket(client_ip)}", 3600) <= per_hour


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
