"""``kg query``: run a SPARQL 1.1 query against the store.

The query comes as an argument or from a file (``-f query.rq``); results print as a table
(default: literal values, IRIs shortened with the store's and the query's prefixes), CSV, TSV,
SPARQL JSON or SPARQL XML (exact terms). ``--explain`` prints the SQL the query compiles
to instead of running it. A malformed query exits with code 2 and names line and column.
The prefixes the store binds (those of the Turtle files loaded) need no ``PREFIX`` line, as
for ``kg.query``; the query's own ``PREFIX`` lines win.
With a reasoning profile (``kg reason``) answers include the inferred statements;
``--asserted-only`` leaves them out.

Examples::

    kg query "SELECT ?s WHERE { ?s a <http://example.org/Person> } LIMIT 10"
    kg query "SELECT ?s WHERE { ?s a :Person }"   # after loading a file with @prefix :
    kg query -f q1.rq --format csv > out.csv
    kg query --explain "SELECT * WHERE { ?s ?p ?o }"
"""

# no `from __future__ import annotations` here: typer reads the command's signature with
# typing.get_type_hints, which compiles and evaluates every string annotation (0.85 of the
# 1.2 CPU-ms that building `kg query` took)
import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from kg_engine.cli.common import (
    DEFAULT_DB,
    EXIT_BAD_INPUT,
    DbOption,
    command_line_text,
    open_kg,
    report,
    store_prefixes,
    user_errors,
)
from kg_engine.core.inputs import check_file
from kg_engine.errors import QuerySyntaxError, QueryTimeoutError


def read_request(text: str | None, file: Path | None, what: str) -> tuple[str, str]:
    """The request text and its source name (``-f`` file or the argument); exit 2 if neither."""
    if file is not None:
        if text:
            report(ValueError(f"give the {what} either as an argument or with -f, not both"))
            raise typer.Exit(EXIT_BAD_INPUT)
        # UTF-8 (SPARQL's media types), whatever the locale; a leading byte order mark
        # (Windows editors write one) is no part of the request
        stdin = str(file) == "-"
        if not stdin:
            check_file(file, what)
        source = "<stdin>" if stdin else str(file)
        try:
            raw = sys.stdin.buffer.read() if stdin else file.read_bytes()
            return raw.decode("utf-8-sig"), source
        except UnicodeDecodeError as exc:
            raise QuerySyntaxError(f"not UTF-8 text ({exc.reason} at byte {exc.start}): save "
                                   f"the {what} as UTF-8", source=source) from None
    if not text:
        report(ValueError(f"no {what}: pass it as an argument or with -f FILE"))
        raise typer.Exit(EXIT_BAD_INPUT)
    return command_line_text(text), f"<{what}>"


_PROLOGUE = re.compile(r"\s*((PREFIX\s*[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>|#[^\n]*)\s*)*",
                       re.IGNORECASE)
_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY",
                 "WITH"}
_QUERY_WORDS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


@contextlib.contextmanager
def file_hint(text: str | None, what: str) -> Iterator[None]:
    """A malformed request that looks like a file name gets the hint to use ``-f``; an
    update given to ``kg query`` (or a query to ``kg update``) the command to use."""
    try:
        yield
    except QuerySyntaxError as exc:
        if text and len(text) < 256 and not any(c.isspace() for c in text.strip()) and \
                "{" not in text:
            raise QuerySyntaxError(f"{exc.message}; to read the {what} from the file "
                                   f"{text!r}, use -f {text}", source=exc.source,
                                   line=exc.line, column=exc.column) from None
        words = text[_PROLOGUE.match(text).end():].split(None, 1) if text else []
        first = words[0].upper() if words else ""
        other = {"query": ("update", _UPDATE_WORDS), "update": ("query", _QUERY_WORDS)}.get(what)
        if other and first in other[1]:
            raise QuerySyntaxError(f"{exc.message}; this is a SPARQL {other[0]}: run it with "
                                   f"kg {other[0]}", source=exc.source, line=exc.line,
                                   column=exc.column) from None
        raise


