"""``kg serve`` as a command: starts, answers SPARQL, refuses a bad store URL with exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

DATA = Path(__file__).resolve().parents[2] / "data" / "sample" / "university.ttl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kg(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-m", "kg_engine", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_kg_serve_answers_queries(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    load = _kg("load", "--db", db, str(DATA))
    assert load.wait(120) == 0
    port = _free_port()
    server = _kg("serve", "--db", db, "--port", str(port), "--timeout", "5")
    try:
        url = f"http://127.0.0.1:{port}/sparql"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(url, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
                break
            except httpx.ConnectError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "kg serve did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert int(r.json()["results"]["bindings"][0]["n"]["value"]) > 50
        assert httpx.post(url, data={"update": "CLEAR ALL"}).status_code == 403
        # on 127.0.0.1 it answers the loopback names only (DNS rebinding): was 200
        assert httpx.get(url, params={"query": "ASK {}"},
                         headers={"Host": f"rebound.example:{port}"}).status_code == 400
        assert httpx.get(f"http://localhost:{port}/sparql",
                         params={"query": "ASK {}"}).status_code == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "read-only" in out


def test_kg_serve_bad_url_exits_2(tmp_path: Path):
    proc = _kg("serve", "--db", "mysql://nowhere/db", "--port", str(_free_port()))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "unsupported database" in err


def test_read_only_kg_serve_of_a_missing_store_exits_2_and_creates_nothing(tmp_path: Path):
    missing = tmp_path / "typo.sqlite"
    proc = _kg("serve", "--db", f"sqlite:///{missing}", "--port", str(_free_port()))
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # before the fix it served an empty store until stopped
    assert proc.returncode == 2, out + err
    assert "no such store" in err and not missing.exists()


def test_kg_serve_on_a_busy_port_is_one_line_exit_2(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert _kg("load", "--db", db, str(DATA)).wait(120) == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _kg("serve", "--db", db, "--port", str(port))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    lines = (out + err).strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0], lines


@pytest.mark.postgres
def test_kg_serve_does_not_print_the_password(pg_server, monkeypatch: pytest.MonkeyPatch) -> None:
    # kg serve printed the --db URL as given, password included
    from typer.testing import CliRunner

    import kg_engine.serve
    from kg_engine import KnowledgeGraph
    from kg_engine.cli.app import app

    monkeypatch.setattr(kg_engine.serve, "serve", lambda *a, **kw: None)  # print, do not serve
    url = pg_server.new_database_url().replace("@", ":s3cret@", 1)  # trust auth: any password
    with KnowledgeGraph(url) as kg:
        kg.load(DATA)
    res = CliRunner().invoke(app, ["serve", "--db", url, "--port", str(_free_port())])
    assert res.exit_code == 0, res.output
    assert "s3cret" not in res.output and ":***@" in res.output


def test_kg_serve_names_the_store_it_cannot_write_at_start_up(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # a database error while kg serve set up its app (a store opened by the app, not by
    # open_kg) read "the store is read-only …": the command's --db was not named
    import sqlite3

    from typer.testing import CliRunner

    import kg_engine.serve
    from kg_engine.cli.app import app

    def refused(*args: object, **kwargs: object) -> None:
        err = sqlite3.OperationalError("attempt to write a readonly database")
        err.sqlite_errorname = "SQLITE_READONLY"  # type: ignore[attr-defined]
        raise err

    monkeypatch.setattr(kg_engine.serve, "create_app", refused)
    url = f"sqlite:///{tmp_path}/kg.sqlite"
    res = CliRunner().invoke(app, ["serve", "--update", "--db", url, "--port", str(_free_port())])
    assert res.exit_code == 2, res.output
    assert url in res.output and "the store" not in res.output, res.output
