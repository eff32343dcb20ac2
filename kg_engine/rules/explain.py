"""Why is a triple in the store? Derivation trees rebuilt on demand.

:func:`explain` answers for any statement of the store:

* an **inferred** triple (one in an inferred graph the rule engine filled) is explained by a
  rule instance: the rule, the variable bindings and the premises — each premise explained in
  turn, down to asserted triples. Nothing but the rule name and round per inferred triple is
  stored (``kg_rules_derivations``); the premises are found again by *backward evaluation*:
  the body of the rule is run as one SQL query over the materialisation with the head's
  variables fixed to the triple.
* an **asserted** triple is a leaf carrying its source: its per-statement provenance rows
  (``store.provenance_of``: file and line, extracted sentence and span, GNN model and score)
  or, for bulk-loaded files, the load record of its graph.

Trees are well-founded: the engine records the round in which it first derived each triple,
and the premises chosen for a triple derived in round *r* are asserted or derived in rounds
before *r*, so a tree never loops and is as shallow as the evaluation that produced the
triple. When the records no longer allow that (after incremental deletes and re-derivations),
any instance whose premises are not already on the path is taken (cycle protection).

Example:
    >>> from rdflib import URIRef, RDF, RDFS
    >>> from kg_engine.store import open_store
    >>> from kg_engine.rules.engine import reason
    >>> EX = "urn:ex:"
    >>> store = open_store("sqlite://")
    >>> _ = store.add([(URIRef(EX + "Cat"), RDFS.subClassOf, URIRef(EX + "Mammal")),
    ...                (URIRef(EX + "Mammal"), RDFS.subClassOf, URIRef(EX + "Animal")),
    ...                (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Cat"))])
    >>> _ = reason(store, "rdfs")
    >>> e = explain(store, (URIRef(EX + "tom"), RDF.type, URIRef(EX + "Animal")))
    >>> e.tree.kind, len(e.tree.asserted_leaves()) >= 2
    ('inferred', True)
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import NamespaceManager

from kg_engine.core.provenance import Provenance
from kg_engine.core.terms import DEFAULT_GRAPH, check_triple
from kg_engine.errors import KgEngineError
from kg_engine.rules.ir import Atom, Rule, RuleSet, Var
from kg_engine.store import writes

__all__ = ["Derivation", "Explainer", "Explanation", "NotInStoreError", "explain", "parse_triple",
           "source_text", "sources_text"]

#: Stores whose rule tables are known to exist (checked once per store object).
_TABLES_READY: weakref.WeakSet[Any] = weakref.WeakSet()
#: Parsed programs by their JSON text: parsing, not reading, is the slow part.
_PROGRAM_CACHE: dict[str, RuleSet] = {}

#: Rule name the engine records for triples written by owl:sameAs representative rewriting.
EQ_REP = "eq-rep"
#: rules of :meth:`kg_engine.rules.sameas.SameAs._reflexive_axioms` (not in the program)
_REFLEXIVE_EQ = frozenset({"scm-cls", "scm-op", "scm-dp"})
#: Facts shown per aggregate of a rule instance (the aggregate may range over many).
_AGGREGATED_SHOWN = 20
#: Candidate trees tried for one inferred triple before settling for a non-grounded one.
_ALTERNATIVES = 8
#: Rule instances examined per explain() call before the search stops trying alternatives.
_BUDGET = 500
#: Rows of the body query examined per rule instance search (best-founded one is kept).
_CANDIDATES = 64


class NotInStoreError(KgEngineError, KeyError):
    """The triple to explain is not in the store."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


