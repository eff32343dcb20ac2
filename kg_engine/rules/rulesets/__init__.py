"""Built-in rule sets: ``rdfs`` and ``owl-rl`` (aliases ``owl2rl``, ``owl-2-rl``).

A built-in rule set is a *builder*: a function ``store -> RuleSet``. RDFS is fixed; OWL 2 RL
reads the TBox (RDF lists of intersectionOf, unionOf, oneOf, propertyChainAxiom, hasKey,
AllDisjointClasses…, cardinality restrictions) and specialises the list-based rules to it.

Example:
    >>> sorted(BUILTIN_RULESETS)
    ['owl-rl', 'rdfs']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kg_engine.errors import ConfigError
from kg_engine.rules.ir import RuleSet

__all__ = ["BUILTIN_RULESETS", "builtin_ruleset"]


def _rdfs(store: Any) -> RuleSet:
    from kg_engine.rules.rulesets.rdfs import rdfs_rules

    return rdfs_rules()


def _owl_rl(store: Any) -> RuleSet:
    from kg_engine.rules.rulesets.owl_rl import owl_rl_rules

    return owl_rl_rules(store)


BUILTIN_RULESETS: dict[str, Callable[[Any], RuleSet]] = {"rdfs": _rdfs, "owl-rl": _owl_rl}
_ALIASES = {"owl2rl": "owl-rl", "owl-2-rl": "owl-rl", "owlrl": "owl-rl", "owl_rl": "owl-rl"}


def builtin_ruleset(name: str) -> Callable[[Any], RuleSet]:
    """The builder of built-in rule set ``name``.

    Raises:
        ConfigError: for an unknown name (the message lists the known ones).
    """
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        return BUILTIN_RULESETS[key]
    except KeyError:
        raise ConfigError(
            f"unknown rule set {name!r}: built-in rule sets are {', '.join(sorted(BUILTIN_RULESETS))} "
            "(or pass a rules file)"
        ) from None
