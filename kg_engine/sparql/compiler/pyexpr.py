"""SPARQL expressions SQL cannot compute exactly, evaluated by SQLite calling back into Python.

Some SPARQL functions have no exact SQL form (``YEAR`` of an XSD dateTime with its timezone
rules, casts of stored terms with XPath's lexical checks, ``STRBEFORE`` keeping the language
tag, ``ENCODE_FOR_URI`` …). On SQLite the compiler keeps such a query ONE SQL statement: the
expression becomes a call ``kg_expr(token, args…)`` of a Python function registered on the
connection, which evaluates the expression with exactly the code rdflib's evaluator runs for
kg-engine (rdflib's builtins with :mod:`kg_engine.sparql.functions`' overrides), on the row's
terms. PostgreSQL has no such callback: there the compiler still declines.

A result is an RDF term *encoded as text* (:func:`encode`): ``I<iri>``, ``B<label>`` or
``L<lang>\\x1f<datatype>\\x1f<lexical form>`` — one string per term (so DISTINCT, GROUP BY
and equality of encodings are RDF-term identity). Bound to a variable it is a value column
with type code ``-7`` (see :mod:`.decode`); the other ``kg_*`` functions read it as a number,
a string, an effective boolean value or an ORDER BY key, with the semantics of the rdflib
path.

Example:
    >>> from rdflib import Literal, URIRef
    >>> from rdflib.namespace import XSD
    >>> encode(Literal("2011", datatype=XSD.integer)) == "L\\x1f" + str(XSD.integer) + "\\x1f2011"
    True
    >>> decode_encoded(encode(URIRef("urn:a")))
    rdflib.term.URIRef('urn:a')
    >>> kg_num(encode(Literal("07", datatype=XSD.integer))), kg_rank(encode(Literal(1.5)))
    (7.0, 4)
"""

from __future__ import annotations

import itertools
import weakref
from decimal import Decimal
from typing import Any

from rdflib.namespace import XSD
from rdflib.plugins.sparql.parserutils import CompValue, Expr
from rdflib.plugins.sparql.sparql import FrozenBindings, Prologue, QueryContext, SPARQLError
from rdflib.term import BNode, Identifier, URIRef, Variable

from kg_engine.core.float32 import round32
from kg_engine.store.terms import decode as decode_term
from kg_engine.store.terms import typed_values

from .context import UNKNOWN_BASE
from .decode import ENCODED_SEP as _SEP
from .decode import _value, decode_encoded, encode

__all__ = ["PyAggregate", "PyExpr", "decode_encoded", "eligible", "encode", "expression_vars", "register", "split_exists"]

#: builtins whose value depends on more than the row (the query's time, randomness, fresh
#: blank nodes, the dataset): never evaluated in a callback
_IMPURE = frozenset({
    "Builtin_EXISTS", "Builtin_NOTEXISTS", "Builtin_NOW", "Builtin_RAND", "Builtin_UUID",
    "Builtin_STRUUID", "Builtin_BNODE",
})
#: builtins that read the query's base IRI: evaluated in a callback only when the compiler
#: knows it (it is fixed for the query, so the value is then a function of the row)
_BASE_DEPENDENT = frozenset({"Builtin_IRI", "Builtin_URI"})
_RANKS = {str(XSD.double): 4, str(XSD.float): 3, str(XSD.decimal): 2}

#: token -> PyExpr, while a compiled plan holds the PyExpr
_REGISTRY: weakref.WeakValueDictionary[int, PyExpr] = weakref.WeakValueDictionary()
_TOKENS = itertools.count(1)


# -- term encoding ------------------------------------------------------------------------------
def _literal_parts(text: str | None) -> tuple[str, str, str] | None:
    """(lang, datatype, lexical form) of an encoded literal, else None."""
    if not text or text[0] != "L":
        return None
    lang, dt, lex = text[1:].split(_SEP, 2)
    return lang, dt, lex


