"""OWL 2 RL (OWL 2 Profiles, §4.3, tables 4–9) as IR rules, specialised to the TBox.

Generic rules (one rule, schema triples joined at run time): prp-dom, prp-rng, prp-fp,
prp-ifp, prp-symp, prp-trp, prp-spo1, prp-eqp1/2, prp-inv1/2, cls-svf1/2, cls-avf,
cls-hv1/2, cls-svf1/dt (``someValuesFrom`` a datatype: a literal value in its value space,
:mod:`kg_engine.rules.datatypes`), cax-sco, cax-eqc1/2 and the schema rules scm-sco, scm-eqc1/2, scm-spo,
scm-eqp1/2, scm-dom1/2, scm-rng1/2, scm-hv, scm-svf1/2, scm-avf1/2.

TBox-specialised rules (the RDF list or the literal is read once from the store when the
program is built, one rule per axiom, named ``<rule>#<n>``): cls-int1, cls-int2, cls-uni,
cls-oo, scm-int, scm-uni, prp-spo2 (property chains), prp-key, cls-maxc2, cls-maxqc3,
cls-maxqc4, and the constraints cax-adc, prp-adp, eq-diff2/3, cls-maxc1, cls-maxqc1/2.

Constraints (empty head; reported as violations, never written): cls-nothing2, cls-com,
cax-dw, cax-adc, prp-irp, prp-asyp, prp-pdw, prp-adp, prp-npa1/2, eq-diff1/2/3,
cls-maxc1, cls-maxqc1/2, and dt-not-type for the literal values of a property whose
``rdfs:range`` (dt-not-type/rng) or ``allValuesFrom`` (dt-not-type/avf) is a datatype
that does not hold them.

Equality (eq-sym, eq-trans, eq-rep-s/p/o) is not written as rules: ``owl:sameAs`` is handled
by representative rewriting in :mod:`kg_engine.rules.sameas` — the rules above that
conclude ``owl:sameAs`` (prp-fp, prp-ifp, prp-key, cls-maxc2, cls-maxqc3/4) feed it.

Left out on purpose (they only add axiomatic or reflexive noise): eq-ref, prp-ap, cls-thing,
cls-nothing1, scm-cls, scm-op, scm-dp, dt-type1/2, dt-eq, dt-diff. Where a rule needs the
reflexive ``c subClassOf c`` / ``p subPropertyOf p`` that scm-cls/scm-op would supply,
a ``/refl`` variant with the two terms unified is included instead (scm-svf1/refl,
scm-avf1/refl, scm-hv/refl), so no entailment is lost.

Example:
    >>> from kg_engine.store import open_store
    >>> rs = owl_rl_rules(open_store("sqlite://"))
    >>> "cax-sco" in rs.names() and "scm-svf1" in rs.names()
    True
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import OWL, RDF, RDFS, Literal

from kg_engine.rules.ir import Atom, Builtin, Rule, RuleSet, Var

__all__ = ["SAMEAS_RULES", "generic_rules", "owl_rl_rules"]

T, SC, SP = RDF.type, RDFS.subClassOf, RDFS.subPropertyOf
EQC, EQP = OWL.equivalentClass, OWL.equivalentProperty
SVF, AVF, HV, ONP = OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue, OWL.onProperty

#: Rules whose head is ``owl:sameAs`` (feeding representative rewriting).
SAMEAS_RULES = frozenset({"prp-fp", "prp-ifp", "prp-key", "cls-maxc2", "cls-maxqc3", "cls-maxqc4"})


def _v(*names: str) -> list[Var]:
    return [Var(n) for n in names]


def _ne(a: Var, b: Var) -> Builtin:
    return Builtin("not", (Builtin("sameTerm", (a, b)),))


def _isdt(d: Var) -> Builtin:
    return Builtin("isDatatype", (d,))


def _indt(v: Var, d: Var) -> Builtin:
    return Builtin("inDatatype", (v, d))


def generic_rules() -> list[Rule]:
    """The OWL 2 RL rules that do not depend on RDF lists or literal constants."""
    x, y, z, p, p1, p2, p3, c, c1, c2, c3, u, v, y1, y2, x1, x2, i, i1, i2, lt = _v(
        "x", "y", "z", "p", "p1", "p2", "p3", "c", "c1", "c2", "c3", "u", "v", "y1", "y2",
        "x1", "x2", "i", "i1", "i2", "lt",
    )
    R = Rule
    A = Atom
    rules = [
        # --- Table 5: properties
        R("prp-dom", (A(p, RDFS.domain, c), A(x, p, y)), (A(x, T, c),)),
        R("prp-rng", (A(p, RDFS.range, c), A(x, p, y)), (A(y, T, c),)),
        R("prp-fp", (A(p, T, OWL.FunctionalProperty), A(x, p, y1), A(x, p, y2), _ne(y1, y2)),
          (A(y1, OWL.sameAs, y2),)),
        R("prp-ifp", (A(p, T, OWL.InverseFunctionalProperty), A(x1, p, y), A(x2, p, y), _ne(x1, x2)),
          (A(x1, OWL.sameAs, x2),)),
        R("prp-irp", (A(p, T, OWL.IrreflexiveProperty), A(x, p, x)), ()),
        R("prp-symp", (A(p, T, OWL.SymmetricProperty), A(x, p, y)), (A(y, p, x),)),
        R("prp-asyp", (A(p, T, OWL.AsymmetricProperty), A(x, p, y), A(y, p, x)), ()),
        R("prp-trp", (A(p, T, OWL.TransitiveProperty), A(x, p, y), A(y, p, z)), (A(x, p, z),)),
        R("dt-not-type/rng", (A(p, RDFS.range, c), A(x, p, y), _isdt(c), Builtin("isLiteral", (y,)),
                              Builtin("not", (_indt(y, c),))), ()),
        R("prp-spo1", (A(p1, SP, p2), A(x, p1, y)), (A(x, p2, y),)),
        R("prp-eqp1", (A(p1, EQP, p2), A(x, p1, y)), (A(x, p2, y),)),
        R("prp-eqp2", (A(p1, EQP, p2), A(x, p2, y)), (A(x, p1, y),)),
        R("prp-pdw", (A(p1, OWL.propertyDisjointWith, p2), A(x, p1, y), A(x, p2, y)), ()),
        R("prp-inv1", (A(p1, OWL.inverseOf, p2), A(x, p1, y)), (A(y, p2, x),)),
        R("prp-inv2", (A(p1, OWL.inverseOf, p2), A(x, p2, y)), (A(y, p1, x),)),
        R("prp-npa1", (A(x, OWL.sourceIndividual, i1), A(x, OWL.assertionProperty, p),
                       A(x, OWL.targetIndividual, i2), A(i1, p, i2)), ()),
        R("prp-npa2", (A(x, OWL.sourceIndividual, i), A(x, OWL.assertionProperty, p),
                       A(x, OWL.targetValue, lt), A(i, p, lt)), ()),
        # --- Table 6: classes
        R("cls-nothing2", (A(x, T, OWL.Nothing),), ()),
        R("cls-com", (A(c1, OWL.complementOf, c2), A(x, T, c1), A(x, T, c2)), ()),
        R("cls-svf1", (A(x, SVF, y), A(x, ONP, p), A(u, p, v), A(v, T, y)), (A(u, T, x),)),
        R("cls-svf2", (A(x, SVF, OWL.Thing), A(x, ONP, p), A(u, p, v)), (A(u, T, x),)),
        R("cls-avf", (A(x, AVF, y), A(x, ONP, p), A(u, T, x), A(u, p, v)), (A(v, T, y),)),
        # data ranges: ``v a y`` for a literal v (dt-type2) is a test, never a triple
        R("cls-svf1/dt", (A(x, SVF, y), A(x, ONP, p), A(u, p, v), _isdt(y), _indt(v, y)), (A(u, T, x),)),
        R("dt-not-type/avf", (A(x, AVF, y), A(x, ONP, p), A(u, T, x), A(u, p, v), _isdt(y),
                              Builtin("isLiteral", (v,)), Builtin("not", (_indt(v, y),))), ()),
        R("cls-hv1", (A(x, HV, y), A(x, ONP, p), A(u, T, x)), (A(u, p, y),)),
        R("cls-hv2", (A(x, HV, y), A(x, ONP, p), A(u, p, y)), (A(u, T, x),)),
        # --- Table 7: class axioms
        R("cax-sco", (A(c1, SC, c2), A(x, T, c1)), (A(x, T, c2),)),
        R("cax-eqc1", (A(c1, EQC, c2), A(x, T, c1)), (A(x, T, c2),)),
        R("cax-eqc2", (A(c1, EQC, c2), A(x, T, c2)), (A(x, T, c1),)),
        R("cax-dw", (A(c1, OWL.disjointWith, c2), A(x, T, c1), A(x, T, c2)), ()),
        # --- Table 9: schema
        R("scm-sco", (A(c1, SC, c2), A(c2, SC, c3), _ne(c1, c3)), (A(c1, SC, c3),)),
        R("scm-eqc1", (A(c1, EQC, c2), _ne(c1, c2)), (A(c1, SC, c2), A(c2, SC, c1))),
        R("scm-eqc2", (A(c1, SC, c2), A(c2, SC, c1), _ne(c1, c2)), (A(c1, EQC, c2),)),
        R("scm-spo", (A(p1, SP, p2), A(p2, SP, p3), _ne(p1, p3)), (A(p1, SP, p3),)),
        R("scm-eqp1", (A(p1, EQP, p2), _ne(p1, p2)), (A(p1, SP, p2), A(p2, SP, p1))),
        R("scm-eqp2", (A(p1, SP, p2), A(p2, SP, p1), _ne(p1, p2)), (A(p1, EQP, p2),)),
        R("scm-dom1", (A(p, RDFS.domain, c1), A(c1, SC, c2)), (A(p, RDFS.domain, c2),)),
        R("scm-dom2", (A(p2, RDFS.domain, c), A(p1, SP, p2)), (A(p1, RDFS.domain, c),)),
        R("scm-rng1", (A(p, RDFS.range, c1), A(c1, SC, c2)), (A(p, RDFS.range, c2),)),
        R("scm-rng2", (A(p2, RDFS.range, c), A(p1, SP, p2)), (A(p1, RDFS.range, c),)),
        R("scm-hv", (A(c1, HV, i), A(c1, ONP, p1), A(c2, HV, i), A(c2, ONP, p2), A(p1, SP, p2)),
          (A(c1, SC, c2),)),
        R("scm-hv/refl", (A(c1, HV, i), A(c1, ONP, p), A(c2, HV, i), A(c2, ONP, p), _ne(c1, c2)),
          (A(c1, SC, c2),)),
        R("scm-svf1", (A(c1, SVF, y1), A(c1, ONP, p), A(c2, SVF, y2), A(c2, ONP, p), A(y1, SC, y2)),
          (A(c1, SC, c2),)),
        R("scm-svf1/refl", (A(c1, SVF, y), A(c1, ONP, p), A(c2, SVF, y), A(c2, ONP, p), _ne(c1, c2)),
          (A(c1, SC, c2),)),
        R("scm-svf2", (A(c1, SVF, y), A(c1, ONP, p1), A(c2, SVF, y), A(c2, ONP, p2), A(p1, SP, p2)),
          (A(c1, SC, c2),)),
        R("scm-avf1", (A(c1, AVF, y1), A(c1, ONP, p), A(c2, AVF, y2), A(c2, ONP, p), A(y1, SC, y2)),
          (A(c1, SC, c2),)),
        R("scm-avf1/refl", (A(c1, AVF, y), A(c1, ONP, p), A(c2, AVF, y), A(c2, ONP, p), _ne(c1, c2)),
          (A(c1, SC, c2),)),
        R("scm-avf2", (A(c1, AVF, y), A(c1, ONP, p1), A(c2, AVF, y), A(c2, ONP, p2), A(p1, SP, p2)),
          (A(c2, SC, c1),)),
        # --- Table 4: equality constraint (sameAs & differentFrom)
        # over canonical facts (sameas.py) "x sameAs y, x differentFrom y" is "r differentFrom r"
        R("eq-diff1", (A(x, OWL.differentFrom, x),), ()),
    ]
    return rules


class _TBox:
    """Reads schema axioms and RDF lists from the store's asserted graphs (ids, decoded at the
    end). Inferred graphs are not read: owl:sameAs copies list statements onto equal
    individuals there (``_:l rdf:first :a3`` beside ``_:l rdf:first :a0``), so a recompute
    read branched lists, kept one branch by row order and gave another closure than a fresh
    run (rules differential, tbox-live seed 1300037)."""

    def __init__(self, store: Any) -> None:
        from kg_engine.rules.sqlgen import hidden_graph_ids

        self.store = store
        hidden = hidden_graph_ids(store.db, own=-1)  # inferred, predicted, analytics graphs
        self._asserted = f" AND g NOT IN ({', '.join(map(str, hidden))})" if hidden else ""
        vocab = [RDF.first, RDF.rest, RDF.nil, OWL.intersectionOf, OWL.unionOf, OWL.oneOf,
                 OWL.propertyChainAxiom, OWL.hasKey, OWL.members, OWL.distinctMembers, T,
                 OWL.AllDisjointClasses, OWL.AllDisjointProperties, OWL.AllDifferent,
                 OWL.maxCardinality, OWL.maxQualifiedCardinality, OWL.onProperty, OWL.onClass]
        self.ids = store.term_ids(vocab)
        self._first: dict[int, int] | None = None
        self._rest: dict[int, int] | None = None

    def pairs(self, pred: Any) -> list[tuple[int, int]]:
        pid = self.ids.get(pred)
        if pid is None:
            return []
        return self.store.db.fetchall(
            f"SELECT DISTINCT s, o FROM kg_quads WHERE p = ?{self._asserted}", (pid,))

    def subjects_of_type(self, cls: Any) -> list[int]:
        tid, cid = self.ids.get(T), self.ids.get(cls)
        if tid is None or cid is None:
            return []
        return [r[0] for r in self.store.db.fetchall(
            f"SELECT DISTINCT s FROM kg_quads WHERE p = ? AND o = ?{self._asserted}", (tid, cid))]

    def objects(self, s: int, pred: Any) -> list[int]:
        pid = self.ids.get(pred)
        if pid is None:
            return []
        return [r[0] for r in self.store.db.fetchall(
            f"SELECT DISTINCT o FROM kg_quads WHERE s = ? AND p = ?{self._asserted}", (s, pid))]

    def items(self, head: int) -> list[int] | None:
        """Members of the RDF list at ``head``; ``None`` if it is malformed or cyclic."""
        if self._first is None:
            self._first = dict(self.pairs(RDF.first))
            self._rest = dict(self.pairs(RDF.rest))
        nil = self.ids.get(RDF.nil)
        out: list[int] = []
        seen: set[int] = set()
        node = head
        while node != nil:
            if node in seen or node not in self._first or node not in self._rest:
                return None
            seen.add(node)
            out.append(self._first[node])
            node = self._rest[node]
        return out


def _card_value(term: Any) -> int | None:
    """A cardinality's integer: ASCII digits only (``int()`` also reads ``"1_0"`` as 10 and
    Arabic-Indic digits, which the store holds as ill-typed)."""
    if isinstance(term, Literal) and _DIGITS.fullmatch(str(term).strip()):
        return int(str(term))
    return None


_DIGITS = re.compile(r"[+-]?[0-9]+")


def owl_rl_rules(store: Any) -> RuleSet:
    """The OWL 2 RL program for ``store``: generic rules + rules specialised to its TBox.

    Args:
        store: the store whose TBox (lists, cardinalities) specialises the program.

    Returns:
        A :class:`RuleSet` named ``owl-rl``.
    """
    tb = _TBox(store)
    specs: list[tuple[str, Any]] = []  # (rule kind, payload of ids)

    for c, lst in tb.pairs(OWL.intersectionOf):
        items = tb.items(lst)
        if items:
            specs.append(("int", (c, items)))
    for c, lst in tb.pairs(OWL.unionOf):
        items = tb.items(lst)
        if items:
            specs.append(("uni", (c, items)))
    for c, lst in tb.pairs(OWL.oneOf):
        items = tb.items(lst)
        if items:
            specs.append(("oo", (c, items)))
    for p, lst in tb.pairs(OWL.propertyChainAxiom):
        items = tb.items(lst)
        if items:
            specs.append(("chain", (p, items)))
    for c, lst in tb.pairs(OWL.hasKey):
        items = tb.items(lst)
        if items:
            specs.append(("key", (c, items)))
    for kind, cls in (("adc", OWL.AllDisjointClasses), ("adp", OWL.AllDisjointProperties),
                      ("diff", OWL.AllDifferent)):
        for node in tb.subjects_of_type(cls):
            for pred in (OWL.members, OWL.distinctMembers):
                for lst in tb.objects(node, pred):
                    items = tb.items(lst)
                    if items and len(items) > 1:
                        specs.append((kind, (node, items)))
    for x, n in tb.pairs(OWL.maxCardinality):
        for p in tb.objects(x, OWL.onProperty):
            specs.append(("maxc", (x, n, p)))
    for x, n in tb.pairs(OWL.maxQualifiedCardinality):
        for p in tb.objects(x, OWL.onProperty):
            for c in tb.objects(x, OWL.onClass):
                specs.append(("maxqc", (x, n, p, c)))

    ids: set[int] = set()
    for _, payload in specs:
        for part in payload:
            if isinstance(part, list):
                ids.update(part)
            else:
                ids.add(part)
    terms = store.decode(ids) if ids else {}

    rules = generic_rules()
    rules += _specialised(specs, terms)
    return RuleSet("owl-rl", tuple(rules))


def _specialised(specs: list[tuple[str, Any]], terms: dict[int, Any]) -> list[Rule]:
    x, y, u = Var("x"), Var("y"), Var("u")
    out: list[tuple[str, list[Rule]]] = []
    for kind, payload in specs:
        t = lambda i: terms[i]
        rs: list[Rule] = []
        if kind == "int":
            c, items = t(payload[0]), [t(i) for i in payload[1]]
            key = c.n3()
            rs.append(Rule("cls-int1", tuple(Atom(x, T, ci) for ci in items), (Atom(x, T, c),)))
            rs.append(Rule("cls-int2", (Atom(x, T, c),), tuple(Atom(x, T, ci) for ci in items if ci != c)))
            rs.append(Rule("scm-int", (), tuple(Atom(c, SC, ci) for ci in items if ci != c)))
        elif kind == "uni":
            c, items = t(payload[0]), [t(i) for i in payload[1]]
            key = c.n3()
            for ci in items:
                if ci != c:
                    rs.append(Rule("cls-uni", (Atom(x, T, ci),), (Atom(x, T, c),)))
            rs.append(Rule("scm-uni", (), tuple(Atom(ci, SC, c) for ci in items if ci != c)))
        elif kind == "oo":
            c, items = t(payload[0]), [t(i) for i in payload[1]]
            key = c.n3()
            rs.append(Rule("cls-oo", (), tuple(Atom(i, T, c) for i in items if not isinstance(i, Literal))))
        elif kind == "chain":
            p, items = t(payload[0]), [t(i) for i in payload[1]]
            key = p.n3()
            us = [Var(f"u{k}") for k in range(len(items) + 1)]
            body = tuple(Atom(us[k], pk, us[k + 1]) for k, pk in enumerate(items))
            rs.append(Rule("prp-spo2", body, (Atom(us[0], p, us[-1]),)))
        elif kind == "key":
            c, items = t(payload[0]), [t(i) for i in payload[1]]
            key = c.n3()
            zs = [Var(f"z{k}") for k in range(len(items))]
            body = [Atom(x, T, c)] + [Atom(x, pk, zk) for pk, zk in zip(items, zs)]
            body += [Atom(y, T, c)] + [Atom(y, pk, zk) for pk, zk in zip(items, zs)]
            rs.append(Rule("prp-key", (*body, _ne(x, y)), (Atom(x, OWL.sameAs, y),)))
        elif kind in ("adc", "adp", "diff"):
            items = [t(i) for i in payload[1]]
            key = t(payload[0]).n3() + " " + " ".join(i.n3() for i in items)
            for a in range(len(items)):
                for b in range(a + 1, len(items)):
                    ca, cb = items[a], items[b]
                    if kind == "adc":
                        rs.append(Rule("cax-adc", (Atom(x, T, ca), Atom(x, T, cb)), ()))
                    elif kind == "adp":
                        rs.append(Rule("prp-adp", (Atom(x, ca, y), Atom(x, cb, y)), ()))
                    elif ca == cb and not isinstance(ca, Literal):
                        # a member listed twice: zi sameAs zj holds by eq-ref, so the axiom
                        # itself is inconsistent (the body is the axiom's own typing)
                        rs.append(Rule("eq-diff2", (Atom(t(payload[0]), T, OWL.AllDifferent),), ()))
                    elif not isinstance(ca, Literal) and not isinstance(cb, Literal):
                        # sameAs is kept as a star around the representative (sameas.py):
                        # either one of them is the representative, or both link to it
                        rs.append(Rule("eq-diff2", (Atom(ca, OWL.sameAs, cb),), ()))
                        rs.append(Rule("eq-diff2", (Atom(ca, OWL.sameAs, y), Atom(cb, OWL.sameAs, y)), ()))
        elif kind == "maxc":
            r, n, p = t(payload[0]), _card_value(t(payload[1])), t(payload[2])
            key = r.n3()
            y1, y2 = Var("y1"), Var("y2")
            if n == 0:
                rs.append(Rule("cls-maxc1", (Atom(u, T, r), Atom(u, p, y)), ()))
            elif n == 1:
                rs.append(Rule("cls-maxc2", (Atom(u, T, r), Atom(u, p, y1), Atom(u, p, y2), _ne(y1, y2)),
                               (Atom(y1, OWL.sameAs, y2),)))
        elif kind == "maxqc":
            r, n, p, c = t(payload[0]), _card_value(t(payload[1])), t(payload[2]), t(payload[3])
            key = r.n3()
            y1, y2 = Var("y1"), Var("y2")
            if n == 0 and c == OWL.Thing:
                rs.append(Rule("cls-maxqc2", (Atom(u, T, r), Atom(u, p, y)), ()))
            elif n == 0:
                rs.append(Rule("cls-maxqc1", (Atom(u, T, r), Atom(u, p, y), Atom(y, T, c)), ()))
            elif n == 1 and c == OWL.Thing:
                rs.append(Rule("cls-maxqc4", (Atom(u, T, r), Atom(u, p, y1), Atom(u, p, y2), _ne(y1, y2)),
                               (Atom(y1, OWL.sameAs, y2),)))
            elif n == 1:
                rs.append(Rule("cls-maxqc3", (Atom(u, T, r), Atom(u, p, y1), Atom(y1, T, c),
                                              Atom(u, p, y2), Atom(y2, T, c), _ne(y1, y2)),
                               (Atom(y1, OWL.sameAs, y2),)))
        else:  # pragma: no cover
            continue
        out.append((kind + " " + key, [r for r in rs if r.body or r.head]))
    # Deterministic names: sort by axiom, number within each rule name.
    out.sort(key=lambda kv: kv[0])
    counters: dict[str, int] = {}
    named: list[Rule] = []
    for _, rs in out:
        for r in rs:
            if not r.head and r.name not in _CONSTRAINTS:
                continue  # a derivation rule left without conclusions (e.g. C ⊓ C)
            k = counters.get(r.name, 0) + 1
            counters[r.name] = k
            named.append(Rule(f"{r.name}#{k}", r.body, r.head))
    return named


_CONSTRAINTS = frozenset({"cax-adc", "prp-adp", "eq-diff2", "cls-maxc1", "cls-maxqc1", "cls-maxqc2"})
