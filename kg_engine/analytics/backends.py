"""Graph libraries that run the algorithms: networkx (reference) and rustworkx (fast).

A backend turns an :class:`~kg_engine.analytics.view.IdView` into its own graph and answers
every algorithm with ``{node term id: value}``, so results are written back in id space and
both backends can be compared value by value (the tests do).

* ``networkx`` runs on the attributed ``MultiDiGraph`` of
  :func:`~kg_engine.analytics.view.to_networkx` — the graph a user would build by hand.
* ``rustworkx`` (``pip install 'kg-engine[analytics-fast]'``) builds a ``PyDiGraph`` of
  integer ids straight from the view, without decoding a term; parallel edges are kept, as
  in the networkx view. It has no Louvain and no sampled betweenness: those raise
  :class:`~kg_engine.errors.UnsupportedOperationError` naming the networkx backend.

Component and community numbers are canonical on both backends: 0 is the largest, ties
broken by the smallest node id.

Example:
    >>> from kg_engine.analytics.view import IdView
    >>> view = IdView(edges=[(1, 9, 2, 0, None), (2, 9, 3, 0, None)], nodes=[1, 2, 3, 4])
    >>> backend = get_backend("rustworkx")
    >>> backend.components(view, backend.build(None, view))
    {1: 0, 2: 0, 3: 0, 4: 1}
    >>> numbered([{7}, {3, 5}])
    {3: 0, 5: 0, 7: 1}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kg_engine.errors import ConfigError, MissingDependencyError, UnsupportedOperationError

__all__ = ["BACKENDS", "Backend", "NetworkxBackend", "RustworkxBackend", "get_backend",
           "numbered"]

#: Below this many nodes betweenness is exact unless ``k`` is given.
EXACT_BETWEENNESS_NODES = 2_000
#: Sampled sources for betweenness on bigger graphs: about this many edge visits in all
#: (each source walks the whole graph), between 32 and 256 sources.
BETWEENNESS_BUDGET = 20_000_000


def numbered(groups: Iterable[Iterable[int]]) -> dict[int, int]:
    """``{node: group number}`` with groups numbered by size (largest first), then smallest id."""
    ordered = sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))
    return {n: i for i, g in enumerate(ordered) for n in g}


class Backend:
    """What a backend offers; ``graph`` arguments are what :meth:`build` returned."""

    name = ""
    version = ""

    def build(self, store: Any, view: Any) -> Any:
        raise NotImplementedError

    def pagerank(self, view: Any, graph: Any, *, alpha: float = 0.85, tol: float = 1e-6,
                 max_iter: int = 100) -> dict[int, float]:
        raise NotImplementedError

    def degree(self, view: Any, graph: Any) -> dict[int, float]:
        raise NotImplementedError

    def betweenness(self, view: Any, graph: Any, *, k: int | None = None,
                    seed: int = 0) -> dict[int, float]:
        raise NotImplementedError

    def components(self, view: Any, graph: Any, *, strong: bool = False) -> dict[int, int]:
        raise NotImplementedError

    def communities(self, view: Any, graph: Any, *, resolution: float = 1.0,
                    seed: int = 0) -> dict[int, int]:
        raise NotImplementedError


def _betweenness_samples(n: int, m: int, k: int | None) -> int | None:
    """``None`` for exact betweenness, else the number of sampled sources."""
    if k is None:
        if n <= EXACT_BETWEENNESS_NODES:
            return None
        return min(256, max(32, BETWEENNESS_BUDGET // max(m, 1)), n)
    if k <= 0:
        raise ConfigError(f"betweenness samples k must be positive, got {k}")
    return None if k >= n else k


class NetworkxBackend(Backend):
    """The reference: networkx algorithms on the attributed view."""

    name = "networkx"

    def __init__(self) -> None:
        try:
            import networkx as nx
        except ImportError as exc:  # pragma: no cover
            raise MissingDependencyError("networkx", "analytics") from exc
        self.nx = nx
        self.version = nx.__version__

    def build(self, store: Any, view: Any) -> Any:
        from kg_engine.analytics.view import to_networkx

        g = to_networkx(store, view=view)
        # node term -> id, to hand results back in id space
        g.graph["ids"] = {t: i for i, t in view.terms.items()}
        return g

    @staticmethod
    def _ids(graph: Any, values: dict[Any, Any]) -> dict[int, Any]:
        ids = graph.graph["ids"]
        return {ids[n]: v for n, v in values.items()}

    def pagerank(self, view: Any, graph: Any, *, alpha: float = 0.85, tol: float = 1e-6,
                 max_iter: int = 100) -> dict[int, float]:
        if graph.number_of_nodes() == 0:
            return {}
        return self._ids(graph, self.nx.pagerank(graph, alpha=alpha, tol=tol, max_iter=max_iter))

    def degree(self, view: Any, graph: Any) -> dict[int, float]:
        return self._ids(graph, self.nx.degree_centrality(graph))

    def betweenness(self, view: Any, graph: Any, *, k: int | None = None,
                    seed: int = 0) -> dict[int, float]:
        samples = _betweenness_samples(graph.number_of_nodes(), graph.number_of_edges(), k)
        simple = self.nx.DiGraph(graph)
        return self._ids(graph, self.nx.betweenness_centrality(simple, k=samples, seed=seed))

    def components(self, view: Any, graph: Any, *, strong: bool = False) -> dict[int, int]:
        ids = graph.graph["ids"]
        found = (self.nx.strongly_connected_components(graph) if strong
                 else self.nx.weakly_connected_components(graph))
        return numbered([ids[n] for n in c] for c in found)

    def communities(self, view: Any, graph: Any, *, resolution: float = 1.0,
                    seed: int = 0) -> dict[int, int]:
        ids = graph.graph["ids"]
        und = self.nx.Graph()
        und.add_nodes_from(graph.nodes)
        for u, v in graph.edges():
            if u != v:
                w = und.get_edge_data(u, v, {"weight": 0})["weight"]
                und.add_edge(u, v, weight=w + 1)
        found = self.nx.community.louvain_communities(und, weight="weight",
                                                      resolution=resolution, seed=seed)
        return numbered([ids[n] for n in c] for c in found)


class RustworkxBackend(Backend):
    """rustworkx (Rust) on a ``PyDiGraph`` of ids, built without decoding terms."""

    name = "rustworkx"

    def __init__(self) -> None:
        try:
            import rustworkx as rx
        except ImportError as exc:
            raise MissingDependencyError("rustworkx", "analytics-fast") from exc
        self.rx = rx
        self.version = rx.__version__

    def build(self, store: Any, view: Any) -> Any:
        g = self.rx.PyDiGraph(multigraph=True)
        index = g.add_nodes_from(view.nodes)
        pos = dict(zip(view.nodes, index))
        g.add_edges_from_no_data([(pos[s], pos[o]) for s, _, o, _, _ in view.edges])
        return g

    @staticmethod
    def _ids(graph: Any, mapping: Any) -> dict[int, Any]:
        return {graph[i]: v for i, v in mapping.items()}

    def pagerank(self, view: Any, graph: Any, *, alpha: float = 0.85, tol: float = 1e-6,
                 max_iter: int = 100) -> dict[int, float]:
        if graph.num_nodes() == 0:
            return {}
        return self._ids(graph, self.rx.pagerank(graph, alpha=alpha, tol=tol, max_iter=max_iter))

    def degree(self, view: Any, graph: Any) -> dict[int, float]:
        n = graph.num_nodes()
        scale = 1.0 / (n - 1) if n > 1 else 1.0
        return {graph[i]: (graph.in_degree(i) + graph.out_degree(i)) * scale
                for i in graph.node_indices()}

    def betweenness(self, view: Any, graph: Any, *, k: int | None = None,
                    seed: int = 0) -> dict[int, float]:
        if _betweenness_samples(graph.num_nodes(), graph.num_edges(), k) is not None:
            raise UnsupportedOperationError(
                "rustworkx computes exact betweenness only; on a graph of "
                f"{graph.num_nodes():,} nodes use backend='networkx' for the k-sample "
                "approximation, or pass k >= the number of nodes for the exact value"
            )
        simple = self.rx.PyDiGraph(multigraph=False)
        simple.add_nodes_from(graph.nodes())
        simple.add_edges_from_no_data(list(graph.edge_list()))
        return self._ids(simple, self.rx.digraph_betweenness_centrality(simple, normalized=True))

    def components(self, view: Any, graph: Any, *, strong: bool = False) -> dict[int, int]:
        found = (self.rx.strongly_connected_components(graph) if strong
                 else self.rx.weakly_connected_components(graph))
        return numbered([graph[i] for i in c] for c in found)

    def communities(self, view: Any, graph: Any, *, resolution: float = 1.0,
                    seed: int = 0) -> dict[int, int]:
        raise UnsupportedOperationError(
            "rustworkx has no Louvain community detection; use backend='networkx'"
        )


BACKENDS = {"networkx": NetworkxBackend, "rustworkx": RustworkxBackend}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``"networkx"`` or ``"rustworkx"``).

    Raises:
        ConfigError: an unknown name (the message lists the valid ones).
        MissingDependencyError: the library is not installed.
    """
    if name not in BACKENDS:
        raise ConfigError(f"unknown analytics backend {name!r}; choose one of "
                          f"{', '.join(BACKENDS)}")
    return BACKENDS[name]()
