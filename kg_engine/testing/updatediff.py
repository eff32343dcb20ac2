"""Differential testing of kg-engine's SPARQL Update against pyoxigraph: generated requests,
the whole resulting store compared.

A seeded generator (:class:`UpdateGenerator`) builds update requests of one to three
operations separated by ``;``: ``INSERT DATA`` (blank nodes included, default graph and
``GRAPH``), ``DELETE DATA`` (mostly statements the dataset holds), ``DELETE WHERE``,
``[WITH g] DELETE {…} INSERT {…} [USING g] [USING NAMED g] WHERE {…}`` (the ``WHERE`` drawn
from the query differential's grammar: OPTIONAL, UNION, MINUS, FILTER, BIND, VALUES, GRAPH,
sub-queries, paths), ``CLEAR``/``DROP`` (``GRAPH``/``DEFAULT``/``NAMED``/``ALL``),
``CREATE``, ``ADD``/``COPY``/``MOVE``, each with and without ``SILENT``, on graphs that exist
(``ex:g1``, ``ex:g2``) and one that does not (``ex:g3``).

Each request is applied to the same dataset (the query differential's, with canonical
literals) in kg-engine (``KgDataset.update``: what ``KnowledgeGraph.update`` runs) and in
pyoxigraph (``Store.update``); then

* whether each engine refused the request (an error must leave the store as it was: both
  are atomic);
* the full sets of quads, compared up to blank-node renaming (both sides canonicalised with
  RDFC-1.0, time-boxed: a comparison that does not finish is ``undecided``, reported and never
  counted as agreement), literals by canonical lexical form;
* the sets of named graphs. The spec lets a store keep or forget an empty graph (SPARQL 1.1
  Update §3: "graph stores … may remove graphs that are left empty"), so a difference only in
  graphs that are empty on both sides is the deviation ``empty-graph``.

Documented deviations (docs/sparql.md): ``absent-source`` — ``ADD``/``COPY``/``MOVE`` from a
graph that does not exist fails on kg-engine (§3.2: "the service may return failure"),
pyoxigraph copies an empty graph; ``silent-absent-source`` — with ``SILENT`` kg-engine then
changes nothing, pyoxigraph empties the destination (checked by re-running pyoxigraph with
those operations skipped).

A differing request is shrunk (fewer operations, template triples, data triples, a smaller
``WHERE``) and rdflib's own update evaluator gives a second opinion: where rdflib's store ends
as kg-engine's and not as pyoxigraph's, the outcome is ``majority:kg`` (listed for a human to
judge, not counted as agreement). :func:`run` drives it
and returns a :class:`~kg_engine.testing.differential.Report`;
``benchmarks/sparql_differential.py --update`` is the command line.

Example:
    >>> gen = UpdateGenerator(3, existing=["ex:n0 ex:p0 ex:n1 ."])
    >>> req = gen.request()
    >>> req.render().startswith("PREFIX ex:")
    True
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Literal, URIRef

from kg_engine.testing.differential import (
    EX as EX_IRI,
)
from kg_engine.testing.differential import (
    NODES,
    PREDS,
    PREFIXES,
    VARS,
    Case,
    Outcome,
    QueryGenerator,
    Report,
    _candidates,
    _canon_lex,
    _render_pattern,
    _vars,
    canonical_dataset,
    make_dataset,
)
from kg_engine.testing.differential import (
    shrink as _shrink,
)

__all__ = ["Request", "UpdateEngines", "UpdateGenerator", "compare_states", "ox_dataset", "run"]

GRAPHS = ["ex:g1", "ex:g2", "ex:g3"]  # ex:g3 is never in the dataset
LITS = ["1", "2", "2.5", '"abc"', '"abc"@en', '"x y"', "true", '"2021-06-01"^^xsd:date',
        '"zz"^^ex:custom', '"new"']
DEFAULT_G = ""  # the default graph's name in a normalised quad


# -- generator -------------------------------------------------------------------------------
class UpdateGenerator:
    """Random SPARQL 1.1 Update requests (see module docstring).

    Args:
        seed: the random seed (the same seed gives the same requests).
        existing: ground statements of the dataset, ``"s p o ."`` for the default graph or
            ``"GRAPH g { s p o . }"``, used by ``DELETE DATA`` so it often hits.
    """

    def __init__(self, seed: int, existing: list[str]) -> None:
        self.rng = random.Random(seed)
        self.queries = QueryGenerator(seed * 31 + 7, max_depth=2)
        self.existing = existing

    def _node(self) -> str:
        return self.rng.choice([*NODES, "ex:n6"])

    def _ground(self, bnodes: bool) -> str:
        r = self.rng
        s = r.choice(["_:x", "_:y"]) if bnodes and r.random() < 0.3 else self._node()
        o = (r.choice(["_:x", "_:y"]) if bnodes and r.random() < 0.2 else
             self._node() if r.random() < 0.4 else r.choice(LITS))
        return f"{s} {r.choice(PREDS)} {o} ."

    def _quad_data(self, bnodes: bool, from_existing: bool) -> list[list]:
        """``[graph or "", triple text]`` items of an INSERT/DELETE DATA block."""
        r = self.rng
        out = []
        for _ in range(r.choice([1, 1, 2, 3])):
            if from_existing and self.existing and r.random() < 0.7:
                t = r.choice(self.existing)
                if t.startswith("GRAPH "):
                    g, body = t[6:].split(" { ", 1)
                    out.append([g, body.removesuffix(" }")])
                else:
                    out.append(["", t])
            else:
                out.append([r.choice(["", "", *GRAPHS]), self._ground(bnodes)])
        return out

    def _template(self, scope: list[str], bnodes: bool) -> list[list]:
        """``[graph, s, p, o]`` template items; graph "" (default/WITH), an IRI or ``?g``."""
        r = self.rng
        vs = scope or VARS[:2]
        out = []
        for _ in range(r.choice([1, 1, 2])):
            def term(obj: bool) -> str:
                x = r.random()
                if x < 0.6:
                    return r.choice(vs)
                if bnodes and x < 0.7:
                    return "_:t"
                return r.choice(LITS) if obj and x < 0.85 else self._node()
            g = r.choice(["", "", "", "ex:g1", "ex:g3", *(["?g"] if "?g" in scope else [])])
            out.append([g, term(False), r.choice([*PREDS, *(["?pp"] if "?pp" in scope else [])]),
                        term(True)])
        return out

    def _target(self, named_all: bool) -> str:
        opts = ["DEFAULT", "GRAPH ex:g1", "GRAPH ex:g2", "GRAPH ex:g3"]
        if named_all:
            opts += ["NAMED", "ALL"]
        return self.rng.choice(opts)

    def operation(self) -> dict[str, Any]:
        r = self.rng
        silent = r.random() < 0.3
        k = r.randrange(12)
        if k < 2:
            return {"kind": "INSERT DATA", "data": self._quad_data(True, False)}
        if k < 4:
            return {"kind": "DELETE DATA", "data": self._quad_data(False, True)}
        if k == 4:
            where = self.queries.group(1)
            body = [it for it in where[1:] if it[0] in ("triple", "graph") and
                    (it[0] == "triple" or all(c[0] == "triple" for c in it[2][1:]))]
            # DELETE WHERE takes quad patterns only: triples without paths, GRAPH of triples
            items = [it for it in body if it[0] == "graph" or
                     (it[2] in PREDS or it[2] == "?pp") and not it[1].startswith('"')]
            if not items:
                items = [["triple", "?v0", r.choice(PREDS), "?v1"]]
            return {"kind": "DELETE WHERE", "where": ["group", *items]}
        if k < 8:
            where = self.queries.group(1)
            scope = sorted(_vars(where))
            op: dict[str, Any] = {"kind": "MODIFY", "where": where,
                                  "with": r.choice([None, None, None, *GRAPHS]),
                                  "using": [], "delete": [], "insert": []}
            shape = r.choice(["di", "d", "i", "di"])
            if "d" in shape:
                op["delete"] = self._template(scope, False)
            if "i" in shape:
                op["insert"] = self._template(scope, True)
            if r.random() < 0.25:
                op["using"] = r.sample(["USING ex:g1", "USING ex:g2", "USING ex:g3",
                                        "USING NAMED ex:g1", "USING NAMED ex:g2"], r.choice([1, 2]))
            return op
        if k == 8:
            return {"kind": r.choice(["CLEAR", "DROP"]), "silent": silent,
                    "target": self._target(True)}
        if k == 9:
            return {"kind": "CREATE", "silent": silent, "target": r.choice(GRAPHS)}
        src, dst = self._target(False), self._target(False)
        return {"kind": r.choice(["ADD", "COPY", "MOVE"]), "silent": silent,
                "src": src.removeprefix("GRAPH "), "dst": dst.removeprefix("GRAPH ")}

    def request(self) -> Request:
        """One generated request (a :class:`Request`)."""
        return Request([self.operation() for _ in range(self.rng.choice([1, 1, 2, 3]))])


def _render_data(items: list[list]) -> str:
    dflt = [t for g, t in items if not g]
    parts = list(dflt)
    for g in dict.fromkeys(g for g, _ in items if g):
        parts.append(f"GRAPH {g} {{ " + " ".join(t for h, t in items if h == g) + " }")
    return "{ " + " ".join(parts) + " }"


def _render_template(items: list[list]) -> str:
    parts = [f"{s} {p} {o} ." for g, s, p, o in items if not g]
    for g in dict.fromkeys(it[0] for it in items if it[0]):
        parts.append(f"GRAPH {g} {{ " + " ".join(f"{s} {p} {o} ." for h, s, p, o in items if h == g)
                     + " }")
    return "{ " + " ".join(parts) + " }"


def render_operation(op: dict[str, Any]) -> str:
    """SPARQL Update text of one generated operation."""
    kind = op["kind"]
    silent = " SILENT" if op.get("silent") else ""
    if kind in ("INSERT DATA", "DELETE DATA"):
        return f"{kind} " + _render_data(op["data"])
    if kind == "DELETE WHERE":
        return "DELETE WHERE " + _render_pattern(op["where"])
    if kind == "MODIFY":
        text = f"WITH {op['with']} " if op["with"] else ""
        if op["delete"]:
            text += "DELETE " + _render_template(op["delete"]) + " "
        if op["insert"]:
            text += "INSERT " + _render_template(op["insert"]) + " "
        text += " ".join(op["using"]) + (" " if op["using"] else "")
        return text + "WHERE " + _render_pattern(op["where"])
    if kind in ("CLEAR", "DROP"):
        return f"{kind}{silent} {op['target']}"
    if kind == "CREATE":
        return f"CREATE{silent} GRAPH {op['target']}"
    return f"{kind}{silent} {op['src']} TO {op['dst']}"


@dataclass
class Request:
    """A generated update request: its operations."""

    ops: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> str:
        return PREFIXES + " ;\n".join(render_operation(op) for op in self.ops)


# -- engines and states ----------------------------------------------------------------------
def _term(t: Any) -> Any:
    """A normalised rdflib term: literals by canonical lexical form (pyoxigraph canonicalises)."""
    if isinstance(t, Literal):
        if t.language:
            return Literal(str(t), lang=t.language.lower())
        dt = str(t.datatype) if t.datatype is not None else None
        if dt == "http://www.w3.org/2001/XMLSchema#string":
            dt = None
        return Literal(_canon_lex(str(t), dt), datatype=dt)
    return t


def _ox_term(t: Any) -> Any:
    name = type(t).__name__
    if name == "BlankNode":
        return BNode("o" + t.value)
    if name == "NamedNode":
        return URIRef(t.value)
    if name == "DefaultGraph":
        return DEFAULT_G
    lang = t.language
    return _term(Literal(t.value, lang=lang) if lang else Literal(t.value, datatype=t.datatype.value))


@dataclass
class State:
    """A store's content: normalised quads ``(s, p, o, graph or "")`` and named graphs."""

    quads: set[tuple] = field(default_factory=set)
    graphs: set[str] = field(default_factory=set)
    error: str | None = None


