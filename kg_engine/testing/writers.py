"""Several processes writing one store at once: every write all-or-nothing, none lost.

:func:`run_seed` starts 2–4 *worker processes* on one store (a SQLite file, or a schema of a
PostgreSQL server), each applying a seeded sequence of writes after a random delay, then
judges what they left. A worker either keeps one :class:`~kg_engine.api.KnowledgeGraph` open
for all its writes (``api``: its caches live across the other workers' commits), runs each
write as a ``kg`` command (``cli``), or starts ``kg serve --update`` and sends it its SPARQL
updates over HTTP (``serve``; ``kg`` commands for the rest). The writes (:data:`KINDS`):

* ``load`` — a generated Turtle or N-Triples file (``kg load``, into the default graph or
  the worker's named graph); ``insert`` — ``INSERT DATA`` (``kg update``) or
  :meth:`~kg_engine.api.KnowledgeGraph.add`;
* ``delete`` — an earlier write's statements removed (``DELETE WHERE`` of its subject and
  ``DELETE DATA``, or :meth:`~kg_engine.api.KnowledgeGraph.remove`); ``tbox+`` / ``tbox-`` — a
  ``rdfs:subClassOf`` / ``rdfs:domain`` axiom over the shared classes added or deleted;
* ``incr`` — a counter shared by all workers incremented by ``DELETE/INSERT WHERE``;
* the store is empty at the start in some seeds (the first load takes the empty-store path);
* ``reason`` / ``reason-off`` — the live reasoning profile set (RDFS, sometimes OWL 2 RL,
  sometimes ``--recompute``) or ended; ``vacuum``; ``bind`` — a prefix bound (API);
* ``extract`` — a two-sentence text file through the default pipeline (``kg extract``).

Each worker's statements and axioms are its own (subjects, objects, axioms, prefixes and the
statements about a few shared individuals are dealt to one worker), so the workers' writes commute except the counter (whose result does not
depend on the order) and the reasoning profile (the last committed one wins). The judge:

* every write either succeeded (``kg``: exit 0) or failed with an error that names the
  contention (another writer holds the lock) and what to do, ``kg`` exiting non-zero, after
  waiting for the lock as long as a writer waits (``WRITE_WAIT``);
* the asserted statements of the store (every graph except the inferred ones) equal the
  *model*: the initial data with the effects of the successful writes applied in each
  worker's order (a failed write left nothing, a successful one all of its statements);
* the counter equals the initial value plus the successful increments;
* the reasoning profile is that of a profile write that may have committed last (none
  started after it ended), and when one is live its inferred graph equals the closure
  computed from scratch, in a fresh store, over the final asserted statements;
* each worker's prefixes are bound as its last successful ``bind`` left them;
* ``kg check`` finds nothing (term dictionary, derivations, statistics);
* every worker ends within its time limit (no write hangs).

``benchmarks/writers.py`` runs many seeds; ``tests/testing/test_writers.py`` a few.

Example (the plan only; a run takes seconds):
    >>> p = make_plan(3, workers=2, ops=4, kinds=("insert", "incr", "delete"))
    >>> [w["mode"] for w in p["workers"]]
    ['api', 'cli']
    >>> [op["kind"] for op in p["workers"][0]["ops"]]
    ['incr', 'incr', 'insert', 'incr']
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "Report", "judge", "make_plan", "run_plan", "run_seed"]

EX = "urn:wr:"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
DOMAIN = "http://www.w3.org/2000/01/rdf-schema#domain"
XSD_INT = "http://www.w3.org/2001/XMLSchema#integer"
INFERRED = "urn:kg-engine:inferred:"
CLASSES = 6
PROPERTIES = 4
#: Every kind of write; ``extract`` loads spaCy in each process that runs it (seconds).
KINDS = ("load", "insert", "delete", "tbox+", "tbox-", "incr", "reason", "reason-off",
         "vacuum", "bind", "extract")
_WEIGHTS = {"load": 4, "insert": 4, "delete": 3, "tbox+": 2, "tbox-": 1, "incr": 4,
            "reason": 2, "reason-off": 1, "vacuum": 1, "bind": 1, "extract": 1}
#: What an error caused by another writer says (the lock, and what to do).
CONTENTION = re.compile(r"locked by another (writer|process)", re.IGNORECASE)
FIX = re.compile(r"wait for the other process", re.IGNORECASE)
TEXTS = ("Ada Lovelace was born in London. She worked with Charles Babbage.",
         "Marie Curie worked in Paris. Pierre Curie was born in Paris.",
         "Alan Turing studied at Cambridge. He was born in London.")


def _iri(x: str) -> str:
    return f"<{x}>"


def _lit(text: str, lang: str | None = None, dt: str | None = None) -> str:
    body = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return body + (f"@{lang}" if lang else f"^^<{dt}>" if dt else "")


def _axioms() -> list[tuple[str, str, str]]:
    """Every TBox axiom a worker may write (dealt to the workers)."""
    out = [(_iri(f"{EX}C{a}"), _iri(SUBCLASS), _iri(f"{EX}C{b}"))
           for a in range(CLASSES) for b in range(CLASSES) if a != b]
    out += [(_iri(f"{EX}p{p}"), _iri(DOMAIN), _iri(f"{EX}C{c}"))
            for p in range(PROPERTIES) for c in range(CLASSES)]
    return out


#: The store before the workers start: the counter at 0 and one axiom of each kind.
INITIAL = [(_iri(f"{EX}counter"), _iri(f"{EX}value"), _lit("0", dt=XSD_INT), ""),
           (_iri(f"{EX}C0"), _iri(SUBCLASS), _iri(f"{EX}C1"), ""),
           (_iri(f"{EX}p0"), _iri(DOMAIN), _iri(f"{EX}C2"), "")]


# -- the plan -------------------------------------------------------------------------------
def make_plan(seed: int, *, workers: int = 3, ops: int = 8, kinds: tuple[str, ...] = KINDS,
              profile: str | None = None, max_delay: float = 1.0,
              modes: tuple[str, ...] = ("cli", "api")) -> dict[str, Any]:
    """The seeded plan of a run: each worker's mode, start delay and writes (JSON-able).

    Args:
        seed: the seed.
        workers: how many worker processes.
        ops: writes per worker.
        kinds: the kinds of write drawn from (:data:`KINDS`).
        profile: the reasoning profile set before the workers start (``None``: none).
        max_delay: the longest random delay before a worker's first write (seconds).
        modes: the worker modes dealt round-robin from a seeded start: ``cli`` (``kg``
            commands), ``api`` (one knowledge graph open throughout), ``serve`` (``kg serve
            --update`` receiving the SPARQL updates, ``kg`` commands for the rest).
    """
    rng = random.Random(seed)
    axioms = _axioms()
    rng.shuffle(axioms)
    first = rng.randrange(len(modes))
    # sometimes an empty store: the first load takes the empty-store path (indexes rebuilt;
    # PostgreSQL: TRUNCATE + COPY FREEZE with the primary key dropped meanwhile)
    empty = profile is None and rng.random() < 0.3
    plan: dict[str, Any] = {"seed": seed, "profile": profile, "empty": empty, "workers": []}
    weights = [_WEIGHTS[k] for k in kinds]
    for w in range(workers):
        mine = axioms[w::workers][:4]
        written: list[dict[str, Any]] = []  # writes whose statements are still there
        tbox: list[list[str]] = []  # axioms this worker added
        out = []
        for k in range(ops):
            kind = rng.choices(kinds, weights)[0]
            op: dict[str, Any] = {"kind": kind, "k": k}
            if kind in ("load", "insert"):
                graph = _iri(f"{EX}g{w}") if rng.random() < 0.25 else ""
                op["graph"] = graph
                op["format"] = rng.choice(("ttl", "nt")) if kind == "load" else None
                size = (400 if rng.random() < 0.2 else 12) if kind == "load" else 3
                op["quads"] = _statements(rng, w, workers, k, graph, size)
                written.append(op)
            elif kind == "delete":
                if not written:
                    op = {"kind": "incr", "k": k}
                else:
                    target = written.pop(rng.randrange(len(written)))
                    op.update(subject=target["quads"][0][0], graph=target["graph"],
                              quads=target["quads"])
            elif kind == "tbox+":
                axiom = list(mine[len(tbox) % len(mine)])
                tbox.append(axiom)
                op["axiom"] = axiom
            elif kind == "tbox-":
                if not tbox:
                    op = {"kind": "tbox+", "k": k, "axiom": list(mine[0])}
                    tbox.append(op["axiom"])
                else:
                    op["axiom"] = tbox.pop(rng.randrange(len(tbox)))
            elif kind == "reason":
                op["rules"] = "owl-rl" if rng.random() < 0.15 else "rdfs"
                op["recompute"] = rng.random() < 0.3
            elif kind == "bind":
                op["prefix"] = f"w{w}b{rng.randrange(2)}"
                op["namespace"] = f"{EX}w{w}:ns{k}/"
            elif kind == "extract":
                op["text"] = rng.choice(TEXTS)
            out.append(op)
        plan["workers"].append({"mode": modes[(first + w) % len(modes)],
                                "delay": round(rng.uniform(0, max_delay), 3), "ops": out})
    return plan


#: Individuals every worker writes statements about (each statement is one worker's own).
SHARED = 8


def _statements(rng: random.Random, w: int, workers: int, k: int, graph: str, n: int
                ) -> list[list[str]]:
    """``n`` statements of worker ``w``'s write ``k`` about one new subject (the first
    statement's subject) and its own objects, then sometimes a few of the worker's own
    statements about the shared individuals (a type, or a link between two of them: what
    another worker's statements or axioms may also entail)."""
    out = _own(rng, w, k, graph, n)
    for _ in range(rng.choice((0, 0, 1, 3))):
        while True:
            a, b, c = rng.randrange(SHARED), rng.randrange(SHARED), rng.randrange(PROPERTIES)
            if rng.random() < 0.5 and (a * CLASSES + c) % workers == w:
                out.append([_iri(f"{EX}x{a}"), _iri(RDF_TYPE), _iri(f"{EX}C{c}"), graph])
                break
            if (a * 64 + b * 8 + c) % workers == w:
                out.append([_iri(f"{EX}x{a}"), _iri(f"{EX}p{c}"), _iri(f"{EX}x{b}"), graph])
                break
    return out


def _own(rng: random.Random, w: int, k: int, graph: str, n: int) -> list[list[str]]:
    s = _iri(f"{EX}w{w}:s{k}")
    out = [[s, _iri(RDF_TYPE), _iri(f"{EX}C{rng.randrange(CLASSES)}"), graph]]
    for j in range(1, n):
        p = rng.randrange(PROPERTIES + 1)
        if p == PROPERTIES:
            o = _lit(f"w{w} k{k} j{j} \u00e9", lang="en")
            out.append([s, _iri(f"{EX}label"), o, graph])
        else:
            o = _iri(f"{EX}w{w}:o{k}_{j}") if rng.random() < 0.7 else _lit(str(j), dt=XSD_INT)
            out.append([s, _iri(f"{EX}p{p}"), o, graph])
    return out


def _data_block(quads: list[list[str]]) -> str:
    plain = " ".join(f"{s} {p} {o} ." for s, p, o, g in quads if not g)
    named: dict[str, list[str]] = {}
    for s, p, o, g in quads:
        if g:
            named.setdefault(g, []).append(f"{s} {p} {o} .")
    return plain + "".join(f" GRAPH {g} {{ {' '.join(v)} }}" for g, v in named.items())


#: The counter's increment (from 0 when the store is empty).
INCR = (f"PREFIX : <{EX}> DELETE {{ :counter :value ?v }} INSERT {{ :counter :value ?n }} "
        "WHERE { OPTIONAL { :counter :value ?v } BIND(COALESCE(?v, 0) + 1 AS ?n) }")


def _file(workdir: Path, w: int, op: dict[str, Any]) -> Path:
    """The input file of a ``load`` or ``extract`` write (written by :func:`run_plan`)."""
    ext = "txt" if op["kind"] == "extract" else op["format"]
    return workdir / f"w{w}_op{op['k']}.{ext}"


def _write_inputs(workdir: Path, plan: dict[str, Any]) -> None:
    for w, worker in enumerate(plan["workers"]):
        for op in worker["ops"]:
            if op["kind"] == "extract":
                _file(workdir, w, op).write_text(op["text"] + "\n", encoding="utf-8")
            elif op["kind"] == "load":
                lines = [f"{s} {p} {o} ." for s, p, o, _ in op["quads"]]
                if op["format"] == "ttl":  # a prefix of the worker's own (loads keep them)
                    lines.insert(0, f"@prefix w{w}: <{EX}w{w}:> .")
                _file(workdir, w, op).write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- the workers ----------------------------------------------------------------------------
def _cli(op: dict[str, Any], workdir: Path, w: int, url: str) -> list[str] | None:
    """The ``kg`` command of a write (``None``: the write has no command: ``bind``)."""
    kind = op["kind"]
    if kind == "load":
        graph = ["--graph", op["graph"][1:-1]] if op["graph"] else []
        return ["load", str(_file(workdir, w, op)), *graph, "--db", url]
    if kind == "extract":
        return ["extract", str(_file(workdir, w, op)), "--db", url]
    if kind == "reason":
        return ["reason", "--rules", op["rules"], *(["--recompute"] * op["recompute"]),
                "--db", url]
    if kind == "reason-off":
        return ["reason", "--off", "--db", url]
    if kind == "vacuum":
        return ["vacuum", "--db", url]
    text = _update(op)
    return None if text is None else ["update", text, "--db", url]


def _update(op: dict[str, Any]) -> str | None:
    """The SPARQL update of a write that has one."""
    kind = op["kind"]
    if kind == "insert":
        return f"INSERT DATA {{ {_data_block(op['quads'])} }}"
    if kind == "delete":  # the subject's statements, and those about shared individuals
        pattern = f"{op['subject']} ?p ?o"
        text = f"DELETE WHERE {{ GRAPH {op['graph']} {{ {pattern} }} }}" if op["graph"] \
            else f"DELETE WHERE {{ {pattern} }}"
        shared = [q for q in op["quads"] if q[0] != op["subject"]]
        return text + (f" ; DELETE DATA {{ {_data_block(shared)} }}" if shared else "")
    if kind in ("tbox+", "tbox-"):
        verb = "INSERT" if kind == "tbox+" else "DELETE"
        return f"{verb} DATA {{ {' '.join(op['axiom'])} . }}"
    if kind == "incr":
        return INCR
    return None


def _api(kg: Any, op: dict[str, Any], workdir: Path, w: int) -> Any:
    """Apply a write through the Python API of an open knowledge graph."""
    from rdflib import URIRef
    from rdflib.util import from_n3

    kind = op["kind"]
    if kind == "load":
        return kg.load(_file(workdir, w, op), graph=op["graph"][1:-1] or None)
    elif kind == "insert" and op["graph"]:
        return kg.add([tuple(from_n3(t) for t in q[:3]) for q in op["quads"]],
               graph=op["graph"][1:-1])
    elif kind == "delete" and not op["graph"] and all(q[0] == op["subject"]
                                                       for q in op["quads"]):
        from kg_engine.core.terms import DEFAULT_GRAPH

        return kg.remove((from_n3(op["subject"]), None, None), graph=DEFAULT_GRAPH)
    elif kind == "reason":
        return kg.reason(op["rules"], recompute=op["recompute"])
    elif kind == "reason-off":
        kg.reason_off()
    elif kind == "vacuum":
        return kg.vacuum()
    elif kind == "bind":
        kg.graph.bind(op["prefix"], URIRef(op["namespace"]), replace=True)
    elif kind == "extract":
        return kg.extract(str(_file(workdir, w, op)))
    else:
        return kg.update(_update(op))
    return None


def worker(workdir: str | Path, w: int, url: str) -> None:
    """Run worker ``w`` of the plan in ``workdir`` (its own process): wait its delay, apply its
    writes, append one JSON line per write to ``workdir/wW.jsonl`` (start, end, outcome)."""
    workdir = Path(workdir)
    plan = json.loads((workdir / "plan.json").read_text())
    me = plan["workers"][w]
    rng = random.Random(plan["seed"] * 100 + w)
    log = open(workdir / f"w{w}.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - whole run
    kg = server = None
    if me["mode"] == "api":
        from kg_engine.api import KnowledgeGraph

        kg = KnowledgeGraph(url)
    elif me["mode"] == "serve":
        server = _Server(url)
    time.sleep(me["delay"])
    for op in me["ops"]:
        t0 = time.monotonic()
        record: dict[str, Any] = {"k": op["k"], "kind": op["kind"], "t0": t0}
        command = _cli(op, workdir, w, url) if kg is None else None
        if server is not None and _update(op) is not None:
            record.update(server.update(_update(op)))
        elif command is not None:
            proc = subprocess.run([sys.executable, "-m", "kg_engine", *command], check=False,
                                  capture_output=True, text=True, env=_env())
            record.update(ok=proc.returncode == 0, rc=proc.returncode,
                          error=proc.stderr.strip()[-2000:] if proc.returncode else "",
                          result=proc.stdout.strip()[-300:])
        else:
            if kg is None:  # a write with no command in a cli worker: a short-lived API
                from kg_engine.api import KnowledgeGraph

                with KnowledgeGraph(url) as once:
                    record.update(_attempt(once, op, workdir, w))
            else:
                record.update(_attempt(kg, op, workdir, w))
        record["t1"] = time.monotonic()
        log.write(json.dumps(record) + "\n")
        log.flush()
        time.sleep(rng.uniform(0, 0.05))
    if kg is not None:
        kg.close()
    if server is not None:
        server.stop()
    log.close()


class _Server:
    """``kg serve --update`` on the store, started by a ``serve`` worker: its SPARQL
    updates go to the server over HTTP (the SPARQL 1.1 protocol), its other writes run as
    ``kg`` commands beside it."""

    def __init__(self, url: str) -> None:
        import socket

        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kg_engine", "serve", "--db", url, "--port", str(port),
             "--update"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=_env())
        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(timeout=120)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kg serve exited: {self.proc.communicate()[1][-2000:]}")
            try:
                self.client.get(self.base + "/sparql", params={"query": "ASK {}"})
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def update(self, text: str) -> dict[str, Any]:
        r = self.client.post(self.base + "/update", data={"update": text})
        ok = r.status_code < 300
        return {"ok": ok, "rc": r.status_code, "error": "" if ok else r.text[-2000:],
                "result": ""}

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _attempt(kg: Any, op: dict[str, Any], workdir: Path, w: int) -> dict[str, Any]:
    try:
        result = _api(kg, op, workdir, w)
    except Exception as exc:  # noqa: BLE001 - judged: contention or a finding
        return {"ok": False, "rc": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "rc": None, "error": "", "result": repr(result)[:300]}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env.setdefault("COLUMNS", "200")  # error messages on one line
    return env


@dataclass
class Report:
    """What a run found."""

    seed: int
    url: str
    outcomes: list[list[dict[str, Any]]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    contended: int = 0  # writes that failed for another writer's lock (allowed)
    seconds: float = 0.0

    @property
    def writes(self) -> int:
        return sum(len(o) for o in self.outcomes)

    @property
    def slowest(self) -> tuple[float, str]:
        """The longest write: (seconds, its kind)."""
        return max(((o["t1"] - o["t0"], o["kind"]) for w in self.outcomes for o in w),
                   default=(0.0, ""))


def run_plan(plan: dict[str, Any], url: str, workdir: str | Path, *,
             limit: float = 300.0) -> list[list[dict[str, Any]]]:
    """Set up the store at ``url``, run the workers of ``plan`` at once, return each
    worker's outcomes (a worker still running after ``limit`` seconds is killed: its
    missing writes are findings of :func:`judge`)."""
    from kg_engine.api import KnowledgeGraph

    workdir = Path(workdir)
    (workdir / "plan.json").write_text(json.dumps(plan))
    _write_inputs(workdir, plan)
    with KnowledgeGraph(url) as kg:
        if not plan.get("empty"):
            kg.update(f"INSERT DATA {{ {_data_block([list(q) for q in INITIAL])} }}")
        if plan["profile"]:
            kg.reason(plan["profile"])
    procs = []
    for w in range(len(plan["workers"])):
        (workdir / f"w{w}.jsonl").unlink(missing_ok=True)
        err = open(workdir / f"w{w}.err", "wb")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(
            [sys.executable, "-m", "kg_engine.testing.writers", "worker", str(workdir),
             str(w), url],
            stdout=err, stderr=subprocess.STDOUT, env=_env(), start_new_session=True), err))
    deadline = time.monotonic() + limit
    for proc, err in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        err.close()
    out = []
    for w in range(len(plan["workers"])):
        path = workdir / f"w{w}.jsonl"
        out.append([json.loads(line) for line in path.read_text().splitlines()]
                   if path.exists() else [])
    return out


