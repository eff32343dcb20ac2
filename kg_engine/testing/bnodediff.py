"""Blank-node scoping and identity everywhere kg-engine meets blank nodes, checked against
pyoxigraph (and rdflib's graph comparison).

RDF says each document's blank nodes are its own, a store keeps one node one node, and a
blank node label in a SPARQL pattern is a variable (§4.1.4). A seeded generator
(:func:`random_dataset`) writes TriG with labelled blank nodes shared across the default graph
and named graphs, ``[ … ]`` nested, collections (of blank nodes, nested), self-loops and
cycles of blank nodes, and now and then a graph named by a blank node. Each seed runs these
areas, on any store URL (SQLite, PostgreSQL):

* ``load`` — the dataset written in every format (N-Triples, N-Quads, Turtle, TriG, JSON-LD,
  RDF/XML; triple formats: its default graph) loaded twice: in one ``load([a, a2])`` call, in
  two calls, into two named graphs (triple formats), and beside another document using the
  same labels. The store must hold the union of two copies with their blank nodes apart
  (pyoxigraph's parse of each copy is the reference; compared up to blank-node renaming by
  RDFC-1.0), ``stats()`` must count what the store holds and ``check()`` must find it sound;
* ``export`` — ``export`` in every RDF format, loaded into a new store: the same dataset
  (quad formats) or the union of its graphs (triple formats), up to renaming; an N-Quads
  export of two named graphs that share a blank node keeps it one node;
* ``results`` — ``SELECT ?s ?p ?o ?g`` over everything in JSON, XML, CSV, TSV (the formats
  ``kg query`` writes, and its database-written JSON) read back into quads: each blank node
  label must stand for one node and two nodes never share a label, so the quads are the
  store's up to renaming; ``CONSTRUCT`` in Turtle, JSON-LD, RDF/XML, N-Triples reloaded;
* ``sparql`` — queries with blank node labels and templates (fixed cases and generated ones)
  against pyoxigraph: labels as variables never matching a stored label, a label in two basic
  graph patterns refused by both, fresh template nodes per solution (CONSTRUCT), DESCRIBE;
* ``update`` — update requests with blank nodes (``INSERT DATA`` twice, templates per
  solution, ``DELETE WHERE`` over blank nodes, ``ADD``/``COPY``/``MOVE`` of graphs holding
  them, a label in two operations) against pyoxigraph, whole stores compared
  (:mod:`kg_engine.testing.updatediff`);
* ``rules`` — OWL 2 RL over ``owl:unionOf``/``owl:intersectionOf`` lists of blank cells and
  ``owl:someValuesFrom`` restrictions that are blank nodes: the closure kept live while blank
  node statements are added and removed equals a fresh store's ``reason()`` of the final
  asserted data (exported and reloaded), and every inferred statement about a blank node can
  be explained by the text ``kg explain`` takes (the label ``kg query`` prints);
* ``analytics`` — ``to_networkx`` and the GraphML export: one node per distinct blank node
  (none merged, none split), labels the same on a second call.

Each difference is a :class:`Finding`; :func:`run` returns a :class:`BnodeReport` with the
counts of cases per area. ``benchmarks/bnode_differential.py`` is the command line.

Example:
    >>> "_:" in random_dataset(1)
    True
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import BNode, Literal, URIRef

from kg_engine.testing.updatediff import ox_dataset

__all__ = ["BnodeReport", "Finding", "random_dataset", "run", "same_dataset"]

EX = "http://example.org/"
DEFAULT = ""  # the default graph in a normalised quad
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_OWL = "http://www.w3.org/2002/07/owl#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"


@dataclass
class Finding:
    """One disagreement: the area, the case and what differed."""

    area: str
    case: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.area}] {self.case}: {self.detail}"


@dataclass
class BnodeReport:
    """Cases run per area and the findings."""

    cases: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        per = ", ".join(f"{a} {n}" for a, n in sorted(self.cases.items()))
        return f"{sum(self.cases.values())} cases ({per}), {len(self.findings)} findings"


# -- data ------------------------------------------------------------------------------------
def random_dataset(seed: int, named_by_blank: bool | None = None) -> str:
    """A TriG document with blank-node structure (see the module docstring).

    ``named_by_blank``: whether one graph is named by a blank node (default: drawn).
    Literals are canonical (pyoxigraph keeps them as written too, so no literal form differs).
    """
    rng = random.Random(seed)
    if named_by_blank is None:
        named_by_blank = rng.random() < 0.4
    nodes = [f"ex:n{i}" for i in range(4)]
    labels = [f"_:b{i}" for i in range(rng.randint(2, 5))]
    preds = [f"ex:p{i}" for i in range(3)]

    def lit() -> str:
        return rng.choice(['"x"', '"y"@en', "1", "2", '"z"^^xsd:string'])

    def term(depth: int) -> str:
        r = rng.random()
        if r < 0.3:
            return rng.choice(labels)
        if r < 0.45 and depth < 2:
            return "[ " + " ; ".join(f"{rng.choice(preds)} {term(depth + 1)}"
                                     for _ in range(rng.randint(0, 2))) + " ]"
        if r < 0.55 and depth < 2:
            return "( " + " ".join(term(depth + 1) for _ in range(rng.randint(0, 3))) + " )"
        if r < 0.7:
            return lit()
        return rng.choice(nodes)

    def subject() -> str:
        r = rng.random()
        if r < 0.5:
            return rng.choice(labels)
        if r < 0.6:
            return "[ " + f"{rng.choice(preds)} {term(1)}" + " ]"
        return rng.choice(nodes)

    def block(n: int) -> str:
        out = []
        for _ in range(n):
            out.append(f"  {subject()} {rng.choice(preds)} {term(0)} .")
        if rng.random() < 0.5:
            b = rng.choice(labels)
            out.append(f"  {b} ex:p0 {b} .")  # a self-loop
        if rng.random() < 0.5 and len(labels) > 1:
            a, b = rng.sample(labels, 2)
            out.append(f"  {a} ex:p1 {b} . {b} ex:p1 {a} .")  # a cycle
        return "\n".join(out)

    graphs = ["ex:g1", "ex:g2"] + (["_:gb"] if named_by_blank else [])
    parts = [f"@prefix ex: <{EX}> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
             block(rng.randint(3, 7))]
    for g in graphs:
        parts.append(f"{g} {{\n{block(rng.randint(1, 4))}\n}}")
    return "\n".join(parts) + "\n"


def _ox_quads(data: bytes | str, fmt: Any, tag: str) -> set[tuple]:
    """pyoxigraph's parse of a document as normalised quads, its blank nodes renamed with
    ``tag`` (two parses with different tags are two documents)."""
    import pyoxigraph as ox

    raw = data.encode() if isinstance(data, str) else data
    return {tuple(_from_ox(t, tag) for t in (q.subject, q.predicate, q.object, q.graph_name))
            for q in ox.parse(raw, fmt)}


def _from_ox(t: Any, tag: str) -> Any:
    name = type(t).__name__
    if name == "DefaultGraph":
        return DEFAULT
    if name == "BlankNode":
        return BNode(f"{tag}{t.value}")
    if name == "NamedNode":
        return URIRef(t.value)
    if t.language:
        return Literal(t.value, lang=t.language)
    dt = t.datatype.value
    return Literal(t.value, datatype=None if dt.endswith("#string") else dt)


def _norm(t: Any) -> Any:
    """A store term as :func:`_from_ox` gives pyoxigraph's."""
    if isinstance(t, Literal) and t.datatype is not None and str(t.datatype).endswith("#string"):
        return Literal(str(t))
    if isinstance(t, URIRef) and str(t) == "urn:x-rdflib:default":
        return DEFAULT
    return t


