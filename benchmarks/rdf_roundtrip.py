"""Round trips through the store: load → export (every RDF format) → reload gives the same data.

For every positive test of the W3C RDF 1.1 Turtle, TriG, N-Triples and N-Quads suites
(``rdf/rdf11/rdf-*`` of w3c/rdf-tests; nothing is vendored): load the file into a fresh
store (``kg load``'s path), export it in each RDF format kg-engine offers (``kg export``:
nt, nq, turtle, trig, json-ld, xml), reload the export into another fresh store (by the
loader, and by ``rdflib.Dataset(store=KgEngineStore(...)).parse``: the rdflib plugin path),
and compare the two stores' statements up to blank node renaming (pyoxigraph's
canonicalisation; literals as terms: lexical form, datatype, language). Triple formats (nt,
turtle, xml) are compared on triples (graph names dropped); quad formats on quads.

Outcomes per (test, format, reload path): ``same``; ``different`` (data changed: a bug);
``refused`` (the reload raised: a bug, since we wrote the file); ``not expressible`` (the
serialiser refused: RDF/XML cannot write every predicate IRI; counted apart, never a
silent change); ``first load refused`` (the backend cannot hold the test's data at all:
PostgreSQL text has no NUL character).

Usage::

    python benchmarks/rdf_roundtrip.py PATH              # PATH: rdf-tests checkout (or rdf/rdf11)
    python benchmarks/rdf_roundtrip.py PATH --backend postgres -v

Not run in CI (the suites are not in the repository).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal

from kg_engine.core.terms import DEFAULT_GRAPH
from kg_engine.export import export
from kg_engine.store import SQLStore
from kg_engine.store.rdflib_store import KgEngineStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rdf_syntax_suite import suites_root  # the manifests are read as the syntax suite reads them
from rdf_syntax_suite import tests as manifest_tests

#: suite folder -> (load format, positive test types)
SUITES = {
    "rdf-turtle": ("turtle", ("TestTurtleEval", "TestTurtlePositiveSyntax")),
    "rdf-trig": ("trig", ("TestTrigEval", "TestTrigPositiveSyntax")),
    "rdf-n-triples": ("nt", ("TestNTriplesPositiveSyntax",)),
    "rdf-n-quads": ("nquads", ("TestNQuadsPositiveSyntax",)),
}
#: export format -> (extension, load format, keeps graphs)
EXPORTS = {
    "nt": (".nt", "nt", False), "nq": (".nq", "nquads", True),
    "turtle": (".ttl", "turtle", False), "trig": (".trig", "trig", True),
    "json-ld": (".jsonld", "json-ld", True), "xml": (".rdf", "xml", False),
}
RELOADS = ("load", "parse")


def tests(folder: Path) -> list[tuple[str, Path]]:
    """(name, file) of each positive test of one suite folder."""
    kinds = SUITES[folder.name][1]
    return [(name, folder / action.name) for name, kind, action, _, _ in manifest_tests(folder)
            if kind in kinds]


def _ox(term, blanks: dict[str, ox.BlankNode]):
    if isinstance(term, BNode):
        return blanks.setdefault(str(term), ox.BlankNode())
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype))
                          if term.datatype else None)
    return ox.NamedNode(str(term))


def canonical(quads: Iterable[tuple], graphs: bool) -> set[str]:
    """The statements up to blank node renaming (pyoxigraph canonical form)."""
    blanks: dict[str, ox.BlankNode] = {}
    out = []
    for s, p, o, g in quads:
        graph = ox.DefaultGraph() if not graphs or g == DEFAULT_GRAPH else _ox(g, blanks)
        out.append(ox.Quad(_ox(s, blanks), _ox(p, blanks), _ox(o, blanks), graph))
    ds = ox.Dataset(out)
    ds.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {str(q) for q in ds}


def reload(path: Path, fmt: str, how: str, new_store: Callable[[], SQLStore]) -> SQLStore:
    store = new_store()
    if how == "load":
        store.load(path, format=fmt)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Dataset(store=KgEngineStore(store=store)).parse(str(path), format=fmt)
    return store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="rdf-tests checkout, or its rdf/rdf11 folder")
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--limit", type=int, default=0, help="at most this many tests per suite")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = ap.parse_args(argv)
    root = suites_root(args.path)
    if root is None:
        ap.error(f"no rdf-turtle folder under {args.path}")
    if args.backend == "postgres":
        from kg_engine.testing.postgres import shared_server

        server = shared_server()
        stores: list[SQLStore] = []

        def new_store() -> SQLStore:
            stores.append(SQLStore(server.new_database_url()))
            return stores[-1]
    else:
        def new_store() -> SQLStore:
            return SQLStore("sqlite://")

    outcome: Counter[tuple[str, str, str, str]] = Counter()
    n_tests: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for suite, (fmt, _) in SUITES.items():
            for name, action in tests(root / suite)[:args.limit or None]:
                n_tests[suite] += 1
                original = new_store()
                try:
                    original.load(action, format=fmt)
                except Exception as exc:  # noqa: BLE001 - the backend cannot hold the data
                    outcome[suite, "-", "-", "first load refused"] += 1
                    failures.append(f"{suite}/{name}: first load refused: "
                                    f"{str(exc).splitlines()[0][:160]}")
                    continue
                quads = list(original.triples())
                for out_fmt, (ext, load_fmt, graphs) in EXPORTS.items():
                    want = canonical(quads, graphs)
                    out = Path(tmp) / f"{name}{ext}"
                    try:
                        export(original, out, out_fmt)
                    except Exception as exc:  # noqa: BLE001 - the serialiser refused
                        for how in RELOADS:
                            outcome[suite, out_fmt, how, "not expressible"] += 1
                        failures.append(f"{suite}/{name} -> {out_fmt}: not expressible: "
                                        f"{str(exc).splitlines()[0][:120]}")
                        continue
                    for how in RELOADS:
                        try:
                            back = reload(out, load_fmt, how, new_store)
                        except Exception as exc:  # noqa: BLE001 - we wrote it: a bug
                            outcome[suite, out_fmt, how, "refused"] += 1
                            failures.append(f"{suite}/{name} -> {out_fmt} -> {how}: refused: "
                                            f"{str(exc).splitlines()[0][:160]}")
                            continue
                        got = canonical(back.triples(), graphs)
                        back.close()
                        if got == want:
                            outcome[suite, out_fmt, how, "same"] += 1
                        else:
                            outcome[suite, out_fmt, how, "different"] += 1
                            failures.append(
                                f"{suite}/{name} -> {out_fmt} -> {how}: different: "
                                f"-{sorted(want - got)[:2]} +{sorted(got - want)[:2]}")
                original.close()
    seconds = time.perf_counter() - started
    print(f"backend {args.backend}; {sum(n_tests.values())} positive tests "
          f"({', '.join(f'{s} {n}' for s, n in n_tests.items())}); {seconds:.0f} s\n")
    cols = [f"{f} {h}" for f in EXPORTS for h in RELOADS]
    print("| suite | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for suite in SUITES:
        cells = []
        for out_fmt in EXPORTS:
            for how in RELOADS:
                same = outcome[suite, out_fmt, how, "same"]
                bad = sum(outcome[suite, out_fmt, how, k] for k in ("different", "refused"))
                ne = outcome[suite, out_fmt, how, "not expressible"]
                cells.append(f"{same}/{n_tests[suite]}" + (f" ({bad} bad)" if bad else "")
                             + (f" ({ne} n/e)" if ne else ""))
        print(f"| {suite} | " + " | ".join(cells) + " |")
    totals = Counter()
    for (_, _, _, kind), n in outcome.items():
        totals[kind] += n
    print("\nround trips: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    if failures:
        shown = failures if args.verbose else failures[:40]
        print("\n" + "\n".join(shown))
        if len(shown) < len(failures):
            print(f"… {len(failures) - len(shown)} more (-v lists all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