# -- functions SQL calls on an encoded term (registered by plan.register_functions) -------------
def kg_num(text: str | None) -> float | None:
    """The numeric value (as ``kg_terms.num``: NULL unless a valid numeric literal)."""
    parts = _literal_parts(text)
    if parts is None or not parts[1]:
        return None
    return typed_values(parts[2], parts[1])[0]


def kg_rank(text: str | None) -> int | None:
    """The numeric type rank: 1 integer (and derived types), 2 decimal, 3 float, 4 double."""
    if kg_num(text) is None:
        return None
    return _RANKS.get(text[1:].split(_SEP, 2)[1], 1)  # type: ignore[index]


def kg_str(text: str | None) -> str | None:
    """The lexical form of a string literal (simple, xsd:string or language-tagged), else NULL."""
    parts = _literal_parts(text)
    if parts is None or parts[1] not in ("", str(XSD.string)):
        return None
    return parts[2]


def kg_lang(text: str | None) -> str | None:
    """The language tag ('' for none) of a literal; NULL for an IRI or blank node."""
    parts = _literal_parts(text)
    return None if parts is None else parts[0]


def kg_ebv(text: str | None) -> int | None:
    """SPARQL's effective boolean value (1/0), NULL where it is an error."""
    from kg_engine.sparql.functions import ebv
    if text is None:
        return None
    try:
        return 1 if ebv(decode_encoded(text)) else 0
    except SPARQLError:
        return None


def kg_key(text: str | None, k: int) -> Any:
    """Component ``k`` of the ORDER BY key of a term (:func:`kg_engine.sparql.ordering.order_key`,
    the order the SQL compiler gives stored terms)."""
    from kg_engine.sparql.ordering import order_key
    key = order_key(None if text is None else decode_encoded(text))
    if k >= len(key):
        return "" if k >= 9 else 0
    v = key[k]
    if isinstance(v, Decimal):  # a duration's length (SQLite takes no Decimal)
        return float(v)
    return int(v) if isinstance(v, bool) else v


def kg_val(v: Any, t: int | None, n: Any, dt: str | None) -> str | None:
    """The encoding of a computed value column (value, type code, divisor; ``dt``: the
    lexical form of the datatype when the type code is a datatype id)."""
    if t is None:
        return None
    return encode(_value_term(v, int(t), n, dt))


def _value_term(v: Any, t: int, n: Any, dt: str | None) -> Identifier:
    if t == -7:
        return decode_encoded(v)
    return _value(v, t, n, {t: URIRef(dt)} if t > 0 and dt else {})


# -- expressions --------------------------------------------------------------------------------
def eligible(expr: Any, base: Any = UNKNOWN_BASE) -> bool:
    """Whether ``expr`` depends only on the row's terms and the query's ``base`` IRI (see
    ``_IMPURE``; ``IRI()``/``URI()`` only where the base is known) and calls no function
    other than the XSD casts.

    Example:
        >>> from rdflib.plugins.sparql.parserutils import CompValue
        >>> e = CompValue("Builtin_IRI", arg=Variable("x"))
        >>> eligible(e), eligible(e, None), eligible(e, "http://example.org/")
        (False, True, True)
    """
    if isinstance(expr, BNode):
        return False
    if isinstance(expr, CompValue):
        name = expr.name
        if name in _IMPURE or name.startswith("Aggregate_"):
            return False
        if name in _BASE_DEPENDENT and base is UNKNOWN_BASE:
            return False
        if name == "Function" and not str(expr.iri).startswith(str(XSD)):
            return False
        return all(eligible(v, base) for v in expr.values())
    if isinstance(expr, (list, tuple)):
        return all(eligible(v, base) for v in expr)
    return True


def expression_vars(expr: Any, out: dict[Variable, None] | None = None) -> list[Variable]:
    """The variables ``expr`` reads, in order of first occurrence."""
    out = {} if out is None else out
    if isinstance(expr, Variable):
        out[expr] = None
    elif isinstance(expr, CompValue):
        for v in expr.values():
            expression_vars(v, out)
    elif isinstance(expr, (list, tuple)):
        for v in expr:
            expression_vars(v, out)
    return list(out)


