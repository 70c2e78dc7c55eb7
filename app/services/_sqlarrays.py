"""Integer arrays passed to SQL as text.

asyncpg learns how to send an ``int[]`` parameter by introspecting the type once per connection, and
on a fresh backend that query costs about 5 ms. Store pools are short-lived under the per-server
connection cap (a quiet store's connection is closed to make room for a busy one), so the paths every
order takes pass their arrays as text (``{1,2,3}``) and cast in SQL (``{}::text::int[]``), which the
server parses and the client never has to introspect.
"""

from __future__ import annotations

from collections.abc import Iterable


def int_array(values: Iterable[int] | None) -> str | None:
    """``[1, 2, 3]`` as the array literal ``{1,2,3}``; None stays None (SQL NULL)."""
    if values is None:
        return None
    return "{" + ",".join(str(int(value)) for value in values) + "}"
