"""SPARQL 1.1 over the SQL store: parse with rdflib, compile to SQL, evaluate per the W3C spec.

Front door: :class:`~kg_engine.sparql.engine.QueryEngine` (``query``, ``update``, ``prepare``,
``explain``); :func:`~kg_engine.sparql.engine.default_engine` is the shared instance used by
``KnowledgeGraph.query``, the ``kg query`` CLI and the ``kg_engine`` rdflib store plugin.
"""

from __future__ import annotations

from kg_engine.sparql.engine import PreparedQuery, QueryEngine, default_engine
from kg_engine.sparql.parsing import parse_query, parse_update

__all__ = ["PreparedQuery", "QueryEngine", "default_engine", "parse_query", "parse_update"]
