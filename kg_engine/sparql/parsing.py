"""Parse SPARQL text into rdflib's algebra, keeping literals exactly as written.

rdflib's parser is reused (pyparsing grammar → ``translateQuery``/``translateUpdate``), with two
differences that matter for a store that never canonicalises literals:

* literal constants keep their lexical form (``"01"^^xsd:integer`` stays ``"01"``): rdflib's
  process-wide ``NORMALIZE_LITERALS`` switch is turned off only while *our* parser runs (under a
  lock, restored afterwards);
* every parse error becomes a :class:`~kg_engine.errors.QuerySyntaxError` (also a builtin
  ``SyntaxError``) naming the line and column.

After translation the algebra's expression nodes are bound to kg-engine's conformance fixes
(:mod:`kg_engine.sparql.functions`) — per parsed query, never by patching rdflib.

Example:
    >>> q = parse_query('SELECT ?x WHERE { ?x <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> }')
    >>> str(q.algebra.p.p.triples[0][2])
    '01'
    >>> try:
    ...     parse_query("SELECT ?x WHERE { ?x ?p }")
    ... except SyntaxError as err:
    ...     print(err.lineno, err.offset, type(err).__name__)
    1 25 QuerySyntaxError
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import rdflib
from rdflib import Literal, URIRef
from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.sparql import Prologue, Query, Update

from kg_engine.core.prefixes import find_prefix_use, unknown_prefix_hint, unknown_prefix_name
from kg_engine.core.terms import exact_literals
from kg_engine.errors import QuerySyntaxError
from kg_engine.sparql.compiler.plan import use_text_parser

__all__ = ["exact_literals", "parse_query", "parse_update"]

def _syntax_error(exc: Exception, text: str, what: str, source: str) -> QuerySyntaxError:
    if isinstance(exc, (RecursionError, TimeoutError)):
        raise exc  # deep nesting (the engine retries with a larger stack) or a deadline
    prefix = unknown_prefix_name(exc, text)
    if prefix is not None:  # rdflib names neither where nor the fix
        at = find_prefix_use(text, prefix)
        near = "" if at is None else " near " + repr(
            text.split("\n")[at[0] - 1][at[1] - 1:at[1] + 19])
        return QuerySyntaxError(f"invalid SPARQL {what}{near}: {unknown_prefix_hint(prefix)}",
                                source=source, line=at and at[0], column=at and at[1])
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "col", None) or getattr(exc, "column", None)
    loc = getattr(exc, "loc", None)
    msg = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    if line is not None and isinstance(loc, int):
        loc = _offset_in_text(text, loc)
        line = text.count("\n", 0, loc) + 1
        col = loc - (text.rfind("\n", 0, loc) + 1) + 1
        near = text[loc:loc + 20].split("\n")[0]
        where = f"near {near!r}" if near else "at the end of the text"
        message = f"invalid SPARQL {what} {where}: {msg}"
    else:
        line = col = None
        message = f"invalid SPARQL {what}: {msg}"
    return QuerySyntaxError(message, source=source, line=line, column=col)


#: a ``\\uXXXX`` / ``\\UXXXXXXXX`` escape, or a surrogate written as such (a Python str may hold one)
_CODE_POINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|[\ud800-\udfff]")


def _check_code_points(text: str, what: str, source: str) -> None:
    r"""Refuse an escape (or a character) that is not a Unicode character: a surrogate
    (U+D800-U+DFFF, also as half of a UTF-16 pair) or a code point beyond U+10FFFF. §19.2
    escapes stand for code points and are read before the grammar (so also after a backslash),
    and SPARQL text is made of characters; such a string could not be stored or hashed (it
    failed as a UnicodeEncodeError). pyoxigraph refuses them too.

    Example:
        >>> try:
        ...     _check_code_points('SELECT ("\\uD83D\\uDE00" AS ?x) {}', "query", "<query>")
        ... except SyntaxError as err:
        ...     print(err)
        <query>:1:10: invalid SPARQL query: \uD83D is a surrogate code point, not a character; write the character itself or \U0001F600
    """
    if "\\" not in text and not any("\ud800" <= c <= "\udfff" for c in text):
        return
    for m in _CODE_POINT.finditer(text):
        hexa = m.group(1) or m.group(2)
        cp = int(hexa, 16) if hexa else ord(m.group())
        if 0xD800 <= cp <= 0xDFFF:
            shown = m.group() if hexa else f"U+{cp:04X}"
            problem = f"{shown} is a surrogate code point, not a character; write the character itself"
            pair = _CODE_POINT.match(text, m.end())
            low = pair and (pair.group(1) or "") and int(pair.group(1), 16)
            if cp <= 0xDBFF and low and 0xDC00 <= low <= 0xDFFF:
                problem += f" or \\U{0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00):08X}"
        elif cp > 0x10FFFF:
            problem = f"{m.group()} is beyond U+10FFFF, the last Unicode code point"
        else:
            continue
        line = text.count("\n", 0, m.start()) + 1
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        raise QuerySyntaxError(f"invalid SPARQL {what}: {problem}", source=source, line=line,
                               column=column)


def _offset_in_text(text: str, loc: int) -> int:
    r"""The offset in ``text`` of offset ``loc`` of the string rdflib's grammar parsed:
    ``text`` with ``\uXXXX`` escapes expanded, then tabs expanded (pyparsing's default), so
    an error after an escape or a tab is reported at its column in the text as written.

    Example:
        >>> _offset_in_text('\\u00e9\tx', 8), _offset_in_text('a\tb', 3)
        (7, 1)
    """
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes_re

    escapes = list(expandUnicodeEscapes_re.finditer(text))
    expanded = expandUnicodeEscapes_re.sub("?", text)  # the same length as rdflib's expansion
    if "\t" in expanded:  # undo str.expandtabs(): a tab spans to the next multiple of 8
        width = column = 0
        for i, ch in enumerate(expanded):
            if width >= loc:
                loc = i
                break
            step = 8 - column % 8 if ch == "\t" else 1
            width, column = width + step, 0 if ch in "\n\r" else column + step
            if width > loc:  # inside a tab
                loc = i
                break
        else:
            loc = len(expanded)
    shift = 0  # undo the escapes: each became one character
    for m in escapes:
        if m.start() - shift >= loc:
            break
        shift += len(m.group(0)) - 1
    return min(loc + shift, len(text))


_NPS_MEMBER = r"(?:\^\s*)?(?:<[^<>\s]*>|[A-Za-z_][\w.-]*:[\w.-]*|:[\w.-]*|a)"
_NPS = re.compile(
    r"!\s*(?P<one>\^\s*(?:<[^<>\s]*>|[A-Za-z_][\w.-]*:[\w.-]*|:[\w.-]*|a))"
    r"|!\s*\((?P<group>\s*" + _NPS_MEMBER + r"\s*(?:\|\s*" + _NPS_MEMBER + r"\s*)*)\)"
)


def _has_lost_inverse(node: Any) -> bool:
    """rdflib's grammar drops the IRI of ``^iri`` inside ``!(...)``: find the empty leftovers."""
    from rdflib.paths import AlternativePath, NegatedPath, Path
    from rdflib.plugins.sparql.parserutils import CompValue

    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, NegatedPath):
            if any(isinstance(a, CompValue) and a.name == "InversePath" for a in n.args):
                return True
        elif isinstance(n, AlternativePath):
            stack.extend(n.args)
        elif isinstance(n, Path):
            stack.extend(v for v in vars(n).values() if isinstance(v, (Path, list)))
        elif isinstance(n, dict):
            stack.extend(n.values())
        elif isinstance(n, (list, tuple)):
            stack.extend(n)
    return False


