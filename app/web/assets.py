"""The pinned htmx build: fetched from the npm package at setup, checked against a SHA-384 kept here.

``python -m app.web.assets`` fetches it with ``npm pack`` (the ordinary npm client) into
``app/static/vendor/``; the file is git-ignored and the page's ``<script integrity>`` carries the hash.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HTMX_VERSION = "2.0.11"
HTMX_SHA384 = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
HTMX_FILE = VENDOR_DIR / f"htmx-{HTMX_VERSION}.min.js"


def htmx_src() -> str:
    return f"/static/vendor/{HTMX_FILE.name}"


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def is_present() -> bool:
    return HTMX_FILE.exists() and sri(HTMX_FILE.read_bytes()) == HTMX_SHA384


def fetch_htmx() -> Path:
    """Download ``htmx.org@HTMX_VERSION`` with npm, verify it, and install it; idempotent."""
    if is_present():
        return HTMX_FILE
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once to fetch htmx (install Node.js and npm, then run make again)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "pack", "--silent", f"htmx.org@{HTMX_VERSION}"], cwd=tmp, check=True, capture_output=True
        )
        with tarfile.open(Path(tmp) / f"htmx.org-{HTMX_VERSION}.tgz") as archive:
            member = archive.extractfile("package/dist/htmx.min.js")
            if member is None:
                raise SystemExit("htmx package has no dist/htmx.min.js")
            data = member.read()
    if sri(data) != HTMX_SHA384:
        raise SystemExit(f"htmx {HTMX_VERSION} does not match the pinned SHA-384; refusing to install it")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    HTMX_FILE.write_bytes(data)
    return HTMX_FILE


if __name__ == "__main__":
    print(f"htmx {HTMX_VERSION}: {fetch_htmx()}", file=sys.stderr)
