"""W3C SPARQL 1.1 query + update evaluation suite on kg-engine's stores (floors, not wishes).

Runs ``../shared/tools/w3c_sparql_suite.py`` (the project's runner) against
``kg_engine.testing:sqlite_dataset`` (and ``postgres_dataset``) and asserts the pass counts never
drop below what kg-engine reached when this test was written, that all 94 update tests pass, and
that no test passing on rdflib's in-memory store fails on ours. Skips when the shared suite data
is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
RUNNER = SHARED.parent / "tools" / "w3c_sparql_suite.py"

# Floors measured with this runner (613 runnable tests; 94 of them update tests).
FLOORS = {
    ("sqlite", "strict"): 606,
    ("sqlite", "lax"): 613,
    ("postgres", "strict"): 606,
    ("engine-only", "strict"): 606,  # kg-engine's engine over rdflib's Memory store, no SQL
}
UPDATES = 94
#: Tests that pass on rdflib's in-memory store but not on kg-engine's SQLite store, with the SQL
#: compiler on (lax comparison). Known compiler gaps, tracked in issue 3: this list may only shrink.
KNOWN_LOST_VS_RDFLIB: set[str] = set()

pytestmark = pytest.mark.skipif(
    not (RUNNER.is_file() and (SHARED / "w3c-sparql").is_dir()),
    reason=f"W3C SPARQL suite not found under {SHARED} (shared data folder absent)",
)


def run_suite(store: str, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"{store.replace(':', '_')}.json"
    cmd = [sys.executable, str(RUNNER), "--update", "--timeout", "120", "--store", store,
           "--json", str(out), *extra]
    proc = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=3000)
    assert out.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def passed(report: dict, kind: str | None = None) -> set[str]:
    return {t["id"] for t in report["tests"]
            if t["status"] == "pass" and (kind is None or t["kind"] == kind)}


def check(report: dict, floor: int) -> None:
    failures = [f"{t['status']} {t['id'].rsplit('/', 1)[-1]}: {t['message'][:160]}"
                for t in report["tests"] if t["status"] not in ("pass", "skip")]
    n = len(passed(report))
    assert n >= floor, f"{n} passed < floor {floor}; failures:\n" + "\n".join(failures)
    updates = len(passed(report, "update"))
    assert updates >= UPDATES, f"only {updates}/{UPDATES} update tests pass"


def test_sqlite_strict(tmp_path: Path) -> None:
    check(run_suite("kg_engine.testing:sqlite_dataset", tmp_path), FLOORS[("sqlite", "strict")])


@pytest.mark.slow
def test_sqlite_lax_and_no_regression_vs_rdflib(tmp_path: Path) -> None:
    ours = run_suite("kg_engine.testing:sqlite_dataset", tmp_path, "--lax")
    check(ours, FLOORS[("sqlite", "lax")])
    ref = run_suite("memory", tmp_path, "--lax")
    lost = sorted(i.rsplit("/", 1)[-1] for i in passed(ref) - passed(ours))
    new = [i for i in lost if i not in KNOWN_LOST_VS_RDFLIB]
    assert not new, "pass on rdflib Memory but fail on kg-engine:\n" + "\n".join(new)


@pytest.mark.slow
def test_engine_only_strict(tmp_path: Path) -> None:
    check(run_suite("kg_engine.testing:memory_dataset", tmp_path),
          FLOORS[("engine-only", "strict")])


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_strict(tmp_path: Path) -> None:
    from kg_engine.testing.postgres import PostgresUnavailable, find_pg_bin

    try:
        find_pg_bin()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    check(run_suite("kg_engine.testing:postgres_dataset", tmp_path),
          FLOORS[("postgres", "strict")])
