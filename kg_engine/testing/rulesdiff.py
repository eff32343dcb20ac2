"""Differential testing of the rule engine against owlrl and against itself.

Three regimes, each over small ontologies + data drawn by :func:`generate` from a seed:

* ``rdfs`` — kg-engine's ``rdfs`` closure against owlrl's ``RDFS_Semantics``;
* ``owl-rl`` — kg-engine's ``owl-rl`` closure against owlrl's ``OWLRL_Semantics``;
* ``incremental`` — a random sequence of writes (``RuleEngine.add``, ``RuleEngine.remove``,
  plain store writes followed by ``reason()``, ``reason(recompute=True)``) ends with the
  same closure as a fresh full run over the same asserted data, inserted in another order
  (term ids permuted too), ``owl:sameAs`` included; with ``live=True`` the program is the
  store's reasoning profile and the writes are plain store writes (live maintenance).

Closures are compared as sets of triples, modulo the differences that ``docs/rules.md``
("Differences from owlrl") documents; :func:`normalise` is that list, one clause each:

* axiomatic and vocabulary-level triples (``x a rdfs:Resource``, ``C rdfs:subClassOf
  owl:Thing``, ``p a rdf:Property``, anything about ``rdf:``/``rdfs:``/``owl:``/``xsd:`` terms)
  and reflexive ``subClassOf``/``subPropertyOf``/``equivalentClass``/``equivalentProperty``/
  ``sameAs`` — kg-engine leaves them out on purpose;
* no triple has a literal subject, and ``owl:sameAs`` never relates a literal: the
  reference runs owlrl with both dropped as they are produced (:class:`_Reference`), so
  what owlrl derives *through* such a triple (``"x" p a1`` then ``a1 a C`` by a range) is
  left out too;
* ``owl:sameAs`` is compared as a partition (kg-engine keeps a star around each class's
  representative, owlrl the clique);
* no D-entailment between literals of equal value: owlrl's RDFS copies every triple from
  a literal to each literal with an equal Python value (and takes ``"x"`` and ``"x"@en``
  for one value); the reference skips that step;
* kg-engine's scm-svf1, scm-avf1 and scm-hv also hold for a class or property that is not
  declared (``c a owl:Class``, ``p a owl:ObjectProperty``): owlrl needs the declaration for
  the reflexive ``c subClassOf c`` they use; the generator declares its classes and properties;
* owlrl's prp-key compares every key property but the last (``range(0, len(pis) - 1)``);
  the reference uses the rule as the OWL 2 RL table states it.

Example:
    >>> import random
    >>> case = generate(random.Random(1), "rdfs")
    >>> check_closure(case, "rdfs").ok
    True
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

__all__ = [
    "CaseResult",
    "check_closure",
    "check_incremental",
    "generate",
    "kg_closure",
    "normalise",
    "owlrl_closure",
]

EX = "http://example.org/d/"
T, SC, SP, EQC, EQP = RDF.type, RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty
_BUILTIN_NS = (str(RDF), str(RDFS), str(OWL), str(XSD))
_ERR_NS = "http://www.daml.org/2002/03/agents/agent-ont#"
#: classes owlrl types every resource / class / property with
_AXIOMATIC_TYPES = frozenset({
    RDFS.Resource, OWL.Thing, RDF.Property, RDFS.Class, OWL.Class, OWL.ObjectProperty,
    OWL.DatatypeProperty, OWL.AnnotationProperty, RDFS.Datatype, RDFS.Literal, OWL.NamedIndividual,
})
_REFLEXIVE = frozenset({SC, SP, EQC, EQP, OWL.sameAs})


def U(name: str) -> URIRef:
    return URIRef(EX + name)


# -- generation ------------------------------------------------------------------------------


def generate(rng: random.Random, regime: str, *, size: int | None = None) -> list[tuple]:
    """A small ontology and data set (a list of triples) for ``regime`` (``rdfs``/``owl-rl``).

    Vocabulary: individuals ``a0…a5``, classes ``C0…C4``, properties ``p0…p3``, a few
    literals; the TBox draws from every rule group of the regime (lists and restrictions
    on blank nodes, as ontologies write them).
    """
    inds = [U(f"a{i}") for i in range(6)]
    if rng.random() < 0.3:  # a blank-node individual (subject and object of data)
        inds.append(BNode("ind"))
    classes = [U(f"C{i}") for i in range(5)]
    props = [U(f"p{i}") for i in range(4)]
    lits = [Literal("x"), Literal("y"), Literal(1), Literal("x", lang="en")]
    g = Graph()
    ch = rng.choice

    def lst(items: list) -> BNode:
        head = BNode()
        Collection(g, head, items)
        return head

    n_schema = size if size is not None else rng.randint(2, 7)
    schema: list = [
        lambda: g.add((ch(classes), SC, ch(classes))),
        lambda: g.add((ch(props), SP, ch(props))),
        lambda: g.add((ch(props), RDFS.domain, ch(classes))),
        lambda: g.add((ch(props), RDFS.range, ch(classes))),
        lambda: g.add((ch(props), RDFS.range, ch([XSD.string, XSD.integer, RDFS.Literal]))),
    ]
    if regime != "rdfs":
        def restriction(kind: Any) -> BNode:
            r = BNode()
            g.add((r, T, OWL.Restriction))
            g.add((r, OWL.onProperty, ch(props)))
            if kind == OWL.hasValue:
                g.add((r, kind, ch(inds + lits[:1])))
            elif kind == OWL.maxCardinality:
                g.add((r, kind, Literal(rng.choice([0, 1]), datatype=XSD.nonNegativeInteger)))
            elif kind == OWL.maxQualifiedCardinality:
                g.add((r, kind, Literal(rng.choice([0, 1]), datatype=XSD.nonNegativeInteger)))
                g.add((r, OWL.onClass, ch(classes + [OWL.Thing])))
            else:
                g.add((r, kind, ch(classes)))
            return r

        def cls_expr() -> Any:
            return ch(classes) if rng.random() < 0.6 else restriction(
                ch([OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue]))

        schema += [
            lambda: g.add((ch(classes), EQC, ch(classes))),
            lambda: g.add((ch(props), EQP, ch(props))),
            lambda: g.add((ch(props), OWL.inverseOf, ch(props))),
            lambda: g.add((ch(props), T, ch([OWL.SymmetricProperty, OWL.TransitiveProperty,
                                               OWL.FunctionalProperty, OWL.InverseFunctionalProperty]))),
            lambda: g.add((ch(classes), ch([SC, EQC]), restriction(
                ch([OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue, OWL.maxCardinality,
                    OWL.maxQualifiedCardinality])))),
            lambda: g.add((restriction(ch([OWL.someValuesFrom, OWL.hasValue])), SC, ch(classes))),
            lambda: g.add((ch(classes), EQC, _expr_list(rng, g, lst, OWL.intersectionOf, cls_expr))),
            lambda: g.add((_expr_list(rng, g, lst, OWL.intersectionOf, cls_expr), SC, ch(classes))),
            lambda: g.add((_expr_list(rng, g, lst, OWL.unionOf, lambda: ch(classes)), SC, ch(classes))),
            lambda: g.add((ch(classes), EQC, _expr_list(rng, g, lst, OWL.oneOf, lambda: ch(inds)))),
            lambda: g.add((ch(props), OWL.propertyChainAxiom, lst([ch(props) for _ in range(rng.randint(2, 3))]))),
            lambda: g.add((ch(classes), OWL.hasKey, lst(rng.sample(props, rng.randint(1, 2))))),
        ]
    for _ in range(n_schema):
        ch(schema)()
    if regime != "rdfs":
        # declared, as ontologies do: owlrl's scm-cls / scm-op need the declaration to give
        # ``c subClassOf c`` / ``p subPropertyOf p`` (kg-engine does not, see docs/rules.md)
        for c in classes:
            g.add((c, T, OWL.Class))
        for p in props:
            g.add((p, T, OWL.ObjectProperty))
    n_data = rng.randint(3, 12)
    for _ in range(n_data):
        r = rng.random()
        if r < 0.3:
            g.add((ch(inds), T, ch(classes)))
        elif r < 0.85:
            g.add((ch(inds), ch(props), ch(inds)))
        else:
            g.add((ch(inds), ch(props), ch(lits)))
    if regime != "rdfs" and rng.random() < 0.35:
        for _ in range(rng.randint(1, 3)):  # chains a-b, b-c; now and then with a literal
            g.add((ch(inds), OWL.sameAs, ch(inds + lits[:1]) if rng.random() < 0.15 else ch(inds)))
    if regime != "rdfs" and rng.random() < 0.05:  # equality of properties / classes
        pool = ch([props, classes])
        g.add((ch(pool), OWL.sameAs, ch(pool)))
    return sorted(g, key=lambda t: tuple(x.n3() for x in t))


def _expr_list(rng: random.Random, g: Graph, lst: Any, kind: URIRef, item: Any) -> BNode:
    node = BNode()
    g.add((node, kind, lst([item() for _ in range(rng.randint(1, 3))])))
    return node


# -- closures --------------------------------------------------------------------------------


def kg_closure(facts: Iterable[tuple], program: str, url: str = "sqlite://", *,
               shuffle: random.Random | None = None, quads: bool = False,
               check: Any = None) -> set[tuple]:
    """The triples (``quads``: statements with their graph) of a fresh store holding
    ``facts`` (triples or quads) after ``reason(program)``.

    ``shuffle`` permutes the insertion order of the terms and of the triples; ``check(store)``
    runs on the store before it is closed (e.g. :func:`explain_problems`).
    """
    from kg_engine.rules.engine import reason
    from kg_engine.store import open_store

    facts = list(facts)
    store = open_store(url)
    try:
        if shuffle is not None:
            terms = sorted({t for f in facts for t in f[:3]}, key=lambda t: t.n3())
            shuffle.shuffle(terms)
            for t in terms:
                store.term_ids([t], create=True)
            facts = shuffle.sample(facts, len(facts))
        store.add(facts)
        reason(store, program)
        if check is not None:
            check(store)
        return _store_quads(store) if quads else _store_triples(store)
    finally:
        store.close()


def _store_triples(store: Any) -> set[tuple]:
    return {(s, p, o) for s, p, o, _ in store.triples((None, None, None))}


def _store_quads(store: Any) -> set[tuple]:
    """Every statement of ``store`` with its graph: where an inference is stored matters
    (``GRAPH ?g``, the default graph with inferences, ``explain``), not only that it is."""
    return set(store.triples((None, None, None)))


#: named graphs the write sequences assert data in (rules read every asserted graph)
GRAPHS = (U("G1"), U("G2"))


def _with_graphs(rng: random.Random, pool: list[tuple]) -> list[tuple]:
    """``pool`` as quads; in half the cases some statements go to a named graph, some to
    the default graph *and* a named one (rules read the union of the asserted graphs)."""
    from kg_engine.core.terms import DEFAULT_GRAPH

    out = [(*t, DEFAULT_GRAPH) for t in pool]
    if rng.random() < 0.5:
        for t in pool:
            r = rng.random()
            if r < 0.2:
                out.remove((*t, DEFAULT_GRAPH))
                out.append((*t, rng.choice(GRAPHS)))
            elif r < 0.3:
                out.append((*t, rng.choice(GRAPHS)))
    return out


def _pool(rng: random.Random, regime: str, program: str) -> list[tuple]:
    """Statements a write sequence draws from: two generated cases and a few statements
    their closure infers (asserting, deleting and re-adding an inferable statement moves it
    between the asserted graphs and the inferred one), as quads (:func:`_with_graphs`)."""
    base = list(dict.fromkeys(generate(rng, regime) + generate(rng, regime)))
    inferred = sorted(kg_closure(base, program) - set(base), key=str)
    inferred = [t for t in inferred if not _noise(t) and not isinstance(t[0], BNode)]
    return _with_graphs(rng, base + rng.sample(inferred, min(len(inferred), rng.randint(0, 4))))


def _drop(asserted: set, batch: list) -> set:
    """``asserted`` less ``batch``: a triple leaves every graph, a quad its own."""
    triples = {t for t in batch if len(t) == 3}
    return {q for q in asserted if q not in batch and q[:3] not in triples}


def _removal_batch(rng: random.Random, asserted: set) -> list:
    """1–3 asserted statements to remove, each named as a quad or (every graph) a triple."""
    batch = rng.sample(sorted(asserted, key=str), rng.randint(1, min(3, len(asserted))))
    return [q if rng.random() < 0.6 else q[:3] for q in batch]


def owlrl_closure(facts: Iterable[tuple], regime: str) -> set[tuple]:
    """owlrl's closure of ``facts`` (RDFS or OWL 2 RL), as :class:`_Reference` computes it."""
    import owlrl

    g = Graph()
    for t in facts:
        if t[1] == OWL.sameAs and isinstance(t[2], Literal):
            continue  # ignored, asserted or derived (documented: sameAs with a literal)
        g.add(t)
    base = owlrl.RDFS_Semantics if regime == "rdfs" else owlrl.OWLRL_Semantics
    cls = _reference_class(base)
    owlrl.DeductiveClosure(cls, axiomatic_triples=False, datatype_axioms=False).expand(g)
    return set(g)


