"""CSV catalogs: decoding, delimiter sniffing with refusal of misread files, presets and generic mapping."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from app.forms import rules
from app.i18n.messages import gettext
from app.services.imports.csv_common import Row, RowTools
from app.services.imports.csv_generic import generic_records, guess_mapping
from app.services.imports.csv_presets import detect_preset, shopify_records, woo_records
from app.services.imports.records import (
    FeedMeta,
    ImportFileError,
    ImportStream,
    ParseResult,
    Record,
    SourceInfo,
)
from app.services.imports.sources import ByteSource, Source, TextEncoding, as_byte_source, detect_encoding
from app.services.imports.values import normalize_currency

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_ROWS = 50
# Share of sampled rows that must have the header's column count before a delimiter is trusted.
_TOLERANCE = 0.8
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(slots=True)
class _Layout:
    encoding: TextEncoding
    delimiter: str
    skip_first: bool
    header: list[str]


def stream_csv(
    source: Source,
    mapping: dict[str, str] | None = None,
    *,
    delimiter: str | None = None,
    currency: str | None = None,
    name: str | None = None,
) -> ImportStream:
    """Stream a product CSV: Shopify/WooCommerce by their headers, else ``mapping`` or a guessed one.

    Raises:
        ImportFileError: empty file, wrong or unknown delimiter, ragged columns, an orders export,
            or columns that cannot be mapped.
    """
    src = as_byte_source(source, name)
    layout = _layout(src, delimiter)
    preset = detect_preset(layout.header) if mapping is None else None
    if preset == "shopify_orders":
        message = gettext("This is a Shopify orders export, not a product file; import it as orders.")
        raise ImportFileError("orders_export", message, source=src.name)
    if preset is None:
        mapping = _checked_mapping(mapping, layout.header, src.name)
    meta = FeedMeta(
        "csv",
        [SourceInfo(src.name, layout.encoding.encoding, kind=preset or "generic")],
        preset=preset or "generic",
    )
    tools = RowTools(src.name, normalize_currency(currency))
    return ImportStream(meta, lambda m: _records(src, layout, preset, mapping or {}, tools, m))


def parse_csv(
    source: Source,
    mapping: dict[str, str] | None = None,
    *,
    delimiter: str | None = None,
    currency: str | None = None,
    name: str | None = None,
) -> ParseResult:
    return stream_csv(source, mapping, delimiter=delimiter, currency=currency, name=name).collect()


def _checked_mapping(mapping: dict[str, str] | None, header: list[str], name: str) -> dict[str, str]:
    mapping = mapping if mapping is not None else guess_mapping(header)
    missing = [column for column in mapping.values() if column not in header]
    if missing:
        message = gettext("The file has no column %(column)s.", column=missing[0])
        raise ImportFileError("unknown_column", message, line=1, source=name)
    if not {"external_id", "sku"} & mapping.keys():
        message = gettext("No column holds a product id or SKU; map one to import the file.")
        raise ImportFileError("unmapped_columns", message, line=1, source=name)
    return mapping


def _records(
    src: ByteSource,
    layout: _Layout,
    preset: str | None,
    mapping: dict[str, str],
    tools: RowTools,
    meta: FeedMeta,
) -> Iterator[Record]:
    rows = _rows(src, layout, tools)
    if preset == "shopify":
        yield from shopify_records(rows, tools)
    elif preset == "woocommerce":
        yield from woo_records(rows, tools)
    else:
        yield from generic_records(rows, mapping, tools)
    yield from tools.drain()
    meta.is_full = tools.products > 0 and tools.updates == 0


def _layout(src: ByteSource, forced: str | None) -> _Layout:
    sample, complete = src.sample()
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError("empty_file", gettext("The file is empty."), source=src.name)
    encoding = detect_encoding(sample, complete, src.name)
    text = sample[len(encoding.bom) :].decode(encoding.encoding, errors="replace")
    if not complete:
        # The sample may end inside a row; only whole lines are measured.
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    skip_first = False
    first_line = text.splitlines()[0] if text else ""
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        # Excel's "sep=;" hint line names the delimiter and is not part of the table.
        forced, skip_first, text = first_line[4], True, text[len(first_line) :].lstrip("\r\n")
    delimiter = _sniff(text, forced, src.name)
    header = [
        cell.strip().lstrip("\ufeff") for cell in next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    ]
    return _Layout(encoding, delimiter, skip_first, header)


def _shape(text: str, delimiter: str) -> tuple[int, float]:
    """Header column count and the share of sampled data rows with exactly that many columns."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) > _SNIFF_ROWS:
                break
    except csv.Error:
        return 1, 0.0
    if not rows:
        return 0, 0.0
    width, data = len(rows[0]), rows[1:]
    share = sum(len(row) == width for row in data) / len(data) if data else 1.0
    return width, share


