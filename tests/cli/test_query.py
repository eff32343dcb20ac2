"""``kg query`` / ``kg update``: formats, --explain, -f files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine.cli.app import app

EX = "http://example.org/"


@pytest.fixture()
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    r = CliRunner().invoke(app, ["update", "--db", url,
                                 f'INSERT DATA {{ <{EX}a> <{EX}p> "x, y" . <{EX}b> <{EX}p> 2 }}'])
    assert r.exit_code == 0, r.output
    assert "+2 statements" in r.output
    return url


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_formats(db: str) -> None:
    q = f"SELECT ?s ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?s"
    r = run("query", "--db", db, "--format", "csv", q)
    assert r.exit_code == 0
    assert r.output.splitlines() == ["s,o", f'{EX}a,"x, y"', f"{EX}b,2"]
    r = run("query", "--db", db, "--format", "tsv", q)
    assert r.output.splitlines()[0] == "?s\t?o"
    r = run("query", "--db", db, "--format", "json", q)
    data = json.loads(r.output)
    assert data["head"]["vars"] == ["s", "o"] and len(data["results"]["bindings"]) == 2
    r = run("query", "--db", db, "--format", "xml", q)
    assert "<sparql" in r.output
    r = run("query", "--db", db, q)
    assert "2 rows" in r.output
    r = run("query", "--db", db, f"ASK {{ <{EX}b> <{EX}p> 2 }}")
    assert r.output.strip() == "true"


def test_query_from_file_and_explain(db: str, tmp_path: Path) -> None:
    f = tmp_path / "q.rq"
    f.write_text(f"SELECT ?o WHERE {{ <{EX}a> <{EX}p> ?o }}")
    r = run("query", "--db", db, "-f", str(f), "--format", "csv")
    assert r.exit_code == 0 and r.output.splitlines() == ["o", '"x, y"']
    r = run("query", "--db", db, "--explain", "-f", str(f))
    assert r.exit_code == 0 and "SELECT" in r.output and "kg_quads" in r.output


def test_request_files_saved_with_a_byte_order_mark(db: str, tmp_path: Path) -> None:
    # Notepad writes a BOM (and CRLF): it was "q.rq:1:1: invalid SPARQL query near '\ufeffSELECT …'"
    f = tmp_path / "q.rq"
    f.write_bytes(f"\ufeffSELECT ?o\r\nWHERE {{ <{EX}b> <{EX}p> ?o }}\r\n".encode())
    r = run("query", "--db", db, "-f", str(f), "--format", "csv")
    assert r.exit_code == 0 and r.output.splitlines() == ["o", "2"], r.output
    u = tmp_path / "u.ru"
    u.write_bytes(f"\ufeffDELETE DATA {{ <{EX}b> <{EX}p> 2 }}\r\n".encode())
    r = run("update", "--db", db, "-f", str(u))
    assert r.exit_code == 0 and "-1 statements" in r.output, r.output
    r = CliRunner().invoke(app, ["update", "--db", db, "-f", "-"],
                           input=f"\ufeffINSERT DATA {{ <{EX}b> <{EX}p> 3 }}")
    assert r.exit_code == 0 and "+1 statements" in r.output, r.output


def test_the_store_prefixes_are_declared_as_in_the_api(tmp_path: Path) -> None:
    # kg.query declared the store's prefixes (06fe535) but kg query and kg update did not:
    # after loading a file with "@prefix : <…>", kg query 'SELECT * { ?s a :Person }' failed
    # ("unknown prefix ':'") although its own table prints :a. Run by the real command.
    import subprocess
    import sys

    data = tmp_path / "d.ttl"
    data.write_text(f"@prefix : <{EX}> .\n@prefix ex: <{EX}ns#> .\n:a a :Person ; ex:p 1 .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"

    def kg(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kg_engine", *argv, "--db", url],
                              check=False, capture_output=True, text=True, timeout=300)

    assert kg("load", str(data)).returncode == 0
    r = kg("query", "--format", "csv", "SELECT ?s WHERE { ?s a :Person }")
    assert (r.returncode, r.stdout.splitlines()) == (0, ["s", f"{EX}a"]), r.stderr
    for fmt in ("table", "json", "tsv"):  # the JSON written by SQL, and the usual path
        r = kg("query", "--format", fmt, "SELECT ?o WHERE { :a ex:p ?o }")
        assert r.returncode == 0 and "1" in r.stdout, (fmt, r.stdout, r.stderr)
    assert "SELECT" in kg("query", "--explain", "SELECT ?o WHERE { :a ex:p ?o }").stdout
    r = kg("update", "INSERT DATA { :b a :Person }")
    assert r.returncode == 0 and "+1 statements" in r.stdout, r.stdout + r.stderr
    r = kg("query", "--format", "csv", "SELECT ?s WHERE { ?s a :Person } ORDER BY ?s")
    assert r.stdout.splitlines() == ["s", f"{EX}a", f"{EX}b"], r.stderr
    # the query's own PREFIX line wins over the store's
    r = kg("query", "--format", "csv", "PREFIX : <urn:x:> ASK { ?s a :Person }")
    assert r.stdout.strip() == "false", r.stderr
    assert kg("update", "PREFIX : <urn:x:> INSERT DATA { :c a :Person }").returncode == 0
    assert kg("query", "ASK { <urn:x:c> a <urn:x:Person> }").stdout.strip() == "true"
    # a prefix neither the query nor the store declares is still an error
    r = kg("query", "SELECT ?o WHERE { zz:a ex:p ?o }")
    assert r.returncode == 2 and "PREFIX zz: <…>" in r.stderr + r.stdout, r.stderr


def test_an_empty_answer_notes_a_predicate_no_statement_has(tmp_path: Path) -> None:
    # a typo in a predicate (or http for https) gave "0 rows" and nothing else
    data = tmp_path / "d.ttl"
    data.write_text("@prefix r: <https://t.example/ns#> .\n"
                    "<https://t.example/s> r:callsAt <https://t.example/b> ; r:n 1 .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert run("load", str(data), "--db", url).exit_code == 0
    r = run("query", "--db", url, "PREFIX r: <https://t.example/ns#> "
            "SELECT ?s WHERE { ?s r:callAt ?x OPTIONAL { ?s r:n/r:nn ?y } }")
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "0 rows" in text
    assert "note: no statement of the store has the predicate r:callAt; did you mean r:callsAt?" in text
    assert "the predicate r:nn" in text and "predicate r:n;" not in text
    r = run("query", "--db", url, "PREFIX r: <http://t.example/ns#> ASK { ?s r:callsAt ?x }")
    assert "did you mean <https://t.example/ns#callsAt>?" in " ".join(r.output.split())
    r = run("query", "--db", url, "--format", "csv",
            "PREFIX r: <https://t.example/ns#> SELECT ?s WHERE { ?s r:callAt ?x }")
    assert "note" not in r.output  # machine formats stay as they are
    r = run("query", "--db", url, "PREFIX r: <https://t.example/ns#> SELECT ?s WHERE { ?s r:callsAt 5 }")
    assert "0 rows" in r.output and "note" not in r.output  # the predicate is there


def test_bad_input_exits_2(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT ?x\nWHERE { ?x ?p }")
    r = run("query", "--db", db, "-f", str(bad))
    assert r.exit_code == 2
    assert f"{bad}:2:" in r.output
    r = run("query", "--db", db, "--format", "yaml", "ASK {}")
    assert r.exit_code == 2 and "table" in r.output
    r = run("query", "--db", db)
    assert r.exit_code == 2
    r = run("update", "--db", db, "CREATE GRAPH <urn:g> ; CREATE GRAPH <urn:g>")
    assert r.exit_code == 2 and "already exists" in r.output
    # nothing of the failed request remains
    r = run("query", "--db", db, "ASK { GRAPH <urn:g> { } }")
    assert r.output.strip() == "false"
    r = run("update", "--db", db, "INSERT DATA { <urn:a> }")
    assert r.exit_code == 2


def test_table_prints_values_and_prefixed_iris(tmp_path: Path) -> None:
    data = tmp_path / "d.ttl"
    data.write_text(
        "@prefix ex: <http://example.org/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        'ex:dana ex:name "Dana"@en ; ex:age 65 ; ex:born "1968-11-02"^^xsd:date ;\n'
        "  ex:page <http://other.org/x/y> .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert run("load", "--db", url, str(data)).exit_code == 0
    q = "SELECT ?s ?n ?a ?b ?w WHERE { ?s <http://example.org/name> ?n ; " \
        "<http://example.org/age> ?a ; <http://example.org/born> ?b ; <http://example.org/page> ?w }"
    r = run("query", "--db", url, q)
    assert r.exit_code == 0, r.output
    row = [c.strip() for c in r.output.splitlines()[3].strip("│ ").split("│")]
    assert row == ["ex:dana", "Dana", "65", "1968-11-02", "<http://other.org/x/y>"]
    r = run("query", "--db", url, "--format", "tsv", q)  # exact terms stay in tsv/csv/json/xml
    assert '"Dana"@en' in r.output and "<http://example.org/dana>" in r.output


def test_table_keeps_one_line_per_row_and_shows_every_cut(tmp_path: Path) -> None:
    # a literal with a line break printed as two lines (3 rows for 2), a tab widened to
    # spaces, a 250-character literal wrapped onto a second line with its middle cut by a
    # bare "…" (transport differential, cli-table, seed 1700099: the footer said 364 rows,
    # the table had 366 lines)
    long = "a" * 200 + " " + "b" * 49
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    r = run("update", "--db", url, f'INSERT DATA {{ <{EX}a> <{EX}p> "two\\nlines" . '
            f'<{EX}b> <{EX}p> "tab\\there, back\\\\slash" . <{EX}c> <{EX}p> "{long}" . '
            f'<{EX}d> <{EX}p> "bidi\\u202Eok" }}')
    assert r.exit_code == 0, r.output
    r = run("query", "--db", url, f"PREFIX ex: <{EX}> SELECT ?s ?o WHERE {{ ?s ex:p ?o }} ORDER BY ?s")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[-1] == "4 rows" and len(lines) == 3 + 4 + 2, r.output
    cells = [line.split("│")[2].strip() for line in lines[3:7]]
    assert cells[0] == "two\\nlines"
    assert cells[1] == "tab\\there, back\\\\slash"
    assert cells[2] == "a" * 100 + "… (+150 characters)"
    assert cells[3] == "bidi\\u202Eok"
    assert len({len(line) for line in lines[:-1]}) == 1  # every line as wide as the borders


def test_table_quotes_a_literal_that_reads_as_another_term(tmp_path: Path) -> None:
    # the literal "ex:n1" printed as ex:n1, the IRI's cell; "<http://…>" as the IRI, "_:b1"
    # as a blank node (transport differential, cli-table, stress literals, seed 1700097)
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    r = run("update", "--db", url, f'PREFIX ex: <{EX}> INSERT DATA {{ ex:a ex:p ex:n1, "ex:n1", '
            f'"<{EX}n1>", "_:b1", "\\"q\\" x", "plain: text" }}')
    assert r.exit_code == 0, r.output
    r = run("query", "--db", url, f"PREFIX ex: <{EX}> SELECT ?o WHERE {{ ex:a ex:p ?o }} ORDER BY ?o")
    assert r.exit_code == 0, r.output
    cells = sorted(line.strip("│ ") for line in r.output.splitlines()[3:-2])
    assert cells == sorted(["ex:n1", '"ex:n1"', f'"<{EX}n1>"', '"_:b1"', '"\\"q\\" x"', "plain: text"])


def test_inferences_and_asserted_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    run("update", "--db", url, f"INSERT DATA {{ <{EX}Cat> <{rdfs}subClassOf> <{EX}Animal> . "
        f"<{EX}tom> a <{EX}Cat> }}")
    r = run("reason", "--db", url, "--rules", "rdfs")
    assert r.exit_code == 0 and "reasoning profile: rdfs" in r.output
    q = f"SELECT ?x WHERE {{ ?x a <{EX}Animal> }}"
    assert run("query", "--db", url, "--format", "csv", q).output.splitlines() == ["x", f"{EX}tom"]
    assert run("query", "--db", url, "--format", "csv", "--asserted-only", q
               ).output.splitlines() == ["x"]
    # --format json (written by the database) sees the same default graph
    values = [[b["x"]["value"] for b in json.loads(run("query", "--db", url, "--format", "json",
                                                       *flag, q).stdout)["results"]["bindings"]]
              for flag in ([], ["--asserted-only"])]
    assert values == [[f"{EX}tom"], []]
    # a write keeps the answers current
    run("update", "--db", url, f"INSERT DATA {{ <{EX}kit> a <{EX}Cat> }}")
    assert len(run("query", "--db", url, "--format", "csv", q).output.splitlines()) == 3
    r = run("reason", "--db", url, "--off")
    assert r.exit_code == 0 and "reasoning off (was: rdfs)" in r.output
    assert run("query", "--db", url, "--format", "csv", q).output.splitlines() == ["x"]


@pytest.mark.parametrize("q", [
    # IRIs only, nothing unbound (the column-template path)
    "SELECT ?s ?o WHERE { ?s <http://example.org/knows> ?o } ORDER BY ?s ?o",
    # typed and language-tagged literals, blank nodes, IRIs, no unbound cell
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
    # unbound values (OPTIONAL) beside every kind of term
    ("SELECT ?s ?n ?k WHERE { ?s ?p ?x OPTIONAL { ?s <http://example.org/name> ?n } "
     "OPTIONAL { ?s <http://example.org/knows> ?k } } ORDER BY ?s ?n ?k"),
    # the first column unbound in some rows, and rows with nothing bound ({})
    ("SELECT ?n ?k ?s WHERE { ?s ?p ?x OPTIONAL { ?s <http://example.org/name> ?n } "
     "OPTIONAL { ?s <http://example.org/knows> ?k } } ORDER BY ?s ?n ?k"),
    ("SELECT ?n ?k WHERE { ?s ?p ?x OPTIONAL { ?s <http://example.org/name> ?n } "
     "OPTIONAL { ?s <http://example.org/knows> ?k } } ORDER BY ?n ?k"),
    # no rows
    "SELECT ?s WHERE { ?s <http://example.org/none> ?o }",
    "SELECT ?s WHERE { ?s <http://example.org/age> 1000 }",
    # decoded rows: a computed value, a constant missing from the store
    "SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s ORDER BY ?s",
    "SELECT ?s ?k WHERE { ?s <http://example.org/age> ?a BIND(<urn:new> AS ?k) } ORDER BY ?s",
])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_json_is_rdflibs_serialisation_of_the_api_result(tmp_path: Path, q: str, backend: str,
                                                         request: pytest.FixtureRequest) -> None:
    """Both ways ``--format json`` is written: by the database (SELECTs of stored terms,
    ``QueryEngine.select_json``) and from decoded rows (the others)."""
    from kg_engine import KnowledgeGraph

    data = tmp_path / "d.ttl"
    data.write_text(
        "@prefix ex: <http://example.org/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        'ex:dana ex:name "Dana \\"D\\" 100%"@en-GB ; ex:age 65 ; ex:w "2.5"^^xsd:decimal ;\n'
        '  ex:born "1968-11-02"^^xsd:date ; ex:knows <http://example.org/caf%C3%A9>, [ ex:name "anon" ],\n'
        "  <http://example.org/é\\u00e8> .\n"
        '<http://example.org/caf%C3%A9> ex:note "tab\\there\\nnewline" ; ex:knows ex:dana .\n'
        "ex:z ex:age 1 .\n")
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}" if backend == "sqlite" else \
        request.getfixturevalue("pg_server").new_database_url()
    assert run("load", "--db", url, str(data)).exit_code == 0
    r = run("query", "--db", url, "--format", "json", q)
    assert r.exit_code == 0, r.output
    with KnowledgeGraph(url, readonly=True) as kg:
        expected = kg.query(q).serialize(format="json").decode()
    assert r.stdout == expected + "\n"
    assert json.loads(r.stdout)["head"]["vars"]


def test_json_timeout_and_bad_timeout(tmp_path: Path) -> None:
    """``--format json`` of a compiled SELECT (written by the database) keeps the query
    options: a bad --timeout exits 2, a query past it exits 1 naming the timeout."""
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    triples = " ".join(f"<{EX}s{i}> <{EX}p{i % 3}> <{EX}o{i}> ." for i in range(30))
    assert run("update", "--db", url, f"INSERT DATA {{ {triples} }}").exit_code == 0
    q = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    r = run("query", "--db", url, "--format", "json", "--timeout", "-1", q)
    assert r.exit_code == 2 and "timeout" in r.output
    r = run("query", "--db", url, "--format", "json", "--timeout", "0.01", q)
    assert r.exit_code == 1 and "timeout" in r.output.lower()
    r = run("query", "--db", url, "--format", "json", "--union",
            "SELECT ?s WHERE { ?s <http://example.org/p1> ?o } ORDER BY ?s LIMIT 2")
    assert r.exit_code == 0
    assert [b["s"]["value"] for b in json.loads(r.stdout)["results"]["bindings"]] == \
        [f"{EX}s1", f"{EX}s10"]


def test_an_update_given_to_kg_query_names_kg_update_and_back(db: str) -> None:
    from kg_engine.cli.app import app

    update = "PREFIX ex: <http://ex.org/>\nINSERT DATA { ex:a ex:b ex:c }"
    res = CliRunner().invoke(app, ["query", update, "--db", db])
    assert res.exit_code == 2 and "this is a SPARQL update: run it with kg update" in res.output
    res = CliRunner().invoke(app, ["update", "SELECT * WHERE { ?s ?p ?o }", "--db", db])
    assert res.exit_code == 2 and "this is a SPARQL query: run it with kg query" in res.output
    res = CliRunner().invoke(app, ["query", "SELEC * WHERE { ?s ?p ?o }", "--db", db])
    assert res.exit_code == 2 and "run it with" not in res.output


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_union_of_thousands_of_branches(tmp_path: Path, fmt: str) -> None:
    # kg query parses the query before running it, outside the API's large-stack rerun: a
    # UNION of 2,000 branches exited 1 with "internal error … RecursionError"
    from kg_engine import KnowledgeGraph

    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    KnowledgeGraph(url).update("INSERT DATA { <urn:s> <urn:p7> 7 }")
    q = tmp_path / "u.rq"
    q.write_text("SELECT ?o WHERE { " + " UNION ".join(f"{{ ?s <urn:p{k}> ?o }}"
                                                        for k in range(2000)) + " }")
    res = run("query", "--db", url, "-f", str(q), "--format", fmt)
    assert res.exit_code == 0, res.output
    assert "7" in res.output


def test_ill_typed_literals_print_no_rdflib_warning(tmp_path: Path) -> None:
    # kg query of a store holding "2"^^xsd:boolean printed rdflib's "UserWarning: Parsing
    # weird boolean …" and its source line on stderr (kg load already named the literal)
    import subprocess
    import sys

    data = tmp_path / "d.ttl"
    data.write_text('@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
                    '<urn:a> <urn:v> "2"^^xsd:boolean, "abc"^^xsd:integer .\n')
    url = f"sqlite:///{tmp_path}/kg.sqlite"

    def kg(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kg_engine", *argv, "--db", url],
                              capture_output=True, text=True, check=True)

    kg("load", str(data))
    done = kg("query", "SELECT ?o WHERE { ?s ?p ?o }")
    assert "abc" in done.stdout and "2" in done.stdout
    assert done.stderr == ""
