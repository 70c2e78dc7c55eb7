"""PostgreSQL client programs (pg_dump, pg_restore) and per-table fingerprints of a store database.

Client programs are looked for in ``AUTOOFFICE_PG_BIN`` (``:``-separated), the embedded server's
``bin`` directory, ``/usr/lib/postgresql/*/bin`` and ``PATH``. For a server of major version M we
pick the oldest client of version >= M: pg_dump refuses servers newer than itself, and an archive
written by an older pg_dump is readable by every newer pg_restore, while a newer pg_restore emits
settings an older server rejects.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.tenancy.provision import quote_ident


class ToolsMissing(RuntimeError):
    """No pg_dump/pg_restore that can talk to this server version."""


class CopyFailed(RuntimeError):
    """pg_dump or pg_restore stopped with an error."""


@dataclass(frozen=True)
class ClientTools:
    major: int
    bin_dir: Path

    def program(self, name: str) -> str:
        return str(self.bin_dir / name)


def _candidate_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("AUTOOFFICE_PG_BIN", "").split(os.pathsep) if p]
    with contextlib.suppress(Exception):  # the embedded server's wheel is optional at run time
        from app.tenancy.embedded import embedded_bin_dir

        dirs.append(embedded_bin_dir())
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    return dirs


def _major(bin_dir: Path) -> int | None:
    import subprocess

    try:
        out = subprocess.run(  # noqa: S603 - a fixed program from a trusted directory
            [str(bin_dir / "pg_dump"), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


@cache
def available_tools() -> tuple[ClientTools, ...]:
    found: dict[Path, ClientTools] = {}
    for bin_dir in _candidate_dirs():
        resolved = bin_dir.resolve()
        if resolved in found or not (resolved / "pg_dump").is_file() or not (resolved / "pg_restore").is_file():
            continue
        major = _major(resolved)
        if major is not None:
            found[resolved] = ClientTools(major, resolved)
    return tuple(sorted(found.values(), key=lambda t: t.major))


def tools_for(server_major: int) -> ClientTools:
    """The oldest client programs that can work with a server of ``server_major``."""
    tools = available_tools()
    for candidate in tools:
        if candidate.major >= server_major:
            return candidate
    have = ", ".join(str(t.major) for t in tools) or "none"
    raise ToolsMissing(f"no pg_dump/pg_restore for PostgreSQL {server_major} (found: {have}); set AUTOOFFICE_PG_BIN")


def libpq_target(dsn: str, database: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for ``database`` on the server of ``dsn`` without the password, which goes to the
    environment instead (never on a command line other users can read)."""
    parts = urlsplit(dsn)
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = parts.password
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + database)), env


async def run_program(args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
        program = Path(args[0]).name
        raise CopyFailed(f"{program} failed: {' / '.join(lines[-3:]) or f'exit {process.returncode}'}")


async def dump(tools: ClientTools, dsn: str, database: str, path: Path, *, snapshot: str | None = None) -> None:
    """``pg_dump -Fc`` of one database, without owners and grants (the store's role is recreated)."""
    uri, env = libpq_target(dsn, database)
    args = [tools.program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    await run_program([*args, f"--dbname={uri}"], env)


async def restore(tools: ClientTools, dsn: str, database: str, role: str, path: Path) -> None:
    """Load an archive into an empty database, every object owned by ``role``, all or nothing."""
    uri, env = libpq_target(dsn, database)
    await run_program(
        [
            tools.program("pg_restore"),
            "--no-owner",
            "--no-privileges",
            f"--role={role}",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={uri}",
            str(path),
        ],
        env,
    )


@dataclass(frozen=True)
class TablePrint:
    """Rows and an order-independent checksum of one table (or a sequence's position)."""

    table: str
    rows: int
    checksum: str

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "rows": self.rows, "checksum": self.checksum}


SEQUENCE = " (sequence)"  # suffix of a sequence's entry among the table prints
# The text form of a row must not depend on the session: pin every setting that changes it.
_STABLE_TEXT = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
    "SET extra_float_digits = 1; SET bytea_output = 'hex'"
)


_ROW_HASH = "('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint"


async def fingerprints(conn: asyncpg.Connection) -> list[TablePrint]:
    """Every table's row count and checksum (sum of a 60-bit slice of each row's md5), and every
    sequence's position, on an admin connection to the store's database."""
    await conn.execute(_STABLE_TEXT)
    prints: list[TablePrint] = []
    tables = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    )
    for row in tables:
        name = row["relname"]
        query = f"SELECT count(*), coalesce(sum({_ROW_HASH}), 0)::text FROM {quote_ident(name)} t"  # noqa: S608
        count, total = await conn.fetchrow(query)
        prints.append(TablePrint(name, count, hashlib.sha256(f"{count}:{total}".encode()).hexdigest()[:16]))
    sequences = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY c.relname"
    )
    for row in sequences:
        name = row["relname"]
        last, called = await conn.fetchrow(f"SELECT last_value, is_called FROM {quote_ident(name)}")  # noqa: S608
        prints.append(TablePrint(f"{name}{SEQUENCE}", last if called else last - 1, f"next={last + int(called)}"))
    return prints


def differences(expected: list[TablePrint], actual: list[TablePrint], *, exact_sequences: bool = True) -> list[str]:
    """Tables whose rows or checksum differ, as one readable line each.

    Sequences are not transactional: a backup taken while the store works may record a sequence a
    little further on than the snapshot's rows, so ``exact_sequences=False`` only asks that the
    restored sequence is not behind the manifest's.
    """
    want = {p.table: p for p in expected}
    have = {p.table: p for p in actual}
    lines = []
    for table in sorted(want.keys() | have.keys()):
        a, b = want.get(table), have.get(table)
        if not exact_sequences and a and b and table.endswith(SEQUENCE) and b.rows >= a.rows:
            continue
        if a != b:
            lines.append(
                f"{table}: expected {a.rows if a else '-'} rows/{a.checksum if a else '-'}, "
                f"got {b.rows if b else '-'} rows/{b.checksum if b else '-'}"
            )
    return lines
