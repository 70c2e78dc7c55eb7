"""Hardened, streaming XML reading: no entities, no DTD, no network, flat memory, precise errors."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.i18n.messages import gettext
from app.services.imports.records import ImportFileError
from app.services.imports.sources import (
    ByteSource,
    Utf8Reader,
    bom_encoding,
    guess_encoding,
    is_utf8,
)

# Every parser in the import engine uses exactly these options; tests pin them.
PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

_DECLARATION = re.compile(r"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_NAME = re.compile(r"[^\s/>!?<]+")
_UTF8_NAMES = {"utf-8", "utf8"}
# libxml2 error codes: bad bytes for the encoding, and "no element found".
_ENCODING_CODES = {9, 31, 32, 81}
_NO_ELEMENT = 1


@dataclass(slots=True)
class XmlProlog:
    """What the first bytes say: encoding, root element and how the bytes must be fed to lxml."""

    encoding: str
    root: str | None
    transcode: bool = False
    cr_only: bool = False
    bom: bytes = b""
    warnings: list[str] = field(default_factory=list)

    @property
    def root_local(self) -> str | None:
        return self.root.split(":")[-1] if self.root else None


def inspect_xml(source: ByteSource) -> XmlProlog:
    """Read the prolog and refuse empty files, entity declarations and unknown encodings up front."""
    sample, complete = source.sample()
    found = bom_encoding(sample)
    if not sample[len(found[1]) if found else 0 :].strip():
        raise ImportFileError("empty_file", gettext("The file is empty."), source=source.name)
    head = sample[:200].decode(found[0] if found else "latin-1", errors="replace").lstrip("\ufeff")
    match = _DECLARATION.match(head)
    declared = match.group(1).lower() if match else None
    if declared and not _known_codec(declared):
        message = gettext("The file declares an unknown text encoding, %(encoding)s.", encoding=declared)
        raise ImportFileError("unknown_encoding", message, line=1, source=source.name)
    prolog = XmlProlog(encoding=found[0] if found else (declared or "utf-8"), root=None, bom=found[1] if found else b"")
    if not found and (declared is None or declared in _UTF8_NAMES) and not is_utf8(sample, complete):
        prolog.encoding, prolog.transcode = guess_encoding(sample, source.name), True
        if declared:
            prolog.warnings.append(
                gettext("The file says it is UTF-8 but is written in %(encoding)s.", encoding=prolog.encoding)
            )
    prolog.cr_only = b"\r" in sample and b"\n" not in sample and not prolog.encoding.startswith("utf-16")
    prolog.transcode = prolog.transcode or prolog.cr_only
    text = sample[len(prolog.bom) :].decode(prolog.encoding, errors="replace")
    prolog.root = _scan_prolog(text, complete, source.name)
    return prolog


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _scan_prolog(text: str, complete: bool, name: str) -> str | None:
    """Walk declaration, comments, PIs and DOCTYPE up to the root tag; None if something else is there."""
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in " \t\r\n":
            pos += 1
        if pos >= size:
            break
        if text.startswith("<?", pos) or text.startswith("<!--", pos):
            closer = "?>" if text[pos + 1] == "?" else "-->"
            end = text.find(closer, pos)
            if end < 0:
                break
            pos = end + len(closer)
        elif text.startswith("<!DOCTYPE", pos):
            pos = _check_doctype(text, pos, complete, name)
        elif text.startswith("<", pos):
            match = _NAME.match(text, pos + 1)
            return match.group() if match else None
        else:
            return None
    if complete:
        raise ImportFileError("empty_document", gettext("The file holds no XML element."), source=name)
    raise ImportFileError("prolog_too_large", gettext("The XML header is too long to be checked safely."), source=name)


def _check_doctype(text: str, pos: int, complete: bool, name: str) -> int:
    """Refuse any DOCTYPE whose internal subset declares entities (XXE, billion laughs)."""
    quote, subset_start = "", -1
    for index in range(pos + 9, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "[" and subset_start < 0:
            subset_start = index
        elif char == "]" and subset_start >= 0:
            subset_start = -2
        elif char == ">" and subset_start < 0:
            if "<!ENTITY" in text[pos:index]:
                break
            return index + 1
        if subset_start >= 0 and text.startswith("<!ENTITY", index):
            break
    else:
        if complete:
            return len(text)  # lxml will name the syntax error with its line
        raise ImportFileError(
            "doctype_too_large",
            gettext("The DOCTYPE declaration is too long to be checked safely."),
            source=name,
        )
    raise ImportFileError(
        "xml_entities",
        gettext("The file declares XML entities, which are refused for safety (XXE, entity expansion)."),
        line=text.count("\n", 0, pos) + 1,
        source=name,
    )


class _EofWatch(io.RawIOBase):
    """Notes when the parser has asked past the last byte: an error after that means a cut-off file."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self.eof = self.eof or not data
        buffer[: len(data)] = data
        return len(data)