def store_quads(kg: Any, include_inferred: bool = False) -> set[tuple]:
    """The store's statements as normalised quads (inferred graphs left out unless asked)."""
    inferred = {str(g) for g in kg.store.graphs() if str(g).startswith("urn:kg-engine:")}
    return {tuple(_norm(t) for t in q) for q in kg.store.triples()
            if include_inferred or str(q[3]) not in inferred}


def _triples(quads: Iterable[tuple]) -> set[tuple]:
    """The union of the graphs: triples as default-graph quads."""
    return {(s, p, o, DEFAULT) for s, p, o, _ in quads}


def same_dataset(a: set[tuple], b: set[tuple]) -> bool:
    """Whether two sets of normalised quads are equal up to a renaming of blank nodes (graph
    names included), by RDFC-1.0 canonicalisation (pyoxigraph's).

    Example:
        >>> p, g = URIRef("urn:p"), BNode()
        >>> x = BNode()
        >>> same_dataset({(x, p, x, DEFAULT)}, {(BNode(), p, BNode(), DEFAULT)})
        False
        >>> same_dataset({(x, p, x, g)}, {(BNode("y"), p, BNode("y"), BNode("h"))})
        True
    """
    import pyoxigraph as ox

    if len(a) != len(b):
        return False
    da, db = ox_dataset(a, "c"), ox_dataset(b, "c")
    da.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    db.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return bool(da == db)


def _bnodes(quads: Iterable[tuple]) -> set[BNode]:
    return {t for q in quads for t in q if isinstance(t, BNode)}


def _show(quads: set[tuple], n: int = 3) -> str:
    return "; ".join(" ".join(t.n3() if hasattr(t, "n3") else repr(t) for t in q)
                     for q in sorted(quads, key=repr)[:n])


# -- the areas ---------------------------------------------------------------------------------
#: format name -> (file extension, pyoxigraph format, holds graphs)
FORMATS = {
    "nt": ("nt", "N_TRIPLES", False),
    "nq": ("nq", "N_QUADS", True),
    "turtle": ("ttl", "TURTLE", False),
    "trig": ("trig", "TRIG", True),
    "json-ld": ("jsonld", "JSON_LD", True),
    "xml": ("rdf", "RDF_XML", False),
}


