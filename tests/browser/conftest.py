"""A live server in its own process and a real chromium driven by Playwright."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller as SMTPController

from app.settings import PROJECT_DIR, Settings
from tests.procs import free_port

ARTIFACTS = PROJECT_DIR / "test-results"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class MailSink:
    """An SMTP server on a free port that keeps every message the live server sends."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] and m["To"].addresses[0].addr_spec == address]


@pytest.fixture(scope="package")
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    sink, port = MailSink(), free_port()
    controller = SMTPController(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


# Package scope: the server (and its in-process job worker) is gone before other test packages run,
# so it never takes their queued jobs.
@pytest.fixture(scope="package")
def live_server(settings: Settings, runtime, mail_sink) -> Iterator[str]:
    port = free_port()
    env = {
        "AUTOOFFICE_SMTP_HOST": "127.0.0.1",
        "AUTOOFFICE_SMTP_PORT": str(mail_sink[1]),
        **os.environ,
        "AUTOOFFICE_DATABASE_URL": settings.db.url or "",
        "AUTOOFFICE_DB_PREFIX": settings.db.prefix,
        "AUTOOFFICE_SECRET_KEY": settings.secret_key,
        "PORT": str(port),
        "AUTOOFFICE_INPROCESS_WORKER": "1",
        "AUTOOFFICE_DATA_DIR": str(settings.data_dir),
    }
    log = ARTIFACTS / "live-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.terminate()
        raise RuntimeError(f"live server did not start: {log.read_text()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; CI must run browser tests")
        pytest.skip("chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest.fixture
async def page(browser) -> AsyncIterator[object]:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    pg = await context.new_page()
    yield pg
    await context.close()


def shot(page_name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(Path(ARTIFACTS) / f"{page_name}.png")
