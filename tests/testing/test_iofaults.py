"""Refused writes (kg_engine.testing.iofaults) on a few write paths: the OS's file size limit
(EFBIG) at a point between a file's size before the command and its peak, and, as root, a
tmpfs too small for the store (ENOSPC). ``benchmarks/io_faults.py`` runs every path, at
many limits, on LUBM(1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg_engine.testing.iofaults import (
    Data,
    TmpfsUnavailable,
    limits_between,
    reference,
    run_trial,
    serve_trial,
    standard_cases,
)

ONTOLOGY = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <http://example.org/> .
ex:Student rdfs:subClassOf ex:Person . ex:Professor rdfs:subClassOf ex:Person .
ex:advisor rdfs:domain ex:Student ; rdfs:range ex:Professor .
ex:name rdfs:domain ex:Person .
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Data:
    folder = tmp_path_factory.mktemp("iofaults-data")
    (folder / "onto.ttl").write_text(ONTOLOGY)
    ex = "http://example.org/"
    lines = []
    for i in range(4000):
        lines.append(f"<{ex}s{i}> <{ex}name> \"student number {i} {'of a long name ' * 8}\" .")
        lines.append(f"<{ex}s{i}> <{ex}advisor> <{ex}p{i % 97}> .")
    (folder / "data.nt").write_text("\n".join(lines) + "\n")
    return Data([folder / "data.nt"], folder / "onto.ttl")


def _trials(data: Data, tmp_path: Path, names: list[str], fractions=(0.5,), space=False):
    """One refused write per case (in the middle of its largest file's growth), judged."""
    cases = {c.name: c for c in standard_cases(data)}
    out = []
    for name in names:
        case = cases[name]
        base = tmp_path / f"{name}-base"
        base.mkdir()
        if case.setup is not None:
            case.setup(base)
        ref = reference(case, base, tmp_path / f"{name}-ref")
        if space:
            size = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
            runs = [{"space": size + 65536}]
        else:
            limits = limits_between(ref.grown, fractions)
            # one in the middle of the files' growth (the benchmark runs them all; the last
            # one, past every peak, only fails in a temporary file)
            runs = [{"limit": limits[(len(limits) - 1) // 2]}]
        assert runs, (name, ref.grown)
        for i, run in enumerate(runs):
            out.append(run_trial(case, base, ref, tmp_path / f"{name}-{i}", **run))
    problems = [(t.case, t.limit, t.problems, t.message) for t in out if t.problems]
    assert not problems, problems
    return out


def test_store_commands_past_the_file_size_limit(data: Data, tmp_path: Path) -> None:
    trials = _trials(data, tmp_path, ["load-new", "update", "api-add"])
    assert sum(t.failed for t in trials) >= 2  # the refusals do land (a limit that only the
    # file's growth passes may fail the checkpoint after the commit alone: the command succeeds)
    assert all("file size limit" in t.message for t in trials if t.failed)


def test_export_and_steps_past_the_file_size_limit(data: Data, tmp_path: Path) -> None:
    trials = _trials(data, tmp_path, ["export-ttl", "vacuum"])
    assert trials[0].failed


def test_serve_answers_5xx_and_keeps_serving(data: Data, tmp_path: Path) -> None:
    cases = {c.name: c for c in standard_cases(data)}
    base = tmp_path / "base"
    base.mkdir()
    cases["load-nt"].setup(base)  # the ontology
    # (kg serve writes ~250 KB at its start: its rule tables, rdflib's prefixes)
    trial = serve_trial(base, tmp_path / "serve", 1_000_000, data.nt[0].read_bytes())
    assert not trial.problems, (trial.problems, trial.message)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs (ENOSPC) needs root")
def test_a_full_disk(data: Data, tmp_path: Path) -> None:
    try:
        trials = _trials(data, tmp_path, ["load-nt"], space=True)
    except TmpfsUnavailable as exc:
        pytest.skip(str(exc))
    assert all(t.failed and "disk is full" in t.message for t in trials)
