"""Model-based testing of the public Python API: long random sequences of mixed calls on one
:class:`~kg_engine.KnowledgeGraph`, compared after every step with a model.

The other differentials check one kind of call at a time (queries, updates, rules,
transports). A notebook user mixes them: loads a file, adds a few statements through
``kg.graph`` (rdflib), binds a prefix, runs an update, turns reasoning on, queries, vacuums,
exports, closes the notebook and reopens the store. This machine draws such sequences from a
seed and, after each step, compares the store with a model of what it must hold.

**The model** (:class:`Model`) is plain Python: the set of asserted quads, the reasoning
profile, the prefixes bound. With the ``rdfs`` profile on, the inferred graph must hold the
statements the RDFS rules derive from the union of the asserted graphs, less those asserted
in the default graph (``docs/rules.md``, "Live reasoning"); :func:`rdfs_derived` computes them
by naive iteration of the eight rules of ``data/rules/rdfs.rules``. ``reason_off()`` leaves the
inferred graph as an ordinary named graph; setting the profile again recomputes it.

**Steps** (:data:`OPS`): ``kg.load`` of a generated file (N-Triples, N-Quads, Turtle, TriG,
JSON-LD, RDF/XML; into the default graph or ``graph=``), a malformed file; ``kg.add`` (triples
into ``graph=``, or quads), ``kg.add_batch``, ``kg.remove`` (a pattern, one graph or all);
``kg.graph`` (rdflib): ``add`` of triples and quads, ``graph(name).add``, ``remove`` (quad
patterns; a triple pattern is every graph, as in rdflib), ``parse`` (Turtle, N-Triples, TriG,
N-Quads; into a named graph too), ``bind``; ``kg.update`` (``INSERT DATA``/``DELETE DATA``
with ``GRAPH``, ``DELETE WHERE``, ``DELETE/INSERT … WHERE`` with ``WITH``, ``CLEAR``/``DROP``
of a graph, ``DEFAULT``, ``NAMED``, ``ALL``, ``ADD``/``COPY``/``MOVE``; requests of several
operations; requests that fail in a later operation or do not parse: the store must stay as
it was); ``kg.query`` (SELECT/ASK/CONSTRUCT templates evaluated on the model, with
``init_bindings``, ``union_default_graph``, ``include_inferred=False``, prefixes bound
earlier); ``kg.triples``; ``kg.reason("rdfs")`` (also ``recompute=True``), ``reason_off()``;
``kg.vacuum()``; ``kg.export`` then load into a fresh store; close and reopen (SQLite file,
PostgreSQL schema), read-only too (writes refused, nothing changed).

**After every step** :meth:`Machine.check` compares every statement with its graph
(``kg.triples()``), ``len(kg)``, the default graph as queries see it (asserted ∪ inferred,
each once: ``kg.triples(graph=DEFAULT_GRAPH)``, ``len(kg.graph)``, a SPARQL ``SELECT *``), the
statements per named graph (SPARQL ``GRAPH ?g`` with ``COUNT``), ``kg.stats()`` counts and
the prefixes the steps bound.

A failing sequence is shrunk (:func:`shrink`: drop chunks of steps while the same check
still fails) and reported with its steps, ready to paste as a regression test.
``benchmarks/api_model.py`` runs many seeds; ``tests/testing/test_apimodel.py`` a few.

Example:
    >>> result = run_sequence(1, "sqlite://", steps=15)
    >>> result.ok, result.steps
    (True, 15)
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef

from kg_engine.core.terms import DEFAULT_GRAPH
from kg_engine.errors import KgEngineError

__all__ = ["OPS", "Machine", "Model", "SequenceResult", "rdfs_derived", "replay",
           "run_sequence", "shrink"]

EX = "http://ex.org/"
#: a namespace used only for subjects and objects, bound by the ``bind`` steps (no generated
#: file declares a prefix for it)
EXV = "http://ex.org/v/"
INFERRED = URIRef("urn:kg-engine:inferred:rdfs")
NODES = [URIRef(f"{EX}n{i}") for i in range(4)] + [URIRef(f"{EXV}a"), URIRef(f"{EXV}b")]
PREDS = [URIRef(f"{EX}p{i}") for i in range(3)]
CLASSES = [URIRef(f"{EX}C{i}") for i in range(3)]
GRAPHS = [URIRef(f"{EX}g1"), URIRef(f"{EX}g2")]
ABSENT_GRAPH = URIRef(f"{EX}g9")  # never written: ADD/COPY/MOVE from it fails
# canonical lexical forms only: rdflib's parsers and serializers normalise the others
LITERALS = [Literal("abc"), Literal("abc", lang="en"), Literal(1), Literal(-7),
            Literal("2.5", datatype=XSD.decimal), Literal(True), Literal("x y"),
            Literal('quote " and \\ back'), Literal("line\nbreak"), Literal("ünïcödé"),
            Literal("2021-06-01", datatype=XSD.date), Literal("zz", datatype=URIRef(EX + "dt"))]
#: the prefixes the bind steps use, and the namespaces they bind them to
BIND_PREFIXES = ["v", "w"]
BIND_NAMESPACES = [EXV, "http://ex.org/other/"]

Quad = tuple[Any, Any, Any, Any]
Triple = tuple[Any, Any, Any]


# -- the reference: RDFS by naive iteration ---------------------------------------------
def rdfs_derived(triples: Iterable[Triple]) -> set[Triple]:
    """Every triple the rules of kg-engine's ``rdfs`` rule set derive from ``triples`` (the
    premises themselves only where a rule derives them); no literal subjects.

    Example:
        >>> a, C, D = URIRef("urn:a"), URIRef("urn:C"), URIRef("urn:D")
        >>> sorted(rdfs_derived({(a, RDF.type, C), (C, RDFS.subClassOf, D)}))
        [(rdflib.term.URIRef('urn:a'), rdflib.term.URIRef('http://www.w3.org/1999/02/22-rdf-syntax-ns#type'), rdflib.term.URIRef('urn:D'))]
    """
    facts = set(triples)
    derived: set[Triple] = set()
    while True:
        by_p: dict[Any, set[tuple]] = {}
        for s, p, o in facts:
            by_p.setdefault(p, set()).add((s, o))
        new = set()
        for p, c in by_p.get(RDFS.domain, ()):
            new |= {(x, RDF.type, c) for x, _ in by_p.get(p, ())}
        for p, c in by_p.get(RDFS.range, ()):
            new |= {(y, RDF.type, c) for _, y in by_p.get(p, ()) if not isinstance(y, Literal)}
        sub_p = by_p.get(RDFS.subPropertyOf, set())
        new |= {(p, RDFS.subPropertyOf, r) for p, q in sub_p for q2, r in sub_p
                if q == q2 and p != r}
        for p, q in sub_p:
            new |= {(x, q, y) for x, y in by_p.get(p, ())}
        sub_c = by_p.get(RDFS.subClassOf, set())
        types = by_p.get(RDF.type, set())
        new |= {(x, RDF.type, d) for c, d in sub_c for x, c2 in types if c == c2}
        new |= {(c, RDFS.subClassOf, e) for c, d in sub_c for d2, e in sub_c
                if d == d2 and c != e}
        new |= {(p, RDFS.subPropertyOf, RDFS.member) for p, c in types
                if c == RDFS.ContainerMembershipProperty}
        new |= {(x, RDFS.subClassOf, RDFS.Literal) for x, c in types if c == RDFS.Datatype}
        new = {t for t in new if not isinstance(t[0], Literal)}
        if new <= derived:
            return derived
        derived |= new
        facts |= new


# -- the model ---------------------------------------------------------------------------
@dataclass
class Model:
    """What the store must hold: asserted quads, the reasoning profile, bound prefixes."""

    quads: set[Quad] = field(default_factory=set)
    profile: bool = False
    #: rdflib's own Dataset receives the same ``bind`` calls: its namespace manager is the
    #: reference for what a binding replaces (``bind("w", X)`` with ``w`` taken binds ``w1``)
    namespaces: Graph = field(default_factory=Dataset)

    def graph(self, g: Any) -> set[Triple]:
        return {q[:3] for q in self.quads if q[3] == g}

    def inferred(self) -> set[Triple]:
        """The inferred graph's statements (empty without the profile)."""
        if not self.profile:
            return set()
        return rdfs_derived({q[:3] for q in self.quads}) - self.graph(DEFAULT_GRAPH)

    def all_quads(self) -> set[Quad]:
        return self.quads | {(*t, INFERRED) for t in self.inferred()}

    def default_view(self, include_inferred: bool = True) -> set[Triple]:
        """The default graph as queries see it."""
        view = self.graph(DEFAULT_GRAPH)
        return view | self.inferred() if include_inferred else view

    def named(self) -> dict[Any, set[Triple]]:
        """Non-empty named graphs (the inferred one included) and their triples."""
        out: dict[Any, set[Triple]] = {}
        for s, p, o, g in self.all_quads():
            if g != DEFAULT_GRAPH:
                out.setdefault(g, set()).add((s, p, o))
        return out

    def writable(self, g: Any) -> bool:
        """Whether removals reach graph ``g`` (the profile's inferred graph: never)."""
        return not (self.profile and g == INFERRED)

    def remove(self, pattern: Triple, graph: Any = None) -> int:
        gone = {q for q in self.quads if _matches(q, pattern)
                and (graph is None or q[3] == graph) and self.writable(q[3])}
        self.quads -= gone
        return len(gone)

    def prefixes(self) -> dict[str, str]:
        """The prefixes of the namespaces the bind steps use."""
        return {p: str(ns) for p, ns in self.namespaces.namespaces()
                if str(ns) in BIND_NAMESPACES}

    def reason_on(self) -> None:
        if not self.profile:  # a profile the store does not have: recomputed from scratch
            self.quads = {q for q in self.quads if q[3] != INFERRED}
            self.profile = True

    def reason_off(self) -> None:
        self.quads = self.all_quads()  # the inferred graph stays, as a named graph
        self.profile = False


