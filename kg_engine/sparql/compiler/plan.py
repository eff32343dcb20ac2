"""``compile_query``: a whole SPARQL query → one SQL statement (a :class:`CompiledQuery`).

Example:
    >>> from kg_engine.store import open_store                      # doctest: +SKIP
    >>> store = open_store("sqlite://")                             # doctest: +SKIP
    >>> cq = compile_query(store, "SELECT ?s WHERE { ?s ?p ?o }")   # doctest: +SKIP
    >>> cq.full, cq.sql[:6]                                         # doctest: +SKIP
    (True, 'SELECT')
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.paths import Path
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Identifier, Literal, URIRef, Variable

from kg_engine.errors import QuerySyntaxError
from kg_engine.sparql.rows import row_type, without_gc

from .block import Col, Decline
from .context import EXACT_AGGREGATES, UNKNOWN_BASE, CompileContext, DatasetSpec, GraphScope
from .decode import RuntimeDecline, decode_rows
from .expressions import INEXACT_MARK, regex_flags_python
from .modifiers import compile_select
from .patterns import compile_pattern, plain
from .render import Layout, render
from .sql import Sql, param

__all__ = [
    "BindingParam",
    "CompiledQuery",
    "compile_plan",
    "compile_query",
    "parse_algebra",
    "pinned_order",
    "register_functions",
    "scope_for",
    "store_token",
    "use_text_parser",
]


#: planner settings for a statement run in the compiler's join order (PostgreSQL)
_PINNED = (("join_collapse_limit", "1"), ("enable_hashjoin", "off"), ("enable_mergejoin", "off"),
           ("enable_memoize", "off"))


@contextlib.contextmanager
def pinned_order(db: Any, on: bool) -> Iterator[None]:
    """PostgreSQL, ``on``: the statements inside run in the written join order with index
    nested loops, as SQLite runs the compiler's ``CROSS JOIN`` s (:func:`.bgp.pin_verdict`
    says when). Set for the read's transaction only (one opened if none is), and put back to
    the session's own values after (other statements of the transaction plan freely).
    Elsewhere, or not ``on``: nothing.
    """
    if not on or db.dialect != "postgresql":
        yield
        return
    with contextlib.ExitStack() as stack:
        if not db.in_transaction:
            stack.enter_context(db.snapshot())
        names = [n for n, _ in _PINNED]
        db.execute("SELECT " + ", ".join(f"set_config('{n}', '{v}', true)" for n, v in _PINNED))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # an aborted transaction ends with them anyway
                db.execute("SELECT set_config(name, reset_val, true) FROM pg_settings "
                           "WHERE name = ANY(?)", (names,))


class BindingParam:
    """Placeholder for the id of a variable's value given at execution (initBindings)."""

    __slots__ = ("var",)

    def __init__(self, var: Variable) -> None:
        self.var = var

    def __repr__(self) -> str:
        return f"BindingParam(?{self.var})"


#: the parser of the whole SPARQL grammar for texts the fast parser declines:
#: :func:`kg_engine.sparql.parsing.parse_query` (which keeps literals' lexical forms exactly)
#: registers itself here when imported — always before a query runs, as importing this
#: package imports ``kg_engine.sparql`` first — so that the compiler does not import the
#: parser back (``parsing`` → ``functions`` → ``evaluation`` → ``compiler`` was a circle).
_text_parser: Callable[..., Query] | None = None


def use_text_parser(parse: Callable[..., Query]) -> None:
    """Make ``parse(text, base=, init_ns=)`` the parser :func:`parse_algebra` uses."""
    global _text_parser
    _text_parser = parse


def parse_algebra(text: str, base: str | None = None, init_ns: Mapping[str, Any] | None = None) -> CompValue:
    """Parse + translate a query (``QuerySyntaxError`` on bad input)."""
    if _text_parser is not None:
        return _text_parser(text, base=base, init_ns=init_ns).algebra
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    try:
        return translateQuery(parseQuery(text), base=base, initNs=init_ns).algebra
    except ParseException as exc:
        raise QuerySyntaxError(
            f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}"
        ) from exc