_REF_CLASSES: dict[Any, Any] = {}


def _reference_class(base: Any) -> Any:
    """owlrl's closure class with the documented differences (see the module docstring)."""
    if base in _REF_CLASSES:
        return _REF_CLASSES[base]

    import owlrl

    class _Reference(base):  # type: ignore[misc, valid-type]
        def one_time_rules(self) -> None:
            if base is owlrl.RDFS_Semantics:
                # owlrl's "hidden sameAs" between value-equal literals: no D-entailment here
                # (and it takes "x" and "x"@en for one value)
                return
            super().one_time_rules()

        def store_triple(self, t: tuple) -> None:
            s, p, o = t
            if isinstance(s, Literal) or (p == OWL.sameAs and isinstance(o, Literal)):
                return
            super().store_triple(t)

        def _properties(self, triple: tuple, cycle_num: int) -> None:
            if triple[1] == OWL.hasKey:
                self._has_key(triple[0], triple[2])
                return
            super()._properties(triple, cycle_num)

        def _has_key(self, c: Any, u: Any) -> None:
            # prp-key: x, y of class c with the same value for *every* key property
            pis = self._list(u)
            if not pis:
                return
            members = list(self.graph.subjects(RDF.type, c))
            for x in members:
                for y in members:
                    if x == y:
                        continue
                    if all(
                        any((y, pi, z) in self.graph for z in self.graph.objects(x, pi)) for pi in pis
                    ):
                        self.store_triple((x, OWL.sameAs, y))

    _REF_CLASSES[base] = _Reference
    return _Reference


