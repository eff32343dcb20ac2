"""benchmarks/scale.py: the renamed-copies generator of the 10 M-triple workload."""

from __future__ import annotations

import gzip
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _scale():
    spec = importlib.util.spec_from_file_location("kg_bench_scale", REPO / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IRI = re.compile(r"<([^>]*)>")


def _instances(lines: list[str]) -> set[str]:
    """The data IRIs (everything but the ``univ-bench.owl#`` schema and rdf:type)."""
    return {iri for line in lines for iri in IRI.findall(line) if iri.startswith("http://www.") and "w3.org" not in iri}


def test_copies_are_disjoint_and_shaped_the_same(shared_data, tmp_path):
    scale = _scale()
    src = shared_data / "lubm" / "lubm1.nt.gz"
    with gzip.open(src, "rt", encoding="utf-8") as f:
        original = f.read().splitlines()
    out = tmp_path / "x2.nt"
    assert scale.write_copies(src, out, 2) == 2 * len(original)
    lines = out.read_text(encoding="utf-8").splitlines()
    first, second = lines[: len(original)], lines[len(original):]
    assert first == original  # copy 0 is the input unchanged
    a, b = _instances(first), _instances(second)
    assert len(a) == len(b) > 10_000 and not a & b  # disjoint, as many instance IRIs
    assert {i.replace("-c1.edu", ".edu") for i in b} == a  # the same IRIs, renamed
    schema = {IRI.findall(line)[1] for line in first}
    assert schema == {IRI.findall(line)[1] for line in second}  # predicates untouched
    assert "http://www.University0-c1.edu" in b and "http://www.University0.edu" in a


def test_answers_scale_with_the_copies(shared_data, tmp_path):
    """Two copies: a query over every university doubles exactly, one naming University0
    does not change (the benchmark's correctness check, on LUBM(1) without reasoning)."""
    from kg_engine import KnowledgeGraph

    scale = _scale()
    qs = scale.lubm_queries()
    counts = {}
    for copies in (1, 2):
        data = tmp_path / f"x{copies}.nt"
        scale.write_copies(shared_data / "lubm" / "lubm1.nt.gz", data, copies)
        with KnowledgeGraph(f"sqlite:///{tmp_path / f'x{copies}.sqlite'}") as kg:
            assert kg.load(data, progress=False).statements == copies * 100_543
            counts[copies] = {q: len(list(kg.query(qs[q]))) for q in ("q01", "q14")}
    assert counts[1] == {"q01": 4, "q14": 5916}
    assert counts[2] == {"q01": 4, "q14": 2 * 5916}


def test_expected_counts_follow_the_query_classes(shared_data):
    scale = _scale()
    one, eight = scale.expected_counts(1), scale.expected_counts(8)
    assert set(one) == set(scale.SCALED) | set(scale.FLAT)
    assert eight["q14"] == 8 * one["q14"] == 8 * 75547 and eight["q01"] == one["q01"] == 4


@pytest.mark.slow
def test_benchmark_smoke_on_two_lubm1_copies(shared_data, tmp_path):
    """The whole benchmark on 1 and 2 copies of LUBM(1), SQLite: the OWL 2 RL answers match
    ``copies ×`` / flat LUBM(1) answers (exit status 0 means no mismatch)."""
    scale = _scale()
    out = tmp_path / "out.json"
    rc = scale.main(["--scale", "1", "--copies", "1", "2", "--backends", "sqlite", "--runs", "1",
                     "--out-dir", str(tmp_path), "--json", str(out)])
    assert rc == 0 and out.exists()
