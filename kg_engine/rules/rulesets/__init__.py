"""Built-in rule sets: ``rdfs`` and ``owl-rl`` (aliases ``owl2rl``, ``owl-2-rl``), and their
combination with user rules.

A built-in rule set is a *builder*: a function ``store -> RuleSet``. RDFS is fixed; OWL 2 RL
reads the TBox (RDF lists of intersectionOf, unionOf, oneOf, propertyChainAxiom, hasKey,
AllDisjointClasses…, cardinality restrictions) and specialises the list-based rules to it.
A :class:`Combination` of one built-in rule set and user rules is a builder too: the
built-in part specialised to the TBox now, then the user rules, as one program whose rules
run to a joint fixpoint.

Example:
    >>> sorted(BUILTIN_RULESETS)
    ['owl-rl', 'rdfs']
    >>> from kg_engine.rules.syntax import load_rules
    >>> combo = combine(["owl-rl", load_rules("[mine: (?a <urn:p> ?b) -> (?b <urn:p> ?a)]")])
    >>> combo.name, combo.builtin
    ('owl-rl+user', 'owl-rl')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kg_engine.errors import ConfigError, RuleSyntaxError
from kg_engine.rules.ir import RuleSet

__all__ = ["BUILTIN_RULESETS", "Combination", "builtin_ruleset", "combine"]


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


@dataclass(frozen=True)
class Combination:
    """One built-in rule set and user rules, run as one program (a builder: ``store -> RuleSet``).

    Attributes:
        builtin: the built-in rule set's name (``"rdfs"`` or ``"owl-rl"``).
        user: the user rules (one :class:`RuleSet`; several files are merged by :func:`combine`).
    """

    builtin: str
    user: RuleSet

    @property
    def name(self) -> str:
        """``<built-in>+<user rule set name>``: the program's name (and inferred graph's suffix)."""
        return f"{self.builtin}+{self.user.name}"

    def __call__(self, store: Any) -> RuleSet:
        return RuleSet(self.name, builtin_ruleset(self.builtin)(store).rules + self.user.rules)

    def to_dict(self) -> dict:
        """What the store records to rebuild it (inverse of :meth:`from_dict`)."""
        return {"builtin": self.builtin, "user": self.user.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Combination:
        return cls(d["builtin"], RuleSet.from_dict(d["user"]))


def combine(parts: Sequence[str | RuleSet]) -> Combination | RuleSet:
    """The program made of ``parts``: at most one built-in rule set name and user rule sets.

    With a built-in name, a :class:`Combination`; without, the user rule sets merged into one
    :class:`RuleSet` (named after them, joined by ``+``). A single user rule set is returned
    as it is.

    Raises:
        ConfigError: two built-in rule sets, an unknown name, or no part.
        RuleSyntaxError: two parts with a rule of the same name (rules are recorded, profiled
            and explained by name), or user rules that negate or aggregate combined with a
            built-in rule set (not stratifiable: :func:`_no_negation`).

    Example:
        >>> combine(["rdfs", "owl-rl"])
        Traceback (most recent call last):
        ...
        kg_engine.errors.ConfigError: combine one built-in rule set with your rules, not 'rdfs' and 'owl-rl' (owl-rl already derives what rdfs derives)
    """
    names = []
    for p in parts:
        if isinstance(p, str):
            builtin_ruleset(p)  # an unknown name raises, listing the known ones
            names.append(_ALIASES.get(p.lower(), p.lower()))
    users = [p for p in parts if isinstance(p, RuleSet)]
    if not names and not users:
        raise ConfigError("no rule set given: give rdfs, owl-rl, a rules file, or several")
    if len(names) > 1:
        raise ConfigError(f"combine one built-in rule set with your rules, not "
                          f"{' and '.join(map(repr, names))} (owl-rl already derives what rdfs derives)")
    user = users[0] if len(users) == 1 else None
    if len(users) > 1:
        _no_clash([(u.name, u.names()) for u in users])
        user = RuleSet("+".join(u.name for u in users), tuple(r for u in users for r in u.rules))
    if not names:
        assert user is not None
        return user
    if user is None:
        raise ConfigError(f"nothing to combine with {names[0]!r}: give it alone, or with a rules file")
    combo = Combination(names[0], user)
    _no_clash([(combo.builtin, _builtin_names(combo.builtin)), (user.name, user.names())])
    _no_negation(combo)
    return combo


#: What the built-in rules with a variable predicate are about, by rule set.
_VARIABLE_PREDICATE = {"rdfs": "sub-properties",
                       "owl-rl": "sub-properties, inverses, symmetric and transitive properties, equality"}


def _no_negation(combo: Combination) -> None:
    """Refuse a user rule that negates or aggregates (a constraint may): the built-in rules
    with a variable predicate (sub-properties, inverses, symmetric and transitive properties,
    equality) read and derive statements of every predicate, so the negated statements would
    depend on the rule's own conclusions; no stratification exists (the engine would refuse
    the program too, naming every rule on the cycle)."""
    from kg_engine.rules.ir import Aggregate, Not

    for r in combo.user.rules:
        if not r.is_constraint and any(isinstance(b, (Not, Aggregate)) for b in r.body):
            raise RuleSyntaxError(
                f"rule {r.name!r} is not stratifiable with {combo.builtin}: it negates or "
                f"aggregates, and {combo.builtin}'s rules with a variable predicate "
                f"({_VARIABLE_PREDICATE[combo.builtin]}) may derive what it reads from its own "
                "conclusions. Run these rules alone (a profile of their own), or "
                "without the negation or aggregate; constraints (rules without a head) may "
                "negate", source=r.source, line=r.line)


def _builtin_names(name: str) -> list[str]:
    """Rule names a built-in rule set may use (specialised rules: ``<rule>#<n>``)."""
    from kg_engine.store import open_store

    store = open_store("sqlite://")  # the generic rules: an empty TBox
    try:
        return builtin_ruleset(name)(store).names()
    finally:
        store.close()


def _no_clash(parts: list[tuple[str, list[str]]]) -> None:
    seen: dict[str, str] = {}
    for part, names in parts:
        for n in names:
            base = n.split("#")[0]
            if base in seen and seen[base] != part:
                raise RuleSyntaxError(
                    f"rule {n!r} of {part} has the name of a rule of {seen[base]}: rules are "
                    "recorded and explained by name; rename it in your rules file")
            seen.setdefault(base, part)