class _Checker:
    """One seed's dataset on one store URL factory; each ``area_*`` records its cases."""

    def __init__(self, seed: int, url: Callable[[], str], report: BnodeReport,
                 workdir: str) -> None:
        import pyoxigraph as ox

        self.seed = seed
        self.url = url
        self.report = report
        self.dir = Path(workdir)
        self.trig = random_dataset(seed)
        self.ox = ox
        self.ref = _ox_quads(self.trig, ox.RdfFormat.TRIG, "a")

    def kg(self, shared: bool = False) -> Any:
        """A store on a new URL; ``shared``: one another process can open (a file for SQLite)."""
        from kg_engine import KnowledgeGraph

        url = self.url()
        if shared and url == "sqlite://":
            url = f"sqlite:///{self.dir / 'shared.sqlite'}"
        return KnowledgeGraph(url)

    def case(self, area: str, name: str, ok: bool, detail: str = "") -> bool:
        self.report.cases[area] += 1
        if not ok:
            self.report.findings.append(Finding(area, f"seed {self.seed}: {name}", detail))
        return ok

    def _write(self, name: str, quads: set[tuple], fmt: str) -> Path:
        """The quads written by pyoxigraph in ``fmt`` (blank node labels as pyoxigraph writes
        them: the same labels in every file written from the same quads)."""
        ext, oxfmt, graphs = FORMATS[fmt]
        ds = ox_dataset(quads if graphs else {q for q in quads if q[3] == DEFAULT}, "c")
        path = self.dir / f"{name}.{ext}"
        fmt_ = getattr(self.ox.RdfFormat, oxfmt)
        path.write_bytes(self.ox.serialize(ds if graphs else (q.triple for q in ds),
                                           format=fmt_))
        return path

    # -- load -----------------------------------------------------------------------------------
    def area_load(self) -> None:
        other = _ox_quads(random_dataset(self.seed + 7919), self.ox.RdfFormat.TRIG, "o")
        for fmt, (_, oxfmt, graphs) in FORMATS.items():
            quads = self.ref if graphs else {q for q in self.ref if q[3] == DEFAULT}
            first = self._write(f"a-{fmt}", quads, fmt)
            copy = self.dir / f"copy-{first.name}"
            copy.write_bytes(first.read_bytes())
            once = _ox_quads(first.read_bytes(), getattr(self.ox.RdfFormat, oxfmt), "x")
            again = _ox_quads(first.read_bytes(), getattr(self.ox.RdfFormat, oxfmt), "y")
            self.case("load", f"{fmt}: read as pyoxigraph reads it", *self._load_ok(
                [[first]], once))
            self.case("load", f"{fmt}: two files in one load call", *self._load_ok(
                [[first, copy]], once | again))
            self.case("load", f"{fmt}: one file in two load calls", *self._load_ok(
                [[first], [first]], once | again))
            if not graphs:
                g1, g2 = URIRef(EX + "G1"), URIRef(EX + "G2")
                want = {(s, p, o, g1) for s, p, o, _ in once} | \
                    {(s, p, o, g2) for s, p, o, _ in again}
                self.case("load", f"{fmt}: one file into two named graphs", *self._load_ok(
                    [[first], [first]], want, graphs=[g1, g2]))
            o_quads = other if graphs else {q for q in other if q[3] == DEFAULT}
            second = self._write(f"b-{fmt}", o_quads, fmt)
            o_read = _ox_quads(second.read_bytes(), getattr(self.ox.RdfFormat, oxfmt), "z")
            self.case("load", f"{fmt}: two documents using the same labels", *self._load_ok(
                [[first, second]], once | o_read))

    def _load_ok(self, calls: list[list[Path]], want: set[tuple],
                 graphs: list[URIRef] | None = None) -> tuple[bool, str]:
        kg = self.kg()
        try:
            for i, files in enumerate(calls):
                kg.load([str(f) for f in files], graph=graphs[i] if graphs else None)
            got = store_quads(kg)
            if not same_dataset(got, want):
                return False, (f"{len(got)} quads ({len(_bnodes(got))} blank nodes), expected "
                               f"{len(want)} ({len(_bnodes(want))}); store: {_show(got - want)}")
            stats = kg.stats()
            if stats["statements"] != len(got):
                return False, (f"stats() counts {stats['statements']} statements, the store "
                               f"holds {len(got)}")
            held = Counter(str(q[1]) for q in got)
            wrong = {p: n for p, n in stats["top_predicates"] if held[p] != n}
            if wrong:
                return False, f"stats() per predicate {wrong}, the store holds " + \
                    str({p: held[p] for p in wrong})
            report = kg.check(quick=True)
            if not report.sound:
                return False, f"check(): {report}"
            return True, ""
        finally:
            kg.close()

    @contextmanager
    def _reference_store(self) -> Iterator[Any]:
        """A new store holding the reference dataset (its TriG as pyoxigraph writes it)."""
        kg = self.kg()
        try:
            kg.load(str(self._write("src", self.ref, "trig")))
            yield kg
        finally:
            kg.close()

    def _read_back(self, path: Path) -> set[tuple]:
        """The quads of ``path`` loaded into a new store."""
        back = self.kg()
        try:
            back.load(str(path))
            return store_quads(back)
        finally:
            back.close()

    # -- export ---------------------------------------------------------------------------------
    def area_export(self) -> None:
        with self._reference_store() as kg:
            held = store_quads(kg)
            for fmt, (ext, _, graphs) in FORMATS.items():
                out = self.dir / f"export-{self.seed}.{ext}"
                try:
                    kg.export(str(out), fmt)
                except Exception as exc:  # noqa: BLE001 - a finding
                    self.case("export", f"export {fmt}", False, f"{type(exc).__name__}: {exc}")
                    continue
                got = self._read_back(out)
                want = held if graphs else _triples(held)
                self.case("export", f"export {fmt}, load into a new store",
                          same_dataset(got, want),
                          f"{len(got)} quads ({len(_bnodes(got))} blank nodes) read back, "
                          f"{len(want)} ({len(_bnodes(want))}) exported")
            named = [g for g in kg.store.graphs() if isinstance(g, URIRef)
                     and not str(g).startswith("urn:kg-engine:")]
            out = self.dir / f"graphs-{self.seed}.nq"
            kg.export(str(out), "nq", graph=named)
            got = self._read_back(out)
            want = {q for q in held if q[3] in set(named)}
            self.case("export", "N-Quads of the named graphs (blank nodes shared by them)",
                      same_dataset(got, want), f"{len(got)} quads read back, {len(want)} held")

    # -- results ----------------------------------------------------------------------------------
    def area_results(self) -> None:
        from kg_engine.sparql.results import format_result
        from kg_engine.testing import transportdiff as td

        kg = self.kg(shared=True)
        try:
            kg.load(str(self._write("src", self.ref, "trig")))
            held = store_quads(kg)
            text = ("SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")
            readers = {"json": td.parse_select_json, "xml": lambda t: td.parse_select_xml(
                t.encode()), "csv": td.parse_csv, "tsv": td.parse_tsv}
            for fmt, read in readers.items():
                rows = read(format_result(kg.query(text), fmt))
                got = {tuple(_result_term(c) for c in r) for r in rows[1]}
                got = {(s, p, o, DEFAULT if g is None else g) for s, p, o, g in got}
                want = held if fmt != "csv" else {(*q[:2], _csv_form(q[2]), q[3]) for q in held}
                self.case("results", f"SELECT ?s ?p ?o ?g as {fmt}, read back",
                          same_dataset(got, want),
                          f"{len(got)} quads ({len(_bnodes(got))} blank nodes) from the "
                          f"result, the store holds {len(held)} ({len(_bnodes(held))})")
            got = _cli_json_quads(kg.url, text)
            self.case("results", "kg query --format json (the database's writer), read back",
                      same_dataset(got, held), f"{len(got)} quads, {len(held)} held")
            default = {q for q in held if q[3] == DEFAULT}
            construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
            for fmt, rdf in (("table", "TURTLE"), ("json", "JSON_LD"), ("xml", "RDF_XML"),
                             ("nt", "N_TRIPLES")):
                data = format_result(kg.query(construct), fmt if fmt != "nt" else "csv") \
                    if fmt != "nt" else kg.query(construct).graph.serialize(format="nt")
                got = _ox_quads(data, getattr(self.ox.RdfFormat, rdf), "r")
                self.case("results", f"CONSTRUCT as {rdf}, read back", same_dataset(got, default),
                          f"{len(got)} triples read back, {len(default)} in the default graph")
        finally:
            kg.close()

    # -- SPARQL queries ------------------------------------------------------------------------
    def area_sparql(self, queries: int) -> None:
        from kg_engine.testing.differential import _norm as norm_kg
        from kg_engine.testing.differential import _norm_ox

        data = _no_blank_graph_names(self.trig)
        kg = self.kg()
        store = self.ox.Store()
        try:
            kg.graph.parse(data=data, format="trig")
            store.load(data.encode(), self.ox.RdfFormat.TRIG)
            for text in FIXED_QUERIES + [_random_query(self.seed * 1000 + i)
                                         for i in range(queries)]:
                kg_err = ox_err = None
                try:
                    mine = kg.query(text)
                    kg_ans = _answer(mine, norm_kg)
                except Exception as exc:  # noqa: BLE001 - compared with pyoxigraph's outcome
                    kg_err = f"{type(exc).__name__}: {exc}"
                try:
                    ox_ans = _ox_answer(store.query(text), _norm_ox)
                except SyntaxError as exc:
                    ox_err = str(exc)
                if (kg_err is None) != (ox_err is None):
                    self.case("sparql", text, False, f"kg-engine: {kg_err or 'answers'}; "
                              f"pyoxigraph: {ox_err or 'answers'}")
                    continue
                if kg_err is not None:
                    self.case("sparql", text, True)
                    continue
                if isinstance(kg_ans, set):
                    same = same_dataset(kg_ans, ox_ans)
                else:
                    same = kg_ans == ox_ans
                self.case("sparql", text, same, f"kg-engine {_brief(kg_ans)} / pyoxigraph "
                          f"{_brief(ox_ans)}")
        finally:
            kg.close()

    # -- SPARQL Update -------------------------------------------------------------------------
    def area_update(self, requests: int) -> None:
        from kg_engine.testing.updatediff import UpdateEngines, compare_states

        engines = UpdateEngines(_no_blank_graph_names(self.trig), self.url())
        try:
            for text in FIXED_UPDATES + [_random_update(self.seed * 1000 + i)
                                         for i in range(requests)]:
                engines.reset()
                mine = engines.run_kg(text)
                engines.reset()
                theirs = engines.run_ox(OX_EQUIVALENT.get(text, text))
                out = compare_states(mine, theirs)
                self.case("update", text, out.status in ("agree", "empty-graph"),
                          f"{out.status}: {out.detail}")
        finally:
            engines.close()

    # -- rules ----------------------------------------------------------------------------------
    def area_rules(self) -> None:
        from kg_engine.rules.explain import parse_triple

        rng = random.Random(self.seed)
        kg = self.kg()
        try:
            kg.update(_ontology(rng))
            kg.reason("owl-rl")
            for i in range(4):  # live: the closure follows each write
                kg.update(_bnode_write(rng, i))
            asserted = self.dir / f"asserted-{self.seed}.nq"
            kg.export(str(asserted), "nq", include_inferred=False)
            live = store_quads(kg, include_inferred=True)
            fresh = self.kg()
            try:
                fresh.load(str(asserted))
                fresh.reason("owl-rl")
                again = store_quads(fresh, include_inferred=True)
            finally:
                fresh.close()
            self.case("rules", "OWL 2 RL kept live over blank-node writes = a fresh reason()",
                      same_dataset(_triples(live), _triples(again)),
                      f"live {len(_triples(live))} triples, fresh {len(_triples(again))}: "
                      f"{_show(_triples(live) ^ _triples(again))}")
            inferred = [q for q in live if str(q[3]).startswith("urn:kg-engine:inferred")
                        and isinstance(q[0], BNode)]
            for s, p, o, _ in sorted(inferred, key=repr)[:4]:
                text = f"{s.n3()} {p.n3()} {o.n3()}"
                try:
                    tree = kg.explain(parse_triple(text))
                    ok, detail = tree.kind in ("inferred", "asserted"), tree.kind
                except Exception as exc:  # noqa: BLE001 - a finding
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                self.case("rules", f"kg explain {text}", ok, detail)
        finally:
            kg.close()

    # -- analytics ------------------------------------------------------------------------------
    def area_analytics(self) -> None:
        import networkx as nx

        with self._reference_store() as kg:
            held = store_quads(kg)
            # the view's nodes: the ends of edges (statements with a literal object are none)
            nodes = {t for s, _, o, _ in held if not isinstance(o, Literal) for t in (s, o)}
            first = kg.to_networkx()
            second = kg.to_networkx()
            names = {n for n in first.nodes}
            blank = {n for n in names if str(n).startswith("_:") or isinstance(n, BNode)}
            want = {t for t in nodes if isinstance(t, BNode)}
            self.case("analytics", "to_networkx: one node per blank node",
                      len(blank) == len(want),
                      f"{len(blank)} blank-node nodes, the store has {len(want)}")
            self.case("analytics", "to_networkx: the same node names on a second call",
                      set(second.nodes) == names, "node names changed")
            out = self.dir / f"graph-{self.seed}.graphml"
            kg.export(str(out), "graphml")
            read = nx.read_graphml(out)
            self.case("analytics", "GraphML: as many nodes as to_networkx",
                      read.number_of_nodes() == first.number_of_nodes(),
                      f"{read.number_of_nodes()} nodes in GraphML, "
                      f"{first.number_of_nodes()} in to_networkx")
            kg.export(str(self.dir / f"view-{self.seed}.html"), "html")
            self.case("analytics", "HTML view written", True)


