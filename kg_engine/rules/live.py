"""Live reasoning: the closure of a store's reasoning profile, kept current on every write.

:func:`set_profile` materialises a rule set and records it as the store's reasoning profile
(:mod:`kg_engine.store.reasoning`); from then on the store calls :class:`LiveMaintainer` inside
each write's transaction:

* **insert** — the triples new to the store seed a semi-naive continuation
  (:func:`kg_engine.rules.incremental.extend`); a triple asserted in any graph rules read
  (default or named) that was inferred before leaves the inferred graph (they stay disjoint,
  as after a full run, so the default graph with inferences is a set without duplicate
  elimination);
* **delete** — DRed (:func:`kg_engine.rules.incremental.retract`): over-delete, delete,
  re-derive;
* where incremental maintenance is not possible (negation or aggregation in the program,
  ``owl:sameAs`` in use, a change of the TBox a built-in program is specialised to) a warning
  is logged and the closure recomputed, still in the same transaction.

A failed write rolls back its asserted and inferred changes together.

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> EX = "urn:ex:"
    >>> _ = store.add([(URIRef(EX + "Cat"), RDFS.subClassOf, URIRef(EX + "Animal"))])
    >>> _ = set_profile(store, "rdfs")
    >>> _ = store.add([(URIRef(EX + "tom"), RDF.type, URIRef(EX + "Cat"))])
    >>> (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Animal"), URIRef("urn:kg-engine:inferred:rdfs")) in store
    True
    >>> store.remove((URIRef(EX + "tom"), None, None))
    1
    >>> (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Animal"), URIRef("urn:kg-engine:inferred:rdfs")) in store
    False
"""

from __future__ import annotations

import logging
from typing import Any

from rdflib import URIRef

from kg_engine.rules import incremental
from kg_engine.rules.engine import ReasoningResult, RuleEngine, RuleSpec, load_program, stored_rules
from kg_engine.rules.rulesets import Combination
from kg_engine.rules.sqlgen import hidden_graph_ids
from kg_engine.store.reasoning import ReasoningProfile, register_maintainer, write_closure_version
from kg_engine.store.sqlstore import quads_in

__all__ = ["LiveMaintainer", "clear_profile", "set_profile"]

log = logging.getLogger(__name__)

#: the maintainer's seed table (new asserted triples of one write)
_SEED = "kg_rules_live"


class LiveMaintainer:
    """Keeps the closure of ``profile`` current for the writes of ``store``.

    Args:
        store: the :class:`~kg_engine.store.SQLStore`.
        profile: its :class:`~kg_engine.store.reasoning.ReasoningProfile`.
    """

    def __init__(self, store: Any, profile: ReasoningProfile) -> None:
        self.store = store
        self.profile = profile
        self.graph = URIRef(profile.graph)
        self._engine: RuleEngine | None = None

    @property
    def engine(self) -> RuleEngine:
        """The rule engine of the profile (built on first use)."""
        if self._engine is None:
            rules: Any = self.profile.rules
            if _recorded(rules):  # user rules, alone or with a built-in rule set
                rules = stored_rules(self.store, self.graph)
                if rules is None:
                    from kg_engine.errors import StoreError

                    raise StoreError(
                        f"the reasoning profile names <{self.graph}>, whose program is not in "
                        "the store: run kg reason --rules FILE again, or kg reason --off"
                    )
            with self.store.unmaintained():
                self._engine = RuleEngine(self.store, rules, self.graph)
        return self._engine

    def _gid(self) -> int:
        return int(self.store.term_ids([self.graph], create=True)[self.graph])

    def _seed_table(self) -> None:
        db = self.store.db
        temp = "TEMP" if self.store.dialect == "sqlite" else "TEMPORARY"
        wr = " WITHOUT ROWID" if self.store.dialect == "sqlite" else ""
        db.execute(
            f"CREATE {temp} TABLE IF NOT EXISTS {_SEED} (s BIGINT NOT NULL, p BIGINT NOT NULL, "
            f"o BIGINT NOT NULL, rule TEXT, PRIMARY KEY (s, p, o)){wr}"
        )
        db.execute(f"CREATE INDEX IF NOT EXISTS {_SEED}_pos ON {_SEED} (p, o, s)")
        db.execute(f"DELETE FROM {_SEED}")

    # -- the store's hook ------------------------------------------------------------------
    def before_insert(self, stage: str) -> None:
        """Remember which triples of ``stage`` are new to the store (in any graph rules read:
        predictions and analytics are never premises, :func:`~kg_engine.rules.sqlgen.hidden_graph_ids`)."""
        self._seed_table()
        hidden = hidden_graph_ids(self.store.db, stage, own=self._gid())
        out = ", ".join(str(g) for g in (self._gid(), *hidden))
        seen = f" AND q.g NOT IN ({', '.join(map(str, hidden))})" if hidden else ""
        self.store.db.execute(
            f"INSERT INTO {_SEED} (s, p, o) SELECT DISTINCT st.s, st.p, st.o FROM {stage} st "
            f"WHERE st.g NOT IN ({out}) AND NOT EXISTS (SELECT 1 FROM kg_quads q WHERE q.s = st.s "
            f"AND q.p = st.p AND q.o = st.o{seen}) ON CONFLICT DO NOTHING"
        )

    def after_insert(self, stage: str) -> None:
        """Keep the default graph and the inferred graph disjoint, then extend the closure."""
        db = self.store.db
        gid = self._gid()
        # an inferred statement asserted in the default graph is no longer inferred, as a full
        # run would have it (one asserted in a named graph only stays: the default graph's
        # answers are asserted ∪ inferred)
        if db.fetchone(f"SELECT 1 FROM {stage} WHERE g = 0 LIMIT 1") is not None:
            for table in ("kg_quads", "kg_rules_derivations"):
                db.execute(f"DELETE FROM {table} WHERE "
                           f"{quads_in(table, stage, gid, 'd.g = 0', dialect=self.store.dialect)}")
        with self.store.unmaintained():
            self._log(incremental.extend(self.engine, _SEED), "insert")

    def delete(self, stage: str) -> int:
        """Delete the asserted quads of ``stage`` with DRed; returns how many were deleted."""
        db = self.store.db
        n = int(db.scalar(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT g, s, p, o FROM {stage}) st WHERE st.g <> ? "
            f"AND EXISTS (SELECT 1 FROM kg_quads q WHERE q.s = st.s AND q.p = st.p AND q.o = st.o "
            f"AND q.g = st.g)", (self._gid(),)) or 0)
        if n:
            with self.store.unmaintained():
                self._log(incremental.retract(self.engine, stage), "delete")
        return n

    def recompute(self, why: str) -> None:
        """Recompute the closure from scratch (after a write made without the hook)."""
        log.warning("%s: recomputing the closure of <%s> after %s", self.profile.rules,
                    self.graph, why)
        with self.store.db.transaction(), self.store.unmaintained():
            self.engine.materialise(recompute=True)
            write_closure_version(self.store.db)

    @staticmethod
    def _log(result: ReasoningResult, what: str) -> None:
        log.info("%s: %s maintained in %.3f s (+%d / -%d inferred)", result.program, what,
                 result.seconds, result.derived, result.removed)


