"""A fast parser for SPARQL 1.1 queries, straight to rdflib-shaped algebra.

rdflib's pyparsing parser plus ``translateQuery`` cost 10–30 ms per query (far more on a busy
machine): more than running the compiled SQL. This recursive-descent parser reads the SPARQL 1.1
query grammar — PREFIX/BASE, SELECT [DISTINCT|REDUCED] (variables, ``*``, ``(expr AS ?v)`` incl.
aggregates), ASK, CONSTRUCT (template or ``WHERE``), DESCRIBE, FROM [NAMED], triple patterns
with ``;`` ``,`` ``a`` ``[ … ]`` ``( … )``, property paths (``/ | ^ * + ?`` groups and negated
property sets), OPTIONAL, UNION, MINUS, GRAPH, VALUES (also empty, also after the query),
sub-selects, FILTER, [NOT] EXISTS, BIND, GROUP BY (variables and expressions), HAVING,
ORDER BY, LIMIT/OFFSET, the operators, built-ins and function calls/casts — and builds the
algebra the rdflib path builds (``translateQuery`` plus :mod:`kg_engine.sparql.translation`'s
repairs). It also reads ``INSERT DATA``/``DELETE DATA`` requests (:func:`parse_data_update`).

Anything else (``SERVICE``, relative IRIs under BASE, escapes in prefixed names, malformed
text) returns ``None`` (never a guess): the caller then uses rdflib's parser. A query whose one
fault is a §18.2.1 scope rule raises :class:`ScopeViolation` when asked
(:func:`parse_with_base`), so that the error needs no pyparsing run either.
:func:`parse` builds plain ``CompValue`` nodes for the SQL compiler; :func:`to_rdflib` binds the
expressions to rdflib's evaluation functions so that rdflib's evaluator can run the same
algebra (``kg_engine.sparql.parsing`` uses it for every query it can). rdflib stays the
reference: ``tests/sparql/compiler/test_fastparse.py`` checks, also on generated queries, that
both parsers' algebra give the same answers (compiled and on rdflib's evaluator) and errors.

Example:
    >>> a = parse("PREFIX ex: <http://e/> SELECT ?s WHERE { ?s ex:p 1 }")
    >>> a.name, a.p.name, a.p.p.name
    ('SelectQuery', 'Project', 'BGP')
    >>> parse("SELECT ?s WHERE { SERVICE <http://e/> { ?s ?p ?o } }") is None  # rdflib's
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rdflib.namespace import RDF, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import BNode, Literal, URIRef, Variable

__all__ = ["ScopeViolation", "Unsupported", "parse", "parse_data_update", "parse_for_rdflib", "parse_with_base",
           "to_rdflib"]

_TOKEN = re.compile(r"""
 (?P<ws>\s+|\#[^\n]*)
|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
|(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
|(?P<lstr>"{3}(?:(?:"|"")?(?:[^"\\]|\\.))*"{3}|'{3}(?:(?:'|'')?(?:[^'\\]|\\.))*'{3})
|(?P<str>"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
|(?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
|(?P<num>(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+))
|(?P<pname>(?:[A-Za-z][A-Za-z0-9_\-.]*)?:(?:[A-Za-z0-9_:%\-]|\.(?=[A-Za-z0-9_:%\-]))*)
|(?P<bnode>_:[A-Za-z0-9_\-]+)
|(?P<word>[A-Za-z_][A-Za-z0-9_]*)
|(?P<op>\^\^|&&|\|\||!=|<=|>=|[{}()\[\].;,*=<>!+\-/|^?])
""", re.VERBOSE)

_ESC = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_UNARY_BUILTINS = {
    "STR": "Builtin_STR", "LANG": "Builtin_LANG", "DATATYPE": "Builtin_DATATYPE",
    "ISIRI": "Builtin_isIRI", "ISURI": "Builtin_isURI", "ISBLANK": "Builtin_isBLANK",
    "ISLITERAL": "Builtin_isLITERAL", "ISNUMERIC": "Builtin_isNUMERIC", "STRLEN": "Builtin_STRLEN",
    "ABS": "Builtin_ABS", "CEIL": "Builtin_CEIL", "FLOOR": "Builtin_FLOOR",
    **{k: f"Builtin_{k}" for k in (
        "IRI", "URI", "ROUND", "UCASE", "LCASE", "ENCODE_FOR_URI", "YEAR", "MONTH", "DAY",
        "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ", "MD5", "SHA1", "SHA256", "SHA384",
        "SHA512")},
}
_BINARY_BUILTINS = {
    "LANGMATCHES": "Builtin_LANGMATCHES", "CONTAINS": "Builtin_CONTAINS",
    "STRSTARTS": "Builtin_STRSTARTS", "STRENDS": "Builtin_STRENDS", "SAMETERM": "Builtin_sameTerm",
    "STRBEFORE": "Builtin_STRBEFORE", "STRAFTER": "Builtin_STRAFTER",
    "STRLANG": "Builtin_STRLANG", "STRDT": "Builtin_STRDT",
}
_LIST_BUILTINS = {"CONCAT": "Builtin_CONCAT", "COALESCE": "Builtin_COALESCE"}
_NULLARY_BUILTINS = {"RAND": "Builtin_RAND", "NOW": "Builtin_NOW", "UUID": "Builtin_UUID",
                     "STRUUID": "Builtin_STRUUID"}
_CALLS = {*_UNARY_BUILTINS, *_BINARY_BUILTINS, *_LIST_BUILTINS, *_NULLARY_BUILTINS, "IF", "SUBSTR",
          "REPLACE", "REGEX", "BOUND", "EXISTS", "NOT", "BNODE"}
_AGGS = {"COUNT": "Aggregate_Count", "SUM": "Aggregate_Sum", "AVG": "Aggregate_Avg",
         "MIN": "Aggregate_Min", "MAX": "Aggregate_Max", "SAMPLE": "Aggregate_Sample",
         "GROUP_CONCAT": "Aggregate_GroupConcat"}


class _Unsupported(Exception):
    """Outside the fast parser's grammar: the caller uses rdflib's parser."""


Unsupported = _Unsupported


class ScopeViolation(_Unsupported):
    """The query breaks a scope rule of §18.2.1 (and nothing else the parser could see):
    ``("bind", ?v, None)`` for ``BIND(… AS ?v)`` of an in-scope ``?v``, ``("alias", ?v, why)``
    for a ``SELECT (… AS ?v)`` whose ``?v`` is already ``why``, ``("bnode", label, None)`` for
    a blank node label used in two basic graph patterns (§4.1.4) (``kg_engine.sparql.scope``
    words the error)."""

    def __init__(self, kind: str, var: Variable | str, why: str | None) -> None:
        super().__init__(kind)
        self.kind, self.var, self.why = kind, var, why


#: a lone UTF-16 surrogate, which a Python str may hold but SPARQL text cannot
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescape(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            n = s[i + 1]
            if n in _ESC:
                out.append(_ESC[n])
                i += 2
                continue
            if n in "uU":
                end = i + (6 if n == "u" else 10)
                cp = int(s[i + 2:end], 16)
                if 0xD800 <= cp <= 0xDFFF:
                    raise _Unsupported("surrogate escape")  # the full path reports it
                out.append(chr(cp))
                i = end
                continue
            raise _Unsupported("escape")
        out.append(c)
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str, prefixes: Mapping[str, Any] | None = None) -> None:
        toks: list[tuple[str, str]] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            if m.start() != pos:
                raise _Unsupported("lex")
            pos = m.end()
            kind = m.lastgroup
            if kind == "ws":
                continue
            if kind == "lstr" and text[pos:pos + 1] == m.group()[-1]:
                raise _Unsupported("quote after a long string")  # rdflib decides
            toks.append((kind, m.group()))  # type: ignore[arg-type]
        if pos != len(text):
            raise _Unsupported("lex")
        toks.append(("eof", ""))
        self.toks = toks
        self.first_seen: dict[str, int] = {}
        for i, (kind, val) in enumerate(toks):
            if kind == "var":
                self.first_seen.setdefault(val[1:], i)
        self.i = 0
        # declared beforehand (the store's bindings); the text's PREFIX lines override them
        self.prefixes: dict[str, str] = {p: str(ns) for p, ns in (prefixes or {}).items()}
        self.base: str | None = None
        self.aggs: list[CompValue] = []
        self.bnodes: dict[str, BNode] = {}
        self.segment = 0  # the basic graph pattern being read (§4.1.4: a label is in one)
        self.segments = 0
        self.label_segment: dict[str, int] = {}  # blank node label -> its basic graph pattern
        self.allow_aggs = True
        #: scope violations seen (reported once the whole text has parsed)
        self.violations: list[ScopeViolation] = []

    # -- token helpers -------------------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k]

    def kw(self, word: str) -> bool:
        kind, val = self.toks[self.i]
        if kind == "word" and val.upper() == word:
            self.i += 1
            return True
        return False

    def op(self, sym: str) -> bool:
        kind, val = self.toks[self.i]
        if kind == "op" and val == sym:
            self.i += 1
            return True
        return False

    def expect_op(self, sym: str) -> None:
        if not self.op(sym):
            raise _Unsupported(f"expected {sym}")

    def next(self) -> tuple[str, str]:
        t = self.toks[self.i]
        self.i += 1
        return t

    # -- terms ---------------------------------------------------------------------------
    def iri(self, tok: tuple[str, str]) -> URIRef:
        kind, val = tok
        if kind == "iri":
            s = val[1:-1]
            if self.base is not None and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", s):
                raise _Unsupported("relative IRI")
            return URIRef(s)
        if kind == "pname":
            pfx, _, local = val.partition(":")
            if pfx not in self.prefixes or "\\" in local or "%" in local:
                raise _Unsupported("prefix")
            return URIRef(self.prefixes[pfx] + local)
        raise _Unsupported("iri")

    def literal_or_iri(self) -> Any:
        kind, val = self.peek()
        if kind in ("iri", "pname"):
            self.i += 1
            return self.iri((kind, val))
        if kind == "str" or kind == "lstr":
            self.i += 1
            lex = _unescape(val[1:-1] if kind == "str" else val[3:-3])
            k2, v2 = self.peek()
            if k2 == "lang":
                self.i += 1
                return Literal(lex, lang=v2[1:])
            if k2 == "op" and v2 == "^^":
                self.i += 1
                dt = self.iri(self.next())
                return Literal(lex, datatype=dt, normalize=False)
            return Literal(lex)
        sign = ""
        if kind == "op" and val in "+-" and self.peek(1)[0] == "num":
            sign = val
            self.i += 1
            kind, val = self.peek()
        if kind == "num":
            self.i += 1
            dt = XSD.double if "e" in val.lower() else XSD.decimal if "." in val else XSD.integer
            return Literal(sign + val, datatype=dt, normalize=False)
        if kind == "word" and val in ("true", "false"):
            self.i += 1
            return Literal(val, datatype=XSD.boolean, normalize=False)
        raise _Unsupported("term")

    def node(self, out: list[tuple]) -> Any:
        kind, val = self.peek()
        if kind == "op" and val in ("[", "("):
            return self.node_list(out)
        if kind == "var":
            self.i += 1
            return Variable(val[1:])
        if kind == "bnode":
            self.i += 1
            if self.label_segment.setdefault(val, self.segment) != self.segment:
                self.label_segment[val] = -1  # reported once
                self.violations.append(ScopeViolation("bnode", val[2:], None))
            return self.bnodes.setdefault(val, BNode())
        return self.literal_or_iri()

    def new_segment(self) -> None:
        """The triples read from here on are another basic graph pattern."""
        self.segments += 1
        self.segment = self.segments

    def verb(self) -> Any:
        kind, val = self.peek()
        if kind == "word" and val == "a" and not (
                self.peek(1)[0] == "op" and self.peek(1)[1] in ("/", "|", "*", "+", "?")):
            self.i += 1
            return RDF.type
        if kind == "var":
            self.i += 1
            return Variable(val[1:])
        if kind in ("iri", "pname", "word") or (kind == "op" and val in ("^", "(", "!")):
            return self.path()
        raise _Unsupported("verb")

    # property paths, built as rdflib's translatePath builds them
    def path(self) -> Any:
        parts = [self.path_seq()]
        while self.op("|"):
            parts.append(self.path_seq())
        return parts[0] if len(parts) == 1 else AlternativePath(*parts)

    def path_seq(self) -> Any:
        parts = [self.path_elt_or_inverse()]
        while self.op("/"):
            parts.append(self.path_elt_or_inverse())
        return parts[0] if len(parts) == 1 else SequencePath(*parts)

    def path_elt_or_inverse(self) -> Any:
        if self.op("^"):
            return InvPath(self.path_elt())
        return self.path_elt()

    def negated_set(self) -> Any:
        """``!iri``, ``!(a|^b|…)``: as rdflib builds them, with ``^`` members split off the way
        :mod:`kg_engine.sparql.parsing` rewrites them (``!(a|^b)`` = ``(!(a)|^!(b))``)."""
        fwd: list[Any] = []
        inv: list[Any] = []

        def member() -> None:
            target = inv if self.op("^") else fwd
            kind, val = self.next()
            if kind == "word" and val == "a":
                target.append(RDF.type)
            else:
                target.append(self.iri((kind, val)))

        if self.op("("):
            member()
            while self.op("|"):
                member()
            self.expect_op(")")
        else:
            member()
        parts: list[Any] = []
        if fwd:
            parts.append(NegatedPath(AlternativePath(*fwd)))
        if inv:
            parts.append(InvPath(NegatedPath(AlternativePath(*inv))))
        return parts[0] if len(parts) == 1 else AlternativePath(*parts)

    def path_elt(self) -> Any:
        kind, val = self.peek()
        if kind == "word" and val == "a":
            self.i += 1
            prim: Any = RDF.type
        elif kind in ("iri", "pname"):
            self.i += 1
            prim = self.iri((kind, val))
        elif kind == "op" and val == "(":
            self.i += 1
            prim = self.path()
            self.expect_op(")")
        elif kind == "op" and val == "!":
            self.i += 1
            prim = self.negated_set()
        else:
            raise _Unsupported("path primary")
        kind, val = self.peek()
        if kind == "op" and val in ("*", "+", "?"):
            self.i += 1
            return MulPath(prim, val)
        return prim

    # -- query ---------------------------------------------------------------------------
    def prologue(self) -> None:
        while True:
            if self.kw("PREFIX"):
                kind, val = self.next()
                if kind != "pname" or not val.endswith(":") or val.count(":") != 1:
                    raise _Unsupported("prefix decl")
                self.prefixes[val[:-1]] = self.iri(self.next())
            elif self.kw("BASE"):
                self.base = str(self.iri(self.next()))
            else:
                break

    def query(self) -> CompValue:
        self.prologue()
        if self.kw("SELECT"):
            q = self.select()
        elif self.kw("ASK"):
            dataset = self.dataset_clause()
            where = self.where()
            q = CompValue("AskQuery", p=where, datasetClause=dataset, PV=[])
        elif self.kw("CONSTRUCT"):
            q = self.construct()
        elif self.kw("DESCRIBE"):
            q = self.describe()
        else:
            raise _Unsupported("query form")
        if self.peek()[0] != "eof":
            raise _Unsupported("trailing")
        if self.violations:  # one: it is the error the rdflib path reports (sparql/scope.py)
            raise self.violations[0] if len(self.violations) == 1 else _Unsupported("scope")
        return q

    def dataset_clause(self) -> list[CompValue] | None:
        """``FROM <g>`` / ``FROM NAMED <g>`` clauses, in order (None when there are none)."""
        out: list[CompValue] = []
        while self.kw("FROM"):
            key = "named" if self.kw("NAMED") else "default"
            out.append(CompValue("DatasetClause", **{key: self.iri(self.next())}))
        return out or None

    def where(self) -> CompValue:
        self.kw("WHERE")
        return self.group()

    def construct(self) -> CompValue:
        """``CONSTRUCT { template } [FROM …] WHERE { … } [ORDER BY/LIMIT/OFFSET]`` as rdflib
        translates it: the WHERE part projected like ``SELECT *``."""
        if self.peek() != ("op", "{"):
            return self.construct_where()
        self.i += 1
        template: list[tuple] = []
        while not self.op("}"):
            template.extend(self.triples_block())
        for t in template:
            if not isinstance(t[1], (URIRef, Variable)):
                raise _Unsupported("path in a template")
        template_bnodes, self.bnodes = self.bnodes, {}
        self.label_segment = {}  # the template's labels are new nodes, not the pattern's
        q = self.select(construct=True)
        if set(template_bnodes) & set(self.bnodes):
            raise _Unsupported("blank node label in template and pattern")
        return CompValue("ConstructQuery", p=q.p, template=template or None,
                         datasetClause=q.datasetClause)

    def construct_where(self) -> CompValue:
        """``CONSTRUCT WHERE { triples }``: the template is the pattern (rdflib reads it from
        the ``Project``/``BGP`` below the query form)."""
        q = self.select(construct=True)
        bgp = q.p.p if q.p.name == "Project" else None
        if bgp is None or bgp.name != "BGP" or not all(
                isinstance(t[1], (URIRef, Variable)) for t in bgp.triples):
            raise _Unsupported("CONSTRUCT WHERE with more than triples")
        return CompValue("ConstructQuery", p=q.p, template=None, datasetClause=q.datasetClause)

    def describe(self) -> CompValue:
        """``DESCRIBE`` as rdflib translates it: the named resources and variables, and with a
        WHERE clause ``SELECT DISTINCT`` of those variables (plus the first sub-select
        projections)."""
        targets: list[Any] = []
        while True:
            kind, val = self.peek()
            if kind == "var":
                self.i += 1
                targets.append(Variable(val[1:]))
            elif kind in ("iri", "pname"):
                self.i += 1
                targets.append(self.iri((kind, val)))
            else:
                break
        star = not targets and self.op("*")
        if not targets and not star:
            raise _Unsupported("DESCRIBE without targets")
        start = self.i
        dataset = self.dataset_clause()
        if self.peek()[0] == "eof":
            if star:
                raise _Unsupported("DESCRIBE * without WHERE")
            return CompValue("DescribeQuery", p=None, datasetClause=dataset,
                             PV=list(dict.fromkeys(targets)))
        self.i = start
        q = self.select(construct=True)
        node, above = q.p, None
        while node.name != "Project":
            node, above = node.p, node
        if star:  # the in-scope variables (§16.4), in the order they first occur
            from kg_engine.sparql.translation import in_scope

            first = {val[1:]: n for n, (kind, val) in reversed(list(enumerate(self.toks)))
                     if kind == "var"}
            pv = sorted(in_scope(node.p), key=lambda v: (first.get(str(v), len(first)), str(v)))
        else:
            pv = list(dict.fromkeys(targets))
            for child in _first_projections(node.p):
                pv.extend(v for v in child.PV if v not in pv)
        node["PV"] = pv
        distinct = CompValue("Distinct", p=node)
        if above is None:
            top = distinct
        else:
            above["p"] = distinct
            top = q.p
        return CompValue("DescribeQuery", p=top, datasetClause=q.datasetClause, PV=pv)

    def select(self, sub: bool = False, construct: bool = False) -> CompValue:
        modifier = None
        if not construct and self.kw("DISTINCT"):
            modifier = "DISTINCT"
        elif not construct and self.kw("REDUCED"):
            modifier = "REDUCED"
        proj: list[tuple[Variable | None, Any, Variable | None]] = []  # (var, expr, evar)
        star = False
        if construct or self.op("*"):
            star = True
        else:
            while True:
                kind, val = self.peek()
                if kind == "var":
                    self.i += 1
                    proj.append((Variable(val[1:]), None, None))
                elif kind == "op" and val == "(":
                    self.i += 1
                    e = self.expr()
                    if not self.kw("AS"):
                        raise _Unsupported("AS")
                    kind, val = self.next()
                    if kind != "var":
                        raise _Unsupported("AS var")
                    self.expect_op(")")
                    proj.append((None, e, Variable(val[1:])))
                else:
                    break
            if not proj:
                raise _Unsupported("projection")
        dataset = self.dataset_clause()
        if dataset is not None and sub:
            raise _Unsupported("FROM in a sub-select")
        self.allow_aggs = False
        M = where = self.where()
        self.allow_aggs = True
        group: list[Variable] | None = None
        if self.kw("GROUP"):
            if not self.kw("BY"):
                raise _Unsupported("GROUP BY")
            group = []
            group_as: list[tuple[Any, Variable]] = []
            while True:  # Var | BuiltInCall | FunctionCall | '(' Expression ('AS' Var)? ')'
                kind, val = self.peek()
                if kind == "var":
                    self.i += 1
                    group.append(Variable(val[1:]))
                elif kind == "op" and val == "(":
                    self.i += 1
                    e = self.expr()
                    if self.kw("AS"):
                        k, v = self.next()
                        if k != "var":
                            raise _Unsupported("GROUP BY AS var")
                        group_as.append((e, Variable(v[1:])))
                        e = Variable(v[1:])
                    self.expect_op(")")
                    group.append(e)
                elif (kind == "word" and val.upper() in _CALLS and val.upper() not in (
                        "EXISTS", "NOT")) or (kind in ("iri", "pname") and self.peek(1) == ("op", "(")):
                    group.append(self.primary())
                else:
                    break
            if not group:
                raise _Unsupported("GROUP BY")
            for e, v in group_as:  # rdflib: "GROUP BY (expr AS ?v)" extends the pattern first
                M = CompValue("Extend", p=M, expr=e, var=v)
        having = []
        if self.kw("HAVING"):
            while self.peek() == ("op", "("):
                having.append(self.bracketted())
            if not having:
                raise _Unsupported("HAVING")
        order: list[CompValue] = []
        if self.kw("ORDER"):
            if not self.kw("BY"):
                raise _Unsupported("ORDER BY")
            while True:
                kind, val = self.peek()
                if kind == "word" and val.upper() in ("ASC", "DESC"):
                    self.i += 1
                    e = self.bracketted()
                    order.append(CompValue("OrderCondition", expr=e, order=val.upper() if val.upper() == "DESC" else "ASC"))
                elif kind == "var":
                    self.i += 1
                    order.append(CompValue("OrderCondition", expr=Variable(val[1:]), order=None))
                elif kind == "op" and val == "(":
                    order.append(CompValue("OrderCondition", expr=self.bracketted(), order=None))
                elif (kind == "word" and val.upper() in _CALLS) or (
                        kind in ("iri", "pname") and self.peek(1) == ("op", "(")):
                    order.append(CompValue("OrderCondition", expr=self.primary(), order=None))
                else:
                    break
            if not order:
                raise _Unsupported("ORDER BY")
        limit = offset = None
        for _ in range(2):
            if self.kw("LIMIT"):  # clamped: no SQL integer holds 2^63 (same answers)
                limit = min(int(self._int()), 2**63 - 1)
            elif self.kw("OFFSET"):
                offset = min(int(self._int()), 2**63 - 1)
        values = CompValue("ToMultiSet", p=self.inline_data()) if self.kw("VALUES") else None
        aggregate = group is not None or bool(self.aggs)
        E: list[tuple[Any, Variable]] = []
        if aggregate:
            if star:
                raise _Unsupported("SELECT * with GROUP BY")
            # §18.2.4.1: only grouping variables (and earlier aliases) outside aggregates;
            # declined, so that parsing.parse_query reports it (sparql/scope.py)
            known = {g for g in group or () if isinstance(g, Variable)}
            for var, e, evar in proj:
                if ({var} if var is not None else _expr_vars(e)) - known:
                    raise _Unsupported("ungrouped variable in an aggregate query")
                known.add(var if var is not None else evar)
            M = CompValue("Group", p=M, expr=group)
            A = list(self.aggs)
            for var, _e, _ev in proj:
                if var is not None:
                    rv = Variable(f"__agg_{len(A) + 1}__")
                    A.append(CompValue("Aggregate_Sample", vars=var, res=rv))
                    E.append((rv, var))
            M = CompValue("AggregateJoin", A=A, p=M)
            for alias, var in E:
                M = CompValue("Extend", p=M, expr=alias, var=var)
        elif having:
            raise _Unsupported("HAVING without aggregates")
        if having:
            M = CompValue("Filter", expr=_and(having), p=M)
        if values is not None:
            M = _join(M, values)
        if star:  # in order of first appearance in the text, as for rdflib's parser
            PV = sorted(_pattern_vars(M), key=lambda v: self.first_seen.get(str(v), len(self.toks)))
        else:
            PV = []
            aliases = {evar for _v, _e, evar in proj if evar is not None}
            # §18.2.1: an alias may not name a variable already projected, nor one in scope
            # in the WHERE clause (a GROUP BY variable in an aggregate query); the projection
            # passed the ungrouped-variable check above, so this is sparql/scope.py's first error
            taken = {g for g in group or () if isinstance(g, Variable)} if aggregate else (
                _pattern_vars(where) if aliases else set())
            for var, e, evar in proj:
                v = var if var is not None else evar
                if evar is not None and (evar in PV or evar in taken):
                    why = "projected" if evar in PV else (
                        "a GROUP BY variable" if aggregate else "in scope in the WHERE clause")
                    self.violations.append(ScopeViolation("alias", evar, why))
                if v not in PV:
                    PV.append(v)
                if evar is not None:
                    M = CompValue("Extend", p=M, expr=e, var=evar)
        if order:
            M = CompValue("OrderBy", p=M, expr=order)
        M = CompValue("Project", p=M, PV=PV)
        if modifier == "DISTINCT":
            M = CompValue("Distinct", p=M)
        elif modifier == "REDUCED":
            M = CompValue("Reduced", p=M)
        if limit is not None or offset is not None:
            M = CompValue("Slice", p=M, start=offset or 0, length=limit)
        return CompValue("SelectQuery", p=M, datasetClause=dataset, PV=PV)

    def _int(self) -> str:
        kind, val = self.next()
        if kind != "num" or not val.isdigit():
            raise _Unsupported("integer")
        return val

    # -- graph patterns ----------------------------------------------------------------------
    def group(self) -> CompValue:
        outer = self.segment
        self.new_segment()
        try:
            return self._group()
        finally:
            self.segment = outer

    def _group(self) -> CompValue:
        self.expect_op("{")
        if self.peek()[0] == "word" and self.peek()[1].upper() == "SELECT":
            self.i += 1
            sub = self.sub_select()
            self.expect_op("}")
            return sub
        parts: list[tuple[str, Any]] = []
        filters: list[Any] = []
        while not self.op("}"):
            kind, val = self.peek()
            up = val.upper() if kind == "word" else ""
            before = len(parts)
            if up == "OPTIONAL":
                self.i += 1
                parts.append(("optional", self.group()))
            elif up == "MINUS":
                self.i += 1
                parts.append(("minus", self.group()))
            elif up == "FILTER":
                self.i += 1
                filters.append(self.constraint())
            elif up == "BIND":
                self.i += 1
                self.expect_op("(")
                e = self.expr()
                if not self.kw("AS"):
                    raise _Unsupported("BIND AS")
                k, v = self.next()
                if k != "var":
                    raise _Unsupported("BIND var")
                self.expect_op(")")
                parts.append(("bind", (e, Variable(v[1:]))))
            elif kind == "op" and val == "{":
                g = self.group()
                while self.kw("UNION"):
                    g = CompValue("Union", p1=g, p2=self.group())
                parts.append(("join", g))
            elif up == "GRAPH":
                self.i += 1
                k, v = self.next()
                term = Variable(v[1:]) if k == "var" else self.iri((k, v))
                parts.append(("join", CompValue("Graph", term=term, p=self.group())))
            elif up == "VALUES":
                self.i += 1
                parts.append(("join", CompValue("ToMultiSet", p=self.inline_data())))
            elif kind == "word" and up in ("SERVICE", "UNION"):
                raise _Unsupported(up)
            else:
                parts.append(("triples", self.triples_block()))
            if len(parts) > before and parts[-1][0] in ("optional", "minus", "join") \
                    and up != "VALUES":
                self.new_segment()  # the triples after a group are another basic graph pattern
            self.op(".")
        # rdflib's translateGroupGraphPattern
        G = CompValue("BGP", triples=[])
        merged: list[tuple[str, Any]] = []
        for kind, p in parts:
            if kind == "triples" and merged and merged[-1][0] == "triples":
                merged[-1] = ("triples", merged[-1][1] + p)
            else:
                merged.append((kind, p))
        for kind, p in merged:
            if kind == "triples":
                G = _join(G, CompValue("BGP", triples=p))
            elif kind == "optional":
                if p.name == "Filter":
                    G = CompValue("LeftJoin", p1=G, p2=p.p, expr=p.expr)
                else:
                    G = CompValue("LeftJoin", p1=G, p2=p, expr=CompValue("TrueFilter"))
            elif kind == "minus":
                G = CompValue("Minus", p1=G, p2=p)
            elif kind == "join":
                G = _join(G, p)
            elif kind == "bind":
                if p[1] in _pattern_vars(G):  # §18.2.1
                    self.violations.append(ScopeViolation("bind", p[1], None))
                G = CompValue("Extend", p=G, expr=p[0], var=p[1])
        if filters:
            G = CompValue("Filter", expr=_and(filters), p=G)
        return G

    def sub_select(self) -> CompValue:
        saved = (self.aggs, self.allow_aggs)
        self.aggs, self.allow_aggs = [], True
        try:
            q = self.select(sub=True)
        finally:
            self.aggs, self.allow_aggs = saved
        return CompValue("ToMultiSet", p=q.p)

    def inline_data(self) -> CompValue:
        """``VALUES`` in a group, as rdflib's translateValues builds it ("UNDEF" kept)."""
        if self.op("("):
            names = []
            while not self.op(")"):
                k, v = self.next()
                if k != "var":
                    raise _Unsupported("VALUES var")
                names.append(Variable(v[1:]))
            self.expect_op("{")
            res = []
            while not self.op("}"):
                self.expect_op("(")
                row = []
                while not self.op(")"):
                    row.append(self.data_value())
                if len(row) != len(names):
                    raise _Unsupported("VALUES arity")  # rdflib reports it
                res.append(dict(zip(names, row)))
        else:
            k, v = self.next()
            if k != "var":
                raise _Unsupported("VALUES var")
            name = Variable(v[1:])
            names = [name]
            self.expect_op("{")
            res = []
            while not self.op("}"):
                res.append({name: self.data_value()})
        if not res:  # no rows: the empty multiset over the variables (as translation.repair)
            if not names:
                raise _Unsupported("VALUES () { }")
            return CompValue("values", res=[], kg_vars=names)
        if not names_of(res):
            raise _Unsupported("VALUES () { () }")
        return CompValue("values", res=res)

    def data_value(self) -> Any:
        kind, val = self.peek()
        if kind == "word" and val == "UNDEF":
            self.i += 1
            return "UNDEF"
        return self.literal_or_iri()

    def triples_block(self) -> list[tuple]:
        out: list[tuple] = []
        while True:
            kind, val = self.peek()
            if kind not in ("var", "iri", "pname", "str", "lstr", "num", "bnode") and not (
                    kind == "word" and val in ("true", "false")) and not (
                    kind == "op" and val in ("[", "(")):
                if out:
                    return out
                raise _Unsupported("triples")
            s = self.node(out)
            k, v = self.peek()
            # a blank node property list or a collection may stand alone ("[ :p 1 ] .")
            if not (kind == "op" and (k == "eof" or (k == "op" and v in (".", "}")))):
                self.property_list(s, out)
            if not self.op("."):
                return out

    def property_list(self, s: Any, out: list[tuple]) -> None:
        """``verb objects ( ';' ( verb objects )? )*`` of subject ``s``, appended to ``out``."""
        while True:
            p = self.verb()
            while True:
                out.append((s, p, self.node(out)))
                if not self.op(","):
                    break
            if not self.op(";"):
                return
            while self.op(";"):
                pass
            k, v = self.peek()
            if k == "eof" or (k == "op" and v in (".", "}", "]")):
                return

    def node_list(self, out: list[tuple]) -> Any:
        """A blank node property list ``[ … ]`` or a collection ``( … )`` (its triples go
        to ``out``, as rdflib's grammar expands them); returns the node that stands for it."""
        if self.op("["):
            b = BNode()
            if not self.op("]"):
                self.property_list(b, out)
                self.expect_op("]")
            return b
        self.expect_op("(")
        items = []
        while not self.op(")"):
            items.append(self.node(out))
        if not items:
            return RDF.nil
        head = cur = BNode()
        for n, item in enumerate(items):
            out.append((cur, RDF.first, item))
            nxt = BNode() if n + 1 < len(items) else RDF.nil
            out.append((cur, RDF.rest, nxt))
            cur = nxt
        return head

    def constraint(self) -> Any:
        kind, val = self.peek()
        if kind == "op" and val == "(":
            return self.bracketted()
        return self.primary()

    def bracketted(self) -> Any:
        self.expect_op("(")
        e = self.expr()
        self.expect_op(")")
        return e

    # -- expressions -------------------------------------------------------------------------
    def expr(self) -> Any:
        e = self.and_expr()
        other = []
        while self.op("||"):
            other.append(self.and_expr())
        return CompValue("ConditionalOrExpression", expr=e, other=other) if other else e

    def and_expr(self) -> Any:
        e = self.rel_expr()
        other = []
        while self.op("&&"):
            other.append(self.rel_expr())
        return CompValue("ConditionalAndExpression", expr=e, other=other) if other else e

    def rel_expr(self) -> Any:
        e = self.add_expr()
        kind, val = self.peek()
        if kind == "op" and val in ("=", "!=", "<", ">", "<=", ">="):
            self.i += 1
            return CompValue("RelationalExpression", expr=e, op=val, other=self.add_expr())
        if kind == "word" and val.upper() in ("IN", "NOT"):
            neg = val.upper() == "NOT"
            self.i += 1
            if neg and not self.kw("IN"):
                raise _Unsupported("NOT")
            self.expect_op("(")
            items = []
            if not self.op(")"):
                while True:
                    items.append(self.expr())
                    if self.op(")"):
                        break
                    self.expect_op(",")
            return CompValue("RelationalExpression", expr=e, op="NOT IN" if neg else "IN", other=items)
        return e

    def add_expr(self) -> Any:
        e = self.mul_expr()
        ops, other = [], []
        while True:
            kind, val = self.peek()
            if kind == "op" and val in ("+", "-"):
                self.i += 1
                ops.append(val)
                other.append(self.mul_expr())
            else:
                break
        return CompValue("AdditiveExpression", expr=e, op=ops, other=other) if ops else e

    def mul_expr(self) -> Any:
        e = self.unary()
        ops, other = [], []
        while True:
            kind, val = self.peek()
            if kind == "op" and val in ("*", "/"):
                self.i += 1
                ops.append(val)
                other.append(self.unary())
            else:
                break
        return CompValue("MultiplicativeExpression", expr=e, op=ops, other=other) if ops else e

    def unary(self) -> Any:
        if self.op("!"):
            return CompValue("UnaryNot", expr=self.primary())
        kind, val = self.peek()
        if kind == "op" and val in "+-" and self.peek(1)[0] != "num":
            self.i += 1
            return CompValue("UnaryMinus" if val == "-" else "UnaryPlus", expr=self.primary())
        return self.primary()

    def primary(self) -> Any:
        kind, val = self.peek()
        if kind == "op" and val == "(":
            return self.bracketted()
        if kind == "var":
            self.i += 1
            return Variable(val[1:])
        if kind == "word":
            up = val.upper()
            if up in ("TRUE", "FALSE") and val in ("true", "false"):
                return self.literal_or_iri()
            self.i += 1
            if up in _AGGS:
                if not self.allow_aggs:
                    raise _Unsupported("aggregate in WHERE")
                return self.aggregate(up)
            if up in ("EXISTS", "NOT"):
                if up == "NOT" and not self.kw("EXISTS"):
                    raise _Unsupported("NOT")
                g = self.group()
                if g.name == "Filter":
                    g["no_isolated_scope"] = True  # filters inside (NOT) EXISTS see outer vars
                return CompValue("Builtin_NOTEXISTS" if up == "NOT" else "Builtin_EXISTS", graph=g)
            self.expect_op("(")
            if up in _LIST_BUILTINS:
                args = []
                if not self.op(")"):
                    while True:
                        args.append(self.expr())
                        if self.op(")"):
                            break
                        self.expect_op(",")
                return CompValue(_LIST_BUILTINS[up], arg=args)
            if up in _NULLARY_BUILTINS:
                self.expect_op(")")
                return CompValue(_NULLARY_BUILTINS[up])
            if up == "BNODE":
                if self.op(")"):
                    return CompValue("Builtin_BNODE")
                a = self.expr()
                self.expect_op(")")
                return CompValue("Builtin_BNODE", arg=a)
            if up == "IF":
                a = self.expr()
                self.expect_op(",")
                b = self.expr()
                self.expect_op(",")
                c = self.expr()
                self.expect_op(")")
                return CompValue("Builtin_IF", arg1=a, arg2=b, arg3=c)
            if up == "SUBSTR":
                a = self.expr()
                self.expect_op(",")
                start = self.expr()
                length = self.expr() if self.op(",") else None
                self.expect_op(")")
                return CompValue("Builtin_SUBSTR", arg=a, start=start, length=length)
            if up == "REPLACE":
                a = self.expr()
                self.expect_op(",")
                pat = self.expr()
                self.expect_op(",")
                rep_ = self.expr()
                flags = self.expr() if self.op(",") else None
                self.expect_op(")")
                return CompValue("Builtin_REPLACE", arg=a, pattern=pat, replacement=rep_,
                                 flags=flags)
            if up in _UNARY_BUILTINS:
                a = self.expr()
                self.expect_op(")")
                return CompValue(_UNARY_BUILTINS[up], arg=a)
            if up in _BINARY_BUILTINS:
                a = self.expr()
                self.expect_op(",")
                b = self.expr()
                self.expect_op(")")
                return CompValue(_BINARY_BUILTINS[up], arg1=a, arg2=b)
            if up == "BOUND":
                k, v = self.next()
                if k != "var":
                    raise _Unsupported("BOUND")
                self.expect_op(")")
                return CompValue("Builtin_BOUND", arg=Variable(v[1:]))
            if up == "REGEX":
                text = self.expr()
                self.expect_op(",")
                pat = self.expr()
                flags = None
                if self.op(","):
                    flags = self.expr()
                self.expect_op(")")
                return CompValue("Builtin_REGEX", text=text, pattern=pat, flags=flags)
            raise _Unsupported(f"function {val}")
        if kind in ("iri", "pname"):
            t = self.literal_or_iri()
            if self.peek() == ("op", "("):
                return self.function_call(t)
            return t
        return self.literal_or_iri()

    def function_call(self, iri: URIRef) -> CompValue:
        """``iri(args)``: a cast (``xsd:integer(?x)``) or an extension function, as rdflib's
        grammar builds it (``Function`` with ``iri``, ``distinct`` and ``expr``)."""
        self.expect_op("(")
        if self.op(")"):
            raise _Unsupported("function call without arguments")  # rdflib's NIL form
        distinct = "DISTINCT" if self.kw("DISTINCT") else []
        args = [self.expr()]
        while self.op(","):
            args.append(self.expr())
        self.expect_op(")")
        return CompValue("Function", iri=iri, distinct=distinct, expr=args)

    def aggregate(self, up: str) -> Variable:
        self.expect_op("(")
        distinct = self.kw("DISTINCT")
        if up == "COUNT" and self.op("*"):
            arg: Any = "*"
        else:
            arg = self.expr()
        sep = None
        if up == "GROUP_CONCAT" and self.op(";"):
            if not self.kw("SEPARATOR"):
                raise _Unsupported("SEPARATOR")
            self.expect_op("=")
            sep = self.literal_or_iri()
            if not isinstance(sep, Literal) or sep.datatype is not None or sep.language:
                raise _Unsupported("separator")
        self.expect_op(")")
        res = Variable(f"__agg_{len(self.aggs) + 1}__")
        agg = CompValue(_AGGS[up], vars=arg, distinct="DISTINCT" if distinct else [], res=res)
        if sep is not None:
            agg["separator"] = sep
        self.aggs.append(agg)
        return res


    # -- INSERT DATA / DELETE DATA ---------------------------------------------------------
    def data_update(self) -> list[CompValue]:
        ops: list[CompValue] = []
        while True:
            self.prologue()
            if self.peek()[0] == "eof" and ops:
                return ops
            if self.kw("INSERT"):
                name = "InsertData"
            elif self.kw("DELETE"):
                name = "DeleteData"
            else:
                raise _Unsupported("update operation")
            if not self.kw("DATA"):
                raise _Unsupported("not a DATA operation")
            ops.append(self.quad_data(name))
            if not self.op(";"):
                if self.peek()[0] != "eof":
                    raise _Unsupported("trailing")
                return ops

    def quad_data(self, name: str) -> CompValue:
        from collections import defaultdict

        self.bnodes = {}  # blank node labels are scoped to one operation's data block
        triples: list[tuple] = []
        quads: defaultdict[Any, list[tuple]] = defaultdict(list)
        self.expect_op("{")
        while not self.op("}"):
            if self.kw("GRAPH"):
                g = self.iri(self.next())
                self.expect_op("{")
                if not self.op("}"):
                    quads[g].extend(self.ground_triples(name))
                    self.expect_op("}")
                self.op(".")
            else:
                triples.extend(self.ground_triples(name))
        return CompValue(name, triples=triples, quads=quads)

    def ground_triples(self, name: str) -> list[tuple]:
        out = self.triples_block()
        for t in out:
            for x in t:
                if isinstance(x, Variable) or (isinstance(x, BNode) and name == "DeleteData"):
                    raise _Unsupported("variable or blank node in DATA")  # rdflib reports it
        return out


def names_of(res: list[dict]) -> set:
    return {k for row in res for k in row}


def _join(a: CompValue, b: CompValue) -> CompValue:
    # rdflib's simplify(): joins with the empty BGP disappear -- except around a FILTER
    # group, whose filter must stay inside it (e.g. OPTIONAL { { … FILTER(…) } }, where the
    # filter cannot see the variables outside the inner group)
    if a.name == "BGP" and not a.triples and b.name != "Filter":
        return b
    if b.name == "BGP" and not b.triples:
        return a
    return CompValue("Join", p1=a, p2=b)


def _first_projections(node: CompValue) -> Iterator[CompValue]:
    """The first ``Project`` down each branch (rdflib's ``_find_first_child_projections``)."""
    for child in node.values():
        if isinstance(child, CompValue):
            if child.name == "Project":
                yield child
            else:
                yield from _first_projections(child)


def _and(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    return CompValue("ConditionalAndExpression", expr=parts[0], other=parts[1:])


def _expr_vars(node: Any) -> set[Variable]:
    """Variables of an expression (aggregates are ``__agg_N__`` placeholders, left out)."""
    if isinstance(node, Variable):
        return set() if str(node).startswith("__") else {node}
    if isinstance(node, CompValue):
        return set().union(*map(_expr_vars, node.values()))
    if isinstance(node, (list, tuple)):
        return set().union(*map(_expr_vars, node))
    return set()


def _pattern_vars(node: Any) -> set[Variable]:
    out: set[Variable] = set()
    if isinstance(node, Variable):
        if not str(node).startswith("__"):
            out.add(node)
    elif isinstance(node, CompValue):
        if node.name in ("Filter",):
            return _pattern_vars(node.p)
        if node.name == "Extend":
            return _pattern_vars(node.p) | {node.var}
        if node.name == "LeftJoin":
            return _pattern_vars(node.p1) | _pattern_vars(node.p2)
        if node.name == "Minus":
            return _pattern_vars(node.p1)
        if node.name == "Project":  # a sub-select: only its projection is in scope
            return {v for v in node.PV if not str(v).startswith("__")}
        if node.name == "values":  # rows, and the variables of an empty VALUES
            return _pattern_vars(node.res) | set(dict.get(node, "kg_vars") or ())
        for k, v in node.items():
            if k in ("expr",):
                continue
            out |= _pattern_vars(v)
    elif isinstance(node, (list, tuple)):
        for x in node:
            out |= _pattern_vars(x)
    elif isinstance(node, dict):  # a VALUES row
        out |= {k for k in node if isinstance(k, Variable)}
    return out


_EVAL_ALIASES = {"Builtin_NOTEXISTS": "Builtin_EXISTS", "Builtin_URI": "Builtin_IRI",
                 "Builtin_isURI": "Builtin_isIRI"}
_PATTERN_NAMES = frozenset({"SelectQuery", "AskQuery", "ConstructQuery", "DescribeQuery",
                            "DatasetClause", "Project", "Distinct", "Reduced", "Slice",
                            "OrderBy", "OrderCondition", "AggregateJoin", "Group", "BGP",
                            "Filter", "Join", "LeftJoin", "Union", "Minus", "Extend",
                            "ToMultiSet", "values", "Graph"})


def to_rdflib(node: Any) -> Any:
    """The same algebra with every expression node an rdflib ``Expr`` bound to rdflib's
    evaluation function (as rdflib's grammar binds them), so that rdflib's evaluator can run
    it too (in place; returns ``node``)."""
    from rdflib.plugins.sparql import operators
    from rdflib.plugins.sparql.algebra import TrueFilter
    from rdflib.plugins.sparql.parserutils import Expr

    def conv(x: Any) -> Any:
        if isinstance(x, CompValue):
            for k, v in list(x.items()):
                x[k] = conv(v)
            name = x.name
            if name == "TrueFilter":
                return TrueFilter
            if name in _PATTERN_NAMES or name.startswith("Aggregate_") or isinstance(x, Expr):
                return x
            fn = getattr(operators, _EVAL_ALIASES.get(name, name), None)
            if fn is None:
                raise _Unsupported(f"no rdflib evaluation for {name}")
            e = Expr(name, fn)
            e.update(x)
            return e
        if isinstance(x, list):
            return [conv(v) for v in x]
        return x

    from rdflib.plugins.sparql.algebra import _addVars, _traverseAgg, analyse

    node = conv(node)
    _traverseAgg(node, visitor=analyse)  # lazy joins, as translateQuery marks them
    _traverseAgg(node, _addVars)
    return node


def parse_for_rdflib(text: str) -> tuple[CompValue, str | None] | None:
    """:func:`parse`, with the expressions bound for rdflib's evaluator (see :func:`to_rdflib`),
    and the query's BASE (``IRI("x")`` resolves against it)."""
    found = parse_with_base(text)
    if found is None:
        return None
    try:
        return to_rdflib(found[0]), found[1]
    except (_Unsupported, IndexError, ValueError, KeyError):
        return None


def parse_with_base(text: str, violations: bool = False, prefixes: Mapping[str, Any] | None = None
                    ) -> tuple[CompValue, str | None] | None:
    """:func:`parse` and the query's BASE; :func:`to_rdflib` of the algebra (in place) gives
    :func:`parse_for_rdflib`'s (so one parse serves the SQL compiler and rdflib's evaluator).
    With ``violations``, a query whose one fault is a scope rule raises :class:`ScopeViolation`.
    ``prefixes`` are declared before the text (rdflib's ``initNs``).
    """
    if _SURROGATE.search(text):
        return None  # not text of characters: the full path reports it
    try:
        parser = _Parser(text, prefixes)
        return parser.query(), parser.base
    except ScopeViolation:
        if violations:
            raise
        return None
    except (_Unsupported, IndexError, ValueError, KeyError):
        return None


def parse_data_update(text: str, prefixes: Mapping[str, Any] | None = None
                      ) -> list[CompValue] | None:
    """The operations of an update request made only of ``INSERT DATA``/``DELETE DATA``
    (plus PREFIX/BASE), as rdflib's ``translateUpdate`` builds them; else ``None``.
    ``prefixes`` are declared before the text (rdflib's ``initNs``).

    rdflib's pyparsing grammar needs ~1.7 s for 1,000 triples and grows worse than linearly;
    this reads 100,000 triples in seconds.

    Example:
        >>> ops = parse_data_update('PREFIX e: <urn:> INSERT DATA { e:a e:p 1 . GRAPH e:g { e:a e:p "x" } }')
        >>> [(op.name, len(op.triples), len(op.quads)) for op in ops]
        [('InsertData', 1, 1)]
    """
    try:
        return _Parser(text, prefixes).data_update()
    except (_Unsupported, IndexError, ValueError, KeyError):
        return None


def parse(text: str) -> CompValue | None:
    """The algebra of ``text`` when it is in the supported subset, else ``None``."""
    found = parse_with_base(text)
    return None if found is None else found[0]
