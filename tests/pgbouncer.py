"""A real PgBouncer (Debian's package) in transaction mode in front of the test server, on a free port."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app.tenancy.embedded import embedded_bin_dir
from tests.procs import free_port

ADMIN_PASSWORD = "bouncer-admin-password"


def binary() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)


def _server_address(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    return host, parts.port or 5432


@dataclass
class Bouncer:
    port: int
    directory: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.directory / "pgbouncer.log").read_text(errors="replace")

    def admin(self, command: str) -> str:
        """Run ``SHOW …`` on the admin console (simple query protocol, hence psql)."""
        psql = shutil.which("psql") or str(embedded_bin_dir() / "psql")
        env = {**os.environ, "PGPASSWORD": ADMIN_PASSWORD}
        where = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer"]
        out = subprocess.run(
            [psql, *where, "-A", "-F|", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return out.stdout


@contextlib.contextmanager
def running(dsn: str, *, pool_size: int = 2) -> Iterator[Bouncer]:
    exe = binary()
    assert exe is not None
    host, server_port = _server_address(dsn)
    directory = Path(tempfile.mkdtemp(prefix="ao-pgbouncer-"))
    port = free_port()
    # PgBouncer refuses to run as root; run it as whoever owns the server's socket directory.
    user = None
    if os.geteuid() == 0:
        owner = Path(host).stat().st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
        user = pwd.getpwuid(owner).pw_name
    (directory / "userlist.txt").write_text(f'"postgres" "{ADMIN_PASSWORD}"\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
auth_type = scram-sha-256
auth_file = {directory}/userlist.txt
auth_user = postgres
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = $1
admin_users = postgres
ignore_startup_parameters = extra_float_digits
server_idle_timeout = 30
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""
    )
    if user is not None:
        for path in [directory, *directory.iterdir()]:
            shutil.chown(path, user)
    command = [exe, *(["-u", user] if user else []), str(directory / "pgbouncer.ini")]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("pgbouncer did not start")
            time.sleep(0.1)
        yield Bouncer(port, directory)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(directory, ignore_errors=True)
