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
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

from rdflib.query import ResultRow

__all__ = ["make_rows", "row_type", "without_gc"]

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