# -- the judge ------------------------------------------------------------------------------
def _n3(term: Any) -> str:
    return term.n3()


def _asserted(kg: Any) -> set[tuple[str, str, str, str]]:
    """The store's statements outside inferred graphs, as (s, p, o, g) in N3 (g: '' for the
    default graph)."""
    from kg_engine.core.terms import DEFAULT_GRAPH

    out = set()
    for s, p, o, g in kg.store.triples((None, None, None), None):
        gs = "" if g == DEFAULT_GRAPH else _n3(g)
        if not str(g).startswith(INFERRED):
            out.add((_n3(s), _n3(p), _n3(o), gs))
    return out


def _inferred(kg: Any, graph: str) -> set[tuple[str, str, str]]:
    from rdflib import URIRef

    return {(_n3(s), _n3(p), _n3(o)) for s, p, o, _ in kg.store.triples(
        (None, None, None), URIRef(graph))}


def _model(plan: dict[str, Any], outcomes: list[list[dict[str, Any]]], workdir: Path
           ) -> tuple[set[tuple[str, str, str, str]], int, dict[str, str]]:
    """(asserted statements, counter, bindings of the workers' prefixes) after the successful
    writes, in each worker's order."""
    quads = set() if plan.get("empty") else {tuple(q) for q in INITIAL if "counter" not in q[0]}
    counter = 0
    prefixes: dict[str, str] = {}
    extracted: list[str] = []
    for w, worker in enumerate(plan["workers"]):
        done = {o["k"]: o["ok"] for o in outcomes[w]}
        for op in worker["ops"]:
            if not done.get(op["k"]):
                continue
            kind = op["kind"]
            if kind in ("load", "insert"):
                graph = op["graph"]
                quads |= {(s, p, o, graph) for s, p, o, _ in op["quads"]}
            elif kind == "delete":
                quads -= {tuple(q) for q in op["quads"]}
            elif kind == "tbox+":
                quads.add((*op["axiom"], ""))
            elif kind == "tbox-":
                quads.discard((*op["axiom"], ""))
            elif kind == "incr":
                counter += 1
            elif kind == "bind":
                prefixes[op["prefix"]] = op["namespace"]
            elif kind == "extract":
                extracted.append(str(_file(workdir, w, op)))
    if extracted:
        quads |= _extracted(extracted)
    return quads, counter, prefixes


