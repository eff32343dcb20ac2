"""Turn SQL result rows back into rdflib terms.

Id columns are decoded through a per-store id → term cache (the store never re-numbers or deletes
dictionary entries, so cached terms stay valid); misses are fetched with one batched
``kg_terms`` lookup per 900 distinct ids (PostgreSQL: per 50,000, as an array; lexical
forms are kept exactly). Value columns (aggregates, arithmetic, string functions) are turned
into literals by their type code:

====  ===========================================================
code  term
====  ===========================================================
-1    xsd:integer          -2  xsd:decimal (exact; AVG = SUM/COUNT)
-3    xsd:float            -4  xsd:double
-5    simple literal       -6  xsd:boolean
-7    any term, encoded as text by :func:`encode` (SQLite's Python callbacks, :mod:`.pyexpr`)
> 0   the datatype with that term id (MIN/MAX of typed numbers)
-99   SQL could not compute it exactly: :class:`RuntimeDecline`
NULL  unbound
====  ===========================================================
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from itertools import filterfalse, repeat
from operator import is_
from typing import Any

from rdflib.namespace import XSD
from rdflib.term import BNode, Identifier, Literal, URIRef

from kg_engine.sparql.rows import ColumnRows, columns_of, without_gc
from kg_engine.sparql.xsd import float_str
from kg_engine.store.schema import BNODE, IRI, LITERAL
from kg_engine.store.terms import decode as decode_term

from .block import Decline
from .context import NUMERIC_DTS
from .render import Layout

__all__ = ["RuntimeDecline", "decode_rows", "fetch_terms", "forget_terms", "share_terms"]

#: separates the parts of an encoded literal (:func:`encode`)
ENCODED_SEP = "\x1f"


def encode(term: Identifier | None) -> str | None:
    """The text encoding of an RDF term (``None`` for an error or unbound value): a value of type
    code ``-7``, written and read by SQLite's Python callbacks (:mod:`.pyexpr`)."""
    if isinstance(term, Literal):  # (plain str: rdflib's terms turn "x" + term into a term)
        return f"L{term.language or ''}{ENCODED_SEP}{term.datatype or ''!s}{ENCODED_SEP}{term!s}"
    if isinstance(term, URIRef):
        return "I" + str(term)
    if isinstance(term, BNode):
        return "B" + str(term)
    return None


def decode_encoded(text: str) -> Identifier:
    """The term :func:`encode` wrote (lexical form kept exactly)."""
    tag, rest = text[0], text[1:]
    if tag == "I":
        return decode_term(IRI, rest, None, None)
    if tag == "B":
        return decode_term(BNODE, rest, None, None)
    lang, dt, lex = rest.split(ENCODED_SEP, 2)
    return decode_term(LITERAL, lex, dt or None, lang or None)


_CHUNK = 900
_PG_CHUNK = 50_000
_INTEGER_FAMILY = NUMERIC_DTS - {str(XSD.decimal), str(XSD.float), str(XSD.double)}


class RuntimeDecline(Decline):
    """A result SQL computed cannot be represented exactly; rdflib must evaluate instead."""


