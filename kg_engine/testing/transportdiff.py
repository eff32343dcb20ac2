"""Transport differential: the answers users RECEIVE, compared with the Python API's.

:mod:`kg_engine.testing.differential` checks :meth:`KnowledgeGraph.query` against pyoxigraph.
Users also get answers through ``kg query --format json|csv|tsv|xml`` (the JSON of a SELECT is
written by the database itself), ``kg query`` CONSTRUCT/DESCRIBE as Turtle, JSON-LD and
RDF/XML, the HTTP endpoint ``kg serve`` (SPARQL protocol, GET and POST, streamed SELECT
results in JSON/XML/CSV/TSV, graphs in four syntaxes, SPARQLWrapper as the client) and the
rdflib plugin (``Dataset(store="kg_engine")``). Each generated query (the differential's
generator and data, plus a stress set of literals: quotes, newlines, tabs, control
characters, U+2028, non-ASCII, a 100 000-character literal, ``xsd:string`` vs plain, blank
nodes, a few thousand rows for streaming) runs through the API — the reference — and through
every transport; each transport's bytes are parsed back with an independent parser (``json``,
``csv``, rdflib's XML result and RDF parsers, an N-Triples parse of each TSV cell) and
compared with the API's rows:

* SELECT: the same variables in the same order; the same bag of rows, blank nodes compared
  up to a consistent renaming within one result (the multiset of the places each label
  occurs in must agree, not only "some blank node"); with ORDER BY the sequence of the
  projected key columns must be the API's; CSV compares lexical forms only (the format has
  no types), the other formats whole terms (``"a"^^xsd:string`` = ``"a"``: RDF 1.1);
* ASK: the boolean; CONSTRUCT/DESCRIBE: graphs isomorphic (rdflib.compare);
* ``kg query --format table`` (the default, for people): read back by :func:`parse_table`
  (one line per row, the footer's count, escapes undone, a cut literal's count of characters
  left out), compared as a person reads it (:func:`table_form`: values, not datatypes);
* the explorer (``kg serve``'s browser pages): its query page's POST (JSON results or
  Turtle), its download links (``?format=``), ``/api/entity`` of the answer's IRIs against the
  API's statements about them (graph, kind, every term's N-Triples and fields) and, once per
  dataset, ``/api/search`` against the API's ``rdfs:label`` matches (:func:`search_problems`);
* a transport that errors where the API answered (or answers where the API raised) differs;
  the XML formats refuse (``refused``, not counted in the agreement) an answer holding a
  character XML 1.0 cannot carry (U+0001…): a clear error, never an ill-formed document.

Stores: SQLite files (the CLI and the server open them by URL) or fresh PostgreSQL schemas;
every second dataset has the ``rdfs`` reasoning profile (with a sub-property and a domain
axiom over the generator's predicates), so answers include inferred statements on every
transport. :func:`run` drives it and returns a :class:`TransportReport`;
``benchmarks/transport_differential.py`` is the command line.

Example:
    >>> from kg_engine.testing.transportdiff import parse_select_json
    >>> doc = '{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "a", "xml:lang": "EN"}}]}}'
    >>> parse_select_json(doc)
    (['x'], [(('lit', 'a', None, 'en'),)])
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import os
import re
import tempfile
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.testing.differential import EX, PREFIXES, Case, QueryGenerator, make_dataset

__all__ = [
    "STRESS_QUERIES",
    "TRANSPORTS",
    "TransportReport",
    "Transports",
    "compare_select",
    "parse_select_json",
    "run",
    "stress_dataset",
]

_XS = str(XSD.string)
LONG = "ab\u00e9" * 33334  # 100 002 characters
#: literals that transports must carry exactly (TriG syntax)
STRESS_LITERALS = [
    r'"say \"hi\" now"', r'"line1\nline2"', r'"tab\there"', r'"cr\rlf\r\n"', r'"back\\slash"',
    r'"ctl\u0001\u001F\u007F\u0085"', r'"sep\u2028para\u2029"', '"<b>&amp;</b> ]]>"',
    '"  lead and trail  "', '"a,b;c\\"d"', '"日本語"@ja', '"ÅBC"@sv-SE', '"x"^^xsd:string',
    '"émoji 😀"^^xsd:string', f'"{LONG}"', '"=1+2"', '"zz"^^<http://example.org/dt,x>',
    '"1e0"^^xsd:double', '"NaN"^^xsd:double', '"-0"^^xsd:integer',
    # literals a person could read as another term in the table
    '"ex:n1"', '"<http://example.org/n1>"', '"_:b1"', r'"\"quoted\""',
]
BIG = 2500  # rows of ex:big, more than one streamed chunk
HUB = 350  # statements about ex:hub, more than the explorer's entity page shows
#: seconds a query may run on the API and on each transport; a query past it on the API is
#: ``timeout`` for every transport and not sent to them (a generated path query can explode)
TIMEOUT = 10.0

#: fixed queries run on every dataset besides the generated ones
STRESS_QUERIES = [
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
    "SELECT ?s ?o WHERE { ?s ex:big ?o }",
    "SELECT ?s ?o WHERE { ?s ex:big ?o } ORDER BY DESC(?o) OFFSET 7 LIMIT 1500",
    "SELECT ?p WHERE { ?s ?p ?o }",  # duplicates
    "SELECT DISTINCT ?p WHERE { ?s ?p ?o } ORDER BY ?p",
    "SELECT ?x WHERE { ?x ex:nothing ?y }",  # empty
    "ASK { ?x ex:nothing ?y }",
    "ASK { ?x ex:p0 ?y }",
    "SELECT * WHERE { }",  # one row, no variables
    "SELECT ?x WHERE { VALUES ?x { UNDEF } }",
    "SELECT ?a ?x WHERE { VALUES (?a ?x) { (1 UNDEF) (UNDEF \"u\"@en) } }",
    "SELECT ?s ?o ?z WHERE { ?s ex:p0 ?o OPTIONAL { ?o ex:p1 ?z } }",
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }",
    "SELECT ?s (BNODE() AS ?b) (BNODE(STR(?s)) AS ?c) WHERE { ?s ex:p1 ?o }",
    ("SELECT ?o (STR(?o) AS ?str) (LANG(?o) AS ?lang) (DATATYPE(?o) AS ?dt) (STRLEN(?o) AS ?n) "
    "WHERE { ?s ?p ?o FILTER isLiteral(?o) }"),
    "SELECT (CONCAT(?o, \"\\\"\\t\\n\") AS ?c) (UCASE(?o) AS ?u) WHERE { ?s ex:p2 ?o FILTER isLiteral(?o) }",
    "SELECT ?g ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s",
    "SELECT ?s ?o FROM ex:g1 WHERE { ?s ?p ?o }",
    "SELECT ?g ?s FROM NAMED ex:g2 WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?o WHERE { ?s ?p ?o FILTER isLiteral(?o) } ORDER BY ?o",
    "SELECT ?s ?t WHERE { ?s a ?t }",  # inferred by the rdfs profile
    ("SELECT (COUNT(*) AS ?n) (SUM(?o) AS ?sum) (AVG(?o) AS ?avg) (GROUP_CONCAT(?o) AS ?all) "
    "WHERE { ?s ?p ?o FILTER isNumeric(?o) }"),
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?p != ex:big) }",
    "CONSTRUCT { ?s ex:q _:x . _:x ex:r ?o } WHERE { ?s ex:p1 ?o }",
    "DESCRIBE ex:n0",
    "SELECT ?h (COUNT(*) AS ?n) WHERE { ?s ex:hubOf ?h } GROUP BY ?h",  # /api/entity cuts it
]


def stress_dataset(seed: int, big: int = BIG) -> str:
    """The differential's dataset for ``seed`` plus the stress literals (spread over the
    generator's subjects and predicates, so generated queries meet them), blank nodes,
    a non-ASCII IRI and ``BIG`` rows of ``ex:big``."""
    base = make_dataset(seed)
    extra = []
    for i, lit in enumerate(STRESS_LITERALS):
        extra.append(f"ex:n{i % 6} ex:p{i % 4} {lit} .")
    extra += ["_:s1 ex:p2 _:s2 .", "_:s2 ex:p2 \"bn\" .", "<http://example.org/ü,x> ex:p3 ex:n1 .",
              "ex:n1 ex:p3 <http://example.org/ü,x> ."]
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    extra += [f"{'_:s1' if i == 6 else f'ex:n{i}'} {label} {lit} ." for i, lit in enumerate(SEARCH_LABELS)]
    extra += [f'ex:b{i} ex:big "{i:05d} ü \\"q\\"" .' for i in range(big)]
    extra += [f"ex:b{i} ex:hubOf ex:hub ." for i in range(HUB)]  # past the entity page's limit
    lines = base.splitlines()
    head = [x for x in lines if x.startswith("@prefix")]
    rest = [x for x in lines if not x.startswith("@prefix")]
    return "\n".join(head + extra + rest) + "\n"


_DECLARED = re.compile(r"(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
SCHEMA = (f"@prefix ex: <{EX}> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
          "ex:p0 rdfs:subPropertyOf ex:p1 . ex:p2 rdfs:domain ex:Thing .\n")


# -- terms ----------------------------------------------------------------------------------
def norm(t: Any) -> Any:
    """An rdflib term (or ``None``) as a comparable tuple; blank nodes keep their label."""
    if t is None:
        return None
    if isinstance(t, BNode):
        return ("bnode", str(t))
    if isinstance(t, URIRef):
        return ("iri", str(t))
    if isinstance(t, Literal):
        dt = str(t.datatype) if t.datatype is not None else None
        if dt == _XS:
            dt = None
        return ("lit", str(t), dt, t.language.lower() if t.language else None)
    raise TypeError(f"not an RDF term: {t!r}")


def _json_term(b: dict[str, Any] | None) -> Any:
    if b is None:
        return None
    kind = b["type"]
    if kind == "uri":
        return ("iri", b["value"])
    if kind == "bnode":
        return ("bnode", b["value"])
    if kind in ("literal", "typed-literal"):
        lang = b.get("xml:lang")
        dt = b.get("datatype")
        return ("lit", b["value"], None if dt == _XS else dt, lang.lower() if lang else None)
    raise ValueError(f"unknown JSON term type {kind!r}")


def parse_select_json(text: str | bytes | dict) -> Any:
    """A SPARQL JSON results document (text or parsed) as ``(vars, rows)`` or a boolean."""
    doc = text if isinstance(text, dict) else json.loads(text)
    if "boolean" in doc:
        return bool(doc["boolean"])
    names = list(doc["head"].get("vars", []))
    rows = [tuple(_json_term(b.get(v)) for v in names) for b in doc["results"]["bindings"]]
    return names, rows


def parse_select_xml(data: bytes) -> Any:
    """SPARQL XML results, parsed by rdflib's XML result parser."""
    from rdflib.query import Result

    res = Result.parse(io.BytesIO(data), format="xml")
    if res.type == "ASK":
        return bool(res.askAnswer)
    names = [str(v) for v in res.vars]
    return names, [tuple(norm(b.get(v)) for v in res.vars) for b in res.bindings]


