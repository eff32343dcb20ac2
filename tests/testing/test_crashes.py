"""A ``kg`` write command killed (SIGKILL) mid-write leaves the store as before or as after.

Each test builds a small store, runs the command in a subprocess and kills it at a marker
(the write-ahead log has grown past a size: the write is under way, or its commit is being
written), never after a wall-clock delay. The store must then open, be consistent
(:func:`kg_engine.testing.crashes.problems`) and be exactly the state before the command or
the state the command leaves when it runs to the end. ``benchmarks/crash_safety.py`` repeats
this at random moments on LUBM(1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kg_engine.store import open_store
from kg_engine.store.database import Database
from kg_engine.testing.crashes import fingerprint, problems, run_killed, wal_grew

KG = [sys.executable, "-m", "kg_engine"]
EX = "https://example.org/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def _data(path: Path, n: int = 20_000) -> Path:
    """n statements: typed entities, names with language tags, links; a class hierarchy."""
    lines = [f"<{EX}C{c}> <{RDFS}subClassOf> <{EX}C{c // 2}> ." for c in range(1, 64)]
    lines += [f"<{EX}knows> <{RDFS}domain> <{EX}Person> ."]
    for i in range(n // 3):
        lines.append(f"<{EX}e{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                     f"<{EX}C{i % 64}> .")
        lines.append(f'<{EX}e{i}> <{EX}name> "name {i}"@EN .')
        lines.append(f"<{EX}e{i}> <{EX}knows> <{EX}e{(i * 7) % (n // 3)}> .")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _state(url: str) -> tuple[dict, list[str]]:
    db = Database.connect(url)
    try:
        return fingerprint(db), problems(db)
    finally:
        db.close()


def _kill_and_judge(tmp_path: Path, base: Path, command: list[str], marker_bytes: int) -> str:
    """Kill ``command`` on a copy of ``base`` once the log grew past ``marker_bytes``; the
    name of the state it left ("before" or "after"), after checking it."""
    before, _ = _state(f"sqlite:///{base}")
    trial = tmp_path / "trial.sqlite"
    shutil.copyfile(base, trial)
    url = f"sqlite:///{trial}"
    code = run_killed([*command, "--db", url], at=wal_grew(trial, marker_bytes), limit=300,
                      log=tmp_path / "trial.log")
    state, found = _state(url)
    assert found == [], found
    open_store(url).close()  # what the next command does
    if state == before:
        return "before" if code is None else "before (finished)"
    whole = tmp_path / "whole.sqlite"
    shutil.copyfile(base, whole)
    subprocess.run([*command, "--db", f"sqlite:///{whole}"], check=True, capture_output=True)
    after, _ = _state(f"sqlite:///{whole}")
    assert state == after, "the killed command left a state that is neither before nor after"
    return "after"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("crash")
    base = work / "base.sqlite"
    subprocess.run([*KG, "load", str(_data(work / "data.nt")), "--db", f"sqlite:///{base}"],
                   check=True, capture_output=True)
    return base


def test_load_killed_mid_write(tmp_path: Path, loaded: Path) -> None:
    more = _data(tmp_path / "more.nt", 30_000)  # new entities and the same ones
    assert _kill_and_judge(tmp_path, loaded, [*KG, "load", str(more)], 64 << 10) in (
        "before", "after")


def test_update_killed_mid_write(tmp_path: Path, loaded: Path) -> None:
    update = (f"DELETE {{ ?s <{EX}name> ?o }} INSERT {{ ?s <{EX}label> ?o }} "
              f"WHERE {{ ?s <{EX}name> ?o }}")
    assert _kill_and_judge(tmp_path, loaded, [*KG, "update", update], 64 << 10) in (
        "before", "after")


def test_reason_killed_mid_write(tmp_path: Path, loaded: Path) -> None:
    assert _kill_and_judge(tmp_path, loaded, [*KG, "reason", "--rules", "rdfs"], 64 << 10) in (
        "before", "after")


@pytest.mark.slow
def test_vacuum_killed_mid_write(tmp_path: Path, loaded: Path) -> None:
    base = tmp_path / "deleted.sqlite"
    shutil.copyfile(loaded, base)
    subprocess.run([*KG, "update", f"DELETE WHERE {{ ?s <{EX}name> ?o }}", "--db",
                    f"sqlite:///{base}"], check=True, capture_output=True)
    # the VACUUM rewrites the file through the log: killed in it, or in the term delete
    state = _kill_and_judge(tmp_path, base, [*KG, "vacuum"], os.path.getsize(base) // 2)
    assert state in ("before", "after")


@pytest.mark.slow
def test_schema_upgrade_killed_mid_write(tmp_path: Path) -> None:
    """The in-place upgrade of a schema-1 store with upper-case tags (``kg reason --off``:
    a writable open, nothing else)."""
    from kg_engine.testing.crashes import as_schema_1_with_upper_case_tags

    base = tmp_path / "old.sqlite"
    store = open_store(f"sqlite:///{base}")
    as_schema_1_with_upper_case_tags(store, 5000, EX + "p", EX + "s")
    store.checkpoint()
    store.close()
    assert _kill_and_judge(tmp_path, base, [*KG, "reason", "--off"], 32 << 10) in (
        "before", "after")


@pytest.mark.postgres
def test_fingerprint_does_not_see_the_load_ids_a_rollback_skipped(pg_server, tmp_path: Path
                                                                    ) -> None:
    # PostgreSQL's sequence skips the id of a load that rolled back: the same load and add
    # after it recorded {"loads": 2} where the store that never saw the rollback recorded 1,
    # and the interruption differential reported "neither the state before nor after"
    from rdflib import URIRef

    from kg_engine import KnowledgeGraph

    data = tmp_path / "a.nt"
    data.write_text("<urn:a> <urn:p> <urn:b> .\n", encoding="utf-8")
    prints = []
    for rolled_back in (False, True):
        kg = KnowledgeGraph(pg_server.new_database_url())
        if rolled_back:
            with pytest.raises(KeyboardInterrupt), kg.store.db.transaction():
                kg.load(data, progress=False)
                raise KeyboardInterrupt
        kg.load(data, progress=False)
        kg.add([(URIRef("urn:c"), URIRef("urn:p"), URIRef("urn:d"))])
        prints.append(fingerprint(kg.store.db))
        kg.close()
    assert prints[0] == prints[1]
