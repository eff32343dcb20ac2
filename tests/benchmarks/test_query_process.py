"""benchmarks/query_process.py: real ``kg query`` and API-script processes, timed alike."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("kg_bench_query_process",
                                                      REPO / "benchmarks" / "query_process.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return module


def test_both_processes_answer_the_same_rows(tmp_path: Path) -> None:
    bench = _module()
    try:
        bench.kg_command()
    except SystemExit:
        pytest.skip("no `kg` console script in this environment")
    from kg_engine import KnowledgeGraph

    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    kg = KnowledgeGraph(url)
    kg.update('INSERT DATA { <urn:a> <urn:p> "x" . <urn:b> <urn:p> "y"@en }')
    kg.close()
    out = bench.measure(url, {"two": "SELECT ?s ?o { ?s <urn:p> ?o }"}, 1, tmp_path)
    rec = out["two"]
    assert rec["rows"] == {"cli": 2, "api": 2}
    assert set(rec) == {"rows", "cli", "api", "api-json", "python"}
    assert all(rec[k]["cpu_ms"] > 0 and rec[k]["wall_ms"] > 0 for k in ("cli", "api", "python"))
