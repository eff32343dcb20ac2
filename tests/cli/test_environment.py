"""``kg`` under an ASCII and a Latin-1 locale gives the bytes it gives under ``C.UTF-8``.

Found by the environment differential (:mod:`kg_engine.testing.envdiff`): printing a
non-ASCII value was an internal error (``UnicodeEncodeError``) under ``LANG=C`` with Python's
UTF-8 mode off and under ``de_DE.ISO-8859-1``; a query on the command line under the ASCII
locale matched nothing (its non-ASCII bytes arrived as surrogate escapes); a query piped to
``-f -`` was decoded as Latin-1 under the Latin-1 locale (no answer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg_engine.testing.envdiff import ensure_locale

ROOT = str(Path(__file__).resolve().parents[2])
DATA = '<urn:ex:a> <urn:ex:name> "Straße" , "İstanbul 日本" .\n'
QUERY = 'SELECT ?s ?o WHERE { ?s ?p ?o FILTER(?o != "Straße") }'
ASCII = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def _kg(store: Path, env: dict[str, str], *args: str | bytes, stdin: bytes | None = None):
    # messages are wrapped to the terminal (80 columns for a pipe): a long temporary path
    # would be split across lines, so the path assertions below read one wide line
    full = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ROOT, "TZ": "UTC",
            "COLUMNS": "1000", **env}
    return subprocess.run([sys.executable, "-m", "kg_engine", *args, "--db",
                           f"sqlite:///{store}"], env=full, input=stdin,
                          capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("env")
    (folder / "d.ttl").write_text(DATA, encoding="utf-8")
    path = folder / "kg.sqlite"
    assert _kg(path, {"LANG": "C.UTF-8"}, "load", str(folder / "d.ttl")).returncode == 0
    return path


def _latin1() -> dict[str, str]:
    try:
        locpath = ensure_locale("de_DE.ISO-8859-1")
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"no de_DE.ISO-8859-1 locale and localedef cannot make it: {exc}")
    env = {"LANG": "de_DE.ISO-8859-1", "LC_ALL": "de_DE.ISO-8859-1"}
    return {**env, "LOCPATH": locpath} if locpath else env


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "tsv", "xml"])
@pytest.mark.parametrize("locale", ["ascii", "latin1"])
def test_query_output_is_utf8_whatever_the_locale(store, fmt, locale) -> None:
    env = ASCII if locale == "ascii" else _latin1()
    typed = QUERY.encode("utf-8" if locale == "ascii" else "latin-1")  # as the terminal sends it
    base = _kg(store, {"LANG": "C.UTF-8"}, "query", QUERY, "--format", fmt)
    got = _kg(store, env, "query", typed, "--format", fmt)
    assert base.returncode == 0 and "İstanbul 日本".encode() in base.stdout
    assert (got.returncode, got.stdout, got.stderr) == (0, base.stdout, base.stderr)


def test_command_line_text_under_an_ascii_locale_is_read_as_utf8(store) -> None:
    q = 'SELECT ?s WHERE { ?s ?p "Straße" }'
    got = _kg(store, ASCII, "query", "--format", "csv", q.encode("utf-8"))
    assert got.stdout.split() == [b"s", b"urn:ex:a"], got.stderr
    got = _kg(store, ASCII, "explain", '<urn:ex:a> <urn:ex:name> "Straße"'.encode())
    assert got.returncode == 0, got.stderr


def test_latin1_command_line_and_utf8_stdin_under_a_latin1_locale(store) -> None:
    env = _latin1()
    q = 'SELECT ?s WHERE { ?s ?p "Straße" }'
    typed = _kg(store, env, "query", "--format", "csv", q.encode("latin-1"))
    assert typed.stdout.split() == [b"s", b"urn:ex:a"], typed.stderr
    piped = _kg(store, env, "query", "--format", "csv", "-f", "-", stdin=q.encode("utf-8"))
    assert piped.stdout.split() == [b"s", b"urn:ex:a"], piped.stderr


def test_non_ascii_paths_under_an_ascii_locale(tmp_path: Path) -> None:
    """``kg load`` recorded the file's name with surrogate escapes (SQLite refused them: an
    internal error); ``kg export`` printed it on a UTF-8 stdout that had lost its
    surrogate-escape handler (an internal error after the file was written)."""
    folder = tmp_path / "Dätä ı 日本"
    folder.mkdir()
    (folder / "d.ttl").write_text(DATA, encoding="utf-8")
    store = folder / "kg.sqlite"
    loaded = _kg(store, ASCII, "load", str(folder / "d.ttl"))
    assert loaded.returncode == 0, loaded.stderr
    why = _kg(store, ASCII, "explain", '<urn:ex:a> <urn:ex:name> "Straße"'.encode())
    assert f"loaded from {folder / 'd.ttl'}".encode() in why.stdout, why.stderr
    out = folder / "e.nt"
    exported = _kg(store, ASCII, "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Dätä ı".encode() in exported.stdout and out.read_bytes()  # the name's bytes
    # the store's size on disk, not "in memory" (its UTF-8 name was looked up as ASCII)
    stats = _kg(store, ASCII, "stats", "--json")
    assert json.loads(stats.stdout)["bytes"] > 0, stats.stderr
