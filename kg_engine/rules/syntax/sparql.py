"""SPARQL as a rule language: ``CONSTRUCT { head } WHERE { body }`` and ``INSERT … WHERE``.

A SPARQL ``CONSTRUCT`` query read as a rule derives its template from every solution of its
``WHERE`` clause; run to a fixpoint by the engine it is what Oracle, RDF4J and SHACL rules users
write. Several rules may be given as a SPARQL Update request of ``INSERT { … } WHERE { … }``
operations separated by ``;``, or as several ``CONSTRUCT`` queries separated by a line holding
only ``;``. The query is parsed by rdflib and its algebra lowered to the rule IR:

* basic graph patterns (blank nodes in the pattern act as variables), joins of groups;
* ``FILTER`` with ``= != < > <= >=``, ``IN``/``NOT IN``, ``&& || !``, ``isIRI isBlank isLiteral
  isNumeric sameTerm CONTAINS STRSTARTS STRENDS REGEX`` (two arguments), and value
  functions ``STR STRLEN CONCAT LCASE UCASE ABS + - * /``;
* ``BIND(expr AS ?v)``;
* ``FILTER NOT EXISTS { … }`` and ``MINUS { … }`` (sharing a variable) as negation;
* aggregate sub-queries ``{ SELECT ?g (COUNT(?x) AS ?n) WHERE { … } GROUP BY ?g }`` with
  ``COUNT SUM MIN MAX AVG`` (``DISTINCT`` allowed), evaluated in a later stratum than what
  they count.

``OPTIONAL``, ``UNION``, ``GRAPH``, ``VALUES``, other sub-queries, ``HAVING``, ``LIMIT`` and blank
nodes in the template are rejected with a message naming the construct. A comment
``# rule: name`` right before a query names the rule (default ``construct-1``, …).

Example:
    >>> rs = parse_sparql('''
    ... PREFIX ex: <http://example.org/>
    ... CONSTRUCT { ?a ex:uncle ?c }
    ... WHERE { ?a ex:parent ?b . ?b ex:brother ?c FILTER NOT EXISTS { ?a ex:parent ?c } }
    ... ''', source="uncle.rq")
    >>> print(rs.rules[0])
    [construct-1: (?a <http://example.org/parent> ?b) (?b <http://example.org/brother> ?c) not{(?a <http://example.org/parent> ?c)} -> (?a <http://example.org/uncle> ?c)]
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable

from kg_engine.core.prefixes import find_prefix_use, unknown_prefix_hint, unknown_prefix_name
from kg_engine.core.terms import exact_literals
from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.checks import check_program
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, RuleSet, Var, term_vars

__all__ = ["parse_sparql"]

_REL = {"=": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
_UNARY = {
    "Builtin_isIRI": "isIRI",
    "Builtin_isURI": "isIRI",
    "Builtin_isBLANK": "isBlank",
    "Builtin_isLITERAL": "isLiteral",
    "Builtin_isNUMERIC": "isNumeric",
    "Builtin_STR": "str",
    "Builtin_STRLEN": "strlen",
    "Builtin_LCASE": "lcase",
    "Builtin_UCASE": "ucase",
    "Builtin_ABS": "abs",
}
_BINARY = {
    "Builtin_sameTerm": "sameTerm",
    "Builtin_CONTAINS": "contains",
    "Builtin_STRSTARTS": "strstarts",
    "Builtin_STRENDS": "strends",
}
_UNSUPPORTED_PATTERNS = {
    "LeftJoin": "OPTIONAL",
    "Union": "UNION",
    "Graph": "GRAPH",
    "ToMultiSet": "VALUES or a non-aggregate sub-query",
    "values": "VALUES",
    "AggregateJoin": "aggregates (GROUP BY, COUNT…)",
    "Group": "GROUP BY",
    "Slice": "LIMIT/OFFSET",
    "OrderBy": "ORDER BY",
    "ServiceGraphPattern": "SERVICE",
}
_NAME_RE = re.compile(r"^\s*#\s*rule\s*:\s*(\S+)\s*$", re.MULTILINE)


class _Lowerer:
    def __init__(self, name: str, source: str, line: int | None) -> None:
        self.name = name
        self.source = source
        self.line = line
        self.fresh = 0

    def error(self, message: str) -> RuleSyntaxError:
        return RuleSyntaxError(f"rule {self.name!r}: {message}", source=self.source, line=self.line)

    def node(self, t: Any, head: bool = False) -> Any:
        if isinstance(t, Variable):
            return Var(str(t))
        if isinstance(t, BNode):
            if head:
                raise self.error(
                    "blank nodes in the CONSTRUCT/INSERT template (existential conclusions) are "
                    "not supported; use a variable bound in WHERE"
                )
            return Var("_b_" + re.sub(r"\W", "_", str(t)))
        if isinstance(t, (URIRef, Literal)):
            return t
        return self.expr(t)

    # -- graph patterns
    def pattern(self, p: Any) -> list:
        name = getattr(p, "name", None)
        if name in ("GroupGraphPatternSub", "TriplesBlock", "GroupOrUnionGraphPattern"):
            from rdflib.plugins.sparql.algebra import translateGroupGraphPattern

            return self.pattern(translateGroupGraphPattern(p))
        if name == "BGP":
            out = []
            for s, pr, o in p.triples:
                if isinstance(pr, (Variable, URIRef)) is False:
                    raise self.error(f"property paths are not supported in rules ({pr!r})")
                if isinstance(s, Literal):
                    raise self.error(f"a literal cannot be a subject: {s.n3()}")
                out.append(Atom(self.node(s), self.node(pr), self.node(o)))
            return out
        if name == "Join":
            return self.pattern(p.p1) + self.pattern(p.p2)
        if name in ("Project", "Distinct", "Reduced"):
            return self.pattern(p.p)
        if name == "Filter":
            body = self.pattern(p.p)
            return body + self.filter(p.expr)
        if name == "Extend":
            body = self.pattern(p.p)
            return body + [Bind(Var(str(p.var)), self.node(p.expr))]
        if name == "Minus":
            left = self.pattern(p.p1)
            right = self.pattern(p.p2)
            lv = set().union(*(_vars(b) for b in left)) if left else set()
            rv = set().union(*(_vars(b) for b in right)) if right else set()
            if not lv & rv:
                raise self.error("MINUS without a shared variable removes nothing; use FILTER NOT EXISTS")
            return left + [Not(tuple(right))]
        if name == "ToMultiSet" and getattr(p.p, "name", None) == "Project":
            return self.aggregate_subquery(p.p)
        if name in _UNSUPPORTED_PATTERNS:
            raise self.error(
                f"{_UNSUPPORTED_PATTERNS[name]} is not supported in rules; supported: triple "
                "patterns, FILTER, BIND, FILTER NOT EXISTS, MINUS"
            )
        raise self.error(f"unsupported SPARQL pattern {name or p!r}")

    def aggregate_subquery(self, proj: Any) -> list:
        """``{ SELECT ?g (COUNT(?x) AS ?n) WHERE { … } GROUP BY ?g }`` -> :class:`Aggregate` items."""
        projected = [Var(str(v)) for v in proj.PV]
        node = proj.p
        renames: dict[str, str] = {}  # internal __agg_k__ name -> projected name
        while getattr(node, "name", None) == "Extend":
            if not isinstance(node.expr, Variable):
                raise self.error("expressions over aggregates in a sub-query are not supported; use BIND outside")
            renames[str(node.expr)] = str(node.var)
            node = node.p
        if getattr(node, "name", None) == "Filter":
            raise self.error("HAVING is not supported; filter the aggregate result outside the sub-query")
        if getattr(node, "name", None) != "AggregateJoin":
            raise self.error(
                "a sub-query in a rule must be an aggregate: { SELECT ?g (COUNT(?x) AS ?n) WHERE { … } GROUP BY ?g }"
            )
        group = node.p
        if getattr(group, "name", None) != "Group":
            raise self.error("unsupported aggregate sub-query")
        group_by: list[Var] = []
        for e in group.expr or []:
            if not isinstance(e, Variable):
                raise self.error("GROUP BY expressions are not supported; group by variables")
            group_by.append(Var(str(e)))
        body = self.pattern(group.p)
        out: list = []
        fns = {"Aggregate_Count": "count", "Aggregate_Sum": "sum", "Aggregate_Min": "min",
               "Aggregate_Max": "max", "Aggregate_Avg": "avg"}
        for agg in node.A:
            res = renames.get(str(agg.res))
            if agg.name == "Aggregate_Sample":
                if res is not None and res != str(agg.vars):
                    raise self.error(
                        "SAMPLE (projecting a variable that is not grouped) is not supported; project "
                        "group-by variables and COUNT SUM MIN MAX AVG results"
                    )
                continue
            if agg.name not in fns:
                raise self.error(
                    f"aggregate {agg.name.replace('Aggregate_', '').upper()} is not supported; "
                    "supported: COUNT SUM MIN MAX AVG"
                )
            if res is None:
                continue  # computed but not projected
            arg = agg.get("vars")
            if arg == "*" or arg is None:
                arg_var = None
            elif isinstance(arg, Variable):
                arg_var = Var(str(arg))
            else:
                raise self.error("aggregate over an expression is not supported; BIND it first")
            out.append(Aggregate(fns[agg.name], arg_var, Var(res), tuple(group_by), tuple(body),
                                 distinct=bool(agg.get("distinct"))))
        extra = [v for v in projected if v not in group_by and v not in {a.result for a in out}]
        if extra:
            raise self.error(f"projected variable {extra[0]!r} is neither grouped nor aggregated")
        return out

    def filter(self, e: Any) -> list:
        """A FILTER expression as body items (top-level && split, NOT EXISTS -> Not)."""
        name = getattr(e, "name", None)
        if name == "ConditionalAndExpression":
            out = self.filter(e.expr)
            for o in e.other or []:
                out += self.filter(o)
            return out
        if name == "Builtin_NOTEXISTS":
            return [Not(tuple(self.pattern(e.graph)))]
        if name == "Builtin_EXISTS":
            raise self.error("FILTER EXISTS is not supported; add the pattern to the WHERE clause")
        return [self.test(e)]

    def test(self, e: Any) -> Builtin:
        x = self.expr(e)
        if not isinstance(x, Builtin):
            raise self.error(f"FILTER needs a test, got {e!r}")
        return x

    # -- expressions
    def expr(self, e: Any) -> Any:
        if isinstance(e, (Variable, URIRef, Literal, BNode)):
            return self.node(e)
        name = getattr(e, "name", None)
        if name == "RelationalExpression":
            left = self.node(e.expr)
            if e.op in ("IN", "NOT IN"):
                items = [self.node(x) for x in e.other]
                if e.op == "IN":
                    parts = [Builtin("eq", (left, i)) for i in items]
                    return parts[0] if len(parts) == 1 else Builtin("or", tuple(parts))
                parts = [Builtin("ne", (left, i)) for i in items]
                return parts[0] if len(parts) == 1 else Builtin("and", tuple(parts))
            return Builtin(_REL[e.op], (left, self.node(e.other)))
        if name in ("ConditionalAndExpression", "ConditionalOrExpression"):
            parts = [self.expr(e.expr)] + [self.expr(o) for o in e.other or []]
            if name == "ConditionalAndExpression":
                for p in parts:
                    if isinstance(p, Not):
                        raise self.error("NOT EXISTS inside a larger expression is not supported")
            return parts[0] if len(parts) == 1 else Builtin("and" if "And" in name else "or", tuple(parts))
        if name == "UnaryNot":
            return Builtin("not", (self.expr(e.expr),))
        if name == "UnaryMinus":
            return Builtin("neg", (self.expr(e.expr),))
        if name == "UnaryPlus":
            return self.expr(e.expr)
        if name in ("AdditiveExpression", "MultiplicativeExpression"):
            acc = self.expr(e.expr)
            ops = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
            for op, other in zip(e.op or [], e.other or []):
                acc = Builtin(ops[op], (acc, self.expr(other)))
            return acc
        if name in _UNARY:
            return Builtin(_UNARY[name], (self.expr(e.arg),))
        if name in _BINARY:
            return Builtin(_BINARY[name], (self.expr(e.arg1), self.expr(e.arg2)))
        if name == "Builtin_REGEX":
            # not e.get("flags"): rdflib's CompValue.get returns the key itself when absent
            if e.flags is not None:
                raise self.error("REGEX flags are not supported in rules")
            return Builtin("regex", (self.expr(e.text), self.expr(e.pattern)))
        if name == "Builtin_CONCAT":
            return Builtin("concat", tuple(self.expr(a) for a in e.arg))
        if name in ("Builtin_NOTEXISTS", "Builtin_EXISTS"):
            raise self.error("EXISTS / NOT EXISTS may only be used as a FILTER of its own")
        fn = name.replace("Builtin_", "") if isinstance(name, str) else repr(e)
        raise self.error(
            f"function {fn} is not supported in rules; supported: comparisons, IN, && || !, "
            "isIRI isBlank isLiteral isNumeric sameTerm CONTAINS STRSTARTS STRENDS REGEX STR STRLEN "
            "CONCAT LCASE UCASE ABS + - * /"
        )


def _vars(item: Any) -> set:
    if isinstance(item, Bind):
        return {item.var} | set(term_vars(item.expr))
    return set(item.variables())


def _split(text: str) -> list[tuple[str, int]]:
    """Split several CONSTRUCT queries separated by a line with only ';' (text, first line)."""
    chunks: list[tuple[str, int]] = []
    cur: list[str] = []
    start = 1
    for i, line in enumerate(text.split("\n"), start=1):
        if line.strip() == ";":
            chunks.append(("\n".join(cur), start))
            cur, start = [], i + 1
        else:
            cur.append(line)
    chunks.append(("\n".join(cur), start))
    return [(c, s) for c, s in chunks if c.strip() and not all(
        not ln.strip() or ln.strip().startswith("#") for ln in c.split("\n"))]


def _first_code_line(text: str) -> int:
    for i, line in enumerate(text.split("\n"), start=1):
        s = line.strip()
        if s and not s.startswith("#") and not s.upper().startswith(("PREFIX", "BASE")):
            return i
    return 1


def _parse_error(e: Exception, source: str, offset: int, text: str = "") -> RuleSyntaxError:
    line = getattr(e, "lineno", None)
    col = getattr(e, "col", None)
    msg = getattr(e, "msg", str(e))
    prefix = unknown_prefix_name(e, text)
    if prefix is not None:  # rdflib says neither where nor how to fix it
        line, col = find_prefix_use(text, prefix) or (None, None)
        msg = unknown_prefix_hint(prefix)
    return RuleSyntaxError(
        f"invalid SPARQL rule: {msg}",
        source=source,
        line=None if line is None else line + offset - 1,
        column=col,
    )


def parse_sparql(text: str, source: str = "<rules>", name: str | None = None, check: bool = True) -> RuleSet:
    """Parse SPARQL ``CONSTRUCT`` queries or ``INSERT … WHERE`` updates as rules.

    Args:
        text: one ``CONSTRUCT`` query, several separated by a line holding only ``;``, or a
            SPARQL Update request made of ``INSERT { … } WHERE { … }`` operations.
        source: file name or description used in error messages.
        name: rule set name (default: ``source``).
        check: run safety and stratification checks.

    Returns:
        one rule per query / operation.

    Raises:
        RuleSyntaxError: on a SPARQL syntax error (line and column), a construct rules
            cannot express (named in the message), an unsafe or unstratifiable rule.
    """
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    rules: list[Rule] = []
    is_update = re.search(r"^\s*(INSERT|DELETE|WITH)\b", _strip_prologue(text), re.IGNORECASE | re.MULTILINE) is not None
    if is_update:
        try:
            with exact_literals():  # a constant is the term written ("01"^^xsd:integer is not "1")
                upd = translateUpdate(parseUpdate(text))
        except Exception as e:  # noqa: BLE001 - pyparsing ParseException / rdflib errors
            raise _parse_error(e, source, 1, text) from None
        names = _NAME_RE.findall(text)
        op_lines = [
            i for i, ln in enumerate(text.split("\n"), start=1)
            if re.match(r"\s*(INSERT|DELETE|WITH)\b", ln, re.IGNORECASE)
        ]
        for k, op in enumerate(upd.algebra, start=1):
            rname = names[k - 1] if k - 1 < len(names) else f"insert-{k}"
            line = op_lines[k - 1] if k - 1 < len(op_lines) else None
            low = _Lowerer(rname, source, line)
            has_delete = "delete" in op and op["delete"] is not None
            if op.name != "Modify" or has_delete:
                raise low.error(
                    f"only INSERT {{ … }} WHERE {{ … }} operations can be rules, got {op.name}"
                    + (" with DELETE" if has_delete else "")
                )
            ins = op.insert
            if ins.quads:
                raise low.error("GRAPH in the INSERT template is not supported")
            head = [Atom(low.node(s, True), low.node(p, True), low.node(o, True)) for s, p, o in ins.triples]
            body = low.pattern(op.where)
            rules.append(Rule(rname, tuple(body), tuple(head), source=source, line=line))
    else:
        prefixes: dict[str, URIRef] = {}  # declared by earlier queries: they carry forward,
        for k, (chunk, start) in enumerate(_split(text), start=1):  # as in SPARQL Update
            m = _NAME_RE.search(chunk)
            rname = m.group(1) if m else f"construct-{k}"
            line = start + _first_code_line(chunk) - 1
            low = _Lowerer(rname, source, line)
            try:
                with exact_literals():
                    parsed = parseQuery(chunk)
                    q = translateQuery(parsed, initNs=dict(prefixes))
            except Exception as e:  # noqa: BLE001 - pyparsing ParseException / rdflib errors
                raise _parse_error(e, source, start, chunk) from None
            prefixes.update((d.get("prefix", ""), d["iri"]) for d in parsed[0]
                            if d.name == "PrefixDecl")
            alg = q.algebra
            if alg.name != "ConstructQuery":
                raise low.error(
                    f"expected a CONSTRUCT query or INSERT … WHERE update, got {alg.name}"
                )
            if alg.get("datasetClause"):
                raise low.error("FROM / FROM NAMED are not supported in rules")
            head = [Atom(low.node(s, True), low.node(p, True), low.node(o, True)) for s, p, o in alg.template]
            body = low.pattern(alg.p)
            rules.append(Rule(rname, tuple(body), tuple(head), source=source, line=line))
    if check:
        check_program(rules)
    return RuleSet(name or source, tuple(rules))


def _strip_prologue(text: str) -> str:
    return re.sub(r"(?im)^\s*(#[^\n]*|PREFIX\s+\S*\s*<[^>]*>|BASE\s*<[^>]*>)\s*$", "", text)
