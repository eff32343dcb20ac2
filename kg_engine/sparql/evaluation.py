"""Hybrid evaluation: SQL for every sub-plan the compiler takes, rdflib's evaluator for the rest.

kg-engine registers ONE entry in rdflib's ``CUSTOM_EVALS`` (``"kg_engine"``). It is inert for
every other rdflib user: it acts only when the query context's dataset is a
:class:`~kg_engine.sparql.dataset.QueryDataset` built by our engine. For our queries it is the
dispatcher of every algebra node:

1. check the query deadline (``timeout=``);
2. offer the node to the SQL compiler (``kg_engine.sparql.compiler.evaluate_part``) — if it
   compiles, the whole sub-tree runs as one SQL statement (should that SQL fail in the
   database, the failure is logged and rdflib evaluates the node instead);
3. else evaluate the node with kg-engine's conformance fix for that node, if any
   (:mod:`kg_engine.sparql.functions`), or with rdflib's own function for the node — whose
   children come back through this dispatcher, so SQL still does the largest sub-plans;
4. ``SERVICE`` is refused unless the engine was built with ``allow_service=True``.
"""

from __future__ import annotations

import logging
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql import evaluate as _ev
from rdflib.plugins.sparql.parserutils import CompValue

from kg_engine.errors import QueryTimeoutError, UnsupportedOperationError
from kg_engine.sparql.dataset import query_dataset_of
from kg_engine.sparql.functions import NODE_OVERRIDES

__all__ = ["HOOK_NAME", "NODE_OVERRIDES", "EvalState", "Refused", "install_hook", "kg_eval"]

HOOK_NAME = "kg_engine"
log = logging.getLogger("kg_engine.sparql")