class UpdateEngines:
    """kg-engine and pyoxigraph stores holding the same dataset, reset before each request."""

    def __init__(self, trig: str, url: str = "sqlite://") -> None:
        import pyoxigraph as ox

        from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
        from kg_engine.store import open_store

        self.trig = trig
        self.sql = open_store(url)
        self.kg = KgDataset(store=KgSparqlStore(store=self.sql))
        self.ox = ox.Store()

    def close(self) -> None:
        """Close kg-engine's store (its database connection)."""
        self.sql.close()

    def reset(self) -> None:
        import pyoxigraph as ox

        self.kg.store.flush()
        self.sql.remove((None, None, None))
        for g in self.sql.graphs():
            self.sql.drop_graph(g)
        self.kg.parse(data=self.trig, format="trig")
        self.kg.store.flush()
        self.ox.clear()
        self.ox.load(self.trig.encode(), ox.RdfFormat.TRIG)

    def run_kg(self, text: str) -> State:
        err = None
        try:
            self.kg.update(text)
        except Exception as exc:  # noqa: BLE001 - an outcome, judged by the caller
            err = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.kg.store.flush()
        default = URIRef("urn:x-rdflib:default")
        quads = {(_term(s), _term(p), _term(o), DEFAULT_G if g == default else str(g))
                 for s, p, o, g in self.sql.triples()}
        graphs = {str(g) for g in self.sql.graphs() if g != default} | \
            {q[3] for q in quads if q[3] != DEFAULT_G}
        return State(quads, graphs, err)

    def run_ox(self, text: str) -> State:
        err = None
        try:
            self.ox.update(text)
        except Exception as exc:  # noqa: BLE001
            err = f"{type(exc).__name__}: {str(exc)[:300]}"
        return self._ox_state(err)

    def _ox_state(self, err: str | None = None) -> State:
        quads = {(_ox_term(q.subject), _ox_term(q.predicate), _ox_term(q.object),
                  _ox_term(q.graph_name)) for q in self.ox}
        quads = {(s, p, o, g if g == DEFAULT_G else str(g)) for s, p, o, g in quads}
        return State(quads, {g.value for g in self.ox.named_graphs()}, err)

    def run_ox_skipping_absent_sources(self, req: Request) -> State | None:
        """pyoxigraph running ``req`` one operation at a time, skipping the ``ADD``/``COPY``/
        ``MOVE SILENT`` operations whose source graph does not exist (None: an operation
        failed, so the request's atomicity cannot be reproduced this way)."""
        import pyoxigraph as ox

        for op in req.ops:
            src = op.get("src", "DEFAULT")
            if op["kind"] in ("ADD", "COPY", "MOVE") and op.get("silent") and src != "DEFAULT" \
                    and not self.ox.contains_named_graph(ox.NamedNode(src.replace("ex:", EX_IRI))):
                continue
            try:
                self.ox.update(PREFIXES + render_operation(op))
            except Exception:  # noqa: BLE001
                return None
        return self._ox_state()

    def run_rdflib(self, text: str) -> State:
        import rdflib.plugins.sparql as rsparql
        from rdflib import Dataset

        ds = Dataset()
        ds.parse(data=self.trig, format="trig")
        saved = rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS
        rsparql.SPARQL_DEFAULT_GRAPH_UNION = rsparql.SPARQL_LOAD_GRAPHS = False
        err = None
        try:
            ds.update(text)
        except Exception as exc:  # noqa: BLE001
            err = f"{type(exc).__name__}: {str(exc)[:200]}"
        finally:
            rsparql.SPARQL_DEFAULT_GRAPH_UNION, rsparql.SPARQL_LOAD_GRAPHS = saved
        default = URIRef("urn:x-rdflib:default")
        quads = {(_term(s), _term(p), _term(o), DEFAULT_G if c == default else str(c))
                 for s, p, o, c in ds.quads((None, None, None, None))}
        graphs = {str(c.identifier) for c in ds.graphs() if c.identifier != default}
        return State(quads, graphs, err)


