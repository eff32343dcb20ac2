"""The loader's pipeline: parser processes feeding one writer, the SQLite writer thread."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kg_engine.errors import InputReadError, RDFSyntaxError
from kg_engine.store import SQLStore, loader
from kg_engine.store.pipeline import ParsedFiles, QuadWriter


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Loads of 2+ line-format files use parser processes whatever their size; the list
    records how many files each load handed to them."""
    used: list[int] = []

    class Recorded(ParsedFiles):
        def __init__(self, chunks, files, workers):
            used.append(len(files))
            super().__init__(chunks, files, workers)

    monkeypatch.setattr(loader, "_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "ParsedFiles", Recorded)
    return used


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store on each backend (worker processes take seconds to start: no in-memory
    SQLite case, whose loader path is the file's)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kg.sqlite'}"
    return request.getfixturevalue("pg_server").new_database_url()


def _files(tmp_path: Path) -> list[Path]:
    a, b, c, d = (tmp_path / n for n in ("a.nt", "b.nq.gz", "c.ttl", "d.nt"))
    a.write_text("".join(f"<urn:s{i}> <urn:p> \"v\\t{i}\"@en .\n" for i in range(300))
                 + "_:x <urn:p> <urn:s1> .\n<urn:s1> <urn:q> \"1\"^^<urn:dt> .\n")
    with gzip.open(b, "wt") as f:
        f.write("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> <urn:g{i % 3}> .\n" for i in range(200))
                + "_:x <urn:p> <urn:s1> .\n<urn:s1> <urn:p> \"v\\t1\"@en .\n")
    c.write_text("@prefix : <urn:> .\n:s1 :p :t1 .\n[] :p :s2 .\n")
    d.write_text("_:x <urn:p> <urn:s1> .\n<urn:s9> <urn:p> \"v\\t9\"@en .\n<urn:z> <urn:p> <urn:s0> .\n")
    return [a, b, c, d]


def _content(store: SQLStore) -> tuple[list[tuple], int]:
    """Statements without blank nodes (as text), and how many distinct blank subjects."""
    rows = [tuple(map(str, q)) for q in store.triples((None, None, None))]
    blank = {r[0] for r in rows if not r[0].startswith("urn:")}
    return sorted(r for r in rows if r[0].startswith("urn:")), len(blank)


