"""Turtle loads: kg-engine's parser vs the old rdflib path vs pyoxigraph, same run.

Writes LUBM(10) (``../shared/data/lubm/lubm10.nt.gz``, 1,272,575 triples) as Turtle to a
temporary folder — prefixes, one subject per statement with ``;`` between predicates, ``,``
between objects of one predicate, ``a`` for rdf:type; IRIs whose local part has a ``/`` stay
``<…>`` — then measures, each run in a fresh process:

* ``parse``: kg-engine's :class:`~kg_engine.store.turtle.TurtleParser` alone (statements
  counted, nothing stored);
* ``load``: ``SQLStore(sqlite file).load(file.ttl)`` — the parser plus the store;
* ``load-rdflib``: the same load through rdflib's Turtle parser (the path used before);
* ``rdflib-parse``: rdflib's Turtle parser alone, into the loader's collecting sink (no store);
* ``pyoxigraph-parse``: ``pyoxigraph.parse`` of the same file (a Rust parser, no store);
* ``load-nt``: the N-Triples original loaded the same way (the anchor: the fast NT path).

Prints wall and process-CPU medians, statements per second and the load average before and
after. Nothing is written to the repository.

Usage::

    python benchmarks/turtle_load.py --runs 3 --rdflib-runs 1
    python benchmarks/turtle_load.py --limit 200000          # a slice, quicker
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
UB = "http://swat.cse.lehigh.edu/onto/univ-bench.owl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def write_turtle(source: Path, ttl: Path, nt: Path, limit: int | None) -> int:
    """LUBM N-Triples -> abbreviated Turtle (and the same statements as plain N-Triples)."""
    import re

    from kg_engine.store.ntriples import parse_blocks

    prefixes: dict[str, str] = {UB: "ub"}
    host = re.compile(r"<(http://www\.Department(\d+)\.University(\d+)\.edu/)([^>]*)>")
    local_ok = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")

    def name(token: str) -> str:
        if token == f"<{RDF_TYPE}>":
            return "a"
        if token.startswith(f"<{UB}") and local_ok.fullmatch(token[len(UB) + 1:-1]):
            return "ub:" + token[len(UB) + 1:-1]
        m = host.fullmatch(token)
        if m and local_ok.fullmatch(m.group(4)):
            prefix = prefixes.setdefault(m.group(1), f"d{m.group(2)}u{m.group(3)}")
            return f"{prefix}:{m.group(4)}"
        return token

    body: list[str] = []
    count = 0
    subject = predicate = None
    with gzip.open(source, "rt", encoding="utf-8") as f, open(nt, "w", encoding="utf-8") as out:
        for block in parse_blocks(f, str(source), quads=False):
            for s, p, o, _ in block:
                if limit is not None and count >= limit:
                    break
                out.write(f"{s} {p} {o} .\n")
                count += 1
                s, p, o = name(s), name(p), name(o)
                if s != subject:
                    if subject is not None:
                        body.append(" .\n")
                    body.append(f"{s} {p} {o}")
                    subject, predicate = s, p
                elif p != predicate:
                    body.append(f" ;\n    {p} {o}")
                    predicate = p
                else:
                    body.append(f" , {o}")
    body.append(" .\n")
    with open(ttl, "w", encoding="utf-8") as f:
        f.writelines(f"@prefix {p}: <{ns}> .\n" for ns, p in prefixes.items())
        f.write("\n")
        f.writelines(body)
    return count


def worker(mode: str, path: str, workdir: str) -> dict:
    started = time.perf_counter()
    if mode == "parse":
        from kg_engine.store.turtle import TurtleParser

        n = 0
        with open(path, encoding="utf-8", newline="") as f:
            for block in TurtleParser(path, base=Path(path).resolve().as_uri()).blocks(f):
                n += len(block)
    elif mode == "rdflib-parse":
        from rdflib import Dataset

        from kg_engine.store.loader import _Collector
        from kg_engine.store.terms import exact_literals

        class Count:  # the loader's rdflib sink, handing chunks to a counter, not a store
            statements = 0

            def write(self, chunk: list, row_of: object) -> None:
                Count.statements += len(chunk)

        sink = _Collector(Count(), path)  # type: ignore[arg-type]
        with exact_literals(), open(path, "rb") as f:
            Dataset(store=sink).parse(f, format="turtle")
        sink.flush()
        n = Count.statements
    elif mode == "pyoxigraph-parse":
        import pyoxigraph

        n = sum(1 for _ in pyoxigraph.parse(path=path, format=pyoxigraph.RdfFormat.TURTLE))
    else:
        from kg_engine.store import SQLStore, loader

        if mode == "load-rdflib":
            loader._TURTLE_FORMATS = {}  # the old path: rdflib's Turtle parser
        db = Path(workdir) / f"{mode}-{os.getpid()}.sqlite"
        with SQLStore(f"sqlite:///{db}") as store:
            n = store.load(path).statements
        db.unlink()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM: this process's peak (ru_maxrss would carry the parent's over from fork)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return {"mode": mode, "statements": n, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": peak / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each fast mode")
    ap.add_argument("--rdflib-runs", type=int, default=1, help="runs of the rdflib modes")
    ap.add_argument("--limit", type=int, default=None, help="first N statements only")
    ap.add_argument("--modes",
                    default="parse,rdflib-parse,pyoxigraph-parse,load,load-rdflib,load-nt")
    ap.add_argument("--keep", type=Path, default=None, help="write the Turtle file here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    with tempfile.TemporaryDirectory(prefix="kg-turtle-bench-") as tmp:
        ttl = args.keep or Path(tmp) / "lubm10.ttl"
        nt = Path(tmp) / "lubm10.nt"
        count = write_turtle(LUBM10, ttl, nt, args.limit)
        print(f"{count:,} statements; Turtle {ttl.stat().st_size / 1e6:.1f} MB, "
              f"N-Triples {nt.stat().st_size / 1e6:.1f} MB", flush=True)
        modes = args.modes.split(",")
        load_before = os.getloadavg()
        results: dict[str, list[dict]] = {m: [] for m in modes}
        rounds = max(args.runs, args.rdflib_runs)
        for r in range(rounds):  # modes interleaved, so each sees the same machine
            for mode in modes:
                if r >= (args.rdflib_runs if "rdflib" in mode else args.runs):
                    continue
                path = nt if mode == "load-nt" else ttl
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", mode, str(path), tmp],
                    check=True, capture_output=True, text=True, env={**os.environ,
                                                                     "PYTHONPATH": str(REPO)})
                res = json.loads(out.stdout.strip().splitlines()[-1])
                results[mode].append(res)
                print(f"  {mode:17} run {r + 1}: {res['wall']:.2f} s wall, {res['cpu']:.2f} "
                      f"CPU-s, {res['statements']:,} statements", flush=True)
        load_after = os.getloadavg()
    anchor = statistics.median(x["cpu"] for x in results.get("load") or results[modes[0]])
    print(f"\nload average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(1-minute), {os.cpu_count()} CPUs")
    print("| mode | runs | wall s (median) | CPU s (median) | statements/CPU-s | "
          "CPU vs kg load | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for mode, runs in results.items():
        if not runs:
            continue
        wall = statistics.median(x["wall"] for x in runs)
        cpu = statistics.median(x["cpu"] for x in runs)
        rss = max(x["rss_mb"] for x in runs)
        n = runs[0]["statements"]
        summary[mode] = {"runs": len(runs), "wall": wall, "cpu": cpu, "statements": n,
                         "rss_mb": rss, "all": runs}
        print(f"| {mode} | {len(runs)} | {wall:.2f} | {cpu:.2f} | {n / cpu:,.0f} | "
              f"{cpu / anchor:.2f}× | {rss:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"load_average": [load_before, load_after],
                                         "results": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