def parse_csv(text: str) -> Any:
    """SPARQL CSV results (Python's csv module): lexical forms only, blank nodes ``_:``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = list(reader)
    if not rows:
        raise ValueError("an empty CSV document: not even a header")
    names = rows[0] if rows[0] != [""] else []
    body = []
    for r in rows[1:]:
        if not names and r == [""]:
            r = []
        if len(r) != len(names):
            raise ValueError(f"a CSV row with {len(r)} cells under {len(names)} variables: {r!r}")
        body.append(tuple(_csv_cell(c) for c in r))
    return names, body


def _csv_cell(c: str) -> Any:
    if c == "":
        return ("csv", "")  # unbound and "" are the same in CSV
    if c.startswith("_:"):
        return ("bnode", c[2:])
    return ("csv", c)


def parse_tsv(text: str) -> Any:
    """SPARQL TSV results: the header's ``?vars``, each cell parsed as an N-Triples object
    by rdflib's N-Triples parser (TSV keeps the terms)."""
    if not text.endswith("\n"):
        raise ValueError("TSV results must end with a newline")
    lines = text[:-1].split("\n")
    names = [v.removeprefix("?") for v in lines[0].split("\t")] if lines[0] else []
    body = []
    for line in lines[1:]:
        cells = line.split("\t") if names else ([] if line == "" else [line])
        if len(cells) != len(names):
            raise ValueError(f"a TSV row with {len(cells)} cells under {len(names)} variables")
        body.append(tuple(_tsv_cell(c) for c in cells))
    return names, body


