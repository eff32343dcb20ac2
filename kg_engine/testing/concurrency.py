"""Readers beside a writer: every answer must be the answer of some committed state.

A writer applies a seeded sequence of transactions to a store whose content obeys
invariants, and readers query it all the while. The model of the store is known after each
transaction, so every reader's answer is checked against the states committed between the
read's start and end (not merely against the invariants): a read that sees half a
transaction, a stale or a mixed state, or fails, is counted.

The store (prefix ``urn:cc:``): ``accounts`` accounts with a balance and an index (the sum of
the balances is constant; a weighted sum tells the states apart), one ``token`` statement that
moves between places (a delete + insert pair), a named graph ``g`` replaced as a whole
(every statement carries the graph's version), and members typed ``Sub`` under the RDFS
profile with ``Sub rdfs:subClassOf Super`` (each inferred ``Super`` type must be there exactly
when its ``Sub`` type is).

Transactions: ``transfer`` (DELETE/INSERT WHERE), ``move`` (DELETE DATA + INSERT DATA),
``replace`` (the named graph: Graph Store PUT over HTTP, DROP + INSERT DATA elsewhere),
``member+`` / ``member-`` (inferences kept by the live profile), ``reason`` (``kg reason
--rules rdfs --recompute``) and ``vacuum``.

Readers alternate between :data:`QUERY` (one SQL statement) and :data:`FALLBACK_QUERY` (the
same question answered by rdflib's evaluator over many statements).

Paths (how readers and the writer reach the store):

* ``api-shared``: threads of one process sharing one :class:`~kg_engine.api.KnowledgeGraph`;
* ``api-own``: threads of one process, one knowledge graph each;
* ``process``: readers run ``kg query --format json`` as subprocesses (``kg reason``/``kg
  vacuum`` as subprocesses too);
* ``serve``: ``kg serve --update`` in a subprocess, readers and the writer its HTTP clients.

Example:
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> r = run_path("api-own", "sqlite:///" + os.path.join(d, "cc.sqlite"), seed=1,
    ...              transactions=6, readers=2)
    >>> r.inconsistent, r.reads > 0
    (0, True)
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PATHS", "Report", "Schedule", "run_path"]

PATHS = ("api-shared", "api-own", "process", "serve")
EX = "urn:cc:"
START_BALANCE = 100
GRAPH_SIZE = 6

QUERY = f"""PREFIX ex: <{EX}>
SELECT ?sum ?w ?nb ?tok ?at ?gn ?vmin ?vmax ?sub ?sup WHERE {{
  {{ SELECT (SUM(?b) AS ?sum) (SUM(?b * ?i) AS ?w) (COUNT(?b) AS ?nb)
     WHERE {{ ?a ex:balance ?b ; ex:idx ?i }} }}
  {{ SELECT (COUNT(?t) AS ?tok) (MIN(STR(?t)) AS ?at) WHERE {{ ex:token ex:at ?t }} }}
  {{ SELECT (COUNT(?v) AS ?gn) (MIN(?v) AS ?vmin) (MAX(?v) AS ?vmax)
     WHERE {{ GRAPH ex:g {{ ?s ex:v ?v }} }} }}
  {{ SELECT (COUNT(?m) AS ?sub) WHERE {{ ?m a ex:Sub }} }}
  {{ SELECT (COUNT(?m) AS ?sup) WHERE {{ ?m a ex:Super }} }}
}}"""
#: the same question evaluated outside SQL (``UUID()`` is not compiled): rdflib's evaluator
#: reads the store in many statements, which must all see one committed state
FALLBACK_QUERY = QUERY.rstrip()[:-1] + "  BIND(UUID() AS ?u)\n}"
VARS = ("sum", "w", "nb", "tok", "at", "gn", "vmin", "vmax", "sub", "sup")


@dataclass
class State:
    """The model of the store after a transaction."""

    balances: list[int]
    token: int
    version: int
    members: frozenset[int]

    def answer(self) -> tuple:
        """What :data:`QUERY` returns in this state."""
        return (sum(self.balances), sum(b * i for i, b in enumerate(self.balances)),
                len(self.balances), 1, f"{EX}p{self.token}", GRAPH_SIZE, self.version,
                self.version, len(self.members), len(self.members))


@dataclass
class Step:
    """One transaction: its kind, the SPARQL Update (or graph body) and the state after it."""

    kind: str
    update: str
    after: State
    graph_body: str = ""


@dataclass
class Schedule:
    """The initial data and a seeded sequence of transactions with the states they lead to."""

    seed: int
    accounts: int = 6
    transactions: int = 40
    kinds: tuple[str, ...] = ("transfer", "move", "replace", "member+", "member-", "reason",
                              "vacuum")
    initial: State = field(init=False)
    steps: list[Step] = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        state = State([START_BALANCE] * self.accounts, 0, 0, frozenset(range(3)))
        self.initial = state
        self.steps = []
        next_member = 3
        weights = [4 if k == "transfer" else 1 for k in self.kinds]
        for _ in range(self.transactions):
            kind = rng.choices(self.kinds, weights)[0]
            if kind == "transfer":
                a, b = rng.sample(range(self.accounts), 2)
                k = rng.randint(1, 30)
                bal = list(state.balances)
                bal[a] -= k
                bal[b] += k
                state = State(bal, state.token, state.version, state.members)
                text = (f"PREFIX ex: <{EX}>\nDELETE {{ ex:a{a} ex:balance ?x . ex:a{b} ex:balance ?y }}\n"
                        f"INSERT {{ ex:a{a} ex:balance ?x2 . ex:a{b} ex:balance ?y2 }}\n"
                        f"WHERE {{ ex:a{a} ex:balance ?x . ex:a{b} ex:balance ?y "
                        f"BIND(?x - {k} AS ?x2) BIND(?y + {k} AS ?y2) }}")
                self.steps.append(Step(kind, text, state))
            elif kind == "move":
                to = rng.choice([p for p in range(5) if p != state.token])
                text = (f"PREFIX ex: <{EX}>\nDELETE DATA {{ ex:token ex:at ex:p{state.token} }} ;\n"
                        f"INSERT DATA {{ ex:token ex:at ex:p{to} }}")
                state = State(state.balances, to, state.version, state.members)
                self.steps.append(Step(kind, text, state))
            elif kind == "replace":
                state = State(state.balances, state.token, state.version + 1, state.members)
                body = graph_body(state.version)
                text = (f"DROP SILENT GRAPH <{EX}g> ;\n"
                        f"INSERT DATA {{ GRAPH <{EX}g> {{ {body} }} }}")
                self.steps.append(Step(kind, text, state, body))
            elif kind == "member+":
                m = next_member
                next_member += 1
                state = State(state.balances, state.token, state.version, state.members | {m})
                self.steps.append(Step(kind, f"INSERT DATA {{ <{EX}m{m}> a <{EX}Sub> }}", state))
            elif kind == "member-" and state.members:
                m = rng.choice(sorted(state.members))
                state = State(state.balances, state.token, state.version, state.members - {m})
                self.steps.append(Step(kind, f"DELETE DATA {{ <{EX}m{m}> a <{EX}Sub> }}", state))
            elif kind in ("reason", "vacuum"):
                self.steps.append(Step(kind, "", state))

    def initial_turtle(self) -> str:
        """The data before the first transaction (N-Quads-free: Turtle + TriG-free update)."""
        s = self.initial
        lines = [f"<{EX}a{i}> <{EX}balance> {b} ; <{EX}idx> {i} ." for i, b in enumerate(s.balances)]
        lines.append(f"<{EX}token> <{EX}at> <{EX}p{s.token}> .")
        lines.append(f"<{EX}Sub> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{EX}Super> .")
        lines += [f"<{EX}m{m}> a <{EX}Sub> ." for m in sorted(s.members)]
        return "\n".join(lines)

    def setup_update(self) -> str:
        """One update writing the initial data (the named graph included)."""
        return (f"INSERT DATA {{ {self.initial_turtle()} GRAPH <{EX}g> "
                f"{{ {graph_body(self.initial.version)} }} }}")

    def states(self) -> list[State]:
        """State ``i``: after ``i`` transactions."""
        return [self.initial] + [s.after for s in self.steps]


def graph_body(version: int) -> str:
    """The named graph's statements at ``version``."""
    return " ".join(f"<{EX}s{i}> <{EX}v> {version} ." for i in range(GRAPH_SIZE))


