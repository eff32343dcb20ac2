"""In-process interruptions: seeded sequences of API calls, most interrupted once (Ctrl-C or an
exception raised from inside the call), the same ``KnowledgeGraph`` used again after each;
see :mod:`kg_engine.testing.interrupts` for the operations, the faults and the checks.

    python benchmarks/interrupts.py --backend sqlite --seeds 0:60 --operations 30
    python benchmarks/interrupts.py --backend postgres --seeds 0:20 --operations 30

Prints every finding (seed, operation, fault, what was wrong, the operations before it) and
the interrupted operations per kind and outcome; exit code 1 if anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from kg_engine.testing.interrupts import Report, postgres_urls, run_sequence, sqlite_urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seeds", default="0:20", help="START:STOP")
    parser.add_argument("--operations", type=int, default=30, help="per seed")
    args = parser.parse_args()
    start, stop = map(int, args.seeds.split(":"))
    total = Report()
    cpu = time.process_time()
    for seed in range(start, stop):
        with tempfile.TemporaryDirectory(prefix="kg-interrupts-") as tmp:
            urls = sqlite_urls(tmp) if args.backend == "sqlite" else postgres_urls()
            report = run_sequence(seed, urls, args.operations)
        total.merge(report)
        for finding in report.findings:
            print(finding, flush=True)
    print(f"{args.backend}: seeds {args.seeds}, {total.operations} operations, "
          f"{sum(total.interrupted.values())} interrupted, {len(total.findings)} findings, "
          f"{time.process_time() - cpu:.1f} CPU-s")
    for kind, n in sorted(total.interrupted.items()):
        outcomes = {o.split()[1]: c for o, c in total.outcomes.items() if o.split()[0] == kind}
        print(f"  {kind:<11} {n:>4} interrupted  {outcomes}")
    return 1 if total.findings else 0


if __name__ == "__main__":
    sys.exit(main())
