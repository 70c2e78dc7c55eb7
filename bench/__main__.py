"""``make bench``: run every benchmark and print one table of figures and ratios."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys

from bench import analytics, automation, forms, imports, provision, traffic
from bench._common import Row, print_table

BENCHES = [provision, imports, forms, traffic, analytics, automation]
if len(sys.argv) > 1:
    BENCHES = [b for b in BENCHES if b.__name__.rsplit(".", 1)[-1] in sys.argv[1:]]


async def main() -> int:
    rows: list[Row] = []
    for module in BENCHES:
        print(f"running {module.__name__} …", file=sys.stderr, flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            rows += await module.run()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
