"""HTTP benchmark: ``kg serve`` against the Oxigraph server on the same LUBM data, same run.

Measured (each server a separate process on 127.0.0.1, clients in this process with httpx):

1. **latency** — LUBM q1–q14 (data as loaded, no reasoning): median of ``--runs`` warm runs
   over HTTP (POST form, ``Accept: application/sparql-results+json``, whole body read)
   against the median of ``KnowledgeGraph.query`` in process (rows materialised). Target:
   HTTP ≤ 1.5 × in-process + 2 ms. Row counts of kg serve and Oxigraph must agree.
2. **throughput** — every client (a process of its own) runs the 14 queries ``--rounds``
   times (rotated order); queries per second with ``--clients`` clients over one client.
   Target ≥ 1.5×.
3. **streaming** — ``SELECT ?s ?p ?o { ?s ?p ?o } LIMIT 1000000`` as TSV, on freshly started
   servers: time to the first body byte and to the end, and the server's RSS (and USS, the
   memory only it uses: RSS also counts the database file pages SQLite maps) sampled every
   10 ms during the download. Targets: first byte ≤ 1 s, RSS ≤ 300 MB.
4. **entity page** (``--browser``) — Chromium (headless) loads the explorer page of the
   LUBM(1) entity with the degree closest to 50: the load event and the moment the
   neighbourhood graph was drawn, median of 5 loads. Target: ≤ 1 s.

CPU seconds of each server process are reported next to wall times, with the load average.

Usage::

    python benchmarks/serve.py --scale 10 --runs 5 --clients 8 --rounds 2 --browser \\
        [--phases latency,throughput,stream] [--workdir /tmp/kg-serve-bench] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data")) / "lubm"
STREAM_QUERY = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1000000"
JSON_ACCEPT = {"Accept": "application/sparql-results+json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queries() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted(DATA.glob("q*.rq"))}


def kg_store(workdir: Path, scale: int) -> str:
    """A SQLite store with LUBM(scale) (loaded once, kept in ``workdir``)."""
    from kg_engine.api import KnowledgeGraph

    path = workdir / f"lubm{scale}.sqlite"
    url = f"sqlite:///{path}"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with KnowledgeGraph(f"sqlite:///{tmp}") as kg:
            kg.load(DATA / f"lubm{scale}.nt.gz", progress=False)
            kg.store.checkpoint()
        tmp.rename(path)
    return url


def oxigraph_store(workdir: Path, scale: int) -> Path:
    """An Oxigraph (RocksDB) store with LUBM(scale), loaded with ``oxigraph load``."""
    location = workdir / f"oxigraph-lubm{scale}"
    if not location.exists():
        nt = workdir / f"lubm{scale}.nt"
        with gzip.open(DATA / f"lubm{scale}.nt.gz", "rb") as src, nt.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp = workdir / f"oxigraph-lubm{scale}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["oxigraph", "load", "--location", str(tmp), "--file", str(nt)],
                       check=True, capture_output=True)
        tmp.rename(location)
        nt.unlink()
    return location


class Server:
    """A server process and its SPARQL query URL."""

    def __init__(self, name: str, argv: list[str], url: str, env: dict | None = None) -> None:
        self.name = name
        self.url = url
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.post(url, data={"query": "ASK {}"}, headers=JSON_ACCEPT).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {self.proc.stderr.read().decode()}")
            time.sleep(0.2)
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def start_kg(url: str) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return Server("kg serve", [sys.executable, "-m", "kg_engine", "serve", "--db", url,
                               "--port", str(port), "--timeout", "0"],
                  f"http://127.0.0.1:{port}/sparql", env)


def start_oxigraph(location: Path) -> Server:
    port = free_port()
    return Server("oxigraph", ["oxigraph", "serve-read-only", "--location", str(location),
                               "--bind", f"127.0.0.1:{port}"], f"http://127.0.0.1:{port}/query")


def http_rows(client: httpx.Client, url: str, query: str) -> int:
    r = client.post(url, data={"query": query}, headers=JSON_ACCEPT)
    r.raise_for_status()
    return len(r.json()["results"]["bindings"])


def median_ms(fn: Any, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def latency(kg_url: str, servers: list[Server], runs: int) -> list[dict[str, Any]]:
    from kg_engine.api import KnowledgeGraph

    out = []
    kg = KnowledgeGraph(kg_url)
    with httpx.Client(timeout=600) as client:
        for name, q in queries().items():
            row: dict[str, Any] = {"query": name}
            row["rows"] = len(list(kg.query(q)))
            row["inproc_ms"] = median_ms(lambda q=q: [tuple(r) for r in kg.query(q)], runs)
            for server in servers:
                counts = http_rows(client, server.url, q)
                row[f"{server.name}_rows"] = counts
                row[f"{server.name}_ms"] = median_ms(
                    lambda q=q, s=server: client.post(s.url, data={"query": q},
                                                      headers=JSON_ACCEPT).content, runs)
            row["target_ms"] = 1.5 * row["inproc_ms"] + 2
            out.append(row)
            print(f"  {name}: {row}", flush=True)
    kg.close()
    return out


def _client(url: str, k: int, rounds: int) -> int:
    """One client process: the 14 queries ``rounds`` times from offset ``k``; returns errors."""
    qs = list(queries().values())
    errors = 0
    with httpx.Client(timeout=600) as http:
        for r in range(rounds):
            for i in range(len(qs)):
                resp = http.post(url, data={"query": qs[(i + k + r) % len(qs)]},
                                 headers=JSON_ACCEPT)
                errors += resp.status_code != 200
                _ = resp.content
    return errors


def throughput(server: Server, clients: int, rounds: int) -> dict[str, Any]:
    """Queries per second of ``clients`` client processes (processes, so that the clients'
    own Python work does not serialise on one GIL and cap what the server can show)."""
    import multiprocessing

    n = clients * rounds * len(queries())
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        cpu0, t0 = server.cpu(), time.perf_counter()
        errors = sum(pool.starmap(_client, [(server.url, k, rounds) for k in range(clients)]))
        wall = time.perf_counter() - t0
    return {"clients": clients, "queries": n, "wall_s": wall, "qps": n / wall,
            "server_cpu_s": server.cpu() - cpu0, "errors": errors}


def streaming(server: Server) -> dict[str, Any]:
    base = server.ps.memory_full_info()
    peak = [base.rss, base.uss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                mem = server.ps.memory_full_info()
            except psutil.Error:
                return
            peak[0] = max(peak[0], mem.rss)
            peak[1] = max(peak[1], mem.uss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    first = None
    size = 0
    lines = 0
    with httpx.stream("POST", server.url, data={"query": STREAM_QUERY}, timeout=600,
                      headers={"Accept": "text/tab-separated-values"}) as r:
        for chunk in r.iter_raw():
            if first is None and chunk:
                first = time.perf_counter() - t0
            size += len(chunk)
            lines += chunk.count(b"\n")
    total = time.perf_counter() - t0
    done.set()
    sampler.join()
    return {"first_byte_s": first, "total_s": total, "rows": lines - 1, "mb": size / 1e6,
            "rss_before_mb": base.rss / 1e6, "rss_peak_mb": peak[0] / 1e6,
            "uss_before_mb": base.uss / 1e6, "uss_peak_mb": peak[1] / 1e6,
            "server_cpu_s": server.cpu() - cpu0}


def entity_page(workdir: Path) -> dict[str, Any]:
    """Chromium load of the explorer page of the LUBM(1) entity whose degree is closest to 50."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from kg_engine.api import KnowledgeGraph

    url = kg_store(workdir, 1)
    with KnowledgeGraph(url) as kg:
        # degree per IRI term (subjects and objects), the one closest to 50 facts
        rows = kg.store.db.fetchall(
            "SELECT x, count(*) AS d FROM (SELECT s AS x FROM kg_quads UNION ALL "
            "SELECT o AS x FROM kg_quads) GROUP BY x ORDER BY abs(count(*) - 50), x LIMIT 1")
        node_id, degree = rows[0]
        iri = str(kg.store.decode([node_id])[node_id])
    server = start_kg(url)
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--no-first-run", "--disable-sync", "--window-size=1280,1000"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        page = server.url.replace("/sparql", "/entity") + "?" + str(httpx.QueryParams({"iri": iri}))
        loads, drawn = [], []
        try:
            for _ in range(6):
                driver.get("about:blank")
                driver.get(page)
                deadline = time.monotonic() + 30
                while not driver.execute_script(
                        "return document.getElementById('graph').dataset.renderedMs"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the entity page did not draw its graph")
                    time.sleep(0.01)
                loads.append(driver.execute_script(
                    "const t = performance.getEntriesByType('navigation')[0];"
                    "return t.loadEventEnd"))
                drawn.append(float(driver.execute_script(
                    "return document.getElementById('graph').dataset.renderedMs")))
        finally:
            driver.quit()
    finally:
        server.stop()
    return {"iri": iri, "degree": degree, "load_event_ms": statistics.median(loads[1:]),
            "graph_drawn_ms": statistics.median(drawn[1:]), "first_load_ms": loads[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--browser", action="store_true", help="also time the entity page")
    ap.add_argument("--phases", default="latency,throughput,stream")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kg-serve-bench"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"scale": args.scale, "loadavg_start": os.getloadavg()}
    t = time.perf_counter()
    kg_url = kg_store(args.workdir, args.scale)
    ox_location = oxigraph_store(args.workdir, args.scale)
    print(f"stores ready in {time.perf_counter() - t:.1f} s", flush=True)
    phases = set(args.phases.split(","))
    servers = [start_kg(kg_url), start_oxigraph(ox_location)]
    try:
        if "latency" in phases:
            print("latency", flush=True)
            report["latency"] = latency(kg_url, servers, args.runs)
        for server in servers if "throughput" in phases else []:
            print(f"throughput {server.name}", flush=True)
            one = throughput(server, 1, args.rounds)
            many = throughput(server, args.clients, args.rounds)
            report[f"throughput_{server.name}"] = {"one": one, "many": many,
                                                   "speedup": many["qps"] / one["qps"]}
            print(f"  {report[f'throughput_{server.name}']}", flush=True)
    finally:
        for server in servers:
            server.stop()
    if "stream" in phases:  # fresh servers: the memory of earlier phases does not count
        for start, where in ((start_kg, kg_url), (start_oxigraph, ox_location)):
            server = start(where)
            try:
                print(f"streaming {server.name}", flush=True)
                report[f"stream_{server.name}"] = streaming(server)
                print(f"  {report[f'stream_{server.name}']}", flush=True)
            finally:
                server.stop()
    if args.browser:
        print("entity page", flush=True)
        report["entity_page"] = entity_page(args.workdir)
        print(f"  {report['entity_page']}", flush=True)
    report["loadavg_end"] = os.getloadavg()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    mismatch = [r["query"] for r in report.get("latency", [])
                if r["kg serve_rows"] != r["oxigraph_rows"]]
    if mismatch:
        print(f"row counts differ from Oxigraph: {mismatch}")
        return 1
    return 0


def print_report(report: dict[str, Any]) -> None:
    print(f"\nLUBM({report['scale']}), load average {report['loadavg_start']} -> "
          f"{report['loadavg_end']}\n")
    if "latency" not in report:
        report["latency"] = []
    print("| query | rows | in-process ms | kg serve HTTP ms | target ms | met | Oxigraph HTTP ms |")
    print("|---|---|---|---|---|---|---|")
    met = 0
    for r in report["latency"]:
        ok = r["kg serve_ms"] <= r["target_ms"]
        met += ok
        print(f"| {r['query']} | {r['rows']} | {r['inproc_ms']:.2f} | {r['kg serve_ms']:.2f} | "
              f"{r['target_ms']:.2f} | {'yes' if ok else 'no'} | {r['oxigraph_ms']:.2f} |")
    print(f"\n{met}/{len(report['latency'])} queries within 1.5 x in-process + 2 ms")
    if report["latency"]:
        med = {k: statistics.median(r[k] for r in report["latency"])
               for k in ("inproc_ms", "kg serve_ms", "oxigraph_ms")}
        print(f"median over the queries: in-process {med['inproc_ms']:.2f} ms, kg serve "
              f"{med['kg serve_ms']:.2f} ms (target {1.5 * med['inproc_ms'] + 2:.2f} ms), "
              f"Oxigraph {med['oxigraph_ms']:.2f} ms")
    for name in ("kg serve", "oxigraph"):
        t = report.get(f"throughput_{name}")
        if t:
            print(f"{name}: 1 client {t['one']['qps']:.1f} q/s (server CPU {t['one']['server_cpu_s']:.1f} s), "
                  f"{t['many']['clients']} clients {t['many']['qps']:.1f} q/s (server CPU "
                  f"{t['many']['server_cpu_s']:.1f} s): x{t['speedup']:.2f}")
        s = report.get(f"stream_{name}")
        if s:
            print(f"{name}: 1M-row TSV first byte {s['first_byte_s'] * 1000:.0f} ms, all "
                  f"{s['total_s']:.1f} s ({s['rows']} rows, {s['mb']:.0f} MB), RSS "
                  f"{s['rss_before_mb']:.0f} -> peak {s['rss_peak_mb']:.0f} MB, USS "
                  f"{s['uss_before_mb']:.0f} -> peak {s['uss_peak_mb']:.0f} MB, server CPU "
                  f"{s['server_cpu_s']:.1f} s")
    e = report.get("entity_page")
    if e:
        print(f"entity page {e['iri']} ({e['degree']} facts): load event {e['load_event_ms']:.0f} ms, "
              f"graph drawn {e['graph_drawn_ms']:.0f} ms (first load {e['first_load_ms']:.0f} ms)")


if __name__ == "__main__":
    sys.exit(main())
