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
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import NoneType
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.query import Result

from kg_engine.errors import ConfigError
from kg_engine.sparql.rows import ColumnRows, columns_of, make_rows, row_type, without_gc

__all__ = ["FORMATS", "NotebookResult", "ResultFrames", "TupleResult", "format_result",
           "json_document", "notebook_result", "select_json"]

FORMATS = ("table", "csv", "tsv", "json", "xml")


_HTML_ROWS = 50


def _python_value(t: Any) -> Any:
    """A term as the value a DataFrame cell wants: str for IRIs, ``_:x`` for blank nodes,
    the Python value of a literal (int, float, Decimal, date…; its text when ill-typed)."""
    if t is None or isinstance(t, URIRef):
        return None if t is None else str(t)
    if isinstance(t, BNode):
        return f"_:{t}"
    if isinstance(t, Literal):
        value = t.toPython()
        return str(t) if value is t else value
    return t


def _native_column(col: list) -> list:
    terms = {id(t): t for t in col}  # each distinct term once (the rows keep them alive)
    value = {i: _python_value(t) for i, t in terms.items()}
    return list(map(value.__getitem__, map(id, col)))


class ResultFrames:
    """Notebook habits for query results: ``to_pandas()`` and a rich HTML table in Jupyter.

    Mixed into :class:`TupleResult` and :class:`NotebookResult` (what ``KnowledgeGraph.query``
    returns). SELECT gives one column per variable, CONSTRUCT/DESCRIBE columns ``s p o``,
    ASK a single ``ask`` column.
    """

    def _columns_rows(self) -> tuple[list[str], list[tuple]]:
        if self.type in ("CONSTRUCT", "DESCRIBE"):  # type: ignore[attr-defined]
            return ["s", "p", "o"], sorted(self.graph, key=str)  # type: ignore[attr-defined]
        if self.type == "ASK":  # type: ignore[attr-defined]
            return ["ask"], [(bool(self.askAnswer),)]  # type: ignore[attr-defined]
        vars_ = [str(v) for v in self.vars or []]  # type: ignore[attr-defined]
        if isinstance(self, TupleResult):
            return vars_, list(self._rows)
        return vars_, [tuple(row.get(v) for v in self.vars)  # type: ignore[attr-defined]
                       for row in self.bindings]  # type: ignore[attr-defined]

    def _columns(self, native: bool) -> tuple[list[str], list[list]]:
        """Column names and one list per column; with ``native`` each distinct term is
        converted once (:func:`_python_value`), then mapped over the column at C speed."""
        names, rows = self._columns_rows()
        cols = columns_of(rows) if rows else [[] for _ in names]
        if native:
            cols = without_gc(lambda: [_native_column(c) for c in cols])
        return names, cols

    def to_pandas(self, native: bool = True) -> Any:
        """The result as a ``pandas.DataFrame`` (needs pandas).

        Args:
            native: cells as Python values (``str`` for IRIs, numbers and dates for typed
                literals); ``False`` keeps the rdflib terms.

        Raises:
            MissingDependencyError: pandas is not installed.

        Example:
            >>> from rdflib import Dataset, URIRef, Literal
            >>> from kg_engine.sparql.engine import QueryEngine
            >>> ds = Dataset()
            >>> _ = ds.add((URIRef("urn:a"), URIRef("urn:age"), Literal(36)))
            >>> df = QueryEngine().query(ds, "SELECT ?s ?age { ?s ?p ?age }").to_pandas()
            >>> df.to_dict("records")
            [{'s': 'urn:a', 'age': 36}]
        """
        try:
            import pandas as pd
        except ImportError as exc:
            from kg_engine.errors import MissingDependencyError

            raise MissingDependencyError("pandas", "notebook") from exc
        names, cols = self._columns(native)
        if not native:  # keep the rdflib terms (pandas would infer a string dtype)
            return pd.DataFrame({n: pd.Series(c, dtype=object) for n, c in zip(names, cols)},
                                columns=names)
        return pd.DataFrame(dict(zip(names, cols)), columns=names)

    def to_arrow(self) -> Any:
        """The result as a ``pyarrow.Table`` of native values (needs pyarrow).

        A column whose values share one Arrow type (IRIs and strings → ``string``, integers →
        ``int64``, dates, decimals…) gets that type; a column mixing kinds (an IRI here, a
        number there) is written as strings: the lexical form of each value. Unbound is null.

        Raises:
            MissingDependencyError: pyarrow is not installed.

        Example:
            >>> from rdflib import Dataset, URIRef, Literal
            >>> from kg_engine.sparql.engine import QueryEngine
            >>> ds = Dataset()
            >>> _ = ds.add((URIRef("urn:a"), URIRef("urn:age"), Literal(36)))
            >>> t = QueryEngine().query(ds, "SELECT ?s ?age { ?s ?p ?age }").to_arrow()
            >>> t.column_names, str(t.schema.field("age").type), t.to_pylist()
            (['s', 'age'], 'int64', [{'s': 'urn:a', 'age': 36}])
        """
        try:
            import pyarrow as pa
        except ImportError as exc:
            from kg_engine.errors import MissingDependencyError

            raise MissingDependencyError("pyarrow", "notebook") from exc
        names, cols = self._columns(True)
        arrays = []
        for col in cols:
            try:
                arrays.append(pa.array(col))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # mixed kinds
                arrays.append(pa.array([None if v is None else str(v) for v in col],
                                       type=pa.string()))
        return pa.table(arrays, names=names)

    def _repr_html_(self) -> str:
        """An HTML table of the first rows (Jupyter shows it for a result in a cell)."""
        import html

        columns, rows = self._columns_rows()
        mark = "?" if self.type == "SELECT" else ""  # type: ignore[attr-defined]
        head = "".join(f"<th>{html.escape(mark + c)}</th>" for c in columns)

        def cell(t: Any) -> str:
            text = str(t).lower() if isinstance(t, bool) else _tsv_term(t)
            return f"<td>{html.escape(text)}</td>"

        body = "".join(
            "<tr>" + "".join(cell(t) for t in row) + "</tr>"
            for row in rows[:_HTML_ROWS]
        )
        n = len(rows)
        more = f", first {_HTML_ROWS} shown" if n > _HTML_ROWS else ""
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{n} row{'s' if n != 1 else ''}{more}</p>")