# -- helpers of the areas ------------------------------------------------------------------------
def _result_term(cell: Any) -> Any:
    """A cell of transportdiff's result readers as an rdflib term (None: unbound)."""
    if cell is None:
        return None
    kind = cell[0]
    if kind == "iri":
        return URIRef(cell[1])
    if kind == "bnode":
        return BNode(cell[1])
    if kind == "csv":  # CSV: no term kinds; the dataset's IRIs are http:, its blank nodes _:
        text = cell[1]
        if not text:
            return None  # an unbound cell (the dataset has no empty literal)
        if text.startswith("_:"):
            return BNode(text[2:])
        if text.startswith("http:"):
            return URIRef(text)
        return Literal(text)
    lex, dt, lang = cell[1], cell[2], cell[3]
    return _norm(Literal(lex, lang=lang, datatype=dt))


def _csv_form(t: Any) -> Any:
    """A literal as CSV keeps it: its lexical form only (SPARQL 1.1 CSV results §2)."""
    return Literal(str(t)) if isinstance(t, Literal) else t


def _cli_json_quads(url: str, text: str) -> set[tuple]:
    from typer.testing import CliRunner

    from kg_engine.cli.app import app
    from kg_engine.testing import transportdiff as td

    res = CliRunner().invoke(app, ["query", "--format", "json", "--db", url, text])
    if res.exit_code != 0:
        return set()
    rows = td.parse_select_json(res.stdout)[1]
    got = {tuple(_result_term(c) for c in r) for r in rows}
    return {(s, p, o, DEFAULT if g is None else g) for s, p, o, g in got}


