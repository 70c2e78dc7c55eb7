"""How a store's lists of names sort: case set aside, Cyrillic letters in their alphabet's order.

The sort key is plain SQL under the "C" collation, the same on every PostgreSQL server: lower case, then the
letters whose code points sit outside their alphabet's place moved next to the letter they follow, so
code-point order comes out as the alphabet (ґ after г, є after е, і and ї between и and й; ё files with е as
Russian does). ICU collations would do it too, but a server built without ICU has none, and an index under
an ICU collation cannot be restored there: a store could no longer move between servers.
"""

from __future__ import annotations

_AFTER = "\ufffd"  # above every letter in code-point order
_MOVES = (("ё", "е"), ("ґ", "г" + _AFTER), ("є", "е" + _AFTER), ("і", "и" + _AFTER), ("ї", "и" + _AFTER * 2))


def sort_key(column: str) -> str:
    """The key for ``column`` (fixed SQL text from a whitelist); the migration 2026-12-02T17:00:00 indexes it."""
    expression = f'lower({column}) COLLATE "C"'
    for letter, place in _MOVES:
        expression = f"replace({expression}, '{letter}', '{place}')"
    return expression

