"""RDFS entailment rules (RDF 1.1 Semantics, §9.2) without the axiomatic noise.

Kept: rdfs2 (domain), rdfs3 (range), rdfs5 (subPropertyOf transitivity), rdfs7
(subPropertyOf), rdfs9 (subClassOf), rdfs11 (subClassOf transitivity), rdfs12 and rdfs13.
Left out on purpose: rdfs1/rdfs4a/rdfs4b/rdfs8 (``x a rdfs:Resource`` for every term,
``rdfs:Literal`` types), rdfs6/rdfs10 (reflexive ``p subPropertyOf p``, ``c subClassOf c``):
they add a triple per resource and answer nothing. Literal subjects are never written (the
engine drops them), so rdfs3 on a literal-valued property types nothing.

Example:
    >>> [r.name for r in rdfs_rules()]
    ['rdfs2', 'rdfs3', 'rdfs5', 'rdfs7', 'rdfs9', 'rdfs11', 'rdfs12', 'rdfs13']
"""

from __future__ import annotations

from rdflib import RDF, RDFS

from kg_engine.rules.ir import Atom, Builtin, Rule, RuleSet, Var

__all__ = ["rdfs_rules"]

x, y, z, p, q, r, c, d, e = (Var(n) for n in ("x", "y", "z", "p", "q", "r", "c", "d", "e"))


def _distinct(a: Var, b: Var) -> Builtin:
    return Builtin("not", (Builtin("sameTerm", (a, b)),))


def rdfs_rules() -> RuleSet:
    """The RDFS rule set (see the module docstring for what is in and out)."""
    T, SC, SP = RDF.type, RDFS.subClassOf, RDFS.subPropertyOf
    rules = [
        Rule("rdfs2", (Atom(p, RDFS.domain, c), Atom(x, p, y)), (Atom(x, T, c),)),
        Rule("rdfs3", (Atom(p, RDFS.range, c), Atom(x, p, y)), (Atom(y, T, c),)),
        Rule("rdfs5", (Atom(p, SP, q), Atom(q, SP, r), _distinct(p, r)), (Atom(p, SP, r),)),
        Rule("rdfs7", (Atom(p, SP, q), Atom(x, p, y)), (Atom(x, q, y),)),
        Rule("rdfs9", (Atom(c, SC, d), Atom(x, T, c)), (Atom(x, T, d),)),
        Rule("rdfs11", (Atom(c, SC, d), Atom(d, SC, e), _distinct(c, e)), (Atom(c, SC, e),)),
        Rule("rdfs12", (Atom(p, T, RDFS.ContainerMembershipProperty),), (Atom(p, SP, RDFS.member),)),
        Rule("rdfs13", (Atom(x, T, RDFS.Datatype),), (Atom(x, SC, RDFS.Literal),)),
    ]
    return RuleSet("rdfs", tuple(rules))
