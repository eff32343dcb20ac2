"""Readers beside a writer: every read must answer as some committed state did.

Runs :func:`kg_engine.testing.concurrency.run_path` for each path (``api-shared``,
``api-own``, ``process``, ``serve``) on each backend (a SQLite file; PostgreSQL on a throwaway
server) and seed, and prints reads checked, inconsistent reads and errors per run, with the
CPU seconds of this process (the children's too) and the load average.

    nice -n 10 python benchmarks/concurrency.py --seeds 1 2 --transactions 40
    python benchmarks/concurrency.py --paths serve --backends postgresql --seeds 1

Exit status 1 when any read was inconsistent or any request failed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile

from kg_engine.testing.concurrency import PATHS, run_path


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--transactions", type=int, default=40)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--process-transactions", type=int, default=8,
                    help="transactions for the process path (each read starts Python)")
    args = ap.parse_args(argv)
    bad = 0
    pg = None
    work = tempfile.mkdtemp(prefix="kg-concurrency-")
    print(f"load average at start: {os.getloadavg()}")
    try:
        for backend in args.backends:
            if backend == "postgresql":
                from kg_engine.testing.postgres import TemporaryPostgres
                pg = TemporaryPostgres().start()
            for path in args.paths:
                for seed in args.seeds:
                    if backend == "sqlite":
                        url = f"sqlite:///{work}/{path}-{seed}.sqlite"
                    else:
                        assert pg is not None
                        url = pg.new_database_url()
                    n = args.process_transactions if path == "process" else args.transactions
                    before = _cpu()
                    r = run_path(path, url, seed=seed, transactions=n, readers=args.readers,
                                 min_reads=3)
                    print(f"{r.line()}; {_cpu() - before:.1f} CPU-s", flush=True)
                    for s in r.samples:
                        print("    " + s)
                    bad += r.inconsistent + r.errors + r.writer_errors
            if pg is not None:
                pg.stop()
                pg = None
    finally:
        if pg is not None:
            pg.stop()
    print(f"load average at end: {os.getloadavg()}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
