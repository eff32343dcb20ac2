"""Differential testing of the rule engine against owlrl, Python references and itself.

Regimes, each over small ontologies + data drawn by :func:`generate` from a seed:

* ``rdfs`` — kg-engine's ``rdfs`` closure against owlrl's ``RDFS_Semantics``;
* ``owl-rl`` / ``owl-rl-ext`` — kg-engine's ``owl-rl`` closure against owlrl's
  ``OWLRL_Semantics``, and the constraint rules violated against
  :func:`reference_violations` (``owl-rl-ext`` adds data ranges, literal values, long chains,
  nested class expressions, keys, sameAs chains and inconsistency axioms);
* ``incremental`` — a random sequence of writes (``RuleEngine.add``, ``RuleEngine.remove``,
  plain store writes followed by ``reason()``, ``reason(recompute=True)``) ends with the
  same closure as a fresh full run over the same asserted data, inserted in another order
  (term ids permuted too), ``owl:sameAs`` included; with ``live=True`` the program is the
  store's reasoning profile and the writes are plain store writes (live maintenance);
  :func:`check_tbox_sequence` adds and removes TBox statements one at a time;
  :func:`check_cli` makes the writes with the ``kg`` command line (subprocesses);
* user rules — :func:`check_user_rules` (one program in three syntaxes),
  :func:`check_random_program` (random programs, some with non-canonical literal constants
  such as ``"01"^^xsd:integer`` beside data holding ``"1"``: refused when unstratifiable, else
  their stratified closure), :func:`check_aggregates` (SPARQL aggregate rules).

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
  the reference uses the rule as the OWL 2 RL table states it;
* dt-type2: the reference types each literal with every datatype of
  :data:`kg_engine.rules.datatypes.SUPPORTED` whose value space holds it
  (:func:`literal_in_datatype`; owlrl types it with its own datatype and listed
  supertypes only) and keeps those literal-subject typings, so ``∃p.xsd:integer`` holds
  for ``"5.0"^^xsd:decimal``; a typing that does not hold (``"true" a xsd:byte`` from a
  range) is the dt-not-type inconsistency: recorded, and nothing is derived through it;
* scm-cls's ``owl:Nothing rdfs:subClassOf c`` is dropped (a member of ``owl:Nothing`` is
  an inconsistency, reported, not a member of every class).

Example:
    >>> import random
    >>> case = generate(random.Random(1), "rdfs")
    >>> check_closure(case, "rdfs").ok
    True
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

__all__ = [
    "CaseResult",
    "check_aggregates",
    "check_cli",
    "check_closure",
    "check_incremental",
    "check_random_program",
    "check_tbox_sequence",
    "generate",
    "kg_closure",
    "literal_in_datatype",
    "normalise",
    "owlrl_closure",
    "reference_violations",
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
    """A small ontology and data set (a list of triples) for ``regime`` (``rdfs``/``owl-rl``/
    ``owl-rl-ext``: OWL 2 RL with data ranges, literal values, long chains, nested class
    expressions and inconsistency axioms added, :func:`_ext_schema`).

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

    n_schema = size if size is not None else rng.randint(2, 7) + (3 if regime == "owl-rl-ext" else 0)
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
    if regime == "owl-rl-ext":
        schema += _ext_schema(rng, g, lst, cls_expr, inds, classes, props)
    for _ in range(n_schema):
        ch(schema)()
    if regime == "owl-rl-ext":
        _ext_data(rng, g, inds, props)
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


#: literals of the ``owl-rl-ext`` regime: integers of several types (one out of its range,
#: i.e. ill-typed), decimals (one with an integer value), a double, strings with and without
#: language tag, a boolean, a date-time
EXT_LITERALS = (
    Literal(5), Literal("5", datatype=XSD.int), Literal("-3", datatype=XSD.integer),
    Literal("300", datatype=XSD.byte), Literal("5.0", datatype=XSD.decimal),
    Literal("2.5", datatype=XSD.decimal), Literal("1.5E0", datatype=XSD.double), Literal("x"),
    Literal("x", lang="en"), Literal("true", datatype=XSD.boolean),
    Literal("2020-01-01T00:00:00Z", datatype=XSD.dateTime), Literal("0", datatype=XSD.nonNegativeInteger),
)
#: data ranges of the ``owl-rl-ext`` regime (``xsd:token`` is one kg-engine does not decide)
EXT_DATATYPES = (XSD.integer, XSD.nonNegativeInteger, XSD.byte, XSD.decimal, XSD.string, RDFS.Literal,
                 XSD.double, XSD.boolean, RDF.PlainLiteral, OWL.real, XSD.dateTime, XSD.token)


def _ext_schema(rng: random.Random, g: Graph, lst: Any, cls_expr: Any,
                inds: list, classes: list, props: list) -> list:
    """Axiom makers of the ``owl-rl-ext`` regime: the OWL 2 RL constructs :func:`generate`'s
    ``owl-rl`` regime leaves out (data ranges, literal hasValue / keys, long property chains,
    nested boolean class expressions, inconsistency axioms)."""
    ch = rng.choice

    def data_restriction(kind: Any) -> BNode:
        r, p = BNode(), ch(props)
        g.add((r, T, OWL.Restriction))
        g.add((r, OWL.onProperty, p))
        g.add((r, kind, ch(EXT_LITERALS) if kind == OWL.hasValue else ch(EXT_DATATYPES)))
        if rng.random() < 0.6:  # a literal value of the property (in the range or not)
            g.add((ch(inds), p, ch(EXT_LITERALS)))
        return r

    def nested(depth: int = 0) -> Any:  # intersection / union / restriction, nested
        r = rng.random()
        if depth >= 2 or r < 0.4:
            return cls_expr()
        kind = OWL.intersectionOf if r < 0.7 else OWL.unionOf
        node = BNode()
        g.add((node, kind, lst([nested(depth + 1) for _ in range(rng.randint(1, 3))])))
        return node

    def members(kind: Any, pred: Any, pool: list, n: tuple[int, int] = (2, 4)) -> None:
        node = BNode()
        g.add((node, T, kind))
        g.add((node, pred, lst([ch(pool) for _ in range(rng.randint(*n))])))

    def npa() -> None:
        node = BNode()
        g.add((node, T, OWL.NegativePropertyAssertion))
        g.add((node, OWL.sourceIndividual, ch(inds)))
        g.add((node, OWL.assertionProperty, ch(props)))
        if rng.random() < 0.5:
            g.add((node, OWL.targetIndividual, ch(inds)))
        else:
            g.add((node, OWL.targetValue, ch(EXT_LITERALS)))

    def card() -> None:  # max (qualified) cardinality 0 or 1
        r = BNode()
        g.add((r, OWL.onProperty, ch(props)))
        n = Literal(rng.choice([0, 1]), datatype=XSD.nonNegativeInteger)
        if rng.random() < 0.5:
            g.add((r, OWL.maxCardinality, n))
        else:
            g.add((r, OWL.maxQualifiedCardinality, n))
            g.add((r, OWL.onClass, ch(classes + [OWL.Thing])))
        g.add((ch(classes), SC, r))

    return [
        lambda: g.add((data_restriction(ch([OWL.someValuesFrom, OWL.hasValue])), ch([SC, EQC]), ch(classes))),
        lambda: g.add((data_restriction(OWL.someValuesFrom), SC, ch(classes))),
        lambda: g.add((ch(classes), ch([SC, EQC]), data_restriction(ch([OWL.allValuesFrom, OWL.hasValue])))),
        lambda: g.add((ch(props), RDFS.range, ch(EXT_DATATYPES))),
        lambda: g.add((ch(classes), ch([SC, EQC]), nested())),
        lambda: g.add((nested(), SC, ch(classes))),
        lambda: g.add((ch(classes), EQC, _expr_list(rng, g, lst, OWL.oneOf, lambda: ch(inds)))),
        lambda: g.add((ch(props), OWL.propertyChainAxiom, lst([ch(props) for _ in range(rng.randint(3, 4))]))),
        lambda: g.add((ch(classes), OWL.hasKey, lst(rng.sample(props, rng.randint(1, 3))))),
        lambda: g.add((ch(props), T, ch([OWL.FunctionalProperty, OWL.InverseFunctionalProperty]))),
        lambda: g.add((ch(inds), OWL.differentFrom, ch(inds))),
        lambda: members(OWL.AllDifferent, ch([OWL.members, OWL.distinctMembers]), inds),
        lambda: members(OWL.AllDisjointClasses, OWL.members, classes),
        lambda: members(OWL.AllDisjointProperties, OWL.members, props),
        lambda: g.add((ch(classes), ch([OWL.disjointWith, OWL.complementOf]), ch(classes))),
        lambda: g.add((ch(props), OWL.propertyDisjointWith, ch(props))),
        lambda: g.add((ch(props), T, ch([OWL.IrreflexiveProperty, OWL.AsymmetricProperty]))),
        npa,
        card,
    ]