def _sniff(text: str, forced: str | None, name: str) -> str:
    shapes = {delimiter: _shape(text, delimiter) for delimiter in DELIMITERS}
    good = sorted(
        ((width, delimiter) for delimiter, (width, share) in shapes.items() if width > 1 and share >= _TOLERANCE),
        reverse=True,
    )
    if forced is not None:
        width, share = shapes.get(forced) or _shape(text, forced)
        if width <= 1 and good and good[0][1] != forced:
            message = gettext(
                "With the %(given)s delimiter the header is a single column, but it splits into %(count)s "
                "columns on %(found)s; the delimiter is wrong.",
                given=_NAMES.get(forced, forced),
                count=good[0][0],
                found=_NAMES[good[0][1]],
            )
            raise ImportFileError("wrong_delimiter", message, line=1, source=name)
        if width > 1 and share < _TOLERANCE:
            raise _ragged(name)
        return forced
    if good:
        return good[0][1]
    if any(width > 1 for width, _share in shapes.values()):
        raise _ragged(name)
    message = gettext("No comma, semicolon or tab separates the columns: the header is a single column.")
    raise ImportFileError("no_delimiter", message, line=1, source=name)


def _ragged(name: str) -> ImportFileError:
    message = gettext(
        "Rows have different numbers of columns than the header; the file is not a consistent "
        "table (check the delimiter and quoting)."
    )
    return ImportFileError("inconsistent_columns", message, source=name)


def _rows(src: ByteSource, layout: _Layout, tools: RowTools) -> Iterator[Row]:
    codec = layout.encoding.encoding
    if layout.encoding.bom:
        # These codecs consume the BOM themselves.
        codec = "utf-8-sig" if codec == "utf-8" else codec.rsplit("-", 1)[0]
    width, header = len(layout.header), layout.header
    with src.open() as handle:
        wrapper = io.TextIOWrapper(handle, encoding=codec, newline="")
        reader = csv.reader(wrapper, delimiter=layout.delimiter)
        try:
            if layout.skip_first:
                next(reader, None)
            next(reader, None)
            last = reader.line_num
            for cells in reader:
                line, last = last + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                    message = gettext(
                        "The row has %(count)s columns but the header has %(width)s; it is skipped.",
                        count=len(cells),
                        width=width,
                    )
                    tools.issue(line, None, "extra_columns", message)
                    continue
                if any(rules.has_forbidden(cell) for cell in cells):
                    # A NUL would stop the database's COPY; the row is reported and skipped, the file goes on.
                    tools.issue(line, None, "control_characters", rules.control_message())
                    continue
                yield Row(line, dict(zip(header, cells, strict=False)))
        except UnicodeDecodeError as exc:
            message = gettext("The file has bytes that are not valid %(encoding)s.", encoding=codec)
            raise ImportFileError("bad_encoding", message, line=reader.line_num + 1, source=src.name) from exc
        except csv.Error as exc:
            message = gettext("The CSV is malformed: %(detail)s", detail=str(exc))
            raise ImportFileError("malformed_csv", message, line=reader.line_num, source=src.name) from exc
        finally:
            wrapper.detach()


def inspect_csv(
    source: Source, *, delimiter: str | None = None, name: str | None = None
) -> tuple[list[str], str | None]:
    """The header and the detected preset (None for a generic CSV that needs a column mapping).

    Raises:
        ImportFileError: the file cannot be read as a CSV at all.
    """
    src = as_byte_source(source, name)
    layout = _layout(src, delimiter)
    return layout.header, detect_preset(layout.header)
