"""In-process interruptions: Ctrl-C, or an exception, in the middle of a call, and the same
:class:`~kg_engine.api.KnowledgeGraph` object used again afterwards.

A notebook user presses Ctrl-C during ``kg.load(...)`` (``KeyboardInterrupt``), or their own
code raises in the middle of a call, and goes on with the same ``kg``. :mod:`kg_engine.testing.
crashes` kills whole processes; this module checks what an interrupted call leaves *inside* the
process: term-id caches, compiled plans, the reasoning profile's maintainer, buffered rdflib
statements, open transactions, the connection's lock, PostgreSQL cursors.

:func:`run_sequence` draws a random sequence of API operations (:class:`OpGenerator`: loads of
Turtle and N-Triples files with new terms, SPARQL updates of every kind, ``add``/``remove``,
``kg.graph.add``, ``reason`` with live profiles, ``reason_off``, ``vacuum``, queries and
``triples()`` partly consumed) and interrupts most of them once:

* ``"call"``: an internal function (:data:`POINTS`: the SQL execute wrapper, the term
  encoder, the Turtle parser's term reader, a rule round, the staged writes…) raises
  ``KeyboardInterrupt`` or ``RuntimeError`` on its k-th call, before or after doing its work;
* ``"signal"``: a timer (``signal.setitimer``) whose handler raises ``KeyboardInterrupt``
  after a random part of the operation's usual time, wherever the main thread then is.

After every operation, interrupted or not, it checks that

1. nothing is left behind on the object's connection (transaction, lock, cursor, buffered
   statements, suspended maintenance);
2. the store (read on a connection of its own) is consistent (:func:`~kg_engine.testing.
   crashes.problems`) and is exactly the state before the operation or after it: the
   *twin*, a second store on the same backend to which every operation that took effect is
   applied uninterrupted (:func:`~kg_engine.testing.crashes.fingerprint` compared);
3. the object's answers to a fixed battery of queries (:func:`battery`) equal those of a
   fresh ``KnowledgeGraph`` opened on the same store, and the twin's.

An interrupted operation is re-run at once, as a user re-runs the cell, with probability
:data:`RETRY`. ``benchmarks/interrupts.py`` runs many seeds on both backends;
``tests/testing/test_interrupts.py`` a few.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = run_sequence(3, sqlite_urls(tmp), operations=6)
    >>> report.findings
    []
    >>> report.operations
    6
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import random
import re
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import BNode, Literal, URIRef

from kg_engine.errors import KgEngineError
from kg_engine.store.database import Database
from kg_engine.testing.crashes import fingerprint, problems

__all__ = ["POINTS", "RETRY", "Finding", "Injector", "Op", "OpGenerator", "Report", "battery",
           "leftovers", "postgres_urls", "run_op", "run_sequence", "sqlite_urls"]

EX = "http://example.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: Probability that an interrupted operation is run again at once (a user re-running the cell).
RETRY = 0.4

#: Functions that raise on their k-th call: ``module:Class.method`` or ``module:function``.
POINTS = (
    "kg_engine.store.database:Database.execute",
    "kg_engine.store.database:Database.executemany",
    "kg_engine.store.database:Database.insert_rows",
    "kg_engine.store.dictionary:TermDictionary.ids",
    "kg_engine.store.dictionary:TermDictionary.insert",
    "kg_engine.store.dictionary:TermDictionary.terms",
    "kg_engine.store.sqlstore:SQLStore._insert_staged",
    "kg_engine.store.sqlstore:SQLStore._delete_staged",
    "kg_engine.store.turtle:TurtleParser._term",
    "kg_engine.store.ntriples:token_row",
    "kg_engine.rules.engine:RuleEngine.run_round",
    "kg_engine.rules.engine:RuleEngine.commit",
    "kg_engine.rules.incremental:extend",
    "kg_engine.rules.incremental:retract",
    "kg_engine.sparql.compiler.plan:CompiledQuery.run",
    "kg_engine.store.rdflib_store:KgEngineStore.flush",
)

_MARK = "kg-interrupts: injected"


def _injected(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, RuntimeError)) and str(exc) == _MARK


# -- operations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One API call: ``kind`` and its arguments (plain data, so the twin can replay it)."""

    kind: str
    args: tuple = ()

    def __str__(self) -> str:
        shown = ", ".join(repr(a)[:300] for a in self.args)
        return f"{self.kind}({shown})"


