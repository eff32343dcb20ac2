"""Rule-engine benchmark: LUBM(1)/(10) under OWL 2 RL on SQLite and PostgreSQL, owlrl, incremental.

What it measures (each job in its own subprocess, so peak RSS is the job's own):

* ``load``: bulk load of ``lubmN.nt.gz`` + ``univ-bench.ttl`` into a fresh store;
* ``reason``: ``RuleEngine(store, "owl-rl").materialise()`` — wall, CPU, rounds, derived,
  the slowest rules, peak RSS of the process after reasoning;
* ``queries``: the 14 LUBM queries + ``x01_employee.rq`` through kg-engine's SPARQL layer over
  the materialised store (pyoxigraph as a fallback), compared with ``answers_lubmN.tsv``;
* ``incremental`` (``--incremental``): load LUBM(N) without one department
  (``Department0.University0``), materialise, ``add`` the department, check the store equals a
  full recompute (SQL ``EXCEPT`` both ways, same store), ``remove`` it (DRed), check again;
* ``owlrl`` (``--owlrl``): owlrl 7.6.2 ``OWLRL_Semantics`` on LUBM(1) in memory, same run.
* ``live`` (``--live N``): a store with the ``owl-rl`` reasoning profile
  (``KnowledgeGraph.reason``). LUBM(1): the 15 queries through ``kg query`` with no flag
  (exact counts) and with ``--asserted-only``; each query's median time against the same
  query over a copy where the closure is one materialised default graph (no profile).
  LUBM(N): LUBM(N) without one department, reasoned; ``kg.load`` of the department (≈ 8k
  triples; maintenance in the load's transaction), ``store.remove_quads`` of it (DRed;
  checked: the closure is the one before), ``kg.load`` again (checked against a full
  recompute).

Usage::

    python benchmarks/rules.py --sizes 1 10 --backends sqlite postgresql --incremental 10 --owlrl \
        --json /tmp/rules_bench.json
    python benchmarks/rules.py --sizes --live 10 --backends sqlite    # live reasoning only

Data come from ``$KG_SHARED_DATA/lubm`` (default ``<repo>/../shared/data/lubm``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data")) / "lubm"
QUERIES = [f"q{i:02d}" for i in range(1, 15)] + ["x01"]
DEPT = "<http://www.Department0.University0.edu"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def expected(n: int) -> dict[str, int]:
    rows = (DATA / f"answers_lubm{n}.tsv").read_text().splitlines()[1:]
    return {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows if r.strip()}


def count_queries(store) -> tuple[dict[str, int], str, float]:
    """Counts of the 15 queries: kg-engine's SPARQL layer, pyoxigraph if that fails."""
    texts = {q: (DATA / (("x01_employee" if q == "x01" else q) + ".rq")).read_text() for q in QUERIES}
    t0 = time.perf_counter()
    try:
        from rdflib import Dataset

        from kg_engine.sparql import default_engine
        from kg_engine.store.rdflib_store import KgEngineStore

        ds = Dataset(store=KgEngineStore(store=store))
        eng = default_engine()
        out = {q: len(list(eng.query(ds, t, union_default_graph=True))) for q, t in texts.items()}
        return out, "kg-engine SPARQL", time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 - fall back to an independent engine
        print(f"SPARQL layer failed ({type(exc).__name__}: {exc}); counting with pyoxigraph", file=sys.stderr)
    from kg_engine.testing.oxigraph import oxigraph_store

    g = oxigraph_store(store.triples((None, None, None)))
    out = {q: len(list(g.query(t))) for q, t in texts.items()}
    return out, "pyoxigraph", time.perf_counter() - t0


def _server_cpu(store) -> float | None:
    """CPU seconds of the store's PostgreSQL backend process so far (a local server only):
    the work a client's ``process_time`` does not see, and unlike wall time not inflated by
    other jobs on the machine."""
    if store.dialect != "postgresql":
        return None
    pid = store.db.scalar("SELECT pg_backend_pid()")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 2)


def _open(backend: str, tmp: Path):
    from kg_engine.store import open_store

    if backend == "sqlite":
        return open_store(f"sqlite:///{tmp / 'kg.sqlite'}"), None
    from kg_engine.testing.postgres import TemporaryPostgres

    pg = TemporaryPostgres().start()
    return open_store(pg.new_database_url()), pg