def _rewrite_inverse_nps(text: str) -> str:
    """``!(a|^b)`` → ``(!(a)|^!(b))`` (same meaning; a form rdflib's grammar keeps)."""

    def repl(m: re.Match[str]) -> str:
        members = [m.group("one")] if m.group("one") else m.group("group").split("|")
        members = [x.strip() for x in members]
        fwd = [x for x in members if not x.startswith("^")]
        inv = [x[1:].strip() for x in members if x.startswith("^")]
        if not inv:
            return m.group(0)
        parts = []
        if fwd:
            parts.append("!(" + "|".join(fwd) + ")")
        parts.append("^!(" + "|".join(inv) + ")")
        return "(" + "|".join(parts) + ")"

    return _NPS.sub(repl, text)


def _ns(init_ns: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(init_ns or {})


def parse_query(
    text: str,
    *,
    base: str | None = None,
    init_ns: Mapping[str, Any] | None = None,
    source: str = "<query>",
) -> Query:
    """Parse and translate a SPARQL 1.1 query (literals kept exactly as written).

    Args:
        text: the query text.
        base: base IRI for relative IRIs (a ``BASE`` in the text wins).
        init_ns: extra prefix → namespace bindings.
        source: name of the query's origin for error messages (e.g. a ``.rq`` file name).

    Returns:
        rdflib's translated :class:`~rdflib.plugins.sparql.sparql.Query`, with kg-engine's
        conformance fixes bound into its expressions.

    Raises:
        QuerySyntaxError: malformed query (line and column where the parser stopped), or a
            query the algebra rejects (unknown prefix, invalid GROUP BY projection…).
    """
    from kg_engine.sparql.functions import bind_overrides
    from kg_engine.sparql.scope import check_scope
    from kg_engine.sparql.translation import describe_targets, prepare_parse_tree, repair

    _check_code_points(text, "query", source)
    if base is None:  # the store's prefixes (init_ns) too: kg.query declares them
        fast = _fast_query(text, source, init_ns)
        if fast is not None:
            _check_relative_iris(fast.algebra, text, source, "query")
            return fast
    with exact_literals():
        try:
            parsed = parseQuery(text)
        except Exception as exc:  # pyparsing.ParseException and friends
            raise _syntax_error(_located_query_error(text, exc), text, "query", source) from exc
        check_scope(parsed, text, source)
        prepare_parse_tree(parsed)
        try:
            query = translateQuery(parsed, base, _ns(init_ns))
        except Exception as exc:
            raise _syntax_error(exc, text, "query", source) from exc
        if "^" in text and _has_lost_inverse(query.algebra):
            rewritten = _rewrite_inverse_nps(text)
            if rewritten != text:
                parsed = parseQuery(rewritten)
                prepare_parse_tree(parsed)
                query = translateQuery(parsed, base, _ns(init_ns))
    _check_relative_iris(query.algebra, text, source, "query")
    query._original_args = (text, _ns(init_ns), base)
    _clamp_slices(query.algebra)
    repair(query, text)
    describe_targets(query, text)
    bind_overrides(query.algebra)
    return query


#: rdflib's pyparsing grammar costs 10-30 ms a query: the fast parser builds the same algebra
#: for most queries (tests/sparql/compiler/test_fastparse.py compares both); set False to
#: always use rdflib's grammar.
USE_FAST_PARSER = True


def _fast_query(text: str, source: str = "<query>",
                init_ns: Mapping[str, Any] | None = None) -> Query | None:
    """The query built by kg-engine's fast parser (rdflib's evaluator can run it), or None."""
    if not USE_FAST_PARSER:
        return None
    from kg_engine.sparql.compiler.fastparse import ScopeViolation, parse_with_base
    from kg_engine.sparql.scope import alias_in_scope, bind_in_scope, bnode_label_reused, located

    try:
        found = parse_with_base(text, violations=True, prefixes=init_ns)
    except ScopeViolation as v:  # the error check_scope reports, without rdflib's grammar
        why = bind_in_scope(v.var) if v.kind == "bind" else bnode_label_reused(str(v.var)) \
            if v.kind == "bnode" else alias_in_scope(v.var, v.why)
        raise located(text, source, *why) from None
    if found is None:
        return None
    return query_of_fast_algebra(text, *found)


class _FastPrologue(Prologue):
    """The prologue of a fast-parsed query: its prefixed names are resolved already, so
    rdflib's namespace manager (~1 ms to build: it binds rdflib's default prefixes into a new
    graph) is built only if something asks for it."""

    def __init__(self) -> None:  # not Prologue.__init__: no manager yet
        self.base = None
        self._manager: Any = None

    @property  # type: ignore[override]
    def namespace_manager(self) -> Any:
        if self._manager is None:
            from rdflib import Graph
            from rdflib.namespace import NamespaceManager

            self._manager = NamespaceManager(Graph())
        return self._manager

    @namespace_manager.setter
    def namespace_manager(self, value: Any) -> None:
        self._manager = value


def query_of_fast_algebra(text: str, algebra: Any, base: str | None) -> Query | None:
    """The rdflib ``Query`` of the fast parser's algebra of ``text`` (from
    :func:`~kg_engine.sparql.compiler.fastparse.parse_with_base`), its expressions bound for
    rdflib's evaluator (:func:`~kg_engine.sparql.compiler.fastparse.to_rdflib`, in place);
    None if it has an expression rdflib cannot evaluate."""
    from kg_engine.sparql.compiler.fastparse import Unsupported, to_rdflib
    from kg_engine.sparql.functions import bind_overrides
    from kg_engine.sparql.translation import describe_targets

    try:
        algebra = to_rdflib(algebra)
    except Unsupported:
        return None
    prologue = _FastPrologue()
    prologue.base = base
    query = Query(prologue, algebra)
    query._original_args = (text, {}, None)
    _clamp_slices(query.algebra)
    describe_targets(query, text)
    bind_overrides(query.algebra)
    return query


def _parse_data_update(text: str, init_ns: Mapping[str, Any] | None = None) -> Update | None:
    """``INSERT DATA``/``DELETE DATA``-only requests without pyparsing (fast for bulk data)."""
    from kg_engine.sparql.compiler.fastparse import parse_data_update

    ops = parse_data_update(text, init_ns)
    if ops is None:
        return None
    update = Update(_FastPrologue(), ops)
    update._original_args = (text, {}, None)
    return update


#: LIMIT/OFFSET above this (the largest SQL integer) mean "all rows" / "no rows" anyway.
MAX_SLICE = 2**63 - 1


def _clamp_slices(algebra: Any) -> None:
    """Clamp LIMIT/OFFSET values ≥ 2^63 (valid SPARQL, but no SQL integer holds them) to
    :data:`MAX_SLICE`; the answers are the same, since no store holds 2^63 rows."""
    stack = [algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if getattr(node, "name", None) == "Slice":
                for key in ("start", "length"):
                    if isinstance(node.get(key), int) and node[key] > MAX_SLICE:
                        node[key] = MAX_SLICE
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


_DATA_OP = re.compile(r"\b(INSERT|DELETE)\s+DATA\b", re.IGNORECASE)


def _check_data_blocks(update: Update, text: str, source: str) -> None:
    """INSERT DATA / DELETE DATA hold ground triples (SPARQL 1.1 Update §3.1.1–3.1.2): no
    variables, no literal subjects or non-IRI predicates, no blank nodes in DELETE DATA."""
    ops = [op for op in update.algebra if op.name in ("InsertData", "DeleteData")]
    if "_:" in text and sum(op.name == "InsertData" for op in ops) > 1:
        _check_bnode_labels(text, source)
    starts = [m.start() for m in _DATA_OP.finditer(text)]
    for n, op in enumerate(ops):
        triples = list(op.get("triples") or [])
        verb = "INSERT DATA" if op.name == "InsertData" else "DELETE DATA"
        for graph, quads in (op.get("quads") or {}).items():
            triples.extend(quads)
            if isinstance(graph, rdflib.Variable):
                triples.insert(0, (graph, graph, graph))  # reported as a variable below
        for triple in triples:
            problem = _data_problem(triple, verb)
            if problem is None:
                continue
            term, why = problem
            at = starts[n] if n < len(starts) else 0
            found = text.find(_term_text(term), at)
            pos = found if found >= 0 else at
            line = text.count("\n", 0, pos) + 1
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            raise QuerySyntaxError(f"invalid SPARQL update: {why} in {verb}", source=source,
                                   line=line, column=column)


#: strings, IRIs and comments of an update text: skipped whole when scanning it for blank nodes
#: (they may contain ``_:``, ``[`` or ``;``)
_SKIPPED_TOKENS = (
    r'"""(?:[^\\]|\\.)*?"""' r"|'''(?:[^\\]|\\.)*?'''" r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'|<[^<>\s]*>|#[^\n]*"
)

#: an update text's tokens for finding a DELETE template's blank node
_DELETE_BNODE = re.compile(
    _SKIPPED_TOKENS + r"|(?P<delete>(?<![\w:?$])DELETE\b(?!\s+DATA\b))"
    r"|(?P<bnode>_:[\w.-]*\w|_:\w|\[)",
    re.IGNORECASE,
)


#: the scheme that makes an IRI absolute (RFC 3986 §4.3)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


#: an IRIREF that has no scheme: the text may hold a relative IRI (``<`` as less-than can match
#: too, ``?a<?b&&?b>1``: it only decides whether the parsed request is searched)
_RELATIVE_REF = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.\-]*:)[^<>\"{}|^`\x00-\x20]*>")


