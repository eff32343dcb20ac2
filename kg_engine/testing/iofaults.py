"""I/O-failure checks: make the operating system refuse a write, then judge what was left.

Crash safety (:mod:`kg_engine.testing.crashes`) kills a command; here the command lives on
and must cope: its write fails with ``EFBIG`` (the process's file size limit,
``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored as Python does) or ``ENOSPC`` (a small ``tmpfs``
mounted for the run: root only). Limits are picked between a file's size before the command
and its peak during an undisturbed run (:class:`PeakSizes`), so the refusal lands in the
SQLite file, its write-ahead log, SQLite's temporary files or the command's output file at
different moments.

A case passes when

* the command fails with ONE clear line naming the cause (disk full, file size limit) and a
  non-zero exit that is not kg's "internal error" (1) and no traceback
  (:func:`message_problems`), or succeeds having written everything;
* with the limit lifted the store opens, ``kg check``'s checks are clean and its
  :func:`~kg_engine.testing.crashes.fingerprint` is the state before the command (or the
  state after it, for a command that succeeded; for commands that commit in steps, a state
  in between that a re-run completes to exactly the clean run's result);
* no stray file is left beside the user's files (:func:`new_files`), and an output file that
  was at the target before the command is unchanged.

``benchmarks/io_faults.py`` runs every case at many limits; ``tests/testing/
test_iofaults.py`` a few.

Example (the refusal, in this process)::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "big.bin"
    >>> with file_size_limit(1000):
    ...     try:
    ...         _ = path.write_bytes(b"x" * 5000)
    ...     except OSError as exc:
    ...         print(exc.strerror)
    File too large
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

__all__ = [
    "EXPORTS",
    "KG",
    "SPACE_WORDS",
    "Case",
    "Data",
    "PeakSizes",
    "Reference",
    "TmpfsUnavailable",
    "Trial",
    "file_size_limit",
    "gnn_folder_problems",
    "judge",
    "judge_store",
    "limited",
    "limits_between",
    "message_problems",
    "new_files",
    "postgres_trial",
    "reference",
    "run_limited",
    "run_trial",
    "serve_trial",
    "standard_cases",
    "tmpfs",
    "tree_digest",
]

#: ``kg`` as a child process
KG = [sys.executable, "-m", "kg_engine"]
#: What a message about refused space says (one of these)
SPACE_WORDS = ("disk is full", "file size limit", "too large", "quota")
#: SQLite's own files beside a store: not strays (a log the failed checkpoint kept holds
#: committed data; the fingerprint judges what it holds)
SQLITE_SIDE_FILES = ("-wal", "-shm")


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes of this process past ``limit`` bytes of a file fail with ``EFBIG`` inside the
    block (the soft ``RLIMIT_FSIZE``; ``SIGXFSZ`` ignored), as they do for a user whose
    ``ulimit -f`` is that size."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)


def limited(limit: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child may not write files past
    ``limit`` bytes (``None``: no limit)."""
    if limit is None:
        return None

    def setup() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(
            resource.RLIMIT_FSIZE)[1]))

    return setup