#: seconds one blank-node comparison may take before its verdict is "undecided"
COMPARE_SECONDS = 20.0
#: up to this many blank nodes a side, the comparison runs in the process (no fork)
_INLINE_BNODES = 8


def ox_dataset(quads: Iterable[tuple], label: str = "b") -> Any:
    """The normalised quads as a ``pyoxigraph.Dataset``: blank nodes renamed ``b0``, ``b1``…
    (``label`` is the prefix), a graph name an IRI (text or ``URIRef``) or a blank node."""
    import pyoxigraph as ox

    names: dict[BNode, Any] = {}

    def term(t: Any) -> Any:
        if isinstance(t, BNode):
            return names.setdefault(t, ox.BlankNode(f"{label}{len(names)}"))
        if isinstance(t, URIRef):
            return ox.NamedNode(str(t))
        if isinstance(t, str) and not isinstance(t, Literal):
            return ox.NamedNode(t)
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)) if t.datatype else None)

    return ox.Dataset(ox.Quad(term(s), term(p), term(o),
                              ox.DefaultGraph() if g == DEFAULT_G else term(g))
                      for s, p, o, g in quads)


def _canonical_equal(a: set[tuple], b: set[tuple]) -> bool:
    """Whether the two quad sets are equal after RDFC-1.0 canonicalisation (pyoxigraph's)."""
    import pyoxigraph as ox

    da, db = ox_dataset(a), ox_dataset(b)
    da.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    db.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return bool(da == db)


