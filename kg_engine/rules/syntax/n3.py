"""N3 rules: ``{ ?x ex:parent ?y } => { ?y ex:child ?x } .``

Notation3 rules as written for cwm, EYE and N3.js, read with rdflib's N3 parser (which
turns each ``{ … }`` into a quoted formula) and lowered to the rule IR:

* ``{ body } => { head } .`` (also ``log:implies``); ``{ body } => false .`` is a
  *constraint* (violations are reported, nothing is written);
* ``@prefix`` / ``PREFIX`` declarations, ``a``, ``;``/``,`` lists, ``[ … ]`` blank nodes
  (in a body they act as variables, as in N3), quoted literals, numbers;
* built-ins from the SWAP vocabularies: ``math:greaterThan lessThan notGreaterThan
  notLessThan equalTo notEqualTo`` (comparisons), ``(?a ?b) math:sum|difference|product|quotient ?c``
  (arithmetic: binds ``?c`` or tests it when already bound), ``log:equalTo`` /
  ``log:notEqualTo``, ``string:contains startsWith endsWith matches``,
  ``(?a ?b) string:concatenation ?c``;
* negation as failure: ``?scope log:notIncludes { … }`` (the scope is ignored: the whole
  store is the scope) becomes ``NOT EXISTS``.

Rules get the names ``rule-1``, ``rule-2``… in file order (N3 has no rule names) and record
their line. Blank nodes in a head (existential conclusions) and plain facts outside rules are
rejected with a :class:`~kg_engine.errors.RuleSyntaxError`.

Example:
    >>> rs = parse_n3('''
    ... @prefix ex: <http://example.org/> .
    ... { ?x ex:parent ?y } => { ?y ex:child ?x } .
    ... { ?x ex:age ?a . ?a math:greaterThan 17 } => { ?x a ex:Adult } .
    ... ''', source="family.n3")
    >>> [(r.name, r.line) for r in rs]
    [('rule-1', 3), ('rule-2', 4)]
    >>> print(rs.rules[1])
    [rule-2: (?x <http://example.org/age> ?a) gt(?a, "17"^^xsd:integer) -> (?x rdf:type <http://example.org/Adult>)]
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.graph import QuotedGraph
from rdflib.namespace import RDF

from kg_engine.core.terms import exact_literals
from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.checks import check_program
from kg_engine.rules.ir import Atom, Bind, Builtin, Not, Rule, RuleSet, Var

__all__ = ["N3_BUILTINS", "parse_n3"]

LOG = "http://www.w3.org/2000/10/swap/log#"
MATH = "http://www.w3.org/2000/10/swap/math#"
STRING = "http://www.w3.org/2000/10/swap/string#"

_IMPLIES = URIRef(LOG + "implies")
_NOT_INCLUDES = URIRef(LOG + "notIncludes")

_COMPARE = {
    URIRef(MATH + "greaterThan"): "gt",
    URIRef(MATH + "lessThan"): "lt",
    URIRef(MATH + "notGreaterThan"): "le",
    URIRef(MATH + "notLessThan"): "ge",
    URIRef(MATH + "equalTo"): "eq",
    URIRef(MATH + "notEqualTo"): "ne",
    URIRef(LOG + "equalTo"): "sameTerm",
    URIRef(LOG + "notEqualTo"): "!sameTerm",
    URIRef(STRING + "contains"): "contains",
    URIRef(STRING + "startsWith"): "strstarts",
    URIRef(STRING + "endsWith"): "strends",
    URIRef(STRING + "matches"): "regex",
    URIRef(STRING + "notMatches"): "!regex",
}
_LIST_FUNCS = {
    URIRef(MATH + "sum"): "add",
    URIRef(MATH + "difference"): "sub",
    URIRef(MATH + "product"): "mul",
    URIRef(MATH + "quotient"): "div",
    URIRef(STRING + "concatenation"): "concat",
}
#: Built-in predicates this parser understands.
N3_BUILTINS = frozenset(set(_COMPARE) | set(_LIST_FUNCS) | {_NOT_INCLUDES})
_BUILTIN_NS = (LOG, MATH, STRING, "http://www.w3.org/2000/10/swap/time#",
               "http://www.w3.org/2000/10/swap/list#", "http://www.w3.org/2000/10/swap/crypto#")

_DEFAULT_PREFIXES = (
    "@prefix math: <http://www.w3.org/2000/10/swap/math#> .\n"
    "@prefix log: <http://www.w3.org/2000/10/swap/log#> .\n"
    "@prefix string: <http://www.w3.org/2000/10/swap/string#> .\n"
)

# Tokens to skip while locating '{' in the source: strings, IRIs, comments.
_SCAN_RE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*|\{'
)


def _brace_positions(text: str) -> list[tuple[int, int]]:
    """(line, column) of every ``{`` that opens a formula, in source order."""
    out = []
    for m in _SCAN_RE.finditer(text):
        if m.group() == "{":
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            out.append((line, col))
    return out


def _formula_number(g: Any) -> int | None:
    m = re.search(r"(\d+)$", str(g.identifier))
    return int(m.group(1)) if m else None


class _Lowerer:
    def __init__(self, source: str, line: int | None, rule_name: str) -> None:
        self.source = source
        self.line = line
        self.rule_name = rule_name
        self.fresh = 0

    def error(self, message: str) -> RuleSyntaxError:
        return RuleSyntaxError(f"rule {self.rule_name!r}: {message}", source=self.source, line=self.line)

    def node(self, t: Any, head: bool) -> Any:
        if isinstance(t, Variable):
            return Var(str(t))
        if isinstance(t, QuotedGraph):
            raise self.error("a formula { … } can only be used with log:notIncludes or =>")
        if isinstance(t, BNode):
            if head:
                raise self.error(
                    "blank nodes in a rule head (existential conclusions such as [ ex:p ?x ]) "
                    "are not supported; use a variable bound in the body"
                )
            return Var("_b_" + re.sub(r"\W", "_", str(t)))
        return t

    def _list(self, triples: list, start: Any) -> list | None:
        items = []
        node = start
        seen = set()
        while node != RDF.nil:
            if node in seen or not isinstance(node, BNode):
                return None
            seen.add(node)
            firsts = [o for s, p, o in triples if s == node and p == RDF.first]
            rests = [o for s, p, o in triples if s == node and p == RDF.rest]
            if len(firsts) != 1 or len(rests) != 1:
                return None
            items.append(firsts[0])
            node = rests[0]
        return items

    def body(self, formula: QuotedGraph) -> list:
        triples = sorted(formula.triples((None, None, None)), key=lambda t: tuple(x.n3() for x in t if not isinstance(x, QuotedGraph)))
        list_nodes: set = set()
        calls = []
        for s, p, o in triples:
            if p in _LIST_FUNCS:
                items = self._list(triples, s)
                if items is None:
                    raise self.error(f"{p.n3()} expects a list subject such as (?a ?b)")
                calls.append((s, p, o, items))
                node = s
                while node != RDF.nil:
                    list_nodes.add(node)
                    node = next(o2 for s2, p2, o2 in triples if s2 == node and p2 == RDF.rest)
        out: list = []
        bound: set[Var] = set()
        atoms = []
        for s, p, o in triples:
            if s in list_nodes and p in (RDF.first, RDF.rest):
                continue
            if p in _COMPARE or p in _LIST_FUNCS or p == _NOT_INCLUDES:
                continue
            if isinstance(p, URIRef) and str(p).startswith(_BUILTIN_NS):
                raise self.error(
                    f"unsupported built-in {p.n3()}; supported: "
                    + ", ".join(sorted(x.n3() for x in N3_BUILTINS))
                )
            if isinstance(s, Literal):
                raise self.error(f"a literal cannot be the subject of {s.n3()} {p.n3()} {o.n3()}")
            atom = Atom(self.node(s, False), self.node(p, False), self.node(o, False))
            atoms.append(atom)
            bound |= atom.variables()
        out.extend(atoms)
        for s, p, o in triples:
            if p in _COMPARE:
                name = _COMPARE[p]
                negate = name.startswith("!")
                b = Builtin(name.lstrip("!"), (self.node(s, False), self.node(o, False)))
                out.append(Builtin("not", (b,)) if negate else b)
            elif p == _NOT_INCLUDES:
                if not isinstance(o, QuotedGraph):
                    raise self.error("log:notIncludes expects a formula { … } as object")
                out.append(Not(tuple(self.body(o))))
        for s, p, o, items in calls:
            fn = _LIST_FUNCS[p]
            args = [self.node(i, False) for i in items]
            if fn == "concat":
                args = [Builtin("str", (a,)) for a in args]
            elif len(args) != 2:
                raise self.error(f"{p.n3()} takes a list of 2 items, got {len(args)}")
            expr = Builtin(fn, tuple(args))
            res = self.node(o, False)
            if isinstance(res, Var) and res not in bound:
                bound.add(res)
                out.append(Bind(res, expr))
            else:
                out.append(Builtin("eq", (res, expr)))
        return out

    def head(self, formula: QuotedGraph) -> list:
        out = []
        for s, p, o in sorted(formula.triples((None, None, None)), key=lambda t: tuple(x.n3() for x in t)):
            if isinstance(s, Literal):
                raise self.error(f"a literal cannot be the subject of head triple {s.n3()} {p.n3()} {o.n3()}")
            out.append(Atom(self.node(s, True), self.node(p, True), self.node(o, True)))
        return out


def _bad_syntax(e: Exception, source: str, offset_lines: int) -> RuleSyntaxError:
    raw = getattr(e, "_str", b"")
    i = getattr(e, "_i", None)
    why = getattr(e, "_why", str(e))
    line = col = None
    if isinstance(raw, bytes) and i is not None:
        before = raw[:i]
        line = before.count(b"\n") + 1 - offset_lines
        col = i - (before.rfind(b"\n") + 1) + 1
        near = raw[i : i + 20].decode("utf-8", "replace").split("\n")[0]
        why = f"{why} near {near!r}" if near.strip() else f"{why} at end of input"
    return RuleSyntaxError(f"invalid N3: {why}", source=source, line=line, column=col)


def parse_n3(text: str, source: str = "<rules>", name: str | None = None, check: bool = True) -> RuleSet:
    """Parse N3 rules into a :class:`~kg_engine.rules.ir.RuleSet`.

    The ``math:``, ``log:`` and ``string:`` prefixes are predeclared.

    Args:
        text: N3 text with rules ``{ … } => { … } .``.
        source: file name or description used in error messages.
        name: rule set name (default: ``source``).
        check: run safety and stratification checks.

    Returns:
        the rules in file order, named ``rule-1``, ``rule-2``…

    Raises:
        RuleSyntaxError: on malformed N3 (line and column of the error), plain facts outside
            rules, unsupported built-ins, unsafe or unstratifiable rules.
    """
    from rdflib.plugins.parsers.notation3 import BadSyntax

    g = Graph()
    full = _DEFAULT_PREFIXES + text
    try:
        # rdflib's N3 parser uses deprecated ConjunctiveGraph; exact_literals: a constant is
        # the term as written ("01"^^xsd:integer is not "1")
        with warnings.catch_warnings(), exact_literals():
            warnings.simplefilter("ignore", DeprecationWarning)
            g.parse(data=full, format="n3")
    except BadSyntax as e:
        raise _bad_syntax(e, source, _DEFAULT_PREFIXES.count("\n")) from None
    except Exception as e:  # noqa: BLE001 - rdflib raises assorted errors for bad terms
        raise RuleSyntaxError(f"invalid N3: {e}", source=source) from None
    braces = _brace_positions(text)
    found = []
    first_formula = None
    for s, p, o in g:
        for f in (s, o):
            if isinstance(f, QuotedGraph):
                n = _formula_number(f)
                if n is not None and (first_formula is None or n < first_formula):
                    first_formula = n
    for s, p, o in g:
        if p == _IMPLIES and isinstance(s, QuotedGraph):
            # '{head} <= {body}' arrives as (body, log:implies, head) too: order by the
            # formula that comes first in the file.
            nums = [x for x in (_formula_number(s), _formula_number(o) if isinstance(o, QuotedGraph) else None) if x is not None]
            found.append((min(nums) if nums else 0, s, o))
        else:
            raise RuleSyntaxError(
                f"plain statement {s.n3()} {p.n3()} {o.n3()} outside a rule; an N3 rules file "
                "may only contain rules { … } => { … } (load facts with kg load)",
                source=source,
            )
    found.sort(key=lambda t: t[0])
    rules: list[Rule] = []
    for k, (n, body_f, head_f) in enumerate(found, start=1):
        line = None
        if first_formula is not None and 0 <= n - first_formula < len(braces):
            line = braces[n - first_formula][0]
        rule_name = f"rule-{k}"
        low = _Lowerer(source, line, rule_name)
        body = low.body(body_f)
        if isinstance(head_f, QuotedGraph):
            head = low.head(head_f)
        elif isinstance(head_f, Literal) and head_f.toPython() is False:
            head = []
        else:
            raise RuleSyntaxError(
                f"rule {rule_name!r}: the conclusion of => must be a formula {{ … }} or false",
                source=source,
                line=line,
            )
        rules.append(Rule(rule_name, tuple(body), tuple(head), source=source, line=line))
    if check:
        check_program(rules)
    return RuleSet(name or source, tuple(rules))
