"""Jena-style rules: ``[name: (?a ex:p ?b) (?b ex:p ?c) -> (?a ex:p ?c)]``.

The forward-rule subset of Apache Jena's rule syntax
(https://jena.apache.org/documentation/inference/#RULEsyntax), read into the rule IR:

* ``@prefix ex: <http://example.org/>.`` — ``rdf``, ``rdfs``, ``owl`` and ``xsd`` are
  predefined, as in Jena;
* rules ``[name: body -> head]``, ``[body -> head]`` or ``body -> head .``; items are
  separated by spaces or commas; an empty head makes a *constraint* (violations are reported,
  nothing is written);
* nodes: ``?var``, ``<iri>``, ``prefix:local``, ``'literal'``, ``"literal"``,
  ``'lex'^^xsd:int``, ``'lex'@en``, numbers (``42``, ``2.5``, ``1e3``);
* comments: ``#`` and ``//`` to the end of the line;
* built-ins: ``equal notEqual lessThan greaterThan le ge`` (comparisons), ``sum difference
  product quotient`` (arithmetic: ``sum(?a, ?b, ?c)`` binds ``?c = ?a + ?b``, or tests it
  when ``?c`` is already bound), ``strConcat(?a, …, ?out)``, ``regex(?text, 'pattern')``,
  ``isLiteral notLiteral isBNode notBNode isIRI``, and ``noValue(?s, ?p [, ?o])``
  (negation as failure: no such triple exists).

``@include <RDFS>.`` adds kg-engine's built-in RDFS rules (``rdfs2`` … ``rdfs13``); other
includes, backward rules (``<-``), functors and action built-ins (``print``, ``drop``,
``remove``, ``makeTemp`` …) are rejected with a :class:`~kg_engine.errors.RuleSyntaxError`
that names the line and column. Parsed programs are checked for safety and stratification
(:mod:`kg_engine.rules.checks`).

Example:
    >>> rules = parse_jena('''
    ... @prefix ex: <http://example.org/> .
    ... [anc: (?a ex:parent ?b) -> (?a ex:ancestor ?b)]
    ... [anc-trans: (?a ex:ancestor ?b), (?b ex:ancestor ?c), notEqual(?a, ?c)
    ...     -> (?a ex:ancestor ?c)]
    ... ''', source="family.rules")
    >>> rules.names()
    ['anc', 'anc-trans']
    >>> print(rules.rules[1])
    [anc-trans: (?a <http://example.org/ancestor> ?b) (?b <http://example.org/ancestor> ?c) ne(?a, ?c) -> (?a <http://example.org/ancestor> ?c)]
    >>> rules.rules[1].line
    4
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg_engine.errors import RuleSyntaxError, UnsupportedOperationError
from kg_engine.rules.checks import check_program
from kg_engine.rules.ir import Atom, Bind, Builtin, Not, Rule, RuleSet, Var

__all__ = ["DEFAULT_PREFIXES", "JENA_BUILTINS", "parse_jena"]

#: Prefixes Jena predefines.
DEFAULT_PREFIXES: dict[str, str] = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
}

_COMPARISONS = {
    "equal": "eq",
    "notEqual": "ne",
    "lessThan": "lt",
    "greaterThan": "gt",
    "le": "le",
    "ge": "ge",
}
_ARITHMETIC = {"sum": "add", "difference": "sub", "product": "mul", "quotient": "div"}
_TESTS = {
    "isLiteral": ("isLiteral", False),
    "notLiteral": ("isLiteral", True),
    "isBNode": ("isBlank", False),
    "notBNode": ("isBlank", True),
    "isIRI": ("isIRI", False),
    "isURI": ("isIRI", False),
}
#: Jena built-ins this parser understands.
JENA_BUILTINS = frozenset(
    set(_COMPARISONS) | set(_ARITHMETIC) | set(_TESTS) | {"noValue", "strConcat", "regex"}
)

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*|//[^\n]*)
  | (?P<arrow>->)
  | (?P<barrow><-)
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<var>\?[A-Za-z_][\w\-]*)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<directive>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>[A-Za-z_][\w\-.]*:(?:[^\s,()\[\]<>'"]*[^\s,()\[\]<>'".])?|:[^\s,()\[\]<>'"]*[^\s,()\[\]<>'".]|:)
  | (?P<name>[A-Za-z_][\w\-.]*[\w\-]|[A-Za-z_])
  | (?P<punct>[\[\](),.^@])
    """,
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str
    line: int
    col: int


