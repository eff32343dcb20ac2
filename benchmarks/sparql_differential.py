"""Differential run of kg-engine's SPARQL against pyoxigraph: generated queries, a report.

Usage::

    python benchmarks/sparql_differential.py --seed 1 --queries 2000 [--datasets 10]
        [--postgres] [--report report.json] [--no-shrink] [--update]

Prints the agreement rate and counts per outcome (agree, differ, kg-error, kg-timeout,
ox-error, documented deviations) and writes every failure, shrunk to a minimal query, with
rdflib's second opinion, to the JSON report. See :mod:`kg_engine.testing.differential`.

``--update``: generated SPARQL Update requests instead of queries, each applied to the same
dataset in both engines and the whole resulting stores compared (quads up to blank-node
renaming, named graphs, refusals); ``--queries`` is then the number of requests. See
:mod:`kg_engine.testing.updatediff`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kg_engine.testing.differential import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--datasets", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=8.0)
    ap.add_argument("--postgres", action="store_true", help="kg-engine on a throwaway PostgreSQL")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--report", default=None, help="write the failures as JSON here")
    ap.add_argument("--update", action="store_true", help="SPARQL Update requests, stores compared")
    ap.add_argument("--no-widen", action="store_true",
                    help="the query grammar as before its third widening (older seeds' queries)")
    ap.add_argument("--no-widen4", action="store_true",
                    help="the query grammar and data as before the fourth widening")
    ap.add_argument("--no-widen5", action="store_true",
                    help="the query grammar and data as before the fifth widening")
    ap.add_argument("--no-widen6", action="store_true",
                    help="the query grammar and data as before the sixth widening (durations)")
    args = ap.parse_args(argv)
    url: object = "sqlite://"
    if args.postgres:
        from kg_engine.testing.postgres import shared_server
        url = shared_server().new_database_url  # a fresh database per store
    t0 = time.perf_counter()
    cpu0 = time.process_time()

    def progress(i: int, out) -> None:
        if i % 100 == 0:
            print(f"  {i} queries…", file=sys.stderr)

    if args.update:
        from kg_engine.testing import updatediff
        rep = updatediff.run(args.seed, args.queries, url=url, datasets=args.datasets,
                             shrink_failures=not args.no_shrink, progress=progress)
    else:
        rep = run(args.seed, args.queries, url=url, datasets=args.datasets,
                  shrink_failures=not args.no_shrink, timeout=args.timeout, progress=progress,
                  widen=not args.no_widen, widen4=not (args.no_widen or args.no_widen4),
                  widen5=not (args.no_widen or args.no_widen4 or args.no_widen5),
                  widen6=not (args.no_widen or args.no_widen4 or args.no_widen5 or args.no_widen6))
    print(rep.summary())
    print(f"wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - cpu0:.1f} s")
    for f in rep.failures[:30]:
        print(f"- {f['status']}: {f.get('shrunk', f['query'])}\n    {f.get('shrunk_detail', f['detail'])[:300]}"
              + (f"\n    {f['rdflib']}" if f.get("rdflib") else ""))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump({"seed": args.seed, "queries": rep.queries, "counts": dict(rep.counts),
                       "agreement": rep.agreement, "failures": rep.failures}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
