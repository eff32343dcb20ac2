"""Run-time specialisation of generic rules to the current TBox (sideways information passing).

Most OWL 2 RL / RDFS rules join one or two small *schema* atoms (``?p rdfs:domain ?c``,
``?c1 rdfs:subClassOf ?c2``, ``?p a owl:TransitiveProperty``…) with *data* atoms whose
predicate is a variable (``?x ?p ?y``). Evaluated as one SQL statement, the data atom has to
scan the whole delta (or the whole store in round 1) and probe the schema for every row.
Instead, each round the engine reads the solutions of the schema atoms (a handful of rows),
substitutes them into the rule and runs one statement per solution — now every data atom
has a constant predicate (and class), so it is an index range scan, and the semi-naive
delta filter skips the solutions whose predicate did not change this round.

This is only an evaluation strategy: when the delta position *is* a schema atom, or the
schema has more than :data:`MAX_SOLUTIONS` solutions for a rule, the generic statement runs;
so does it on PostgreSQL for the variants that read a small delta (one statement per delta
position instead of one per variant: ``RuleEngine._eval_specialised``).
Because solutions are re-read every round, schema triples derived during the run are used
from the next round on, exactly as in the generic evaluation.

Example:
    >>> from rdflib import RDF, RDFS, URIRef
    >>> from kg_engine.rules.ir import Atom, Rule, Var
    >>> x, c, d = Var("x"), Var("c"), Var("d")
    >>> r = Rule("cax-sco", (Atom(c, RDFS.subClassOf, d), Atom(x, RDF.type, c)), (Atom(x, RDF.type, d),))
    >>> split(r)
    ([0], [1])
    >>> print(substitute(r, {c: URIRef("urn:A"), d: URIRef("urn:B")}, [1]))
    [cax-sco: (?x rdf:type <urn:A>) -> (?x rdf:type <urn:B>)]
"""

from __future__ import annotations

from typing import Any

from rdflib import OWL, RDF, RDFS, BNode, Literal, URIRef

from kg_engine.rules.ir import Atom, Builtin, Rule, Var

__all__ = ["MAX_SOLUTIONS", "SCHEMA_PREDICATES", "Specialiser", "split", "substitute"]

#: Predicates of schema (TBox) triples.
SCHEMA_PREDICATES = frozenset({
    RDFS.domain, RDFS.range, RDFS.subClassOf, RDFS.subPropertyOf, OWL.inverseOf,
    OWL.equivalentClass, OWL.equivalentProperty, OWL.someValuesFrom, OWL.allValuesFrom,
    OWL.hasValue, OWL.onProperty, OWL.propertyDisjointWith, OWL.disjointWith, OWL.complementOf,
})
#: Classes whose ``rdf:type`` triples are schema triples (property characteristics).
SCHEMA_TYPES = frozenset({
    OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty, OWL.IrreflexiveProperty, OWL.AsymmetricProperty,
})
#: Above this many schema solutions for one rule, the generic statement is cheaper.
MAX_SOLUTIONS = 400


def is_schema_atom(a: Atom) -> bool:
    if a.p in SCHEMA_PREDICATES:
        return True
    return a.p == RDF.type and a.o in SCHEMA_TYPES


def split(rule: Rule) -> tuple[list[int], list[int]] | None:
    """(schema atom indexes, data atom indexes) of ``rule.atoms()``; ``None`` if not splittable."""
    if any(not isinstance(b, (Atom, Builtin)) for b in rule.body):
        return None
    atoms = rule.atoms()
    schema = [i for i, a in enumerate(atoms) if is_schema_atom(a)]
    data = [i for i, a in enumerate(atoms) if not is_schema_atom(a)]
    if not schema or not data:
        return None
    return schema, data


def _sub(node: Any, env: dict) -> Any:
    if isinstance(node, Var):
        return env.get(node, node)
    if isinstance(node, Builtin):
        return Builtin(node.name, tuple(_sub(a, env) for a in node.args))
    return node


def substitute(rule: Rule, env: dict, data: list[int]) -> Rule | None:
    """``rule`` with ``env`` substituted and only the data atoms ``data`` kept.

    Returns ``None`` when a head would get a literal subject or a non-IRI predicate, or an
    ``isDatatype`` test of a constant fails (the variant can never fire).
    """
    atoms = rule.atoms()
    body: list[Any] = [Atom(*(_sub(t, env) for t in atoms[i])) for i in data]
    for b in rule.body:
        if isinstance(b, Builtin):
            b = _sub(b, env)
            if b.name == "isDatatype" and not isinstance(b.args[0], Var):  # decided now
                from kg_engine.rules.datatypes import SUPPORTED

                if str(b.args[0]) not in SUPPORTED or not isinstance(b.args[0], URIRef):
                    return None
                continue
            body.append(b)
    head = []
    for h in rule.head:
        s, p, o = (_sub(t, env) for t in h)
        if isinstance(s, Literal) or (not isinstance(p, Var) and not isinstance(p, URIRef)):
            continue
        head.append(Atom(s, p, o))
    if rule.head and not head:
        return None
    return Rule(rule.name, tuple(body), tuple(head), rule.source, rule.line)


class Specialiser:
    """Per-round cache of schema solutions and specialised variants for one engine run."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._cache: dict[str, Any] = {}

    def reset(self) -> None:
        """Forget solutions (call after each round's triples are committed)."""
        self._cache.clear()

    def variants(self, rule: Rule, ids: Any) -> tuple[list[int], list[int], list[Rule], dict] | None:
        """(schema idx, data idx, specialised rules, their constant ids) or ``None`` (use generic)."""
        hit = self._cache.get(rule.name)
        if hit is not None or rule.name in self._cache:
            return hit
        out = self._compute(rule, ids)
        self._cache[rule.name] = out
        return out

    def _compute(self, rule: Rule, ids: Any) -> Any:
        from kg_engine.rules.sqlgen import BodyQuery, Unsatisfiable

        sp = split(rule)
        if sp is None:
            return None
        schema, data = sp
        atoms = rule.atoms()
        q = BodyQuery(ids, self.engine.dialect)
        try:
            for i in schema:
                q.add_atom(atoms[i], "kg_quads", q.cols)
        except Unsatisfiable:
            return schema, data, [], {}
        vs = sorted(q.cols)
        sel, params = q.select([(q.cols[v], "id", []) for v in vs], distinct=True)
        rows = self.engine.db.fetchall(f"{sel} LIMIT {MAX_SOLUTIONS + 1}", params)
        if len(rows) > MAX_SOLUTIONS:
            return None
        if not rows:
            return schema, data, [], {}
        terms = self.engine.store.decode({int(x) for r in rows for x in r})
        extra: dict = {}
        variants: list[Rule] = []
        seen: set = set()
        for r in rows:
            env = {}
            for v, x in zip(vs, r):
                t = terms[int(x)]
                if isinstance(t, (URIRef, BNode, Literal)):
                    env[v] = t
                    extra[t] = int(x)
            spec = substitute(rule, env, data)
            if spec is not None and spec not in seen:
                seen.add(spec)
                variants.append(spec)
        return schema, data, variants, extra
