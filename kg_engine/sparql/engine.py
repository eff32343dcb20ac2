"""The SPARQL 1.1 query engine: parse once, compile to SQL, evaluate with W3C dataset semantics.

:class:`QueryEngine` is the front door of :mod:`kg_engine.sparql`:

* **plan cache** — parsing with rdflib costs 2–20 ms per query, so parsed queries (and the SQL
  plans compiled from them) are cached by query text, base and prefixes;
* **prepared queries** — :meth:`QueryEngine.prepare` returns a :class:`PreparedQuery` you run
  many times with different ``init_bindings``;
* **SQL first** — on a kg-engine store a query that compiles completely runs as one SQL
  statement; otherwise rdflib's evaluator runs with the SQL compiler hooked in for every
  sub-plan it can take (:mod:`kg_engine.sparql.evaluation`);
* **dataset semantics per the spec** — the default graph is the store's default graph, not
  the union of the named graphs (``union_default_graph=True`` asks for the union); on a store
  with a reasoning profile it includes the inferred statements (``include_inferred=False``
  opts out), and prediction graphs only with ``include_predicted=True``;
  ``FROM``/``FROM NAMED`` select graphs of the store and never touch the network;
  ``SERVICE`` is refused unless ``allow_service=True``;
* **timeouts that cancel the SQL** — SQLite's progress handler / PostgreSQL's
  ``statement_timeout``; the query raises :class:`~kg_engine.errors.QueryTimeoutError`.

Works over any graph-aware rdflib store (SQL compilation only on kg-engine stores).

Example:
    >>> from rdflib import Dataset, URIRef, Literal
    >>> ds = Dataset()
    >>> ds.add((URIRef("urn:a"), URIRef("urn:p"), Literal(1)))  # doctest: +ELLIPSIS
    <Graph identifier=...>
    >>> engine = QueryEngine()
    >>> [row.o for row in engine.query(ds, "SELECT ?o WHERE { ?s <urn:p> ?o }")]
    [rdflib.term.Literal('1', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#integer'))]
    >>> q = engine.prepare("ASK { ?s <urn:p> ?o }")
    >>> engine.query(ds, q, init_bindings={"s": URIRef("urn:b")}).askAnswer
    False
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Self

from rdflib import Graph, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID, ConjunctiveGraph, Dataset
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.plugins.sparql.sparql import Query, QueryContext, SPARQLError, Update
from rdflib.term import Identifier, URIRef

from kg_engine.errors import QueryTimeoutError, StoreError
from kg_engine.sparql.dataset import QueryDataset, sql_store_of
from kg_engine.sparql.evaluation import EvalState, Refused, install_hook, is_sql_failure, log
from kg_engine.sparql.limits import (
    DeadlineExceeded,
    Watchdog,
    deadline_scope,
    run_deep,
    timeout_error,
)
from kg_engine.sparql.parsing import parse_query, parse_update
from kg_engine.sparql.results import TupleResult
from kg_engine.store.rdflib_store import asserted_only

__all__ = ["PreparedQuery", "QueryEngine", "as_dataset", "default_engine", "sql_store_of"]


def as_dataset(graph: Graph) -> ConjunctiveGraph:
    """An rdflib Dataset/ConjunctiveGraph over the same store as ``graph``."""
    if isinstance(graph, ConjunctiveGraph):
        return graph
    return Dataset(store=graph.store)


@dataclass
class PreparedQuery:
    """A parsed SPARQL query, reusable with different ``init_bindings``.

    Attributes:
        text: the query text.
        query: rdflib's translated query (algebra with kg-engine's conformance fixes bound).
        plans: compiled SQL plans per dataset choice and bound-variable set.
    """

    text: str
    query: Query
    base: str | None = None
    plans: dict[Any, Any] = field(default_factory=dict)
    #: tokens of the stores whose compiler already declined this query on the text path
    #: (rdflib's evaluator runs it, with the compiled sub-plans: never a wrong answer)
    declined_on: set[int] = field(default_factory=set)

    @property
    def type(self) -> str:
        """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``."""
        return self.query.algebra.name.replace("Query", "").upper()


_FROM = re.compile(r"\bFROM\b", re.IGNORECASE)


def _dataset_clause(algebra: Any) -> tuple[tuple[Identifier, ...] | None, tuple[Identifier, ...] | None]:
    clause = algebra.get("datasetClause")
    if not clause:
        return None, None
    default: list[Identifier] = []
    named: list[Identifier] = []
    for d in clause:
        if "default" in d:
            default.append(d["default"])
        elif "named" in d:
            named.append(d["named"])
    return tuple(default), tuple(named)


def _shut_down(*connections: Any) -> None:
    """Shut the sockets of psycopg connections down (both ways): a wait for a server that no
    longer answers ends at once with "server closed the connection unexpectedly"; the
    connections are broken afterwards (the store reconnects or reports it)."""
    import os
    import socket

    for raw in dict.fromkeys(connections):
        with contextlib.suppress(Exception), socket.socket(
                fileno=os.dup(raw.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)


class _Timeout:
    """Cancel a request past its deadline, wherever its time goes (see :mod:`.limits`).

    SQL: SQLite's progress handler / PostgreSQL's ``statement_timeout``. Python (rdflib's parser
    and evaluator, the ``kg_regex`` callback): a :class:`~.limits.Watchdog` that interrupts
    SQLite and raises in this thread, and regular expressions bounded by the time left.
    """

    def __init__(self, sql_store: Any, timeout: float | None, deadline: float | None = None) -> None:
        self.store = sql_store
        self.timeout = timeout
        if deadline is None and timeout:
            deadline = time.monotonic() + timeout
        self.deadline = deadline if timeout else None
        self._pg = False
        self._local = False
        self._watchdog: Watchdog | None = None
        self._scope: Any = None

    def __enter__(self) -> Self:
        if not self.timeout or self.deadline is None:
            return self
        self._scope = deadline_scope(self.deadline)
        self._scope.__enter__()
        interrupt = abandon = None
        grace = 0.0
        if self.store is not None:
            db = self.store.db
            if db.dialect == "sqlite":
                deadline = self.deadline

                def handler() -> int:
                    return 1 if time.monotonic() > deadline else 0

                db.raw.set_progress_handler(handler, 2000)
                interrupt = db.raw.interrupt
            else:
                # inside a caller's transaction: SET LOCAL semantics (ends with the transaction)
                self._local = db.in_transaction
                left = max(0.001, self.deadline - time.monotonic())
                ms = str(max(1, int(left * 1000)))
                db.execute("SELECT set_config('statement_timeout', ?, ?)", (ms, self._local))
                self._pg = True
                grace = 1.0  # let the server cancel first: the connection stays usable
                # a server that answers nothing (host gone, process stopped) keeps psycopg
                # waiting in C, where the watchdog's exception never lands: end the wait, on
                # the reader's connection or the store's own (namespace bindings write there)
                abandon = partial(_shut_down, db.current_connection(), db.raw)
        self._watchdog = Watchdog(self.deadline + grace, interrupt, abandon)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()  # first: nothing may fire during the clean-up below
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
            self._scope = None
        if self.store is None or not self.timeout:
            return
        db = self.store.db
        if db.dialect == "sqlite":
            db.raw.set_progress_handler(None, 0)
        elif self._pg and not self._local:
            try:
                if db.raw.info.transaction_status != 0 and not db.in_transaction:
                    db.raw.rollback()  # a cancelled statement outside our transactions
                db.execute("SELECT set_config('statement_timeout', '0', false)")
            except Exception as exc:  # noqa: BLE001 - connection already broken
                log.debug("could not reset statement_timeout: %s", exc)

    def translate(self, exc: BaseException) -> BaseException:
        """Map a driver's "interrupted"/"canceled" error (or the watchdog's) to QueryTimeoutError."""
        if not self.timeout:
            return exc
        if isinstance(exc, QueryTimeoutError):
            return timeout_error(self.timeout) if isinstance(exc, DeadlineExceeded) else exc
        text = f"{type(exc).__name__}: {exc}".lower()
        fired = self._watchdog is not None and self._watchdog.fired
        passed = self.deadline is not None and time.monotonic() >= self.deadline
        module = type(exc).__module__ or ""
        if ("interrupted" in text or "querycanceled" in text or "statement timeout" in text
                or "canceling statement" in text
                or ((fired or passed) and module.startswith(("sqlite3", "psycopg")))):
            err = timeout_error(self.timeout)
            err.__cause__ = exc
            return err
        return exc


class QueryEngine:
    """Parses, caches, compiles and evaluates SPARQL 1.1 queries and updates.

    Args:
        allow_service: evaluate ``SERVICE`` clauses (network access). Default: refuse them.
        allow_remote_load: let ``LOAD`` fetch ``http(s):`` IRIs. Default: local files only.
        cache_size: number of parsed queries kept (LRU).
        use_compiler: compile to SQL on kg-engine stores (``False``: rdflib's evaluator only,
            for differential testing).
    """

    def __init__(
        self,
        *,
        allow_service: bool = False,
        allow_remote_load: bool = False,
        cache_size: int = 512,
        use_compiler: bool = True,
    ) -> None:
        self.allow_service = allow_service
        self.allow_remote_load = allow_remote_load
        self.use_compiler = use_compiler
        self.cache_size = cache_size
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        #: bumped by clear_plans: the views kept on stores (:meth:`_views_of`) before are
        #: dropped
        self._views_epoch = 0
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "misses": 0}
        #: store's term dictionary -> its generation when this engine's plans were made
        self._generations: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    # -- parsing and caching ---------------------------------------------------------------
    def clear_plans(self) -> None:
        """Forget parsed queries and compiled plans (they hold term ids; after ``vacuum``
        freed terms, a constant may come back under a new id)."""
        from kg_engine.sparql.compiler import hook

        with self._lock:
            self._cache.clear()
            self._views_epoch += 1
        hook._CACHE.clear()

    def _views_of(self, store: Any) -> dict[Any, QueryDataset]:
        """The dataset templates this engine made for ``store`` (an rdflib store), kept on the
        store so that they go with it."""
        with self._lock:
            held = getattr(store, "_kg_views", None)
            if held is None or held[0] is not self or held[1] != self._views_epoch:
                held = (self, self._views_epoch, {})
                store._kg_views = held
            return held[2]

    def _current(self, sql_store: Any, read: Callable[[], Any]) -> Any:
        """``read()`` with term ids current after any other process's vacuum (see
        :meth:`kg_engine.store.dictionary.TermDictionary.current`): run again if one
        committed before its end; this engine's plans are dropped whenever the store's
        dictionary dropped its ids since they were made."""
        dictionary = getattr(sql_store, "dictionary", None)
        if dictionary is None:
            return read()

        def fresh() -> Any:
            self._drop_stale_plans(sql_store)
            return read()

        return dictionary.current(fresh)

    def _drop_stale_plans(self, sql_store: Any) -> None:
        """Forget the plans (they hold term ids) if the store's term dictionary dropped its
        ids since they were made (a vacuum, a rollback of new terms)."""
        dictionary = getattr(sql_store, "dictionary", None)
        if dictionary is None:
            return
        seen = self._generations.get(dictionary)
        if seen != dictionary.generation:
            if seen is not None:
                self.clear_plans()
            self._generations[dictionary] = dictionary.generation

    def _cached(self, key: Any, make: Any) -> Any:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.stats["hits"] += 1
                return hit
        value = make()
        with self._lock:
            self.stats["misses"] += 1
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return value

    @staticmethod
    def _ns_key(init_ns: Mapping[str, Any] | None) -> frozenset:
        return frozenset((k, str(v)) for k, v in (init_ns or {}).items())

    def prepare(
        self,
        text: str,
        *,
        base: str | None = None,
        init_ns: Mapping[str, Any] | None = None,
        source: str = "<query>",
    ) -> PreparedQuery:
        """Parse (or fetch from the cache) a SPARQL query.

        Args:
            text: the query.
            base: base IRI for relative IRIs.
            init_ns: extra prefixes.
            source: name used in syntax error messages.

        Returns:
            A :class:`PreparedQuery` (shared via the cache: treat as read-only).

        Raises:
            QuerySyntaxError: malformed query, naming line and column.
        """
        key = ("Q", text, base, self._ns_key(init_ns))
        return self._cached(
            key,
            lambda: PreparedQuery(
                text, _deep(parse_query, text, base=base, init_ns=init_ns, source=source), base
            ),
        )

    def prepare_update(
        self,
        text: str,
        *,
        base: str | None = None,
        init_ns: Mapping[str, Any] | None = None,
        source: str = "<update>",
    ) -> Update:
        """Parse (or fetch from the cache) a SPARQL Update request."""
        key = ("U", text, base, self._ns_key(init_ns))
        update = self._cached(
            key, lambda: _deep(parse_update, text, base=base, init_ns=init_ns, source=source)
        )
        update.kg_text = text  # what the store's write records name (store/writes.py)
        return update

    # -- queries -------------------------------------------------------------------------------
    def build_dataset(
        self,
        graph: Graph,
        query: Query,
        *,
        union_default_graph: bool = False,
        default_graph: Identifier | None = None,
        include_inferred: bool = True,
        include_predicted: bool = False,
    ) -> QueryDataset:
        """The :class:`QueryDataset` a query sees when run against ``graph``.

        ``graph`` may be a Dataset/ConjunctiveGraph (default graph: its default graph, or the
        union for a ConjunctiveGraph whose ``default_union`` is set) or a single Graph (which
        is then the default graph). On a kg-engine store the default graph also holds the
        inferred statements of its reasoning profile (unless ``include_inferred=False``) and,
        with ``include_predicted=True``, the prediction and analytics graphs.
        """
        if default_graph is None and not isinstance(graph, ConjunctiveGraph):
            default_graph = graph.identifier
        if not isinstance(graph, Dataset) and isinstance(graph, ConjunctiveGraph):
            union_default_graph = union_default_graph or graph.default_union
        from_graphs, from_named = _dataset_clause(query.algebra)
        merge, disjoint = _answer_graphs(graph.store, include_inferred, include_predicted)
        # kept on the store (the template holds its dataset): a process-wide dict keyed by
        # stores kept the last 64 stores queried alive, with their database connections
        views = self._views_of(graph.store)
        key = (from_graphs, from_named, default_graph, union_default_graph, merge, disjoint)
        with self._lock:
            template = views.get(key)
        if template is None:
            template = QueryDataset.build(
                as_dataset(graph),
                from_graphs=from_graphs,
                from_named=from_named,
                default_graph=default_graph,
                union_default_graph=union_default_graph,
                merge_default=merge,
                disjoint=disjoint,
            )
            with self._lock:
                views[key] = template
                while len(views) > 64:
                    views.pop(next(iter(views)))
        view = copy.copy(template)
        if view.active_default is template:
            view.active_default = view
        return view

    def query(
        self,
        graph: Graph,
        query: str | PreparedQuery | Query,
        *,
        init_bindings: Mapping[str, Identifier] | None = None,
        init_ns: Mapping[str, Any] | None = None,
        base: str | None = None,
        timeout: float | None = None,
        union_default_graph: bool = False,
        default_graph: Identifier | None = None,
        include_inferred: bool = True,
        include_predicted: bool = False,
    ) -> SPARQLResult:
        """Run a SPARQL query and return an rdflib-compatible result (fully materialised).

        Args:
            graph: an rdflib Dataset (typically over a kg-engine store) or Graph.
            query: query text, a :class:`PreparedQuery` or an rdflib ``Query``.
            init_bindings: pre-bound variables (name or Variable → term).
            init_ns: extra prefixes (text queries only).
            base: base IRI (text queries only).
            timeout: seconds; the running SQL is cancelled and
                :class:`~kg_engine.errors.QueryTimeoutError` raised when exceeded.
            union_default_graph: use the merge of all graphs as the default graph (ignored
                when the query has FROM/FROM NAMED).
            default_graph: name of the graph acting as default graph (None: the store's).
            include_inferred: on a store with a reasoning profile, the default graph holds
                asserted ∪ inferred statements (``False``: asserted only).
            include_predicted: also merge GNN prediction and analytics graphs into the
                default graph.

        Returns:
            ``rdflib.plugins.sparql.processor.SPARQLResult`` (``.type``, ``.vars``,
            ``.bindings``, ``.askAnswer``, ``.graph``; iterate for rows).

        Raises:
            QuerySyntaxError: malformed query.
            QueryTimeoutError: past ``timeout``.
            UnsupportedOperationError: ``SERVICE`` while disabled.
        """
        install_hook()
        args = (graph, query, init_bindings, init_ns, base, timeout, union_default_graph,
                default_graph, include_inferred, include_predicted)
        deadline = time.monotonic() + timeout if timeout else None
        # PostgreSQL: a connection of the store's reader pool, so threads sharing a store
        # query in parallel and never wait for a writer (joins the caller's transaction)
        sql_store = sql_store_of(getattr(graph, "store", None))
        reading = getattr(getattr(sql_store, "db", None), "reading", None)
        flush = getattr(getattr(graph, "store", None), "flush", None)
        if reading is not None and flush is not None:
            flush()  # buffered writes of the rdflib plugin, on the main connection
        with reading() if reading is not None else contextlib.nullcontext():
            return self._current(sql_store, lambda: self._query_once(args, deadline))

    def _query_once(self, args: tuple, deadline: float | None) -> SPARQLResult:
        try:
            return self._query(*args, deadline=deadline)
        except RecursionError:
            # deeply nested patterns/expressions: rdflib's parser and evaluator recurse per
            # level; rerun with a large stack instead of failing a valid query
            return run_deep(self._query, *args, deadline=deadline)

    def select_json(
        self,
        graph: Graph,
        text: str,
        *,
        timeout: float | None = None,
        union_default_graph: bool = False,
        include_inferred: bool = True,
        include_predicted: bool = False,
    ) -> str | None:
        """The SPARQL 1.1 JSON results of a SELECT query text, written by the database
        (:mod:`kg_engine.sparql.compiler.jsonsql`: the term dictionary joined in SQL, no rdflib
        terms built): byte-identical to ``query(graph, text, ...).serialize(format="json")``,
        and cheap in a process whose id → term cache is cold (``kg query --format json``).

        Returns:
            The JSON text, or ``None`` when the query does not take this path (not compiled to
            one SQL statement, computed values projected, not a SELECT): use :meth:`query`.

        Raises:
            QueryTimeoutError: past ``timeout``.
        """
        from kg_engine.sparql.compiler.jsonsql import json_bindings
        from kg_engine.sparql.results import json_document

        sql_store = sql_store_of(getattr(graph, "store", None))
        if sql_store is None or not self.use_compiler:
            return None
        flush = getattr(graph.store, "flush", None)
        if flush is not None:
            flush()
        reading = getattr(sql_store.db, "reading", None)

        def run() -> str | None:
            guard = _Timeout(sql_store, timeout)
            try:
                with guard, asserted_only():
                    plan = self._text_plan(graph, sql_store, text, frozenset(),
                                           union_default_graph, None, include_inferred,
                                           include_predicted)
                    if not plan or plan.form != "SELECT":
                        return None
                    body = json_bindings(sql_store, plan)
            except RecursionError:
                return None  # the full path reruns it with a large stack
            except Exception as exc:
                translated = guard.translate(exc)
                if translated is not exc:
                    raise translated from exc
                log.debug("JSON in SQL failed (%s); decoding the rows instead", exc)
                return None  # the full path runs it and reports what is wrong
            return None if body is None else json_document(plan.vars, body)

        with reading() if reading is not None else contextlib.nullcontext():
            return self._current(sql_store, run)

    def _query(self, graph: Graph, query: Any, init_bindings: Any, init_ns: Any, base: Any,
               timeout: float | None, union_default_graph: bool, default_graph: Any,
               include_inferred: bool, include_predicted: bool, *,
               deadline: float | None) -> SPARQLResult:
        bindings = {Variable(str(k)): v for k, v in (init_bindings or {}).items()}
        sql_store = sql_store_of(graph.store)
        guard = _Timeout(sql_store, timeout, deadline)
        try:
            # the view merges the inferred graph itself: the store's graphs are read as stored
            with guard, asserted_only():
                # initNs only matters for prefixes the text does not declare, which the fast
                # path rejects (-> full path with initNs), so it does not prevent the fast path
                if (isinstance(query, str) and sql_store is not None and self.use_compiler
                        and base is None):
                    fast = self._run_text_plan(graph, sql_store, query, bindings, guard,
                                               union_default_graph, default_graph,
                                               include_inferred, include_predicted)
                    if fast is not None:
                        return fast
                prepared = self._as_prepared(query, base=base, init_ns=init_ns)
                view = self.build_dataset(
                    graph, prepared.query,
                    union_default_graph=union_default_graph, default_graph=default_graph,
                    include_inferred=include_inferred, include_predicted=include_predicted,
                )
                flush = getattr(graph.store, "flush", None)
                if flush is not None:
                    flush()  # statements buffered by the rdflib plugin must be visible to SQL
                view.state = EvalState(
                    deadline=guard.deadline, timeout=timeout, allow_service=self.allow_service,
                    use_compiler=self.use_compiler and sql_store is not None,
                )
                if sql_store is not None and self.use_compiler:
                    res = self._run_compiled(sql_store, prepared, view, bindings)
                    if res is not None:
                        return res
                return self._run_rdflib(prepared, view, bindings)
        except Refused as exc:
            raise exc.error from None
        except RecursionError:
            raise
        except BaseException as exc:
            translated = guard.translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _run_text_plan(self, graph: Graph, sql_store: Any, text: str, bindings: dict,
                       guard: _Timeout, union_default_graph: bool,
                       default_graph: Identifier | None, include_inferred: bool = True,
                       include_predicted: bool = False) -> SPARQLResult | None:
        """Fast path: the compiler parses + compiles the text itself (no rdflib parse) and the
        plan is cached by text. ``None`` when the query is not fully compiled."""
        plan = self._text_plan(graph, sql_store, text, frozenset(bindings), union_default_graph,
                               default_graph, include_inferred, include_predicted)
        if not plan:
            return None
        flush = getattr(graph.store, "flush", None)
        if flush is not None:
            flush()
        state = EvalState(deadline=guard.deadline, timeout=guard.timeout)
        try:
            out = plan.execute(sql_store, bindings or None)
        except NotImplementedError:
            return None
        except Exception as exc:
            if not is_sql_failure(exc, state) or (guard.translate(exc) is not exc):
                raise
            log.warning("compiled SQL failed (%s); evaluating with rdflib", exc)
            return None
        if plan.form == "ASK":
            return SPARQLResult({"type_": "ASK", "askAnswer": bool(out)})
        vars_, rows = out
        state.check()
        return TupleResult(list(vars_), rows)

    def _text_plan(self, graph: Graph, sql_store: Any, text: str, bound: frozenset,
                   union_default_graph: bool, default_graph: Identifier | None,
                   include_inferred: bool, include_predicted: bool) -> Any:
        """The fully compiled SELECT/ASK plan of ``text`` (cached by text and dataset), or a
        false value when the text path does not take the query."""
        try:
            from kg_engine.sparql.compiler import DatasetSpec, compile_query
            from kg_engine.sparql.compiler.plan import store_token
        except ImportError:
            return None
        if default_graph is None and not isinstance(graph, ConjunctiveGraph):
            default_graph = graph.identifier
        if isinstance(graph, ConjunctiveGraph) and not isinstance(graph, Dataset):
            union_default_graph = union_default_graph or graph.default_union
        options = union_default_graph or (
            default_graph is not None and default_graph != DATASET_DEFAULT_GRAPH_ID)
        if options and _FROM.search(text):
            return None  # FROM must override the options: take the full path
        spec = None
        if union_default_graph:
            spec = DatasetSpec(default="union", named=None)
        elif options:
            spec = DatasetSpec(default=(default_graph,), named=None)
        else:
            merge, disjoint = _answer_graphs(sql_store, include_inferred, include_predicted)
            if merge:
                spec = DatasetSpec(default=(DATASET_DEFAULT_GRAPH_ID, *merge), named=None,
                                   disjoint=disjoint)
        # the store by its token, not itself: a process-wide cache that held stores kept
        # every store that ever ran a query alive, with its database connection
        key = ("T", text, spec, bound, store_token(sql_store))

        def make() -> Any:
            try:
                from kg_engine.sparql.compiler.fastparse import parse_with_base

                found = parse_with_base(text)
                if found is None:
                    return False  # the full path parses with rdflib, once (prepare's cache)
                algebra, base = found
                if spec is not None and spec.default != "union" and not options \
                        and algebra.get("datasetClause"):
                    return False  # FROM replaces the default graph: the full path does it
                plan = compile_query(sql_store, algebra, dataset=spec, init_vars=bound, base=base)
            except (RecursionError, TimeoutError):
                raise  # not a property of the text: never cached
            except Exception:  # noqa: BLE001 - the full path parses again and reports errors
                return False
            if getattr(plan, "full", False) and plan.form in ("SELECT", "ASK"):
                return plan
            self._hand_over(text, algebra, base, sql_store if plan.form in ("SELECT", "ASK")
                            and not algebra.get("datasetClause") else None)
            return False

        return self._cached(key, make)

    def _hand_over(self, text: str, algebra: Any, base: str | None, declined_by: Any) -> None:
        """The text path's parse becomes :meth:`prepare`'s (no second parse of the text), and
        with ``declined_by`` (a store) the compiler is not tried again on it for this query."""
        from kg_engine.sparql.compiler.plan import store_token
        from kg_engine.sparql.parsing import USE_FAST_PARSER, query_of_fast_algebra

        if not USE_FAST_PARSER:
            return
        query = query_of_fast_algebra(text, algebra, base)
        if query is None:
            return
        prepared = self._cached(("Q", text, None, self._ns_key(None)),
                                lambda: PreparedQuery(text, query, None))
        if declined_by is not None:
            prepared.declined_on.add(store_token(declined_by))

    def _as_prepared(
        self, query: str | PreparedQuery | Query, *, base: str | None, init_ns: Mapping[str, Any] | None
    ) -> PreparedQuery:
        if isinstance(query, PreparedQuery):
            return query
        if isinstance(query, Query):
            text = getattr(query, "_original_args", ("<prepared>",))[0]
            return PreparedQuery(text, query)
        return self.prepare(query, base=base, init_ns=init_ns)

    def _compiled_plan(self, sql_store: Any, prepared: PreparedQuery, view: QueryDataset,
                       bound: frozenset) -> Any | None:
        try:
            from kg_engine.sparql.compiler import DatasetSpec, compile_query
        except ImportError:
            return None
        from kg_engine.sparql.compiler.plan import store_token
        key = (view.choice, bound, store_token(sql_store))
        plan = prepared.plans.get(key)
        if plan is None:
            choice = view.choice
            spec = DatasetSpec(default=choice.default, named=choice.named,
                               disjoint=choice.disjoint)
            try:
                plan = compile_query(sql_store, prepared.query, dataset=spec, init_vars=bound)
            except NotImplementedError:
                plan = False
            prepared.plans[key] = plan
        return plan or None

    def _run_compiled(self, sql_store: Any, prepared: PreparedQuery, view: QueryDataset,
                      bindings: dict) -> SPARQLResult | None:
        from kg_engine.sparql.compiler.plan import store_token

        if store_token(sql_store) in prepared.declined_on:
            return None
        plan = self._compiled_plan(sql_store, prepared, view, frozenset(bindings))
        if plan is None or not getattr(plan, "full", False):
            return None
        qtype = prepared.type
        try:
            out = plan.execute(sql_store, bindings or None)
        except NotImplementedError:  # the plan declined at run time
            return None
        except Exception as exc:
            if not is_sql_failure(exc, view.state):
                raise
            log.warning("compiled SQL failed (%s); evaluating the query with rdflib", exc)
            view.state.sql_failures.append(str(exc))
            return None
        if qtype == "ASK":
            return SPARQLResult({"type_": "ASK", "askAnswer": bool(out)})
        if qtype != "SELECT":
            return None
        vars_, rows = out
        view.state.check()
        return TupleResult(list(vars_), rows)

    def _run_rdflib(self, prepared: PreparedQuery, view: QueryDataset, bindings: dict) -> SPARQLResult:
        main = prepared.query.algebra
        ctx = QueryContext(view, initBindings=bindings)
        ctx.graph = view.active_default
        ctx.prologue = prepared.query.prologue
        res = dict(evalPart(ctx, main))
        if res.get("type_") == "SELECT":
            vars_ = list(res.get("vars_") or [])
            rows = []
            for row in res["bindings"]:  # errors are unbound; a solution binding nothing is a row
                rows.append(tuple(None if isinstance(v := row.get(k), SPARQLError) else v
                                  for k in vars_))
            return TupleResult(vars_, rows)
        return SPARQLResult(res)

    def explain(
        self,
        graph: Graph,
        query: str | PreparedQuery,
        *,
        union_default_graph: bool = False,
        init_bindings: Mapping[str, Identifier] | None = None,
    ) -> str:
        """The SQL a query compiles to (and which parts fall back to rdflib), as text."""
        prepared = self._as_prepared(query, base=None, init_ns=None)
        sql_store = sql_store_of(graph.store)
        if sql_store is None:
            return "-- not a kg-engine store: the query is evaluated by rdflib's evaluator"
        view = self.build_dataset(graph, prepared.query, union_default_graph=union_default_graph)
        bound = frozenset(Variable(str(k)) for k in (init_bindings or {}))
        plan = self._compiled_plan(sql_store, prepared, view, bound)
        if plan is None:
            return "-- the SQL compiler declined this query: rdflib evaluates it"
        lines = []
        if getattr(plan, "full", False):
            lines.append("-- fully compiled: one SQL statement")
        else:
            lines.append("-- partly compiled: rdflib evaluates the rest, SQL the sub-plans")
        for reason in getattr(plan, "declined", []) or []:
            lines.append(f"-- declined: {reason}")
        sql = getattr(plan, "sql", "")
        if sql:
            lines.append(sql)
        return "\n".join(lines)

    # -- updates -----------------------------------------------------------------------------
    def update(
        self,
        graph: Graph,
        update: str | Update,
        *,
        init_bindings: Mapping[str, Identifier] | None = None,
        init_ns: Mapping[str, Any] | None = None,
        base: str | None = None,
        default_graph: Identifier | None = None,
        timeout: float | None = None,
    ) -> None:
        """Run a SPARQL 1.1 Update request atomically (all operations or none).

        Args:
            graph: an rdflib Dataset or Graph (a Graph's name is the default graph).
            update: the request text or a parsed ``Update``.
            init_bindings: pre-bound variables for the WHERE clauses.
            init_ns: extra prefixes.
            base: base IRI.
            default_graph: name of the graph acting as default graph (None: the store's).
            timeout: seconds; past it the request is cancelled and rolled back.

        Raises:
            QuerySyntaxError: malformed request (nothing is changed).
            QueryTimeoutError: past ``timeout`` (nothing is changed).
            UnsupportedOperationError: remote ``LOAD`` while disabled.
            StoreError: a failing operation without ``SILENT`` (nothing is changed).
        """
        from kg_engine.sparql.update import run_update

        install_hook()
        sql_store = sql_store_of(graph.store)
        guard = _Timeout(sql_store, timeout)
        self._drop_stale_plans(sql_store)
        try:
            with guard, asserted_only():
                text = update if isinstance(update, str) else getattr(
                    update, "kg_text", "(a prepared update)")
                if isinstance(update, str):
                    update = self.prepare_update(update, base=base, init_ns=init_ns)
                if default_graph is None and not isinstance(graph, ConjunctiveGraph):
                    default_graph = graph.identifier
                run_update(self, as_dataset(graph), update, init_bindings or {}, default_graph,
                           text=text)
        except BaseException as exc:
            translated = guard.translate(exc)
            if translated is exc:
                raise
            raise translated from exc


def _deep(parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``parse(*args, **kwargs)``, rerun with a large stack when it recurses too deep (a UNION
    of 2,000 branches: ``kg query`` parses before it runs, outside :meth:`QueryEngine.query`'s
    own rerun, and failed with RecursionError)."""
    try:
        return parse(*args, **kwargs)
    except RecursionError:
        return run_deep(parse, *args, **kwargs)


def _answer_graphs(store: Any, include_inferred: bool, include_predicted: bool
                   ) -> tuple[tuple[Identifier, ...], bool]:
    """Graphs merged into the default graph of ``store`` for answers, and whether they are
    disjoint from it (see :meth:`kg_engine.store.SQLStore.answer_graphs`)."""
    sql_store = sql_store_of(store)
    if sql_store is None or not hasattr(sql_store, "answer_graphs"):
        return (), False
    return sql_store.answer_graphs(include_inferred=include_inferred,
                                   include_predicted=include_predicted)


_default: QueryEngine | None = None


def default_engine() -> QueryEngine:
    """The process-wide engine (shared plan cache) used by the API, CLI and rdflib plugin."""
    global _default
    if _default is None:
        _default = QueryEngine()
    return _default


# ensure the names used in type hints exist at runtime for doc tools
_ = (DATASET_DEFAULT_GRAPH_ID, URIRef, StoreError)
