"""Are the explanations true? Many seeds of :mod:`kg_engine.testing.explaindiff`.

For each program (``rdfs``, ``owl-rl``, ``owl-rl-ext``, user rules in three syntaxes,
aggregates, built-ins, random stratified programs) and seed: one ``reason()`` and one live
sequence (reasoning profile, random adds and removes, the store checked after every
write); every inferred statement's derivations checked independently, a sample of asserted
statements and made-up absent ones; with ``--cli`` every tenth case also through
``kg explain --json`` (a file store).

Usage::

    python benchmarks/explain_differential.py --seeds 0-99              # SQLite in memory
    python benchmarks/explain_differential.py --seeds 0-19 --postgres   # throwaway server
    python benchmarks/explain_differential.py --seeds 0-9 --programs owl-rl,builtins --cli

Prints one line per failing case, then a JSON summary (cases, statements, trees, nodes,
problems, CPU seconds).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main() -> None:
    from kg_engine.testing.explaindiff import PROGRAMS, run_case

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL server")
    ap.add_argument("--cli", action="store_true", help="every tenth case through kg explain too")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # "recomputing the closure" notes of live maintenance
    pg = None
    if args.postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres().start()
    totals: Counter = Counter()
    failed = 0
    cpu = time.process_time()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for program in args.programs.split(","):
                for seed in _seeds(args.seeds):
                    for live in (False, True):
                        cli = args.cli and seed % 10 == 0
                        if pg is not None:
                            url = pg.new_database_url()
                        else:
                            url = f"sqlite:///{os.path.join(tmp, f'{program}-{seed}-{live}.db')}" if cli else "sqlite://"
                        try:
                            r = run_case(seed, program, url, live=live, cli=cli)
                        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                            failed += 1
                            print(f"seed {seed} {program} live={live}: {type(exc).__name__}: {exc}", flush=True)
                            continue
                        totals.update(r.counts)
                        totals["cases"] += 1
                        if not r.ok:
                            failed += 1
                            totals["problems"] += len(r.problems)
                            print(r.describe(), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    print(json.dumps({"backend": "postgresql" if pg else "sqlite", "failed_cases": failed, **totals,
                      "cpu_s": round(time.process_time() - cpu, 1),
                      "loadavg": open("/proc/loadavg").read().split()[:3]}))


if __name__ == "__main__":
    main()