def _check_relative_iris(algebra: Any, text: str, source: str, kind: str = "update") -> None:
    """A relative IRI left relative (no ``BASE`` and no ``base=``) is an error in a query or
    an update: RDF stores absolute IRIs (RDF 1.1 Concepts §3.2); ``INSERT DATA { <a> … }``
    stored the text ``a`` as an IRI, silently, and ``SELECT * { <a> ?p ?o }`` matched
    nothing, silently. pyoxigraph refuses both. ``LOAD <file.ttl>`` reads a local path,
    which may be relative: only its ``INTO GRAPH`` is checked."""
    if not _RELATIVE_REF.search(text):
        return
    relative: list[str] = []
    stack: list[Any] = [algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, URIRef):
            if not _SCHEME.match(node):
                relative.append(str(node))
        elif isinstance(node, Literal):
            if node.datatype is not None and not _SCHEME.match(node.datatype):
                relative.append(str(node.datatype))
        elif isinstance(node, dict):
            if getattr(node, "name", None) == "Load":
                stack.append(node.get("graphiri"))
                continue
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set)):
            stack.extend(node)
    if not relative:
        return
    # where it is written: <iri> itself, else the PREFIX IRI it was made from
    places = [(text.find(f"<{iri}>"), iri) for iri in relative]
    for m in re.finditer(r"<([^<>\s]*)>", text):
        places += [(m.start(), iri) for iri in relative if m.group(1) and iri.startswith(m.group(1))]
    at, iri = min(((a, i) for a, i in places if a >= 0), default=(-1, relative[0]))
    line = column = None
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
    raise QuerySyntaxError(
        f"invalid SPARQL {kind}: relative IRI <{iri}> and no base IRI to resolve it against; "
        f"write the IRI in full or add BASE <http://…> before the {kind.replace('update', 'operation')}",
        source=source, line=line, column=column)