def same_quads(a: set[tuple], b: set[tuple], limit: float | None = None) -> bool | None:
    """Whether two quad sets are equal up to a renaming of blank nodes; None: undecided.

    The blank-node part is decided by RDFC-1.0 canonicalisation of both sides (a W3C
    algorithm: isomorphic datasets get the same canonical form). It is exponential in the worst
    case (rdflib's ``isomorphic`` already was on a few hundred interchangeable fresh blank nodes,
    ``ex:n6 ex:p1 _:bK`` for K in 1..260: update seed 990022), so it runs in a forked child
    given ``limit`` seconds (default :data:`COMPARE_SECONDS`); a child that does not answer in
    time gives None, which :func:`compare_states` reports as ``undecided`` (never as agreement).

    Example:
        >>> p = URIRef("http://example.org/p")
        >>> same_quads({(BNode(), p, BNode(), "")}, {(BNode(), p, BNode(), "")})
        True
        >>> x = BNode()
        >>> same_quads({(x, p, x, "")}, {(BNode(), p, BNode(), "")})
        False
    """
    if len(a) != len(b):
        return False
    if not any(isinstance(t, BNode) for q in a | b for t in q):
        return a == b
    if _ground(a) != _ground(b):
        return False
    from kg_engine.testing.differential import ReferencePanic, _in_child

    if not hasattr(os, "fork") or \
            len({t for q in a for t in q if isinstance(t, BNode)}) <= _INLINE_BNODES:
        return _canonical_equal(a, b)  # few blank nodes: fast whatever their shape
    try:
        return bool(_in_child(lambda: _canonical_equal(a, b),
                              timeout=COMPARE_SECONDS if limit is None else limit))
    except (TimeoutError, ReferencePanic):
        return None


