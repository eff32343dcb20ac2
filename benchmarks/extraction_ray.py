"""Ray extraction with N local workers vs single-process extraction: words/s, CPU split, same output.

    KG_SHARED_DATA=../shared/data python benchmarks/extraction_ray.py --rounds 3

Starts one Ray head on 127.0.0.1 (``ray start --head --block``, ``--num-cpus N``, own temp
folder and process group, token auth with a token of this run; killed at the end — never
``ray stop``, which stops every Ray on the machine), loads the pipeline once in this process,
then runs ``rounds`` times, alternating, three timed calls of ``extract_into`` into fresh
SQLite stores:

* ``local``: the single-process executor;
* ``ray_cold``: ``executor="ray"`` after :func:`release_workers`: the call connects to the
  cluster, starts the worker actors and ships the pipeline to them (what a `kg extract
  --executor ray` command pays; the cluster itself is started once, outside the timing, as
  a long-lived cluster would be);
* ``ray_warm``: ``executor="ray"`` again, reusing the actors the previous call kept (what
  each later call of a process that extracts repeatedly pays).

Each timed run is the whole call: reading the corpus, NER, RDF conversion, the store writes.

Reported per run and as medians per executor: wall seconds, words/s, CPU seconds split into
the driver (this process's ``process_time`` without the sampler thread), the worker processes
(``ray::…`` processes of the cluster: the actors, and idle workers Ray keeps), and Ray's
daemons (GCS, raylet, agents), all sampled from ``/proc`` through psutil (see
:class:`TreeCPU`); the load average before each run; the wall ratios; and the ratio an idle
machine with ``--cores`` cores would give, computed from CPU seconds (see
:func:`_idle_bounds`: the local run needs its CPU seconds of wall time; a Ray run its work
spread over the cores, less the share Ray's polling takes per second, and at least the
busiest process's CPU seconds). ``identical_output`` says whether every store is identical (every row
of ``kg_terms``, ``kg_quads``, ``kg_provenance`` and ``kg_extraction_documents`` except its
timestamp, ids included).

Data come from ``$KG_SHARED_DATA`` (default ``<repo>/../shared/data``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS = SHARED / "corpus" / "wikitext2_test" / "paragraphs.jsonl"
_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


class TreeCPU:
    """CPU seconds used by a process tree during a run, per process, sampled from ``/proc``.

    Every process's own user+system time is sampled every 0.2 s and the last value seen
    counts (a process that ends between samples loses at most 0.2 s); processes whose command
    line starts with ``ray::`` (Ray's worker processes: the actors) are told apart from Ray's
    daemons.
    """

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        self.seen: dict[tuple[int, float], tuple[float, bool]] = {}
        self.base = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self) -> dict[tuple[int, float], tuple[float, bool]]:
        import psutil

        out = {}
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return out
        for p in procs:
            try:
                t = p.cpu_times()
                cmd = p.cmdline()
                worker = bool(cmd) and cmd[0].startswith("ray::")
                out[(p.pid, p.create_time())] = (t.user + t.system, worker)
            except psutil.NoSuchProcess:
                pass
        return out

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.seen.update(self._sample())
        #: CPU seconds of the sampling itself (in this process: not the driver's work)
        self.own = time.thread_time()

    def stop(self) -> dict[str, float]:
        """``{"workers", "busiest_worker", "daemons"}`` CPU seconds since the start."""
        self._stop.set()
        self._thread.join()
        self.seen.update(self._sample())
        workers, daemons = [], 0.0
        for k, (v, worker) in self.seen.items():
            used = v - self.base.get(k, (0.0, worker))[0]
            if worker:
                workers.append(used)
            else:
                daemons += used
        return {"workers": sum(workers), "busiest_worker": max(workers, default=0.0),
                "daemons": daemons}


class Cluster:
    """A Ray head on loopback in its own process group."""

    def __init__(self, cpus: int) -> None:
        os.environ.update(_ENV)  # before ray is imported
        self.temp = tempfile.mkdtemp(prefix="kgray-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        exe = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [exe, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
             str(port), "--num-cpus", str(cpus), "--include-dashboard", "false", "--temp-dir",
             self.temp, "--disable-usage-stats"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while not os.path.exists(os.path.join(self.temp, "ray_current_cluster")):
            if self.proc.poll() is not None:
                raise SystemExit("ray start failed")
            time.sleep(0.2)
        self.start_seconds = time.perf_counter() - started

    def stop(self) -> None:
        """End the group and wait for all of it (a dying raylet still writes into temp)."""
        os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.proc.poll()
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        shutil.rmtree(self.temp, ignore_errors=True)


def _digest(path: Path) -> str:
    """Hash of every row an extraction writes (ids included; document timestamps excluded)."""
    import sqlite3

    con = sqlite3.connect(path)
    h = hashlib.sha256()
    for sql in ("SELECT * FROM kg_terms ORDER BY id", "SELECT * FROM kg_quads ORDER BY g, s, p, o",
                "SELECT * FROM kg_provenance ORDER BY id",
                "SELECT doc_id, hash, pipeline, triples FROM kg_extraction_documents ORDER BY doc_id"):
        for row in con.execute(sql):
            h.update(repr(row).encode())
    con.close()
    return h.hexdigest()


EXECUTORS = ("local", "ray_cold", "ray_warm")


def run(limit: int | None, workers: int, rounds: int, spec: str, batch_size: int | None,
        cores: int) -> dict[str, Any]:
    import itertools

    from kg_engine.extraction.corpus import iter_documents
    from kg_engine.extraction.distributed import release_workers
    from kg_engine.extraction.ingest import extract_into
    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.store import SQLStore

    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} is missing: set KG_SHARED_DATA to the shared data folder")
    docs = list(itertools.islice(iter_documents([CORPUS]), limit))
    words = sum(len(d.text.split()) for d in docs)
    pipeline = load_extraction_pipeline(spec)
    cluster = Cluster(workers)
    out: dict[str, Any] = {"documents": len(docs), "words": words, "workers": workers,
                           "pipeline": spec, "batch_size": batch_size or pipeline.batch_size,
                           "cluster_start_s": round(cluster.start_seconds, 2),
                           "cpus_visible": os.cpu_count(), "cores_for_bound": cores,
                           "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="kg-raybench-"))
    digests: set[str] = set()
    try:
        for r in range(rounds):
            for executor in EXECUTORS:
                if executor == "ray_cold":
                    release_workers()
                    time.sleep(2.0)  # the ended actors' processes exit
                db = tmp / f"{executor}{r}.sqlite"
                load = _load()
                tree = TreeCPU(cluster.proc.pid)
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                with SQLStore(f"sqlite:///{db}") as store:
                    res = extract_into(store, docs, pipeline, batch_size=batch_size,
                                       progress=False, executor=executor.split("_")[0],
                                       ray_address=None if executor == "local"
                                       else cluster.address)
                wall = time.perf_counter() - t0
                driver = time.process_time() - cpu0
                time.sleep(1.0)  # let the last CPU time of the cluster's processes be sampled
                ccpu = tree.stop()
                driver -= tree.own  # the sampler thread runs in this process
                total = driver
                if executor != "local":  # with local, the idle cluster's own use is not the run's
                    total += ccpu["workers"] + ccpu["daemons"]
                digests.add(_digest(db))
                row = {"round": r, "executor": executor, "wall_s": round(wall, 2),
                       "words_per_s": round(words / wall), "driver_cpu_s": round(driver, 2),
                       "worker_cpu_s": round(ccpu["workers"], 2),
                       "busiest_worker_cpu_s": round(ccpu["busiest_worker"], 2),
                       "daemon_cpu_s": round(ccpu["daemons"], 2), "cpu_s": round(total, 2),
                       "triples": res.triples, "load_before": load}
                out["runs"].append(row)
                print(json.dumps(row), flush=True)
                db.unlink()
    finally:
        release_workers()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    _idle_bounds(out["runs"], cores)

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(x[key] for x in rows), 2)

    for executor in EXECUTORS:
        rows = [x for x in out["runs"] if x["executor"] == executor]
        wall = med(rows, "wall_s")
        out[executor] = {
            "median_wall_s": wall, "median_words_per_s": round(words / wall),
            **{f"median_{k}": med(rows, k) for k in (
                "driver_cpu_s", "worker_cpu_s", "busiest_worker_cpu_s", "daemon_cpu_s",
                "cpu_s", "idle_wall_bound_s")},
            "words_per_cpu_s": round(words / med(rows, "cpu_s")),
            "ms_per_word": {k: round(med(rows, f"{k}_cpu_s") / words * 1e3, 4)
                            for k in ("driver", "worker", "daemon")},
        }
    local = out["local"]
    for executor in ("ray_cold", "ray_warm"):
        ray = out[executor]
        out[f"speedup_wall_{executor}"] = round(local["median_wall_s"] / ray["median_wall_s"], 2)
        # on an idle machine the local run's wall time is its CPU time
        out[f"speedup_idle_bound_{executor}"] = round(
            local["median_cpu_s"] / ray["median_idle_wall_bound_s"], 2)
    out["identical_output"] = len(digests) == 1
    one_minute = [float(x["load_before"].split()[0]) for x in out["runs"]]
    out["load_1min_range"] = [min(one_minute), max(one_minute)]
    out["load_after"] = _load()
    return out


def _idle_bounds(runs: list[dict[str, Any]], cores: int) -> None:
    """Add ``idle_wall_bound_s`` to each run: its wall time on an idle ``cores``-core machine.

    A local run needs its CPU seconds. A Ray run: Ray's daemons and its idle workers poll,
    costing CPU per second of wall time whether there is work or not — measured as
    ``background_cpu_per_s`` during the local runs, when the cluster (with the kept actors)
    sits idle — so on a loaded machine, where runs last longer, they cost more than on an
    idle one. The work is what the run used beyond that background; on an idle machine the
    run then takes max(work / (cores − background share), the busiest process's CPU).
    """
    idle = [(x["worker_cpu_s"] + x["daemon_cpu_s"]) / x["wall_s"] for x in runs
            if x["executor"] == "local"]
    rate = min(max(idle, default=0.0), cores / 2)
    for x in runs:
        x["background_cpu_per_s"] = round(rate, 4)
        if x["executor"] == "local":
            x["idle_wall_bound_s"] = x["cpu_s"]
            continue
        work = x["cpu_s"] - rate * x["wall_s"]
        x["idle_wall_bound_s"] = round(max(work / (cores - rate), x["driver_cpu_s"],
                                           x["busiest_worker_cpu_s"]), 2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N paragraphs (default all)")
    ap.add_argument("--workers", type=int, default=2, help="Ray workers = cluster CPUs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pipeline", default="default")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                    help="cores of the idle machine the bound is computed for (default: this one's)")
    args = ap.parse_args(argv)
    result = run(args.limit, args.workers, args.rounds, args.pipeline, args.batch_size,
                 args.cores)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(summary(result))


def summary(r: dict[str, Any]) -> str:
    """The figures in a few lines of text."""
    lines = [(f"{r['documents']:,} documents, {r['words']:,} words, pipeline {r['pipeline']}, "
             f"batch {r['batch_size']}, {r['workers']} Ray workers; medians of "
             f"{len(r['runs']) // len(EXECUTORS)} rounds; 1-min load "
             f"{r['load_1min_range'][0]}–{r['load_1min_range'][1]}")]
    for executor in EXECUTORS:
        x = r[executor]
        line = (f"{executor:9s} {x['median_wall_s']:7.2f} s wall  {x['median_words_per_s']:6,} "
                f"words/s  CPU s: driver {x['median_driver_cpu_s']:.2f}")
        if executor != "local":
            line += (f" + workers {x['median_worker_cpu_s']:.2f} (busiest "
                     f"{x['median_busiest_worker_cpu_s']:.2f}) + daemons "
                     f"{x['median_daemon_cpu_s']:.2f} = {x['median_cpu_s']:.2f}; speed-up "
                     f"{r['speedup_wall_' + executor]:.2f}x wall, "
                     f"{r['speedup_idle_bound_' + executor]:.2f}x idle-{r['cores_for_bound']}"
                     f"-core bound")
        lines.append(line)
    lines.append("identical output (every store, ids included): "
                 + ("yes" if r["identical_output"] else "NO"))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
