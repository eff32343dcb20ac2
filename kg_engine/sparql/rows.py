"""Cheap SELECT result rows: one ``ResultRow`` class per variable list, built in bulk.

rdflib's :class:`~rdflib.query.ResultRow` stores a fresh ``labels`` dict in every row; here the
label map lives on a class made once per projection (:func:`row_type`), so a row is a single
tuple allocation, and :func:`make_rows` builds a whole result at C speed with Python's cyclic
garbage collector paused (the rows are kept, so a collection in the middle of building them
only scans: on a large heap that scan cost several times the decoding itself). A large
:class:`ColumnRows` result relaxes the collector while it is read (:func:`_relax`): the reader's
own copies of the rows are new objects that survive just as well.

Example:
    >>> from rdflib import URIRef, Variable
    >>> rows = make_rows([Variable("s"), Variable("o")], [(URIRef("urn:a"), None)])
    >>> rows[0].s, rows[0]["o"], rows[0].asdict()
    (rdflib.term.URIRef('urn:a'), None, {'s': rdflib.term.URIRef('urn:a')})
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any, TypeVar, overload

from rdflib.query import ResultRow

__all__ = ["ColumnRows", "columns_of", "make_rows", "row_type", "without_gc"]

T = TypeVar("T")


class _Row(ResultRow):
    """A ``ResultRow`` whose label map is a class attribute (see :func:`row_type`)."""

    __slots__ = ()
    labels: Mapping[str, int] = {}

    def __reduce__(self) -> Any:  # pickles as a plain rdflib ResultRow
        return _plain_row, (tuple(self), dict(self.labels))


def _plain_row(values: tuple, labels: dict[str, int]) -> ResultRow:
    row = tuple.__new__(ResultRow, values)
    row.labels = labels
    return row


_ROW_TYPES: dict[tuple[str, ...], type[_Row]] = {}


def row_type(vars_: Iterable[Any] | None) -> type[ResultRow]:
    """The row class of results projecting ``vars_`` (cached per variable list).

    Its instances are ``ResultRow``s: index by position, name or ``Variable``, ``row.var``,
    ``row.get(name)``, ``asdict()``, and they compare equal to the plain tuple of their values.

    Example:
        >>> from rdflib import URIRef, Variable
        >>> Row = row_type([Variable("a"), Variable("b")])
        >>> row = tuple.__new__(Row, (URIRef("urn:x"), None))
        >>> row.a, row["a"], row[Variable("a")], row[0]
        (rdflib.term.URIRef('urn:x'), rdflib.term.URIRef('urn:x'), rdflib.term.URIRef('urn:x'), rdflib.term.URIRef('urn:x'))
        >>> row.asdict(), row == (URIRef("urn:x"), None), isinstance(row, ResultRow)
        ({'a': rdflib.term.URIRef('urn:x')}, True, True)
    """
    key = tuple(str(v) for v in vars_ or ())
    cls = _ROW_TYPES.get(key)
    if cls is None:
        if len(_ROW_TYPES) > 1024:
            _ROW_TYPES.clear()
        labels = {name: i for i, name in enumerate(key)}
        cls = _ROW_TYPES[key] = type("ResultRow", (_Row,), {"__slots__": (), "labels": labels})
    return cls


def without_gc(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` with the cyclic garbage collector paused: for work that allocates many
    objects which all survive (reference counting still frees what dies; a collection is
    only delayed). The collector is left as it was found.

    A plain ``try``/``finally`` rather than a context manager: an exception raised
    asynchronously (the query timeout's watchdog) can then never leave the collector off.

    Example:
        >>> without_gc(lambda n: [(i,) for i in range(n)], 3)
        [(0,), (1,), (2,)]
    """
    was = gc.isenabled()
    try:
        gc.disable()
        return fn(*args)
    finally:
        if was:
            gc.enable()


