"""Load-time checks of rule programs: safety and stratification.

Every parser (:mod:`kg_engine.rules.syntax`) runs these checks before a program reaches the
engine, so a bad rule is rejected with a message naming the rule, where it was written and the
offending variable or cycle, instead of failing later as a SQL error or a wrong answer.

* **Safety** — a rule is *safe* when every variable it uses is bound by a positive body atom
  (or by a ``Bind``/aggregate whose inputs are bound): head variables, variables of built-in
  tests and of bind expressions. Variables that occur only inside a negation are existential
  (``noValue(?x ex:p ?any)`` means "?x has no ex:p"), which is allowed.
* **Stratification** — negation and aggregation may not be recursive: what a rule negates or
  aggregates over must be fully computed before the rule runs, so it may not depend on the
  rule's own conclusions. :func:`stratify` orders the rules into strata (positive recursion
  stays inside a stratum) or raises naming the cycle.

Dependencies are computed by unifying atoms position by position (a variable unifies with
anything, two constants only when equal), so ``(?x rdf:type ex:A)`` does not depend on a
head ``(?y rdf:type ex:B)``.

Example:
    >>> from rdflib import URIRef
    >>> from kg_engine.rules.ir import Atom, Not, Rule, Var
    >>> p, q = URIRef("urn:p"), URIRef("urn:q")
    >>> x, y = Var("x"), Var("y")
    >>> ok = Rule("ok", body=(Atom(x, p, y), Not((Atom(y, q, x),))), head=(Atom(x, q, y),))
    >>> stratify([ok])
    Traceback (most recent call last):
    ...
    kg_engine.errors.RuleSyntaxError: rule 'ok': not stratifiable: rule 'ok' negates (?y <urn:q> ?x), which rule 'ok' derives, and 'ok' depends on 'ok' (recursion through negation); remove the cycle or move the negated facts to a separate rule set run first
    >>> unsafe = Rule("r", body=(Atom(x, p, x),), head=(Atom(x, q, y),))
    >>> check_rule(unsafe)
    Traceback (most recent call last):
    ...
    kg_engine.errors.RuleSyntaxError: rule 'r': variable ?y of the head is not bound by a positive body atom; bind it in the body, e.g. add a triple pattern that mentions ?y
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from kg_engine.errors import RuleSyntaxError
from kg_engine.rules.ir import Aggregate, Atom, Bind, Builtin, Not, Rule, Var, term_vars

__all__ = ["check_program", "check_rule", "dependencies", "stratify"]


def _error(rule: Rule, message: str) -> RuleSyntaxError:
    return RuleSyntaxError(f"rule {rule.name!r}: {message}", source=rule.source, line=rule.line)


def _where(rule: Rule) -> str:
    if rule.source is not None and rule.line is not None:
        return f" ({rule.source}:{rule.line})"
    if rule.line is not None:
        return f" (line {rule.line})"
    return ""


def _check_body(rule: Rule, body: Sequence, outer: set[Var], context: str) -> set[Var]:
    """Check a conjunction; return the variables it binds (given ``outer`` already bound)."""
    bound = set(outer)
    for item in body:
        if isinstance(item, Atom):
            bound |= item.variables()
    # Binds and aggregates may feed each other in any textual order: iterate to a fixpoint.
    pending = [b for b in body if isinstance(b, (Bind, Aggregate))]
    progress = True
    while pending and progress:
        progress = False
        for item in list(pending):
            if isinstance(item, Bind):
                if set(term_vars(item.expr)) <= bound:
                    if item.var in bound and item.var not in outer:
                        raise _error(
                            rule,
                            f"{context}bind target {item.var!r} is already bound by the body; "
                            "use a fresh variable for the result",
                        )
                    bound.add(item.var)
                    pending.remove(item)
                    progress = True
            else:
                inner = _check_body(rule, item.body, bound, context + "aggregate: ")
                if item.arg is not None and item.arg not in inner:
                    raise _error(
                        rule,
                        f"{context}aggregated variable {item.arg!r} of {item.fn}() is not "
                        "bound inside the aggregate body",
                    )
                missing = [v for v in item.group_by if v not in inner]
                if missing:
                    raise _error(
                        rule,
                        f"{context}group-by variable {missing[0]!r} does not occur in the "
                        "aggregate body",
                    )
                bound |= set(item.group_by) | {item.result}
                pending.remove(item)
                progress = True
    for item in pending:  # binds whose inputs never become bound
        assert isinstance(item, Bind)
        free = sorted(set(term_vars(item.expr)) - bound)
        raise _error(
            rule,
            f"{context}variable {free[0]!r} used in bind(... as {item.var!r}) is not bound by a "
            "positive body atom",
        )
    for item in body:
        if isinstance(item, Builtin):
            free = sorted(item.variables() - bound)
            if free:
                raise _error(
                    rule,
                    f"{context}variable {free[0]!r} of built-in {item.name}() is not bound by "
                    "a positive body atom; built-ins test values, they cannot produce them "
                    "(use bind for computed values)",
                )
        elif isinstance(item, Not):
            local = set(bound)
            for sub in item.body:
                if isinstance(sub, Atom):
                    local |= sub.variables()
            for sub in item.body:
                if isinstance(sub, Builtin):
                    free = sorted(sub.variables() - local)
                    if free:
                        raise _error(
                            rule,
                            f"{context}variable {free[0]!r} of built-in {sub.name}() inside a "
                            "negation is bound nowhere",
                        )
                elif isinstance(sub, (Not, Bind, Aggregate)):
                    _check_body(rule, (sub,), local, context + "negation: ")
    return bound


def check_rule(rule: Rule) -> None:
    """Raise unless ``rule`` is safe.

    Args:
        rule: the rule to check.

    Raises:
        RuleSyntaxError: naming the rule, its source line and the unbound variable.
    """
    bound = _check_body(rule, rule.body, set(), "")
    for head in rule.head:
        if not isinstance(head, Atom):
            raise _error(rule, f"a rule head may only contain triple patterns, got {head!r}")
        for v in (head.s, head.p, head.o):
            if isinstance(v, Var) and v not in bound:
                where = _only_in(rule, v)
                hint = f" (it only occurs {where})" if where else ""
                raise _error(
                    rule,
                    f"variable {v!r} of the head is not bound by a positive body atom{hint}; "
                    f"bind it in the body, e.g. add a triple pattern that mentions {v!r}",
                )
        if isinstance(head.p, Var) is False and not _is_iri(head.p):
            raise _error(rule, f"the predicate of head {head.render()} must be an IRI")
        if not isinstance(head.s, Var) and not _is_resource(head.s):
            raise _error(rule, f"the subject of head {head.render()} must be an IRI or a variable")


def _is_iri(node: object) -> bool:
    from rdflib import URIRef

    return isinstance(node, URIRef)


def _is_resource(node: object) -> bool:
    from rdflib import BNode, URIRef

    return isinstance(node, (URIRef, BNode))


def _only_in(rule: Rule, v: Var) -> str:
    for item in rule.body:
        if isinstance(item, Not) and v in item.variables():
            return "inside a negation"
        if isinstance(item, Builtin) and v in item.variables():
            return f"in built-in {item.name}()"
    return ""


# --- stratification -----------------------------------------------------------------------


def _unify(a: Atom, b: Atom) -> bool:
    for x, y in zip(a, b):
        if not isinstance(x, Var) and not isinstance(y, Var) and x != y:
            return False
    return True


def _body_atoms(items: Iterable, negative: bool) -> Iterable[tuple[Atom, bool]]:
    for item in items:
        if isinstance(item, Atom):
            yield item, negative
        elif isinstance(item, (Not, Aggregate)):
            yield from _body_atoms(item.body, True)


def _in_aggregate(items: Iterable, atom: Atom, inside: bool = False) -> bool:
    """Whether ``atom`` occurs in ``items`` inside an aggregate (not only inside a negation)."""
    for item in items:
        if item is atom or (isinstance(item, Atom) and item == atom):
            if inside:
                return True
        elif isinstance(item, (Not, Aggregate)) and _in_aggregate(
                item.body, atom, inside or isinstance(item, Aggregate)):
            return True
    return False


def dependencies(rules: Sequence[Rule]) -> dict[int, dict[int, tuple[bool, Atom]]]:
    """Rule dependency graph: ``deps[i][j] = (negative, atom)`` when rule ``i`` reads ``j``.

    Rule ``i`` depends on rule ``j`` when a body atom of ``i`` unifies with a head atom of
    ``j``; the edge is negative when that atom is inside a negation or an aggregate (then
    ``j`` must be complete before ``i`` runs). ``atom`` is the body atom of ``i`` concerned.

    Args:
        rules: the program.

    Returns:
        adjacency dict, keyed by rule index.
    """
    by_pred: dict[object, list[tuple[int, Atom]]] = defaultdict(list)
    for j, r in enumerate(rules):
        for h in r.head:
            by_pred[None if isinstance(h.p, Var) else h.p].append((j, h))
    deps: dict[int, dict[int, tuple[bool, Atom]]] = {i: {} for i in range(len(rules))}
    for i, r in enumerate(rules):
        for atom, neg in _body_atoms(r.body, False):
            if isinstance(atom.p, Var):
                candidates = [c for lst in by_pred.values() for c in lst]
            else:
                candidates = by_pred.get(atom.p, []) + by_pred.get(None, [])
            for j, h in candidates:
                if _unify(atom, h):
                    prev = deps[i].get(j)
                    if prev is None or (neg and not prev[0]):
                        deps[i][j] = (neg, atom)
    return deps


def _sccs(n: int, deps: dict[int, dict[int, tuple[bool, Atom]]]) -> list[list[int]]:
    """Tarjan's algorithm (iterative); SCCs come out dependencies-first."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
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
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(deps[w])))
                    advanced = True
                    break
                if w in on_stack:
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
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def _path(deps: dict[int, dict[int, tuple[bool, Atom]]], start: int, goal: int, allowed: set[int]) -> list[int]:
    """Shortest dependency path start -> … -> goal inside ``allowed`` (BFS)."""
    prev: dict[int, int] = {start: start}
    queue = [start]
    for v in queue:
        if v == goal:
            break
        for w in deps[v]:
            if w in allowed and w not in prev:
                prev[w] = v
                queue.append(w)
    path = [goal]
    while path[-1] != start:
        path.append(prev[path[-1]])
    return path[::-1]


