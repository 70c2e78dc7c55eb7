"""A Litestar ``Store`` on the control-plane database, so every worker process sees the same sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.stores.base import NamespacedStore

from app.tables.control import KvEntry


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return datetime.now(UTC) + timedelta(seconds=seconds)


class PostgresStore(NamespacedStore):
    def __init__(self, namespace: str = "litestar") -> None:
        self.namespace = namespace

    def with_namespace(self, namespace: str) -> PostgresStore:
        return PostgresStore(f"{self.namespace}:{namespace}")

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        await KvEntry.insert(KvEntry(key=self._key(key), value=data, expires_at=_expiry(expires_in))).on_conflict(
            target=KvEntry.key, action="DO UPDATE", values=[KvEntry.value, KvEntry.expires_at]
        )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        entry = await self.get_with_ttl(key)
        if entry is None:
            return None
        if renew_for is not None and entry[1] is not None:
            await KvEntry.update({KvEntry.expires_at: _expiry(renew_for)}).where(KvEntry.key == self._key(key))
        return entry[0]

    async def get_with_ttl(self, key: str) -> tuple[bytes, int | None] | None:
        """The value and its seconds to live (None: no expiry), in one read."""
        row = await KvEntry.select(KvEntry.value, KvEntry.expires_at).where(KvEntry.key == self._key(key)).first()
        if row is None:
            return None
        if row["expires_at"] is None:
            return bytes(row["value"]), None
        left = int((row["expires_at"] - datetime.now(UTC)).total_seconds())
        if left <= 0:
            await self.delete(key)
            return None
        return bytes(row["value"]), left

    async def delete(self, key: str) -> None:
        await KvEntry.delete().where(KvEntry.key == self._key(key))

    async def delete_all(self) -> None:
        await KvEntry.delete().where(KvEntry.key.like(f"{self.namespace}:%"))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await KvEntry.select(KvEntry.expires_at).where(KvEntry.key == self._key(key)).first()
        if row is None or row["expires_at"] is None:
            return None
        return int((row["expires_at"] - datetime.now(UTC)).total_seconds())

    async def purge_expired(self) -> int:
        rows = await KvEntry.delete().where(KvEntry.expires_at < datetime.now(UTC)).returning(KvEntry.id)
        return len(rows)
