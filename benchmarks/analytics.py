"""Analytics and export benchmark: networkx views, PageRank end to end, N-Triples and Turtle export.

Measured in the same run, each measurement in a fresh process (peak RSS is its own), on
LUBM from ``../shared/data/lubm`` loaded once into SQLite files under ``--workdir``:

* ``view`` — ``to_networkx`` of LUBM(10) (instance edges: IRI objects, ``rdf:type`` as node
  attributes) vs rdflib's ``rdflib_to_networkx_multidigraph`` on an in-memory rdflib ``Graph``
  holding exactly the same triples (building that Graph is not timed), and
  ``view-rdflib-file``: what an rdflib user runs, ``Graph().parse`` of the LUBM(10) file and
  the converter on all of it (literals and types as edges; one run, ``--tasks`` to add it);
* ``nt`` — N-Triples export of LUBM(10) vs pyoxigraph's ``Store.dump`` (bulk-loaded first,
  not timed);
* ``ttl`` — Turtle export of LUBM(1) vs rdflib's Turtle serializer on the parsed graph;
* ``pagerank`` — ``analyze(store, "pagerank")`` on LUBM(10), view + algorithm + write-back,
  with networkx and with rustworkx.

Prints medians (wall and CPU seconds), ratios within the run, peak RSS and the load average.

Usage::

    KG_SHARED_DATA=../shared/data python benchmarks/analytics.py [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
LUBM = {"lubm1": SHARED / "lubm" / "lubm1.nt.gz", "lubm10": SHARED / "lubm" / "lubm10.nt.gz"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _store(workdir: Path, name: str):
    from kg_engine.store import open_store

    return open_store(f"sqlite:///{workdir / (name + '.sqlite')}")


def prepare(workdir: Path) -> None:
    """Load LUBM(1) and LUBM(10) into SQLite files once."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, path in LUBM.items():
        store = _store(workdir, name)
        if len(store) == 0:
            res = store.load(path)
            print(f"loaded {name}: {res.statements:,} statements in {res.seconds:.1f} s",
                  file=sys.stderr)
        store.close()


# -- measurements (each run in a fresh process) ------------------------------------------------
def measure(task: str, workdir: Path) -> dict:
    out: dict = {"task": task}
    if task == "view":
        from kg_engine.analytics.view import to_networkx

        store = _store(workdir, "lubm10")
        base = _peak_mb()
        t0, c0 = time.perf_counter(), _cpu()
        g = to_networkx(store)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0,
                   nodes=g.number_of_nodes(), edges=g.number_of_edges())
        out["peak_mb"], out["base_mb"] = _peak_mb(), base
    elif task == "view-rdflib":
        from rdflib import Graph
        from rdflib.extras.external_graph_libs import rdflib_to_networkx_multidigraph

        from kg_engine.analytics.view import select

        store = _store(workdir, "lubm10")
        view = select(store)
        terms = view.decode(store)
        rg = Graph()
        rg.addN((terms[s], terms[p], terms[o], rg) for s, p, o, _, _ in view.edges)
        del view, terms
        base = _peak_mb()
        t0, c0 = time.perf_counter(), _cpu()
        g = rdflib_to_networkx_multidigraph(rg)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0,
                   nodes=g.number_of_nodes(), edges=g.number_of_edges())
        out["peak_mb"], out["base_mb"] = _peak_mb(), base
    elif task == "view-rdflib-file":
        import gzip

        from rdflib import Graph
        from rdflib.extras.external_graph_libs import rdflib_to_networkx_multidigraph

        base = _peak_mb()
        t0, c0 = time.perf_counter(), _cpu()
        rg = Graph()
        with gzip.open(LUBM["lubm10"], "rb") as f:
            rg.parse(f, format="nt")
        g = rdflib_to_networkx_multidigraph(rg)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0,
                   nodes=g.number_of_nodes(), edges=g.number_of_edges())
        out["peak_mb"], out["base_mb"] = _peak_mb(), base
    elif task == "nt":
        from kg_engine.export import export

        store = _store(workdir, "lubm10")
        t0, c0 = time.perf_counter(), _cpu()
        res = export(store, workdir / "out.nt", progress=False)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, statements=res.statements,
                   peak_mb=_peak_mb())
    elif task == "nt-pyoxigraph":
        import gzip

        import pyoxigraph

        ox = pyoxigraph.Store()
        with gzip.open(LUBM["lubm10"], "rb") as f:
            ox.bulk_load(f, pyoxigraph.RdfFormat.N_TRIPLES)
        t0, c0 = time.perf_counter(), _cpu()
        with open(workdir / "out-ox.nt", "wb") as f:
            ox.dump(f, pyoxigraph.RdfFormat.N_TRIPLES, from_graph=pyoxigraph.DefaultGraph())
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, statements=len(ox),
                   peak_mb=_peak_mb())
    elif task == "ttl":
        from kg_engine.export import export

        store = _store(workdir, "lubm1")
        t0, c0 = time.perf_counter(), _cpu()
        res = export(store, workdir / "out.ttl", progress=False)
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, statements=res.statements,
                   peak_mb=_peak_mb())
    elif task == "ttl-rdflib":
        import gzip

        from rdflib import Graph

        g = Graph()
        with gzip.open(LUBM["lubm1"], "rb") as f:
            g.parse(f, format="nt")
        t0, c0 = time.perf_counter(), _cpu()
        with open(workdir / "out-rdflib.ttl", "wb") as f:
            g.serialize(destination=f, format="turtle")
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, statements=len(g),
                   peak_mb=_peak_mb())
    elif task in ("pagerank-networkx", "pagerank-rustworkx"):
        from kg_engine.analytics import analyze

        store = _store(workdir, "lubm10")
        t0, c0 = time.perf_counter(), _cpu()
        res = analyze(store, "pagerank", backend=task.split("-")[1])
        out.update(seconds=time.perf_counter() - t0, cpu=_cpu() - c0, written=res.written,
                   phases=res.seconds, peak_mb=_peak_mb())
    else:
        raise SystemExit(f"unknown task {task}")
    return out