class NotebookResult(ResultFrames, SPARQLResult):
    """An rdflib SPARQL result with :class:`ResultFrames`' notebook methods."""


def notebook_result(result: Result) -> Result:
    """``result`` with ``to_pandas()`` / ``_repr_html_`` (unchanged if it has them)."""
    if isinstance(result, ResultFrames):
        return result
    return NotebookResult({"type_": result.type, "vars_": result.vars,
                           "bindings": result.bindings, "askAnswer": result.askAnswer,
                           "graph": result.graph})


class TupleResult(ResultFrames, SPARQLResult):
    """A SELECT result kept as rows (``None`` = unbound), as the SQL compiler returns them.

    Behaves like rdflib's SPARQL result (``len()``, ``bool``, repeated iteration, ``vars``,
    ``bindings``, ``serialize``). Rows are :func:`~kg_engine.sparql.rows.row_type` rows: real
    ``ResultRow``s (``row.var``, ``row["var"]``, ``asdict()``) with one label map per result,
    made in bulk, or (a :class:`~kg_engine.sparql.rows.ColumnRows`, as the compiler returns
    its results) one at a time as they are read; binding dicts are built only
    when ``.bindings`` is read.

    Args:
        vars_: the projected variables, in order.
        rows: one tuple per solution, aligned with ``vars_`` (rows of ``row_type(vars_)``
            in a list or a ``ColumnRows``, as the compiler returns them, are kept as they are).
    """

    def __init__(self, vars_: list[Variable], rows: Iterable[tuple]) -> None:
        Result.__init__(self, "SELECT")
        self.vars = list(vars_)
        self.askAnswer = None
        self.graph = None
        Row = row_type(self.vars)
        if not isinstance(rows, (list, ColumnRows)):
            rows = list(rows)
        self._rows: Sequence[tuple] = (rows if rows and type(rows[0]) is Row
                                       else make_rows(self.vars, rows))
        self._dicts: list[dict] | None = None

    @property  # type: ignore[override]
    def bindings(self) -> list[dict]:
        """Solutions as ``{Variable: term}`` dicts (built on first access)."""
        if self._dicts is None:
            vs = self.vars
            self._dicts = without_gc(lambda: [{v: t for v, t in zip(vs, r) if t is not None}
                                              for r in self._rows])
        return self._dicts

    @bindings.setter
    def bindings(self, value: Any) -> None:
        self._dicts = list(value)
        self._rows = make_rows(self.vars, (tuple(d.get(v) for v in self.vars)
                                           for d in self._dicts))

    def __iter__(self) -> Any:
        return iter(self._rows)  # every solution is a row, even one binding nothing

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
    # N-Triples syntax on one line: rdflib's n3() writes a literal holding a newline or a
    # tab as a raw """long string""", which splits the TSV row
    if t is None:
        return ""
    if isinstance(t, (URIRef, BNode, Literal)):
        from kg_engine.core.rdf_text import term_ntriples  # rdflib's serializers: load late

        return term_ntriples(t)
    return str(t)


