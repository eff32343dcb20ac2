"""A strict, streaming Turtle 1.1 and TriG parser for bulk loads.

rdflib's Turtle parser accepts input the W3C grammar refuses and loses data on the way
(``ex:a ex:p 1.2.3 .`` becomes ``1.2``; a literal subject is taken), and it is slow. This
module accepts exactly the W3C grammars of `Turtle <https://www.w3.org/TR/turtle/>`_ and
`TriG <https://www.w3.org/TR/trig/>`_ and reports anything else as
:class:`~kg_engine.errors.RDFSyntaxError` naming the file, line and column, what was expected
and how to fix it.

How it is fast: one compiled regular expression cuts a block of text (4 M characters, ended
at a newline) into token strings with a single ``findall``; a loop over that list keeps the
grammar's state; every distinct IRI, prefixed name, blank node label or number is resolved
once and then found in a dictionary by its text. How it streams: a block's statements are
handed out before the next block is read; the tokens of a statement cut by the block's end
are carried over (a long string cut by it is re-read with the next block). Memory is
bounded by the block, the longest statement and the term cache (cleared at a million
entries); a file that is one very long line is read whole, as blocks end at line ends.

Used for ``.ttl``/``.trig`` by the bulk loader (``kg load``, ``KnowledgeGraph.load``, SPARQL
``LOAD``) and for ``text/turtle`` bodies of the Graph Store Protocol (:func:`parse_terms`).

Statements are ``(s, p, o, g)`` tuples of *keys*: an IRI is its (absolute) string, a blank
node ``(label,)``, a literal ``(lexical form, datatype IRI or None, language or "")``; ``g``
is ``None`` for the default graph. :func:`key_row` turns a key into the store's term row,
:func:`key_term` into an rdflib term. Lexical forms are kept as written (``1.0`` stays
``"1.0"^^xsd:decimal``); blank node labels are the file's own (``[]`` and collections get
``-1``, ``-2``…, which no Turtle label can be).

Example:
    >>> import io
    >>> doc = '@prefix ex: <http://example.org/> .\\nex:a ex:p 1.0, "x"@en .\\n'
    >>> for statement in TurtleParser("doc.ttl").statements(io.StringIO(doc)):
    ...     print(statement)
    ('http://example.org/a', 'http://example.org/p', ('1.0', 'http://www.w3.org/2001/XMLSchema#decimal', ''), None)
    ('http://example.org/a', 'http://example.org/p', ('x', None, 'en'), None)
    >>> try:
    ...     TurtleParser("bad.ttl").statements(io.StringIO('ex:a ex:p 1.2.3 .'))
    ... except RDFSyntaxError as exc:
    ...     print(exc)
    bad.ttl:1:1: undefined prefix 'ex:'; declare it first with @prefix ex: <http://…> .
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterator
from typing import TextIO

from kg_engine.core.lines import line_ends, line_start
from kg_engine.errors import RDFSyntaxError
from kg_engine.store.schema import BNODE, IRI, LITERAL
from kg_engine.store.terms import (
    VALUED_DATATYPES,
    TermRow,
    ill_typed,
    make_row,
    term_hash,
)

__all__ = ["Key", "TurtleParser", "key_row", "key_term", "parse_terms", "resolve_iri",
           "warn_ill_typed"]

#: An IRI (its string), a blank node ``(label,)`` or a literal ``(lex, datatype, lang)``.
Key = str | tuple[str] | tuple[str, str | None, str]

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_DAY = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # a day every month has
_ZONE = r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
#: the common lexical forms, valid at a glance (a form they miss gets the full check)
_SURELY_VALID = {_XSD + name: re.compile(pattern).fullmatch for name, pattern in [
    ("integer", r"[+-]?[0-9]+"), ("decimal", r"[+-]?[0-9]*\.?[0-9]+"),
    ("double", r"[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"), ("boolean", "true|false"),
    ("date", _DAY + _ZONE),
    ("dateTime", _DAY + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?" + _ZONE)]}
#: literals not valid for their datatype named per document (the rest are counted)
MAX_WARNINGS = 20
log = logging.getLogger(__name__)
_TYPE, _FIRST, _REST, _NIL = _RDF + "type", _RDF + "first", _RDF + "rest", _RDF + "nil"
_INTEGER, _DECIMAL, _DOUBLE, _BOOLEAN = (_XSD + "integer", _XSD + "decimal", _XSD + "double",
                                         _XSD + "boolean")

# -- the tokens (W3C Turtle 1.1 grammar, section 6.5) ------------------------------------------
_BASE_CHARS = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
               "\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
               "\U00010000-\U000effff")
_U_CHARS = _BASE_CHARS + "_"
_CHARS = _U_CHARS + "\\-0-9\u00b7\u0300-\u036f\u203f\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = f"[{_BASE_CHARS}](?:[{_CHARS}]++|\\.++(?=[{_CHARS}]))*+"
_PN_LOCAL = (f"(?:[{_U_CHARS}:0-9]|{_PLX})"
             f"(?:[{_CHARS}:]++|{_PLX}|\\.++(?=[{_CHARS}:]|{_PLX}))*+")
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"\\[tbnrf\"'\\]"
_TOKENS = "|".join([
    f"<(?:[^\\x00-\\x20<>\"{{}}|^`\\\\]++|{_UCHAR})*+>",  # IRIREF
    f"\"\"\"(?:[^\"\\\\]++|{_ECHAR}|{_UCHAR}|\"(?!\"\"))*+\"\"\"",  # STRING_LITERAL_LONG_QUOTE
    f"'''(?:[^'\\\\]++|{_ECHAR}|{_UCHAR}|'(?!''))*+'''",  # STRING_LITERAL_LONG_SINGLE_QUOTE
    "\"\"\"|'''",  # a long string not closed in this block (or in the file)
    f"\"(?:[^\"\\\\\\n\\r]++|{_ECHAR}|{_UCHAR})*+\"",  # STRING_LITERAL_QUOTE
    f"'(?:[^'\\\\\\n\\r]++|{_ECHAR}|{_UCHAR})*+'",  # STRING_LITERAL_SINGLE_QUOTE
    f"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?",  # PNAME_NS, PNAME_LN
    f"_:[{_U_CHARS}0-9](?:[{_CHARS}]++|\\.++(?=[{_CHARS}]))*+",  # BLANK_NODE_LABEL
    "@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+",  # LANGTAG, @prefix, @base
    r"[+-]?(?:[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.?[0-9]+[eE][+-]?[0-9]+|[0-9]*\.[0-9]+|[0-9]+)",
    r"\^\^|[.,;\[\](){}]",
    "[A-Za-z][A-Za-z0-9_\\-]*+",  # a, true, false, PREFIX, BASE, GRAPH (others are refused)
    ".",  # any other character: a syntax error
    r"\Z",  # the end: an empty token
])
_WS = r"[ \t\r\n]*+(?:#[^\r\n]*+[ \t\r\n]*+)*+"
_TOKEN_RE = re.compile(f"{_WS}({_TOKENS})", re.DOTALL)
_IRIREF = re.compile(f"<(?:[^\\x00-\\x20<>\"{{}}|^`\\\\]|{_UCHAR})*>")
_PNAME = re.compile(f"((?:{_PN_PREFIX})?):((?:{_PN_LOCAL})?)")
_NUMBER = re.compile(r"[+-]?[0-9.]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

# RFC 3987 IRI references (what the grammar's IRIREF lets through is checked against it: a
# bad %-escape, a port that is not a number or a colon in a relative IRI's first segment,
# which would resolve to another IRI than the one meant, are refused)
_UNRESERVED = ("A-Za-z0-9\\-._~\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
               "\U00010000-\U000efffd")
_SUB = "!$&'()*+,;="
_PCT = "%[0-9A-Fa-f]{2}"
_IPCHAR = f"(?:[{_UNRESERVED}{_SUB}:@]++|{_PCT})"
_IPCHAR_NC = f"(?:[{_UNRESERVED}{_SUB}@]++|{_PCT})"
_AUTHORITY = (f"(?:(?:[{_UNRESERVED}{_SUB}:]++|{_PCT})*+@)?"
              f"(?:\\[[0-9A-Za-z:.{_SUB}\\-_~]+\\]|(?:[{_UNRESERVED}{_SUB}]++|{_PCT})*+)"
              "(?::[0-9]*+)?")
_PATH = f"(?:{_IPCHAR}|/)*+"
_IRI_REFERENCE = re.compile(
    f"(?:[A-Za-z][A-Za-z0-9+.\\-]*:(?://{_AUTHORITY}(?:/{_PATH})?|(?!//){_PATH})"
    f"|//{_AUTHORITY}(?:/{_PATH})?|/(?!/){_PATH}|{_IPCHAR_NC}*+(?:/{_PATH})?)"
    f"(?:\\?(?:{_IPCHAR}|[/?\ue000-\uf8ff\U000f0000-\U0010fffd])*+)?"
    f"(?:#(?:{_IPCHAR}|[/?])*+)?")

_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_SIMPLE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'",
           "\\": "\\"}
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_PUNCTUATION = frozenset(".,;[](){}") | {"^^"}
_BAD_IRI_CHAR = re.compile(r'[\x00-\x20<>"{}|^`\\]')


class _Rollback(Exception):
    """The tokens ran out inside a statement; it is parsed again with the next block."""


# -- states of the statement loop ----------------------------------------------------------
_START, _VERB, _VERB_OR_END, _OBJECT, _AFTER_OBJECT, _AFTER_SUBJECT_LIST, _ITEM = range(7)
_GRAPH_OR_VERB = 7
# frames: where a finished term goes
_SUBJECT, _TRIPLES, _LIST, _COLLECTION = range(4)

_EXPECTED = {
    _START: "a subject (IRI, prefixed name, blank node, [ … ] or ( … )) or a directive",
    _VERB: "a predicate (IRI, prefixed name or 'a')",
    _VERB_OR_END: "a predicate or the end of the statement",
    _OBJECT: "an object (IRI, prefixed name, blank node, literal, [ … ] or ( … ))",
    _AFTER_OBJECT: "',' (another object), ';' (another predicate) or '.' (end of statement)",
    _AFTER_SUBJECT_LIST: "a predicate or '.'",
    _ITEM: "a list item or ')'",
    _GRAPH_OR_VERB: "a predicate or '{' (a graph)",
}


class TurtleParser:
    """Parse one Turtle or TriG document into statements of keys, block by block.

    Args:
        source: the file name used in error messages.
        base: the base IRI relative IRIs are resolved against (``@base`` changes it).
        trig: parse TriG (graphs in ``{ … }``) instead of Turtle.
        block_size: characters read at a time.
        implicit_base: ``base`` is the document's own address (or the current directory):
            warn (once, with the place) when a relative IRI is resolved against it.

    Attributes:
        prefixes: the prefixes the document declared, first binding of each (for exports).
        ill_typed: (line, column) of each typed literal that is not a value of its datatype
            (``"2024-13-01"^^xsd:date``): kept as written, and logged as a warning naming
            the place and the fix.
    """

    def __init__(self, source: str = "<input>", base: str | None = None, trig: bool = False,
                 block_size: int = 1 << 22, implicit_base: bool = False) -> None:
        self.source = source
        self.base = base
        #: the base is where the document was read from (or the current directory), not one
        #: the document (``@base``) or the caller chose: the first relative IRI resolved
        #: against it is logged as a warning (the IRIs then depend on where the file lay)
        self._warn_relative = implicit_base
        self.trig = trig
        self.block_size = block_size
        self.prefixes: dict[str, str] = {}
        #: (line, column) of every literal that is not a value of its datatype (warned)
        self.ill_typed: list[tuple[int, int]] = []
        self._ns: dict[str, str] = {}
        self._cache: dict[str, Key] = {}
        self._blank = 0
        self._graph: Key | None = None
        self._in_graph = False
        self._out: list[tuple] = []
        # where the tokens of the current list came from, for positions in error messages:
        # [text, first line, tokens of it in the list], and how many of the first are consumed
        self._blocks: list[list] = []
        self._skip = 0
        self._final = False

    # -- driving ---------------------------------------------------------------------------
    def blocks(self, text: TextIO) -> Iterator[list[tuple]]:
        """Read ``text`` block by block; yield the statements of each block.

        Raises:
            RDFSyntaxError: at the first thing the grammar does not allow (statements of
                earlier blocks have been yielded by then: load in a transaction).
        """
        findall = _TOKEN_RE.findall
        pending = ""
        carry: list[str] = []
        line, col0 = 1, 0  # where the next block starts (col0: characters before it on its line)
        first = True
        while True:
            data = text.read(self.block_size)
            final = not data
            if first:
                data = data.removeprefix("\ufeff")  # a byte order mark is no content
                first = False
            buf = pending + data
            if final:
                pending = ""
            else:
                # after the last line end (a CR alone ends a line too, but not a CR that an LF
                # in the next read may follow)
                cut = buf.rfind("\n") + 1 or buf.rfind("\r", 0, len(buf) - 1) + 1
                if not cut:  # no line end yet: read on
                    pending = buf
                    continue
                buf, pending = buf[:cut], buf[cut:]
            tokens = findall(buf)
            if len(tokens) > 1 and not tokens[-2]:  # the end matched after trailing space too
                tokens.pop()
            if not final and ('"""' in tokens or "'''" in tokens):
                # a long string runs past the block: re-read it with the next one
                j = min(tokens.index(q) if q in tokens else len(tokens) for q in ('"""', "'''"))
                start = _token_start(buf, j)
                next_col0 = start - line_start(buf, start) + (
                    col0 if not line_ends(buf, 0, start) else 0)
                pending = buf[start:] + pending
                buf = buf[:start]
                tokens = tokens[:j]
                tokens.append("")
            else:
                next_col0 = 0
            self._blocks.append([buf, line, len(tokens) - (0 if final else 1), col0])
            self._final = final
            if carry:
                carry.extend(tokens)
                tokens = carry
            stop = self._run(tokens)
            out, self._out = self._out, []
            if out:
                yield out
            if final:
                return
            carry = tokens[stop:-1]
            self._skip += stop
            while self._blocks and self._skip >= self._blocks[0][2]:
                self._skip -= self._blocks.pop(0)[2]
            line += line_ends(buf)
            col0 = next_col0
            if len(self._cache) > 1_000_000:
                self._cache = {}

    def statements(self, text: TextIO) -> list[tuple]:
        """All statements of ``text`` in one list (for small documents and tests)."""
        return [st for block in self.blocks(text) for st in block]

    # -- the statement loop ----------------------------------------------------------------
    def _run(self, toks: list[str]) -> int:
        """Parse ``toks`` (ending with the empty token); return the index of the first token
        of an unfinished statement (``len - 1`` when all were used)."""
        out = self._out
        try:
            self._statements(toks, out.append, out)
        except _Rollback as stop:
            mark, n_out = stop.args
            del out[n_out:]  # the unfinished statement's first triples
            return mark
        return len(toks) - 1

    def _statements(self, toks: list[str], emit, out: list) -> None:
        cache = self._cache
        g = self._graph
        trig = self.trig
        i = 0
        mark = omark = 0
        state = _START
        frame = _SUBJECT
        subj: Key | None = None
        pred: Key | None = None
        stack: list[tuple] = []
        while True:
            t = toks[i]
            i += 1
            if state == _AFTER_OBJECT:
                if t == ",":
                    state = _OBJECT
                    continue
                if t == ";":
                    state = _VERB_OR_END
                    continue
                if t == "." and frame == _TRIPLES:
                    state = _START
                    frame = _SUBJECT
                    mark, omark = i, len(out)
                    continue
                if t == "]" and frame == _LIST:
                    o = subj
                    frame, subj, pred = stack.pop()
                elif t == "}" and frame == _TRIPLES and self._in_graph:
                    g = self._end_graph()
                    state = _START
                    frame = _SUBJECT
                    mark, omark = i, len(out)
                    continue
                else:
                    self._unexpected(toks, i - 1, mark, omark, state, frame)
            elif state == _OBJECT or state == _ITEM:
                o = cache.get(t)
                if o is None:
                    c = t[:1]
                    if c == '"' or c == "'":
                        if len(t) < 2 or (t[:3] in ('"""', "'''") and len(t) < 6):
                            self._bad_string(toks, i - 1, mark, omark)
                        lex = t[3:-3] if len(t) >= 6 and t[:3] == c * 3 else t[1:-1]
                        if "\\" in lex:
                            lex = self._unescape(lex, toks, i - 1)
                        nt = toks[i]
                        if nt[:1] == "@" and len(nt) > 1:
                            o = (lex, None, nt[1:])
                            i += 1
                        elif nt == "^^":
                            dt = toks[i + 1]
                            if not dt:
                                self._need_more(toks, i + 1, mark, omark, "a datatype IRI")
                            d = cache.get(dt)
                            if d is None and (dt[0] == "<" or ":" in dt and dt[0] not in "_\"'"):
                                d = self._term(toks, i + 1)
                            if type(d) is not str:
                                self._fail(toks, i + 1, "a datatype must be an IRI or a prefixed"
                                           f" name; found {_short(dt)}")
                            if d in VALUED_DATATYPES:  # an invalid one is warned about
                                ok = _SURELY_VALID.get(d)
                                if (ok is None or ok(lex) is None) and ill_typed(lex, d):
                                    self._ill_typed(toks, i - 1, lex, d)
                            o = (lex, d, "")
                            i += 2
                        else:
                            o = (lex, None, "")
                    elif t == "[":
                        if toks[i] == "]":
                            i += 1
                            o = self._new_blank()
                        else:
                            stack.append((frame, subj, pred))
                            frame = _LIST
                            subj = self._new_blank()
                            state = _VERB
                            continue
                    elif t == "(":
                        if toks[i] == ")":
                            i += 1
                            o = _NIL
                        else:
                            stack.append((frame, subj, pred))
                            frame = _COLLECTION
                            subj = self._new_blank()
                            pred = None
                            state = _ITEM
                            continue
                    elif t == ")" and state == _ITEM:
                        emit((pred, _REST, _NIL, g))
                        o = subj
                        frame, subj, pred = stack.pop()
                    elif not t:
                        self._need_more(toks, i - 1, mark, omark, _EXPECTED[state])
                    elif t in ("a", "A") or t in ".,;]{}^^)" or t[:1] == "@":
                        self._unexpected(toks, i - 1, mark, omark, state, frame)
                    else:
                        o = self._term(toks, i - 1)
            elif state == _VERB or state == _VERB_OR_END or state == _AFTER_SUBJECT_LIST \
                    or state == _GRAPH_OR_VERB:
                if t == "a":
                    pred = _TYPE
                    state = _OBJECT
                    continue
                p = cache.get(t)
                if p is None and t and (t[0] == "<" or ":" in t and t[0] not in "_\"'"):
                    p = self._term(toks, i - 1)
                if type(p) is str:
                    pred = p
                    state = _OBJECT
                    continue
                if p is not None:
                    self._fail(toks, i - 1, "a predicate must be an IRI or a prefixed name; "
                               f"found {_short(t)}")
                if state == _VERB_OR_END and t == ";":
                    continue
                if t == "." and frame == _TRIPLES and (state == _VERB_OR_END
                                                       or state == _AFTER_SUBJECT_LIST):
                    state = _START
                    frame = _SUBJECT
                    mark, omark = i, len(out)
                    continue
                if t == "]" and frame == _LIST and state == _VERB_OR_END:
                    o = subj
                    frame, subj, pred = stack.pop()
                elif t == "}" and frame == _TRIPLES and self._in_graph and state in (
                        _VERB_OR_END, _AFTER_SUBJECT_LIST):
                    g = self._end_graph()
                    state = _START
                    frame = _SUBJECT
                    mark, omark = i, len(out)
                    continue
                elif t == "{" and state == _GRAPH_OR_VERB:
                    self._graph = g = subj
                    self._in_graph = True
                    state = _START
                    frame = _SUBJECT
                    mark, omark = i, len(out)
                    continue
                else:
                    if not t:
                        self._need_more(toks, i - 1, mark, omark, _EXPECTED[state])
                    self._unexpected(toks, i - 1, mark, omark, state, frame)
            else:  # _START
                if not t:
                    if self._final and self._in_graph:
                        self._fail(toks, i - 1, "the file ends inside a graph { … }; "
                                   "expected '}'")
                    if not self._final:
                        raise _Rollback(mark, omark)
                    return
                o = cache.get(t)
                if o is None:
                    c = t[0]
                    if c == "@" or t.lower() in ("prefix", "base"):
                        if self._in_graph:
                            self._fail(toks, i - 1, "directives (@prefix, @base, PREFIX, BASE) "
                                       "are not allowed inside a graph { … }; move them to "
                                       "the top level")
                        i = self._directive(toks, i - 1, mark, omark)
                        cache = self._cache
                        mark, omark = i, len(out)
                        continue
                    if c == "[":
                        if toks[i] == "]":
                            i += 1
                            o = self._new_blank()
                            if trig and not self._in_graph:
                                subj = o
                                frame = _TRIPLES
                                state = _GRAPH_OR_VERB
                                continue
                        else:
                            stack.append((frame, subj, pred))
                            frame = _LIST
                            subj = self._new_blank()
                            state = _VERB
                            continue
                    elif c == "(":
                        if toks[i] == ")":
                            i += 1
                            subj = _NIL
                            frame = _TRIPLES
                            state = _VERB
                            continue
                        stack.append((frame, subj, pred))
                        frame = _COLLECTION
                        subj = self._new_blank()
                        pred = None
                        state = _ITEM
                        continue
                    elif trig and c == "{" and not self._in_graph:
                        self._graph = g = None
                        self._in_graph = True
                        mark, omark = i, len(out)
                        continue
                    elif trig and t.lower() == "graph" and not self._in_graph:
                        i = self._graph_keyword(toks, i, mark, omark)
                        g = self._graph
                        mark, omark = i, len(out)
                        continue
                    elif t == "}" and self._in_graph:
                        g = self._end_graph()
                        mark, omark = i, len(out)
                        continue
                    elif t in _PUNCTUATION or t == "a":
                        self._unexpected(toks, i - 1, mark, omark, state, frame)
                    elif c in "\"'" or _NUMBER.match(t) or t in ("true", "false"):
                        self._fail(toks, i - 1, "a literal cannot be the subject of a triple; "
                                   f"found {_short(t)} (subjects are IRIs or blank nodes)")
                    elif c not in "<_:" and ":" not in t:
                        self._unexpected(toks, i - 1, mark, omark, state, frame)
                    else:
                        o = self._term(toks, i - 1)
                if type(o) is tuple and len(o) == 3:
                    self._fail(toks, i - 1, "a literal cannot be the subject of a triple; "
                               f"found {_short(t)} (subjects are IRIs or blank nodes)")
                subj = o
                frame = _TRIPLES
                state = _GRAPH_OR_VERB if trig and not self._in_graph else _VERB
                continue
            # a finished object (or subject) term `o` goes where the frame says
            if frame == _TRIPLES or frame == _LIST:
                emit((subj, pred, o, g))
                t = toks[i]  # the separator after an object, taken here: one turn less
                if t == ";":
                    i += 1
                    state = _VERB_OR_END
                elif t == ",":
                    i += 1
                    state = _OBJECT
                else:
                    state = _AFTER_OBJECT
            elif frame == _COLLECTION:
                if pred is None:
                    pred = subj
                else:
                    node = self._new_blank()
                    emit((pred, _REST, node, g))
                    pred = node
                emit((pred, _FIRST, o, g))
                state = _ITEM
            else:  # a [ … ] or ( … ) subject
                if type(o) is tuple and len(o) == 3:
                    self._fail(toks, i - 1, "a literal cannot be the subject of a triple")
                subj = o
                state = _AFTER_SUBJECT_LIST if t == "]" else _VERB
                frame = _TRIPLES

    # -- pieces ----------------------------------------------------------------------------
    def _new_blank(self) -> tuple[str]:
        self._blank += 1
        return (f"-{self._blank}",)

    def _end_graph(self) -> None:
        self._graph = None
        self._in_graph = False

    def _graph_keyword(self, toks: list[str], i: int, mark: int, n_out: int) -> int:
        """``GRAPH label {``: returns the index after ``{``."""
        label = toks[i]
        if not label:
            self._need_more(toks, i, mark, n_out, "a graph name after GRAPH")
        if label == "[" and toks[i + 1] == "]":
            key: Key = self._new_blank()
            i += 1
        elif label[:1] in "<_:" or ":" in label and label[0] not in "\"'":
            key = self._cache.get(label) or self._term(toks, i)
            if type(key) is tuple and len(key) == 3:
                key = None  # type: ignore[assignment]
        else:
            key = None  # type: ignore[assignment]
        if key is None:
            self._fail(toks, i, "expected a graph name (IRI, prefixed name or blank node) "
                       f"after GRAPH; found {_short(label)}")
        brace = toks[i + 1]
        if brace != "{":
            if not brace:
                self._need_more(toks, i + 1, mark, n_out, "'{' after the graph name")
            self._fail(toks, i + 1, f"expected '{{' after GRAPH {label}; found {_short(brace)}")
        self._graph = key
        self._in_graph = True
        return i + 2

    def _directive(self, toks: list[str], i: int, mark: int, n_out: int) -> int:
        """Parse the directive at ``toks[i]``; returns the index after it."""
        word = toks[i]
        sparql = word[0] != "@"
        kind = word.lower() if sparql else word
        if kind not in ("@prefix", "@base", "prefix", "base"):
            self._fail(toks, i, f"unknown directive {_short(word)}; expected @prefix or @base "
                       "(lower case) or PREFIX / BASE")
        parts = 2 if kind.endswith("prefix") else 1
        need = parts + (0 if sparql else 1)
        for k in range(1, need + 1):
            if not toks[i + k] and (k < need or not self._final):
                self._need_more(toks, i + k, mark, n_out,
                                "'.' after the directive" if k == need and not sparql else
                                "the rest of the directive")
        j = i + 1
        if parts == 2:
            name = toks[j]
            m = _PNAME.fullmatch(name)
            if m is None or m.group(2):
                self._fail(toks, j, f"expected a prefix name ending in ':' (such as ex:) after "
                           f"{word}; found {_short(name)}")
            j += 1
        iri_tok = toks[j]
        if not _IRIREF.fullmatch(iri_tok):
            self._fail(toks, j, f"expected an IRI in <…> after {word}; found {_short(iri_tok)}")
        iri = self._iri(iri_tok, toks, j)
        j += 1
        if not sparql:
            if toks[j] != ".":
                self._fail(toks, j, f"expected '.' to end the {word} directive; found "
                           f"{_short(toks[j])} (SPARQL-style PREFIX/BASE take no '.')")
            j += 1
        if parts == 2:
            prefix = toks[i + 1][:-1]
            self._ns[prefix] = iri
            self.prefixes.setdefault(prefix, iri)
        else:
            self.base = iri
            self._warn_relative = False  # the document chose its base
        self._cache = {}
        return j

    def _term(self, toks: list[str], i: int) -> Key:
        """The key of a token that names a term (IRI, prefixed name, blank node label,
        number, boolean); caches it."""
        t = toks[i]
        c = t[0]
        if c == "<":
            if len(t) < 2 or not _IRIREF.fullmatch(t):
                self._bad_iri(toks, i)
            key: Key = self._iri(t, toks, i)
        elif c == "_":
            if not t.startswith("_:") or len(t) < 3:
                self._fail(toks, i, f"malformed blank node label {_short(t)} (expected _:name)")
            key = (t[2:],)
        elif t in ("true", "false"):
            key = (t, _BOOLEAN, "")
        elif _NUMBER.match(t) and t != ".":  # the tokenizer only makes whole numbers
            datatype = _DOUBLE if ("e" in t or "E" in t) else _DECIMAL if "." in t else _INTEGER
            key = (t, datatype, "")
        else:
            m = _PNAME.fullmatch(t)
            if m is None:
                self._unexpected_token(toks, i)
            prefix, local = m.groups()
            ns = self._ns.get(prefix)
            if ns is None:
                near = difflib.get_close_matches(prefix, [p for p in self._ns if p], 1)
                self._fail(toks, i, f"undefined prefix {prefix + ':'!r}; " + (
                    f"did you mean {near[0] + ':'!r}? Or declare " if near else "declare ")
                    + f"it first with @prefix {prefix}: <http://…> .")
            if "\\" in local:
                local = _LOCAL_ESCAPE.sub(r"\1", local)
            key = ns + local
            if not _IRI_REFERENCE.fullmatch(key):
                self._fail(toks, i, f"{_short(t)} stands for {_short(key, 60)}, which is not an "
                           f"IRI (RFC 3987): {_iri_fault(key)}")
        self._cache[t] = key
        return key

    def _iri(self, t: str, toks: list[str], i: int) -> str:
        iri = t[1:-1]
        if "\\" in iri:
            iri = self._unescape(iri, toks, i)
            bad = _BAD_IRI_CHAR.search(iri)
            if bad:
                self._fail(toks, i, f"the escape in {_short(t)} stands for {bad.group()!r}, "
                           "which an IRI cannot contain; percent-encode it (%20 for a space)")
        if not _IRI_REFERENCE.fullmatch(iri):
            self._fail(toks, i, f"{_short(t, 60)} is not an IRI (RFC 3987): {_iri_fault(iri)}")
        if not _SCHEME.match(iri):
            if self.base is None:
                self._fail(toks, i, f"relative IRI {_short(t)} and no base IRI; add "
                           "@base <http://…> . or write the IRI in full")
            resolved = resolve_iri(self.base, iri)
            if self._warn_relative:
                self._warn_relative = False
                line, col, _ = self._where(toks, i)
                log.warning("warning: %s:%d:%d: relative IRI <%s> resolved against <%s> (where "
                            "the document was read from, or the current directory; it has no "
                            "@base): stored as <%s>, and so are its other relative IRIs; add "
                            "@base <http://…> . to choose the IRIs", self.source, line, col, iri,
                            self.base, resolved)
            iri = resolved
        return iri

    def _unescape(self, text: str, toks: list[str], i: int) -> str:
        def one(m: re.Match[str]) -> str:
            u4, u8, simple = m.groups()
            if simple is not None:
                return _SIMPLE[simple]
            code = int(u4 or u8, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                self._fail(toks, i, f"the escape {m.group()} is not a Unicode character "
                           "(surrogates and code points over 10FFFF are not allowed)")
            return chr(code)

        return _ESCAPE.sub(one, text)

    # -- errors ----------------------------------------------------------------------------
    def _need_more(self, toks: list[str], i: int, mark: int, n_out: int, expected: str) -> None:
        """At the empty token: read more (a block's end) or fail (the file's end)."""
        if not self._final:
            raise _Rollback(mark, n_out)
        self._fail(toks, i, f"the file ends here; expected {expected}")

    def _unexpected(self, toks: list[str], i: int, mark: int, n_out: int, state: int,
                    frame: int) -> None:
        t = toks[i]
        if not t:
            self._need_more(toks, i, mark, n_out, _EXPECTED[state])
        if t[:1] in ('"', "'", "<") and not _complete(t):
            if t[0] == "<":
                self._bad_iri(toks, i)
            self._bad_string(toks, i, mark, n_out)
        expected = _EXPECTED[state]
        if state == _AFTER_OBJECT:
            expected = {_LIST: "',', ';' or ']' (end of [ … ])",
                        _TRIPLES: _EXPECTED[_AFTER_OBJECT]}.get(frame, expected)
            if self._in_graph:
                expected += " or '}'"
        elif state == _VERB_OR_END and frame == _LIST:
            expected = "a predicate or ']'"
        if state in (_VERB, _VERB_OR_END, _AFTER_SUBJECT_LIST, _GRAPH_OR_VERB) and (
                t[:1] in "\"'_[(0123456789+-" or t in ("true", "false")):
            self._fail(toks, i, "a predicate must be an IRI or a prefixed name (or 'a' for "
                       f"rdf:type); found {_short(t)}")
        hint = ""
        before = toks[i - 1] if i else ""
        if state == _AFTER_OBJECT and t[:1] == "." and t[1:2].isdigit() and _NUMBER.match(
                before) and before[-1].isdigit():
            hint = f" ({before}{t} is not a number: a decimal has one '.')"
        elif state == _AFTER_OBJECT and (t[:1] in "<_\"':0123456789+-." or t[:1].isalpha()):
            hint = " (a statement ends with '.'; objects are separated by ',')"
        elif t == "a" and state != _VERB:
            hint = " ('a' is only allowed as a predicate, for rdf:type)"
        elif t == "{" and not self.trig:
            hint = " (graphs { … } are TriG: name the file .trig)"
        elif t.lower() in ("prefix", "base") or t[:1] == "@":
            hint = " (directives go at the start of a statement)"
        self._fail(toks, i, f"expected {expected}; found {_short(t)}{hint}")

    def _unexpected_token(self, toks: list[str], i: int) -> None:
        self._fail(toks, i, f"unexpected {_short(toks[i])}: not a Turtle term (IRIs are "
                   "written <…>, prefixed names ex:name, blank nodes _:name, strings \"…\")")

    def _bad_iri(self, toks: list[str], i: int) -> None:
        line, col, rest = self._where(toks, i)
        end = rest.find(">")
        iri = rest[: end + 1] if end >= 0 else rest.split("\n", 1)[0]
        bad = re.search(r'\\(?![uU])|\\u(?![0-9A-Fa-f]{4})|\\U(?![0-9A-Fa-f]{8})|'
                        r'[\x00-\x20<"{}|^`]', iri[1:])
        if end < 0:
            why = "no closing '>' on this line"
        elif bad:
            why = (f"{bad.group()!r} at character {bad.start() + 2} is not allowed (write "
                   "spaces and <>\"{}|^`\\ percent-encoded, e.g. %20; escapes are \\uXXXX)")
        else:
            why = "not an IRI"
        raise RDFSyntaxError(f"malformed IRI {_short(iri)}: {why}", source=self.source,
                             line=line, column=col)

    def _bad_string(self, toks: list[str], i: int, mark: int, n_out: int) -> None:
        line, col, rest = self._where(toks, i)
        if rest[:3] in ('"""', "'''"):
            raise RDFSyntaxError(f"unterminated long string: no closing {rest[:3]}",
                                 source=self.source, line=line, column=col)
        q = rest[:1]
        text = rest.split("\n", 1)[0]
        bad = re.search(r"\\(?:u(?![0-9A-Fa-f]{4})|U(?![0-9A-Fa-f]{8})|[^tbnrf\"'\\uU]|$)",
                        text)
        closed = re.match(f"{q}(?:[^{q}\\\\]|\\\\.)*{q}", text)
        if bad and (closed is None or bad.start() < closed.end()):
            why = (f"invalid escape {text[bad.start():bad.start() + 2]!r} at column "
                   f"{col + bad.start()} (escapes: \\t \\b \\n \\r \\f \\\" \\' \\\\ \\uXXXX "
                   "\\UXXXXXXXX)")
        else:
            why = (f"string not closed on this line (a {q} string cannot span lines: use "
                   f"{q * 3}…{q * 3}, or write \\n)")
        raise RDFSyntaxError(why, source=self.source, line=line, column=col)

    def _ill_typed(self, toks: list[str], i: int, lex: str, datatype: str) -> None:
        """Warn (once per place, at most :data:`MAX_WARNINGS` times a document) that the
        literal at token ``i`` is not a value of its datatype: it is kept as written (RDF
        allows it), but FILTERs, ORDER BY and rules find no value in it."""
        line, col, _ = self._where(toks, i)
        if (line, col) in self.ill_typed:
            return  # the statement was parsed again (it ran past a block's end)
        self.ill_typed.append((line, col))
        warn_ill_typed(self.source, line, col, lex, datatype, len(self.ill_typed))

    def _fail(self, toks: list[str], i: int, message: str) -> None:
        line, col, _ = self._where(toks, i)
        raise RDFSyntaxError(message, source=self.source, line=line, column=col)

    def _where(self, toks: list[str], i: int) -> tuple[int, int, str]:
        """Line, column and the text from token ``i`` of the current list on."""
        k = i + self._skip
        for n, (text, first_line, count, col0) in enumerate(self._blocks):
            if k < count or n == len(self._blocks) - 1:
                pos = _token_start(text, k)
                line = first_line + line_ends(text, 0, pos)
                start = line_start(text, pos)
                col = pos - start + 1 + (col0 if start == 0 else 0)
                return line, col, text[pos:pos + 200]
            k -= count
        return 1, 1, ""  # pragma: no cover - every token comes from a block


def warn_ill_typed(source: str, line: int | Callable[[], int | None], column: int | None,
                   lex: str, datatype: str, count: int) -> None:
    """Log the ``count``-th literal of ``source`` that is no value of its datatype, at
    ``line`` (or a function finding it, called only for the first :data:`MAX_WARNINGS`; the
    rest are counted in one line) and ``column``."""
    if count > MAX_WARNINGS:
        if count == MAX_WARNINGS + 1:
            log.warning("warning: %s: more literals are not valid values of their datatype; "
                        "only the first %d are named", source, MAX_WARNINGS)
        return
    where = f"{source}:{line if isinstance(line, int) else line()}"
    where += f":{column}" if column is not None else ""
    name = datatype.replace(_XSD, "xsd:")
    shown = lex if len(lex) <= 40 else lex[:37] + "..."
    log.warning('warning: %s: "%s"^^%s is not a valid %s: stored as written, but comparisons '
                "and rules find no value in it (fix the value, or make it a plain string)",
                where, shown, name, name)


def _token_start(text: str, j: int) -> int:
    """Offset in ``text`` of its ``j``-th token (the end of the text past the last)."""
    for n, m in enumerate(_TOKEN_RE.finditer(text)):
        if n == j:
            return m.start(1)
    return len(text)


def _iri_fault(iri: str) -> str:
    """What is wrong with a string that is not an IRI reference, for the message."""
    pct = re.search("%(?![0-9A-Fa-f]{2})", iri)
    if pct:
        return (f"'%' at character {pct.start() + 1} does not start a %XX escape (write a "
                "percent sign as %25)")
    if iri.count("#") > 1:
        return "more than one '#' (write a '#' inside the fragment as %23)"
    if not _SCHEME.match(iri) and ":" in re.split("[/?#]", iri, 1)[0]:
        return ("no valid scheme before the first ':' (a relative IRI cannot have a ':' in "
                "its first segment: write it in full or as ./…)")
    return "a character or part out of place (check the scheme, host, port and escapes)"


def _complete(t: str) -> bool:
    """Whether a token starting with a quote or '<' is a whole string or IRI."""
    if t[0] == "<":
        return len(t) >= 2 and t[-1] == ">"
    if t[:3] in ('"""', "'''"):
        return len(t) >= 6
    return len(t) >= 2


def _short(token: str, limit: int = 24) -> str:
    return repr(token if len(token) <= limit else token[:limit] + "…") if token else "the end"


# -- RFC 3986 reference resolution ------------------------------------------------------------
_URI_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?",
                        re.DOTALL)