def run_limited(command: Sequence[str], limit: int | None = None, *, cwd: str | Path | None = None,
                env: dict[str, str] | None = None, timeout: float = 600.0
                ) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with the file size limit ``limit``; its output captured as text."""
    return subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limited(limit), check=False)


class PeakSizes:
    """The largest size each file under ``folder`` reached while the block ran (polled: a
    file that lived less than ``poll`` seconds may be missed; SQLite's temporary files are
    unlinked at once and never seen)."""

    def __init__(self, folder: str | Path, poll: float = 0.003) -> None:
        self.folder, self.poll = Path(folder), poll
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _scan(self) -> None:
        for root, _dirs, files in os.walk(self.folder):
            for name in files:
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    size = os.stat(path).st_size
                    rel = os.path.relpath(path, self.folder)
                    if size > self.peaks.get(rel, -1):
                        self.peaks[rel] = size

    def __enter__(self) -> Self:
        self._scan()
        self.start = dict(self.peaks)

        def loop() -> None:
            while not self._stop.wait(self.poll):
                self._scan()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._scan()

    def grown(self) -> dict[str, tuple[int, int]]:
        """file -> (size before, peak) of the files that grew (new ones: size before 0)."""
        return {f: (self.start.get(f, 0), p) for f, p in self.peaks.items()
                if p > self.start.get(f, 0)}


def limits_between(grown: dict[str, tuple[int, int]], fractions: Sequence[float],
                   smallest: int = 65536) -> list[int]:
    """File size limits that make a write fail in each grown file of at least ``smallest``
    bytes (not SQLite's small ``-shm`` and ``-journal``): for each, the points ``fractions``
    of the way from its size before to its peak; and one just above every peak (only a file
    the watcher cannot see, a temporary one, can pass it). Sorted, unique.

    Example:
        >>> limits_between({"kg.sqlite": (1000, 300_000), "kg.sqlite-shm": (0, 32768)}, [0.5])
        [150500, 300001]
    """
    out = {int(start + f * (peak - start)) for start, peak in grown.values() if peak >= smallest
           for f in fractions}
    if grown:
        out.add(max(p for _, p in grown.values()) + 1)
    return sorted(x for x in out if x > 0)


def message_problems(code: int, stderr: str, names: Sequence[str] = ()) -> list[str]:
    """What is wrong with how a command reported a refused write: its exit ``code`` must be
    non-zero and not 1 (kg's "internal error"), its ``stderr`` hold no traceback, name the
    cause (:data:`SPACE_WORDS`) and one of ``names`` (the file or store) when given.

    Example:
        >>> message_problems(1, "error: internal error in kg export (OSError: ...)")
        ['exit 1 (internal error)', 'the cause is not named']
    """
    found = []
    if code == 0:
        return found
    if code == 1:
        found.append("exit 1 (internal error)")
    elif code < 0:
        found.append(f"killed by signal {-code}")
    if "Traceback (most recent call last)" in stderr:
        found.append("a traceback")
    low = stderr.lower()
    if not any(w in low for w in SPACE_WORDS):
        found.append("the cause is not named")
    if names and not any(n in stderr for n in names):
        found.append(f"names none of {list(names)}")
    return found


def new_files(folder: str | Path, before: set[str], allowed: Sequence[str] = ()) -> list[str]:
    """Files under ``folder`` that are not in ``before`` (relative paths), not SQLite's side
    files of a store and not in ``allowed``: what a failed command left behind."""
    out = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder)
            if rel in before or rel.endswith(SQLITE_SIDE_FILES) or any(
                    rel == a or rel.startswith(a + os.sep) for a in allowed):
                continue
            out.append(rel)
    return sorted(out)


def tree_digest(path: str | Path) -> str | None:
    """A digest of the file or folder at ``path`` (names and contents); ``None``: absent."""
    path = Path(path)
    if not path.exists():
        return None
    h = hashlib.sha256()
    for p in sorted([path] if path.is_file() else path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path.parent)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


class TmpfsUnavailable(RuntimeError):
    """A tmpfs cannot be mounted here (not root, or no permission: cases skip)."""


@contextlib.contextmanager
def tmpfs(folder: str | Path, size: int) -> Iterator[Path]:
    """Mount a ``size``-byte tmpfs at ``folder`` (created) for the block: writes past its
    space fail with ``ENOSPC``. Unmounted after, whatever happened.

    Raises:
        TmpfsUnavailable: not root, or the mount was refused.
    """
    folder = Path(folder)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        raise TmpfsUnavailable("mounting a tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise TmpfsUnavailable(f"mount -t tmpfs refused: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def judge_store(url: str, states: dict[str, Any], baseline: Sequence[str] = ()
                ) -> tuple[str, list[str]]:
    """(the name of the state in ``states`` — name -> fingerprint — that the store at ``url``
    is in, or ``"other"``; what is wrong with it beyond ``baseline``: does not open, the
    checks of ``kg check``). A missing file is the state ``"absent"``."""
    from kg_engine.store import open_store
    from kg_engine.store.database import Database, sqlite_path
    from kg_engine.testing.crashes import fingerprint, problems

    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        return "absent", []
    found: list[str] = []
    try:
        open_store(url).close()
    except Exception as exc:  # noqa: BLE001 - reported
        found.append(f"does not open: {type(exc).__name__}: {exc}")
        return "unreadable", found
    db = Database.connect(url)
    try:
        found += [p for p in problems(db) if p not in baseline]
        fp = fingerprint(db)
    finally:
        db.close()
    return next((name for name, state in states.items() if state == fp), "other"), found


@dataclass
class Case:
    """A command to refuse writes to. Its work folder holds the store ``kg.sqlite`` (the
    URL: :meth:`url`) and whatever ``setup`` put there.

    Args:
        name: the case's name.
        command: work folder -> the command line.
        setup: fills a fresh work folder once (copied for every trial).
        output: a file or folder (relative to the work folder) the command writes: after a
            failure it must be as before the command (absent, or the old one).
        steps: the command commits in steps: a state in between is fine if a re-run
            without the limit completes it to the clean run's result.
        check: work folder -> problems with what the command wrote besides the store (a GNN
            checkpoint folder that does not load): its files are judged by it, not as strays,
            and its re-run must succeed (the store is not its output).
        env: extra environment variables.
    """

    name: str
    command: Callable[[Path], list[str]]
    setup: Callable[[Path], None] | None = None
    output: str | None = None
    steps: bool = False
    check: Callable[[Path], list[str]] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def url(folder: Path) -> str:
        return f"sqlite:///{folder / 'kg.sqlite'}"


@dataclass
class Reference:
    """A case's clean run: the states before and after, what grew, how long it took."""

    before: Any
    after: Any
    baseline: list[str]
    grown: dict[str, tuple[int, int]]
    output: str | None
    seconds: float


@dataclass
class Trial:
    """One run of a case with a refused write, judged."""

    case: str
    limit: str  # "fsize=N" or "tmpfs=N"
    code: int
    message: str
    state: str
    problems: list[str]

    @property
    def failed(self) -> bool:
        return self.code != 0


def _env(case: Case) -> dict[str, str]:
    return {**os.environ, **case.env}


def _fingerprint(url: str) -> Any:
    from kg_engine.store.database import Database, sqlite_path
    from kg_engine.testing.crashes import fingerprint

    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        return None
    db = Database.connect(url)
    try:
        return fingerprint(db)
    finally:
        db.close()


def reference(case: Case, base: Path, work: Path) -> Reference:
    """Run ``case`` to the end without a limit in a copy of ``base`` (at ``work``)."""
    import time

    from kg_engine.store.database import Database
    from kg_engine.testing.crashes import problems

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    before = _fingerprint(case.url(work))
    started = time.monotonic()
    with PeakSizes(work) as watch:
        done = run_limited(case.command(work), cwd=work, env=_env(case))
    seconds = time.monotonic() - started
    if done.returncode:
        raise RuntimeError(f"{case.name}: the clean run failed: {done.stderr[-2000:]}")
    db = Database.connect(case.url(work))
    try:
        baseline = problems(db)
    finally:
        db.close()
    return Reference(before, _fingerprint(case.url(work)), baseline, watch.grown(),
                     tree_digest(work / case.output) if case.output else None, seconds)


def run_trial(case: Case, base: Path, ref: Reference, work: Path, *, limit: int | None = None,
              space: int | None = None) -> Trial:
    """Run ``case`` in a copy of ``base`` at ``work`` with the file size limit ``limit`` or
    (``space``, root only) on a tmpfs of that many bytes, and judge it against ``ref``."""
    shutil.rmtree(work, ignore_errors=True)
    if space is None:
        shutil.copytree(base, work)
        done = run_limited(case.command(work), limit, cwd=work, env=_env(case))
        what = f"fsize={limit}"
        left = new_files(work, _listing(base), [case.output] if case.output else [])
    else:
        mount = work.with_name(work.name + "-fs")
        with tmpfs(mount, space):
            shutil.copytree(base, mount, dirs_exist_ok=True)
            done = run_limited(case.command(mount), cwd=mount, env=_env(case))
            left = new_files(mount, _listing(base), [case.output] if case.output else [])
            shutil.copytree(mount, work)  # judged on disk: opening needs space
        mount.rmdir()
        what = f"tmpfs={space}"
    return judge(case, base, ref, work, done, what, left)


def _listing(folder: Path) -> set[str]:
    return {os.path.relpath(os.path.join(r, n), folder)
            for r, _d, files in os.walk(folder) for n in files}


def judge(case: Case, base: Path, ref: Reference, work: Path,
          done: subprocess.CompletedProcess[str], what: str, left: list[str]) -> Trial:
    """Judge a run of ``case`` whose files are at ``work`` (see the module docstring)."""
    url = case.url(work)
    message = " ".join(done.stderr.split())[-600:]
    found = message_problems(done.returncode, done.stderr,
                             [str(work.name), "kg.sqlite", *( [case.output] if case.output
                                                              else [])])
    found = [f"message: {p}" for p in found]
    # the store itself is judged by its state (a new one left empty is neither before nor
    # after; one holding committed steps, kg extract's documents, is the user's)
    found += [f"left {f}" for f in left if case.check is None and f != "kg.sqlite"]
    # a command that only reads (export) leaves the store as it was: before is after
    states = ({"after": ref.after, "before": ref.before} if done.returncode == 0 else
              {"before": ref.before, "after": ref.after})
    state, store = judge_store(url, states)
    if state == "absent" and ref.before is None:
        state = "before"
    found += [p for p in store if p not in ref.baseline]
    if done.returncode == 0 and state != "after" and case.check is None:
        found.append(f"exit 0 but the store is {state}, not the clean run's result")
    if done.returncode and state == "after" and ref.before != ref.after and not case.steps:
        found.append("an error was reported but the command's changes were committed")
    if case.output:
        digest = tree_digest(work / case.output)
        expect = ref.output if done.returncode == 0 else tree_digest(base / case.output)
        if digest != expect:
            found.append(f"{case.output} is " + ("half-written" if digest else "gone")
                         if done.returncode else f"{case.output} differs from the clean run's")
    if case.check is not None:
        found += case.check(work)
    if done.returncode and (state == "other" or case.steps or case.check is not None):
        again = run_limited(case.command(work), cwd=work, env=_env(case))
        if again.returncode:
            found.append(f"the re-run without a limit failed: {again.stderr.strip()[-300:]}")
        state2, store2 = judge_store(url, states)
        found += [p for p in store2 if p not in ref.baseline]
        if case.check is not None:
            found += [f"after the re-run: {p}" for p in case.check(work)]
        elif state2 != "after":
            found.append(f"the re-run left the store {state2}, not the clean run's result")
        if state == "other":
            state = "between" if case.steps and state2 == "after" else "other"
            if not case.steps:
                found.append("the store is neither as before nor as after the command")
        state += ", re-run → " + state2
    elif state not in ("before", "after"):
        found.append(f"the store is {state}")
    return Trial(case.name, what, done.returncode, message, state, found)


#: Export formats by output name (``csv`` is a folder)
EXPORTS = ("out.nt", "out.nq.gz", "out.ttl", "out.trig", "out.jsonld", "out.rdf", "out.graphml",
           "out.gexf", "out.pt", "csv", "out.html")


@dataclass
class Data:
    """The inputs of the cases: N-Triples files (one: a plain load; several, big enough:
    the parallel parser path), an ontology (reasoning), a corpus (``kg extract``), a query
    that picks a subgraph small enough for the HTML view."""

    nt: list[Path]
    ontology: Path
    corpus: Path | None = None
    html_query: str = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3000"


def _kg(*args: str) -> None:
    done = subprocess.run([*KG, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"kg {' '.join(args)}: {done.stderr.strip()}")


def _loaded(data: Data, *more: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        _kg("load", str(data.ontology), *map(str, data.nt), "--db", Case.url(folder))
        for step in more:
            _kg(*step.split("|"), "--db", Case.url(folder))
    return setup


def _api(call: str) -> Callable[[Path], list[str]]:
    """A KnowledgeGraph call in a child process: a KgEngineError is printed as ONE line with
    exit 2, anything else is a traceback (exit 1)."""
    script = ("import sys\nfrom kg_engine import KnowledgeGraph\nfrom kg_engine.errors import "
              "KgEngineError\nkg = KnowledgeGraph(sys.argv[1])\ntry:\n    " + call +
              "\nexcept KgEngineError as exc:\n    print('error:', exc, file=sys.stderr)\n"
              "    sys.exit(2)\nfinally:\n    kg.close()\n")
    return lambda folder: [sys.executable, "-c", script, Case.url(folder)]


def gnn_folder_problems(folder: Path) -> list[str]:
    """What is wrong with the checkpoint folder ``folder/gnn`` after a refused write: a
    stray file, a file that does not load."""
    import json

    from kg_engine.gnn.training import read_checkpoint

    out = []
    for path in sorted((folder / "gnn").glob("*")) if (folder / "gnn").is_dir() else []:
        try:
            if path.suffix == ".pt":
                read_checkpoint(path)
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.name != "config.cfg":
                out.append(f"stray file gnn/{path.name}")
        except Exception as exc:  # noqa: BLE001 - reported
            out.append(f"gnn/{path.name} does not load: {type(exc).__name__}: {exc}"[:300])
    return out


def standard_cases(data: Data) -> list[Case]:
    """Every write path, on SQLite: ``kg load`` (N-Triples, Turtle, N-Quads; several files:
    the parallel parsers), ``kg update``, ``kg reason`` (rdfs, owl-rl, ``--recompute``),
    ``kg vacuum``, ``kg extract``, ``kg export`` (every format, over an older file), ``kg gnn
    train``, and the API's load/add/update/reason/vacuum/export."""
    url = Case.url
    nt = data.nt[0]
    ttl, nq = nt.with_suffix(".ttl"), nt.with_suffix(".nq")
    if not ttl.exists():  # the same statements as Turtle, and as N-Quads in a named graph
        folder = nt.parent / "convert"
        folder.mkdir(exist_ok=True)
        _kg("load", str(nt), "--graph", "urn:g:data", "--db", url(folder))
        _kg("export", str(ttl), "--db", url(folder))
        _kg("export", str(nq), "--db", url(folder))
        shutil.rmtree(folder)
    onto = _loaded(Data([], data.ontology))
    big = ("DELETE { ?s ?p ?o } INSERT { ?s <urn:kg:moved> ?o } WHERE { ?s ?p ?o "
           "FILTER(isLiteral(?o)) }")
    cases = [
        Case("load-new", lambda f: [*KG, "load", str(nt), "--db", url(f)]),
        Case("load-nt", lambda f: [*KG, "load", *map(str, data.nt), "--db", url(f)], onto),
        Case("load-ttl", lambda f: [*KG, "load", str(ttl), "--db", url(f)], onto),
        Case("load-nq", lambda f: [*KG, "load", str(nq), "--db", url(f)], onto),
        Case("load-live", lambda f: [*KG, "load", str(nt), "--db", url(f)],
             _loaded(Data([], data.ontology), "reason|--rules|rdfs")),
        Case("update", lambda f: [*KG, "update", big, "--db", url(f)], _loaded(data)),
        Case("reason-rdfs", lambda f: [*KG, "reason", "--rules", "rdfs", "--db", url(f)],
             _loaded(data)),
        Case("reason-owl", lambda f: [*KG, "reason", "--rules", "owl-rl", "--db", url(f)],
             _loaded(data)),
        Case("reason-recompute", lambda f: [*KG, "reason", "--rules", "rdfs", "--recompute",
                                            "--db", url(f)],
             _loaded(data, "reason|--rules|rdfs")),
        Case("vacuum", lambda f: [*KG, "vacuum", "--db", url(f)],
             _loaded(data, "update|DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }"),
             steps=True),
        Case("gnn-train", lambda f: [*KG, "gnn", "train", "--model", "distmult", "--db", url(f),
                                     "-o", str(f / "gnn"), "--device", "cpu", "--threads", "1",
                                     "--set", "training.epochs=2", "--set", "model.dim=16",
                                     "--set", "training.eval_every=1"],
             _loaded(data), check=gnn_folder_problems),
        Case("api-load", _api(f"kg.load({str(nt)!r})"), onto),
        Case("api-add", _api("from rdflib import URIRef, Literal\n    kg.add([(URIRef(f'urn:s{i}'), "
                             "URIRef('urn:p'), Literal('x' * 200 + str(i))) for i in "
                             "range(20000)])"), onto),
        Case("api-update", _api(f"kg.update({big!r})"), _loaded(data)),
        Case("api-reason", _api("kg.reason('owl-rl')"), _loaded(data)),
        Case("api-vacuum", _api("kg.vacuum()"),
             _loaded(data, "update|DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }"), steps=True),
        Case("api-export", _api("kg.export('out.ttl')"), _old(_loaded(data), "out.ttl"),
             output="out.ttl"),
    ]
    if data.corpus is not None:
        corpus = data.corpus
        cases.append(Case("extract", lambda f: [*KG, "extract", str(corpus), "--db", url(f)],
                          steps=True))
    for name in EXPORTS:
        fmt = ["--format", "csv"] if name == "csv" else []
        pick = ["--query", data.html_query] if name == "out.html" else []
        cases.append(Case(f"export-{name.removeprefix('out.')}",
                          lambda f, n=name, x=fmt + pick: [*KG, "export", n, *x, "--db", url(f)],
                          _old(_loaded(data), name), output=name))
    return cases


def _old(setup: Callable[[Path], None], name: str) -> Callable[[Path], None]:
    """``setup``, then an older file (or folder) at the export's target ``name``."""
    def run(folder: Path) -> None:
        setup(folder)
        target = folder / name
        if name == "csv":
            target.mkdir()
            (target / "nodes.csv").write_text("old\n")
        else:
            target.write_bytes(b"an older export\n")
    return run


def serve_trial(base: Path, work: Path, limit: int, body: bytes) -> Trial:
    """``kg serve --update`` with the file size limit ``limit``: a Graph Store PUT of the
    N-Triples ``body`` and a SPARQL update adding as much must fail with HTTP 5xx and a
    message naming the cause; the server must keep answering; the store stays as before."""
    import socket
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    before = _fingerprint(Case.url(work))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([*KG, "serve", "--update", "--port", str(port), "--db",
                               Case.url(work)], stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=limited(limit))  # noqa: PLW1509 - setrlimit only
    found: list[str] = []
    messages = []
    try:
        deadline = time.monotonic() + 180
        while server.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        if server.poll() is not None:
            raise RuntimeError(f"kg serve ended (exit {server.returncode}): "
                               + (work / "serve.log").read_text(errors="replace")[-400:])
        root = f"http://127.0.0.1:{port}"
        update = "INSERT DATA { " + body.decode("utf-8").replace("\n", " ") + " }"
        requests = [
            ("PUT", f"{root}/store?graph=urn:g:put", body, "application/n-triples"),
            ("POST", f"{root}/update", update.encode("utf-8"), "application/sparql-update"),
        ]
        for method, address, data, kind in requests:
            req = urllib.request.Request(address, data=data, method=method,
                                         headers={"Content-Type": kind})
            try:
                with urllib.request.urlopen(req, timeout=300) as resp:
                    status, text = resp.status, resp.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read().decode("utf-8", "replace")
            messages.append(f"{method} {status}: {' '.join(text.split())[:300]}")
            if status < 300:  # the limit did not land: nothing to judge but the answers
                before = None
            elif status < 500:
                found.append(f"{method}: HTTP {status}, expected 5xx")
            if status >= 300 and not any(w in text.lower() for w in SPACE_WORDS):
                found.append(f"{method}: the cause is not named: {text[:200]!r}")
            ask = f"{root}/sparql?query={urllib.parse.quote('ASK { ?s ?p ?o }')}"
            with urllib.request.urlopen(ask, timeout=60) as resp:
                if resp.status != 200 or b"true" not in resp.read():
                    found.append(f"after the {method}, a query failed")
    except Exception as exc:  # noqa: BLE001 - reported
        found.append(f"{type(exc).__name__}: {exc}")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    state, store = judge_store(Case.url(work), {"before": before} if before else {})
    found += store
    if before is not None and state != "before":
        found.append(f"the store is {state}, not as before")
    return Trial("serve-update", f"fsize={limit}", 0, " | ".join(messages), state, found)


def postgres_trial(pg: Any, ontology: Path, data: Path, limit: int) -> Trial:
    """PostgreSQL: ``kg load data`` into a store holding ``ontology`` on the throwaway
    server ``pg`` (:class:`~kg_engine.testing.postgres.TemporaryPostgres`) restarted with the
    file size limit ``limit``: the client must exit 2 with one line (the server's "could not
    extend file", or, when the server process died of it, that the server cannot be
    reached), and with the server restarted without the limit the store is as before and
    clean."""
    url = pg.new_database_url()
    _kg("load", str(ontology), "--db", url)
    before = _fingerprint(url)
    pg.restart(limit)
    try:
        done = run_limited([*KG, "load", str(data), "--db", url])
    finally:
        pg.restart()
    message = " ".join(done.stderr.split())[-600:]
    found = [f"message: {p}" for p in message_problems(done.returncode, done.stderr)
             if not (p == "the cause is not named" and "cannot reach" in done.stderr)]
    if done.returncode == 0:
        found.append(f"exit 0 under a {limit:,}-byte limit: the limit did not land")
    state, store = judge_store(url, {"before": before})
    found += store
    if state != "before":
        found.append(f"the store is {state}, not as before")
    return Trial("pg-load", f"fsize={limit}", done.returncode, message, state, found)