def human_term(t: Any, prefixes: Mapping[str, str] | None = None) -> str:
    """A term as a person reads it: a literal's value (``65``, ``1968-11-02``, ``Dana`` for
    ``"Dana"@en``), an IRI shortened with ``prefixes`` (``ex:ada``) or ``<iri>``.

    Example:
        >>> human_term(Literal("Dana", lang="en")), human_term(Literal(65))
        ('Dana', '65')
        >>> human_term(URIRef("http://ex.org/ada"), {"ex": "http://ex.org/"})
        'ex:ada'
        >>> human_term(URIRef("http://ex.org/a/b"), {"ex": "http://ex.org/"})
        '<http://ex.org/a/b>'
        >>> human_term(URIRef("http://ex.org/Öl"), {"ex": "http://ex.org/"})
        'ex:Öl'
    """
    if t is None:
        return ""
    if isinstance(t, Literal):
        return str(t)
    if isinstance(t, URIRef):
        best = ""
        name = ""
        for prefix, ns in (prefixes or {}).items():
            if str(t).startswith(ns) and len(ns) > len(best):
                local = str(t)[len(ns):]
                if _LOCAL.fullmatch(local):
                    best, name = ns, f"{prefix}:{local}"
        return name or f"<{t}>"
    if isinstance(t, BNode):
        return f"_:{t}"
    return str(t)


#: SPARQL's PN_LOCAL without ':' and escapes: what a query accepts after ``prefix:``
_BASE = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
         "\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf"
         "\ufdf0-\ufffd\U00010000-\U000effff")
_CHARS = _BASE + "_0-9\\-\u00b7\u0300-\u036f\u203f\u2040"
_LOCAL = re.compile(f"[{_BASE}_0-9][{_CHARS}.]*(?<!\\.)|")


#: characters of a literal the table shows; the rest is counted (``… (+N characters)``)
TABLE_CELL_CHARS = 100
#: what the table escapes: the backslash, control characters (a line break would split the
#: row, a tab shift the columns) and the line/paragraph separators and bidirectional controls
_UNSEEN = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def table_cell(t: Any, prefixes: Mapping[str, str] | None = None) -> str:
    r"""A term as one cell of the ``table`` format: :func:`human_term` on one line (``\\``,
    ``\n``, ``\r``, ``\t`` and ``\uXXXX`` for the characters that would break or hide it), a
    literal longer than :data:`TABLE_CELL_CHARS` cut with the count of what is left out, a
    literal that would read as another term (``ex:a``, ``<…>``, ``_:b``, ``"…``) in quotes
    (``\"`` inside).

    Example:
        >>> print(table_cell(Literal("two\nlines, a\\b")))
        two\nlines, a\\b
        >>> table_cell(Literal("ex:a"), {"ex": "http://ex.org/"}), table_cell(Literal('_:b "c"'))
        ('"ex:a"', '"_:b \\"c\\""')
        >>> table_cell(Literal("x" * 105))[-25:]
        'xxxxxxxx… (+5 characters)'
    """
    text = human_term(t, prefixes)
    rest = 0
    if isinstance(t, Literal) and len(text) > TABLE_CELL_CHARS:
        text, rest = text[:TABLE_CELL_CHARS], len(text) - TABLE_CELL_CHARS
    shown = _UNSEEN.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04X}"), text)
    if rest:
        return shown + f"… (+{rest:,} characters)"
    if isinstance(t, Literal) and _reads_as_term(text, prefixes):
        return '"' + shown.replace('"', '\\"') + '"'
    return shown


