"""GNN reasoners from a live store, checked independently: many seeds of
:mod:`kg_engine.testing.gnndiff`.

For each seed: a random store (IRIs, blank nodes, literals with non-canonical lexical forms,
``rdf:type`` and schema triples, a named graph, inferred, predicted and analytics graphs);
each model trained on it (CPU, 1 thread, 2 epochs); the checkpoint's id maps and splits
compared with the instance graph read through SPARQL; predictions checked against the
model's own scores after the store changed (entities deleted, re-added after a vacuum, new
ones, an unseen relation), after a reload into a fresh store and, with ``--postgres``, on
PostgreSQL (where the same seed must also train the same checkpoint); predictions written
back twice, queried, explained and removed. ``--determinism`` adds two child processes per
seed (``PYTHONHASHSEED`` 1 and 2, another load order); ``--edge`` the degenerate cases once.

Usage::

    python benchmarks/gnn_store_differential.py --seeds 0-19
    python benchmarks/gnn_store_differential.py --seeds 0-9 --postgres --determinism --edge

Prints one line per finding, then a JSON summary (seeds, cases, checks, findings, CPU seconds).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main() -> int:
    from kg_engine.testing.gnndiff import (
        MODELS,
        SeedReport,
        check_determinism,
        check_edge_cases,
        run_seed,
    )

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server")
    ap.add_argument("--determinism", action="store_true", help="two child processes per seed")
    ap.add_argument("--edge", action="store_true", help="the degenerate cases once")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    pg = None
    if args.postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres().start()
    models = args.models.split(",")
    reports = []
    cpu = time.process_time()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in _seeds(args.seeds):
                r = run_seed(seed, tmp, models,
                             postgres_url=pg.new_database_url() if pg else None)
                if args.determinism:
                    check_determinism(r, seed, tmp, models[seed % len(models)])
                reports.append(r)
                for f in r.findings:
                    print(f, flush=True)
            if args.edge:
                r = SeedReport(-1)
                check_edge_cases(r, tmp)
                reports.append(r)
                for f in r.findings:
                    print(f, flush=True)
    finally:
        if pg is not None:
            pg.stop()
    summary = {
        "seeds": args.seeds, "models": models, "postgres": args.postgres,
        "determinism": args.determinism, "edge": args.edge,
        "cases": sum(len(r.cases) for r in reports), "checks": sum(r.checks for r in reports),
        "findings": sum(len(r.findings) for r in reports),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(summary))
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
