"""Several processes writing one store at once (kg_engine.testing.writers): a few seeds.

``benchmarks/writers.py`` runs many more; the seeds here keep to cheap writes (no ``kg
extract``: each process running it loads spaCy) and few ``kg`` processes."""

from __future__ import annotations

import pytest

from kg_engine.testing.writers import KINDS, judge, make_plan, run_plan, run_seed

CHEAP = tuple(k for k in KINDS if k != "extract")


def test_plan_is_seeded_and_keeps_each_workers_data_its_own() -> None:
    a, b = make_plan(5, workers=3, ops=10), make_plan(5, workers=3, ops=10)
    assert a == b
    # statements (shared individuals' too) and axioms are dealt to one worker each
    said = [{tuple(q[:3]) for op in w["ops"] for q in op.get("quads", ())} for w in a["workers"]]
    assert not said[0] & said[1] and not said[1] & said[2] and not said[0] & said[2]
    assert any(q[0].startswith("<urn:wr:x") for w in said for q in w)
    axioms = [{tuple(op["axiom"]) for op in w["ops"] if "axiom" in op} for w in a["workers"]]
    assert not axioms[0] & axioms[1] and not axioms[0] & axioms[2]


def test_the_judge_sees_a_lost_write_and_an_unclear_error(tmp_path) -> None:
    # the judge itself: a write reported successful whose statements are not in the store,
    # and a failure whose message does not name the contention
    plan = make_plan(1, workers=1, ops=3, kinds=("insert",), profile=None, modes=("api",))
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    outcomes = run_plan(plan, url, tmp_path, limit=60)
    assert all(o["ok"] for o in outcomes[0])
    assert judge(plan, outcomes, url, tmp_path)[0] == []
    from rdflib import URIRef

    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph(url) as kg:
        assert kg.remove((URIRef("urn:wr:w0:s1"), None, None)) > 0
    outcomes[0][2] = {**outcomes[0][2], "ok": False, "error": "database is locked"}
    findings = judge(plan, outcomes, url, tmp_path)[0]
    assert any("lost writes" in f and "w0:s1" in f for f in findings), findings
    assert any("without naming contention" in f for f in findings), findings
    assert any("no successful write made" in f and "w0:s2" in f for f in findings), findings


#: two long-lived knowledge graphs beside a process running ``kg`` commands
MODES = ("api", "api", "cli")


@pytest.mark.parametrize("seed", [1, 2])
def test_writers_on_a_sqlite_file(seed: int, tmp_path) -> None:
    report = run_seed(seed, workers=3, ops=5, kinds=CHEAP, modes=MODES, limit=120,
                      workdir=tmp_path)
    assert report.findings == [], report.findings
    assert report.writes == 15


@pytest.mark.postgres
def test_writers_on_a_postgresql_schema(pg_server, tmp_path) -> None:
    # long-lived knowledge graphs only (kg commands on PostgreSQL: benchmarks/writers.py)
    report = run_seed(3, pg_server.new_database_url(), workers=3, ops=5, kinds=CHEAP,
                      modes=("api",), limit=120, workdir=tmp_path)
    assert report.findings == [], report.findings
    assert report.writes == 15