def test_files_parsed_in_workers_load_what_one_process_loads(url: str, tmp_path: Path,
                                                            workers: list[int],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files(tmp_path)
    with SQLStore(url) as store:
        parallel = store.load(files)
        got = _content(store)
        loads = store.db.fetchall("SELECT source, statements FROM kg_loads ORDER BY id")
    assert workers == [3]  # the three line-format files; the Turtle file in its turn
    monkeypatch.setattr(loader, "_PARALLEL_MIN_FILES", 99)
    with SQLStore(f"sqlite:///{tmp_path / 'serial.sqlite'}") as serial:
        one = serial.load(files)
        assert (parallel.statements, parallel.added) == (one.statements, one.added) == (509, 507)
        assert got == _content(serial)
        assert got[1] == 4  # `_:x` of three files and the Turtle `[]`: four nodes
        assert loads == serial.db.fetchall("SELECT source, statements FROM kg_loads ORDER BY id")
    assert workers == [3]


def test_a_bad_file_in_the_middle_leaves_the_store_as_it_was(url: str, tmp_path: Path,
                                                             workers: list[int]) -> None:
    _bad_file_in_the_middle(url, tmp_path, workers,
                            "<urn:a> <urn:p> <urn:b> .\n\n<urn:a> urn:p <urn:b> .\n", 3, "a predicate")


def test_a_bad_token_in_the_middle_file_is_located(tmp_path: Path, workers: list[int]) -> None:
    """Tokens are validated in the parser process: the error still names file and line."""
    _bad_file_in_the_middle(f"sqlite:///{tmp_path / 's.sqlite'}", tmp_path, workers,
                            "<urn:a> <urn:p> <urn:b> .\n<urn:a b> <urn:p> <urn:b> .\n", 2,
                            "malformed IRI")


def _bad_file_in_the_middle(url: str, tmp_path: Path, workers: list[int], bad: str, line: int,
                            error: str) -> None:
    a, b, c = _files(tmp_path)[0], tmp_path / "bad.nt", _files(tmp_path)[3]
    b.write_text(bad)
    with SQLStore(url) as store:
        store.load(tmp_path / "c.ttl")
        before = (_content(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
                  store.db.fetchall("SELECT * FROM kg_loads"))
        with pytest.raises(RDFSyntaxError) as info:
            store.load([a, b, c])
        assert (info.value.source, info.value.line) == (str(b), line) and error in str(info.value)
        after = (_content(store), store.db.scalar("SELECT count(*) FROM kg_terms"),
                 store.db.fetchall("SELECT * FROM kg_loads"))
        assert after == before
        assert store.load([a, c]).added == 304  # and the store takes loads again
    assert workers == [3, 2]


def test_a_truncated_gzip_in_the_middle_loads_nothing(tmp_path: Path, workers: list[int]) -> None:
    a, b, _, d = _files(tmp_path)
    b.write_bytes(b.read_bytes()[:-12])
    with SQLStore(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(InputReadError, match="truncated or corrupt"):
            store.load([a, b, d])
        assert len(store) == 0 and store.db.scalar("SELECT count(*) FROM kg_loads") == 0


def test_quad_writer_keeps_order_and_raises_its_error() -> None:
    seen: list[int] = []
    with QuadWriter(seen.extend) as write:
        for i in range(50):
            write([i])
    assert seen == list(range(50))

    def failing(rows: list[int]) -> None:
        if rows == [3]:
            raise ValueError("disk full")
        seen.append(rows[0])

    seen.clear()
    with pytest.raises(ValueError, match="disk full"), QuadWriter(failing) as write:
        for i in range(10):
            write([i])  # raises here once the thread has failed, or at the end
    assert seen == [0, 1, 2]


def test_quad_writer_drops_queued_batches_when_the_load_fails() -> None:
    import threading

    release, seen = threading.Event(), []

    def slow(rows: list[int]) -> None:
        release.wait(5)
        seen.append(rows[0])

    with pytest.raises(KeyError), QuadWriter(slow) as write:
        write([1])  # in progress
        write([2])  # queued
        release.set()
        raise KeyError("the loading thread failed")
    assert 2 not in seen  # never written after the failure (the rollback is next)


def test_threaded_sqlite_insert_counts_only_new_statements(tmp_path: Path) -> None:
    """The writer thread counts rows by its statement (not the connection's total, which
    the term inserts of the loading thread also move)."""
    path = tmp_path / "d.nt"
    path.write_text("".join(f"<urn:s{i % 700}> <urn:p> <urn:o{i}> .\n" for i in range(1000))
                    + "<urn:s0> <urn:p> <urn:o0> .\n")
    with SQLStore(f"sqlite:///{tmp_path / 't.sqlite'}") as store:
        store.add([(loader.URIRef("urn:s0"), loader.URIRef("urn:p"), loader.URIRef("urn:o0"))])
        result = store.load(path)
        assert (result.statements, result.added, len(store)) == (1001, 999, 1000)


def test_quad_writer_never_writes_while_the_caller_holds_its_lock() -> None:
    import time

    seen: list[int] = []
    with QuadWriter(seen.extend) as write, write.lock:  # the loading thread's own statement
        write([1])
        time.sleep(0.2)
        assert seen == []
    assert seen == [1]


def test_a_script_without_a_main_guard_loads_several_files(tmp_path: Path) -> None:
    """Workers are fresh interpreters: the caller's script is not run again in them (as
    ``multiprocessing``'s spawn would do with a script lacking ``if __name__ == ...``)."""
    import subprocess
    import sys

    a, b = tmp_path / "a.nt", tmp_path / "b.nt"
    a.write_text("<urn:a> <urn:p> <urn:b> .\n")
    b.write_text("<urn:b> <urn:p> <urn:c> .\n")
    script = tmp_path / "script.py"
    script.write_text(
        "from kg_engine.store import SQLStore, loader\n"
        "loader._PARALLEL_MIN_BYTES = 0\n"
        f"store = SQLStore('sqlite:///{tmp_path / 'k.sqlite'}')\n"
        f"print('loaded', store.load([{str(a)!r}, {str(b)!r}]).added, flush=True)\n"
    )
    out = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["loaded 2"]


def test_kg_load_of_several_files_with_a_bad_one_exits_2_and_loads_nothing(
        tmp_path: Path, workers: list[int]) -> None:
    from typer.testing import CliRunner

    from kg_engine.cli.app import app

    a, _, _, d = _files(tmp_path)
    bad = tmp_path / "bad.nt"
    bad.write_text("<urn:a> <urn:p> <urn:b> .\n<urn:a> <urn:p> .\n")
    db = f"sqlite:///{tmp_path / 'k.sqlite'}"
    res = CliRunner().invoke(app, ["load", str(a), str(bad), str(d), "--db", db])
    assert res.exit_code == 2 and f"{bad}:2" in res.output
    assert workers == [3]
    with SQLStore(db) as store:
        assert len(store) == 0
    res = CliRunner().invoke(app, ["load", str(a), str(d), "--db", db])
    assert res.exit_code == 0 and workers == [3, 2]
    with SQLStore(db) as store:
        assert len(store) == 304


_CTRL_C_LOOP = """
import random, signal, sys, time
from kg_engine.store.pipeline import QuadWriter

def interrupt(signum, frame):
    raise KeyboardInterrupt

def write(rows):
    sum(range(2000))  # a little work per batch, as an insert

def load(seconds=0.0):
    with QuadWriter(write) as writer:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        for i in range(30):
            writer([(i,)])

signal.signal(signal.SIGALRM, interrupt)
start = time.perf_counter()
load()
took = time.perf_counter() - start
rng = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    try:
        try:
            load(rng.uniform(1e-6, took))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except KeyboardInterrupt:  # (also one that came after load, before the timer stopped)
        pass
print("ok")
"""


def test_ctrl_c_at_any_moment_of_the_writer_thread_never_hangs_the_load() -> None:
    # a Ctrl-C inside Queue.put (Python code around a Condition) broke the queue's lock:
    # "release unlocked lock" in place of the KeyboardInterrupt, or the loader joined the
    # writer thread for ever while it waited for a batch (found by benchmarks/interrupts.py
    # --backend sqlite: a kg.load hung). Before the fix 4 runs of this loop failed after 332
    # to 542 interrupts. (The timeout only ends a hang; the loop takes a few seconds.)
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CTRL_C_LOOP, "7", "1500"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_parser_process_dying_in_a_chunk_s_middle_is_named(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed while it wrote a chunk left half a pickle in the pipe: the load failed
    with "UnpicklingError: pickle data was truncated" (kg load: an internal error). Now it is
    the parser process's end, named with its file and exit code, as when it dies between
    chunks."""
    (tmp_path / "dying_parser.py").write_text(
        "import os, sys\n"
        "def chunks(path, quads):\n"
        "    yield (b'x' * 100_000, [], 1)\n"
        "    sys.stdout.buffer.write(b'\\x80\\x05\\x95')  # a chunk begun\n"
        "    sys.stdout.buffer.flush()\n"
        "    os._exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    data = tmp_path / "a.nt"
    data.write_text("")
    with ParsedFiles("dying_parser:chunks", [(data, False)], 1) as parsed:
        got = []
        with pytest.raises(RuntimeError) as info:
            got.extend(parsed.chunks(0))
    assert len(got) == 1
    assert str(info.value).startswith(f"the parser process of {data} ended (exit code 3) "
                                      "without its statements; nothing was loaded")
