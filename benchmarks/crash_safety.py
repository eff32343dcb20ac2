"""Crash safety: SIGKILL ``kg`` write commands at random moments, then judge the store.

For each scenario a base store is built once; the command runs once to the end on a copy
(its wall time T and the state it leaves: "after"), then N times on fresh copies, each
killed (SIGKILL, the whole process group) at a moment drawn uniformly from [0, 1.1·T]
(T: the fastest run so far, a trial that finished included).
After each kill the store must open, pass :func:`kg_engine.testing.crashes.problems`
(``PRAGMA integrity_check``, no term id missing from the dictionary, statistics and graphs
consistent with the statements, no derivation of a missing statement) and be exactly the
"before" or the "after" state (:func:`~kg_engine.testing.crashes.fingerprint`: every table,
ids decoded). Commands that commit in steps (``kg extract``: one transaction per document;
``kg vacuum``: statistics, terms, then ``VACUUM``) may leave a state in between: it must be
consistent, and re-running the command must then give exactly the "after" state
(resumability).

Scenarios (SQLite unless named ``pg-``; PostgreSQL ones run on a throwaway server):

* ``load-new`` LUBM(1) into a missing file; ``load`` into a store holding the ontology;
  ``load-live`` the same under an RDFS reasoning profile (closure kept current per batch);
* ``update`` a large ``DELETE/INSERT … WHERE``; ``update-live`` a large ``DELETE WHERE``
  under an RDFS profile (DRed);
* ``reason-rdfs``, ``reason-owl`` materialisation; ``vacuum`` after a large delete;
  ``upgrade`` the in-place schema 1 → 2 upgrade (20,000 upper-case language tags);
* ``extract`` 40 paragraphs, resumed after the kill (``extract-mid``: killed once k of the
  40 documents are committed, k random); ``analyze`` PageRank write-back;
* ``gsp-put`` a 100k-statement Graph Store PUT to ``kg serve --update``, the server killed;
* ``pg-load-new`` (an empty store: ``COPY … FREEZE`` straight into ``kg_quads``, its
  primary key dropped meanwhile), ``pg-load``, ``pg-update``, ``pg-reason``: the client
  killed mid-transaction.

Usage::

    nice -n 10 python benchmarks/crash_safety.py --runs 20            # every scenario
    python benchmarks/crash_safety.py --runs 5 --only load update --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
LUBM1 = SHARED / "lubm" / "lubm1.nt.gz"
ONTOLOGY = SHARED / "lubm" / "univ-bench.ttl"
CORPUS = SHARED / "corpus" / "wikitext2_test" / "paragraphs.jsonl"
UB = "http://swat.cse.lehigh.edu/onto/univ-bench.owl#"
KG = [sys.executable, "-m", "kg_engine"]


def kg(*args: str, env: dict | None = None) -> None:
    subprocess.run([*KG, *args], check=True, capture_output=True, env=env)


@dataclass
class Scenario:
    name: str
    setup: Callable[[str], None]  # fills the base store at the URL
    command: Callable[[str], list[str]]  # the command to kill, for a store URL
    steps: bool = False  # commits in steps: states in between are allowed if a rerun finishes
    postgres: bool = False
    #: (url, rng) -> the kill moment as a marker, instead of a random time
    marker: Callable[[str, random.Random], Callable[[], bool]] | None = None


def _upper_tags(url: str) -> None:
    """A schema-1 store (see tests/store/test_migrate.py) with 20,000 upper-case tags."""
    from kg_engine.store import open_store
    from kg_engine.testing.crashes import as_schema_1_with_upper_case_tags

    kg("load", str(ONTOLOGY), "--db", url)
    store = open_store(url)
    as_schema_1_with_upper_case_tags(store, 20_000, UB + "label", "urn:x:")
    store.refresh_stats()
    store.close()


def _empty_store(url: str) -> None:
    from kg_engine.store import open_store

    open_store(url).close()


def _documents_done(url: str, rng: random.Random) -> Callable[[], bool]:
    """A marker: k of the 40 documents are committed (k drawn from 1..39)."""
    import sqlite3

    k = rng.randint(1, 39)

    def marker() -> bool:
        try:
            conn = sqlite3.connect(f"file:{_file(url)}?mode=ro", uri=True, timeout=0.1)
            try:
                return conn.execute("SELECT count(*) FROM kg_extraction_documents"
                                    ).fetchone()[0] >= k
            finally:
                conn.close()
        except sqlite3.Error:
            return False

    return marker


def _reasoned(rules: str) -> Callable[[str], None]:
    def setup(url: str) -> None:
        kg("load", str(ONTOLOGY), str(LUBM1), "--db", url)
        kg("reason", "--rules", rules, "--db", url)
    return setup


def _deleted(url: str) -> None:
    kg("load", str(ONTOLOGY), str(LUBM1), "--db", url)
    kg("update", f"DELETE WHERE {{ ?s <{UB}name> ?o }}", "--db", url)


def _corpus(workdir: Path) -> Path:
    path = workdir / "paragraphs40.jsonl"
    if not path.exists():
        with open(CORPUS, encoding="utf-8") as f:
            path.write_text("".join(next(f) for _ in range(40)), encoding="utf-8")
    return path


def scenarios(workdir: Path) -> list[Scenario]:
    big_update = (f"DELETE {{ ?s <{UB}emailAddress> ?o }} INSERT {{ ?s <urn:kg:mail> ?o }} "
                  f"WHERE {{ ?s <{UB}emailAddress> ?o }}")
    live_delete = f"DELETE WHERE {{ ?s <{UB}takesCourse> ?c }}"
    return [
        Scenario("load-new", lambda url: None, lambda url: [*KG, "load", str(LUBM1), "--db", url]),
        Scenario("load", lambda url: kg("load", str(ONTOLOGY), "--db", url),
                 lambda url: [*KG, "load", str(LUBM1), "--db", url]),
        Scenario("load-live", lambda url: (kg("load", str(ONTOLOGY), "--db", url),
                                           kg("reason", "--rules", "rdfs", "--db", url)),
                 lambda url: [*KG, "load", str(LUBM1), "--db", url]),
        Scenario("update", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "update", big_update, "--db", url]),
        Scenario("update-live", _reasoned("rdfs"),
                 lambda url: [*KG, "update", live_delete, "--db", url]),
        Scenario("reason-rdfs", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "reason", "--rules", "rdfs", "--db", url]),
        Scenario("reason-owl", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "reason", "--rules", "owl-rl", "--db", url]),
        Scenario("vacuum", _deleted, lambda url: [*KG, "vacuum", "--db", url], steps=True),
        Scenario("upgrade", _upper_tags, lambda url: [*KG, "reason", "--off", "--db", url]),
        Scenario("extract", lambda url: None,
                 lambda url: [*KG, "extract", str(_corpus(workdir)), "--db", url], steps=True),
        Scenario("extract-mid", lambda url: None,
                 lambda url: [*KG, "extract", str(_corpus(workdir)), "--db", url], steps=True,
                 marker=_documents_done),
        Scenario("analyze", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "analyze", "pagerank", "--db", url]),
        Scenario("pg-load-new", _empty_store,
                 lambda url: [*KG, "load", str(LUBM1), "--db", url], postgres=True),
        Scenario("pg-load", lambda url: kg("load", str(ONTOLOGY), "--db", url),
                 lambda url: [*KG, "load", str(LUBM1), "--db", url], postgres=True),
        Scenario("pg-update", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "update", big_update, "--db", url], postgres=True),
        Scenario("pg-reason", lambda url: kg("load", str(ONTOLOGY), str(LUBM1), "--db", url),
                 lambda url: [*KG, "reason", "--rules", "owl-rl", "--db", url], postgres=True),
    ]


@dataclass
class Outcome:
    scenario: str
    seconds: float = 0.0  # wall time of the uninterrupted run
    states: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> int:
        return sum(self.states.values()) - len(self.failures)


def _judge(url: str, before, after, baseline: list[str]) -> tuple[str, list[str]]:
    """(state name, problems) of the store at ``url`` after a kill."""
    from kg_engine.store.database import Database, sqlite_path
    from kg_engine.testing.crashes import fingerprint, problems

    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        return "before (no file)", []
    db = Database.connect(url)
    try:
        if not any(r[0] == "kg_meta" for r in db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                if db.dialect == "sqlite" else
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()")):
            return "before (empty file)", []
        found = [p for p in problems(db) if p not in baseline]
        fp = fingerprint(db)
    finally:
        db.close()
    state = "before" if fp == before else "after" if fp == after else "other"
    if state == "other" and before is None and not fp.get("kg_quads"):
        state = "before (empty store)"
    return state, found


def _open_check(url: str) -> str | None:
    """The store opens with kg-engine (what the next command does); an error's text."""
    from kg_engine.store import open_store

    try:
        open_store(url).close()
    except Exception as exc:  # noqa: BLE001 - reported
        return f"{type(exc).__name__}: {exc}"
    return None


