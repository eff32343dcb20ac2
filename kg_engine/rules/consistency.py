"""Consistency checking: constraint rules report violations, they never write triples.

A *constraint* is a rule with an empty head (:attr:`Rule.is_constraint`); every solution of
its body is an inconsistency. OWL 2 RL's constraint rules (``cax-dw``, ``cls-nothing2``,
``prp-irp``, ``prp-asyp``, ``prp-pdw``, ``cls-com``, ``eq-diff1/2``, ``cax-adc``, ``prp-adp``,
``prp-npa1/2``, ``cls-maxc1``, ``cls-maxqc1/2``) are part of the ``owl-rl`` program; user
programs may contain their own (a Jena rule without conclusion, an N3 rule ``=> false``).
The engine evaluates them after the fixpoint (over asserted ∪ inferred triples) and returns
:class:`Violation` objects in :attr:`ReasoningResult.violations` (``Violation`` lives in
:mod:`kg_engine.rules.results`, below the engine; this module only builds on the engine).

Example:
    >>> from rdflib import OWL, RDF, URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef("urn:Cat"), OWL.disjointWith, URIRef("urn:Dog")),
    ...                (URIRef("urn:rex"), RDF.type, URIRef("urn:Cat")),
    ...                (URIRef("urn:rex"), RDF.type, URIRef("urn:Dog"))])
    >>> [str(v) for v in check(store)]
    ['cax-dw: ?c1=<urn:Cat>, ?c2=<urn:Dog>, ?x=<urn:rex>']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kg_engine.rules.engine import RuleEngine
from kg_engine.rules.results import Violation

__all__ = ["OWL_RL_CONSTRAINTS", "Violation", "check"]

#: Names of the OWL 2 RL constraint rules (specialised ones get a ``#n`` suffix).
OWL_RL_CONSTRAINTS = frozenset({
    "cax-dw", "cax-adc", "cls-nothing2", "cls-com", "cls-maxc1", "cls-maxqc1", "cls-maxqc2",
    "prp-irp", "prp-asyp", "prp-pdw", "prp-adp", "prp-npa1", "prp-npa2", "eq-diff1", "eq-diff2",
    "dt-not-type/rng", "dt-not-type/avf",
})


def check(store: Any, rules: Any = "owl-rl", *, max_violations: int = 100) -> list[Violation]:
    """Evaluate only the constraints of ``rules`` over the store as it is (no reasoning).

    Run it after :func:`~kg_engine.rules.engine.reason` to check the closure.

    Args:
        store: an open store.
        rules: ``"owl-rl"``, ``"rdfs"``, a :class:`~kg_engine.rules.ir.RuleSet` or rules.
        max_violations: violations returned per constraint.

    Returns:
        The violations found.
    """
    return RuleEngine(store, rules, max_violations=max_violations).check()


def constraint_names(rules: Sequence[Any]) -> list[str]:
    """Names of the constraint rules among ``rules``."""
    return [r.name for r in rules if r.is_constraint]
