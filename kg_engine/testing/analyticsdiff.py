"""Analytics and network exports against networkx run directly on the same statements.

A seeded generator writes a small N-Quads dataset full of awkward terms (blank nodes, literals
with language tags in either case, quotes, ``<&>``, control characters and line breaks, IRIs
with percent-escapes, ``\\u`` escapes, non-BMP characters, quotes and ampersands), named
graphs, self-loops, parallel edges, statements in several graphs, several ``rdf:type`` each,
extracted statements with a confidence, RDFS vocabulary for :meth:`KnowledgeGraph.reason`.
kg-engine loads the file; an independent reference parses the same file with rdflib and
builds the networkx graph of the documented mapping (:mod:`kg_engine.analytics.view`) by
hand, then runs networkx on it. Every answer is compared:

* ``to_networkx`` (``MultiDiGraph`` and ``DiGraph``, with and without literals, type edges
  and inferred statements): nodes, edges, ``label``, ``types``, ``predicate(s)``, ``weight``,
  ``origin``, ``confidence``;
* ``analyze``: PageRank, degree, betweenness, weak / strong components and Louvain
  communities, on the networkx and the rustworkx backend;
* ``shortest_path`` (directed and not) and ``neighbourhood`` (k = 0…3) between many pairs;
* ``kg export`` GraphML, GEXF and Neo4j CSV, read back with networkx's readers / ``csv``.

Blank nodes are relabelled by both sides on parsing, so each one carries a tag statement
``_:b <urn:ad:tag> "b"`` in the default graph and is compared by its tag.

``run_seed(seed)`` returns the mismatches of one seed (``[]`` when all agree);
``tests/testing/test_analyticsdiff.py`` runs a few seeds, ``benchmarks/analytics_differential.py``
many.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, BNode, Dataset, Literal, URIRef
from rdflib.term import Node

__all__ = ["TAG", "Reference", "generate", "run_seed"]

TAG = URIRef("urn:ad:tag")
_EXT_GRAPH = URIRef("urn:ad:extracted")
_INFERRED = URIRef("urn:kg-engine:inferred:rdfs")
_LABEL_PREDICATES = [
    RDFS.label, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
    URIRef("http://schema.org/name"), URIRef("http://xmlns.com/foaf/0.1/name"),
]
#: predicates whose local name makes them label predicates (after the four above)
_LOCAL_LABELS = [URIRef("http://shop.example/vocab#name"), URIRef("urn:ad:title")]
_EDGE_PREDICATES = [URIRef("urn:ad:p"), URIRef("urn:ad:q"), URIRef("http://ex.org/vocab#rel"),
                    URIRef("http://ex.org/vocab/a%20b")]
#: N-Quads spellings of IRIs (``{i}`` numbers them)
_IRI_FORMS = [
    "urn:ad:n{i}", "http://ex.org/a%20b/{i}", "http://ex.org/\\u00e9t\\u00e9/{i}",
    "http://ex.org/ünï/{i}", "http://ex.org/it's/{i}", "http://ex.org/a&b/{i}?x=1&y=2#frag",
    "http://ex.org/x/{i}/", "urn:ad:\\U0001D518{i}", "http://ex.org/dir{i}#",
    "http://ex.org/m;v={i}",
]
#: N-Quads spellings of literals
_LITERALS = [
    '"plain"', '"x"@en', '"x"@EN-GB', '"Zed"@de', '"01"^^<http://www.w3.org/2001/XMLSchema#integer>',
    '"a <b> & \\"c\\" \'d\'"', '"line\\nbreak\\ttab"', '"\\u00e9t\\u00e9"', '""', '"ctl\\u0001x"',
    '"1.5E0"^^<http://www.w3.org/2001/XMLSchema#double>', '"astral \\U0001F600"@en-us',
    '"cr\\r\\nlf\\r"', '"not xml \\uFFFE \\u001F"',
]
#: literals for rdf:type only: what splits a list (space, ';', '|', U+001F) inside one item
_LIST_LITERALS = ['"two words; a|b"@EN-GB', '"x;y"', '"tab\\tsep\\u001F|;"']


def _nt(term: Node) -> str:
    return term.n3()


def generate(seed: int, nodes: int = 9, statements: int = 28) -> tuple[str, list[tuple]]:
    """A seeded dataset: N-Quads text for :meth:`KnowledgeGraph.load` and extracted quads
    ``(s, p, o, graph, confidence)`` for :meth:`KnowledgeGraph.add_batch`.

    Example:
        >>> text, extracted = generate(1)
        >>> len(text.splitlines()) > 20 and all(len(q) == 4 for q in extracted)
        True
    """
    rng = random.Random(seed)
    ents: list[str] = []
    for i in range(nodes):
        if rng.random() < 0.25:
            ents.append(f"_:b{i}")
        else:
            ents.append("<" + rng.choice(_IRI_FORMS).format(i=i) + ">")
    classes = [f"<urn:ad:C{i}>" for i in range(3)] + ["_:cls", "<http://ex.org/k;v=C>"]
    graphs = ["", " <urn:ad:g1>", " <urn:ad:g2>", " _:gb"]
    preds = [f"<{p}>" for p in _EDGE_PREDICATES]
    lines: list[str] = []

    def emit(s: str, p: str, o: str, g: str | None = None) -> None:
        lines.append(f"{s} {p} {o}{rng.choice(graphs) if g is None else g} .")

    edges: list[tuple[str, str, str]] = []
    for _ in range(statements):
        s, o = rng.choice(ents), rng.choice(ents)
        r = rng.random()
        if r < 0.1:
            o = s  # self-loop
        edges.append((s, rng.choice(preds), o))
        emit(*edges[-1])
        if r > 0.8:  # a parallel edge, or the same statement in another graph
            emit(s, rng.choice(preds), o)
    for s in rng.sample(ents, k=max(1, nodes // 2)):
        for c in rng.sample(classes, k=rng.randint(1, 3)):
            emit(s, f"<{RDF.type}>", c)
    if rng.random() < 0.5:  # a literal type: the list formats must keep it one item
        emit(rng.choice(ents), f"<{RDF.type}>", rng.choice(_LITERALS + _LIST_LITERALS))
    for s in rng.sample(ents, k=max(1, nodes // 2)):
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(_LABEL_PREDICATES + _LOCAL_LABELS + _EDGE_PREDICATES[:1])
            emit(s, f"<{p}>", rng.choice(_LITERALS))
    # RDFS vocabulary: reason("rdfs") then adds typed nodes and edges
    emit(classes[0], f"<{RDFS.subClassOf}>", classes[1], "")
    emit(preds[0], f"<{RDFS.subPropertyOf}>", preds[1], "")
    emit(preds[2], f"<{RDFS.domain}>", classes[2], "")
    emit(preds[3], f"<{RDFS.range}>", classes[0], "")
    for e in {*ents, "_:cls"}:
        if e.startswith("_:"):
            emit(e, f"<{TAG}>", f'"{e[2:]}"', "")
    extracted = []
    for _ in range(rng.randint(0, 4)):
        # half of them also asserted in the file
        s, p, o = rng.choice(edges) if rng.random() < 0.5 else \
            (rng.choice(ents), rng.choice(preds), rng.choice(ents))
        if s.startswith("_:") or o.startswith("_:"):
            continue  # add_batch takes terms: blank nodes would not be the file's
        extracted.append((s, p, o, round(rng.random(), 3)))
    rng.shuffle(lines)
    return "\n".join(lines) + "\n", extracted


@dataclass
class Reference:
    """The documented graph view, built from an rdflib ``Dataset`` without kg-engine."""

    asserted: set[tuple[Node, Node, Node]]
    #: statements with an extraction record -> best confidence
    extracted: dict[tuple[Node, Node, Node], float]
    inferred: set[tuple[Node, Node, Node]]
    labels_in_store: list[URIRef]

    def edges(self, *, inferred: bool, literals: bool = False, type_edges: bool = False
              ) -> dict[tuple[Node, Node, Node], tuple[str, float | None]]:
        """``(s, p, o) -> (origin, confidence)`` of the edges of the view."""
        out: dict[tuple[Node, Node, Node], tuple[str, float | None]] = {}
        pool = [(t, "asserted") for t in self.asserted]
        pool += [(t, "extracted") for t in self.extracted]
        if inferred:
            pool += [(t, "inferred") for t in self.inferred]
        rank = {"asserted": 0, "extracted": 1, "inferred": 2}
        for (s, p, o), origin in pool:
            if isinstance(s, Literal) or (isinstance(o, Literal) and not literals):
                continue
            if p == RDF.type and not type_edges:
                continue
            old = out.get((s, p, o))
            if old is None or rank[origin] < rank[old[0]]:
                out[(s, p, o)] = (origin, self.extracted.get((s, p, o)))
        return out

    def statements(self, inferred: bool) -> set[tuple[Node, Node, Node]]:
        return self.asserted | set(self.extracted) | (self.inferred if inferred else set())

    def types(self, inferred: bool) -> dict[Node, list[Node]]:
        out: dict[Node, set[Node]] = {}
        for s, p, o in self.statements(inferred):
            if p == RDF.type:
                out.setdefault(s, set()).add(o)
        return {s: sorted(ts, key=_sort_key) for s, ts in out.items()}

    def labels(self, inferred: bool) -> dict[Node, str]:
        """The documented label choice: label predicates in order, English or untagged
        first (language tags compared without case), then the smallest text."""
        rank = {p: i for i, p in enumerate(self.labels_in_store)}
        best: dict[Node, tuple[int, int, str]] = {}
        for s, p, o in self.statements(inferred):
            if p in rank and isinstance(o, Literal):
                lang = (o.language or "").lower()
                english = 0 if lang in ("", "en") or lang.startswith("en-") else 1
                key = (rank[p], english, str(o))
                if s not in best or key < best[s]:
                    best[s] = key
        return {s: k[2] for s, k in best.items()}

    def multidigraph(self, *, inferred: bool, literals: bool = False, type_edges: bool = False,
                     order: Iterable[Node] = ()) -> Any:
        """The ``MultiDiGraph`` of the view (nodes first in ``order`` where given)."""
        import networkx as nx

        edges = self.edges(inferred=inferred, literals=literals, type_edges=type_edges)
        types, labels = self.types(inferred), self.labels(inferred)
        nodes = {n: None for n in order}
        for s, _, o in edges:
            nodes[s] = nodes[o] = None
        for s in types:
            nodes[s] = None
        g = nx.MultiDiGraph()
        for n in nodes:
            g.add_node(n, label=labels.get(n), types=types.get(n, []))
        for (s, p, o), (origin, conf) in edges.items():
            attrs: dict[str, Any] = {"predicate": p, "origin": origin}
            if conf is not None:
                attrs["confidence"] = conf
            g.add_edge(s, o, key=p, **attrs)
        return g


def _sort_key(t: Node) -> tuple[str, str]:
    return (type(t).__name__, t.n3())


def _tags(statements: Iterable[tuple]) -> dict[BNode, BNode]:
    return {s: BNode(str(o)) for s, p, o in statements if p == TAG and isinstance(s, BNode)}


def _renamer(tags: dict[BNode, BNode]) -> Callable[[Any], Any]:
    """Blank nodes to their tags; language tags in lower case, as kg-engine's rdflib terms
    give them (BCP 47 tags are case-insensitive; the store keeps the case as written)."""
    def rename(t: Any) -> Any:
        if isinstance(t, BNode):
            return tags.get(t, t)
        if isinstance(t, Literal) and t.language and t.language != t.language.lower():
            return Literal(str(t), lang=t.language.lower())
        return t
    return rename


def reference(text: str, extracted: list[tuple], inferred: Iterable[tuple] = ()) -> Reference:
    """The reference view of the N-Quads ``text`` plus ``extracted`` and ``inferred``
    statements (rdflib terms, blank nodes already renamed to their tags)."""
    quads = list(_parse(text, "nquads").quads((None, None, None, None)))
    rename = _renamer(_tags((s, p, o) for s, p, o, _ in quads))
    asserted = {(rename(s), rename(p), rename(o)) for s, p, o, _ in quads}
    ext: dict[tuple[Node, Node, Node], float] = {}
    for s, p, o, conf in _parse_extracted(extracted):
        ext[(s, p, o)] = max(conf, ext.get((s, p, o), 0.0))
    preds = {p for _, p, _ in asserted} | {p for _, p, _ in ext}
    labels = [p for p in _LABEL_PREDICATES if p in preds]
    labels += sorted((p for p in _LOCAL_LABELS if p in preds), key=str)
    return Reference(asserted=asserted, extracted=ext,
                     inferred=set(inferred) - asserted - set(ext), labels_in_store=labels)


def _parse_extracted(extracted: list[tuple]) -> list[tuple]:
    out = []
    for s, p, o, conf in extracted:
        (triple,) = list(_parse(f"{s} {p} {o} .\n", "nt").triples((None, None, None)))
        out.append((*triple, conf))
    return out


def _parse(text: str, format: str) -> Dataset:
    """rdflib's parse, lexical forms kept as written (as the store keeps them: rdflib would
    turn ``"1.5E0"^^xsd:double`` into ``"1.5"``)."""
    from kg_engine.core.terms import exact_literals

    ds = Dataset()
    with exact_literals():
        ds.parse(data=text, format=format)
    return ds


# -- the comparison ---------------------------------------------------------------------------

def run_seed(seed: int, url: str = "sqlite://", *, reason: bool = True,
             backends: tuple[str, ...] = ("networkx", "rustworkx")) -> list[str]:
    """Compare every answer of kg-engine on the dataset of ``seed`` with the reference;
    returns the mismatches (empty when all agree)."""
    from kg_engine import KnowledgeGraph

    text, extracted = generate(seed)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kg-analyticsdiff-") as tmp, \
            KnowledgeGraph(url) as kg:
        path = Path(tmp) / "data.nq"
        path.write_text(text, encoding="utf-8")
        kg.load(path)
        _add_extracted(kg, extracted)
        check = _Checker(kg, problems, seed)
        ref = reference(text, extracted)
        check.everything(ref, inferred=False, backends=backends, tmp=Path(tmp) / "a")
        if reason:
            kg.reason("rdfs")
            inferred = [(s, p, o) for s, p, o in kg.query(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH <{_INFERRED}> {{ ?s ?p ?o }} }}")]
            ref = reference(text, extracted, [tuple(map(check.rename, t)) for t in inferred])
            check.everything(ref, inferred=True, backends=backends, tmp=Path(tmp) / "b")
    return problems


def _add_extracted(kg: Any, extracted: list[tuple]) -> None:
    from kg_engine.core.batch import TripleBatch
    from kg_engine.core.provenance import Provenance

    rows = _parse_extracted(extracted)
    if rows:
        kg.add_batch(TripleBatch(
            graph=_EXT_GRAPH, quads=[(s, p, o, _EXT_GRAPH) for s, p, o, _ in rows],
            provenance=[Provenance(kind="extracted", source="doc", confidence=c)
                        for *_, c in rows]))


class _Checker:
    def __init__(self, kg: Any, problems: list[str], seed: int) -> None:
        self.kg, self.problems, self.seed = kg, problems, seed
        tags = {s: BNode(str(o)) for s, o in kg.query(f"SELECT ?s ?o WHERE {{ ?s <{TAG}> ?o }}")}
        self.rename = _renamer(tags)
        self.unname = {v: k for k, v in tags.items()}
        self.labels = {str(k): str(v) for k, v in tags.items()}

    def untag(self, text: Any) -> Any:
        """``text`` with kg-engine's blank node labels replaced by their tags."""
        if isinstance(text, str):
            for label, tag in self.labels.items():
                text = text.replace(label, tag)
        return text

    def fail(self, what: str) -> None:
        self.problems.append(f"seed {self.seed}: {what}")

    def everything(self, ref: Reference, *, inferred: bool, backends: tuple[str, ...],
                   tmp: Path) -> None:
        for literals in (False, True):
            for type_edges in (False, True):
                self.view(ref, inferred=inferred, literals=literals, type_edges=type_edges)
        self.digraph(ref, inferred=inferred)
        for backend in backends:
            self.algorithms(ref, inferred=inferred, backend=backend)
            self.paths(ref, inferred=inferred, backend=backend)
        self.neighbourhoods(ref, inferred=inferred)
        tmp.mkdir()
        self.exports(ref, inferred=inferred, tmp=tmp)

    # networkx views --------------------------------------------------------------------
    def _kg_graph(self, **kw: Any) -> Any:
        import networkx as nx

        g = self.kg.to_networkx(**kw)
        out = nx.MultiDiGraph() if g.is_multigraph() else nx.DiGraph()
        r = self.rename
        for n, d in g.nodes(data=True):
            out.add_node(r(n), **{**d, "types": sorted(map(r, d["types"]), key=_sort_key)})
        if g.is_multigraph():
            for u, v, k, d in g.edges(keys=True, data=True):
                out.add_edge(r(u), r(v), key=r(k), **d)
        else:
            for u, v, d in g.edges(data=True):
                out.add_edge(r(u), r(v), **d)
        return out

    def view(self, ref: Reference, *, inferred: bool, literals: bool, type_edges: bool) -> None:
        where = f"to_networkx(inferred={inferred}, literals={literals}, type_edges={type_edges})"
        got = self._kg_graph(include_inferred=inferred, literals=literals, type_edges=type_edges)
        want = ref.multidigraph(inferred=inferred, literals=literals, type_edges=type_edges)
        self._same_nodes(where, got, want)
        ge = {(u, v, k): d for u, v, k, d in got.edges(keys=True, data=True)}
        we = {(u, v, k): d for u, v, k, d in want.edges(keys=True, data=True)}
        for e in sorted(set(ge) | set(we), key=lambda e: tuple(map(_sort_key, e))):
            if ge.get(e) != we.get(e):
                self.fail(f"{where}: edge {_show(e)}: kg {ge.get(e)} != reference {we.get(e)}")

    def _same_nodes(self, where: str, got: Any, want: Any) -> None:
        for n in set(got) ^ set(want):
            self.fail(f"{where}: node {n.n3()} only in {'kg' if n in got else 'the reference'}")
        for n in set(got) & set(want):
            if got.nodes[n] != want.nodes[n]:
                self.fail(f"{where}: node {n.n3()}: kg {got.nodes[n]} != reference "
                          f"{want.nodes[n]}")

    def digraph(self, ref: Reference, *, inferred: bool) -> None:
        where = f"to_networkx(inferred={inferred}, directed_multi=False)"
        got = self._kg_graph(include_inferred=inferred, directed_multi=False)
        want = ref.multidigraph(inferred=inferred)
        self._same_nodes(where, got, want)
        for u, v in set(got.edges()) | set(want.edges()):
            d = got.get_edge_data(u, v)
            parallel = want.get_edge_data(u, v) or {}
            if d is None or not parallel:
                self.fail(f"{where}: edge {_show((u, v))} only in "
                          f"{'kg' if d is not None else 'the reference'}")
                continue
            preds = sorted(parallel, key=_sort_key)
            origin = min((a["origin"] for a in parallel.values()), key=_ORIGIN_RANK.get)
            confs = [a["confidence"] for a in parallel.values() if "confidence" in a]
            expect = {"predicates": preds, "weight": len(preds), "origin": origin}
            if confs:
                expect["confidence"] = max(confs)
            seen = {k: (sorted(map(self.rename, d[k]), key=_sort_key) if k == "predicates"
                        else d.get(k)) for k in expect}
            if seen != expect or d.get("confidence") != expect.get("confidence") or \
                    self.rename(d["predicate"]) not in preds:
                self.fail(f"{where}: edge {_show((u, v))}: kg {d} != reference {expect}")

    # algorithms ------------------------------------------------------------------------
    def algorithms(self, ref: Reference, *, inferred: bool, backend: str) -> None:
        import networkx as nx

        from kg_engine.errors import UnsupportedOperationError

        want = ref.multidigraph(inferred=inferred)
        nodes = list(want)
        checks: dict[str, Any] = {
            "pagerank": nx.pagerank(want) if nodes else {},
            "degree": nx.degree_centrality(want),
            "betweenness": nx.betweenness_centrality(nx.DiGraph(want)),
            "components": _partition(nx.weakly_connected_components(want)),
            "strong": _partition(nx.strongly_connected_components(want)),
            "communities": None,
        }
        for algorithm, expect in checks.items():
            where = f"analyze({algorithm!r}, backend={backend!r}, inferred={inferred})"
            try:
                res = self.kg.analyze(algorithm, backend=backend, write=False,
                                      include_inferred=inferred)
            except UnsupportedOperationError:
                if backend == "rustworkx" and algorithm == "communities":
                    continue
                raise
            values = {self.rename(t): v for t, v in res.as_terms().items()}
            if set(values) != set(nodes):
                self.fail(f"{where}: nodes {sorted(map(_n3, set(values) ^ set(nodes)))} in "
                          "one answer only")
                continue
            if algorithm in ("components", "strong"):
                if _partition_of(values) != expect:
                    self.fail(f"{where}: kg {_show_partition(_partition_of(values))} != "
                              f"reference {_show_partition(expect)}")
                self._numbering(where, values)
            elif algorithm == "communities":
                self._communities(where, res, values, ref, inferred)
            else:
                tol = 1e-5 if algorithm == "pagerank" else 1e-9
                bad = [n for n in nodes if not math.isclose(values[n], expect[n], abs_tol=tol)]
                for n in bad[:3]:
                    self.fail(f"{where}: {n.n3()}: kg {values[n]!r} != reference {expect[n]!r}")

    def _numbering(self, where: str, values: dict[Node, int]) -> None:
        sizes: dict[int, int] = {}
        for v in values.values():
            sizes[v] = sizes.get(v, 0) + 1
        numbers = sorted(sizes)
        if numbers != list(range(len(numbers))) or \
                any(sizes[a] < sizes[a + 1] for a in numbers[:-1]):
            self.fail(f"{where}: groups are not numbered 0… by size: {sizes}")

    def _communities(self, where: str, res: Any, values: dict[Node, int], ref: Reference,
                     inferred: bool) -> None:
        """Louvain run directly (the documented weighting: undirected, one per statement in
        either direction, no self-loops) on the reference graph laid out in kg's node and
        edge order, so the same seed must give the same partition."""
        import networkx as nx

        view = res._view
        terms = view.decode(self.kg.store)
        order = [self.rename(terms[n]) for n in view.nodes]
        want = ref.multidigraph(inferred=inferred, order=order)
        kg_edges = [(self.rename(terms[s]), self.rename(terms[o]), self.rename(terms[p]))
                    for s, p, o, _, _ in view.edges]
        ref_edges = {(u, v, k) for u, v, k in want.edges(keys=True)}
        if set(kg_edges) != ref_edges:
            self.fail(f"{where}: the view's edges differ from the reference's")
            return
        laid_out = nx.MultiDiGraph()  # the reference's edges in kg's order
        laid_out.add_nodes_from(order)
        laid_out.add_edges_from(sorted(ref_edges, key=kg_edges.index))
        und = nx.Graph()
        und.add_nodes_from(order)
        for u, v in laid_out.edges():
            if u != v:
                w = und.get_edge_data(u, v, {"weight": 0})["weight"]
                und.add_edge(u, v, weight=w + 1)
        expect = _partition(nx.community.louvain_communities(und, weight="weight", seed=0))
        if _partition_of(values) != expect:
            self.fail(f"{where}: kg {_show_partition(_partition_of(values))} != reference "
                      f"{_show_partition(expect)}")
        self._numbering(where, values)

    # paths -----------------------------------------------------------------------------
    def paths(self, ref: Reference, *, inferred: bool, backend: str) -> None:
        import networkx as nx

        want = ref.multidigraph(inferred=inferred)
        statements = ref.edges(inferred=inferred)
        nodes = sorted(want, key=_sort_key)
        rng = random.Random(self.seed)
        pairs = [(a, b) for a in nodes for b in nodes]
        for a, b in rng.sample(pairs, k=min(12, len(pairs))):
            for directed in (False, True):
                where = (f"shortest_path({a.n3()}, {b.n3()}, directed={directed}, "
                         f"backend={backend!r}, inferred={inferred})")
                g = nx.DiGraph(want) if directed else nx.Graph(want.to_undirected())
                try:
                    length = nx.shortest_path_length(g, a, b)
                except nx.NetworkXNoPath:
                    length = None
                got = self.kg.shortest_path(self.unname.get(a, a), self.unname.get(b, b),
                                            directed=directed, backend=backend,
                                            include_inferred=inferred)
                triples = [tuple(map(self.rename, t)) for t in got.triples]
                path = [self.rename(n) for n in got.nodes]
                if length is None:
                    if triples or path:
                        self.fail(f"{where}: kg found {_show(path)}, the reference no path")
                    continue
                if len(triples) != length or not path or path[0] != a or path[-1] != b:
                    self.fail(f"{where}: kg {_show(path)} ({len(triples)} statements), "
                              f"reference length {length}")
                    continue
                for (u, v), t in zip(itertools.pairwise(path), triples):
                    ok = t in statements and ((t[0], t[2]) == (u, v) or
                                              (not directed and (t[0], t[2]) == (v, u)))
                    if not ok:
                        self.fail(f"{where}: step {_show((u, v))} by {_show(t)}, not a "
                                  "statement of the view linking them")

    def neighbourhoods(self, ref: Reference, *, inferred: bool) -> None:
        import networkx as nx

        want = ref.multidigraph(inferred=inferred)
        und = nx.Graph(want.to_undirected())
        statements = ref.edges(inferred=inferred)
        rng = random.Random(self.seed + 1)
        for centre in rng.sample(sorted(want, key=_sort_key), k=min(4, len(want))):
            for k in range(4):
                where = f"neighbourhood({centre.n3()}, {k}, inferred={inferred})"
                got = self.kg.neighbourhood(self.unname.get(centre, centre), k,
                                            include_inferred=inferred)
                nodes = set(nx.ego_graph(und, centre, radius=k))
                triples = {t for t in statements if t[0] in nodes and t[2] in nodes}
                got_nodes = {self.rename(n) for n in got.nodes}
                got_triples = {tuple(map(self.rename, t)) for t in got.triples}
                if got_nodes != nodes or got_triples != triples or \
                        len(got.triples) != len(got_triples):
                    self.fail(f"{where}: kg nodes {sorted(map(_n3, got_nodes))} "
                              f"{len(got.triples)} statements != reference "
                              f"{sorted(map(_n3, nodes))} {len(triples)}")

    # exports ---------------------------------------------------------------------------
    def exports(self, ref: Reference, *, inferred: bool, tmp: Path) -> None:
        import networkx as nx

        from kg_engine.export.networks import local_name

        want = ref.multidigraph(inferred=inferred)
        expect_nodes = {}
        for n, d in want.nodes(data=True):
            expect_nodes[n] = {"label": d["label"] or local_name(str(n)), "iri": _id(n),
                               "types": Counter(d["types"])}
        expect_edges = sorted(
            (_n3(u), _n3(v), str(d["predicate"]), local_name(str(d["predicate"])), d["origin"],
             d.get("confidence")) for u, v, d in want.edges(data=True))
        xml_nodes = {n: {"label": _xml(d["label"]), "iri": _xml(d["iri"]),
                         "types": d["types"]}
                     for n, d in expect_nodes.items()}
        for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
            where = f"export {fmt} (inferred={inferred})"
            out = tmp / f"kg.{fmt}"
            self.kg.export(out, include_inferred=inferred)
            try:
                g = reader(out)
            except Exception as exc:  # noqa: BLE001 - any failure to read back is the finding
                self.fail(f"{where}: networkx cannot read it back: {type(exc).__name__}: {exc}")
                continue
            by_id = {}
            for n, d in g.nodes(data=True):
                term = self._node_of(n)
                by_id[term] = {k: self.untag(d.get(k, "")) for k in ("label", "iri", "types")}
                # documented: items separated by single spaces, none containing white space
                items = by_id[term]["types"].split(" ") if by_id[term]["types"] else []
                by_id[term]["types"] = Counter(map(self._item_term, items))
            for n in set(by_id) ^ set(xml_nodes):
                self.fail(f"{where}: node {_n3(n)} only in "
                          f"{'the file' if n in by_id else 'the reference'}")
            for n in set(by_id) & set(xml_nodes):
                if by_id[n] != xml_nodes[n]:
                    self.fail(f"{where}: node {_n3(n)}: file {by_id[n]} != reference "
                              f"{xml_nodes[n]}")
            got_edges = sorted(
                (_n3(self._node_of(u)), _n3(self._node_of(v)), d.get("predicate"),
                 d.get("label"), d.get("origin"), d.get("confidence"))
                for u, v, d in g.edges(data=True))
            if got_edges != expect_edges:
                self.fail(f"{where}: edges differ: file-only "
                          f"{sorted(set(got_edges) - set(expect_edges))[:3]}, reference-only "
                          f"{sorted(set(expect_edges) - set(got_edges))[:3]}")
        self._csv(want, expect_nodes, tmp / "neo4j", inferred)

    def _node_of(self, node_id: str) -> Node:
        """The term of a GraphML/GEXF node id (N-Triples form), blank nodes renamed."""
        if node_id.startswith("_:"):
            return self.rename(BNode(node_id[2:]))
        if node_id.startswith('"'):
            text = f"<urn:x> <urn:x> {node_id} .\n"
        else:
            text = f"{node_id} <urn:x> <urn:x> .\n"
        (s, _, o), = _parse(text, "nt").triples((None, None, None))
        return o if node_id.startswith('"') else s

    def _item_term(self, item: str) -> Node:
        """The term of a ``types`` list item (an IRI as itself, anything else N-Triples)."""
        if not item.startswith(("_:", '"')):
            return URIRef(item)
        try:
            return self._node_of(item)
        except Exception:  # noqa: BLE001 - an item that is no term is the finding
            self.fail(f"types item {item!r} is not an IRI nor an N-Triples term")
            return Literal(item)

    def _csv(self, want: Any, expect_nodes: dict, folder: Path, inferred: bool) -> None:
        from kg_engine.export.networks import local_name

        where = f"export csv (inferred={inferred})"
        self.kg.export(folder, "csv", include_inferred=inferred)
        with open(folder / "nodes.csv", encoding="utf-8", newline="") as f:
            nodes = list(csv.DictReader(f))
        with open(folder / "relationships.csv", encoding="utf-8", newline="") as f:
            rels = list(csv.DictReader(f))
        command = (folder / "import.txt").read_text(encoding="utf-8")
        found = re.search(r"--array-delimiter=(?:'(.)'|U\+([0-9A-F]{4}))", command)
        if found is None:
            self.fail(f"{where}: import.txt names no array delimiter: {command!r}")
            return
        delimiter = found.group(1) or chr(int(found.group(2), 16))
        multiline = any("\n" in v or "\r" in v for row in nodes + rels for v in row.values())
        if multiline and "--multiline-fields=true" not in command:
            self.fail(f"{where}: values hold line breaks, import.txt lacks --multiline-fields")
        ids = {}
        for row in nodes:
            term = self._csv_node(row["iri:ID"])
            if term in ids:
                self.fail(f"{where}: node id {row['iri:ID']!r} twice")
            ids[term] = row
        for n in set(ids) ^ set(expect_nodes):
            self.fail(f"{where}: node {_n3(n)} only in {'the file' if n in ids else 'the reference'}")
        for n in set(ids) & set(expect_nodes):
            field = ids[n]["types:string[]"]
            # terms compared as RDF terms: a language tag's case is no difference
            types = Counter(map(self._item_term, field.split(delimiter) if field else []))
            want_types = Counter(want.nodes[n]["types"])
            want_labels = sorted({local_name(_id(t)) for t in want.nodes[n]["types"]}) \
                or ["Resource"]
            if sorted(map(self.untag, ids[n][":LABEL"].split(delimiter))) != want_labels:
                self.fail(f"{where}: node {_n3(n)}: labels {ids[n][':LABEL']!r} split on "
                          f"{delimiter!r} != {want_labels}")
            if self.untag(ids[n]["label"]) != expect_nodes[n]["label"] or types != want_types:
                self.fail(f"{where}: node {_n3(n)}: file {ids[n]} != reference label "
                          f"{expect_nodes[n]['label']!r} types {want_types}")
        got = sorted((_n3(self._csv_node(r[":START_ID"])), _n3(self._csv_node(r[":END_ID"])),
                      r["predicate"], r[":TYPE"], r["origin"],
                      float(r["confidence:float"]) if r["confidence:float"] else None)
                     for r in rels)
        expect = sorted((_n3(u), _n3(v), str(d["predicate"]), local_name(str(d["predicate"])),
                         d["origin"], d.get("confidence")) for u, v, d in want.edges(data=True))
        if got != expect:
            self.fail(f"{where}: relationships differ: file-only "
                      f"{sorted(set(got) - set(expect))[:3]}, reference-only "
                      f"{sorted(set(expect) - set(got))[:3]}")

    def _csv_node(self, node_id: str) -> Node:
        if node_id.startswith("_:"):
            return self.rename(BNode(node_id[2:]))
        return URIRef(node_id) if not node_id.startswith('"') else self._node_of(node_id)