def scope_for(cc: CompileContext) -> GraphScope:
    """The GraphScope of the default graph of ``cc.dataset``."""
    d = cc.dataset.default
    if d is None:
        return GraphScope("ids", (0,))
    if d == "union":
        return GraphScope("union")
    ids = []
    for g in d:
        if g == DATASET_DEFAULT_GRAPH_ID or g is None:
            ids.append(0)
        else:
            ids.append(cc.tid(g))
    return GraphScope("ids", tuple(dict.fromkeys(ids)), disjoint=cc.dataset.disjoint)


_TOKENS = itertools.count(1)


def store_token(store: Any) -> int:
    """A number naming ``store`` for the life of the process (plan caches key on it: an
    ``id()`` is reused once the store is garbage collected, and plans hold its term ids)."""
    token = getattr(store, "_kg_plan_token", None)
    if token is None:
        token = next(_TOKENS)
        store._kg_plan_token = token
    return token


def register_functions(store: Any) -> None:
    """Register the SQL functions the compiled SQL uses on a SQLite connection (idempotent:
    once per connection)."""
    db = store.db
    raw = db.raw
    if getattr(db, "_kg_functions_on", None) is raw:
        return
    raw.create_function("kg_regex", 3, regex_flags_python, deterministic=True)
    from .pyexpr import register
    register(raw)
    db._kg_functions_on = raw