def _ext_data(rng: random.Random, g: Graph, inds: list, props: list) -> None:
    """Data of the ``owl-rl-ext`` regime: typed literal values, shared and double values
    (keys, functional properties), sameAs chains."""
    for _ in range(rng.randint(1, 6)):
        g.add((rng.choice(inds), rng.choice(props), rng.choice(EXT_LITERALS)))
    for _ in range(rng.randint(0, 3)):
        p, v = rng.choice(props), rng.choice(inds + list(EXT_LITERALS[:3]))
        a, b = rng.sample(inds, 2)
        if rng.random() < 0.5:  # two subjects share a value (hasKey, inverse-functional)
            g.add((a, p, v))
            g.add((b, p, v))
        else:  # one subject, two values (functional, max cardinality 1)
            g.add((v, p, a) if not isinstance(v, Literal) else (a, p, v))
            g.add((v, p, b) if not isinstance(v, Literal) else (a, p, b))
    if rng.random() < 0.4:  # a sameAs chain a-b-c(-d): functional / key properties merge along it
        chain = rng.sample(inds, rng.randint(2, 4))
        for a, b in itertools.pairwise(chain):
            g.add((a, OWL.sameAs, b) if rng.random() < 0.5 else (b, OWL.sameAs, a))
    if rng.random() < 0.08:
        g.add((rng.choice(inds), T, OWL.Nothing))


def _expr_list(rng: random.Random, g: Graph, lst: Any, kind: URIRef, item: Any) -> BNode:
    node = BNode()
    g.add((node, kind, lst([item() for _ in range(rng.randint(1, 3))])))
    return node


# -- closures --------------------------------------------------------------------------------