_ORIGIN_RANK = {"asserted": 0, "extracted": 1, "inferred": 2, "predicted": 3}


def _partition(groups: Iterable[Iterable[Node]]) -> frozenset[frozenset[Node]]:
    return frozenset(frozenset(g) for g in groups)


def _partition_of(values: dict[Node, int]) -> frozenset[frozenset[Node]]:
    groups: dict[int, set[Node]] = {}
    for n, v in values.items():
        groups.setdefault(v, set()).add(n)
    return _partition(groups.values())


def _xml(text: str) -> str:
    """The documented GraphML/GEXF form of a string: characters outside XML 1.0's ``Char``
    production as ``\\uXXXX``."""
    def ok(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or \
            0x10000 <= c <= 0x10FFFF
    return "".join(ch if ok(ord(ch)) else f"\\u{ord(ch):04X}" for ch in text)


def _id(t: Node) -> str:
    """The documented export form of a term: an IRI as itself, anything else in N-Triples
    (a language tag in lower case, as the store keeps it)."""
    from kg_engine.core.rdf_text import term_ntriples

    if isinstance(t, Literal) and t.language:
        t = Literal(str(t), lang=t.language.lower())
    return str(t) if isinstance(t, URIRef) else term_ntriples(t)


def _n3(t: Any) -> str:
    return t.n3() if hasattr(t, "n3") else repr(t)


def _show(items: Iterable[Any]) -> str:
    return "(" + ", ".join(_n3(t) for t in items) + ")"


def _show_partition(p: frozenset[frozenset[Node]]) -> str:
    return str(sorted(sorted(_n3(n) for n in g) for g in p))
