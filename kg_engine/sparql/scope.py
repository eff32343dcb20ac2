"""Scope and VALUES rules the SPARQL 1.1 grammar cannot express, checked on rdflib's parse tree.

rdflib's parser accepts queries the specification declares invalid; kg-engine refuses them with
a :class:`~kg_engine.errors.QuerySyntaxError` naming the place, as pyoxigraph and Jena do:

* §18.2.1 — ``BIND(… AS ?v)`` where ``?v`` is already in scope in the group graph pattern (the
  patterns before the BIND), and ``SELECT (… AS ?v)`` where ``?v`` is in scope in the WHERE
  clause (in an aggregate query: is a grouping variable) or was projected before;
* §18.2.4.1 — in an aggregate query (``GROUP BY``, or an aggregate in the SELECT clause), a
  projected variable that is not a grouping variable, a variable used outside an aggregate in a
  SELECT expression that is not one, and ``SELECT *``;
* §10.2.1 — a ``VALUES`` row with more or fewer values than variables;
* §4.1.4 — a blank node label used in two basic graph patterns (an ``OPTIONAL``, ``MINUS``,
  ``GRAPH``, ``UNION`` branch, group, sub-select or ``EXISTS`` pattern is a pattern of its own
  and ends the one before it; ``FILTER``, ``BIND``, ``VALUES`` and property paths do not, as
  in pyoxigraph). Each operation of an update request has its own labels; templates' blank
  nodes are new nodes, not these.

The fast parser (:mod:`kg_engine.sparql.compiler.fastparse`) declines such queries, so they
always reach this check.

Example:
    >>> from rdflib.plugins.sparql.parser import parseQuery
    >>> text = "SELECT ?x (COUNT(?s) AS ?n) WHERE { ?s ?p ?x }"
    >>> try:
    ...     check_scope(parseQuery(text), text, "<query>")
    ... except QuerySyntaxError as exc:
    ...     print(exc)
    <query>:1:8: ?x is projected in an aggregate query but is not a GROUP BY variable (§18.2.4.1); group by it, or project an aggregate of it such as (SAMPLE(?x) AS ?x1)
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import BNode, Variable
from rdflib.plugins.sparql.parserutils import CompValue

from kg_engine.errors import QuerySyntaxError

__all__ = ["alias_in_scope", "bind_in_scope", "bnode_label_reused", "check_scope",
           "check_update_scope", "located"]


def bind_in_scope(var: Variable) -> tuple[str, str]:
    """The message of a ``BIND(… AS ?v)`` of an in-scope ``?v`` and the pattern locating it
    (also raised by the fast parser, :mod:`kg_engine.sparql.compiler.fastparse`)."""
    return ((f"BIND(… AS {var.n3()}): {var.n3()} is already in scope in this group graph "
             "pattern (§18.2.1); bind a new variable, or move the BIND into a group { … } of "
             "its own"),
            rf"\bAS\s*[?$]{re.escape(str(var))}\b")


def alias_in_scope(evar: Variable, why: str) -> tuple[str, str]:
    """The message of a ``SELECT (… AS ?v)`` whose ``?v`` is already ``why`` and its pattern."""
    return (f"(… AS {evar.n3()}): {evar.n3()} is already {why} (§18.2.1); choose another name",
            rf"\bAS\s*[?$]{re.escape(str(evar))}\b")


def bnode_label_reused(label: str) -> tuple[str, str]:
    """The message of a blank node label used in two basic graph patterns and the pattern
    locating its first use (also raised by the fast parser)."""
    return ((f"blank node _:{label} is used in two graph patterns (§4.1.4: a blank node "
             "label belongs to one basic graph pattern; OPTIONAL, MINUS, GRAPH, UNION, { … }, "
             f"sub-selects and EXISTS start new ones); to join them use a variable, ?{label}"),
            rf"_:{re.escape(label)}(?![\w.-]*\w)")


def located(text: str, source: str, message: str, pattern: str) -> QuerySyntaxError:
    """The error, located at the first match of ``pattern`` in ``text`` (if any)."""
    m = re.search(pattern, text, re.IGNORECASE)
    line = column = None
    if m:
        line = text.count("\n", 0, m.start()) + 1
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    return QuerySyntaxError(message, source=source, line=line, column=column)


class _Checker:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.segment = 0  # the basic graph pattern being read (§4.1.4)
        self.segments = 0
        self.labels: dict[str, int] = {}  # blank node label -> its basic graph pattern

    def new_segment(self) -> None:
        self.segments += 1
        self.segment = self.segments

    def blank_labels(self, node: Any) -> None:
        """Blank node labels of triples must not be used in another basic graph pattern."""
        if isinstance(node, BNode):
            if self.labels.setdefault(str(node), self.segment) != self.segment:
                raise self.error(*bnode_label_reused(str(node)))
        elif isinstance(node, CompValue):
            for v in node.values():
                self.blank_labels(v)
        elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
            for x in node:
                self.blank_labels(x)

    def error(self, message: str, pattern: str) -> QuerySyntaxError:
        """The error, located at the first match of ``pattern`` in the text (if any)."""
        return located(self.text, self.source, message, pattern)

    # -- graph patterns --------------------------------------------------------------------
    def pattern(self, node: Any) -> set[Variable]:
        """In-scope variables of a group graph pattern (or sub-select); checks BINDs inside."""
        if not isinstance(node, CompValue):
            return set()
        outer = self.segment
        self.new_segment()
        try:
            if node.name == "SubSelect":
                return self.select(node)
            return self._group(node)
        finally:
            self.segment = outer

    def _group(self, node: CompValue) -> set[Variable]:
        scope: set[Variable] = set()
        for part in node.part or []:
            name = part.name
            if name == "TriplesBlock":
                scope |= _variables(part.triples)
                self.blank_labels(part.triples)
            elif name in ("OptionalGraphPattern",):
                scope |= self.pattern(part.graph)
            elif name == "GroupOrUnionGraphPattern":
                for g in part.graph:
                    scope |= self.pattern(g)
            elif name in ("GraphGraphPattern", "ServiceGraphPattern"):
                scope |= self.pattern(part.graph) | _variables(part.term)
            elif name == "MinusGraphPattern":
                self.pattern(part.graph)
            elif name == "InlineData":
                self.values(part)
                scope |= _variables(part.var)
            elif name == "Bind":
                var = part.var
                if var in scope:
                    raise self.error(*bind_in_scope(var))
                scope.add(var)
            if name.endswith("GraphPattern"):
                self.new_segment()  # the triples after it are another basic graph pattern
            self.exists(part)
        return scope

    def values(self, node: CompValue) -> None:
        """A ``VALUES`` row must hold one value per variable (§10.2.1)."""
        width = len(node.var or ())
        for row in node.value or ():
            is_row = isinstance(row, (list, tuple)) or type(row).__name__ == "ParseResults"
            if is_row and len(row) != width:
                raise self.error(
                    f"a VALUES row has {len(row)} value(s) for {width} variable(s) "
                    f"(§10.2.1); give one value (or UNDEF) per variable", r"\bVALUES\b")

    def exists(self, node: Any) -> None:
        """Check the graph patterns of EXISTS / NOT EXISTS inside an expression or pattern."""
        if isinstance(node, CompValue):
            if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                self.pattern(node.graph)
                return
            if node.name.endswith("GraphPattern") or node.name == "SubSelect":
                return  # checked by pattern()
            for v in node.values():
                self.exists(v)
        elif isinstance(node, (list, tuple)):
            for x in node:
                self.exists(x)

    # -- queries ---------------------------------------------------------------------------
    def select(self, q: CompValue) -> set[Variable]:
        """Check a SELECT (query or sub-select); returns its projected variables."""
        where = self.pattern(q.where)
        values = _variables(q.valuesClause.var) if q.valuesClause else set()
        projection = q.projection
        groupby = q.groupby
        aggregate = groupby is not None or _has_aggregate(projection)
        if not projection:  # SELECT *
            if aggregate:
                raise self.error("SELECT * is not allowed in a query with GROUP BY "
                                 "(§18.2.4.1); name the grouping variables and aggregates",
                                 r"\bSELECT\s+(DISTINCT\s+|REDUCED\s+)?\*")
            return where | values
        grouped: set[Variable] = set()
        for c in groupby.condition if groupby is not None else []:
            if isinstance(c, Variable):
                grouped.add(c)
            elif c.var is not None:
                grouped.add(c.var)
            elif isinstance(_bare(c.expr), Variable):
                grouped.add(_bare(c.expr))
        projected: set[Variable] = set()
        for v in projection:
            if v.var is not None:
                var = v.var
                if aggregate and var not in grouped:
                    raise self.error(
                        f"{var.n3()} is projected in an aggregate query but is not a GROUP BY "
                        f"variable (§18.2.4.1); group by it, or project an aggregate of it such "
                        f"as (SAMPLE({var.n3()}) AS {var.n3()}1)",
                        rf"[?$]{re.escape(str(var))}\b")
                projected.add(var)
                continue
            evar = v.evar
            if evar in (grouped if aggregate else where) or evar in projected:
                why = "projected" if evar in projected else (
                    "a GROUP BY variable" if aggregate else "in scope in the WHERE clause")
                raise self.error(*alias_in_scope(evar, why))
            if aggregate:
                for used in sorted(_unaggregated(v.expr), key=str):
                    if used not in grouped and used not in projected:
                        raise self.error(
                            f"(… AS {evar.n3()}) uses {used.n3()} outside an aggregate, but "
                            f"{used.n3()} is not a GROUP BY variable (§18.2.4.1); group by it "
                            f"or wrap it in an aggregate such as SAMPLE({used.n3()})",
                            rf"\bAS\s*[?$]{re.escape(str(evar))}\b")
            projected.add(evar)
            self.exists(v.expr)
        return projected | values


def check_scope(parsed: Any, text: str, source: str) -> None:
    """Check a query's parse tree (``rdflib.plugins.sparql.parser.parseQuery``'s result).

    Raises:
        QuerySyntaxError: a scope rule of §18.2.1 / §18.2.4.1 is broken.
    """
    q = parsed[1]
    checker = _Checker(text, source)
    if q.valuesClause is not None:
        checker.values(q.valuesClause)
    if q.name == "SelectQuery":
        checker.select(q)
    elif q.where is not None:
        checker.pattern(q.where)


def check_update_scope(parsed: Any, text: str, source: str) -> None:
    """The same checks on the WHERE clauses of an update request (``parseUpdate``'s result).

    Raises:
        QuerySyntaxError: a scope rule is broken in an operation's WHERE clause.
    """
    for op in parsed.request or ():  # None: an empty request (only a prologue or comments)
        if "where" in op:
            _Checker(text, source).pattern(op["where"])


def _variables(node: Any) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        out: set[Variable] = set()
        for v in node.values():
            out |= _variables(v)
        return out
    if isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        out = set()
        for x in node:
            out |= _variables(x)
        return out
    return set()


def _has_aggregate(node: Any) -> bool:
    if isinstance(node, CompValue):
        if node.name.startswith("Aggregate_"):
            return True
        if node.name == "SubSelect" or node.name.endswith("GraphPattern"):
            return False
        return any(_has_aggregate(v) for v in node.values())
    if isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        return any(_has_aggregate(x) for x in node)
    return False


def _unaggregated(node: Any) -> set[Variable]:
    """Variables of an expression outside aggregates and EXISTS patterns."""
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        if node.name.startswith("Aggregate_") or node.name in ("Builtin_EXISTS",
                                                               "Builtin_NOTEXISTS"):
            return set()
        out: set[Variable] = set()
        for v in node.values():
            out |= _unaggregated(v)
        return out
    if isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        out = set()
        for x in node:
            out |= _unaggregated(x)
        return out
    return set()


def _bare(expr: Any) -> Any:
    """The expression without the grammar's single-child wrappers (``(?x)`` → ``?x``)."""
    while isinstance(expr, CompValue) and set(expr.keys()) == {"expr"}:
        expr = expr.expr
    return expr