def job_reason(backend: str, n: int) -> dict:
    from kg_engine.rules.engine import RuleEngine

    with tempfile.TemporaryDirectory(prefix="kg_rules_bench_") as d:
        store, pg = _open(backend, Path(d))
        try:
            t0 = time.perf_counter()
            store.load([DATA / f"lubm{n}.nt.gz", DATA / "univ-bench.ttl"])
            load_s = time.perf_counter() - t0
            asserted = len(store)
            s0 = _server_cpu(store)
            res = RuleEngine(store, "owl-rl").materialise()
            server_s = _cpu_delta(_server_cpu(store), s0)
            rss = _rss_mb()
            counts, how, q_s = count_queries(store)
            exp = expected(n)
            return {
                "job": "reason", "backend": backend, "lubm": n, "asserted": asserted,
                "load_s": round(load_s, 2), "reason_s": round(res.seconds, 2),
                "reason_cpu_s": round(res.cpu_seconds, 2), "reason_server_cpu_s": server_s,
                "rounds": res.rounds,
                "derived": res.derived, "closure": asserted + res.derived,
                "peak_rss_mb": round(rss), "violations": sum(res.violation_counts.values()),
                "top_rules": [(p.rule, round(p.seconds, 2), p.fired) for p in res.profile[:6]],
                "queries_by": how, "queries_s": round(q_s, 2), "counts": counts,
                "mismatches": {q: (counts.get(q), exp[q]) for q in exp if counts.get(q) != exp[q]},
                "loadavg": os.getloadavg()[0],
            }
        finally:
            store.close()
            if pg is not None:
                pg.stop()


def _split(n: int, tmp: Path) -> tuple[Path, Path, int]:
    base, dept = tmp / "base.nt", tmp / "dept.nt"
    k = 0
    with gzip.open(DATA / f"lubm{n}.nt.gz", "rt", encoding="utf-8") as f, \
            base.open("w", encoding="utf-8") as b, dept.open("w", encoding="utf-8") as dd:
        for line in f:
            if line.startswith((DEPT + ".", DEPT + ">", DEPT + "/")):
                dd.write(line)
                k += 1
            else:
                b.write(line)
    return base, dept, k


def _same_as_recompute(store, engine) -> tuple[bool, float]:
    """Snapshot the store, recompute the closure from scratch, compare (same ids)."""
    db = store.db
    temp = "TEMP" if store.dialect == "sqlite" else "TEMPORARY"
    db.execute("DROP TABLE IF EXISTS kg_bench_snap")
    db.execute(f"CREATE {temp} TABLE kg_bench_snap AS SELECT DISTINCT s, p, o FROM kg_quads")
    t0 = time.perf_counter()
    engine.materialise(recompute=True)
    full_s = time.perf_counter() - t0
    a = db.scalar("SELECT COUNT(*) FROM (SELECT s, p, o FROM kg_quads EXCEPT SELECT s, p, o FROM kg_bench_snap) x")
    b = db.scalar("SELECT COUNT(*) FROM (SELECT s, p, o FROM kg_bench_snap EXCEPT SELECT s, p, o FROM kg_quads) x")
    return (a == 0 and b == 0), full_s


def job_incremental(backend: str, n: int) -> dict:
    from rdflib import Graph

    from kg_engine.rules.engine import RuleEngine

    with tempfile.TemporaryDirectory(prefix="kg_rules_inc_") as d:
        tmp = Path(d)
        base, dept, k = _split(n, tmp)
        store, pg = _open(backend, tmp)
        try:
            store.load([base, DATA / "univ-bench.ttl"])
            eng = RuleEngine(store, "owl-rl")
            eng.materialise()
            triples = list(Graph().parse(dept, format="nt"))
            s0 = _server_cpu(store)
            add = eng.add(triples)
            add_server = _cpu_delta(_server_cpu(store), s0)
            ok_add, full_s = _same_as_recompute(store, eng)
            s0 = _server_cpu(store)
            rem = eng.remove(triples)
            rem_server = _cpu_delta(_server_cpu(store), s0)
            ok_rem, _ = _same_as_recompute(store, eng)
            return {
                "job": "incremental", "backend": backend, "lubm": n, "dept_triples": k,
                "add_s": round(add.seconds, 2), "add_cpu_s": round(add.cpu_seconds, 2),
                "add_server_cpu_s": add_server, "remove_server_cpu_s": rem_server,
                "add_derived": add.derived, "add_equals_recompute": ok_add,
                "remove_s": round(rem.seconds, 2), "remove_cpu_s": round(rem.cpu_seconds, 2),
                "remove_removed": rem.removed, "remove_equals_recompute": ok_rem,
                "full_recompute_s": round(full_s, 2), "peak_rss_mb": round(_rss_mb()),
                "loadavg": os.getloadavg()[0],
            }
        finally:
            store.close()
            if pg is not None:
                pg.stop()


