"""Upgrade, in place, a store written by an older kg-engine to the current schema version.

Version 1 → 2: language tags are stored in lower case (see :mod:`kg_engine.store.terms`).
A version-1 store may hold ``"x"@EN``, hashed with its tag as written; version 2 looks that
term up as ``"x"@en`` and would no longer find it. The upgrade rewrites each such term
(tag and hash); where the store also holds the lower-case twin, the two become one term: every
statement, provenance row and derivation of the old id moves to the twin (a statement that
would then be there twice is kept once). All of it runs in one transaction on the first
writable open; a read-only open of a store that needs it is refused with the command to run,
and a version-1 store without upper-case tags is read as it is.

Example:
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> store.meta("schema_version")
    '2'
"""

from __future__ import annotations

from kg_engine.errors import StoreError
from kg_engine.store import schema
from kg_engine.store.database import Database
from kg_engine.store.terms import make_row

__all__ = ["UPGRADABLE", "upgrade"]

#: Versions this kg-engine upgrades in place.
UPGRADABLE = frozenset({"1"})


def upgrade(db: Database, version: str, url: str, *, readonly: bool) -> None:
    """Bring the store at ``db`` from ``version`` (one of :data:`UPGRADABLE`) to the current one.

    Raises:
        StoreError: ``readonly`` and the store's data needs rewriting, or the rewrite failed
            (nothing is changed then).
    """
    upper = (
        "SELECT id, lex, lang FROM kg_terms WHERE kind = ? AND lang <> '' AND lang <> lower(lang)"
    )
    if readonly:
        if db.fetchall(upper + " LIMIT 1", (schema.LITERAL,)):
            raise StoreError(
                f"{url} was written by an older kg-engine (store schema version {version}) and "
                "holds language tags in upper case, which this version stores in lower case: "
                f"upgrade it in place once by opening it for writing (kg vacuum --db {url})")
        return
    try:
        with db.transaction():
            for old, lex, lang in db.fetchall(upper, (schema.LITERAL,)):
                row = make_row(schema.LITERAL, lex, None, lang)
                twin = db.scalar(
                    "SELECT id FROM kg_terms WHERE h = ? AND kind = ? AND lex = ? AND lang = ?",
                    (row.h, schema.LITERAL, lex, row.lang))
                if twin is None:
                    db.execute("UPDATE kg_terms SET h = ?, lang = ? WHERE id = ?",
                               (row.h, row.lang, old))
                else:
                    _merge(db, old, twin)
            db.execute("UPDATE kg_meta SET value = ? WHERE key = ?",
                       (schema.SCHEMA_VERSION, schema.VERSION_KEY))
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"{url}: upgrading the store from schema version {version} to "
            f"{schema.SCHEMA_VERSION} failed ({exc}); nothing was changed: export it with the "
            "kg-engine that wrote it and load it again") from exc


#: Unique keys made of term ids, by table (a merge must not put a row there twice).
_KEYS = {
    "kg_quads": ("g", "s", "p", "o"),
    "kg_rules_derivations": ("g", "s", "p", "o"),
    "kg_rules_sameas": ("g", "id"),
    "kg_graphs": ("id",),
    "kg_stats": ("p",),
}


def _merge(db: Database, old: int, new: int) -> None:
    """Make term ``old`` the term ``new`` everywhere, then drop ``old``."""
    tables = {t for (t,) in db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table'" if db.dialect == "sqlite"
        else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    for table, columns in schema.TERM_ID_COLUMNS.items():
        if table not in tables:
            continue
        key = _KEYS.get(table, ())
        for column in columns:
            if column in key:  # a row already there with `new` is kept once
                same = " AND ".join(f"k.{c} = {table}.{c}" for c in key if c != column) or "1 = 1"
                db.execute(f"DELETE FROM {table} WHERE {column} = ? AND EXISTS "
                           f"(SELECT 1 FROM {table} k WHERE k.{column} = ? AND {same})",
                           (old, new))
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new, old))
    db.execute("DELETE FROM kg_terms WHERE id = ?", (old,))
