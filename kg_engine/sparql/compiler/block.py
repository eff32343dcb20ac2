"""The relational value every algebra node compiles to: a SELECT under construction.

A :class:`Block` is the FROM list, WHERE conditions and variable → column mapping of one
SQL ``SELECT``. Operators that can be expressed in the same SELECT (BGP patterns, FILTER,
single-pattern OPTIONAL, BIND, GROUP BY/HAVING) extend the block in place; everything else
first *wraps* the block into a derived table (``(SELECT …) AS tN``) and continues on top.

A variable is bound to a :class:`Col`:

* ``Col.id(expr)``: a term id of ``kg_terms`` (joins, DISTINCT, equality by id). Ids below
  zero stand for query constants that are not in the dictionary (see ``context``).
* ``Col.val(v, t, n)``: a value computed in SQL (aggregates, arithmetic, STR …): ``v`` the
  value, ``t`` a type code (see ``decode``), ``n`` an optional divisor (AVG). NULL ``t`` means
  unbound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib.term import Variable

from .sql import NULL, Sql, sql

__all__ = ["SQLITE_JOIN_SPLIT", "SQLITE_JOIN_TABLES", "Block", "Col", "Decline", "FromItem"]

#: SQLite joins at most this many tables in one SELECT ("at most 64 tables in a join")
SQLITE_JOIN_TABLES = 64
#: a block joining this many tables is closed into a derived table SQLite may not flatten
#: (:func:`.render.wrap` with ``barrier``) before more triple patterns or blocks join it; the
#: margin is for the ``kg_terms`` look-ups of its FILTERs (past it they are sub-queries)
SQLITE_JOIN_SPLIT = 48


class Decline(NotImplementedError):
    """Raised when a construct cannot be compiled to SQL faithfully (the node declines)."""


@dataclass(frozen=True)
class Col:
    """The SQL expression(s) a variable is bound to in a block."""

    kind: str  # "id" | "val"
    e: Sql  # id expression, or the value for "val"
    t: Sql = NULL  # "val": type code expression
    n: Sql = NULL  # "val": divisor (AVG) or NULL
    #: the value may turn out inexact at run time (type code -99): it can be projected (the
    #: decoder then declines) but not used inside another expression (HAVING, BIND …)
    risky: bool = False
    #: "val": the value is SQL text (a computed string, a PostgreSQL MIN/MAX or GROUP_CONCAT,
    #: kept through sub-selects); PostgreSQL's UNION then casts the other branches' values
    #: to text (see :func:`.patterns._union`)
    text: bool = False

    @staticmethod
    def id(e: Sql) -> Col:
        """An id-valued column."""
        return Col("id", e)

    @staticmethod
    def val(v: Sql, t: Sql, n: Sql = NULL, risky: bool = False, text: bool = False) -> Col:
        """A computed value column."""
        return Col("val", v, t, n, risky, text)

    @property
    def is_id(self) -> bool:
        return self.kind == "id"

    def bound(self) -> Sql:
        """SQL condition: the variable is bound."""
        return sql("{} IS NOT NULL", self.e if self.is_id else self.t)

    def parts(self) -> list[Sql]:
        """The SQL expressions that make up the column (1 for ids, 3 for values)."""
        return [self.e] if self.is_id else [self.e, self.t, self.n]


@dataclass
class FromItem:
    """One entry of a FROM list: ``kw table [ON on]`` (``kw`` ignored for the first)."""

    kw: str  # "JOIN" | "LEFT JOIN"
    table: Sql
    on: Sql | None = None
    #: the tables it brings into the join: SQLite flattens a derived table into the query
    #: around it (see :data:`SQLITE_JOIN_TABLES`)
    tables: int = 1


@dataclass
class Block:
    """A SELECT under construction (see module docstring)."""

    froms: list[FromItem] = field(default_factory=list)
    where: list[Sql] = field(default_factory=list)
    cols: dict[Variable, Col] = field(default_factory=dict)
    nullable: set[Variable] = field(default_factory=set)
    group_by: list[Sql] | None = None
    having: list[Sql] = field(default_factory=list)
    distinct: bool = False
    order: list[tuple[Sql, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    #: True once the block is more than FROM/WHERE (grouped, distinct, ordered, sliced):
    #: joins/filters must then wrap it first.
    sealed: bool = False
    #: no rows at all (a required constant is missing from the dictionary)
    empty: bool = False
    #: one table to put first when joined (a long VALUES block: SQLite, whose join order
    #: the compiler pins, then looks each of its rows up by index instead of scanning all
    #: of it once per row of the other side)
    lead: bool = False
    _term_aliases: dict[tuple[str, tuple], str] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        """Only FROM/WHERE: it can be extended in place."""
        return not self.sealed and self.group_by is None

    def tables(self) -> int:
        """The tables SQLite joins for this block's SELECT (derived tables it would flatten
        counted by their own tables)."""
        return sum(f.tables for f in self.froms)

    def copy_vars(self) -> dict[Variable, Col]:
        return dict(self.cols)