def resolve_iri(base: str, ref: str) -> str:
    """Resolve ``ref`` against ``base`` (RFC 3986, section 5.2, strict).

    Example:
        >>> resolve_iri("http://a/b/c/d;p?q", "../g")
        'http://a/b/g'
        >>> resolve_iri("http://a/b/c/d;p?q", "#s")
        'http://a/b/c/d;p?q#s'
    """
    rs, ra, rp, rq, rf = _URI_PARTS.fullmatch(ref).groups()  # type: ignore[union-attr]
    bs, ba, bp, bq, _ = _URI_PARTS.fullmatch(base).groups()  # type: ignore[union-attr]
    if rs is not None:
        ts, ta, tp, tq = rs, ra, _remove_dots(rp), rq
    else:
        if ra is not None:
            ta, tp, tq = ra, _remove_dots(rp), rq
        else:
            if rp == "":
                tp = bp
                tq = rq if rq is not None else bq
            else:
                if rp.startswith("/"):
                    tp = _remove_dots(rp)
                else:
                    if ba is not None and bp == "":
                        merged = "/" + rp
                    else:
                        merged = bp[: bp.rfind("/") + 1] + rp
                    tp = _remove_dots(merged)
                tq = rq
            ta = ba
        ts = bs
    out = (ts + ":") if ts is not None else ""
    if ta is not None:
        out += "//" + ta
    out += tp
    if tq is not None:
        out += "?" + tq
    if rf is not None:
        out += "#" + rf
    return out


