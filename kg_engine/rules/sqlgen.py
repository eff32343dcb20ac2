"""Compile IR rules to SQL over ``kg_quads`` (one statement per rule, head atom and delta position).

A rule body becomes a join of ``kg_quads`` aliases (or delta tables for the semi-naive
position), ``NOT EXISTS`` sub-queries for :class:`~kg_engine.rules.ir.Not`, grouped
sub-queries for :class:`~kg_engine.rules.ir.Aggregate` and SQL expressions over the typed
value columns of ``kg_terms`` for built-ins. Term ids of rule constants are looked up once
(:class:`ConstantIds`) and written into the SQL as integers (they are database ids, never
user text); user values of built-ins (numbers, strings) are bound parameters.

The same text runs on SQLite and PostgreSQL; the few differences (string search, regex)
are picked by ``dialect``.

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> from kg_engine.rules.ir import Atom, Rule, Var
    >>> x, c, d = Var("x"), Var("c"), Var("d")
    >>> rule = Rule("cax-sco", (Atom(c, RDFS.subClassOf, d), Atom(x, RDF.type, c)),
    ...             (Atom(x, RDF.type, d),))
    >>> ids = ConstantIds({RDFS.subClassOf: 7, RDF.type: 3})
    >>> q = compile_body(rule, ids, "sqlite", sources={1: "delta"})
    >>> print(q.select_sql(q.head_exprs(rule.head[0])))
    SELECT q1.s, 3, q0.o FROM kg_quads q0, delta q1 WHERE q0.p = 7 AND q1.p = 3 AND q1.o = q0.s
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.core.float32 import round32
from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.floats import single_sql
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, Var, term_vars

__all__ = ["BodyQuery", "ConstantIds", "NeedsPython", "Unsatisfiable", "compile_body", "hidden_graph_ids"]

QUADS = "kg_quads"
TERMS = "kg_terms"
_POS = ("s", "p", "o")


class Unsatisfiable(Exception):
    """The body can never match (a constant is not in the store)."""


class NeedsPython(Exception):
    """The rule computes values in its head (Bind/aggregate result): evaluated row by row."""


class ConstantIds:
    """Term ids of rule constants; a constant absent from the store has no id.

    ``hidden_graphs``: ids of the graphs rule bodies never read (:func:`hidden_graph_ids`:
    GNN predictions and analytics); every ``kg_quads`` atom of a compiled body excludes them.
    """

    def __init__(self, ids: Mapping[Any, int], hidden_graphs: Iterable[int] = ()) -> None:
        self.ids = dict(ids)
        self.hidden_graphs = tuple(sorted({int(g) for g in hidden_graphs}))

    def get(self, term: Any) -> int | None:
        return self.ids.get(term)

    def with_ids(self, ids: Mapping[Any, int]) -> ConstantIds:
        """Other constant ids, the same hidden graphs."""
        return ConstantIds(ids, self.hidden_graphs)

    def visible(self, alias: str) -> str | None:
        """SQL condition: row ``alias`` of ``kg_quads`` is in a graph rules read (``None``: all are)."""
        if not self.hidden_graphs:
            return None
        return f"{alias}.g NOT IN ({', '.join(str(g) for g in self.hidden_graphs)})"


def hidden_graph_ids(db: Any, stage: str | None = None, own: int | None = None) -> tuple[int, ...]:
    """Ids of the GNN prediction and analytics graphs (:mod:`kg_engine.core.graphs`): guesses
    and measures, never premises of a rule. Rule bodies read the asserted graphs and the
    inferred graph only.

    Args:
        db: the store's database.
        stage: a table with a ``g`` column whose graphs may not be registered yet (a write
            in progress).
        own: the id of the inferred graph a rule set writes: the other rule sets' inferred
            graphs are hidden too (their triples are neither premises nor "already known":
            after owl-rl, an rdfs run must still write its own closure).
    """
    from kg_engine.core.graphs import (
        ANALYTICS_GRAPH_PREFIX,
        INFERRED_GRAPH_PREFIX,
        PREDICTED_GRAPH_PREFIX,
    )

    graphs = "SELECT id FROM kg_graphs" + (f" UNION SELECT DISTINCT g FROM {stage}" if stage else "")
    prefixes = (PREDICTED_GRAPH_PREFIX, ANALYTICS_GRAPH_PREFIX,
                *((INFERRED_GRAPH_PREFIX,) if own is not None else ()))
    conds = " OR ".join("substr(t.lex, 1, ?) = ?" for _ in prefixes)
    params: list = []
    for prefix in prefixes:
        params += [len(prefix), prefix]
    rows = db.fetchall(
        f"SELECT t.id FROM kg_terms t WHERE t.id IN ({graphs}) AND t.kind = 1 AND ({conds})", params
    )
    return tuple(sorted(int(r[0]) for r in rows if int(r[0]) != own))


@dataclass
class _Frag:
    text: str
    params: list = field(default_factory=list)


def _numeric_value(lit: Literal) -> float | None:
    from kg_engine.store.terms import typed_values

    dt = str(lit.datatype) if lit.datatype is not None else None
    num, _, _ = typed_values(str(lit), dt)
    return num


def _datetime_value(lit: Literal) -> float | None:
    from kg_engine.store.terms import typed_values

    dt = str(lit.datatype) if lit.datatype is not None else None
    _, dtm, _ = typed_values(str(lit), dt)
    return dtm


class BodyQuery:
    """The FROM/WHERE of one rule body plus where each variable's value lives.

    Built by :func:`compile_body`; ``select_sql`` turns it into a ``SELECT``.
    """

    def __init__(self, ids: ConstantIds, dialect: str, prefix: str = "") -> None:
        self.ids = ids
        self.dialect = dialect
        self.prefix = prefix
        self.froms: list[_Frag] = []
        #: how ``froms`` are joined: ``" CROSS JOIN "`` keeps their order on PostgreSQL under
        #: ``join_collapse_limit = 1`` (a comma list is reordered freely)
        self.join = ", "
        self.where: list[_Frag] = []
        #: variable -> SQL expression of its term id
        self.cols: dict[Var, str] = {}
        #: variable -> (SQL expression, "num" | "str") for computed values
        self.values: dict[Var, tuple[str, str, list]] = {}
        #: variable -> positions it occupies in positive atoms ({"s", "p", "o"})
        self.positions: dict[Var, set[str]] = {}
        self._term_alias: dict[str, str] = {}
        self._n = 0

    # -- helpers ---------------------------------------------------------------------------
    def alias(self, stem: str) -> str:
        self._n += 1
        return f"{self.prefix}{stem}{self._n - 1}"

    def const_id(self, term: Any) -> int:
        id_ = self.ids.get(term)
        if id_ is None:
            raise Unsatisfiable(term)
        return int(id_)

    def term_row(self, id_expr: str) -> str:
        """Alias of a ``kg_terms`` join for the term whose id is ``id_expr``."""
        alias = self._term_alias.get(id_expr)
        if alias is None:
            alias = self.alias("t")
            self._term_alias[id_expr] = alias
            self.froms.append(_Frag(f"{TERMS} {alias}"))
            self.where.append(_Frag(f"{alias}.id = {id_expr}"))
        return alias

    # -- atoms -----------------------------------------------------------------------------
    def add_atom(self, atom: Atom, table: str, bound: dict[Var, str]) -> str:
        """Join one triple pattern; new variables are recorded in ``bound``."""
        a = self.alias("q")
        self.froms.append(_Frag(f"{table} {a}"))
        visible = self.ids.visible(a) if table == QUADS else None
        if visible:
            self.where.append(_Frag(visible))
        for pos, t in zip(_POS, atom):
            col = f"{a}.{pos}"
            if isinstance(t, Var):
                if t in bound:
                    self.where.append(_Frag(f"{col} = {bound[t]}"))
                elif t in self.values:
                    raise RuleSyntaxError(
                        f"variable {t!r} is bound by a computation and cannot be matched "
                        "against a triple position"
                    )
                else:
                    bound[t] = col
                if bound is self.cols:
                    self.positions.setdefault(t, set()).add(pos)
            elif isinstance(t, (URIRef, BNode, Literal)):
                self.where.append(_Frag(f"{col} = {self.const_id(t)}"))
            else:  # pragma: no cover - IR guarantees Node
                raise TypeError(f"bad atom term {t!r}")
        return a

    # -- expressions ------------------------------------------------------------------------
    def expr(self, node: Any, bound: dict[Var, str]) -> tuple[str, str, list]:
        """``(sql, type, params)``; type is "id" (a term id), "num" or "str"."""
        if isinstance(node, Var):
            if node in bound:
                return bound[node], "id", []
            if node in self.values:
                return self.values[node]
            raise RuleSyntaxError(f"variable {node!r} is used in a built-in before it is bound")
        if isinstance(node, Literal):
            num = _numeric_value(node)
            if num is not None:
                return "?", "num", [num]
            dtm = _datetime_value(node)
            if dtm is not None:
                return "?", "dtm", [dtm]
            return "?", "str", [str(node)]
        if isinstance(node, (URIRef, BNode)):
            id_ = self.ids.get(node)
            return (str(int(id_)) if id_ is not None else "-1"), "id", []
        if isinstance(node, Builtin):
            return self.call(node, bound)
        raise TypeError(f"bad expression {node!r}")

    def as_num(self, e: tuple[str, str, list]) -> tuple[str, list]:
        sql, typ, params = e
        if typ == "num":
            return sql, params
        if typ == "id":
            return f"{self.term_row(sql)}.num", params
        if typ == "dtm":
            return sql, params
        return "NULL", []

    def as_str(self, e: tuple[str, str, list]) -> tuple[str, list]:
        sql, typ, params = e
        if typ == "str":
            return sql, params
        if typ == "id":
            return f"{self.term_row(sql)}.lex", params
        return f"CAST({sql} AS TEXT)", params

    def call(self, b: Builtin, bound: dict[Var, str]) -> tuple[str, str, list]:
        n = b.name
        args = [self.expr(a, bound) for a in b.args]

        def need(k: int) -> None:
            if len(args) != k:
                raise RuleSyntaxError(f"built-in {n} takes {k} argument(s), got {len(args)}")

        if n in ("add", "sub", "mul", "div"):
            need(2)
            (x, px), (y, py) = self.as_num(args[0]), self.as_num(args[1])
            op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[n]
            if n == "div":
                return f"({x} / NULLIF({y}, 0))", "num", px + py
            return f"({x} {op} {y})", "num", px + py
        if n in ("neg", "abs"):
            need(1)
            x, px = self.as_num(args[0])
            return (f"(-{x})" if n == "neg" else f"abs({x})"), "num", px
        if n == "strlen":
            need(1)
            x, px = self.as_str(args[0])
            return f"length({x})", "num", px
        if n in ("lcase", "ucase"):
            need(1)
            x, px = self.as_str(args[0])
            return (f"lower({x})" if n == "lcase" else f"upper({x})"), "str", px
        if n == "str":
            need(1)
            x, px = self.as_str(args[0])
            return x, "str", px
        if n == "concat":
            parts = [self.as_str(a) for a in args]
            return "(" + " || ".join(p for p, _ in parts) + ")", "str", [v for _, ps in parts for v in ps]
        if n in ("isIRI", "isBlank", "isLiteral", "isNumeric"):
            need(1)
            sql, typ, ps = args[0]
            if typ != "id":
                ok = {"isLiteral": "1 = 1", "isNumeric": "1 = 1" if typ == "num" else "1 = 0"}
                return ok.get(n, "1 = 0"), "bool", []
            t = self.term_row(sql)
            cond = {
                "isIRI": f"{t}.kind = 1",
                "isBlank": f"{t}.kind = 2",
                "isLiteral": f"{t}.kind = 3",
                "isNumeric": f"{t}.num IS NOT NULL",
            }[n]
            return cond, "bool", ps
        if n in ("isDatatype", "inDatatype"):
            return self.datatype_test(b, args)
        if n == "sameTerm":
            need(2)
            (x, tx, px), (y, ty, py) = args
            if tx == "id" and ty == "id":
                return f"{x} = {y}", "bool", px + py
            return self.compare("eq", args[0], args[1], [self.float_tests(a, bound) for a in b.args], b.args)
        if n in ("contains", "strstarts", "strends", "regex"):
            need(2)
            (x, px), (y, py) = self.as_str(args[0]), self.as_str(args[1])
            ps = px + py
            if n == "contains":
                f = "instr" if self.dialect == "sqlite" else "strpos"
                return f"{f}({x}, {y}) > 0", "bool", ps
            if n == "strstarts":
                return f"substr({x}, 1, length({y})) = {y}", "bool", ps + py
            if n == "strends":
                if self.dialect == "sqlite":
                    return (
                        f"(length({y}) = 0 OR substr({x}, -length({y})) = {y})",
                        "bool",
                        py + px + py + py,
                    )
                return f"right({x}, length({y})) = {y}", "bool", ps + py
            if self.dialect == "sqlite":
                return f"kg_regex({y}, {x})", "bool", py + px
            return f"{x} ~ {y}", "bool", ps
        if n in ("and", "or"):
            parts = [self.truth(a) for a in args]
            op = " AND " if n == "and" else " OR "
            return "(" + op.join(p for p, _ in parts) + ")", "bool", [v for _, ps in parts for v in ps]
        if n == "not":
            need(1)
            x, px = self.truth(args[0])
            return f"NOT ({x})", "bool", px
        if n in ("eq", "ne", "lt", "le", "gt", "ge"):
            need(2)
            return self.compare(n, args[0], args[1], [self.float_tests(a, bound) for a in b.args], b.args)
        raise RuleSyntaxError(f"built-in {n} is not supported here")  # pragma: no cover

    def datatype_test(self, b: Builtin, args: list[tuple[str, str, list]]) -> tuple[str, str, list]:
        """``isDatatype(?d)`` / ``inDatatype(?v, ?d)`` (:mod:`kg_engine.rules.datatypes`)."""
        from kg_engine.rules.datatypes import SUPPORTED, member_sql

        if len(args) != (1 if b.name == "isDatatype" else 2) or any(a[1] != "id" for a in args):
            raise RuleSyntaxError(f"built-in {b.name} takes terms: {b.name}(?v, ?d) / isDatatype(?d)")
        dts = sorted(SUPPORTED)
        if b.name == "isDatatype":
            d = self.term_row(args[0][0])
            return f"{d}.kind = 1 AND {d}.lex IN ({', '.join('?' * len(dts))})", "bool", dts
        t = self.term_row(args[0][0])
        dalias = self.alias("d")
        # '' for plain and language literals (no datatype row): a NULL would make the test
        # unknown, and ``not inDatatype`` (dt-not-type) would miss "x"@en outside xsd:string
        dtlex = f"COALESCE((SELECT {dalias}.lex FROM {TERMS} {dalias} WHERE {dalias}.id = {t}.dt), '')"
        target = b.args[1]
        if isinstance(target, URIRef):  # a constant datatype (specialised rule)
            if str(target) not in SUPPORTED:
                return "1 = 0", "bool", []
            sql, ps = member_sql(t, dtlex, str(target))
            return sql, "bool", ps
        ylex = f"{self.term_row(args[1][0])}.lex"
        whens, params = [], []
        for dt in dts:
            sql, ps = member_sql(t, dtlex, dt)
            whens.append(f"WHEN {ylex} = ? THEN {sql}")
            params += [dt, *ps]
        return f"(CASE {' '.join(whens)} ELSE 1 = 0 END)", "bool", params

    def truth(self, e: tuple[str, str, list]) -> tuple[str, list]:
        sql, typ, params = e
        if typ == "bool":
            return sql, params
        if typ == "num":
            return f"(COALESCE({sql}, 0) <> 0)", params
        if typ == "str":
            return f"(length(COALESCE({sql}, '')) > 0)", params
        t = self.term_row(sql)
        return f"(({t}.num IS NOT NULL AND {t}.num <> 0) OR ({t}.bln = 1) OR ({t}.num IS NULL AND {t}.bln IS NULL AND {t}.kind = 3 AND length({t}.lex) > 0))", params

    def float_tests(self, node: Any, bound: dict[Var, str]) -> tuple[str, str] | None:
        """SQL tests "is an xsd:float" and "is an xsd:double" of a comparison operand, None for
        a computed value (see :mod:`kg_engine.rules.floats`)."""
        if isinstance(node, Literal):
            return (_TRUE if node.datatype == XSD.float else _FALSE,
                    _TRUE if node.datatype == XSD.double else _FALSE)
        if isinstance(node, Var) and node in bound:
            t = self.term_row(bound[node])
            return f"{t}.dt = {_FLOAT_DT}", f"{t}.dt = {_DOUBLE_DT}"
        return None

    def promoted(self, a: tuple, b: tuple, sym: str,
                 tests: list[tuple[str, str] | None] | None) -> tuple[str, list] | None:
        """``a sym b`` over numbers with XPath's promotion of xsd:float: at single precision
        when one operand is a float and the other is not a double, and a float's stored
        double rounded to single precision (stores written before kept the double of its
        lexical form); None where an operand is computed (compared as doubles)."""
        if not tests or tests[0] is None or tests[1] is None:
            return None
        (fa, da), (fb, db) = tests
        if _FALSE in (fa, fb) and fa == fb:
            return None  # no float on either side
        single = f"(({fa} AND NOT {db}) OR ({fb} AND NOT {da}))"
        sides = []
        for (e, typ, params), f in ((a, fa), (b, fb)):
            if typ == "id":
                col = f"{self.term_row(e)}.num"
                r = single_sql(col, self.dialect)
                sides.append((r, f"(CASE WHEN {f} THEN {r} ELSE {col} END)", [], []))
            elif typ == "num" and e == "?" and len(params) == 1 and params[0] is not None:
                v = params[0]  # a constant: its single-precision value is known here
                sides.append(("?", "?", [round32(v)], [v]))
            else:
                return None
        (sx, dx, psx, pdx), (sy, dy, psy, pdy) = sides
        return (f"(CASE WHEN {single} THEN {sx} {sym} {sy} ELSE {dx} {sym} {dy} END)",
                psx + psy + pdx + pdy)

    def compare(self, op: str, a: tuple, b: tuple,
                tests: list[tuple[str, str] | None] | None = None,
                nodes: tuple[Any, ...] = (None, None)) -> tuple[str, str, list]:
        """``a op b`` with SPARQL's operator semantics (``sparql.xsd.equal`` / ``compare``), so
        a rule's test answers as ``FILTER`` does: values compare within their category
        (numbers with XPath's promotion of xsd:float, dateTimes, dates, booleans, simple
        strings); ``=`` also holds for one term (NaN excepted); ``!=`` holds for different
        known values, across categories, and beside an IRI, a blank node or a language-tagged
        string; an ill-typed literal, or one of a datatype the store gives no value, has no
        value (it is only ``=`` to itself). ``nodes``: the operands as written (a constant's
        category is read from it)."""
        sym = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        x, y = (self._side(e, n) for e, n in zip((a, b), nodes))
        same = _Frag(f"{x.tid} = {y.tid}") if x.tid and y.tid else _Frag(_FALSE)
        if op == "eq":
            cond = _or(_and(same, _not(self._nan(x))), self._same_category(x, y, a, b, "=", tests))
        elif op == "ne":
            cond = _and(_or(_not(same), self._nan(x)),
                        _or(self._node(x), self._node(y), self._lang(x), self._lang(y),
                            _and(self._known(x), self._known(y),
                                 _not(self._same_category(x, y, a, b, "=", tests)))))
        else:
            cond = self._same_category(x, y, a, b, sym, tests)
        return cond.text, "bool", cond.params

    def _side(self, e: tuple[str, str, list], node: Any) -> _Side:
        """One operand of a comparison: a stored term, a constant or a computed value."""
        sql, typ, params = e
        if typ == "id":
            return _Side(row=self.term_row(sql), tid=sql)
        if isinstance(node, Literal):
            from kg_engine.store.terms import typed_values

            dt = None if node.datatype in (None, XSD.string) else str(node.datatype)
            num, dtm, bln = typed_values(str(node), dt)
            if num is not None:
                return _Side(cat="num", val=_Frag("?", [num]))
            if dtm is not None:
                return _Side(cat="date" if node.datatype == XSD.date else "dtm", val=_Frag("?", [dtm]))
            if bln is not None:
                return _Side(cat="bln", val=_Frag("?", [bln]))
            if dt is None and not node.language:
                return _Side(cat="str", val=_Frag("?", [str(node)]))
            id_ = self.ids.get(node)  # NaN, a language-tagged or an ill-typed literal: a term
            cat = "nan" if dt in _FLOATS and str(node).strip() == "NaN" else "lang" if node.language else ""
            return _Side(cat=cat, tid=str(int(id_)) if id_ is not None else None)
        return _Side(cat={"num": "num", "dtm": "dtm", "str": "str"}.get(typ, ""), val=_Frag(sql, params))

    def _is(self, s: _Side, cat: str) -> _Frag:
        """``s`` has a value of category ``cat`` (num, dtm, date, bln or str)."""
        if s.row is None:
            if s.cat != cat or s.val is None:
                return _Frag(_FALSE)
            if s.val.text == "?":  # a constant (PostgreSQL cannot type a bare "? IS NOT NULL")
                return _Frag(_TRUE if s.val.params[0] is not None else _FALSE)
            return _Frag(f"{s.val.text} IS NOT NULL", s.val.params)
        t = s.row
        date = f"COALESCE({t}.dt = {_DATE_DT}, {_FALSE})"
        return _Frag({"num": f"{t}.num IS NOT NULL", "bln": f"{t}.bln IS NOT NULL",
                      "dtm": f"({t}.dtm IS NOT NULL AND NOT {date})", "date": f"({t}.dtm IS NOT NULL AND {date})",
                      "str": f"({t}.kind = 3 AND {t}.dt = 0 AND {t}.lang = '')"}[cat])

    def _value(self, s: _Side, cat: str) -> _Frag:
        if s.row is None:
            assert s.val is not None
            return s.val
        return _Frag(f"{s.row}." + {"num": "num", "dtm": "dtm", "date": "dtm", "bln": "bln", "str": "lex"}[cat])

    def _same_category(self, x: _Side, y: _Side, a: tuple, b: tuple, sym: str,
                       tests: list[tuple[str, str] | None] | None) -> _Frag:
        """Both operands have values of one category and ``x sym y`` holds for them."""
        parts = []
        for cat in _CATEGORIES:
            if (x.row is None and x.cat != cat) or (y.row is None and y.cat != cat):
                continue
            floats = self.promoted(a, b, sym, tests) if cat == "num" else None
            if floats is not None:
                cmp = _Frag(*floats)
            else:
                vx, vy = self._value(x, cat), self._value(y, cat)
                cmp = _Frag(f"{vx.text} {sym} {vy.text}", vx.params + vy.params)
            parts.append(_and(self._is(x, cat), self._is(y, cat), _Frag(f"COALESCE({cmp.text}, {_FALSE})", cmp.params)))
        return _or(*parts)

    def _nan(self, s: _Side) -> _Frag:
        if s.row is None:
            return _Frag(_TRUE if s.cat == "nan" else _FALSE)
        t = s.row
        return _Frag(f"({t}.kind = 3 AND {t}.num IS NULL AND COALESCE({t}.dt IN ({_FLOAT_DT}, {_DOUBLE_DT}), {_FALSE}) "
                     f"AND trim({t}.lex) = 'NaN')")

    def _node(self, s: _Side) -> _Frag:
        return _Frag(f"{s.row}.kind IN (1, 2)" if s.row else _FALSE)

    def _lang(self, s: _Side) -> _Frag:
        if s.row is None:
            return _Frag(_TRUE if s.cat == "lang" else _FALSE)
        return _Frag(f"({s.row}.kind = 3 AND {s.row}.lang <> '')")

    def _known(self, s: _Side) -> _Frag:
        """``s`` has a value (of any category, NaN included)."""
        return _or(*(self._is(s, c) for c in _CATEGORIES), self._nan(s))

    # -- assembly ----------------------------------------------------------------------------
    def head_exprs(self, atom: Atom) -> list[tuple[str, str, list]]:
        """SQL of the head's three positions: ``(sql, "id"|"num"|"str", params)``."""
        out = []
        for t in atom:
            if isinstance(t, Var):
                if t in self.cols:
                    out.append((self.cols[t], "id", []))
                elif t in self.values:
                    out.append(self.values[t])
                else:
                    raise RuleSyntaxError(f"head variable {t!r} is not bound by the body")
            else:
                out.append((str(self.const_id(t)), "id", []))
        return out

    def from_where(self) -> tuple[str, list]:
        params: list = []
        f = self.join.join(fr.text for fr in self.froms) or _ONE_ROW[self.dialect]
        for fr in self.froms:
            params += fr.params
        w = " AND ".join(fr.text for fr in self.where)
        for fr in self.where:
            params += fr.params
        return (f" FROM {f}" + (f" WHERE {w}" if w else "")), params

    def select_sql(self, exprs: list[tuple[str, str, list]], distinct: bool = False) -> str:
        sql, _ = self.select(exprs, distinct)
        return sql

    def select(self, exprs: list[tuple[str, str, list]], distinct: bool = False) -> tuple[str, list]:
        params: list = []
        for e in exprs:
            params += e[2]
        fw, p2 = self.from_where()
        return ("SELECT " + ("DISTINCT " if distinct else "") + ", ".join(e[0] for e in exprs) + fw), params + p2