def _describe(tok: _Tok) -> str:
    return "end of input" if tok.kind == "eof" else repr(tok.text)


def _tokenize(text: str, source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise RuleSyntaxError(
                f"unexpected character {text[pos]!r}; expected a rule, '@prefix' or a comment",
                source=source,
                line=line,
                column=pos - line_start + 1,
            )
        kind = m.lastgroup or ""
        value = m.group()
        if kind not in ("ws", "comment"):
            toks.append(_Tok(kind, value, line, pos - line_start + 1))
        nl = value.count("\n")
        if nl:
            line += nl
            line_start = pos + value.rfind("\n") + 1
        pos = m.end()
    toks.append(_Tok("eof", "", line, pos - line_start + 1))
    return toks


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(body: str) -> str:
    def rep(m: re.Match) -> str:
        c = m.group(1)
        if c in _ESCAPES:
            return _ESCAPES[c]
        if c.startswith(("u", "U")):
            return chr(int(c[1:], 16))
        return c

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", rep, body)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.toks = _tokenize(text, source)
        self.i = 0
        self.prefixes = dict(DEFAULT_PREFIXES)
        self.rules: list[Rule] = []
        self.fresh = 0

    # -- token helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, message: str, tok: _Tok | None = None) -> RuleSyntaxError:
        t = tok or self.tok
        return RuleSyntaxError(message, source=self.source, line=t.line, column=t.col)

    def expect(self, text: str, what: str) -> _Tok:
        t = self.tok
        if t.text != text or t.kind in ("string", "iri"):
            raise self.error(f"expected {what} but found {_describe(t)}")
        return self.next()

    # -- program
    def parse(self) -> list[Rule]:
        while self.tok.kind != "eof":
            t = self.tok
            if t.kind == "directive":
                self.directive()
            elif t.text == "[":
                self.next()
                self.rule(t, bracketed=True)
            elif t.text == "(" or t.kind == "name" or t.kind == "arrow":
                self.rule(t, bracketed=False)
            else:
                raise self.error(
                    f"expected a rule ('[name: body -> head]') or '@prefix' but found {_describe(t)}"
                )
        return self.rules

    def directive(self) -> None:
        t = self.next()
        if t.text == "@prefix":
            p = self.tok
            if p.kind != "pname" or not p.text.endswith(":") or p.text.count(":") != 1:
                raise self.error(f"expected a prefix name such as 'ex:' but found {_describe(p)}")
            self.next()
            iri = self.tok
            if iri.kind != "iri":
                raise self.error(f"expected an IRI in angle brackets but found {_describe(iri)}")
            self.next()
            self.prefixes[p.text[:-1]] = iri.text[1:-1]
            if self.tok.text == ".":
                self.next()
        elif t.text == "@include":
            target = self.tok
            if target.kind != "iri":
                raise self.error(f"expected <RDFS> or another <…> after @include but found {_describe(target)}")
            self.next()
            if self.tok.text == ".":
                self.next()
            if target.text.upper() != "<RDFS>":
                raise self.error(
                    f"@include {target.text} is not supported: only <RDFS> (kg-engine's built-in RDFS "
                    "rules) can be included; for OWL run the built-in 'owl-rl' rule set first, and "
                    "load other rule files separately",
                    target,
                )
            from kg_engine.rules.rulesets.rdfs import rdfs_rules

            self.rules.extend(rdfs_rules().rules)
        else:
            raise self.error(f"unknown directive {t.text!r}; expected '@prefix'", t)

    def rule(self, start: _Tok, bracketed: bool) -> None:
        name = None
        if bracketed and self.tok.kind == "pname" and self.tok.text.endswith(":"):
            name = self.next().text[:-1]
        elif bracketed and self.tok.kind == "name" and self.toks[self.i + 1].text == ":":
            name = self.next().text  # 'r1 :' with a space
            self.next()
        if name is None:
            name = f"rule-{len(self.rules) + 1}"
        body_items = self.items(head=False)
        arrow = self.tok
        if arrow.kind == "barrow":
            raise self.error(
                "backward rules ('<-') are not supported; write the rule forwards: body -> head",
                arrow,
            )
        if arrow.kind != "arrow":
            raise self.error(f"expected '->' or another body term but found {_describe(arrow)}")
        self.next()
        head_items = self.items(head=True)
        if bracketed:
            self.expect("]", "']' closing the rule (or another head term)")
        else:
            self.expect(".", "'.' ending the rule (or another head term)")
        body = self.lower_body(body_items)
        self.rules.append(
            Rule(name, tuple(body), tuple(it[1] for it in head_items), source=self.source, line=start.line)
        )

    def items(self, head: bool) -> list:
        out: list = []
        while True:
            if self.tok.text == "," and self.tok.kind == "punct":
                self.next()
                continue
            t = self.tok
            if t.kind == "punct" and t.text == "(":
                out.append(self.triple())
            elif t.kind == "name":
                if head:
                    raise self.error(
                        f"built-in {t.text}() in a rule head is not supported: heads may only "
                        "contain triple patterns (?s ?p ?o)",
                        t,
                    )
                out.append(self.builtin_call())
            elif t.kind == "punct" and t.text == "[" and head:
                raise self.error(
                    "nested rules in a head ('[... <- ...]') are not supported", t
                )
            else:
                return out

    def triple(self) -> tuple:
        open_tok = self.next()
        nodes = []
        while len(nodes) < 3:
            if self.tok.text == "," and self.tok.kind == "punct":
                self.next()
                continue
            nodes.append(self.node())
        if self.tok.text == "," and self.tok.kind == "punct":
            self.next()
        if self.tok.text != ")":
            raise self.error(
                f"expected ')' closing the triple pattern opened at line {open_tok.line} "
                f"column {open_tok.col} but found {_describe(self.tok)}"
            )
        self.next()
        s, p, o = nodes
        if isinstance(s, Literal):
            raise self.error("a literal cannot be the subject of a triple pattern", open_tok)
        if not isinstance(p, (Var, URIRef)):
            raise self.error("the predicate of a triple pattern must be an IRI or a variable", open_tok)
        return ("atom", Atom(s, p, o), open_tok)

    def builtin_call(self) -> tuple:
        name_tok = self.next()
        if self.tok.text != "(":
            raise self.error(
                f"expected '(' after built-in name {name_tok.text!r} but found {_describe(self.tok)}"
            )
        self.next()
        args = []
        while self.tok.text != ")":
            if self.tok.text == "," and self.tok.kind == "punct":
                self.next()
                continue
            if self.tok.kind == "eof":
                raise self.error(f"expected ')' closing {name_tok.text}(")
            args.append(self.node())
        self.next()
        return ("call", name_tok.text, args, name_tok)

    def node(self):
        t = self.tok
        if t.kind == "var":
            self.next()
            return Var(t.text[1:])
        if t.kind == "iri":
            self.next()
            return URIRef(t.text[1:-1])
        if t.kind == "pname":
            self.next()
            prefix, _, local = t.text.partition(":")
            if prefix in self.prefixes:
                return URIRef(self.prefixes[prefix] + local)
            if local.startswith("//"):  # a bare absolute IRI such as http://example.org/x
                return URIRef(t.text)
            raise self.error(
                f"unknown prefix {prefix + ':'!r}; declare it with '@prefix {prefix}: <…>.' "
                f"(known: {', '.join(sorted(self.prefixes))})",
                t,
            )
        if t.kind == "number":
            self.next()
            lex = t.text
            if re.fullmatch(r"[+-]?\d+", lex):
                return Literal(lex, datatype=XSD.integer, normalize=False)
            if "e" in lex or "E" in lex:
                return Literal(lex, datatype=XSD.double, normalize=False)
            return Literal(lex, datatype=XSD.decimal, normalize=False)
        if t.kind == "string":
            self.next()
            lex = _unescape(t.text[1:-1])
            if self.tok.text == "^" and self.toks[self.i + 1].text == "^":
                self.next()
                self.next()
                dt = self.node()
                if not isinstance(dt, URIRef):
                    raise self.error("expected a datatype IRI after '^^'", t)
                return Literal(lex, datatype=dt, normalize=False)  # as written: "01" is not "1"
            nxt = self.tok
            if (
                nxt.kind == "directive"
                and nxt.line == t.line
                and nxt.col == t.col + len(t.text)
                and re.fullmatch(r"@[A-Za-z]+(-[A-Za-z0-9]+)*", nxt.text)
            ):
                self.next()
                return Literal(lex, lang=nxt.text[1:])
            return Literal(lex)
        if t.kind == "name":
            if self.toks[self.i + 1].text == "(":
                raise self.error(
                    f"functor {t.text}(…) inside a triple pattern is not supported; "
                    "use plain nodes", t
                )
            also = (f", a boolean as '{t.text}'^^xsd:boolean" if t.text in ("true", "false")
                    else "")
            raise self.error(
                f"unknown name {t.text!r}: write an IRI as <…> or prefix:name, a variable as "
                f"?{t.text}{also}",
                t,
            )
        raise self.error(
            f"expected a node (?var, <iri>, prefix:name, 'literal' or a number) but found "
            f"{_describe(t)}"
        )

    # -- lowering of built-ins to the IR
    def lower_body(self, items: list) -> list:
        bound: set[Var] = set()
        for it in items:
            if it[0] == "atom":
                bound |= it[1].variables()
        out: list = []
        for it in items:
            if it[0] == "atom":
                out.append(it[1])
                continue
            _, name, args, tok = it
            out.append(self.lower_call(name, args, tok, bound))
        return out

    def _arity(self, name: str, args: list, n: int | tuple[int, ...], tok: _Tok) -> None:
        allowed = (n,) if isinstance(n, int) else n
        if len(args) not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise self.error(f"{name}() takes {want} arguments, got {len(args)}", tok)

    def lower_call(self, name: str, args: list, tok: _Tok, bound: set[Var]):
        if name in _COMPARISONS:
            self._arity(name, args, 2, tok)
            return Builtin(_COMPARISONS[name], tuple(args))
        if name in _ARITHMETIC:
            self._arity(name, args, 3, tok)
            expr = Builtin(_ARITHMETIC[name], (args[0], args[1]))
            return self._bind_or_test(args[2], expr, bound, name, tok)
        if name == "strConcat":
            if len(args) < 2:
                raise self.error("strConcat() takes at least 2 arguments (inputs…, result)", tok)
            expr = Builtin("concat", tuple(Builtin("str", (a,)) for a in args[:-1]))
            return self._bind_or_test(args[-1], expr, bound, name, tok)
        if name in _TESTS:
            self._arity(name, args, 1, tok)
            test, negate = _TESTS[name]
            b = Builtin(test, tuple(args))
            return Builtin("not", (b,)) if negate else b
        if name == "regex":
            if len(args) != 2:
                raise self.error(
                    "regex() takes 2 arguments (text, pattern); capture-group outputs are not "
                    "supported",
                    tok,
                )
            return Builtin("regex", tuple(args))
        if name == "noValue":
            self._arity(name, args, (2, 3), tok)
            if len(args) == 2:
                self.fresh += 1
                args = [*args, Var(f"_novalue{self.fresh}")]
            s, p, o = args
            if not isinstance(p, (Var, URIRef)):
                raise self.error("the predicate of noValue() must be an IRI or a variable", tok)
            return Not((Atom(s, p, o),))
        raise self.error(
            f"unknown or unsupported built-in {name!r}; supported: "
            f"{', '.join(sorted(JENA_BUILTINS))}",
            tok,
        )

    def _bind_or_test(self, out, expr: Builtin, bound: set[Var], name: str, tok: _Tok):
        if isinstance(out, Var) and out not in bound:
            bound.add(out)
            return Bind(out, expr)
        return Builtin("eq", (out, expr))


def parse_jena(text: str, source: str = "<rules>", name: str | None = None, check: bool = True) -> RuleSet:
    """Parse Jena-style forward rules into a :class:`~kg_engine.rules.ir.RuleSet`.

    Args:
        text: the rules.
        source: file name or description used in error messages and recorded on each rule.
        name: name of the rule set (default: ``source``).
        check: run the safety and stratification checks (:func:`~kg_engine.rules.checks.check_program`).

    Returns:
        the rules, in file order.

    Raises:
        RuleSyntaxError: naming ``source``, line and column, and what was expected.
    """
    rules = _Parser(text, source).parse()
    if check:
        check_program(rules)
    return RuleSet(name or source, tuple(rules))



# --- writing -----------------------------------------------------------------------------------

_COMPARISON_NAMES = {v: k for k, v in _COMPARISONS.items()}
_ARITHMETIC_NAMES = {v: k for k, v in _ARITHMETIC.items()}
_TEST_NAMES = {(v[0], v[1]): k for k, v in _TESTS.items() if k != "isURI"}


def _write_node(node: object, rule: Rule) -> str:
    if isinstance(node, Var):
        return f"?{node.name}"
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        lex = str(node).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        if node.language:
            return f"'{lex}'@{node.language}"
        if node.datatype is not None:
            return f"'{lex}'^^<{node.datatype}>"
        return f"'{lex}'"
    raise UnsupportedOperationError(
        f"rule {rule.name!r}: {node!r} cannot be written in Jena rule syntax (blank nodes and nested "
        "expressions have no Jena form)"
    )


def _write_item(item: object, rule: Rule) -> str:
    def w(n: object) -> str:
        return _write_node(n, rule)

    if isinstance(item, Atom):
        return f"({w(item.s)} {w(item.p)} {w(item.o)})"
    if isinstance(item, Not) and len(item.body) == 1 and isinstance(item.body[0], Atom):
        a = item.body[0]
        return f"noValue({w(a.s)}, {w(a.p)}, {w(a.o)})"
    if isinstance(item, Builtin):
        if item.name in _COMPARISON_NAMES:
            out, expr = item.args
            if isinstance(expr, Builtin) and expr.name in _ARITHMETIC_NAMES and not isinstance(out, Builtin):
                x, y = expr.args
                return f"{_ARITHMETIC_NAMES[expr.name]}({w(x)}, {w(y)}, {w(out)})" if item.name == "eq" else _unsupported(item, rule)
            return f"{_COMPARISON_NAMES[item.name]}({w(out)}, {w(expr)})"
        negate = item.name == "not" and len(item.args) == 1 and isinstance(item.args[0], Builtin)
        inner = item.args[0] if negate else item
        key = (inner.name, negate)
        if key in _TEST_NAMES and len(inner.args) == 1:
            return f"{_TEST_NAMES[key]}({w(inner.args[0])})"
        if item.name == "regex" and len(item.args) == 2:
            return f"regex({w(item.args[0])}, {w(item.args[1])})"
    if isinstance(item, Bind):
        e = item.expr
        if isinstance(e, Builtin) and e.name in _ARITHMETIC_NAMES and len(e.args) == 2:
            return f"{_ARITHMETIC_NAMES[e.name]}({w(e.args[0])}, {w(e.args[1])}, {w(item.var)})"
        if isinstance(e, Builtin) and e.name == "concat" and all(
            isinstance(a, Builtin) and a.name == "str" and len(a.args) == 1 for a in e.args
        ):
            parts = ", ".join(w(a.args[0]) for a in e.args)
            return f"strConcat({parts}, {w(item.var)})"
    return _unsupported(item, rule)


def _unsupported(item: object, rule: Rule) -> str:
    raise UnsupportedOperationError(
        f"rule {rule.name!r}: {getattr(item, 'render', lambda: repr(item))()} has no Jena rule form "
        "(supported: triple patterns, comparisons, sum/difference/product/quotient, strConcat, "
        "regex, isLiteral/notLiteral/isBNode/notBNode/isIRI, noValue of one triple)"
    )


def to_jena(rules: RuleSet | list[Rule]) -> str:
    """Write rules in Jena rule syntax (the inverse of :func:`parse_jena`).

    Args:
        rules: the rules.

    Returns:
        one ``[name: body -> head]`` per line, IRIs written in full.

    Raises:
        UnsupportedOperationError: for a construct Jena rules cannot express (aggregates,
            negated conjunctions, blank-node constants, nested expressions), naming the rule.

    Example:
        >>> rs = parse_jena("[r: (?a <urn:p> ?b) notEqual(?a, ?b) -> (?b <urn:q> ?a)]")
        >>> print(to_jena(rs))
        [r: (?a <urn:p> ?b) notEqual(?a, ?b) -> (?b <urn:q> ?a)]
    """
    lines = []
    for r in rules:
        parts = [f"[{r.name}:"]
        parts += [_write_item(b, r) for b in r.body]
        parts.append("->")
        parts += [_write_item(h, r) for h in r.head]
        lines.append(" ".join(parts) + "]")
    return "\n".join(lines)
