"""Bad input to every ``kg`` command: exit 2, ONE line naming the input, nothing changed.

The fixtures (a store, a foreign SQLite database, non-UTF-8, truncated, binary files, a FIFO…)
are generated here; the table ``CASES`` lists, per command, the arguments and a text the one
line must contain. After each case the store's content digest and the folder's file list are
compared with what they were before. Interrupts run ``kg load`` / ``update`` / ``reason`` /
``extract`` in a subprocess and send it SIGINT / SIGKILL (mid-work: while it reads its input,
or while it holds the store's write lock); the API equivalents use ``pytest.raises`` on the
public exceptions.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import RDF, URIRef
from typer.testing import CliRunner

from kg_engine import KnowledgeGraph
from kg_engine.cli.app import app
from kg_engine.errors import (
    ConfigError,
    InputNotFoundError,
    InputReadError,
    InputSyntaxError,
    KgEngineError,
    QuerySyntaxError,
    StoreError,
    StoreURLError,
)

EX = "http://example.org/"


def digest(path: Path) -> str:
    """Content digest of an SQLite file (every table's rows; the bytes of another file)."""
    if not path.exists():
        return "missing"
    data = path.read_bytes()
    if not data.startswith(b"SQLite format 3"):
        return hashlib.sha256(data).hexdigest()
    # read-only; immutable unless a write-ahead log exists (else sqlite leaves -wal/-shm files)
    wal = Path(f"{path}-wal").exists()
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'' if wal else '&immutable=1'}",
                          uri=True)
    try:
        h = hashlib.sha256()
        for line in con.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        con.close()