# -- comparison ------------------------------------------------------------------------------


def _builtin(t: Any) -> bool:
    return isinstance(t, URIRef) and str(t).startswith(_BUILTIN_NS)


def _noise(t: tuple) -> bool:
    s, p, o = t
    if isinstance(s, Literal) or _builtin(s):
        return True
    if str(p).startswith(_ERR_NS) or (p == T and str(o).startswith(_ERR_NS)):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if p == T and o in _AXIOMATIC_TYPES:
        return True
    if p in (SC, EQC, RDFS.domain, RDFS.range) and (o in (OWL.Thing, RDFS.Resource) or s == OWL.Nothing):
        return True
    if p == OWL.sameAs and isinstance(o, Literal):
        return True
    return p in (SP, EQP) and _builtin(o)


def normalise(triples: Iterable[tuple]) -> tuple[frozenset, frozenset]:
    """(triples other than sameAs, the sameAs partition) with the documented noise removed."""
    rest: set[tuple] = set()
    parent: dict[Any, Any] = {}

    def root(a: Any) -> Any:
        while parent.get(a, a) != a:
            a = parent[a]
        return a

    for t in triples:
        if _noise(t):
            continue
        if t[1] == OWL.sameAs:
            ra, rb = root(t[0]), root(t[2])
            if ra != rb:
                parent[ra] = rb
            continue
        rest.add(t)
    classes: dict[Any, set] = {}
    for x in parent:
        classes.setdefault(root(x), {root(x)}).add(x)
    return frozenset(rest), frozenset(frozenset(c) for c in classes.values())


