"""Analytics and network exports against networkx on many seeds
(:mod:`kg_engine.testing.analyticsdiff`).

    python benchmarks/analytics_differential.py --seeds 0:200 [--postgres]

Prints every mismatch and a summary line; exit status 1 when any seed disagrees.
"""

from __future__ import annotations

import argparse
import sys
import time

from kg_engine.testing.analyticsdiff import run_seed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0:100", help="first:end (end excluded)")
    ap.add_argument("--postgres", action="store_true", help="a fresh schema per seed on a "
                    "throwaway PostgreSQL server instead of in-memory SQLite")
    ap.add_argument("--no-reason", action="store_true", help="skip the reason('rdfs') half")
    args = ap.parse_args()
    first, end = (int(x) for x in args.seeds.split(":"))
    server = None
    if args.postgres:
        from kg_engine.testing.postgres import shared_server

        server = shared_server()
    bad, t0 = 0, time.process_time()
    for seed in range(first, end):
        url = server.new_database_url() if server is not None else "sqlite://"
        problems = run_seed(seed, url, reason=not args.no_reason)
        bad += bool(problems)
        for p in problems:
            print(p[:500])
    print(f"{end - first} seeds, {bad} disagreeing, {time.process_time() - t0:.1f} CPU-s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