_TRUE, _FALSE = "(1 = 1)", "(1 = 0)"
#: term ids of the datatypes xsd:float and xsd:double (NULL in a store that never held one)
_FLOAT_DT = f"(SELECT id FROM {TERMS} WHERE kind = 1 AND lex = '{XSD.float}')"
_DOUBLE_DT = f"(SELECT id FROM {TERMS} WHERE kind = 1 AND lex = '{XSD.double}')"
_DATE_DT = f"(SELECT id FROM {TERMS} WHERE kind = 1 AND lex = '{XSD.date}')"
_ONE_ROW = {"sqlite": "(SELECT 1 AS one) one_row", "postgresql": "(SELECT 1 AS one) one_row"}
_FLOATS = (str(XSD.float), str(XSD.double))
#: the value categories a comparison compares within (``dtm``: dateTime, ``date``: xsd:date)
_CATEGORIES = ("num", "dtm", "date", "bln", "str")


@dataclass
class _Side:
    """An operand of a comparison: a stored term (``row``: its ``kg_terms`` alias, ``tid``:
    its id), or a constant or computed value (``cat``: its category, ``""`` for none;
    ``val``: its SQL; ``tid``: a constant term's id, if the store holds it)."""

    row: str | None = None
    tid: str | None = None
    cat: str = ""
    val: _Frag | None = None