def _extracted(paths: list[str]) -> set[tuple[str, str, str, str]]:
    """What ``kg extract`` writes for ``paths`` into an empty store."""
    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph("sqlite://") as kg:
        kg.extract(paths)
        return _asserted(kg)


def _closure(asserted: set[tuple[str, str, str, str]], rules: str) -> set[tuple[str, str, str]]:
    """The inferred graph of ``rules`` over ``asserted``, computed from scratch in a fresh
    in-memory store."""
    from rdflib.util import from_n3

    from kg_engine.api import KnowledgeGraph

    with KnowledgeGraph("sqlite://") as kg:
        by_graph: dict[str, list[tuple]] = {}
        for s, p, o, g in asserted:
            by_graph.setdefault(g, []).append((from_n3(s), from_n3(p), from_n3(o)))
        for g, triples in by_graph.items():
            kg.add(triples, graph=g[1:-1] if g else None)
        kg.reason(rules)
        return _inferred(kg, INFERRED + rules)


def _last_profiles(plan: dict[str, Any], outcomes: list[list[dict[str, Any]]]) -> set[str | None]:
    """The reasoning profiles the store may end with: those of the successful profile writes
    that may have committed last (no other one started after they ended)."""
    writes = [(o["t0"], o["t1"], op["rules"] if op["kind"] == "reason" else None)
              for w, worker in enumerate(plan["workers"]) for op, o in zip(
                  worker["ops"], outcomes[w]) if op["kind"] in ("reason", "reason-off")
              and o["ok"]]
    if not writes:
        return {plan["profile"]}
    return {r for t0, t1, r in writes if not any(u0 > t1 for u0, _, _ in writes)}


