"""SPARQL queries seen for the first time: kg-engine vs pyoxigraph, and the share run as SQL.

Every query text is new to the process (the plan cache is keyed by text), so each timing is
parse + compile + execute + consume the rows — what a user of ``kg query`` or an endpoint pays.
pyoxigraph runs the same text on the same data in the same process, right after.

Queries come from a seeded generator over a small dataset (a default graph and two named
graphs; typed, non-canonical and language-tagged literals; blank nodes; a ``knows`` chain
with a cycle): basic graph patterns, OPTIONAL (first in a group, nested, inside GRAPH),
UNION, MINUS, FILTER with builtins, [NOT] EXISTS, BIND, VALUES, GRAPH ?g / GRAPH <g>,
sub-queries (also inside GRAPH ?g), aggregates with GROUP BY/HAVING, DISTINCT, ORDER BY
(incl. expressions), LIMIT/OFFSET, property paths (``/ | ^ + * ?``), ASK and CONSTRUCT.
With ``--generator differential`` the queries of :mod:`kg_engine.testing.differential`
(issue 19's differential harness) are used instead, when that module is present.

"Fully SQL" = no algebra node was evaluated by rdflib's evaluator (the query-form node of a
CONSTRUCT, which only instantiates the template, is not counted).

Targets (issue 19): median ≤ 3 ms, p99 ≤ 30 ms, none slower than 20× pyoxigraph + 20 ms,
≥ 95 % fully SQL.

Usage::

    python benchmarks/sparql_first_run.py --queries 300 --seed 1 [--db sqlite://] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from typing import Any

EX = "http://example.org/"
PREFIX = f"PREFIX ex: <{EX}> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "


# -- dataset ---------------------------------------------------------------------------------
AGES = ["21", "35", '"07"^^xsd:integer', "40", "18"]
SCORES = ["2.5", "1.0e1", '"0.50"^^xsd:decimal']


def dataset(seed: int) -> str:
    """The body of an INSERT DATA request (default graph + ex:g1, ex:g2)."""
    rng = random.Random(seed)
    people = [f"ex:p{i}" for i in range(12)]
    default: list[str] = []
    for i, p in enumerate(people):
        default.append(f"{p} a ex:Person .")
        default.append(f'{p} ex:name "{["ann", "bob", "cy", "dee"][i % 4]}{i}"'
                       f'{["", "@en", "@fr", ""][i % 4]} .')
        default.append(f"{p} ex:age {rng.choice(AGES)} .")
        default.append(f"{p} ex:knows {people[(i + 1) % len(people)]} .")
        if i % 3 == 0:
            default.append(f"{p} ex:knows {people[(i + 5) % len(people)]} .")
        if i % 2 == 0:
            default.append(f"{p} ex:worksFor ex:o{i % 3} .")
        if i % 4 == 1:
            default.append(f"{p} ex:score {rng.choice(SCORES)} .")
        if i % 5 == 2:
            default.append(f"{p} ex:address [ ex:city ex:c{i % 2} ; ex:zip \"{1000 + i}\" ] .")
    for o in range(3):
        default.append(f"ex:o{o} a ex:Org ; ex:name \"org{o}\" ; ex:founded "
                       f"\"20{10 + o}-01-0{o + 1}\"^^xsd:date .")
    default.append('ex:p0 ex:flag true . ex:p1 ex:flag "1"^^xsd:boolean . ex:p2 ex:tag "x"^^ex:custom .')
    g1 = [f"{people[i]} ex:knows {people[(i + 2) % 12]} ." for i in range(0, 12, 2)]
    g1 += [f'{people[i]} ex:label "g1-{i}" .' for i in range(4)]
    g2 = [f"{people[i]} ex:worksFor ex:o{i % 2} ." for i in range(1, 12, 3)]
    g2 += [f'{people[i]} ex:age {20 + i} .' for i in range(6)]
    return (" ".join(default) + " GRAPH ex:g1 { " + " ".join(g1) + " } GRAPH ex:g2 { "
            + " ".join(g2) + " }")


# -- query generator ----------------------------------------------------------------------------
class Generator:
    """Random, varied SPARQL 1.1 query texts over :func:`dataset` (seeded)."""

    PREDS = ["ex:knows", "ex:name", "ex:age", "ex:worksFor", "ex:score", "ex:label", "a"]
    PATHS = ["ex:knows+", "ex:knows*", "ex:knows/ex:knows", "ex:knows|ex:worksFor", "^ex:knows",
             "ex:knows?", "ex:knows/ex:name", "(ex:knows/ex:knows)+", "ex:address/ex:city"]

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def c(self, *xs: Any) -> Any:
        return self.rng.choice(xs)

    def person(self) -> str:
        return f"ex:p{self.rng.randrange(12)}"

    def triple(self, s: str = "?s", o: str | None = None) -> str:
        p = self.c(*self.PREDS)
        if o is None:
            o = "ex:Person" if p == "a" else self.c("?o", "?x", "?v")
        return f"{s} {p} {o} ."

    def filter(self) -> str:
        k = self.rng.randrange(12)
        n = self.rng.randrange(60)
        return [
            f"FILTER(?o > {n})", f'FILTER(regex(str(?o), "^{self.c("a", "b", "c", "d")}", "i"))',
            "FILTER(isIRI(?o))", 'FILTER(lang(?o) = "en")', f"FILTER(?s != ex:p{k})",
            f"FILTER(?o IN (1, 21, 35, ex:p{k}, \"ann0\"))", "FILTER(bound(?o))",
            f"FILTER(strlen(str(?o)) > {n % 6})", "FILTER(isLiteral(?o) && datatype(?o) = xsd:integer)",
            f"FILTER(contains(str(?s), \"p{k}\"))", "FILTER(!isBlank(?o))",
            "FILTER NOT EXISTS { ?o ex:knows ?s }", "FILTER EXISTS { ?s ex:worksFor ?w }",
        ][self.rng.randrange(13)]

    def group(self, depth: int = 0) -> str:
        parts = [self.triple()]
        for _ in range(self.rng.randrange(3)):
            r = self.rng.random()
            if r < 0.25:
                parts.append(self.triple(self.c("?s", "?o"), self.c("?x", "?y")))
            elif r < 0.4:
                parts.append(f"OPTIONAL {{ {self.triple('?s', self.c('?w', '?y'))} }}")
            elif r < 0.5:
                parts.append(self.filter())
            elif r < 0.58:
                parts.append(f"?s {self.c(*self.PATHS)} ?z .")
            elif r < 0.65:
                parts.append(f"BIND({self.c('str(?s)', '?o', 'strlen(str(?o))', 'ucase(str(?o))')} AS ?b)")
            elif r < 0.72:
                parts.append(f"VALUES ?s {{ {self.person()} {self.person()} }}")
            elif r < 0.78 and depth < 1:
                parts.append(f"MINUS {{ {self.group(depth + 1)} }}")
            elif r < 0.86 and depth < 1:
                parts.append(f"{{ {self.group(depth + 1)} }} UNION {{ {self.triple()} }}")
            elif r < 0.93 and depth < 1:
                g = self.c("?g", "ex:g1", "ex:g2")
                parts.append(f"GRAPH {g} {{ {self.group(depth + 1)} }}")
            elif depth < 1:
                parts.append(f"{{ SELECT ?s (COUNT(*) AS ?k) WHERE {{ ?s ex:knows ?q }} GROUP BY ?s }}")
        if self.rng.random() < 0.1:
            parts.insert(0, f"OPTIONAL {{ ?s ex:label ?l }}")
        return " ".join(parts)

    def query(self) -> str:
        self.n += 1
        kind = self.rng.random()
        tag = f"# q{self.n}\n"  # every text is new to the plan cache
        if kind < 0.08:
            return tag + PREFIX + f"ASK {{ {self.group()} }}"
        if kind < 0.15:
            return tag + PREFIX + f"CONSTRUCT {{ ?s ex:rel ?o }} WHERE {{ {self.triple()} }}"
        if kind < 0.22:
            return tag + PREFIX + (f"SELECT ?s ?z WHERE {{ {self.c(self.person(), '?s')} "
                                   f"{self.c(*self.PATHS)} ?z }}")
        if kind < 0.32:
            agg = self.c("COUNT(*)", "COUNT(DISTINCT ?o)", "SUM(?o)", "MIN(?o)", "MAX(?o)",
                         "AVG(?o)", "SAMPLE(?o)", 'GROUP_CONCAT(str(?o); separator=",")')
            having = self.c("", "HAVING(COUNT(*) > 1)")
            return tag + PREFIX + (f"SELECT ?s ({agg} AS ?a) WHERE {{ {self.group()} }} "
                                   f"GROUP BY ?s {having} ORDER BY ?s")
        if kind < 0.40:
            g = self.c("?g", "ex:g1")
            inner = self.c(f"{{ SELECT ?s WHERE {{ ?s ex:knows ?o }} LIMIT 3 }}",
                           "?s ex:knows ?o OPTIONAL { ?o ex:label ?l }",
                           "?s ?p ?o OPTIONAL { ?s ex:age ?o2 }")
            return tag + PREFIX + f"SELECT * WHERE {{ GRAPH {g} {{ {inner} }} }}"
        body = self.group()
        mod = self.c("", "DISTINCT ")
        order = self.c("", "ORDER BY ?s", "ORDER BY DESC(?o)", "ORDER BY str(?o) ?s",
                       "ORDER BY ?s LIMIT 5", "LIMIT 4 OFFSET 2")
        proj = self.c("*", "?s ?o", "?s", "?s (str(?o) AS ?t)")
        return tag + PREFIX + f"SELECT {mod}{proj} WHERE {{ {body} }} {order}"


# -- measurement --------------------------------------------------------------------------------
class FallbackMeter:
    """Records whether rdflib's evaluator handled any algebra node of the last query."""

    FORMS = {"SelectQuery", "AskQuery", "ConstructQuery", "DescribeQuery"}

    def __init__(self) -> None:
        from kg_engine.sparql import evaluation

        self.nodes: list[str] = []
        self.reasons: list[str] = []
        original = getattr(evaluation.kg_eval, "unmetered", evaluation.kg_eval)
        meter = self
        self._meter_declines()

        def counting(ctx: Any, part: Any) -> Any:
            view = evaluation.query_dataset_of(ctx)
            state = getattr(view, "state", None)
            before = len(state.fallback_nodes) if state is not None else 0
            try:
                return original(ctx, part)
            finally:
                if state is not None:
                    meter.nodes.extend(n for n in state.fallback_nodes[before:]
                                       if n not in meter.FORMS)
                    del state.fallback_nodes[before:]

        counting.unmetered = original  # type: ignore[attr-defined]
        evaluation.kg_eval = counting

    def _meter_declines(self) -> None:
        """Record why the SQL compiler declined (``CompiledQuery.declined`` of every plan
        compiled for the query: the whole query, then the sub-plans rdflib offers it)."""
        from kg_engine.sparql.compiler import hook, plan

        original = getattr(plan.compile_plan, "unmetered", plan.compile_plan)
        meter = self

        def recording(*args: Any, **kw: Any) -> Any:
            cq = original(*args, **kw)
            if not cq.full:
                meter.reasons.extend(cq.declined)
            return cq

        recording.unmetered = original  # type: ignore[attr-defined]
        plan.compile_plan = recording
        hook.compile_plan = recording


