"""Shortest paths and k-hop neighbourhoods against networkx."""

from __future__ import annotations

import networkx as nx
import pytest

from kg_engine.analytics import neighbourhood, shortest_path, to_networkx
from kg_engine.errors import ConfigError

from .conftest import ex, random_store


@pytest.mark.parametrize("backend", ["networkx", "rustworkx"])
@pytest.mark.parametrize("directed", [False, True])
def test_shortest_path_length_and_statements(backend, directed):
    pytest.importorskip(backend)
    store = random_store(40, 70, seed=11)
    g = to_networkx(store)
    ref = g if directed else g.to_undirected(as_view=True)
    stored = {(s, p, o) for s, p, o, _ in store.triples()}
    checked = 0
    for a, b in [(ex("n0"), ex(f"n{i}")) for i in range(1, 40)]:
        path = shortest_path(store, a, b, directed=directed, backend=backend)
        if not nx.has_path(ref, a, b):
            assert path.triples == [] and path.nodes == []
            continue
        checked += 1
        assert len(path.triples) == nx.shortest_path_length(ref, a, b)
        assert path.nodes[0] == a and path.nodes[-1] == b
        for (s, p, o), u, v in zip(path.triples, path.nodes, path.nodes[1:]):
            assert (s, p, o) in stored and {s, o} == {u, v}
            if directed:
                assert (s, o) == (u, v)
    assert checked > 5


def test_path_write_and_errors(small_store):
    path = shortest_path(small_store, ex("d"), ex("b"), write=True)
    assert [t[1] for t in path.triples] == [ex("worksFor"), ex("knows")]
    assert len(list(small_store.triples(graph=path.graph))) >= 2
    with pytest.raises(ConfigError, match="not in the store"):
        shortest_path(small_store, ex("a"), ex("zzz"))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_neighbourhood_is_ego_graph(k):
    store = random_store(60, 90, seed=4)
    g = to_networkx(store)
    ego = nx.ego_graph(g, ex("n1"), radius=k, undirected=True)
    sub = neighbourhood(store, ex("n1"), k)
    assert set(sub.nodes) == set(ego.nodes)
    assert set(sub.triples) == {(s, p, o) for s, o, p in ego.edges(keys=True)}
    assert sub.nodes[0] == ex("n1")
