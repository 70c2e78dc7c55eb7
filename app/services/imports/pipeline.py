"""The parsing side of an import: files → batches of rows ready for COPY, made in a thread or a process.

lxml parsing is CPU-bound Python; a big file is parsed in a separate process so it runs on another core
while this process copies the previous batch into PostgreSQL. A small file stays in a thread, where a
process start would cost more than it saves. Either way the consumer sees the same ``Batch`` stream.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import multiprocessing
import queue as queue_module
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.i18n import use_locale
from app.services.imports.csvfeed import stream_csv
from app.services.imports.detect import stream_files
from app.services.imports.records import (
    Category,
    ImportFileError,
    ImportStream,
    Offer,
    PriceStockUpdate,
    Product,
    RowIssue,
)

BATCH = 2000
QUEUE_DEPTH = 4
PROCESS_THRESHOLD = 4 * 1024 * 1024  # bytes; below this a thread is faster than starting a process


class CountingFile(io.FileIO):
    """A file that tells the progress bar how many bytes the parser has read."""

    def __init__(self, path: Path, progress: list[int]) -> None:
        super().__init__(path, "rb")
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.progress[0] += len(data or b"")
        return data

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer) or 0
        self.progress[0] += count
        return count


@dataclass(frozen=True)
class StreamSpec:
    """Everything needed to open an import's stream again, in this process or another (picklable)."""

    folder: str
    names: tuple[str, ...]
    fmt: str
    options: dict = field(default_factory=dict)
    locale: str = "en"

    @property
    def size(self) -> int:
        return sum((Path(self.folder) / name).stat().st_size for name in self.names)

    def open(self, progress: list[int]) -> tuple[ImportStream, list[CountingFile]]:
        handles = [CountingFile(Path(self.folder) / name, progress) for name in self.names]
        if self.fmt == "csv":
            stream = stream_csv(
                handles[0],
                self.options.get("mapping"),
                delimiter=self.options.get("delimiter"),
                currency=self.options.get("currency"),
                name=self.names[0],
            )
        else:
            stream = stream_files(handles, list(self.names))
        return stream, handles


@dataclass
class Batch:
    """COPY-ready CSV bytes per staging table: cheap to pass between processes and to send to PostgreSQL."""

    tables: dict[str, bytes]
    issues: list[RowIssue]
    progress: int
    rows: int = 0


@dataclass
class Done:
    is_full: bool
    progress: int


# One encoder for the whole run: json.dumps with options builds a new encoder on every call (a hot path).
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode


def _json(value: object) -> str | None:
    """JSON for a staging column; empty containers stay NULL (the merge turns them into [] or {})."""
    return _ENCODE(value) if value else None


def _category_row(r: Category) -> tuple:
    return (r.external_id, r.name[:255], _json(r.names_by_lang), r.parent_external_id, r.line)


def _product_row(r: Product) -> tuple:
    return (
        r.external_id, r.name[:500], _json(r.names_by_lang), r.description, _json(r.descriptions_by_lang),
        r.vendor and r.vendor[:255], r.vendor_code and r.vendor_code[:255], r.category_external_id,
        _json(r.pictures), _json([list(p) for p in r.params]), r.url, r.group_key, r.line,
    )  # fmt: skip


def _offer_row(r: Offer) -> tuple:
    return (
        r.external_id, r.product_external_id, r.sku and r.sku[:255], r.name and r.name[:500], r.price_minor,
        r.old_price_minor, r.currency, r.stock, r.available, _json([list(p) for p in r.params]),
        _json(r.pictures), r.barcode and r.barcode[:64], r.line,
    )  # fmt: skip


def _update_row(r: PriceStockUpdate) -> tuple:
    return (r.offer_external_id, r.price_minor, r.old_price_minor, r.currency, r.stock, r.available, r.line)