@pytest.fixture(autouse=True)
def _sigint_reaches_children() -> Iterator[None]:
    """The signal tests' children must receive SIGINT. A test run started as a background job
    (``.ci/run &``, ``nohup … &``) ignores SIGINT, and children inherit an ignored signal
    (Python then installs no KeyboardInterrupt handler): the child ran on and exited 0. A
    handled signal is reset to the default in a child, so handle it while the test runs."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("robust")
    with KnowledgeGraph(f"sqlite:///{d / 'store.sqlite'}") as kg:
        kg.update(f'INSERT DATA {{ <{EX}a> <{EX}p> <{EX}b> . <{EX}b> <{EX}p> "x" }}')
    con = sqlite3.connect(d / "foreign.sqlite")
    con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    con.execute("INSERT INTO customers VALUES (1, 'Ada')")
    con.commit()
    con.close()
    (d / "notes.txt").write_text("my notes, not a database\n" * 10)
    (d / "notutf8.rq").write_bytes(b"SELECT * WHERE { ?s ?p \xff\xfe }")
    (d / "notutf8.ru").write_bytes(b"INSERT DATA { <urn:a> <urn:b> \"\xe9\" }")
    (d / "notutf8.ttl").write_bytes(b"<urn:a> <urn:b> \"\xe9t\xe9\" .\n")
    (d / "notutf8.txt").write_bytes(b"Ada Lovelace was born in London \xff\xfe.")
    (d / "notutf8.rules").write_bytes(b"[r1: (?a <urn:p> ?b) -> (?b <urn:p> \xff ?a)]")
    (d / "binary.nt").write_bytes(bytes(range(256)) * 4)
    (d / "bad.nt").write_text(f"<{EX}a> <{EX}p> <{EX}b> .\n<{EX}a> <{EX}p> .\n")
    (d / "relative.nt").write_text(f"<{EX}a> <{EX}p> <b> .\n")
    (d / "empty.rq").write_text("")
    whole = gzip.compress(b"".join(b"<%sa%d> <%sp> \"x\" .\n" % (EX.encode(), i, EX.encode())
                                   for i in range(3000)))
    (d / "truncated.nt.gz").write_bytes(whole[: len(whole) // 2])
    (d / "folder").mkdir()
    os.mkfifo(d / "fifo.nt")
    return d


# (command arguments, text the one line must name); {d} is the fixture folder, {db} the store
CASES: dict[str, list[tuple[list[str], str]]] = {
    "query": [
        (["query", "--db", "{db}", "SELEC * WHERE { ?s ?p ?o }"], "<query>:1"),
        (["query", "--db", "{db}", "-f", "{d}/notutf8.rq"], "notutf8.rq"),
        (["query", "--db", "{db}", "-f", "{d}/empty.rq"], "empty.rq"),
        (["query", "--db", "{db}", "-f", "{d}/nothere.rq"], "nothere.rq"),
        (["query", "--db", "{db}", "-f", "{d}/folder"], "folder"),
        (["query", "--db", "{db}", "-f", "{d}/fifo.nt"], "fifo.nt"),
        (["query", "--db", "{db}", "-f", "/dev/null"], "/dev/null"),
        (["query", "--db", "{db}", "missing.rq"], "-f missing.rq"),
        (["query", "--db", "{db}", "--timeout", "-1", "ASK {}"], "timeout"),
        (["query", "--db", "{db}", "--timeout", "0", "ASK {}"], "timeout"),
        (["query", "--db", "{db}", "--timeout", "nan", "ASK {}"], "timeout"),
        (["query", "--db", "sqlite:///{d}/nothere.sqlite", "ASK {}"], "nothere.sqlite"),
        (["query", "--db", "sqlite:///{d}/foreign.sqlite", "ASK {}"], "foreign.sqlite"),
        (["query", "--db", "sqlite:///{d}/notes.txt", "ASK {}"], "notes.txt"),
        (["query", "--db", "", "ASK {}"], "URL is empty"),
        (["query", "--db", "{db}", "--format", "csv", "CONSTRUCT WHERE { ?s ?p ?o }"],
         "--format"),
    ],
    "stats": [
        (["stats", "--db", "sqlite:///{d}/nothere.sqlite"], "nothere.sqlite"),
        (["stats", "--db", "sqlite:///{d}/foreign.sqlite"], "foreign.sqlite"),
        (["stats", "--db", "sqlite:///{d}/notes.txt"], "notes.txt"),
        (["stats", "--db", "sqlite:///{d}/folder"], "folder"),
        (["stats", "--db", "mysql://x/y"], "mysql"),
        (["stats", "--db", "sqlite:///{d}/fifo.nt"], "fifo.nt"),
    ],
    "load": [
        (["load", "--db", "{db}", "{d}/bad.nt"], "bad.nt:2"),
        (["load", "--db", "{db}", "{d}/binary.nt"], "binary.nt"),
        (["load", "--db", "{db}", "{d}/relative.nt"], "relative.nt:1"),
        (["load", "--db", "{db}", "{d}/notutf8.ttl"], "notutf8.ttl"),
        (["load", "--db", "{db}", "{d}/truncated.nt.gz"], "truncated.nt.gz"),
        (["load", "--db", "{db}", "{d}/folder"], "folder"),
        (["load", "--db", "{db}", "{d}/fifo.nt"], "fifo.nt"),
        (["load", "--db", "{db}", "/dev/null"], "/dev/null"),
        (["load", "--db", "{db}", "{d}/nothere.nt"], "nothere.nt"),
        (["load", "--db", "{db}", "--graph", "not an iri", "{d}/relative.nt"], "not an iri"),
        (["load", "--db", "sqlite:///{d}/foreign.sqlite", "{d}/bad.nt"], "foreign.sqlite"),
        (["load", "--db", "sqlite:///{d}/notes.txt", "{d}/bad.nt"], "notes.txt"),
        (["load", "--db", "sqlite:///{d}/no/such/folder/kg.sqlite", "{d}/bad.nt"], "folder"),
        (["load", "--db", "sqlite:///{d}/new.sqlite", "{d}/bad.nt"], "bad.nt"),
    ],
    "update": [
        (["update", "--db", "{db}", "INSERT DATA { \"lit\" <urn:p> <urn:o> }"], "<update>:1"),
        (["update", "--db", "{db}", "INSERT DATA { ?s <urn:p> <urn:o> }"], "<update>:1"),
        (["update", "--db", "{db}", "DELETE DATA { _:b <urn:p> <urn:o> }"], "<update>:1"),
        (["update", "--db", "{db}", "-f", "{d}/notutf8.ru"], "notutf8.ru"),
        (["update", "--db", "{db}", "changes.ru"], "-f changes.ru"),
        (["update", "--db", "sqlite:///{d}/foreign.sqlite", "CLEAR ALL"], "foreign.sqlite"),
    ],
    "explain": [
        (["explain", "--db", "{db}", "not a triple"], "<triple>"),
        (["explain", "--db", "{db}", f"<{EX}a> <{EX}p>"], "<triple>"),
        (["explain", "--db", "{db}", f"<{EX}a> <{EX}p> <{EX}zz>"], "not in the store"),
        (["explain", "--db", "sqlite:///{d}/nothere.sqlite", f"<{EX}a> <{EX}p> <{EX}b>"],
         "nothere.sqlite"),
        (["explain", "--db", "{db}", f"_:x <{EX}p> <{EX}b>"], "blank node"),
        (["explain", "--db", "{db}", f'"lit" <{EX}p> <{EX}b>'], "<triple>"),
    ],
    "reason": [
        (["reason", "--db", "{db}", "-r", "{d}/nothere.rules"], "nothere.rules"),
        (["reason", "--db", "{db}", "-r", "{d}/notutf8.rules"], "notutf8.rules"),
        (["reason", "--db", "sqlite:///{d}/foreign.sqlite"], "foreign.sqlite"),
    ],
    "extract": [
        (["extract", "--db", "{db}", "{d}/nothere.txt"], "nothere.txt"),
        (["extract", "--db", "{db}", "{d}/notutf8.txt"], "notutf8.txt"),
        (["extract", "--db", "sqlite:///{d}/new.sqlite", "{d}/notutf8.txt"], "notutf8.txt"),
        (["extract", "--db", "{db}", "{d}/fifo.nt"], "fifo.nt"),
        (["extract", "--db", "{db}", "{d}/empty.rq"], "empty.rq"),
        (["extract", "--db", "{db}", "--batch-size", "0", "{d}/bad.nt"], "--batch-size"),
    ],
    "demo": [
        (["demo", "--db", "sqlite:///{d}/notes.txt"], "notes.txt"),
        (["demo", "--db", "{db}"], "store.sqlite"),
        (["demo", "--db", "sqlite:///{d}/foreign.sqlite"], "foreign.sqlite"),
    ],
}


def _cases() -> list:
    return [pytest.param(args, name, id=f"{cmd}-{i}")
            for cmd, rows in CASES.items() for i, (args, name) in enumerate(rows)]


@pytest.mark.parametrize(("args", "name"), _cases())
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    work: Path, args: list[str], name: str
) -> None:
    db = work / "store.sqlite"
    files = sorted(p.name for p in work.iterdir())
    before = {f: digest(work / f) for f in files if not (work / f).is_fifo()
              and (work / f).is_file()}
    argv = [a.replace("{db}", f"sqlite:///{db}").replace("{d}", str(work)) for a in args]
    result = CliRunner().invoke(app, argv)
    out = result.output.strip()
    assert result.exit_code == 2, out
    assert len(out.splitlines()) == 1, out
    assert out.startswith("error: ") and "Traceback" not in out, out
    assert name in out, out
    assert sorted(p.name for p in work.iterdir()) == files, "a file was created or removed"
    assert {f: digest(work / f) for f in before} == before, "a file or store was changed"


@pytest.mark.parametrize(("modifier", "rows"), [
    ("LIMIT 9223372036854775808", 2), ("OFFSET 99999999999999999999", 0),
    ("ORDER BY ?o LIMIT 99999999999999999999 OFFSET 1", 1)])
def test_huge_limit_and_offset_are_answered(work: Path, modifier: str, rows: int) -> None:
    r = CliRunner().invoke(app, ["query", "--db", f"sqlite:///{work / 'store.sqlite'}",
                                 "--format", "csv", f"SELECT ?o WHERE {{ ?s ?p ?o }} {modifier}"])
    assert r.exit_code == 0, r.output
    assert len(r.output.splitlines()) == rows + 1


def test_read_only_store_is_read_without_writing(work: Path, tmp_path: Path) -> None:
    src = work / "store.sqlite"
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "kg.sqlite").write_bytes(src.read_bytes())
    os.chmod(ro / "kg.sqlite", 0o444)
    os.chmod(ro, 0o555)
    db = f"sqlite:///{ro / 'kg.sqlite'}"
    before = (ro / "kg.sqlite").read_bytes()
    try:
        if not os.access(ro, os.W_OK):
            r = CliRunner().invoke(app, ["stats", "--db", db])
            assert r.exit_code == 0, r.output
            r = CliRunner().invoke(app, ["query", "--db", db, "ASK { ?s ?p ?o }"])
            assert r.exit_code == 0 and "true" in r.output.lower(), r.output
            r = CliRunner().invoke(app, ["update", "--db", db, "CLEAR ALL"])
            assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
        elif shutil.which("setpriv"):
            # root (CI containers): the commands run without the capability that lets root
            # write read-only files, so the read-only paths are tested there too
            caps = "-dac_override,-dac_read_search"
            good = tmp_path / "good.nt"
            good.write_text(f"<{EX}x> <{EX}p> <{EX}y> .\n")
            for argv, code, out in ((["stats"], 0, "statements"),
                                    (["query", "ASK { ?s ?p ?o }"], 0, "true"),
                                    (["update", "CLEAR ALL"], 2, "cannot be written"),
                                    (["load", str(good)], 2, "cannot be written")):
                proc = subprocess.run(
                    ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", "--",
                     sys.executable, "-m", "kg_engine", *argv, "--db", db],
                    capture_output=True, text=True, timeout=300, check=False,
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
                assert proc.returncode == code, (argv, proc.stdout, proc.stderr)
                assert out in (proc.stdout + proc.stderr).lower(), (argv, proc.stdout, proc.stderr)
                if code == 2:
                    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        else:
            pytest.skip("running as a user who can write to read-only folders (root), "
                        "without setpriv to drop that capability")
        assert (ro / "kg.sqlite").read_bytes() == before
    finally:
        os.chmod(ro, 0o755)


def test_read_commands_never_write(work: Path, tmp_path: Path) -> None:
    db = tmp_path / "kg.sqlite"
    db.write_bytes((work / "store.sqlite").read_bytes())
    before = db.read_bytes()
    for args in (["stats"], ["query", "SELECT * WHERE { ?s ?p ?o }"],
                 ["explain", f"<{EX}a> <{EX}p> <{EX}b>"]):
        r = CliRunner().invoke(app, [*args, "--db", f"sqlite:///{db}"])
        assert r.exit_code == 0, r.output
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.sqlite"]


def test_newer_store_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "kg.sqlite"
    KnowledgeGraph(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    con.execute("UPDATE kg_meta SET value = '999' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    r = CliRunner().invoke(app, ["stats", "--db", f"sqlite:///{db}"])
    assert r.exit_code == 2 and "newer kg-engine" in r.output, r.output


def test_demo_recreates_only_its_own_store(tmp_path: Path, monkeypatch) -> None:
    from kg_engine.cli import demo

    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    with KnowledgeGraph(db) as kg:
        kg.store.set_meta(demo.DEMO_KEY, "1")
        kg.update("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    demo._clear_demo_store(db)  # a store made by kg demo is recreated
    assert not (tmp_path / "demo.sqlite").exists()


def test_internal_error_is_one_line_exit_1_and_debug_shows_it(work: Path, monkeypatch) -> None:
    import kg_engine.api

    def broken(self, *args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(kg_engine.api.KnowledgeGraph, "stats", broken)
    db = f"sqlite:///{work / 'store.sqlite'}"
    r = CliRunner().invoke(app, ["stats", "--db", db])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1, r.output
    assert "bug" in r.output and "--debug" in r.output
    r = CliRunner().invoke(app, ["--debug", "stats", "--db", db])
    assert isinstance(r.exception, TypeError)


# -- the API raises public exceptions ------------------------------------------------------
def test_api_raises_public_exceptions(work: Path) -> None:
    with pytest.raises(InputNotFoundError):
        KnowledgeGraph(f"sqlite:///{work / 'nothere.sqlite'}", readonly=True)
    assert not (work / "nothere.sqlite").exists()
    with pytest.raises(StoreError, match="not a kg-engine store"):
        KnowledgeGraph(f"sqlite:///{work / 'foreign.sqlite'}")
    with pytest.raises(StoreError, match="not a SQLite database"):
        KnowledgeGraph(f"sqlite:///{work / 'notes.txt'}")
    with pytest.raises(StoreURLError):
        KnowledgeGraph("")
    kg = KnowledgeGraph("sqlite://")
    with pytest.raises(InputReadError, match="truncated"):
        kg.load(work / "truncated.nt.gz")
    with pytest.raises(InputReadError, match="folder"):
        kg.load(work / "folder")
    with pytest.raises(InputSyntaxError, match="notutf8.ttl"):
        kg.load(work / "notutf8.ttl")
    with pytest.raises(ConfigError, match="timeout"):
        kg.query("ASK {}", timeout=-1)
    with pytest.raises(ConfigError, match="IRI"):
        kg.load(work / "bad.nt", graph="no iri")
    with pytest.raises(QuerySyntaxError):
        kg.update('INSERT DATA { "x" <urn:p> <urn:o> }')
    with pytest.raises(KgEngineError):
        kg.explain("<urn:a> <urn:b>")
    assert len(kg) == 0
    with pytest.raises(StoreURLError, match="a SQLite file: sqlite:///kg.sqlite"):
        KnowledgeGraph("kg.sqlite")
    kg.close()
    with pytest.raises(StoreError, match="is closed"):  # was sqlite3.ProgrammingError
        kg.query("ASK {}")
    with pytest.raises(StoreError, match="is closed"):
        len(kg)


def test_a_path_is_a_sqlite_file(tmp_path: Path) -> None:
    with KnowledgeGraph(tmp_path / "kg.sqlite") as kg:  # was AttributeError: no .strip
        kg.update("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
        assert kg.url == f"sqlite:///{tmp_path / 'kg.sqlite'}"
    assert len(KnowledgeGraph(f"sqlite:///{tmp_path / 'kg.sqlite'}")) == 1


# -- interrupts ----------------------------------------------------------------------------
def _big_nt(path: Path, n: int) -> None:
    with open(path, "w") as fh:
        fh.writelines(f'<{EX}s{i}> <{EX}p{i % 7}> "literal number {i}" .\n' for i in range(n))


def _read_position(pid: int, path: Path) -> int | None:
    """Where process ``pid`` is reading ``path`` (Linux /proc), or None."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
                return int(info.split("pos:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return None


@pytest.mark.skipif(not Path("/proc/self/fdinfo").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_load_leaves_the_store_as_it_was(tmp_path: Path, sig: int) -> None:
    db = tmp_path / "kg.sqlite"
    with KnowledgeGraph(f"sqlite:///{db}") as kg:
        kg.update(f"INSERT DATA {{ <{EX}a> <{EX}p> <{EX}b> }}")
    before = digest(db)
    data = tmp_path / "big.nt"
    _big_nt(data, 400_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg_engine", "load", "--db", f"sqlite:///{db}", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.time() + 60
    # interrupt mid-parse: the child's read position in big.nt is past the start, not at the end
    while time.time() < deadline and proc.poll() is None:
        pos = _read_position(proc.pid, data)
        if pos is not None and 0 < pos < data.stat().st_size // 2:
            break
        time.sleep(0.01)
    if proc.poll() is not None or pos is None or pos >= data.stat().st_size // 2:
        proc.kill()
        pytest.skip("the load could not be caught mid-parse")
    proc.send_signal(sig)
    state = _signal_state(proc.pid)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, (err, state)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "rolled back" in lines[0], err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert digest(db) == before
    with KnowledgeGraph(f"sqlite:///{db}") as kg:  # and the store still works
        assert len(kg) == 1


def _run_and_interrupt(argv: list[str], delay: float) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "kg_engine", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _statements(url: str) -> set[str]:
    with KnowledgeGraph(url, readonly=True) as kg:
        return {" ".join(t.n3() for t in q) for q in kg.triples()}


@pytest.mark.slow  # ~20 s: a reference run and an interrupted run per command
@pytest.mark.parametrize("delay", [2.5])
@pytest.mark.parametrize("command", ["update", "reason"])
def test_interrupt_leaves_the_store_before_or_after_never_between(
    tmp_path: Path, command: str, delay: float
) -> None:
    """Ctrl-C at some moment of an update / a reasoning run: the store holds exactly what it
    held before or exactly what a complete run gives, and the one line says which."""
    db, ref = tmp_path / "kg.sqlite", tmp_path / "ref.sqlite"
    url, ref_url = f"sqlite:///{db}", f"sqlite:///{ref}"
    sub = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
    with KnowledgeGraph(url) as kg:  # a class chain and instances: rdfs derives ~60k types
        kg.add([(URIRef(f"{EX}C{i}"), URIRef(sub), URIRef(f"{EX}C{i + 1}")) for i in range(12)])
        kg.add([(URIRef(f"{EX}x{i}"), RDF.type, URIRef(f"{EX}C0")) for i in range(5000)])
    ref.write_bytes(db.read_bytes())
    if command == "update":
        request = tmp_path / "big.ru"
        request.write_text("INSERT DATA {\n" + "".join(
            f'<{EX}s{i}> <{EX}p> "value {i}" .\n' for i in range(60_000)) + "}\n")
        args = ["update", "-f", str(request)]
    else:
        args = ["reason", "-r", "rdfs"]
    before = _statements(url)
    done = CliRunner().invoke(app, [*args, "--db", ref_url])
    assert done.exit_code == 0, done.output
    complete = _statements(ref_url)
    code, err = _run_and_interrupt([*args, "--db", url], delay)
    after = _statements(url)
    assert after in (before, complete), "a partial result was left in the store"
    if code == 0:
        assert after == complete
        return
    assert code == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err
    if after == before:
        assert any(w in lines[0] for w in ("rolled back", "nothing", "before")), err
    else:
        assert "committed" in lines[0], err


def test_messages_quote_no_more_of_a_file_than_needed(tmp_path: Path) -> None:
    secret = "root:x:0:0:root:/root:/bin/bash-and-more-private-text"
    (tmp_path / "creds.nt").write_text(secret + "\n")
    (tmp_path / "creds2.nt").write_text(f"<{EX}a> <{EX}p> <{secret} is here> .\n")
    for name in ("creds.nt", "creds2.nt"):
        r = CliRunner().invoke(app, ["load", "--db", "sqlite://", str(tmp_path / name)])
        assert r.exit_code == 2 and name in r.output, r.output
        assert "/root:/bin/bash" not in r.output and "private" not in r.output, r.output


# -- interrupts at a known moment: inside the store's write transaction ---------------------
def _writing(pid: int, db: Path) -> bool:
    """Whether process ``pid`` holds SQLite's WAL write lock on ``db`` (a write transaction is
    open): a POSIX lock on byte 120 of ``db-shm`` in ``/proc/locks``."""
    try:
        inode = os.stat(f"{db}-shm").st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        f = line.split()
        if len(f) >= 8 and f[1] == "POSIX" and f[4] == str(pid) and f[6] == "120" \
                and f[5].rsplit(":", 1)[-1] == str(inode):
            return True
    return False


def _kg(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kg_engine", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def _signal_while_writing(proc: subprocess.Popen, db: Path, sig: int) -> bool:
    """Send ``sig`` once ``proc`` is inside a write transaction on ``db``; False if it
    finished first."""
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if _writing(proc.pid, db):
            proc.send_signal(sig)
            return True
        time.sleep(0.002)
    return False


def _signal_state(pid: int) -> str:
    """The child's signal masks (``/proc/PID/status``: blocked, ignored, caught), for the
    message of a failed SIGINT test (an ignored SIGINT shows in SigIgn: see
    :func:`_sigint_reaches_children`)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "(exited)"
    return " ".join(x for x in lines if x.startswith(("SigBlk", "SigIgn", "SigCgt")))


def _signal_after_documents(proc: subprocess.Popen, db: Path, n: int, sig: int) -> bool:
    """Send ``sig`` once ``kg extract`` (``proc``) has committed ``n`` documents to ``db``,
    preferably while it writes the next one; False if it finished first."""
    deadline, done = time.time() + 120, 0
    while time.time() < deadline and proc.poll() is None and done < n:
        with contextlib.suppress(sqlite3.Error):
            done = len(_documents(db))
        time.sleep(0.002)
    spin = time.time() + 0.3  # catch the next document's transaction if it comes soon
    while time.time() < spin and proc.poll() is None and not _writing(proc.pid, db):
        pass
    if proc.poll() is not None:
        return False
    proc.send_signal(sig)
    return True


def _chain_store(db: Path) -> None:
    """A class chain and instances: rdfs derives ~60k types in one transaction."""
    sub = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
    with KnowledgeGraph(f"sqlite:///{db}") as kg:
        kg.add([(URIRef(f"{EX}C{i}"), URIRef(sub), URIRef(f"{EX}C{i + 1}")) for i in range(12)])
        kg.add([(URIRef(f"{EX}x{i}"), RDF.type, URIRef(f"{EX}C0")) for i in range(5000)])


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
@pytest.mark.parametrize("command", ["update", "reason"])
def test_sigkill_while_writing_leaves_the_store_before_or_after(tmp_path: Path,
                                                                command: str) -> None:
    """SIGKILL inside the write transaction of ``kg update`` / ``kg reason``: the store's
    content digest is exactly the one before the run or exactly that of a complete run."""
    db, ref = tmp_path / "kg.sqlite", tmp_path / "ref.sqlite"
    _chain_store(db)
    ref.write_bytes(db.read_bytes())
    if command == "update":
        request = tmp_path / "big.ru"
        request.write_text("INSERT DATA {\n" + "".join(
            f'<{EX}s{i}> <{EX}p> "value {i}" .\n' for i in range(20_000)) + "}\n")
        args = ["update", "-f", str(request)]
    else:
        args = ["reason", "-r", "rdfs"]
    before = digest(db)
    done = CliRunner().invoke(app, [*args, "--db", f"sqlite:///{ref}"])
    assert done.exit_code == 0, done.output
    complete = digest(ref)
    assert complete != before
    proc = _kg([*args, "--db", f"sqlite:///{db}"])
    if not _signal_while_writing(proc, db, signal.SIGKILL):
        proc.kill()
        pytest.fail(f"kg {command} ended before its write transaction was seen: {proc.stderr}")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert digest(db) in (before, complete), "a partial result was left in the store"
    with KnowledgeGraph(f"sqlite:///{db}") as kg:  # and the store still works
        assert len(kg) >= 5012


def _documents(db: Path) -> set[tuple]:
    """The documents an extraction finished: (id, content hash, triples written)."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return set(con.execute("SELECT doc_id, hash, triples FROM kg_extraction_documents"))
    finally:
        con.close()


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_sigint_during_extract_leaves_a_resumable_store(tmp_path: Path) -> None:
    """Ctrl-C once ``kg extract`` has written two documents: exit 130 with one line, the
    finished documents are kept, and a re-run completes to exactly what an uninterrupted
    run gives."""
    import json

    names = ["Marie Curie", "Alan Turing", "Ada Lovelace", "Niels Bohr", "Lise Meitner",
             "Max Planck", "Emmy Noether", "Paul Dirac"]
    places = ["Paris", "London", "Berlin", "Copenhagen", "Vienna", "Rome"]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({
        "id": f"d{i}", "text": f"{names[i % 8]} worked in {places[i % 6]} with "
                               f"{names[(i + 3) % 8]}. {names[(i + 1) % 8]} was born in "
                               f"{places[(i + 2) % 6]}."}) + "\n" for i in range(200)))
    db, ref = tmp_path / "kg.sqlite", tmp_path / "ref.sqlite"
    url, ref_url = f"sqlite:///{db}", f"sqlite:///{ref}"
    args = ["extract", str(corpus), "--batch-size", "1"]
    done = CliRunner().invoke(app, [*args, "--db", ref_url])
    assert done.exit_code == 0, done.output
    complete = _statements(ref_url)
    proc = _kg([*args, "--db", url])
    if not _signal_after_documents(proc, db, 2, signal.SIGINT):
        proc.kill()
        pytest.fail("kg extract ended before it could be interrupted")
    state = _signal_state(proc.pid)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (err, state)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted:") and "re-run" in lines[0], err
    # finished documents kept whole, the one in progress rolled back, nothing else written
    assert 2 <= len(_documents(db)) < 200 and _documents(db) < _documents(ref)
    assert _statements(url) <= complete
    again = CliRunner().invoke(app, [*args, "--db", url])
    assert again.exit_code == 0 and "skipped" in again.output, again.output
    assert _statements(url) == complete and _documents(db) == _documents(ref)


def test_a_sqlite_url_with_two_slashes_is_refused(tmp_path: Path, monkeypatch) -> None:
    # sqlite://rail.sqlite names a host: it opened an in-memory store, so `kg load` said
    # "loaded 3 statements into sqlite://rail.sqlite", exited 0 and kept nothing
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.nt").write_text("<urn:a> <urn:b> <urn:c> .\n")
    r = CliRunner().invoke(app, ["load", "a.nt", "--db", "sqlite://rail.sqlite"])
    assert r.exit_code == 2, r.output
    assert "sqlite:///rail.sqlite" in r.output and "loaded" not in r.output
    with pytest.raises(StoreURLError, match="three slashes"):
        KnowledgeGraph("sqlite://localhost/kg.sqlite")
    assert list(tmp_path.iterdir()) == [tmp_path / "a.nt"]


@pytest.mark.parametrize("argv, words", [
    (["load", "sqlite:///order.sqlite", "a.nt"], "sqlite:///order.sqlite is a database URL"),
    (["load", "kept.sqlite", "a.nt", "--db", "sqlite:///other.sqlite"],
     "(kg load a.nt --db sqlite:///kept.sqlite)"),
    (["load", "a.nt", "new.db"], "new.db is a store"),
])
def test_a_store_given_as_a_file_to_load_says_to_use_db(tmp_path: Path, monkeypatch, argv, words) -> None:
    # the store given first, as a file: was "sqlite:/order.sqlite: no such file (expected an
    # RDF file)" (slashes collapsed) or "kept.sqlite: cannot tell the RDF format from the
    # extension '.sqlite'; pass format= (kg load --format FMT)"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.nt").write_text("<urn:a> <urn:b> <urn:c> .\n")
    with KnowledgeGraph("sqlite:///kept.sqlite") as kg:
        kg.update("INSERT DATA { <urn:x> <urn:y> <urn:z> }")
    before = sorted(tmp_path.iterdir())
    r = CliRunner().invoke(app, argv)
    assert r.exit_code == 2 and words in r.output.replace("\n", ""), r.output
    assert sorted(tmp_path.iterdir()) == before