def iter_xml(
    source: ByteSource, prolog: XmlProlog, tags: Sequence[str], events: Sequence[str] = ("end",)
) -> Iterator[tuple[str, etree._Element]]:
    """``iterparse`` over the chosen tags with safe options; syntax errors become ImportFileError."""
    with source.open() as handle:
        options = dict(PARSER_OPTIONS)
        raw: Any = handle
        if prolog.transcode:
            raw = Utf8Reader(handle, prolog.encoding, prolog.cr_only, len(prolog.bom))
            options["encoding"] = "utf-8"
        watch = _EofWatch(raw)
        last_line = 0
        try:
            for event, elem in etree.iterparse(watch, events=tuple(events), tag=tuple(tags), **options):
                last_line = elem.sourceline or last_line
                yield event, elem
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, source.name, watch.eof, last_line) from exc
        except UnicodeDecodeError as exc:
            message = gettext("The file has bytes that are not valid %(encoding)s.", encoding=prolog.encoding)
            raise ImportFileError("bad_encoding", message, line=last_line or None, source=source.name) from exc


def syntax_error(exc: etree.XMLSyntaxError, name: str, at_eof: bool, last_line: int) -> ImportFileError:
    line = exc.lineno or last_line or None
    if exc.code in _ENCODING_CODES:
        message = gettext("The file's characters do not match its declared encoding.")
        return ImportFileError("bad_encoding", message, line=line, source=name)
    if exc.code == _NO_ELEMENT:
        # With entities unresolved, libxml2 reports an unknown one such as &nbsp; only as "no element found".
        message = gettext(
            "The XML cannot be read past line %(line)s: an undefined entity (like &nbsp;) or broken markup.",
            line=last_line or 1,
        )
        return ImportFileError("malformed_xml", message, line=last_line or None, source=name)
    if at_eof:
        message = gettext("The file ends in the middle of the XML document; it looks truncated.")
        return ImportFileError("truncated_xml", message, line=line, source=name)
    # libxml2's own wording is English only, but it is the precise part a support engineer needs.
    message = gettext("The file is not well-formed XML: %(detail)s", detail=exc.msg)
    return ImportFileError("malformed_xml", message, line=line, source=name)


def release(elem: etree._Element) -> None:
    """Free a processed element and the finished siblings before it, so the tree never grows."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is None:
        return
    while elem.getprevious() is not None:
        del parent[0]


def local(elem: etree._Element) -> str:
    tag = elem.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def child(elem: etree._Element, name: str) -> etree._Element | None:
    return elem.find("{*}" + name)


def children(elem: etree._Element, name: str) -> list[etree._Element]:
    return list(elem.iterchildren("{*}" + name))


def text(elem: etree._Element | None, name: str | None = None) -> str | None:
    """Stripped text of ``elem`` (or of its first ``name`` child); whitespace-only is None."""
    node = elem if name is None or elem is None else child(elem, name)
    if node is None:
        return None
    value = "".join(node.itertext()) if len(node) else node.text
    value = value.strip() if value else None
    return value or None


def parent_is(elem: etree._Element, name: str) -> bool:
    parent = elem.getparent()
    return parent is not None and local(parent) == name