def _check_delete_templates(update: Update, text: str, source: str) -> None:
    """No blank nodes in ``DELETE WHERE`` or a ``DELETE`` template (SPARQL 1.1 §19.8, note 8:
    "Blank node syntax is not allowed in DELETE WHERE, the DeleteClause for DELETE, nor in
    DELETE DATA"): it would be a fresh blank node, so the request would silently delete
    nothing."""
    from rdflib import BNode

    n = 0  # index of the operation among those spelled with DELETE (not DELETE DATA)
    for op in update.algebra:
        if op.name == "DeleteWhere":
            template = op
        elif op.name == "Modify" and "delete" in op:  # (an INSERT-only one has no key)
            template = op["delete"]
        else:
            continue
        n += 1
        triples = list(template.get("triples") or [])
        for quads in (template.get("quads") or {}).values():
            triples.extend(quads)
        if not any(isinstance(term, BNode) for triple in triples for term in triple[:3]):
            continue
        verb = "DELETE WHERE" if op.name == "DeleteWhere" else "a DELETE template"
        pos, seen = 0, 0
        for m in _DELETE_BNODE.finditer(text):
            if m.group("delete"):
                seen += 1
            elif m.group("bnode") and seen == n:
                pos = m.start()
                break
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise QuerySyntaxError(
            f"invalid SPARQL update: blank node in {verb} (§19.8: it would be a new blank node, "
            "which no statement holds, so nothing would be deleted); use a variable, e.g. ?b "
            "instead of _:b or []",
            source=source, line=line, column=column)


