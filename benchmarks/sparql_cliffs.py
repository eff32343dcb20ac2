"""Speed cliffs of the compiled SQL: queries whose SQL failed (or crawled) so that rdflib's
evaluator answered, timed through ``KnowledgeGraph.query`` beside pyoxigraph.

Usage::

    python benchmarks/sparql_cliffs.py [--postgres] [--repeat 3] [--only NAME]

One line per case: rows, the path kg-engine took (``sql``, or ``fallback`` when a compiled
statement failed and rdflib answered), kg-engine's CPU seconds and wall seconds (the first
run, and the median of ``--repeat`` runs after it, every row consumed), pyoxigraph's, and the ratio of CPU
seconds. Run it on two checkouts (``PYTHONPATH``) for before/after. On PostgreSQL the server's
CPU time is not in this process's: compare wall seconds there.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

P = "PREFIX ex: <http://example.org/> "


def _chain_data(n: int = 3000) -> str:
    return "\n".join(f"ex:c{i} ex:next ex:c{(i + 1) % n} ." for i in range(n))


def _values_data(n: int = 20_000) -> str:
    return "\n".join(f'ex:e{i} ex:val {i % 97} ; ex:d {i % 400 / 4} ; ex:name "n{i % 500}" .'
                     for i in range(n))


def _graphs_data(n: int) -> str:
    return "\n".join(f"ex:g{g} {{ ex:e{g} ex:in ex:g{g} . ex:g{g} ex:size {g % 3} . "
                     f"ex:e{g % 50} ex:in ex:g{g} . }}" for g in range(n))


def _strings_data(n: int = 20_000) -> str:
    return "\n".join(f'ex:s{i} ex:t "{"word" if i % 3 else "wörd"}_{i} x{i % 10}" .' for i in range(n))


CASES = {
    "join-65": (_chain_data, "SELECT (COUNT(*) AS ?c) WHERE { VALUES ?x0 { ex:c0 ex:c5 } "
                + " ".join(f"?x{j} ex:next ?x{j + 1} ." for j in range(65)) + " }"),
    "join-130": (_chain_data, "SELECT ?x0 ?x130 WHERE { VALUES ?x0 { ex:c0 ex:c5 } "
                 + " ".join(f"?x{j} ex:next ?x{j + 1} ." for j in range(130)) + " }"),
    "agg-min-plus-max": (_values_data, "SELECT (MIN(?v) + MAX(?v) AS ?r) WHERE { ?s ex:val ?v }"),
    "agg-strlen-concat": (_values_data, ("SELECT ?v (STRLEN(GROUP_CONCAT(?n)) AS ?l) WHERE { "
                          "?s ex:val ?v ; ex:name ?n } GROUP BY ?v")),
    "agg-having-expr": (_values_data, ("SELECT ?d WHERE { ?s ex:d ?d } GROUP BY ?d "
                        "HAVING(SUM(?d) * 2 > 100)")),
    "agg-if-coalesce": (_values_data, ('SELECT ?v (IF(COUNT(?s) > 200, "big", "small") AS ?r) '
                        "(COALESCE(MAX(?n), 0) AS ?m) WHERE { ?s ex:val ?v ; ex:name ?n } GROUP BY ?v")),
    "from-4000": (lambda: _graphs_data(4000), "SELECT ?s ?z "
                  + " ".join(f"FROM ex:g{j}" for j in range(4000))
                  + " WHERE { ?s ex:in ?x . ?x ex:size ?z }"),
    "regex-d-w": (_strings_data, r'SELECT ?o WHERE { ?s ex:t ?o FILTER(REGEX(?o, "^\\w+_\\d+\\sx[3-5]$")) }'),
    "regex-b": (_strings_data, r'SELECT ?o WHERE { ?s ex:t ?o FILTER(REGEX(?o, "\\bx7")) }'),
}


class _Fallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed" in record.getMessage():
            self.seen += 1


def _timed(fn, repeat: int) -> tuple[int, float, float, float]:
    """Rows, CPU seconds of the first run (parse, plan, the class tables of a regex), and the
    median CPU and wall seconds of ``repeat`` runs after it."""
    c = time.process_time()
    fn()
    first = time.process_time() - c
    cpu, wall, rows = [], [], 0
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        rows = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return rows, first, statistics.median(cpu), statistics.median(wall)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", action="store_true", help="kg-engine on a throwaway PostgreSQL")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default=None, help="only the cases whose name contains this")
    args = ap.parse_args(argv)
    import pyoxigraph as ox

    from kg_engine.api import KnowledgeGraph

    seen = _Fallbacks()
    log = logging.getLogger("kg_engine")
    log.addHandler(seen)
    log.propagate = False
    url_of = (lambda: "sqlite://")
    if args.postgres:
        from kg_engine.testing.postgres import shared_server
        url_of = shared_server().new_database_url
    print(f"load average {os.getloadavg()}; {'PostgreSQL' if args.postgres else 'SQLite'}")
    print("| case | rows | kg path | kg first run CPU-s | kg CPU-s | kg wall s | pyoxigraph CPU-s "
          "| CPU ratio kg/ox |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (data, query) in CASES.items():
        if args.only and args.only not in name:
            continue
        trig = "@prefix ex: <http://example.org/> .\n" + data() + "\n"
        with KnowledgeGraph(url_of()) as kg:
            fd, path = tempfile.mkstemp(suffix=".trig")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(trig)
            try:
                kg.load(path, format="trig")
            finally:
                os.unlink(path)
            store = ox.Store()
            store.load(trig.encode(), ox.RdfFormat.TRIG)
            text = P + query
            before = seen.seen
            rows, kg_first, kg_cpu, kg_wall = _timed(lambda kg=kg, text=text: sum(1 for _ in kg.query(text)),
                                           args.repeat)
            path_ = "fallback" if seen.seen > before else "sql"
            ox_rows, _, ox_cpu, _ = _timed(lambda store=store, text=text: sum(1 for _ in store.query(text)),
                                        args.repeat)
            ratio = kg_cpu / ox_cpu if ox_cpu else float("inf")
            note = "" if rows == ox_rows else f" (pyoxigraph {ox_rows} rows)"
            print(f"| {name} | {rows}{note} | {path_} | {kg_first:.3f} | {kg_cpu:.3f} | {kg_wall:.3f} | "
                  f"{ox_cpu:.3f} | "
                  f"{ratio:.2f} |", flush=True)
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