def kg_closure(facts: Iterable[tuple], program: str, url: str = "sqlite://", *,
               shuffle: random.Random | None = None, quads: bool = False,
               check: Any = None, results: list | None = None) -> set[tuple]:
    """The triples (``quads``: statements with their graph) of a fresh store holding
    ``facts`` (triples or quads) after ``reason(program)``.

    ``shuffle`` permutes the insertion order of the terms and of the triples; ``check(store)``
    runs on the store before it is closed (e.g. :func:`explain_problems`); the
    :class:`~kg_engine.rules.results.ReasoningResult` is appended to ``results``.
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
        result = reason(store, program)
        if results is not None:
            results.append(result)
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

    owl = base is not owlrl.RDFS_Semantics

    class _Reference(base):  # type: ignore[misc, valid-type]
        def one_time_rules(self) -> None:
            if base is owlrl.RDFS_Semantics:
                # owlrl's "hidden sameAs" between value-equal literals: no D-entailment here
                # (and it takes "x" and "x"@en for one value)
                return
            super().one_time_rules()

        def store_triple(self, t: tuple) -> None:
            s, p, o = t
            if isinstance(s, Literal) and owl and p == T and str(o) in _datatypes():
                # a literal's datatypes are kept (dt-type2: cls-svf1 reads them); a typing that
                # does not hold is the dt-not-type inconsistency: recorded, nothing derived
                # through it (a range xsd:byte does not make "true" a byte for ∃p.xsd:byte)
                if not literal_in_datatype(s, str(o)):
                    self.graph.add((_DT_NOT_TYPE, RDF.value, s))
                    return
            elif isinstance(s, Literal):
                return
            if p == OWL.sameAs and isinstance(o, Literal):
                return
            if s == OWL.Nothing and p == SC:
                return  # scm-cls: an owl:Nothing member is every class (inconsistent anyway)
            super().store_triple(t)

        def _one_time_rules_datatypes(self) -> None:
            # dt-type2 by value space (owlrl types a literal with its own datatype and the
            # supertypes it lists, misses "5"^^xsd:integer a xsd:byte and "x" a xsd:string)
            for lit in {o for o in self.graph.objects() if isinstance(o, Literal)}:
                for dt in _datatypes():
                    if literal_in_datatype(lit, dt):
                        self.store_triple((lit, T, URIRef(dt)))

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


#: subject of the reference's record of a dt-not-type inconsistency (never compared)
_DT_NOT_TYPE = URIRef("urn:kg-engine:rulesdiff:dt-not-type")


def _datatypes() -> frozenset:
    from kg_engine.rules.datatypes import SUPPORTED

    return SUPPORTED


_INT_RE = r"[+-]?[0-9]+"
_DEC_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
_DBL_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN"
_INT_RANGES = {
    "integer": (None, None), "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1), "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1), "short": (-(2**15), 2**15 - 1), "byte": (-128, 127),
    "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1), "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 255),
}


def literal_in_datatype(lit: Any, dt: str) -> bool:
    """Whether ``lit`` is a literal whose data value is in the value space of ``dt`` (OWL 2
    Structural Specification §4; written apart from kg-engine's SQL, as the reference)."""
    import re
    from decimal import Decimal

    if not isinstance(lit, Literal):
        return False
    ldt = str(lit.datatype) if lit.datatype is not None else None
    if dt == str(RDFS.Literal):
        return True
    if dt == str(RDF.PlainLiteral):
        return ldt in (None, str(XSD.string))
    if dt == str(XSD.string):
        return lit.language is None and ldt in (None, str(XSD.string))

    def value() -> Decimal | None:  # a decimal-family literal's value, None if ill-typed
        if ldt is None or not ldt.startswith(str(XSD)):
            return None
        local = ldt[len(str(XSD)):]
        text = str(lit).strip()
        if local == "decimal":
            return Decimal(text) if re.fullmatch(_DEC_RE, text) else None
        if local not in _INT_RANGES or not re.fullmatch(_INT_RE, text):
            return None
        v = Decimal(text)
        lo, hi = _INT_RANGES[local]
        return v if (lo is None or v >= lo) and (hi is None or v <= hi) else None

    if dt in (str(OWL.real), str(OWL.rational), str(XSD.decimal)):
        return value() is not None
    if dt.startswith(str(XSD)) and dt[len(str(XSD)):] in _INT_RANGES:
        v = value()
        lo, hi = _INT_RANGES[dt[len(str(XSD)):]]
        return v is not None and v == v.to_integral_value() and (lo is None or v >= lo) and (hi is None or v <= hi)
    if ldt != dt:
        return False
    text = str(lit).strip()
    if dt in (str(XSD.double), str(XSD.float)):
        return re.fullmatch(_DBL_RE, text) is not None and text != "NaN"
    if dt == str(XSD.boolean):
        return text in ("true", "false", "1", "0")
    if dt == str(XSD.dateTime):
        return re.fullmatch(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                            r"(Z|[+-][0-9]{2}:[0-9]{2})?", text) is not None
    return False


def reference_violations(closure: Iterable[tuple]) -> set[str]:
    """The OWL 2 RL constraint rules (Tables 4–7, ``false`` heads) that ``closure`` (owlrl's,
    sameAs as a clique) violates, checked here from the rule table, not by owlrl (whose
    checks skip the last member of ``AllDifferent`` / ``AllDisjointProperties`` lists).
    ``eq-diff3`` is reported as ``eq-diff2`` (kg-engine's name for both)."""
    g = Graph()
    for t in closure:
        g.add(t)
    out: set[str] = set()

    def lst(head: Any) -> list:
        try:
            return list(Collection(g, head))
        except Exception:  # noqa: BLE001 - a malformed list is no axiom
            return []

    def typed(x: Any, c: Any) -> bool:
        return (x, T, c) in g

    def same(a: Any, b: Any) -> bool:
        return a == b or (a, OWL.sameAs, b) in g

    if (_DT_NOT_TYPE, None, None) in g:
        out.add("dt-not-type")
    for x, c in g.subject_objects(T):
        if c == OWL.Nothing and not isinstance(x, Literal):
            out.add("cls-nothing2")
    for pred, name in ((OWL.disjointWith, "cax-dw"), (OWL.complementOf, "cls-com")):
        for c1, c2 in g.subject_objects(pred):
            if any(typed(x, c2) for x in g.subjects(T, c1) if not isinstance(x, Literal)):
                out.add(name)
    for p in g.subjects(T, OWL.IrreflexiveProperty):
        if any(x == y for x, y in g.subject_objects(p)):
            out.add("prp-irp")
    for p in g.subjects(T, OWL.AsymmetricProperty):
        if any((y, p, x) in g for x, y in g.subject_objects(p)):
            out.add("prp-asyp")
    for p1, p2 in g.subject_objects(OWL.propertyDisjointWith):
        if any((x, p2, y) in g for x, y in g.subject_objects(p1)):
            out.add("prp-pdw")
    for x, y in g.subject_objects(OWL.differentFrom):
        if same(x, y):
            out.add("eq-diff1")
    for node in g.subjects(T, OWL.AllDisjointClasses):
        for m in g.objects(node, OWL.members):
            cs = lst(m)
            for i in range(len(cs)):
                for j in range(i + 1, len(cs)):
                    if any(typed(x, cs[j]) for x in g.subjects(T, cs[i]) if not isinstance(x, Literal)):
                        out.add("cax-adc")
    for node in g.subjects(T, OWL.AllDisjointProperties):
        for m in g.objects(node, OWL.members):
            ps = lst(m)
            for i in range(len(ps)):
                for j in range(i + 1, len(ps)):
                    if any((x, ps[j], y) in g for x, y in g.subject_objects(ps[i])):
                        out.add("prp-adp")
    for node in g.subjects(T, OWL.AllDifferent):
        for pred in (OWL.members, OWL.distinctMembers):
            for m in g.objects(node, pred):
                zs = [z for z in lst(m) if not isinstance(z, Literal)]
                if any(same(zs[i], zs[j]) for i in range(len(zs)) for j in range(i + 1, len(zs))):
                    out.add("eq-diff2")
    for x in g.subjects(OWL.sourceIndividual, None):
        for i1 in g.objects(x, OWL.sourceIndividual):
            for p in g.objects(x, OWL.assertionProperty):
                if any((i1, p, i2) in g for i2 in g.objects(x, OWL.targetIndividual)):
                    out.add("prp-npa1")
                if any((i1, p, lt) in g for lt in g.objects(x, OWL.targetValue)):
                    out.add("prp-npa2")
    for pred in (OWL.maxCardinality, OWL.maxQualifiedCardinality):
        for x, n in g.subject_objects(pred):
            if str(n) != "0":
                continue
            cs = list(g.objects(x, OWL.onClass)) if pred == OWL.maxQualifiedCardinality else [None]
            for p in g.objects(x, OWL.onProperty):
                for u, y in g.subject_objects(p):
                    if not typed(u, x):
                        continue
                    for c in cs:
                        if c is None:
                            out.add("cls-maxc1")
                        elif c == OWL.Thing:
                            out.add("cls-maxqc2")
                        elif typed(y, c):
                            out.add("cls-maxqc1")
    return out


def kg_violations(result: Any) -> set[str]:
    """The constraint rules a kg-engine run reports, by OWL 2 RL rule name (``#n`` and the
    ``/rng``, ``/avf`` variants of dt-not-type dropped)."""
    return {name.split("#")[0].split("/")[0] for name in result.violation_counts}


# -- comparison ------------------------------------------------------------------------------


def _builtin(t: Any) -> bool:
    return isinstance(t, URIRef) and str(t).startswith(_BUILTIN_NS)


def _noise(t: tuple) -> bool:
    s, p, o = t
    if s == _DT_NOT_TYPE:
        return True
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
    violations: tuple | None = None  # (ours, reference) when the violated constraints differ
    note: str = ""
    explain: list[str] = field(default_factory=list)  # problems of explain() trees
    explained: int = 0  # trees checked

    @property
    def ok(self) -> bool:
        return (not self.kg_only and not self.ref_only and self.partition is None
                and self.violations is None and not self.explain)

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
        if self.violations is not None:
            out.append(f"  violated constraints: ours {sorted(self.violations[0])} "
                       f"reference {sorted(self.violations[1])}")
        out += [f"  {p}" for p in self.explain[:limit]]
        out.append("  data: " + " . ".join(" ".join(_short(x) for x in t) for t in self.facts))
        return "\n".join(out)


def _short(t: Any) -> str:
    if not hasattr(t, "n3"):  # e.g. an aggregate value compared by value
        return repr(t)
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

    results: list = []
    ref = owlrl_closure(facts, regime)
    res = _compare(res, kg_closure(facts, program, url, check=check, results=results), ref)
    if program == "owl-rl" and results:  # the constraints (inconsistencies) each side finds
        ours, theirs = kg_violations(results[0]), reference_violations(ref)
        if ours != theirs:
            res.violations = (ours, theirs)
    return res


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
                      api: bool = False, regime: str | None = None) -> CaseResult:
    """A random write sequence ends with the statements of a fresh run (see module docstring).

    Statements are compared with their graph: data may sit in named graphs, in the default
    graph and a named one at once; removals name a quad or a triple (every graph).

    ``live``: the store has ``program`` as its reasoning profile
    (:func:`kg_engine.rules.live.set_profile`) and the writes are plain ``store.add`` /
    ``store.remove`` / ``store.remove_quads``, maintained by the store's hook; ``api``: the
    same through ``KnowledgeGraph.add`` / ``remove`` and SPARQL ``INSERT DATA`` /
    ``DELETE DATA`` / ``DELETE WHERE``; otherwise they go through ``RuleEngine.add`` /
    ``remove`` and ``reason()``. The final store's explanations are checked too, and the
    constraints it violates must be the fresh run's. ``regime``: the generator
    (:func:`generate`; by default ``rdfs`` or ``owl-rl`` after the program).
    """
    if live or api:
        return _check_live(rng, program, url, seed, steps, api=api, regime=regime)
    from kg_engine.rules.engine import RuleEngine
    from kg_engine.store import open_store

    regime = regime or ("rdfs" if program == "rdfs" else "owl-rl")
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
        violated = _violated(store, program)
    finally:
        store.close()
    return _against_fresh(res, rng, ours, asserted, log, program, url, violated)