@dataclass
class Derivation:
    """One node of a derivation tree.

    Attributes:
        triple: the statement ``(s, p, o)``.
        kind: ``asserted`` (a leaf with ``sources``), ``inferred`` (``rule`` applied to
            ``premises``), ``cycle`` (the premise is already being explained higher up; only
            when the derivation records are stale) or ``unexplained`` (inferred but no rule
            instance matches any more).
        rule: name of the rule (inferred).
        round: semi-naive round that first derived the triple (inferred), 0 for asserted.
        bindings: variable name -> term of the rule instance.
        premises: the body atoms of the rule instance, each explained.
        aggregated: for a rule with an aggregate (``COUNT``…), the facts of the group it
            aggregated over (the first :data:`_AGGREGATED_SHOWN`), each explained.
        graphs: graphs that hold the triple.
        sources: provenance of an asserted triple (per-statement records, else the load
            record of its graph as ``Provenance(kind="asserted", source=file)``).
    """

    triple: tuple
    kind: str
    rule: str | None = None
    round: int | None = None
    bindings: dict[str, Any] = field(default_factory=dict)
    premises: list[Derivation] = field(default_factory=list)
    graphs: list[Any] = field(default_factory=list)
    sources: list[Provenance] = field(default_factory=list)
    aggregated: list[Derivation] = field(default_factory=list)

    def walk(self) -> Iterator[Derivation]:
        """This node and every node below it (premises, then aggregated facts), depth first."""
        yield self
        for p in self.premises:
            yield from p.walk()
        for a in self.aggregated:
            yield from a.walk()

    def asserted_leaves(self) -> list[Derivation]:
        """The asserted triples the derivation rests on."""
        return [n for n in self.walk() if n.kind == "asserted"]

    def depth(self) -> int:
        """Number of rule applications on the longest branch (0 for an asserted triple)."""
        return 0 if not self.premises else 1 + max(p.depth() for p in self.premises)

    def is_grounded(self) -> bool:
        """True when every branch ends in an asserted triple."""
        if self.kind == "asserted":
            return True
        return self.kind == "inferred" and all(p.is_grounded() for p in (*self.premises, *self.aggregated))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (terms in N3 syntax)."""
        return {
            "triple": [t.n3() for t in self.triple],
            "kind": self.kind,
            "rule": self.rule,
            "round": self.round,
            "bindings": {k: v.n3() for k, v in sorted(self.bindings.items())},
            "graphs": [g.n3() for g in self.graphs],
            "sources": [s.as_dict() for s in self.sources],
            "premises": [p.to_dict() for p in self.premises],
            "aggregated": [a.to_dict() for a in self.aggregated],
        }

    def render(self, nm: NamespaceManager | None = None, indent: str = "") -> str:
        """Readable indented text, one line per node."""
        lines: list[str] = []
        self._render(lines, nm, indent, indent)
        return "\n".join(lines)

    def _render(self, lines: list[str], nm: Any, first: str, rest: str) -> None:
        t = " ".join(_n3(x, nm) for x in self.triple)
        if self.kind == "asserted":
            src = sources_text(self.sources)
            where = ", ".join(_graph_text(g, nm) for g in self.graphs)
            lines.append(f"{first}{t}  [asserted in {where}: {src}]")
        elif self.kind == "inferred":
            note = "" if self.premises or self.aggregated else (
                "; no data premises (rule specialised to the ontology)")
            lines.append(f"{first}{t}  [rule {self.rule}, round {self.round}{note}]")
        else:
            lines.append(f"{first}{t}  [{self.kind}]")
        children = [(p, "") for p in self.premises] + [(a, "aggregated: ") for a in self.aggregated]
        for i, (p, tag) in enumerate(children):
            last = i == len(children) - 1
            p._render(lines, nm, rest + ("└─ " if last else "├─ ") + tag, rest + ("   " if last else "│  "))


@dataclass
class Explanation:
    """The answer of :func:`explain`: one or all derivation trees of a triple.

    Attributes:
        triple: the statement explained.
        trees: the derivation trees; one unless ``all_derivations`` was asked (then one per
            rule instance that derives the triple, best-founded first). An asserted triple
            has a single leaf tree.
    """

    triple: tuple
    trees: list[Derivation]

    @property
    def tree(self) -> Derivation:
        """The first (best-founded) tree."""
        return self.trees[0]

    @property
    def kind(self) -> str:
        return self.tree.kind

    def render(self, nm: NamespaceManager | None = None) -> str:
        """All trees as indented text."""
        if len(self.trees) == 1:
            return self.tree.render(nm)
        parts = []
        for i, t in enumerate(self.trees, start=1):
            parts.append(f"derivation {i} of {len(self.trees)}:\n" + t.render(nm, indent="  "))
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render(_NM)

    def to_dict(self) -> dict[str, Any]:
        return {"triple": [t.n3() for t in self.triple], "trees": [t.to_dict() for t in self.trees]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


_LOAD_RECORD = "file load record,"
#: ``detail`` of a load into the graph after the statement's write record (it may hold it too)
_LATER_LOAD = "later load record,"
#: ``agent`` of the candidate "a write an older kg-engine did not record"
_UNRECORDED = "unrecorded-write"
_NM = NamespaceManager(__import__("rdflib").Graph(), bind_namespaces="core")


def _n3(term: Any, nm: Any) -> str:
    if not hasattr(term, "n3"):
        return str(term)
    return term.n3(nm) if nm is not None else term.n3()


def _graph_text(g: Any, nm: Any) -> str:
    return "the default graph" if g == DEFAULT_GRAPH else _n3(g, nm)


def sources_text(sources: Sequence[Provenance]) -> str:
    """What the sources of an asserted statement say, as one line.

    The load records of its graph (no per-statement record) are candidates: the statement
    came from ONE of them, which is said so.

    Example:
        >>> a = Provenance(source="a.ttl", detail=_LOAD_RECORD + " 2026-01-01T00:00:00+00:00")
        >>> sources_text([a, Provenance(source="b.ttl", detail=a.detail)])
        'loaded from one of a.ttl or b.ttl'
        >>> from kg_engine.store.writes import update_record
        >>> sources_text([update_record("DELETE WHERE { ?s ?p ?o }", 0, "2026-01-02T00:00:00+00:00")])
        "written by SPARQL update at 2026-01-02T00:00:00+00:00: 'DELETE WHERE { ?s ?p ?o }'"
    """
    def candidate(s: Provenance) -> bool:
        return (s.detail or "").startswith((_LOAD_RECORD, _LATER_LOAD))

    loads = _distinct(s for s in sources if (s.detail or "").startswith(_LOAD_RECORD))
    later = _distinct(s for s in sources if (s.detail or "").startswith(_LATER_LOAD))
    parts = [source_text(s) for s in sources if not candidate(s)]
    if len(loads) == 1:
        parts.append(source_text(loads[0]))
    elif loads and all(s.agent is None for s in loads):
        parts.append("loaded from one of " + " or ".join(str(s.source) for s in loads))
    elif loads:
        parts.append("one of: " + " or ".join(source_text(s) for s in loads))
    if later:
        parts.append("possibly also in " + " or ".join(str(s.source) for s in later)
                     + ", loaded into its graph later")
    return "; ".join(parts) or "no recorded source"


def _distinct(records: Iterator[Provenance]) -> list[Provenance]:
    """Load records, one per file (a file loaded twice is one candidate), first kept; the
    records of Graph Store writes all kept."""
    out: list[Provenance] = []
    seen: set[str] = set()
    for p in records:
        if p.agent is None and str(p.source) in seen:
            continue
        seen.add(str(p.source))
        out.append(p)
    return out


def source_text(p: Provenance) -> str:
    """One source of an asserted statement, as text (see :func:`sources_text`)."""
    written = writes.describe(p)
    if written is not None:
        return written
    if (p.detail or "").startswith(_LOAD_RECORD):
        at = p.detail[len(_LOAD_RECORD):].strip()  # type: ignore[index]
        if p.agent == writes.GRAPH_STORE:
            return f"written by a {p.source} at {at}"
        if p.agent == _UNRECORDED:
            return ("written by an update or add that this store, created by an older "
                    "kg-engine, did not record")
        return f"loaded from {p.source}"
    return _source_text(p)


def _source_text(p: Provenance) -> str:
    parts = [p.kind]
    if p.source:
        parts.append(str(p.source))
    if p.sentence is not None:
        parts.append(f"sentence {p.sentence}")
    if p.start is not None and p.end is not None:
        parts.append(f"chars {p.start}-{p.end}")
    if p.agent:
        parts.append(f"by {p.agent}" + (f" {p.version}" if p.version else ""))
    if p.confidence is not None:
        parts.append(f"confidence {p.confidence:.3g}")
    if p.text:
        txt = p.text if len(p.text) <= 80 else p.text[:77] + "..."
        parts.append(repr(txt))
    return " ".join(parts)


class Explainer:
    """Explains triples of one store; caches programs and term lookups between calls.

    Args:
        store: an open :class:`~kg_engine.store.SQLStore`.

    Example:
        >>> from kg_engine.store import open_store
        >>> Explainer(open_store("sqlite://")).inferred_graphs
        {}
    """

    def __init__(self, store: Any) -> None:
        from kg_engine.rules import tables

        self.store = store
        self.db = store.db
        if store.dialect == "sqlite":  # rule bodies with regex() call it
            from kg_engine.rules import floats as rule_floats
            from kg_engine.rules import regex as rule_regex

            rule_regex.register(self.db.raw)
            rule_floats.register(self.db.raw)
        # a read-only store that was never reasoned over has no rule tables: nothing inferred
        reasoned = not getattr(store, "readonly", False) or store.has_table("kg_rules_programs")
        if store not in _TABLES_READY and reasoned:
            tables.create_tables(store)
            _TABLES_READY.add(store)
        self._programs: dict[int, RuleSet | None] = {}
        #: inferred graph id -> name of the program that fills it
        self.inferred_graphs: dict[int, str] = {
            int(gid): name for gid, name in self.db.fetchall("SELECT g, name FROM kg_rules_programs")
        } if reasoned else {}
        # a triple in several inferred graphs (an earlier rule set's graph stays in the store)
        # is explained by the reasoning profile's, whose graph answers queries
        profile = getattr(store, "reasoning", None)
        self._profile_graph: int | None = (store.term_ids([URIRef(profile.graph)]).get(
            URIRef(profile.graph)) if profile is not None else None)
        self._status_cache: dict[tuple[int, int, int], tuple] = {}
        self._equalities: dict[int, bool] = {}
        #: (graph, smallest member, size) of an equivalence class -> its sameAs edges, ranked
        self._eq_edges: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}
        self._budget = _BUDGET
        self._terms: dict[int, Any] = {}

    # -- lookups ---------------------------------------------------------------------------
    def _program(self, gid: int | None) -> RuleSet | None:
        """The program that fills inferred graph ``gid`` (parsed once, on first use)."""
        if gid is None or gid not in self.inferred_graphs:
            return None
        if gid not in self._programs:
            row = self.db.fetchone("SELECT program FROM kg_rules_programs WHERE g = ?", (gid,))
            if row is None:
                self._programs[gid] = None
            else:
                text = str(row[0])
                program = _PROGRAM_CACHE.get(text)
                if program is None:
                    program = RuleSet.from_dict(json.loads(text))
                    if len(_PROGRAM_CACHE) > 32:
                        _PROGRAM_CACHE.clear()
                    _PROGRAM_CACHE[text] = program
                self._programs[gid] = program
        return self._programs[gid]

    def _decode(self, ids: Sequence[int]) -> list[Any]:
        missing = {i for i in ids if i not in self._terms}
        if missing:
            self._terms.update(self.store.decode(missing))
        return [self._terms[i] for i in ids]

    def _status(self, key: tuple[int, int, int]) -> tuple[list[int], list[int], int | None, str | None, int | None]:
        """(asserted graph ids, inferred graph ids, round, rule, inferred gid) of a triple."""
        hit = self._status_cache.get(key)
        if hit is None:
            hit = self._status_cache[key] = self._status_query(key)
        return hit

    def _status_query(self, key: tuple[int, int, int]) -> tuple[list[int], list[int], int | None, str | None, int | None]:
        rows = self.db.fetchall("SELECT g FROM kg_quads WHERE s = ? AND p = ? AND o = ?", key)
        asserted, inferred = [], []
        for (g,) in rows:
            (inferred if int(g) in self.inferred_graphs else asserted).append(int(g))
        rnd = rule = gid = None
        inferred.sort(key=lambda g: g != self._profile_graph)
        if inferred:  # asserted too (in a named graph, or since the run): still derived
            for g in inferred:
                row = self.db.fetchone(
                    "SELECT rule, round FROM kg_rules_derivations WHERE s = ? AND p = ? AND o = ? AND g = ?",
                    (*key, g),
                )
                if row is not None:
                    rule, rnd, gid = row[0], int(row[1]), g
                    break
            if gid is None:
                gid = inferred[0]
        return asserted, inferred, rnd, rule, gid

    def _rank(self, key: tuple[int, int, int]) -> int | None:
        """0 for asserted, the derivation round for inferred, None if absent."""
        asserted, inferred, rnd, _rule, _gid = self._status(key)
        if asserted:
            return 0
        if inferred:
            return rnd if rnd is not None else 10**9
        return None

    # -- backward evaluation ------------------------------------------------------------------
    def _instances(self, rule: Rule, head: Atom, key: tuple[int, int, int], limit: int) -> list[dict[Var, int]]:
        """Body solutions of ``rule`` whose ``head`` instance is the triple ``key``."""
        from kg_engine.rules.sqlgen import (
            ConstantIds,
            Unsatisfiable,
            compile_body,
            hidden_graph_ids,
        )

        fixed: dict[Var, int] = {}
        for t, v in zip(head, key):
            if isinstance(t, Var):
                if t in fixed and fixed[t] != v:
                    return []
                fixed[t] = v
        consts = _constants(rule)
        ids = self.store.term_ids(consts) if consts else {}
        # Constants of the head must be the triple's own terms.
        for t, v in zip(head, key):
            if not isinstance(t, Var) and ids.get(t) != v:
                return []
        try:
            # premises are asserted or inferred, never predicted (as in the engine)
            q = compile_body(rule, ConstantIds(ids, hidden_graph_ids(self.store.db)), self.store.dialect)
        except Unsatisfiable:
            return []
        from kg_engine.rules.sqlgen import _Frag  # the WHERE fragment type of BodyQuery

        computed: dict[Var, int] = {}
        for v, val in fixed.items():
            if v in q.cols:
                q.where.append(_Frag(f"{q.cols[v]} = ?", [val]))
            elif v in q.values:
                computed[v] = val
            else:
                return []
        names = sorted(q.cols, key=lambda v: v.name)
        exprs = [(q.cols[v], "id", []) for v in names]
        extra = sorted(q.values, key=lambda v: v.name)
        exprs += [q.values[v] for v in extra]
        if not exprs:
            exprs = [("1", "num", [])]
        sql, params = q.select(exprs, distinct=True)
        from kg_engine.rules import regex as rule_regex

        with rule_regex.guard(rule.name):
            rows = self.db.fetchall(sql + f" LIMIT {int(limit) if not computed else 100000}", params)
        out: list[dict[Var, Any]] = []
        for row in rows:
            b: dict[Var, Any] = {v: int(row[i]) for i, v in enumerate(names)}
            ok = True
            for j, v in enumerate(extra):
                raw = row[len(names) + j]
                if v in computed:
                    (term,) = self._decode([computed[v]])
                    if not _same_value(raw, term):
                        ok = False
                        break
                    b[v] = term
                elif raw is not None:
                    b[v] = _value_literal(raw, q.values[v][1])
            if ok:
                out.append(b)
                if len(out) >= limit:
                    break
        return out

    def _premises(self, rule: Rule, b: dict[Var, int]) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        ids = None
        for atom in rule.atoms():
            key = []
            for t in atom:
                if isinstance(t, Var):
                    key.append(b[t])
                else:
                    if ids is None:
                        ids = self.store.term_ids(_constants(rule))
                    key.append(ids[t])
            k = (key[0], key[1], key[2])
            if k not in out:
                out.append(k)
        return out

    def _candidates(self, program: RuleSet, rule_name: str | None, key: tuple[int, int, int], all_rules: bool) -> list[Rule]:
        rules: list[Rule] = []
        if rule_name is not None:
            try:
                rules.append(program.rule(rule_name))
            except KeyError:
                pass
        if all_rules or not rules:
            terms = self._decode(list(key))
            for r in program.rules:
                if r in rules:
                    continue
                for h in r.head:
                    if all(isinstance(a, Var) or a == t for a, t in zip(h, terms)):
                        rules.append(r)
                        break
        return rules

    def _instances_ranked(
        self,
        rules: list[Rule],
        key: tuple[int, int, int],
        bound: int | None,
        path: set,
        limit: int,
        first: bool = False,
    ) -> list[tuple[int, Rule, dict[Var, int], list[tuple[int, int, int]]]]:
        """Rule instances deriving ``key``: (max premise rank, rule, bindings, premises).

        Instances whose premises rank below ``bound`` (well-founded) come first; instances
        with a premise on ``path`` or missing from the store are dropped. With ``first``,
        the search stops at the first well-founded instance.
        """
        found = []
        for rule in rules:
            terms = self._decode(list(key))
            for head in rule.head:
                if not all(isinstance(a, Var) or a == t for a, t in zip(head, terms)):
                    continue
                for b in self._instances(rule, head, key, limit):
                    prem = self._premises(rule, b)
                    if any(p in path for p in prem) or key in prem:
                        continue
                    ranks = [self._rank(p) for p in prem]
                    if any(r is None for r in ranks):
                        continue
                    worst = max((r for r in ranks if r is not None), default=0)
                    found.append((worst, rule, b, prem))
                    if first and bound is not None and worst < bound:
                        return [found[-1]]
        found.sort(key=lambda f: (0 if bound is None or f[0] < bound else 1, f[0]))
        return found

    # -- trees ---------------------------------------------------------------------------
    def _node(self, key: tuple[int, int, int], path: set, memo: dict) -> Derivation:
        if key in memo:
            return memo[key]
        terms = tuple(self._decode(list(key)))
        asserted, inferred, rnd, rule_name, gid = self._status(key)
        if asserted:
            node = self._asserted(terms, asserted)
            memo[key] = node
            return node
        graphs = self._decode(inferred)
        if key in path:
            return Derivation(terms, "cycle", graphs=graphs)
        program = self._program(gid)
        if program is None:
            return Derivation(terms, "unexplained", graphs=graphs)
        path = path | {key}
        fallback: Derivation | None = None
        for node in self._alternatives(key, terms, rnd, rule_name, gid, program, graphs, path, memo):
            if node.is_grounded():
                memo[key] = node
                return node
            if fallback is None:
                fallback = node
        node = fallback or Derivation(terms, "unexplained", rule=rule_name, round=rnd, graphs=graphs)
        # A failure is remembered too (even though another path might have allowed other
        # premises): this keeps the search linear in the number of triples visited.
        memo[key] = node
        return node

    def _alternatives(self, key, terms, rnd, rule_name, gid, program, graphs, path, memo) -> Iterator[Derivation]:
        """Candidate trees for an inferred triple, most likely grounded first.

        The recorded rule's first well-founded instance comes first (the usual case, one
        query); only if its tree does not reach asserted triples are further instances, other
        rules and equality rewriting tried (at most :data:`_ALTERNATIVES` trees).
        """
        tried = 0
        seen: set = set()

        def eq_rep() -> Iterator[Derivation]:
            self._budget -= 1
            prem = self._eq_rep_premises(key, gid, path)
            if prem is not None and tuple(prem) not in seen:
                seen.add(tuple(prem))
                yield Derivation(terms, "inferred", rule=EQ_REP, round=rnd, graphs=graphs,
                                 premises=[self._node(k, path, memo) for k in prem])

        if rule_name == EQ_REP:
            yield from eq_rep()
        if rule_name in _REFLEXIVE_EQ:
            prem = self._reflexive_eq_premises(key, gid, rule_name, path)
            if prem is not None:
                yield Derivation(terms, "inferred", rule=rule_name, round=rnd, graphs=graphs,
                                 premises=[self._node(k, path, memo) for k in prem])
        rules = self._candidates(program, rule_name, key, all_rules=False)
        for first in (True, False):
            if first is False:
                rules = self._candidates(program, rule_name, key, all_rules=True)
            if first is False and self._budget <= 0:
                break
            for _worst, rule, b, prem in self._instances_ranked(rules, key, rnd, path, _CANDIDATES, first=first):
                if (rule.name, tuple(prem)) in seen:
                    continue
                seen.add((rule.name, tuple(prem)))
                yield self._inferred(terms, rule, b, prem, rnd, graphs, path, memo)
                tried += 1
                self._budget -= 1
                if tried >= _ALTERNATIVES or self._budget <= 0:
                    return
        if rule_name != EQ_REP and self._budget > 0 and self._has_equalities(gid):
            yield from eq_rep()

    def _has_equalities(self, gid: int | None) -> bool:
        if gid is None:
            return False
        if gid not in self._equalities:
            row = self.db.fetchone("SELECT 1 FROM kg_rules_sameas WHERE g = ? LIMIT 1", (gid,))
            self._equalities[gid] = row is not None
        return self._equalities[gid]

    # -- owl:sameAs (representative rewriting, rule "eq-rep") -------------------------------
    def _class_of(self, term_id: int, gid: int) -> set[int]:
        row = self.db.fetchone("SELECT rep FROM kg_rules_sameas WHERE g = ? AND id = ?", (gid, term_id))
        rep = int(row[0]) if row else term_id
        members = {int(r[0]) for r in self.db.fetchall(
            "SELECT id FROM kg_rules_sameas WHERE g = ? AND rep = ?", (gid, rep))}
        return members | {rep, term_id}

    def _same_as_id(self) -> int | None:
        from rdflib.namespace import OWL

        return self.store.term_ids([OWL.sameAs]).get(OWL.sameAs)

    def _equality_path(self, a: int, b: int, gid: int, path: set, avoid: tuple | None = None) -> list | None:
        """sameAs triples linking ``a`` to ``b``: of the paths whose latest edge (asserted 0,
        else its derivation round) is earliest, the shortest. (Shortest with asserted edges
        preferred once took a derived link when an asserted chain existed, and the tree of
        the derived link led back to the statement explained: ``unexplained``.)"""
        sid = self._same_as_id()
        if sid is None or a == b:
            return [] if a == b else None
        cls = sorted(self._class_of(a, gid))
        edges = self._eq_edges.get((gid, cls[0], len(cls)))
        if edges is None:
            marks = ",".join("?" * len(cls))
            edges = self._eq_edges[(gid, cls[0], len(cls))] = [
                (int(r[0]), int(r[1]), self._rank((int(r[0]), sid, int(r[1]))) or 0) for r in self.db.fetchall(
                    f"SELECT DISTINCT s, o FROM kg_quads WHERE p = ? AND s IN ({marks})", (sid, *cls))]
        for bound in sorted({r for _s, _o, r in edges}):
            adj: dict[int, list[tuple[int, tuple]]] = {}
            for s_, o_, rank in edges:
                k = (s_, sid, o_)
                if rank > bound or k in path or k == avoid:
                    continue
                adj.setdefault(s_, []).append((o_, k))
                adj.setdefault(o_, []).append((s_, k))
            prev: dict[int, tuple[int, tuple] | None] = {a: None}
            queue = [a]
            for v in queue:
                if v == b:
                    break
                for w, k in adj.get(v, []):
                    if w not in prev:
                        prev[w] = (v, k)
                        queue.append(w)
            if b in prev:
                out = []
                v = b
                while prev[v] is not None:
                    v, k = prev[v]  # type: ignore[misc]
                    out.append(k)
                return out[::-1]
        return None

    def _reflexive_eq_premises(self, key: tuple[int, int, int], gid: int, rule: str, path: set) -> list | None:
        """Premises of ``C1 rdfs:subClassOf C2`` (…) between two members of an equivalence
        class (:meth:`SameAs._reflexive_axioms`): a member's declaration and the sameAs chain."""
        from rdflib.namespace import OWL, RDF

        decl = {"scm-cls": OWL.Class, "scm-op": OWL.ObjectProperty, "scm-dp": OWL.DatatypeProperty}[rule]
        ids = self.store.term_ids([RDF.type, decl])
        if len(ids) < 2:
            return None
        cls = sorted(self._class_of(key[0], gid))
        marks = ",".join("?" * len(cls))
        rows = self.db.fetchall(
            f"SELECT DISTINCT s FROM kg_quads WHERE p = ? AND o = ? AND s IN ({marks})",
            (ids[RDF.type], ids[decl], *cls),
        )
        best = min(((self._rank(k), k) for k in ((int(r[0]), ids[RDF.type], ids[decl]) for r in rows)
                    if k not in path and self._rank(k) is not None), default=None)
        link = self._equality_path(key[0], key[2], gid, path | {key})
        if best is None or link is None:
            return None
        return [best[1], *link]

    def _eq_rep_premises(self, key: tuple[int, int, int], gid: int, path: set) -> list | None:
        """Premises of a triple written by equality reasoning: the fact it is a variant of
        and the sameAs links between the differing terms (or, for a sameAs triple, a chain
        of sameAs triples)."""
        sid = self._same_as_id()
        s, p, o = key
        if p == sid:
            return self._equality_path(s, o, gid, path, avoid=key)
        classes = [sorted(self._class_of(t, gid)) for t in key]
        where = " AND ".join(f"{c} IN ({','.join('?' * len(m))})" for c, m in zip("spo", classes))
        rows = self.db.fetchall(
            f"SELECT DISTINCT s, p, o FROM kg_quads WHERE {where} LIMIT 200",
            [i for m in classes for i in m],
        )
        sources = []
        for r in rows:
            k = (int(r[0]), int(r[1]), int(r[2]))
            rank = self._rank(k) if k != key and k not in path else None
            if rank is not None:
                sources.append((rank, k))
        # the variant whose premises (the fact and the links) were all derived earliest: the
        # earliest fact alone may need a link derived from the statement explained
        best: tuple | None = None
        for rank, source in sorted(sources)[:_CANDIDATES]:
            if best is not None and rank >= best[0][0]:
                break
            prem: list | None = [source]
            for mine, theirs in zip(key, source):
                if mine != theirs:
                    link = self._equality_path(mine, theirs, gid, path | {key})
                    if link is None:
                        prem = None
                        break
                    prem += [k for k in link if k not in prem]  # type: ignore[operator]
            if prem is not None:
                worst = max(self._rank(k) or 0 for k in prem)
                if best is None or (worst, len(prem)) < best[0]:
                    best = ((worst, len(prem)), prem)
        return None if best is None else best[1]

    def _inferred(self, terms, rule, b, prem, rnd, graphs, path, memo) -> Derivation:
        names = sorted((v for v in b if isinstance(b[v], int)), key=lambda v: v.name)
        vals = self._decode([b[v] for v in names])
        bindings = {v.name: t for v, t in zip(names, vals)}
        bindings.update({v.name: t for v, t in b.items() if not isinstance(t, int)})
        bindings = {k: t for k, t in bindings.items() if not k.startswith("_")}
        premises = [self._node(p, path, memo) for p in prem]
        aggregated = [self._node(k, path, memo) for k in self._aggregated(rule, b) if k not in path]
        return Derivation(terms, "inferred", rule=rule.name, round=rnd, bindings=bindings,
                          premises=premises, graphs=graphs, aggregated=aggregated)

    def _aggregated(self, rule: Rule, b: dict[Var, Any]) -> list[tuple[int, int, int]]:
        """Facts of the groups the rule instance's aggregates ranged over."""
        from kg_engine.rules.ir import Aggregate
        from kg_engine.rules.sqlgen import (
            ConstantIds,
            Unsatisfiable,
            _Frag,
            compile_body,
            hidden_graph_ids,
        )

        out: list[tuple[int, int, int]] = []
        for item in rule.body:
            if not isinstance(item, Aggregate):
                continue
            sub = Rule(f"{rule.name}/aggregate", tuple(item.body), ())
            consts = _constants(sub)
            ids = self.store.term_ids(consts) if consts else {}
            try:
                q = compile_body(sub, ConstantIds(ids, hidden_graph_ids(self.store.db)), self.store.dialect)
            except Unsatisfiable:
                continue
            for v in item.group_by:
                if isinstance(b.get(v), int) and v in q.cols:
                    q.where.append(_Frag(f"{q.cols[v]} = ?", [b[v]]))
            names = sorted(q.cols, key=lambda v: v.name)
            if not names:
                continue
            sql, params = q.select([(q.cols[v], "id", []) for v in names], distinct=True)
            for row in self.db.fetchall(sql + f" LIMIT {_AGGREGATED_SHOWN}", params):
                sb = {v: int(row[i]) for i, v in enumerate(names)}
                for k in self._premises(sub, sb):
                    if k not in out:
                        out.append(k)
        return out

    def _asserted(self, terms: tuple, gids: list[int]) -> Derivation:
        graphs = self._decode(gids)
        sources: list[Provenance] = []
        for g in graphs:
            sources.extend(self.store.provenance_of((*terms, g)))
        written = [writes.loads_before(s) for s in sources if writes.is_write(s)]
        if not sources:
            # Bulk loads are recorded per file and graph, not per statement: the triple came
            # from one of the files loaded into its graph (since it was last emptied) — or,
            # in a store made by an older kg-engine, from a write it did not record.
            for g in graphs:
                for rec in self.store.loads(g):
                    sources.append(Provenance(
                        kind="asserted", source=rec["source"],
                        agent=rec["format"] if rec["format"] == writes.GRAPH_STORE else None,
                        detail=f"{_LOAD_RECORD} {rec['loaded_at']}"))
            if self.store.meta(writes.RECORDED_KEY) is None:
                sources.append(Provenance(kind="asserted", agent=_UNRECORDED,
                                          detail=f"{_LOAD_RECORD} unrecorded"))
        elif written:
            # written by an update or add; a file loaded into its graph since may hold it too
            first = min(written)
            for g in graphs:
                for rec in self.store.loads(g):
                    if rec["id"] > first:
                        sources.append(Provenance(kind="asserted", source=rec["source"],
                                                  detail=f"{_LATER_LOAD} {rec['loaded_at']}"))
        seen, uniq = set(), []
        for s in sources:
            if s not in seen:
                seen.add(s)
                uniq.append(s)
        return Derivation(terms, "asserted", round=0, graphs=graphs, sources=uniq)

    def explain(self, triple: tuple, all_derivations: bool = False) -> Explanation:
        """See :func:`explain`."""
        s, p, o = triple[:3]
        check_triple(s, p, o)
        self._status_cache.clear()  # the store may have changed since the last call
        self._equalities.clear()
        self._eq_edges.clear()
        self._budget = _BUDGET
        ids = self.store.term_ids([s, p, o])
        if len(ids) < len({s, p, o}):
            raise _not_in_store(s, p, o)
        key = (ids[s], ids[p], ids[o])
        asserted, inferred, rnd, rule_name, gid = self._status(key)
        if not asserted and not inferred:
            raise _not_in_store(s, p, o)
        memo: dict = {}
        program = self._program(gid)
        terms = (s, p, o)
        if asserted and inferred and program is not None:
            # asserted (in a named graph, say) and derived by a rule too: both answers, the
            # source first, then the rule's well-founded derivation(s) not using the statement
            derived = (self._derivations(key, terms, rnd, rule_name, gid, program, inferred, memo)
                       if all_derivations else [self._derived(key, terms, rnd, rule_name, gid, program, inferred, memo)])
            return Explanation(terms, [self._asserted(terms, asserted),
                                       *(t for t in derived if t is not None and t.is_grounded())])
        if not all_derivations or asserted or program is None:
            return Explanation(terms, [self._node(key, set(), memo)])
        return Explanation(terms, self._derivations(key, terms, rnd, rule_name, gid, program, inferred, memo))

    def _derived(self, key: tuple[int, int, int], terms: tuple, rnd: int | None, rule_name: str | None,
                 gid: int | None, program: Any, inferred: list[int], memo: dict) -> Derivation | None:
        """The first well-founded derivation of an inferred statement that is asserted too
        (``_node`` stops at the assertion), None if none is found."""
        for node in self._alternatives(key, terms, rnd, rule_name, gid, program, self._decode(inferred),
                                       {key}, memo):
            if node.is_grounded():
                return node
        return None

    def _derivations(self, key: tuple[int, int, int], terms: tuple, rnd: int | None, rule_name: str | None,
                     gid: int | None, program: Any, inferred: list[int], memo: dict) -> list[Derivation]:
        """Every well-founded derivation of an inferred statement (``all_derivations``)."""
        rules = self._candidates(program, rule_name, key, all_rules=True)
        ranked = self._instances_ranked(rules, key, rnd, {key}, 100000)
        graphs = self._decode(inferred)
        trees = [
            self._inferred(terms, rule, b, prem, rnd, graphs, {key}, memo)
            for _w, rule, b, prem in ranked
        ]
        # derivations that are not instances of a program rule: owl:sameAs rewriting (the
        # copy of a member's fact) and the reflexive axioms of an equivalence class; the
        # recorded one first (all_derivations once answered `unexplained` for such a triple)
        eq: list[Derivation] = []
        if rule_name in _REFLEXIVE_EQ:
            prem = self._reflexive_eq_premises(key, gid, rule_name, {key})
            if prem is not None:
                eq.append(Derivation(terms, "inferred", rule=rule_name, round=rnd, graphs=graphs,
                                     premises=[self._node(k, {key}, memo) for k in prem]))
        if rule_name == EQ_REP or self._has_equalities(gid):
            prem = self._eq_rep_premises(key, gid, {key})
            if prem is not None:
                eq.append(Derivation(terms, "inferred", rule=EQ_REP, round=rnd, graphs=graphs,
                                     premises=[self._node(k, {key}, memo) for k in prem]))
        trees = eq + trees if rule_name in (EQ_REP, *_REFLEXIVE_EQ) else trees + eq
        # only well-founded trees: an instance whose premise follows only from the triple
        # itself (`_:b equivalentClass C` from `_:b subClassOf C` and back) is no derivation
        # (it was listed with that premise `unexplained`)
        grounded = [t for t in trees if t.is_grounded()]
        trees = grounded or trees
        if not trees:
            trees = [Derivation(terms, "unexplained", rule=rule_name, round=rnd, graphs=graphs)]
        return trees