def run_scenario(sc: Scenario, runs: int, workdir: Path, rng: random.Random,
                 new_url: Callable[[str], str]) -> Outcome:
    from kg_engine.store.database import Database
    from kg_engine.testing.crashes import fingerprint, problems, run_killed

    out = Outcome(sc.name)
    base = new_url("base")
    sc.setup(base)
    empty = not sc.postgres and not os.path.exists(_file(base))  # the command creates it
    if empty:
        before = None
    else:
        db = Database.connect(base)
        before = fingerprint(db)
        db.close()

    def fresh(tag: str) -> str:
        url = new_url(tag)
        if sc.postgres:
            sc.setup(url)
        elif not empty:
            shutil.copyfile(_file(base), _file(url))
        return url

    whole = fresh("whole")
    started = time.monotonic()
    subprocess.run(sc.command(whole), check=True, capture_output=True)
    out.seconds = time.monotonic() - started
    db = Database.connect(whole)
    after, baseline = fingerprint(db), problems(db)
    db.close()
    for i in range(runs):
        url = fresh(f"t{i}")
        at = (sc.marker(url, rng) if sc.marker is not None
              else rng.uniform(0, 1.1 * out.seconds))
        started = time.monotonic()
        code = run_killed(sc.command(url), at=at, log=workdir / f"{sc.name}-{i}.log")
        if code == 0:  # on a loaded machine the first run may have been slow: draw from
            out.seconds = min(out.seconds, time.monotonic() - started)  # the fastest
        state, found = _judge(url, before, after, baseline)
        if code is not None:
            state += " (finished)" if code == 0 else f" (exit {code})"
        error = _open_check(url)
        if error:
            found.append(f"does not open: {error}")
        if state.startswith("other") and sc.steps and not found:
            subprocess.run(sc.command(url), check=False, capture_output=True)
            state, found = _judge(url, before, after, baseline)
            state = "between, rerun → " + state
        out.states[state.split(" (")[0] if "finished" in state else state] += 1
        when = f"{at:5.2f}/{out.seconds:.2f} s" if isinstance(at, float) else "the marker"
        if found or "other" in state:
            out.failures.append(f"kill at {when}: {state}: {found}")
        print(f"  {sc.name} #{i}: kill at {when} -> {state}"
              + (f" PROBLEMS {found}" if found else ""), flush=True)
    return out


