"""W3C Turtle and TriG test suites: kg-engine's parser vs rdflib vs pyoxigraph.

Runs the positive/negative syntax tests and the evaluation tests of the W3C RDF 1.1 Turtle
and TriG suites (``rdf/rdf11/rdf-turtle`` and ``rdf/rdf11/rdf-trig`` of w3c/rdf-tests; nothing
is vendored) through three parsers and prints one table of pass counts per suite and test
type. An evaluation test passes when the parsed dataset is isomorphic to the expected
N-Triples/N-Quads (compared after pyoxigraph's blank node canonicalisation; literals as
terms: lexical form, datatype and language); a negative test passes when the parser refuses
the file; a positive syntax test when it accepts it.

Usage::

    python benchmarks/rdf_syntax_suite.py PATH/rdf/rdf11      # both suites under PATH
    python benchmarks/rdf_syntax_suite.py PATH -v             # list every failure

``PATH`` is a checkout of https://github.com/w3c/rdf-tests (or its ``rdf/rdf11`` folder).
Not run in CI (the suites are not in the repository).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import RDF, BNode, Dataset, Graph, Namespace, URIRef

from kg_engine.store.turtle import TurtleParser

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
RDFT = Namespace("http://www.w3.org/ns/rdftest#")
SUITES = {"rdf-turtle": False, "rdf-trig": True}  # folder -> TriG
_FORMATS = {False: ox.RdfFormat.TURTLE, True: ox.RdfFormat.TRIG}

Quads = list[tuple]


# -- parsers: each returns a list of pyoxigraph quads, or raises on a syntax error -------------
def parse_ours(path: Path, base: str, trig: bool) -> Quads:
    with open(path, encoding="utf-8", newline="") as f:
        statements = TurtleParser(str(path), base=base, trig=trig).statements(f)
    blanks: dict[str, ox.BlankNode] = {}

    def term(key):
        if type(key) is str:
            return ox.NamedNode(key)
        if len(key) == 1:
            return blanks.setdefault(key[0], ox.BlankNode())
        lex, datatype, lang = key
        if lang:
            return ox.Literal(lex, language=lang)
        return ox.Literal(lex, datatype=ox.NamedNode(datatype) if datatype else None)

    return [ox.Quad(term(s), term(p), term(o), ox.DefaultGraph() if g is None else term(g))
            for s, p, o, g in statements]


def parse_rdflib(path: Path, base: str, trig: bool) -> Quads:
    from kg_engine.store.terms import exact_literals

    ds = Dataset()
    with exact_literals(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.parse(str(path), format="trig" if trig else "turtle", publicID=base)
    blanks: dict[str, ox.BlankNode] = {}

    def term(t):
        if isinstance(t, BNode):
            return blanks.setdefault(str(t), ox.BlankNode())
        if isinstance(t, URIRef):
            return ox.NamedNode(str(t))
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)) if t.datatype else None)

    out = []
    for s, p, o, g in ds.quads((None, None, None, None)):
        gid = getattr(g, "identifier", g)
        graph = ox.DefaultGraph() if gid is None or str(gid) == str(
            ds.default_graph.identifier) else term(gid)
        out.append(ox.Quad(term(s), term(p), term(o), graph))
    return out


def parse_oxigraph(path: Path, base: str, trig: bool) -> Quads:
    return list(ox.parse(path=str(path), format=_FORMATS[trig], base_iri=base))


PARSERS: dict[str, Callable[[Path, str, bool], Quads]] = {
    "kg-engine": parse_ours, "rdflib": parse_rdflib, "pyoxigraph": parse_oxigraph}


def canonical(quads: Iterable[ox.Quad]) -> set[str]:
    ds = ox.Dataset(quads)
    ds.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {str(q) for q in ds}


def expected(path: Path) -> set[str]:
    fmt = ox.RdfFormat.N_QUADS if path.suffix == ".nq" else ox.RdfFormat.N_TRIPLES
    return canonical(ox.parse(path=str(path), format=fmt))


# -- the manifests ---------------------------------------------------------------------------
def suites_root(path: Path) -> Path | None:
    """The folder holding ``rdf-turtle``, ``rdf-trig``, … in a w3c/rdf-tests checkout given
    as itself, its ``rdf/rdf11`` or ``rdf11`` folder; ``None`` if there is none."""
    for folder in (path / "rdf" / "rdf11", path / "rdf11", path):
        if (folder / "rdf-turtle").is_dir():
            return folder
    return None


def tests(folder: Path) -> list[tuple[str, str, Path, Path | None, str]]:
    """(name, type, action, result, base IRI) of each test of one suite folder."""
    manifest = Graph().parse(folder / "manifest.ttl", format="turtle")
    root = next(manifest.subjects(RDF.type, MF.Manifest))
    assumed = str(manifest.value(root, MF.assumedTestBase) or "")
    out = []
    for test in manifest.items(manifest.value(root, MF.entries)):
        kind = str(manifest.value(test, RDF.type)).rsplit("#", 1)[1]
        action = Path(str(manifest.value(test, MF.action)).removeprefix("file://"))
        result = manifest.value(test, MF.result)
        name = str(manifest.value(test, MF.name))
        out.append((name, kind, action, Path(str(result).removeprefix("file://")) if result
                    else None, assumed + action.name))
    return out


def run_one(parser: Callable, kind: str, action: Path, result: Path | None, base: str,
            trig: bool) -> tuple[bool, str]:
    try:
        quads = parser(action, base, trig)
    except Exception as exc:  # noqa: BLE001 - any refusal counts as a refusal
        return "Negative" in kind, f"refused: {str(exc).splitlines()[0][:160]}"
    if "Negative" in kind:
        return False, "accepted"
    if "Eval" in kind and result is not None:
        got, want = canonical(quads), expected(result)
        if got != want:
            return False, f"different: -{sorted(want - got)[:2]} +{sorted(got - want)[:2]}"
    return True, ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="rdf-tests checkout, or its rdf/rdf11 folder")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = ap.parse_args(argv)
    root = suites_root(args.path)
    if root is None:
        ap.error(f"no rdf-turtle folder under {args.path}")
    passed: Counter[tuple[str, str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    for suite, trig in SUITES.items():
        for name, kind, action, result, base in tests(root / suite):
            action = root / suite / action.name
            result = root / suite / result.name if result is not None else None
            total[suite, kind] += 1
            for engine, parser in PARSERS.items():
                ok, why = run_one(parser, kind, action, result, base, trig)
                passed[suite, kind, engine] += ok
                if not ok:
                    failures.append(f"{engine:10} {suite}/{name} ({kind}): {why}")
    engines = list(PARSERS)
    print(f"| suite | test type | tests | {' | '.join(engines)} |")
    print("|---|---|---|" + "---|" * len(engines))
    for (suite, kind), n in sorted(total.items()):
        cells = " | ".join(str(passed[suite, kind, e]) for e in engines)
        print(f"| {suite} | {kind} | {n} | {cells} |")
    all_n = sum(total.values())
    cells = " | ".join(str(sum(v for k, v in passed.items() if k[2] == e)) for e in engines)
    print(f"| **all** | | {all_n} | {cells} |")
    if args.verbose:
        print("\n" + "\n".join(failures))
    else:
        ours = [f for f in failures if f.startswith("kg-engine")]
        if ours:
            print("\nkg-engine failures:\n" + "\n".join(ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