def _show(quads: set[tuple]) -> list[str]:
    out = []
    for s, p, o, g in sorted(quads, key=repr)[:4]:
        out.append(" ".join("_:b" if isinstance(t, BNode) else t.n3() for t in (s, p, o))
                   + (f" @{g}" if g else ""))
    return out


def _ground(quads: set[tuple]) -> set[tuple]:
    return {q for q in quads if not any(isinstance(t, BNode) for t in q)}


def compare_states(kg: State, ox: State) -> Outcome:
    """The verdict on one request from the two stores' states after it."""
    if (kg.error is None) != (ox.error is None):
        who = "kg-error" if kg.error else "ox-error"
        return Outcome(who, f"kg: {kg.error or 'ok'} / pyoxigraph: {ox.error or 'ok'}")
    same = same_quads(kg.quads, ox.quads)
    if same is None:
        return Outcome("undecided", f"{len(kg.quads)} quads each; the blank-node comparison "
                                    f"did not finish in {COMPARE_SECONDS:g} s")
    if not same:
        diff = (f"{len(kg.quads)} quads each, not isomorphic" if len(kg.quads) == len(ox.quads)
                else f"{len(kg.quads)} vs {len(ox.quads)} quads")
        kp, op = _ground(kg.quads), _ground(ox.quads)
        return Outcome("differ", f"{diff}; kg-only={_show(kp - op)} ox-only={_show(op - kp)}")
    if kg.graphs != ox.graphs:
        odd = kg.graphs ^ ox.graphs
        used = {q[3] for q in kg.quads}
        if not odd & used:
            return Outcome("deviation:empty-graph",
                           f"empty graphs kg-only={sorted(kg.graphs - ox.graphs)} "
                           f"ox-only={sorted(ox.graphs - kg.graphs)}")
        return Outcome("differ", f"graphs kg={sorted(kg.graphs)} ox={sorted(ox.graphs)}")
    return Outcome("agree")


