"""Paths and neighbourhoods: the statements that connect two entities or surround one.

* :func:`shortest_path` — the fewest statements linking entity A to entity B, each statement
  shown in its stored direction (edges are walked both ways unless ``directed=True``).
* :func:`neighbourhood` — the entities within ``k`` hops of one entity (found hop by hop in
  SQL, so the rest of the graph is never read) and the statements among them: the subgraph
  ``networkx.ego_graph(G, entity, radius=k, undirected=True)`` gives.

Both return an :class:`~kg_engine.analytics.view.IdView` restricted to the result (turn it
into networkx with ``to_networkx(store, view=…)``, into HTML with the exporter), plus the
statements as rdflib triples; ``write=True`` also copies them into
``urn:kg-engine:analytics:<name>``.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> ex = lambda n: URIRef("urn:ex:" + n)
    >>> _ = store.add([(ex("a"), ex("p"), ex("b")), (ex("c"), ex("q"), ex("b"))])
    >>> [tuple(str(t)[7:] for t in st) for st in shortest_path(store, ex("a"), ex("c")).triples]
    [('a', 'p', 'b'), ('c', 'q', 'b')]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from rdflib import RDF

from kg_engine.analytics.backends import get_backend
from kg_engine.analytics.view import IdView, _in_list, graph_ids, select
from kg_engine.analytics.writeback import RunInfo, write_triples
from kg_engine.core.terms import Term, Triple
from kg_engine.errors import ConfigError
from kg_engine.store.schema import LITERAL

__all__ = ["Subgraph", "neighbourhood", "shortest_path"]

_CHUNK = 500


@dataclass
class Subgraph:
    """A path or neighbourhood: its view (ids), its statements and nodes as rdflib terms.

    Attributes:
        view: the :class:`IdView` of the result.
        triples: the statements, in path order for a path.
        nodes: the entities, in path order for a path (the centre first for a neighbourhood).
        graph: the analytics graph written, if ``write=True``.
    """

    view: IdView
    triples: list[Triple]
    nodes: list[Term]
    graph: Any = None

    def __len__(self) -> int:
        return len(self.triples)


def _entity_id(store: Any, entity: Any, role: str = "entity") -> int:
    from rdflib import URIRef

    term = entity if hasattr(entity, "n3") else URIRef(str(entity))
    found = store.term_ids([term]).get(term)
    if found is None:
        raise ConfigError(f"the {role} {term.n3()} is not in the store {store.url}: give an IRI "
                          "that occurs in it")
    return found


def shortest_path(
    store: Any,
    source: Any,
    target: Any,
    *,
    directed: bool = False,
    backend: str = "networkx",
    write: bool = False,
    name: str = "path",
    **view_args: Any,
) -> Subgraph:
    """The statements along a shortest path from ``source`` to ``target``.

    Args:
        store: an open ``SQLStore``.
        source, target: entities (rdflib terms or IRI strings).
        directed: follow statements subject → object only.
        backend: ``"networkx"`` or ``"rustworkx"``.
        write: copy the statements into ``urn:kg-engine:analytics:<name>``.
        **view_args: the view (``graph``, ``predicates``, ``include_inferred``…, see
            :func:`~kg_engine.analytics.view.select`).

    Returns:
        A :class:`Subgraph` (empty when no path exists).

    Raises:
        ConfigError: an entity is not in the store.
    """
    a, b = _entity_id(store, source, "source"), _entity_id(store, target, "target")
    view = select(store, **view_args)
    impl = get_backend(backend)
    ids = _path_ids(impl, store, view, a, b, directed)
    if not ids:
        return Subgraph(IdView(), [], [])
    wanted = set(itertools.pairwise(ids))
    wanted |= {(v, u) for u, v in wanted}
    # among parallel statements, the best origin first, then the smallest predicate id
    best: dict[tuple[int, int], tuple[int, int, int, int, float | None]] = {}
    for edge in view.edges:
        s, p, o, c, _ = edge
        old = best.get((s, o))
        if (s, o) in wanted and (old is None or (c, p) < (old[3], old[1])):
            best[(s, o)] = edge
    edges = []
    for u, v in itertools.pairwise(ids):
        found = best.get((u, v)) or (None if directed else best.get((v, u)))
        assert found is not None  # the path came from these very edges
        edges.append(found)
    rows = [(s, p, o) for s, p, o, _, _ in edges]
    sub = IdView(edges=edges, nodes=list(ids), graphs=view.graphs)
    terms = sub.decode(store)
    result = Subgraph(sub, [(terms[s], terms[p], terms[o]) for s, p, o in rows],
                      [terms[i] for i in ids])
    if write:
        run = RunInfo("shortest_path", f"{impl.name} {impl.version}",
                      {"source": str(source), "target": str(target), "directed": directed})
        result.graph, _ = write_triples(store, name, rows, run)
    return result


def _path_ids(impl: Any, store: Any, view: IdView, a: int, b: int, directed: bool) -> list[int]:
    if a == b:
        return [a]
    if impl.name == "networkx":
        nx = impl.nx
        g = nx.DiGraph()
        g.add_nodes_from(view.nodes)
        g.add_edges_from((s, o) for s, _, o, _, _ in view.edges)
        if a not in g or b not in g:
            return []
        try:
            return list(nx.shortest_path(g if directed else g.to_undirected(as_view=True), a, b))
        except nx.NetworkXNoPath:
            return []
    g = impl.build(store, view)
    index = {g[i]: i for i in g.node_indices()}
    if a not in index or b not in index:
        return []
    paths = impl.rx.digraph_dijkstra_shortest_paths(g, index[a], target=index[b],
                                                     as_undirected=not directed)
    return [g[i] for i in paths[index[b]]] if index[b] in paths else []


def neighbourhood(
    store: Any,
    entity: Any,
    k: int = 1,
    *,
    graph: Any = None,
    include_inferred: bool = False,
    include_predicted: bool = False,
    limit: int = 5_000,
    write: bool = False,
    name: str = "neighbourhood",
) -> Subgraph:
    """The entities within ``k`` hops of ``entity`` (edges walked both ways) and the
    statements among them.

    Args:
        store: an open ``SQLStore``.
        entity: the centre (rdflib term or IRI string).
        k: number of hops (0: the entity alone).
        graph, include_inferred, include_predicted: the graphs read (as in
            :func:`~kg_engine.analytics.view.select`).
        limit: stop adding hops once this many entities are reached (the last hop is kept
            whole, so the result may exceed it).
        write: copy the statements into ``urn:kg-engine:analytics:<name>``.

    Raises:
        ConfigError: the entity is not in the store, or ``k < 0``.
    """
    if k < 0:
        raise ConfigError(f"the number of hops k must be >= 0, got {k}")
    centre = _entity_id(store, entity)
    gids, _ = graph_ids(store, graph, include_inferred, include_predicted)
    type_id = store.term_ids([RDF.type]).get(RDF.type)
    no_type = f" AND q.p <> {int(type_id)}" if type_id is not None else ""
    seen = {centre: None}
    frontier = [centre]
    for _ in range(k):
        if not frontier or len(seen) >= limit:
            break
        reached: set[int] = set()
        for i in range(0, len(frontier), _CHUNK):
            chunk = _in_list(frontier[i:i + _CHUNK])
            for s, o in store.db.execute(
                "SELECT q.s, q.o FROM kg_quads q JOIN kg_terms t ON t.id = q.o "
                f"WHERE q.g IN ({_in_list(gids)}){no_type} AND t.kind <> {LITERAL} "
                f"AND (q.s IN ({chunk}) OR q.o IN ({chunk}))"
            ):
                reached.add(s)
                reached.add(o)
        frontier = sorted(n for n in reached if n not in seen)
        for n in frontier:
            seen[n] = None
    view = select(store, graph=graph, include_inferred=include_inferred,
                  include_predicted=include_predicted, nodes=list(seen))
    rows = [(s, p, o) for s, p, o, _, _ in view.edges]
    terms = view.decode(store)
    result = Subgraph(view, [(terms[s], terms[p], terms[o]) for s, p, o in rows],
                      [terms[n] for n in seen])
    if write:
        run = RunInfo("neighbourhood", "kg-engine SQL",
                      {"entity": str(entity), "k": k, "limit": limit})
        result.graph, _ = write_triples(store, name, rows, run)
    return result
