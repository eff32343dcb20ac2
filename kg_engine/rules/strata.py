"""Stratification: the order in which the engine evaluates groups of rules.

A rule *depends* on another when one of the other rule's head atoms can unify with one of
its body atoms (same constants where both have constants). The dependency is *negative*
when the body atom sits inside a :class:`~kg_engine.rules.ir.Not` or an
:class:`~kg_engine.rules.ir.Aggregate`. Rules in a cycle form one recursive group; a
negative dependency inside a cycle makes the program unstratifiable.

Strata are computed on rule/atom unification rather than on predicates alone, so the
common pattern "``?x a :Person``, not ``?x a :Employee`` → ``?x a :Unemployed``" is fine
even though every atom uses ``rdf:type``.

Example:
    >>> from rdflib import URIRef, RDF
    >>> from kg_engine.rules.ir import Atom, Not, Rule, Var
    >>> x = Var("x")
    >>> P, E, U = (URIRef(f"urn:{n}") for n in "PEU")
    >>> r1 = Rule("emp", (Atom(x, URIRef("urn:worksFor"), Var("y")),), (Atom(x, RDF.type, E),))
    >>> r2 = Rule("unemp", (Atom(x, RDF.type, P), Not((Atom(x, RDF.type, E),))),
    ...           (Atom(x, RDF.type, U),))
    >>> [[r.name for r in s] for s in stratify([r2, r1])]
    [['emp'], ['unemp']]
"""

from __future__ import annotations

from collections.abc import Sequence

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Aggregate, Atom, Not, Rule, Var

__all__ = ["dependencies", "may_unify", "stratify"]


def may_unify(a: Atom, b: Atom) -> bool:
    """Whether two triple patterns can match a common triple (constants agree).

    Example:
        >>> from rdflib import URIRef
        >>> may_unify(Atom(Var("x"), URIRef("urn:p"), Var("y")), Atom(URIRef("urn:a"), Var("q"), Var("z")))
        True
    """
    for s, t in zip(a, b):
        if not isinstance(s, Var) and not isinstance(t, Var) and s != t:
            return False
    return True


def _body_atoms(rule: Rule) -> tuple[list[Atom], list[Atom]]:
    """(positive atoms, atoms under negation or aggregation)."""
    pos: list[Atom] = []
    neg: list[Atom] = []

    def visit(items: Sequence, negative: bool) -> None:
        for b in items:
            if isinstance(b, Atom):
                (neg if negative else pos).append(b)
            elif isinstance(b, (Not, Aggregate)):
                visit(b.body, True)

    visit(rule.body, False)
    return pos, neg


def dependencies(rules: Sequence[Rule]) -> dict[int, dict[int, bool]]:
    """``deps[i][j] = negative?`` when rule ``i`` reads what rule ``j`` derives."""
    bodies = [_body_atoms(r) for r in rules]
    deps: dict[int, dict[int, bool]] = {i: {} for i in range(len(rules))}
    for j, rj in enumerate(rules):
        for h in rj.head:
            for i, (pos, neg) in enumerate(bodies):
                if any(may_unify(h, b) for b in neg):
                    deps[i][j] = True
                elif j not in deps[i] and any(may_unify(h, b) for b in pos):
                    deps[i][j] = False
    return deps


def _sccs(n: int, deps: dict[int, dict[int, bool]]) -> list[list[int]]:
    """Tarjan's algorithm (iterative); components come out dependencies-first."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if root in index:
            continue
        work = [(root, iter(deps[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(deps[w])))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def stratify(rules: Sequence[Rule]) -> list[list[Rule]]:
    """Group rules into strata evaluated in order (constraints are left out).

    Args:
        rules: the program.

    Returns:
        Lists of rules; every rule reads only what its own or earlier strata derive, and
        negated/aggregated atoms only what earlier strata derive.

    Raises:
        RuleSyntaxError: if a rule negates or aggregates over something that depends on
            its own result (names the rules on the cycle and the atom).
    """
    derive = [r for r in rules if not r.is_constraint]
    n = len(derive)
    deps = dependencies(derive)
    comps = _sccs(n, deps)
    comp_of = {v: k for k, comp in enumerate(comps) for v in comp}
    level = [0] * len(comps)
    for k, comp in enumerate(comps):  # dependencies come first
        members = set(comp)
        for v in comp:
            for w, negative in deps[v].items():
                if w in members:
                    if negative:
                        _raise_cycle(derive, comp, v, w)
                    continue
                level[k] = max(level[k], level[comp_of[w]] + (1 if negative else 0))
    strata: dict[int, list[Rule]] = {}
    for k, comp in enumerate(comps):
        strata.setdefault(level[k], []).extend(derive[v] for v in comp)
    return [strata[k] for k in sorted(strata)]


def _raise_cycle(rules: Sequence[Rule], comp: list[int], v: int, w: int) -> None:
    rv, rw = rules[v], rules[w]
    _, neg = _body_atoms(rv)
    atom = next((b for b in neg for h in rw.head if may_unify(h, b)), None)
    others = ", ".join(sorted({rules[i].name for i in comp}))
    what = f" on {atom.render()}" if atom is not None else ""
    raise RuleSyntaxError(
        f"rule {rv.name!r} is not stratifiable: it negates or aggregates{what}, which rule "
        f"{rw.name!r} derives and which depends on {rv.name!r} itself (cycle: {others}); "
        "move the negation/aggregate to a rule that does not feed back into it",
        source=rv.source,
        line=rv.line,
    )
