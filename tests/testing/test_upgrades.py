"""The upgrade harness: a store in an older version's state answers as a fresh one once opened.

The older state is made here, without git history: the same steps written by this version,
then what versions before 491ac12 / 0a8976e left in it (an out-of-range integer subtype with a
value, a reasoning closure missing a conclusion) and schema version 2.
"""

from __future__ import annotations

import pytest

from kg_engine.store import open_store
from kg_engine.store.schema import VERSION_KEY
from kg_engine.testing.upgrades import EX, compare_stores, replay, write_data

STEPS = {"done": ["load_nq", "load_ttl", "load_trig", "add_provenance", "update", "owl_rl"],
         "live": True}


def _as_older_version(url: str) -> None:
    store = open_store(url)
    db = store.db
    with db.transaction():
        db.execute("UPDATE kg_terms SET num = 300 WHERE lex = '300'")
        db.execute("DELETE FROM kg_quads WHERE g = (SELECT id FROM kg_terms WHERE lex = ?) AND "
                   "s = (SELECT id FROM kg_terms WHERE lex = ?)",
                   ("urn:kg-engine:inferred:owl-rl", EX + "carol"))
        db.execute("UPDATE kg_meta SET value = '2' WHERE key = ?", (VERSION_KEY,))
    store.close()


@pytest.fixture
def stores(tmp_path) -> tuple[str, str]:
    data = tmp_path / "data"
    write_data(data)
    old, new = (f"sqlite:///{tmp_path / n}" for n in ("old.sqlite", "new.sqlite"))
    replay(old, data, STEPS)
    replay(new, data, STEPS)
    _as_older_version(old)
    return old, new


def test_an_older_store_answers_as_a_fresh_one(stores: tuple[str, str]) -> None:
    result = compare_stores(*stores)
    assert "kg vacuum" in result.readonly_open  # refused read-only, the command named
    assert result.opened == "ok"
    assert result.clean, result.summary()


@pytest.mark.slow  # the harness's own check; the fix's tests are tests/store/test_migrate.py
def test_the_harness_sees_a_wrong_answer(stores: tuple[str, str]) -> None:
    old, new = stores
    store = open_store(old)  # upgraded now; put an old value back behind the marker's back
    store.db.execute("UPDATE kg_terms SET num = 300 WHERE lex = '300'")
    store.close()
    result = compare_stores(old, new)
    assert "ebv" in result.differences, result.summary()
