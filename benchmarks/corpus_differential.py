"""Extraction over messy folders: many seeds of :mod:`kg_engine.testing.corpusdiff`.

Each seed writes a folder of what users' folders hold (encodings with and without byte order
marks, cp1252, binary files named .txt, NUL bytes, empty files, a line over max_length,
links incl. loops and dangling ones, hidden files, a name that is not UTF-8, JSONL/CSV) and
checks every document extracted once with provenance slicing the original file, every other
file reported, the same store for another file order, and re-runs after changes equal to one
clean run; with ``--cli`` also ``kg extract``'s report and counts.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/corpus_differential.py --seeds 0-19
    OMP_NUM_THREADS=1 python benchmarks/corpus_differential.py --seeds 0-4 --pipeline docre_scratch
    OMP_NUM_THREADS=1 python benchmarks/corpus_differential.py --seeds 0-4 --postgres --cli
    OMP_NUM_THREADS=1 python benchmarks/corpus_differential.py --seeds 0-9 --paragraphs

Prints one line per problem, then a JSON summary (seeds, documents, records, problems,
CPU seconds, load average).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main() -> None:
    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.testing import corpusdiff as cd

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--pipeline", default="default")
    ap.add_argument("--postgres", action="store_true", help="stores on a throwaway PostgreSQL server")
    ap.add_argument("--cli", action="store_true", help="also kg extract (SQLite file) per seed")
    ap.add_argument("--paragraphs", action="store_true", help="one document per paragraph")
    args = ap.parse_args()
    pg = None
    if args.postgres:
        from kg_engine.testing.postgres import TemporaryPostgres

        pg = TemporaryPostgres().start()
    totals: Counter = Counter()
    cpu = time.process_time()
    pipe = load_extraction_pipeline(args.pipeline)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for seed in _seeds(args.seeds):
                url = pg.new_database_url if pg is not None else "sqlite://"
                problems, counts = cd.run(Path(tmp) / f"s{seed}", seed, url=url, pipe=pipe,
                                          split="paragraphs" if args.paragraphs else "none")
                if args.cli:
                    problems += cd.run_cli(Path(tmp) / f"c{seed}", seed, pipeline=args.pipeline)
                for p in problems:
                    print(f"seed {seed}: {p}", flush=True)
                totals.update(counts)
                totals["seeds"] += 1
                totals["problems"] += len(problems)
    finally:
        if pg is not None:
            pg.stop()
    print(json.dumps({"backend": "postgresql" if pg else "sqlite", "pipeline": args.pipeline,
                      "split": "paragraphs" if args.paragraphs else "none",
                      **totals, "cpu_s": round(time.process_time() - cpu, 1),
                      "loadavg": Path("/proc/loadavg").read_text().split()[:3]}))


if __name__ == "__main__":
    main()