def normalise(values: Any) -> tuple:
    """An answer row as comparable values (numbers as ``int``, missing as ``None``)."""
    out = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        text = str(v)
        try:
            out.append(int(text))
        except ValueError:
            try:
                f = float(text)
                out.append(int(f) if f.is_integer() else f)
            except ValueError:
                out.append(text)
    return tuple(out)


def rows_from_json(text: str) -> list[tuple]:
    """Rows of a SPARQL JSON result, normalised."""
    doc = json.loads(text)
    return [normalise(b.get(v, {}).get("value") for v in VARS) for b in doc["results"]["bindings"]]


@dataclass
class Report:
    """What one run saw."""

    path: str
    backend: str
    seed: int
    reads: int = 0
    inconsistent: int = 0
    errors: int = 0
    writer_errors: int = 0
    transactions: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        if len(self.samples) < 8:
            self.samples.append(what)

    def line(self) -> str:
        return (f"{self.path:10} {self.backend:10} seed {self.seed}: {self.transactions} "
                f"transactions, {self.reads} reads checked, {self.inconsistent} inconsistent, "
                f"{self.errors} reader errors, {self.writer_errors} writer errors")


class _Clock:
    """The number of transactions known committed (the writer bumps it after each)."""

    def __init__(self) -> None:
        self.committed = 0
        self.done = threading.Event()


