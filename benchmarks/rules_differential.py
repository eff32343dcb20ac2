"""Rules differential run: generated ontologies + data, kg-engine against owlrl and itself.

Regimes (:mod:`kg_engine.testing.rulesdiff`):

* ``rdfs`` / ``owl-rl``: kg-engine's closure against owlrl 7's ``RDFS_Semantics`` /
  ``OWLRL_Semantics`` modulo the differences documented in ``docs/rules.md``, and the
  constraint rules each side finds violated;
* ``owl-rl-ext``: the same over a wider OWL 2 RL vocabulary (data ranges, literal
  ``hasValue`` and keys, chains of 3–4 properties, nested ``intersectionOf``/``unionOf``,
  sameAs chains with (inverse-)functional properties, ``differentFrom``, ``AllDifferent``,
  ``AllDisjointClasses``/``Properties`` and the other inconsistency axioms);
* ``incremental`` (OWL 2 RL program) and ``incremental-rdfs``: a random write sequence
  (``RuleEngine.add``, DRed ``remove``, store writes + ``reason()``, ``reason(recompute=True)``)
  against a fresh full run of the same asserted data with terms inserted in another order;
* ``incremental-ext`` / ``live-ext`` / ``api-ext``: the OWL 2 RL write sequences over the
  ``owl-rl-ext`` vocabulary; every write-sequence case also compares the violated constraints;
* ``live`` / ``live-rdfs``: the same with the program as the store's reasoning profile and
  plain store writes (``store.add``, ``store.remove``, ``store.remove_quads``) maintained by
  the store's hook (:mod:`kg_engine.rules.live`);
* ``api`` / ``api-rdfs``: the same through ``KnowledgeGraph.add`` / ``remove`` and SPARQL
  ``INSERT DATA`` / ``DELETE DATA`` / ``DELETE WHERE``;
* ``user-rules``: one user program (recursion, join, stratified negation, comparisons) written
  as Jena, N3 and SPARQL rules, each against its meaning computed in Python
  (:func:`kg_engine.testing.rulesdiff.user_rules_reference`);
* ``user-incremental``: write sequences (engine, live or API path) under that program, with
  or without its negation, against a fresh run;
* ``user-strata``: a random program (2–5 rules, recursion, joins, negation) in each syntax:
  an unstratifiable one must be refused with an error saying "recursion through negation",
  a stratifiable one must give its stratified closure computed in Python;
* ``user-aggregates``: SPARQL rules with COUNT DISTINCT over a recursive predicate and
  SUM/MIN/MAX/AVG over numeric values (ill-typed ones excluded), against Python;
* ``tbox``: TBox statements of an ``owl-rl-ext`` case added one at a time to a materialised
  store, then some removed (engine, live or API path), against fresh runs;
* ``combo``: OWL 2 RL combined with a random user program (the ontology's properties and
  classes in its bodies and heads, a few axioms about its own predicates) in one of the three
  syntaxes, against owlrl's OWL 2 RL closure alternated with the user rules evaluated in
  Python until neither adds a triple (:func:`kg_engine.testing.rulesdiff.combo_reference`);
  violated constraints; every inferred statement's explanations re-checked independently;
  a program with negation must be refused as not stratifiable;
* ``combo-seq``: write sequences (engine, live or API path) under that combination against
  a fresh run;
* ``combo-cli``: the ``cli`` regime with ``kg reason --rules owl-rl|rdfs --rules FILE`` (the
  user program of ``user-rules`` without its negation): every command reopens the store and
  maintains the combined profile from what it records;
* ``cli``: a write sequence through the ``kg`` command line, one subprocess per command
  (``kg load``, ``kg reason [--recompute]`` with ``rdfs``/``owl-rl`` or a user rules file,
  ``kg update``), then ``kg query`` and ``kg explain`` (:func:`kg_engine.testing.rulesdiff.check_cli`).

Write sequences put data in named graphs too and compare statements with their graph; every
case also explains a sample of its inferred statements (each premise must be in the store,
each branch end in asserted statements: :func:`kg_engine.testing.rulesdiff.explain_problems`).

Case *i* of a regime uses ``random.Random(seed + i)``; a failing closure case is shrunk to a
minimal set of triples. Writes a Markdown report (counts per regime and backend, wall and
CPU time, load average, every difference with its data)::

    python benchmarks/rules_differential.py --cases 800 --seed 20261207 \
        --backends sqlite --report /tmp/rules_diff.md

The fixed-seed CI slice is ``tests/rules/differential``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REGIMES = ("rdfs", "owl-rl", "owl-rl-ext", "incremental", "incremental-rdfs", "incremental-ext", "live",
           "live-rdfs", "live-ext", "api", "api-rdfs", "api-ext", "user-rules", "user-incremental",
           "user-strata", "user-aggregates", "tbox", "cli", "combo", "combo-seq",
           "combo-cli")


def run_case(regime: str, seed: int, url: str):
    from kg_engine.testing import rulesdiff as rd

    rng = random.Random(seed)
    if regime == "user-rules":  # the same program in each syntax against its Python meaning
        facts = rd.generate(rng, rng.choice(["rdfs", "owl-rl"]))
        results = [rd.check_user_rules(facts, syntax, url, seed) for syntax in rd.USER_RULES]
        bad = [r for r in results if not r.ok]
        res = bad[0] if bad else results[0]
        res.explained = sum(r.explained for r in results)
        return res
    if regime == "user-incremental":  # one syntax, with or without negation, one write path
        program = rd.user_program(rng.choice(sorted(rd.USER_RULES)), negation=rng.random() < 0.5)
        path = rng.choice(["engine", "live", "api"])
        res = rd.check_incremental(rng, program, url, seed=seed, live=path == "live", api=path == "api")
        res.note = f"{program.name} via {path}: {res.note}"
        return res
    if regime == "user-strata":  # a random program in each syntax: refused, or its closure
        results = [rd.check_random_program(random.Random(seed), syntax, url, seed) for syntax in rd.USER_RULES]
        bad = [r for r in results if not r.ok]
        res = bad[0] if bad else results[0]
        res.explained = sum(r.explained for r in results)
        return res
    if regime == "combo":  # OWL 2 RL + a random user program against owlrl + Python, alternated
        return rd.check_combo(rng, rng.choice(sorted(rd.USER_RULES)), url, seed)
    if regime == "combo-seq":  # write sequences under OWL 2 RL + user rules against a fresh run
        return rd.check_combo_sequence(rng, url, seed)
    if regime == "combo-cli":  # kg reason --rules BUILT-IN --rules FILE, then writes as commands
        syntax = rng.choice(sorted(rd.USER_RULES))
        return rd.check_cli(rng, f"{rng.choice(['owl-rl', 'owl-rl', 'rdfs'])}+user-{syntax}", url, seed=seed)
    if regime == "tbox":  # TBox statements added / removed one at a time
        return rd.check_tbox_sequence(rng, url, seed)
    if regime == "user-aggregates":
        return rd.check_aggregates(rd.generate(rng, "owl-rl-ext"), url, seed)
    if regime == "cli":  # kg load / reason / update / query / explain as subprocesses
        program = rng.choice(["owl-rl", "owl-rl", "rdfs"] + [f"user-{s}" for s in sorted(rd.USER_RULES)])
        res = rd.check_cli(rng, program, url, seed=seed)
        return res
    if regime.startswith(("incremental", "live", "api")):
        program = "rdfs" if regime.endswith("-rdfs") else "owl-rl"
        return rd.check_incremental(rng, program, url, seed=seed, live=regime.startswith("live"),
                                    api=regime.startswith("api"),
                                    regime="owl-rl-ext" if regime.endswith("-ext") else None)
    res = rd.check_closure(rd.generate(rng, regime), regime, url, seed=seed)
    if res.kg_only or res.ref_only or res.partition is not None:  # closures differ: shrink
        # on in-memory SQLite (each check a fresh store; a PostgreSQL URL names one database)
        if not rd.check_closure(res.facts, regime, "sqlite://", explain=False).ok:
            small = rd.shrink(res.facts, regime, "sqlite://")
            res = rd.check_closure(small, regime, "sqlite://", seed=seed)
            res.note = f"(shrunk on SQLite from {len(rd.generate(random.Random(seed), regime))} triples)"
        else:
            res.note = "(not on SQLite: not shrunk)"
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=200, help="cases per regime and backend")
    ap.add_argument("--seed", type=int, default=20261207, help="first seed")
    ap.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=REGIMES)
    ap.add_argument("--backends", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    ap.add_argument("--report", type=Path, default=Path("rules_differential.md"))
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # live maintenance logs each fallback to a recompute

    server = None
    if "postgresql" in args.backends:
        from kg_engine.testing.postgres import shared_server

        server = shared_server()
    lines = [
        "# Rules differential run", "",
        (f"`python benchmarks/rules_differential.py --cases {args.cases} --seed {args.seed} "
         f"--regimes {' '.join(args.regimes)} --backends {' '.join(args.backends)}`"), "",
        "| regime | backend | cases | agree | differ | errors | trees explained | wall s | CPU s | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    total_bad = 0
    for backend in args.backends:
        for regime in args.regimes:
            t0, c0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
            agree = differ = errors = explained = 0
            for i in range(args.cases):
                seed = args.seed + i
                url = "sqlite://" if backend == "sqlite" else server.new_database_url()
                try:
                    res = run_case(regime, seed, url)
                except Exception as exc:  # noqa: BLE001 - a crash is a finding, reported
                    errors += 1
                    details.append(f"- seed {seed} [{regime}, {backend}] raised {type(exc).__name__}: {exc}")
                    continue
                explained += res.explained
                if res.ok:
                    agree += 1
                else:
                    differ += 1
                    details.append("```\n" + res.describe() + f"\n  backend: {backend}\n```")
                if (i + 1) % 25 == 0:  # progress (a run cut short still says how far it got)
                    print(f"  {regime} {backend}: {i + 1} cases, {agree} agree, {differ} differ, {errors} errors",
                          file=sys.stderr, flush=True)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            load = (load0 + os.getloadavg()[0]) / 2
            total_bad += differ + errors
            row = f"| {regime} | {backend} | {args.cases} | {agree} | {differ} | {errors} | {explained} | {wall:.1f} | {cpu:.1f} | {load:.2f} |"
            lines.append(row)
            print(row, flush=True)
    lines += ["", "## Differences", ""] + (details or ["none"])
    args.report.write_text("\n".join(lines) + "\n")
    print(f"report: {args.report}")
    sys.exit(1 if total_bad else 0)


if __name__ == "__main__":
    main()
