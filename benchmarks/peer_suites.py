"""Other projects' DAWG-style SPARQL tests, run on kg-engine beside pyoxigraph and rdflib.

Give it folders holding W3C-style manifests (``manifest*.ttl`` with ``mf:QueryEvaluationTest`` /
``mf:UpdateEvaluationTest`` entries), for example rdflib's own tests from a checkout or its
sdist (``test/data/suites/rdflib/sparql``), or a Jena checkout's ARQ scripted tests
(``jena-arq/testing/ARQ``). Nothing is vendored: the folders are read where they are, and the
runner is the project's W3C harness (``../shared/tools/w3c_sparql_suite.py``: same loading,
result comparison and timeouts as the W3C figures in docs/benchmarks.md), started once per
suite and engine. Not part of CI.

Prints one table: per suite and engine the tests passed / failed / raising / timed out /
skipped, then the tests kg-engine fails while both other engines pass.

Usage:
    python benchmarks/peer_suites.py PATH [PATH ...] [--engines kg-engine,pyoxigraph,rdflib]
        [--postgres] [--timeout 20] [--tool ../shared/tools/w3c_sparql_suite.py] [--json out.json]

Example (rdflib's own DAWG-style tests, from a clone or an unpacked sdist):
    python benchmarks/peer_suites.py ~/src/rdflib/test/data/suites/rdflib/sparql
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_TOOL = SHARED.parent / "tools" / "w3c_sparql_suite.py"

#: engine name → the harness's ``--store`` argument
ENGINES = {
    "kg-engine": "kg_engine.testing:sqlite_dataset",
    "kg-engine-pg": "kg_engine.testing:postgres_dataset",
    "pyoxigraph": "pyoxigraph",
    "rdflib": "memory",
}
STATUSES = ("pass", "fail", "error", "timeout", "skip")


def run_suite(tool: Path, root: Path, engine: str, timeout: float) -> list[dict]:
    """Per-test records of one engine on one suite (the harness's ``--json`` output)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
        cmd = [sys.executable, str(tool), "--root", str(root), "--store", ENGINES[engine],
               "--update", "--timeout", str(timeout), "--json", str(out)]
        # exit 1 only means "some tests failed": the JSON tells which
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if not out.exists():
            raise SystemExit(f"{engine} on {root}: the harness failed (exit {done.returncode}):\n"
                             f"{done.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8"))["tests"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", type=Path, help="folders holding manifest*.ttl files")
    ap.add_argument("--engines", default="kg-engine,pyoxigraph,rdflib",
                    help=f"comma-separated, of {', '.join(ENGINES)}")
    ap.add_argument("--postgres", action="store_true", help="add kg-engine on PostgreSQL")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per test")
    ap.add_argument("--tool", type=Path, default=DEFAULT_TOOL, help="the W3C harness script")
    ap.add_argument("--json", type=Path, help="write every engine's per-test records here")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.postgres and "kg-engine-pg" not in engines:
        engines.append("kg-engine-pg")
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    if not args.tool.is_file():
        ap.error(f"harness not found: {args.tool} (pass --tool or set KG_SHARED_DATA)")
    for p in args.paths:
        if not p.is_dir():
            ap.error(f"not a folder: {p}")

    results: dict[str, dict[str, list[dict]]] = {}
    for root in args.paths:
        results[str(root)] = {e: run_suite(args.tool, root, e, args.timeout) for e in engines}

    print(f"{'suite':40} {'engine':12} " + " ".join(f"{s:>7}" for s in STATUSES))
    for root, per_engine in results.items():
        name = root if len(root) <= 40 else "…" + root[-39:]
        for engine, records in per_engine.items():
            counts = {s: sum(r["status"] == s for r in records) for s in STATUSES}
            print(f"{name:40} {engine:12} " + " ".join(f"{counts[s]:7d}" for s in STATUSES))
    if "kg-engine" in engines and len(engines) > 1:
        others = [e for e in engines if e not in ("kg-engine", "kg-engine-pg")]
        for root, per_engine in results.items():
            status = {e: {r["id"]: r for r in recs} for e, recs in per_engine.items()}
            behind = [r for tid, r in status["kg-engine"].items()
                      if r["status"] not in ("pass", "skip")
                      and all(status[e].get(tid, {}).get("status") == "pass" for e in others)]
            print(f"\n{root}: kg-engine fails {len(behind)} test(s) that "
                  f"{' and '.join(others)} pass")
            for r in behind:
                print(f"  {r['status']:7} {r['id'].rsplit('/', 1)[-1]}: {str(r['message'])[:150]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
