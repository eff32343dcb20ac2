"""I/O failures: make the OS refuse the writes of ``kg`` commands, then judge what was left.

Every case of :func:`kg_engine.testing.iofaults.standard_cases` (each write path: load,
update, reason, vacuum, extract, export in every format, gnn train, the API's calls) runs
once to the end (its files' peak sizes give the limits), then again with the file size
limit (``RLIMIT_FSIZE``, ``SIGXFSZ`` ignored: writes fail with EFBIG) at points between a
file's size before the command and its peak (``--fractions``; plus random ones per
``--seeds``), and, as root, on a tmpfs too small for it (ENOSPC). ``serve-update`` runs
``kg serve --update`` under a limit and sends a Graph Store PUT and a SPARQL update;
``pg-load`` loads LUBM(10) into a throwaway PostgreSQL server restarted under a limit. Each
trial is judged as :mod:`kg_engine.testing.iofaults` says (message, exit code, store state,
``kg check``, stray files, old output file kept, re-run completes).

Data: LUBM(1) split in two N-Triples files (the parallel parser path: one chunk each) with
the univ-bench ontology, 20 WikiText-2 paragraphs for ``kg extract``.

Usage::

    nice -n 10 python benchmarks/io_faults.py                  # every case
    python benchmarks/io_faults.py --only load-nt export-ttl --seeds 3 --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data"))
LUBM1 = SHARED / "lubm" / "lubm1.nt.gz"
ONTOLOGY = SHARED / "lubm" / "univ-bench.ttl"
CORPUS = SHARED / "corpus" / "wikitext2_test" / "paragraphs.jsonl"
LUBM10 = SHARED / "lubm" / "lubm10.nt.gz"


def data(workdir: Path):
    from kg_engine.testing.iofaults import Data

    lines = gzip.decompress(LUBM1.read_bytes()).splitlines(keepends=True)
    half = len(lines) // 2
    parts = [workdir / "lubm1-a.nt", workdir / "lubm1-b.nt"]
    parts[0].write_bytes(b"".join(lines[:half]))
    parts[1].write_bytes(b"".join(lines[half:]))
    corpus = workdir / "paragraphs20.jsonl"
    with open(CORPUS, encoding="utf-8") as f:
        corpus.write_text("".join(next(f) for _ in range(20)), encoding="utf-8")
    return Data(parts, ONTOLOGY, corpus)


def main(argv: list[str] | None = None) -> int:
    from kg_engine.testing.iofaults import (
        TmpfsUnavailable,
        limits_between,
        postgres_trial,
        reference,
        run_trial,
        serve_trial,
        standard_cases,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--fractions", type=float, nargs="*", default=[0.1, 0.5, 0.9])
    parser.add_argument("--seeds", type=int, default=1, help="random limits per grown file")
    parser.add_argument("--no-tmpfs", action="store_true")
    parser.add_argument("--postgres", type=int, nargs="*", default=[20 << 20, 40 << 20],
                        help="pg-load: file size limits of the server (LUBM(10) load)")
    parser.add_argument("--json", help="write the trials here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="kg-iofaults-"))
    trials = []
    started = time.monotonic()
    cpu = time.process_time()
    try:
        d = data(workdir)
        for case in standard_cases(d):
            if args.only and case.name not in args.only:
                continue
            base = workdir / f"{case.name}-base"
            base.mkdir()
            if case.setup is not None:
                case.setup(base)
            ref = reference(case, base, workdir / f"{case.name}-ref")
            rng = random.Random(case.name)
            fractions = [*args.fractions, *(rng.random() for _ in range(args.seeds))]
            limits = limits_between(ref.grown, fractions)
            print(f"{case.name}: {ref.seconds:.1f} s, grew "
                  + ", ".join(f"{f} {a:,}->{b:,}" for f, (a, b) in sorted(ref.grown.items()))
                  + f"; limits {limits}", flush=True)
            runs = [{"limit": x} for x in limits]
            if not args.no_tmpfs:
                size = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
                growth = max((b - a for a, b in ref.grown.values()), default=0)
                runs += [{"space": size + 65536 + int(f * growth)} for f in args.fractions]
            for i, run in enumerate(runs):
                try:
                    t = run_trial(case, base, ref, workdir / f"{case.name}-{i}", **run)
                except TmpfsUnavailable as exc:
                    print(f"  tmpfs skipped: {exc}")
                    break
                trials.append(t)
                print(f"  {t.limit:>16} exit {t.code} {t.state:<28} "
                      + (f"PROBLEMS {t.problems} " if t.problems else "")
                      + f"| {t.message[:160]}", flush=True)
            for sub in workdir.glob(f"{case.name}-*"):
                shutil.rmtree(sub, ignore_errors=True)
        if not args.only or "serve-update" in args.only:
            base = workdir / "serve-base"
            base.mkdir()
            standard_cases(d)[1].setup(base)  # the ontology
            body = d.nt[0].read_bytes()[: 4 << 20]
            body = body[: body.rfind(b"\n") + 1]
            for limit in (1 << 20, 2 << 20, 3 << 20):
                t = serve_trial(base, workdir / "serve", limit, body)
                trials.append(t)
                print(f"serve-update {t.limit}: {t.state} "
                      + (f"PROBLEMS {t.problems} " if t.problems else "") + f"| {t.message}",
                      flush=True)
        if (not args.only or "pg-load" in args.only) and args.postgres:
            from kg_engine.testing.postgres import PostgresUnavailable, TemporaryPostgres

            try:
                with TemporaryPostgres() as pg:
                    for limit in args.postgres:
                        t = postgres_trial(pg, ONTOLOGY, LUBM10, limit)
                        trials.append(t)
                        print(f"pg-load {t.limit}: exit {t.code} {t.state} "
                              + (f"PROBLEMS {t.problems} " if t.problems else "")
                              + f"| {t.message[:200]}", flush=True)
            except PostgresUnavailable as exc:
                print(f"pg-load: skipped ({exc})")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    bad = [t for t in trials if t.problems]
    by_case = Counter(t.case for t in trials)
    print(f"\n{len(trials)} trials over {len(by_case)} cases, {sum(t.failed for t in trials)} "
          f"refused writes reported, {len(bad)} with problems; "
          f"{time.monotonic() - started:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s "
          f"(this process), load {os.getloadavg()[0]:.1f}")
    for t in bad:
        print(f"  FAIL {t.case} {t.limit}: {t.problems}")
    if args.json:
        Path(args.json).write_text(json.dumps([t.__dict__ for t in trials], indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