def _recorded(rules: str) -> bool:
    """Whether a profile's ``rules`` names the program recorded with its graph: ``"program"``
    (user rules) or ``"<built-in>+program"`` (a built-in rule set and user rules)."""
    return "program" in rules.split("+")


def _profile_rules(engine: RuleEngine) -> str:
    """The ``rules`` of the profile that records ``engine``'s program: its built-in name,
    ``"program"`` for user rules, ``"<built-in>+program"`` for the two combined."""
    spec = engine.builder
    if isinstance(spec, Combination):
        return f"{spec.builtin}+program"
    return engine.program.name if spec is not None else "program"


def set_profile(store: Any, rules: RuleSpec, *, graph: URIRef | None = None,
                recompute: bool = False) -> ReasoningResult:
    """Materialise ``rules`` and make their closure part of the store's default graph.

    Args:
        store: the store.
        rules: a built-in rule set name, a :class:`~kg_engine.rules.ir.RuleSet` (recorded with
            the graph), or a built-in name with user rule sets (``["owl-rl", rules]``:
            :class:`~kg_engine.rules.engine.RuleEngine`; recorded with the graph, the
            built-in part re-specialised to the TBox on every change of it).
        graph: the inferred graph (default ``urn:kg-engine:inferred:<name>``).
        recompute: clear the inferred graph first. Done anyway unless the store already has
            this profile (the graph may hold statements of an earlier run that no longer
            follow: runs only add).

    Returns:
        The :class:`ReasoningResult` of the materialisation.
    """
    # one transaction from the rule tables' creation to the profile: killed at any moment, the
    # store is as before or as after; a page cache sized to the store meanwhile (SQLite)
    with store.db.large_write(), store.db.transaction(), store.unmaintained():
        engine = RuleEngine(store, rules, graph)  # creates the rule tables if missing
        profile = ReasoningProfile(_profile_rules(engine), str(engine.graph))
        if store.reasoning != profile or (
                _recorded(profile.rules) and load_program(store, engine.graph) != engine.program):
            recompute = True  # not this profile, or other rules: start clean
        result = engine.materialise(recompute=recompute)
        if not recompute:
            # the default graph and the inferred graph are disjoint: triples asserted after
            # an earlier run without a profile may be in both. (A run that started clean added
            # only triples not in the default graph: there is nothing to find, and the check
            # probes every inferred triple — 5 M at 10 M triples.)
            gid = int(store.term_ids([engine.graph])[engine.graph])
            for table in ("kg_quads", "kg_rules_derivations"):
                store.db.execute(
                    f"DELETE FROM {table} WHERE g = ? AND EXISTS (SELECT 1 FROM kg_quads a "
                    f"WHERE a.s = {table}.s AND a.p = {table}.p AND a.o = {table}.o "
                    f"AND a.g = 0)",
                    (gid,),
                )
        store.set_reasoning(profile)
        write_closure_version(store.db)
    engine.settle(result)
    return result


def clear_profile(store: Any) -> None:
    """Stop reasoning in answers and on writes (the inferred graph stays, as a named graph)."""
    store.set_reasoning(None)


register_maintainer(LiveMaintainer)