#: writes (the twin replays them); the others only read
WRITES = {"load_ttl", "load_nt", "update", "add", "graph_add", "remove", "reason", "reason_off",
          "vacuum"}


class OpGenerator:
    """Random operations over a small vocabulary; every write brings new terms too."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fresh = 0
        self.entities = [f"{EX}e{i}" for i in range(6)]

    def _new(self) -> str:
        self.fresh += 1
        iri = f"{EX}n{self.fresh}"
        self.entities.append(iri)
        return iri

    def _entity(self) -> str:
        r = self.rng
        return self._new() if r.random() < 0.35 else r.choice(self.entities)

    def _object(self) -> str:
        r = self.rng
        pick = r.random()
        if pick < 0.45:
            return f"<{self._entity()}>"
        if pick < 0.6:
            return f"<{EX}C{r.randrange(4)}>"
        if pick < 0.75:
            return f'"v{r.randrange(6 if r.random() < 0.5 else 1000)}"'
        if pick < 0.85:
            return f'"w{r.randrange(1000)}"@en'
        return f'"{r.randrange(1000)}"^^<{XSD}integer>'

    def _triple(self) -> str:
        r = self.rng
        pick = r.random()
        if pick < 0.1:  # schema: reasoning has something to do, and TBox changes
            a, b = r.sample(range(4), 2)
            kind = r.choice(["subClassOf", "subPropertyOf", "domain", "range"])
            if kind == "subClassOf":
                return f"<{EX}C{a}> <{RDFS}subClassOf> <{EX}C{b}>"
            if kind == "subPropertyOf":
                return f"<{EX}p{a}> <{RDFS}subPropertyOf> <{EX}p{b}>"
            return f"<{EX}p{a}> <{RDFS}{kind}> <{EX}C{b}>"
        if pick < 0.3:
            return f"<{self._entity()}> <{RDF_TYPE}> <{EX}C{r.randrange(4)}>"
        return f"<{self._entity()}> <{EX}p{r.randrange(4)}> {self._object()}"

    def _triples(self, n: int | None = None) -> list[str]:
        return [self._triple() for _ in range(n or self.rng.randint(1, 8))]

    def _graph(self) -> str | None:
        return f"{EX}g{self.rng.randrange(2)}" if self.rng.random() < 0.25 else None

    def _pattern(self) -> str:
        r = self.rng
        return r.choice([f"?s <{EX}p{r.randrange(4)}> ?o", f"?s <{RDF_TYPE}> <{EX}C{r.randrange(4)}>",
                         f"<{r.choice(self.entities)}> ?p ?o", f"?s ?p <{r.choice(self.entities)}>"])

    def update(self) -> str:
        """A SPARQL Update request (several operations, some naming the terms they create)."""
        r = self.rng
        pick = r.random()
        if pick < 0.25:
            graph = self._graph()
            body = " . ".join(self._triples())
            return f"INSERT DATA {{ GRAPH <{graph}> {{ {body} }} }}" if graph else \
                f"INSERT DATA {{ {body} }}"
        if pick < 0.35:
            return f"DELETE DATA {{ {' . '.join(self._triples(2))} }}"
        if pick < 0.5:
            return f"DELETE WHERE {{ {self._pattern()} }}"
        if pick < 0.65:
            p, q = r.sample(range(4), 2)
            return (f"DELETE {{ ?s <{EX}p{p}> ?o }} INSERT {{ ?s <{EX}p{q}> ?o }} "
                    f"WHERE {{ ?s <{EX}p{p}> ?o }}")
        if pick < 0.85:  # the WHERE of the second operation reads the terms the first made
            new = self._new()
            more = " . ".join(f"<{new}> <{EX}p{r.randrange(4)}> {self._object()}"
                              for _ in range(r.randint(1, 4)))
            return (f"INSERT DATA {{ {more} }} ; INSERT {{ ?o <{EX}p{r.randrange(4)}> <{new}> }} "
                    f"WHERE {{ <{new}> ?p ?o FILTER(isIRI(?o)) }}")
        g1, g2 = f"{EX}g0", f"{EX}g1"
        return r.choice([
            f"DROP SILENT GRAPH <{g1}> ; INSERT DATA {{ GRAPH <{g1}> {{ {' . '.join(self._triples())} }} }}",
            f"COPY SILENT <{g1}> TO <{g2}>",
            f"MOVE SILENT <{g2}> TO <{g1}>",
            f"ADD SILENT <{g1}> TO DEFAULT",
            f"CLEAR SILENT GRAPH <{g2}>",
        ])

    def next(self) -> Op:
        """The next operation."""
        r = self.rng
        pick = r.random()
        if pick < 0.14:
            return Op("load_ttl", (self._turtle(), self._graph()))
        if pick < 0.24:
            return Op("load_nt", ("".join(f"{t} .\n" for t in self._triples(r.randint(1, 20))),
                                  self._graph()))
        if pick < 0.48:
            return Op("update", (self.update(),))
        if pick < 0.56:
            return Op("add", (tuple(self._triples()), self._graph()))
        if pick < 0.62:
            return Op("graph_add", (tuple(self._triples()),))
        if pick < 0.68:
            return Op("remove", (r.choice([f"<{EX}p{r.randrange(4)}>", None]),
                                 r.choice([*self.entities[:8], None]), self._graph()))
        if pick < 0.77:
            return Op("reason", (r.choice(["rdfs", "owl-rl"]), r.random() < 0.8))
        if pick < 0.80:
            return Op("reason_off")
        if pick < 0.86:
            return Op("vacuum")
        return Op("query", (f"SELECT * WHERE {{ {self._pattern()} }}", r.randint(0, 3)))

    def _turtle(self) -> str:
        r = self.rng
        lines = [f"@prefix ex: <{EX}> .", f"@prefix xsd: <{XSD}> ."]
        for t in self._triples(r.randint(1, 12)):
            lines.append(re.sub(f"<{EX}(\\w+)>", r"ex:\1", t) + " .")
        if r.random() < 0.4:  # a blank node with its own statements
            lines.append(f"<{self._entity()}> ex:p{r.randrange(4)} [ ex:p{r.randrange(4)} "
                         f"\"b{r.randrange(100)}\" ; a ex:C{r.randrange(4)} ] .")
        return "\n".join(lines) + "\n"


def _term(text: str) -> Any:
    if text.startswith("<"):
        return URIRef(text[1:-1])
    if "^^<" in text:
        lex, dt = text.split("^^<")
        return Literal(lex.strip('"'), datatype=URIRef(dt[:-1]))
    if text.endswith("@en"):
        return Literal(text[1:-4], lang="en")
    return Literal(text.strip('"'))


def _split(triple: str) -> tuple:
    s, p, o = triple.split(" ", 2)
    return _term(s), _term(p), _term(o)


def run_op(kg: Any, op: Op, workdir: Path) -> None:
    """Run ``op`` on ``kg`` (files it loads are written under ``workdir``)."""
    kind, args = op.kind, op.args
    if kind in ("load_ttl", "load_nt"):
        path = workdir / f"data.{'ttl' if kind == 'load_ttl' else 'nt'}"
        path.write_text(args[0], encoding="utf-8")
        kg.load(path, graph=args[1], progress=False)
    elif kind == "update":
        kg.update(args[0])
    elif kind == "add":
        kg.add([_split(t) for t in args[0]], graph=args[1])
    elif kind == "graph_add":
        _graph_add(kg, args[0])
        len(kg)  # writes the buffered statements
    elif kind == "remove":
        p, s, graph = args
        kg.remove((None if s is None else URIRef(s), None if p is None else _term(p), None),
                  graph=graph)
    elif kind == "reason":
        kg.reason(args[0], live=args[1])
    elif kind == "reason_off":
        kg.reason_off()
    elif kind == "vacuum":
        kg.vacuum()
    elif kind == "query":  # consumed in part, then dropped
        rows = iter(kg.query(args[0]))
        for _ in range(args[1]):
            next(rows, None)
        del rows
        quads = kg.triples()
        next(quads, None)
        del quads
    else:
        raise ValueError(f"unknown operation {kind!r}")


def _graph_add(kg: Any, triples: tuple) -> None:
    for t in triples:
        kg.graph.add(_split(t))


# -- injection ---------------------------------------------------------------------------------
def _resolve(point: str) -> tuple[Any, str]:
    module, _, name = point.partition(":")
    owner: Any = importlib.import_module(module)
    *path, attr = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attr


class Injector:
    """Counts the calls of :data:`POINTS` and raises on the k-th call of one of them.

    Use :meth:`installed` around a run; :meth:`arm` chooses the fault of the next run.
    """

    def __init__(self, points: tuple[str, ...] = POINTS) -> None:
        self.points = points
        self.calls: Counter[str] = Counter()
        self.fault: tuple[str, int, type[BaseException], bool] | None = None
        self.fired = False

    def arm(self, point: str, k: int, exc: type[BaseException], after: bool) -> None:
        """Raise ``exc`` on the ``k``-th call of ``point`` (``after`` the call did its work)."""
        self.fault = (point, k, exc, after)
        self.fired = False

    def disarm(self) -> None:
        self.fault = None

    def _wrap(self, point: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[point] += 1
            fault = self.fault
            if fault is None or fault[0] != point or self.calls[point] != fault[1]:
                return fn(*args, **kwargs)
            self.fault = None
            self.fired = True
            if not fault[3]:
                raise fault[2](_MARK)
            fn(*args, **kwargs)  # its result (a cursor) is dropped, as a caller's temporary
            raise fault[2](_MARK)

        return counted

    @contextlib.contextmanager
    def installed(self) -> Iterator[Injector]:
        """Patch every point (calls counted from zero) for the block."""
        saved = []
        for point in self.points:
            owner, attr = _resolve(point)
            fn = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            saved.append((owner, attr, fn))
            setattr(owner, attr, self._wrap(point, fn))
        self.calls.clear()
        self.fired = False
        try:
            yield self
        finally:
            self.fault = None
            for owner, attr, fn in reversed(saved):
                setattr(owner, attr, fn)


@contextlib.contextmanager
def alarm(seconds: float, exc: type[BaseException] = KeyboardInterrupt) -> Iterator[list[bool]]:
    """Raise ``exc`` in the main thread after ``seconds`` (a timer signal, as Ctrl-C arrives);
    yields ``[fired]``."""
    fired = [False]
    armed = [True]

    def handler(signum: int, frame: Any) -> None:
        if armed[0]:
            armed[0] = False
            fired[0] = True
            raise exc(_MARK)

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-5))
    try:
        yield fired
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- checks --------------------------------------------------------------------------------------
#: The battery: every statement of every graph, the default graph (with inferences), types,
#: constants of the vocabulary and of new terms, a literal filter, counts.
_BATTERY = (
    "SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
    "SELECT ?s ?c WHERE { ?s a ?c }",
    f"SELECT ?s ?o WHERE {{ ?s <{EX}p1> ?o }}",
    f"SELECT ?p ?o WHERE {{ <{EX}e1> ?p ?o }}",
    f"SELECT ?s ?p WHERE {{ ?s ?p <{EX}n1> }}",
    f"SELECT ?s ?p ?o WHERE {{ ?s ?p ?o . ?o ?q <{EX}n2> }}",
    "SELECT ?s ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o) && STR(?o) < \"v3\") }",
    f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{RDF_TYPE}> <{EX}C0> }}",
    f"ASK {{ <{EX}n3> ?p ?o }}",
)


def _show(value: Any) -> str:
    return "_:" if isinstance(value, BNode) else "" if value is None else value.n3()


def battery(kg: Any, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The answers of ``kg`` to the battery of queries (and ``extra`` ones), rows as bags of
    N3 strings (blank nodes unnamed), plus ``len``, ``triples()`` and the profile."""
    out: dict[str, Any] = {}
    for q in (*_BATTERY, *extra):
        result = kg.query(q)
        if result.type == "ASK":
            out[q] = result.askAnswer
        else:
            out[q] = Counter(tuple(_show(v) for v in row) for row in result)
    out["len"] = len(kg)
    out["triples"] = Counter(tuple(_show(v) for v in q) for q in kg.triples())
    out["reasoning"] = kg.reasoning
    return out


