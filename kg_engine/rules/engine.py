"""The semi-naive rule engine: materialise a program inside the SQL store.

Evaluation is bottom-up to a fixpoint, stratum by stratum (see :mod:`kg_engine.rules.strata`).
Round 1 of a stratum evaluates every rule over the whole store; each later round runs one
``INSERT … SELECT`` per (rule, head atom, body atom *i*) with atom *i* reading only the
previous round's new triples (a small delta table whose statistics are refreshed with
``ANALYZE`` every round) and the other atoms reading ``kg_quads``. Candidates already in the
store (in any graph) are dropped, so every round adds only genuinely new triples, which go
to the program's own *inferred graph* (``urn:kg-engine:inferred:<name>`` by default) with a
row in ``kg_rules_derivations`` naming the rule and round that derived them first. Rule
bodies match asserted ∪ inferred triples of all graphs except the GNN prediction and
analytics graphs (:func:`~kg_engine.rules.sqlgen.hidden_graph_ids`).

Constraint rules (no head) are evaluated after the fixpoint and returned as
:class:`Violation` objects; they never write triples.

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> EX = "urn:ex:"
    >>> _ = store.add([(URIRef(EX + "Cat"), RDFS.subClassOf, URIRef(EX + "Animal")),
    ...                (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Cat"))])
    >>> result = reason(store, "rdfs")
    >>> result.derived
    1
    >>> (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Animal"), result.graph) in set(store.triples((None, None, None)))
    True
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rdflib import RDF, BNode, Literal, URIRef

from kg_engine.core.graphs import INFERRED_GRAPH_PREFIX
from kg_engine.errors import RuleSyntaxError
from kg_engine.rules import floats as rule_floats
from kg_engine.rules import incremental, tables
from kg_engine.rules import regex as rule_regex
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, RuleSet, Var
from kg_engine.rules.results import Profiler, ReasoningResult, RuleProfile, Violation
from kg_engine.rules.rulesets import Combination, builtin_ruleset, combine
from kg_engine.rules.sameas import SameAs
from kg_engine.rules.specialise import Specialiser
from kg_engine.rules.sqlgen import ConstantIds, Unsatisfiable, _Frag, compile_body, hidden_graph_ids
from kg_engine.rules.strata import stratify

__all__ = [
    "INFERRED_PREFIX",
    "ReasoningResult",
    "RuleEngine",
    "RuleProfile",
    "Violation",
    "inferred_graph",
    "load_program",
    "reason",
    "stored_rules",
]

#: Inferred triples of program NAME go to the named graph ``INFERRED_PREFIX + NAME``.
INFERRED_PREFIX = INFERRED_GRAPH_PREFIX
_NOT_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\%]')  # and "%" itself, so the name reads back

#: What names a program: a built-in rule set name, a :class:`RuleSet`, a sequence of rules, or
#: a sequence of parts (a built-in name and user rule sets,
#: :func:`kg_engine.rules.rulesets.combine`), or a :class:`~kg_engine.rules.rulesets.Combination`.
RuleSpec = RuleSet | Sequence[Rule] | Sequence[RuleSet | str] | str | Combination

_D = tables.DELTA_TABLES
_OD = tables.OVERDELETE_TABLE
_SEED = tables.SEED_TABLE


#: PostgreSQL, a delta of at most this many rows: a rule's schema-specialised variants that
#: read it run as one generic statement (RuleEngine._eval_specialised)
MERGE_VARIANTS_BELOW = 50_000

#: PostgreSQL planner settings of DRed's re-derivation (RuleEngine.rederive)
_PINNED = (("join_collapse_limit", "1"), ("enable_hashjoin", "off"), ("enable_mergejoin", "off"),
           ("enable_memoize", "off"))


def inferred_graph(name: str) -> URIRef:
    """The default inferred graph of a program called ``name``; the characters an IRI cannot
    hold (a rules file ``my rules.rules`` is the program ``my rules``) are percent-encoded.

    Example:
        >>> inferred_graph("owl-rl")
        rdflib.term.URIRef('urn:kg-engine:inferred:owl-rl')
        >>> inferred_graph('my rules> "x"')
        rdflib.term.URIRef('urn:kg-engine:inferred:my%20rules%3E%20%22x%22')
    """
    return URIRef(INFERRED_PREFIX + _NOT_IRI.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), name))


def _resolve_program(store: Any, rules: RuleSpec) -> tuple[RuleSet, Any]:
    """(program, builder) — builder rebuilds a TBox-specialised built-in program (alone or
    combined with user rules)."""
    if isinstance(rules, RuleSet):
        return rules, None
    if isinstance(rules, str):
        builder = builtin_ruleset(rules)
        return builder(store), builder
    if not isinstance(rules, Combination):
        rules = list(rules)
        if all(isinstance(r, Rule) for r in rules):
            return RuleSet("rules", tuple(rules)), None
        rules = combine(rules)
        if isinstance(rules, RuleSet):
            return rules, None
    return rules(store), rules


def _has_owl_rl(program: RuleSet) -> bool:
    """Whether ``program`` holds the OWL 2 RL rules (by name, or every generic rule of it:
    a program built as OWL 2 RL's rules plus others): ``owl:sameAs`` then has its meaning."""
    if program.name == "owl-rl":
        return True
    from kg_engine.rules.rulesets.owl_rl import generic_rules

    return set(generic_rules()) <= set(program.rules)


class RuleEngine:
    """Materialise a program in a store and keep it up to date.

    Args:
        store: an open :class:`~kg_engine.store.SQLStore`.
        rules: a built-in rule set name (``"rdfs"``, ``"owl-rl"``), a :class:`RuleSet`, a
            sequence of :class:`Rule`, or a built-in name and user rule sets to run together
            (``["owl-rl", load_rules("my.rules")]``: one program, the built-in part
            specialised to the TBox as when it runs alone; :func:`~kg_engine.rules.rulesets.combine`).
        graph: the inferred graph (default ``urn:kg-engine:inferred:<program name>``).
        max_violations: violations returned per constraint rule (all are counted).
        equality: give ``owl:sameAs`` its OWL meaning by representative rewriting
            (:mod:`kg_engine.rules.sameas`); default on for a program holding the OWL 2 RL
            rules (``owl-rl``, alone or combined), off otherwise.

    Raises:
        ConfigError: for an unknown built-in rule set name.
        RuleSyntaxError: for an unstratifiable program.

    For users: :meth:`materialise`, :meth:`add`, :meth:`remove`, :meth:`check`. For the
    modules below it — incremental maintenance (:class:`kg_engine.rules.incremental.Engine`
    is the protocol) and equality (:class:`kg_engine.rules.sameas.SameAs`, driven from
    :meth:`fixpoint`) — a small public interface: :meth:`graph_id`, :meth:`constant_ids` /
    :attr:`current_ids`, :meth:`prepare_temp_tables`, :meth:`empty`, :meth:`analyze`, :meth:`fixpoint`,
    :meth:`run_round`, :meth:`rederive`, :meth:`delta_keys`, :meth:`insert_head`, :meth:`commit`,
    :meth:`evaluate_constraints`, :meth:`uses_sameas`, :attr:`specialised`. Those modules
    never import this one.
    """

    def __init__(
        self,
        store: Any,
        rules: RuleSpec = "owl-rl",
        graph: URIRef | None = None,
        *,
        max_violations: int = 100,
        equality: bool | None = None,
    ) -> None:
        self.store = store
        self.db = store.db
        self.dialect = store.dialect
        self._spec = rules
        self.program, self._builder = _resolve_program(store, rules)
        self.graph = graph if graph is not None else inferred_graph(self.program.name)
        self.max_violations = max_violations
        #: specialise generic rules to the schema each round (:mod:`kg_engine.rules.specialise`)
        self.specialise = True
        self._specialiser = Specialiser(self)
        #: owl:sameAs semantics by representative rewriting (default: for the OWL 2 RL program)
        self.equality = _has_owl_rl(self.program) if equality is None else equality
        #: the rule constants' term ids of the run in progress (representatives under equality)
        self.current_ids: ConstantIds | None = None
        self.inferred_id: int | None = None  # the inferred graph's term id (graph_id())
        self._program_json: str | None = None
        #: triples committed since ``kg_quads`` was last analysed (PostgreSQL)
        self._unanalyzed = 0
        #: (current_ids, known("e")) of the run in progress (_known_in_run)
        self._known: tuple[ConstantIds | None, str] | None = None
        #: rows of the delta table :meth:`delta_keys` read last
        self.delta_rows = 0
        self._prepare(self.program)
        tables.create_tables(store)
        if self.dialect == "sqlite":
            rule_regex.register(self.db.raw)
            rule_floats.register(self.db.raw)

    # -- program ---------------------------------------------------------------------------
    def _prepare(self, program: RuleSet) -> None:
        names = [r.name for r in program.rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise RuleSyntaxError(f"rule names must be unique in a program; repeated: {', '.join(sorted(dup))}")
        self.program = program
        self.strata = stratify(program.rules)
        self.constraints = [r for r in program.rules if r.is_constraint]
        self.monotonic = not any(
            isinstance(b, (Not, Aggregate)) for r in program.rules if not r.is_constraint for b in r.body
        )

    def _rebuild(self) -> bool:
        """Re-specialise a built-in program to the current TBox; True if it changed."""
        if self._builder is None:
            return False
        new = self._builder(self.store)
        if new == self.program:
            return False
        self._prepare(new)
        return True

    def sync_program(self) -> bool:
        """Adopt the built-in program the inferred graph was last materialised with, when
        another engine ran it since (the TBox changed behind this engine's back: its own
        TBox-specialised program would miss rules). True if the program changed.

        Incremental maintenance calls it first: the closure it continues must be the one
        of the program it runs.
        """
        if self._builder is None:
            return False
        ids = self.store.term_ids([self.graph])
        if self.graph not in ids:
            return False
        row = self.db.fetchone("SELECT name, program FROM kg_rules_programs WHERE g = ?", (ids[self.graph],))
        if row is None or row[1] == self._program_json or row[0] != self.program.name:
            return False
        self._program_json = row[1]
        stored = RuleSet.from_dict(json.loads(row[1]))
        if stored == self.program:
            return False
        self._prepare(stored)
        return True

    @property
    def builder(self) -> Combination | Callable[[Any], RuleSet] | None:
        """What rebuilds the program when the TBox changes: a built-in rule set's builder, a
        :class:`~kg_engine.rules.rulesets.Combination`, or ``None`` (a program run as given)."""
        return self._builder

    @property
    def specialised(self) -> bool:
        """Whether the program is a built-in one specialised to the TBox (rebuilt by a full run)."""
        return self._builder is not None

    def uses_sameas(self) -> bool:
        """Whether ``owl:sameAs`` is in play (a triple in the store uses it)."""
        from rdflib import OWL

        sid = self.store.term_ids([OWL.sameAs]).get(OWL.sameAs)
        if sid is None:
            return False
        return self.db.fetchone("SELECT 1 FROM kg_quads WHERE p = ? LIMIT 1", (sid,)) is not None

    # -- setup -------------------------------------------------------------------------------
    def graph_id(self) -> int:
        """Term id of the inferred graph (created, and registered as a graph, if new)."""
        gid = self.store.term_ids([self.graph], create=True)[self.graph]
        self.db.execute("INSERT INTO kg_graphs (id) VALUES (?) ON CONFLICT DO NOTHING", (gid,))
        self.inferred_id = gid
        return gid

    def known(self, alias: str) -> str:
        """SQL condition: the statement ``alias`` is already in the answers' default graph
        (asserted there, or inferred). A conclusion asserted only in a named graph is still
        written to the inferred graph: the default graph answers with what follows from every
        asserted graph, and a named graph's copy is not part of it."""
        gid = int(self.inferred_id if self.inferred_id is not None else self.graph_id())
        hidden = (self.current_ids.hidden_graphs if self.current_ids is not None
                  else hidden_graph_ids(self.db, own=gid))
        if self.db.fetchone("SELECT 1 FROM kg_graphs WHERE id NOT IN ("
                            f"{', '.join(str(g) for g in (gid, *hidden))}) LIMIT 1") is None:
            # no named graph holds asserted statements: "not hidden" says the same, and
            # without a hidden graph no condition at all (one index probe per candidate, not
            # one per graph: SQLite's OWL 2 RL on LUBM(10) took 38 % more CPU with the IN)
            return f"{alias}.g NOT IN ({', '.join(map(str, hidden))})" if hidden else "1 = 1"
        return f"{alias}.g IN (0, {gid})"

    def _known_in_run(self) -> str:
        """:meth:`known` for alias ``e``, asked once per run (per :attr:`current_ids`, which
        :meth:`constant_ids` sets anew at the start of every run): the run's statements
        write no graph, and asking for each of them was 158 round trips adding a LUBM
        department."""
        ids = self.current_ids
        if self._known is None or self._known[0] is not ids:
            self._known = (ids, self.known("e"))
        return self._known[1]

    def constant_ids(self) -> ConstantIds:
        """Term ids of the program's constants (head constants created); also sets
        :attr:`current_ids`."""
        consts: set[Any] = set()
        heads: set[Any] = set()

        def visit(items: Iterable[Any]) -> None:
            for b in items:
                if isinstance(b, Atom):
                    consts.update(t for t in b if not isinstance(t, Var))
                elif isinstance(b, Builtin):
                    consts.update(t for t in _consts_of(b) if isinstance(t, (URIRef, BNode, Literal)))
                elif isinstance(b, Bind):
                    consts.update(t for t in _consts_of(b.expr) if isinstance(t, (URIRef, BNode, Literal)))
                elif isinstance(b, (Not, Aggregate)):
                    visit(b.body)

        for r in self.program.rules:
            visit(r.body)
            for h in r.head:
                heads.update(t for t in h if not isinstance(t, Var))
        consts.add(RDF.type)
        ids = dict(self.store.term_ids(consts))
        ids.update(self.store.term_ids(heads, create=True))
        own = int(self.store.term_ids([self.graph], create=True)[self.graph])
        self.current_ids = ConstantIds(ids, hidden_graph_ids(self.db, own=own))
        return self.current_ids

    def _session(self) -> None:
        """Per-transaction planner settings for the many short INSERT … SELECTs (PostgreSQL).

        All end with the transaction (``SET LOCAL``): JIT compilation costs more than it saves
        on these statements; hash joins of a large delta should not spill to disk
        (``work_mem``); the store's pages are cached, so an index probe is not 4× a
        sequential page read (``random_page_cost``: with the default, deleting a 8k-row
        department scanned all of ``kg_quads`` instead of probing its primary key); and a
        statement the driver prepared after five runs (``SELECT 1 … WHERE p = ? LIMIT 1``)
        must keep a plan for its actual constants — the generic plan scanned the table
        for a rare predicate (``plan_cache_mode``). Nothing here touches durability.
        """
        if self.dialect == "postgresql":
            for setting in ("jit = off", "work_mem = '128MB'", "random_page_cost = 1.1",
                            "plan_cache_mode = force_custom_plan"):
                self.db.execute(f"SET LOCAL {setting}")

    def prepare_temp_tables(self) -> None:
        """Create (or empty) the run's temporary tables (``tables.DELTA_TABLES`` …)."""
        self._session()
        temp = "TEMP" if self.dialect == "sqlite" else "TEMPORARY"
        wr = " WITHOUT ROWID" if self.dialect == "sqlite" else ""
        for t in (*_D, _OD, _SEED):
            self.db.execute(
                f"CREATE {temp} TABLE IF NOT EXISTS {t} (s BIGINT NOT NULL, p BIGINT NOT NULL, "
                f"o BIGINT NOT NULL, rule TEXT, PRIMARY KEY (s, p, o)){wr}"
            )
            self.db.execute(f"CREATE INDEX IF NOT EXISTS {t}_pos ON {t} (p, o, s)")
        self.empty(*_D, _OD, _SEED)

    def empty(self, *tables: str) -> None:
        """Delete every row of the temporary ``tables``.

        PostgreSQL truncates them: a ``DELETE`` leaves a large round's dead rows in the table
        and its indexes until the session ends (temporary tables are never vacuumed), and
        every statement planned against them afterwards reads through the dead index
        entries (the planner looks up the indexed columns' actual extremes). Adding a LUBM(10)
        department in the session that had materialised OWL 2 RL spent ~1 s planning its
        statements instead of 0.2 s, +0.37 server CPU-s.
        """
        if self.dialect == "postgresql":
            self.db.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for t in tables:
                self.db.execute(f"DELETE FROM {t}")

    def analyze(self, table: str) -> None:
        """Refresh the planner statistics of ``table`` (a temporary or a store table)."""
        if self.dialect == "sqlite":
            self.db.execute(f"ANALYZE temp.{table}" if table.startswith("kg_rules_") else f"ANALYZE {table}")
        else:
            self.db.execute(f"ANALYZE {table}")

    def _analyze_grown(self, added: int) -> None:
        """PostgreSQL: re-``ANALYZE kg_quads`` once the triples added since its statistics
        were taken reach a tenth of the table (new ``(p, o)`` values make the plans of the
        ``NOT EXISTS`` probes go wrong), not after every round: on LUBM(10) the first round
        grows it by 40 %, an incremental update of a department by 0.2 %."""
        if self.dialect != "postgresql":
            return
        self._unanalyzed += added
        rows = self.db.scalar("SELECT reltuples FROM pg_class WHERE oid = 'kg_quads'::regclass")
        if added > 1000 and self._unanalyzed * 10 >= max(float(rows or 0), 1.0):
            self.db.execute("ANALYZE kg_quads")
            self._unanalyzed = 0

    def _analyze_store(self) -> None:
        if self.dialect == "sqlite":
            self.db.execute("PRAGMA analysis_limit=1000")
            self.db.execute("ANALYZE kg_quads")
            self.db.execute("ANALYZE kg_terms")
        else:
            self.db.execute("ANALYZE kg_quads")
            self._unanalyzed = 0

    # -- public API --------------------------------------------------------------------------
    def materialise(self, *, recompute: bool = False) -> ReasoningResult:
        """Compute the closure of the store under the program.

        Args:
            recompute: first delete the inferred graph (a clean recompute); otherwise the
                run continues from what the graph already holds. A program with negation or
                aggregation always recomputes: a statement written since the last run may
                defeat a conclusion it holds (the result reports the net change).

        Returns:
            A :class:`ReasoningResult`.
        """
        t0, c0 = time.perf_counter(), time.process_time()
        result = ReasoningResult(self.program.name, self.graph)
        prof = Profiler()
        # a closure about as large as the store (SQLite: see Database.large_write)
        with self.db.large_write(), self.db.transaction():
            self._rebuild()
            gid = self.graph_id()
            forced = not recompute and not self.monotonic
            if recompute or forced:
                result.removed = self._clear(gid)
            self.prepare_temp_tables()
            self._analyze_store()
            self._save_program(gid)
            result.derived, result.rounds = self.fixpoint(gid, prof, seed=None)
            if forced:
                d, r = result.derived, result.removed
                result.derived, result.removed = max(d - r, 0), max(r - d, 0)
            self.evaluate_constraints(result)
            if self._large(result):
                # settle()'s VACUUM marks a page all-visible only once its rows' commit is
                # flushed (an asynchronous commit's hint bits wait for the WAL writer)
                self.db.execute("SET LOCAL synchronous_commit = on")
        self.settle(result)
        result.profile = prof.sorted()
        result.seconds = time.perf_counter() - t0
        result.cpu_seconds = time.process_time() - c0
        return result

    materialize = materialise

    def settle(self, result: ReasoningResult) -> None:
        """PostgreSQL, outside a transaction: ``VACUUM`` the quads (and derivations) after a run
        that wrote at least a tenth of them.

        The closure's rows are written without hint bits or visibility-map bits: until a
        vacuum, every index-only scan of them visits the heap, and the planner, costing such
        scans as heap visits, picks other plans. Adding a LUBM(10) department right after
        OWL 2 RL took 1.84 server CPU-s, 0.78 after a ``VACUUM kg_quads`` that cost 0.08
        (removing it: 2.25 → 1.35). Autovacuum would get there, some time later.
        Inside a transaction (``set_profile``) the caller settles after its commit.
        """
        if not self.db.in_transaction and self._large(result):
            self.db.execute("VACUUM kg_quads")
            self.db.execute("VACUUM kg_rules_derivations")

    def _large(self, result: ReasoningResult) -> bool:
        """PostgreSQL: whether the run wrote at least a tenth of the quads (see settle())."""
        if self.dialect != "postgresql":
            return False
        rows = float(self.db.scalar("SELECT reltuples FROM pg_class WHERE oid = 'kg_quads'::regclass") or 0)
        return (result.derived + result.removed) * 10 >= rows > 0

    def add(self, triples: Iterable[tuple], graph: URIRef | BNode | None = None) -> ReasoningResult:
        """Add asserted triples and update the materialisation incrementally.

        See :func:`kg_engine.rules.incremental.add`.
        """
        return incremental.add(self, triples, graph)

    def remove(self, triples: Iterable[tuple], graph: URIRef | BNode | None = None) -> ReasoningResult:
        """Remove asserted triples and update the materialisation (DRed).

        See :func:`kg_engine.rules.incremental.remove`.
        """
        return incremental.remove(self, triples, graph)

    def check(self) -> list[Violation]:
        """Evaluate the constraint rules only; returns the violations."""
        result = ReasoningResult(self.program.name, self.graph)
        self.evaluate_constraints(result)
        return result.violations

    # -- internals ---------------------------------------------------------------------------
    def _clear(self, gid: int) -> int:
        n = self.db.scalar("SELECT COUNT(*) FROM kg_quads WHERE g = ?", (gid,)) or 0
        self.db.execute("DELETE FROM kg_quads WHERE g = ?", (gid,))
        self.db.execute("DELETE FROM kg_rules_derivations WHERE g = ?", (gid,))
        # the equivalence classes are part of the materialisation: a recompute rebuilds them
        self.db.execute("DELETE FROM kg_rules_sameas WHERE g = ?", (gid,))
        return int(n)

    def _save_program(self, gid: int) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        record = self.program.to_dict()
        if isinstance(self._builder, Combination):  # its parts, to rebuild it (stored_rules)
            record["parts"] = self._builder.to_dict()
        text = self._program_json = json.dumps(record)
        self.db.execute("DELETE FROM kg_rules_programs WHERE g = ?", (gid,))
        self.db.execute(
            "INSERT INTO kg_rules_programs (g, name, program, updated_at) VALUES (?, ?, ?, ?)",
            (gid, self.program.name, text, now),
        )

    def _has(self, cache: dict, key: tuple) -> bool:
        """Whether any stored triple has predicate key[0] (and object key[1])."""
        hit = cache.get(key)
        if hit is None:
            if len(key) == 1:
                hit = self.db.fetchone("SELECT 1 FROM kg_quads WHERE p = ? LIMIT 1", key) is not None
            else:
                hit = self.db.fetchone("SELECT 1 FROM kg_quads WHERE p = ? AND o = ? LIMIT 1", key) is not None
            cache[key] = hit
        return hit

    def fixpoint(self, gid: int, prof: Profiler, seed: str | None, round0: int = 0) -> tuple[int, int]:
        """Run the strata; ``seed`` names a table of new triples to continue from (incremental)."""
        raw_ids = self.constant_ids()
        ids = self.current_ids = raw_ids
        type_id = ids.get(RDF.type)
        derived = 0
        rounds = round0
        eq = None
        if self.equality:
            eq = SameAs(self.store, gid)
            if seed is None:
                self.empty(_D[1])
                eq.start(_D[1], set(ids.ids.values()))
                n = self.db.scalar(f"SELECT COUNT(*) FROM {_D[1]}") or 0
                if n:
                    rounds += 1
                    self.commit(_D[1], gid, rounds)
                    derived += int(n)
            if eq.rep:
                ids = self.current_ids = raw_ids.with_ids(eq.canonical_ids(raw_ids.ids))
            eq.constants_changed = False
        for stratum in self.strata:
            delta = seed
            first = seed is None
            cache: dict = {}
            while True:
                new = _D[0] if delta != _D[0] else _D[1]
                self.empty(new)
                rounds += 1
                self._specialiser.reset()
                keys = None if first else self.delta_keys(delta, type_id)
                for rule in stratum:
                    self._eval_rule(rule, ids, None if first else delta, new, prof, keys, cache, type_id)
                if eq is not None:
                    eq.after_round(new, set(self.current_ids.ids.values()))
                n = self.db.scalar(f"SELECT COUNT(*) FROM {new}") or 0
                if n == 0:
                    break
                self.commit(new, gid, rounds)
                derived += int(n)
                self.analyze(new)
                self._analyze_grown(int(n))
                delta = new
                first = False
                cache = {}
                if eq is not None and eq.constants_changed:
                    # a rule constant was merged into another term: re-run all rules once
                    ids = self.current_ids = raw_ids.with_ids(eq.canonical_ids(raw_ids.ids))
                    type_id = ids.get(RDF.type)
                    eq.constants_changed = False
                    first = True
        if eq is not None and eq.rep:
            new = _D[0]
            self.empty(new)
            eq.expand(new)
            n = self.db.scalar(f"SELECT COUNT(*) FROM {new}") or 0
            if n:
                rounds += 1
                self.commit(new, gid, rounds)
                derived += int(n)
        return derived, rounds - round0

    def run_round(self, delta: str, target: str, prof: Profiler, type_id: int | None, **mode: Any) -> None:
        """One semi-naive round: every rule (not the constraints) with one body atom reading
        the table ``delta``, the others the store; conclusions go to the table ``target``.

        ``mode`` is that of :meth:`insert_head` (``mode``, ``gid``, ``against``); the rule
        constants are :attr:`current_ids` (set by :meth:`constant_ids` or :meth:`fixpoint`).
        """
        assert self.current_ids is not None, "call constant_ids() first"
        keys = self.delta_keys(delta, type_id)
        self._specialiser.reset()
        for rule in self.program.rules:
            if not rule.is_constraint:
                self._eval_rule(rule, self.current_ids, delta, target, prof, keys, {}, type_id, **mode)

    def rederive(self, marked: str, target: str, prof: Profiler, type_id: int | None) -> None:
        """DRed's re-derivation: every rule head that can match a triple of table ``marked``
        (the over-deleted triples) joined to it, bodies over the store as it is now; what
        still follows goes to ``target``.

        The generic statements, not the schema-specialised variants of :meth:`fixpoint`:
        with ``random_page_cost`` lowered (:meth:`_session`) PostgreSQL drives them from the
        small marked table, and the variants' extra statements cost more than they saved
        in the LUBM(10) benchmark (remove of a department: 1.60 s vs 1.44 s, load 1.3).
        """
        assert self.current_ids is not None, "call constant_ids() first"
        ids = self.current_ids
        keys = self.delta_keys(marked, type_id)
        pin = self.dialect == "postgresql"
        if pin:
            # PostgreSQL runs these statements as index nested loops in their written order,
            # from the marked triples (insert_head). On its own it misjudges `?x a ?c` for a
            # ?c bound by another atom (8 rows estimated for 7,129): rederiving cax-sco after
            # removing a LUBM department sorted 705k rows for a merge join (0.55-0.8 s of the
            # removal's 1.3 server CPU-s) and, with the order alone fixed, memoized the
            # class's members to filter them by the marked subject (100 s). (The body as a
            # LATERAL … LIMIT 1 per marked triple, or an EXISTS, was measured dearer.)
            saved = [self.db.scalar(f"SELECT current_setting('{name}')") for name, _ in _PINNED]
            for name, value in _PINNED:
                self.db.execute(f"SET LOCAL {name} = {value}")
        for rule in self.program.rules:
            for hi, head in enumerate(rule.head):
                if self._in_delta(head, ids, keys, type_id):
                    self.insert_head(rule, hi, head, ids, {}, target, prof, mode="rederive", against=marked)
        if pin:  # (after an error the transaction's end resets them)
            for (name, _), value in zip(_PINNED, saved):
                self.db.execute("SELECT set_config(?, ?, true)", (name, value))

    def delta_keys(self, delta: str, type_id: int | None) -> tuple[set[int], set[int]]:
        """(predicates, ``rdf:type`` objects) of the triples in table ``delta``; sets
        :attr:`delta_rows`."""
        counts = self.db.fetchall(f"SELECT p, COUNT(*) FROM {delta} GROUP BY p")
        preds = {r[0] for r in counts}
        self.delta_rows = sum(int(r[1]) for r in counts)
        types: set[int] = set()
        if type_id is not None and type_id in preds:
            types = {r[0] for r in self.db.fetchall(f"SELECT DISTINCT o FROM {delta} WHERE p = ?", (type_id,))}
        return preds, types

    def commit(self, new: str, gid: int, rnd: int) -> None:
        """Write the triples of table ``new`` to the inferred graph ``gid`` (round ``rnd``)."""
        self.db.execute(f"INSERT INTO kg_quads (g, s, p, o) SELECT ?, s, p, o FROM {new} ORDER BY s, p, o", (gid,))
        self.db.execute(
            f"INSERT INTO kg_rules_derivations (g, s, p, o, rule, round) "
            f"SELECT ?, s, p, o, rule, ? FROM {new} ORDER BY s, p, o",
            (gid, rnd),
        )

    def _atom_possible(self, atom: Atom, ids: ConstantIds, cache: dict, type_id: int | None) -> bool:
        p = atom.p
        if isinstance(p, Var):
            return True
        pid = ids.get(p)
        if pid is None:
            return False
        if pid == type_id and not isinstance(atom.o, Var):
            oid = ids.get(atom.o)
            return oid is not None and self._has(cache, (pid, oid))
        return self._has(cache, (pid,))

    def _eval_rule(
        self,
        rule: Rule,
        ids: ConstantIds,
        delta: str | None,
        new: str,
        prof: Profiler,
        keys: tuple[set[int], set[int]] | None,
        cache: dict,
        type_id: int | None,
        **mode: Any,
    ) -> None:
        """Run ``rule`` for every body position that can read the delta (all: round 1).

        ``mode`` is passed to :meth:`insert_head` (``mode``, ``gid``, ``against``).
        """
        atoms = rule.atoms()
        spec = self._specialiser.variants(rule, ids) if self.specialise and rule.head else None
        if spec is not None:
            self._eval_specialised(rule, spec, ids, delta, new, prof, keys, cache, type_id, **mode)
            return
        if delta is None:
            if not all(self._atom_possible(a, ids, cache, type_id) for a in atoms):
                return
            positions: list[int | None] = [None]
        else:
            if not atoms:
                return
            positions = [i for i, a in enumerate(atoms) if self._in_delta(a, ids, keys, type_id)]
        for pos in positions:
            sources = {} if pos is None else {pos: delta}
            for hi, head in enumerate(rule.head):
                self.insert_head(rule, hi, head, ids, sources, new, prof, **mode)

    @staticmethod
    def _in_delta(a: Atom, ids: ConstantIds, keys: Any, type_id: int | None) -> bool:
        """Whether atom ``a`` can match a triple of the delta (by predicate / rdf:type class)."""
        if isinstance(a.p, Var):
            return True
        preds, types = keys if keys is not None else (set(), set())
        pid = ids.get(a.p)
        if pid is None or pid not in preds:
            return False
        if pid == type_id and not isinstance(a.o, Var):
            return ids.get(a.o) in types
        return True

    def _eval_specialised(self, rule, spec, ids, delta, new, prof, keys, cache, type_id, **mode) -> None:
        schema, data, variants, extra = spec
        atoms = rule.atoms()
        if delta is not None:
            # delta on a schema atom: the generic statement (rare: the TBox changed)
            for i in schema:
                if self._in_delta(atoms[i], ids, keys, type_id):
                    for hi, head in enumerate(rule.head):
                        self.insert_head(rule, hi, head, ids, {i: delta}, new, prof, **mode)
        if not variants:
            return
        vids = ids.with_ids({**ids.ids, **extra})
        if (delta is not None and self.dialect == "postgresql" and mode.get("mode", "new") == "new"
                and self.delta_rows <= MERGE_VARIANTS_BELOW):
            # A small delta: the generic statement at each data position some variant reads
            # the delta at, one statement instead of one per variant (the join with the
            # schema atoms picks the solutions the delta matches). Each statement costs
            # PostgreSQL 1-2 ms however little it reads (planning against kg_quads'
            # statistics): adding a LUBM(10) department issued 59 cax-sco, 23 prp-rng and
            # 21 prp-dom variants. Not for DRed's over-delete: there PostgreSQL planned the
            # generic prp-dom / cls-svf1 statements as scans (0.9 s each, removing it).
            for k, i in enumerate(data):
                if any(self._in_delta(v.atoms()[k], vids, keys, type_id) for v in variants):
                    for hi, head in enumerate(rule.head):
                        self.insert_head(rule, hi, head, ids, {i: delta}, new, prof, **mode)
            return
        for v in variants:
            vatoms = v.atoms()
            if delta is None:
                if not all(self._atom_possible(a, vids, cache, type_id) for a in vatoms):
                    continue
                positions: list[int | None] = [None]
            else:
                positions = [k for k, a in enumerate(vatoms) if self._in_delta(a, vids, keys, type_id)]
            for pos in positions:
                sources = {} if pos is None else {pos: delta}
                for hi, head in enumerate(v.head):
                    self.insert_head(v, hi, head, vids, sources, new, prof, **mode)

    def insert_head(
        self,
        rule: Rule,
        hi: int,
        head: Atom,
        ids: ConstantIds,
        sources: dict,
        target: str,
        prof: Profiler,
        *,
        mode: str = "new",
        gid: int | None = None,
        against: str | None = None,
    ) -> int:
        """One INSERT … SELECT of head ``hi`` into ``target``; returns rows inserted.

        mode "new": candidates not in the store. "overdelete": candidates in the inferred
        graph ``gid`` and not yet in table ``against``. "rederive": candidates in table
        ``against`` (joined) and not in the store.
        """
        t0 = time.perf_counter()
        try:
            q = compile_body(rule, ids, self.dialect, sources)
        except Unsatisfiable:
            return 0
        hs, hp, ho = q.head_exprs(head)
        if any(e[1] != "id" for e in (hs, hp, ho)):
            n = self._python_insert(rule, q, (hs, hp, ho), target, mode, gid, against)
            prof.add(rule.name, time.perf_counter() - t0, n)
            return n
        extra: list[str] = []
        # No literal subjects / non-IRI predicates.
        if isinstance(head.s, Var) and "s" not in q.positions.get(head.s, set()):
            extra.append(f"EXISTS (SELECT 1 FROM kg_terms k1 WHERE k1.id = {hs[0]} AND k1.kind <> 3)")
        if isinstance(head.p, Var) and "p" not in q.positions.get(head.p, set()):
            extra.append(f"EXISTS (SELECT 1 FROM kg_terms k2 WHERE k2.id = {hp[0]} AND k2.kind = 1)")
        s, p, o = hs[0], hp[0], ho[0]
        seen = f" AND {self._known_in_run()}"
        if mode == "new":
            extra.append(f"NOT EXISTS (SELECT 1 FROM kg_quads e WHERE e.s = {s} AND e.p = {p} AND e.o = {o}{seen})")
        elif mode == "overdelete":
            extra.append(
                f"EXISTS (SELECT 1 FROM kg_quads e WHERE e.s = {s} AND e.p = {p} AND e.o = {o} AND e.g = {int(gid)})"
            )
            extra.append(f"NOT EXISTS (SELECT 1 FROM {against} e2 WHERE e2.s = {s} AND e2.p = {p} AND e2.o = {o})")
        elif mode == "rederive":
            if self.dialect == "postgresql":  # the marked triples first, joined in this order (rederive())
                q.froms.insert(0, _Frag(f"{against} h"))
                q.join = " CROSS JOIN "
            else:
                q.froms.append(_Frag(f"{against} h"))
            q.where.append(_Frag(f"h.s = {s} AND h.p = {p} AND h.o = {o}"))
            extra.append(f"NOT EXISTS (SELECT 1 FROM kg_quads e WHERE e.s = {s} AND e.p = {p} AND e.o = {o}{seen})")
        for x in extra:
            q.where.append(_Frag(x))
        sel, params = q.select([("?", "str", [rule.name]), hs, hp, ho])
        sql = f"INSERT INTO {target} (rule, s, p, o) {sel} ON CONFLICT DO NOTHING"
        self.last_sql = (sql, params)
        with rule_regex.guard(rule.name):
            cur = self.db.execute(sql, params)
        n = cur.rowcount if cur.rowcount is not None else 0
        prof.add(rule.name, time.perf_counter() - t0, n)
        return n

    def _python_insert(self, rule, q, exprs, target, mode, gid, against) -> int:
        """Heads with computed values: evaluate in SQL, intern the values, insert."""
        sel, params = q.select(list(exprs), distinct=True)
        with rule_regex.guard(rule.name):
            rows = self.db.fetchall(sel, params)
        if not rows:
            return 0
        kinds = [e[1] for e in exprs]
        values: list[tuple] = []
        lits: set[Literal] = set()
        for row in rows:
            out = []
            ok = True
            for k, (v, kind) in enumerate(zip(row, kinds)):
                if v is None:
                    ok = False
                    break
                if kind == "id":
                    out.append(int(v))
                else:
                    if k < 2:  # a computed value cannot be a subject or predicate
                        ok = False
                        break
                    lit = _value_literal(v, kind)
                    lits.add(lit)
                    out.append(lit)
            if ok:
                values.append(tuple(out))
        if not values:
            return 0
        lit_ids = self.store.term_ids(lits, create=True) if lits else {}
        encoded = {tuple(lit_ids[x] if isinstance(x, Literal) else x for x in v) for v in values}
        # Drop literal subjects / non-IRI predicates.
        ids_needed = {v[0] for v in encoded} | {v[1] for v in encoded}
        kinds_of = self._kinds(ids_needed)
        encoded = {v for v in encoded if kinds_of.get(v[0]) != 3 and kinds_of.get(v[1]) == 1}
        seen = f" AND {self._known_in_run()}"
        if mode == "new":
            sql = (
                f"INSERT INTO {target} (rule, s, p, o) SELECT ?, ?, ?, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM kg_quads e WHERE e.s = ? AND e.p = ? AND e.o = ?{seen}) ON CONFLICT DO NOTHING"
            )
            rows2 = [(rule.name, s, p, o, s, p, o) for s, p, o in encoded]
        elif mode == "overdelete":
            sql = (
                f"INSERT INTO {target} (rule, s, p, o) SELECT ?, ?, ?, ? WHERE EXISTS "
                f"(SELECT 1 FROM kg_quads e WHERE e.s = ? AND e.p = ? AND e.o = ? AND e.g = ?) "
                f"AND NOT EXISTS (SELECT 1 FROM {against} e2 WHERE e2.s = ? AND e2.p = ? AND e2.o = ?) "
                f"ON CONFLICT DO NOTHING"
            )
            rows2 = [(rule.name, s, p, o, s, p, o, gid, s, p, o) for s, p, o in encoded]
        else:
            sql = (
                f"INSERT INTO {target} (rule, s, p, o) SELECT ?, ?, ?, ? WHERE EXISTS "
                f"(SELECT 1 FROM {against} h WHERE h.s = ? AND h.p = ? AND h.o = ?) AND NOT EXISTS "
                f"(SELECT 1 FROM kg_quads e WHERE e.s = ? AND e.p = ? AND e.o = ?{seen}) ON CONFLICT DO NOTHING"
            )
            rows2 = [(rule.name, s, p, o, s, p, o, s, p, o) for s, p, o in encoded]
        before = self.db.scalar(f"SELECT COUNT(*) FROM {target}") or 0
        self.db.executemany(sql, rows2)
        after = self.db.scalar(f"SELECT COUNT(*) FROM {target}") or 0
        return int(after - before)

    def _kinds(self, ids: set[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        lst = list(ids)
        for i in range(0, len(lst), 500):
            chunk = lst[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            for id_, kind in self.db.fetchall(f"SELECT id, kind FROM kg_terms WHERE id IN ({marks})", chunk):
                out[int(id_)] = int(kind)
        return out

    def evaluate_constraints(self, result: ReasoningResult) -> None:
        """Evaluate constraint rules into ``result.violations``."""
        if not self.constraints:
            return
        ids = self.current_ids if self.current_ids is not None else self.constant_ids()
        all_ids: set[int] = set()
        found: list[tuple[str, list[Var], list[tuple]]] = []
        for rule in self.constraints:
            try:
                q = compile_body(rule, ids, self.dialect)
            except Unsatisfiable:
                continue
            vs = sorted(q.cols)
            if not vs:
                exprs = [("1", "id", [])]
            else:
                exprs = [(q.cols[v], "id", []) for v in vs]
            sel, params = q.select(exprs, distinct=True)
            with rule_regex.guard(rule.name):
                count = self.db.scalar(f"SELECT COUNT(*) FROM ({sel}) v", params) or 0
                if not count:
                    continue
                result.violation_counts[rule.name] = int(count)
                rows = self.db.fetchall(f"{sel} LIMIT {int(self.max_violations)}", params)
            found.append((rule.name, vs, rows))
            for row in rows:
                all_ids.update(int(x) for x in row)
        terms = self.store.decode(all_ids) if all_ids else {}
        for name, vs, rows in found:
            for row in rows:
                result.violations.append(
                    Violation(name, {v.name: terms.get(int(x), x) for v, x in zip(vs, row)})
                )


def _value_literal(v: Any, kind: str) -> Literal:
    if kind == "num":
        f = float(v)
        if f.is_integer() and abs(f) < 2**62:
            return Literal(int(f))
        from decimal import Decimal

        return Literal(Decimal(repr(f)))
    if kind == "dtm":
        return Literal(datetime.fromtimestamp(float(v), tz=UTC))
    return Literal(str(v))


def _consts_of(node: Any) -> Iterable[Any]:
    if isinstance(node, Builtin):
        for a in node.args:
            yield from _consts_of(a)
    elif not isinstance(node, Var):
        yield node


def reason(
    store: Any,
    rules: RuleSpec = "owl-rl",
    *,
    graph: URIRef | None = None,
    recompute: bool = False,
) -> ReasoningResult:
    """Materialise ``rules`` over ``store`` (see :class:`RuleEngine`).

    Args:
        store: an open store.
        rules: ``"rdfs"``, ``"owl-rl"``, a :class:`RuleSet`, a list of rules, or a built-in
            name with user rule sets (``["owl-rl", rules]``, see :class:`RuleEngine`).
        graph: the inferred graph (default ``urn:kg-engine:inferred:<name>``).
        recompute: clear the inferred graph first.

    Returns:
        The :class:`ReasoningResult`.
    """
    with store.db.transaction():  # the rule tables are created in the run's transaction
        engine = RuleEngine(store, rules, graph)
        result = engine.materialise(recompute=recompute)
    engine.settle(result)
    return result


def load_program(store: Any, graph: URIRef) -> RuleSet | None:
    """The program last run to fill the inferred ``graph`` (``None`` if there is none).

    Example:
        >>> from kg_engine.store import open_store
        >>> load_program(open_store("sqlite://"), inferred_graph("rdfs")) is None
        True
    """
    record = _record(store, graph)
    return None if record is None else RuleSet.from_dict(record)


def stored_rules(store: Any, graph: URIRef) -> Any:
    """What rebuilds the program last run to fill ``graph``: the recorded :class:`RuleSet`, or
    for a built-in rule set combined with user rules its
    :class:`~kg_engine.rules.rulesets.Combination` (the built-in part is specialised to the
    TBox again); ``None`` if nothing is recorded.

    Example:
        >>> from kg_engine.store import open_store
        >>> from kg_engine.rules.syntax import load_rules
        >>> store = open_store("sqlite://")
        >>> result = reason(store, ["owl-rl", load_rules("[r: (?a <urn:p> ?b) -> (?b <urn:p> ?a)]")])
        >>> stored_rules(store, result.graph).name
        'owl-rl+user'
    """
    record = _record(store, graph)
    if record is None:
        return None
    if "parts" in record:
        return Combination.from_dict(record["parts"])
    return RuleSet.from_dict(record)


def _record(store: Any, graph: URIRef) -> dict | None:
    """The JSON record of the program last run to fill ``graph``."""
    tables.create_tables(store)
    ids = store.term_ids([graph])
    if graph not in ids:
        return None
    row = store.db.fetchone("SELECT program FROM kg_rules_programs WHERE g = ?", (ids[graph],))
    return None if row is None else json.loads(row[0])
