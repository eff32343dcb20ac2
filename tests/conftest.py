"""Shared fixtures: stores on every backend, the shared data folder, slow-test gating."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_engine.store import SQLStore
from kg_engine.testing.pgleaks import no_leaked_pg_connections  # noqa: F401 (autouse fixture)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``slow`` unless KG_SLOW=1 (CI keeps to its time budget)."""
    if os.environ.get("KG_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set KG_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$KG_SHARED_DATA``); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (benchmark/conformance data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the whole session (skips if none is installed)."""
    from kg_engine.testing.postgres import PostgresUnavailable, shared_server

    try:
        return shared_server()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite-file", "sqlite-memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a fresh, empty store on each backend."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'kg.sqlite'}"
    if request.param == "sqlite-memory":
        return "sqlite://"
    return request.getfixturevalue("pg_server").new_database_url()


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    """A fresh, empty store on each backend."""
    s = SQLStore(store_url)
    yield s
    s.close()