def _snapshot(db, name: str) -> None:
    """The store's triples (any graph) into temp table ``name`` (compared in SQL: keeping
    millions of Python tuples alive would make the timed steps pay for garbage collection)."""
    db.execute(f"DROP TABLE IF EXISTS {name}")
    db.execute(f"CREATE TEMPORARY TABLE {name} AS SELECT DISTINCT s, p, o FROM kg_quads")


def _equals_snapshot(db, name: str) -> bool:
    a = db.scalar(f"SELECT COUNT(*) FROM (SELECT s, p, o FROM kg_quads EXCEPT SELECT s, p, o FROM {name}) x")
    b = db.scalar(f"SELECT COUNT(*) FROM (SELECT s, p, o FROM {name} EXCEPT SELECT s, p, o FROM kg_quads) x")
    return a == 0 and b == 0


def _cli_rows(url: str, text_file: Path, *flags: str) -> int:
    """Rows ``kg query -f FILE --format tsv [flags]`` prints (in-process: the same command)."""
    from typer.testing import CliRunner

    from kg_engine.cli.app import app

    r = CliRunner().invoke(app, ["query", "--db", url, "-f", str(text_file), "--format", "tsv",
                                 *flags])
    if r.exit_code != 0:
        raise RuntimeError(r.output)
    return len(r.output.splitlines()) - 1


def _median_ms(kgs: tuple, text: str, runs: int = 15) -> tuple[float, ...]:
    """Median ms of ``text`` on each store, runs interleaved (the load of a shared machine
    then hits both alike)."""
    import statistics

    times: list[list[float]] = [[] for _ in kgs]
    for kg in kgs:
        list(kg.query(text))  # warm-up: plan cache, page cache
    for _ in range(runs):
        for kg, t in zip(kgs, times):
            t0 = time.perf_counter()
            list(kg.query(text))
            t.append(time.perf_counter() - t0)
    return tuple(statistics.median(t) * 1000 for t in times)


def job_live(backend: str, n: int) -> dict:
    import math
    import shutil

    from rdflib import Graph

    from kg_engine.api import KnowledgeGraph
    from kg_engine.rules.engine import RuleEngine

    out: dict = {"job": "live", "backend": backend, "lubm": n}
    with tempfile.TemporaryDirectory(prefix="kg_rules_live_") as d:
        tmp = Path(d)
        # -- LUBM(1): answers through `kg query`, cost against one materialised graph
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'l1.sqlite'}"
            kg = KnowledgeGraph(url)
            kg.load([DATA / "lubm1.nt.gz", DATA / "univ-bench.ttl"])
            kg.reason("owl-rl")
            kg.store.refresh_stats()
            files = {q: DATA / (("x01_employee" if q == "x01" else q) + ".rq") for q in QUERIES}
            exp = expected(1)
            counts = {q: _cli_rows(url, f) for q, f in files.items()}
            asserted = {q: _cli_rows(url, f, "--asserted-only") for q, f in files.items()}
            out["lubm1_counts"] = counts
            out["lubm1_mismatches"] = {q: (counts[q], exp[q]) for q in exp if counts[q] != exp[q]}
            out["lubm1_asserted_only"] = asserted
            gid = kg.store.inferred_graph_id()
            kg.close()
            mat = tmp / "mat.sqlite"
            shutil.copy(tmp / "l1.sqlite", mat)
            kgm = KnowledgeGraph(f"sqlite:///{mat}")
            kgm.store.db.execute("UPDATE kg_quads SET g = 0 WHERE g = ?", (gid,))
            kgm.reason_off()
            kgm.store.refresh_stats()
            kg = KnowledgeGraph(url)
            ratios, times = {}, {}
            for q, f in files.items():
                text = f.read_text()
                assert len(list(kgm.query(text))) == exp[q]
                a, b = _median_ms((kg, kgm), text)
                times[q] = (round(a, 2), round(b, 2))
                ratios[q] = round(a / b, 3)
            out["lubm1_ms_inferred_vs_materialised"] = times
            out["lubm1_ratio"] = ratios
            out["lubm1_ratio_geomean"] = round(
                math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios)), 3)
            out["lubm1_ratio_total"] = round(sum(a for a, _ in times.values())
                                             / sum(b for _, b in times.values()), 3)
            kg.close()
            kgm.close()
        # -- LUBM(n): one department more, deleted again, loaded again; the closure is
        # compared with the one before (delete) and with a full recompute (load)
        base, dept, k = _split(n, tmp)
        store, pg = _open(backend, tmp)
        url = store.url
        store.close()
        try:
            kg = KnowledgeGraph(url)
            kg.load([base, DATA / "univ-bench.ttl"])
            t0 = time.perf_counter()
            kg.reason("owl-rl")
            out["reason_s"] = round(time.perf_counter() - t0, 2)
            db = kg.store.db
            _snapshot(db, "kg_bench_before")
            t0, c0 = time.perf_counter(), time.process_time()
            res = kg.load(dept)
            out["load_dept_s"] = round(time.perf_counter() - t0, 2)
            out["load_dept_cpu_s"] = round(time.process_time() - c0, 2)
            out["dept_triples"], out["dept_new"] = k, res.added
            _snapshot(db, "kg_bench_loaded")
            quads = [(s, p, o) for s, p, o in Graph().parse(dept, format="nt")]
            t0, c0 = time.perf_counter(), time.process_time()
            removed = kg.store.remove_quads(quads)
            out["delete_dept_s"] = round(time.perf_counter() - t0, 2)
            out["delete_dept_cpu_s"] = round(time.process_time() - c0, 2)
            out["dept_removed"] = removed
            out["delete_restores_closure"] = _equals_snapshot(db, "kg_bench_before")
            kg.load(dept)
            out["reload_same_closure"] = _equals_snapshot(db, "kg_bench_loaded")
            ok_add, full_s = _same_as_recompute(kg.store, RuleEngine(kg.store, "owl-rl"))
            out["load_equals_recompute"], out["full_recompute_s"] = ok_add, round(full_s, 2)
            kg.close()
        finally:
            if pg is not None:
                pg.stop()
    out["loadavg"] = os.getloadavg()[0]
    return out


