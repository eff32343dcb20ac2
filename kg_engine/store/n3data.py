"""N3 read as RDF data: plain triples load, formulae, rules and variables are refused.

The stores hold RDF statements. An N3 file that only uses N3's Turtle-like syntax (prefixes,
``a``, ``=``, paths, lists, literals) is data and loads like Turtle, through rdflib's N3
parser (the stores declare themselves formula-aware so that rdflib accepts them as its
sink). A quoted formula ``{ … }`` (and so every ``=>`` rule) or a variable (``?x``,
``@forAll``) is not data: the parser hands such a statement to the store, which refuses it
here with the file and line the parser had reached and what to do instead (``kg reason``).

Example:
    >>> import tempfile, os
    >>> from kg_engine.store import open_store
    >>> path = os.path.join(tempfile.mkdtemp(), "rules.n3")
    >>> _ = open(path, "w").write("@prefix : <urn:> .\\n:a :p :b .\\n{ ?x :p ?y } => { ?y :q ?x } .\\n")
    >>> try:
    ...     open_store("sqlite://").load(path)
    ... except RDFSyntaxError as exc:
    ...     print(exc.line, str(exc).split(": ", 1)[1][:11])
    3 N3 formulae
"""

from __future__ import annotations

import sys
from typing import Any

from rdflib import Graph, Variable
from rdflib.graph import QuotedGraph

from kg_engine.errors import RDFSyntaxError

__all__ = ["NOT_DATA", "check_data_statement", "formula_error"]

#: Terms rdflib's N3 parser produces that are not RDF terms (a formula is a Graph).
NOT_DATA = (Variable, Graph)


def check_data_statement(triple: tuple, context: Any, quoted: bool,
                         source: str | None = None) -> None:
    """Raise :func:`formula_error` if an rdflib parser hands over a formula's statement or a
    statement with a variable or a formula as a term."""
    s, p, o = triple
    if quoted or isinstance(context, QuotedGraph) or isinstance(s, NOT_DATA) or isinstance(
            p, NOT_DATA) or isinstance(o, NOT_DATA):
        raise formula_error(source)


def formula_error(source: str | None = None) -> RDFSyntaxError:
    """The error for N3 that is not data, located at the N3 parser's current line.

    Args:
        source: the file to name (default: the document the running N3 parser reads).
    """
    where = _parser_position()
    line = where[1] if where else None
    if source is None and where:
        source = where[0]
        if source.startswith("file://"):
            from urllib.parse import unquote, urlparse

            source = unquote(urlparse(source).path)
    return RDFSyntaxError(
        "N3 formulae { … }, rules (=>) and variables are not RDF data and cannot be stored; "
        "for a rules file run `kg reason --rules FILE.n3` (KnowledgeGraph.reason(rules=FILE)), for data "
        "remove the formulae", source=source, line=line)


def _parser_position() -> tuple[str, int] | None:
    """(document, 1-based line) of the rdflib N3 parser running below us on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        parser = frame.f_locals.get("self")
        if type(parser).__name__ == "SinkParser" and isinstance(getattr(parser, "lines", None),
                                                                 int):
            return str(getattr(parser, "_baseURI", "") or ""), parser.lines + 1
        frame = frame.f_back
    return None