def evaluate(engines: UpdateEngines, req: Request) -> Outcome:
    """Apply ``req`` to freshly reset stores and compare the results.

    A difference that disappears when pyoxigraph skips each ``ADD``/``COPY``/``MOVE SILENT``
    whose source graph does not exist (kg-engine's reading: the operation fails, ``SILENT``
    hides the failure, nothing changes; pyoxigraph copies the absent graph as an empty one,
    emptying the destination) is the documented deviation ``silent-absent-source``."""
    text = req.render()
    engines.reset()
    kg = engines.run_kg(text)
    ox = engines.run_ox(text)
    out = compare_states(kg, ox)
    if out.status == "kg-error" and "source graph" in (kg.error or "") and \
            "does not exist" in (kg.error or ""):
        return Outcome("deviation:absent-source", out.detail)
    if out.status == "differ" and any(op["kind"] in ("COPY", "MOVE") and op.get("silent")
                                      for op in req.ops):
        engines.reset()
        alt = engines.run_ox_skipping_absent_sources(req)
        if alt is not None and compare_states(kg, alt).status in ("agree", "deviation:empty-graph"):
            return Outcome("deviation:silent-absent-source", out.detail)
    if out.status == "differ":
        rd = engines.run_rdflib(text)
        ok = ("agree", "deviation:empty-graph")
        if compare_states(kg, rd).status in ok and compare_states(ox, rd).status not in ok:
            return Outcome("majority:kg", out.detail + " (rdflib agrees with kg-engine)")
    return out


# -- shrinking -------------------------------------------------------------------------------
def _candidates_of(req: Request) -> list[Request]:
    out: list[Request] = []
    ops = req.ops
    if len(ops) > 1:
        out.extend(Request(ops[:i] + ops[i + 1:]) for i in range(len(ops)))
    for i, op in enumerate(ops):
        def variant(i: int = i, **changes: Any) -> None:
            new = copy.deepcopy(req)
            new.ops[i].update(changes)
            out.append(new)
        for key in ("data", "delete", "insert", "using"):
            items = op.get(key) or []
            if len(items) > (0 if key in ("using",) else 1) or \
                    (key in ("delete", "insert") and items and op.get("delete") and op.get("insert")):
                for j in range(len(items)):
                    variant(**{key: items[:j] + items[j + 1:]})
        if op.get("with"):
            variant(**{"with": None})
        if op.get("silent"):
            variant(silent=False)
        if "where" in op:
            for cand in _candidates(Case(["ask", op["where"]])):
                if cand.tree[0] == "ask" and cand.tree[1] and cand.tree[1][0] == "group":
                    variant(where=cand.tree[1])
    return out