def job_owlrl(n: int) -> dict:
    import owlrl
    from rdflib import Graph

    g = Graph()
    t0 = time.perf_counter()
    with gzip.open(DATA / f"lubm{n}.nt.gz", "rb") as f:
        g.parse(f, format="nt")
    g.parse(DATA / "univ-bench.ttl", format="turtle")
    load_s = time.perf_counter() - t0
    before = len(g)
    t0, c0 = time.perf_counter(), time.process_time()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    return {
        "job": "owlrl", "lubm": n, "load_s": round(load_s, 2),
        "reason_s": round(time.perf_counter() - t0, 2), "reason_cpu_s": round(time.process_time() - c0, 2),
        "closure": len(g), "asserted": before, "peak_rss_mb": round(_rss_mb()),
        "loadavg": os.getloadavg()[0],
    }


def run_job(spec: str, timeout: int) -> dict:
    cmd = [sys.executable, __file__, "--job", spec]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"job": spec, "error": f"did not finish in {timeout} s"}
    if out.returncode != 0:
        return {"job": spec, "error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 10])
    ap.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    ap.add_argument("--incremental", type=int, nargs="*", default=[], help="LUBM sizes for the add/remove test")
    ap.add_argument("--live", type=int, nargs="*", default=[],
                    help="LUBM sizes for the live-reasoning test (answers, add/delete a department)")
    ap.add_argument("--owlrl", action="store_true", help="also run owlrl on LUBM(1)")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--json", type=Path, help="append results (JSON lines) here")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        kind, *rest = args.job.split(":")
        if kind == "reason":
            res = job_reason(rest[0], int(rest[1]))
        elif kind == "incremental":
            res = job_incremental(rest[0], int(rest[1]))
        elif kind == "live":
            res = job_live(rest[0], int(rest[1]))
        else:
            res = job_owlrl(int(rest[0]))
        print(json.dumps(res))
        return
    if not DATA.is_dir():
        sys.exit(f"LUBM data not found in {DATA} (set KG_SHARED_DATA)")
    specs = [f"reason:{b}:{n}" for n in args.sizes for b in args.backends]
    specs += [f"incremental:{b}:{n}" for n in args.incremental for b in args.backends]
    specs += [f"live:{b}:{n}" for n in args.live for b in args.backends]
    if args.owlrl:
        specs.append("owlrl:1")
    for spec in specs:
        res = run_job(spec, args.timeout)
        line = json.dumps(res)
        print(line, flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
