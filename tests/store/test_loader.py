"""Bulk loader: formats, gzip, blank-node scoping, error positions, atomicity, crashes."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from kg_engine.core import DEFAULT_GRAPH
from kg_engine.errors import InputNotFoundError, RDFSyntaxError
from kg_engine.store import SQLStore

EX = "https://example.org/"
TTL = """@prefix ex: <https://example.org/> .
ex:a ex:p ex:b ; ex:q "01"^^<http://www.w3.org/2001/XMLSchema#integer> , "x"@en .
ex:b ex:p [ ex:q ex:c ] .
"""
FORMATS = {
    "f.ttl": TTL,
    "f.nt": '<https://example.org/a> <https://example.org/p> <https://example.org/b> .\n'
            '<https://example.org/a> <https://example.org/q> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
            '<https://example.org/a> <https://example.org/q> "x"@en .\n'
            '<https://example.org/b> <https://example.org/p> _:n .\n'
            '_:n <https://example.org/q> <https://example.org/c> .\n',
    "f.rdf": """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="https://example.org/">
  <rdf:Description rdf:about="https://example.org/a">
    <ex:p rdf:resource="https://example.org/b"/>
    <ex:q rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">01</ex:q>
    <ex:q xml:lang="en">x</ex:q>
  </rdf:Description>
  <rdf:Description rdf:about="https://example.org/b">
    <ex:p><rdf:Description><ex:q rdf:resource="https://example.org/c"/></rdf:Description></ex:p>
  </rdf:Description>