def _remove_dots(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith(("./", "/./")):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../"):
            path = path[3:]
            if out:
                out.pop()
        elif path == "/..":
            path = "/"
            if out:
                out.pop()
        elif path in (".", ".."):
            path = ""
        else:
            start = 1 if path.startswith("/") else 0
            end = path.find("/", start)
            if end < 0:
                end = len(path)
            out.append(path[:end])
            path = path[end:]
    return "".join(out)


# -- keys -> store rows / rdflib terms ----------------------------------------------------------
def key_row(key: Key) -> TermRow:
    """The dictionary row of a statement key (blank node labels as in the file)."""
    if type(key) is str:
        return TermRow(term_hash(IRI, key, None, ""), IRI, key, None, "", None, None, None)
    if len(key) == 1:
        return make_row(BNODE, key[0])
    return make_row(LITERAL, *key)  # type: ignore[arg-type]


def parse_terms(text: str, source: str = "<input>", base: str | None = None,
                trig: bool = False, keep_labels: bool = False) -> list[tuple]:
    """The statements of a Turtle/TriG string as rdflib terms ``(s, p, o, g)`` (``g`` is
    ``None`` for the default graph), each blank node label of the text a fresh ``BNode``
    (with ``keep_labels``: ``BNode(label)``, and ``[ ]`` or a collection's nodes labels
    ``-1``, ``-2``… that no text can write).

    Example:
        >>> [(str(s), o.n3()) for s, _, o, _ in parse_terms('<urn:a> <urn:p> +01 .')]
        [('urn:a', '"+01"^^<http://www.w3.org/2001/XMLSchema#integer>')]

    Raises:
        RDFSyntaxError: see :class:`TurtleParser`.
    """
    import io

    from rdflib import BNode

    blanks: dict[tuple, BNode] = {}

    def term(key: Key):
        if type(key) is tuple and len(key) == 1 and not keep_labels:
            node = blanks.get(key)
            if node is None:
                node = blanks[key] = BNode()
            return node
        return key_term(key)

    return [(term(s), term(p), term(o), None if g is None else term(g))
            for s, p, o, g in TurtleParser(source, base=base, trig=trig).statements(
                io.StringIO(text))]


def key_term(key: Key):
    """The rdflib term of a statement key (blank nodes keep the file's label)."""
    from rdflib import BNode, Literal, URIRef

    if type(key) is str:
        return URIRef(key)
    if len(key) == 1:
        return BNode(key[0])
    lex, datatype, lang = key  # type: ignore[misc]
    return Literal(lex, lang=lang or None, datatype=datatype, normalize=False)