def _reads_as_term(text: str, prefixes: Mapping[str, str] | None) -> bool:
    """Whether a literal's text would read as an IRI (``<…>``, a prefixed name of
    ``prefixes``), a blank node (``_:…``) or a quoted literal in the table."""
    if text.startswith(('"', "<", "_:")):
        return True
    prefix, colon, _ = text.partition(":")
    return bool(colon) and prefix in (prefixes or {})


def _table(result: Result, prefixes: Mapping[str, str] | None) -> str:
    """A grid, one line per solution: nothing wraps, nothing is cut but the long literals
    :func:`table_cell` cuts visibly (the console is as wide as the table)."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    names = [f"?{v}" for v in result.vars or []]
    rows = [[table_cell(row.get(v), prefixes) for v in result.vars or []] for row in result.bindings]
    widths = [max([cell_len(n)] + [cell_len(r[i]) for r in rows]) for i, n in enumerate(names)]
    table = Table(*[Column(n, no_wrap=True, overflow="ignore") for n in names], show_lines=False)
    for cells in rows:
        table.add_row(*map(Text, cells))
    buf = io.StringIO()
    Console(file=buf, width=sum(widths) + 3 * len(widths) + 1, color_system=None).print(table)
    n = len(rows)
    return buf.getvalue() + f"{n} row{'s' if n != 1 else ''}\n"


def format_result(result: Result, fmt: str = "table",
                  prefixes: Mapping[str, str] | None = None) -> str:
    """Render ``result`` (an rdflib SPARQL result) in ``fmt``.

    ``table`` is for people: literals print as their values and IRIs shortened with
    ``prefixes`` (``{prefix: namespace}``; the Turtle of a CONSTRUCT / DESCRIBE uses them
    too); ``csv``/``tsv``/``json``/``xml`` keep the exact terms of the W3C formats.

    Raises:
        ConfigError: unknown format (the message lists the valid ones).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown result format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        if fmt in ("csv", "tsv"):
            raise ConfigError(f"--format {fmt} is for SELECT results; a {result.type} result "
                              "is RDF: use --format table (Turtle), json (JSON-LD) or xml "
                              "(RDF/XML)")
        rdf_fmt = {"table": "turtle", "json": "json-ld", "xml": "xml"}.get(fmt, "nt")
        if rdf_fmt == "nt":
            return result.graph.serialize(format="nt")
        from kg_engine.core.rdf_text import rdf_bytes  # rdflib's serializers change literals

        for prefix, namespace in (prefixes or {}).items():  # m:album2 and :a, not ns1:…
            result.graph.bind(prefix, namespace, override=True, replace=True)
        return rdf_bytes(result.graph, rdf_fmt).decode("utf-8")
    if result.type == "ASK":
        if fmt in ("json", "xml"):
            return result.serialize(format=fmt).decode("utf-8") + "\n"
        return ("true" if result.askAnswer else "false") + "\n"
    vars_ = list(result.vars or [])
    if fmt == "table":
        return _table(result, prefixes)
    if fmt == "csv":
        # rows end in "\n" (not the spec's CRLF) for terminals; "\r\n" is the writer's
        # terminator so that it quotes a value holding a lone CR, and only the row ends are
        # rewritten: a CR LF inside a quoted value is the value's and stays
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        lines = []
        for cells in itertools.chain([[str(v) for v in vars_]],
                                     ([_csv_term(t) for t in row] for row in _value_rows(result))):
            buf.seek(0)
            buf.truncate()
            w.writerow(cells)
            lines.append(buf.getvalue()[:-2])
        return "\n".join(lines) + "\n"
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in vars_)]
        for row in _value_rows(result):
            lines.append("\t".join(_tsv_term(t) for t in row))
        return "\n".join(lines) + "\n"
    if fmt == "json" and isinstance(result, TupleResult):
        return select_json(result) + "\n"
    if fmt == "xml":
        return _select_xml(result)
    return result.serialize(format=fmt).decode("utf-8") + "\n"


def _select_xml(result: Result) -> str:
    """SPARQL XML results; rdflib's writer leaves a CR raw (a parser reads it as LF) and
    writes characters XML 1.0 cannot hold (U+0001), a document no parser reads.

    Raises:
        UnsupportedOperationError: a value holds such a character.
    """
    from xml.sax.saxutils import quoteattr

    from kg_engine.core.rdf_text import sparql_xml_term

    names = [str(v) for v in result.vars or []]
    out = [('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/'
           'sparql-results#"><head>'),
           *(f"<variable name={quoteattr(n)}/>" for n in names), "</head><results>"]
    for row in _value_rows(result):
        out.append("<result>" + "".join(
            f"<binding name={quoteattr(n)}>{sparql_xml_term(t)}</binding>"
            for n, t in zip(names, row) if t is not None) + "</result>")
    out.append("</results></sparql>\n")
    return "".join(out)