@dataclass
class CaseResult:
    """The outcome of one generated case."""

    seed: int
    regime: str
    facts: list[tuple]
    kg_only: set = field(default_factory=set)
    ref_only: set = field(default_factory=set)
    partition: tuple | None = None  # (ours, reference) when the sameAs classes differ
    note: str = ""
    explain: list[str] = field(default_factory=list)  # problems of explain() trees
    explained: int = 0  # trees checked

    @property
    def ok(self) -> bool:
        return not self.kg_only and not self.ref_only and self.partition is None and not self.explain

    def describe(self, limit: int = 8) -> str:
        def show(ts: set) -> str:
            return "; ".join(" ".join(_short(x) for x in t) for t in sorted(ts, key=str)[:limit])

        out = [f"seed {self.seed} [{self.regime}] {self.note}".rstrip()]
        if self.kg_only:
            out.append(f"  kg-engine only ({len(self.kg_only)}): {show(self.kg_only)}")
        if self.ref_only:
            out.append(f"  reference only ({len(self.ref_only)}): {show(self.ref_only)}")
        if self.partition is not None:
            out.append(f"  sameAs classes: ours {self.partition[0]} reference {self.partition[1]}")
        out += [f"  {p}" for p in self.explain[:limit]]
        out.append("  data: " + " . ".join(" ".join(_short(x) for x in t) for t in self.facts))
        return "\n".join(out)


def _short(t: Any) -> str:
    s = t.n3()
    for ns, pre in ((EX, ":"), (str(RDF), "rdf:"), (str(RDFS), "rdfs:"), (str(OWL), "owl:"), (str(XSD), "xsd:")):
        s = s.replace(f"<{ns}", pre)
    return s.replace(">", "") if s.startswith((":", "rdf", "owl", "xsd")) else s


