"""Transport differential: kg query / kg serve / SPARQLWrapper / rdflib plugin answers vs the API.

Usage::

    python benchmarks/transport_differential.py --seed 1400000 --queries 500 [--datasets 4]
        [--postgres] [--transports cli-json,http-tsv,...] [--report report.json]

Prints, per transport, the agreement and counts (agree, differ, error, n/a: a form the
transport does not offer) and the distinct failures; writes every failure to the JSON
report. See :mod:`kg_engine.testing.transportdiff`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kg_engine.testing.transportdiff import TRANSPORTS, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1400000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--datasets", type=int, default=4)
    ap.add_argument("--postgres", action="store_true", help="stores on a throwaway PostgreSQL")
    ap.add_argument("--transports", default=",".join(TRANSPORTS))
    ap.add_argument("--no-stress", action="store_true", help="generated queries only")
    ap.add_argument("--report", default=None, help="write the failures as JSON here")
    args = ap.parse_args(argv)
    url = None
    if args.postgres:
        from kg_engine.testing.postgres import shared_server
        url = shared_server().new_database_url
    t0, cpu0 = time.perf_counter(), time.process_time()

    def progress(i: int) -> None:
        if i % 100 == 0:
            print(f"  {i} queries…", file=sys.stderr)

    rep = run(args.seed, args.queries, url=url, datasets=args.datasets,
              transports=tuple(args.transports.split(",")), stress=not args.no_stress,
              progress=progress)
    print(rep.summary())
    print(f"wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - cpu0:.1f} s")
    seen = set()
    for f in rep.failures:
        key = (f["transport"], f["detail"][:60])
        if key not in seen and len(seen) < 40:
            seen.add(key)
            print(f"- {f['transport']} {f['status']} (rdfs profile: {f['reasoning']}): "
                  f"{f['query'][:300]}\n    {f['detail'][:400]}")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump({"seed": args.seed, "queries": rep.queries,
                       "counts": {t: dict(c) for t, c in rep.counts.items()},
                       "failures": rep.failures}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