ROWS: dict[type, tuple[str, Callable[..., tuple]]] = {
    Category: ("stage_category", _category_row),
    Product: ("stage_product", _product_row),
    Offer: ("stage_offer", _offer_row),
    PriceStockUpdate: ("stage_update", _update_row),
}


def _csv(rows: list[tuple]) -> bytes:
    """PostgreSQL CSV: an unquoted empty field is NULL, so empty strings arrive as NULL (the merge coalesces)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def parse(spec: StreamSpec) -> Iterator[Batch | Done]:
    """Batches of COPY-ready rows, then ``Done``; raises ImportFileError for a broken file."""
    progress = [0]
    stream, handles = spec.open(progress)
    try:
        for records in stream.batches(BATCH):
            rows: dict[str, list[tuple]] = {}
            issues: list[RowIssue] = []
            for record in records:
                if isinstance(record, RowIssue):
                    issues.append(record)
                    continue
                table, to_row = ROWS[type(record)]
                rows.setdefault(table, []).append(to_row(record))
            count = sum(len(items) for items in rows.values())
            yield Batch({table: _csv(items) for table, items in rows.items()}, issues, progress[0], count)
        yield Done(stream.meta.is_full, progress[0])
    finally:
        for handle in handles:
            handle.close()


def _child(spec: StreamSpec, out: multiprocessing.Queue) -> None:
    """Runs in the parser process: every item goes to ``out``; a failure is sent, not raised."""
    with use_locale(spec.locale):
        try:
            for item in parse(spec):
                out.put(item)
        except ImportFileError as exc:
            out.put(("fatal", exc.code, exc.text, exc.line, exc.source))
        except Exception as exc:
            out.put(("error", repr(exc)))


def _produce_in_process(spec: StreamSpec, put: Callable[[object], None], stop: threading.Event) -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue(QUEUE_DEPTH)
    process = context.Process(target=_child, args=(spec, out), daemon=True, name="import-parser")
    process.start()
    try:
        while not stop.is_set():
            try:
                item = out.get(timeout=0.5)
            except queue_module.Empty:
                if not process.is_alive():
                    put(RuntimeError("the parser process stopped unexpectedly"))
                    return
                continue
            if isinstance(item, tuple) and item[0] == "fatal":
                put(ImportFileError(item[1], item[2], line=item[3], source=item[4]))
                return
            if isinstance(item, tuple) and item[0] == "error":
                put(RuntimeError(item[1]))
                return
            put(item)
            if isinstance(item, Done):
                return
    finally:
        if process.is_alive():
            process.terminate()
        process.join(5)
        out.close()


def _produce_in_thread(spec: StreamSpec, put: Callable[[object], None], stop: threading.Event) -> None:
    with use_locale(spec.locale):
        try:
            for item in parse(spec):
                if stop.is_set():
                    return
                put(item)
        except BaseException as exc:
            put(exc)


async def batches(
    spec: StreamSpec, stop: threading.Event, *, use_process: bool | None = None
) -> AsyncIterator[Batch | Done]:
    """Yield the spec's batches as they are parsed; ``stop`` ends the parser early (cancel, failure)."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Queue[object] = asyncio.Queue(QUEUE_DEPTH)
    if use_process is None:
        use_process = spec.size >= PROCESS_THRESHOLD
    produce = _produce_in_process if use_process else _produce_in_thread

    def put(item: object) -> None:
        future = asyncio.run_coroutine_threadsafe(pending.put(item), loop)
        while True:
            try:
                future.result(timeout=0.5)
                return
            except TimeoutError:
                if stop.is_set():  # the consumer is gone; drop the item
                    future.cancel()
                    return

    worker = threading.Thread(target=produce, args=(spec, put, stop), daemon=True, name="import-feeder")
    worker.start()
    try:
        while True:
            item = await pending.get()
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
            if isinstance(item, Done):
                return
    finally:
        stop.set()
        while worker.is_alive():
            while not pending.empty():
                pending.get_nowait()
            await asyncio.sleep(0.01)