def leftovers(kg: Any) -> list[str]:
    """What an interrupted call left on ``kg``'s connection: an open transaction, the lock
    held (the store's, or psycopg's), PostgreSQL cursors, buffered statements, suspended
    maintenance."""
    found = []
    db = kg.store.db
    if db._depth:
        found.append(f"transaction depth {db._depth} after the call")
    if db.dialect == "sqlite" and db.raw.in_transaction:
        found.append("the SQLite connection is still in a transaction")
    if db.dialect == "postgresql" and db.raw.info.transaction_status != 0:
        found.append(f"the PostgreSQL connection is not idle (status "
                     f"{db.raw.info.transaction_status})")
    if db.dialect == "postgresql" and db.raw.lock.locked():  # the next statement waits for ever
        found.append("psycopg's lock of the connection is still held")
    free: list[bool] = []
    probe = threading.Thread(target=lambda: free.append(_try_release(db._lock)))
    probe.start()
    probe.join()
    if not free[0]:
        found.append("the connection's lock is still held")
    if kg.store._unmaintained:
        found.append(f"reasoning maintenance suspended ({kg.store._unmaintained})")
    if kg.store._write_record is not None:
        found.append("a write record is still set")
    dataset = kg.__dict__.get("_dataset")
    if dataset is not None and dataset.store._tx is not None:
        found.append("the rdflib store's explicit transaction is still open")
    if db.dialect == "postgresql" and not found:
        cursors = db.fetchall("SELECT name FROM pg_cursors WHERE name <> ''")  # '': this query's
        if cursors:
            found.append(f"PostgreSQL cursors left open: {cursors}")
    return found