def _no_blank_graph_names(trig: str) -> str:
    """The dataset with its blank-node graph name made an IRI (the update differential's state
    compares graph names as IRIs)."""
    return trig.replace("_:gb {", "ex:gb {")


def _answer(res: Any, norm: Callable[..., Any]) -> Any:
    if res.type == "ASK":
        return bool(res.askAnswer)
    if res.type in ("CONSTRUCT", "DESCRIBE"):
        return {(*(_norm(t) for t in tr), DEFAULT) for tr in res.graph}
    names = sorted(res.vars, key=str)  # by name: SELECT * orders them as each engine likes
    return Counter(tuple(norm(b.get(v)) for v in names) for b in res.bindings)


def _ox_answer(res: Any, norm: Callable[..., Any]) -> Any:
    if type(res).__name__ == "QueryBoolean":
        return bool(res)
    if type(res).__name__ == "QueryTriples":
        return {(*(_from_ox(x, "q") for x in (t.subject, t.predicate, t.object)), DEFAULT)
                for t in res}
    names = sorted(v.value for v in res.variables)
    return Counter(tuple(norm(s[v]) for v in names) for s in res)


def _brief(ans: Any) -> str:
    if isinstance(ans, (set, Counter)):
        return f"{sum(ans.values()) if isinstance(ans, Counter) else len(ans)} rows/triples"
    return repr(ans)