@dataclass
class CompiledQuery:
    """The result of :func:`compile_query`.

    Attributes:
        form: "SELECT", "ASK", "CONSTRUCT" or "DESCRIBE".
        full: the whole query is one SQL statement (``execute`` works).
        sql: the SQL text with ``?`` placeholders ("" when not compiled).
        params: the parameters (term ids resolved at compile time; ``BindingParam`` for
            variables bound at execution).
        vars: the projected variables (SELECT).
        declined: why parts of the query are not compiled.
    """

    form: str
    full: bool
    sql: str = ""
    params: tuple[Any, ...] = ()
    vars: list[Variable] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)
    layout: Layout = field(default_factory=list)
    empty: bool = False
    uses_regex: bool = False
    missing: list[Identifier] = field(default_factory=list)
    init_vars: frozenset[Variable] = frozenset()
    #: the SQL reads term columns of execution-time bindings (a value missing from the
    #: dictionary then has none: such a run declines to rdflib)
    binding_fields: bool = False
    #: the Python expressions its SQL calls (``kg_expr``; see .pyexpr)
    py_exprs: list[Any] = field(default_factory=list)
    #: SQLite: an aggregate's value may turn out inexact at run time; the plan compiled with
    #: exact aggregates (``_exact``) then answers instead
    inexact_aggregates: bool = False
    #: its SQL may abort where a double cannot decide a comparison of integers/decimals: the
    #: run then declines (:class:`RuntimeDecline`) and rdflib's path answers exactly
    numeric_guards: bool = False
    #: PostgreSQL: run in the compiler's join order (see :func:`pinned_order`)
    pin_joins: bool = False
    _exact: CompiledQuery | None = None
    _source: Any = None
    _dataset: DatasetSpec | None = None
    _base: Any = UNKNOWN_BASE  # the query's base IRI (IRI() depends on it)
    _store_id: int = 0
    _max_id: Any = -1

    # -- execution ---------------------------------------------------------------------
    def _fresh(self, store: Any) -> CompiledQuery:
        """Recompile when a constant that was missing is now in the dictionary (checked
        only when the dictionary grew since the last check: one O(1) ``MAX(id)``)."""
        if not self.missing:
            return self
        top = store.db.scalar("SELECT MAX(id) FROM kg_terms")
        if top == self._max_id:
            return self
        if store.term_ids(self.missing):
            return compile_query(store, self._source, dataset=self._dataset, init_vars=self.init_vars,
                                 base=self._base)
        self._max_id = top
        return self

    def run(self, store: Any, bindings: Mapping[Variable, Identifier] | None = None
            ) -> Sequence[tuple[Identifier | None, ...]]:
        """Run the SQL and decode every row (SELECT): a list, or a
        :class:`~kg_engine.sparql.rows.ColumnRows` that makes each row when read; raises
        NotImplementedError if not full."""
        if not self.full:
            raise Decline("query not compiled to SQL: " + "; ".join(self.declined))
        cq = self._fresh(store)
        if cq is not self:
            return cq.run(store, bindings)
        if self.empty:
            return []
        extra: list[Identifier] = []
        params = list(self.params)
        if self.init_vars:
            bindings = {Variable(k) if not isinstance(k, Variable) else k: v for k, v in (bindings or {}).items()}
            values = [bindings.get(p.var) for p in params if isinstance(p, BindingParam)]
            known = store.term_ids([v for v in values if v is not None]) if values else {}
            local: dict[Identifier, int] = {}
            for k, p in enumerate(params):
                if isinstance(p, BindingParam):
                    t = bindings.get(p.var)
                    if t is None:
                        raise ValueError(f"no value given for the prepared variable ?{p.var}")
                    i = known.get(t)
                    if i is None:
                        if self.binding_fields:
                            raise RuntimeDecline(f"?{p.var} is bound to a term the store has never "
                                                 "seen and the SQL reads its value")
                        if t not in local:
                            extra.append(t)
                            local[t] = -len(self.missing) - len(extra)
                        i = local[t]
                    params[k] = int(i)
        if store.dialect == "sqlite":  # kg_regex, the kg_* callbacks (.pyexpr)
            register_functions(store)
        missing = self.missing

        def constant(i: int) -> Identifier:
            k = -i - 1
            return missing[k] if k < len(missing) else extra[k - len(missing)]
        try:
            # SQL that fails (aborts on a number it cannot compute exactly, a value beyond
            # bigint: rdflib's path then answers) must not abort the transaction with it — an
            # update request's (which then failed whole) or a server request's read snapshot
            with pinned_order(store.db, self.pin_joins), store.db.may_fail():
                rows = without_gc(store.db.fetchall, self.sql, params)  # they all survive until decoded
            row = row_type(self.vars) if self.form == "SELECT" else None
            return decode_rows(store, self.layout, rows, constant, row)
        except Exception as exc:
            # an aggregate SQL could not compute exactly (mixed numeric types, decimals): on
            # SQLite the plan with the rdflib path's exact aggregates (kg_agg) takes over
            exact = self._exact_aggregates(store, exc)
            if exact is None:
                if self.numeric_guards and _aborted_inexact(exc):
                    raise RuntimeDecline("a double cannot decide a comparison of integers or "
                                         "decimals") from exc
                raise
            return exact.run(store, bindings)

    def _exact_aggregates(self, store: Any, exc: Exception) -> CompiledQuery | None:
        inexact = isinstance(exc, RuntimeDecline) or (
            type(exc).__module__ == "sqlite3" and "user-defined function raised" in str(exc))
        if not (inexact and self.inexact_aggregates and store.dialect == "sqlite"):
            return None
        if self._exact is None:
            token = EXACT_AGGREGATES.set(True)
            try:
                self._exact = compile_query(store, self._source, dataset=self._dataset,
                                            init_vars=self.init_vars, base=self._base)
            finally:
                EXACT_AGGREGATES.reset(token)
        return self._exact if self._exact.full and not self._exact.inexact_aggregates else None

    def stream(self, store: Any, batch: int = 2000) -> Iterator[tuple[Identifier | None, ...]]:
        """SELECT rows decoded batch by batch straight from the SQL cursor: a large result
        is never held in memory (``run`` materialises). No prepared variables.

        Raises:
            NotImplementedError: the query is not fully compiled, its SQL may abort on
                numbers (``numeric_guards``), or a value cannot be represented exactly
                (:class:`RuntimeDecline`, raised before the first row of the batch that
                holds it).
        """
        if not self.full:
            raise Decline("query not compiled to SQL: " + "; ".join(self.declined))
        if self.numeric_guards:  # rows already streamed could not be taken back
            raise Decline("its SQL may abort where a double cannot decide; use execute()")
        if self.init_vars:
            raise ValueError("stream() takes no prepared variables; use execute()")
        cq = self._fresh(store)
        if cq is not self:
            yield from cq.stream(store, batch)
            return
        if self.empty:
            return
        if store.dialect == "sqlite":  # kg_regex, the kg_* callbacks (.pyexpr)
            register_functions(store)
        missing = self.missing
        with pinned_order(store.db, self.pin_joins):
            for rows in store.db.stream(self.sql, list(self.params), batch):
                yield from decode_rows(store, self.layout, rows, lambda i: missing[-i - 1])

    def execute(self, store: Any, bindings: Mapping[Variable, Identifier] | None = None) -> Any:
        """SELECT: ``(vars, rows)`` (a sequence of rows, see :meth:`run`); ASK: ``bool``.

        Raises:
            NotImplementedError: the query is not fully compiled (use rdflib's evaluator),
                or a value cannot be represented exactly (:class:`RuntimeDecline`).
        """
        rows = self.run(store, bindings)
        if self.form == "ASK":
            return bool(rows)
        return self.vars, rows