def _kg_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kg_engine", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, schedule: Schedule) -> None:
    """Write the initial data and make RDFS the store's reasoning profile."""
    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph(url) as kg:
        kg.update(schedule.setup_update())
        kg.reason("rdfs")


def run_path(path: str, url: str, *, seed: int = 0, transactions: int = 40, readers: int = 3,
             accounts: int = 6, pause: float = 0.0, min_reads: int = 0,
             kinds: tuple[str, ...] | None = None) -> Report:
    """Run one schedule on a fresh store at ``url`` with readers on ``path``.

    Args:
        path: one of :data:`PATHS`.
        url: an empty store (SQLite file or PostgreSQL schema).
        seed: the schedule's seed (and the readers' choices).
        transactions: how many transactions the writer applies.
        readers: reader threads (each a client, a subprocess launcher or a thread).
        pause: seconds the writer waits between transactions.
        min_reads: the writer keeps repeating its last no-op until this many reads were
            checked (so a fast writer still meets readers).
        kinds: transaction kinds to draw from (default: all).

    Returns:
        The :class:`Report` (reads checked, inconsistent, errors, samples of what was wrong).
    """
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}: one of {', '.join(PATHS)}")
    sched = Schedule(seed, accounts=accounts, transactions=transactions,
                     **({"kinds": kinds} if kinds else {}))
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    report = Report(path, backend, seed)
    prepare(url, sched)
    answers = [s.answer() for s in sched.states()]
    clock = _Clock()
    lock = threading.Lock()

    def check(rows: list[tuple] | None, start: int, error: str | None = None) -> None:
        end = clock.committed
        with lock:
            report.reads += 1
            if error is not None:
                report.errors += 1
                report.note(f"error (states {start}-{end}): {error}")
                return
            window = answers[start:min(end + 2, len(answers))]
            if not rows or len(rows) != 1 or rows[0] not in window:
                report.inconsistent += 1
                got = rows[0] if rows and len(rows) == 1 else rows
                near = answers[start:end + 2]
                report.note(f"states {start}-{end}: got {got}, committed answers {near[:3]}")

    server: subprocess.Popen | None = None
    base = ""
    try:
        if path == "serve":
            server, base = _start_server(url)
        reader, writer_ops, close = _clients(path, url, base)
        stop = threading.Event()

        def read_loop(n: int) -> None:
            local = reader()
            k = n
            try:
                while not stop.is_set():
                    start = clock.committed
                    k += 1
                    try:
                        rows = local(QUERY if k % 2 else FALLBACK_QUERY)
                    except Exception as exc:  # noqa: BLE001 - every failure is a finding
                        check(None, start, f"{type(exc).__name__}: {exc}"[:400])
                    else:
                        check(rows, start)
            finally:
                close(local)

        threads = [threading.Thread(target=read_loop, args=(i,), daemon=True)
                   for i in range(readers)]
        for t in threads:
            t.start()
        write = writer_ops()
        try:
            for i, step in enumerate(sched.steps):
                try:
                    write(step)
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        report.writer_errors += 1
                        report.note(f"writer error at transaction {i + 1} ({step.kind}): "
                                    f"{type(exc).__name__}: {exc}"[:400])
                    break
                clock.committed = i + 1
                report.transactions = i + 1
                if pause:
                    time.sleep(pause)
            deadline = time.monotonic() + 120
            while report.reads < min_reads and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=180)
            close(write)
    finally:
        if server is not None:
            server.terminate()
            try:
                err = server.communicate(timeout=30)[1]
            except subprocess.TimeoutExpired:
                server.kill()
                err = server.communicate()[1]
            for line in (err or "").splitlines():
                if "Traceback" in line or "Error" in line:
                    report.errors += 1
                    report.note(f"server log: {line.strip()[:300]}")
    return report


