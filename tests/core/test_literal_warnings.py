"""rdflib's traceback per ill-typed literal is dropped where kg-engine makes the literal."""

from __future__ import annotations

import gc
import logging
import weakref
from pathlib import Path

import pytest
from rdflib import XSD, Literal

from kg_engine import KnowledgeGraph

_RDFLIB = "rdflib.term"


@pytest.fixture(autouse=True)
def _rdflib_warnings_on(caplog: pytest.LogCaptureFixture) -> None:
    """rdflib's WARNINGs reach the log: a ``kg`` command run in this process earlier (the
    CLI tests' CliRunner) set the ``rdflib`` logger to ERROR, and the assertions below would
    then hold (or fail) without the filter having anything to do with it."""
    caplog.set_level(logging.WARNING, logger="rdflib")


def _rdflib_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == _RDFLIB]


def test_decoding_ill_typed_literals_logs_no_rdflib_traceback_and_keeps_no_store(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # each ill-typed literal decoded (kg query, triples(), export) logged rdflib's WARNING
    # with a traceback; caplog (a handler keeping records) then kept the frames, and the store
    data = tmp_path / "d.ttl"
    data.write_text('@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
                    '<urn:a> <urn:v> "abc"^^xsd:integer, "1,000"^^xsd:decimal, "x"^^xsd:double .\n')
    caplog.set_level(logging.WARNING)
    kg = KnowledgeGraph(f"sqlite:///{tmp_path}/kg.sqlite")
    kg.load(str(data))
    # our own warning for each ill-typed literal is still there (file, line, column)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("kg_engine")]
    assert sum("is not a valid xsd:" in m for m in ours) == 3
    rows = list(kg.query("SELECT ?o WHERE { ?s ?p ?o }"))
    assert sorted(str(r[0]) for r in rows) == ["1,000", "abc", "x"]
    assert len(list(kg.triples())) == 3
    assert _rdflib_records(caplog) == []
    store = weakref.ref(kg.store)
    kg.close()
    del kg, rows
    gc.collect()
    assert store() is None


def test_a_literal_made_outside_kg_engine_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    Literal("abc", datatype=XSD.integer)
    assert [r.getMessage().split(".")[0] for r in _rdflib_records(caplog)] == [
        "Failed to convert Literal lexical form to value"]
