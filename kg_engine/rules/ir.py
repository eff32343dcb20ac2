"""The rule IR: Datalog over RDF triples.

Every rule language kg-engine reads (Jena rules, N3 rules, SPARQL ``CONSTRUCT``) and every
built-in rule set (RDFS, OWL 2 RL) is turned into these few immutable classes; the engine
(:mod:`kg_engine.rules.engine`) compiles them to SQL.

* :class:`Var` — a variable; constants are plain rdflib terms (``URIRef``, ``BNode``, ``Literal``).
* :class:`Atom` — a triple pattern ``(s, p, o)``; in a body it matches asserted ∪ inferred
  triples of every graph, in a head it is a triple to derive.
* :class:`Builtin` — a built-in function call. In a body it is a *test* (the rule fires only
  when it is true); as an argument of another built-in or of :class:`Bind` it is an
  *expression*. The names are fixed (see :data:`BUILTINS`).
* :class:`Bind` — binds a fresh variable to the value of an expression (Jena ``sum(?a ?b ?c)``,
  SPARQL ``BIND(?a + ?b AS ?c)``); the value is interned as an RDF literal if it is new.
* :class:`Not` — negation as failure: ``NOT EXISTS`` a conjunction of atoms/tests. Variables
  that only occur inside are existential (local to the negation).
* :class:`Aggregate` — ``result = fn(arg)`` over the solutions of a sub-body, grouped by
  ``group_by`` (variables shared with the rest of the rule).
* :class:`Rule` — ``body → head``; an empty head makes it a *constraint*: every solution
  of the body is reported as a violation and nothing is written.

Negation and aggregation must be stratified (what a rule negates or aggregates over may
not depend on the rule's own head, directly or recursively).

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> x, c, d = Var("x"), Var("c"), Var("d")
    >>> r = Rule("cax-sco", body=(Atom(c, RDFS.subClassOf, d), Atom(x, RDF.type, c)),
    ...          head=(Atom(x, RDF.type, d),))
    >>> print(r)
    [cax-sco: (?c rdfs:subClassOf ?d) (?x rdf:type ?c) -> (?x rdf:type ?d)]
    >>> sorted(v.name for v in r.variables())
    ['c', 'd', 'x']
    >>> Rule.from_dict(r.to_dict()) == r
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import NamespaceManager

from kg_engine.core.terms import term_from_n3

__all__ = [
    "AGGREGATES",
    "BUILTINS",
    "COMPARISONS",
    "EXPRESSIONS",
    "TESTS",
    "Aggregate",
    "Atom",
    "Bind",
    "BodyItem",
    "Builtin",
    "Node",
    "Not",
    "Rule",
    "RuleSet",
    "Var",
    "term_vars",
]


@dataclass(frozen=True, order=True)
class Var:
    """A rule variable, written ``?name``.

    Example:
        >>> Var("x")
        ?x
    """

    name: str

    def __repr__(self) -> str:
        return f"?{self.name}"


Term = URIRef | BNode | Literal
#: A position of an atom or an argument: a variable or an rdflib constant.
Node = Var | URIRef | BNode | Literal

#: Comparisons (tests on two arguments). Numeric literals compare by value, dates by
#: instant, other literals by lexical form (``eq``/``ne`` on non-literals: same term).
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
#: Tests on one or more arguments that return a boolean.
TESTS = frozenset(
    {
        "isIRI",
        "isBlank",
        "isLiteral",
        "isNumeric",
        "sameTerm",  # term identity (same id), no value semantics
        "contains",  # contains(str, sub)
        "strstarts",
        "strends",
        "regex",  # regex(str, pattern) — Python re syntax, no flags
        "isDatatype",  # isDatatype(d): d is a datatype whose value space is decided (rules.datatypes)
        "inDatatype",  # inDatatype(v, d): v is a literal in the value space of datatype d
        "and",
        "or",
        "not",
    }
)
#: Functions that compute a value (usable in Bind and as arguments).
EXPRESSIONS = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "abs",
        "str",  # lexical form / IRI string as xsd:string
        "strlen",
        "concat",
        "lcase",
        "ucase",
    }
)
#: Every built-in name.
BUILTINS = COMPARISONS | TESTS | EXPRESSIONS
#: Aggregate functions.
AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})


def _fmt(node: Any, nm: NamespaceManager | None = None) -> str:
    if isinstance(node, Var):
        return repr(node)
    if isinstance(node, Builtin):
        return node.render(nm)
    if isinstance(node, (URIRef, BNode, Literal)):
        return node.n3(nm) if nm is not None else node.n3()
    return repr(node)


def term_vars(node: Any) -> Iterator[Var]:
    """Yield the variables of a node or (nested) expression.

    Example:
        >>> list(term_vars(Builtin("add", (Var("a"), Builtin("neg", (Var("b"),))))))
        [?a, ?b]
    """
    if isinstance(node, Var):
        yield node
    elif isinstance(node, Builtin):
        for a in node.args:
            yield from term_vars(a)


@dataclass(frozen=True)
class Atom:
    """A triple pattern ``(s p o)`` of variables and constants."""

    s: Node
    p: Node
    o: Node

    def __iter__(self) -> Iterator[Node]:
        return iter((self.s, self.p, self.o))

    def variables(self) -> set[Var]:
        """The variables of the pattern."""
        return {t for t in self if isinstance(t, Var)}

    def render(self, nm: NamespaceManager | None = None) -> str:
        """``(s p o)`` with prefixed names where ``nm`` knows the namespace."""
        return "(" + " ".join(_fmt(t, nm) for t in self) + ")"

    def to_dict(self) -> Any:
        return ["atom", _enc(self.s), _enc(self.p), _enc(self.o)]


@dataclass(frozen=True)
class Builtin:
    """A built-in call: a test in a body, an expression inside :class:`Bind` or another call.

    Args:
        name: one of :data:`BUILTINS`.
        args: variables, constants or nested :class:`Builtin` expressions.

    Raises:
        ValueError: if ``name`` is not a known built-in.
    """

    name: str
    args: tuple = ()

    def __post_init__(self) -> None:
        if self.name not in BUILTINS:
            raise ValueError(
                f"unknown built-in {self.name!r}; known: {', '.join(sorted(BUILTINS))}"
            )
        object.__setattr__(self, "args", tuple(self.args))

    def variables(self) -> set[Var]:
        """The variables used by the call (all must be bound elsewhere in the body)."""
        return set(term_vars(self))

    def render(self, nm: NamespaceManager | None = None) -> str:
        return f"{self.name}(" + ", ".join(_fmt(a, nm) for a in self.args) + ")"

    def to_dict(self) -> Any:
        return ["builtin", self.name, [_enc(a) for a in self.args]]


@dataclass(frozen=True)
class Bind:
    """``var := expr``: binds a variable not bound elsewhere in the body to a computed value."""

    var: Var
    expr: Node | Builtin

    def variables(self) -> set[Var]:
        """The variables the expression reads (not the bound one)."""
        return set(term_vars(self.expr))

    def render(self, nm: NamespaceManager | None = None) -> str:
        return f"bind({_fmt(self.expr, nm)} as {self.var!r})"

    def to_dict(self) -> Any:
        return ["bind", self.var.name, _enc(self.expr)]


@dataclass(frozen=True)
class Not:
    """Negation as failure: true when the conjunction ``body`` has no solution.

    Variables of ``body`` that also occur positively in the enclosing rule are shared with
    it; the others are existential inside the negation.
    """

    body: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", tuple(self.body))

    def atoms(self) -> list[Atom]:
        return [b for b in self.body if isinstance(b, Atom)]

    def variables(self) -> set[Var]:
        out: set[Var] = set()
        for b in self.body:
            out |= b.variables()
        return out

    def render(self, nm: NamespaceManager | None = None) -> str:
        return "not{" + " ".join(b.render(nm) for b in self.body) + "}"

    def to_dict(self) -> Any:
        return ["not", [b.to_dict() for b in self.body]]


@dataclass(frozen=True)
class Aggregate:
    """``result = fn([distinct] arg)`` over the solutions of ``body``, per ``group_by`` tuple.

    Args:
        fn: one of :data:`AGGREGATES`.
        arg: the aggregated variable (``None`` for ``count(*)``).
        result: fresh variable bound to the aggregate value (an xsd:integer / xsd:decimal
            literal, or the min/max term itself).
        group_by: variables of ``body`` shared with the rest of the rule.
        body: atoms/tests/binds whose solutions are aggregated.
        distinct: aggregate distinct values only.
    """

    fn: str
    arg: Var | None
    result: Var
    group_by: tuple
    body: tuple
    distinct: bool = False

    def __post_init__(self) -> None:
        if self.fn not in AGGREGATES:
            raise ValueError(
                f"unknown aggregate {self.fn!r}; known: {', '.join(sorted(AGGREGATES))}"
            )
        object.__setattr__(self, "group_by", tuple(self.group_by))
        object.__setattr__(self, "body", tuple(self.body))

    def atoms(self) -> list[Atom]:
        return [b for b in self.body if isinstance(b, Atom)]

    def variables(self) -> set[Var]:
        """Variables visible outside: the group-by variables and the result."""
        return set(self.group_by) | {self.result}

    def render(self, nm: NamespaceManager | None = None) -> str:
        arg = "*" if self.arg is None else repr(self.arg)
        d = "distinct " if self.distinct else ""
        inner = " ".join(b.render(nm) for b in self.body)
        gb = " ".join(repr(v) for v in self.group_by)
        return f"{self.result!r} = {self.fn}({d}{arg}) group by ({gb}) {{{inner}}}"

    def to_dict(self) -> Any:
        return [
            "aggregate",
            self.fn,
            None if self.arg is None else self.arg.name,
            self.result.name,
            [v.name for v in self.group_by],
            [b.to_dict() for b in self.body],
            self.distinct,
        ]


BodyItem = Atom | Builtin | Bind | Not | Aggregate


@dataclass(frozen=True)
class Rule:
    """A rule ``body -> head`` (or a constraint when ``head`` is empty).

    Args:
        name: unique name within its rule set (used in profiles, derivation records, errors).
        body: atoms, tests, binds, negations and aggregates (a conjunction).
        head: atoms to derive; empty for a constraint (violations are reported, not written).
        source: where the rule was read from (file name), for error messages.
        line: 1-based line of the rule in ``source``.
    """

    name: str
    body: tuple
    head: tuple
    source: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", tuple(self.body))
        object.__setattr__(self, "head", tuple(self.head))

    @property
    def is_constraint(self) -> bool:
        """True for a rule without head (a consistency check)."""
        return not self.head

    def atoms(self) -> list[Atom]:
        """The positive body atoms, in order."""
        return [b for b in self.body if isinstance(b, Atom)]

    def variables(self) -> set[Var]:
        """Every variable of the rule (body and head, including local ones in negations)."""
        out: set[Var] = set()
        for b in self.body:
            out |= b.variables()
            if isinstance(b, Bind):
                out.add(b.var)
        for h in self.head:
            out |= h.variables()
        return out

    def bound_variables(self) -> set[Var]:
        """Variables bound positively: by atoms, binds and aggregate results/groups."""
        out: set[Var] = set()
        for b in self.body:
            if isinstance(b, Atom):
                out |= b.variables()
            elif isinstance(b, Bind):
                out.add(b.var)
            elif isinstance(b, Aggregate):
                out |= b.variables()
        return out

    def render(self, nm: NamespaceManager | None = None) -> str:
        """Jena-like text: ``[name: body -> head]``."""
        body = " ".join(b.render(nm) for b in self.body)
        head = " ".join(h.render(nm) for h in self.head)
        return f"[{self.name}: {body} -> {head}]".replace("  ", " ")

    def __str__(self) -> str:
        return self.render(_DEFAULT_NM)

    def to_dict(self) -> dict:
        """A JSON-serialisable form (terms in N3 syntax); inverse of :meth:`from_dict`."""
        return {
            "name": self.name,
            "body": [b.to_dict() for b in self.body],
            "head": [h.to_dict() for h in self.head],
            "source": self.source,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Rule:
        """Rebuild a rule written by :meth:`to_dict`."""
        return cls(
            d["name"],
            tuple(_dec_item(b) for b in d["body"]),
            tuple(_dec_item(h) for h in d["head"]),
            d.get("source"),
            d.get("line"),
        )


@dataclass(frozen=True)
class RuleSet:
    """A named program: the unit the engine runs and records.

    Example:
        >>> RuleSet("empty", ()).names()
        []
    """

    name: str
    rules: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def rule(self, name: str) -> Rule:
        """The rule called ``name``.

        Raises:
            KeyError: if there is none.
        """
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"no rule named {name!r} in rule set {self.name!r}")

    def to_dict(self) -> dict:
        return {"name": self.name, "rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, d: dict) -> RuleSet:
        return cls(d["name"], tuple(Rule.from_dict(r) for r in d["rules"]))

    @classmethod
    def of(cls, name: str, rules: Iterable[Rule]) -> RuleSet:
        return cls(name, tuple(rules))


# --- serialisation helpers --------------------------------------------------------------

_DEFAULT_NM = NamespaceManager(__import__("rdflib").Graph(), bind_namespaces="core")


def _enc(node: Any) -> Any:
    if isinstance(node, Var):
        return {"var": node.name}
    if isinstance(node, Builtin):
        return node.to_dict()
    return node.n3()


def _dec(x: Any) -> Any:
    if isinstance(x, dict):
        return Var(x["var"])
    if isinstance(x, list):
        return _dec_item(x)
    return term_from_n3(x)  # "01"^^xsd:integer stays the term written, not "1"


def _dec_item(x: list) -> Any:
    kind = x[0]
    if kind == "atom":
        return Atom(_dec(x[1]), _dec(x[2]), _dec(x[3]))
    if kind == "builtin":
        return Builtin(x[1], tuple(_dec(a) for a in x[2]))
    if kind == "bind":
        return Bind(Var(x[1]), _dec(x[2]))
    if kind == "not":
        return Not(tuple(_dec_item(b) for b in x[1]))
    if kind == "aggregate":
        return Aggregate(
            x[1],
            None if x[2] is None else Var(x[2]),
            Var(x[3]),
            tuple(Var(v) for v in x[4]),
            tuple(_dec_item(b) for b in x[5]),
            bool(x[6]),
        )
    raise ValueError(f"not a rule item: {x!r}")
