"""Which named graphs hold what: kg-engine's reserved graph names and the origin they imply.

kg-engine writes what it derives into named graphs of its own, so that answers, exports and
training data can keep asserted facts apart from derived ones:

* ``urn:kg-engine:inferred:<rule set>`` — triples materialised by the rule engine;
* ``urn:kg-engine:predicted:<model>`` — GNN link predictions;
* ``urn:kg-engine:analytics:<name>`` — results of graph algorithms (PageRank, components…).

Every other graph (and the default graph) holds asserted statements.

Example:
    >>> from rdflib import URIRef
    >>> graph_origin(URIRef("urn:kg-engine:inferred:rdfs")), graph_origin(URIRef("urn:g"))
    ('inferred', 'asserted')
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ANALYTICS_GRAPH_PREFIX",
    "INFERRED_GRAPH_PREFIX",
    "PREDICTED_GRAPH_PREFIX",
    "GraphOrigin",
    "graph_origin",
]

INFERRED_GRAPH_PREFIX = "urn:kg-engine:inferred:"
PREDICTED_GRAPH_PREFIX = "urn:kg-engine:predicted:"
ANALYTICS_GRAPH_PREFIX = "urn:kg-engine:analytics:"

GraphOrigin = Literal["asserted", "inferred", "predicted", "analytics"]


def graph_origin(graph: object) -> GraphOrigin:
    """What the statements of ``graph`` are, judged by its name (see the module docstring)."""
    name = str(graph)
    if name.startswith(INFERRED_GRAPH_PREFIX):
        return "inferred"
    if name.startswith(PREDICTED_GRAPH_PREFIX):
        return "predicted"
    if name.startswith(ANALYTICS_GRAPH_PREFIX):
        return "analytics"
    return "asserted"