def _and(*parts: _Frag) -> _Frag:
    return _Frag("(" + " AND ".join(p.text for p in parts) + ")", [v for p in parts for v in p.params])


def _or(*parts: _Frag) -> _Frag:
    if not parts:
        return _Frag(_FALSE)
    return _Frag("(" + " OR ".join(p.text for p in parts) + ")", [v for p in parts for v in p.params])


def _not(part: _Frag) -> _Frag:
    return _Frag(f"(NOT {part.text})", part.params)


def compile_body(
    rule: Rule,
    ids: ConstantIds,
    dialect: str,
    sources: Mapping[int, str] | None = None,
    *,
    prefix: str = "",
) -> BodyQuery:
    """Compile the body of ``rule``.

    Args:
        rule: the rule.
        ids: term ids of the rule's constants.
        dialect: ``"sqlite"`` or ``"postgresql"``.
        sources: table to read for positive atom number ``i`` (index among ``rule.atoms()``);
            others read ``kg_quads``.
        prefix: alias prefix (for nesting).

    Returns:
        The :class:`BodyQuery`.

    Raises:
        Unsatisfiable: when a positive atom names a constant that is not in the store.
        RuleSyntaxError: when a built-in uses an unbound variable.
    """
    sources = sources or {}
    q = BodyQuery(ids, dialect, prefix)
    atom_i = 0
    deferred: list[Any] = []
    # Positive atoms and aggregates first (they bind), then binds, then tests/negations.
    for b in rule.body:
        if isinstance(b, Atom):
            q.add_atom(b, sources.get(atom_i, QUADS), q.cols)
            atom_i += 1
    for b in rule.body:
        if isinstance(b, Aggregate):
            _add_aggregate(q, b)
    pending = [b for b in rule.body if isinstance(b, Bind)]
    while pending:  # binds may depend on each other: bind in dependency order
        progress = False
        for b in list(pending):
            if all(v in q.cols or v in q.values for v in term_vars(b.expr)):
                sql, typ, params = q.expr(b.expr, q.cols)
                if typ == "bool":
                    raise RuleSyntaxError(f"bind of {b.var!r}: a test is not a value")
                q.values[b.var] = (sql, typ, params)
                pending.remove(b)
                progress = True
        if not progress:
            v = next(v for b in pending for v in term_vars(b.expr) if v not in q.cols and v not in q.values)
            raise RuleSyntaxError(
                f"rule {rule.name!r}: variable {v!r} is used in a bind before it is bound",
                source=rule.source,
                line=rule.line,
            )
    for b in rule.body:
        if isinstance(b, Builtin):
            try:
                sql, params = q.truth(q.call(b, q.cols))
            except RuleSyntaxError as exc:
                raise RuleSyntaxError(f"rule {rule.name!r}: {exc.message}", source=rule.source, line=rule.line) from None
            q.where.append(_Frag(sql, params))
        elif isinstance(b, Not):
            deferred.append(b)
    for b in deferred:
        frag = _not_exists(q, b)
        if frag is not None:
            q.where.append(frag)
    return q


