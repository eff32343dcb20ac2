"""Scale benchmark: LUBM(10) and ~10 M triples (LUBM(10) copies), SQLite and PostgreSQL.

The 10 M workload is made at run time (never committed) by :func:`write_copies`: copy 0 is
``lubm10.nt.gz`` as it is; copy *k* ≥ 1 is the same file with every ``UniversityN.edu`` renamed
``UniversityN-ck.edu`` (IRIs of universities, departments, people, courses, publications and
the e-mail literals), so the copies are disjoint and shaped the same; schema IRIs are untouched.
8 copies = 10,180,600 triples.

Each (backend, size) job runs in a fresh process (peak RSS is the job's own) on a fresh store
(SQLite: a file; PostgreSQL: a throwaway cluster per job, default durability,
``shared_buffers`` from ``--pg-shared-buffers``, 1GB by default) and measures,
through the calls users make:

* ``load``: ``KnowledgeGraph.load(file)`` (wall, process CPU);
* ``queries``: LUBM q01–q14 and the five shapes of ``benchmarks/sparql.py`` on the asserted data
  through ``KnowledgeGraph.query()`` with every row consumed: one warm-up, then the median of
  ``--runs`` runs (a query whose warm-up exceeds 60 s is measured by that single run);
  wall and process CPU medians (on SQLite the process CPU is all the work; on PostgreSQL
  the server's share is not in it);
* ``reason``: ``kg.load(univ-bench.ttl)`` then ``kg.reason("owl-rl")`` (the user path: the
  closure becomes the store's reasoning profile); then the 14 LUBM queries + ``x01`` once, their
  row counts checked against ``answers_lubm10.tsv``: queries over every university
  (:data:`SCALED`) must give exactly ``copies ×`` the LUBM(10) answer, queries naming
  University0 (:data:`FLAT`) the LUBM(10) answer itself — the correctness test of the scale-up;
* ``rdfs`` (in ``--jobs`` by default): a separate job per size: load + schema +
  ``kg.reason("rdfs")``;
* memory: peak RSS of the job's process (``ru_maxrss``), its peak anonymous and
  file-backed parts (sampled; SQLite memory-maps the database file) and, on PostgreSQL, the largest sum over
  the cluster's processes (postmaster + backends + auxiliaries) of RSS and of PSS
  (``/proc/PID/smaps_rollup``; PSS shares the shared-buffers pages out instead of counting them
  in every backend), sampled every 0.5 s; and the server's CPU seconds during the load and
  the reasoning (``/proc/PID/stat`` of the cluster's processes, before and after).

Usage::

    KG_SHARED_DATA=../shared/data python benchmarks/scale.py --copies 1 8 \\
        --backends sqlite postgresql --runs 3 --json /tmp/scale.json

Results of each job are also written to ``--out-dir`` as they finish (a long run that is
stopped keeps what it measured).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data")) / "lubm"
UNIVERSITY = re.compile(rb"(University\d+)\.edu")
# LUBM queries whose answers range over every university (grow with the copies) and those
# naming University0 or one of its departments (answer the same at any number of copies)
SCALED = ("q02", "q06", "q09", "q14", "x01")
FLAT = ("q01", "q03", "q04", "q05", "q07", "q08", "q10", "q11", "q12", "q13")
_BLOCK = 1 << 22


def write_copies(src: Path, dst: Path, copies: int) -> int:
    """Write ``copies`` renamed copies of the N-Triples file ``src`` (``.gz`` or plain) to
    ``dst``; returns the number of lines written.

    Copy 0 is ``src`` unchanged; copy ``k`` renames ``UniversityN.edu`` → ``UniversityN-ck.edu``
    everywhere on the line (so every university-owned IRI and e-mail literal), which keeps
    the copies disjoint but isomorphic. Streams ``src`` once per copy in 4 MB blocks.

    >>> import gzip, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.nt").write_bytes(b'<http://www.University1.edu> <p> "x@University1.edu" .\\n')
    >>> write_copies(d / "a.nt", d / "b.nt", 2)
    2
    >>> print((d / "b.nt").read_text().splitlines()[1])
    <http://www.University1-c1.edu> <p> "x@University1-c1.edu" .
    """
    lines = 0
    with open(dst, "wb") as out:
        for k in range(copies):
            opener = gzip.open if src.suffix == ".gz" else open
            with opener(src, "rb") as f:
                tail = b""
                while True:
                    block = f.read(_BLOCK)
                    if not block:
                        break
                    block = tail + block
                    cut = block.rfind(b"\n") + 1
                    block, tail = block[:cut], block[cut:]
                    if k:
                        block = UNIVERSITY.sub(rb"\1-c%d.edu" % k, block)
                    lines += block.count(b"\n")
                    out.write(block)
                if tail:
                    tail = UNIVERSITY.sub(rb"\1-c%d.edu" % k, tail) if k else tail
                    out.write(tail if tail.endswith(b"\n") else tail + b"\n")
                    lines += 1
    return lines


def expected_counts(copies: int, scale: int = 10) -> dict[str, int]:
    """LUBM q01–q14 + x01 answers on ``copies`` renamed copies of LUBM(scale) under OWL 2 RL."""
    rows = (DATA / f"answers_lubm{scale}.tsv").read_text().splitlines()[1:]
    base = {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows if r.strip()}
    return {q: n * copies if q in SCALED else n for q, n in base.items()}


def lubm_queries(with_x01: bool = False) -> dict[str, str]:
    out = {p.stem: p.read_text() for p in sorted(DATA.glob("q*.rq"))}
    if with_x01:
        out["x01"] = (DATA / "x01_employee.rq").read_text()
    return out


def shape_queries() -> dict[str, str]:
    """The five shapes of ``benchmarks/sparql.py`` (star, chain, optional, regex, groupby)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("kg_bench_sparql", REPO / "benchmarks" / "sparql.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return dict(mod.SHAPES)


# -- memory -----------------------------------------------------------------------------------
#: CPU seconds the sampler threads below spent (their own thread time): the job's CPU figures
#: leave it out. ServerMemory reads /proc of every process twice a second, ~20 ms of (mostly
#: kernel) time per sample on a busy machine: a 5 s query gained ~0.2 s of "client CPU".
_SAMPLERS_CPU = [0.0]
_SAMPLERS_LOCK = threading.Lock()


def _sampled(fn: Callable[[], None]) -> None:
    t = time.thread_time()
    fn()
    with _SAMPLERS_LOCK:
        _SAMPLERS_CPU[0] += time.thread_time() - t


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ServerMemory:
    """Samples the sum of RSS and of PSS over a PostgreSQL cluster's processes."""

    def __init__(self, data_dir: Path, every: float = 0.5) -> None:
        self.postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        self.every = every
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        pids = [self.postmaster]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path(f"/proc/{d}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.postmaster:
                    pids.append(int(d))
        return pids

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the cluster's processes alive now, plus those of
        its processes that have exited (the postmaster's reaped children: parallel workers of
        index builds and queries, closed backends), which a sum over live processes misses."""
        total = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            if pid == self.postmaster:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped children
        return total / os.sysconf("SC_CLK_TCK")

    def sample(self) -> tuple[float, float]:
        rss = pss = 0
        for pid in self._pids():
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            except OSError:
                continue
        return rss / 1024, pss / 1024

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            _sampled(self._once)

    def _once(self) -> None:
        rss, pss = self.sample()
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        self.peak_pss_mb = max(self.peak_pss_mb, pss)

    def start(self) -> ServerMemory:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {"server_peak_rss_mb": round(self.peak_rss_mb), "server_peak_pss_mb": round(self.peak_pss_mb)}


class OwnMemory:
    """Samples this process's anonymous and file-backed resident memory (``RssAnon`` /
    ``RssFile`` of ``/proc/self/status``): SQLite's memory-mapped database pages are
    file-backed (counted in RSS, given back by the kernel under pressure), its page cache,
    temp tables and Python's objects are anonymous."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            _sampled(self._once)

    def _once(self) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            key = line.split(":")[0]
            if key in self.peak:
                self.peak[key] = max(self.peak[key], int(line.split()[1]))

    def start(self) -> OwnMemory:
        self._thread.start()
        return self

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return {"peak_anon_mb": round(self.peak["RssAnon"] / 1024),
                "peak_file_mb": round(self.peak["RssFile"] / 1024)}


# -- one job (fresh process) ------------------------------------------------------------------
def _cpu() -> float:
    """CPU seconds of this process (all threads: the loader's writer and parser threads
    count), less the memory samplers' own."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    with _SAMPLERS_LOCK:
        return u.ru_utime + u.ru_stime - _SAMPLERS_CPU[0]


def _timed_query(kg: Any, text: str, runs: int, budget_s: float = 60.0) -> dict[str, Any]:
    def run() -> int:
        return len([tuple(row) for row in kg.query(text)])

    c, t = _cpu(), time.perf_counter()
    rows = run()
    warm, warm_cpu = time.perf_counter() - t, _cpu() - c
    single = warm > budget_s or runs == 0
    times, cpus = ([warm], [warm_cpu]) if single else ([], [])
    if not single:
        for _ in range(runs):
            c, t = _cpu(), time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
            cpus.append(_cpu() - c)
    return {"ms": round(statistics.median(times) * 1000, 2), "rows": rows, "n": len(times),
            "cpu_ms": round(statistics.median(cpus) * 1000, 2),
            "first_ms": round(warm * 1000, 2)}


def job(kind: str, backend: str, copies: int, data: Path, url: str, runs: int,
        pg_data: str | None, scale: int = 10) -> dict[str, Any]:
    from kg_engine import KnowledgeGraph

    mem = ServerMemory(Path(pg_data)).start() if pg_data else None
    own = OwnMemory().start()
    out: dict[str, Any] = {"job": kind, "backend": backend, "copies": copies,
                           "loadavg_start": os.getloadavg()}
    kg = KnowledgeGraph(url)

    def server_cpu() -> float:
        return mem.cpu_s() if mem is not None else 0.0

    c, t, sc = _cpu(), time.perf_counter(), server_cpu()
    res = kg.load(data, progress=False)
    out["load"] = {"s": round(time.perf_counter() - t, 2), "cpu_s": round(_cpu() - c, 2),
                   "statements": res.statements, "rss_mb": round(_rss_mb())}
    if mem is not None:  # the backend of this job's connection (the load's only one)
        out["load"]["server_cpu_s"] = round(server_cpu() - sc, 2)
    print(f"[{backend} x{copies} {kind}] load {out['load']}", file=sys.stderr, flush=True)
    if kind == "main":
        qs = lubm_queries()
        qs.update(shape_queries())
        out["queries"] = {}
        for name, text in qs.items():
            out["queries"][name] = r = _timed_query(kg, text, runs)
            print(f"[{backend} x{copies}] {name} {r}", file=sys.stderr, flush=True)
        out["queries_rss_mb"] = round(_rss_mb())
    rules = "owl-rl" if kind == "main" else "rdfs"
    c, t = _cpu(), time.perf_counter()
    kg.load(DATA / "univ-bench.ttl", progress=False)
    schema_s = time.perf_counter() - t
    c2, t2, sc = _cpu(), time.perf_counter(), server_cpu()
    r = kg.reason(rules)
    out["reason"] = {"rules": rules, "s": round(time.perf_counter() - t2, 2),
                     "cpu_s": round(_cpu() - c2, 2), "schema_load_s": round(schema_s, 2),
                     "schema_cpu_s": round(c2 - c, 2), "derived": r.derived, "rounds": r.rounds,
                     "rss_mb": round(_rss_mb())}
    if mem is not None:
        out["reason"]["server_cpu_s"] = round(server_cpu() - sc, 2)
    print(f"[{backend} x{copies} {kind}] reason {out['reason']}", file=sys.stderr, flush=True)
    if kind == "main":
        exp = expected_counts(copies, scale)
        got = {}
        for name, text in lubm_queries(with_x01=True).items():
            got[name] = _timed_query(kg, text, runs)
        out["reasoned_queries"] = got
        out["mismatches"] = {q: [got[q]["rows"], n] for q, n in exp.items() if got[q]["rows"] != n}
        print(f"[{backend} x{copies}] reasoned answers: mismatches {out['mismatches']}",
              file=sys.stderr, flush=True)
    kg.close()
    out["peak_rss_mb"] = round(_rss_mb())
    out.update(own.stop())
    out["cpu_s"] = round(_cpu(), 2)
    if mem is not None:
        out.update(mem.stop())
    out["loadavg_end"] = os.getloadavg()
    return out


def run_job(kind: str, backend: str, copies: int, data: Path, runs: int, out_dir: Path,
            timeout: float | None, scale: int = 10, shared_buffers: str = "1GB"
            ) -> dict[str, Any] | None:
    pg = None
    with tempfile.TemporaryDirectory(prefix="kg-scale-") as tmp:
        if backend == "postgresql":
            from kg_engine.testing.postgres import TemporaryPostgres

            pg = TemporaryPostgres(durable=True, settings={"shared_buffers": shared_buffers}).start()
            url, pg_data = pg.new_database_url(), str(pg.data)
        else:
            url, pg_data = f"sqlite:///{Path(tmp) / 'kg.sqlite'}", ""
        result = out_dir / f"scale_{kind}_{backend}_lubm{scale}x{copies}.json"
        cmd = [sys.executable, __file__, "--worker", kind, backend, str(copies), str(data), url,
               str(runs), pg_data, str(result), str(scale)]
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"!! {kind} {backend} x{copies}: stopped after {timeout} s", flush=True)
            return None
        finally:
            if pg is not None:
                pg.stop()
        if proc.returncode != 0 or not result.exists():
            print(f"!! {kind} {backend} x{copies} failed (exit {proc.returncode})", flush=True)
            return None
        rec = json.loads(result.read_text())
        rec["job_wall_s"] = round(time.perf_counter() - t, 1)
        if pg is not None:
            rec["shared_buffers"] = shared_buffers
        return rec


def report(results: list[dict[str, Any]]) -> str:
    """Markdown: per backend, each measure at every size and the ratio largest / smallest."""
    lines = []
    by = {(r["job"], r["backend"], r["copies"]): r for r in results}
    for backend in dict.fromkeys(r["backend"] for r in results):
        sizes = sorted({r["copies"] for r in results if r["backend"] == backend and r["job"] == "main"})
        if not sizes:
            continue
        lo, hi = sizes[0], sizes[-1]
        rows: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
            ("load s", lambda r: r["load"]["s"]), ("load CPU s", lambda r: r["load"]["cpu_s"]),
        ]
        names = list(by[("main", backend, lo)]["queries"])
        for q in names:
            rows.append((f"{q} ms (CPU ms) [rows]", lambda r, q=q: r["queries"][q]))
        for q in by[("main", backend, lo)]["reasoned_queries"]:
            rows.append((f"{q} after OWL 2 RL, ms (CPU ms) [rows]",
                         lambda r, q=q: r["reasoned_queries"][q]))
        if "server_cpu_s" in by[("main", backend, lo)]["load"]:
            rows.insert(2, ("load CPU s, server backend", lambda r: r["load"].get("server_cpu_s")))
            rows.append(("OWL 2 RL reason CPU s, server backend",
                         lambda r: r["reason"].get("server_cpu_s")))
        rows += [("OWL 2 RL reason s", lambda r: r["reason"]["s"]),
                 ("OWL 2 RL reason CPU s", lambda r: r["reason"]["cpu_s"]),
                 ("OWL 2 RL derived", lambda r: r["reason"]["derived"]),
                 ("answers ≠ expected", lambda r: len(r["mismatches"])),
                 ("peak RSS MB (process)", lambda r: r["peak_rss_mb"])]
        if "peak_anon_mb" in by[("main", backend, lo)]:
            rows += [("peak anonymous RSS MB (process)", lambda r: r["peak_anon_mb"]),
                     ("peak file-backed RSS MB (process)", lambda r: r["peak_file_mb"])]
        if "server_peak_pss_mb" in by[("main", backend, lo)]:
            rows += [("server peak PSS MB (sum)", lambda r: r["server_peak_pss_mb"]),
                     ("server peak RSS MB (sum)", lambda r: r["server_peak_rss_mb"])]
        sized = ", ".join(f"{c} × = {by[('main', backend, c)]['load']['statements']:,} statements"
                          for c in sizes)
        lines.append(f"\n{backend}: {sized}")
        lines.append("| measure | " + " | ".join(f"×{c}" for c in sizes) + f" | ratio ×{hi}/×{lo} |")
        lines.append("|---" * (len(sizes) + 2) + "|")
        for label, get in rows:
            vals = [get(by[("main", backend, c)]) for c in sizes]
            if isinstance(vals[0], dict):  # a query: wall (CPU) [rows], ratio of both
                cells = [f"{v['ms']} ({v['cpu_ms']}) [{v['rows']:,}]" for v in vals]
                a, b = vals[0], vals[-1]
                ratio = (f"{b['ms'] / a['ms']:.1f} ({b['cpu_ms'] / a['cpu_ms']:.1f})"
                         if a["ms"] and a.get("cpu_ms") and b.get("cpu_ms") is not None else "–")
            else:
                cells = [f"{v:,}" if isinstance(v, int) else f"{v}" for v in vals]
                ratio = f"{vals[-1] / vals[0]:.2f}" if vals[0] else "–"
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
        for c in sizes:
            rd = by.get(("rdfs", backend, c))
            if rd:
                lines.append(f"| RDFS reason s ×{c} | {rd['reason']['s']} (CPU {rd['reason']['cpu_s']}, "
                             f"derived {rd['reason']['derived']:,}) | peak RSS {rd['peak_rss_mb']} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", nargs="+", default=["main", "rdfs"], choices=["main", "rdfs"],
                    help="main: load, queries, OWL 2 RL, answers; rdfs: load + RDFS reasoning")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="where the generated N-Triples go (default: a temporary folder)")
    ap.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--timeout", type=float, default=None, help="seconds per job")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--scale", type=int, default=10, choices=[1, 10],
                    help="the LUBM file copied (1: a quick smoke run)")
    ap.add_argument("--pg-shared-buffers", default="1GB",
                    help="the PostgreSQL cluster's shared_buffers (default 1GB: the 10 M store "
                         "is ~3 GB; with the test clusters' 256MB its tables and indexes "
                         "are read through the OS cache on every scan)")
    ap.add_argument("--worker", nargs=9, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, backend, copies, data, url, runs, pg_data, result, scale = args.worker
        rec = job(kind, backend, int(copies), Path(data), url, int(runs), pg_data or None,
                  int(scale))
        Path(result).write_text(json.dumps(rec, indent=1))
        return 0
    src = DATA / f"lubm{args.scale}.nt.gz"
    if not src.exists():
        print(f"LUBM data not found in {DATA} (set KG_SHARED_DATA)", file=sys.stderr)
        return 2
    own_dir = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="kg-scale-data-")) if own_dir else args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)  # a missing folder failed every job at its end
    results: list[dict[str, Any]] = []
    try:
        for copies in args.copies:
            # copy 1 is written out too: every size loads plain N-Triples
            data = data_dir / f"lubm{args.scale}x{copies}.nt"
            if not data.exists():
                t = time.perf_counter()
                n = write_copies(src, data, copies)
                print(f"wrote {data} ({n:,} lines) in {time.perf_counter() - t:.0f} s", flush=True)
            for backend in args.backends:
                for kind in args.jobs:
                    rec = run_job(kind, backend, copies, data, args.runs, args.out_dir, args.timeout,
                                  args.scale, args.pg_shared_buffers)
                    if rec is not None:
                        results.append(rec)
                        if args.json:
                            args.json.write_text(json.dumps(results, indent=1))
            if own_dir:
                data.unlink()
    finally:
        if own_dir:
            for p in data_dir.glob("*"):
                p.unlink()
            data_dir.rmdir()
    print(report(results))
    bad = [r for r in results if r.get("mismatches")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