def _violated(store: Any, program: Any) -> set[str]:
    """Names (``#n`` dropped) of the constraint rules of ``program`` the store violates."""
    from kg_engine.rules.consistency import check

    return {v.rule.split("#")[0] for v in check(store, program, max_violations=1)}


def _against_fresh(res: CaseResult, rng: random.Random, ours: set, asserted: set, log: list[str],
                   program: str, url: str, violated: set[str] | None = None) -> CaseResult:
    res.facts, res.note = sorted(asserted, key=str), "| ".join(log)
    # the fresh run gets a store of its own: an in-memory SQLite one (a PostgreSQL URL names a
    # database that still holds the sequence's store, which made the comparison vacuous there)
    results: list = []
    fresh = kg_closure(res.facts, program, "sqlite://", shuffle=random.Random(rng.random()), quads=True,
                       results=results)
    if violated is not None:
        theirs = {k.split("#")[0] for k in results[0].violation_counts}
        if violated != theirs:
            res.violations = (violated, theirs)
    if any(step.startswith("store+reason") for step in log):
        # documented (docs/rules.md, live reasoning): writes made without the engine are not
        # maintained; reason() continues from them and keeps the inferred copy of a statement
        # asserted meanwhile in the default graph (the triple still follows; only the graph
        # it is listed in differs). One asserted in a named graph is inferred on both sides.
        plain = {q[:3] for q in ours if q[3] == _default()}
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
                api: bool = False, regime: str | None = None) -> CaseResult:
    from kg_engine.rules.live import set_profile

    regime = regime or ("rdfs" if program == "rdfs" else "owl-rl")
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
        violated = _violated(store, program)
    finally:
        store.close()
    return _against_fresh(res, rng, ours, asserted, log, program, url, violated)


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

    name = f"user-{syntax}" + ("" if negation else "-monotonic")
    return parse_rules(user_text(syntax, negation=negation), syntax, f"<user-rules.{syntax}>", name=name)


def user_text(syntax: str, *, negation: bool = True) -> str:
    """:data:`USER_RULES` in ``syntax`` as text, without the rule ``neg`` unless ``negation``."""
    text = USER_RULES[syntax]
    if not negation:
        sep = "\n;\n" if syntax == "sparql" else "\n"
        text = sep.join(r for r in text.split(sep)
                        if not any(k in r for k in ("noValue", "notIncludes", "NOT EXISTS")))
    return text