def query(
    text: Annotated[str | None, typer.Argument(help="the SPARQL query text")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="read the query from this file ('-': stdin)")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="table | csv | tsv | json | xml")
    ] = "table",
    explain: Annotated[
        bool, typer.Option("--explain", help="print the SQL the query compiles to; do not run it")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="cancel the query after this many seconds")
    ] = None,
    union: Annotated[
        bool, typer.Option("--union", help="default graph = union of all graphs")
    ] = False,
    asserted_only: Annotated[
        bool, typer.Option("--asserted-only", help="leave out the statements of the reasoning profile")
    ] = False,
    predicted: Annotated[
        bool, typer.Option("--predicted", help="include GNN prediction and analytics graphs")
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
    from kg_engine.sparql import default_engine
    from kg_engine.sparql.results import FORMATS, format_result

    with user_errors():
        if fmt not in FORMATS:
            report(ValueError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}"))
            raise typer.Exit(EXIT_BAD_INPUT)
        q, source = read_request(text, file, "query")
        engine = default_engine()
        with open_kg(db, readonly=True) as kg:
            # SELECT as JSON: written by the database from the compiled SQL (no rdflib terms,
            # no parse by rdflib unless that path declines the query)
            out = _direct_json(engine, kg, q, timeout, union, asserted_only, predicted) \
                if fmt == "json" and not explain else None
            if out is None:  # syntax errors name the -f file; the store's prefixes declared
                with file_hint(text, "query"):  # as kg.query does (same parse, cached)
                    prepared = engine.prepare(q, source=source, init_ns=kg.graph.prefixes())
            if out is None and explain:
                out = engine.explain(kg.graph, prepared, union_default_graph=union) + "\n"
            elif out is None:
                try:
                    result = kg.query(q, timeout=timeout, union_default_graph=union,
                                      include_inferred=not asserted_only,
                                      include_predicted=predicted)
                except QueryTimeoutError as exc:
                    report(exc)
                    raise typer.Exit(1) from None
                prefixes = _prefixes(kg, q) if fmt == "table" else None
                out = format_result(result, fmt, prefixes)
                if fmt == "table" and _nothing(result):
                    from kg_engine.cli import common  # its consoles import rich when first used

                    for note in absent_predicates(kg, prepared.query.algebra, prefixes or {}):
                        common.err_console.print(f"note: {note}", highlight=False)
    sys.stdout.write(out)


def _nothing(result) -> bool:
    """No row, no triple, or ASK false."""
    if result.type == "ASK":
        return not result.askAnswer
    return len(result) == 0


def absent_predicates(kg, algebra, prefixes: dict[str, str]) -> list[str]:
    """For a query that found nothing: each IRI it uses as a predicate that no statement of
    the store has (a typo such as ``rail:callAt`` for ``rail:callsAt``, or ``http`` for
    ``https``), with the store's predicate that reads most like it."""
    import difflib

    from rdflib import URIRef
    from rdflib.paths import Path as RdfPath

    from kg_engine.sparql.results import human_term

    used: list[URIRef] = []

    def walk(node) -> None:
        if isinstance(node, URIRef):
            if node not in used:
                used.append(node)
        elif isinstance(node, RdfPath):
            for part in (getattr(node, "args", None) or [getattr(node, "path", None)]):
                walk(part)
        elif isinstance(node, dict):  # CompValue
            if "triples" in node and isinstance(dict.__getitem__(node, "triples"), list):
                for triple in dict.__getitem__(node, "triples"):
                    walk(triple[1])
            for value in dict.values(node):
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, (dict, list)):
                    walk(item)

    walk(algebra)
    store = kg.store
    known = {str(t) for t in store.decode(list(store.predicate_stats())).values()}
    notes = []
    for p in used:
        if str(p) in known or kg.query(f"ASK {{ GRAPH ?g {{ ?s <{p}> ?o }} }}").askAnswer \
                or kg.query(f"ASK {{ ?s <{p}> ?o }}").askAnswer:
            continue
        near = difflib.get_close_matches(str(p), sorted(known), 1, 0.8)
        meant = f"; did you mean {human_term(URIRef(near[0]), prefixes)}?" if near else ""
        notes.append(f"no statement of the store has the predicate {human_term(p, prefixes)}{meant}")
    return notes



def _direct_json(engine, kg, q: str, timeout: float | None, union: bool, asserted_only: bool,
                 predicted: bool) -> str | None:
    """``--format json`` of a SELECT that compiles to SQL, written by the database
    (:meth:`~kg_engine.sparql.engine.QueryEngine.select_json`); ``None``: the usual path."""
    from kg_engine.api import check_timeout

    check_timeout(timeout)
    try:
        out = engine.select_json(kg.graph, q, timeout=timeout, union_default_graph=union,
                                 include_inferred=not asserted_only, include_predicted=predicted)
    except QueryTimeoutError as exc:
        report(exc)
        raise typer.Exit(1) from None
    return None if out is None else out + "\n"


_PREFIX = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)


def _prefixes(kg, text: str) -> dict[str, str]:
    """Prefixes for the table: rdf/rdfs/owl/xsd, the store's, then the query's own."""
    out = store_prefixes(kg)
    out.update({m.group(1) or "": m.group(2) for m in _PREFIX.finditer(text)})
    return out


def register(app: typer.Typer) -> None:
    """Add the ``query`` command to ``app``."""
    app.command("query")(query)
