"""``check_store``: damaged pages and kg-engine inconsistencies are found, nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rdflib import Literal, URIRef

from kg_engine.store import SQLStore, open_store
from kg_engine.store.check import FIX_PAGES, FIX_TABLES, check_store

EX = "https://example.org/"


def _store_file(path: Path, n: int = 3000) -> Path:
    """A real store of ``n`` subjects with names and links (about 180 pages of 4 KiB)."""
    with open_store(f"sqlite:///{path}") as store:
        store.add([(URIRef(f"{EX}e{i}"), URIRef(f"{EX}name"), Literal(f"name {i}", lang="en"))
                   for i in range(n)])
        store.add([(URIRef(f"{EX}e{i}"), URIRef(f"{EX}knows"), URIRef(f"{EX}e{(i * 7) % n}"))
                   for i in range(n)], graph=URIRef(f"{EX}g"))
        store.checkpoint()
    return path


def damage_middle_page(path: Path) -> int:
    """Overwrite 256 bytes in the middle of the middle page of the SQLite file ``path`` (not
    the header, not a truncation); returns the page number."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        size, count = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    finally:
        conn.close()
    page = count // 2
    with open(path, "r+b") as f:
        f.seek((page - 1) * size + size // 2)
        f.write(b"\xa5" * 256)
    return page


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_sound_store_is_sound(store: SQLStore) -> None:
    store.add([(URIRef(f"{EX}a"), URIRef(f"{EX}p"), Literal(1))], graph=URIRef(f"{EX}g"))
    report = check_store(store.db)
    assert report.sound and report.findings == []
    assert "term ids" in report.checks and "named graphs" in report.checks
    assert ("integrity_check" in report.checks) == (store.dialect == "sqlite")


def test_a_damaged_middle_page_is_found_though_the_store_opens_and_answers(tmp_path: Path) -> None:
    path = _store_file(tmp_path / "kg.sqlite")
    page = damage_middle_page(path)
    before = _digest(path)
    with open_store(f"sqlite:///{path}", readonly=True) as store:
        # the gap this closes: the damaged store opens and answers what avoids the page
        assert list(store.triples((URIRef(f"{EX}e5"), URIRef(f"{EX}name"), None)))
        for quick in (False, True):
            report = check_store(store.db, quick=quick)
            assert not report.sound, quick
            assert report.checks[0] == ("quick_check" if quick else "integrity_check")
            assert report.findings[0].fix == FIX_PAGES
            assert f"age {page}" in report.findings[0].what, report.findings[0].what
    assert _digest(path) == before  # read-only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]


def test_inconsistent_tables_are_found_on_every_backend(store: SQLStore) -> None:
    g = URIRef(f"{EX}g")
    store.add([(URIRef(f"{EX}a"), URIRef(f"{EX}p"), URIRef(f"{EX}b"))], graph=g)
    with store.db.transaction():
        store.db.execute("DELETE FROM kg_graphs")
        store.db.execute("DELETE FROM kg_terms WHERE lex = ?", (f"{EX}b",))
    report = check_store(store.db)
    whats = [f.what for f in report.findings]
    assert "kg_graphs: 1 graph(s) with statements are not recorded" in whats
    assert "kg_quads.o: 1 row(s) name a term id missing from kg_terms" in whats
    assert {f.fix for f in report.findings} == {FIX_TABLES}
    assert "UNSOUND: 3 problems found" in str(report)  # kg_provenance.o too