def check_user_rules(facts: list[tuple], syntax: str, url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """The closure of the user program in ``syntax`` against :func:`user_rules_reference`."""
    res = CaseResult(seed, f"user-rules-{syntax}", facts)

    def check(store: Any) -> None:
        res.explain, res.explained = explain_problems(store, random.Random(seed))

    ours = kg_closure(facts, user_program(syntax), url, check=check)
    ref = user_rules_reference(facts)
    res.kg_only, res.ref_only = ours - ref, ref - ours
    return res


# -- the command line ------------------------------------------------------------------------


def _kg_cli(args: list[str], db: str, cwd: str) -> str:
    """Run ``kg ARGS --db DB`` in a subprocess; its stdout (an exit code other than 0 raises)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "import sys; from kg_engine.cli import main; sys.exit(main())", *args, "--db", db]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=cwd, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"kg {' '.join(args)[:300]} exited with {r.returncode}: {(r.stderr or r.stdout)[-1500:]}")
    return r.stdout


def _nquads(quads: Iterable[tuple]) -> str:
    default = _default()
    lines = []
    for s, p, o, g in quads:
        lines.append(f"{s.n3()} {p.n3()} {o.n3()}" + ("" if g == default else f" {g.n3()}") + " .")
    return "\n".join(lines) + "\n"


def _json_term(b: dict) -> Any:
    if b["type"] == "uri":
        return URIRef(b["value"])
    if b["type"] == "bnode":
        return BNode(b["value"])
    dt = b.get("datatype")
    return Literal(b["value"], lang=b.get("xml:lang"), datatype=URIRef(dt) if dt else None)


def check_cli(rng: random.Random, program: str = "owl-rl", url: str = "sqlite://", seed: int = -1,
              steps: int | None = None) -> CaseResult:
    """A write sequence through the ``kg`` command line, each command a subprocess:
    ``kg load`` (N-Quads, or N-Triples into ``--graph``), ``kg reason [--rules R] [--recompute]``,
    ``kg update`` (``INSERT DATA`` / ``DELETE DATA`` / ``DELETE WHERE`` / ``ADD`` / ``COPY`` /
    ``MOVE`` / ``DROP``), then ``kg query`` and ``kg explain``.

    ``program``: ``rdfs``, ``owl-rl`` or ``user-<syntax>`` (the user program of
    :data:`USER_RULES` written to a rules file), or ``<built-in>+user-<syntax>``: the two as
    one profile (``kg reason --rules owl-rl --rules FILE``; the user program without its
    negation), maintained by commands that each reopen the store. Checked: the store's statements (asserted,
    and inferred with their graph) equal a fresh run over its asserted statements, which
    equal the ones the sequence asserted (``kg load`` gives each file's blank nodes new
    labels, so those are compared by count); ``kg query``'s default graph (asserted ∪
    inferred) equals the fresh run's; ``kg explain`` explains an inferred statement.
    """
    import json
    import tempfile
    from pathlib import Path

    from kg_engine.store import open_store

    builtin, _, program = program.rpartition("+")  # "owl-rl+user-n3": both, one profile
    user = program.startswith("user-")
    regime = "rdfs" if program == "rdfs" else "owl-rl"
    pool = _pool(rng, regime, "owl-rl" if user else program)
    plain = [q for q in pool if not any(isinstance(x, BNode) for x in q)]
    asserted = set(rng.sample(pool, len(pool) // 2))
    log: list[str] = []
    res = CaseResult(seed, f"cli-{program}", [])
    with tempfile.TemporaryDirectory(prefix="kg-rulesdiff-") as tmp:
        db = f"sqlite:///{tmp}/kg.sqlite" if url == "sqlite://" else url
        rules = [program]
        if user:
            syntax = program[len("user-"):]
            ext = {"jena": "rules", "n3": "n3", "sparql": "rq"}[syntax]
            rules = [f"{tmp}/{program}.{ext}"]
            Path(rules[0]).write_text(user_text(syntax, negation=not builtin))
        if builtin:
            rules = [builtin, *rules]
        rules = [a for r in rules for a in ("--rules", r)]
        n = 0

        def kg(*args: str) -> str:
            return _kg_cli(list(args), db, tmp)

        def load(quads: list[tuple]) -> None:
            nonlocal n
            n += 1
            graphs = {q[3] for q in quads}
            if len(graphs) == 1 and next(iter(graphs)) != _default() and rng.random() < 0.5:
                path = Path(tmp, f"w{n}.nt")  # triples into --graph
                path.write_text(_nquads([(*q[:3], _default()) for q in quads]))
                kg("load", str(path), "--graph", str(next(iter(graphs))))
            else:
                path = Path(tmp, f"w{n}.nq")
                path.write_text(_nquads(quads))
                kg("load", str(path))

        reason_first = rng.random() < 0.5
        if reason_first:
            open_store(db).close()  # kg reason needs a store: an empty one
            kg("reason", *rules)
            log.append("reason on an empty store")
        load(sorted(asserted, key=str))
        if not reason_first:
            kg("reason", *rules)
        for _ in range(steps if steps is not None else rng.randint(2, 5)):
            op = rng.choice(["load", "insert-data", "delete-data", "delete-where", "graph-op", "reason", "recompute"])
            if op in ("reason", "recompute"):
                kg("reason", *rules, *(["--recompute"] if op == "recompute" else []))
                log.append(op)
                continue
            if op == "graph-op":
                text, asserted = _graph_op(rng, asserted)
                kg("update", text)
                log.append(text)
                continue
            if op.startswith("delete"):
                cands = [q for q in sorted(asserted, key=str) if q in plain or q[:3] in {p[:3] for p in plain}]
                cands = [q for q in cands if not any(isinstance(x, BNode) for x in q)]
                if not cands:
                    continue
                batch = rng.sample(cands, rng.randint(1, min(3, len(cands))))
                kg("update", _update_text(op, batch))
                asserted = _drop(asserted, batch)
            else:
                if not plain:
                    continue
                batch = rng.sample(plain, rng.randint(1, min(3, len(plain))))
                if op == "load":
                    load(batch)
                else:
                    kg("update", _update_text(op, batch))
                asserted |= set(batch)
            log.append(f"{op} " + " . ".join(_show(t) for t in batch))
        answer = json.loads(kg("query", "--format", "json", "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))
        store = open_store(db)
        try:
            ours = _store_quads(store)
            res.explain, res.explained = explain_problems(store, rng)
            name = store.db.scalar("SELECT name FROM kg_rules_programs LIMIT 1")
        finally:
            store.close()
        inferred_g = f"urn:kg-engine:inferred:{name}"
        picked = sorted((q for q in ours if str(q[3]) == inferred_g
                         and not any(isinstance(x, BNode) for x in q[:3])), key=str)
        if picked:
            t = rng.choice(picked)
            out = kg("explain", " ".join(x.n3() for x in t[:3]))
            if "[rule " not in out:  # asserted too (in a named graph): the source, then the rule
                res.explain.append(f"kg explain {_show(t[:3])}: {out.splitlines()[0]}")
    mine = {q for q in ours if not str(q[3]).startswith("urn:kg-engine:inferred:")}

    def split(qs: set) -> tuple[set, int]:
        return ({q for q in qs if not any(isinstance(x, BNode) for x in q)},
                sum(1 for q in qs if any(isinstance(x, BNode) for x in q)))

    (a_plain, a_blank), (m_plain, m_blank) = split(asserted), split(mine)
    if a_plain != m_plain or a_blank != m_blank:
        res.note = (f"asserted statements differ from the writes: store only {sorted(map(_show, m_plain - a_plain))}, "
                    f"writes only {sorted(map(_show, a_plain - m_plain))}, blank-node statements {m_blank} vs {a_blank}; ")
        res.kg_only |= m_plain - a_plain
        res.ref_only |= a_plain - m_plain
    prog = user_program(program[len("user-"):], negation=not builtin) if user else program
    if builtin:  # named as kg reason names it: after the rules file
        from kg_engine.rules.ir import RuleSet

        prog = [builtin, RuleSet(program, prog.rules)]
    fresh = kg_closure(sorted(mine, key=str), prog, "sqlite://", shuffle=random.Random(rng.random()), quads=True)
    res.facts = sorted(mine, key=str)
    res.note += "| ".join(log)
    res.kg_only |= ours - fresh
    res.ref_only |= fresh - ours
    # kg query: the default graph is asserted ∪ inferred under the reasoning profile
    visible = {q[:3] for q in fresh if q[3] == _default() or str(q[3]) == inferred_g}
    rows = {tuple(_json_term(b[v]) for v in ("s", "p", "o")) for b in answer["results"]["bindings"]}
    want = {t for t in visible if not any(isinstance(x, BNode) for x in t)}
    got = {t for t in rows if not any(isinstance(x, BNode) for x in t)}
    res.kg_only |= {(*t, URIRef("urn:kg-query")) for t in got - want}
    res.ref_only |= {(*t, URIRef("urn:kg-query")) for t in want - got}
    return res


# -- random stratified programs --------------------------------------------------------------

#: predicates of the random user programs: ``b*`` data only, ``q*`` derived (and asserted)
_BASE = tuple(U(f"b{i}") for i in range(2))
_DERIVED = tuple(U(f"q{i}") for i in range(4))
#: literal constants of the random programs and data: a non-canonical form and its canonical
#: twin (equal values, other RDF terms): a rule's ``"01"^^xsd:integer`` matches ``"01"`` and
#: not ``"1"``, as a SPARQL triple pattern does
_CONSTANTS = tuple(tuple(Literal(lex, datatype=dt, normalize=False) for lex in pair) for pair, dt in [
    (("01", "1"), XSD.integer), (("+5", "5"), XSD.integer), (("1", "true"), XSD.boolean),
    (("2020-01-01T00:00:00Z", "2020-01-01T00:00:00+00:00"), XSD.dateTime),
    (("1.50", "1.5"), XSD.decimal)])


@dataclass
class RandomRule:
    """``head(x, y|z) :- p1(x, y) [, p2(y, z)] [, c(x, CONSTANT)] [, not q(x, y|z|_)]``, by
    predicate (``c`` may be ``rdf:type``: ``?x a C``)."""

    name: str
    head: URIRef
    first: URIRef
    second: URIRef | None  # a join through ?y
    negated: URIRef | None
    neg_vars: str  # "xy", "xz" or "x_" (existential object)
    const: tuple[URIRef, Literal] | None = None  # (c, CONSTANT): a literal written as is

    def positive(self) -> list[URIRef]:
        """The predicates of the rule's positive atoms."""
        return [x for x in (self.first, self.second, self.const and self.const[0]) if x]

    def render(self, syntax: str) -> str:
        out = "z" if self.second else "y"
        body = [f"?x {_pn(self.first)} ?y"]
        if self.second:
            body.append(f"?y {_pn(self.second)} ?z")
        if self.const:
            body.append(f"?x {_pn(self.const[0])} {self.const[1].n3()}")
        neg = None
        if self.negated:
            o = {"xy": "?y", "xz": "?z", "x_": "?any"}[self.neg_vars]
            neg = f"?x {_pn(self.negated)} {o}"
        head = f"?x {_pn(self.head)} ?{out}"
        if syntax == "jena":
            atoms = " ".join(f"({b})" for b in body)
            if neg:
                atoms += f" noValue({neg.replace(' ?any', '')})" if self.neg_vars == "x_" else f" noValue({neg})"
            return f"[{self.name}: {atoms} -> ({head})]"
        if syntax == "n3":
            parts = " . ".join(body) + (f" . ?scope log:notIncludes {{ {neg} }}" if neg else "")
            return f"{{ {parts} }} => {{ {head} }} ."
        where = " . ".join(body) + (f" FILTER NOT EXISTS {{ {neg} }}" if neg else "")
        return f"PREFIX ex: <{EX}>\n# rule: {self.name}\nCONSTRUCT {{ {head} }} WHERE {{ {where} }}"