#: the tokens that matter for blank-node label scope in an update text
_BNODE_SCOPE = re.compile(
    _SKIPPED_TOKENS + r"|(?P<label>_:[\w.-]*\w|_:\w)|(?P<sep>;)|(?P<data>\bINSERT\s+DATA\b)",
    re.IGNORECASE,
)


def _check_bnode_labels(text: str, source: str) -> None:
    """§19.6: the same blank node label cannot be used in two ``INSERT DATA`` operations of
    one request."""
    seen: dict[str, int] = {}  # label -> index of the INSERT DATA operation using it
    op, in_data = 0, False
    for m in _BNODE_SCOPE.finditer(text):
        if m.group("sep"):
            op, in_data = op + 1, False
        elif m.group("data"):
            in_data = True
        elif m.group("label") and in_data:
            label = m.group("label")
            if seen.setdefault(label, op) != op:
                line = text.count("\n", 0, m.start()) + 1
                column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise QuerySyntaxError(
                    f"invalid SPARQL update: blank node {label} is used in two INSERT DATA "
                    "operations of one request (§19.6); give each operation its own labels",
                    source=source, line=line, column=column)


def _data_problem(triple: tuple, verb: str) -> tuple[Any, str] | None:
    from rdflib import BNode, Literal, URIRef, Variable

    s, p, o = triple[:3]
    for term in (s, p, o):
        if isinstance(term, Variable):
            return term, (f"variable {term.n3()} (DATA blocks take concrete triples; use "
                          f"{verb.split()[0]} {{ … }} WHERE {{ … }} to match variables)")
    if isinstance(s, Literal):
        return s, f"literal subject {_short_n3(s)} (a subject is an IRI or a blank node)"
    if not isinstance(p, URIRef):
        return p, f"predicate {_short_n3(p)} is not an IRI"
    if verb == "DELETE DATA":
        for term in (s, o):
            if isinstance(term, BNode):
                return term, "blank node (DELETE DATA cannot name blank nodes; use DELETE WHERE)"
    return None


