"""What the control plane knows about people that store code needs: the language they read mail in."""

from __future__ import annotations

from collections.abc import Iterable

from app.tables.control import Identity


async def locales(identity_ids: Iterable[int]) -> dict[int, str]:
    """Each identity's chosen language ('' when they never chose one)."""
    ids = sorted({i for i in identity_ids if i})
    if not ids:
        return {}
    rows = await Identity.select(Identity.id, Identity.locale).where(Identity.id.is_in(ids))
    return {row["id"]: row["locale"] or "" for row in rows}