def _try_release(lock: Any) -> bool:
    if lock.acquire(timeout=2):
        lock.release()
        return True
    return False


def _store_state(url: str) -> tuple[Any, list[str]]:
    db = Database.connect(url)
    try:
        return fingerprint(db), problems(db)
    finally:
        db.close()


# -- the sequence ----------------------------------------------------------------------------------
@dataclass
class Finding:
    """A check that failed: where, what, and the operations up to it (to reproduce)."""

    seed: int
    index: int
    op: Op
    fault: str
    problem: str
    history: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        steps = "\n    ".join(self.history[-12:])
        return (f"seed {self.seed} op {self.index} {self.op} [{self.fault}]: {self.problem}\n"
                f"  last operations:\n    {steps}")


@dataclass
class Report:
    """What a sequence checked: operations, interrupted ones per kind and outcome."""

    operations: int = 0
    interrupted: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    def merge(self, other: Report) -> None:
        self.operations += other.operations
        self.interrupted.update(other.interrupted)
        self.outcomes.update(other.outcomes)
        self.findings.extend(other.findings)


def sqlite_urls(folder: str | Path) -> Callable[[str], str]:
    """URLs of SQLite files in ``folder``, one per name."""
    return lambda name: f"sqlite:///{Path(folder) / name}.sqlite"