def _show(items: Any, n: int = 6) -> str:
    items = sorted(items)
    return ", ".join(" ".join(x) if isinstance(x, tuple) else str(x) for x in items[:n]) + (
        f" … ({len(items)} in all)" if len(items) > n else "")


def _compare(kg: Any, plan: dict[str, Any], outcomes: list[list[dict[str, Any]]],
             workdir: Path, findings: list[str]) -> None:
    """The store's statements, counter, profile, closure and prefixes against the model."""
    quads, counter, prefixes = _model(plan, outcomes, workdir)
    store = _asserted(kg)
    values = {q[2] for q in store if q[0] == _iri(f"{EX}counter")}
    store = {q for q in store if q[0] != _iri(f"{EX}counter")}
    initial = not plan.get("empty")
    if values != ({_lit(str(counter), dt=XSD_INT)} if counter or initial else set()):
        findings.append(f"counter: the store holds {sorted(values)}, {counter} successful "
                        f"increments ({'+0 initially' if initial else 'none initially'})")
    if store - quads:
        findings.append(f"statements no successful write made (half-applied failed "
                        f"writes?): {_show(store - quads)}")
    if quads - store:
        findings.append(f"statements of successful writes missing (lost writes?): "
                        f"{_show(quads - store)}")
    profile = kg.reasoning
    allowed = _last_profiles(plan, outcomes)
    if profile not in allowed:
        findings.append(f"reasoning profile {profile!r}: the last committed profile write "
                        f"set one of {sorted(map(str, allowed))}")
    if profile is not None:
        got = _inferred(kg, INFERRED + profile)
        want = _closure(store | {(_iri(f"{EX}counter"), _iri(f"{EX}value"), v, "")
                                 for v in values}, profile)
        if got != want:
            findings.append(f"inferred graph of the live {profile} profile differs from "
                            f"the closure computed from scratch: missing {_show(want - got)}"
                            f"; extra {_show(got - want)}")
    bound = {p: str(ns) for p, ns in kg.graph.namespaces()}
    for w in range(len(plan["workers"])):
        for p in (f"w{w}b0", f"w{w}b1"):
            if bound.get(p) != prefixes.get(p):
                findings.append(f"prefix {p}: bound to {bound.get(p)}, the last "
                                f"successful bind says {prefixes.get(p)}")