def _pn(iri: URIRef) -> str:
    """``ex:name`` for the harness's IRIs, ``<iri>`` for others (``rdf:type``)."""
    return f"ex:{iri[len(EX):]}" if iri.startswith(EX) else iri.n3()


def random_program(rng: random.Random, base: tuple = _BASE, derived: tuple = _DERIVED) -> list[RandomRule]:
    """2–5 random rules over ``base`` / ``derived`` predicates (default :data:`_BASE` /
    :data:`_DERIVED`; heads from ``derived``), recursive now and then, with negation in about
    half of them; stratifiable or not."""
    rules = []
    for i in range(rng.randint(2, 5)):
        neg = rng.choice(derived + base) if rng.random() < 0.5 else None
        rules.append(RandomRule(
            f"r{i}", rng.choice(derived), rng.choice(base + derived),
            rng.choice(base + derived) if rng.random() < 0.4 else None, neg,
            rng.choice(["xy", "x_"]) if neg else "xy"))
        if rules[-1].second and neg and rng.random() < 0.5:
            rules[-1].neg_vars = "xz"
    return rules


def program_text(rules: list[RandomRule], syntax: str) -> str:
    if syntax == "sparql":
        return "\n;\n".join(r.render(syntax) for r in rules)
    return f"@prefix ex: <{EX}> .\n" + "\n".join(r.render(syntax) for r in rules) + "\n"


def stratifiable(rules: list[RandomRule]) -> bool:
    """No negated predicate depends (through rule heads) on the negating rule's own head."""
    deps: dict[URIRef, set[URIRef]] = {}  # head -> predicates it is derived from
    for r in rules:
        deps.setdefault(r.head, set()).update(r.positive() + ([r.negated] if r.negated else []))

    def reaches(a: URIRef, b: URIRef) -> bool:  # a is derived (transitively) from b
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            for y in deps.get(x, ()):
                if y == b:
                    return True
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return False

    return not any(r.negated and (r.negated == r.head or reaches(r.negated, r.head)) for r in rules)


def random_program_reference(rules: list[RandomRule], facts: Iterable[tuple]) -> set[tuple]:
    """The stratified (perfect-model) closure of ``rules`` over ``facts`` in Python: strata
    by dependency, each to its fixpoint."""
    g = {tuple(f[:3]) for f in facts}
    heads = {r.head for r in rules}

    def level(p: URIRef, seen: frozenset = frozenset()) -> int:
        if p not in heads or p in seen:
            return 0
        lv = 0
        for r in rules:
            if r.head == p:
                for x, neg in [(x, False) for x in r.positive()] + [(r.negated, True)]:
                    if x:
                        lv = max(lv, level(x, seen | {p}) + (1 if neg else 0))
        return lv

    by_level: dict[int, list[RandomRule]] = {}
    for r in rules:
        by_level.setdefault(level(r.head), []).append(r)
    for lv in sorted(by_level):
        while True:
            new = set()
            for r in by_level[lv]:
                for x, p1, y in list(g):
                    if p1 != r.first or (r.const and (x, *r.const) not in g):  # by RDF term
                        continue
                    outs = [y] if not r.second else [z for y2, p2, z in g if p2 == r.second and y2 == y]
                    for o in outs:
                        if r.negated:
                            if r.neg_vars == "x_" and any(s == x and p == r.negated for s, p, _ in g):
                                continue
                            if r.neg_vars != "x_" and (x, r.negated, o if r.neg_vars == "xz" else y) in g:
                                continue
                        if not isinstance(x, Literal):
                            new.add((x, r.head, o))
            new -= g
            if not new:
                break
            g |= new
    return g