def _short_n3(term: Any) -> str:
    text = term.n3()
    return text if len(text) <= 60 else text[:60] + "…"


def _term_text(term: Any) -> str:
    from rdflib import BNode, Literal, Variable

    if isinstance(term, Variable):
        return str(term)  # found after its ? or $
    if isinstance(term, Literal):
        return str(term)
    if isinstance(term, BNode):
        return "_:"
    return str(term)


_STRICT_UPDATE: Any = None


def _strict_update_grammar() -> Any:
    """rdflib's Update grammar without its backtracking ``Optional`` at operation level.

    rdflib parses a request as ``Prologue [Update1 [';' Update]]``: when an operation is
    malformed, the ``Optional`` gives up at its *first* token and the error becomes "Expected
    end of text" there. Here, once an operation has started (something other than the end of the
    text follows its prologue), it must parse (pyparsing's ``-``: no backtracking), so the
    error is the operation's own, at the token where it went wrong. Built from rdflib's own
    grammar elements (the same language), only used to locate an error rdflib already found.
    """
    global _STRICT_UPDATE
    if _STRICT_UPDATE is None:
        from pyparsing import MatchFirst, Optional, StringEnd, ZeroOrMore
        from rdflib.plugins.sparql import parser as grammar

        # each operation's grammar without its name: a failure inside it then says what the
        # token should have been ("Expected '}'"), not just which operation it was in
        update1 = MatchFirst([getattr(op, "expr", op) for op in grammar.Update1.exprs])
        update1.set_name("an update operation (INSERT DATA, DELETE DATA, DELETE WHERE, "
                         "INSERT/DELETE … WHERE, LOAD, CLEAR, CREATE, DROP, ADD, MOVE or COPY)")

        def operation() -> Any:
            return grammar.Prologue + ~StringEnd() - update1

        end = StringEnd().set_name("';' or the end of the request")
        strict = (grammar.Prologue + Optional(operation() + ZeroOrMore(";" + operation())
                                              + Optional(";" + grammar.Prologue)) + end)
        for comment in grammar.UpdateUnit.ignoreExprs:  # rdflib's own "#" comment rule
            strict.ignore(comment)
        _STRICT_UPDATE = strict
    return _STRICT_UPDATE


