"""Other projects' DAWG-style SPARQL tests, run on kg-engine beside pyoxigraph and rdflib.

Give it folders holding W3C-style manifests (``manifest*.ttl`` with ``mf:QueryEvaluationTest`` /
``mf:UpdateEvaluationTest`` entries), for example rdflib's own tests from a checkout or its
sdist (``test/data/suites/rdflib/sparql``), or a Jena checkout's ARQ scripted tests
(``jena-arq/testing/ARQ``). Nothing is vendored: the folders are read where they are, and the
runner is the project's W3C harness (``../shared/tools/w3c_sparql_suite.py``: same loading,
result comparison and timeouts as the W3C figures in docs/benchmarks.md), started once per
suite and engine. Not part of CI.

With ``--held-out`` each folder is first reduced to the held-out selection of
``peer_selection.py`` (evaluation tests in SPARQL 1.1 syntax that are not copies of W3C tests;
Jena's manifest dialect understood), e.g. Jena's ``testing/ARQ`` (unzip
``jena-arq/testing/ARQ/testing-*.zip`` of a checkout).

``--rdflib-tests DIR`` (rdflib's ``test/`` folder, from a clone or its sdist) also runs
rdflib's own store, graph, dataset and SPARQL pytest modules twice: on rdflib's Memory store
and with kg-engine's plugin registered as rdflib's ``default`` store (so ``Graph()``,
``Dataset()``, ``ConjunctiveGraph()`` in those tests are kg-engine stores, queried through
kg-engine's engine), and lists the tests that fail only with kg-engine.

Prints one table: per suite and engine the tests passed / failed / raising / timed out /
skipped, then the tests kg-engine fails and another engine passes.

Usage:
    python benchmarks/peer_suites.py [PATH ...] [--held-out] [--rdflib-tests DIR]
        [--engines kg-engine,pyoxigraph,rdflib] [--postgres] [--timeout 20]
        [--tool ../shared/tools/w3c_sparql_suite.py] [--json out.json]

Example (rdflib's own DAWG-style tests, from a clone or an unpacked sdist):
    python benchmarks/peer_suites.py ~/src/rdflib/test/data/suites/rdflib/sparql
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
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


#: rdflib's pytest modules run with kg-engine as rdflib's default store
RDFLIB_MODULES = ("test_store", "test_graph", "test_dataset", "test_conjunctivegraph", "test_sparql")
#: a pytest plugin (written to a temporary folder) making kg-engine rdflib's ``default`` store
SWAP_PLUGIN = """import rdflib.plugin
from rdflib.store import Store


def pytest_configure(config):
    rdflib.plugin.register("default", Store, "kg_engine.sparql.rdflib_plugin", "KgSparqlStore")
"""


def run_rdflib_tests(test_dir: Path, kg: bool, timeout: float) -> dict[str, str]:
    """rdflib's own pytest modules (:data:`RDFLIB_MODULES`) on its Memory store or (``kg``)
    with kg-engine as its default store: ``{test id: passed|failed|error|skipped}``.

    The ``test`` folder is copied to a temporary directory first, so that pytest imports the
    installed rdflib (not a source tree next to the tests)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(test_dir, root / "test")
        (root / "kg_swap_store.py").write_text(SWAP_PLUGIN, encoding="utf-8")
        xml = root / "junit.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO), str(root), *filter(None, [os.environ.get("PYTHONPATH")])]))
        cmd = [sys.executable, "-m", "pytest", *[f"test/{m}" for m in RDFLIB_MODULES
                                                   if (root / "test" / m).exists()],
               "-p", "no:cacheprovider", "-o", "addopts=", "-q", "-W", "ignore",
               f"--junitxml={xml}", *(["-p", "kg_swap_store"] if kg else [])]
        subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False,
                       timeout=max(600.0, timeout * 100))
        out: dict[str, str] = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            tid = f"{case.get('classname')}::{case.get('name')}"
            kinds = {child.tag for child in case}
            out[tid] = ("failed" if "failure" in kinds else "error" if "error" in kinds
                        else "skipped" if "skipped" in kinds else "passed")
        return out


