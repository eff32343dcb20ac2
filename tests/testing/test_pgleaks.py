"""The module-teardown check errors on a module that leaves PostgreSQL connections open."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kg_engine.testing.postgres import PostgresUnavailable, find_pg_bin

try:
    find_pg_bin()
except PostgresUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.postgres

_CONFTEST = """
from kg_engine.testing import pgleaks
from kg_engine.testing.pgleaks import no_leaked_pg_connections  # noqa: F401

pgleaks.BACKEND_EXIT_WAIT = 1.0  # the leak is certain: no need to wait long for it
"""

# three modules in this order: one leaves a store open in a module-level cache, one closes
# what it opens (with the first one's connection still open: only its own count), one never
# touches PostgreSQL
_LEAKS = """
from kg_engine.store import SQLStore
from kg_engine.testing.postgres import shared_server

CACHE = []

def test_opens_and_keeps():
    CACHE.append(SQLStore(shared_server().new_database_url()))
"""
_CLOSES = """
import pytest
from kg_engine.store import SQLStore
from kg_engine.testing.postgres import shared_server

@pytest.fixture(scope="module")
def store():
    s = SQLStore(shared_server().new_database_url())
    yield s
    s.close()

def test_uses(store):
    assert len(store) == 0

def test_unreachable_store_is_not_counted():
    SQLStore(shared_server().new_database_url())  # dropped at once: closes when collected
"""
_NO_PG = """
def test_nothing():
    assert True
"""


def _run(tmp_path: Path, switch: str | None) -> subprocess.CompletedProcess:
    """pytest on the three modules, ``KG_PG_LEAK_CHECK`` set to ``switch`` (None: unset)."""
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    for name, body in [("test_a_leaks", _LEAKS), ("test_b_closes", _CLOSES),
                       ("test_c_no_pg", _NO_PG)]:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if k != "KG_PG_LEAK_CHECK"}
    if switch is not None:
        env["KG_PG_LEAK_CHECK"] = switch
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", str(tmp_path)],
        check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)


def test_the_check_is_on_unless_switched_off(tmp_path: Path) -> None:
    # it checked only with KG_PG_LEAK_CHECK=1, so CI never ran it: on by default now
    report = _run(tmp_path, None)
    assert report.returncode == 1 and "4 passed, 1 error" in report.stdout, report.stdout
    report = _run(tmp_path, "0")
    assert report.returncode == 0 and "4 passed" in report.stdout, report.stdout


def test_module_leaving_connections_open_errors_at_teardown(tmp_path: Path) -> None:
    out = _run(tmp_path, "1")
    report = out.stdout + out.stderr
    assert out.returncode == 1, report
    assert "4 passed, 1 error" in report, report
    assert "ERROR at teardown of test_opens_and_keeps" in report, report
    assert "test_a_leaks.py left 1 PostgreSQL connection(s) open (0 were open before it)" \
        in report, report