def _not_exists(q: BodyQuery, neg: Not) -> _Frag | None:
    inner = BodyQuery(q.ids, q.dialect, prefix=q.alias("n") + "_")
    bound = dict(q.cols)
    try:
        for b in neg.body:
            if isinstance(b, Atom):
                inner.add_atom(b, QUADS, bound)
        inner.cols = bound
        inner.values = q.values
        for b in neg.body:
            if isinstance(b, Builtin):
                sql, params = inner.truth(inner.call(b, bound))
                inner.where.append(_Frag(sql, params))
            elif isinstance(b, Not):
                frag = _not_exists(inner, b)
                if frag is not None:
                    inner.where.append(frag)
            elif isinstance(b, (Bind, Aggregate)):
                raise RuleSyntaxError("bind/aggregate inside a negation is not supported")
    except Unsatisfiable:
        return None  # a constant the store does not know: nothing to negate -> always true
    fw, params = inner.from_where()
    return _Frag(f"NOT EXISTS (SELECT 1{fw})", params)


def _add_aggregate(q: BodyQuery, agg: Aggregate) -> None:
    inner = BodyQuery(q.ids, q.dialect, prefix=q.alias("a") + "_")
    bound: dict[Var, str] = {}
    for b in agg.body:
        if isinstance(b, Atom):
            inner.add_atom(b, QUADS, bound)
    inner.cols = bound
    for b in agg.body:
        if isinstance(b, Bind):
            inner.values[b.var] = inner.expr(b.expr, bound)
    for b in agg.body:
        if isinstance(b, Builtin):
            sql, params = inner.truth(inner.call(b, bound))
            inner.where.append(_Frag(sql, params))
        elif isinstance(b, Not):
            frag = _not_exists(inner, b)
            if frag is not None:
                inner.where.append(frag)
    for v in agg.group_by:
        if v not in bound:
            raise RuleSyntaxError(f"group-by variable {v!r} does not occur in the aggregate body")
    # Distinct solutions (set semantics; a triple in two graphs counts once).
    keep = sorted(set(agg.group_by) | ({agg.arg} if agg.arg is not None else set()) | set(bound))
    sel = []
    sel_params: list = []
    for v in keep:
        if v in bound:
            sel.append(f"{bound[v]} AS v_{v.name}")
        else:
            sql, _, ps = inner.values[v]
            sel.append(f"{sql} AS v_{v.name}")
            sel_params += ps
    fw, params = inner.from_where()
    sub = f"SELECT DISTINCT {', '.join(sel)}{fw}"
    alias = q.alias("g")
    d = "DISTINCT " if agg.distinct else ""
    if agg.arg is None:
        val, typ = "COUNT(*)", "num"
        join_terms = ""
    else:
        arg = f"x.v_{agg.arg.name}"
        if agg.arg in inner.values:
            arg_num = arg
            join_terms = ""
        else:
            arg_num = "tt.num"
            join_terms = f" LEFT JOIN {TERMS} tt ON tt.id = {arg}"
        if agg.fn == "count":
            val = f"COUNT({d}{arg})"
        else:
            val = f"{agg.fn.upper()}({d}{arg_num})"
        typ = "num"
    gb = ", ".join(f"x.v_{v.name}" for v in agg.group_by)
    cols = ", ".join([f"x.v_{v.name} AS v_{v.name}" for v in agg.group_by] + [f"{val} AS r"])
    text = f"(SELECT {cols} FROM ({sub}) x{join_terms}" + (f" GROUP BY {gb}" if gb else "") + f") {alias}"
    q.froms.append(_Frag(text, sel_params + params))
    for v in agg.group_by:
        col = f"{alias}.v_{v.name}"
        if v in q.cols:
            q.where.append(_Frag(f"{col} = {q.cols[v]}"))
        else:
            q.cols[v] = col
    q.values[agg.result] = (f"{alias}.r", typ, [])
