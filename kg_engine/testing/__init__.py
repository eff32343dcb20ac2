"""Helpers for testing against kg-engine stores (used by our tests and the W3C runner).

``sqlite_dataset`` / ``postgres_dataset`` are zero-argument factories returning an empty
``rdflib.Dataset`` on a fresh store (SQLite in memory / a fresh schema on a throwaway PostgreSQL
server started by :mod:`kg_engine.testing.postgres`); ``memory_dataset`` runs kg-engine's SPARQL
engine over rdflib's in-memory store (engine conformance without SQL)::

    python ../shared/tools/w3c_sparql_suite.py --update --store kg_engine.testing:sqlite_dataset

:mod:`kg_engine.testing.differential` compares kg-engine's SPARQL answers with pyoxigraph's on
generated datasets and queries (``benchmarks/sparql_differential.py``).
"""

from __future__ import annotations

from rdflib import Dataset

from kg_engine.testing.postgres import PostgresUnavailable, TemporaryPostgres, shared_server

__all__ = [
    "PostgresUnavailable",
    "TemporaryPostgres",
    "memory_dataset",
    "postgres_dataset",
    "shared_server",
    "sqlite_dataset",
]


def memory_dataset() -> Dataset:
    """kg-engine's SPARQL engine over rdflib's in-memory store (no SQL)."""
    from kg_engine.sparql.rdflib_plugin import KgDataset

    return KgDataset(store="Memory")


def _sql_dataset(url: str) -> Dataset:
    from kg_engine.sparql.rdflib_plugin import KgDataset, KgSparqlStore
    from kg_engine.store import open_store

    return KgDataset(store=KgSparqlStore(store=open_store(url)))


def sqlite_dataset() -> Dataset:
    """An empty Dataset over a fresh in-memory SQLite kg-engine store."""
    return _sql_dataset("sqlite://")


def postgres_dataset() -> Dataset:
    """An empty Dataset over a fresh schema on the process's throwaway PostgreSQL server.

    Raises:
        PostgresUnavailable: no PostgreSQL server binaries are installed.
    """
    return _sql_dataset(shared_server().new_database_url())
