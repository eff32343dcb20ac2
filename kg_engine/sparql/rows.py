"""Cheap SELECT result rows: one ``ResultRow`` class per variable list, built in bulk.

rdflib's :class:`~rdflib.query.ResultRow` stores a fresh ``labels`` dict in every row; here the
label map lives on a class made once per projection (:func:`row_type`), so a row is a single
tuple allocation, and :func:`make_rows` builds a whole result at C speed with Python's cyclic
garbage collector paused (the rows are kept, so a collection in the middle of building them
only scans: on a large heap that scan cost several times the decoding itself).

Example:
    >>> from rdflib import URIRef, Variable
    >>> rows = make_rows([Variable("s"), Variable("o")], [(URIRef("urn:a"), None)])
    >>> rows[0].s, rows[0]["o"], rows[0].asdict()
    (rdflib.term.URIRef('urn:a'), None, {'s': rdflib.term.URIRef('urn:a')})
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, overload

from rdflib.query import ResultRow

__all__ = ["ColumnRows", "make_rows", "row_type", "without_gc"]

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
    set off no collection). Reading is a C-level ``map``/``zip`` per pass.

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
        return map(self._make, zip(*self._columns))

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
