"""Blank-node differential: scoping and identity of blank nodes across loads, exports, query
results, SPARQL (Update), rules and analytics, against pyoxigraph.

Usage::

    python benchmarks/bnode_differential.py --seed 2600000 --seeds 50 [--postgres]
        [--areas load,export,results,sparql,update,rules,analytics] [--queries 20]
        [--requests 20] [--report report.json]

Prints the cases run per area, the findings (each with its seed) and the CPU time. See
:mod:`kg_engine.testing.bnodediff`.
"""

from __future__ import annotations

import argparse
import json
import time

from kg_engine.testing.bnodediff import AREAS, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2600000)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--postgres", action="store_true", help="stores on a throwaway PostgreSQL")
    ap.add_argument("--areas", default=",".join(AREAS))
    ap.add_argument("--queries", type=int, default=20, help="generated queries per seed")
    ap.add_argument("--requests", type=int, default=20, help="generated updates per seed")
    ap.add_argument("--report", default=None, help="write the findings as JSON here")
    args = ap.parse_args(argv)
    url: object = "sqlite://"
    if args.postgres:
        from kg_engine.testing.postgres import shared_server

        url = shared_server().new_database_url
    t0, cpu0 = time.perf_counter(), time.process_time()
    rep = run(args.seed, args.seeds, url=url, areas=args.areas.split(","),  # type: ignore[arg-type]
              queries=args.queries, requests=args.requests, log=print)
    print(rep.summary())
    print(f"wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - cpu0:.1f} s "
          "(this process; pyoxigraph included)")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump({"seed": args.seed, "seeds": args.seeds, "cases": dict(rep.cases),
                       "findings": [vars(f) for f in rep.findings]}, fh, indent=1)
    return 1 if rep.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
