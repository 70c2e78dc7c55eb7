"""How a store's lists of names sort: its language's alphabet, case set aside.

PostgreSQL built with ICU (the usual packages) has a collation per language. A server without ICU (the
embedded test server is built ``--without-icu``) sorts by a key instead: lower case, then the letters whose
code points sit outside their alphabet's place moved next to the letter they follow, so code-point order
comes out as the alphabet (ґ after г, є after е, і and ї between и and й; ё files with е as Russian does).
"""

from __future__ import annotations

from app.tables.catalog import Offer
from app.tenancy.runtime import current_tenant

# Predefined ICU collations. "BOSCH" and "Bosch" differ only in case, a tertiary difference, so they sort
# together. The migration 2026-12-02T17:00:00 indexes the names under each of them.
COLLATIONS = {"ru": "ru-x-icu", "uk": "uk-x-icu", "en": "und-x-icu"}
_AFTER = "\ufffd"  # above every letter in code-point order
_MOVES = (("ё", "е"), ("ґ", "г" + _AFTER), ("є", "е" + _AFTER), ("і", "и" + _AFTER), ("ї", "и" + _AFTER * 2))
_has_icu: dict[str, bool] = {}


def _key(column: str) -> str:
    expression = f'lower({column}) COLLATE "C"'
    for letter, place in _MOVES:
        expression = f"replace({expression}, '{letter}', '{place}')"
    return expression


async def name_order(column: str) -> str:
    """An ORDER BY term for ``column`` (fixed SQL text from a whitelist) in the bound store's language."""
    server = current_tenant().server
    if server not in _has_icu:
        rows = await Offer.raw("SELECT count(*) AS n FROM pg_collation WHERE collname = {}", COLLATIONS["en"])
        _has_icu[server] = rows[0]["n"] > 0
    if not _has_icu[server]:
        return _key(column)
    return f'{column} COLLATE "{COLLATIONS.get(current_tenant().locale, COLLATIONS["en"])}"'
