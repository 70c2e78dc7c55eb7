"""Which parser a file needs (YML, CommerceML or CSV), and one entry point that dispatches to it."""

from __future__ import annotations

from collections.abc import Sequence

from app.i18n.messages import gettext
from app.services.imports.commerceml import ROOT, stream_commerceml
from app.services.imports.csvfeed import stream_csv
from app.services.imports.records import FeedFormat, ImportFileError, ImportStream, ParseResult
from app.services.imports.sources import Source, as_byte_source, bom_encoding
from app.services.imports.xmlsafe import inspect_xml
from app.services.imports.yml import stream_yml

# ZIP and gzip magic numbers: 1C exchanges often arrive zipped.
_ARCHIVES = (b"PK\x03\x04", b"\x1f\x8b")
_XML_ROOTS: dict[str, FeedFormat] = {"yml_catalog": "yml", ROOT: "commerceml"}


def detect_format(source: Source, name: str | None = None) -> FeedFormat:
    """Sniff the first bytes: XML is told apart by its root element, anything else is read as CSV.

    Raises:
        ImportFileError: empty file, unsafe XML, or XML that is neither YML nor CommerceML.
    """
    src = as_byte_source(source, name)
    sample, _complete = src.sample()
    if sample.startswith(_ARCHIVES):
        message = gettext("This is a compressed archive; unpack it and upload the files inside.")
        raise ImportFileError("archive", message, source=src.name)
    found = bom_encoding(sample)
    body = sample[len(found[1]) :] if found else sample
    head = body.decode(found[0] if found else "latin-1", errors="replace").lstrip()
    if not head:
        raise ImportFileError("empty_file", gettext("The file is empty."), source=src.name)
    if not head.startswith("<"):
        return "csv"
    root = inspect_xml(src).root_local
    if root in _XML_ROOTS:
        return _XML_ROOTS[root]
    message = gettext("The XML root <%(root)s> is neither a YML feed nor CommerceML.", root=root or "?")
    raise ImportFileError("unsupported_xml", message, source=src.name)


def stream_file(
    source: Source,
    fmt: FeedFormat | None = None,
    *,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    delimiter: str | None = None,
    currency: str | None = None,
) -> ImportStream:
    """One file of any supported format; ``fmt`` skips detection (the CLI's ``--format``)."""
    src = as_byte_source(source, name)
    fmt = fmt or detect_format(src)
    if fmt == "yml":
        return stream_yml(src)
    if fmt == "commerceml":
        return stream_commerceml([src])
    return stream_csv(src, mapping, delimiter=delimiter, currency=currency)


def stream_files(sources: Sequence[Source], names: Sequence[str] | None = None) -> ImportStream:
    """Several files are one CommerceML exchange (import + offers + prices + rests); one file is any format.

    Raises:
        ImportFileError: several files that are not all CommerceML.
    """
    wrapped = [as_byte_source(item, names[index] if names else None) for index, item in enumerate(sources)]
    if len(wrapped) == 1:
        return stream_file(wrapped[0])
    for src in wrapped:
        if detect_format(src) != "commerceml":
            message = gettext(
                "Only a CommerceML exchange can span several files; %(name)s is not CommerceML.",
                name=src.name,
            )
            raise ImportFileError("mixed_files", message, source=src.name)
    return stream_commerceml(wrapped)


def parse_file(
    source: Source,
    fmt: FeedFormat | None = None,
    *,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    delimiter: str | None = None,
    currency: str | None = None,
) -> ParseResult:
    return stream_file(source, fmt, name=name, mapping=mapping, delimiter=delimiter, currency=currency).collect()


def parse_files(sources: Sequence[Source], names: Sequence[str] | None = None) -> ParseResult:
    return stream_files(sources, names).collect()