@functools.lru_cache(maxsize=4096)  # results repeat cells; rdflib takes ~s on a 100 k literal
def _tsv_cell(c: str) -> Any:
    if c == "":
        return None
    if c.startswith("_:"):
        return ("bnode", c[2:])
    g = Graph()
    g.parse(data=f"<urn:s> <urn:p> {c} .\n", format="nt")
    (_, _, o), = g
    return norm(o)


def csv_form(t: Any) -> Any:
    """The API's term as CSV can carry it (lexical form; blank nodes keep their label)."""
    if t is None:
        return ("csv", "")
    if t[0] == "bnode":
        return t
    if t[1].startswith("_:"):  # CSV writes a blank node _:label: the reader cannot tell
        return ("bnode", t[1][2:])
    return ("csv", t[1])


_TRUNCATED = re.compile(r"… \(\+([\d,]+) characters\)$")
_ESCAPE = re.compile(r"\\(?:([\\nrt])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_PNAME = re.compile(r"([A-Za-z][\w.-]*)?:([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


def _width(ch: str) -> int:
    """Terminal cells a character takes (East Asian wide and full-width: 2, combining: 0)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _columns(line: str) -> list[tuple[int, str]]:
    out, col = [], 0
    for ch in line:
        out.append((col, ch))
        col += _width(ch)
    return out


def parse_table(text: str, prefixes: dict[str, str]) -> Any:
    r"""``kg query``'s default ``table`` format read back as a person reads it: ``true`` /
    ``false`` for an ASK; else the box-drawn grid, its columns cut where the top border's
    corners are (display columns: wide characters take two), one line per row, the footer's
    ``N rows`` equal to the lines. Cells are what :func:`table_form` makes of a term:
    ``<iri>`` or a prefixed name of ``prefixes`` (expanded), ``_:label``, else a literal's
    text with ``\\ \n \r \t \uXXXX`` escapes undone (trailing spaces are padding), in
    quotes (``\"`` inside) when it would read as one of the others; ``… (+N characters)`` ends
    a cut value.

    Example:
        >>> grid = ("┏━━━━━━┓\n┃ ?x   ┃\n┡━━━━━━┩\n│ ex:a │\n│ a\\nb │\n└──────┘\n2 rows\n")
        >>> parse_table(grid, {"ex": "http://example.org/"})
        (['x'], [(('iri', 'http://example.org/a'),), (('text', 'a\nb'),)])
    """
    if not text.endswith("\n"):
        raise ValueError("the table must end with a newline")
    lines = text[:-1].split("\n")
    if lines in (["true"], ["false"]):
        return lines == ["true"]
    m = re.fullmatch(r"(\d+) rows?", lines[-1])
    if m is not None and lines[:-1] == [""]:  # no variables: no columns to draw
        return [], [() for _ in range(int(m.group(1)))]
    if m is None or len(lines) < 5:
        raise ValueError(f"no table with an 'N rows' footer: {text[:200]!r}")
    top, body = lines[0], lines[3:-2]
    cuts = [i for i, ch in enumerate(top) if ch in "┏┳┓"]
    if top[0] != "┏" or len(cuts) < 2 or lines[-2][0] != "└":
        raise ValueError(f"not a table: {top[:80]!r}")
    if int(m.group(1)) != len(body):
        raise ValueError(f"the footer says {m.group(1)} rows; the table has {len(body)} lines")

    def cells(line: str) -> list[str]:
        cols = _columns(line)
        at = {c: ch for c, ch in cols}
        if any(at.get(c) not in ("│", "┃") for c in cuts) or cols[-1][0] != cuts[-1]:
            raise ValueError(f"a row does not line up with the header (a broken row?): {line[:200]!r}")
        return ["".join(ch for c, ch in cols if a < c < b) for a, b in itertools.pairwise(cuts)]

    names = [c.strip().removeprefix("?") for c in cells(lines[1])]
    return names, [tuple(_table_cell(c, prefixes) for c in cells(line)) for line in body]


def _table_cell(c: str, prefixes: dict[str, str]) -> Any:
    if not c.startswith(" "):
        raise ValueError(f"a cell without its padding: {c!r}")
    c = c[1:].rstrip(" ")
    cut = _TRUNCATED.search(c)  # only literals are cut
    if cut:
        c = c[:cut.start()]
    elif c.startswith('"'):  # a literal that would read as another term, quoted
        if len(c) < 2 or not c.endswith('"') or re.search(r'(?<!\\)(\\\\)*"', c[1:-1]):
            raise ValueError(f"a quoted cell without its closing quote: {c!r}")
        c = c[1:-1].replace('\\"', '"')
    elif c.startswith("<") and c.endswith(">") and not any(x in c[1:-1] for x in "<> \"{}|^`\\"):
        return ("iri", c[1:-1])
    elif c.startswith("_:"):
        return ("bnode", c[2:])
    elif (m := _PNAME.fullmatch(c)) and (m.group(1) or "") in prefixes:
        return ("iri", prefixes[m.group(1) or ""] + m.group(2))
    if "\\" in _ESCAPE.sub("", c):
        raise ValueError(f"a backslash that is not an escape: {c!r}")
    value = _ESCAPE.sub(lambda e: {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}[e.group(1)]
                        if e.group(1) else chr(int(e.group(2) or e.group(3), 16)), c)
    if cut:
        return ("cut", value, len(value) + int(cut.group(1).replace(",", "")))
    return ("text", value)


def table_form(t: Any, cut_at: int | None) -> Any:
    """The API's term as the table shows it: an IRI as itself, a blank node's label, a
    literal's lexical form without trailing spaces (unbound: empty), cut to ``cut_at``
    characters if longer (``("cut", prefix, length)``)."""
    if t is None:
        return ("text", "")
    if t[0] in ("iri", "bnode"):
        return t
    if cut_at is not None and len(t[1]) > cut_at:
        return ("cut", t[1][:cut_at], len(t[1]))
    return ("text", t[1].rstrip(" "))


# -- comparison -----------------------------------------------------------------------------
def _mask(row: tuple) -> tuple:
    return tuple(("bnode",) if (c is not None and c[0] == "bnode") else c for c in row)


def _bnode_places(rows: list[tuple]) -> Counter:
    """Invariant of blank-node labelling: for each label, the sorted places (column, masked
    row) it occurs in; the multiset of those over all labels."""
    places: dict[str, list] = {}
    for r in rows:
        m = _mask(r)
        for i, c in enumerate(r):
            if c is not None and c[0] == "bnode":
                places.setdefault(c[1], []).append((i, repr(m)))
    return Counter(tuple(sorted(p)) for p in places.values())


def compare_select(ref: tuple[list[str], list[tuple]], got: tuple[list[str], list[tuple]],
                   order_keys: list[str] | None = None) -> str | None:
    """``None`` if ``got`` carries ``ref``'s answer, else what differs (see module doc)."""
    rnames, rrows = ref
    gnames, grows = got
    if rnames != gnames:
        return f"variables {gnames} instead of {rnames}"
    if len(rrows) != len(grows):
        return f"{len(grows)} rows instead of {len(rrows)}"
    a, b = Counter(map(_mask, rrows)), Counter(map(_mask, grows))
    if a != b:
        miss = list((a - b).elements())[:2]
        extra = list((b - a).elements())[:2]
        return f"rows differ: API has {_short(miss)}, transport has {_short(extra)}"
    if _bnode_places(rrows) != _bnode_places(grows):
        return "blank-node labels not consistent with the API's (same label, other places)"
    if order_keys:
        idx = [rnames.index(k) for k in order_keys if k in rnames]
        if idx:
            ks = [tuple(_mask(r)[i] for i in idx) for r in rrows]
            kg = [tuple(_mask(r)[i] for i in idx) for r in grows]
            if ks != kg:
                at = next(i for i, (x, y) in enumerate(zip(ks, kg)) if x != y)
                return f"ORDER BY not kept: row {at} has key {_short(kg[at])}, API {_short(ks[at])}"
    return None


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) < 300 else s[:300] + "…"


# -- transports -----------------------------------------------------------------------------
SELECT_HTTP = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
               "csv": "text/csv", "tsv": "text/tab-separated-values"}
GRAPH_HTTP = {"turtle": "text/turtle", "nt": "application/n-triples",
              "json-ld": "application/ld+json", "xml": "application/rdf+xml"}
#: what the explorer's query page sends (``kg_engine/serve/static/explorer.js``)
EXPLORER_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"
#: transport names: cli-<fmt> (``table``: the default human format), http-<fmt> (GET or POST,
#: alternating), sparqlwrapper, rdflib, explorer-query (the explorer's query page: POST with
#: :data:`EXPLORER_ACCEPT`), explorer-<fmt> (its download links: GET ``?query=&format=``),
#: explorer-entity (``/api/entity`` of the answer's IRIs against the API's statements about
#: them); ``explorer-search`` (``/api/search``) runs once per dataset (:func:`search_problems`)
TRANSPORTS = ("cli-json", "cli-xml", "cli-csv", "cli-tsv", "cli-table", "http-json", "http-xml",
              "http-csv", "http-tsv", "sparqlwrapper", "rdflib", "explorer-query",
              "explorer-json", "explorer-xml", "explorer-csv", "explorer-tsv", "explorer-entity",
              "explorer-search")


class TransportError(RuntimeError):
    """A transport failed (status, exit code, unparseable document)."""


class Transports:
    """One store (loaded with ``trig``, optionally with the ``rdfs`` profile), the API on it,
    ``kg query`` in-process, a ``kg serve`` server on a free loopback port and the rdflib
    plugin. Close it (or use it as a context manager)."""

    def __init__(self, trig: str, url: str, reasoning: bool = False) -> None:
        import uvicorn

        from kg_engine.api import KnowledgeGraph
        from kg_engine.serve import ServerConfig, create_app

        self.url = url
        self.reasoning = reasoning
        with tempfile.TemporaryDirectory() as tmp:
            data, schema = os.path.join(tmp, "data.trig"), os.path.join(tmp, "schema.ttl")
            with open(data, "w", encoding="utf-8") as fh:
                fh.write(trig)
            with open(schema, "w", encoding="utf-8") as fh:
                fh.write(SCHEMA)
            with KnowledgeGraph(url) as kg:
                kg.load(data, format="trig")
                if reasoning:
                    kg.load(schema, format="turtle")
                    kg.reason("rdfs", profile=True)
        self.kg = KnowledgeGraph(url)
        app = create_app(ServerConfig(url, timeout=TIMEOUT, pool_size=2), KnowledgeGraph)
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="critical", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the kg serve server did not start")
            time.sleep(0.02)
        self.endpoint = f"http://127.0.0.1:{port}/sparql"
        from kg_engine.cli.app import make_app

        self.cli = make_app(["query"])
        self._plugin: Any = None
        self._n = 0
        self.documents = trig + SCHEMA
        self._entities: dict[str, str | None] = {}

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.kg.close()
        if self._plugin is not None:
            self._plugin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the reference
    def api(self, text: str) -> Any:
        res = self.kg.query(text, timeout=TIMEOUT)
        if res.type == "ASK":
            return bool(res.askAnswer)
        if res.type in ("CONSTRUCT", "DESCRIBE"):
            return res.graph
        names = [str(v) for v in res.vars]
        return names, [tuple(norm(t) for t in row) for row in res]

    def cli_text(self, text: str, fmt: str) -> str:
        from typer.testing import CliRunner

        r = CliRunner().invoke(self.cli, ["query", text, "--format", fmt, "--db", self.url,
                                           "--timeout", str(TIMEOUT)])
        if r.exit_code != 0:
            raise TransportError(f"kg query --format {fmt} exit {r.exit_code}: "
                                 f"{(r.stderr or r.output)[-300:]}")
        return r.stdout_bytes.decode("utf-8")  # r.stdout turns \r\n into \n

    def http(self, text: str, accept: str) -> bytes:
        self._n += 1
        ctype, body = self.fetch("/sparql", {"query": text}, accept=accept, post=self._n % 2 == 0)
        if not ctype.startswith(accept):
            raise TransportError(f"asked for {accept}, got Content-Type {ctype}")
        return body

    def fetch(self, path: str, params: dict[str, str], accept: str | None = None,
              post: bool = False) -> tuple[str, bytes]:
        """``(Content-Type, body)`` of a GET (or form POST) to the server's ``path``."""
        base = self.endpoint.rsplit("/", 1)[0] + path
        form = urllib.parse.urlencode(params)
        headers = {"Accept": accept} if accept else {}
        if post:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            req = urllib.request.Request(base, data=form.encode(), headers=headers)
        else:
            req = urllib.request.Request(base + "?" + form, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as exc:
            raise TransportError(f"HTTP {exc.code}: {exc.read()[:300]!r}") from None

    def table_prefixes(self, text: str) -> dict[str, str]:
        """The prefixes a table may shorten IRIs with: rdf/rdfs/owl/xsd, the loaded
        documents' ``@prefix`` lines and the query's ``PREFIX`` declarations."""
        from rdflib.namespace import OWL, RDF, RDFS

        out = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "xsd": str(XSD)}
        for src in (self.documents, text):
            out.update({m.group(1) or "": m.group(2) for m in _DECLARED.finditer(src)})
        return out

    def explorer_query(self, text: str) -> Any:
        """The explorer's query page: a form POST asking JSON results or Turtle."""
        ctype, body = self.fetch("/sparql", {"query": text}, accept=EXPLORER_ACCEPT, post=True)
        if ctype.startswith(SELECT_HTTP["json"]):
            return parse_select_json(body.decode("utf-8"))
        if ctype.startswith(GRAPH_HTTP["turtle"]):
            return parse_graph(body, "turtle")
        raise TransportError(f"the explorer asked for {EXPLORER_ACCEPT}, got Content-Type {ctype}")

    def explorer_download(self, text: str, fmt: str) -> Any:
        """A download link of the explorer's query page: ``GET /sparql?query=&format=``."""
        ctype, body = self.fetch("/sparql", {"query": text, "format": fmt})
        if not ctype.startswith(SELECT_HTTP[fmt]):
            raise TransportError(f"format={fmt} gave Content-Type {ctype}")
        return _parse_select(body, fmt)

    def entity_problem(self, iri: str) -> str | None:
        """What ``/api/entity?iri=`` gets wrong about ``iri`` (``None``: nothing): its facts
        against the API's statements with ``iri`` as subject and as object (default graph
        without inferences, then ``GRAPH ?g``, the rule engine's graph included), each
        fact's kind, and the N-Triples of each term against its other fields."""
        from kg_engine.core.graphs import INFERRED_GRAPH_PREFIX
        from kg_engine.serve.explorer import FACT_LIMIT

        if iri not in self._entities:
            ref: dict[str, Counter] = {"out": Counter(), "in": Counter()}
            for direction, pattern in (("out", f"<{iri}> ?p ?x"), ("in", f"?x ?p <{iri}>")):
                for q, g in ((f"SELECT ?p ?x WHERE {{ {pattern} }}", False),
                             (f"SELECT ?p ?x ?g WHERE {{ GRAPH ?g {{ {pattern} }} }}", True)):
                    for row in self.kg.query(q, include_inferred=False, timeout=TIMEOUT):
                        graph = str(row[2]) if g else None
                        kind = "inferred" if graph and graph.startswith(INFERRED_GRAPH_PREFIX) \
                            else "asserted"
                        ref[direction][(graph, kind, _mask((norm(row[0]), norm(row[1]))))] += 1
            try:
                _, body = self.fetch("/api/entity", {"iri": iri})
                doc = json.loads(body)
            except TransportError as exc:
                doc = {"error": str(exc)}
            self._entities[iri] = _entity_problem(iri, ref, doc, FACT_LIMIT)
        return self._entities[iri]

    def sparqlwrapper(self, text: str) -> Any:
        from SPARQLWrapper import JSON, SPARQLWrapper

        sw = SPARQLWrapper(self.endpoint)
        sw.setQuery(text)
        sw.setReturnFormat(JSON)
        return parse_select_json(sw.query().convert())

    def rdflib(self, text: str) -> Any:
        if self._plugin is None:
            from rdflib import Dataset

            self._plugin = Dataset(store="kg_engine")
            self._plugin.open(self.url)
        res = self._plugin.query(text, timeout=TIMEOUT)
        if res.type == "ASK":
            return bool(res.askAnswer)
        if res.type in ("CONSTRUCT", "DESCRIBE"):
            return res.graph
        names = [str(v) for v in res.vars]
        return names, [tuple(norm(b.get(v)) for v in res.vars) for b in res.bindings]

    def answer(self, transport: str, text: str, form: str) -> Any:
        """``transport``'s answer to ``text`` (a query of ``form``: SELECT, ASK, CONSTRUCT,
        DESCRIBE) parsed back: ``(vars, rows)``, a boolean or an rdflib Graph; ``None``
        where the transport does not offer that form (CSV/TSV of an ASK)."""
        kind, _, fmt = transport.partition("-")
        graph = form in ("CONSTRUCT", "DESCRIBE")
        if transport == "cli-table":
            out = self.cli_text(text, "table")
            if graph:
                return parse_graph(out.encode("utf-8"), "turtle")
            return parse_table(out, self.table_prefixes(text))
        if transport == "explorer-query":
            return self.explorer_query(text)
        if kind == "explorer":  # the download links, shown under a SELECT's table
            return None if graph or form == "ASK" else self.explorer_download(text, fmt)
        if transport == "rdflib":
            return self.rdflib(text)
        if transport == "sparqlwrapper":
            return None if graph else self.sparqlwrapper(text)
        if kind == "cli":
            if graph:
                if fmt in ("csv", "tsv"):
                    return None
                rdf = {"json": "json-ld", "xml": "xml"}[fmt]
                out = self.cli_text(text, fmt)
                return parse_graph(out.encode("utf-8"), rdf)
            if form == "ASK" and fmt in ("csv", "tsv"):
                return None
            return _parse_select(self.cli_text(text, fmt).encode("utf-8"), fmt)
        if graph:
            rdf = {"json": "json-ld", "xml": "xml", "csv": "turtle", "tsv": "nt"}[fmt]
            media = GRAPH_HTTP[rdf]
            return parse_graph(self.http(text, media), rdf)
        if form == "ASK" and fmt in ("csv", "tsv"):
            return None
        return _parse_select(self.http(text, SELECT_HTTP[fmt]), fmt)


def parse_graph(data: bytes, fmt: str) -> Graph:
    """An RDF document parsed back: Turtle and N-Triples by pyoxigraph (rdflib's Turtle
    parser reads the integer token ``-0`` as ``"0"``, though its lexical form is ``-0``),
    JSON-LD and RDF/XML by rdflib."""
    if fmt not in ("turtle", "nt"):
        return Graph().parse(data=data, format=fmt)
    import pyoxigraph as ox

    def term(x: Any) -> Any:
        if isinstance(x, ox.NamedNode):
            return URIRef(x.value)
        if isinstance(x, ox.BlankNode):
            return BNode(x.value)
        return Literal(x.value, lang=x.language,
                       datatype=None if x.language else URIRef(x.datatype.value))

    g = Graph()
    f = ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.N_TRIPLES
    for t in ox.parse(data, f):
        g.add((term(t.subject), term(t.predicate), term(t.object)))
    return g


def _parse_select(data: bytes, fmt: str) -> Any:
    if fmt == "json":
        return parse_select_json(data.decode("utf-8"))
    if fmt == "xml":
        return parse_select_xml(data)
    if fmt == "csv":
        return parse_csv(data.decode("utf-8"))
    return parse_tsv(data.decode("utf-8"))


# -- driving --------------------------------------------------------------------------------
@dataclass
class TransportReport:
    """Counts per transport (``agree``, ``differ``, ``error``, ``refused``: an XML format
    refusing an answer with a character XML 1.0 cannot carry, ``timeout``: the API ran past
    :data:`TIMEOUT`, ``n/a``: a form the
    transport does not offer) and the failures."""

    queries: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def agreement(self, transport: str) -> float:
        c = self.counts.get(transport, Counter())
        n = sum(v for k, v in c.items() if k not in ("n/a", "refused", "timeout"))
        return c["agree"] / n if n else 1.0

    def summary(self) -> str:
        lines = [f"{self.queries} queries"]
        for t, c in self.counts.items():
            parts = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            lines.append(f"  {t:14s} agreement {100 * self.agreement(t):6.2f} % ({parts})")
        return "\n".join(lines)


def _form(case_text: str, tree_kind: str) -> str:
    return {"select": "SELECT", "ask": "ASK", "construct": "CONSTRUCT",
            "describe": "DESCRIBE"}[tree_kind]


def check(tr: Transports, text: str, form: str, order_keys: list[str],
          transports: tuple[str, ...] = TRANSPORTS) -> dict[str, tuple[str, str]]:
    """Run ``text`` on the API and every transport: ``{transport: (status, detail)}``."""
    from kg_engine.core.terms import exact_literals

    with exact_literals():  # parse back exact lexical forms ("01", "NaN", "5.0E0")
        return _check(tr, text, form, order_keys, transports)


def _check(tr: Transports, text: str, form: str, order_keys: list[str],
           transports: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    from rdflib.compare import isomorphic

    out: dict[str, tuple[str, str]] = {}
    try:
        ref = tr.api(text)
        ref_err = None
    except Exception as exc:  # noqa: BLE001
        from kg_engine.errors import QueryTimeoutError

        if isinstance(exc, QueryTimeoutError):
            return {t: ("timeout", "the API ran past TIMEOUT") for t in transports}
        ref, ref_err = None, f"{type(exc).__name__}: {exc}"
    for t in transports:
        if t == "explorer-search":  # once per dataset: search_problems
            continue
        if t == "explorer-entity":
            out[t] = _entity_status(tr, ref, ref_err)
            continue
        try:
            got = tr.answer(t, text, form)
        except Exception as exc:  # noqa: BLE001
            if ref_err is not None:
                out[t] = ("agree", "both raised")
            elif t.endswith("-xml") and _not_xml(ref):
                out[t] = ("refused", f"XML 1.0 cannot carry the answer: {str(exc)[:200]}")
            else:
                out[t] = ("error", f"{type(exc).__name__}: {str(exc)[:400]}")
            continue
        if got is None:
            out[t] = ("n/a", "")
            continue
        if ref_err is not None:
            out[t] = ("differ", f"the API raised {ref_err[:300]}; the transport answered")
            continue
        if isinstance(ref, bool):
            out[t] = ("agree", "") if got is ref else ("differ", f"ASK {got} instead of {ref}")
        elif isinstance(ref, Graph):
            ok = isomorphic(_plain_graph(ref), _plain_graph(got))
            out[t] = ("agree", "") if ok else ("differ", _graph_diff(ref, got))
        else:
            r = ref
            if t.endswith("-csv"):
                r = (ref[0], [tuple(csv_form(c) for c in row) for row in ref[1]])
            if t == "cli-table":
                cut = {len(c[1]) for row in got[1] for c in row if c[0] == "cut"}
                if len(cut) > 1:
                    out[t] = ("differ", f"values cut at different lengths: {sorted(cut)}")
                    continue
                r = (ref[0], [tuple(table_form(c, min(cut, default=None)) for c in row)
                              for row in ref[1]])
            d = compare_select(r, got, order_keys)
            out[t] = ("agree", "") if d is None else ("differ", d)
    return out


def _entity_status(tr: Transports, ref: Any, ref_err: str | None) -> tuple[str, str]:
    """``/api/entity`` of the first and the last IRI (sorted) of the API's answer."""
    if ref_err is not None or isinstance(ref, bool):
        return ("n/a", "")
    if isinstance(ref, Graph):
        iris = {str(x) for t in ref for x in (t[0], t[2]) if isinstance(x, URIRef)}
    else:
        iris = {c[1] for row in ref[1] for c in row if c is not None and c[0] == "iri"}
    if not iris:
        return ("n/a", "")
    order = sorted(iris)
    try:
        for iri in dict.fromkeys([order[0], order[-1]]):
            problem = tr.entity_problem(iri)
            if problem is not None:
                return ("differ", problem)
    except Exception as exc:  # noqa: BLE001
        return ("error", f"{type(exc).__name__}: {str(exc)[:400]}")
    return ("agree", "")


def _nt_fields(t: Any) -> tuple[Any, ...]:
    """What the explorer's ``type``/``value``/``lang``/``datatype`` must say of a term."""
    if t[0] == "iri":
        return ("uri", t[1], None, None)
    if t[0] == "bnode":
        return ("bnode", t[1], None, None)
    return ("literal", t[1], t[3], t[2])


def _entity_problem(iri: str, ref: dict[str, Counter], doc: dict[str, Any], limit: int) -> str | None:
    total = sum(sum(c.values()) for c in ref.values())
    if "error" in doc:
        if total == 0 and "HTTP 404" in doc["error"]:
            return None
        return f"/api/entity?iri=<{iri}> failed: {doc['error'][:300]}"
    if total == 0:
        return f"/api/entity answered for <{iri}>, which is in no statement"
    got: dict[str, Counter] = {"out": Counter(), "in": Counter()}
    for f in doc["facts"]:
        terms = []
        for k in ("s", "p", "o"):
            j = f[k]
            t = _tsv_cell(j["nt"])
            lang = j.get("lang")
            fields = (j["type"], j["value"], lang.lower() if lang else None, j.get("datatype"))
            if fields != _nt_fields(t):
                return f"a fact's {k}: {j!r} does not say what its N-Triples says"
            terms.append(t)
        here, there = (terms[0], terms[2]) if f["dir"] == "out" else (terms[2], terms[0])
        if here != ("iri", iri):
            return f"a fact about {here!r} on the page of <{iri}>"
        got[f["dir"]][(f["graph"], f["kind"], _mask((terms[1], there)))] += 1
    truncated = False
    for d in ("out", "in"):
        r, g = ref[d], got[d]
        n = sum(r.values())
        if n > limit:
            truncated = True
            if sum(g.values()) != limit or g - r:
                return (f"<{iri}> has {n} {d} facts: the page shows {sum(g.values())}, not "
                        f"{limit} of them; extra: {_short(list((g - r).elements())[:2])}")
        elif g != r:
            return (f"<{iri}> {d} facts differ: the API has {_short(list((r - g).elements())[:2])}, "
                    f"the page {_short(list((g - r).elements())[:2])}")
    if bool(doc.get("truncated")) != truncated:
        return f"truncated is {doc.get('truncated')!r}; the API has {total} facts"
    return None


#: labels the stress data gives (``ex:n0``… and a blank node) and what ``/api/search`` is
#: asked: LIKE's wildcards and escape, non-ASCII case folding
SEARCH_LABELS = ['"Ada Lovelace"@en', '"50% off_now"', '"ÅBC Ünïcode"@sv', '"back\\\\slash"',
                 '"ÉCOLE d\'ÉTÉ"@fr', '"Straße"', '"ada blank"']
SEARCH_NEEDLES = ["ada", "LOVE", "%", "_", "0% off_", "\\", "åbc", "ÜNÏ", "école", "été", "ß", "a",
                  "Ada Lovelace"]


def search_problems(tr: Transports) -> list[tuple[str, str, str]]:
    """``/api/search?q=`` of each of :data:`SEARCH_NEEDLES` against the API's IRIs whose
    ``rdfs:label`` contains the needle, case-insensitively (SPARQL ``LCASE``):
    ``[(needle, status, detail)]``."""
    from rdflib.namespace import RDFS

    out = []
    for needle in SEARCH_NEEDLES:
        q = (f"SELECT DISTINCT ?s WHERE {{ ?s <{RDFS.label}> ?l FILTER(isIRI(?s) && "
             f"CONTAINS(LCASE(STR(?l)), LCASE({json.dumps(needle, ensure_ascii=False)}))) }}")
        ref = {str(row[0]) for row in tr.kg.query(q, timeout=TIMEOUT)}
        try:
            _, body = tr.fetch("/api/search", {"q": needle, "limit": "100"})
            got = {r["iri"] for r in json.loads(body)["results"]}
        except Exception as exc:  # noqa: BLE001
            out.append((needle, "error", f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        if got == ref:
            out.append((needle, "agree", ""))
        else:
            detail = f"/api/search?q={needle!r}: missing {sorted(ref - got)[:3]}, extra {sorted(got - ref)[:3]}"
            out.append((needle, "differ", detail))
    return out


def _not_xml(ref: Any) -> bool:
    """Whether an answer holds a character XML 1.0 cannot carry (the XML formats refuse it:
    400 before the first chunk, a broken-off stream after it, exit 2 from ``kg query``)."""
    from kg_engine.core.rdf_text import _NOT_XML

    if isinstance(ref, Graph):
        return any(_NOT_XML.search(str(x)) for t in ref for x in t)
    if isinstance(ref, tuple):
        return any(c is not None and _NOT_XML.search(c[1]) for row in ref[1] for c in row)
    return False


def _plain_graph(g: Graph) -> Graph:
    """``g`` with ``"x"^^xsd:string`` written ``"x"`` (the same term in RDF 1.1)."""
    out = Graph()
    for s, p, o in g:
        if isinstance(o, Literal) and o.datatype is not None and str(o.datatype) == _XS:
            o = Literal(str(o))
        out.add((s, p, o))
    return out


def _graph_diff(ref: Graph, got: Graph) -> str:
    a = {tuple(norm(x) for x in t) for t in _plain_graph(ref) if not any(isinstance(x, BNode) for x in t)}
    b = {tuple(norm(x) for x in t) for t in _plain_graph(got) if not any(isinstance(x, BNode) for x in t)}
    return (f"graphs not isomorphic: {len(got)} triples vs the API's {len(ref)}; ground triples "
            f"only in the API: {_short(sorted(a - b)[:2])}; only in the transport: {_short(sorted(b - a)[:2])}")


def run(seed: int, queries: int, *, url: str | Callable[[], str] | None = None, datasets: int = 2,
        transports: tuple[str, ...] = TRANSPORTS, stress: bool = True, big: int = BIG,
        progress: Callable[[int], None] | None = None) -> TransportReport:
    """``queries`` generated queries (spread over ``datasets`` datasets from ``seed``; odd
    datasets have the ``rdfs`` profile), plus :data:`STRESS_QUERIES` on each dataset when
    ``stress``, through the API and every transport. ``url``: a database URL factory (e.g.
    ``TemporaryPostgres.new_database_url``); default: a fresh SQLite file per dataset."""
    report = TransportReport()
    for t in transports:
        report.counts[t] = Counter()
    per = max(1, queries // datasets)
    with tempfile.TemporaryDirectory(prefix="kg-transport-") as tmp:
        for d in range(datasets):
            dseed = seed * 1000 + d
            db = url() if callable(url) else (url or f"sqlite:///{tmp}/d{d}.sqlite")
            with Transports(stress_dataset(dseed, big), db, reasoning=d % 2 == 1) as tr:
                gen = QueryGenerator(dseed)
                n = per if d < datasets - 1 else queries - per * (datasets - 1)
                cases: list[tuple[str, str, list[str]]] = []
                if stress:
                    cases += [(PREFIXES + q, q.split()[0].upper(), _order_vars(q)) for q in STRESS_QUERIES]
                for _ in range(n):
                    c: Case = gen.query()
                    cases.append((c.render(), _form("", c.tree[0]), [v for v, _ in c.order]))
                for text, form, keys in cases:
                    res = check(tr, text, form, keys, transports)
                    report.queries += 1
                    for t, (status, detail) in res.items():
                        report.counts[t][status] += 1
                        if status in ("differ", "error"):
                            report.failures.append({"transport": t, "status": status,
                                                    "query": text, "detail": detail,
                                                    "dataset_seed": dseed, "reasoning": tr.reasoning})
                    if progress is not None:
                        progress(report.queries)
                if "explorer-search" in transports:
                    for needle, status, detail in search_problems(tr):
                        report.counts["explorer-search"][status] += 1
                        if status in ("differ", "error"):
                            report.failures.append({"transport": "explorer-search", "status": status,
                                                    "query": f"/api/search?q={needle}", "detail": detail,
                                                    "dataset_seed": dseed, "reasoning": tr.reasoning})
    return report


def _order_vars(q: str) -> list[str]:
    if "ORDER BY" not in q:
        return []
    keys = q.split("ORDER BY", 1)[1].split("OFFSET")[0].split("LIMIT")[0].split()
    return [k.strip("ASCDE()?") for k in keys]
