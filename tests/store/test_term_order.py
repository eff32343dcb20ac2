"""Two loads of one file give the same term ids whatever ``PYTHONHASHSEED`` (subprocesses).

Found by the environment differential: the loader took the new terms of a chunk from a set,
so their ids, and with them the order of ``kg export`` N-Triples and the HTML view's node
ids, followed the hash seed (different at every run unless the seed is fixed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.mark.parametrize("suffix", ["nt", "ttl"])
def test_term_ids_and_export_do_not_follow_the_hash_seed(tmp_path: Path, suffix: str) -> None:
    data = tmp_path / f"d.{suffix}"
    data.write_text("".join(f'<urn:ex:s{i}> <urn:ex:p{i % 3}> "v{i}" .\n'
                            f"<urn:ex:s{i}> <urn:ex:q> <urn:ex:o{i}> .\n" for i in range(40)),
                    encoding="utf-8")
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": ROOT}
        db = f"sqlite:///{tmp_path / f's{seed}.sqlite'}"
        for args in (["load", str(data)], ["export", str(tmp_path / f"e{seed}.nt")]):
            done = subprocess.run([sys.executable, "-m", "kg_engine", *args, "--db", db], env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
        outs.append((tmp_path / f"e{seed}.nt").read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize("suffix", ["trig", "jsonld"])
def test_an_export_lists_its_graphs_and_nodes_in_one_order(tmp_path: Path, suffix: str) -> None:
    """The graphs of a TriG export came in the order of rdflib's in-memory set of graphs, the
    nodes of a JSON-LD export in a set's order: both follow the hash seed (found by the
    environment differential)."""
    data = tmp_path / "d.trig"
    data.write_text("".join(f"<urn:g{i}> {{ <urn:s{i}> <urn:p> {i}, 'a', 'b', <urn:o> . "
                            f"<urn:t{i}> <urn:p> 1 . }}\n" for i in range(6))
                    + "<urn:s> <urn:p> 0 .\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    outs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": ROOT}
        for args in (["load", str(data)] if seed == "1" else [],
                     ["export", str(tmp_path / f"e{seed}.{suffix}")]):
            if args:
                done = subprocess.run([sys.executable, "-m", "kg_engine", *args, "--db", db],
                                      env=env, capture_output=True, text=True, timeout=120,
                                      check=False)
                assert done.returncode == 0, done.stderr
        outs.append((tmp_path / f"e{seed}.{suffix}").read_text(encoding="utf-8"))
    assert outs[0] == outs[1] == outs[2]