def _start_server(url: str) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    proc = subprocess.Popen(_kg_command("serve", "--db", url, "--port", str(port), "--update"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_env())
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kg serve exited: {proc.communicate()[1][-2000:]}")
        try:
            httpx.get(base + "/sparql", params={"query": "ASK {}"}, timeout=5)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("kg serve did not start in 120 s")


def _clients(path: str, url: str, base: str) -> tuple[Callable, Callable, Callable]:
    """(make a reader, make the writer, close either) for ``path``."""
    from kg_engine.api import KnowledgeGraph

    def api_rows(kg: Any) -> Callable[[str], list[tuple]]:
        def run(text: str) -> list[tuple]:
            return [normalise(row[v] for v in VARS) for row in kg.query(text)]
        run.kg = kg  # type: ignore[attr-defined]
        return run

    def close_any(obj: Any) -> None:
        kg = getattr(obj, "kg", None)
        if kg is not None and kg is not shared.get("kg"):
            kg.close()
        client = getattr(obj, "client", None)
        if client is not None:
            client.close()

    shared: dict[str, Any] = {}

    def cli(*args: str) -> None:
        done = subprocess.run(_kg_command(*args, "--db", url), capture_output=True, text=True, check=False,
                              env=_env(), timeout=600)
        if done.returncode:
            raise RuntimeError(f"kg {' '.join(args)} exited {done.returncode}: "
                               f"{(done.stderr or done.stdout)[-600:]}")

    def api_writer(kg: Any, out_of_process: bool) -> Callable[[Step], None]:
        def write(step: Step) -> None:
            if step.kind == "reason":
                if out_of_process:
                    cli("reason", "--rules", "rdfs", "--recompute")
                else:
                    kg.reason("rdfs", recompute=True)
            elif step.kind == "vacuum":
                if out_of_process:
                    cli("vacuum")
                else:
                    kg.vacuum()
            else:
                kg.update(step.update)
        write.kg = kg  # type: ignore[attr-defined]
        return write

    if path == "api-shared":
        shared["kg"] = KnowledgeGraph(url)

        def close_shared(obj: Any) -> None:
            if getattr(obj, "is_writer", False):
                shared["kg"].close()

        def shared_writer() -> Callable[[Step], None]:
            w = api_writer(shared["kg"], False)
            w.is_writer = True  # type: ignore[attr-defined]
            return w
        return (lambda: api_rows(shared["kg"])), shared_writer, close_shared
    if path == "api-own":
        return (lambda: api_rows(KnowledgeGraph(url))), \
            (lambda: api_writer(KnowledgeGraph(url), False)), close_any
    if path == "process":
        def process_reader() -> Callable[[str], list[tuple]]:
            def run(text: str) -> list[tuple]:
                done = subprocess.run(_kg_command("query", "--db", url, "--format", "json", text),
                                      capture_output=True, text=True, env=_env(), timeout=600,
                                      check=False)
                if done.returncode:
                    raise RuntimeError(f"kg query exited {done.returncode}: "
                                       f"{(done.stderr or done.stdout)[-600:]}")
                return rows_from_json(done.stdout)
            return run
        return process_reader, (lambda: api_writer(KnowledgeGraph(url), True)), close_any

    import httpx

    def http_reader() -> Callable[[str], list[tuple]]:
        client = httpx.Client(timeout=120)

        def run(text: str) -> list[tuple]:
            r = client.post(base + "/sparql", data={"query": text},
                            headers={"Accept": "application/sparql-results+json"})
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.text[:400]}")
            return rows_from_json(r.text)
        run.client = client  # type: ignore[attr-defined]
        return run

    def http_writer() -> Callable[[Step], None]:
        client = httpx.Client(timeout=600)

        def write(step: Step) -> None:
            if step.kind == "reason":
                cli("reason", "--rules", "rdfs", "--recompute")
                return
            if step.kind == "vacuum":
                cli("vacuum")
                return
            if step.kind == "replace":
                r = client.put(base + "/store", params={"graph": f"{EX}g"},
                               content=step.graph_body.encode(),
                               headers={"Content-Type": "text/turtle"})
            else:
                r = client.post(base + "/update", data={"update": step.update})
            if r.status_code >= 300:
                raise RuntimeError(f"HTTP {r.status_code}: {r.text[:400]}")
        write.client = client  # type: ignore[attr-defined]
        return write
    return http_reader, http_writer, close_any