def shrink(req: Request, fails: Callable[[Request], bool], budget: int = 200) -> Request:
    """A smaller request for which ``fails`` still holds (greedy, at most ``budget`` tries)."""
    return _shrink(req, fails, budget, candidates=_candidates_of)


# -- driver ----------------------------------------------------------------------------------
def existing_statements(trig: str) -> list[str]:
    """The dataset's ground statements (no blank node), as DELETE DATA items."""
    from rdflib import Dataset

    from kg_engine.sparql.parsing import exact_literals

    ds = Dataset()
    with exact_literals():  # "10"^^xsd:double stays "10": the term the stores hold
        ds.parse(data=trig, format="trig")
    out = []
    for s, p, o, c in ds.quads((None, None, None, None)):
        if any(isinstance(t, BNode) for t in (s, p, o)):
            continue
        t = f"{s.n3()} {p.n3()} {o.n3()} ."
        name = str(c.identifier) if hasattr(c, "identifier") else str(c)
        out.append(t if name == "urn:x-rdflib:default" else f"GRAPH <{name}> {{ {t} }}")
    return sorted(out)


def run(seed: int, requests: int, *, url: str | Callable[[], str] = "sqlite://",
        datasets: int = 1, shrink_failures: bool = True, max_shrunk: int = 40,
        progress: Callable[[int, Outcome], None] | None = None) -> Report:
    """Generate ``requests`` update requests (over ``datasets`` datasets) from ``seed``, apply
    each to kg-engine (``url``, or a function returning a fresh database URL) and pyoxigraph,
    compare the stores; shrink the failures."""
    report = Report()
    per = max(1, requests // datasets)
    for d in range(datasets):
        trig = canonical_dataset(make_dataset(seed * 1000 + d))
        engines = UpdateEngines(trig, url=url() if callable(url) else url)
        try:
            gen = UpdateGenerator(seed * 1000 + d, existing_statements(trig))
            n = per if d < datasets - 1 else requests - per * (datasets - 1)
            for _ in range(n):
                req = gen.request()
                out = evaluate(engines, req)
                report.queries += 1
                report.counts[out.status] += 1
                if progress is not None:
                    progress(report.queries, out)
                if out.status in ("differ", "kg-error", "ox-error", "majority:kg", "undecided"):
                    entry: dict[str, Any] = {"status": out.status, "query": req.render(),
                                             "detail": out.detail, "dataset_seed": seed * 1000 + d}
                    if shrink_failures and len(report.failures) < max_shrunk and \
                            out.status != "undecided":
                        status = out.status

                        def fails(r: Request, status: str = status, e: UpdateEngines = engines) -> bool:
                            return evaluate(e, r).status == status
                        small = shrink(req, fails)
                        entry["shrunk"] = small.render()
                        entry["shrunk_detail"] = evaluate(engines, small).detail
                        if status in ("differ", "majority:kg"):
                            entry["rdflib"] = _second_opinion(engines, small)
                    report.failures.append(entry)
        finally:
            engines.close()
    return report


def _second_opinion(engines: UpdateEngines, req: Request) -> str:
    text = req.render()
    rd = engines.run_rdflib(text)
    engines.reset()
    kg = engines.run_kg(text)
    engines.reset()
    ox = engines.run_ox(text)
    verdicts = []
    for name, st in (("kg-engine", kg), ("pyoxigraph", ox)):
        same = compare_states(st, rd).status in ("agree", "deviation:empty-graph")
        verdicts.append(f"rdflib {'agrees' if same else 'differs'} with {name}")
    return "; ".join(verdicts)
