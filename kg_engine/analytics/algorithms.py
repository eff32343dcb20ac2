"""Graph algorithms over a view of the store, results written back as triples.

:func:`analyze` is the one call: select the view (:mod:`~kg_engine.analytics.view`), build
the backend's graph (:mod:`~kg_engine.analytics.backends`), run the algorithm, and write one
statement per node into ``urn:kg-engine:analytics:<name>`` with the run's provenance
(:mod:`~kg_engine.analytics.writeback`).

=================  =========================  ==========================================
algorithm          value per node              parameters
=================  =========================  ==========================================
``pagerank``       ``kga:pagerank`` double     ``alpha=0.85``, ``tol=1e-6``, ``max_iter=100``
``degree``         ``kga:degree`` double       — (in + out degree / (n − 1))
``betweenness``    ``kga:betweenness`` double  ``k`` sampled sources (default: exact up to
                                               2,000 nodes, else 32–256 by size), ``seed=0``
``components``     ``kga:component`` integer   — weakly connected; 0 is the largest
``strong``         ``kga:component`` integer   — strongly connected components
``communities``    ``kga:community`` integer   Louvain: ``resolution=1.0``, ``seed=0``
=================  =========================  ==========================================

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> ex = lambda n: URIRef("urn:ex:" + n)
    >>> _ = store.add([(ex("a"), ex("p"), ex("b")), (ex("b"), ex("p"), ex("c")),
    ...                (ex("c"), ex("p"), ex("a")), (ex("d"), ex("p"), ex("c"))])
    >>> res = analyze(store, "pagerank")
    >>> res.top(1)[0][0], res.written
    (rdflib.term.URIRef('urn:ex:c'), 4)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rdflib import URIRef

from kg_engine.analytics.backends import get_backend
from kg_engine.analytics.view import IdView, select
from kg_engine.analytics.writeback import RunInfo, write_values
from kg_engine.core.terms import Term
from kg_engine.errors import ConfigError

__all__ = ["ALGORITHMS", "AnalyticsResult", "analyze"]


@dataclass(frozen=True)
class _Spec:
    method: str
    measure: str
    defaults: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)


#: name -> (backend method, result predicate, default parameters).
ALGORITHMS: dict[str, _Spec] = {
    "pagerank": _Spec("pagerank", "pagerank", {"alpha": 0.85, "tol": 1e-6, "max_iter": 100}),
    "degree": _Spec("degree", "degree", {}),
    "betweenness": _Spec("betweenness", "betweenness", {"k": None, "seed": 0}),
    "components": _Spec("components", "component", {}, {"strong": False}),
    "strong": _Spec("components", "component", {}, {"strong": True}),
    "communities": _Spec("communities", "community", {"resolution": 1.0, "seed": 0}),
}


@dataclass
class AnalyticsResult:
    """What :func:`analyze` returns.

    Attributes:
        name: the analysis name (its graph is ``urn:kg-engine:analytics:<name>``).
        algorithm: the algorithm run.
        backend: ``"networkx 3.6.1"``, ``"rustworkx 0.18.1"``…
        parameters: every parameter, defaults included.
        values: node term id -> value.
        graph: the graph written, or ``None`` with ``write=False``.
        written: value statements written.
        nodes: nodes in the view; ``edges``: statements in the view.
        seconds: ``{"view", "build", "algorithm", "write"}`` wall times.
    """

    name: str
    algorithm: str
    backend: str
    parameters: dict[str, Any]
    values: dict[int, Any] = field(repr=False)  # one per node: not printed (top() names them)
    graph: URIRef | None
    written: int
    nodes: int
    edges: int
    seconds: dict[str, float]
    _store: Any = field(repr=False, default=None)
    _view: IdView | None = field(repr=False, default=None)

    def top(self, n: int = 10) -> list[tuple[Term, Any]]:
        """The ``n`` nodes with the highest values (for components / communities: the
        representatives of the ``n`` largest groups with their sizes)."""
        if ALGORITHMS[self.algorithm].measure in ("component", "community"):
            sizes: dict[int, int] = {}
            first: dict[int, int] = {}
            for node, group in self.values.items():
                sizes[group] = sizes.get(group, 0) + 1
                first[group] = min(first.get(group, node), node)
            best = sorted(sizes, key=lambda g: (-sizes[g], g))[:n]
            terms = self._terms([first[g] for g in best])
            return [(terms[first[g]], sizes[g]) for g in best]
        best_nodes = sorted(self.values, key=lambda k: (-self.values[k], k))[:n]
        terms = self._terms(best_nodes)
        return [(terms[k], self.values[k]) for k in best_nodes]

    def label(self, node: Term) -> str | None:
        """The label of a node of the view (``rdfs:label`` and friends), if it has one."""
        if self._view is None:
            return None
        node_id = self._store.term_ids([node]).get(node)
        return None if node_id is None else self._view.labels.get(node_id)

    def as_terms(self) -> dict[Term, Any]:
        """Values keyed by node term (decodes every node once)."""
        terms = self._terms(list(self.values))
        return {terms[k]: v for k, v in self.values.items()}

    def _terms(self, ids: list[int]) -> dict[int, Term]:
        if self._view is not None:
            return self._view.decode(self._store, ids)
        return self._store.decode(ids)


def analyze(
    store: Any,
    algorithm: str,
    *,
    backend: str = "networkx",
    write: bool = True,
    name: str | None = None,
    graph: Any = None,
    query: str | None = None,
    predicates: Any = None,
    include_inferred: bool = False,
    include_predicted: bool = False,
    kg: Any = None,
    **params: Any,
) -> AnalyticsResult:
    """Run ``algorithm`` on a view of the store and (by default) write the result back.

    Args:
        store: an open ``SQLStore``.
        algorithm: one of :data:`ALGORITHMS` (see the module docstring).
        backend: ``"networkx"`` (reference) or ``"rustworkx"`` (fast; optional extra).
        write: write the values into ``urn:kg-engine:analytics:<name>`` (replacing it).
        name: analysis name (default: the algorithm name).
        graph, query, predicates, include_inferred, include_predicted: the view (see
            :func:`~kg_engine.analytics.view.select`).
        kg: the ``KnowledgeGraph`` (only for ``query``).
        **params: the algorithm's parameters (module docstring).

    Returns:
        An :class:`AnalyticsResult`.

    Raises:
        ConfigError: unknown algorithm, backend or parameter; unknown graph.
        UnsupportedOperationError: the backend lacks the algorithm (message names the other).
        MissingDependencyError: networkx / rustworkx not installed.
    """
    spec = ALGORITHMS.get(algorithm)
    if spec is None:
        raise ConfigError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    unknown = set(params) - set(spec.defaults)
    if unknown:
        allowed = ", ".join(spec.defaults) or "none"
        raise ConfigError(f"{algorithm} takes no parameter {', '.join(sorted(unknown))} "
                          f"(its parameters: {allowed})")
    parameters = {**spec.defaults, **params}
    impl = get_backend(backend)
    t0 = time.perf_counter()
    view = select(store, graph=graph, query=query, predicates=predicates,
                  include_inferred=include_inferred, include_predicted=include_predicted, kg=kg)
    t1 = time.perf_counter()
    built = impl.build(store, view)
    t2 = time.perf_counter()
    values = getattr(impl, spec.method)(view, built, **parameters, **spec.fixed)
    t3 = time.perf_counter()
    name = name or algorithm
    target, written = None, 0
    if write:
        terms = view.decode(store, view.graphs)
        run = RunInfo(algorithm=algorithm, backend=f"{impl.name} {impl.version}",
                      parameters=parameters,
                      source_graphs=[terms[g] for g in view.graphs if g != 0])
        target, written = write_values(store, name, spec.measure, values, run)
    t4 = time.perf_counter()
    return AnalyticsResult(
        name=name, algorithm=algorithm, backend=f"{impl.name} {impl.version}",
        parameters=parameters, values=values, graph=target, written=written,
        nodes=len(view.nodes), edges=len(view.edges),
        seconds={"view": t1 - t0, "build": t2 - t1, "algorithm": t3 - t2, "write": t4 - t3},
        _store=store, _view=view,
    )

