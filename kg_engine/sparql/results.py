r"""Render SPARQL results as text: ``table``, ``csv``, ``tsv``, ``json``, ``xml``.

SELECT/ASK results use the W3C result formats (SPARQL 1.1 Query Results CSV/TSV, JSON, XML;
JSON and XML through rdflib's serializers); ``table`` is a human-readable grid. CONSTRUCT and
DESCRIBE results are RDF graphs: ``table`` prints Turtle, ``json`` JSON-LD, ``xml`` RDF/XML,
``csv``/``tsv`` N-Triples.

Example:
    >>> from rdflib import Dataset, Literal, URIRef
    >>> from kg_engine.sparql.engine import QueryEngine
    >>> ds = Dataset()
    >>> _ = ds.add((URIRef("urn:a"), URIRef("urn:p"), Literal("x, y")))
    >>> res = QueryEngine().query(ds, "SELECT ?s ?o WHERE { ?s ?p ?o }")
    >>> print(format_result(res, "csv"), end="")
    s,o
    urn:a,"x, y"
    >>> format_result(res, "tsv").splitlines()
    ['?s\t?o', '<urn:a>\t"x, y"']
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.query import Result

from kg_engine.errors import ConfigError

__all__ = ["FORMATS", "format_result"]

FORMATS = ("table", "csv", "tsv", "json", "xml")


def _csv_term(t: Any) -> str:
    if t is None:
        return ""
    if isinstance(t, BNode):
        return f"_:{t}"
    return str(t)


def _tsv_term(t: Any) -> str:
    if t is None:
        return ""
    if isinstance(t, (URIRef, BNode, Literal)):
        return t.n3()
    return str(t)


def _table(result: Result) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(*[f"?{v}" for v in result.vars or []], show_lines=False)
    for row in result.bindings:
        table.add_row(*[_tsv_term(row.get(v)) for v in result.vars or []])
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(table)
    n = len(result.bindings)
    return buf.getvalue() + f"{n} row{'s' if n != 1 else ''}\n"


def format_result(result: Result, fmt: str = "table") -> str:
    """Render ``result`` (an rdflib SPARQL result) in ``fmt``.

    Raises:
        ConfigError: unknown format (the message lists the valid ones).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown result format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        rdf_fmt = {"table": "turtle", "json": "json-ld", "xml": "xml"}.get(fmt, "nt")
        return result.graph.serialize(format=rdf_fmt)
    if result.type == "ASK":
        if fmt in ("json", "xml"):
            return result.serialize(format=fmt).decode("utf-8") + "\n"
        return ("true" if result.askAnswer else "false") + "\n"
    vars_ = list(result.vars or [])
    if fmt == "table":
        return _table(result)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow([str(v) for v in vars_])
        for row in result.bindings:
            w.writerow([_csv_term(row.get(v)) for v in vars_])
        return buf.getvalue().replace("\r\n", "\n")
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in vars_)]
        for row in result.bindings:
            lines.append("\t".join(_tsv_term(row.get(v)) for v in vars_))
        return "\n".join(lines) + "\n"
    return result.serialize(format=fmt).decode("utf-8") + "\n"