def stratify(rules: Sequence[Rule]) -> list[list[Rule]]:
    """Order ``rules`` into strata: each stratum only negates/aggregates over earlier ones.

    Rules that depend on each other positively share a stratum (evaluated together to a
    fixpoint); a rule that negates or aggregates over what another rule derives lands in a
    later stratum. The number of strata is minimal. Order inside a stratum follows ``rules``.

    Args:
        rules: the program.

    Returns:
        the strata, first to run first (rules with no dependencies are in stratum 0).

    Raises:
        RuleSyntaxError: if a rule depends negatively on its own conclusions (recursion
            through negation or aggregation), naming the rules of the cycle.
    """
    rules = list(rules)
    n = len(rules)
    deps = dependencies(rules)
    comps = _sccs(n, deps)
    comp_of = {v: k for k, comp in enumerate(comps) for v in comp}
    for comp in comps:
        members = set(comp)
        for i in comp:
            for j, (neg, atom) in deps[i].items():
                if neg and j in members:
                    r, d = rules[i], rules[j]
                    cycle = _path(deps, j, i, members)
                    chain = " -> ".join(repr(rules[k].name) for k in cycle)
                    agg = _in_aggregate(r.body, atom)
                    raise _error(
                        r,
                        f"not stratifiable: rule {r.name!r}{_where(r)} "
                        f"{'aggregates over' if agg else 'negates'} "
                        f"{atom.render()}, which rule {d.name!r}{_where(d)} derives, and "
                        f"{chain} depends on {r.name!r} "
                        f"(recursion through {'aggregation' if agg else 'negation'}); "
                        f"remove the cycle or move the {'aggregated' if agg else 'negated'} "
                        "facts to a separate rule set run first",
                    )
    level: dict[int, int] = {}
    for k, comp in enumerate(comps):  # dependencies first
        lv = 0
        for i in comp:
            for j, (neg, _atom) in deps[i].items():
                kj = comp_of[j]
                if kj != k:
                    lv = max(lv, level[kj] + (1 if neg else 0))
        level[k] = lv
    if not rules:
        return []
    strata: list[list[Rule]] = [[] for _ in range(max(level.values()) + 1)]
    for i, r in enumerate(rules):
        strata[level[comp_of[i]]].append(r)
    return [s for s in strata if s]


def check_program(rules: Sequence[Rule]) -> list[list[Rule]]:
    """Check every rule for safety and the program for stratification.

    Also rejects two rules with the same name (derivation records and profiles key on it).

    Args:
        rules: the program.

    Returns:
        the strata (see :func:`stratify`).

    Raises:
        RuleSyntaxError: on the first unsafe rule, duplicate name or unstratifiable cycle.
    """
    seen: dict[str, Rule] = {}
    for r in rules:
        if r.name in seen:
            raise _error(
                r,
                f"duplicate rule name; it is already used by the rule{_where(seen[r.name])}; "
                "give every rule a unique name",
            )
        seen[r.name] = r
        check_rule(r)
    return stratify(rules)
