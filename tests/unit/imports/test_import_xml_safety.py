"""Hostile and broken XML: entity attacks, empty, truncated and malformed files get precise refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.services.imports import ImportFileError, parse_commerceml, parse_yml, stream_yml
from app.services.imports.sources import ByteSource
from app.services.imports.xmlsafe import PARSER_OPTIONS, XmlProlog, iter_xml

pytestmark = pytest.mark.unit

OFFERS = (
    '<yml_catalog date="2024-01-01">\n<shop><name>S</name>\n'
    '<currencies><currency id="RUR" rate="1"/></currencies>\n'
    '<offers>\n<offer id="1"><name>Мёд</name><price>10</price></offer>\n'
    '<offer id="2"><name>Чай</name><price>20</price></offer>\n</offers></shop></yml_catalog>\n'
)


def _refusal(data: bytes) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        parse_yml(io.BytesIO(data))
    return caught.value


def test_parser_options_never_resolve_entities_load_dtds_or_touch_the_network() -> None:
    assert PARSER_OPTIONS["resolve_entities"] is False
    assert PARSER_OPTIONS["no_network"] is True
    assert PARSER_OPTIONS["load_dtd"] is False
    assert PARSER_OPTIONS["huge_tree"] is False


def test_xxe_file_entity_is_refused_and_the_secret_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    payload = (
        f'<?xml version="1.0"?>\n<!DOCTYPE yml_catalog [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>\n'
        '<yml_catalog><shop><offers><offer id="1"><name>&xxe;</name><price>1</price></offer></offers>'
        "</shop></yml_catalog>"
    ).encode()
    error = _refusal(payload)
    assert error.code == "xml_entities" and error.line == 2
    assert "TOP-SECRET" not in str(error)


def test_xxe_against_etc_passwd_is_refused() -> None:
    payload = (
        b'<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
        b"<yml_catalog><shop><offers><offer id='1'><name>&xxe;</name></offer></offers></shop></yml_catalog>"
    )
    error = _refusal(payload)
    assert error.code == "xml_entities" and "root:" not in str(error)


def test_parser_itself_leaves_entities_unexpanded_even_past_the_doctype_check() -> None:
    # Defence in depth: feed iter_xml directly, skipping inspect_xml's DOCTYPE refusal.
    payload = (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY a "AAAA">]>\n'
        b"<r><name>&xxe;|&a;</name></r>"
    )
    source = ByteSource(io.BytesIO(payload))
    texts = ["".join(elem.itertext()) for _, elem in iter_xml(source, XmlProlog("utf-8", "r"), ["{*}name"])]
    assert texts == ["&xxe;|&a;"]


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    payload = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n{chr(10).join(levels)}\n]>\n<yml_catalog>&lol9;</yml_catalog>'
    assert _refusal(payload.encode()).code == "xml_entities"


def test_parameter_entity_pointing_to_the_network_is_refused() -> None:
    payload = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>\n<yml_catalog/>'
    )
    assert _refusal(payload).code == "xml_entities"


def test_commerceml_with_entities_is_refused_too() -> None:
    payload = '<?xml version="1.0"?>\n<!DOCTYPE К [<!ENTITY a "b">]>\n<КоммерческаяИнформация/>'.encode()
    with pytest.raises(ImportFileError) as caught:
        parse_commerceml(io.BytesIO(payload))
    assert caught.value.code == "xml_entities"


def test_external_dtd_reference_without_entities_is_read_without_fetching_it() -> None:
    # Unreachable on purpose: a fetch would hang or fail, so success proves it was never loaded.
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE yml_catalog SYSTEM "http://127.0.0.1:9/shops.dtd">\n'
    result = parse_yml(io.BytesIO(doctype + OFFERS.encode()))
    assert [p.name for p in result.products] == ["Мёд", "Чай"]


@pytest.mark.parametrize("data", [b"", b"   \n\t", b"\xef\xbb\xbf"])
def test_empty_file_is_refused_as_empty(data: bytes) -> None:
    assert _refusal(data).code == "empty_file"


def test_declaration_without_any_element_is_refused() -> None:
    assert _refusal(b'<?xml version="1.0" encoding="UTF-8"?>\n').code == "empty_document"


def test_truncated_file_is_refused_with_the_line_where_it_stops() -> None:
    data = OFFERS.encode()
    error = _refusal(data[: data.index(b"<price>20")])
    assert error.code == "truncated_xml" and error.line == 6


def test_truncated_file_is_never_partly_returned_as_success() -> None:
    data = OFFERS.encode()
    stream = stream_yml(io.BytesIO(data[:-30]))
    seen = []
    with pytest.raises(ImportFileError):
        for record in stream:
            seen.append(record)
    assert not stream.meta.complete  # the consumer must roll back what it applied


def test_malformed_xml_names_the_line_and_the_problem() -> None:
    error = _refusal(OFFERS.replace("<name>Чай</name>", "<name>Чай</nam>").encode())
    assert error.code == "malformed_xml" and error.line == 6
    assert "mismatch" in error.message


def test_undefined_html_entity_is_refused_with_a_readable_reason() -> None:
    error = _refusal(OFFERS.replace("<name>Чай</name>", "<name>Чай&nbsp;зелёный</name>").encode())
    assert error.code == "malformed_xml" and "&nbsp;" in error.message


def test_html_page_instead_of_a_feed_is_refused() -> None:
    error = _refusal(b"<!DOCTYPE html>\n<html><body>Not found</body></html>")
    assert error.code == "not_yml"


def test_comments_and_processing_instructions_before_the_root_are_skipped() -> None:
    head = b'<?xml version="1.0"?>\n<!-- exported by a plugin -->\n<?xml-stylesheet href="x.xsl"?>\n'
    result = parse_yml(io.BytesIO(head + OFFERS.encode()))
    assert [o.line for o in result.offers] == [8, 9]


def test_unknown_declared_encoding_is_refused() -> None:
    assert _refusal(b'<?xml version="1.0" encoding="x-klingon"?>\n<yml_catalog/>').code == "unknown_encoding"