def check_random_program(rng: random.Random, syntax: str, url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """A random program (:func:`random_program`) in ``syntax``: an unstratifiable one must be
    refused with a :class:`~kg_engine.errors.RuleSyntaxError` that says so; a stratifiable
    one must give its stratified closure (:func:`random_program_reference`) on random data."""
    from kg_engine.errors import RuleSyntaxError
    from kg_engine.rules.syntax import parse_rules

    rules = random_program(rng)
    inds = [U(f"a{i}") for i in range(5)]
    facts = [(rng.choice(inds), rng.choice(_BASE + _DERIVED[:2]), rng.choice(inds + [Literal(1)]))
             for _ in range(rng.randint(3, 14))]
    for r in rules:  # drawn last, so the rest of a seed's case is as before they were added
        if rng.random() < 0.5:  # a literal constant (mostly the non-canonical form), and data
            pair = rng.choice(_CONSTANTS)  # with it or its twin
            r.const = (rng.choice(_BASE + _DERIVED[:2]), pair[0] if rng.random() < 0.75 else pair[1])
            facts += [(x, r.const[0], rng.choice(pair)) for x in inds if rng.random() < 0.6]
    text = program_text(rules, syntax)
    res = CaseResult(seed, f"user-strata-{syntax}", sorted(set(facts), key=str))
    res.note = " ".join(text.split())
    ok = stratifiable(rules)
    try:
        program = parse_rules(text, syntax, f"<random.{syntax}>", name=f"random-{syntax}")
    except RuleSyntaxError as exc:
        msg = str(exc)
        if ok:
            res.explain.append(f"a stratifiable program was refused: {msg}")
        elif "stratif" not in msg or "recursion through negation" not in msg:
            res.explain.append(f"refused without saying why clearly: {msg}")
        return res
    if not ok:
        res.explain.append("an unstratifiable program was accepted")
        return res

    def check(store: Any) -> None:
        res.explain, res.explained = explain_problems(store, random.Random(seed))

    ours = kg_closure(res.facts, program, url, check=check)
    ref = random_program_reference(rules, res.facts)
    res.kg_only, res.ref_only = ours - ref, ref - ours
    return res


# -- aggregates ------------------------------------------------------------------------------

#: A SPARQL rule program with aggregates over a recursive predicate (COUNT DISTINCT of a
#: transitive closure) and over literal values (SUM, MIN, MAX, AVG of the numeric ones), a
#: rule reading an aggregate and one negating it; :func:`aggregate_reference` is its meaning.
AGGREGATE_RULES = "\n;\n".join(
    f"PREFIX ex: <{EX}>\n# rule: {name}\nCONSTRUCT {{ {head} }} WHERE {{ {body} }}" for name, head, body in [
        ("trans", "?x ex:p0 ?z", "?x ex:p0 ?y . ?y ex:p0 ?z"),
        ("reach", "?x ex:reach ?n",
         "?x ex:p0 ?w . { SELECT ?x (COUNT(DISTINCT ?y) AS ?n) WHERE { ?x ex:p0 ?y } GROUP BY ?x }"),
        ("hub", "?x a ex:Hub", "?x ex:reach ?n FILTER(?n >= 2)"),
        *[(name, f"?x ex:{name} ?m",
           f"?x ex:p3 ?w . {{ SELECT ?x ({fn}(?v) AS ?m) WHERE {{ ?x ex:p3 ?v FILTER(isNumeric(?v)) }} GROUP BY ?x }}")
          for name, fn in (("total", "SUM"), ("top", "MAX"), ("low", "MIN"), ("mean", "AVG"))],
        ("lonely", "?x a ex:Lonely", "?x a ex:C0 FILTER NOT EXISTS { ?x ex:reach ?n }"),
    ])
_AGG_PREDS = tuple(U(n) for n in ("reach", "total", "top", "low", "mean"))


def _numeric(lit: Any) -> float | None:
    """The value of a valid numeric literal (SPARQL ``isNumeric``), else None."""
    import re

    if not isinstance(lit, Literal) or lit.datatype is None:
        return None
    if literal_in_datatype(lit, str(OWL.real)):
        return float(str(lit).strip())
    if str(lit.datatype) in (str(XSD.double), str(XSD.float)):
        text = str(lit).strip()
        if re.fullmatch(_DBL_RE, text) and text != "NaN":
            return float(text.replace("INF", "inf"))
    return None


def aggregate_reference(facts: Iterable[tuple]) -> set[tuple]:
    """The closure of :data:`AGGREGATE_RULES` over ``facts`` (aggregate values as
    ``("value", float)`` objects: kg-engine types a computed number by its value)."""
    p0, p3, C0 = U("p0"), U("p3"), U("C0")
    g = {tuple(f[:3]) for f in facts}
    while True:  # trans
        new = {(x, p0, z) for x, p, y in g if p == p0 for y2, q, z in g if q == p0 and y2 == y} - g
        if not new:
            break
        g |= new
    out = set(g)
    subjects = {x for x, p, _ in g if p == p0}
    reach = {x: len({y for s, p, y in g if s == x and p == p0}) for x in subjects}
    for x, n in reach.items():
        out.add((x, U("reach"), ("value", float(n))))
        if n >= 2:
            out.add((x, T, U("Hub")))
    for x in {x for x, p, _ in g if p == p3}:
        vals = [v for v in (_numeric(o) for s, p, o in g if s == x and p == p3) if v is not None]
        if vals:
            for name, v in (("total", sum(vals)), ("top", max(vals)), ("low", min(vals)),
                            ("mean", sum(vals) / len(vals))):
                out.add((x, U(name), ("value", round(v, 9))))
    for x, p, c in g:
        if p == T and c == C0 and x not in reach:
            out.add((x, T, U("Lonely")))
    return {t for t in out if not isinstance(t[0], Literal)}


def check_aggregates(facts: list[tuple], url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """kg-engine's closure of :data:`AGGREGATE_RULES` against :func:`aggregate_reference`
    (aggregate results compared by value)."""
    from kg_engine.rules.syntax import parse_rules

    res = CaseResult(seed, "user-aggregates", facts)

    def check(store: Any) -> None:
        res.explain, res.explained = explain_problems(store, random.Random(seed))

    program = parse_rules(AGGREGATE_RULES, "sparql", "<aggregates.rq>", name="aggregates")
    ours = set()
    for s, p, o in kg_closure(facts, program, url, check=check):
        if p in _AGG_PREDS:
            o = ("value", round(float(o.toPython()), 9))
        ours.add((s, p, o))
    ref = aggregate_reference(facts)
    res.kg_only, res.ref_only = ours - ref, ref - ours
    return res


# -- TBox changes ----------------------------------------------------------------------------


def _is_abox(t: tuple) -> bool:
    _, p, o = t[:3]
    if p in (OWL.sameAs, OWL.differentFrom):
        return True
    if p == T:
        return isinstance(o, URIRef) and str(o).startswith(EX) or o == OWL.Nothing
    return str(p).startswith(EX)


def check_tbox_sequence(rng: random.Random, url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """TBox axioms added one statement at a time to a materialised store, then some removed
    one at a time (engine ``add``/``remove``, live store writes or ``KnowledgeGraph`` writes),
    each phase ending with the statements of a fresh run. The built-in program is specialised
    to parts of the TBox (lists, cardinalities): each such change must rebuild it."""
    from kg_engine.rules.engine import RuleEngine
    from kg_engine.rules.live import set_profile

    # no asserted owl:sameAs: with equality in use every write recomputes (nothing to test)
    facts = [t for t in generate(rng, "owl-rl-ext") if t[1] != OWL.sameAs]
    tbox = [t for t in facts if not _is_abox(t)]
    first = set(rng.sample(tbox, len(tbox) // 2))
    asserted = {(*t, _default()) for t in facts if _is_abox(t) or t in first}
    later = [t for t in tbox if t not in first]
    rng.shuffle(later)
    path = rng.choice(["engine", "live", "api"])
    res = CaseResult(seed, f"tbox-{path}", [])
    kg = None
    if path == "api":
        from kg_engine import KnowledgeGraph

        kg = KnowledgeGraph(url)
        store = kg.store
    else:
        store = _open(url)
    problems: list = []
    try:
        store.add(sorted(asserted, key=str))
        eng = None
        if path == "engine":
            eng = RuleEngine(store, "owl-rl")
            eng.materialise()
        else:
            set_profile(store, "owl-rl")
        for phase in ("add", "remove"):
            batch = later if phase == "add" else rng.sample(tbox, min(len(tbox), rng.randint(1, 4)))
            for t in batch:
                if phase == "add":
                    eng.add([t]) if eng else kg.add([t]) if kg else store.add([t])
                    asserted.add((*t, _default()))
                else:
                    eng.remove([t]) if eng else kg.remove(t) if kg else store.remove(t)
                    asserted.discard((*t, _default()))
            ours = _store_quads(store)
            violated = _violated(store, "owl-rl")
            part = CaseResult(seed, res.regime, [])
            _against_fresh(part, rng, ours, set(asserted), [], "owl-rl", url, violated)
            if not part.ok:
                res.kg_only |= part.kg_only
                res.ref_only |= part.ref_only
                res.violations = res.violations or part.violations
                problems.append(f"after the {phase}s ({' . '.join(_show(t) for t in batch)})")
        res.explain, res.explained = explain_problems(store, rng)
    finally:
        store.close()
    res.facts = sorted(asserted, key=str)
    res.note = "; ".join(problems) or f"{len(later)} added, then removals"
    return res


# -- a built-in rule set combined with user rules --------------------------------------------

#: body predicates of the combined programs' user rules: the generated ontology's properties
#: (asserted, and derived by OWL 2 RL); heads: two predicates of their own and those properties
#: (what the user rules derive feeds OWL 2 RL's domain, range, inverse, chain… rules)
_COMBO_BASE = tuple(U(f"p{i}") for i in range(4))
_COMBO_DERIVED = (U("q0"), U("q1"), *_COMBO_BASE)
#: name of the user part (its rules are r0, r1…; none is named like an OWL 2 RL rule)
COMBO_USER = "mine"


def combo_program(rng: random.Random) -> list[RandomRule]:
    """A random user program to run with OWL 2 RL (:func:`random_program` over
    :data:`_COMBO_BASE` / :data:`_COMBO_DERIVED`); rules read ``?x a C`` (a class of the
    ontology, typed by OWL 2 RL) now and then; negation kept in a fifth of the programs (those
    must be refused: OWL 2 RL's rules with a variable predicate, prp-spo1 and the like, make
    any negation depend on the user rules' own conclusions)."""
    rules = random_program(rng, _COMBO_BASE, _COMBO_DERIVED)
    keep_negation = rng.random() < 0.2
    for r in rules:
        if not keep_negation:
            r.negated, r.neg_vars = None, "xy"
        if rng.random() < 0.4:
            r.const = (T, U(f"C{rng.randint(0, 4)}"))
    return rules


def combo_bridges(rng: random.Random) -> list[tuple]:
    """1–4 axioms about the user rules' own predicates ``q0``/``q1`` (sub-property, domain,
    range, inverse, transitive, symmetric, an existential restriction), so that OWL 2 RL
    reads what the user rules derive as often as the user rules read what it derives."""
    qs, props, classes = (U("q0"), U("q1")), list(_COMBO_BASE), [U(f"C{i}") for i in range(5)]
    out: list[tuple] = []
    for _ in range(rng.randint(1, 4)):
        q, kind = rng.choice(qs), rng.randrange(7)
        if kind == 0:
            out.append((q, SP, rng.choice(props)) if rng.random() < 0.7 else (rng.choice(props), SP, q))
        elif kind in (1, 2):
            out.append((q, RDFS.domain if kind == 1 else RDFS.range, rng.choice(classes)))
        elif kind == 3:
            out.append((q, OWL.inverseOf, rng.choice(props)))
        elif kind in (4, 5):
            out.append((q, T, OWL.TransitiveProperty if kind == 4 else OWL.SymmetricProperty))
        else:
            r = BNode()
            out += [(r, T, OWL.Restriction), (r, OWL.onProperty, q),
                    (r, OWL.someValuesFrom, rng.choice(classes)), (r, SC, rng.choice(classes))]
    return out


def combo_reference(rules: list[RandomRule], facts: Iterable[tuple], builtin: str = "owl-rl") -> set[tuple]:
    """The joint fixpoint of the built-in rule set (``owl-rl`` or ``rdfs``) and the (positive)
    user ``rules`` over ``facts``: owlrl's closure (:func:`owlrl_closure`, the documented
    differences included) and the user rules by naive iteration in Python
    (:func:`random_program_reference`), alternated until neither adds a triple."""
    g = {tuple(f[:3]) for f in facts}
    while True:
        closed = owlrl_closure(g, builtin)
        more = random_program_reference(rules, closed)
        if more == closed:
            return closed
        g = more


def combo_spec(user: Any, builtin: str = "owl-rl") -> list:
    """The program as kg-engine is given it: the built-in name and the user rule set."""
    return [builtin, user]


def check_combo(rng: random.Random, syntax: str, url: str = "sqlite://", seed: int = -1) -> CaseResult:
    """OWL 2 RL (a quarter of the cases: RDFS) combined with a random user program in
    ``syntax`` (:func:`combo_program`) over a generated ontology + data (``owl-rl`` or
    ``owl-rl-ext``), against :func:`combo_reference`: the closure modulo the documented differences, the violated
    constraints, and every inferred statement's explanations checked by the independent
    validator (:func:`kg_engine.testing.explaindiff.check_store`: each derivation re-applied
    outside kg-engine). ``explained`` counts the trees that use both a user rule and an
    OWL 2 RL rule. A program with negation must be refused ("not stratifiable")."""
    from kg_engine.errors import RuleSyntaxError
    from kg_engine.rules.syntax import parse_rules

    facts = generate(rng, rng.choice(["owl-rl", "owl-rl-ext"]))
    rules = combo_program(rng)
    facts += combo_bridges(rng)
    builtin = "rdfs" if rng.random() < 0.25 else "owl-rl"  # drawn last: the rest as before
    text = program_text(rules, syntax)
    res = CaseResult(seed, f"combo-{builtin}-{syntax}", facts)
    res.note = " ".join(text.split())
    negation = any(r.negated for r in rules)
    results: list = []

    def check(store: Any) -> None:
        res.explain, res.explained = _combo_explanations(store, random.Random(seed))

    try:
        user = parse_rules(text, syntax, f"<{COMBO_USER}.{syntax}>", name=COMBO_USER)
        ours = kg_closure(facts, combo_spec(user, builtin), url, check=check, results=results)
    except RuleSyntaxError as exc:
        if not negation:
            res.explain.append(f"a positive program was refused: {exc}")
        elif "not stratifiable" not in str(exc) and "recursion through negation" not in str(exc):
            res.explain.append(f"refused without saying why clearly: {exc}")
        return res
    if negation:
        res.explain.append("a program with negation was run with OWL 2 RL (no stratification exists)")
        return res
    ref = combo_reference(rules, facts, builtin)
    _compare(res, ours, ref)
    theirs = reference_violations(ref) if builtin == "owl-rl" else set()
    if kg_violations(results[0]) != theirs:
        res.violations = (kg_violations(results[0]), theirs)
    return res


def _combo_explanations(store: Any, rng: random.Random) -> tuple[list[str], int]:
    """(problems, trees mixing a user rule and an OWL 2 RL rule): every inferred statement
    checked by :func:`kg_engine.testing.explaindiff.check_store`, and one derivation of each
    walked for the rules it uses."""
    from kg_engine.rules.explain import Explainer
    from kg_engine.testing import explaindiff

    report = explaindiff.CaseReport(-1, "combo")
    explaindiff.check_store(store, report, rng, asserted_sample=5)
    mixed = 0
    ex = Explainer(store)
    for q in store.triples((None, None, None)):
        if not str(q[3]).startswith("urn:kg-engine:inferred:"):
            continue
        for tree in ex.explain(q[:3]).trees:
            names = {n.rule for n in tree.walk() if n.kind == "inferred" and n.rule}
            user = {n for n in names if n.startswith("r") and n[1:].isdigit()}
            mixed += bool(user) and bool(names - user)
    return report.problems, mixed


def check_combo_sequence(rng: random.Random, url: str = "sqlite://", seed: int = -1,
                         path: str | None = None) -> CaseResult:
    """A write sequence (engine ``add``/``remove``, live store writes, or ``KnowledgeGraph``
    writes and SPARQL Update; :func:`check_incremental`) under OWL 2 RL combined with a random
    positive user program, against a fresh run of the same combination."""
    from kg_engine.rules.syntax import parse_rules

    rules = combo_program(rng)
    for r in rules:
        r.negated, r.neg_vars = None, "xy"
    syntax = rng.choice(sorted(USER_RULES))
    user = parse_rules(program_text(rules, syntax), syntax, f"<{COMBO_USER}.{syntax}>", name=COMBO_USER)
    path = path or rng.choice(["engine", "live", "api"])
    res = check_incremental(rng, combo_spec(user), url, seed=seed, live=path == "live", api=path == "api",
                            regime=rng.choice(["owl-rl", "owl-rl-ext"]))
    res.regime = f"combo-{path}"
    res.note = f"{' '.join(program_text(rules, syntax).split())} | {res.note}"
    return res
