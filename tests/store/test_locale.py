"""The SQLite store under a Turkish C locale (``LC_CTYPE=tr_TR.UTF-8``), in a subprocess.

CPython 3.11's sqlite3 tells statements with a row count by C ``tolower()`` of their first
word: in Turkish ``I`` does not lower to ``i``, so an upper-case ``INSERT`` counted -1 rows
(found by the environment differential: ``kg load`` said "(-1 new)", ``kg stats`` counted
19 statements of a predicate that has 26).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg_engine.testing.envdiff import ensure_locale

_CHILD = """
import locale, sys
from kg_engine import KnowledgeGraph
assert locale.setlocale(locale.LC_CTYPE).startswith("tr_TR"), locale.setlocale(locale.LC_CTYPE)
kg = KnowledgeGraph("sqlite:///" + sys.argv[1])
db = kg.store.db
db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
one = db.execute("INSERT INTO t VALUES (?)", (1,)).rowcount
many = db.raw.executemany("INSERT INTO t VALUES (?) ON CONFLICT DO NOTHING", [(1,), (2,), (3,)])
cur = db.raw.cursor()
cur.execute("UPDATE t SET a = a + 10 WHERE a > 1")
select = db.execute("SELECT a FROM t").rowcount
res = kg.load(sys.argv[2])
counts = dict(kg.stats()["top_predicates"])
print(one, many.rowcount, cur.rowcount, select, res.added, counts["urn:ex:p"])
"""


def test_row_counts_and_load_counts_under_a_turkish_locale(tmp_path: Path) -> None:
    try:
        locpath = ensure_locale("tr_TR.UTF-8")
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"no tr_TR.UTF-8 locale and localedef cannot make it: {exc}")
    data = tmp_path / "d.nt"
    data.write_text("".join(f"<urn:ex:s{i}> <urn:ex:p> \"I{i}\" .\n" for i in range(7)),
                    encoding="utf-8")
    env = {**os.environ, "LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    if locpath:
        env["LOCPATH"] = locpath
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "kg.sqlite"), str(data)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # INSERT 1, executemany 2 new of 3, UPDATE 2, a SELECT has none (-1), 7 loaded and counted
    assert proc.stdout.split() == ["1", "2", "2", "-1", "7", "7"]