def _compare(res: CaseResult, ours: set, ref: set) -> CaseResult:
    (a, pa), (b, pb) = normalise(ours), normalise(ref)
    res.kg_only, res.ref_only = set(a - b), set(b - a)
    if pa != pb:
        res.partition = (_show_partition(pa), _show_partition(pb))
    return res


def _show_partition(p: frozenset) -> list:
    return sorted(sorted(_short(x) for x in c) for c in p)


def check_closure(facts: list[tuple], regime: str, url: str = "sqlite://", seed: int = -1, *,
                  explain: bool = True) -> CaseResult:
    """kg-engine's closure of ``facts`` against the reference (``regime``: rdfs / owl-rl);
    with ``explain``, a sample of its inferred statements is explained too
    (:func:`explain_problems`)."""
    program = "rdfs" if regime == "rdfs" else "owl-rl"
    res = CaseResult(seed, regime, facts)

    def check(store: Any) -> None:
        if explain:
            res.explain, res.explained = explain_problems(store, random.Random(seed))

    return _compare(res, kg_closure(facts, program, url, check=check), owlrl_closure(facts, regime))


# -- explanations ----------------------------------------------------------------------------


def explain_problems(store: Any, rng: random.Random, sample: int = 6) -> tuple[list[str], int]:
    """Explain up to ``sample`` inferred statements of ``store``; every node of each tree must
    be a statement of the store (asserted or inferred) and every branch must end in asserted
    statements. Returns (problems, trees checked).

    The documented limitation (``docs/rules.md``, Explanations): with equalities *derived*
    by rules (``prp-fp``, ``prp-key``…) a few trees have an ``unexplained`` node; that is not
    reported when the store holds an inferred ``owl:sameAs``.
    """
    from kg_engine.rules.explain import explain

    quads = sorted(store.triples((None, None, None)), key=str)
    inferred = [q for q in quads if str(q[3]).startswith("urn:kg-engine:inferred:")]
    derived_eq = any(q[1] == OWL.sameAs for q in inferred)
    present = {q[:3] for q in quads}
    # inferred only (a statement also asserted is explained by its source)
    asserted = {q[:3] for q in quads if not str(q[3]).startswith("urn:kg-engine:inferred:")}
    inferred = [q for q in inferred if q[:3] not in asserted]
    problems: list[str] = []
    picked = rng.sample(inferred, min(sample, len(inferred)))
    for i, q in enumerate(picked):
        t = q[:3]
        every = i % 2 == 1  # every other one with all its derivations
        try:
            trees = explain(store, t, all_derivations=every).trees
        except Exception as exc:  # noqa: BLE001 - a crash is a finding
            problems.append(f"explain {_show(t)} raised {type(exc).__name__}: {exc}")
            continue
        for tree in trees:
            if tree.kind != "inferred" or tuple(tree.triple[:3]) != t:
                problems.append(f"explain {_show(t)}: root is {tree.kind} {_show(tree.triple[:3])}, "
                                "the statement is inferred")
            for node in tree.walk():
                nt = tuple(node.triple[:3])
                if nt not in present:
                    problems.append(f"explain {_show(t)}: premise {_show(nt)} "
                                    f"({node.rule or node.kind}) is not in the store")
                elif node.kind == "cycle" or (node.kind == "unexplained" and not derived_eq):
                    problems.append(f"explain {_show(t)}: node {_show(nt)} is {node.kind}")
    return problems, len(picked)


def _show(t: tuple) -> str:
    return " ".join(_short(x) for x in t)


# -- incremental -----------------------------------------------------------------------------


