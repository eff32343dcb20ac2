"""Rule engine: rule languages, built-in rule sets (RDFS, OWL 2 RL), semi-naive SQL evaluation,
incremental maintenance and explanations.

Names are imported lazily, so ``import kg_engine.rules`` stays cheap.

Example:
    >>> from kg_engine.rules import load_rules
    >>> load_rules("[r: (?a <urn:p> ?b) -> (?b <urn:p> ?a)]").names()
    ['r']
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it (R2: syntax/checks/explain; R1 adds the engine's names)
_EXPORTS = {
    "load_rules": "kg_engine.rules.syntax",
    "parse_rules": "kg_engine.rules.syntax",
    "resolve_rules": "kg_engine.rules.syntax",
    "check_program": "kg_engine.rules.checks",
    "explain": "kg_engine.rules.explain",
    "Explainer": "kg_engine.rules.explain",
    "Explanation": "kg_engine.rules.explain",
    "Derivation": "kg_engine.rules.explain",
    "NotInStoreError": "kg_engine.rules.explain",
    "reason": "kg_engine.rules.engine",
    "RuleEngine": "kg_engine.rules.engine",
    "ReasoningResult": "kg_engine.rules.engine",
    "Rule": "kg_engine.rules.ir",
    "RuleSet": "kg_engine.rules.ir",
    "Var": "kg_engine.rules.ir",
    "Atom": "kg_engine.rules.ir",
    "Builtin": "kg_engine.rules.ir",
    "Bind": "kg_engine.rules.ir",
    "Not": "kg_engine.rules.ir",
    "Aggregate": "kg_engine.rules.ir",
    "RuleProfile": "kg_engine.rules.engine",
    "Violation": "kg_engine.rules.consistency",
    "check": "kg_engine.rules.consistency",
    "inferred_graph": "kg_engine.rules.engine",
    "load_program": "kg_engine.rules.engine",
    "builtin_ruleset": "kg_engine.rules.rulesets",
}

__all__ = [
    "Derivation",
    "Explainer",
    "Explanation",
    "NotInStoreError",
    "ReasoningResult",
    "Rule",
    "RuleEngine",
    "RuleSet",
    "check_program",
    "explain",
    "load_rules",
    "parse_rules",
    "reason",
    "resolve_rules",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kg_engine.rules' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