</rdf:RDF>""",
    "f.jsonld": """[{"@id": "https://example.org/a",
      "https://example.org/p": [{"@id": "https://example.org/b"}],
      "https://example.org/q": [{"@value": "01", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
                                {"@value": "x", "@language": "en"}]},
     {"@id": "https://example.org/b", "https://example.org/p": [{"@id": "_:n"}]},
     {"@id": "_:n", "https://example.org/q": [{"@id": "https://example.org/c"}]}]""",
}


@pytest.mark.parametrize("bom", [False, True], ids=["", "bom"])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_loads_the_same_graph_with_exact_literals(store: SQLStore, tmp_path: Path,
                                                               name: str, bom: bool) -> None:
    path = tmp_path / name
    # a UTF-8 byte order mark (Windows editors write one) is no content in any format; .nt
    # and .jsonld refused it ("found '\ufeff<…'", "Unexpected UTF-8 BOM")
    path.write_text(("\ufeff" if bom else "") + FORMATS[name], encoding="utf-8")
    result = store.load(path)
    assert result.statements == 5 and result.added == 5
    objects = {o for _, _, o, _ in store.triples((URIRef(EX + "a"), URIRef(EX + "q"), None))}
    assert objects == {Literal("01", datatype=XSD.integer, normalize=False), Literal("x", lang="en")}
    assert str(next(iter(o for o in objects if o.datatype))) == "01"  # not canonicalised to "1"
    (_, _, node, _), = store.triples((URIRef(EX + "b"), URIRef(EX + "p"), None))
    assert isinstance(node, BNode)
    assert next(iter(store.triples((node, URIRef(EX + "q"), None))))[2] == URIRef(EX + "c")


def test_gzip_quads_and_target_graph(store: SQLStore, tmp_path: Path) -> None:
    nq = tmp_path / "d.nq.gz"
    with gzip.open(nq, "wt") as f:
        f.write("<urn:a> <urn:p> <urn:b> <urn:g> .\n<urn:a> <urn:p> <urn:c> .\n")
    store.load(nq, graph=URIRef("urn:target"))
    assert store.count(URIRef("urn:g")) == 1
    assert store.count(URIRef("urn:target")) == 1
    assert store.count(DEFAULT_GRAPH) == 0
    trig = tmp_path / "d.trig"
    trig.write_text("<urn:g2> { <urn:a> <urn:p> <urn:d> } <urn:a> <urn:p> <urn:e> .")
    store.load(trig)
    assert store.count(URIRef("urn:g2")) == 1 and store.count(DEFAULT_GRAPH) == 1


# one blank node label used twice (in quad formats: in two graphs) in every format
BLANK = {
    "b.nt": "_:b1 <urn:p> <urn:a> .\n_:b1 <urn:q> \"x\" .\n",
    "b.nq": "_:b1 <urn:p> <urn:a> <urn:g1> .\n_:b1 <urn:q> \"x\" <urn:g2> .\n",
    "b.ttl": "_:b1 <urn:p> <urn:a> .\n_:b1 <urn:q> \"x\" .\n",
    "b.n3": "_:b1 <urn:p> <urn:a> .\n_:b1 <urn:q> \"x\" .\n",
    "b.trig": "<urn:g1> { _:b1 <urn:p> <urn:a> . }\n<urn:g2> { _:b1 <urn:q> \"x\" . }\n",
    "b.rdf": """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:u="urn:">
  <rdf:Description rdf:nodeID="b1"><u:p rdf:resource="urn:a"/></rdf:Description>
  <rdf:Description rdf:nodeID="b1"><u:q>x</u:q></rdf:Description>
</rdf:RDF>""",
    "b.jsonld": '[{"@id": "_:b1", "urn:p": {"@id": "urn:a"}}, {"@id": "_:b1", "urn:q": "x"}]',
    "g.jsonld": '[{"@id": "urn:g1", "@graph": [{"@id": "_:b1", "urn:p": {"@id": "urn:a"}}]},'
                ' {"@id": "urn:g2", "@graph": [{"@id": "_:b1", "urn:q": "x"}]}]',
}


def _blank_subjects(store: SQLStore) -> list[BNode]:
    """The blank subjects of ``urn:p``, each checked to carry both statements of its file."""
    subjects = [s for s, *_ in store.triples((None, URIRef("urn:p"), None))]
    for s in subjects:
        assert isinstance(s, BNode)
        # within one file one label is one node (across its graphs too)
        assert {p for _, p, _, _ in store.triples((s, None, None))} == {URIRef("urn:p"),
                                                                       URIRef("urn:q")}
    return subjects


@pytest.mark.parametrize("name", sorted(BLANK))
def test_blank_nodes_are_scoped_per_load(store: SQLStore, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(BLANK[name])
    assert store.load(path).added == 2
    assert len(_blank_subjects(store)) == 1 and len(store) == 2
    # the same document loaded again: its blank node is a new one (RDF: separate documents)
    assert store.load(path).added == 2
    assert len(set(_blank_subjects(store))) == 2 and len(store) == 4


@pytest.mark.parametrize("name", sorted(BLANK))
def test_blank_nodes_of_files_loaded_together_stay_apart(store_url: str, tmp_path: Path,
                                                          name: str) -> None:
    from kg_engine import KnowledgeGraph

    a, b = tmp_path / ("a_" + name), tmp_path / ("b_" + name)
    a.write_text(BLANK[name])
    b.write_text(BLANK[name])
    kg = KnowledgeGraph(store_url)
    try:
        result = kg.load([a, b])
        assert (result.statements, result.added) == (4, 4)
        assert len(set(_blank_subjects(kg.store))) == 2 and len(kg.store) == 4
    finally:
        kg.close()


@pytest.mark.parametrize(
    "name, text, line, column, expected",
    [
        ("bad.nt", '<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> "open .\n', 2, 17, "an object"),
        ("bad.nt", "<urn:a> <urn:p> <urn:b> .\n\n<urn:a> urn:p <urn:b> .\n", 3, 9, "a predicate"),
        ("bad.nt", "<urn:a> <urn:p> <urn:b>\n", 1, 24, "'.' ending the statement"),
        ("bad.nt", "<urn:a> <urn:p> <urn:b> <urn:g> .\n", 1, None, "N-Quads"),
        ("bad.nt", "<urn:a b> <urn:p> <urn:b> .\n", 1, None, "malformed IRI"),
        ("bad.ttl", "@prefix ex: <urn:> .\nex:a ex:p ex:b .\nex:a ex:p .\n", 3, 11, "expected an object"),
        ("bad.rdf", "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n<x>\n</rdf:RDF>", 3, None, "xml"),
    ],
)
def test_malformed_input_names_file_line_and_leaves_store_unchanged(
    store: SQLStore, tmp_path: Path, name: str, text: str, line: int, column: int | None,
    expected: str,
) -> None:
    good = tmp_path / "good.nt"
    good.write_text("<urn:x> <urn:p> <urn:y> .\n")
    store.load(good)
    before = (len(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
              store.db.scalar("SELECT count(*) FROM kg_loads"))
    bad = tmp_path / name
    bad.write_text(text)
    with pytest.raises(RDFSyntaxError) as info:
        store.load([good, bad])  # the good file in the same call is not loaded either
    err = info.value
    assert err.source == str(bad) and err.line == line
    if column is not None:
        assert err.column == column
    assert expected in str(err) and str(err).startswith(f"{bad}:{line}")
    after = (len(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
             store.db.scalar("SELECT count(*) FROM kg_loads"))
    assert after == before


def test_missing_file_loads_nothing(store: SQLStore, tmp_path: Path) -> None:
    good = tmp_path / "good.nt"
    good.write_text("<urn:x> <urn:p> <urn:y> .\n")
    with pytest.raises(InputNotFoundError, match="no such file"):
        store.load([good, tmp_path / "missing.nt"])
    assert len(store) == 0


def test_load_is_recorded(store: SQLStore, tmp_path: Path) -> None:
    path = tmp_path / "r.nt"
    path.write_text("<urn:x> <urn:p> <urn:y> .\n")
    store.load(path, graph=URIRef("urn:g"))
    (record,) = store.loads(URIRef("urn:g"))
    assert record["source"] == str(path) and record["statements"] == 1


@pytest.mark.parametrize("suffix", ["ttl", "trig", "n3"])
def test_the_files_empty_prefix_is_kept_with_the_others(store: SQLStore, tmp_path: Path,
                                                        suffix: str) -> None:
    # '@prefix : <…>' is the most common prefix of all: it was dropped, so exports wrote ns1:
    # and `kg explain ':a :p :b'` said "undefined prefix ':'" after loading the file
    path = tmp_path / f"p.{suffix}"
    path.write_text("@prefix : <http://e.example/> .\n@prefix f: <http://f.example/> .\n"
                    ":a f:p :b .\n")
    store.load(path)
    from kg_engine.export.rdf import store_prefixes

    kept = dict(store_prefixes(store.db))
    assert kept[""] == URIRef("http://e.example/") and kept["f"] == URIRef("http://f.example/")


@pytest.mark.parametrize("fast", [True, False], ids=["bulk-parser", "rdflib-parser"])
def test_trig_and_nquads_loads_are_recorded_per_graph(store: SQLStore, tmp_path: Path,
                                                      fast: bool) -> None:
    """Each statement's load record names its own graph and the file: the records of a TriG
    or N-Quads file with named graphs were all for the target graph, so ``explain`` of a
    statement in a named graph said "no recorded source"."""
    from kg_engine.rules.explain import explain

    trig, nq = tmp_path / "d.trig", tmp_path / "d.nq"
    trig.write_text(f"@prefix ex: <{EX}> .\nex:a ex:p ex:b .\nex:g1 {{ ex:c ex:p ex:d . "
                    "ex:c ex:p ex:e . }\nex:g2 { ex:f ex:p ex:g . }\n")
    nq.write_text(f"<{EX}h> <{EX}p> <{EX}i> <{EX}g3> .\n<{EX}h> <{EX}p> <{EX}j> <{EX}g1> .\n")
    if fast:
        store.load([trig, nq])
    else:  # rdflib's TriG parser (the path of the other formats with named graphs)
        store.load(trig, format="application/trig")
        store.load(nq)
    loads = {(str(r["graph"]), r["source"], r["statements"]) for r in store.loads()}
    assert loads == {(str(DEFAULT_GRAPH), str(trig), 1), (f"{EX}g1", str(trig), 2),
                     (f"{EX}g2", str(trig), 1), (f"{EX}g3", str(nq), 1),
                     (f"{EX}g1", str(nq), 1)}
    def u(x: str) -> URIRef:
        return URIRef(EX + x)

    expected = {("c", "d"): f"loaded from one of {trig} or {nq}",  # g1 holds both files'
                ("f", "g"): f"loaded from {trig}", ("h", "i"): f"loaded from {nq}",
                ("a", "b"): f"loaded from {trig}"}
    for (s, o), text in expected.items():
        assert text in str(explain(store, (u(s), u("p"), u(o)))), (s, o)


def _write_big_nt(path: Path, n: int) -> None:
    with open(path, "w") as f:
        f.writelines(f'<urn:s{i}> <urn:p{i % 7}> "value {i}" .\n' for i in range(n))


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from kg_engine.store import SQLStore
    store = SQLStore(sys.argv[1])
    print("loading", flush=True)
    store.load(sys.argv[2])
""")