def _run(task: str, workdir: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", task, "--workdir", str(workdir)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kg-analytics-bench"))
    ap.add_argument("--tasks", default="view,view-rdflib,nt,nt-pyoxigraph,ttl,ttl-rdflib,"
                    "pagerank-networkx,pagerank-rustworkx")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.workdir)))
        return
    prepare(args.workdir)
    results: dict[str, list[dict]] = {}
    loads = [os.getloadavg()]
    for _ in range(args.runs):  # interleaved, so drifting load hits every task alike
        for task in args.tasks.split(","):
            r = _run(task, args.workdir)
            results.setdefault(task, []).append(r)
            print(json.dumps(r), file=sys.stderr)
        loads.append(os.getloadavg())
    med = {t: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "cpu", "peak_mb")}
           for t, rs in results.items()}
    print(f"load average (1 min) during the run: {', '.join(f'{x[0]:.2f}' for x in loads)}")
    print(f"{'task':<22}{'median s':>10}{'cpu s':>9}{'peak MB':>9}  runs")
    for t, m in med.items():
        runs = ", ".join(f"{r['seconds']:.2f}" for r in results[t])
        print(f"{t:<22}{m['seconds']:>10.2f}{m['cpu']:>9.2f}{m['peak_mb']:>9.0f}  {runs}")
    summary = {}
    if "view" in med and "view-rdflib" in med:
        v = results["view"][0]
        summary["view"] = (f"to_networkx LUBM(10): {v['nodes']:,} nodes, {v['edges']:,} edges in "
                           f"{med['view']['seconds']:.2f} s, peak {med['view']['peak_mb']:.0f} MB; "
                           f"rdflib converter {med['view-rdflib']['seconds']:.2f} s "
                           f"({med['view-rdflib']['seconds'] / med['view']['seconds']:.1f}x ours)")
    if "view-rdflib-file" in med and "view" in med:
        r = results["view-rdflib-file"][0]
        summary["view-file"] = (
            f"rdflib parse + convert of the LUBM(10) file: {med['view-rdflib-file']['seconds']:.2f}"
            f" s, {r['edges']:,} edges, peak {med['view-rdflib-file']['peak_mb']:.0f} MB "
            f"({med['view-rdflib-file']['seconds'] / med['view']['seconds']:.1f}x our view)")
    if "nt" in med:
        n = results["nt"][0]["statements"]
        line = f"N-Triples export LUBM(10): {n / med['nt']['seconds']:,.0f} triples/s"
        if "nt-pyoxigraph" in med:
            line += f"; pyoxigraph dump {n / med['nt-pyoxigraph']['seconds']:,.0f} triples/s"
        summary["nt"] = line
    if "ttl" in med and "ttl-rdflib" in med:
        summary["ttl"] = (f"Turtle export LUBM(1): {med['ttl']['seconds']:.2f} s vs rdflib "
                          f"serializer {med['ttl-rdflib']['seconds']:.2f} s = "
                          f"{med['ttl']['seconds'] / med['ttl-rdflib']['seconds']:.2f}x")
    if "pagerank-networkx" in med and "pagerank-rustworkx" in med:
        nx_s, rx_s = med["pagerank-networkx"]["seconds"], med["pagerank-rustworkx"]["seconds"]
        summary["pagerank"] = (f"PageRank LUBM(10) end to end: networkx {nx_s:.2f} s, rustworkx "
                               f"{rx_s:.2f} s = {nx_s / rx_s:.1f}x faster")
        for t in ("pagerank-networkx", "pagerank-rustworkx"):
            ph = results[t][0]["phases"]
            summary[t] = ", ".join(f"{k} {v:.2f}s" for k, v in ph.items())
    for line in summary.values():
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "medians": med,
                                         "summary": summary, "loadavg": loads}, indent=2))


if __name__ == "__main__":
    main()