_P = [f"<{EX}p{i}>" for i in range(3)]

#: queries whose blank nodes the specification decides (§4.1.4, §16.2, §16.4)
FIXED_QUERIES = [
    f"SELECT ?o WHERE {{ _:b0 {_P[0]} ?o }}",  # a label is a variable, never the stored _:b0
    f"SELECT * WHERE {{ _:b0 {_P[0]} ?o . _:b0 {_P[1]} ?z }}",
    f"SELECT * WHERE {{ _:a {_P[0]} _:a }}",
    f"SELECT * WHERE {{ [] {_P[0]} ?o }}",
    f"SELECT * WHERE {{ ?s {_P[0]} [ {_P[1]} ?z ] }}",
    f"SELECT * WHERE {{ ?s {_P[1]} ( ?a ?b ) }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o . FILTER(isBlank(?o)) _:a {_P[1]} ?z }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o . BIND(1 AS ?k) _:a {_P[1]} ?z }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o . _:a {_P[0]}/{_P[1]} ?z }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o OPTIONAL {{ _:a {_P[1]} ?z }} }}",  # two BGPs: refused
    f"SELECT * WHERE {{ {{ _:a {_P[0]} ?o }} UNION {{ _:a {_P[1]} ?o }} }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o FILTER NOT EXISTS {{ _:a {_P[1]} ?z }} }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o {{ SELECT ?z {{ _:a {_P[1]} ?z }} }} }}",
    f"SELECT * WHERE {{ _:a {_P[0]} ?o . GRAPH ?g {{ _:a {_P[0]} ?z }} }}",
    f"SELECT * WHERE {{ GRAPH ?g {{ _:a {_P[0]} ?o . _:a {_P[1]} ?z }} }}",
    "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o FILTER(isBlank(?s)) }",
    f"ASK {{ _:a {_P[0]} _:a }}",
    f"CONSTRUCT {{ _:x {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o }}",
    f"CONSTRUCT {{ _:x {_P[2]} ?o }} WHERE {{ _:x {_P[0]} ?o }}",
    f"CONSTRUCT {{ ?s {_P[2]} [ {_P[0]} ?o ] . ?s {_P[1]} ( ?o ) }} WHERE {{ ?s {_P[0]} ?o }}",
    f"CONSTRUCT {{ ?s {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o FILTER(isBlank(?s)) }}",
    f"CONSTRUCT {{ ?b {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o BIND(BNODE() AS ?b) }}",
    f"CONSTRUCT WHERE {{ ?s {_P[1]} ?o }}",
    f"DESCRIBE ?s WHERE {{ ?s {_P[1]} ?o FILTER(isBlank(?s)) }}",
    "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isBlank(?s)) } GROUP BY ?s",
]


