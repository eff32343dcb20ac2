"""Benchmark of ``explain()`` on LUBM: time per derivation tree of random inferred triples.

Target (issue 4, T9): ≤ 100 ms per tree for any inferred triple of LUBM(10).

Usage::

    python benchmarks/rules_explain.py --lubm 1            # load + OWL 2 RL + explain 300 triples
    python benchmarks/rules_explain.py --lubm 10 --n 300 --db sqlite:////tmp/lubm10.sqlite

With ``--db`` pointing at an existing materialised store (``kg reason --rules owl-rl``) the load
and reasoning are skipped. Data: ``$KG_SHARED_DATA/lubm`` (default ``<repo>/../shared/data``).
Prints one JSON object; ``benchmarks/rules.py`` calls :func:`bench_explain` after materialising.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def shared_data() -> Path:
    return Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))


def sample_inferred(store: Any, n: int, seed: int = 0) -> list[tuple]:
    """``n`` random inferred triples (uniform over the inferred graphs' rows)."""
    from kg_engine.rules import tables

    tables.create_tables(store)
    gids = [int(r[0]) for r in store.db.fetchall("SELECT g FROM kg_rules_programs")]
    if not gids:
        return []
    marks = ",".join("?" * len(gids))
    keys = store.db.fetchall(f"SELECT s, p, o FROM kg_quads WHERE g IN ({marks})", gids)
    rng = random.Random(seed)
    rows = rng.sample(keys, min(n, len(keys)))
    terms = store.decode({i for r in rows for i in r})
    return [tuple(terms[i] for i in r) for r in rows]


def bench_explain(store: Any, n: int = 300, seed: int = 0, all_n: int = 50) -> dict[str, Any]:
    """Time ``explain`` on ``n`` random inferred triples of a materialised store.

    Args:
        store: a store materialised by the rule engine.
        n: triples to explain (one tree each).
        seed: sampling seed.
        all_n: of those, how many also get ``all_derivations=True``.

    Returns:
        ms per tree (median, p95, max, mean), CPU ms, tree depth and size, fraction of
        trees grounded in asserted triples, and the same for all-derivations calls.
    """
    from kg_engine.rules.explain import Explainer

    t0 = time.perf_counter()
    triples = sample_inferred(store, n, seed)
    sample_s = time.perf_counter() - t0
    explainer = Explainer(store)
    wall, cpu, depth, size, grounded = [], [], [], [], 0
    kinds: dict[str, int] = {}
    for t in triples:
        w0, c0 = time.perf_counter(), time.process_time()
        e = explainer.explain(t)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        depth.append(e.tree.depth())
        size.append(sum(1 for _ in e.tree.walk()))
        grounded += e.tree.is_grounded()
        kinds[e.tree.rule or e.kind] = kinds.get(e.tree.rule or e.kind, 0) + 1
    all_wall, all_trees = [], []
    for t in triples[:all_n]:
        w0 = time.perf_counter()
        e = explainer.explain(t, all_derivations=True)
        all_wall.append((time.perf_counter() - w0) * 1000)
        all_trees.append(len(e.trees))

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

    return {
        "triples": len(triples),
        "sample_seconds": round(sample_s, 2),
        "ms_median": round(statistics.median(wall), 2) if wall else None,
        "ms_p95": round(pct(wall, 0.95), 2),
        "ms_max": round(max(wall), 2) if wall else None,
        "ms_mean": round(statistics.mean(wall), 2) if wall else None,
        "cpu_ms_median": round(statistics.median(cpu), 2) if cpu else None,
        "cpu_ms_p95": round(pct(cpu, 0.95), 2),
        "cpu_ms_max": round(max(cpu), 2) if cpu else None,
        "over_100ms": sum(1 for w in wall if w > 100),
        "cpu_over_100ms": sum(1 for c in cpu if c > 100),
        "depth_mean": round(statistics.mean(depth), 2) if depth else None,
        "depth_max": max(depth) if depth else None,
        "nodes_mean": round(statistics.mean(size), 1) if size else None,
        "grounded": f"{grounded}/{len(triples)}",
        "all_derivations_ms_median": round(statistics.median(all_wall), 2) if all_wall else None,
        "all_derivations_ms_max": round(max(all_wall), 2) if all_wall else None,
        "all_derivations_trees_mean": round(statistics.mean(all_trees), 2) if all_trees else None,
        "rules_top": sorted(kinds.items(), key=lambda kv: -kv[1])[:8],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lubm", type=int, default=1, choices=(1, 10))
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--db", default=None, help="store URL (default: a temporary SQLite file)")
    args = ap.parse_args()

    from kg_engine.rules.engine import reason
    from kg_engine.store import open_store

    out: dict[str, Any] = {"lubm": args.lubm, "load_avg": os.getloadavg()}
    if args.db:
        store = open_store(args.db)
    else:
        import tempfile

        tmp = tempfile.mkdtemp(prefix="kg_explain_")
        store = open_store(f"sqlite:///{tmp}/lubm{args.lubm}.sqlite")
    if len(store) == 0:
        lubm = shared_data() / "lubm"
        if not lubm.is_dir():
            sys.exit(f"LUBM data not found in {lubm} (set KG_SHARED_DATA)")
        t0 = time.perf_counter()
        store.load([lubm / "univ-bench.ttl", lubm / f"lubm{args.lubm}.nt.gz"])
        out["load_seconds"] = round(time.perf_counter() - t0, 1)
        res = reason(store, "owl-rl")
        out["reason_seconds"] = round(res.seconds, 1)
        out["derived"] = res.derived
    out.update(bench_explain(store, n=args.n, seed=args.seed))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
