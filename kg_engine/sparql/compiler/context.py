"""Compile-time state: the store, the dataset, resolved constants, aliases, dialect.

Constants are resolved to term ids once, at compile time, with one batched dictionary
lookup (:meth:`CompileContext.resolve`). A constant that is not in the dictionary gets a
*negative* id (``-1 - k`` for the k-th missing constant): it can never equal a stored id, so
patterns with it match nothing, yet a BIND/VALUES of it still decodes to the right term.
:class:`~kg_engine.sparql.compiler.plan.CompiledQuery` re-checks those ids before every run
and recompiles if the dictionary changed (a missing constant appeared).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from rdflib.namespace import RDF, XSD
from rdflib.term import BNode, Identifier, Literal, URIRef, Variable

from .block import Col, Decline
from .sql import Sql, param, sql

__all__ = ["EXACT_AGGREGATES", "NUMERIC_DTS", "XSD_TERMS", "CompileContext", "DatasetSpec", "GraphScope"]

#: datatype IRIs the compiler needs ids for (resolved with the query constants)
XSD_TERMS: tuple[URIRef, ...] = (
    XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.string, XSD.boolean,
    XSD.dateTime, XSD.date, RDF.langString,
)
NUMERIC_DTS = frozenset(
    str(x) for x in (
        XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.int, XSD.long, XSD.short,
        XSD.byte, XSD.nonNegativeInteger, XSD.positiveInteger, XSD.negativeInteger,
        XSD.nonPositiveInteger, XSD.unsignedLong, XSD.unsignedInt, XSD.unsignedShort,
        XSD.unsignedByte,
    )
)


#: compile SUM/AVG/MIN/MAX as the rdflib path's exact aggregates on SQLite (kg_agg), also
#: where SQL's would do for projection (set while recompiling a plan whose SQL aggregate
#: turned out inexact at run time)
EXACT_AGGREGATES: ContextVar[bool] = ContextVar("kg_exact_aggregates", default=False)

#: seconds the per-store statistics cache lives (kg_stats may be refreshed meanwhile)
STATS_TTL = 60.0
_SHARED: weakref.WeakKeyDictionary[Any, tuple[float, dict]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class DatasetSpec:
    """Which graphs a query sees (SPARQL dataset).

    Args:
        default: ``None``: the default graph is the store's default graph (g = 0, W3C);
            ``"union"``: the merge of every graph; a tuple of graph names: their merge
            (``FROM``).
        named: ``None``: every named graph of the store; a tuple: only those (``FROM NAMED``).
        disjoint: the graphs of ``default`` share no triple (the store's default graph and
            its inferred graph): their merge needs no duplicate elimination.

    Example:
        >>> DatasetSpec().default is None
        True
    """

    default: Any = None
    named: tuple[Identifier, ...] | None = None
    disjoint: bool = False


@dataclass(frozen=True)
class GraphScope:
    """The active graph while compiling a pattern.

    ``mode``: ``"ids"`` (g IN ids; one id = a single graph, 0 = default graph), ``"union"``
    (every graph, merged), ``"var"`` (``GRAPH ?g``: ``var`` bound to g over the named graphs).
    ``disjoint``: the graphs of ``ids`` share no triple (no duplicate elimination needed).
    """

    mode: str
    ids: tuple[int, ...] = ()
    var: Variable | None = None
    disjoint: bool = False


#: :attr:`CompileContext.base` when the query's base IRI is not known to the compiler
#: (``IRI()``/``URI()`` then decline: their value depends on it)
UNKNOWN_BASE: Any = object()


class CompileContext:
    """State shared by the compilation of one query."""

    def __init__(self, store: Any, dataset: DatasetSpec | None = None, base: Any = UNKNOWN_BASE) -> None:
        self.store = store
        #: the query's base IRI (None: none), fixed for the query: ``IRI(expr)`` resolves
        #: against it; :data:`UNKNOWN_BASE` where the caller did not say
        self.base = base
        self.dialect: str = store.dialect
        self.dataset = dataset or DatasetSpec()
        self.ids: dict[Identifier, int] = {}
        self._prefetched: dict[Identifier, int | None] = {}  # see prefetch()
        self.missing: list[Identifier] = []  # index k <-> id -1-k
        self._alias = 0
        self.declined: list[str] = []
        self._stats: dict[int, tuple[int, int, int]] | None = None
        self._total: int | None = None
        self.uses_regex = False
        #: expressions evaluated by SQLite calling back into Python (.pyexpr): the plan keeps
        #: them alive
        self.py_exprs: list[Any] = []
        self.exact_aggregates = EXACT_AGGREGATES.get()
        #: an aggregate's SQL value may be inexact at run time (see CompiledQuery.run)
        self.inexact_aggregates = False
        #: the SQL aborts where a double cannot decide a comparison of integers/decimals
        #: (ExprCompiler.abort_inexact; see CompiledQuery.run)
        self.numeric_guards = False
        #: variables bound outside the pattern being compiled (ctx bindings, initBindings,
        #: the outer row of EXISTS): every occurrence is equated with this column
        self.env: dict[Variable, Col] = {}
        self.env_nullable: set[Variable] = set()
        #: missing constants' ``kg_terms`` columns (id -> column -> value), set for the second
        #: compilation of a query with missing constants (see :meth:`patch_missing`)
        self.patch: dict[int, dict[str, Any]] | None = None
        #: a term column of an execution-time binding was read (its value may be missing)
        self.fields_of_bindings = False
        #: constants that are values of variables (VALUES, BIND) or whose term columns are
        #: read: a missing one needs :meth:`patch_missing`
        self.value_consts: set[Identifier] = set()
        #: PostgreSQL: run the statement in the compiler's join order with nested loops
        #: (see :func:`.bgp.pin_verdict`): None while no BGP of three patterns or more was
        #: compiled, then True while every such BGP is small by the compiler's estimates
        self.pin_joins: bool | None = None

    # -- names ------------------------------------------------------------------------
    def alias(self, prefix: str) -> str:
        """A fresh table alias."""
        self._alias += 1
        return f"{prefix}{self._alias}"

    # -- constants --------------------------------------------------------------------
    def prefetch(self, terms: Iterable[Identifier]) -> None:
        """Look ``terms`` (plus the XSD datatypes) up in one dictionary query, for later
        :meth:`resolve` calls (which then need no query of their own)."""
        todo = [t for t in dict.fromkeys([*terms, *XSD_TERMS])
                if isinstance(t, (URIRef, BNode, Literal)) and t not in self.ids]
        found = self.store.term_ids(todo) if todo else {}
        self._prefetched = {t: found.get(t) for t in todo}

    def resolve(self, terms: Iterable[Identifier]) -> None:
        """Resolve ``terms`` (plus the XSD datatypes) to ids in one dictionary lookup."""
        todo = [t for t in dict.fromkeys([*terms, *XSD_TERMS]) if t not in self.ids]
        todo = [t for t in todo if isinstance(t, (URIRef, BNode, Literal))]
        if not todo:
            return
        pre = self._prefetched
        need = [t for t in todo if t not in pre]
        found = self.store.term_ids(need) if need else {}
        for t in todo:
            i = pre[t] if t in pre else found.get(t)
            if i is None:
                # RDF 1.1: "x"^^xsd:string is the term "x" (the dictionary folds it: so must
                # the ids of constants it does not hold, or DISTINCT/sameTerm see two terms)
                plain = Literal(str(t)) if isinstance(t, Literal) and t.datatype == XSD.string else t
                i = self.ids.get(plain)
                if i is None:
                    self.missing.append(plain)
                    i = self.ids[plain] = -len(self.missing)
            self.ids[t] = int(i)

    def tid(self, term: Identifier) -> int:
        """The id of a constant term (negative when it is not in the dictionary)."""
        i = self.ids.get(term)
        if i is None:
            self.resolve([term])
            i = self.ids[term]
        return i

    def tparam(self, term: Identifier) -> Sql:
        """A parameter holding the id of a constant term."""
        return param(self.tid(term))

    def exists(self, term: Identifier) -> bool:
        return self.tid(term) > 0

    # -- statistics -------------------------------------------------------------------
    def stats(self, p: int) -> tuple[int, int, int] | None:
        """(triples, distinct subjects, distinct objects) of predicate id ``p`` (kg_stats)."""
        if self._stats is None:
            self._stats = self.shared_cache("stats")
        if p not in self._stats:
            try:
                row = self.store.db.fetchone(
                    "SELECT triples, subjects, objects FROM kg_stats WHERE p = ?", (p,))
            except Exception:  # noqa: BLE001 - statistics are only a heuristic
                row = None
            self._stats[p] = (None if row is None else  # type: ignore[assignment]
                              (int(row[0]), max(int(row[1]), 1), max(int(row[2]), 1)))
        return self._stats[p]

    def total(self) -> int:
        """Total number of statements (estimate for patterns with a variable predicate)."""
        if self._total is None:
            try:
                self._total = int(self.store.db.scalar("SELECT SUM(triples) FROM kg_stats") or 0) or 1000
            except Exception:  # noqa: BLE001
                self._total = 1000
        return self._total

    def shared_cache(self, name: str) -> dict:
        """A per-store dict shared by compilations for ``STATS_TTL`` seconds (statistics and
        cardinality estimates: only the join order depends on them, never the answers)."""
        import time
        try:
            entry = _SHARED.get(self.store)
        except TypeError:
            return {}
        now = time.monotonic()
        if entry is None or now - entry[0] > STATS_TTL:
            entry = (now, {})
            _SHARED[self.store] = entry
        return entry[1].setdefault(name, {})

    # -- dialect ----------------------------------------------------------------------
    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def null_id(self) -> Sql:
        """An unbound id column (typed on PostgreSQL, where bare NULLs become text)."""
        return Sql("NULL") if self.sqlite else Sql("CAST(NULL AS BIGINT)")

    def null_val(self) -> tuple[Sql, Sql, Sql]:
        """An unbound value column (value, type code, divisor)."""
        if self.sqlite:
            return Sql("NULL"), Sql("NULL"), Sql("NULL")
        return (Sql("CAST(NULL AS DOUBLE PRECISION)"), Sql("CAST(NULL AS INTEGER)"),
                Sql("CAST(NULL AS BIGINT)"))

    def greatest(self, a: Sql, b: Sql) -> Sql:
        return sql("max({}, {})" if self.sqlite else "GREATEST({}, {})", a, b)

    def text_key(self, e: Sql) -> Sql:
        """A string expression that sorts by code point on this dialect."""
        return e if self.sqlite else sql('({} COLLATE "C")', e)

    # -- term fields --------------------------------------------------------------------
    def term_field(self, id_expr: Sql, column: str) -> Sql:
        """``kg_terms.<column>`` of the term ``id_expr`` (scalar sub-query; NULL if none)."""
        self.note_field(id_expr)
        found = sql(f"(SELECT {column} FROM kg_terms WHERE id = {{}})", id_expr)
        return self.patched(found, id_expr, column)

    # -- constants missing from the dictionary ------------------------------------------
    def note_field(self, id_expr: Sql) -> None:
        """Remember that term columns of ``id_expr`` (its constants, bindings) are read."""
        for p in id_expr.params:
            if type(p).__name__ == "BindingParam":
                self.fields_of_bindings = True
            elif isinstance(p, int) and p < 0 and -p <= len(self.missing):
                self.value_consts.add(self.missing[-p - 1])

    def value_const(self, term: Identifier) -> Sql:
        """A parameter holding the id of a constant that becomes a variable's value."""
        self.value_consts.add(term)
        return self.tparam(term)

    @property
    def needs_patch(self) -> bool:
        """Some value constant is missing from the dictionary (see :meth:`patch_missing`)."""
        return self.patch is None and any(self.ids.get(t, 0) < 0 for t in self.value_consts)

    def patch_missing(self, missing: list[Identifier], ids: dict[Identifier, int],
                      values: set[Identifier]) -> None:
        """Prepare a recompilation in which the missing constants have term columns.

        A constant that is not in the dictionary (a VALUES or BIND value the store never saw)
        has a negative id and no ``kg_terms`` row; reading its columns (ORDER BY, FILTER,
        aggregates) must still see its kind, lexical form, datatype and value. The constants
        keep the ids of the first compilation (``missing``/``ids``); ``values`` are the value
        constants found then.
        """
        from kg_engine.store.terms import encode
        self.ids = dict(ids)
        self.missing = list(missing)
        patch: dict[int, dict[str, Any]] = {}
        for term in values:
            i = self.ids.get(term, 0)
            if i >= 0 or not isinstance(term, (URIRef, BNode, Literal)):
                continue
            row = encode(term)
            patch[i] = {"kind": row.kind, "lex": row.lex, "lang": row.lang, "num": row.num,
                         "dtm": row.dtm, "bln": row.bln,
                         "dt": self.tid(URIRef(row.datatype)) if row.datatype else 0}
        self.patch = patch

    def patched(self, found: Sql, id_expr: Sql, column: str) -> Sql:
        """``found`` (the column read from ``kg_terms``), or the missing constant's value."""
        if not self.patch:
            return found
        whens = [sql("WHEN {} THEN {}", self._typed(i, "dt"), self._typed(v, column))
                 for i, cols in self.patch.items() if (v := cols[column]) is not None]
        if not whens:
            return found
        key = id_expr if self.sqlite else sql("CAST({} AS BIGINT)", id_expr)
        return sql("COALESCE({}, CASE {} " + " ".join(["{}"] * len(whens)) + " END)",
                   found, key, *whens)

    def _typed(self, value: Any, column: str) -> Sql:
        if self.sqlite:
            return param(value)
        pg = {"kind": "SMALLINT", "bln": "SMALLINT", "dt": "BIGINT", "lex": "TEXT",
              "lang": "TEXT", "num": "DOUBLE PRECISION", "dtm": "DOUBLE PRECISION"}[column]
        return sql(f"CAST({{}} AS {pg})", param(value))

    def dtid(self, dt: URIRef) -> Sql:
        return self.tparam(dt)

    def decline(self, why: str) -> Decline:
        self.declined.append(why)
        return Decline(why)

