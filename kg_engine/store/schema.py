"""The relational schema of the store (SQLAlchemy Core; same tables on SQLite and PostgreSQL).

Layout (the design the fastest SQL-backed RDF stores converged on, see DESIGN.md):

``kg_terms`` — the term dictionary. Every RDF term is stored once, exactly as written:

=========  ===========================================================================
column     meaning
=========  ===========================================================================
id         integer id, 1, 2, 3… (0 is reserved for the default graph, never a term)
h          64-bit hash of (kind, lex, dt, lang); the lookup key (see ``store.terms``)
kind       1 = IRI, 2 = blank node, 3 = literal
lex        IRI string, blank node label, or literal lexical form — never canonicalised
dt         id of the datatype IRI term (0: no datatype, i.e. a plain or language literal)
lang       language tag as written ('' when none)
num        numeric value of xsd numeric literals (NULL otherwise, or if ill-typed)
dtm        xsd:dateTime / xsd:date as seconds since 1970-01-01T00:00:00Z (no timezone: UTC)
bln        xsd:boolean value 0/1
=========  ===========================================================================

``kg_quads`` — one integer row per statement ``(g, s, p, o)``; ``g = 0`` is the default
graph. Primary key SPOG (``WITHOUT ROWID`` on SQLite, so the table *is* the SPOG index) plus
covering indexes POSG, OSPG and GSPO.

``kg_graphs`` — named graphs that exist even when empty (SPARQL ``CREATE GRAPH``).

``kg_provenance`` — per-statement provenance for extracted / predicted / explicitly
attributed statements (``core.Provenance``); bulk file loads are recorded once per load in
``kg_loads`` instead of once per triple.

``kg_stats`` — per-predicate statistics (triples, distinct subjects, distinct objects),
refreshed after loads; the SPARQL compiler orders joins with them.

``kg_meta`` — key/value facts about the store. Its row ``schema_version`` is the marker that
makes a database a kg-engine store: a database with tables but without it is somebody
else's and is never changed; a newer version than :data:`SCHEMA_VERSION` was written by a
newer kg-engine. Other packages keep small facts here too (``SQLStore.meta/set_meta``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BNODE",
    "DEFAULT_GRAPH_ID",
    "IRI",
    "LITERAL",
    "QUAD_INDEXES",
    "SCHEMA_VERSION",
    "TERM_EPOCH_KEY",
    "TERM_HASH_INDEX",
    "TERM_ID_COLUMNS",
    "TERM_ID_FLOOR_KEY",
    "VERSION_KEY",
    "check_version",
]

#: 2: language tags in lower case; 3: value columns as this version computes them and the
#: reasoning profile's closure as this version's rule engine computes it (store/migrate.py
#: upgrades 1 and 2)
SCHEMA_VERSION = "3"
#: The ``kg_meta`` key whose value is the schema version: the marker of a kg-engine store.
VERSION_KEY = "schema_version"
#: Graph id of the default graph in ``kg_quads.g``.
DEFAULT_GRAPH_ID = 0
#: Values of ``kg_terms.kind``.
IRI, BNODE, LITERAL = 1, 2, 3

#: The index of ``kg_terms`` by hash (term look-ups); dropped during loads into an empty store.
TERM_HASH_INDEX = "kg_terms_h"

#: Secondary covering indexes of kg_quads: name -> column order. Dropped and rebuilt
#: around large bulk loads, so they are kept apart from the table definition.
QUAD_INDEXES: dict[str, tuple[str, ...]] = {
    "kg_quads_posg": ("p", "o", "s", "g"),
    "kg_quads_ospg": ("o", "s", "p", "g"),
    "kg_quads_gspo": ("g", "s", "p", "o"),
}

#: the SQLAlchemy tables (``schema.terms``, ``schema.metadata``…), built on first use (creating
#: a store): importing SQLAlchemy costs ~0.16 s CPU, which a process that only opens an
#: existing store (``kg query``) never pays
_TABLES = ("metadata", "terms", "quads", "graphs", "provenance", "loads", "stats", "meta")


def _build_tables() -> dict[str, Any]:
    from sqlalchemy import (
        BigInteger,
        Column,
        Float,
        Index,
        Integer,
        MetaData,
        PrimaryKeyConstraint,
        SmallInteger,
        Table,
        Text,
    )

    # BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
    _Id = BigInteger().with_variant(Integer(), "sqlite")

    metadata = MetaData()

    terms = Table(
        "kg_terms",
        metadata,
        Column("id", _Id, primary_key=True, autoincrement=False),
        Column("h", BigInteger, nullable=False),
        Column("kind", SmallInteger, nullable=False),
        Column("lex", Text, nullable=False),
        Column("dt", _Id, nullable=False, default=0),
        Column("lang", Text, nullable=False, default=""),
        Column("num", Float(precision=53)),
        Column("dtm", Float(precision=53)),
        Column("bln", SmallInteger),
        Index("kg_terms_h", "h"),
    )

    quads = Table(
        "kg_quads",
        metadata,
        Column("g", _Id, nullable=False),
        Column("s", _Id, nullable=False),
        Column("p", _Id, nullable=False),
        Column("o", _Id, nullable=False),
        PrimaryKeyConstraint("s", "p", "o", "g", name="kg_quads_spog"),
        sqlite_with_rowid=False,
    )


    graphs = Table(
        "kg_graphs",
        metadata,
        Column("id", _Id, primary_key=True, autoincrement=False),
    )

    provenance = Table(
        "kg_provenance",
        metadata,
        Column("id", _Id, primary_key=True, autoincrement=True),
        Column("g", _Id, nullable=False),
        Column("s", _Id, nullable=False),
        Column("p", _Id, nullable=False),
        Column("o", _Id, nullable=False),
        Column("kind", Text, nullable=False),
        Column("source", Text),
        Column("sentence", Integer),
        Column("start", Integer),
        Column("end", Integer),
        Column("text", Text),
        Column("agent", Text),
        Column("version", Text),
        Column("confidence", Float(precision=53)),
        Column("detail", Text),
        Index("kg_provenance_spog", "s", "p", "o", "g"),
        Index("kg_provenance_source", "source"),
    )

    loads = Table(
        "kg_loads",
        metadata,
        Column("id", _Id, primary_key=True, autoincrement=True),
        Column("source", Text, nullable=False),
        Column("graph", _Id, nullable=False),
        Column("format", Text),
        Column("statements", BigInteger, nullable=False),
        Column("loaded_at", Text, nullable=False),
    )

    stats = Table(
        "kg_stats",
        metadata,
        Column("p", _Id, primary_key=True, autoincrement=False),
        Column("triples", BigInteger, nullable=False),
        Column("subjects", BigInteger, nullable=False),
        Column("objects", BigInteger, nullable=False),
    )

    meta = Table(
        "kg_meta",
        metadata,
        Column("key", Text, primary_key=True),
        Column("value", Text, nullable=False),
    )
    return {"metadata": metadata, "terms": terms, "quads": quads, "graphs": graphs,
            "provenance": provenance, "loads": loads, "stats": stats, "meta": meta}


def __getattr__(name: str) -> Any:
    if name in _TABLES:
        globals().update(_build_tables())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_version(version: str, url: str) -> None:
    """Raise :class:`~kg_engine.errors.StoreError` unless ``version`` is readable here.

    Example:
        >>> check_version(SCHEMA_VERSION, "sqlite:///kg.sqlite")
        >>> check_version("99", "sqlite:///kg.sqlite")
        Traceback (most recent call last):
        ...
        kg_engine.errors.StoreError: sqlite:///kg.sqlite was created by a newer kg-engine (store schema version 99; this kg-engine reads version 3): upgrade kg-engine (pip install -U kg-engine)
    """
    from kg_engine.errors import StoreError

    if version == SCHEMA_VERSION:
        return
    if version.isdigit() and int(version) > int(SCHEMA_VERSION):
        raise StoreError(
            f"{url} was created by a newer kg-engine (store schema version {version}; this "
            f"kg-engine reads version {SCHEMA_VERSION}): upgrade kg-engine (pip install -U "
            "kg-engine)")
    raise StoreError(
        f"{url} has kg-engine store schema version {version!r}, this kg-engine reads "
        f"{SCHEMA_VERSION}: export it with the kg-engine that wrote it and load it again")

#: Every table column holding term ids, by table (tables of other packages included: the
#: store cannot import them). ``kg vacuum`` keeps exactly the terms these columns use (and
#: their datatypes); a new table holding term ids must be listed here.
TERM_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "kg_quads": ("g", "s", "p", "o"),
    "kg_graphs": ("id",),
    "kg_provenance": ("g", "s", "p", "o"),
    "kg_loads": ("graph",),
    "kg_stats": ("p",),
    "kg_rules_derivations": ("g", "s", "p", "o"),
    "kg_rules_programs": ("g",),
    "kg_rules_sameas": ("g", "id", "rep"),
}
#: ``kg_meta`` key: ids up to this value were handed out once and are never given again.
TERM_ID_FLOOR_KEY = "term_id_floor"
#: ``kg_meta`` key: how many times ``vacuum`` deleted terms; a process whose cached term ids
#: predate the current value drops them (``store.dictionary``).
TERM_EPOCH_KEY = "term_epoch"
