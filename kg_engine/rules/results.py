"""What a reasoning run reports: :class:`ReasoningResult`, per-rule :class:`RuleProfile`, and
the :class:`Violation` of a constraint rule.

This module sits below the engine, incremental maintenance, equality and consistency
checking: all of them build or return these objects, none of them imports another for them.

Example:
    >>> from rdflib import URIRef
    >>> r = ReasoningResult("rdfs", URIRef("urn:kg-engine:inferred:rdfs"), derived=3, rounds=2)
    >>> str(r).startswith("rdfs: derived 3 triples in 2 rounds")
    True
    >>> str(Violation("cax-dw", {"x": URIRef("urn:rex")}))
    'cax-dw: ?x=<urn:rex>'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rdflib import URIRef

__all__ = ["Profiler", "ReasoningResult", "RuleProfile", "Violation"]


@dataclass
class Violation:
    """One solution of a constraint rule (an inconsistency); nothing is written for it.

    Attributes:
        rule: the constraint's name (``cax-dw``, ``prp-irp``, … or a user rule).
        bindings: variable name -> rdflib term.
    """

    rule: str
    bindings: dict[str, Any]

    def __str__(self) -> str:
        vals = ", ".join(
            f"?{k}={v.n3() if hasattr(v, 'n3') else v}" for k, v in sorted(self.bindings.items())
        )
        return f"{self.rule}: {vals}"


@dataclass
class RuleProfile:
    """Time and output of one rule over a run.

    Attributes:
        rule: rule name.
        seconds: wall time spent in its statements.
        fired: triples it derived first (new triples credited to it).
        statements: SQL statements executed for it.
    """

    rule: str
    seconds: float = 0.0
    fired: int = 0
    statements: int = 0


@dataclass
class ReasoningResult:
    """What a materialisation (or incremental update) did.

    Attributes:
        program: name of the program.
        graph: the inferred graph.
        derived: triples added to the inferred graph.
        removed: triples removed from the inferred graph (incremental delete / recompute).
        rounds: semi-naive rounds run.
        seconds: wall time; ``cpu_seconds``: process CPU time.
        profile: per-rule :class:`RuleProfile`, slowest first.
        violations: constraint violations found after the fixpoint.
        violation_counts: rule -> number of violations (``violations`` is capped).
    """

    program: str
    graph: URIRef
    derived: int = 0
    removed: int = 0
    rounds: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    profile: list[RuleProfile] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    violation_counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        s = (
            f"{self.program}: derived {self.derived} triples"
            + (f", removed {self.removed}" if self.removed else "")
            + f" in {self.rounds} rounds, {self.seconds:.2f} s"
        )
        n = sum(self.violation_counts.values())
        if n:
            s += f"; {n} violation(s)"
        return s


class Profiler:
    """Accumulates :class:`RuleProfile` per rule over the statements of a run."""

    def __init__(self) -> None:
        self.rules: dict[str, RuleProfile] = {}

    def add(self, rule: str, seconds: float, fired: int) -> None:
        p = self.rules.get(rule)
        if p is None:
            p = self.rules[rule] = RuleProfile(rule)
        p.seconds += seconds
        p.fired += max(fired, 0)
        p.statements += 1

    def sorted(self) -> list[RuleProfile]:
        return sorted(self.rules.values(), key=lambda p: -p.seconds)