def postgres_urls() -> Callable[[str], str]:
    """URLs of fresh schemas on the process's throwaway PostgreSQL server."""
    from kg_engine.testing.postgres import shared_server

    server = shared_server()
    return lambda name: server.new_database_url()


class _Sequence:
    def __init__(self, seed: int, urls: Callable[[str], str], workdir: Path,
                 signals: bool = True) -> None:
        from kg_engine.api import KnowledgeGraph

        self.seed = seed
        self.signals = signals
        self.rng = random.Random(seed)
        self.gen = OpGenerator(random.Random(seed * 7919 + 1))
        self.workdir = workdir
        self.url = urls(f"s{seed}")
        self.kg = KnowledgeGraph(self.url)
        self.twin = KnowledgeGraph(urls(f"t{seed}"))
        for kg in (self.kg, self.twin):  # rdflib binds its prefixes in the store on first use
            kg.graph.namespace_manager  # noqa: B018
        self.injector = Injector()
        self.calls: dict[str, Counter[str]] = {}  # op kind -> most calls seen per point
        self.seconds: dict[str, float] = {}  # op kind -> longest uninterrupted run
        self.history: list[str] = []
        self.report = Report()

    def close(self) -> None:
        for kg in (self.kg, self.twin):
            with contextlib.suppress(Exception):
                kg.close()

    def _uninterrupted(self, kg: Any, op: Op) -> None:
        with self.injector.installed() as inj:
            start = time.perf_counter()
            with contextlib.suppress(KgEngineError):  # a write refused leaves the store as it was
                run_op(kg, op, self.workdir)
            took = time.perf_counter() - start
        seen = self.calls.setdefault(op.kind, Counter())
        for point, n in inj.calls.items():
            seen[point] = max(seen[point], n)
        self.seconds[op.kind] = max(self.seconds.get(op.kind, 0.0), took)

    def _fault(self, op: Op) -> str:
        """Choose and arm the fault of ``op``'s run: ``"none"``, ``"call …"`` or ``"signal …"``."""
        r = self.rng
        pick = r.random()
        exc = r.choice([KeyboardInterrupt, RuntimeError])
        if pick < 0.12:
            return "none"
        if pick < 0.3 and op.kind in self.seconds and self.signals:
            return f"signal {r.uniform(0, self.seconds[op.kind] * 1.1):.6f}"
        seen = self.calls.get(op.kind) or Counter({"kg_engine.store.database:Database.execute": 30})
        point = r.choice(sorted(p for p, n in seen.items() if n))
        k = r.randint(1, seen[point])
        after = r.random() < 0.5
        self.injector.arm(point, k, exc, after)
        return f"call {point.split(':')[1]}#{k} {'after' if after else 'before'} {exc.__name__}"

    def _run_faulty(self, op: Op, fault: str) -> str:
        """Run ``op`` on the object under test with ``fault``; what happened.

        ``graph_add``: the statements are buffered first; what is interrupted is the next
        use of the store, which writes them (``Graph.add`` has accepted them all)."""
        call = lambda: run_op(self.kg, op, self.workdir)
        if op.kind == "graph_add":
            _graph_add(self.kg, op.args[0])
            call = lambda: len(self.kg)
        try:
            if fault.startswith("signal"):
                with self.injector.installed(), alarm(float(fault.split()[1])) as fired:
                    call()
                return "interrupted (finished)" if fired[0] else "finished"
            with self.injector.installed() as inj:
                call()
                return "swallowed" if inj.fired else "finished"
        except (KeyboardInterrupt, RuntimeError) as exc:
            if not _injected(exc):
                if isinstance(exc, KeyboardInterrupt):
                    raise
                return f"raised {type(exc).__name__}: {exc}"
            return "interrupted"
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return f"raised {type(exc).__name__}: {exc}"

    def step(self, index: int, op: Op) -> bool:
        """Run one operation with a fault and check; returns whether it was interrupted
        (``None``: a finding, the sequence stops)."""
        before, _ = _store_state(self.url)
        fault = self._fault(op)
        happened = self._run_faulty(op, fault)
        self.injector.disarm()
        self.history.append(f"{op} [{fault}] -> {happened}")
        self.report.operations += 1
        interrupted = happened.startswith(("interrupted", "raised"))
        if interrupted:
            self.report.interrupted[op.kind] += 1
        problem = self._check(op, happened, before)
        if problem is not None:
            self.report.findings.append(
                Finding(self.seed, index, op, fault, problem, list(self.history)))
            return None
        return interrupted

    def _check(self, op: Op, happened: str, before: Any) -> str | None:
        from kg_engine.api import KnowledgeGraph

        left = leftovers(self.kg)
        if left:
            return "; ".join(left)
        if op.kind == "graph_add" and happened != "finished":
            # statements kg.graph.add accepted are written by the next use of the store
            with contextlib.suppress(BaseException):
                len(self.kg)
        state, found = _store_state(self.url)
        if found:
            return f"store inconsistent: {found}"
        # kg.graph.add accepted its statements: they are written, interrupted flush or not
        if op.kind in WRITES and (state != before or op.kind == "graph_add"):
            self._uninterrupted(self.twin, op)
            twin_state, _ = _store_state(self.twin.url)
            if state != twin_state:
                return (f"store is neither the state before nor after the operation: after "
                        f"it: {_diff(state, twin_state)}; before it: {_diff(state, before)}")
            outcome = "after" if state != before else "before"
        else:
            outcome = "before"
        if happened.startswith(("interrupted", "raised")):
            self.report.outcomes[f"{op.kind} {outcome}"] += 1
        if happened == "swallowed" and outcome == "before" and op.kind in WRITES:
            return "the injected exception was swallowed and the write did not happen"
        try:
            mine = battery(self.kg)
        except Exception as exc:  # noqa: BLE001 - the object no longer works: a finding
            return f"the object fails after the interruption: {type(exc).__name__}: {exc}"
        fresh = KnowledgeGraph(self.url)
        try:
            theirs = battery(fresh)
        finally:
            fresh.close()
        if mine != theirs:
            return "answers differ from a fresh KnowledgeGraph's: " + _diff(mine, theirs)
        if battery(self.twin) != theirs:
            return "answers differ from the twin's: " + _diff(theirs, battery(self.twin))
        if not self.kg.check(quick=True).sound:
            return f"check() finds: {self.kg.check(quick=True).findings}"
        if (now := _store_state(self.url)[0]) != state:
            return f"the battery of queries changed the store: {_diff(now, state)}"
        return None

    def learn(self, index: int, op: Op) -> bool:
        """Run ``op`` uninterrupted on both stores (counting its calls); whether they agree."""
        self._uninterrupted(self.twin, op)
        happened = self._run_faulty(op, "none")
        self.history.append(f"{op} [learn] -> {happened}")
        self.report.operations += 1
        state, found = _store_state(self.url)
        twin_state, _ = _store_state(self.twin.url)
        if found or state != twin_state or happened != "finished":
            self.report.findings.append(Finding(
                self.seed, index, op, "none", f"uninterrupted run differs: {happened} {found} "
                f"{_diff(state, twin_state)}", list(self.history)))
            return False
        return True

    def run(self, operations: int) -> Report:
        op = self.gen.next()
        index = 0
        while index < operations:
            if index == 0 or op.kind not in self.calls:
                if not self.learn(index, op):
                    break
            else:
                interrupted = self.step(index, op)
                if interrupted is None:
                    break
                if interrupted and self.rng.random() < RETRY:
                    index += 1
                    continue  # the user runs the cell again
            index += 1
            op = self.gen.next()
        return self.report


