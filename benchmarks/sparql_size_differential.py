"""Differential run of kg-engine's SPARQL against pyoxigraph at sizes past the engine's thresholds.

Usage::

    python benchmarks/sparql_size_differential.py --seed 1 [--seeds 3] [--shape small|default|large]
        [--big] [--postgres] [--only NAME] [--generated 200 --extra 2000] [--report out.json]

Per seed: a skewed dataset of the chosen shape, every size-targeted case of
:func:`kg_engine.testing.sizediff.size_cases` (``--big``: also the sizes past the SQLite and
PostgreSQL parameter limits and the PostgreSQL decode batch) on ``KnowledgeGraph.query`` and
kg serve's streamed path, compared with pyoxigraph (rdflib for integers past 2^63). Prints one
line per case and path (outcome, CPU seconds of this process) and the counts; ``--generated N``
also runs N queries of the grammar differential over its dataset grown by ``--extra``
statements. See :mod:`kg_engine.testing.sizediff`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from kg_engine.testing import sizediff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=1, help="run seeds seed, seed+1, …")
    ap.add_argument("--shape", choices=["small", "default", "large"], default="default")
    ap.add_argument("--big", action="store_true", help="also the sizes of tens of thousands")
    ap.add_argument("--postgres", action="store_true", help="kg-engine on a throwaway PostgreSQL")
    ap.add_argument("--only", default=None, help="only the cases whose name contains this")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--generated", type=int, default=0, help="grammar queries over a grown dataset")
    ap.add_argument("--extra", type=int, default=2_000, help="statements the grown dataset adds")
    ap.add_argument("--report", default=None, help="write the failures as JSON here")
    args = ap.parse_args(argv)
    url: object = "sqlite://"
    if args.postgres:
        from kg_engine.testing.postgres import shared_server
        url = shared_server().new_database_url  # a fresh database per store
    shape = {"small": sizediff.Shape.small(), "default": sizediff.Shape(),
             "large": sizediff.Shape.large()}[args.shape]
    print(f"shape {shape}; load average {os.getloadavg()[0]:.1f}")

    def progress(case: sizediff.SizeCase, path: str, out, cpu: float) -> None:
        print(f"  {case.label:26s} {case.threshold:26s} {path:5s} {out.status:11s} {cpu:7.2f} cpu-s "
              f"{out.detail[:200]}", flush=True)

    reports, failures = [], []
    for seed in range(args.seed, args.seed + args.seeds):
        t0, cpu0 = time.perf_counter(), time.process_time()
        rep = sizediff.run(seed, url=url, shape=shape, big=args.big, timeout=args.timeout,
                           only=args.only, progress=progress)
        print(f"seed {seed}: {rep.summary()}; wall {time.perf_counter() - t0:.1f} s, "
              f"cpu {time.process_time() - cpu0:.1f} s, load average {os.getloadavg()[0]:.1f}")
        reports.append(rep)
        failures += rep.failures
        if args.generated:
            t0, cpu0 = time.perf_counter(), time.process_time()
            gen = sizediff.run_generated(seed, args.generated, url=url, extra=args.extra)
            print(f"seed {seed} generated over +{args.extra} statements: {gen.summary()}; "
                  f"wall {time.perf_counter() - t0:.1f} s, cpu {time.process_time() - cpu0:.1f} s")
            for f in gen.failures:
                print(f"  - {f['status']}: {f.get('shrunk', f['query'])[:300]}\n      {f['detail'][:300]}")
            failures += gen.failures
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump({"seeds": [args.seed, args.seed + args.seeds - 1], "shape": str(shape),
                       "counts": [dict(r.counts) for r in reports], "failures": failures}, fh, indent=1)
    return 1 if any(f["status"] in ("differ", "kg-error") for f in failures) else 0


if __name__ == "__main__":
    sys.exit(main())
