"""rdflib ``CUSTOM_EVALS`` hook: SQL evaluates the largest compilable sub-plans.

``evaluate_part(ctx, part)`` is called by rdflib's ``evalPart`` for every algebra node. When
the node compiles entirely to SQL for a graph backed by our store, it runs that one statement
and returns what rdflib's own evaluator would return for the node; otherwise it raises
``NotImplementedError``, rdflib evaluates the node itself and calls the hook again on the
node's children. Bindings already in ``ctx`` (initBindings, or the partial solution under
which rdflib evaluates a child) are honoured as constants.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from rdflib.graph import (
    DATASET_DEFAULT_GRAPH_ID,
    ConjunctiveGraph,
    Dataset,
    Graph,
    ReadOnlyGraphAggregate,
)
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import FrozenBindings, QueryContext
from rdflib.term import BNode, Variable

from .context import UNKNOWN_BASE, DatasetSpec
from .plan import CompiledQuery, compile_plan, store_token

__all__ = ["HOOK_NAME", "evaluate_part", "install", "sql_store_of", "uninstall"]

HOOK_NAME = "kg_engine"
_PATTERN_NODES = frozenset({
    "SelectQuery", "AskQuery", "Project", "Distinct", "Reduced", "Slice", "OrderBy",
    "AggregateJoin", "BGP", "Filter", "Join", "LeftJoin", "Union", "Minus", "Extend",
    "ToMultiSet", "values", "Graph",
})
_CACHE: OrderedDict[tuple, tuple[CompValue, CompiledQuery]] = OrderedDict()
_CACHE_SIZE = 512


def sql_store_of(store: Any) -> Any | None:
    """The kg-engine SQLStore behind an rdflib Store (or None)."""
    if store is None:
        return None
    if hasattr(store, "db") and hasattr(store, "term_ids"):
        return store
    for name in ("sql", "sql_store", "store", "_store"):
        inner = getattr(store, name, None)
        if inner is not None and inner is not store and hasattr(inner, "db") and hasattr(inner, "term_ids"):
            return inner
    return None


def _empty_default(dataset: Any, graph: Any) -> bool:
    """Whether ``graph`` is the empty default graph of a query view with FROM NAMED and no
    FROM (see :class:`kg_engine.sparql.dataset.QueryDataset`): compiled as no graph at all."""
    choice = getattr(dataset, "choice", None)
    return (choice is not None and isinstance(choice.default, tuple) and not choice.default
            and graph is getattr(dataset, "active_default", None))


def _scope_of(ctx: QueryContext) -> tuple[Any, DatasetSpec, tuple] | None:
    graph = ctx.graph
    if graph is None:
        return None
    dataset = ctx._dataset
    disjoint = False
    named = getattr(dataset, "kg_named_graphs", None) if dataset is not None else None
    if named is not None:
        named = tuple(named)
    if isinstance(graph, ReadOnlyGraphAggregate):
        stores = {id(sql_store_of(g.store)): sql_store_of(g.store) for g in graph.graphs}
        if len(stores) > 1 or None in stores.values():
            return None
        store = next(iter(stores.values()), None)
        if store is None:
            if dataset is None or sql_store_of(dataset.store) is None:
                return None
            store = sql_store_of(dataset.store)
        default: Any = tuple(g.identifier for g in graph.graphs)
        disjoint = bool(getattr(graph, "kg_disjoint", False))
    elif _empty_default(dataset, graph):  # FROM NAMED only: the default graph is empty
        store = sql_store_of(dataset.store)
        default = ()
    elif isinstance(graph, (Dataset, ConjunctiveGraph)):
        store = sql_store_of(graph.store)
        default = "union"
    elif isinstance(graph, Graph):
        store = sql_store_of(graph.store)
        ident = graph.identifier
        default = None if ident == DATASET_DEFAULT_GRAPH_ID else (ident,)
    else:
        return None
    if store is None:
        return None
    spec = DatasetSpec(default=default, named=named, disjoint=disjoint)
    return store, spec, (default, named, disjoint)


def evaluate_part(ctx: QueryContext, part: CompValue) -> Any:
    """rdflib CUSTOM_EVALS entry point (see module docstring).

    Raises:
        NotImplementedError: the node (as a whole) is not compiled to SQL.
    """
    name = getattr(part, "name", None)
    if name not in _PATTERN_NODES:
        raise NotImplementedError(name)
    found = _scope_of(ctx)
    if found is None:
        raise NotImplementedError("graph not backed by kg-engine's SQL store")
    store, spec, spec_key = found
    solution = ctx.solution()
    bound = {k: v for k, v in solution.items() if isinstance(k, (Variable, BNode))}
    bvars = frozenset(Variable("__bn_" + str(k)) if isinstance(k, BNode) else k for k in bound)
    key = (id(part), store_token(store), spec_key, bvars)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is part:
        cq = hit[1]
        _CACHE.move_to_end(key)
    else:
        prologue = getattr(ctx, "prologue", None)  # the part is its query's: one base per key
        cq = _compile_part(store, part, spec, bvars,
                           prologue.base if prologue is not None else UNKNOWN_BASE)
        _CACHE[key] = (part, cq)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    if not cq.full:
        raise NotImplementedError("; ".join(cq.declined))
    values = {(Variable("__bn_" + str(k)) if isinstance(k, BNode) else k): v for k, v in bound.items()}
    rows = cq.run(store, values)  # may raise RuntimeDecline (a NotImplementedError)
    if name == "AskQuery":
        return {"type_": "ASK", "askAnswer": bool(rows)}
    vars_ = cq.vars
    base = dict(solution.items())
    sols = []
    for r in rows:
        d = dict(base)
        for v, x in zip(vars_, r):
            if x is not None and not str(v).startswith("__bn_"):
                d[v] = x
        sols.append(FrozenBindings(ctx, d))
    if name == "SelectQuery":
        return {"type_": "SELECT", "bindings": iter(sols), "vars_": part.PV}
    return iter(sols)


def _compile_part(store: Any, part: CompValue, spec: DatasetSpec, bvars: frozenset,
                  base: Any) -> CompiledQuery:
    return compile_plan(store, part, spec, bvars, "ASK" if part.name == "AskQuery" else "SELECT",
                        part, base)


def install() -> None:
    """Register :func:`evaluate_part` as ``rdflib.plugins.sparql.CUSTOM_EVALS["kg_engine"]``."""
    from rdflib.plugins.sparql import CUSTOM_EVALS
    CUSTOM_EVALS[HOOK_NAME] = evaluate_part


def uninstall() -> None:
    """Remove the hook installed by :func:`install`."""
    from rdflib.plugins.sparql import CUSTOM_EVALS
    CUSTOM_EVALS.pop(HOOK_NAME, None)
