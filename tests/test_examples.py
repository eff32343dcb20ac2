"""The examples in examples/ run (against an in-memory store)."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_runs(capsys) -> None:
    module = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    module["main"]("sqlite://")
    out = capsys.readouterr().out
    assert "loaded 87 statements" in out
    assert "advisees of Bruno" in out and "hana" in out
    assert "triples inferred" in out


def test_analytics_example_runs(capsys) -> None:
    module = runpy.run_path(str(EXAMPLES / "analytics.py"))
    module["main"]("sqlite://")
    out = capsys.readouterr().out
    assert "written to <urn:kg-engine:analytics:pagerank>" in out and "Harbortown" in out
    assert out.count(" .\n") == 3  # the three statements of the path