def judge(plan: dict[str, Any], outcomes: list[list[dict[str, Any]]], url: str,
          workdir: str | Path) -> tuple[list[str], int]:
    """(findings, writes failed by contention) of a run (see the module docstring)."""
    from kg_engine.api import KnowledgeGraph
    from kg_engine.store.check import problems
    from kg_engine.store.database import WRITE_WAIT

    workdir = Path(workdir)
    findings: list[str] = []
    contended = 0
    for w, worker in enumerate(plan["workers"]):
        done = outcomes[w]
        if len(done) < len(worker["ops"]):
            err = (workdir / f"w{w}.err").read_text(errors="replace")[-800:]
            findings.append(f"worker {w} ({worker['mode']}) finished {len(done)} of "
                            f"{len(worker['ops'])} writes (hung or died): {err}")
        for op, o in zip(worker["ops"], done):
            if o["ok"]:
                continue
            what = f"worker {w} ({worker['mode']}) write {op['k']} ({op['kind']})"
            if CONTENTION.search(o["error"]) and FIX.search(o["error"]):
                contended += 1
                if o["t1"] - o["t0"] < WRITE_WAIT:  # a writer waits that long for the lock
                    findings.append(f"{what} gave up waiting for the lock after "
                                    f"{o['t1'] - o['t0']:.1f} s: {o['error'][-300:]}")
            else:
                findings.append(f"{what} failed without naming contention and the fix: "
                                f"rc={o['rc']}: {o['error'][-600:]}")
            if o["rc"] == 0 or (worker["mode"] == "serve" and o["rc"] is not None
                                and o["rc"] < 400):
                findings.append(f"{what} failed but exited {o['rc']}")
    with KnowledgeGraph(url) as kg:
        try:
            _compare(kg, plan, outcomes, workdir, findings)
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read is a finding
            findings.append(f"reading the store failed: {type(exc).__name__}: {exc}")
        found = problems(kg.store.db)
        if found:
            findings.append(f"kg check: {'; '.join(map(str, found))}")
    return findings, contended