def _stable_ids(records: list[dict]) -> list[dict]:
    """Key records by folder, name and occurrence (a blank-node test IRI changes per run)."""
    seen: dict[tuple, int] = {}
    for r in records:
        if r["id"].startswith("urn:peer:") or not re.match(r"^[nN][0-9a-f]{20,}", r["id"].rsplit("#", 1)[-1]):
            continue
        k = (r["folder"], r["name"])
        seen[k] = seen.get(k, 0) + 1
        r["id"] = f"{r['folder']}/{r['name']}#{seen[k]}"
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="folders holding manifest*.ttl files")
    ap.add_argument("--held-out", action="store_true",
                    help="only the held-out selection of each folder (see peer_selection.py)")
    ap.add_argument("--w3c", type=Path, default=SHARED / "w3c-sparql",
                    help="the W3C suite, to recognise copies of its tests (with --held-out)")
    ap.add_argument("--rdflib-tests", type=Path,
                    help="rdflib's test/ folder: run its own pytest modules with kg-engine as store")
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
    if args.paths and not args.tool.is_file():
        ap.error(f"harness not found: {args.tool} (pass --tool or set KG_SHARED_DATA)")
    for p in args.paths:
        if not p.is_dir():
            ap.error(f"not a folder: {p}")
    if not args.paths and args.rdflib_tests is None:
        ap.error("give suite folders, --rdflib-tests DIR, or both")
    if args.rdflib_tests is not None and not (args.rdflib_tests / "test_sparql").is_dir():
        ap.error(f"not rdflib's test/ folder (no test_sparql in it): {args.rdflib_tests}")

    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as sel_tmp:
        for k, root in enumerate(args.paths):
            run_root = root
            if args.held_out:
                sys.path.insert(0, str(Path(__file__).resolve().parent))
                from peer_selection import write_selection
                run_root = Path(sel_tmp) / str(k)
                why = write_selection(root, run_root, args.w3c if args.w3c.is_dir() else None)
                print(f"{root}: held-out selection {why['selected']} tests; left out: "
                      + ", ".join(f"{n} {r}" for r, n in why.items() if r != "selected"))
            results[str(root)] = {e: _stable_ids(run_suite(args.tool, run_root, e, args.timeout))
                                  for e in engines}

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
            behind = [(r, [e for e in others if status[e].get(tid, {}).get("status") == "pass"])
                      for tid, r in status["kg-engine"].items() if r["status"] not in ("pass", "skip")]
            behind = [(r, by) for r, by in behind if by]
            print(f"\n{root}: kg-engine fails {len(behind)} test(s) that "
                  f"{' or '.join(others)} pass")
            for r, by in behind:
                print(f"  {r['status']:7} {r['name']} (passed by {', '.join(by)}): "
                      f"{str(r['message'])[:150]}")
    if args.rdflib_tests is not None:
        mem = run_rdflib_tests(args.rdflib_tests, kg=False, timeout=args.timeout)
        kg = run_rdflib_tests(args.rdflib_tests, kg=True, timeout=args.timeout)
        print(f"\nrdflib's own tests ({', '.join(RDFLIB_MODULES)}), {len(kg)} test cases")
        print(f"{'store':28} {'passed':>7} {'failed':>7} {'error':>7} {'skipped':>7}")
        for name, res in (("rdflib Memory", mem), ("kg-engine plugin as default", kg)):
            c = {k: sum(v == k for v in res.values()) for k in ("passed", "failed", "error", "skipped")}
            print(f"{name:28} {c['passed']:7d} {c['failed']:7d} {c['error']:7d} {c['skipped']:7d}")
        only = sorted(t for t, v in kg.items() if v in ("failed", "error") and mem.get(t) == "passed")
        print(f"failing with kg-engine only ({len(only)}):")
        for t in only:
            print("  " + t)
        results["rdflib-tests"] = {"memory": mem, "kg-engine": kg}  # type: ignore[assignment]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
