"""``kg load`` and ``kg stats``: exit codes, messages, nothing half-written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app
from kg_engine.store import SQLStore

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "data"


def test_load_then_stats(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    res = runner.invoke(app, ["load", str(DATA / "sample" / "university.ttl"), "--db", db,
                              "--graph", "https://example.org/uni"])
    assert res.exit_code == 0, res.output
    assert "statements" in res.output
    res = runner.invoke(app, ["stats", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["statements"] > 50 and info["graphs"] == 1 and info["default_graph_statements"] == 0


def test_stats_names_predicates_with_the_store_prefixes(tmp_path: Path) -> None:
    # kg stats printed full IRIs where kg query's table, on the same store, prints ex:knows
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    data = tmp_path / "d.ttl"
    data.write_text("@prefix ex: <http://example.org/vocab#> .\n"
                    "ex:a ex:knows ex:b , ex:c ; a ex:Person ; <urn:p> 1 .\n")
    assert runner.invoke(app, ["load", str(data), "--db", db]).exit_code == 0
    res = runner.invoke(app, ["stats", "--db", db])
    assert res.exit_code == 0, res.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in res.output.splitlines() if line.count("│") == 3}
    assert rows == {"ex:knows": "2", "rdf:type": "1",
                    "<urn:p>": "1"}, res.output
    query = runner.invoke(app, ["query", "--db", db, "SELECT ?p WHERE { ex:a ?p ex:b }"])
    assert "ex:knows" in query.output  # the same name as kg query's table
    info = json.loads(runner.invoke(app, ["stats", "--db", db, "--json"]).output)
    assert ["http://example.org/vocab#knows", 2] in info["top_predicates"]  # JSON: full IRIs


def test_a_wait_for_another_writer_is_not_load_time(tmp_path: Path) -> None:
    # another process writing: kg load waited for its lock, then reported the wait as load
    # time ("2 statements in 3.10 s (1 statements/s)")
    import subprocess
    import sys
    import threading

    path = tmp_path / "kg.sqlite"
    db = f"sqlite:///{path}"
    SQLStore(db).close()
    data = tmp_path / "d.nt"
    data.write_text("<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> <urn:c> .\n")
    holder = subprocess.Popen(  # holds the write lock until told to commit
        [sys.executable, "-c", ("import sqlite3, sys\n"
                                f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                                "c.execute('BEGIN IMMEDIATE'); print('holding', flush=True)\n"
                                "sys.stdin.readline(); c.execute('COMMIT')\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        def commit() -> None:
            holder.stdin.write("go\n")
            holder.stdin.flush()

        release = threading.Timer(3.0, commit)
        release.start()
        res = runner.invoke(app, ["load", str(data), "--db", db])
        release.join()
    finally:
        holder.communicate(timeout=60)
    text = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    found = re.search(r"in ([0-9.]+) s \(.*\) after waiting ([0-9.]+) s for another writer", text)
    assert found, text
    seconds, waited = float(found.group(1)), float(found.group(2))
    assert waited > 1.0 and seconds < waited, text  # the wait is no part of the load's time


def test_db_defaults_to_kg_db_environment_variable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'env.sqlite'}"
    res = runner.invoke(app, ["load", str(DATA / "sample" / "university.ttl")], env={"KG_DB": db})
    assert res.exit_code == 0, res.output
    with SQLStore(db) as s:
        assert len(s) > 50


def test_malformed_file_exits_2_with_position_and_loads_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    good = tmp_path / "good.nt"
    good.write_text("<urn:a> <urn:p> <urn:b> .\n")
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <urn:> .\nex:a ex:p ex:b .\nex:a ex:p .\n")
    res = runner.invoke(app, ["load", str(good), str(bad), "--db", db])
    assert res.exit_code == 2
    assert f"{bad}:3" in res.output
    with SQLStore(db) as s:
        assert len(s) == 0


def test_missing_file_and_bad_url_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["load", str(tmp_path / "nope.nt"),
                              "--db", f"sqlite:///{tmp_path / 'k.sqlite'}"])
    assert res.exit_code == 2 and "no such file" in res.output
    res = runner.invoke(app, ["stats", "--db", "mysql://x@y/z"])
    assert res.exit_code == 2 and "unsupported database" in res.output


def test_unknown_extension_or_format_names_the_option_and_the_formats(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("<urn:a> <urn:b> <urn:c> .\n")
    db = f"sqlite:///{tmp_path / 'k.sqlite'}"
    res = runner.invoke(app, ["load", str(data), "--db", db])
    assert res.exit_code == 2 and "kg load --format" in res.output
    res = runner.invoke(app, ["load", str(data), "--format", "nope", "--db", db])
    assert res.exit_code == 2, res.output
    assert "unknown RDF format 'nope'; use one of hext, json-ld, n3, nquads" in res.output
    assert "plugin" not in res.output  # not rdflib's "No plugin registered for (nope, …)"
    assert not (tmp_path / "k.sqlite").exists()
    res = runner.invoke(app, ["load", str(data), "--format", "nt", "--db", db])
    assert res.exit_code == 0 and "1 new" in res.output


def test_n3_data_loads_and_n3_rules_exit_2_pointing_to_kg_reason(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    data = tmp_path / "data.n3"
    data.write_text("@prefix : <urn:> .\n:a :p :b ; = :c .\n")
    rules = tmp_path / "rules.n3"
    rules.write_text("@prefix : <urn:> .\n:a :p :b .\n{ ?x :p ?y } => { ?y :p ?x } .\n")
    res = runner.invoke(app, ["load", str(data), "--db", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["load", str(rules), "--db", db])
    assert res.exit_code == 2
    assert f"{rules}:3: N3 formulae" in res.output and "kg reason --rules" in res.output
    with SQLStore(db) as s:
        assert len(s) == 2


def test_bad_turtle_is_one_line_with_file_line_column_and_the_store_unchanged(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    good = tmp_path / "good.ttl"
    good.write_text("@prefix ex: <urn:> .\nex:a ex:p ex:b .\n")
    assert runner.invoke(app, ["load", str(good), "--db", db]).exit_code == 0
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <urn:> .\nex:a ex:p 1.2.3 .\n")  # rdflib stored 1.2
    res = runner.invoke(app, ["load", str(bad), "--db", db])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:2:14: expected ','" in lines[0], res.output
    with SQLStore(db) as s:
        assert len(s) == 1 and len(s.loads()) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("as_json", [False, True])
def test_stats_of_postgresql_does_not_print_the_password(pg_server, as_json: bool) -> None:
    # kg stats printed the --db URL as given, password included
    url = pg_server.new_database_url().replace("@", ":s3cret@", 1)  # trust auth: any password
    from kg_engine import KnowledgeGraph

    with KnowledgeGraph(url) as kg:
        kg.load(DATA / "sample" / "university.ttl")
    res = runner.invoke(app, ["stats", "--db", url] + (["--json"] if as_json else []))
    assert res.exit_code == 0, res.output
    assert "s3cret" not in res.output and "***" in res.output


def test_loading_a_file_again_notes_that_its_blank_nodes_are_there_twice(tmp_path: Path) -> None:
    # RDF: each load is a new document, so a file loaded again adds its lists and [ … ] once
    # more; kg load said only "loaded 4 statements (3 new)"
    data = tmp_path / "t.ttl"
    data.write_text("<urn:s> <urn:stops> ( <urn:a> ) ; <urn:n> 1 .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    first = CliRunner().invoke(app, ["load", str(data), "--db", url])
    assert first.exit_code == 0 and "note:" not in first.output
    again = CliRunner().invoke(app, ["load", str(data), "--db", url])
    assert again.exit_code == 0 and "(3 new)" in again.output
    assert "t.ttl was loaded into this store before" in " ".join(again.output.split())
    assert len(SQLStore(url)) == 7


def test_statistics_stay_exact_when_a_file_is_loaded_again(store_url: str, tmp_path: Path) -> None:
    """A file loaded again adds only its blank-node statements; a small load scaled each
    predicate's count by the share of new statements, so after it `kg stats` showed ex:q 4 and
    ex:r 3 where the store held 3 and 4 (the ground ex:q statements were there already)."""
    if store_url == "sqlite://":
        pytest.skip("each kg command opens a new in-memory store")
    big = tmp_path / "big.nt"
    big.write_text("".join(f"<urn:s{i}> <urn:big> <urn:o{i}> .\n" for i in range(500)))
    data = tmp_path / "f.ttl"
    data.write_text("<urn:a> <urn:q> <urn:b> . <urn:c> <urn:q> <urn:d> . "
                    "<urn:e> <urn:q> <urn:f> .\n[] <urn:r> 1 . [] <urn:r> 2 .\n")
    for args in ([str(big), str(data)], [str(data)]):
        assert CliRunner().invoke(app, ["load", *args, "--db", store_url]).exit_code == 0
    res = CliRunner().invoke(app, ["stats", "--json", "--db", store_url])
    shown = dict(json.loads(res.output)["top_predicates"])
    assert shown == {"urn:big": 500, "urn:q": 3, "urn:r": 4}