def _constants(rule: Rule) -> list[Any]:
    from kg_engine.rules.ir import Aggregate, Bind, Builtin, Not

    out: set[Any] = set()

    def node(n: Any) -> None:
        if isinstance(n, Builtin):
            for a in n.args:
                node(a)
        elif isinstance(n, (URIRef, BNode, Literal)):
            out.add(n)

    def items(xs: Sequence[Any]) -> None:
        for b in xs:
            if isinstance(b, Atom):
                for t in b:
                    node(t)
            elif isinstance(b, Builtin):
                node(b)
            elif isinstance(b, Bind):
                node(b.expr)
            elif isinstance(b, (Not, Aggregate)):
                items(b.body)

    items(rule.body)
    for h in rule.head:
        for t in h:
            node(t)
    return list(out)


def _value_literal(value: Any, kind: str) -> Literal:
    """An SQL-computed value (``num``/``dtm``/``str``) as the literal the engine writes."""
    from kg_engine.rules.engine import _value_literal as engine_value_literal

    return engine_value_literal(value, kind)


def _same_value(value: Any, term: Any) -> bool:
    """Whether the computed ``value`` is the value of the stored literal ``term`` (its
    ``num`` as the store reads it: an ill-typed literal such as ``"300"^^xsd:byte`` has
    none, where rdflib's ``toPython()`` gives 300)."""
    if isinstance(term, Literal):
        from kg_engine.store.terms import typed_values

        num = typed_values(str(term), str(term.datatype) if term.datatype else None)[0]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return num is not None and float(value) == num
        return str(value) == str(term)
    return False