def run_seed(seed: int, url: str | None = None, *, workers: int = 3, ops: int = 8,
             kinds: tuple[str, ...] = KINDS, profile: str | None = "auto",
             modes: tuple[str, ...] = ("cli", "api"), limit: float = 300.0,
             workdir: str | Path | None = None) -> Report:
    """Plan, run and judge one seed on the store at ``url`` (default: a new SQLite file in
    ``workdir``, itself a new temporary folder by default). ``profile="auto"``: a seeded
    choice of no profile or live RDFS before the workers start."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="kg-writers-"))
    url = url or f"sqlite:///{workdir / 'store.sqlite'}"
    if profile == "auto":
        profile = random.Random(seed).choice((None, "rdfs"))
    plan = make_plan(seed, workers=workers, ops=ops, kinds=kinds, profile=profile, modes=modes)
    t0 = time.monotonic()
    outcomes = run_plan(plan, url, workdir, limit=limit)
    findings, contended = judge(plan, outcomes, url, workdir)
    return Report(seed, url, outcomes, findings, contended, time.monotonic() - t0)


def _main(argv: list[str]) -> None:
    """``python -m kg_engine.testing.writers SEED [URL]``: run one seed, print the report;
    ``… judge WORKDIR URL``: judge again the run left in ``WORKDIR``; ``… worker WORKDIR W
    URL``: run worker ``W`` (what :func:`run_plan` starts)."""
    if argv[0] == "worker":
        worker(argv[1], int(argv[2]), argv[3])
        return
    if argv[0] == "judge":
        workdir = Path(argv[1])
        plan = json.loads((workdir / "plan.json").read_text())
        outcomes = [[json.loads(line) for line in (workdir / f"w{w}.jsonl").read_text(
        ).splitlines()] for w in range(len(plan["workers"]))]
        print(json.dumps(judge(plan, outcomes, argv[2], workdir), indent=1))
        return
    seed = int(argv[0])
    report = run_seed(seed, argv[1] if len(argv) > 1 else None)
    print(json.dumps({"seed": seed, "url": report.url, "writes": report.writes, "contended": report.contended,
                      "findings": report.findings, "seconds": round(report.seconds, 1)},
                     indent=1))


if __name__ == "__main__":
    _main(sys.argv[1:])
