"""Upgrade, in place, a store written by an older kg-engine to the current schema version.

Version 1 → 2: language tags are stored in lower case (see :mod:`kg_engine.store.terms`).
A version-1 store may hold ``"x"@EN``, hashed with its tag as written; version 2 looks that
term up as ``"x"@en`` and would no longer find it. The upgrade rewrites each such term
(tag and hash); where the store also holds the lower-case twin, the two become one term: every
statement, provenance row and derivation of the old id moves to the twin (a statement that
would then be there twice is kept once).

Version 2 → 3: what older versions stored without a version change is brought up to date
(``benchmarks/store_upgrades.py`` found both by opening stores written by historical commits):

* the value columns (``num``, ``dtm``, ``bln``) are recomputed: before 491ac12 an integer
  out of its subtype's range (``"300"^^xsd:byte``) had a value, so ``FILTER(?x > 100)``,
  ``isNumeric``, the EBV and casts took it as a number on an old store and as ill-typed on a
  new one; before fd2be52 an ``xsd:float`` had its double value;
* the reasoning profile's closure is recomputed by this version's rule engine: a closure an
  older engine left differs (before 0a8976e a conclusion asserted only in a named graph was
  left out of the default graph's answers: 270 statements where a fresh store answers 285),
  and live maintenance only ever extends or shrinks the closure it finds.

Within version 3, the profile's closure is recomputed when another rule engine computed it
(:func:`refresh_closure`: ``kg_meta`` key ``rules_engine`` against
:data:`~kg_engine.store.reasoning.RULES_ENGINE_VERSION`; a store without the key counts as
engine version 1). The 2 → 3 upgrade's recompute records this engine's version.

All of it runs in one transaction on the first writable open. A read-only open of a store
that needs any of it is refused with the command to run; one that needs none (no upper-case
tag, every value as computed here, no reasoning profile) is read as it is.

Example:
    >>> from kg_engine.store import open_store
    >>> store = open_store("sqlite://")
    >>> store.meta("schema_version")
    '3'
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kg_engine.errors import StoreError, StoreUpgradeRequired
from kg_engine.store import schema
from kg_engine.store.database import Database
from kg_engine.store.reasoning import RULES_ENGINE_VERSION, closure_outdated, read_profile
from kg_engine.store.terms import VALUED_DATATYPES, make_row, typed_values

__all__ = ["UPGRADABLE", "refresh_closure", "upgrade"]

#: Versions this kg-engine upgrades in place.
UPGRADABLE = frozenset({"1", "2"})


def upgrade(db: Database, version: str, url: str, *, readonly: bool,
            recompute_closure: Callable[[], None] | None = None) -> None:
    """Bring the store at ``db`` from ``version`` (one of :data:`UPGRADABLE`) to the current one.

    Args:
        db: the store's database.
        version: the store's schema version.
        url: the store's URL (for messages).
        readonly: refuse, rather than write, where the store needs rewriting.
        recompute_closure: recomputes the reasoning profile's closure (called inside the
            upgrade's transaction when the store has a profile).

    Raises:
        StoreUpgradeRequired: ``readonly`` and the store's data needs rewriting.
        StoreError: the rewrite failed (nothing is changed then).
    """
    upper = (
        "SELECT id, lex, lang FROM kg_terms WHERE kind = ? AND lang <> '' AND lang <> lower(lang)"
    )
    profile = read_profile(db)
    if readonly:
        needs = []
        if version == "1" and db.fetchall(upper + " LIMIT 1", (schema.LITERAL,)):
            needs.append("holds language tags in upper case, which this version stores in "
                         "lower case")
        stale = _stale_values(db)
        if stale:
            needs.append(f"holds {len(stale)} literal(s) whose value this version computes "
                         "differently (integers out of their datatype's range, xsd:float)")
        if profile is not None:
            needs.append(f"has the reasoning profile {profile.rules}, whose closure this "
                         "version's rule engine recomputes")
        if needs:
            raise StoreUpgradeRequired(
                f"{url} was written by an older kg-engine (store schema version {version}) and "
                f"{'; it '.join(needs)}: upgrade it in place once by opening it for writing "
                f"(kg vacuum --db {url})")
        return
    try:
        with db.transaction():
            if version == "1":
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
            stale = _stale_values(db)
            if stale:
                db.executemany("UPDATE kg_terms SET num = ?, dtm = ?, bln = ? WHERE id = ?",
                               stale)
            if profile is not None and recompute_closure is not None:
                recompute_closure()
            db.execute("UPDATE kg_meta SET value = ? WHERE key = ?",
                       (schema.SCHEMA_VERSION, schema.VERSION_KEY))
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"{url}: upgrading the store from schema version {version} to "
            f"{schema.SCHEMA_VERSION} failed ({exc}); nothing was changed: export it with the "
            "kg-engine that wrote it and load it again") from exc


def refresh_closure(db: Database, url: str, *, readonly: bool,
                    recompute_closure: Callable[[], None]) -> None:
    """Recompute the reasoning profile's closure (one transaction) when a rule engine of
    another version computed it (:func:`~kg_engine.store.reasoning.closure_outdated`).

    Raises:
        StoreUpgradeRequired: ``readonly`` and the closure needs recomputing.
        StoreError: the recompute failed (nothing is changed then).
    """
    old = closure_outdated(db)
    if old is None:
        return
    profile = read_profile(db)
    if readonly:
        raise StoreUpgradeRequired(
            f"{url} has the reasoning profile {profile.rules if profile else '?'}, whose closure "
            f"rule engine version {old} computed and this kg-engine (version "
            f"{RULES_ENGINE_VERSION}) derives differently: recompute it once by opening the "
            f"store for writing (kg vacuum --db {url})")
    try:
        with db.transaction():
            recompute_closure()
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"{url}: recomputing the reasoning profile's closure (rule engine version {old} → "
            f"{RULES_ENGINE_VERSION}) failed ({exc}); nothing was changed: kg reason --off, "
            "then kg reason again") from exc


def _stale_values(db: Database) -> list[tuple[float | None, float | None, int | None, int]]:
    """``(num, dtm, bln, id)`` of each literal whose stored value columns differ from what
    :func:`~kg_engine.store.terms.typed_values` computes now."""
    marks = ", ".join("?" * len(VALUED_DATATYPES))
    datatypes = dict(db.fetchall(f"SELECT id, lex FROM kg_terms WHERE kind = ? AND lex IN ({marks})",
                                 (schema.IRI, *sorted(VALUED_DATATYPES))))
    if not datatypes:
        return []
    ids = ", ".join(str(int(i)) for i in datatypes)
    stale = []
    for tid, lex, dt, num, dtm, bln in db.fetchall(
            f"SELECT id, lex, dt, num, dtm, bln FROM kg_terms WHERE kind = ? AND dt IN ({ids})",
            (schema.LITERAL,)):
        values = typed_values(lex, datatypes[dt])
        if values != (num, dtm, bln) and not _same(values, (num, dtm, bln)):
            stale.append((*values, tid))
    return stale


def _same(a: tuple, b: tuple) -> bool:
    """Equal value columns, a stored NaN (PostgreSQL keeps one) counting as no value."""
    return all(x == y or (x is None and isinstance(y, float) and math.isnan(y))
               for x, y in zip(a, b, strict=True))


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