_FURTHEST_LOCK = threading.Lock()
#: grammar elements whose failure says what kind of thing was expected, and the words for it
_TERM_KINDS = (("'?'", "a variable"), ("'<'", "an IRI"), ("literal", "a literal"),
               ("'['", "a blank node"))
#: tokens that only start one of those kinds (named by the kind instead)
_KIND_TOKENS = {"'#'", "'?'", "'$'", "'<'", "':'", "'+'", "'-'", "'true'", "'false'", "'['",
                "'('", "'!'", "'^'", "'a'", "'DISTINCT'", "'NOT'"}
_END = "';' or the end of the request"


def _expected(names: list[str]) -> str:
    """What the grammar elements that failed at one position expected, in words.

    Example:
        >>> _expected(["'#'", "'?'", "'<'", "pname", "literal", "'['", "'('"])
        'a variable, an IRI, a literal or a blank node'
        >>> _expected(["'#'", "','", "';'", "'.'", "'GRAPH'", "'}'"])
        "',', ';', '.', GRAPH or '}'"
    """
    have = set(names)
    if have & {"expr", "UnaryNot", "Builtin_STR"}:
        parts = ["an expression"]
    elif have & {"PathAlternative", "PathElt"}:
        parts = ["a predicate (an IRI, a variable or a property path)"]
    elif "'a'" in have:
        parts = ["a predicate (an IRI, a variable or 'a')"]
    else:
        parts = [words for key, words in _TERM_KINDS if key in have]
    expression = parts == ["an expression"]
    for n in dict.fromkeys(names):
        if n == _END:
            parts.extend(["';'", "the end of the request"])
        elif re.fullmatch(r"'[^']+'", n) and n not in _KIND_TOKENS:
            word = n[1:-1]
            keyword = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word) is not None
            if keyword and expression:
                continue  # a function name: part of "an expression"
            parts.append(word if keyword else n)
    parts = list(dict.fromkeys(parts))
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _furthest_failure(grammar: Any, text: str) -> tuple[Any, Any]:
    """Parse ``text`` with ``grammar``: the parse's own error and a ``ParseException`` at the
    furthest position any grammar element failed at, saying what the elements that failed there
    expected (each None when the text parses or nothing useful was found). A PEG parser
    backtracks out of a cut-short triple to the triple's start; the furthest failure is where the
    text really stopped making sense ("ex:a ex:b }": the object was expected at the "}")."""
    import pyparsing as pp

    me = threading.get_ident()
    best: dict[str, Any] = {"loc": -1, "names": [], "text": None}
    with _FURTHEST_LOCK:
        original = pp.ParserElement._parse

        def tracking(self: Any, instring: str, loc: int, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, instring, loc, *args, **kwargs)
            except pp.ParseBaseException as exc:
                if threading.get_ident() == me:
                    if exc.loc > best["loc"]:
                        best.update(loc=exc.loc, names=[], text=instring)
                    if exc.loc == best["loc"]:
                        best["names"].append(self.name)
                raise

        pp.ParserElement._parse = tracking
        try:
            grammar.parse_string(text)
            return None, None
        except pp.ParseBaseException as exc:
            own = exc
        finally:
            pp.ParserElement._parse = original
    words = _expected(best["names"])
    if best["loc"] < 0 or not words:
        return own, None
    return own, pp.ParseException(best["text"], best["loc"], f"Expected {words}")


def _better(located: Any, further: Any) -> Any:
    """The furthest failure where it is further on than the grammar's own error, or at the same
    place with words for the grammar's internal names ("Expected where", "Expected
    {{'GRAPH' graphiri} | …}", "Expected SelectQuery")."""
    if further is None:
        return located
    if further.loc > located.loc:
        return further
    readable = re.fullmatch(r"Expected (an update operation .*|'[^']*'|';' or the end of the request)",
                            str(getattr(located, "msg", "")))
    return located if further.loc < located.loc or readable else further