#: a load held inside its transaction once every statement is written: a small page cache
#: sends the pages to the write-ahead log as they fill (not all at the commit), and the load
#: waits after its statistics, the last step before the commit, to be killed
HELD_LOAD_SCRIPT = textwrap.dedent("""
    import sys, time
    from kg_engine.store import SQLStore, loader
    store = SQLStore(sys.argv[1])
    store.db.execute("PRAGMA cache_size=50")
    update_stats = loader._update_stats
    def held(*args, **kwargs):
        update_stats(*args, **kwargs)
        print("written", flush=True)
        time.sleep(600)
    loader._update_stats = held
    store.load(sys.argv[2])
""")


def test_killed_load_leaves_consistent_store(tmp_path: Path) -> None:
    # killed while its uncommitted pages are in the write-ahead log: nothing of the load is
    # left. It killed the load once the log passed 1 MB, which happens in the last half second
    # of a 27-second load (the page cache holds the rest until the commit): a test process
    # scheduled late killed it after the commit (or found it gone), and the test failed.
    url = f"sqlite:///{tmp_path / 'k.sqlite'}"
    with SQLStore(url) as s:
        s.add([(URIRef("urn:x"), URIRef("urn:p"), URIRef("urn:y"))])
    big = tmp_path / "big.nt"
    _write_big_nt(big, 150_000)  # the loader writes in chunks of 100k statements
    wal = tmp_path / "k.sqlite-wal"
    proc = subprocess.Popen([sys.executable, "-c", HELD_LOAD_SCRIPT, url, str(big)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        assert wal.stat().st_size > 1_000_000  # the load's pages are in the log
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with SQLStore(url) as s:
        assert len(s) == 1
        assert s.db.scalar("PRAGMA integrity_check") == "ok"
        names = {r[0] for r in s.db.fetchall("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"kg_quads_posg", "kg_quads_ospg", "kg_quads_gspo"} <= names
        small = tmp_path / "small.nt"
        _write_big_nt(small, 1000)
        assert s.load(small).added == 1000  # and the store takes loads again


def test_concurrent_reader_never_sees_a_partial_load(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    SQLStore(url).close()
    big = tmp_path / "big.nt"
    _write_big_nt(big, 100_000)
    writer = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, url, str(big)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "loading"
    seen = set()
    with SQLStore(url) as reader:
        while writer.poll() is None:
            seen.add(len(reader))
            time.sleep(0.05)
        seen.add(len(reader))
    assert writer.returncode == 0
    assert seen <= {0, 100_000} and 100_000 in seen


def test_small_load_bumps_statistics_without_a_scan(store, tmp_path: Path) -> None:
    big, small = tmp_path / "big.nt", tmp_path / "small.nt"
    big.write_text("".join(f"<urn:s{i}> <urn:p1> <urn:o{i % 10}> .\n" for i in range(100)))
    small.write_text("<urn:t1> <urn:p1> <urn:o1> .\n<urn:t2> <urn:p1> <urn:o2> .\n"
                     "<urn:t1> <urn:p2> <urn:x> .\n<urn:s0> <urn:p1> <urn:o0> .\n")  # 1 duplicate
    store.load(big)
    ids = store.term_ids([URIRef("urn:p1"), URIRef("urn:p2")])
    assert store.predicate_stats()[ids[URIRef("urn:p1")]] == (100, 100, 10)
    store.load(small)
    stats = store.predicate_stats()
    ids = store.term_ids([URIRef("urn:p1"), URIRef("urn:p2")])
    # 3 of 4 statements new: counts scaled by 3/4 (estimates, no scan of the store)
    assert stats[ids[URIRef("urn:p1")]][0] == 102 and stats[ids[URIRef("urn:p2")]][0] == 1
    store.refresh_stats()
    assert store.predicate_stats()[ids[URIRef("urn:p1")]] == (102, 102, 10)


def test_load_into_a_store_emptied_of_statements_reuses_its_terms(store: SQLStore,
                                                                  tmp_path: Path) -> None:
    # a store without statements but with terms: the loader reads them instead of looking up
    path = tmp_path / "t.nt"
    path.write_text('<urn:a> <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                    '<urn:b> <urn:p> <http://www.w3.org/2001/XMLSchema#integer> .\n')
    store.load(path)
    store.remove()
    assert len(store) == 0
    terms_before = store.db.scalar("SELECT count(*) FROM kg_terms")
    assert store.load([path, path]).added == 2
    assert store.db.scalar("SELECT count(*) FROM kg_terms") == terms_before  # no duplicates
    assert len(list(store.triples((None, URIRef("urn:p"), None)))) == 2


def test_first_load_with_repeated_statements_keeps_each_once(store: SQLStore,
                                                             tmp_path: Path) -> None:
    # into an empty store PostgreSQL copies straight into kg_quads and rebuilds its key
    # after: repeats in the input are removed first, and the key holds afterwards
    path = tmp_path / "r.nt"
    path.write_text("".join(f"<urn:s{i % 7}> <urn:p> <urn:o{i % 3}> .\n" for i in range(42))
                    + "<urn:s0> <urn:p> <urn:o0> <urn:g> .\n")
    result = store.load([path, path], format="nquads")
    assert result.statements == 86 and result.added == 22 and len(store) == 22
    p = store.term_ids([URIRef("urn:p")])[URIRef("urn:p")]
    assert store.predicate_stats()[p] == (22, 7, 3)  # 21 in the default graph, 1 in urn:g
    assert store.add([(URIRef("urn:s1"), URIRef("urn:p"), URIRef("urn:o1"))]) == 0
    assert store.add([(URIRef("urn:s1"), URIRef("urn:p"), URIRef("urn:o9"))]) == 1


def _has_term_index(store: SQLStore) -> bool:
    if store.dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'kg_terms_h'"
    else:
        sql = "SELECT 1 FROM pg_indexes WHERE indexname = 'kg_terms_h' AND schemaname = current_schema()"
    return store.db.fetchone(sql) is not None


def test_load_into_an_empty_store_rebuilds_the_term_index(store: SQLStore, tmp_path: Path) -> None:
    # a load into an empty store drops the term-hash index (terms are told
    # apart in memory) and builds it after: look-ups by hash work, no term is doubled, even
    # the target graph's IRI, created before the load, appearing in the data; a failed load
    # leaves the index as it was
    g = URIRef("urn:g")
    good = tmp_path / "a.nt"
    good.write_text('<urn:g> <urn:p> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                    '<urn:b> <urn:p> <http://www.w3.org/2001/XMLSchema#integer> .\n')
    bad = tmp_path / "b.nt"
    bad.write_text("<urn:c> <urn:p> .\n")
    with pytest.raises(RDFSyntaxError):
        store.load([good, bad], graph=g)
    assert _has_term_index(store) and len(store) == 0
    assert store.load(good, graph=g).added == 2
    assert _has_term_index(store)
    lexes = [r[0] for r in store.db.fetchall("SELECT lex FROM kg_terms WHERE kind = 1")]
    assert sorted(lexes) == sorted(set(lexes))  # every IRI once (urn:g, xsd:integer too)
    assert store.term_ids([URIRef("urn:b")]) != {}  # found by hash
    more = tmp_path / "c.nt"
    more.write_text("<urn:b> <urn:p> <urn:g> .\n")
    assert store.load(more).added == 1
    assert store.db.scalar("SELECT count(*) FROM kg_terms WHERE lex = 'urn:b'") == 1


def test_load_into_a_new_sqlite_store_sorts_in_files(tmp_path: Path, monkeypatch) -> None:
    # the index builds and the subject statistics of a bulk load run as external sorts
    # (Database.external_sort): the loading connection has no temporary table open; the
    # statistics are exact and the settings come back
    import contextlib

    from kg_engine.store import open_store
    from kg_engine.store.database import Database

    seen: list[bool] = []
    original = Database.external_sort

    @contextlib.contextmanager
    def spy(self):
        with original(self) as external:
            seen.append(external)
            yield external

    monkeypatch.setattr(Database, "external_sort", spy)
    store = open_store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    seen.clear()  # (the new store's empty indexes)
    path = tmp_path / "d.nt"
    path.write_text("".join(f"<urn:s{i % 97}> <urn:p{i % 3}> <urn:o{(i * 31) % 89}> .\n"
                            for i in range(3000)))
    assert store.load(path).added == len({(i % 97, i % 3, (i * 31) % 89) for i in range(3000)})
    assert seen == [True, True]
    p0 = store.term_ids([URIRef("urn:p0")])[URIRef("urn:p0")]
    rows = {(i % 97, (i * 31) % 89) for i in range(3000) if i % 3 == 0}
    assert store.predicate_stats()[p0] == (len(rows), len({s for s, _ in rows}),
                                           len({o for _, o in rows}))
    assert store.db.scalar("PRAGMA temp_store") == 2 and store.db.scalar("PRAGMA integrity_check") == "ok"
    assert len(store.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index' "
                                 "AND name LIKE 'kg_quads_%'")) == 3


def test_an_n_quads_literal_that_is_no_value_of_its_datatype_is_warned_about(
        store: SQLStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """As for Turtle (tests/store/test_turtle.py): the bulk N-Triples/N-Quads path kept
    "12,50"^^xsd:decimal and "2024-02-30"^^xsd:date without a word; now each distinct one is
    warned about with the line it first occurs on, and still stored as written."""
    import logging

    path = tmp_path / "staff.nq"
    path.write_text(
        f'<urn:a> <urn:salary> "12,50"^^<{XSD.decimal}> <urn:g> .\n'
        f'<urn:a> <urn:p> "ok"^^<urn:my-type> .\n'
        f'<urn:b> <urn:p> "NaN"^^<{XSD.double}> .\n'
        f'<urn:b> <urn:joined> "2024-02-30"^^<{XSD.date}> .\n'
        f'<urn:c> <urn:joined> "2024-02-30"^^<{XSD.date}> .\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.loader"):
        store.load(path)
    assert len(store) == 5
    text = caplog.text
    assert f'{path}:1: "12,50"^^xsd:decimal is not a valid xsd:decimal' in text, text
    assert f'{path}:4: "2024-02-30"^^xsd:date is not a valid xsd:date' in text, text
    assert text.count("is not a valid") == 2  # NaN is a double; the user's datatype is theirs


@pytest.mark.parametrize(("media_type", "name", "text"), [
    ("application/n-quads", "m.nq", '<urn:a> <urn:p> "x" <urn:g> .\n<urn:a> <urn:p> <urn:b> .\n'),
    ("application/n-triples", "m.nt", '<urn:a> <urn:p> "x" .\n<urn:a> <urn:p> <urn:b> .\n'),
    ("application/trig", "m.trig", '<urn:g> { <urn:a> <urn:p> "x" } <urn:a> <urn:p> <urn:b> .\n'),
])
def test_media_type_format_names_load(store: SQLStore, tmp_path: Path, media_type: str,
                                      name: str, text: str) -> None:
    # --format application/n-quads (rdflib's name for N-Quads) failed with "Graph method
    # called on non-graph_aware store"; media-type names now take the loader's own parsers
    path = tmp_path / name
    path.write_text(text)
    result = store.load(path, format=media_type)
    assert result.added == 2 and len(store) == 2


def test_rdfxml_errors_give_a_1_based_column_once(tmp_path: Path) -> None:
    # was "bad.rdf:2:37: invalid xml: <unknown>:2:37: not well-formed": expat's 0-based column,
    # and the place said twice
    path = tmp_path / "bad.rdf"
    path.write_text('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                    '  <rdf:Description rdf:about="urn:x" & />\n</rdf:RDF>\n')
    with pytest.raises(RDFSyntaxError) as info:
        SQLStore("sqlite://").load(path)
    assert (info.value.line, info.value.column) == (2, 38)  # the '&'
    assert str(info.value).endswith("bad.rdf:2:38: invalid xml: not well-formed (invalid token)")


def test_relative_iris_resolved_against_the_files_address_are_warned_about(
        store: SQLStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A Turtle file without @base resolves <a> against where it lay (RFC 3986 §5.1.3), so its
    IRIs were file:///…/a, machine-dependent, without a word; now the first one is warned
    about with file, line and column (and the IRI it became). With @base, or a base the caller
    chose (publicID), nothing is said. N-Triples refuses relative IRIs (file:line)."""
    import logging

    from rdflib import Graph

    from kg_engine.store.rdflib_store import KgEngineStore

    path = tmp_path / "rel.ttl"
    path.write_text("@prefix x: <http://x/> .\nx:s x:p 1 .\n  <a> x:p <b> .\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        store.load(path)
    assert f"{path}:3:3: relative IRI <a> resolved against <{path.resolve().as_uri()}>" in caplog.text
    assert f"stored as <{(tmp_path / 'a').resolve().as_uri()}>" in caplog.text
    assert caplog.text.count("resolved against") == 1  # once a document
    assert URIRef((tmp_path / "b").resolve().as_uri()) in {t[2] for t in store.triples()}
    caplog.clear()
    path.write_text("@base <http://ex.org/> .\n<a> <p> <b> .\n", encoding="utf-8")
    g = Graph(store=KgEngineStore("sqlite://"))
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        store.load(path)
        g.parse(data="<a> <http://x/p> <b> .", format="turtle", publicID="http://ex.org/")
    assert "relative IRI" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="kg_engine.store.turtle"):
        g.parse(data="\n<a> <http://x/p> <b> .", format="turtle")
    assert "<data>:2:1: relative IRI <a> resolved against" in caplog.text


def test_a_jsonld_error_counts_lines_ending_in_cr_alone(tmp_path: Path) -> None:
    """Python's JSON errors count LFs only: with CR alone between lines the error was 1:30."""
    path = tmp_path / "cr.jsonld"
    path.write_bytes(b'{"@id": "urn:a",\r "urn:p": \r oops}')
    with pytest.raises(RDFSyntaxError) as info:
        SQLStore("sqlite://").load(path)
    assert (info.value.line, info.value.column) == (3, 2)


def test_load_takes_the_format_names_export_writes(tmp_path) -> None:
    """``kg.export(path, "nq")`` then ``kg.load(path, format="nq")`` raised "unknown RDF
    format 'nq'" (found by kg_engine.testing.apimodel): every name export takes for an RDF
    format, load takes too."""
    from rdflib import URIRef

    from kg_engine import KnowledgeGraph

    quad = (URIRef("urn:a"), URIRef("urn:p"), URIRef("urn:b"), URIRef("urn:g"))
    with KnowledgeGraph("sqlite://") as kg:
        kg.add([quad])
        for fmt in ("nt", "nq", "turtle", "trig", "json-ld", "xml"):
            out = tmp_path / f"out.{fmt}"
            kg.export(out, fmt)
            with KnowledgeGraph("sqlite://") as fresh:
                fresh.load(out, format=fmt)
                assert {q[:3] for q in fresh.triples()} == {quad[:3]}


def test_hextuples_files_load(tmp_path: Path) -> None:
    """``kg load --format hext`` failed on every file ('invalid hext: Graph method called on
    non-graph_aware store': rdflib's HexTuples parser drops the empty default graph of the
    Dataset it makes over the loader's collector, which had no remove_graph), and a .hext
    name was not recognised. Read back as rdflib reads the same file."""
    from rdflib import Dataset, Graph
    from rdflib.compare import isomorphic
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    source = Dataset()
    source.parse(data='<urn:a> <urn:p> _:b <urn:g1> .\n_:b <urn:p> "y"@en <urn:g1> .\n'
                      '<urn:a> <urn:p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
                      '<urn:a> <urn:p> "two words; x" .\n', format="nquads")
    path = tmp_path / "d.hext"
    path.write_text(source.serialize(format="hext"), encoding="utf-8")
    want = Dataset()
    want.parse(path, format="hext")
    for fmt in ("hext", None):
        with SQLStore("sqlite://") as store:
            assert store.load(path, format=fmt).added == 4
            for name, graph in ((URIRef("urn:g1"), URIRef("urn:g1")),
                                (DEFAULT_GRAPH, DATASET_DEFAULT_GRAPH_ID)):
                got = Graph()
                for q in store.triples(graph=name):
                    got.add(tuple(q)[:3])
                expected = Graph()  # rdflib reads a simple literal as "…"^^xsd:string
                for t in want.graph(graph):
                    expected.add(tuple(Literal(str(x)) if isinstance(x, Literal) and
                                       x.datatype == XSD.string else x for x in t))
                assert isomorphic(got, expected), (fmt, name)