def _diff(a: dict, b: dict) -> str:
    """What differs between two fingerprints or batteries (each key that does, in short)."""
    out = []
    for key in sorted(set(a) | set(b), key=str):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if isinstance(x, Counter) or isinstance(y, Counter):
            x, y = x or Counter(), y or Counter()
            out.append(f"{key}: only here {list((x - y).elements())[:4]}, only there "
                       f"{list((y - x).elements())[:4]}")
        else:
            out.append(f"{key}: {x!r} != {y!r}")
    return "; ".join(out) or "(no difference)"


def run_sequence(seed: int, urls: Callable[[str], str], operations: int = 30, *,
                 signals: bool = True) -> Report:
    """Run ``operations`` random operations (seeded), most interrupted once, checking after
    each (see the module docstring); stops at the first finding.

    Args:
        seed: the seed of the operations and the faults.
        urls: a new store's URL for a name (:func:`sqlite_urls`, :func:`postgres_urls`).
        operations: how many operations (re-runs count).
        signals: interrupt some operations with a timer signal (their moment, and so the
            sequence after it, varies between runs); ``False``: k-th call faults only.

    Returns:
        A :class:`Report`.
    """
    with tempfile.TemporaryDirectory(prefix="kg-interrupts-") as tmp:
        seq = _Sequence(seed, urls, Path(tmp), signals)
        try:
            return seq.run(operations)
        finally:
            seq.close()