def _located_query_error(text: str, exc: Exception) -> Exception:
    """rdflib's failed ``parseQuery(text)`` error, moved to the furthest failure (see
    :func:`_furthest_failure`): "SELECT * WHERE { ?s ?p }" fails at the "}" where the object was
    expected, not at the triple's start with "Expected SelectQuery"."""
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql import parser as grammar

    if not isinstance(exc, ParseBaseException):
        return exc
    try:
        _, further = _furthest_failure(grammar.QueryUnit, grammar.expandUnicodeEscapes(text))
    except Exception:  # noqa: BLE001 - only a better position was sought
        return exc
    return _better(exc, further)


def _located_update_error(text: str, exc: Exception) -> Exception:
    """The error of ``exc`` (rdflib's failed ``parseUpdate(text)``) at the token that broke,
    not at the start of the operation it is in (see :func:`_strict_update_grammar`), nor at the
    start of a triple cut short or of a WHERE clause that fails inside (see
    :func:`_furthest_failure`), with what was expected there."""
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes

    if not isinstance(exc, ParseBaseException):
        return exc
    try:  # one parse gives both the strict grammar's error and the furthest failure
        located, further = _furthest_failure(_strict_update_grammar(), expandUnicodeEscapes(text))
    except Exception:  # noqa: BLE001 - only a better position was sought: keep rdflib's
        return exc
    if located is None:
        return exc  # (cannot happen: both grammars accept the same texts)
    return _better(located, further)


def parse_update(
    text: str,
    *,
    base: str | None = None,
    init_ns: Mapping[str, Any] | None = None,
    source: str = "<update>",
) -> Update:
    """Parse and translate a SPARQL 1.1 Update request (literals kept exactly as written).

    Args:
        text: the update request (one or more operations separated by ``;``).
        base: base IRI for relative IRIs.
        init_ns: extra prefix → namespace bindings.
        source: name of the request's origin for error messages.

    Returns:
        rdflib's translated :class:`~rdflib.plugins.sparql.sparql.Update`.

    Raises:
        QuerySyntaxError: malformed update, with the line and column of the token that broke
            (not of the start of its operation) and what was expected there.

    Example:
        >>> try:
        ...     parse_update("INSERT DATA { <urn:a> <urn:p> 1 } ;\\nDELETE WHERE { ?s ?p ?o ")
        ... except SyntaxError as err:
        ...     print(err)
        <update>:2:25: invalid SPARQL update at the end of the text: Expected '}'
    """
    from kg_engine.sparql.functions import bind_overrides
    from kg_engine.sparql.scope import check_update_scope
    from kg_engine.sparql.translation import prepare_parse_tree, repair

    _check_code_points(text, "update", source)
    if base is None and "DATA" in text.upper():
        fast = _parse_data_update(text, init_ns)
        if fast is not None:
            _check_data_blocks(fast, text, source)
            _check_relative_iris(fast.algebra, text, source)
            return fast
    with exact_literals():
        try:
            parsed = parseUpdate(text)
        except Exception as exc:
            raise _syntax_error(_located_update_error(text, exc), text, "update",
                                source) from exc
        check_update_scope(parsed, text, source)  # WHERE clauses: the query rules and fixes
        prepare_parse_tree(parsed)
        try:
            update = translateUpdate(parsed, base, _ns(init_ns))
        except Exception as exc:
            raise _syntax_error(exc, text, "update", source) from exc
        if isinstance(update, list):  # rdflib's result for an empty request (comments only)
            update = Update(_FastPrologue(), update)
        if "^" in text and _has_lost_inverse(update.algebra):
            rewritten = _rewrite_inverse_nps(text)
            if rewritten != text:
                parsed = parseUpdate(rewritten)
                prepare_parse_tree(parsed)
                update = translateUpdate(parsed, base, _ns(init_ns))
    _check_data_blocks(update, text, source)
    _check_delete_templates(update, text, source)
    _check_relative_iris(update.algebra, text, source)
    update._original_args = (text, _ns(init_ns), base)
    for op in update.algebra:
        if "where" in op:
            _clamp_slices(op["where"])
            repair(SimpleNamespace(algebra=op["where"]), text)
        bind_overrides(op)
    return update


use_text_parser(parse_query)  # the compiler's parser for texts its fast parser declines