def explain(store: Any, triple: tuple, all_derivations: bool = False) -> Explanation:
    """Explain why ``triple`` is in ``store``.

    Args:
        store: an open :class:`~kg_engine.store.SQLStore` (materialised by the rule engine
            for inferred triples).
        triple: ``(s, p, o)`` of rdflib terms (a quad's graph is ignored).
        all_derivations: for an inferred triple, return one tree per rule instance (or
            ``owl:sameAs`` rewriting) that derives it well-founded (premises of each
            explained by their best tree) instead of one.

    Returns:
        An :class:`Explanation`; ``str()`` renders it as an indented tree.

    Raises:
        NotInStoreError: if the triple is in no graph of the store.
        ValueError: if ``triple`` is not a valid RDF triple.
    """
    return Explainer(store).explain(triple, all_derivations=all_derivations)


_TRIPLE_PREFIXES = (
    "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
)


def parse_triple(text: str, prefixes: dict[str, str] | None = None) -> tuple:
    """Read one triple written N-Triples-style: ``<s> <p> "o"@en`` (final ``.`` optional).

    Prefixed names with ``rdf: rdfs: owl: xsd:`` (and ``prefixes``) and ``a`` are accepted too.
    A blank node is named by its label in the store (``_:b1f…_x``, as ``kg query`` prints it);
    ``[ ]`` names none.

    Args:
        text: the triple.
        prefixes: extra prefix -> namespace IRI.

    Returns:
        ``(s, p, o)`` rdflib terms.

    Raises:
        RDFSyntaxError: if ``text`` is not exactly one triple.

    Example:
        >>> parse_triple('<urn:a> rdf:type <urn:C>')[1]
        rdflib.term.URIRef('http://www.w3.org/1999/02/22-rdf-syntax-ns#type')
        >>> parse_triple('_:b7_x a <urn:C>')[0]
        rdflib.term.BNode('b7_x')
    """
    from kg_engine.errors import RDFSyntaxError
    from kg_engine.store.turtle import parse_terms

    head = _TRIPLE_PREFIXES + "".join(f"@prefix {k}: <{v}> .\n" for k, v in (prefixes or {}).items())
    body = text.strip()
    if not body.endswith("."):
        body += " ."
    try:  # kg-engine's strict parser: the literal as written ("01" stays "01", as stored)
        quads = parse_terms(head + body, "<triple>", keep_labels=True)
    except RDFSyntaxError as e:
        msg = str(e).split(": ", 1)[-1]
        raise RDFSyntaxError(
            f"expected one triple such as '<http://ex.org/s> <http://ex.org/p> \"o\"', got {text!r} ({msg})",
            source="<triple>",
        ) from None
    triples = [q[:3] for q in quads]
    if len(triples) != 1:
        raise RDFSyntaxError(
            f"expected exactly one triple, got {len(triples)} in {text!r}", source="<triple>"
        )
    return _check_parsed(triples[0], text)


def _not_in_store(s: Any, p: Any, o: Any) -> NotInStoreError:
    hint = "" if not any(isinstance(t, BNode) for t in (s, o)) else (
        " (a blank node is named by its label in the store, as kg query prints it; a file's "
        "own labels are not kept: each load's blank nodes are new ones)")
    return NotInStoreError(f"{s.n3()} {p.n3()} {o.n3()} is not in the store{hint}")


def _check_parsed(triple: tuple, text: str) -> tuple:
    from kg_engine.errors import RDFSyntaxError, TermError

    try:
        check_triple(*triple)
    except TermError as exc:
        raise RDFSyntaxError(f"{exc} in {text!r}", source="<triple>") from None
    if any(isinstance(t, BNode) and str(t).startswith("-") for t in triple):
        raise RDFSyntaxError(
            f"an anonymous blank node ([ ] or a list) in {text!r} names no node of the store: "
            "name it by the label kg query prints, e.g. _:b1f…_x", source="<triple>")
    return triple