def _aborted_inexact(exc: Exception) -> bool:
    """Whether ``exc`` is the abort of :meth:`.expressions.ExprCompiler.abort_inexact` (on
    SQLite any failing callback: re-running on rdflib's path is right for either)."""
    if type(exc).__module__ == "sqlite3":
        return "user-defined function raised" in str(exc)
    return INEXACT_MARK in str(exc)


def _dataset_from_clause(clause: Any) -> DatasetSpec | None:
    if not clause:
        return None
    default = tuple(d.default for d in clause if d.default is not None)
    named = tuple(d.named for d in clause if d.named is not None)
    return DatasetSpec(default=default, named=named)


def compile_query(
    store: Any,
    algebra_or_text: Any,
    dataset: DatasetSpec | None = None,
    init_vars: frozenset[Variable] | set[Variable] = frozenset(),
    base: Any = UNKNOWN_BASE,
) -> CompiledQuery:
    """Compile a SPARQL query (text, rdflib ``Query`` or algebra node) for ``store``.

    Args:
        store: a :class:`kg_engine.store.SQLStore`.
        algebra_or_text: query text, ``rdflib.plugins.sparql.sparql.Query`` or an algebra
            ``CompValue`` (a query form or any graph-pattern node).
        dataset: graphs the query sees (``None``: W3C default, unless the query has FROM).
        init_vars: variables whose values are given to :meth:`CompiledQuery.execute`.
        base: the base IRI of an algebra node's query (None: none); text and an rdflib
            ``Query`` carry their own. Unknown, ``IRI()``/``URI()`` are left to rdflib.

    Returns:
        A :class:`CompiledQuery`; ``full`` is False when some part must be evaluated by
        rdflib (``declined`` says why).

    Raises:
        QuerySyntaxError: malformed query text.
    """
    source = algebra_or_text
    if isinstance(algebra_or_text, str):
        from .fastparse import parse_with_base
        fast = parse_with_base(algebra_or_text)
        if fast is not None:
            cq = compile_query(store, fast[0], dataset=dataset, init_vars=init_vars, base=fast[1])
            if cq.full:
                cq._source = source
                cq._base = UNKNOWN_BASE  # the text carries it
                return cq
        algebra = parse_algebra(algebra_or_text)
        base = UNKNOWN_BASE  # rdflib's algebra: its prologue is not kept here
    elif isinstance(algebra_or_text, Query):
        algebra = algebra_or_text.algebra
        base = algebra_or_text.prologue.base if algebra_or_text.prologue is not None else None
    else:
        algebra = algebra_or_text
    if dataset is None and isinstance(algebra, CompValue):
        dataset = _dataset_from_clause(algebra.get("datasetClause"))
    init_vars = frozenset(Variable(v) if not isinstance(v, Variable) else v for v in init_vars)
    name = algebra.name
    form = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
            "DescribeQuery": "DESCRIBE"}.get(name, "SELECT")
    if form in ("CONSTRUCT", "DESCRIBE"):
        return CompiledQuery(form=form, full=False, _source=source, _dataset=dataset,
                             init_vars=init_vars, _store_id=store_token(store), _base=base,
                             declined=[f"{form} is built by rdflib from the WHERE solutions"])
    return compile_plan(store, algebra, dataset, init_vars, form, source, base)


