"""``kg check``: exit 0 when sound, 3 with what is wrong and the fix, 2 for bad input; the store
is never written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.cli.check import EXIT_UNSOUND
from tests.store.test_check import _store_file, damage_middle_page

runner = CliRunner()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sound_store_exits_0(tmp_path: Path) -> None:
    path = _store_file(tmp_path / "kg.sqlite", n=200)
    res = runner.invoke(app, ["check", str(path)])
    assert res.exit_code == 0, res.output
    assert f"sqlite:///{path}: sound" in res.output and "integrity_check" in res.output
    res = runner.invoke(app, ["check", "--quick", "--db", f"sqlite:///{path}", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["checks"][0] == "quick_check"


def test_damaged_middle_page_exits_3_with_the_fix_and_writes_nothing(tmp_path: Path) -> None:
    path = _store_file(tmp_path / "kg.sqlite")
    page = damage_middle_page(path)
    before = _digest(path)
    for args in (["check", str(path)], ["check", str(path), "--quick"]):
        res = runner.invoke(app, args)
        assert res.exit_code == EXIT_UNSOUND, res.output
        assert "UNSOUND" in res.output and f"age {page}" in res.output
        assert "fix: restore the store from a backup" in res.output
    res = runner.invoke(app, ["check", str(path), "--json"])
    out = json.loads(res.output)
    assert res.exit_code == EXIT_UNSOUND and out["sound"] is False and out["findings"]
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]


def test_store_too_damaged_to_open_exits_3(tmp_path: Path) -> None:
    path = _store_file(tmp_path / "kg.sqlite", n=200)
    with open(path, "r+b") as f:  # page 1 past the file header: the schema's own page
        f.seek(120)
        f.write(b"\xa5" * 512)
    res = runner.invoke(app, ["check", str(path)])
    assert res.exit_code == EXIT_UNSOUND, res.output
    assert "cannot be opened" in res.output and "restore" in res.output


def test_missing_store_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2, res.output
    assert "no such store" in res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_postgresql_runs_the_consistency_checks(pg_server) -> None:
    from rdflib import URIRef

    from kg_engine import KnowledgeGraph

    url = pg_server.new_database_url()
    with KnowledgeGraph(url) as kg:
        kg.add([(URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"))])
    res = runner.invoke(app, ["check", url])
    assert res.exit_code == 0, res.output
    assert "integrity_check" not in res.output and "term ids" in res.output
    with KnowledgeGraph(url) as kg, kg.store.db.transaction():
        kg.store.db.execute("DELETE FROM kg_terms WHERE lex = 'urn:b'")
    res = runner.invoke(app, ["check", "--db", url])
    assert res.exit_code == EXIT_UNSOUND, res.output
    assert "kg_quads.o: 1 row(s) name a term id missing from kg_terms" in res.output


def test_store_needing_the_upgrade_is_checked_without_writing(tmp_path: Path) -> None:
    """A store an older kg-engine wrote is refused by read-only commands until upgraded, but
    kg check reads it as it is (it checks structure, answers nothing) and names the upgrade."""
    import sqlite3

    path = _store_file(tmp_path / "kg.sqlite", n=50)
    con = sqlite3.connect(path)
    with con:  # an out-of-range byte with a value, as versions before 491ac12 wrote it
        dt = con.execute("INSERT INTO kg_terms (id, h, kind, lex, dt, lang) VALUES "
                         "(100001, 1, 1, 'http://www.w3.org/2001/XMLSchema#byte', 0, '') "
                         "RETURNING id").fetchone()[0]
        con.execute("INSERT INTO kg_terms (id, h, kind, lex, dt, lang, num) VALUES "
                    "(100002, 2, 3, '300', ?, '', 300)", (dt,))
        con.execute("INSERT INTO kg_quads (g, s, p, o) SELECT g, s, p, 100002 FROM kg_quads LIMIT 1")
        con.execute("UPDATE kg_meta SET value = '2' WHERE key = 'schema_version'")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _digest(path)
    res = runner.invoke(app, ["query", "--db", f"sqlite:///{path}", "SELECT * { ?s ?p ?o }"])
    assert res.exit_code == 2 and "kg vacuum" in res.output, res.output
    res = runner.invoke(app, ["check", str(path)])
    assert res.exit_code == 0, res.output
    assert ": sound" in res.output and "kg vacuum" in res.output
    assert _digest(path) == before
