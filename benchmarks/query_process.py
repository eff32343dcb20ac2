"""What one query costs a user who starts a process for it: ``kg query`` vs a Python script.

``benchmarks/sparql.py`` times the CLI in-process (no interpreter start, no imports); this
script runs real processes, as `hyperfine` would, each including interpreter start-up and
imports, over the LUBM store that ``sparql.py`` loads into ``--db-dir``:

* ``cli``: the ``kg`` console script, ``kg query -f Q.rq --format json --db URL`` (stdout to
  ``/dev/null``);
* ``api``: ``python -c`` a script that opens the store with ``KnowledgeGraph(url,
  readonly=True)`` and consumes every row (``[tuple(row) for row in kg.query(text)]``), the
  same work as the in-process API column;
* ``api-json``: the same script writing ``kg.query(text).serialize(format="json")`` to
  stdout (what the command prints; to ``/dev/null``);
* ``python``: ``python -c pass`` (the interpreter alone), for reference.

The commands alternate within each round (all see the same machine load); the tables give
medians of the child's CPU time (user + system, from ``getrusage``) and of wall time. Before
timing, every ``kg_engine`` module is compiled to bytecode (``compileall``), as an installed
package is: a tree run with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile its sources in
every process. Row counts of the command's JSON and of the API are checked to be equal.

Usage::

    python benchmarks/query_process.py --scale 10 --runs 7 --db-dir DIR \
        --only q01,q14,chain,optional,regex [--json out.json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sparql as bench  # the queries and the store of benchmarks/sparql.py

API = ("import sys\nfrom kg_engine import KnowledgeGraph\n"
       "kg = KnowledgeGraph(sys.argv[1], readonly=True)\n"
       "with open(sys.argv[2], encoding='utf-8') as f:\n    text = f.read()\n"
       "rows = [tuple(row) for row in kg.query(text)]\n"
       "if len(sys.argv) > 3:\n    print(len(rows))\n")
API_JSON = ("import sys\nfrom kg_engine import KnowledgeGraph\n"
            "kg = KnowledgeGraph(sys.argv[1], readonly=True)\n"
            "with open(sys.argv[2], encoding='utf-8') as f:\n    text = f.read()\n"
            "sys.stdout.write(kg.query(text).serialize(format='json').decode())\n")


def kg_command() -> list[str]:
    """The ``kg`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "kg"
    if script.exists():
        return [str(script)]
    found = shutil.which("kg")
    if found is None:
        raise SystemExit("no `kg` command next to this Python or on PATH")
    return [found]


def commands(url: str, file: str) -> dict[str, list[str]]:
    return {
        "cli": [*kg_command(), "query", "-f", file, "--format", "json", "--db", url],
        "api": [sys.executable, "-c", API, url, file],
        "api-json": [sys.executable, "-c", API_JSON, url, file],
        "python": [sys.executable, "-c", "pass"],
    }


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def row_counts(cmds: dict[str, list[str]]) -> tuple[int, int]:
    """Rows of the command's JSON and of the API script (untimed)."""
    out = subprocess.run(cmds["cli"], capture_output=True, text=True, check=True).stdout
    cli = len(json.loads(out)["results"]["bindings"])
    api = int(subprocess.run([*cmds["api"], "count"], capture_output=True, text=True,
                             check=True).stdout)
    return cli, api


def measure(url: str, qs: dict[str, str], runs: int, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in qs.items():
        file = work / f"{name}.rq"
        file.write_text(text, encoding="utf-8")
        cmds = commands(url, str(file))
        cli_rows, api_rows = row_counts(cmds)  # also the warm-up (page cache, bytecode)
        wall: dict[str, list[float]] = {k: [] for k in cmds}
        cpu: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(runs):
            for k, cmd in cmds.items():
                w, c = timed(cmd)
                wall[k].append(w * 1000)
                cpu[k].append(c * 1000)
        out[name] = {"rows": {"cli": cli_rows, "api": api_rows},
                     **{k: {"wall_ms": statistics.median(wall[k]),
                            "cpu_ms": statistics.median(cpu[k])} for k in cmds}}
        rec = out[name]
        print(f"    {name}: " + ", ".join(f"{k} {rec[k]['cpu_ms']:.0f} CPU-ms / "
                                         f"{rec[k]['wall_ms']:.0f} ms" for k in cmds),
              file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="10", choices=["1", "10"])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--db-dir", default=tempfile.gettempdir())
    ap.add_argument("--only", default="q01,q14,chain,optional,regex",
                    help="comma-separated query names ('all': every query of sparql.py)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if not bench.DATA.exists():
        print(f"LUBM data not found in {bench.DATA} (set KG_SHARED_DATA)", file=sys.stderr)
        return 2
    qs = bench.queries()
    if args.only != "all":
        qs = {k: v for k, v in qs.items() if k in args.only.split(",")}
    db_dir = Path(args.db_dir)
    bench.ours_store(args.scale, db_dir).close()  # loads LUBM once, as sparql.py does
    url = f"sqlite:///{db_dir / f'kg_bench_lubm{args.scale}.sqlite'}"
    import kg_engine

    compileall.compile_dir(Path(kg_engine.__file__).parent, quiet=1)
    results: dict[str, Any] = {"scale": args.scale, "runs": args.runs,
                               "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as work:
        res = measure(url, qs, args.runs, Path(work))
    results.update(results=res, loadavg_end=os.getloadavg())
    print(f"(load average {results['loadavg_start'][0]:.1f} → {results['loadavg_end'][0]:.1f}; "
          f"medians of {args.runs} runs per command)")
    print("| query | rows | `kg query --format json` CPU ms (wall) | API script CPU ms (wall) "
          "| API → JSON script CPU ms (wall) | `python -c pass` CPU ms | CLI ÷ API CPU (wall) "
          "| CLI ÷ API→JSON CPU |")
    print("|" + "---|" * 8)
    bad = 0
    for name, rec in res.items():
        c, a, j, p = rec["cli"], rec["api"], rec["api-json"], rec["python"]
        if rec["rows"]["cli"] != rec["rows"]["api"]:
            print(f"!! row count mismatch on {name}: {rec['rows']}")
            bad += 1
        print(f"| {name} | {rec['rows']['cli']} | {c['cpu_ms']:.0f} ({c['wall_ms']:.0f}) "
              f"| {a['cpu_ms']:.0f} ({a['wall_ms']:.0f}) | {j['cpu_ms']:.0f} ({j['wall_ms']:.0f}) "
              f"| {p['cpu_ms']:.0f} | {c['cpu_ms'] / a['cpu_ms']:.2f} "
              f"({c['wall_ms'] / a['wall_ms']:.2f}) | {c['cpu_ms'] / j['cpu_ms']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