def compile_plan(store: Any, node: CompValue, dataset: DatasetSpec | None,
                 init_vars: frozenset[Variable], form: str, source: Any,
                 base_iri: Any = UNKNOWN_BASE) -> CompiledQuery:
    """Compile an algebra node (``base_iri``: its query's base IRI, see :func:`compile_query`);
    a query whose constants are missing from the dictionary is compiled twice, the second
    time with those constants' term columns inlined."""
    base = {"form": form, "_source": source, "_dataset": dataset, "init_vars": init_vars,
            "_store_id": store_token(store), "_base": base_iri}
    first: CompileContext | None = None
    while True:
        cc = CompileContext(store, dataset, base_iri)
        if first is not None:
            cc.patch_missing(first.missing, first.ids, first.value_consts)
        else:  # every constant in one dictionary look-up (not one per pattern/expression)
            cc.prefetch(constants_of(node))
        for v in init_vars:
            cc.env[v] = Col.id(param(BindingParam(v)))
        try:
            scope = scope_for(cc)
            body, layout, pv, empty = compile_node(cc, node, scope)
        except Decline as exc:
            return CompiledQuery(full=False, declined=cc.declined or [str(exc)], **base)
        if first is not None or not cc.needs_patch:
            break
        first = cc
    return CompiledQuery(full=True, sql=body.text, params=body.params, vars=pv, layout=layout,
                         empty=empty, uses_regex=cc.uses_regex, missing=list(cc.missing),
                         binding_fields=cc.fields_of_bindings, py_exprs=cc.py_exprs, declined=[],
                         inexact_aggregates=cc.inexact_aggregates, numeric_guards=cc.numeric_guards,
                         pin_joins=bool(cc.pin_joins),
                         **base)


def constants_of(node: Any) -> list[Identifier]:
    """The IRIs and literals of an algebra node (patterns, paths, expressions, VALUES rows).

    Example:
        >>> from rdflib import Literal, URIRef, Variable
        >>> bgp = CompValue("BGP", triples=[(Variable("s"), URIRef("urn:p"), Literal(1))])
        >>> sorted(str(t) for t in constants_of(bgp))
        ['1', 'urn:p']
    """
    out: dict[Identifier, None] = {}
    stack = [node]
    pop, extend = stack.pop, stack.extend
    while stack:
        x = pop()
        t = type(x)
        if t is URIRef or t is Literal:
            out[x] = None
        elif t is tuple or t is list:
            extend(x)
        elif isinstance(x, dict):  # CompValue (its own __getitem__ is slow), VALUES row
            extend(dict.values(x))
            if not isinstance(x, CompValue):
                extend(dict.keys(x))
        elif isinstance(x, Path):
            extend(vars(x).values())
    out.pop(None, None)
    return list(out)


def compile_node(cc: CompileContext, node: CompValue, scope: GraphScope
                 ) -> tuple[Sql, Layout, list[Variable], bool]:
    """Compile a query form or pattern node to (SQL, layout, variables, known-empty)."""
    name = node.name
    if name == "SelectQuery":
        cc._top = node.p  # type: ignore[attr-defined]
        block, pv = compile_select(cc, node.p, scope)
        body, layout = render(cc, block, pv)
        return body, layout, pv, block.empty
    if name == "AskQuery":
        block = plain(cc, compile_pattern(cc, node.p, scope))
        body, layout = render(cc, block, [], limit=1)
        return body, [], [], block.empty
    if name in ("Project", "Distinct", "Reduced", "Slice", "OrderBy"):
        cc._top = node  # type: ignore[attr-defined]
        block, pv = compile_select(cc, node, scope)
        body, layout = render(cc, block, pv)
        return body, layout, pv, block.empty
    block = compile_pattern(cc, node, scope)
    out = [v for v in block.cols]
    body, layout = render(cc, block, out)
    return body, layout, out, block.empty


def iter_rows(vars_: list[Variable], rows: list[tuple]) -> Iterator[dict[Variable, Identifier]]:
    for r in rows:
        yield {v: x for v, x in zip(vars_, r) if x is not None}
