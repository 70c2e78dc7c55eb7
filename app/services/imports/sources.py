"""Byte sources for imports: paths or uploaded streams, re-readable, with a sniffed text encoding."""

from __future__ import annotations

import codecs
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from app.i18n.messages import gettext
from app.services.imports.records import ImportFileError

SAMPLE_SIZE = 64 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Spooled copies of non-seekable uploads stay in memory only up to this size, then go to disk.
_SPOOL_LIMIT = 1024 * 1024


class ByteSource:
    """A path or a binary stream that can be opened more than once (sniffing, then parsing)."""

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, name: str | None = None) -> None:
        self.path: Path | None = None
        self._stream: BinaryIO | None = None
        if isinstance(source, str | os.PathLike):
            self.path = Path(source)
            self.name = name or self.path.name
            return
        self.name = name or Path(str(getattr(source, "name", "") or "upload")).name
        if not source.seekable():
            spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT)  # noqa: SIM115 - lives with self
            shutil.copyfileobj(source, spool)
            source = spool  # type: ignore[assignment]
            source.seek(0)
        self._stream = source
        self._start = source.tell()

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        if self.path is not None:
            try:
                handle = self.path.open("rb")
            except OSError as exc:
                raise ImportFileError(
                    "unreadable_file",
                    gettext("The file cannot be read: %(reason)s", reason=exc.strerror),
                    source=self.name,
                ) from exc
            with handle:
                yield handle
            return
        assert self._stream is not None
        self._stream.seek(self._start)
        try:
            yield self._stream
        finally:
            # Leave the caller's stream where it was, so it can be wrapped or sniffed again.
            self._stream.seek(self._start)

    def sample(self, size: int = SAMPLE_SIZE) -> tuple[bytes, bool]:
        """The first ``size`` bytes and whether they are the whole file."""
        with self.open() as handle:
            data = handle.read(size + 1)
        return data[:size], len(data) <= size


Source = str | os.PathLike[str] | BinaryIO | ByteSource


def as_byte_source(source: Source, name: str | None = None) -> ByteSource:
    """Reuse an already wrapped source, so a sniffed upload stream is not read twice from scratch."""
    return source if isinstance(source, ByteSource) else ByteSource(source, name)


@dataclass(slots=True)
class TextEncoding:
    encoding: str
    bom: bytes = b""
    detected: bool = False


def bom_encoding(sample: bytes) -> tuple[str, bytes] | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding, bom
    return None


def is_utf8(sample: bytes, complete: bool) -> bool:
    # The incremental decoder forgives a multi-byte character cut at the end of the sample.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def guess_encoding(sample: bytes, name: str) -> str:
    """charset-normalizer's best guess (windows-1251 for Russian shop exports), as a Python codec name."""
    best = from_bytes(sample).best()
    if best is None:
        raise ImportFileError(
            "unknown_encoding", gettext("The text encoding of the file cannot be recognised."), source=name
        )
    return codecs.lookup(best.encoding).name


def detect_encoding(sample: bytes, complete: bool, name: str) -> TextEncoding:
    found = bom_encoding(sample)
    if found:
        return TextEncoding(found[0], found[1])
    if is_utf8(sample, complete):
        return TextEncoding("utf-8")
    return TextEncoding(guess_encoding(sample, name), detected=True)


class Utf8Reader(io.RawIOBase):
    """Re-encodes a stream to UTF-8 on the fly, optionally turning old-Mac CR line ends into LF.

    Used when lxml cannot be told the encoding (no declaration) or would count every line of a
    CR-only file as line 1; it works chunk by chunk so memory stays flat.
    """

    def __init__(self, raw: BinaryIO, encoding: str, fix_cr: bool, skip: int = 0) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._fix_cr = fix_cr
        self._pending = b""
        self._held_cr = False
        self._eof = False
        if skip:
            raw.read(skip)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._eof:
            chunk = self._raw.read(SAMPLE_SIZE)
            self._eof = not chunk
            text = self._decoder.decode(chunk, final=self._eof)
            self._pending = self._translate(text).encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _translate(self, text: str) -> str:
        if not self._fix_cr:
            return text
        if self._held_cr:
            text = "\r" + text
        # A CR at the very end may be the first half of a CRLF split across two chunks.
        self._held_cr = text.endswith("\r") and not self._eof
        if self._held_cr:
            text = text[:-1]
        return text.replace("\r\n", "\n").replace("\r", "\n")
