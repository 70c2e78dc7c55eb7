"""Uploaded orders files kept between the preview and the apply, per store, under an unguessable token."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

from app.errors import NotFound
from app.i18n import gettext as _
from app.tenancy.runtime import current_tenant

KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def _folder(storage: Path, token: str) -> Path:
    if not _TOKEN.fullmatch(token):
        raise NotFound(_("This upload has expired; upload the file again."))
    return storage / "orders" / current_tenant().slug / token


def save(storage: Path, files: list[tuple[str, bytes]], fmt: str | None, mapping: dict[str, str] | None = None) -> str:
    """Keep the files for the apply step; the token is only valid in this store. Day-old uploads go."""
    token = secrets.token_urlsafe(24)
    _prune(storage / "orders" / current_tenant().slug)
    folder = _folder(storage, token)
    folder.mkdir(parents=True)
    names = []
    for index, (name, data) in enumerate(files):
        (folder / f"{index}.bin").write_bytes(data)
        names.append(name[:200])
    (folder / "meta.json").write_text(
        json.dumps({"names": names, "format": fmt, "mapping": mapping or {}}), encoding="utf-8"
    )
    return token


def load(storage: Path, token: str) -> tuple[list[tuple[str, bytes]], str | None, dict[str, str]]:
    """The files saved under this token in this store, the chosen format and column map.

    Raises:
        NotFound: no such upload in this store (expired, applied already, or another store's).
    """
    folder = _folder(storage, token)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise NotFound(_("This upload has expired; upload the file again."))
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    files = [(name, (folder / f"{i}.bin").read_bytes()) for i, name in enumerate(meta["names"])]
    return files, meta.get("format"), meta.get("mapping") or {}


def _prune(root: Path) -> None:
    if not root.is_dir():
        return
    old = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < old:
            shutil.rmtree(folder, ignore_errors=True)
