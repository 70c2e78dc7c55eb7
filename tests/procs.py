"""Real ``autooffice`` processes for tests: the web server (any number of workers) and job workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.settings import PROJECT_DIR, Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(settings: Settings, dsn: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AUTOOFFICE_DATABASE_URL": dsn or settings.db.url or "",
        "AUTOOFFICE_DB_PREFIX": settings.db.prefix,
        "AUTOOFFICE_SECRET_KEY": settings.secret_key,
        "AUTOOFFICE_POOL_MAX_SIZE": str(settings.db.pool_max_size),
        "AUTOOFFICE_FEED_ALLOW_PRIVATE": "1",
        "AUTOOFFICE_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


class Proc:
    """A child process in its own session (so a SIGKILL takes its helpers too) logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            cwd=PROJECT_DIR,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def lines(self) -> list[dict]:
        out = []
        for raw in self.log.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return out

    def kill(self) -> None:
        """What a lost machine looks like: SIGKILL to the process and its children, no clean-up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        self._out.close()


def serve(env: dict[str, str], log: Path, *, workers: int = 1) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(["serve", "--port", str(port), "--workers", str(workers)], env, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.stop()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def worker(env: dict[str, str], log: Path, *extra: str) -> Proc:
    return Proc(["worker", *extra], env, log)
