"""A fast, strict line parser for N-Triples and N-Quads (the bulk-load path).

rdflib's N-Triples parser builds rdflib terms for every token; the bulk loader only needs the
raw token text of each statement (so that a token seen before maps to its id with one dict
lookup) and builds a term the first time a token is seen. This module does that with one
compiled regular expression per line and reports malformed input as
:class:`~kg_engine.errors.RDFSyntaxError` with the file, line and column.

Example:
    >>> import io
    >>> blocks = list(parse_blocks(io.StringIO('<urn:a> <urn:p> "x\\\\ty"@en .\\n'), "doc.nt"))
    >>> rows = blocks[0]
    >>> rows
    [('<urn:a>', '<urn:p>', '"x\\\\ty"@en', None)]
    >>> token_term(rows[0][2])
    rdflib.term.Literal('x\\ty', lang='en')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from rdflib import BNode

from kg_engine.core.terms import Term
from kg_engine.errors import RDFSyntaxError
from kg_engine.store.schema import BNODE, IRI, LITERAL
from kg_engine.store.terms import TermRow, decode, make_row, term_hash

__all__ = ["Statement", "parse_blocks", "token_parts", "token_row", "token_term"]

Statement = tuple[str, str, str, "str | None"]

# absolute IRIs only (N-Triples has no base IRI to resolve a relative one against)
_IRI = r'<[A-Za-z][A-Za-z0-9+.\-]*:(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>'
_BNODE = r'_:[^\s<>"]*[^\s<>".]'
_LITERAL = (
    r'"(?:[^"\\\n\r]|\\[tbnrf"\'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*"'
    r"(?:@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*|\^\^" + _IRI + ")?"
)
_WS = r"[ \t]*"
# Outline of a statement: cheap to match; each distinct token is validated once, strictly.
_FAST_LINE = re.compile(
    r'[ \t]*(<[^>]*>|_:[^\s<>"]*[^\s<>".])[ \t]*(<[^>]*>)[ \t]*'
    r'(<[^>]*>|_:[^\s<>"]*[^\s<>".]|"(?:[^"\\]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?)'
    r'[ \t]*(?:(<[^>]*>|_:[^\s<>"]*[^\s<>".])[ \t]*)?\.[ \t]*(?:#[^\r]*)?\r?'
).fullmatch
_IRI_RE = re.compile(_IRI)
_BNODE_RE = re.compile(_BNODE)
_LITERAL_RE = re.compile(_LITERAL)
#: a CR with something other than an LF after it (a CR ending the block may have its LF in the
#: next read: it stays in the pending line, whose pattern allows a final CR)
_LONE_CR = re.compile(r"\r(?=[^\n])")
_BLANK = re.compile(r"[ \t]*(?:#.*)?\r?")

_ESCAPE = re.compile(r"\\(?:([tbnrf\"'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_SIMPLE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape_match(m: re.Match[str]) -> str:
    simple, u4, u8 = m.groups()
    if simple is not None:
        return _SIMPLE[simple]
    cp = int(u4 or u8, 16)
    if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:  # as the Turtle parser says
        raise ValueError(f"the escape {m.group()} is not a Unicode character (surrogates and "
                         "code points over 10FFFF are not allowed)")
    return chr(cp)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(_unescape_match, text) if "\\" in text else text


def _glimpse(rest: str) -> str:
    """The start of what was found instead, enough to locate it and no more of the file."""
    return repr(rest[:8] + "…") if len(rest) > 8 else repr(rest)


_BAD_IRI_CHAR = re.compile(r'[<>"{}|^`\\\x00-\x20]')


def _short(token: str, limit: int = 16) -> str:
    """``token`` quoted for a message, cut to ``limit`` characters (no more of the file)."""
    return repr(token if len(token) <= limit else token[:limit] + "…")


def token_parts(token: str) -> tuple[int, str, str | None, str]:
    """``(kind, lexical form, datatype IRI, language)`` of one token, validated strictly.

    Args:
        token: ``<iri>``, ``_:label`` or a literal with its quotes and suffix, as matched by
            :func:`parse_blocks`.

    Raises:
        ValueError: if the token is not a valid N-Triples term.
    """
    first = token[:1]
    if first == "<":
        if not _IRI_RE.fullmatch(token):
            bad = _BAD_IRI_CHAR.search(token, 1, len(token) - 1)
            where = (f"; {bad.group()!r} at character {bad.start()}" if bad else
                     "; no scheme such as http:")
            raise ValueError(
                f"malformed IRI {_short(token)}{where} (expected an absolute IRI such as "
                "<http://example.org/x>: a scheme, and no spaces, quotes or <>{}|^`\\)")
        return IRI, _unescape(token[1:-1]), None, ""
    if first == "_":
        if not _BNODE_RE.fullmatch(token):
            raise ValueError(f"malformed blank node label {_short(token)}")
        return BNODE, token[2:], None, ""
    if not _LITERAL_RE.fullmatch(token):
        raise ValueError(f"malformed literal {_short(token)} (check quotes and escapes)")
    end = token.rindex('"')
    lex = _unescape(token[1:end])
    suffix = token[end + 1:]
    if not suffix:
        return LITERAL, lex, None, ""
    if suffix[0] == "@":
        return LITERAL, lex, None, suffix[1:]
    return LITERAL, lex, _unescape(suffix[3:-1]), ""


def token_row(token: str) -> TermRow:
    """The dictionary row of one token (blank node labels as written), validated strictly;
    an IRI without escapes (most tokens) takes a short path.

    Raises:
        ValueError: if the token is not a valid N-Triples term.
    """
    if token[0] == "<" and "\\" not in token and _IRI_RE.fullmatch(token):
        lex = token[1:-1]
        return TermRow(term_hash(IRI, lex, None, ""), IRI, lex, None, "", None, None, None)
    return make_row(*token_parts(token))


def token_term(token: str) -> Term:
    """The rdflib term of one token (blank node labels kept as written).

    Raises:
        ValueError: if the token is not a valid N-Triples term.
    """
    kind, lex, datatype, lang = token_parts(token)
    if kind == BNODE:
        return BNode(lex)
    return decode(kind, lex, datatype, lang)


def parse_blocks(
    text: TextIO, source: str = "<input>", quads: bool = True, block_size: int = 1 << 22
) -> Iterator[list[Statement]]:
    """Read N-Triples/N-Quads text in large blocks; yield the statements of each block.

    Each statement is ``(s, p, o, g)`` raw tokens (``g`` is ``None`` for a triple). Tokens are
    only checked for their outline here; :func:`token_term` validates each distinct token
    strictly when it is first turned into a term.

    Args:
        text: a text stream.
        source: the file name used in error messages.
        quads: accept a fourth (graph) term, as N-Quads does.
        block_size: characters read at a time.

    Raises:
        RDFSyntaxError: naming the file, line and column of the first malformed statement.
    """
    fast = _FAST_LINE
    line_no = 0
    pending = ""
    while True:
        data = text.read(block_size)
        if data:
            block = pending + data
            if "\r" in block:  # EOL ::= [#xD#xA]+: a CR alone ends a line too
                block = _LONE_CR.sub("\n", block)
            lines = block.split("\n")
            pending = lines.pop()
        else:
            lines = [pending] if pending else []
        statements: list[Statement] = []
        append = statements.append
        first = line_no + 1
        for line in lines:
            line_no += 1
            m = fast(line)
            if m is not None:
                append(m.groups())  # type: ignore[arg-type]
                continue
            if _BLANK.fullmatch(line):
                continue
            column, expected = _diagnose(line)
            raise RDFSyntaxError(
                f"expected {expected}; found {_glimpse(line[column - 1:])}",
                source=source, line=line_no, column=column,
            )
        if not quads and any(st[3] is not None for st in statements):
            number = first + next(i for i, ln in enumerate(lines) if fast(ln) and fast(ln)[4])
            raise RDFSyntaxError(
                "a graph name is not allowed in N-Triples (use N-Quads, .nq, for quads)",
                source=source, line=number,
            )
        yield statements
        if not data:
            return


_TERM_PARTS = (
    ("a subject (<IRI> or _:blank)", re.compile(f"{_WS}(?:{_IRI}|{_BNODE})")),
    ("a predicate (<IRI>)", re.compile(f"{_WS}{_IRI}")),
    ("an object (<IRI>, _:blank or \"literal\")", re.compile(f"{_WS}(?:{_IRI}|{_BNODE}|{_LITERAL})")),
)
_GRAPH_OR_DOT = re.compile(f"{_WS}(?:(?:{_IRI}|{_BNODE}){_WS})?\\.{_WS}(?:#.*)?$")


def _diagnose(line: str) -> tuple[int, str]:
    """1-based column and description of the first thing that does not parse."""
    pos = 0
    for expected, pattern in _TERM_PARTS:
        m = pattern.match(line, pos)
        if m is None:
            return _skip_ws(line, pos) + 1, expected
        pos = m.end()
    return _skip_ws(line, pos) + 1, "an optional graph name and '.' ending the statement"


def _skip_ws(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos
