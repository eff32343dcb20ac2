"""SPARQL benchmark: kg-engine's SQL compiler vs rdflib and pyoxigraph (in-memory).

Queries: the 14 LUBM queries (``../shared/data/lubm/q*.rq``, run on the data as loaded, no
reasoning) plus five query shapes from ``shared/notes/store_sparql.md`` written over LUBM data
(star, chain, OPTIONAL, regex FILTER, GROUP BY). Each engine runs every query once as warm-up,
then ``--runs`` timed runs (rows materialised as Python tuples); the table gives medians.

* kg-engine, three ways over one SQLite file store (loaded once into ``--db-dir`` and reused):
  ``api`` = ``KnowledgeGraph.query(text)`` with every row consumed as users do
  (``[tuple(row) for row in result]``: the public path, plan cache warm); ``cli`` = the
  ``kg query --format json`` command run in-process (typer's runner: opens the store
  read-only, a new query engine per call, so parse, compile and term look-ups are paid as in a
  fresh ``kg`` process; writes the W3C JSON; no interpreter start-up and imports: whole
  processes are ``benchmarks/query_process.py``); ``internal`` =
  ``compile_query`` once, then ``CompiledQuery.execute`` (SQL + term decoding only).
  "first run" = parse + compile of the query text, measured on its first occurrence.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def api_runner(kg, text: str) -> Callable[[], list[tuple]]:
    """``KnowledgeGraph.query`` with every row consumed (what a user's loop costs)."""
    def run() -> list[tuple]:
        return [tuple(row) for row in kg.query(text)]
    return run


def cli_runner(url: str, text: str) -> Callable[[], _JsonOutput]:
    """``kg query --format json`` in-process, each call with what a fresh ``kg`` process has:
    the store opened by the command (cold id → term cache) and a new query engine (no parsed
    query or compiled plan cached). Not included: interpreter start-up and imports."""
    from typer.testing import CliRunner

    from kg_engine.cli.app import app_for
    from kg_engine.sparql import engine

    args = ["query", text, "--format", "json", "--db", url]
    app = app_for(args)  # what the `kg` command builds for this command line
    runner = CliRunner()

    def run() -> _JsonOutput:
        kept, engine._default = engine._default, None  # the command makes its own
        try:
            out = runner.invoke(app, args)
        finally:
            engine._default = kept
        if out.exit_code != 0:
            raise RuntimeError(f"kg query failed: {out.output[-500:]}")
        return _JsonOutput(out.stdout)
    return run


class _JsonOutput:
    """The command's stdout; parsed only when the row count is asked (after the timing), so
    the CLI column times the command, not the harness reading its output."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __len__(self) -> int:
        return len(json.loads(self.text)["results"]["bindings"])


def ours_runner(store, text: str) -> tuple[Callable[[], list[tuple]] | None, dict[str, Any]]:
    """Compile once (first-run time measured), return the warm run function."""
    from kg_engine.sparql.compiler import compile_query
    t = time.perf_counter()
    cq = compile_query(store, text)
    info: dict[str, Any] = {"first_ms": (time.perf_counter() - t) * 1000, "full": cq.full,
                            "declined": cq.declined}
    if not cq.full:
        return None, info

    def run() -> list[tuple]:
        _, rows = cq.execute(store)
        return [tuple(r) for r in rows]
    return run, info


def first_run_breakdown(store, qs: dict[str, str]) -> dict[str, dict[str, float]]:
    """Fast-path parse, compile, and (for reference) rdflib's parser, per query."""
    from kg_engine.sparql.compiler import compile_query, parse_algebra
    from kg_engine.sparql.compiler.fastparse import parse
    res = {}
    for name, text in qs.items():
        t0 = time.perf_counter()
        algebra = parse(text)
        t1 = time.perf_counter()
        compile_query(store, algebra if algebra is not None else text)
        t2 = time.perf_counter()
        parse_algebra(text)
        t3 = time.perf_counter()
        res[name] = {"parse_ms": (t1 - t0) * 1000, "compile_ms": (t2 - t1) * 1000,
                     "rdflib_parse_ms": (t3 - t2) * 1000}
    return res


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def run_all(store, ox, g, qs: dict[str, str], runs: int, cap_s: float, kg: Any = None,
            url: str | None = None) -> dict[str, dict[str, Any]]:
    """Per query: every engine warmed up, then ``runs`` rounds in which each engine runs once
    (interleaved, so all engines see the same machine load); medians per engine.

    rdflib (``g``) is pure Python: a query still running after ``cap_s`` is stopped with
    SIGALRM and reported as "> cap"."""
    import signal

    from rdflib.plugins.sparql import prepareQuery
    old = signal.signal(signal.SIGALRM, _alarm)
    out: dict[str, dict[str, Any]] = {}
    for name, text in qs.items():
        ours, info = ours_runner(store, text)
        engines: dict[str, Callable[[], list]] = {}
        if ours is not None:
            engines["ours"] = ours
        if kg is not None:
            engines["api"] = api_runner(kg, text)
        if url is not None:
            engines["cli"] = cli_runner(url, text)
        engines["pyoxigraph"] = lambda text=text: [tuple(s) for s in ox.query(text)]
        if g is not None:
            pq = prepareQuery(text)
            engines["rdflib"] = lambda pq=pq: [tuple(r) for r in g.query(pq)]
        rec: dict[str, Any] = {"ours_info": info}
        times: dict[str, list[float]] = {k: [] for k in engines}
        rows: dict[str, int | None] = {}
        slow: set[str] = set()
        for k, fn in engines.items():  # warm-up (rdflib: capped)
            signal.setitimer(signal.ITIMER_REAL, cap_s if k == "rdflib" else 0)
            t = time.perf_counter()
            try:
                rows[k] = len(fn())
            except _Timeout:
                rows[k] = None
                rec["rdflib_capped"] = True
                times[k] = [cap_s]
                slow.add(k)
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            warm = time.perf_counter() - t
            if warm > 20.0:  # too slow to repeat: the single run is the measurement
                times[k] = [warm]
                slow.add(k)
        cpu: dict[str, list[float]] = {k: [] for k in engines}
        for _ in range(runs):
            for k, fn in engines.items():
                if k in slow:
                    continue
                c = time.process_time()
                t = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t)
                cpu[k].append(time.process_time() - c)
        for k in engines:
            rec[k] = {"ms": statistics.median(times[k]) * 1000, "rows": rows[k],
                      "cpu_ms": statistics.median(cpu[k]) * 1000 if cpu[k] else None}
        out[name] = rec
        print(f"    {name}: " + ", ".join(f"{k} {rec[k]['ms']:.2f} ms ({rows[k]} rows)" for k in engines),
              file=sys.stderr, flush=True)
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
    ap.add_argument("--no-cli", action="store_true", help="skip the in-process `kg query` column")
    ap.add_argument("--only", default=None, help="comma-separated query names (default: all)")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"LUBM data not found in {DATA} (set KG_SHARED_DATA)", file=sys.stderr)
        return 2
    qs = queries()
    if args.only:
        qs = {k: v for k, v in qs.items() if k in args.only.split(",")}
    db_dir = Path(args.db_dir)
    results: dict[str, Any] = {"scale": args.scale, "rdflib_scale": args.rdflib_scale,
                               "runs": args.runs, "loadavg_start": os.getloadavg()}
    bad = 0
    scales = [args.scale] if args.rdflib_scale in ("none", args.scale) else [args.rdflib_scale, args.scale]
    for scale in scales:
        print(f"== LUBM({scale})", flush=True)
        gc.collect()
        store = ours_store(scale, db_dir)
        url = f"sqlite:///{db_dir / f'kg_bench_lubm{scale}.sqlite'}"
        from kg_engine import KnowledgeGraph
        kg = KnowledgeGraph(url, readonly=True)
        ox = oxigraph_store(scale)
        g = rdflib_graph(scale) if args.rdflib_scale == scale else None
        # rdflib's in-memory graph is millions of GC-tracked objects: without this, every
        # garbage collection triggered by any engine's result objects would scan it (without
        # rdflib the heap is left as a user's process has it: the collector's cost counts)
        gc.collect()
        if g is not None:
            gc.freeze()
        cpu = time.process_time()
        res = run_all(store, ox, g, qs, args.runs, args.rdflib_cap, kg=kg,
                      url=None if args.no_cli else url)
        cpu = time.process_time() - cpu
        del ox, g
        kg.close()
        gc.unfreeze()
        gc.collect()
        breakdown = first_run_breakdown(store, qs)
        results[f"lubm{scale}"] = {"results": res, "first_run": breakdown, "cpu_s": cpu,
                                   "loadavg": os.getloadavg()}
        print(f"(load average {os.getloadavg()[0]:.1f}; CPU {cpu:.1f} s)")
        print("| query | rows | KnowledgeGraph.query ms | kg query --format json ms | internal ms "
              "| pyoxigraph ms | rdflib ms | speed-up vs rdflib | API ÷ pyoxigraph wall (CPU) | CLI ÷ API "
              "| first run: parse + compile ms (rdflib parser) |")
        print("|" + "---|" * 11)
        for name in qs:
            rec = res[name]
            x = rec["pyoxigraph"]
            if "ours" not in rec:
                print(f"| {name} | – | declined: {rec['ours_info']['declined']} | {fmt(x['ms'])} | | | | |")
                bad += 1
                continue
            o = rec["ours"]
            r = rec.get("rdflib")
            if o["rows"] != x["rows"] or (r and r["rows"] is not None and r["rows"] != x["rows"]):
                print(f"!! row count mismatch on {name}: ours {o['rows']} pyoxigraph {x['rows']} "
                      f"rdflib {r['rows'] if r else '-'}")
                bad += 1
            capped = bool(rec.get("rdflib_capped"))
            rd = ("> " if capped else "") + fmt(r["ms"]) if r else "–"
            b = breakdown[name]
            a = rec.get("api", o)
            c = rec.get("cli")
            if a["rows"] != x["rows"] or (c and c["rows"] != x["rows"]):
                print(f"!! row count mismatch on {name}: api {a['rows']} cli "
                      f"{c['rows'] if c else '-'} pyoxigraph {x['rows']}")
                bad += 1
            speed = f"{'≥ ' if capped else ''}{r['ms'] / a['ms']:.0f}×" if r else "–"
            cpu_ratio = (f"{a['cpu_ms'] / x['cpu_ms']:.2f}" if a.get("cpu_ms") and x.get("cpu_ms")
                         else "–")
            print(f"| {name} | {o['rows']} | {fmt(a['ms'])} | {fmt(c['ms']) if c else '–'} "
                  f"| {fmt(o['ms'])} | {fmt(x['ms'])} | {rd} | {speed} "
                  f"| {a['ms'] / x['ms']:.2f} ({cpu_ratio}) | {c['ms'] / a['ms'] if c else 0:.2f} "
                  f"| {fmt(b['parse_ms'])} + {fmt(b['compile_ms'])} "
                  f"({fmt(b['rdflib_parse_ms'])}) |", flush=True)
        store.close()
    results["loadavg_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
