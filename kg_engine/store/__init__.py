"""Persistence: the SQL quad store (SQLite embedded, PostgreSQL at scale).

Public names: :class:`SQLStore`, :func:`open_store`, :data:`DEFAULT_URL`, and the bulk loader's
:class:`LoadResult`. The rdflib ``Store`` plugin lives in :mod:`kg_engine.store.rdflib_store`.
"""

from kg_engine.store.loader import LoadResult
from kg_engine.store.sqlstore import DEFAULT_URL, SQLStore, open_store

__all__ = ["DEFAULT_URL", "LoadResult", "SQLStore", "open_store"]
