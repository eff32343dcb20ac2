"""Incremental maintenance of a materialisation: semi-naive insertion and DRed deletion.

*Insertion*: the new asserted triples that were not already in the store (in any graph) are
the delta of a semi-naive continuation — exactly the rounds a full run would perform after
these triples appeared, no re-evaluation of what is already derived.

*Deletion* (DRed, Gupta–Mumick–Subrahmanian 1993; the variant RDFox and the 2015
Backward/Forward paper compare against):

1. **over-delete** — starting from the removed triples, every inferred triple that has a
   derivation using a deleted triple is marked, recursively (one ``INSERT … SELECT`` per rule
   and body position, the position reading the last marked set, the others the store as it
   was);
2. the removed asserted triples and the marked inferred ones are deleted;
3. **re-derive** — each marked triple that still has a derivation from what is left (the
   rule's head joined to the marked set) is put back, and a semi-naive continuation from the
   re-derived triples restores everything that depends on them.

The result always equals a full recompute. Programs with negation or aggregation are not
monotonic (a new fact can invalidate a derived one); for them, whenever the update
changes the TBox axioms a built-in program was specialised to (RDF lists, cardinalities,
``owl:onClass``, the ``owl:onProperty`` of a max-cardinality restriction, the members of
``AllDisjoint*``/``AllDifferent``), and for a program with
equality (``owl-rl``) when the store holds an ``owl:sameAs`` triple or the update adds one
(representatives may change), the engine recomputes the inferred graph instead, in the same
transaction (still correct, just not incremental).

Entry points (stable; live maintenance, :mod:`kg_engine.rules.live`, calls them):
:func:`add` / :func:`remove` (also :meth:`RuleEngine.add` / :meth:`RuleEngine.remove`)
*perform* the write and maintain the closure; :func:`extend` / :func:`retract` maintain it
for a write listed in a temp table (new triples already inserted / quads still to delete).
Each runs in one transaction; inside an open ``store.db.transaction()`` it joins it, so a
rollback undoes the write and its inferences together.

The engine is used only through the :class:`Engine` protocol below (its public
maintenance interface): this module never imports the engine; the engine imports it.

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> from kg_engine.store import open_store
    >>> from kg_engine.rules.engine import RuleEngine
    >>> EX = "urn:ex:"
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef(EX + "Cat"), RDFS.subClassOf, URIRef(EX + "Animal"))])
    >>> eng = RuleEngine(store, "rdfs")
    >>> eng.materialise().derived
    0
    >>> eng.add([(URIRef(EX + "tom"), RDF.type, URIRef(EX + "Cat"))]).derived
    1
    >>> eng.remove([(URIRef(EX + "tom"), RDF.type, URIRef(EX + "Cat"))]).removed
    1
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from rdflib import OWL, RDF, BNode, URIRef

from kg_engine.core.graphs import graph_origin
from kg_engine.core.terms import DEFAULT_GRAPH, as_quad
from kg_engine.rules.ir import RuleSet
from kg_engine.rules.results import Profiler, ReasoningResult
from kg_engine.rules.sqlgen import hidden_graph_ids
from kg_engine.rules.tables import DELETE_TABLE as _DEL
from kg_engine.rules.tables import DELTA_TABLES as _D
from kg_engine.rules.tables import OVERDELETE_TABLE as _OD
from kg_engine.rules.tables import SEED_TABLE as _SEED
from kg_engine.store.sqlstore import quads_in

log = logging.getLogger(__name__)

__all__ = ["Engine", "add", "extend", "remove", "retract"]


class Engine(Protocol):
    """What incremental maintenance needs of an engine (:class:`~kg_engine.rules.engine.RuleEngine`).

    Attributes: ``store``, ``db``, ``dialect``, ``program`` (the :class:`RuleSet`), ``graph``
    (the inferred graph), ``monotonic`` (no negation or aggregation), ``equality``
    (``owl:sameAs`` by representative rewriting), ``specialised`` (a built-in program
    specialised to the TBox), ``current_ids`` (rule constants of the run).
    """

    store: Any
    db: Any
    dialect: str
    program: RuleSet
    graph: URIRef
    monotonic: bool
    equality: bool
    specialised: bool
    current_ids: Any

    def materialise(self, *, recompute: bool = False) -> ReasoningResult: ...
    def uses_sameas(self) -> bool: ...
    def sync_program(self) -> bool: ...
    def graph_id(self) -> int: ...
    def constant_ids(self) -> Any: ...
    def prepare_temp_tables(self) -> None: ...
    def empty(self, *tables: str) -> None: ...
    def analyze(self, table: str) -> None: ...
    def fixpoint(self, gid: int, prof: Profiler, seed: str | None) -> tuple[int, int]: ...
    def run_round(self, delta: str, target: str, prof: Profiler, type_id: int | None, **mode: Any) -> None: ...
    def rederive(self, marked: str, target: str, prof: Profiler, type_id: int | None) -> None: ...
    def delta_keys(self, delta: str, type_id: int | None) -> tuple[set[int], set[int]]: ...
    def commit(self, new: str, gid: int, rnd: int) -> None: ...
    def evaluate_constraints(self, result: ReasoningResult) -> None: ...


#: restrictions whose ``owl:onProperty`` the built-in program is specialised to
_CARDINALITIES = (OWL.maxCardinality, OWL.maxQualifiedCardinality)


def _tbox_predicates() -> frozenset:
    return frozenset({
        RDF.first, RDF.rest, OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.propertyChainAxiom,
        OWL.hasKey, OWL.members, OWL.distinctMembers, OWL.maxCardinality,
        OWL.maxQualifiedCardinality, OWL.onClass,
    })


def _needs_recompute(engine: Engine, quads: list) -> bool:
    if not engine.monotonic:
        return True
    # equality is maintained by a full run (representatives may change); that holds for
    # the first owl:sameAs of a store as much as for later ones
    # the predicates first: comparing every quad's terms with rdflib's __eq__ was ~0.1 CPU-s
    # of adding a LUBM department (8k triples)
    preds = {q[1] for q in quads}
    if engine.equality and (engine.uses_sameas() or OWL.sameAs in preds):
        return True
    if engine.specialised:
        if not preds.isdisjoint(_tbox_predicates()):
            return True
        special = {OWL.AllDisjointClasses, OWL.AllDisjointProperties, OWL.AllDifferent}
        if RDF.type in preds and any(p == RDF.type and o in special for _, p, o, _ in quads):
            return True
        if OWL.onProperty in preds:
            for s, p, _, _ in quads:
                if p == OWL.onProperty and (  # the property of a max-cardinality restriction
                    any(q[0] == s and q[1] in _CARDINALITIES for q in quads)
                    or any(next(iter(engine.store.triples((s, c, None))), None) for c in _CARDINALITIES)
                ):
                    return True
    return False


def _recompute(engine: Engine, t0: float, c0: float) -> ReasoningResult:
    result = engine.materialise(recompute=True)
    derived, removed = result.derived, result.removed
    # Report the net change of the inferred graph, like the incremental path does.
    result.derived = max(derived - removed, 0)
    result.removed = max(removed - derived, 0)
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def _load_seed(engine: Engine, table: str, quads: list) -> None:
    """Encode the statements' triples into the empty temp table ``table`` (s, p, o)."""
    terms = {t for q in quads for t in q[:3]}
    ids = engine.store.term_ids(terms, create=True)
    rows = {(ids[s], ids[p], ids[o]) for s, p, o, _ in quads}
    engine.db.insert_rows(table, ("s", "p", "o"), rows)  # PostgreSQL: one COPY


