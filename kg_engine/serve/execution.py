"""Run one protocol query against a leased knowledge graph; SELECT rows come out as a stream.

A SELECT that compiles to one SQL statement whose columns are all term ids is *streamed*:
rows are read from the SQL cursor in batches and decoded batch by batch
(:meth:`~kg_engine.sparql.compiler.CompiledQuery.stream`), so a million-row result never
sits in memory. Everything else (ASK, CONSTRUCT, DESCRIBE, SELECTs that rdflib's evaluator
finishes, computed values) runs through :meth:`KnowledgeGraph.query` with the same timeout.

The protocol's ``default-graph-uri`` / ``named-graph-uri`` replace the query's own
``FROM`` / ``FROM NAMED``; ``union-default-graph`` makes the merge of every graph the default.

Example:
    >>> from kg_engine.api import KnowledgeGraph
    >>> kg = KnowledgeGraph("sqlite://")
    >>> kg.update('INSERT DATA { <urn:a> <urn:p> "x" }')
    >>> out = run_query(kg, "SELECT ?o WHERE { ?s <urn:p> ?o }")
    >>> out.form, out.streamed, [str(r[0]) for r in out.rows]
    ('SELECT', True, ['x'])
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query

from kg_engine.errors import QueryTimeoutError

__all__ = ["ProtocolDataset", "QueryOutcome", "run_query"]


@dataclass(frozen=True)
class ProtocolDataset:
    """The RDF dataset a protocol request asks for.

    Attributes:
        default: ``default-graph-uri`` values (their merge is the default graph).
        named: ``named-graph-uri`` values.
        union: ``union-default-graph``: the merge of every graph is the default graph.
    """

    default: tuple[URIRef, ...] = ()
    named: tuple[URIRef, ...] = ()
    union: bool = False

    @property
    def given(self) -> bool:
        """Whether the request names graphs (then the query's FROM clauses are ignored)."""
        return bool(self.default or self.named)

    def spec(self) -> Any:
        """The compiler's :class:`~kg_engine.sparql.compiler.DatasetSpec` (``None``: the query's)."""
        from kg_engine.sparql.compiler import DatasetSpec

        if self.given:
            return DatasetSpec(default=self.default, named=self.named)
        if self.union:
            return DatasetSpec(default="union", named=None)
        return None


@dataclass
class QueryOutcome:
    """What a query produced.

    Attributes:
        form: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``.
        vars: projected variables (SELECT).
        rows: an iterator of row tuples (SELECT; lazy when ``streamed``).
        boolean: the answer (ASK).
        graph: the result graph (CONSTRUCT, DESCRIBE).
        streamed: rows come straight from the SQL cursor.
    """

    form: str
    vars: Sequence[Any] = ()
    rows: Iterator[tuple] | None = None
    boolean: bool | None = None
    graph: Graph | None = None
    streamed: bool = False


_PLANS: OrderedDict[Any, Any] = OrderedDict()
_PLANS_LOCK = threading.Lock()
_PLANS_MAX = 256


def _plan(kg: Any, text: str, spec: Any) -> Any:
    """The compiled plan of ``text`` (cached per database, dataset and vacuum count: a plan
    holds term ids, stale once another process's vacuum deleted terms), or ``None``. Call
    inside the lease's read snapshot (its start checked the vacuum count)."""
    from kg_engine.sparql.compiler import compile_query

    key = (kg.url, text, spec, kg.store.dictionary.epoch)
    with _PLANS_LOCK:
        if key in _PLANS:
            _PLANS.move_to_end(key)
            return _PLANS[key]
    try:
        plan = compile_query(kg.store, text, dataset=spec)
    except Exception:  # noqa: BLE001 - the full path parses again and reports the error
        plan = None
    if plan is not None and not (plan.full and plan.form == "SELECT" and not plan.numeric_guards
                                 and all(kind == "id" for _, kind, _ in plan.layout)):
        # not streamable: computed values may still need rdflib's evaluator, and so may a
        # comparison of integers/decimals SQL's doubles cannot decide (the SQL aborts)
        plan = None
    with _PLANS_LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > _PLANS_MAX:
            _PLANS.popitem(last=False)
    return plan


class _Deadline:
    """Cancel the SQL of a streamed query at its deadline (for as long as the stream lasts)."""

    def __init__(self, kg: Any, timeout: float | None) -> None:
        self.db = kg.store.db
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout else None

    def start(self) -> None:
        if not self.timeout:
            return
        if self.db.dialect == "sqlite":
            deadline = self.deadline
            self.db.raw.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
        else:  # inside the read snapshot: ends with it
            ms = str(max(1, int(self.timeout * 1000)))
            self.db.execute("SELECT set_config('statement_timeout', ?, true)", (ms,))

    def stop(self) -> None:
        if self.timeout and self.db.dialect == "sqlite":
            self.db.raw.set_progress_handler(None, 0)

    def translate(self, exc: BaseException) -> BaseException:
        text = f"{type(exc).__name__}: {exc}".lower()
        if self.timeout and ("interrupted" in text or "querycanceled" in text
                             or "statement timeout" in text or "canceling statement" in text):
            err = QueryTimeoutError(f"query cancelled after the server's timeout of "
                                    f"{self.timeout:g} s; make it more selective or add LIMIT")
            err.__cause__ = exc
            return err
        return exc


def _stream(kg: Any, plan: Any, timeout: float | None) -> Iterator[tuple]:
    guard = _Deadline(kg, timeout)
    guard.start()
    try:
        yield from plan.stream(kg.store)
    except Exception as exc:
        translated = guard.translate(exc)
        if translated is exc:
            raise
        raise translated from exc
    finally:
        guard.stop()


def _answer_spec(kg: Any, text: str) -> Any:
    """The dataset of a query that names no graphs: ``None`` for the store's default graph
    alone; with a reasoning profile, the default graph merged with its inferred graph (what
    ``kg.query`` answers); ``False`` when the query's ``FROM`` must decide (not streamed)."""
    from kg_engine.sparql.compiler import DatasetSpec

    merge, disjoint = kg.store.answer_graphs(include_inferred=True, include_predicted=False)
    if not merge:
        return None
    if _FROM.search(text):
        return False
    return DatasetSpec(default=(DATASET_DEFAULT_GRAPH_ID, *merge), named=None, disjoint=disjoint)


_FROM = re.compile(r"\bFROM\b", re.IGNORECASE)


def _with_dataset(kg: Any, text: str, dataset: ProtocolDataset) -> Any:
    """A prepared query whose dataset clause is the protocol's graphs (replacing FROM)."""
    from kg_engine.sparql import default_engine
    from kg_engine.sparql.engine import PreparedQuery

    prepared = default_engine().prepare(text)
    algebra = CompValue(prepared.query.algebra.name, **prepared.query.algebra)
    algebra["datasetClause"] = (
        [CompValue("DatasetClause", default=g) for g in dataset.default]
        + [CompValue("DatasetClause", named=g) for g in dataset.named]
    )
    return PreparedQuery(text, Query(prepared.query.prologue, algebra))


def run_query(kg: Any, text: str, dataset: ProtocolDataset = ProtocolDataset(),
              timeout: float | None = None) -> QueryOutcome:
    """Run a SPARQL query for the protocol.

    Args:
        kg: a :class:`~kg_engine.api.KnowledgeGraph` (leased; used only by this call and
            by iterating the returned rows).
        text: the query.
        dataset: the protocol's graph parameters.
        timeout: seconds before the SQL is cancelled (``None``: no limit).

    Returns:
        A :class:`QueryOutcome`; iterate its ``rows`` on the same thread, before the lease ends.

    Raises:
        QuerySyntaxError: malformed query (line and column).
        QueryTimeoutError: past ``timeout`` (a streamed query may also raise it while its
            rows are read).
    """
    spec = dataset.spec()
    if spec is None:  # the default graph as kg.query answers it: with the profile's inferences
        spec = _answer_spec(kg, text)
    plan = _plan(kg, text, spec) if spec is not False else None
    if plan is not None:
        rows = _stream(kg, plan, timeout)
        return QueryOutcome("SELECT", vars=list(plan.vars), rows=rows, streamed=True)
    from kg_engine.sparql import default_engine

    # the protocol's query is the text alone: the store's bound prefixes, which kg.query
    # declares for notebook users, are not (as the streamed path and updates here)
    if dataset.given:
        result = default_engine().query(kg.graph, _with_dataset(kg, text, dataset),
                                        timeout=timeout)
    else:
        result = default_engine().query(kg.graph, text, timeout=timeout,
                                        union_default_graph=dataset.union)
    form = str(result.type).upper()
    if form == "SELECT":
        names = list(result.vars or [])
        return QueryOutcome("SELECT", vars=names, rows=iter([tuple(r) for r in result]))
    if form == "ASK":
        return QueryOutcome("ASK", boolean=bool(result.askAnswer))
    return QueryOutcome(form, graph=result.graph)