def _random_query(seed: int) -> str:
    """A query with blank node labels and ``[ ]`` spread over one or two graph patterns."""
    rng = random.Random(seed)
    labels = ["_:a", "_:b", "?x", "?y", "[]"]

    def triple() -> str:
        return f"{rng.choice(labels)} {rng.choice(_P)} {rng.choice(labels + ['?o'])}"

    def group(depth: int) -> str:
        parts = [triple() for _ in range(rng.randint(1, 2))]
        if depth < 1 and rng.random() < 0.6:
            kind = rng.choice(["OPTIONAL", "MINUS", "UNION", "GRAPH ?g", "FILTER EXISTS",
                               "FILTER(true)", "BIND"])
            if kind == "UNION":
                parts = [f"{{ {group(depth + 1)} }} UNION {{ {group(depth + 1)} }}"]
            elif kind == "FILTER(true)":
                parts.append("FILTER(true)")
            elif kind == "BIND":
                parts.append("BIND(1 AS ?k)")
            else:
                parts.append(f"{kind} {{ {group(depth + 1)} }}")
            # (not after FILTER EXISTS: the triples around a FILTER are one basic graph pattern,
            # W3C syn-11, but pyoxigraph 0.5 refuses a label on both sides of an EXISTS group)
            if rng.random() < 0.5 and kind != "FILTER EXISTS":
                parts.append(triple())
        return " . ".join(parts)

    form = rng.random()
    where = group(0)
    if form < 0.6:
        return f"SELECT * WHERE {{ {where} }}"
    if form < 0.8:
        return f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"
    return f"CONSTRUCT {{ _:t {_P[2]} ?o . ?o {_P[1]} _:a }} WHERE {{ {where} }}"


#: update requests whose blank nodes the specification decides (§3.1.1, §3.1.3, §19.6)
FIXED_UPDATES = [
    f"INSERT DATA {{ _:a {_P[0]} 1 }} ; INSERT DATA {{ _:c {_P[0]} 1 }}",
    f"INSERT DATA {{ _:a {_P[0]} 1 . GRAPH <{EX}g1> {{ _:a {_P[0]} 2 }} }}",
    f"INSERT DATA {{ _:a {_P[0]} 1 }} ; INSERT DATA {{ _:a {_P[0]} 2 }}",  # refused, §19.6
    f"INSERT DATA {{ [] {_P[0]} 1 }} ; INSERT DATA {{ [] {_P[0]} 1 }}",
    f"INSERT DATA {{ _:b0 {_P[0]} <{EX}n0> }}",  # a new node, not the stored _:b0
    f"INSERT {{ _:x {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o }}",
    f"INSERT {{ _:x {_P[2]} ?o }} WHERE {{ _:x {_P[0]} ?o }}",
    f"INSERT {{ ?s {_P[2]} [ {_P[1]} ?o ] }} WHERE {{ ?s {_P[0]} ?o }}",
    f"INSERT {{ ?s {_P[2]} ( ?o 1 ) }} WHERE {{ ?s {_P[0]} ?o }}",
    f"INSERT {{ GRAPH <{EX}g3> {{ _:x {_P[2]} ?o }} _:x {_P[1]} ?o }} WHERE {{ ?s {_P[0]} ?o }}",
    f"INSERT {{ ?s {_P[2]} 1 }} WHERE {{ _:b0 {_P[0]} ?s }}",
    f"INSERT {{ ?b {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o BIND(BNODE() AS ?b) }}",
    f"INSERT {{ ?b {_P[2]} ?o . ?b {_P[1]} ?s }} WHERE {{ ?s {_P[0]} ?o BIND(BNODE(STR(?o)) AS ?b) }}",
    f"DELETE WHERE {{ ?s {_P[0]} ?s }}",
    f"DELETE WHERE {{ ?s {_P[1]} ?o . ?o {_P[1]} ?s }}",
    "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isBlank(?s)) }",
    f"DELETE {{ ?s ?p ?o }} INSERT {{ ?s {_P[2]} ?o }} WHERE {{ ?s ?p ?o FILTER(isBlank(?o)) }}",
    f"DELETE WHERE {{ _:x {_P[0]} ?o }}",  # refused (§19.8 note 8)
    f"DELETE {{ ?s {_P[0]} ?o }} WHERE {{ ?s {_P[0]} ?o . _:x {_P[1]} ?s }}",
    f"WITH <{EX}g1> DELETE {{ ?s ?p ?o }} INSERT {{ _:n ?p ?o }} WHERE {{ ?s ?p ?o }}",
    f"ADD <{EX}g1> TO <{EX}g2>",
    f"COPY DEFAULT TO <{EX}g1>",
    f"MOVE <{EX}g1> TO DEFAULT",
    f"ADD DEFAULT TO <{EX}g2> ; DELETE WHERE {{ GRAPH <{EX}g2> {{ ?s {_P[0]} ?o }} }}",
    (f"INSERT {{ _:a {_P[2]} ?o }} WHERE {{ ?s {_P[0]} ?o }} ; "
    f"INSERT {{ _:a {_P[1]} ?o }} WHERE {{ ?s {_P[1]} ?o }}"),
    f"INSERT {{ ?o {_P[2]} 1 }} WHERE {{ _:a {_P[0]} ?o OPTIONAL {{ _:a {_P[1]} ?z }} }}",
]


def _random_update(seed: int) -> str:
    rng = random.Random(seed)
    tpl = [f"{rng.choice(['_:t', '?s', '[]', '_:u'])} {rng.choice(_P)} "
           f"{rng.choice(['?o', '_:t', '?s', '( ?o )', '[ ' + _P[0] + ' ?o ]'])}"
           for _ in range(rng.randint(1, 3))]
    where = f"?s {rng.choice(_P)} ?o" + rng.choice(
        ["", " FILTER(isBlank(?s))", " FILTER(isBlank(?o))", f" . ?o {_P[0]} ?z",
         f" . _:w {_P[1]} ?s", f" OPTIONAL {{ ?o {_P[1]} ?z }}"])
    if rng.random() < 0.3:
        return f"DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o . {where.replace('?o', '?q')} }}"
    graph = rng.random() < 0.3
    body = " . ".join(tpl)
    if graph:
        body = f"GRAPH <{EX}g{rng.randint(1, 3)}> {{ {body} }}"
    return f"INSERT {{ {body} }} WHERE {{ {where} }}"


