"""The N-Triples / N-Quads parser: blocks vs lines, error line numbers, token rows."""

from __future__ import annotations

import io

import pytest

from kg_engine.errors import RDFSyntaxError
from kg_engine.store.ntriples import parse_blocks, token_parts, token_row
from kg_engine.store.terms import make_row

LINES = [
    '<urn:a> <urn:p> <urn:b> .',
    '_:x <urn:p> "say \\"hi\\" . <urn:c>"@en-GB .',
    '<urn:a>\t<urn:p>  "01"^^<http://www.w3.org/2001/XMLSchema#integer>. # note',
    '<urn:a> <urn:p> _:y .\r',
]


def _parse(text: str, quads: bool = False, block_size: int = 1 << 22) -> list[tuple]:
    return [st for block in parse_blocks(io.StringIO(text), "t.nt", quads, block_size)
            for st in block]


@pytest.mark.parametrize("block_size", [7, 64, 1 << 22])
@pytest.mark.parametrize("extra", ["", "\n# a comment\n\n"])
def test_blocks_give_the_statements_of_the_lines(block_size: int, extra: str) -> None:
    text = "\n".join(LINES[:2]) + "\n" + extra + "\n".join(LINES[2:])  # no final newline
    assert _parse(text, block_size=block_size) == [
        ("<urn:a>", "<urn:p>", "<urn:b>", None),
        ("_:x", "<urn:p>", '"say \\"hi\\" . <urn:c>"@en-GB', None),
        ("<urn:a>", "<urn:p>", '"01"^^<http://www.w3.org/2001/XMLSchema#integer>', None),
        ("<urn:a>", "<urn:p>", "_:y", None),
    ]


def test_quads_have_no_graph_for_triples() -> None:
    assert _parse("<urn:a> <urn:p> <urn:b> <urn:g> .\n_:s <urn:p> <urn:b> .\n", quads=True) == [
        ("<urn:a>", "<urn:p>", "<urn:b>", "<urn:g>"), ("_:s", "<urn:p>", "<urn:b>", None)]


@pytest.mark.parametrize("block_size", [16, 1 << 22])
@pytest.mark.parametrize("bad, line, message", [
    ('<urn:a> <urn:p> "open\n<urn:a> <urn:p> <urn:b> .', 3, "an object"),
    ("<urn:a> <urn:p> <urn:b> <urn:g> .", 3, "N-Quads"),
    ("<urn:a> <urn:p <urn:b> .", 3, "a predicate"),
])
def test_a_bad_line_is_reported_with_its_number(block_size: int, bad: str, line: int,
                                                message: str) -> None:
    text = "<urn:a> <urn:p> <urn:b> .\n\n" + bad + "\n<urn:a> <urn:p> <urn:c> .\n"
    with pytest.raises(RDFSyntaxError, match=message) as info:
        _parse(text, block_size=block_size)
    assert info.value.line == line


@pytest.mark.parametrize("token", [
    "<urn:a>", "<http://example.org/x#y>", "<urn:\\u0041>", "_:b1", '"x"', '"x"@en',
    '"01"^^<http://www.w3.org/2001/XMLSchema#integer>',
    '"x"^^<http://www.w3.org/2001/XMLSchema#string>',
])
def test_token_row_is_the_row_of_the_token_parts(token: str) -> None:
    assert token_row(token) == make_row(*token_parts(token))


@pytest.mark.parametrize("token", ["<a b>", "<noscheme>", "<urn:a\\q>", '"bad\\q"'])
def test_token_row_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        token_row(token)


@pytest.mark.parametrize("token", ['"\\uD800"', '"a\\uDC00"', "<urn:x\\uD83D>", '"\\U00110000"'])
def test_an_escape_that_is_not_a_character_is_a_syntax_error(token: str) -> None:
    # a surrogate passed through and failed later as a UnicodeEncodeError ("internal error in
    # kg load"); the Turtle parser refused it already
    with pytest.raises(ValueError, match="is not a Unicode character"):
        token_row(token)


def test_an_escaped_surrogate_names_its_line(tmp_path) -> None:
    from kg_engine.store import open_store

    path = tmp_path / "s.nt"
    path.write_text('<urn:a> <urn:p> "ok" .\n<urn:a> <urn:p> "\\uD800" .\n', encoding="utf-8")
    store = open_store("sqlite://")
    with pytest.raises(RDFSyntaxError, match=r"s\.nt:2: the escape \\uD800 is not a Unicode character"):
        store.load(path)
    assert len(store) == 0


@pytest.mark.parametrize("block_size", [5, 1 << 20])
def test_a_cr_alone_ends_a_line(block_size: int) -> None:
    """N-Triples' EOL is [#xD#xA]+: a file with CR alone between lines was refused as one
    malformed line ("found '.\\r<urn:a…'" at 1:21); now it loads, and an error names its line."""
    good = "\r".join(f'<urn:a> <urn:p> "{i}" .' for i in range(20)) + "\r\r\n"
    got = [st for block in parse_blocks(io.StringIO(good, newline=""), "cr.nt",
                                        block_size=block_size) for st in block]
    assert [st[2] for st in got] == [f'"{i}"' for i in range(20)]
    bad = '<urn:a> <urn:p> "1" .\r\r\n<urn:a> <urn:p> oops .\r'  # CR, then CR LF: two line ends
    with pytest.raises(RDFSyntaxError) as info:
        list(parse_blocks(io.StringIO(bad, newline=""), "cr.nt", block_size=block_size))
    assert (info.value.line, info.value.column) == (3, 17)
