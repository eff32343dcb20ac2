"""SPARQL benchmark: kg-engine's SQL compiler vs rdflib and pyoxigraph (in-memory).

Queries: the 14 LUBM queries (``../shared/data/lubm/q*.rq``, run on the data as loaded, no
reasoning) plus five query shapes from ``shared/notes/store_sparql.md`` written over LUBM data
(star, chain, OPTIONAL, regex FILTER, GROUP BY). Each engine runs every query once as warm-up,
then ``--runs`` timed runs (rows materialised as Python tuples); the table gives medians.

* kg-engine: SQLite file store, query compiled once (``compile_query``; the engine's plan
  cache does this) and executed warm; "first run" = parse + compile of the query text,
  measured on its first occurrence in the process.
* pyoxigraph: ``pyoxigraph.Store()`` in memory, ``bulk_load``.
* rdflib: ``Graph()`` in memory, ``prepareQuery`` once then ``Graph.query`` (warm). rdflib
  holds LUBM(10) only with ~50 s load and several GB, so its column uses ``--rdflib-scale``
  (default 1) and the ratios against rdflib are taken on that scale, in the same run.

Row counts of kg-engine must equal pyoxigraph's on the same data (a mismatch is printed and
makes the exit status 1).

Usage::

    python benchmarks/sparql.py --scale 10 --rdflib-scale 1 --runs 5 [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data")) / "lubm"

UB = "PREFIX ub: <http://swat.cse.lehigh.edu/onto/univ-bench.owl#>\n"
SHAPES: dict[str, str] = {
    "star": UB + """SELECT ?x ?n ?e ?t WHERE {
  ?x a ub:GraduateStudent ; ub:memberOf <http://www.Department0.University0.edu> ;
     ub:name ?n ; ub:emailAddress ?e ; ub:telephone ?t }""",
    "chain": UB + """SELECT ?s ?p ?d WHERE {
  ?s ub:advisor ?p . ?p ub:worksFor ?d . ?d ub:subOrganizationOf <http://www.University0.edu> }""",
    "optional": UB + """SELECT ?x ?n ?c WHERE {
  ?x a ub:GraduateStudent ; ub:name ?n . OPTIONAL { ?x ub:teachingAssistantOf ?c } }""",
    "regex": UB + """SELECT ?x ?n WHERE {
  ?x a ub:UndergraduateStudent ; ub:name ?n . FILTER regex(?n, "^undergraduatestudent1", "i") }""",
    "groupby": UB + """SELECT ?d (COUNT(?s) AS ?n) WHERE { ?s ub:memberOf ?d }
GROUP BY ?d ORDER BY DESC(?n) ?d LIMIT 10""",
}


def queries() -> dict[str, str]:
    out = {p.stem: p.read_text() for p in sorted(DATA.glob("q*.rq"))}
    out.update(SHAPES)
    return out


def median_ms(fn: Callable[[], Any], runs: int, budget_s: float = 20.0) -> tuple[float, Any]:
    """Median wall time (ms) of ``runs`` runs after one warm-up run. When the warm-up alone
    takes longer than ``budget_s``, that single run is the measurement."""
    t = time.perf_counter()
    result = fn()  # warm-up
    warm = time.perf_counter() - t
    if warm > budget_s:
        return warm * 1000, result
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result


# -- engines ------------------------------------------------------------------------------
def ours_store(scale: str, db_dir: Path):
    from kg_engine.store import open_store
    path = db_dir / f"kg_bench_lubm{scale}.sqlite"
    fresh = not path.exists()
    store = open_store(f"sqlite:///{path}")
    t = time.perf_counter()
    if fresh or store.count() == 0:
        store.load(DATA / f"lubm{scale}.nt.gz")
        store.refresh_stats()
        print(f"  kg-engine: loaded LUBM({scale}) in {time.perf_counter() - t:.1f} s", flush=True)
    return store


def oxigraph_store(scale: str):
    import pyoxigraph as ox
    st = ox.Store()
    t = time.perf_counter()
    with gzip.open(DATA / f"lubm{scale}.nt.gz", "rb") as f:
        st.bulk_load(f.read(), format=ox.RdfFormat.N_TRIPLES)
    print(f"  pyoxigraph: loaded LUBM({scale}) in {time.perf_counter() - t:.1f} s", flush=True)
    return st


def rdflib_graph(scale: str):
    import rdflib
    g = rdflib.Graph()
    t = time.perf_counter()
    with gzip.open(DATA / f"lubm{scale}.nt.gz", "rb") as f:
        g.parse(f, format="nt")
    print(f"  rdflib: loaded LUBM({scale}) in {time.perf_counter() - t:.1f} s", flush=True)
    return g


def run_ours(store, qs: dict[str, str], runs: int) -> dict[str, dict[str, Any]]:
    from kg_engine.sparql.compiler import compile_query
    out = {}
    for name, text in qs.items():
        t = time.perf_counter()
        cq = compile_query(store, text)
        first = (time.perf_counter() - t) * 1000
        if not cq.full:
            out[name] = {"full": False, "declined": cq.declined, "first_ms": first}
            continue

        def run() -> list[tuple]:
            _, rows = cq.execute(store)
            return [tuple(r) for r in rows]
        ms, rows = median_ms(run, runs)
        out[name] = {"full": True, "first_ms": first, "ms": ms, "rows": len(rows)}
        print(f"    kg-engine {name}: {ms:.2f} ms, {len(rows)} rows", file=sys.stderr, flush=True)
    return out