def _file(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _gsp_put(workdir: Path, runs: int, rng: random.Random) -> Outcome:
    """``kg serve --update``: a Graph Store PUT of LUBM(1) into a named graph, server killed."""
    from kg_engine.store.database import Database
    from kg_engine.testing.crashes import fingerprint, problems

    out = Outcome("gsp-put")
    body = gzip.decompress(LUBM1.read_bytes())
    base = workdir / "gsp-base.sqlite"
    kg("load", str(ONTOLOGY), "--db", f"sqlite:///{base}")
    db = Database.connect(f"sqlite:///{base}")
    before = fingerprint(db)
    db.close()

    def trial(path: Path, kill_at: float | None) -> float:
        shutil.copyfile(base, path)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([*KG, "serve", "--update", "--port", str(port), "--db",
                                   f"sqlite:///{path}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/store?graph=urn:g:lubm", data=body, method="PUT",
                headers={"Content-Type": "application/n-triples"})
            started = time.monotonic()
            if kill_at is None:
                urllib.request.urlopen(req, timeout=300).read()
                return time.monotonic() - started
            threading.Thread(target=lambda: _quiet(req), daemon=True).start()
            time.sleep(kill_at)
            return kill_at
        finally:
            os.killpg(server.pid, 9)
            server.wait()

    whole = workdir / "gsp-whole.sqlite"
    out.seconds = trial(whole, None)
    db = Database.connect(f"sqlite:///{whole}")
    after, baseline = fingerprint(db), problems(db)
    db.close()
    for i in range(runs):
        path = workdir / f"gsp-{i}.sqlite"
        at = rng.uniform(0, 1.1 * out.seconds)
        trial(path, at)
        state, found = _judge(f"sqlite:///{path}", before, after, baseline)
        out.states[state] += 1
        if found or state == "other":
            out.failures.append(f"kill at {at:.2f} s: {state}: {found}")
        print(f"  gsp-put #{i}: kill at {at:5.2f}/{out.seconds:.2f} s -> {state}"
              + (f" PROBLEMS {found}" if found else ""), flush=True)
    return out


def _quiet(req: urllib.request.Request) -> None:
    try:
        urllib.request.urlopen(req, timeout=300).read()
    except Exception:  # noqa: BLE001 - the server is killed mid-request
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="kills per scenario")
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the outcomes here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="kg-crash-"))
    outcomes: list[Outcome] = []
    pg = None
    try:
        for sc in scenarios(workdir):
            if args.only and sc.name not in args.only:
                continue
            if sc.postgres:
                from kg_engine.testing.postgres import PostgresUnavailable, TemporaryPostgres

                if pg is None:
                    try:
                        pg = TemporaryPostgres(durable=True).start()
                    except PostgresUnavailable as exc:
                        print(f"{sc.name}: skipped ({exc})")
                        continue
                server = pg

                def new_url(tag: str, server=server) -> str:
                    return server.new_database_url()
            else:
                def new_url(tag: str, sc=sc) -> str:
                    return f"sqlite:///{workdir / f'{sc.name}-{tag}.sqlite'}"
            print(f"{sc.name}:", flush=True)
            outcomes.append(run_scenario(sc, args.runs, workdir, rng, new_url))
        if not args.only or "gsp-put" in args.only:
            print("gsp-put:", flush=True)
            outcomes.append(_gsp_put(workdir, args.runs, rng))
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'scenario':<13} {'T (s)':>6}  clean/tries  states")
    for o in outcomes:
        tries = sum(o.states.values())
        print(f"{o.scenario:<13} {o.seconds:6.2f}  {o.clean:>5}/{tries:<5}  "
              + ", ".join(f"{k}: {v}" for k, v in sorted(o.states.items())))
        for f in o.failures:
            print(f"    FAIL {f}")
    if args.json:
        Path(args.json).write_text(json.dumps([
            {"scenario": o.scenario, "seconds": o.seconds, "states": dict(o.states),
             "failures": o.failures} for o in outcomes], indent=2))
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
