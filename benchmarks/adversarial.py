"""Adversarial inputs over many seeds: every surface of :mod:`kg_engine.testing.adversarial`
(store, HTML export and explorer in headless Chromium, the HTTP endpoint, network, model
files, resource exhaustion), once per seed, on SQLite and (``--postgres``) on a throwaway
PostgreSQL server for the store, network and exhaustion surfaces.

Prints one line per broken rule and a summary (outcomes, failures, CPU-s); ``--json``
writes every outcome.

Usage::

    nice -n 10 python benchmarks/adversarial.py --seeds 20
    python benchmarks/adversarial.py --seeds 5 --postgres --only store network --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg_engine.testing import adversarial

PG_SURFACES = ("store", "network", "exhaustion")


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--only", nargs="*", choices=sorted(adversarial.SURFACES))
    ap.add_argument("--strings", type=int, default=30, help="hostile strings per surface")
    ap.add_argument("--depth", type=int, default=10_000)
    ap.add_argument("--postgres", action="store_true", help="also attack a PostgreSQL store")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    surfaces = args.only or list(adversarial.SURFACES)
    backends: list[tuple[str, str | None, list[str]]] = [("sqlite", None, surfaces)]
    pg = None
    if args.postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres().start()
        backends.append(("postgresql", None, [s for s in surfaces if s in PG_SURFACES]))
    results = []
    cpu0, wall0 = _cpu(), time.time()
    try:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for backend, _, names in backends:
                url = pg.new_database_url() if backend == "postgresql" and pg else None
                outs = adversarial.run(seed, names, db_url=url, browser=not args.no_browser,
                                       strings=args.strings, depth=args.depth)
                for o in outs:
                    results.append({"seed": seed, "backend": backend, **asdict(o)})
                    if not o.ok:
                        print(f"FAIL seed {seed} {backend} {o.surface}: {o.attack[:70]} | "
                              f"{o.detail[:200]}", flush=True)
            print(f"seed {seed}: {len(results)} outcomes so far, "
                  f"{sum(not r['ok'] for r in results)} failed", flush=True)
    finally:
        if pg is not None:
            pg.stop()
    by = Counter((r["backend"], r["surface"]) for r in results)
    bad = Counter((r["backend"], r["surface"]) for r in results if not r["ok"])
    for key in sorted(by):
        print(f"{key[0]:10s} {key[1]:10s} {by[key]:6d} outcomes {bad[key]:4d} failed")
    print(f"total {len(results)} outcomes, {sum(bad.values())} failed; "
          f"{_cpu() - cpu0:.1f} CPU-s, {time.time() - wall0:.0f} s wall; "
          f"load average {Path('/proc/loadavg').read_text().split()[:3]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