def add(engine: Engine, triples: Iterable[tuple], graph: URIRef | BNode | None = None) -> ReasoningResult:
    """Assert ``triples`` (in ``graph``, default graph if ``None``) and extend the closure.

    Args:
        engine: a :class:`~kg_engine.rules.engine.RuleEngine` whose program was materialised.
        triples: triples or quads to assert.
        graph: graph for triples given without one.

    Returns:
        The :class:`~kg_engine.rules.engine.ReasoningResult` (``derived`` = new inferred triples).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    quads = [as_quad(t, graph) for t in triples]
    prof = Profiler()
    with engine.db.transaction():
        engine.sync_program()
        if _needs_recompute(engine, quads):
            engine.store.add(quads)
            return _recompute(engine, t0, c0)
        result = ReasoningResult(engine.program.name, engine.graph)
        gid = engine.graph_id()
        engine.prepare_temp_tables()
        _load_seed(engine, _SEED, [q for q in quads if graph_origin(q[3]) not in ("predicted", "analytics")])
        # The delta: triples not already in the store (in any graph rules read); none when
        # they go to a prediction/analytics graph.
        hidden = hidden_graph_ids(engine.db, own=gid)
        seen = f" AND e.g NOT IN ({', '.join(map(str, hidden))})" if hidden else ""
        # the statements inferred so far (before the add, the inferred graph is all of them)
        in_inferred = ("EXISTS (SELECT 1 FROM kg_quads e WHERE e.g = ? AND e.s = {0}.s "
                       "AND e.p = {0}.p AND e.o = {0}.o)")
        known = (f"DELETE FROM {_SEED} WHERE EXISTS (SELECT 1 FROM kg_quads e WHERE e.s = {_SEED}.s "
                 f"AND e.p = {_SEED}.p AND e.o = {_SEED}.o{seen})")
        if engine.dialect == "postgresql":
            # one statement: the inferred graph is not hidden, so its statements are among
            # those deleted, and only those are probed (none, for statements all new)
            inferred = set(engine.db.fetchall(
                f"WITH gone AS ({known} RETURNING s, p, o) SELECT s, p, o FROM gone WHERE "
                f"{in_inferred.format('gone')}", (gid,)))
        else:
            inferred = set(engine.db.fetchall(
                f"SELECT s, p, o FROM {_SEED} WHERE {in_inferred.format(_SEED)}", (gid,)))
            engine.db.execute(known)
        engine.store.add(quads)
        # a statement now asserted in the default graph is no longer inferred (the inferred
        # graph holds what follows and is not asserted there, as a full run writes it)
        asserted = [q[:3] for q in quads if q[3] == DEFAULT_GRAPH]
        keys: list = []
        if asserted and inferred:
            ids = engine.store.term_ids({t for q in asserted for t in q})
            keys = sorted({(ids[s], ids[p], ids[o]) for s, p, o in asserted} & inferred)
        if keys:
            for table in ("kg_quads", "kg_rules_derivations"):
                if engine.dialect == "postgresql":
                    # one statement: each of a per-row DELETE's executions is planned anew
                    # (plan_cache_mode, RuleEngine._session) against kg_quads' fine-grained
                    # statistics, ~0.35 ms each: 2.9 s of planning to add a LUBM department
                    s_, p_, o_ = (list(c) for c in zip(*keys))
                    engine.db.execute(
                        f"DELETE FROM {table} t USING unnest(?::bigint[], ?::bigint[], ?::bigint[]) "
                        f"AS k(s, p, o) WHERE t.g = ? AND t.s = k.s AND t.p = k.p AND t.o = k.o",
                        (s_, p_, o_, gid))
                else:
                    engine.db.executemany(f"DELETE FROM {table} WHERE g = ? AND s = ? AND p = ? AND o = ?",
                                          [(gid, *k) for k in keys])
        if engine.db.scalar(f"SELECT COUNT(*) FROM {_SEED}"):
            engine.analyze(_SEED)
            result.derived, result.rounds = engine.fixpoint(gid, prof, seed=_SEED)
        engine.evaluate_constraints(result)
    result.profile = prof.sorted()
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def extend(engine: Engine, seed: str) -> ReasoningResult:
    """Extend the closure after the triples of temp table ``seed`` were asserted.

    The caller inserted them already; ``seed`` (columns ``s, p, o, rule``, primary key
    ``(s, p, o)``, not one of the engine's own temp tables) lists those that were new to the
    store. Falls back to a recompute (logged) where incremental insertion is not possible.

    Returns:
        The :class:`~kg_engine.rules.engine.ReasoningResult` (``derived`` = new inferred triples).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    prof = Profiler()
    with engine.db.transaction():
        engine.sync_program()
        why = _why_recompute(engine, seed)
        if why:
            log.warning("%s: %s; recomputing the closure of %s", engine.program.name, why,
                        engine.graph)
            return _recompute(engine, t0, c0)
        result = ReasoningResult(engine.program.name, engine.graph)
        gid = engine.graph_id()
        engine.prepare_temp_tables()
        if engine.db.scalar(f"SELECT COUNT(*) FROM {seed}"):
            engine.analyze(seed)
            result.derived, result.rounds = engine.fixpoint(gid, prof, seed=seed)
        engine.evaluate_constraints(result)
    result.profile = prof.sorted()
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def _why_recompute(engine: Engine, table: str) -> str | None:
    """Why the change listed in ``table`` cannot be maintained incrementally (``None``: it can)."""
    if not engine.monotonic:
        return "the program has negation or aggregation (not monotonic)"
    if engine.equality and engine.uses_sameas():
        # representatives may change; after the write the store holds every new sameAs
        return "owl:sameAs is in use"
    if _touches_tbox(engine, table):
        return "the change touches TBox axioms the program was specialised to"
    return None


def remove(engine: Engine, triples: Iterable[tuple], graph: URIRef | BNode | None = None) -> ReasoningResult:
    """Retract asserted ``triples`` and shrink the closure with DRed.

    Args:
        engine: a :class:`~kg_engine.rules.engine.RuleEngine` whose program was materialised.
        triples: triples or quads to retract.
        graph: the graph to retract triples given without one from; ``None`` retracts them
            from every graph except the inferred one.

    Returns:
        The :class:`~kg_engine.rules.engine.ReasoningResult`: ``removed`` inferred triples
        that no longer follow, ``derived`` = 0 (re-derived triples are not counted as new).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    items = list(triples)
    with engine.db.transaction():
        engine.sync_program()
        gid = engine.graph_id()
        engine.prepare_temp_tables()
        _resolve_quads(engine, items, graph, gid)
        return _retract(engine, gid, t0, c0)


def retract(engine: Engine, stage: str) -> ReasoningResult:
    """Delete the asserted quads listed in temp table ``stage`` (columns ``g, s, p, o``) and
    shrink the closure with DRed (a recompute, logged, where that is not possible).

    Rows of ``stage`` in the inferred graph are ignored: inferred triples go when they no
    longer follow.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    with engine.db.transaction():
        engine.sync_program()
        gid = engine.graph_id()
        engine.prepare_temp_tables()
        _del_table(engine)
        engine.db.execute(
            f"INSERT INTO {_DEL} (g, s, p, o) SELECT DISTINCT st.g, st.s, st.p, st.o FROM {stage} st "
            f"WHERE st.g <> ? AND EXISTS (SELECT 1 FROM kg_quads q WHERE q.s = st.s AND q.p = st.p "
            f"AND q.o = st.o AND q.g = st.g) ON CONFLICT DO NOTHING",
            (gid,),
        )
        return _retract(engine, gid, t0, c0)


def _retract(engine: Engine, gid: int, t0: float, c0: float) -> ReasoningResult:
    """DRed for the asserted quads listed in ``kg_rules_del`` (inside a transaction)."""
    prof = Profiler()
    n_del = int(engine.db.scalar(f"SELECT COUNT(*) FROM {_DEL}") or 0)
    if not n_del:
        result = ReasoningResult(engine.program.name, engine.graph)
        result.seconds = time.perf_counter() - t0
        return result
    why = _why_recompute(engine, _DEL)
    if why:
        log.warning("%s: %s; recomputing the closure of %s", engine.program.name, why,
                    engine.graph)
        _delete_quads(engine)
        return _recompute(engine, t0, c0)

    result = ReasoningResult(engine.program.name, engine.graph)
    ids_c = engine.constant_ids()
    type_id = ids_c.get(RDF.type)
    # D0: deleted triples that do not survive in another asserted graph (rules never read
    # the prediction/analytics graphs: deleting there changes nothing, a copy there saves nothing).
    hidden = f" AND q.g NOT IN ({', '.join(map(str, ids_c.hidden_graphs))})" if ids_c.hidden_graphs else ""
    engine.db.execute(
        f"INSERT INTO {_SEED} (s, p, o) SELECT DISTINCT d.s, d.p, d.o FROM {_DEL} d "
        f"WHERE {hidden.replace(' AND q.g', 'd.g') or '1 = 1'} AND NOT EXISTS (SELECT 1 FROM kg_quads q WHERE q.s = d.s AND q.p = d.p AND q.o = d.o "
        f"AND q.g <> ?{hidden} AND NOT EXISTS (SELECT 1 FROM {_DEL} d2 WHERE d2.g = q.g AND d2.s = q.s "
        f"AND d2.p = q.p AND d2.o = q.o)) ON CONFLICT DO NOTHING",
        (gid,),
    )
    d0 = int(engine.db.scalar(f"SELECT COUNT(*) FROM {_SEED}") or 0)
    if d0:
        engine.analyze(_SEED)
        # 1. over-delete, reading the store as it was.
        _overdelete(engine, gid, prof, type_id)
    # a statement deleted from the default graph that stays asserted in a named graph is a
    # premise still (not in D0), but if it follows it must now be inferred to stay in the
    # default graph's answers: re-derived below
    moved = int(engine.db.scalar(f"SELECT COUNT(*) FROM {_DEL} WHERE g = 0") or 0) if d0 < n_del else 0
    # 2. delete the asserted quads and the over-deleted inferred triples.
    _delete_quads(engine)
    marked = 0
    if d0 or moved:
        if d0 and engine.db.scalar(f"SELECT COUNT(*) FROM {_OD}"):
            for table in ("kg_quads", "kg_rules_derivations"):
                # driven by the (small) marked set
                cur = engine.db.execute(f"DELETE FROM {table} WHERE {quads_in(table, _OD, gid, dialect=engine.dialect)}")
                if table == "kg_quads":
                    marked = max(int(cur.rowcount or 0), 0)
        # 3. re-derive marked triples (and deleted asserted ones) that still follow.
        engine.db.execute(
            f"INSERT INTO {_OD} (s, p, o) SELECT s, p, o FROM {_SEED} WHERE 1 = 1 ON CONFLICT DO NOTHING"
        )
        if moved:
            engine.db.execute(
                f"INSERT INTO {_OD} (s, p, o) SELECT s, p, o FROM {_DEL} WHERE g = 0 ON CONFLICT DO NOTHING"
            )
        engine.analyze(_OD)
        target = _D[0]
        engine.empty(target)
        engine.rederive(_OD, target, prof, type_id)
        back = int(engine.db.scalar(f"SELECT COUNT(*) FROM {target}") or 0)
        if back:
            engine.commit(target, gid, 0)
            engine.analyze(target)
            derived, rounds = engine.fixpoint(gid, prof, seed=target)
            back += derived
            result.rounds = rounds + 1
        # the inferred graph lost the marked triples and got back the re-derived ones
        # (counted, not measured: two COUNTs of a 600k-row graph cost more than DRed itself)
        result.removed = max(marked - back, 0)
    engine.evaluate_constraints(result)
    result.profile = prof.sorted()
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def _resolve_quads(engine: Engine, items: list, graph: Any, gid: int) -> int:
    """Fill temp table ``kg_rules_del(g, s, p, o)`` with the asserted quads ``items`` name.

    Triples given without a graph (and ``graph`` None) name their copies in every graph but
    the inferred one. Returns the number of quads found.
    """
    db = engine.db
    _del_table(engine)
    wanted: list[tuple[Any, Any, Any, Any]] = []
    for it in items:
        if len(it) == 4:
            s, p, o, g = it
            g = getattr(g, "identifier", g)
        else:
            (s, p, o), g = it, graph
        wanted.append((s, p, o, g))
    ids = engine.store.term_ids({t for w in wanted for t in w if t is not None and t != DEFAULT_GRAPH})
    anywhere: set[tuple[int, int, int]] = set()
    exact: set[tuple[int, int, int, int]] = set()
    for s, p, o, g in wanted:
        if s not in ids or p not in ids or o not in ids:
            continue
        key = (ids[s], ids[p], ids[o])
        if g is None:
            anywhere.add(key)
        else:
            g_id = 0 if g == DEFAULT_GRAPH else ids.get(g)
            if g_id is not None and g_id != gid:
                exact.add((g_id, *key))
    if anywhere:
        db.execute(f"DELETE FROM {_SEED}")
        db.insert_rows(_SEED, ("s", "p", "o"), sorted(anywhere))  # PostgreSQL: one COPY
        db.execute(
            f"INSERT INTO {_DEL} (g, s, p, o) SELECT q.g, q.s, q.p, q.o FROM {_SEED} r "
            f"JOIN kg_quads q ON q.s = r.s AND q.p = r.p AND q.o = r.o WHERE q.g <> ? "
            f"ON CONFLICT DO NOTHING",
            (gid,),
        )
        db.execute(f"DELETE FROM {_SEED}")
    if exact:
        db.executemany(
            f"INSERT INTO {_DEL} (g, s, p, o) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM kg_quads q "
            f"WHERE q.g = ? AND q.s = ? AND q.p = ? AND q.o = ?) ON CONFLICT DO NOTHING",
            [(g, s, p, o, g, s, p, o) for g, s, p, o in sorted(exact)],
        )
    return int(db.scalar(f"SELECT COUNT(*) FROM {_DEL}") or 0)


def _del_table(engine: Engine) -> None:
    """Create (or empty) temp table ``kg_rules_del(g, s, p, o)``: the asserted quads to delete."""
    temp = "TEMP" if engine.dialect == "sqlite" else "TEMPORARY"
    engine.db.execute(
        f"CREATE {temp} TABLE IF NOT EXISTS {_DEL} (g BIGINT NOT NULL, s BIGINT NOT NULL, "
        "p BIGINT NOT NULL, o BIGINT NOT NULL, PRIMARY KEY (s, p, o, g))"
    )
    engine.db.execute(f"DELETE FROM {_DEL}")


def _touches_tbox(engine: Engine, table: str = _DEL) -> bool:
    """Whether temp table ``table`` holds a TBox axiom the built-in program was specialised to."""
    if not engine.specialised:
        return False
    ids = list(engine.store.term_ids(_tbox_predicates()).values())
    if ids:
        marks = ", ".join("?" * len(ids))
        if engine.db.fetchone(f"SELECT 1 FROM {table} WHERE p IN ({marks}) LIMIT 1", ids):
            return True
    card = engine.store.term_ids([OWL.onProperty, *_CARDINALITIES])
    if OWL.onProperty in card and len(card) > 1:  # the property of a max-cardinality restriction
        marks = ", ".join("?" * (len(card) - 1))
        cids = [i for t, i in card.items() if t != OWL.onProperty]
        if engine.db.fetchone(
            f"SELECT 1 FROM {table} d WHERE d.p = ? AND (EXISTS (SELECT 1 FROM kg_quads c WHERE c.s = d.s "
            f"AND c.p IN ({marks})) OR EXISTS (SELECT 1 FROM {table} c WHERE c.s = d.s AND c.p IN ({marks}))) LIMIT 1",
            [card[OWL.onProperty], *cids, *cids],
        ):
            return True
    special = engine.store.term_ids(
        [RDF.type, OWL.AllDisjointClasses, OWL.AllDisjointProperties, OWL.AllDifferent])
    objs = [i for t, i in special.items() if t != RDF.type]
    if RDF.type not in special or not objs:
        return False
    marks = ", ".join("?" * len(objs))
    return engine.db.fetchone(
        f"SELECT 1 FROM {table} WHERE p = ? AND o IN ({marks}) LIMIT 1", [special[RDF.type], *objs]
    ) is not None


def _delete_quads(engine: Engine) -> None:
    """Delete the quads listed in ``kg_rules_del`` (and their provenance rows)."""
    for table in ("kg_quads", "kg_provenance"):
        engine.db.execute(f"DELETE FROM {table} WHERE {quads_in(table, _DEL, dialect=engine.dialect)}")


def _overdelete(engine: Engine, gid: int, prof: Any, type_id: int | None) -> None:
    """Mark (in the over-delete table) every inferred triple depending on the seed."""
    delta = _SEED
    while True:
        new = _D[0] if delta != _D[0] else _D[1]
        engine.empty(new)
        engine.run_round(delta, new, prof, type_id, mode="overdelete", gid=gid, against=_OD)
        n = engine.db.scalar(f"SELECT COUNT(*) FROM {new}") or 0
        if not n:
            break
        engine.db.execute(f"INSERT INTO {_OD} (s, p, o, rule) SELECT s, p, o, rule FROM {new} WHERE 1 = 1 ON CONFLICT DO NOTHING")
        engine.analyze(new)
        delta = new
