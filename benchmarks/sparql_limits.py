"""Size and depth limits of kg-engine's SPARQL against pyoxigraph: a table of outcomes.

Usage::

    python benchmarks/sparql_limits.py --seed 1 [--families union,values] [--per-family 1]
        [--backends sqlite,postgres] [--paths api,cli] [--time-limit 120] [--no-extremes]
        [--report limits.json]

Every case (see :mod:`kg_engine.testing.limits`) runs on each backend (PostgreSQL: a fresh
schema on a throwaway server per case) through each path, each in a child process with a time
limit; the table has one line per case and a column per backend x path. Exit status 1 when any
outcome is a failure (differ, bug, crash, hang, kg-timeout, store-changed, unclear-error).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter

from kg_engine.testing.limits import FAMILIES, GOOD, generate, run_case


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--per-family", type=int, default=1)
    ap.add_argument("--no-extremes", action="store_true", help="drawn sizes only")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--paths", default="api,cli")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--report", default=None, help="write every outcome as JSON here")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # the fallback warnings of thousands of nodes
    cases = generate(args.seed, args.families.split(","), args.per_family,
                     extremes=not args.no_extremes)
    urls: dict[str, object] = {}
    for backend in args.backends.split(","):
        if backend == "postgres":
            from kg_engine.testing.postgres import shared_server
            urls[backend] = shared_server().new_database_url
        else:
            urls[backend] = "sqlite://"
    columns = [(b, p) for b in urls for p in args.paths.split(",")]
    print("| case | " + " | ".join(f"{b} {p}" for b, p in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    rows, counts = [], Counter()
    t0 = time.perf_counter()
    for case in cases:
        cells, record = [], {"case": case.label, "size": case.size, "outcomes": {}}
        for b, p in columns:
            out = run_case(case, urls[b], p, args.time_limit)
            counts[out.status] += 1
            cells.append(f"{out.status} {out.seconds:.1f}s")
            record["outcomes"][f"{b} {p}"] = {"status": out.status, "detail": out.detail,
                                              "seconds": round(out.seconds, 2), **out.extra}
            if not out.ok:
                print(f"  {case.label} {b} {p}: {out.status}: {out.detail[:400]}", file=sys.stderr)
        print(f"| {case.label} | " + " | ".join(cells) + " |", flush=True)
        rows.append(record)
    print(f"\n{dict(counts)}; wall {time.perf_counter() - t0:.0f} s")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump({"seed": args.seed, "counts": dict(counts), "cases": rows}, fh, indent=1)
    bad = sum(n for s, n in counts.items() if s not in GOOD)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
