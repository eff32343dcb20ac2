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

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.query import Result, ResultRow

from kg_engine.errors import ConfigError

__all__ = ["FORMATS", "TupleResult", "format_result"]

FORMATS = ("table", "csv", "tsv", "json", "xml")


class TupleResult(SPARQLResult):
    """A SELECT result kept as row tuples (``None`` = unbound), as the SQL compiler returns them.

    Behaves like rdflib's SPARQL result; rows are turned into ``ResultRow``s with one shared
    label map (rdflib rebuilds it per row) and into binding dicts only when ``.bindings`` is read,
    which makes large results several times cheaper to iterate.

    Args:
        vars_: the projected variables, in order.
        rows: one tuple per solution, aligned with ``vars_``.
    """

    def __init__(self, vars_: list[Variable], rows: list[tuple]) -> None:
        Result.__init__(self, "SELECT")
        self.vars = list(vars_)
        self.askAnswer = None
        self.graph = None
        self._rows = rows
        self._dicts: list[dict] | None = None

    @property  # type: ignore[override]
    def bindings(self) -> list[dict]:
        """Solutions as ``{Variable: term}`` dicts (built on first access)."""
        if self._dicts is None:
            vs = self.vars
            self._dicts = [{v: t for v, t in zip(vs, r) if t is not None} for r in self._rows]
        return self._dicts

    @bindings.setter
    def bindings(self, value: Any) -> None:
        self._dicts = list(value)
        self._rows = [tuple(d.get(v) for v in self.vars) for d in self._dicts]

    def __iter__(self) -> Any:
        labels = {str(v): i for i, v in enumerate(self.vars)}
        new = tuple.__new__
        for r in self._rows:  # every solution is a row, even one binding nothing
            row = new(ResultRow, r)
            row.labels = labels
            yield row

    def __len__(self) -> int:
        return len(self._rows)

    def __bool__(self) -> bool:
        return bool(self._rows)


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
