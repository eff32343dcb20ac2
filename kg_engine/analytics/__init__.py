"""Analytics: networkx views of the store and graph algorithms written back as triples.

* :func:`to_networkx` — a ``MultiDiGraph`` (or ``DiGraph``) of the store, built in id space.
* :func:`analyze` — PageRank, degree / betweenness centrality, connected / strongly connected
  components, Louvain communities; results go to ``urn:kg-engine:analytics:<name>``.
* :func:`shortest_path` and :func:`neighbourhood` — the statements along a path between two
  entities and the k-hop neighbourhood of one.

``KnowledgeGraph.to_networkx`` / ``.analyze`` / ``.shortest_path`` / ``.neighbourhood`` and
``kg analyze`` / ``kg path`` call these. networkx is the reference backend; rustworkx
(``pip install 'kg-engine[analytics-fast]'``) is the fast one, chosen with ``backend=``.
"""

from kg_engine.analytics.algorithms import ALGORITHMS, AnalyticsResult, analyze
from kg_engine.analytics.paths import neighbourhood, shortest_path
from kg_engine.analytics.view import IdView, select, to_networkx
from kg_engine.analytics.writeback import VOCAB

__all__ = [
    "ALGORITHMS",
    "VOCAB",
    "AnalyticsResult",
    "IdView",
    "analyze",
    "neighbourhood",
    "select",
    "shortest_path",
    "to_networkx",
]