def _matches(q: tuple, pattern: tuple) -> bool:
    return all(t is None or t == x for t, x in zip(pattern, q))


# -- steps -------------------------------------------------------------------------------
@dataclass
class Step:
    """One call (or a few making one user action): ``op`` names a :data:`OPS` entry."""

    op: str
    args: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.op}({', '.join(f'{k}={_show(v)}' for k, v in self.args.items())})"


def _show(v: Any) -> str:
    if isinstance(v, (URIRef, Literal)):
        return v.n3()
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_show(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    return repr(v)


class Mismatch(AssertionError):
    """The store and the model disagree (``check`` names which comparison)."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check


def _diff(check: str, got: Any, want: Any) -> None:
    if got == want:
        return
    if isinstance(got, (set, frozenset)) and isinstance(want, (set, frozenset)):
        extra, missing = sorted(got - want, key=str)[:5], sorted(want - got, key=str)[:5]
        raise Mismatch(check, f"unexpected {_show(extra)}, missing {_show(missing)}")
    if isinstance(got, Counter) and isinstance(want, Counter):
        raise Mismatch(check, f"unexpected {_show(list((got - want).elements())[:5])}, "
                              f"missing {_show(list((want - got).elements())[:5])}")
    raise Mismatch(check, f"got {got!r}, expected {want!r}")


class Machine:
    """Runs steps on a :class:`~kg_engine.KnowledgeGraph` and on a :class:`Model`.

    Args:
        url: the store (``sqlite://``, ``sqlite:///PATH``, a PostgreSQL URL); reopened by
            the ``reopen`` step unless in memory.
        workdir: folder for generated files and exports.
    """

    def __init__(self, url: str, workdir: str) -> None:
        from kg_engine import KnowledgeGraph

        self.url = url
        self.workdir = Path(workdir)
        self.kg = KnowledgeGraph(url)
        self.model = Model()
        self.files = 0
        self.persistent = url != "sqlite://"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kg.close()

    # -- generation ------------------------------------------------------------------
    def draw(self, rng: random.Random) -> Step:
        """A step for the current state."""
        ops = [op for op, (_, _, weight) in OPS.items() if weight(self)]
        weights = [OPS[op][2](self) for op in ops]
        op = rng.choices(ops, weights)[0]
        return Step(op, OPS[op][0](self, rng))

    def statement(self, rng: random.Random) -> Triple:
        """A triple over the small vocabulary (often an RDFS axiom or a typing)."""
        r = rng.random()
        if r < 0.12:
            c, d = rng.sample(CLASSES, 2)
            return (c, RDFS.subClassOf, d)
        if r < 0.2:
            p, q = rng.sample(PREDS, 2)
            return (p, RDFS.subPropertyOf, q)
        if r < 0.28:
            return (rng.choice(PREDS), rng.choice([RDFS.domain, RDFS.range]), rng.choice(CLASSES))
        if r < 0.45:
            return (rng.choice(NODES), RDF.type, rng.choice(CLASSES))
        o = rng.choice(NODES) if rng.random() < 0.5 else rng.choice(LITERALS)
        return (rng.choice(NODES), rng.choice(PREDS), o)

    def statements(self, rng: random.Random, n: int | None = None) -> list[Triple]:
        return [self.statement(rng) for _ in range(n or rng.randint(1, 4))]

    def existing(self, rng: random.Random, n: int = 2) -> list[Quad]:
        """Up to ``n`` asserted quads (often hit by removals)."""
        pool = sorted(self.model.quads, key=str)
        return rng.sample(pool, min(n, len(pool)))

    def pattern(self, rng: random.Random) -> Triple:
        base = self.existing(rng, 1)
        s, p, o = base[0][:3] if base and rng.random() < 0.7 else self.statement(rng)
        keep = [rng.random() < 0.5 for _ in range(3)]
        if all(keep):
            keep[rng.randrange(3)] = False
        return tuple(t if k else None for t, k in zip((s, p, o), keep))  # type: ignore[return-value]

    # -- checking --------------------------------------------------------------------
    def check(self) -> None:
        """Compare the store with the model (see the module docstring)."""
        kg, m = self.kg, self.model
        rows = list(kg.triples())
        _diff("kg.triples() has duplicates", len(rows), len(set(rows)))
        _diff("kg.triples(): every statement with its graph", set(rows), m.all_quads())
        _diff("len(kg)", len(kg), len(m.all_quads()))
        view = m.default_view()
        _diff("kg.triples(graph=DEFAULT_GRAPH)",
              {q[:3] for q in kg.triples(graph=DEFAULT_GRAPH)}, view)
        _diff("kg.triples(graph=DEFAULT_GRAPH, include_inferred=False)",
              {q[:3] for q in kg.triples(graph=DEFAULT_GRAPH, include_inferred=False)},
              m.graph(DEFAULT_GRAPH))
        # rdflib: a Dataset's len() counts the distinct triples of every graph
        _diff("len(kg.graph)", len(kg.graph), len({q[:3] for q in m.all_quads()}))
        got = Counter(tuple(r) for r in kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))
        _diff("SELECT * over the default graph", got, Counter(view))
        got = Counter({r.g: int(r.n) for r in kg.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")})
        _diff("statements per named graph (SPARQL)", got,
              Counter({g: len(ts) for g, ts in m.named().items()}))
        stats = kg.stats()
        _diff("kg.stats() statements", stats["statements"], len(m.all_quads()))
        _diff("kg.stats() default_graph_statements", stats["default_graph_statements"],
              len(m.graph(DEFAULT_GRAPH)))
        _diff("kg.stats() reasoning", stats["reasoning"], "rdfs" if m.profile else None)
        bound = {p: str(ns) for p, ns in kg.graph.namespaces() if str(ns) in BIND_NAMESPACES}
        _diff("prefixes bound", bound, m.prefixes())

    def expect_error(self, what: str, call: Callable[[], Any]) -> None:
        """``call`` must raise a KgEngineError (the model is left as it is)."""
        try:
            call()
        except KgEngineError:
            return
        raise Mismatch(what, "no error raised")


# -- step kinds: (generate args, apply to store and model, weight) -----------------------
def _gen_load(mc: Machine, rng: random.Random) -> dict:
    fmt = rng.choice(["nt", "nq", "turtle", "trig", "json-ld", "xml"])
    quad_fmt = fmt in ("nq", "trig", "json-ld")
    quads = [(*t, rng.choice([DEFAULT_GRAPH, *GRAPHS]) if quad_fmt else DEFAULT_GRAPH)
             for t in mc.statements(rng, rng.randint(1, 6))]
    return {"format": fmt, "quads": quads, "graph": rng.choice([None, None, *GRAPHS]),
            "pass_format": rng.random() < 0.5, "bad": rng.random() < 0.12}


_EXT = {"nt": "nt", "nq": "nq", "turtle": "ttl", "trig": "trig", "json-ld": "jsonld",
        "xml": "rdf"}
_SERIALIZE = {"nt": "nt", "nq": "nquads", "turtle": "turtle", "trig": "trig",
              "json-ld": "json-ld", "xml": "xml"}


def _serialize(quads: list[Quad], fmt: str) -> str:
    ds = Dataset()
    ds.bind("ex", URIRef(EX))
    for s, p, o, g in quads:
        ds.graph(g).add((s, p, o)) if g != DEFAULT_GRAPH else ds.add((s, p, o))
    if fmt in ("nt", "turtle", "xml"):
        out = Graph()
        out.bind("ex", URIRef(EX))
        for s, p, o, _ in quads:
            out.add((s, p, o))
        return out.serialize(format=_SERIALIZE[fmt])
    return ds.serialize(format=_SERIALIZE[fmt])


def _do_load(mc: Machine, a: dict) -> None:
    mc.files += 1
    path = mc.workdir / f"load{mc.files}.{_EXT[a['format']]}"
    text = _serialize(a["quads"], a["format"])
    if a["bad"]:  # a malformed document: nothing is loaded
        text = text + {"json-ld": "{", "xml": "<oops"}.get(a["format"], "<urn:x> <urn:y> .\n")
    path.write_text(text, encoding="utf-8")
    call = lambda: mc.kg.load(path, format=a["format"] if a["pass_format"] else None,
                              graph=a["graph"])
    if a["bad"]:
        return mc.expect_error("kg.load of a malformed file", call)
    call()
    target = a["graph"] or DEFAULT_GRAPH
    mc.model.quads |= {(s, p, o, target if g == DEFAULT_GRAPH else g) for s, p, o, g in a["quads"]}


def _gen_add(mc: Machine, rng: random.Random) -> dict:
    return {"triples": mc.statements(rng), "graph": rng.choice([None, None, *GRAPHS]),
            "quads": rng.random() < 0.3, "batch": rng.random() < 0.3}


def _do_add(mc: Machine, a: dict) -> None:
    from kg_engine.core.batch import TripleBatch

    g = a["graph"] or DEFAULT_GRAPH
    before = len(mc.model.quads)
    mc.model.quads |= {(*t, g) for t in a["triples"]}
    new = len(mc.model.quads) - before
    stmts = [(*t, g) for t in a["triples"]] if a["quads"] else a["triples"]
    if a["batch"]:
        added = mc.kg.add_batch(TripleBatch.of(stmts, g))
    else:
        added = mc.kg.add(stmts, graph=None if a["quads"] else a["graph"])
    _diff("kg.add/add_batch: statements new", added, new)


def _gen_remove(mc: Machine, rng: random.Random) -> dict:
    return {"pattern": mc.pattern(rng), "graph": rng.choice([None, None, DEFAULT_GRAPH, *GRAPHS])}


def _do_remove(mc: Machine, a: dict) -> None:
    n = mc.model.remove(a["pattern"], a["graph"])
    _diff("kg.remove: statements removed", mc.kg.remove(a["pattern"], graph=a["graph"]), n)


def _gen_ds_add(mc: Machine, rng: random.Random) -> dict:
    return {"triples": mc.statements(rng), "how": rng.choice(["triple", "quad", "graph"]),
            "graph": rng.choice(GRAPHS), "then": rng.choice(["nothing", "query", "add"])}


def _do_ds_add(mc: Machine, a: dict) -> None:
    ds = mc.kg.graph
    for t in a["triples"]:
        if a["how"] == "triple":
            ds.add(t)
        elif a["how"] == "quad":
            ds.add((*t, ds.graph(a["graph"])))
        else:
            ds.graph(a["graph"]).add(t)
    g = DEFAULT_GRAPH if a["how"] == "triple" else a["graph"]
    mc.model.quads |= {(*t, g) for t in a["triples"]}
    # what a notebook does next with the buffered statements
    if a["then"] == "query":
        n = int(next(iter(mc.kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))[0])
        _diff("COUNT after kg.graph.add", n, len(mc.model.default_view()))
    elif a["then"] == "add":
        _diff("(s, p, o) in kg.graph after kg.graph.add",
              a["triples"][0] in (ds if g == DEFAULT_GRAPH else ds.graph(g)), True)


def _gen_ds_remove(mc: Machine, rng: random.Random) -> dict:
    return {"pattern": mc.pattern(rng), "where": rng.choice(["triple", "quad", "graph"]),
            "graph": rng.choice([DEFAULT_GRAPH, *GRAPHS])}


def _do_ds_remove(mc: Machine, a: dict) -> None:
    ds = mc.kg.graph
    if a["where"] == "triple":  # rdflib: a triple pattern is removed from every graph
        ds.remove(a["pattern"])
        mc.model.remove(a["pattern"])
    elif a["where"] == "quad":
        ds.remove((*a["pattern"], ds.graph(a["graph"])))
        mc.model.remove(a["pattern"], a["graph"])
    else:
        ds.graph(a["graph"]).remove(a["pattern"])
        mc.model.remove(a["pattern"], a["graph"])


def _gen_ds_parse(mc: Machine, rng: random.Random) -> dict:
    fmt = rng.choice(["nt", "turtle", "trig", "nquads"])
    quad_fmt = fmt in ("trig", "nquads")
    quads = [(*t, rng.choice([DEFAULT_GRAPH, *GRAPHS]) if quad_fmt else DEFAULT_GRAPH)
             for t in mc.statements(rng, rng.randint(1, 4))]
    into = None if quad_fmt or rng.random() < 0.5 else rng.choice(GRAPHS)
    return {"format": fmt, "quads": quads, "into": into, "bad": rng.random() < 0.1}


def _do_ds_parse(mc: Machine, a: dict) -> None:
    fmt = {"nquads": "nq"}.get(a["format"], a["format"])
    text = _serialize(a["quads"], fmt)
    target = mc.kg.graph if a["into"] is None else mc.kg.graph.graph(a["into"])
    if a["bad"]:
        bad = text + "<urn:x> <urn:y> .\n"
        return mc.expect_error("kg.graph.parse of a malformed document",
                               lambda: target.parse(data=bad, format=a["format"]))
    target.parse(data=text, format=a["format"])
    into = a["into"] or DEFAULT_GRAPH
    mc.model.quads |= {(s, p, o, into if g == DEFAULT_GRAPH else g) for s, p, o, g in a["quads"]}


def _gen_bind(mc: Machine, rng: random.Random) -> dict:
    return {"prefix": rng.choice(BIND_PREFIXES), "namespace": rng.choice(BIND_NAMESPACES)}


def _do_bind(mc: Machine, a: dict) -> None:
    mc.kg.graph.bind(a["prefix"], URIRef(a["namespace"]))
    mc.model.namespaces.bind(a["prefix"], URIRef(a["namespace"]))


def _graph_ref(g: Any, kind: str) -> str:
    if g == DEFAULT_GRAPH:
        return "DEFAULT"
    return f"GRAPH {g.n3()}" if kind in ("CLEAR", "DROP") else g.n3()


def _data_block(quads: Iterable[Quad]) -> str:
    parts = []
    for s, p, o, g in quads:
        t = f"{s.n3()} {p.n3()} {_lit(o)} ."
        parts.append(t if g == DEFAULT_GRAPH else f"GRAPH {g.n3()} {{ {t} }}")
    return " ".join(parts)


def _lit(o: Any) -> str:
    """SPARQL text of a term (``n3()`` writes long literals that SPARQL reads too)."""
    return o.n3()


def _gen_update(mc: Machine, rng: random.Random) -> dict:
    ops: list[dict] = []
    after = Model(set(mc.model.quads), mc.model.profile)  # the state each operation sees
    for _ in range(rng.choice([1, 1, 2, 3])):
        kind = rng.choice(["INSERT DATA", "DELETE DATA", "DELETE WHERE", "MODIFY", "CLEAR",
                           "DROP", "ADD", "COPY", "MOVE", "CLEAR NAMED", "DROP ALL"])
        g = rng.choice([DEFAULT_GRAPH, *GRAPHS])
        if kind == "INSERT DATA":
            op = {"kind": kind, "quads": [(*t, rng.choice([DEFAULT_GRAPH, *GRAPHS]))
                                          for t in mc.statements(rng, 2)]}
        elif kind == "DELETE DATA":
            pool = sorted(after.quads, key=str)
            op = {"kind": kind, "quads": rng.sample(pool, min(2, len(pool)))
                  or [(*mc.statement(rng), g)]}
        elif kind == "DELETE WHERE":
            op = {"kind": kind, "p": rng.choice(PREDS + [RDF.type]), "graph": g}
        elif kind == "MODIFY":
            op = {"kind": kind, "p": rng.choice(PREDS + [RDF.type]), "q": rng.choice(PREDS),
                  "graph": g, "delete": rng.random() < 0.5}
        elif kind in ("ADD", "COPY", "MOVE"):
            # a source that surely exists: the default graph or a non-empty named graph
            sources = [h for h in [DEFAULT_GRAPH, *GRAPHS] if h == DEFAULT_GRAPH or after.graph(h)]
            src = rng.choice(sources)
            op = {"kind": kind, "from": src,
                  "to": rng.choice([h for h in [DEFAULT_GRAPH, *GRAPHS] if h != src])}
        else:
            op = {"kind": kind, "graph": g}
        _apply_update_op(after, op)
        ops.append(op)
    fail = rng.random() < 0.15
    if fail:  # a later operation fails (or the request does not parse): nothing changes
        ops.append({"kind": rng.choice(["ADD absent", "syntax"])})
    return {"ops": ops, "fail": fail}


def _update_text(op: dict) -> str:
    k = op["kind"]
    if k in ("INSERT DATA", "DELETE DATA"):
        return f"{k} {{ {_data_block(op['quads'])} }}"
    if k == "DELETE WHERE":
        body = f"?s {op['p'].n3()} ?o ."
        if op["graph"] != DEFAULT_GRAPH:
            body = f"GRAPH {op['graph'].n3()} {{ {body} }}"
        return f"DELETE WHERE {{ {body} }}"
    if k == "MODIFY":
        with_ = "" if op["graph"] == DEFAULT_GRAPH else f"WITH {op['graph'].n3()} "
        delete = f"DELETE {{ ?s {op['p'].n3()} ?o }} " if op["delete"] else ""
        return f"{with_}{delete}INSERT {{ ?s {op['q'].n3()} ?o }} WHERE {{ ?s {op['p'].n3()} ?o }}"
    if k in ("CLEAR", "DROP"):  # a named graph may not exist (then only SILENT succeeds)
        silent = " SILENT" if op["graph"] != DEFAULT_GRAPH else ""
        return f"{k}{silent} {_graph_ref(op['graph'], k)}"
    if k in ("CLEAR NAMED", "DROP ALL"):
        return k
    if k in ("ADD", "COPY", "MOVE"):
        return f"{k} {_graph_ref(op['from'], k)} TO {_graph_ref(op['to'], k)}"
    if k == "ADD absent":
        return f"ADD {ABSENT_GRAPH.n3()} TO DEFAULT"
    return "INSERT DATA { <urn:x> <urn:y> }"  # syntax


def _apply_update_op(m: Model, op: dict) -> None:
    """The effect of one operation on the model (SPARQL 1.1 Update §3); WHERE clauses read
    the asserted statements (as kg-engine's updates do), removals skip the inferred graph."""
    k = op["kind"]
    if k == "INSERT DATA":
        m.quads |= set(op["quads"])
    elif k == "DELETE DATA":
        m.quads -= set(op["quads"])
    elif k == "DELETE WHERE":
        m.remove((None, op["p"], None), op["graph"])
    elif k == "MODIFY":
        g = op["graph"]
        matches = {(s, o) for s, p, o in m.graph(g) if p == op["p"]}
        if op["delete"]:
            m.quads -= {(s, op["p"], o, g) for s, o in matches}
        m.quads |= {(s, op["q"], o, g) for s, o in matches}
    elif k in ("CLEAR", "DROP"):
        m.remove((None, None, None), op["graph"])
    elif k == "CLEAR NAMED":
        m.quads = {q for q in m.quads if q[3] == DEFAULT_GRAPH or not m.writable(q[3])}
    elif k == "DROP ALL":
        m.quads = {q for q in m.quads if not m.writable(q[3])}
    elif k in ("ADD", "COPY", "MOVE"):
        src, dst = op["from"], op["to"]
        content = m.graph(src)
        if k != "ADD":
            m.remove((None, None, None), dst)
        m.quads |= {(*t, dst) for t in content}
        if k == "MOVE":
            m.remove((None, None, None), src)


def _do_update(mc: Machine, a: dict) -> None:
    text = " ;\n".join(_update_text(op) for op in a["ops"])
    if a["fail"]:
        return mc.expect_error("kg.update failing in its last operation",
                               lambda: mc.kg.update(text))
    mc.kg.update(text)
    for op in a["ops"]:
        _apply_update_op(mc.model, op)


QUERIES = ["objects", "typed", "graph-all", "ask", "count", "join", "bound", "in-graph",
           "union", "asserted", "prefixed", "construct", "optional"]


def _gen_query(mc: Machine, rng: random.Random) -> dict:
    return {"q": rng.choice(QUERIES), "p": rng.choice(PREDS), "q2": rng.choice(PREDS),
            "c": rng.choice(CLASSES), "s": rng.choice(NODES), "g": rng.choice(GRAPHS),
            "o": rng.choice(NODES + LITERALS)}


def _do_query(mc: Machine, a: dict) -> None:
    kg, m = mc.kg, mc.model
    view = m.default_view()
    p, c, s, g = a["p"].n3(), a["c"].n3(), a["s"], a["g"]
    kw: dict[str, Any] = {}
    q = a["q"]
    if q == "objects":
        text, want = f"SELECT ?s ?o WHERE {{ ?s {p} ?o }}", [(x, o) for x, y, o in view
                                                              if y == a["p"]]
    elif q == "typed":
        text, want = f"SELECT ?s WHERE {{ ?s a {c} }}", [(x,) for x, y, o in view
                                                        if y == RDF.type and o == a["c"]]
    elif q == "graph-all":
        text = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
        want = [(h, *t) for h, ts in m.named().items() for t in ts]
    elif q == "ask":
        text = f"ASK {{ {s.n3()} {p} {_lit(a['o'])} }}"
        got = kg.query(text).askAnswer
        return _diff(f"kg.query({text!r})", got, (s, a["p"], a["o"]) in view)
    elif q == "count":
        text, want = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", [(Literal(len(view)),)]
    elif q == "join":
        q2 = a["q2"]
        text = f"SELECT ?s ?o WHERE {{ ?s {p} ?x . ?x {q2.n3()} ?o }}"
        want = [(x, o) for x, y, z in view if y == a["p"] for z2, y2, o in view
                if z2 == z and y2 == q2]
    elif q == "bound":
        text, kw = "SELECT ?p ?o WHERE { ?s ?p ?o }", {"init_bindings": {"s": s}}
        want = [(y, o) for x, y, o in view if x == s]
    elif q == "in-graph":
        text = f"SELECT ?s ?o WHERE {{ GRAPH {g.n3()} {{ ?s {p} ?o }} }}"
        want = [(x, o) for x, y, o in m.named().get(g, ()) if y == a["p"]]
    elif q == "union":
        text, kw = f"SELECT ?s ?o WHERE {{ ?s {p} ?o }}", {"union_default_graph": True}
        want = list({(x, o) for x, y, o, _ in m.all_quads() if y == a["p"]})
    elif q == "asserted":
        text, kw = f"SELECT ?s WHERE {{ ?s a {c} }}", {"include_inferred": False}
        want = [(x,) for x, y, o in m.graph(DEFAULT_GRAPH) if y == RDF.type and o == a["c"]]
    elif q == "prefixed":  # a prefix bound earlier with kg.graph.bind
        prefix = next((pf for pf, ns in m.prefixes().items() if ns == EXV), None)
        if prefix is None:
            return None
        text = f"SELECT ?p ?o WHERE {{ {prefix}:a ?p ?o }}"
        want = [(y, o) for x, y, o in view if x == URIRef(EXV + "a")]
    elif q == "construct":
        text = f"CONSTRUCT {{ ?o {a['q2'].n3()} ?s }} WHERE {{ ?s {p} ?o FILTER(!isLiteral(?o)) }}"
        got = set(kg.query(text).graph)
        want_g = {(o, a["q2"], x) for x, y, o in view if y == a["p"] and not isinstance(o, Literal)}
        return _diff(f"kg.query({text!r})", got, want_g)
    else:  # optional
        text = f"SELECT ?s ?o WHERE {{ ?s a {c} OPTIONAL {{ ?s {p} ?o }} }}"
        want = []
        for x, y, o in view:
            if y == RDF.type and o == a["c"]:
                objs = [o2 for x2, y2, o2 in view if x2 == x and y2 == a["p"]]
                want += [(x, o2) for o2 in objs] or [(x, None)]
    got = Counter(tuple(r) for r in kg.query(text, **kw))
    _diff(f"kg.query({text!r}, {kw})", got, Counter(want))


def _gen_triples(mc: Machine, rng: random.Random) -> dict:
    return {"pattern": mc.pattern(rng), "graph": rng.choice([None, DEFAULT_GRAPH, *GRAPHS]),
            "inferred": rng.random() < 0.7}


def _do_triples(mc: Machine, a: dict) -> None:
    m, pat, g = mc.model, a["pattern"], a["graph"]
    got = set(mc.kg.triples(pat, graph=g, include_inferred=a["inferred"]))
    if g is None:
        want = {q for q in m.all_quads() if _matches(q, pat)
                and (a["inferred"] or not m.profile or q[3] != INFERRED)}
    elif g == DEFAULT_GRAPH:
        want = {(*t, DEFAULT_GRAPH) for t in m.graph(DEFAULT_GRAPH) if _matches(t, pat)}
        if a["inferred"]:
            want |= {(*t, INFERRED) for t in m.inferred() if _matches(t, pat)}
    else:
        want = {(*t, g) for t in m.named().get(g, ()) if _matches(t, pat)}
    _diff(f"kg.triples({_show(pat)}, graph={_show(g)}, include_inferred={a['inferred']})",
          got, want)
    if pat[0] is not None and pat[1] is not None and pat[2] is not None:
        _diff("(s, p, o) in kg.graph", pat in mc.kg.graph, pat in m.default_view())


def _gen_reason(mc: Machine, rng: random.Random) -> dict:
    return {"action": rng.choice(["on", "on", "recompute", "off"])}


def _do_reason(mc: Machine, a: dict) -> None:
    if a["action"] == "off":
        mc.kg.reason_off()
        mc.model.reason_off()
    else:
        mc.kg.reason("rdfs", recompute=a["action"] == "recompute")
        mc.model.reason_on()


def _do_vacuum(mc: Machine, a: dict) -> None:
    mc.kg.vacuum(compact=a["compact"])


def _gen_export(mc: Machine, rng: random.Random) -> dict:
    return {"format": rng.choice(["nt", "nq", "turtle", "trig", "json-ld", "xml"]),
            "inferred": rng.choice([None, True, False])}


def _do_export(mc: Machine, a: dict) -> None:
    from kg_engine import KnowledgeGraph

    mc.files += 1
    fmt = a["format"]
    path = mc.workdir / f"export{mc.files}.{_EXT[fmt]}"
    mc.kg.export(path, fmt, include_inferred=a["inferred"])
    include = mc.model.profile if a["inferred"] is None else a["inferred"]
    want = {q for q in mc.model.all_quads()
            if include or not str(q[3]).startswith("urn:kg-engine:inferred:")}
    with KnowledgeGraph("sqlite://") as fresh:
        fresh.load(path, format=fmt)
        got = set(fresh.triples())
    if fmt in ("nt", "turtle", "xml"):  # graphs merged
        got, want = {q[:3] for q in got}, {q[:3] for q in want}
    _diff(f"kg.export({fmt}, include_inferred={a['inferred']}) reloaded", got, want)


def _gen_reopen(mc: Machine, rng: random.Random) -> dict:
    return {"readonly": rng.random() < 0.4}


def _do_reopen(mc: Machine, a: dict) -> None:
    from kg_engine import KnowledgeGraph

    mc.kg.close()
    if a["readonly"]:
        ro = KnowledgeGraph(mc.url, readonly=True)
        try:
            mc.kg = ro
            mc.check()
            mc.expect_error("kg.add on a read-only store",
                            lambda: ro.add([(NODES[0], PREDS[0], Literal("ro"))]))
            mc.expect_error("kg.update on a read-only store",
                            lambda: ro.update("CLEAR ALL"))
            mc.check()
        finally:
            ro.close()
    mc.kg = KnowledgeGraph(mc.url)


def _gen_bad(mc: Machine, rng: random.Random) -> dict:
    return {"kind": rng.choice(["literal-subject", "bad-graph", "missing-file", "bad-query"]),
            "triples": mc.statements(rng, 2)}


def _do_bad(mc: Machine, a: dict) -> None:
    k, kg = a["kind"], mc.kg
    if k == "literal-subject":  # valid statements and one that is not: none is written
        bad = [*a["triples"], (Literal("x"), PREDS[0], NODES[0])]
        mc.expect_error("kg.add with a literal subject", lambda: kg.add(bad))
    elif k == "bad-graph":
        mc.expect_error("kg.add into a graph named by an invalid IRI",
                        lambda: kg.add(a["triples"], graph="not an iri"))
    elif k == "missing-file":
        mc.expect_error("kg.load of a missing file",
                        lambda: kg.load(mc.workdir / "missing.ttl"))
    else:
        mc.expect_error("kg.query with a syntax error",
                        lambda: kg.query("SELECT ?s WHERE { ?s ?p }"))


def _gen_inspect(mc: Machine, rng: random.Random) -> dict:
    pool = sorted(mc.model.all_quads(), key=str)
    return {"triple": rng.choice(pool)[:3] if pool else None}


def _do_inspect(mc: Machine, a: dict) -> None:
    """``kg.check()`` finds the store sound; ``kg.explain`` answers for a statement held,
    as asserted where a graph asserts it, else as inferred."""
    report = mc.kg.check()
    _diff("kg.check().sound", report.sound, True)
    if a["triple"] is not None:
        t = a["triple"]
        # after reason_off() the inferred graph is a named graph, its statements still
        # inferred ones (their derivations kept)
        asserted = any(q[:3] == t and q[3] != INFERRED for q in mc.model.quads)
        kind = mc.kg.explain(t).kind
        _diff(f"kg.explain({_show(t)}).kind", kind, "asserted" if asserted else "inferred")


def _always(w: float) -> Callable[[Machine], float]:
    return lambda mc: w


#: step name -> (draw its arguments, apply it to the store and the model, weight for a state)
OPS: dict[str, tuple[Callable[[Machine, random.Random], dict],
                     Callable[[Machine, dict], Any], Callable[[Machine], float]]] = {
    "load": (_gen_load, _do_load, _always(2)),
    "add": (_gen_add, _do_add, _always(3)),
    "remove": (_gen_remove, _do_remove, lambda mc: 2 if mc.model.quads else 0),
    "ds_add": (_gen_ds_add, _do_ds_add, _always(2)),
    "ds_remove": (_gen_ds_remove, _do_ds_remove, lambda mc: 1 if mc.model.quads else 0),
    "ds_parse": (_gen_ds_parse, _do_ds_parse, _always(1)),
    "bind": (_gen_bind, _do_bind, _always(0.5)),
    "update": (_gen_update, _do_update, _always(3)),
    "query": (_gen_query, _do_query, _always(3)),
    "triples": (_gen_triples, _do_triples, _always(1.5)),
    "reason": (_gen_reason, _do_reason, _always(1)),
    "vacuum": (lambda mc, rng: {"compact": rng.random() < 0.5}, _do_vacuum, _always(0.4)),
    "export": (_gen_export, _do_export, _always(0.6)),
    "reopen": (_gen_reopen, _do_reopen, lambda mc: 0.8 if mc.persistent else 0),
    "bad": (_gen_bad, _do_bad, _always(0.6)),
    "inspect": (_gen_inspect, _do_inspect, _always(0.5)),
}


# -- driving -----------------------------------------------------------------------------
@dataclass
class SequenceResult:
    """The outcome of one sequence: ``ok``, or the failing step and what disagreed."""

    seed: int
    url: str
    steps: int
    ok: bool = True
    failed_at: int | None = None
    check: str = ""
    message: str = ""
    log: list[Step] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return f"seed {self.seed} on {self.url}: {self.steps} steps agree"
        lines = [f"seed {self.seed} on {self.url}: step {self.failed_at}: {self.message}"]
        lines += [f"  {i}: {s}" for i, s in enumerate(self.log)]
        return "\n".join(lines)


def _step(mc: Machine, step: Step, i: int, res: SequenceResult) -> bool:
    """Run step ``i`` and check; on a disagreement record it in ``res`` and return False."""
    res.steps = i + 1
    try:
        OPS[step.op][1](mc, step.args)
        mc.check()
        return True
    except Mismatch as exc:
        res.check, res.message = exc.check, str(exc)
    except Exception as exc:  # noqa: BLE001 - an unexpected error is a finding too
        res.check = f"{step.op} raised {type(exc).__name__}"
        res.message = f"{res.check}: {exc}"
    res.ok, res.failed_at = False, i
    return False


def replay(steps: list[Step], url_factory: Callable[[], str], *, seed: int = -1) -> SequenceResult:
    """Apply ``steps`` to a fresh store from ``url_factory()``, checking after each."""
    url = url_factory()
    res = SequenceResult(seed, url, 0, log=list(steps))
    with tempfile.TemporaryDirectory(prefix="kg-apimodel-") as work:
        mc = Machine(url, work)
        try:
            for i, step in enumerate(steps):
                if not _step(mc, step, i, res):
                    break
        finally:
            mc.close()
    return res


def run_sequence(seed: int, url: str | Callable[[], str], *, steps: int = 60,
                 shrink_failures: bool = True) -> SequenceResult:
    """Draw ``steps`` steps from ``seed`` on the store at ``url`` (a URL, or a factory giving
    a fresh one: reopening needs a new file or schema per sequence), checking after each;
    a failure is shrunk to its shortest sequence found."""
    factory = url if callable(url) else (lambda: url)
    rng = random.Random(seed)
    log: list[Step] = []
    first = factory()
    res = SequenceResult(seed, first, 0)
    with tempfile.TemporaryDirectory(prefix="kg-apimodel-") as work:
        mc = Machine(first, work)
        try:
            for i in range(steps):
                step = mc.draw(rng)
                log.append(step)
                if not _step(mc, step, i, res):
                    break
        finally:
            mc.close()
    res.log = log
    if not res.ok and shrink_failures:
        return shrink(res, factory)
    return res


def shrink(res: SequenceResult, url_factory: Callable[[], str], *, budget: int = 60) -> SequenceResult:
    """The shortest sub-sequence of ``res.log`` found (dropping chunks of steps, then single
    steps) that still fails the same check."""
    best = res
    steps = list(res.log[: (res.failed_at or 0) + 1])
    chunk = max(1, len(steps) // 2)
    tries = 0
    while chunk >= 1 and tries < budget:
        i, changed = 0, False
        while i < len(steps) and tries < budget:
            candidate = steps[:i] + steps[i + chunk:]
            tries += 1
            if candidate:
                again = replay(candidate, url_factory, seed=res.seed)
                if not again.ok and again.check == res.check:
                    steps, best, changed = candidate[: (again.failed_at or 0) + 1], again, True
                    continue
            i += chunk
        if not changed:
            chunk //= 2
    best.log = steps
    return best


def sqlite_file_factory(folder: str | os.PathLike[str]) -> Callable[[], str]:
    """A factory of fresh SQLite file URLs in ``folder``."""
    counter = iter(range(1, 1 << 30))
    return lambda: f"sqlite:///{Path(folder) / f'model{next(counter)}.sqlite'}"


def postgres_factory() -> Callable[[], str]:
    """A factory of fresh schemas on the process's throwaway PostgreSQL server."""
    from kg_engine.testing.postgres import shared_server

    server = shared_server()
    return server.new_database_url