def first_run_breakdown(store, qs: dict[str, str]) -> dict[str, dict[str, float]]:
    """Parse (rdflib) vs compile, each measured in a fresh state for every query."""
    from kg_engine.sparql.compiler import compile_query, parse_algebra
    res = {}
    for name, text in qs.items():
        t0 = time.perf_counter()
        algebra = parse_algebra(text)
        t1 = time.perf_counter()
        compile_query(store, algebra)
        t2 = time.perf_counter()
        res[name] = {"parse_ms": (t1 - t0) * 1000, "compile_ms": (t2 - t1) * 1000}
    return res


def run_oxigraph(st, qs: dict[str, str], runs: int) -> dict[str, dict[str, Any]]:
    out = {}
    for name, text in qs.items():
        def run() -> list[tuple]:
            return [tuple(sol) for sol in st.query(text)]
        ms, rows = median_ms(run, runs)
        out[name] = {"ms": ms, "rows": len(rows)}
        print(f"    pyoxigraph {name}: {ms:.2f} ms, {len(rows)} rows", file=sys.stderr, flush=True)
    return out


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def run_rdflib(g, qs: dict[str, str], runs: int, cap_s: float) -> dict[str, dict[str, Any]]:
    """rdflib's pure-Python evaluator; a query still running after ``cap_s`` is stopped
    (SIGALRM) and reported as "> cap"."""
    import signal
    from rdflib.plugins.sparql import prepareQuery
    out = {}
    old = signal.signal(signal.SIGALRM, _alarm)
    for name, text in qs.items():
        pq = prepareQuery(text)

        def run() -> list[tuple]:
            return [tuple(r) for r in g.query(pq)]
        signal.setitimer(signal.ITIMER_REAL, cap_s)
        try:
            ms, rows = median_ms(run, runs, budget_s=min(20.0, cap_s / (runs + 1)))
        except _Timeout:
            out[name] = {"ms": cap_s * 1000, "rows": None, "capped": True}
            print(f"    rdflib {name}: > {cap_s:.0f} s (stopped)", file=sys.stderr, flush=True)
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out[name] = {"ms": ms, "rows": len(rows)}
        print(f"    rdflib {name}: {ms:.2f} ms, {len(rows)} rows", file=sys.stderr, flush=True)
    signal.signal(signal.SIGALRM, old)
    return out


def fmt(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="10", choices=["1", "10"])
    ap.add_argument("--rdflib-scale", default="1", choices=["1", "10", "none"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db-dir", default=tempfile.gettempdir())
    ap.add_argument("--rdflib-cap", type=float, default=60.0,
                    help="seconds after which an rdflib query is stopped and reported as '> cap'")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"LUBM data not found in {DATA} (set KG_SHARED_DATA)", file=sys.stderr)
        return 2
    qs = queries()
    db_dir = Path(args.db_dir)
    results: dict[str, Any] = {"scale": args.scale, "rdflib_scale": args.rdflib_scale,
                               "runs": args.runs, "loadavg_start": os.getloadavg()}
    bad = 0
    scales = [args.scale] if args.rdflib_scale in ("none", args.scale) else [args.rdflib_scale, args.scale]
    for scale in scales:
        print(f"== LUBM({scale})", flush=True)
        gc.collect()
        store = ours_store(scale, db_dir)
        ox = oxigraph_store(scale)
        cpu = time.process_time()
        ours = run_ours(store, qs, args.runs)
        oxr = run_oxigraph(ox, qs, args.runs)
        del ox
        gc.collect()
        rd = None
        if args.rdflib_scale == scale:
            g = rdflib_graph(scale)
            rd = run_rdflib(g, qs, args.runs, args.rdflib_cap)
            del g
            gc.collect()
        breakdown = first_run_breakdown(store, qs)
        results[f"lubm{scale}"] = {"ours": ours, "pyoxigraph": oxr, "rdflib": rd,
                                   "first_run": breakdown,
                                   "cpu_s": time.process_time() - cpu, "loadavg": os.getloadavg()}
        hdr = "| query | rows | kg-engine ms | pyoxigraph ms | rdflib ms | × vs rdflib | ÷ pyoxigraph | first run ms (parse + compile) |"
        print(hdr)
        print("|" + "---|" * 8)
        for name in qs:
            o, x = ours[name], oxr[name]
            r = rd[name] if rd else None
            if not o.get("full"):
                print(f"| {name} | – | declined: {o['declined']} | {fmt(x['ms'])} | | | | |")
                bad += 1
                continue
            if o["rows"] != x["rows"] or (r and r["rows"] is not None and r["rows"] != x["rows"]):
                print(f"!! row count mismatch on {name}: ours {o['rows']} pyoxigraph {x['rows']} "
                      f"rdflib {r['rows'] if r else '-'}")
                bad += 1
            speed = (f"{'≥' if r.get('capped') else ''}{r['ms'] / o['ms']:.0f}×" if r else "–")
            ratio = f"{o['ms'] / x['ms']:.2f}"
            b = breakdown[name]
            print(f"| {name} | {o['rows']} | {fmt(o['ms'])} | {fmt(x['ms'])} | {('> ' if r and r.get('capped') else '') + fmt(r['ms']) if r else '–'} "
                  f"| {speed} | {ratio} | {fmt(o['first_ms'])} ({fmt(b['parse_ms'])} + {fmt(b['compile_ms'])}) |",
                  flush=True)
        store.close()
    results["loadavg_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