def _value_rows(result: Result) -> Any:
    """The solutions of a SELECT result as value tuples aligned with ``result.vars``."""
    if isinstance(result, TupleResult):
        return result._rows
    vars_ = list(result.vars or [])
    return (tuple(b.get(v) for v in vars_) for b in result.bindings)


def _json_term(t: Any) -> str:
    q = encode_basestring
    if type(t) is URIRef:  # the common case first
        return '{"type": "uri", "value": ' + q(t) + "}"
    if isinstance(t, URIRef):
        return f'{{"type": "uri", "value": {q(str(t))}}}'
    if isinstance(t, Literal):
        out = f'{{"type": "literal", "value": {q(str(t))}'
        if t.datatype is not None:
            out += f', "datatype": {q(str(t.datatype))}'
        if t.language is not None:
            out += f', "xml:lang": {q(t.language)}'
        return out + "}"
    if isinstance(t, BNode):
        return f'{{"type": "bnode", "value": {q(str(t))}}}'
    raise ConfigError(f"cannot write {t!r} in SPARQL JSON results")


def select_json(result: TupleResult) -> str:
    """SPARQL 1.1 Query Results JSON of a SELECT result, text-identical to rdflib's
    ``result.serialize(format="json")`` but written from the rows, each distinct term
    encoded once (rdflib builds a dict per binding and per term).

    Example:
        >>> from rdflib import Literal, URIRef, Variable
        >>> res = TupleResult([Variable("s"), Variable("o")], [(URIRef("urn:a"), Literal("x", lang="en"))])
        >>> select_json(res) == res.serialize(format="json").decode()
        True
    """
    names = [encode_basestring(str(v)) for v in result.vars or []]
    rows = result._rows
    if not rows:
        return json_document(result.vars or [], "")
    if not names:
        return json_document([], ", ".join(["{}"] * len(rows)))
    lines = without_gc(_json_lines, names, rows)
    return json_document(result.vars or [], "{" + "}, {".join(lines) + "}")


def json_document(vars_: list[Variable], bindings: str) -> str:
    """The SPARQL JSON results document of a SELECT with ``vars_`` whose binding objects are
    the text ``bindings`` (comma-separated, as rdflib's serializer writes them).

    Example:
        >>> json_document([Variable("x")], "{}")
        '{"results": {"bindings": [{}]}, "head": {"vars": ["x"]}}'
    """
    names = ", ".join(encode_basestring(str(v)) for v in vars_)
    return '{"results": {"bindings": [' + bindings + ']}, "head": {"vars": [' + names + "]}}"


def _json_lines(names: list[str], rows: list[tuple]) -> list[str]:
    """The members of each binding object: each row is one ``%`` of a row template over
    the column values (C speed, no per-row Python code). A column of IRIs only is escaped by
    ``map``; the others hold each distinct term's JSON member (with its leading ``", "``
    after the first column), encoded once; an unbound cell is the empty string. Only when
    the first column has unbound cells does it carry the separator too, cut off per row."""
    cols = columns_of(rows)
    types = [set(map(type, c)) for c in cols]  # not `None in c`: that calls terms' __eq__
    lead = NoneType in types[0]  # the first member may be missing: cut ", " off each line
    parts: list[str] = []
    values: list[Any] = []
    for name, col, kinds in zip(names, cols, types):
        sep = ", " if lead or parts else ""
        if kinds == {URIRef}:
            parts.append(sep + name.replace("%", "%%") + ': {"type": "uri", "value": %s}')
            values.append(map(encode_basestring, col))
        else:
            terms = {id(t): t for t in col}  # keyed by id: the rows keep every term alive
            text = {k: "" if t is None else f"{sep}{name}: {_json_term(t)}"
                    for k, t in terms.items()}
            parts.append("%s")
            values.append(map(text.__getitem__, map(id, col)))
    lines = map("".join(parts).__mod__, zip(*values))
    return [line[2:] for line in lines] if lead else list(lines)
