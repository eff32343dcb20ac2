"""The store's reasoning profile: whose inferences answer queries, and the hook keeping them current.

A store may carry one *reasoning profile* (``kg_meta`` key ``reasoning``): the rule set whose
closure is part of the store's default graph, and the named graph holding that closure. With a
profile set

* queries, ``triples()`` of the default graph and the rdflib plugin see the default graph as
  *asserted ∪ inferred* statements (``include_inferred=False`` opts out per call); the inferred
  triples stay in their own graph (provenance, ``explain()``), and ``GRAPH``/``FROM`` keep their
  exact W3C meaning;
* every write of the store (add, load, remove, SPARQL Update, extraction) keeps the closure
  current **in the same transaction**, through the :class:`Maintainer` that the rules package
  registers (:mod:`kg_engine.rules.live`). The store never imports the rule engine: it asks for
  the maintainer of the profile by name, as plugins are found.

The default graph and the inferred graph are kept *disjoint* (an asserted default-graph triple
is never also stored as inferred), so their union is a plain ``g IN (0, inferred)`` with no
duplicate elimination: the default graph stays a set, and a query with inferences costs what
the same query costs over one materialised graph.

Graphs of GNN predictions and analytics (:data:`PREDICTED_PREFIXES`) are never part of the
default graph unless asked (``include_predicted=True``).

Example:
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> read_profile(store.db) is None
    True
    >>> write_profile(store.db, ReasoningProfile("owl-rl", "urn:kg-engine:inferred:owl-rl"))
    >>> read_profile(store.db).rules
    'owl-rl'
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kg_engine.core.graphs import ANALYTICS_GRAPH_PREFIX, PREDICTED_GRAPH_PREFIX

__all__ = [
    "ENGINE_KEY",
    "PREDICTED_PREFIXES",
    "PROFILE_KEY",
    "RULES_ENGINE_VERSION",
    "Maintainer",
    "ReasoningProfile",
    "closure_outdated",
    "maintainer_for",
    "read_profile",
    "register_maintainer",
    "write_closure_version",
    "write_profile",
]

#: ``kg_meta`` key of the profile (value: JSON ``{"rules": …, "graph": …}``).
PROFILE_KEY = "reasoning"
#: Graphs whose statements are guesses or derived measures, never in default answers.
PREDICTED_PREFIXES = (PREDICTED_GRAPH_PREFIX, ANALYTICS_GRAPH_PREFIX)
#: What the rule engine derives, versioned. Bump it with a change of :mod:`kg_engine.rules` that
#: makes a program derive other statements than before (a rule set's rules, the engine's
#: semantics): a store whose profile's closure another version computed (``kg_meta`` key
#: :data:`ENGINE_KEY`) is recomputed on its first writable open, since live maintenance only
#: ever extends or shrinks the closure it finds; a read-only open of it is refused with the
#: command to run. Stores written before the key existed count as version ``"1"``, the
#: engine that introduced it (the schema 2 → 3 upgrade recomputes older closures anyway).
RULES_ENGINE_VERSION = "1"
#: ``kg_meta`` key: the :data:`RULES_ENGINE_VERSION` that computed the profile's closure.
ENGINE_KEY = "rules_engine"
#: The module that registers the maintainer (imported on first need, like a plugin).
MAINTAINER_MODULE = "kg_engine.rules.live"


@dataclass(frozen=True)
class ReasoningProfile:
    """A store's reasoning profile.

    Attributes:
        rules: a built-in rule set name (``"rdfs"``, ``"owl-rl"``), or ``"program"``: the
            program recorded with the inferred graph (user rules).
        graph: IRI of the inferred graph.
    """

    rules: str
    graph: str


def read_profile(db: Any) -> ReasoningProfile | None:
    """The profile recorded in ``kg_meta`` (``None``: no reasoning in answers)."""
    value = db.scalar("SELECT value FROM kg_meta WHERE key = ?", (PROFILE_KEY,))
    if not value:
        return None
    data = json.loads(value)
    return ReasoningProfile(str(data["rules"]), str(data["graph"]))


def write_profile(db: Any, profile: ReasoningProfile | None) -> None:
    """Record ``profile`` (``None`` clears it)."""
    with db.transaction():
        db.execute("DELETE FROM kg_meta WHERE key = ?", (PROFILE_KEY,))
        if profile is not None:
            value = json.dumps({"rules": profile.rules, "graph": profile.graph})
            db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)", (PROFILE_KEY, value))


def closure_outdated(db: Any) -> str | None:
    """The engine version that computed the profile's closure when it is not this one's
    (:data:`RULES_ENGINE_VERSION`), else ``None`` (no profile: nothing to recompute).

    Example:
        >>> from kg_engine.store import open_store
        >>> store = open_store("sqlite://")
        >>> write_profile(store.db, ReasoningProfile("rdfs", "urn:kg-engine:inferred:rdfs"))
        >>> closure_outdated(store.db) is None  # no version recorded: the first one's
        True
        >>> store.db.execute("INSERT INTO kg_meta (key, value) VALUES ('rules_engine', '0')") and None
        >>> closure_outdated(store.db)
        '0'
    """
    if read_profile(db) is None:
        return None
    stored = db.scalar("SELECT value FROM kg_meta WHERE key = ?", (ENGINE_KEY,)) or "1"
    return None if stored == RULES_ENGINE_VERSION else stored


def write_closure_version(db: Any) -> None:
    """Record that this engine (:data:`RULES_ENGINE_VERSION`) computed the profile's closure
    (call inside the transaction that computed it)."""
    db.execute("DELETE FROM kg_meta WHERE key = ?", (ENGINE_KEY,))
    db.execute("INSERT INTO kg_meta (key, value) VALUES (?, ?)", (ENGINE_KEY, RULES_ENGINE_VERSION))


class Maintainer(Protocol):
    """What the store calls, inside each write's transaction, while a profile is set.

    ``stage`` is a temporary table ``(g, s, p, o)`` of integer quads.
    """

    def before_insert(self, stage: str) -> None:
        """The quads in ``stage`` are about to be inserted (the store is as it was)."""

    def after_insert(self, stage: str) -> None:
        """The quads in ``stage`` were inserted: extend the closure."""

    def delete(self, stage: str) -> int:
        """Delete the asserted quads listed in ``stage`` and shrink the closure; returns how
        many quads were deleted."""

    def recompute(self, why: str) -> None:
        """Recompute the closure (after a write the store made without the hook)."""


_factory: Callable[[Any, ReasoningProfile], Maintainer] | None = None


def register_maintainer(factory: Callable[[Any, ReasoningProfile], Maintainer]) -> None:
    """Register the maintainer factory (called by :mod:`kg_engine.rules.live` on import)."""
    global _factory
    _factory = factory


def maintainer_for(store: Any, profile: ReasoningProfile) -> Maintainer:
    """The maintainer of ``profile`` over ``store`` (importing the rules plugin on first use)."""
    if _factory is None:
        importlib.import_module(MAINTAINER_MODULE)
    assert _factory is not None, f"{MAINTAINER_MODULE} did not register a maintainer"
    return _factory(store, profile)
