"""Ray extraction with N local workers vs single-process extraction: words/s, CPU s, same output.

    python benchmarks/extraction_ray.py [--limit 2187] [--workers 2] [--rounds 3] [--pipeline default]

Starts one Ray head on 127.0.0.1 (``ray start --head --block``, ``--num-cpus N``, own temp
folder and process group, token auth with a token of this run; killed at the end — never
``ray stop``, which stops every Ray on the machine), loads the pipeline once in this process,
then alternates ``rounds`` times: single-process ``extract_into`` into a fresh SQLite store,
and ``extract_into(executor="ray")`` into another. Each timed run is the whole extraction
call: reading the corpus, NER, RDF conversion, the store writes, and for Ray the per-call
start of the worker actors and shipping the pipeline to them (the cluster itself is started
once, outside the timing, as a long-lived cluster would be).

Reported per executor: median wall seconds and words/s of the rounds, CPU seconds (this
process's without the sampler thread, plus for Ray every process of the cluster — GCS, raylet, worker actors — sampled
from ``/proc`` through psutil, see :class:`TreeCPU`), the load average before each run,
and whether the stores are identical (every row of ``kg_terms``, ``kg_quads``,
``kg_provenance`` and ``kg_extraction_documents`` except its timestamp, ids included).

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
    """CPU seconds used by a process tree during a run, sampled from ``/proc`` (psutil).

    Ray's worker actors live only for one ``extract`` call, and whether a dead one has been
    reaped (its time moved to the raylet's ``children_*`` counters) when the run ends is a
    race; so every process's own user+system time is sampled every 0.2 s and the last value
    seen per process counts (up to 0.2 s per short-lived process may be missed).
    """

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        self.seen: dict[tuple[int, float], float] = {}
        self.base = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self) -> dict[tuple[int, float], float]:
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
                out[(p.pid, p.create_time())] = t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return out

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.seen.update(self._sample())
        #: CPU seconds of the sampling itself (in this process: not the driver's work)
        self.own = time.thread_time()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.seen.update(self._sample())
        return sum(v - self.base.get(k, 0.0) for k, v in self.seen.items())


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


def run(limit: int | None, workers: int, rounds: int, spec: str, batch_size: int | None
        ) -> dict[str, Any]:
    import itertools

    from kg_engine.extraction.corpus import iter_documents
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
                           "cpus_visible": os.cpu_count(), "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="kg-raybench-"))
    digests: dict[str, set[str]] = {"local": set(), "ray": set()}
    try:
        for r in range(rounds):
            for executor in ("local", "ray"):
                db = tmp / f"{executor}{r}.sqlite"
                load = _load()
                tree = TreeCPU(cluster.proc.pid)
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                with SQLStore(f"sqlite:///{db}") as store:
                    res = extract_into(store, docs, pipeline, batch_size=batch_size,
                                       progress=False, executor=executor,
                                       ray_address=cluster.address if executor == "ray" else None)
                wall = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                time.sleep(1.0)  # let the killed actors' last CPU time be sampled
                ccpu = tree.stop()  # with the local executor: the idle cluster's own use
                cpu -= tree.own  # the sampler thread runs in this process
                total_cpu = cpu + (ccpu if executor == "ray" else 0.0)
                digests[executor].add(_digest(db))
                row = {"round": r, "executor": executor, "wall_s": round(wall, 2),
                       "words_per_s": round(words / wall), "driver_cpu_s": round(cpu, 2),
                       "cluster_cpu_s": round(ccpu, 2), "cpu_s": round(total_cpu, 2),
                       "triples": res.triples, "load_before": load}
                out["runs"].append(row)
                print(json.dumps(row), flush=True)
                db.unlink()
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for executor in ("local", "ray"):
        rows = [x for x in out["runs"] if x["executor"] == executor]
        out[executor] = {
            "median_wall_s": statistics.median(x["wall_s"] for x in rows),
            "median_words_per_s": round(words / statistics.median(x["wall_s"] for x in rows)),
            "median_cpu_s": statistics.median(x["cpu_s"] for x in rows),
            "words_per_cpu_s": round(words / statistics.median(x["cpu_s"] for x in rows)),
        }
    out["speedup_wall"] = round(out["local"]["median_wall_s"] / out["ray"]["median_wall_s"], 2)
    out["identical_output"] = len(digests["local"] | digests["ray"]) == 1
    out["load_after"] = _load()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N paragraphs (default all)")
    ap.add_argument("--workers", type=int, default=2, help="Ray workers = cluster CPUs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pipeline", default="default")
    ap.add_argument("--batch-size", type=int, default=None)
    args = ap.parse_args(argv)
    result = run(args.limit, args.workers, args.rounds, args.pipeline, args.batch_size)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