class PyExpr:
    """One expression evaluated per row by ``kg_expr(token, …)``: six SQL arguments per
    variable of ``vars`` — ``(1, id, kind, lex, lang, datatype)`` for a stored term,
    ``(2, value, type code, divisor, datatype, NULL)`` for a computed value."""

    __slots__ = ("__weakref__", "ctx", "expr", "missing", "token", "vars")

    def __init__(self, expr: CompValue, variables: list[Variable], missing: list[Identifier],
                 base: Any = UNKNOWN_BASE) -> None:
        from kg_engine.sparql.functions import bind_overrides
        holder = CompValue("PyExprHolder", expr=_copy(expr))
        _as_exprs(holder)
        bind_overrides(holder)
        self.expr = holder.expr
        self.vars = variables
        self.missing = missing  # the compilation's constants missing from the dictionary
        self.ctx = QueryContext(initBindings={})  # no NOW(), BNODE(): nothing per query in it
        if base is not UNKNOWN_BASE:  # IRI()/URI() resolve against it, as rdflib's evaluator
            self.ctx.prologue = Prologue()
            self.ctx.prologue.base = base
        self.token = next(_TOKENS)
        _REGISTRY[self.token] = self

    def __call__(self, *args: Any) -> str | None:
        try:
            value = self.expr.eval(self.row(args))
        except SPARQLError:
            return None
        return None if isinstance(value, SPARQLError) else encode(value)

    def row(self, args: tuple[Any, ...]) -> FrozenBindings:
        """The solution the SQL arguments describe."""
        row: dict[Variable, Identifier] = {}
        for k, var in enumerate(self.vars):
            mode, a, b, c, d, e = args[6 * k:6 * k + 6]
            term = self._term(mode, a, b, c, d, e)
            if term is not None:
                row[var] = term
        return FrozenBindings(self.ctx, row)

    def _term(self, mode: int, a: Any, b: Any, c: Any, d: Any, e: Any) -> Identifier | None:
        if mode == 1:
            if a is None:
                return None
            if a < 0:
                return self.missing[-a - 1]
            return decode_term(b, c, e or None, d or None)
        if b is None:
            return None
        return _value_term(a, int(b), c, d)


def split_exists(expr: Any) -> tuple[Any, list[tuple[Variable, CompValue]]]:
    """A copy of ``expr`` whose ``EXISTS``/``NOT EXISTS`` are variables (``__pyx<k>``), and
    those variables with the patterns: SQL computes the tests, the callback the rest.

    Example:
        >>> from rdflib.plugins.sparql.parserutils import CompValue
        >>> e = CompValue("Builtin_STR", arg=CompValue("Builtin_EXISTS", graph=None))
        >>> rest, tests = split_exists(e)
        >>> rest.arg, [v for v, _ in tests]
        (rdflib.term.Variable('__pyx0'), [rdflib.term.Variable('__pyx0')])
    """
    tests: list[tuple[Variable, CompValue]] = []

    def cut(x: Any) -> Any:
        if isinstance(x, CompValue):
            if x.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                v = Variable(f"__pyx{len(tests)}")
                tests.append((v, x))
                return v
            return CompValue(x.name, **{k: cut(v) for k, v in x.items()})
        if isinstance(x, list):
            return [cut(v) for v in x]
        return x
    return cut(expr), tests


def _copy(x: Any) -> Any:
    """A copy of an expression tree made of plain ``CompValue`` nodes (the query's own
    algebra is never changed)."""
    if isinstance(x, CompValue):
        return CompValue(x.name, **{k: _copy(v) for k, v in x.items()})
    if isinstance(x, list):
        return [_copy(v) for v in x]
    return x