_BNODE_OF_STR = next(u for u in FIXED_UPDATES if "BNODE(STR(" in u)
#: requests pyoxigraph runs in an equivalent form: pyoxigraph 0.5 makes ``BNODE("s")`` the
#: blank node labelled ``s`` (unbound when ``s`` is no label), SPARQL 1.1 §17.4.2.9 a new node
#: per distinct string in each solution, which a template blank node is; rdflib's ``BNODE("s")``
#: is one node for all solutions (W3C bnode01)
OX_EQUIVALENT = {_BNODE_OF_STR: f"INSERT {{ _:b {_P[2]} ?o . _:b {_P[1]} ?s }} "
                                f"WHERE {{ ?s {_P[0]} ?o FILTER(!isBlank(?o)) }}"}


def _ontology(rng: random.Random) -> str:
    """INSERT DATA of an OWL 2 RL ontology whose class expressions are blank nodes: union and
    intersection lists, someValuesFrom / allValuesFrom / hasValue restrictions."""
    c = [f"<{EX}C{i}>" for i in range(4)]
    p = f"<{EX}r>"
    lines = [
        f"{c[3]} <{_OWL}unionOf> ( {c[0]} [ <{_OWL}intersectionOf> ( {c[1]} {c[2]} ) ] ) .",
        (f"[ a <{_OWL}Restriction> ; <{_OWL}onProperty> {p} ; <{_OWL}someValuesFrom> {c[0]} ] "
        f"<{_RDFS}subClassOf> {c[2]} ."),
        (f"{c[1]} <{_RDFS}subClassOf> [ a <{_OWL}Restriction> ; <{_OWL}onProperty> {p} ; "
        f"<{_OWL}allValuesFrom> {c[0]} ] ."),
        (f"[ <{_OWL}intersectionOf> ( {c[rng.randint(0, 2)]} {c[3]} ) ] "
        f"<{_OWL}equivalentClass> <{EX}D> ."),
    ]
    for i in range(rng.randint(2, 4)):
        lines.append(f"_:i{i} a {rng.choice(c)} ; {p} _:i{(i + 1) % 3} .")
    return "INSERT DATA { " + " ".join(lines) + " }"


def _bnode_write(rng: random.Random, i: int) -> str:
    c = [f"<{EX}C{j}>" for j in range(4)]
    p = f"<{EX}r>"
    return rng.choice([
        f"INSERT DATA {{ [ a {rng.choice(c)} ; {p} [ a {rng.choice(c)} ] ] }}",
        f"DELETE {{ ?s a ?c }} WHERE {{ ?s a ?c FILTER(isBlank(?s)) FILTER(?c = {rng.choice(c)}) }}",
        f"INSERT {{ ?s {p} [ a {rng.choice(c)} ] }} WHERE {{ ?s a {rng.choice(c)} }}",
        f"DELETE WHERE {{ ?s {p} ?o . ?o a {rng.choice(c)} }}",
        f"INSERT DATA {{ _:n{i} a {c[1]} ; {p} _:m{i} . _:m{i} a {c[0]} }}",
    ])


# -- driver ----------------------------------------------------------------------------------------
AREAS = ("load", "export", "results", "sparql", "update", "rules", "analytics")


def run(seed: int, seeds: int = 1, *, url: str | Callable[[], str] = "sqlite://",
        areas: Iterable[str] = AREAS, queries: int = 10, requests: int = 10,
        log: Callable[[str], None] | None = None) -> BnodeReport:
    """Run the areas on ``seeds`` seeds from ``seed``.

    Args:
        seed: the first seed.
        seeds: how many seeds.
        url: a store URL, or a factory giving a fresh one per store (PostgreSQL schemas).
        areas: the areas to run (see the module docstring).
        queries: generated queries per seed (beside :data:`FIXED_QUERIES`).
        requests: generated update requests per seed (beside :data:`FIXED_UPDATES`).
        log: called with a line per finding as it is found.

    Returns:
        A :class:`BnodeReport`.
    """
    factory = url if callable(url) else (lambda: url)
    report = BnodeReport()
    chosen = list(areas)
    for s in range(seed, seed + seeds):
        with tempfile.TemporaryDirectory(prefix="kg-bnodediff-") as workdir:
            checker = _Checker(s, factory, report, workdir)
            seen = len(report.findings)
            for area in chosen:
                method = getattr(checker, f"area_{area}")
                if area == "sparql":
                    method(queries)
                elif area == "update":
                    method(requests)
                else:
                    method()
            if log is not None:
                for f in report.findings[seen:]:
                    log(str(f))
    return report

