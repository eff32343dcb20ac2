"""A pytest fixture that fails a test module which leaves PostgreSQL connections open.

Each test process (each xdist worker too) starts its own throwaway server
(:func:`~kg_engine.testing.postgres.shared_server`), which accepts 100 connections. Stores,
knowledge graphs and SPARQL endpoints kept by module fixtures or module-level caches and never
closed hold theirs until the process ends: the fresh-clone CI failed with "sorry, too many
clients already" after tests/sparql alone had left 57 open. :func:`no_leaked_pg_connections`
counts the server's client connections when a module starts and after its fixtures are torn
down, and errors at the module's teardown if more are open than it found.

The allowance is zero: no kg-engine object keeps a connection for the process's lifetime (a
closed store closes its connection and its pooled readers), so whatever is still open after a
module's teardown was opened by the module and not closed. Objects the module no longer
reaches do not count (the check collects garbage before it gives up): their connections close
with them.

Use it from a ``conftest.py`` (importing a fixture registers it)::

    from kg_engine.testing.pgleaks import no_leaked_pg_connections  # noqa: F401

``tests/conftest.py`` imports it, and it checks every module by default, so CI fails on a new
leak; ``KG_PG_LEAK_CHECK=0`` turns it off (say, to see a module's own failures first). A leak
that shows only at the last test of a module is often a test that never closed its store:
pytest keeps a test's log records until its teardown ends, and a record logged with a
traceback (rdflib logs one for every ill-typed literal it converts) keeps the frames, and so
the store, alive.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator

import pytest

from kg_engine.testing.postgres import TemporaryPostgres, running_shared_server

__all__ = ["BACKEND_EXIT_WAIT", "connections_left", "no_leaked_pg_connections"]

#: seconds to wait for the backends of closed connections to leave ``pg_stat_activity``
#: (a backend exits a moment after its client hangs up; longer on a machine under heavy load)
BACKEND_EXIT_WAIT = 30.0


def connections_left(server: TemporaryPostgres, before: int, wait: float | None = None) -> int:
    """How many more client connections than ``before`` are open on ``server``, after waiting
    up to ``wait`` seconds (default :data:`BACKEND_EXIT_WAIT`; collecting garbage meanwhile)
    for them to go.

    Returns at once, with 0, when no more than ``before`` are open.
    """
    deadline = time.monotonic() + (BACKEND_EXIT_WAIT if wait is None else wait)
    while (now := server.client_backends()) > before and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    return max(0, now - before)


@pytest.fixture(scope="module", autouse=True)
def no_leaked_pg_connections(request: pytest.FixtureRequest) -> Iterator[None]:
    """Error at a module's teardown if it leaves PostgreSQL client connections open on this
    process's shared server (nothing to do in a process that never started the server)."""
    if os.environ.get("KG_PG_LEAK_CHECK", "1") == "0":
        yield
        return
    server = running_shared_server()
    before = server.client_backends() if server is not None else 0
    yield
    server = running_shared_server()
    if server is None:
        return
    if left := connections_left(server, before):
        pytest.fail(
            f"{request.node.nodeid} left {left} PostgreSQL connection(s) open ({before} were "
            f"open before it): close every store, KnowledgeGraph and endpoint it opens (a "
            "fixture that yields it and then closes it, or a with block)", pytrace=False)
