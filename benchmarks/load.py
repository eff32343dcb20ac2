"""Bulk-load benchmark: kg-engine (SQLite, PostgreSQL) vs rdflib in-memory and pyoxigraph.

Loads, in the same run and each in a fresh process (so peak memory is the loader's own):

* ``lubm10`` — ``../shared/data/lubm/lubm10.nt.gz`` (1,272,575 triples);
* ``204k`` — the first 204,374 statements of LUBM(10) (the size class of the store note's
  synthetic workload, which is not shipped);

into rdflib's in-memory ``Graph.parse``, pyoxigraph's in-memory ``Store.bulk_load``, our SQLite
store (a file) and our PostgreSQL store (a throwaway server, ``COPY``). Prints medians, ratios,
bytes per triple on disk, peak RSS, the median latency of a single-pattern ``triples()`` call
through the rdflib plugin, and ``Graph.parse()`` into the store through the plugin.

Usage::

    python benchmarks/load.py                 # everything, 3 runs for 204k, 1 for lubm10
    python benchmarks/load.py --runs 3 --skip-rdflib-lubm10 --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
LUBM10 = SHARED / "lubm" / "lubm10.nt.gz"
SLICE = 204_374


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- workers (run in a fresh process each) ----------------------------------------------------
def worker(engine: str, path: str, workdir: str) -> dict:
    started = time.perf_counter()
    out: dict = {"engine": engine}
    if engine == "rdflib":
        from rdflib import Graph

        g = Graph()
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            g.parse(f, format="nt")
        out["triples"] = len(g)
    elif engine == "pyoxigraph":
        import pyoxigraph

        st = pyoxigraph.Store()
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            st.bulk_load(f, pyoxigraph.RdfFormat.N_TRIPLES)
        out["triples"] = len(st)
    elif engine in ("kg-sqlite", "kg-postgres", "kg-sqlite-graph.parse"):
        from kg_engine.store import SQLStore

        if engine == "kg-postgres":
            url = os.environ["KG_BENCH_PG_URL"]
        else:
            url = f"sqlite:///{Path(workdir) / 'bench.sqlite'}"
        store = SQLStore(url)
        started = time.perf_counter()
        if engine == "kg-sqlite-graph.parse":
            from rdflib import Graph

            from kg_engine.store.rdflib_store import KgEngineStore

            plugin = KgEngineStore(store=store)
            g = Graph(store=plugin)
            with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
                g.parse(f, format="nt")
            plugin.commit()
        else:
            store.load(path)
        out["seconds"] = time.perf_counter() - started
        out["triples"] = len(store)
        out["bytes"] = store.file_size()
        if engine != "kg-sqlite-graph.parse":
            out["lookup_us"] = _lookup_latency(store)
        store.close()
    out.setdefault("seconds", time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime  # this process only (not the PG server)
    out["peak_rss_mb"] = _rss_mb()
    return out


def _lookup_latency(store) -> float:
    """Median µs of one ``triples((s, p, None))`` call through the rdflib plugin."""
    from rdflib import URIRef

    from kg_engine.store.rdflib_store import KgEngineStore

    plugin = KgEngineStore(store=store)
    rows = store.db.fetchall("SELECT s, p FROM kg_quads ORDER BY s LIMIT 2000")
    terms = store.decode({i for r in rows for i in r})
    patterns = [(terms[s], terms[p], None) for s, p in rows[::10]]
    assert all(isinstance(p[1], URIRef) for p in patterns)
    times = []
    for _ in range(5):
        for pat in patterns:
            t = time.perf_counter()
            for _triple in plugin.triples(pat, None):
                pass
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def run_worker(engine: str, path: Path, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(
            [sys.executable, __file__, "--worker", engine, str(path), tmp],
            capture_output=True, text=True, env=env,
        )
    if res.returncode != 0:
        raise RuntimeError(f"{engine} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# -- driver ----------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per engine on the 204k slice")
    ap.add_argument("--lubm10-runs", type=int, default=1)
    ap.add_argument("--skip-rdflib-lubm10", action="store_true",
                    help="rdflib needs ~1 min and GBs of RAM for LUBM(10)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--json", type=Path, help="write all measurements here")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    if not LUBM10.exists():
        sys.exit(f"missing {LUBM10}: the benchmark needs ../shared/data")

    tmp = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    slice_path = tmp / "lubm10-204k.nt"
    with gzip.open(LUBM10, "rt", encoding="utf-8") as src, open(slice_path, "w") as dst:
        for i, line in enumerate(src):
            if i >= SLICE:
                break
            dst.write(line)

    env = dict(os.environ)
    pg = None
    engines = ["rdflib", "pyoxigraph", "kg-sqlite"]
    if not args.no_postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres(durable=True).start()
        engines.append("kg-postgres")
    results: dict[str, dict[str, list[dict]]] = {}
    workloads = [("204k", slice_path, args.runs), ("lubm10", LUBM10, args.lubm10_runs)]
    try:
        for name, path, runs in workloads:
            for engine in engines + (["kg-sqlite-graph.parse"] if name == "204k" else []):
                if name == "lubm10" and engine == "rdflib" and args.skip_rdflib_lubm10:
                    continue
                for _ in range(runs):
                    if engine == "kg-postgres":
                        env["KG_BENCH_PG_URL"] = pg.new_database_url()
                    r = run_worker(engine, path, env)
                    results.setdefault(name, {}).setdefault(engine, []).append(r)
                    print(f"{name:7s} {engine:22s} {r['seconds']:8.2f} s  {r['cpu_s']:7.1f} CPU-s  "
                          f"{r['triples']:>9,} triples  {r['peak_rss_mb']:7.0f} MB", flush=True)
    finally:
        if pg is not None:
            pg.stop()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    print("\n| workload | engine | load s (median) | triples/s | ratio vs rdflib | ratio vs pyoxigraph"
          " | process CPU s | peak RSS MB | bytes/triple | triples() µs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, per_engine in results.items():
        med = {e: statistics.median(r["seconds"] for r in runs) for e, runs in per_engine.items()}
        for engine, runs in per_engine.items():
            m = med[engine]
            n = runs[0]["triples"]
            ratio_rdflib = f"{med['rdflib'] / m:.1f}× faster" if "rdflib" in med else "–"
            ratio_ox = f"{m / med['pyoxigraph']:.1f}× slower" if "pyoxigraph" in med else "–"
            bpt = f"{runs[0]['bytes'] / n:.0f}" if runs[0].get("bytes") else "–"
            lookup = f"{statistics.median(r['lookup_us'] for r in runs):.0f}" \
                if runs[0].get("lookup_us") else "–"
            cpu = statistics.median(r["cpu_s"] for r in runs)
            print(f"| {name} | {engine} | {m:.2f} (n={len(runs)}) | {n / m:,.0f} | {ratio_rdflib} | "
                  f"{ratio_ox} | {cpu:.1f} | {max(r['peak_rss_mb'] for r in runs):.0f} | {bpt} | "
                  f"{lookup} |")


if __name__ == "__main__":
    main()
