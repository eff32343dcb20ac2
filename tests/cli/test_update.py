"""``kg update --timeout S``: validated like ``kg query --timeout``; past it the request is
cancelled, nothing is applied (store digest unchanged) and the exit code is 1."""

from __future__ import annotations

import hashlib
import math
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_engine import KnowledgeGraph
from kg_engine.cli.app import app
from kg_engine.errors import ConfigError, QueryTimeoutError

EX = "http://example.org/"
# a three-way cross product over 400 statements: 64 million rows to insert, never done in time
HUGE = f"INSERT {{ ?a <{EX}q> ?c }} WHERE {{ ?a ?p ?b . ?x ?y ?z . ?c ?r ?d }}"


def digest(db: Path) -> str:
    """The store's content (every table's rows), read without writing."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "kg.sqlite"
    with KnowledgeGraph(f"sqlite:///{db}") as kg:
        kg.update("INSERT DATA {" + "".join(
            f'<{EX}s{i}> <{EX}p> "v{i}" .' for i in range(400)) + "}")
    return db


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-0.5"])
def test_bad_timeout_is_refused_before_anything_runs(store: Path, value: str) -> None:
    before = digest(store)
    r = CliRunner().invoke(app, ["update", "--db", f"sqlite:///{store}", "--timeout", value,
                                 f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "--timeout" in lines[0] and "positive" in lines[0], r.output
    assert digest(store) == before


def test_timeout_cancels_the_request_and_applies_nothing(store: Path) -> None:
    before = digest(store)
    r = CliRunner().invoke(app, ["update", "--db", f"sqlite:///{store}", "--timeout", "0.3", HUGE])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert digest(store) == before


def test_a_request_within_its_timeout_is_applied(store: Path) -> None:
    r = CliRunner().invoke(app, ["update", "--db", f"sqlite:///{store}", "--timeout", "60",
                                 f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}"])
    assert r.exit_code == 0 and "+1" in r.output, r.output


def test_api_update_timeout(store: Path) -> None:
    with KnowledgeGraph(f"sqlite:///{store}") as kg:
        for bad in (-1, 0, math.nan, "5", True):
            with pytest.raises(ConfigError, match="timeout"):
                kg.update(f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}", timeout=bad)
        with pytest.raises(QueryTimeoutError):
            kg.update(HUGE, timeout=0.3)
        assert len(kg) == 400


def test_count_is_this_requests_own_while_another_process_writes(store: Path) -> None:
    """The ``+N statements`` line counts what this request changed, not what a concurrent
    writer committed while the request waited for the store's write lock."""
    import threading
    import time

    url = f"sqlite:///{store}"
    other = KnowledgeGraph(url)
    holding, release = threading.Event(), threading.Event()

    def concurrent_writer() -> None:
        with other.store.db.transaction():
            other.update("INSERT DATA {" + "".join(
                f"<{EX}w{i}> <{EX}p> <{EX}o> ." for i in range(50)) + "}")
            holding.set()
            release.wait(30)

    writer = threading.Thread(target=concurrent_writer)
    writer.start()
    assert holding.wait(30)
    out: list = []
    cli = threading.Thread(target=lambda: out.append(CliRunner().invoke(
        app, ["update", f"INSERT DATA {{ <{EX}a> <{EX}b> <{EX}c> }}", "--db", url])))
    cli.start()
    time.sleep(1.0)  # the request is waiting for the write lock
    release.set()
    writer.join()
    cli.join(60)
    other.close()
    assert out[0].exit_code == 0, out[0].output
    assert "ok: +1 statements (451 in the store)" in out[0].output


@pytest.mark.parametrize(("request_text", "where", "expected"), [
    # "3" starts a second triple, whose predicate is missing at the "}"
    (f"INSERT DATA {{ <{EX}a> <{EX}p> 1.2.3 }}", "<update>:1:67:", "near '}': Expected a predicate"),
    ("DELETE WHERE { ?s ?p ?o ", "<update>:1:25:", "at the end of the text: Expected '}'"),
    (f"INSRT DATA {{ <{EX}a> <{EX}p> 1 }}", "<update>:1:1:", "Expected an update operation"),
    (f"INSERT DATA {{ <{EX}a> <{EX}p> 1 }} ;\nINSERT DATA {{ <{EX}a> <{EX}p 1 }}", "<update>:2:59:",
     "near ' 1 }': Expected '>'"),  # the IRI stops at the space
    (f"INSERT DATA {{ ?s <{EX}p> 1 }}", "<update>:1:16:", "variable ?s"),
])
def test_update_syntax_error_names_the_token_exits_2_and_changes_nothing(
        store: Path, request_text: str, where: str, expected: str) -> None:
    before = digest(store)
    r = CliRunner().invoke(app, ["update", "--db", f"sqlite:///{store}", request_text])
    assert r.exit_code == 2, r.output
    assert f"error: {where} invalid SPARQL update" in r.output, r.output
    assert expected in r.output and "Expected end of text" not in r.output, r.output
    assert digest(store) == before


def test_update_of_comments_only_changes_nothing(store: Path) -> None:
    before = digest(store)
    r = CliRunner().invoke(app, ["update", "--db", f"sqlite:///{store}", "# nothing to do\n"])
    assert r.exit_code == 0, r.output
    assert digest(store) == before


def test_the_count_keeps_inferred_statements_apart(tmp_path: Path) -> None:
    """A new user inserted 4 statements into a store with a reasoning profile and read
    "ok: +10 statements": the 6 statements the rules derived were counted as written."""
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.update(f"INSERT DATA {{ <{EX}author> <http://www.w3.org/2000/01/rdf-schema#range> "
                  f"<{EX}Author> . <{EX}Author> <http://www.w3.org/2000/01/rdf-schema#subClassOf>"
                  f" <{EX}Person> }}")
        kg.reason("rdfs")
    runner = CliRunner()
    insert = (f"INSERT DATA {{ <{EX}b1> <{EX}author> <{EX}ann> . "
              f"<{EX}b2> <{EX}author> <{EX}bob> }}")
    r = runner.invoke(app, ["update", "--db", db, insert])
    assert r.exit_code == 0, r.output
    # ann and bob are each an Author and a Person
    assert "ok: +2 statements, +4 inferred (8 in the store)" in r.output, r.output
    r = runner.invoke(app, ["update", "--db", db, f"DELETE DATA {{ <{EX}b2> <{EX}author> <{EX}bob> }}"])
    assert "ok: -1 statements, -2 inferred (5 in the store)" in r.output, r.output
    r = runner.invoke(app, ["update", "--db", db, f'INSERT DATA {{ <{EX}b1> <{EX}title> "T" }}'])
    assert "ok: +1 statements (6 in the store)" in r.output, r.output  # nothing follows
