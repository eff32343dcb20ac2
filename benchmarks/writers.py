"""Several processes writing one store at once, over many seeds (kg_engine.testing.writers).

Each seed starts 2–4 worker processes (``kg`` commands or a long-lived ``KnowledgeGraph``)
on one SQLite file or one PostgreSQL schema, each applying seeded writes (loads, SPARQL
updates, adds/removes, TBox changes, a shared counter, reasoning profile changes, vacuum,
prefix bindings, extraction) after a random delay, and judges the store they leave: every
write all or nothing, none lost, contention errors clear, closure complete, ``kg check``
clean, no hang.

    python benchmarks/writers.py --seeds 1-20 --backend sqlite
    python benchmarks/writers.py --seeds 1-20 --backend postgresql --no-extract

Prints one line per seed and the seeds with findings (each finding in full). Keep the tree
unchanged during a run: each worker imports kg-engine when it starts, the judge once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time

from kg_engine.testing import writers


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-10", help="e.g. 1-20 or 3,7,9")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--ops", type=int, default=8, help="writes per worker")
    ap.add_argument("--no-extract", action="store_true", help="leave kg extract out (spaCy)")
    ap.add_argument("--kinds", default=",".join(writers.KINDS),
                    help="the kinds of write drawn from (default: all)")
    ap.add_argument("--modes", default="cli,api",
                    help="worker modes dealt round-robin: cli (kg commands), api (one process)")
    ap.add_argument("--limit", type=float, default=300.0, help="seconds per run")
    ap.add_argument("--keep", action="store_true", help="keep the runs' folders")
    args = ap.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if not (args.no_extract and k == "extract"))
    server = None
    if args.backend == "postgresql":
        from kg_engine.testing.postgres import TemporaryPostgres

        server = TemporaryPostgres().start()
    bad = []
    t0 = time.monotonic()
    try:
        for seed in _seeds(args.seeds):
            n = random.Random(seed).randint(2, 4)
            url = server.new_database_url() if server else None
            report = writers.run_seed(seed, url, workers=n, ops=args.ops, kinds=kinds,
                                      modes=tuple(args.modes.split(",")), limit=args.limit)
            print(f"seed {seed}: {n} workers, {report.writes} writes, {report.contended} "
                  f"contended, {len(report.findings)} findings, {report.seconds:.1f} s, "
                  f"slowest write {report.slowest[0]:.1f} s ({report.slowest[1]})",
                  flush=True)
            if report.findings:
                bad.append(seed)
                print(json.dumps(report.findings, indent=1), flush=True)
            elif not args.keep and report.url.startswith("sqlite:///"):
                shutil.rmtree(os.path.dirname(report.url[len("sqlite:///"):]), ignore_errors=True)
    finally:
        if server:
            server.stop()
    print(f"{len(_seeds(args.seeds))} seeds ({args.backend}), seeds with findings: {bad}; "
          f"{time.monotonic() - t0:.0f} s wall, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
