"""The held-out selection of other projects' SPARQL tests (used by ``peer_suites.py``).

Jena's ARQ scripted tests (``testing/ARQ`` in a Jena checkout, or inside its
``testing-*.zip``) mix SPARQL 1.1 tests with ARQ syntax extensions and with copies of the W3C
suite, and write their manifests in Jena's dialect (entries without ``rdf:type``, or typed
``mfx:TestQuery``). :func:`write_selection` reads such manifests and writes one W3C-style
manifest of the tests that are

* evaluation tests (query or update; syntax, serialization and other test types are left out);
* SPARQL 1.1 only: a ``.rq``/``.ru`` file that pyoxigraph's strict SPARQL 1.1 parser accepts,
  calling no Jena/ARQ/XPath extension namespace and using no ``LET``/``LATERAL``;
* not a copy of a W3C test: the query text (comments and white space aside) and every data
  file's content are not all found in the W3C suite (``../shared/data/w3c-sparql``).

Each test keeps its files where they are and gets a stable IRI (``urn:peer:<folder>/<n>``; the
originals are often blank nodes), so engines are compared test by test.

Example:
    >>> _normal("SELECT * # all\\n WHERE {  ?s ?p ?o }")
    'SELECT * WHERE { ?s ?p ?o }'
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
MFX = Namespace("http://jena.hpl.hp.com/2005/05/test-manifest-extra#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

#: IRIs of Jena/ARQ, XPath (``fn:``) and Java extension functions and property functions
EXTENSIONS = re.compile(r"jena\.hpl\.hp\.com|jena\.apache\.org|www\.w3\.org/2005/xpath-functions"
                        r"|<java:|\bLET\s*\(|\bLATERAL\b", re.IGNORECASE)
_COMMENT = re.compile(r"(^|\s)#[^\n]*")


def _normal(text: str) -> str:
    """Query or data text without comments and with white space collapsed."""
    return " ".join(_COMMENT.sub(" ", text).split())


def _digest(path: Path) -> str:
    return hashlib.sha1(_normal(path.read_text(encoding="utf-8", errors="replace")).encode()).hexdigest()


def w3c_fingerprints(w3c_root: Path) -> tuple[set[str], set[str]]:
    """Digests of every W3C query/update text and of every W3C data file."""
    queries = {_digest(p) for ext in ("*.rq", "*.ru") for p in w3c_root.rglob(ext)}
    data = {_digest(p) for ext in ("*.ttl", "*.rdf", "*.nt", "*.n3", "*.trig", "*.nq")
            for p in w3c_root.rglob(ext) if "manifest" not in p.name}
    return queries, data


def _parses_as_sparql11(text: str, update: bool) -> bool:
    import pyoxigraph

    try:
        store = pyoxigraph.Store()
        if update:
            store.update(text)
        else:
            res = store.query(text)
            if not isinstance(res, pyoxigraph.QueryBoolean):
                for _ in res:
                    break
    except SyntaxError:
        return False
    except Exception:  # noqa: BLE001 - an evaluation error on the empty store is not syntax
        return True
    return True


def _path(uri: object) -> Path | None:
    s = str(uri)
    return Path(s[len("file://"):]) if s.startswith("file://") else None


def _copy(src: Graph, dst: Graph, node: object, seen: set | None = None) -> None:
    """Copy the triples about a blank node (recursively) from ``src`` to ``dst``."""
    seen = set() if seen is None else seen
    if not isinstance(node, BNode) or node in seen:
        return
    seen.add(node)
    for p, o in src.predicate_objects(node):
        dst.add((node, p, o))
        _copy(src, dst, o, seen)


def write_selection(root: Path, out_dir: Path, w3c_root: Path | None) -> Counter:
    """Write ``out_dir/manifest.ttl`` with the held-out tests found under ``root`` (see the
    module docstring); returns how many tests were kept and why the others were left out."""
    fp = w3c_fingerprints(w3c_root) if w3c_root is not None else (set(), set())
    why: Counter = Counter()
    out = Graph()
    out.bind("mf", MF)
    out.bind("qt", QT)
    out.bind("ut", UT)
    entries: list[URIRef] = []
    seen: set[tuple] = set()
    for mpath in sorted(p for p in root.rglob("*.ttl") if "manifest" in p.name):
        g = Graph()
        try:
            g.parse(mpath, format="turtle", publicID=mpath.resolve().as_uri())
        except Exception:  # noqa: BLE001
            why["manifest does not parse"] += 1
            continue
        folder = mpath.parent.relative_to(root).as_posix()
        for m in g.subjects(RDF.type, MF.Manifest):
            for lst in g.objects(m, MF.entries):
                for n, t in enumerate(Collection(g, lst)):
                    kept = _select(g, t, fp, why)
                    if kept is None:
                        continue
                    action = g.value(t, MF.action)
                    key = (tuple(sorted(map(str, g.objects(action, None)))), str(g.value(t, MF.result)))
                    if key in seen:  # the same test listed by another manifest (Planning/*)
                        why["listed twice"] += 1
                        continue
                    seen.add(key)
                    tid = URIRef(f"urn:peer:{folder}/{mpath.stem}/{n}")
                    out.add((tid, RDF.type, kept))
                    out.add((tid, MF.name, Literal(f"{folder}: {g.value(t, MF.name) or n}")))
                    for p in (MF.action, MF.result, MF.resultCardinality):
                        for o in g.objects(t, p):
                            out.add((tid, p, o))
                            _copy(g, out, o)
                    entries.append(tid)
    manifest = URIRef(out_dir.resolve().as_uri() + "/manifest.ttl")
    out.add((manifest, RDF.type, MF.Manifest))
    head = BNode()
    Collection(out, head, entries)
    out.add((manifest, MF.entries, head))
    out_dir.mkdir(parents=True, exist_ok=True)
    out.serialize(out_dir / "manifest.ttl", format="turtle")
    why["selected"] = len(entries)
    return why


def _select(g: Graph, t: object, fp: tuple[set[str], set[str]], why: Counter) -> URIRef | None:
    types = set(g.objects(t, RDF.type))
    action = g.value(t, MF.action)
    if MF.UpdateEvaluationTest in types:
        kind, qfile = MF.UpdateEvaluationTest, _path(g.value(action, UT.request)) if action else None
    elif types <= {MF.QueryEvaluationTest, MFX.TestQuery} and action is not None \
            and g.value(t, MF.result) is not None:
        kind, qfile = MF.QueryEvaluationTest, _path(g.value(action, QT.query))
    else:
        why["not an evaluation test"] += 1
        return None
    if qfile is None or not qfile.is_file():
        why["query file missing"] += 1
        return None
    if qfile.suffix not in (".rq", ".ru"):
        why["ARQ syntax (.arq file)"] += 1
        return None
    text = qfile.read_text(encoding="utf-8", errors="replace")
    if EXTENSIONS.search(text):
        why["Jena/XPath extension"] += 1
        return None
    if not _parses_as_sparql11(text, kind == MF.UpdateEvaluationTest):
        why["not SPARQL 1.1 (pyoxigraph's parser)"] += 1
        return None
    data = [p for pred in (QT.data, QT.graphData, UT.data) for o in g.objects(action, pred)
            if (p := _path(o)) is not None]
    if _digest(qfile) in fp[0] and all(p.is_file() and _digest(p) in fp[1] for p in data):
        why["copy of a W3C test"] += 1
        return None
    return kind