def columns_of(rows: Sequence[Sequence[T]]) -> list[list[T]]:
    """The columns of equally long rows, one list each (none for no rows).

    One C-level pass per column: ``zip(*rows)`` makes an iterator per row, which on 10^5-10^6
    rows cost 2-6x as much (LUBM q14's 604k one-column rows: 59 against 11 ms).

    Example:
        >>> columns_of([(1, "a"), (2, "b")]), columns_of([])
        ([[1, 2], ['a', 'b']], [])
        >>> columns_of(ColumnRows(row_type(["x"]), [[1, 2]]))
        [[1, 2]]
    """
    if not rows:
        return []
    if isinstance(rows, ColumnRows):  # kept as columns already
        return [list(c) for c in rows._columns]
    return [list(map(itemgetter(j), rows)) for j in range(len(rows[0]))]


def make_rows(vars_: Iterable[Any] | None, values: Iterable[tuple]) -> list[ResultRow]:
    """``ResultRow``s of ``vars_`` from value tuples (``None`` = unbound), built in bulk."""
    return without_gc(list, map(partial(tuple.__new__, row_type(vars_)), values))


class ColumnRows(Sequence[ResultRow]):
    """The rows of a result kept as its columns (one list of values per variable), each row
    object made when it is read and given up after.

    Why: a row object kept for every solution is a container the garbage collector tracks.
    A large result held that way was a large part of the heap the collector walks (with the
    consumer's own copies of the rows, a full collection per run of
    ``[tuple(r) for r in kg.query(q)]`` at 10 M triples: OPTIONAL's 192k rows paid ~180 ms of
    collections on top of ~350 ms of work). A list per column is one object each; the rows
    handed out die as soon as the reader drops them (reference counting frees them; they
    set off no collection). Reading is a C-level ``map``/``zip`` per pass; reading a result of
    10,000 rows or more raises the collector's young-generation threshold meanwhile
    (:func:`_relax`), since what a reader makes of the rows survives the read as they do.

    Example:
        >>> from rdflib import URIRef, Variable
        >>> a, b = URIRef("urn:a"), URIRef("urn:b")
        >>> rows = ColumnRows(row_type([Variable("s"), Variable("o")]), [[a, b], [None, a]])
        >>> len(rows), rows[1].s, rows[-1]["o"], [tuple(r) for r in rows]
        (2, rdflib.term.URIRef('urn:b'), rdflib.term.URIRef('urn:a'), [(rdflib.term.URIRef('urn:a'), None), (rdflib.term.URIRef('urn:b'), rdflib.term.URIRef('urn:a'))])
        >>> rows == [(a, None), (b, a)], rows[:1] == [(a, None)]
        (True, True)
    """

    __slots__ = ("_columns", "_make")

    def __init__(self, row: type[tuple], columns: Sequence[Sequence[Any]]) -> None:
        if not columns or len({len(c) for c in columns}) != 1:
            raise ValueError("a result's columns must be one or more, all of one length")
        self._make = partial(tuple.__new__, row)
        self._columns = columns

    def __len__(self) -> int:
        return len(self._columns[0])

    def __iter__(self) -> Iterator[ResultRow]:
        rows = map(self._make, zip(*self._columns))
        if len(self) < _RELAX_MIN_ROWS or not _relax(2 * len(self)):
            return rows
        return chain(rows, _Relaxed())  # still C-level per row; _Relaxed ends the relaxation

    @overload
    def __getitem__(self, index: int) -> ResultRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[ResultRow]: ...
    def __getitem__(self, index: int | slice) -> ResultRow | list[ResultRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._make([c[index] for c in self._columns])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ColumnRows, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:  # pickles as a list of plain rdflib ResultRows
        return list, (list(self),)

    def __repr__(self) -> str:
        return repr(list(self))


# -- the collector relaxed while a large result is read ---------------------------------------
#: results of fewer rows are read with the collector as it is (a few young collections)
_RELAX_MIN_ROWS = 10_000
#: the most the generation-0 threshold is raised to (garbage cycles made meanwhile wait at
#: most this many allocations of tracked objects)
_RELAX_MAX = 2_000_000
_RELAX_LOCK = threading.RLock()  # re-entrant: a _Relaxed may be freed by a collection inside
_relaxing = {"readers": 0, "found": 0, "set": 0}


def _relax(allocations: int) -> bool:
    """Raise the collector's generation-0 threshold to ``allocations`` (at most
    :data:`_RELAX_MAX`) for one more reader; ``False`` (nothing changed) if the collector is
    off, automatic collection is off (threshold 0) or the threshold is already as high. Each
    ``True`` is matched by one :func:`_unrelax`.

    Why: the reader of a large result (``[tuple(r) for r in result]``, a DataFrame) makes a
    tracked object per row (a tuple of rdflib terms, which are tracked objects themselves, so
    the collector never untracks it). With the default threshold (700) the collector scans
    them in young collections as they are made, promotes them, and whenever the old
    generation has grown by a quarter walks the whole heap, the id -> term cache's terms
    included: at 10 M triples half of such a reader's CPU time, finding nothing. With the
    threshold at twice the rows the read sets off no collection; the reader's objects get
    their first scan after it, if they are still alive. The collector is never switched off:
    a reader that stops half-way and keeps its iterator keeps the raise, and garbage cycles
    made meanwhile wait for at most ``allocations`` new objects (``gc.disable()`` would keep
    them until the iterator is dropped).
    """
    with _RELAX_LOCK:
        t0, t1, t2 = gc.get_threshold()
        state = _relaxing
        if not state["readers"] or t0 != state["set"]:
            state["found"] = t0  # what to put back (someone else's change meanwhile is kept)
        want = min(allocations, _RELAX_MAX)
        if not gc.isenabled() or t0 == 0 or (not state["readers"] and t0 >= want):
            return False
        state["readers"] += 1
        state["set"] = max(t0, want)
        if want > t0:
            gc.set_threshold(want, t1, t2)
        return True


def _unrelax(end: _Relaxed) -> None:
    """The read ``end`` closes is over (once; later calls do nothing): one reader less; the
    last one puts the threshold back (unless changed meanwhile)."""
    with _RELAX_LOCK:
        if type(end) is not _Relaxed:
            return
        # the class change and the count change run no Python code between them: an
        # asynchronous exception cannot split them (it lands at a call, not at a store)
        end.__class__ = _Ended
        state = _relaxing
        state["readers"] -= 1
        if state["readers"] == 0:
            t0, t1, t2 = gc.get_threshold()
            if t0 == state["set"]:
                gc.set_threshold(state["found"], t1, t2)


class _Ended:
    """A :class:`_Relaxed` whose read is over: an empty iterator with no finalizer."""

    __slots__ = ()

    def __iter__(self) -> _Ended:
        return self

    def __next__(self) -> ResultRow:
        raise StopIteration


class _Relaxed(_Ended):
    """The end of a relaxed read, chained after the rows: reached, it ends the relaxation
    (:func:`_unrelax`) and becomes an :class:`_Ended`; dropped before it is reached (a
    reader that stops early), its finalizer ends it.

    Ending it in a finalizer only, as before, ran Python code each time a large result's
    iterator was freed, where an asynchronous exception (Ctrl-C, a query's timeout raised by
    :class:`~kg_engine.sparql.limits.Watchdog`) is printed "Exception ignored" and lost, as it
    was in the cursors' WeakSet callbacks (2e633b2). When it is reached the reader's call
    receives such an exception like any other; only a reader that stops early still ends it
    in the finalizer. Reaching it puts the threshold back while the reader's tuples are
    alive, so the next allocation sets off one young collection over them (at most one, the
    first pass the collector owes them anyway if the reader keeps them)."""

    __slots__ = ()

    def __next__(self) -> ResultRow:
        _unrelax(self)
        raise StopIteration

    def __del__(self) -> None:
        _unrelax(self)
