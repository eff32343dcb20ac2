"""Persistence: the SQL quad store (SQLite embedded, PostgreSQL at scale).

Public names: :class:`SQLStore`, :func:`open_store`, :data:`DEFAULT_URL`, and the bulk loader's
:class:`LoadResult`. The rdflib ``Store`` plugin lives in :mod:`kg_engine.store.rdflib_store`.
"""

from typing import TYPE_CHECKING, Any

from kg_engine.store.sqlstore import DEFAULT_URL, SQLStore, open_store

if TYPE_CHECKING:
    from kg_engine.store.loader import LoadResult


def __getattr__(name: str) -> Any:
    # the loader (and its Turtle parser, whose Unicode regular expressions take ~0.1 s to
    # compile) is imported on first use: `kg query` and other readers never pay for it
    if name == "LoadResult":
        from kg_engine.store.loader import LoadResult

        return LoadResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["DEFAULT_URL", "LoadResult", "SQLStore", "open_store"]
