"""``kg vacuum``: what it says when another process writes to the store meanwhile."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.store import SQLStore
from kg_engine.store.dictionary import TermDictionary


def test_a_writer_between_its_commit_and_compaction_is_reported_as_such(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kg vacuum deletes the unused terms, commits, then compacts the file (VACUUM); another
    # process that took the write lock in between made it fail with 'is locked by another
    # process: wait for the other process to finish' (exit 2) although the terms were freed,
    # and a second kg vacuum (nothing left to free) never compacted
    path = tmp_path / "kg.sqlite"
    url = f"sqlite:///{path}"
    with SQLStore(url) as store:
        store.add([(URIRef(f"urn:s{i}"), URIRef("urn:p"), Literal(f"value {i}" * 20))
                   for i in range(2000)] + [(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
        store.remove((None, URIRef("urn:p"), None))
        store.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    other = sqlite3.connect(path, isolation_level=None)  # the other writer
    check_epoch = TermDictionary.check_epoch

    def writer_arrives(self: TermDictionary) -> bool:
        changed = check_epoch(self)
        if changed and not self.db.in_transaction and not other.in_transaction:
            self.db.execute("PRAGMA busy_timeout=200")  # not the 30 s a user waits
            other.execute("BEGIN IMMEDIATE")  # right after the vacuum's commit
        return changed

    monkeypatch.setattr(TermDictionary, "check_epoch", writer_arrives)
    r = CliRunner().invoke(app, ["vacuum", "--db", url])
    assert other.in_transaction, "the other writer never came"
    text = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert text.startswith("freed 4,000 unused terms (3 left) note:"), text  # no size change
    assert "not compacted: another process started writing" in text
    assert "run kg vacuum again" in text
    other.execute("COMMIT")
    other.close()
    monkeypatch.undo()
    with SQLStore(url) as store:
        assert store.db.scalar("SELECT count(*) FROM kg_terms") == 3  # the deletion stayed
        assert len(store) == 1
        free = store.db.scalar("PRAGMA freelist_count")
    assert free > 0
    r = CliRunner().invoke(app, ["vacuum", "--db", url])  # nothing to free: it compacts
    assert r.exit_code == 0 and "freed 0 unused terms" in r.output and "note" not in r.output
    with SQLStore(url) as store:
        assert store.db.scalar("PRAGMA freelist_count") == 0