def reason_key(reason: str) -> str:
    """A decline reason with variable names, literals and numbers blanked (for counting)."""
    reason = re.sub(r"\?\w+", "?v", reason)
    reason = re.sub(r'"[^"]*"(\S*)', '"…"', reason)
    return re.sub(r"\b\d+\b", "N", reason)[:100]


def _consume(result: Any) -> int:
    if getattr(result, "type", None) == "ASK":
        return int(bool(result.askAnswer))
    return sum(1 for _ in result)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default="sqlite://")
    ap.add_argument("--postgres", action="store_true",
                    help="kg-engine on a throwaway PostgreSQL (kg_engine.testing.postgres)")
    ap.add_argument("--generator", choices=["builtin", "differential"], default="builtin")
    ap.add_argument("--timeout", type=float, default=None,
                    help="timeout= for every query (default: none)")
    ap.add_argument("--json", help="write per-query figures here")
    ap.add_argument("--show", type=int, default=8, help="print the N slowest queries")
    ap.add_argument("--reasons", action="store_true",
                    help="print why the compiler declined: queries per reason, most first")
    args = ap.parse_args(argv)

    import pyoxigraph as ox

    from kg_engine import KnowledgeGraph

    meter = FallbackMeter()
    if args.postgres:
        from kg_engine.testing.postgres import shared_server
        args.db = shared_server().new_database_url()
    kg = KnowledgeGraph(args.db)
    store = ox.Store()
    if args.generator == "differential":
        from kg_engine.testing import differential as diff

        trig = diff.make_dataset(args.seed)
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".trig", delete=False) as fh:
            fh.write(trig)
        kg.load(fh.name)
        store.load(trig.encode(), format=ox.RdfFormat.TRIG)
        os.unlink(fh.name)
        gen_d = diff.QueryGenerator(args.seed)
        texts = [f"# q{i}\n" + gen_d.query().render() for i in range(args.queries)]
    else:
        data = dataset(args.seed)
        kg.update(PREFIX + "INSERT DATA { " + data + " }")
        store.update(PREFIX + "INSERT DATA { " + data + " }")
        gen = Generator(args.seed)
        texts = [gen.query() for _ in range(args.queries)]
    kg.query("ASK { ?s ?p ?o }")  # open the store; import the SQL compiler
    store.query("ASK { ?s ?p ?o }")

    rows: list[dict[str, Any]] = []
    cpu0 = time.process_time()
    for text in texts:
        meter.nodes.clear()
        meter.reasons.clear()
        c0 = time.process_time()
        t0 = time.perf_counter()
        error = None
        try:
            n_kg = _consume(kg.query(text, timeout=args.timeout))
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            n_kg, error = -1, f"{type(exc).__name__}: {exc}"[:200]
        t_kg = time.perf_counter() - t0
        c_kg = time.process_time() - c0
        t0 = time.perf_counter()
        try:
            r = store.query(text)
            n_ox = int(bool(r)) if isinstance(r, bool) else sum(1 for _ in r)
        except Exception:  # noqa: BLE001
            n_ox = -1
        t_ox = time.perf_counter() - t0
        rows.append({"text": text, "kg_ms": t_kg * 1e3, "kg_cpu_ms": c_kg * 1e3, "ox_ms": t_ox * 1e3, "rows_kg": n_kg,
                     "rows_ox": n_ox, "fallback": sorted(set(meter.nodes)), "error": error,
                     "declined": sorted({reason_key(x) for x in meter.reasons})})
    cpu = time.process_time() - cpu0

    kg_ms = sorted(r["kg_ms"] for r in rows)
    ox_ms = sorted(r["ox_ms"] for r in rows)
    n = len(rows)
    p99 = kg_ms[min(n - 1, int(0.99 * n))]
    worst = max(rows, key=lambda r: r["kg_ms"] / (20 * r["ox_ms"] + 20))
    over = [r for r in rows if r["kg_ms"] > 20 * r["ox_ms"] + 20]
    sql_share = sum(1 for r in rows if not r["fallback"] and not r["error"]) / n
    fallback_kinds: dict[str, int] = {}
    for r in rows:
        for k in r["fallback"]:
            fallback_kinds[k] = fallback_kinds.get(k, 0) + 1
    print(f"queries {n} (generator {args.generator}, seed {args.seed}, db {args.db}); "
          f"load average {os.getloadavg()[0]:.2f}; kg-engine CPU {cpu:.2f} s in all")
    print(f"kg-engine  median {statistics.median(kg_ms):7.2f} ms  p99 {p99:7.2f} ms  "
          f"max {kg_ms[-1]:8.2f} ms  total {sum(kg_ms) / 1e3:.2f} s")
    kg_cpu = sorted(r["kg_cpu_ms"] for r in rows)
    print(f"kg-engine CPU median {statistics.median(kg_cpu):7.2f} ms  "
          f"p99 {kg_cpu[min(n - 1, int(0.99 * n))]:7.2f} ms  max {kg_cpu[-1]:8.2f} ms")
    print(f"pyoxigraph median {statistics.median(ox_ms):7.2f} ms  "
          f"p99 {ox_ms[min(n - 1, int(0.99 * n))]:7.2f} ms  max {ox_ms[-1]:8.2f} ms  "
          f"total {sum(ox_ms) / 1e3:.2f} s")
    print(f"worst kg/(20*ox+20ms) = {worst['kg_ms'] / (20 * worst['ox_ms'] + 20):.2f} "
          f"({len(over)} queries over the bound)")
    print(f"fully SQL {sql_share:.1%}; rdflib evaluated nodes: "
          + ", ".join(f"{k} {v}" for k, v in sorted(fallback_kinds.items(), key=lambda kv: -kv[1])))
    if args.reasons:
        why: dict[str, int] = {}
        for r in rows:
            if r["fallback"]:
                for k in r["declined"] or ["(no decline recorded)"]:
                    why[k] = why.get(k, 0) + 1
        print("decline reasons (queries not fully SQL that met each):")
        for k, v in sorted(why.items(), key=lambda kv: -kv[1]):
            print(f"  {v:4d}  {k}")
    errors = [r for r in rows if r["error"]]
    mismatch = [r for r in rows if not r["error"] and r["rows_ox"] >= 0
                and r["rows_kg"] != r["rows_ox"]]
    print(f"errors {len(errors)}; row-count differences vs pyoxigraph {len(mismatch)} "
          "(differential correctness is tests/sparql/differential's job)")
    for r in sorted(rows, key=lambda r: -r["kg_ms"])[:args.show]:
        flat = " ".join(r["text"].split("\n", 1)[-1].replace(PREFIX, "").split())
        print(f"  {r['kg_ms']:8.1f} ms (ox {r['ox_ms']:.2f}) {r['fallback'] or ''} {flat[:150]}")
    for r in errors[:5]:
        print("  error:", r["error"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
