"""Environment differential: the ``kg`` workflow under varied environments vs a baseline.

    python benchmarks/env_differential.py --seeds 1 2 3            # every environment, full
    python benchmarks/env_differential.py --quick --envs tr latin1 --only 'query-.*-csv'
    python benchmarks/env_differential.py --locale tr_TR.UTF-8     # + PostgreSQL, pyoxigraph

See :mod:`kg_engine.testing.envdiff` for what is run and compared. Exit status 1 when any
run found a difference.
"""

from __future__ import annotations

import argparse
import sys
import time

from kg_engine.testing import envdiff as ed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--envs", nargs="+", help="environment names (default: all): "
                    + " ".join(e.name for e in ed.ENVIRONMENTS))
    ap.add_argument("--only", help="regular expression of the step names to run")
    ap.add_argument("--quick", action="store_true", help="without kg extract and PyG exports")
    ap.add_argument("--locale", help="also the locale differential in this locale "
                    "(SQLite, a PostgreSQL database in it, pyoxigraph)")
    ap.add_argument("--no-postgres", action="store_true", help="locale differential: no PostgreSQL")
    args = ap.parse_args()
    envs = [e for e in ed.ENVIRONMENTS if not args.envs or e.name in args.envs]
    found = 0
    for seed in args.seeds:
        t0 = time.process_time()
        rep = ed.run(seed, envs, full=not args.quick, only=args.only,
                     log=lambda line: print(line, flush=True))
        print(rep.summary(), f"({time.process_time() - t0:.1f} CPU-s in this process)")
        for name, why in rep.skipped.items():
            print(f"skipped {name}: {why}")
        found += len(rep.findings)
        if args.locale:
            loc = ed.locale_differential(seed, args.locale, postgres=not args.no_postgres,
                                         log=print)
            print(loc.summary())
            for f in loc.findings:
                print(f)
            found += len(loc.findings)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
