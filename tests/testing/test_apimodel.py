"""The API model machine (kg_engine.testing.apimodel): bounded, seeded sequences of mixed
public-API calls on every backend, each compared with the model after every step."""

from __future__ import annotations

import pytest
from rdflib import RDF, RDFS, URIRef

from kg_engine.testing import apimodel
from kg_engine.testing.apimodel import Step, replay, run_sequence, sqlite_file_factory

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_sequences_agree_with_the_model_sqlite_memory(seed: int) -> None:
    result = run_sequence(seed, "sqlite://", steps=40)
    assert result.ok, str(result)


@pytest.mark.parametrize("seed", SEEDS)
def test_sequences_agree_with_the_model_sqlite_file_with_reopen(seed: int, tmp_path) -> None:
    result = run_sequence(seed, sqlite_file_factory(tmp_path), steps=40)
    assert result.ok, str(result)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_sequences_agree_with_the_model_postgres(seed: int, pg_server) -> None:
    result = run_sequence(seed, pg_server.new_database_url, steps=40)
    assert result.ok, str(result)


def test_a_disagreement_is_caught_and_shrunk(monkeypatch) -> None:
    """The machine can fail: a model that forgets ``kg.add`` disagrees at once, and the
    shrunk sequence keeps only the step that shows it."""
    real = apimodel.OPS["add"]

    def forgetful(mc, args):  # the store gets the statements, the model does not
        before = set(mc.model.quads)
        real[1](mc, args)
        mc.model.quads = before

    monkeypatch.setitem(apimodel.OPS, "add", (real[0], forgetful, real[2]))
    result = run_sequence(3, "sqlite://", steps=40)
    assert not result.ok and result.check == "kg.triples(): every statement with its graph"
    assert [s.op for s in result.log] == ["add"]


_E = "http://ex.org/"


def test_derived_statement_asserted_in_a_named_graph_is_in_the_default_graph_answers() -> None:
    """The machine's first finding, shrunk (the fix: tests/rules/test_live.py)."""
    b, c1, c2, g1 = (URIRef(_E + n) for n in ("b", "C1", "C2", "g1"))
    steps = [Step("add", {"triples": [(b, RDF.type, c1), (b, RDF.type, c2)], "graph": g1,
                          "quads": False, "batch": False}),
             Step("add", {"triples": [(c1, RDFS.subClassOf, c2)], "graph": None,
                          "quads": False, "batch": False}),
             Step("reason", {"action": "on"})]
    result = replay(steps, lambda: "sqlite://")
    assert result.ok, str(result)