def check_incremental(rng: random.Random, program: str = "owl-rl", url: str = "sqlite://",
                      seed: int = -1, steps: int | None = None, *, live: bool = False,
                      api: bool = False) -> CaseResult:
    """A random write sequence ends with the statements of a fresh run (see module docstring).

    Statements are compared with their graph: data may sit in named graphs, in the default
    graph and a named one at once; removals name a quad or a triple (every graph).

    ``live``: the store has ``program`` as its reasoning profile
    (:func:`kg_engine.rules.live.set_profile`) and the writes are plain ``store.add`` /
    ``store.remove`` / ``store.remove_quads``, maintained by the store's hook; ``api``: the
    same through ``KnowledgeGraph.add`` / ``remove`` and SPARQL ``INSERT DATA`` /
    ``DELETE DATA`` / ``DELETE WHERE``; otherwise they go through ``RuleEngine.add`` /
    ``remove`` and ``reason()``. The final store's explanations are checked too.
    """
    if live or api:
        return _check_live(rng, program, url, seed, steps, api=api)
    from kg_engine.rules.engine import RuleEngine
    from kg_engine.store import open_store

    regime = "rdfs" if program == "rdfs" else "owl-rl"
    pool = _pool(rng, regime, program)
    asserted = set(rng.sample(pool, len(pool) // 2))
    log: list[str] = []
    res = CaseResult(seed, "incremental", [])
    store = open_store(url)
    try:
        store.add(sorted(asserted, key=str))
        eng = RuleEngine(store, program)
        eng.materialise()
        for _ in range(steps if steps is not None else rng.randint(2, 6)):
            op = rng.choice(["add", "add", "remove", "remove", "store+reason", "recompute"])
            if op == "recompute":
                RuleEngine(store, program).materialise(recompute=True)
                log.append("recompute")
                continue
            if op == "remove":
                if not asserted:
                    continue
                batch = _removal_batch(rng, asserted)
                eng.remove(batch)
                asserted = _drop(asserted, batch)
            else:
                batch = rng.sample(pool, rng.randint(1, 3))
                if op == "add":
                    eng.add(batch)
                else:
                    store.add(batch)
                    RuleEngine(store, program).materialise()
                asserted |= set(batch)
            log.append(f"{op} " + " . ".join(_show(t) for t in batch))
        ours = _store_quads(store)
        res.explain, res.explained = explain_problems(store, rng)
    finally:
        store.close()
    return _against_fresh(res, rng, ours, asserted, log, program, url)


def _against_fresh(res: CaseResult, rng: random.Random, ours: set, asserted: set, log: list[str],
                   program: str, url: str) -> CaseResult:
    res.facts, res.note = sorted(asserted, key=str), "| ".join(log)
    # the fresh run gets a store of its own: an in-memory SQLite one (a PostgreSQL URL names a
    # database that still holds the sequence's store, which made the comparison vacuous there)
    fresh = kg_closure(res.facts, program, "sqlite://", shuffle=random.Random(rng.random()), quads=True)
    if any(step.startswith("store+reason") for step in log):
        # documented (docs/rules.md, live reasoning): writes made without the engine are not
        # maintained; reason() continues from them and keeps the inferred copy of a statement
        # asserted meanwhile (the triple still follows; only the graph it is listed in differs)
        plain = {q[:3] for q in ours if not str(q[3]).startswith("urn:kg-engine:inferred:")}
        ours = {q for q in ours if q[:3] not in plain or not str(q[3]).startswith("urn:kg-engine:inferred:")}
    # exact: both sides are kg-engine (the star of sameAs links included)
    res.kg_only, res.ref_only = ours - fresh, fresh - ours
    return res


def shrink(facts: list[tuple], regime: str, url: str = "sqlite://", *, budget: int = 200) -> list[tuple]:
    """A minimal sub-list of ``facts`` on which :func:`check_closure` still fails.

    Greedy one-at-a-time deletion (a fixpoint of "drop a triple if the case still fails"),
    at most ``budget`` closure checks. A blank node whose list or restriction loses a
    triple simply becomes another (smaller) axiom, so every sub-list is a valid input.
    """
    cur = list(facts)
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for i in range(len(cur) - 1, -1, -1):
            if tries >= budget:
                break
            cand = cur[:i] + cur[i + 1:]
            tries += 1
            if not check_closure(cand, regime, url, explain=False).ok:
                cur = cand
                changed = True
    return cur


def _check_live(rng: random.Random, program: str, url: str, seed: int, steps: int | None, *,
                api: bool = False) -> CaseResult:
    from kg_engine.rules.live import set_profile

    regime = "rdfs" if program == "rdfs" else "owl-rl"
    pool = _pool(rng, regime, program)
    asserted = set(rng.sample(pool, len(pool) // 2))
    log: list[str] = []
    res = CaseResult(seed, "api" if api else "live", [])
    if api:
        from kg_engine import KnowledgeGraph

        kg = KnowledgeGraph(url)
        store = kg.store
    else:
        store = _open(url)
    try:
        if rng.random() < 0.5:
            store.add(sorted(asserted, key=str))
            set_profile(store, program)
        else:
            set_profile(store, program)
            store.add(sorted(asserted, key=str))
            log.append("profile first")
        for _ in range(steps if steps is not None else rng.randint(2, 6)):
            ops = ["add", "add", "remove", "remove-quads", "recompute", "reason"]
            op = rng.choice(ops + ["insert-data", "delete-data", "delete-where", "graph-op"] if api else ops)
            if op == "graph-op":  # SPARQL Update graph management: ADD / COPY / MOVE / DROP
                text, asserted = _graph_op(rng, asserted)
                kg.update(text)
                log.append(text)
                continue
            if op in ("recompute", "reason"):  # kg reason [--recompute] with the profile on
                if api:
                    kg.reason(program, recompute=op == "recompute")
                else:
                    set_profile(store, program, recompute=op == "recompute")
                log.append(op)
                continue
            if op.startswith(("remove", "delete")):
                if not asserted:
                    continue
                batch = _removal_batch(rng, asserted)
                if op == "remove-quads":
                    store.remove_quads([t if len(t) == 4 else (*t, _default()) for t in batch])
                    batch = [t if len(t) == 4 else (*t, _default()) for t in batch]
                elif op == "remove":
                    for t in batch:
                        if api:
                            kg.remove(t[:3], graph=t[3] if len(t) == 4 else None)
                        else:
                            store.remove(t[:3], t[3] if len(t) == 4 else None)
                else:
                    batch = [t for t in batch if len(t) == 4 and not any(isinstance(x, BNode) for x in t)]
                    if not batch:
                        continue
                    kg.update(_update_text(op, batch))
                asserted = _drop(asserted, batch)
            else:
                batch = rng.sample(pool, rng.randint(1, 3))
                if op == "insert-data" and not any(isinstance(x, BNode) for t in batch for x in t):
                    kg.update(_update_text(op, batch))
                elif api:
                    kg.add(batch)
                else:
                    store.add(batch)
                asserted |= set(batch)
            log.append(f"{op} " + " . ".join(_show(t) for t in batch))
        ours = _store_quads(store)
        res.explain, res.explained = explain_problems(store, rng)
    finally:
        store.close()
    return _against_fresh(res, rng, ours, asserted, log, program, url)


def _graph_op(rng: random.Random, asserted: set) -> tuple[str, set]:
    """A random ``ADD``/``COPY``/``MOVE``/``DROP``/``CLEAR`` between the default graph and
    the named graphs, and the asserted statements after it (SPARQL 1.1 Update §3.2)."""
    default = _default()
    names = [default, *GRAPHS]
    kind = rng.choice(["ADD", "COPY", "MOVE", "DROP", "CLEAR"])

    def ref(g: Any) -> str:
        return "DEFAULT" if g == default else f"GRAPH {g.n3()}" if kind in ("DROP", "CLEAR") else g.n3()

    def content(g: Any) -> set:
        return {q for q in asserted if q[3] == g}

    a = rng.choice(names)
    if kind in ("DROP", "CLEAR"):
        return f"{kind} SILENT {ref(a)}", asserted - content(a)
    sources = [g for g in names if content(g)]
    if not sources:  # a missing source makes ADD/COPY/MOVE SILENT a no-op (§3.2)
        return "CLEAR SILENT DEFAULT", asserted
    a = rng.choice(sources)
    b = rng.choice([g for g in names if g != a])
    moved = {(*q[:3], b) for q in content(a)}
    if kind == "ADD":
        after = asserted | moved
    elif kind == "COPY":
        after = (asserted - content(b)) | moved
    else:
        after = (asserted - content(b) - content(a)) | moved
    return f"{kind} SILENT {ref(a)} TO {ref(b)}", after


def _open(url: str) -> Any:
    from kg_engine.store import open_store

    return open_store(url)


def _default() -> URIRef:
    from kg_engine.core.terms import DEFAULT_GRAPH

    return DEFAULT_GRAPH


def _update_text(op: str, quads: list[tuple]) -> str:
    """SPARQL Update text writing ``quads`` (no blank nodes) with ``op``."""
    default = _default()
    parts = []
    for s, p, o, g in quads:
        t = f"{s.n3()} {p.n3()} {o.n3()} ."
        parts.append(t if g == default else f"GRAPH {g.n3()} {{ {t} }}")
    body = " ".join(parts)
    return {"insert-data": f"INSERT DATA {{ {body} }}", "delete-data": f"DELETE DATA {{ {body} }}",
            "delete-where": f"DELETE WHERE {{ {body} }}"}[op]


# -- user rules ------------------------------------------------------------------------------

#: One user program (recursion, a join through a derived predicate, stratified negation,
#: comparisons) in each syntax kg-engine reads; :func:`user_rules_reference` is its meaning.
USER_RULES = {
    "jena": f"""@prefix ex: <{EX}> .
[trans: (?x ex:p0 ?y) (?y ex:p0 ?z) -> (?x ex:p0 ?z)]
[inv: (?x ex:p1 ?y) notEqual(?x, ?y) -> (?y ex:p2 ?x)]
[neg: (?x rdf:type ex:C0) noValue(?x ex:p3) -> (?x rdf:type ex:C1)]
[join: (?x ex:p2 ?y) (?y rdf:type ex:C1) -> (?x rdf:type ex:C2)]
[num: (?x ex:p3 ?n) greaterThan(?n, 0) -> (?x rdf:type ex:C3)]
""",
    "n3": f"""@prefix ex: <{EX}> .
{{ ?x ex:p0 ?y . ?y ex:p0 ?z }} => {{ ?x ex:p0 ?z }} .
{{ ?x ex:p1 ?y . ?x log:notEqualTo ?y }} => {{ ?y ex:p2 ?x }} .
{{ ?x a ex:C0 . ?scope log:notIncludes {{ ?x ex:p3 ?any }} }} => {{ ?x a ex:C1 }} .
{{ ?x ex:p2 ?y . ?y a ex:C1 }} => {{ ?x a ex:C2 }} .
{{ ?x ex:p3 ?n . ?n math:greaterThan 0 }} => {{ ?x a ex:C3 }} .
""",
    "sparql": "\n;\n".join(f"PREFIX ex: <{EX}>\n# rule: {name}\nCONSTRUCT {{ {head} }} WHERE {{ {body} }}" for name, head, body in [
        ("trans", "?x ex:p0 ?z", "?x ex:p0 ?y . ?y ex:p0 ?z"),
        ("inv", "?y ex:p2 ?x", "?x ex:p1 ?y FILTER(!sameTerm(?x, ?y))"),
        ("neg", "?x a ex:C1", "?x a ex:C0 FILTER NOT EXISTS { ?x ex:p3 ?any }"),
        ("join", "?x a ex:C2", "?x ex:p2 ?y . ?y a ex:C1"),
        ("num", "?x a ex:C3", "?x ex:p3 ?n FILTER(?n > 0)"),
    ]),
}


def user_rules_reference(facts: Iterable[tuple]) -> set[tuple]:
    """The closure of :data:`USER_RULES` over ``facts`` (triples), by naive iteration in
    Python (``p3`` is never derived, so negating it is stratified); no literal subjects."""
    from decimal import Decimal

    p0, p1, p2, p3 = U("p0"), U("p1"), U("p2"), U("p3")
    c0, c1, c2, c3 = U("C0"), U("C1"), U("C2"), U("C3")
    g = {tuple(f[:3]) for f in facts}
    while True:
        new: set[tuple] = set()
        for s, p, o in g:
            if p == p0:
                new |= {(s, p0, z) for y, q, z in g if q == p0 and y == o}
            elif p == p1 and s != o:
                new.add((o, p2, s))
            elif p == T and o == c0 and not any(t[0] == s and t[1] == p3 for t in g):
                new.add((s, T, c1))
            elif p == p2 and (o, T, c1) in g:
                new.add((s, T, c2))
            elif p == p3 and isinstance(o, Literal) and isinstance(o.toPython(), (int, float, Decimal)) \
                    and not isinstance(o.toPython(), bool) and o.toPython() > 0:
                new.add((s, T, c3))
        new = {t for t in new if not isinstance(t[0], Literal)} - g
        if not new:
            return g
        g |= new


def user_program(syntax: str, *, negation: bool = True) -> Any:
    """:data:`USER_RULES` in ``syntax``, parsed (a :class:`~kg_engine.rules.ir.RuleSet`);
    without ``negation`` the rule ``neg`` is left out (a monotonic program: maintained by
    semi-naive insertion and DRed instead of a recompute)."""
    from kg_engine.rules.syntax import parse_rules

    text = USER_RULES[syntax]
    if not negation:
        sep = "\n;\n" if syntax == "sparql" else "\n"
        text = sep.join(r for r in text.split(sep)
                        if not any(k in r for k in ("noValue", "notIncludes", "NOT EXISTS")))
    name = f"user-{syntax}" + ("" if negation else "-monotonic")
    return parse_rules(text, syntax, f"<user-rules.{syntax}>", name=name)


def check_user_rules(facts: list[tuple], syntax: str, url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """The closure of the user program in ``syntax`` against :func:`user_rules_reference`."""
    res = CaseResult(seed, f"user-rules-{syntax}", facts)

    def check(store: Any) -> None:
        res.explain, res.explained = explain_problems(store, random.Random(seed))

    ours = kg_closure(facts, user_program(syntax), url, check=check)
    ref = user_rules_reference(facts)
    res.kg_only, res.ref_only = ours - ref, ref - ours
    return res