def _as_exprs(node: Any) -> None:
    """Make every expression node below ``node`` an rdflib ``Expr`` bound to rdflib's
    evaluation function (the fast parser builds plain ``CompValue`` nodes), in place."""
    from rdflib.plugins.sparql import operators

    from .fastparse import _EVAL_ALIASES
    for key, v in list(node.items()):
        if isinstance(v, CompValue):
            _as_exprs(v)
            if not isinstance(v, Expr):
                fn = getattr(operators, _EVAL_ALIASES.get(v.name, v.name), None)
                if fn is None:
                    raise ValueError(f"no evaluation for {v.name}")
                x = Expr(v.name, fn)
                x.update(v)
                node[key] = x
        elif isinstance(v, list):
            for i, w in enumerate(v):
                if isinstance(w, CompValue):
                    holder = CompValue("PyExprHolder", expr=w)
                    _as_exprs(holder)
                    v[i] = holder.expr


class PyAggregate(PyExpr):
    """An aggregate (``GROUP_CONCAT``, ``MIN``/``MAX``/``SAMPLE`` of an expression) computed
    by ``kg_agg(token, …)`` with :mod:`kg_engine.sparql.aggregates` — the rdflib path's own
    semantics — over the group's solutions; the arguments as for :class:`PyExpr`."""

    __slots__ = ("agg",)

    def __init__(self, agg: CompValue, variables: list[Variable], missing: list[Identifier],
                 base: Any = UNKNOWN_BASE) -> None:
        super().__init__(agg.vars, variables, missing, base)  # the argument, as an expression
        self.agg = CompValue(agg.name, vars=self.expr, distinct=agg.distinct,
                             separator=agg.separator, res=agg.res)

    def finish(self, rows: list[FrozenBindings]) -> str | None:
        from kg_engine.sparql.aggregates import _aggregate
        try:
            return encode(_aggregate(self.agg, rows))
        except SPARQLError:
            return None


class _Group:
    """The SQLite aggregate ``kg_agg``: collects a group's solutions (see :class:`PyAggregate`)."""

    def __init__(self) -> None:
        self.rows: list[FrozenBindings] = []
        self.agg: PyAggregate | None = None

    def step(self, token: int, *args: Any) -> None:
        if self.agg is None:
            self.agg = _REGISTRY[token]  # type: ignore[assignment]
        self.rows.append(self.agg.row(args))  # type: ignore[union-attr]

    def finalize(self) -> str | None:
        return None if self.agg is None else self.agg.finish(self.rows)


def call(token: int, *args: Any) -> str | None:
    """The SQLite function ``kg_expr``."""
    return _REGISTRY[token](*args)


def kg_inexact(x: Any) -> int:
    """Abort the statement: a double cannot decide this comparison of integers/decimals
    (``ExprCompiler.abort_inexact``); the plan declines and rdflib's path answers."""
    raise ArithmeticError(f"inexact number {x!r}")


def kg_f32(x: float | None) -> float | None:
    """The SQLite function ``kg_f32``: a double rounded to single precision (the value of an
    xsd:float a store written before kept as its double)."""
    return None if x is None else round32(float(x))


def register(raw: Any) -> None:
    """Register the ``kg_*`` functions of this module on a SQLite connection."""
    raw.create_function("kg_expr", -1, call)
    raw.create_aggregate("kg_agg", -1, _Group)
    raw.create_function("kg_num", 1, kg_num, deterministic=True)
    raw.create_function("kg_rank", 1, kg_rank, deterministic=True)
    raw.create_function("kg_str", 1, kg_str, deterministic=True)
    raw.create_function("kg_lang", 1, kg_lang, deterministic=True)
    raw.create_function("kg_ebv", 1, kg_ebv, deterministic=True)
    raw.create_function("kg_key", 2, kg_key, deterministic=True)
    raw.create_function("kg_val", 4, kg_val, deterministic=True)
    raw.create_function("kg_inexact", 1, kg_inexact)
    raw.create_function("kg_f32", 1, kg_f32, deterministic=True)