def fetch_terms(store: Any, ids: Sequence[int], cache: dict[int, Identifier] | None = None
                ) -> dict[int, Identifier]:
    """Decode positive term ids with their exact lexical forms (batched ``IN`` lookups)."""
    out: dict[int, Identifier] = {}
    ids = list(ids)
    rows: list[tuple] = []
    if getattr(store, "dialect", None) == "postgresql":
        # one array parameter per 50k ids: a cold decode of a large result makes a few
        # round trips instead of one per 900 ids (2-3x less client CPU at 75k ids)
        for k in range(0, len(ids), _PG_CHUNK):
            rows.extend(store.db.fetchall(
                "SELECT id, kind, lex, dt, lang FROM kg_terms WHERE id = ANY(?::bigint[])",
                (ids[k:k + _PG_CHUNK],)))
    else:
        for k in range(0, len(ids), _CHUNK):
            chunk = ids[k:k + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows.extend(store.db.fetchall(
                f"SELECT id, kind, lex, dt, lang FROM kg_terms WHERE id IN ({marks})", chunk))
    dts = {int(r[3]) for r in rows if r[3]}
    known = cache if cache is not None else {}
    todo = sorted(d for d in dts if d not in known)
    dtmap: dict[int, Identifier] = {d: known[d] for d in dts if d in known}
    if todo:
        marks = ", ".join("?" * len(todo))
        for i, lex in store.db.fetchall(f"SELECT id, lex FROM kg_terms WHERE id IN ({marks})", todo):
            dtmap[int(i)] = str.__new__(URIRef, lex)
            if cache is not None:
                cache[int(i)] = dtmap[int(i)]
    new = str.__new__
    for i, kind, lex, dt, lang in rows:
        if kind == IRI:  # the common case, inline
            out[i] = new(URIRef, lex)
        else:
            out[i] = _fast_term(kind, lex, dtmap.get(int(dt)) if dt else None, lang)
    return out


def _dec(v: Any) -> Decimal:
    if isinstance(v, int):
        return Decimal(v)
    f = float(v)
    if f.is_integer():
        return Decimal(int(f))
    return Decimal(repr(f))


def _canon_decimal(d: Decimal) -> str:
    """xsd:decimal canonical-ish form: at least one digit after the point ("2.0", "2.5")."""
    s = format(d.normalize() if d != 0 else Decimal(0), "f")
    if "." not in s:
        s += ".0"
    return s


def _value(v: Any, t: int, n: Any, dts: dict[int, Identifier]) -> Identifier | None:
    if t == -1:
        if isinstance(v, str) and v.lstrip("-").isdigit():  # read through text (a PostgreSQL UNION)
            v = int(v)
        return Literal(round(float(v)) if not isinstance(v, int) else v)
    if t == -2:
        try:
            d = _dec(v) / Decimal(int(n)) if n else _dec(v)
        except (InvalidOperation, ValueError):
            raise RuntimeDecline("decimal value") from None
        return Literal(_canon_decimal(d), datatype=XSD.decimal)
    if t in (-3, -4):
        f = float(v) / float(n) if n else float(v)
        if n:
            return Literal(f)
        if t == -3:  # single precision, its shortest digits
            return Literal(float_str(f), datatype=XSD.float, normalize=False)
        return Literal(f, datatype=XSD.double)
    if t == -5:
        return Literal(str(v))
    if t == -6:
        return Literal(bool(int(v)))
    if t == -7:  # a term computed by a Python callback (see .pyexpr)
        return decode_encoded(v)
    if -105 < t < -100:
        # MIN/MAX over mixed numeric types: the winner's type is not known exactly; an
        # integral value with an integer among the inputs is taken as xsd:integer
        f = float(v)
        if f.is_integer() and n == 1:
            return Literal(int(f))
        return _value(v, -(-t - 100), None, dts) if -t - 100 > 2 else Literal(_dec(f))
    if t > 0:
        dt = dts.get(t)
        if dt is None:
            raise RuntimeDecline("unknown datatype")
        s = str(dt)
        f = float(v)
        if s in _INTEGER_FAMILY:
            return Literal(str(int(f)), datatype=dt)
        if s == str(XSD.decimal):
            return Literal(str(_dec(f)), datatype=dt)
        if s == str(XSD.float):
            return Literal(float_str(f), datatype=dt, normalize=False)
        return Literal(f, datatype=dt)
    raise RuntimeDecline(f"value with type code {t}")


def _fast_term(kind: int, lex: str, dt: Identifier | None, lang: str) -> Identifier:
    """An rdflib term from a dictionary row, skipping rdflib's re-validation for IRIs and
    plain / language-tagged / xsd:string literals (stored terms were validated on input)."""
    if kind == IRI:
        return str.__new__(URIRef, lex)
    if kind == LITERAL and (dt is None or dt == XSD.string):
        lit = str.__new__(Literal, lex)
        lit._language = lang or None
        lit._datatype = dt
        lit._value = lex
        lit._ill_typed = None if dt is None else False
        return lit
    return decode_term(kind, lex, str(dt) if dt is not None else None, lang)


def decode_rows(
    store: Any,
    layout: Layout,
    rows: Sequence[Sequence[Any]],
    constant: Callable[[int], Identifier],
    row: type[tuple] | None = None,
) -> list[tuple[Identifier | None, ...]]:
    """Decode SQL rows (``layout`` says where each variable's columns are).

    ``"id"`` entries are term ids (decoded through the store's term cache, misses fetched
    in batches); ``"val"`` entries are computed values. The work is done column by column
    with C-level ``map``/``zip`` (no Python loop per id cell): decoding costs about as much
    as fetching the rows.

    Args:
        store: the SQL store (for the ``kg_terms`` lookups).
        layout: from :func:`~.render.render`.
        rows: the SQL rows.
        constant: maps a negative id to the query constant it stands for.
        row: the tuple class of the decoded rows (e.g. :func:`kg_engine.sparql.rows.row_type`;
            default plain tuples).

    Raises:
        RuntimeDecline: a value SQL could not compute exactly (rdflib must evaluate).

    Example:
        >>> from kg_engine.store import open_store
        >>> from rdflib import URIRef, Variable
        >>> st = open_store("sqlite://")
        >>> st.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
        1
        >>> i = st.term_ids([URIRef("urn:b")])[URIRef("urn:b")]
        >>> decode_rows(st, [(Variable("x"), "id", 0)], [(i,), (None,)], lambda k: None)
        [(rdflib.term.URIRef('urn:b'),), (None,)]
    """
    if not rows:
        return []
    # every object made here survives: a garbage collection meanwhile would only scan
    return without_gc(_decode, store, layout, rows, constant, row)


def _decode(store: Any, layout: Layout, rows: Sequence[Sequence[Any]],
            constant: Callable[[int], Identifier], row: type[tuple] | None
            ) -> Sequence[tuple]:
    if not layout:
        return [tuple.__new__(row, ()) if row is not None else ()] * len(rows)
    columns = columns_of(rows)  # one list per SQL column
    cache, by_id = _term_cache(store)
    out_cols = _from_cache(cache, by_id, layout, columns)
    if out_cols is None:
        out_cols = _fetching(store, cache, by_id, layout, columns, constant)
    if row is not None:  # rows made when read: none kept for the garbage collector to walk
        return ColumnRows(row, out_cols)
    return list(zip(*out_cols))


def _from_cache(cache: dict[Any, Identifier | None], by_id: list[Identifier | None],
                layout: Layout, columns: list[list]) -> list[Any] | None:
    """The decoded columns when every term id (and every datatype a value needs) is cached
    (a warm result, the common case of a repeated query); ``None`` at the first miss.

    One look-up per id cell, in the id-indexed list where it can (:func:`_indexed`), else in
    the dict: on a large result each pass through a cache of 10^5-10^6 terms is a walk of
    scattered memory, and the passes that found the ids the cache lacks cost as much as the
    look-ups themselves."""
    get = cache.__getitem__  # a KeyError is a miss; NULL (unbound) is cached as None
    out_cols: list[Any] = []
    try:
        for _v, kind, i in layout:
            if kind == "id":
                column = _indexed(by_id, columns[i])
                out_cols.append(column if column is not None else list(map(get, columns[i])))
            elif all(map(cache.__contains__, {t for t in columns[i + 1] if t is not None and t > 0})):
                out_cols.append(None)
            else:
                return None
    except KeyError:
        return None
    for k, (_v, kind, i) in enumerate(layout):
        if kind != "id":
            out_cols[k] = [None if t is None else _value(v, int(t), n, cache)
                           for v, t, n in zip(columns[i], columns[i + 1], columns[i + 2])]
    return out_cols


def _indexed(by_id: list[Identifier | None], ids: list[Any]) -> list[Identifier | None] | None:
    """The terms of a column of ids from the id-indexed cache, or ``None`` unless every id is
    a positive one it holds (an unbound cell, a query constant's negative id, an id past its
    end or one it lacks: the dict decodes the column then).

    A look-up here reads one slot of a list; in the dict it probes a hash table and compares
    the key's int object, three scattered reads more per cell (a column of 604k cells, 10 M
    triples' q14: 30 % less CPU with the pass that finds misses; 75k, LUBM(10): 10 % less).

    Example:
        >>> _indexed([None, "a", "b"], [2, 1, 2]), _indexed([None, "a", None], [1, 2])
        (['b', 'a', 'b'], None)
        >>> _indexed([None, "a"], [1, -1]), _indexed([None, "a"], [1, None])
        (None, None)
    """
    try:
        if min(ids) <= 0:  # a constant (negative: the end of the list would answer)
            return None
        out = list(map(by_id.__getitem__, ids))
    except (TypeError, IndexError):  # None (unbound) among the ids, or an id past the end
        return None
    return None if any(map(is_, out, repeat(None))) else out


def _index(by_id: list[Identifier | None], terms: dict[int, Identifier]) -> None:
    """Put fetched ``terms`` (id -> term) into the id-indexed cache, up to
    :data:`_BY_ID_MAX` (the list is 8 bytes per id below the largest it holds)."""
    ids = [i for i in terms if 0 < i < _BY_ID_MAX]
    if not ids:
        return
    top = max(ids)
    if top >= len(by_id):
        by_id.extend(repeat(None, top + 1 - len(by_id)))
    deque(map(by_id.__setitem__, ids, map(terms.__getitem__, ids)), 0)


def _fetching(store: Any, cache: dict[Any, Identifier | None], by_id: list[Identifier | None],
              layout: Layout, columns: list[list],
              constant: Callable[[int], Identifier]) -> list[Any]:
    """The decoded columns, fetching the terms the cache lacks (and resolving the query's
    constants, negative ids)."""
    need: set[Any] = set()
    for _v, kind, i in layout:
        if kind == "id":
            need.update(columns[i])
        else:  # a value's type code > 0 is the id of its datatype
            need.update(t for t in columns[i + 1] if t is not None and t > 0)
    need.discard(None)
    missing = set(filterfalse(cache.__contains__, need))  # O(len(need)), not O(len(cache))
    if missing and len(cache) + len(missing) > _TERM_CACHE_MAX:
        # full: start over with this result's terms (so a result with more terms than the
        # bound decodes from memory when run again, instead of fetching them every run)
        cache, by_id = _term_cache(store, reset=True)
        missing = need
    need = missing
    constants: dict[Any, Identifier] = {x: constant(int(x)) for x in need if x <= 0}
    need.difference_update(constants)
    if need:  # fetched into ``cache`` (this dict stays ours even if the store's is swapped)
        fetched = fetch_terms(store, sorted(need), cache)
        cache.update(fetched)
        _index(by_id, fetched)
    if constants:
        get = constants.get
        base = cache.get

        def lookup(x: Any) -> Identifier | None:
            t = get(x)
            return base(x) if t is None else t
    else:
        lookup = cache.get
    out_cols: list[Any] = []
    for _v, kind, i in layout:
        if kind == "id":
            out_cols.append(list(map(lookup, columns[i])))
        else:
            values, types, divisors = columns[i], columns[i + 1], columns[i + 2]
            out_cols.append([None if t is None else _value(v, int(t), n, cache)
                             for v, t, n in zip(values, types, divisors)])
    return out_cols


#: per store: term id -> rdflib term, valid for one generation of the store's term
#: dictionary (:attr:`~kg_engine.store.dictionary.TermDictionary.generation`: it changes when
#: a vacuum deleted terms, or a rollback undid new terms whose ids go to the next new terms:
#: the cache is emptied then, or it named the rolled-back terms). Bounded: a result whose new
#: terms would take it past ``_TERM_CACHE_MAX`` empties it first (it then holds that result's
#: terms, however many: a result as large as the bound is in memory anyway). Connections to
#: one database may share one cache (:func:`share_terms`). The dict is the cache; beside it,
#: the same terms by id in a list (slot = id, ``None`` = not cached, ids below
#: ``_BY_ID_MAX``) make a warm result's look-ups cheaper (:func:`_indexed`).
_TERM_CACHES: weakref.WeakKeyDictionary[Any, _Terms] = weakref.WeakKeyDictionary()
_TERM_CACHE_MAX = 500_000
_BY_ID_MAX = 1 << 23  # the id-indexed list: at most 64 MiB of slots

_Cache = tuple[dict[Any, Identifier | None], list[Identifier | None]]


class _Terms:
    """The cache of one database; when full it starts a new dict and list (a reader still
    holding the old ones, on another thread, keeps a consistent mapping; the two are swapped
    together, as one tuple, so no reader pairs a dict with another generation's list)."""

    __slots__ = ("caches", "generations")

    def __init__(self) -> None:
        self.caches: _Cache = ({None: None}, [])
        #: term dictionary -> its generation when its ids were last cached here
        self.generations: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _term_cache(store: Any, reset: bool = False) -> _Cache:
    """The id → term cache of ``store`` (the dict, and the list by id beside it);
    ``reset``: replaced by an empty one first (so it is when the store's term dictionary has
    a new generation)."""
    try:
        box = _TERM_CACHES.get(store)
    except TypeError:  # not weak-referenceable: a per-call cache
        return {None: None}, []
    if box is None:
        box = _TERM_CACHES[store] = _Terms()
    dictionary = getattr(store, "dictionary", None)
    if dictionary is not None:
        seen = box.generations.get(dictionary)
        if seen is not None and seen != dictionary.generation:
            reset = True
        box.generations[dictionary] = dictionary.generation
    if reset:
        box.caches = ({None: None}, [])
    return box.caches


def share_terms(store: Any, like: Any) -> None:
    """Let ``store`` use the id → term cache of ``like``: two connections to the same database
    (a server's connection pool) decode through one cache instead of one each.

    Example:
        >>> class S: pass
        >>> a, b = S(), S()
        >>> share_terms(b, a)
        >>> _term_cache(a) is _term_cache(b)
        True
    """
    box = _TERM_CACHES.get(like)
    if box is None:
        box = _TERM_CACHES[like] = _Terms()
    _TERM_CACHES[store] = box


def forget_terms(store: Any) -> None:
    """Drop the id → term cache of ``store`` (a new generation of its term dictionary drops
    it by itself)."""
    _TERM_CACHES.pop(store, None)