@dataclass
class EvalState:
    """Per-query evaluation state, reachable from the context's dataset view.

    Attributes:
        deadline: ``time.monotonic()`` value after which the query is cancelled (None: never).
        timeout: the timeout in seconds (for messages).
        allow_service: evaluate ``SERVICE`` (network access) instead of refusing it.
        use_compiler: offer nodes to the SQL compiler.
        compiled_nodes: names of nodes the compiler took (for tests / ``--explain``).
        fallback_nodes: names of nodes rdflib evaluated.
    """

    deadline: float | None = None
    timeout: float | None = None
    allow_service: bool = False
    use_compiler: bool = True
    compiled_nodes: list[str] = field(default_factory=list)
    fallback_nodes: list[str] = field(default_factory=list)
    sql_failures: list[str] = field(default_factory=list)
    #: ids of the nodes whose SQL failed: rdflib evaluates them for the rest of the query (a
    #: statement past SQLite's parser stack, OPTIONALs nested 70 deep, was compiled and
    #: failed again for every row of the patterns around it: 768 times)
    failed_parts: set[int] = field(default_factory=set)
    #: nodes nested deeper than this are not offered to the compiler: a statement past the
    #: database's parser depth failed at each level of the nesting in turn (500 nested
    #: sub-selects: 500 compilations and failures of ever so slightly smaller SQL, quadratic,
    #: past the limits' time budget); halved at each such failure (None: no limit yet)
    sql_depth_limit: int | None = None
    #: nesting depth of the nodes measured (by id)
    depths: dict[int, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`QueryTimeoutError` once the deadline has passed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QueryTimeoutError(
                f"query cancelled after its timeout of {self.timeout:g} s; "
                "raise timeout= or make the query more selective"
            )


class Refused(Exception):
    """Carries an :class:`UnsupportedOperationError` out of rdflib's evaluator.

    rdflib treats any ``NotImplementedError`` from a ``CUSTOM_EVALS`` hook as "not handled"
    (and UnsupportedOperationError is one), so the hook wraps it; the engine unwraps it.
    """

    def __init__(self, error: UnsupportedOperationError) -> None:
        super().__init__(str(error))
        self.error = error


#: what the databases say of a statement nested past their parser's depth
_TOO_DEEP = ("parser stack overflow", "stack depth limit exceeded", "expression tree is too large")


def _depth(part: Any, memo: dict[int, int]) -> int:
    """Nesting depth of the algebra node ``part`` (its longest chain of nested nodes)."""
    found = memo.get(id(part))
    if found is not None:
        return found
    deepest = 0
    stack: list[Any] = list(part.values())
    while stack:
        x = stack.pop()
        if isinstance(x, CompValue):
            deepest = max(deepest, _depth(x, memo))
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    memo[id(part)] = deepest + 1
    return deepest + 1


def is_sql_failure(exc: BaseException, state: EvalState | None) -> bool:
    """Whether ``exc`` is a database error raised by compiled SQL that rdflib can recover from.

    Cancellations (timeouts) are not: they must surface as QueryTimeoutError.
    """
    if state is not None and state.deadline is not None and time.monotonic() > state.deadline:
        return False
    module = type(exc).__module__ or ""
    if not module.startswith(("sqlite3", "psycopg")):
        return False
    text = f"{type(exc).__name__} {exc}".lower()
    return not any(w in text for w in ("interrupted", "querycanceled", "canceling statement",
                                        "statement timeout", "in failed sql transaction",
                                        "current transaction is aborted"))


def _bgp(ctx: Any, part: CompValue) -> Any:
    triples = sorted(part.triples, key=lambda t: len([n for n in t if ctx[n] is None]))
    return _ev.evalBGP(ctx, triples)


#: rdflib's evaluation function per algebra node name (the body of rdflib's ``evalPart``).
RDFLIB_NODES: dict[str, Callable[[Any, CompValue], Any]] = {
    "BGP": _bgp,
    "Filter": _ev.evalFilter,
    "Join": _ev.evalJoin,
    "LeftJoin": _ev.evalLeftJoin,
    "Graph": _ev.evalGraph,
    "Union": _ev.evalUnion,
    "ToMultiSet": _ev.evalMultiset,
    "Extend": _ev.evalExtend,
    "Minus": _ev.evalMinus,
    "Project": _ev.evalProject,
    "Slice": _ev.evalSlice,
    "Distinct": _ev.evalDistinct,
    "Reduced": _ev.evalReduced,
    "OrderBy": _ev.evalOrderBy,
    "Group": _ev.evalGroup,
    "AggregateJoin": _ev.evalAggregateJoin,
    "SelectQuery": _ev.evalSelectQuery,
    "AskQuery": _ev.evalAskQuery,
    "ConstructQuery": _ev.evalConstructQuery,
    "DescribeQuery": _ev.evalDescribeQuery,
    "ServiceGraphPattern": _ev.evalServiceQuery,
}


_compiler_eval: Callable[[Any, CompValue], Any] | None = None
_compiler_loaded = False


def _compiler() -> Callable[[Any, CompValue], Any] | None:
    global _compiler_eval, _compiler_loaded
    if not _compiler_loaded:
        _compiler_loaded = True
        try:
            from kg_engine.sparql.compiler import evaluate_part
        except ImportError:
            evaluate_part = None
        _compiler_eval = evaluate_part
    return _compiler_eval


def _guard(state: EvalState, rows: Iterator[Any]) -> Iterator[Any]:
    for i, row in enumerate(rows):
        if not i & 255:
            state.check()
        yield row


def kg_eval(ctx: Any, part: CompValue) -> Any:
    """The ``CUSTOM_EVALS`` entry: evaluate ``part`` for kg-engine queries (see module doc).

    Raises:
        NotImplementedError: the context is not a kg-engine query (rdflib goes on as usual).
        Refused: ``SERVICE`` while disabled (wraps an UnsupportedOperationError).
        QueryTimeoutError: the query's deadline has passed.
    """
    view = query_dataset_of(ctx)
    if view is None or view.state is None:
        raise NotImplementedError
    state: EvalState = view.state
    state.check()
    name = part.name
    if name == "ServiceGraphPattern" and not state.allow_service:
        raise Refused(UnsupportedOperationError(
            "SERVICE is disabled: kg-engine does not contact remote endpoints unless the engine "
            "is created with allow_service=True"
        ))
    if state.use_compiler and name not in ("SelectQuery", "AskQuery", "ConstructQuery",
                                           "DescribeQuery", "ServiceGraphPattern") \
            and id(part) not in state.failed_parts and (
                state.sql_depth_limit is None
                or _depth(part, state.depths) <= state.sql_depth_limit):
        compiled = _compiler()
        if compiled is not None:
            try:
                result = compiled(ctx, part)
            except NotImplementedError:
                pass
            except Exception as exc:
                if not is_sql_failure(exc, state):
                    raise
                log.warning("SQL for %s failed (%s); evaluating it with rdflib instead", name, exc)
                state.sql_failures.append(f"{name}: {exc}")
                state.failed_parts.add(id(part))
                if any(w in str(exc).lower() for w in _TOO_DEEP):
                    state.sql_depth_limit = _depth(part, state.depths) // 2
            else:
                state.compiled_nodes.append(name)
                return result
    fn = NODE_OVERRIDES.get(name) or RDFLIB_NODES.get(name)
    if fn is None:
        raise Refused(UnsupportedOperationError(f"unknown SPARQL algebra node {name!r}"))
    state.fallback_nodes.append(name)
    result = fn(ctx, part)
    if isinstance(result, types.GeneratorType):
        return _guard(state, result)
    return result


def install_hook() -> None:
    """Register :func:`kg_eval` as ``CUSTOM_EVALS["kg_engine"]`` (idempotent; inert for others)."""
    if CUSTOM_EVALS.get(HOOK_NAME) is not kg_eval:
        CUSTOM_EVALS[HOOK_NAME] = kg_eval
