"""Long runs of the API model machine (kg_engine.testing.apimodel): many seeded sequences of
mixed public-API calls, compared with the model after every step, on SQLite in memory, SQLite
files (with close/reopen, read-only too) and PostgreSQL.

    python benchmarks/api_model.py --backend memory --seeds 0-99 --steps 80
    python benchmarks/api_model.py --backend file --seeds 0-49 --steps 80
    python benchmarks/api_model.py --backend postgres --seeds 0-19 --steps 60

Prints one line per seed (a failing one with its shrunk steps) and a summary with the steps
run and the process CPU time; exit status 1 when a sequence disagreed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter


def main(argv: list[str] | None = None) -> int:
    from kg_engine.testing.apimodel import postgres_factory, run_sequence, sqlite_file_factory

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["memory", "file", "postgres"], default="memory")
    ap.add_argument("--seeds", default="0-19", help="A-B (inclusive) or one number")
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args(argv)
    lo, _, hi = args.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    folder = tempfile.mkdtemp(prefix="kg-apimodel-")
    url = {"memory": lambda: "sqlite://", "file": sqlite_file_factory(folder)}.get(
        args.backend) or postgres_factory()
    started, steps, failed = time.process_time(), 0, Counter()
    for seed in seeds:
        result = run_sequence(seed, url, steps=args.steps)
        steps += result.steps
        if not result.ok:
            failed[result.check] += 1
        print(result if not result.ok else f"seed {seed}: {result.steps} steps agree",
              flush=True)
    cpu = time.process_time() - started
    print(f"{len(seeds)} sequences, {steps} steps on {args.backend}: "
          f"{sum(failed.values())} disagreed {dict(failed)}; {cpu:.1f} CPU-s "
          f"(load average {os.getloadavg()[0]:.1f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
