"""Stores written by historical kg-engine commits, opened by this one (kg_engine.testing.upgrades).

For each commit: ``git worktree add --detach`` it into a temporary folder, write a store with
that version (typed literals of every datatype, mixed-case language tags, blank nodes, named
graphs, provenance, an update, user rules, OWL 2 RL — live where the version has profiles),
replay the same steps here into a fresh store, compare answers, explanations, ``kg check``, a
read-only open and incremental writes, then remove the worktree. Results in
docs/benchmarks.md ("Stores written by earlier versions").

    python benchmarks/store_upgrades.py                     # the default commits, SQLite
    python benchmarks/store_upgrades.py 0067191 ea8045a     # these commits
    python benchmarks/store_upgrades.py --postgres 0067191  # PostgreSQL too (throwaway server)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from kg_engine.testing.upgrades import try_version

#: One commit just before each change of what the store holds (see docs/benchmarks.md).
DEFAULT_COMMITS = [
    "0067191",  # the first version with query/update/reason (schema 1)
    "89e0eb7",  # before reasoning profiles (95d5ea9)
    "bbdb6a0",  # live profiles, before the store marker checks (b1ef413)
    "67d3110",  # before kg vacuum / term id floor (1368552)
    "904056b",  # before language tags in lower case (ce53a7a)
    "2000bde",  # the last schema-1 version (6004520 made 2)
    "04afc7b",  # before out-of-range integer subtypes were ill-typed (491ac12)
    "2fd1ddd",  # before write records in kg_provenance (abadfda)
    "8d4c6e8",  # before stored NaN compared as XPath says (ddd420d)
    "ea8045a",  # before xsd:float at single precision (fd2be52)
    "d170744",  # before durations and times by value (e60e8a3, de62595)
    "1c2d2f9",  # before the rules' 'already known' test read kg_graphs (b09ccc0)
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="*", default=DEFAULT_COMMITS)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    repo = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    pg = None
    if args.postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres()
        pg.start()
    results = []
    try:
        for commit in args.commits:
            work = Path(tempfile.mkdtemp(prefix=f"kg-upgrade-{commit}-"))
            tree = work / "code"
            subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree),
                            commit], check=True, capture_output=True)
            started = time.process_time()
            try:
                manifest, comparison = try_version(tree, work, postgres=pg)
                summary = comparison.summary()
            except Exception as exc:  # noqa: BLE001 - a version whose writer fails is reported, not fatal
                manifest, summary = {}, f"ERROR {type(exc).__name__}: {exc}"
            finally:
                subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force",
                                str(tree)], check=False, capture_output=True)
            results.append({"commit": commit, "manifest": manifest, "summary": summary,
                            "cpu_s": round(time.process_time() - started, 1)})
            print(f"== {commit} {json.dumps(manifest)}\n{summary}\n", flush=True)
    finally:
        if pg is not None:
            pg.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    clean = sum(r["summary"].split("; ")[-1].startswith("0 difference") for r in results)
    print(f"{clean}/{len(results)} commits: no difference")
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
