"""Stores written by earlier kg-engine versions, opened by this one: same answers, or a refusal.

Users keep their SQLite files and PostgreSQL databases across upgrades. A store written by an
older kg-engine holds what that version computed (value columns, inferred graphs, bookkeeping
tables); this one must answer over it exactly as over the same data loaded afresh, upgrade it
in place, or refuse it with the command to run — never answer wrongly.

The harness, given a store an older kg-engine wrote with :data:`WRITER` (the same steps over
the same :func:`write_data` files), replays those steps here into a fresh store and compares:
:data:`QUERIES` (comparisons, ORDER BY, aggregates and casts over every datatype, language
tags, graphs, inferences), explanations, ``kg check``, a read-only open (which must not change
a byte), then the same incremental writes (add, remove, update, reason) on both and the
queries again. ``benchmarks/store_upgrades.py`` runs it over historical commits (each checked
out with ``git worktree``); the CI test builds an older layout itself.

Example:
    >>> from kg_engine.testing.upgrades import QUERIES, write_data
    >>> import tempfile
    >>> sorted(p.name for p in write_data(tempfile.mkdtemp()).values())
    ['data.nq', 'more.trig', 'onto.ttl', 'rules.rules']
    >>> len(QUERIES) > 20
    True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["QUERIES", "WRITER", "Comparison", "compare_stores", "replay", "run_writer",
           "store_digest", "try_version", "write_data"]

EX = "http://example.org/"
_XSD = "http://www.w3.org/2001/XMLSchema#"

#: Typed literals of every datatype the store values (and some it does not): lexical forms
#: that are valid, ill-typed, out of an integer subtype's range, NaN/INF, dates with and
#: without a timezone, times, durations.
LITERALS: dict[str, list[str]] = {
    "integer": ["0", "01", "-7", "42", "9007199254740993", "9223372036854775812", "abc"],
    "decimal": ["1.50", "-0.0", "3", "12345678901234567890.5", "12,50"],
    "double": ["1e3", "0.1", "NaN", "INF", "-INF", "-1.5E-3", "x"],
    "float": ["0.1", "16777217", "NaN", "-INF", "2.5"],
    "byte": ["127", "300", "-129", "5"],
    "int": ["5000000000", "-12"],
    "unsignedLong": ["18446744073709551615", "18446744073709551616"],
    "nonNegativeInteger": ["-1", "8"],
    "positiveInteger": ["0", "3"],
    "unsignedByte": ["255", "256"],
    "boolean": ["true", "1", "0", "false", "yes"],
    "date": ["2024-01-01", "2024-01-01Z", "2024-01-01+05:00", "2024-02-30", "2023-12-31-03:00"],
    "dateTime": ["2024-01-01T10:00:00", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5+02:00",
                 "2024-01-01T24:00:00", "2024-13-01T00:00:00"],
    "dateTimeStamp": ["2024-01-01T08:00:00Z"],
    "time": ["10:00:00", "10:00:00Z", "23:59:59+02:00", "08:30:00.25", "25:00:00"],
    "duration": ["P1Y", "P1Y2M", "PT36H", "P1DT12H", "-P1D", "P"],
    "dayTimeDuration": ["PT1H", "P2D", "PT90M"],
    "yearMonthDuration": ["P1Y", "P13M", "-P2Y"],
    "gYear": ["2024", "-0044"],
    "string": ["typed string"],
}
#: Language-tagged and plain literals (tags in mixed case, as users write them).
TAGGED = [("chat", "FR"), ("chat", "fr"), ("Colour", "en-GB"), ("colour", "EN-gb"),
          ("Hallo", "de"), ("x", "EN")]


def _nq_literal(lex: str, dt: str) -> str:
    return '"' + lex.replace("\\", "\\\\").replace('"', '\\"') + f'"^^<{_XSD}{dt}>'


def write_data(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the fixed data set into ``folder``: ``data.nq`` (typed literals, tags, blank
    nodes, named graphs), ``onto.ttl`` (an ontology for RDFS/OWL 2 RL), ``more.trig`` (named
    graphs through the Turtle-family parser) and ``rules.rules`` (user rules, Jena syntax)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    n = 0
    for dt, lexes in LITERALS.items():
        for lex in lexes:
            n += 1
            s = f"<{EX}v{n}>"
            lines.append(f"{s} <{EX}v> {_nq_literal(lex, dt)} .")
            lines.append(f"{s} <{EX}kind> \"{dt}\" .")
            if n % 3 == 0:  # some values in a named graph too
                lines.append(f"{s} <{EX}v> {_nq_literal(lex, dt)} <{EX}g{n % 2}> .")
    for i, (lex, tag) in enumerate(TAGGED):
        lines.append(f'<{EX}t{i}> <{EX}label> "{lex}"@{tag} .')
        lines.append(f'<{EX}t{i}> <{EX}label> "{lex}"@{tag} <{EX}gl> .')
    lines += [
        f"_:b1 <{EX}knows> _:b2 .",
        f'_:b2 <{EX}name> "Blank Two" .',
        f"_:b1 <{EX}knows> <{EX}alice> <{EX}g1> .",
        f"<{EX}alice> <{EX}worksFor> <{EX}acme> .",
        f"<{EX}bob> <{EX}worksFor> <{EX}acme> .",
        f"<{EX}carol> <{EX}worksFor> <{EX}acme> <{EX}g1> .",
        f"<{EX}alice> <{EX}hasParent> <{EX}bob> .",
        f"<{EX}bob> <{EX}hasParent> <{EX}dan> .",
        f"<{EX}alice> <{EX}age> \"34\"^^<{_XSD}integer> .",
        f"<{EX}bob> <{EX}age> \"61\"^^<{_XSD}int> .",
        f"<{EX}alice> <http://www.w3.org/2002/07/owl#sameAs> <{EX}alice2> .",
        f"<{EX}alice2> <{EX}email> \"a@example.org\" .",
        f"<{EX}dan> <{EX}born> \"1950-05-01\"^^<{_XSD}date> .",
    ]
    (out / "data.nq").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "onto.ttl").write_text(f"""@prefix : <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <{_XSD}> .
:worksFor rdfs:domain :Employee ; rdfs:range :Organisation .
:Employee rdfs:subClassOf :Person .
:Person rdfs:subClassOf :Agent .
:hasParent rdfs:subPropertyOf :hasAncestor .
:hasAncestor a owl:TransitiveProperty .
:knows a owl:SymmetricProperty .
:email a owl:InverseFunctionalProperty .
:bob :email "a@example.org" .
:Organisation owl:disjointWith :Person .
:acme :founded "1999-03-01"^^xsd:date ; :rating "4.5"^^xsd:decimal , "4.5e0"^^xsd:double .
""", encoding="utf-8")
    (out / "more.trig").write_text(f"""@prefix : <{EX}> .
@prefix xsd: <{_XSD}> .
:g2 {{ :erin :worksFor :initech ; :age "29"^^xsd:integer ; :label "Erin"@EN-us .
       :erin :knows [ :name "anon" ] . }}
:frank :worksFor :initech .
""", encoding="utf-8")
    (out / "rules.rules").write_text(f"""@prefix ex: <{EX}> .
[colleagues: (?a ex:worksFor ?o), (?b ex:worksFor ?o), notEqual(?a, ?b) -> (?a ex:colleagueOf ?b)]
[senior: (?a ex:age ?n), greaterThan(?n, 40) -> (?a ex:status ex:Senior)]
[byte-big: (?s ex:v ?v), greaterThan(?v, 200), lessThan(?v, 1000) -> (?s ex:mid ex:Yes)]
""", encoding="utf-8")
    return {"nq": out / "data.nq", "ttl": out / "onto.ttl", "trig": out / "more.trig",
            "rules": out / "rules.rules"}


#: The provenance-carrying statement, and the update, both writers make.
PROVENANCE_TRIPLE = (f"{EX}alice", f"{EX}mentionedIn", f"{EX}doc1")
UPDATE = (f"PREFIX : <{EX}> PREFIX xsd: <{_XSD}> INSERT DATA {{ :gina :worksFor :acme ; "
          ':age "45"^^xsd:integer ; :label "Gina"@DE-at ; :v "0.1"^^xsd:float , '
          '"200"^^xsd:byte , "P2Y"^^xsd:yearMonthDuration , "12:00:00Z"^^xsd:time . '
          "GRAPH :g3 { :gina :knows :alice } }")

#: The program an older kg-engine runs (``python WRITER URL DATA_FOLDER MANIFEST``) with only
#: the API every version had: load, add with provenance, update, reason. Each step may be
#: missing in an older version; the manifest lists the steps done and whether ``reason``
#: made a live reasoning profile.
WRITER = r'''
import inspect, json, sys
from pathlib import Path
from rdflib import URIRef
url, data, manifest = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from kg_engine.api import KnowledgeGraph
from kg_engine.core.provenance import Provenance
done, failed = [], {}
kg = KnowledgeGraph(url)
def step(name, fn):
    try:
        fn()
        done.append(name)
    except Exception as exc:  # an older version may lack the feature
        failed[name] = repr(exc)[:300]
EX = "http://example.org/"
step("load_nq", lambda: kg.load(data / "data.nq"))
step("load_ttl", lambda: kg.load(data / "onto.ttl"))
step("load_trig", lambda: kg.load(data / "more.trig"))
step("add_provenance", lambda: kg.add(
    [(URIRef(EX + "alice"), URIRef(EX + "mentionedIn"), URIRef(EX + "doc1"))],
    graph=URIRef(EX + "gx"),
    provenance=Provenance(kind="extracted", source="doc1.txt", sentence=0, start=0, end=5,
                          text="Alice", agent="test-model", version="1", confidence=0.75)))
step("update", lambda: kg.update(UPDATE))
has_live = "live" in inspect.signature(kg.reason).parameters
step("user_rules", lambda: kg.reason((data / "rules.rules").read_text(), live=False)
     if has_live else kg.reason((data / "rules.rules").read_text()))
step("owl_rl", lambda: kg.reason("owl-rl"))
live = bool(getattr(kg, "reasoning", None)) if has_live else False
kg.close()
Path(manifest).write_text(json.dumps({"done": done, "failed": failed, "live": live}))
'''


def run_writer(python: str, code_root: str | os.PathLike[str], url: str,
               data: str | os.PathLike[str], manifest: str | os.PathLike[str]) -> dict[str, Any]:
    """Run :data:`WRITER` with the kg-engine at ``code_root`` (an older checkout) first on
    ``sys.path``; returns the manifest it wrote (``done``, ``failed``, ``live``).

    Raises:
        RuntimeError: the writer failed as a whole (its stderr attached).
    """
    script = Path(data) / "writer.py"
    script.write_text(f"UPDATE = {UPDATE!r}\n" + WRITER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(code_root))
    proc = subprocess.run([python, str(script), url, str(data), str(manifest)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode:
        raise RuntimeError(f"writer at {code_root} failed:\n{proc.stderr[-3000:]}")
    return json.loads(Path(manifest).read_text())


def replay(url: str, data: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Do here, into the (new) store at ``url``, the steps ``manifest`` says the old writer did."""
    from rdflib import URIRef

    from kg_engine.api import KnowledgeGraph
    from kg_engine.core.provenance import Provenance

    folder = Path(data)
    done = set(manifest["done"])
    with KnowledgeGraph(url) as kg:
        for name in ("nq", "ttl", "trig"):
            if f"load_{name}" in done:
                kg.load(write_data(folder)[name])
        if "add_provenance" in done:
            kg.add([tuple(URIRef(t) for t in PROVENANCE_TRIPLE)], graph=URIRef(EX + "gx"),
                   provenance=Provenance(kind="extracted", source="doc1.txt", sentence=0,
                                         start=0, end=5, text="Alice", agent="test-model",
                                         version="1", confidence=0.75))
        if "update" in done:
            kg.update(UPDATE)
        if "user_rules" in done:
            kg.reason((folder / "rules.rules").read_text(), live=False)
        if "owl_rl" in done:
            kg.reason("owl-rl", live=bool(manifest.get("live")))


_P = f"PREFIX : <{EX}> PREFIX xsd: <{_XSD}> PREFIX owl: <http://www.w3.org/2002/07/owl#> "
#: Queries run on both stores; names ending in ``_ordered`` compare rows in order.
QUERIES: dict[str, str] = {
    "lt": "SELECT ?a ?b WHERE { ?a :v ?x . ?b :v ?y FILTER(?x < ?y) }",
    "eq": "SELECT ?a ?b WHERE { ?a :v ?x . ?b :v ?y FILTER(?x = ?y) }",
    "ne": "SELECT ?a ?b WHERE { ?a :v ?x . ?b :v ?y FILTER(?x != ?y) }",
    "ge_const": "SELECT ?a WHERE { ?a :v ?x FILTER(?x >= 127) }",
    "gt_const_float": "SELECT ?a WHERE { ?a :v ?x FILTER(?x > \"0.1\"^^xsd:float) }",
    "eq_double": "SELECT ?a WHERE { ?a :v ?x FILTER(?x = 0.1e0) }",
    "eq_float": "SELECT ?a WHERE { ?a :v ?x FILTER(?x = \"0.1\"^^xsd:float) }",
    "date_cmp": "SELECT ?a WHERE { ?a :v ?x FILTER(?x > \"2023-12-31\"^^xsd:date) }",
    "datetime_cmp": "SELECT ?a WHERE { ?a :v ?x FILTER(?x >= \"2024-01-01T09:00:00Z\"^^xsd:dateTime) }",
    "time_cmp": "SELECT ?a WHERE { ?a :v ?x FILTER(?x > \"09:00:00Z\"^^xsd:time) }",
    "dur_cmp": "SELECT ?a WHERE { ?a :v ?x FILTER(?x > \"P1D\"^^xsd:dayTimeDuration) }",
    "values": "SELECT ?a (isNumeric(?x) AS ?n) (datatype(?x) AS ?d) (STR(?x) AS ?s) "
              "(?x + 1 AS ?p) (?x * 2 AS ?t) (xsd:double(?x) AS ?dbl) (xsd:integer(?x) AS ?i) "
              "(xsd:boolean(?x) AS ?b) (xsd:string(?x) AS ?str) WHERE { ?a :v ?x }",
    "ebv": "SELECT ?a WHERE { ?a :v ?x FILTER(?x) }",
    "order_ordered": "SELECT ?a ?x WHERE { ?a :v ?x } ORDER BY ?x ?a",
    "order_desc_ordered": "SELECT ?a WHERE { ?a :v ?x } ORDER BY DESC(?x) ?a LIMIT 25",
    "aggregates": "SELECT ?k (MIN(?x) AS ?mn) (MAX(?x) AS ?mx) (SUM(?x) AS ?sm) (AVG(?x) AS ?av) "
                  "(COUNT(?x) AS ?c) WHERE { ?a :v ?x ; :kind ?k "
                  "FILTER(?k != \"boolean\") } GROUP BY ?k",  # MIN of false/0: either one
    "sum_numeric": "SELECT (SUM(?x) AS ?s) WHERE { ?a :v ?x FILTER(isNumeric(?x)) }",
    "group_by_value": "SELECT ?x (COUNT(?a) AS ?c) WHERE { ?a :v ?x } GROUP BY ?x",
    "distinct_values": "SELECT DISTINCT ?x WHERE { ?a :v ?x }",
    "lang": "SELECT ?s ?l (lang(?l) AS ?t) WHERE { ?s :label ?l }",
    "lang_matches": "SELECT ?s WHERE { ?s :label ?l FILTER(langMatches(lang(?l), \"en\")) }",
    "lang_term": "SELECT ?s WHERE { ?s :label \"colour\"@en-gb }",
    "lang_term_upper": "SELECT ?s WHERE { ?s :label \"chat\"@FR }",
    "lang_eq": "SELECT ?a ?b WHERE { ?a :label ?x . ?b :label ?y FILTER(?x = ?y) }",
    "graphs": "SELECT ?g (COUNT(*) AS ?c) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "graph_names": "SELECT ?g WHERE { GRAPH ?g { } }",
    "default_count": "SELECT (COUNT(*) AS ?c) WHERE { ?s ?p ?o }",
    "bnodes": "SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { ?b ?p ?o FILTER(isBlank(?b)) }",
    "bnode_join": "SELECT ?n WHERE { ?b :knows ?c . ?c :name ?n }",
    "types": "SELECT ?x ?c WHERE { ?x a ?c }",
    "ancestors": "SELECT ?x ?y WHERE { ?x :hasAncestor ?y }",
    "colleagues": "SELECT ?x ?y WHERE { ?x :colleagueOf ?y }",
    "status": "SELECT ?x ?y WHERE { { ?x :status ?y } UNION { ?x :mid ?y } }",
    "sameas": "SELECT ?x ?y WHERE { ?x owl:sameAs ?y }",
    "knows": "SELECT ?x ?y WHERE { ?x :knows ?y FILTER(!isBlank(?x) && !isBlank(?y)) }",
    "in_graphs": "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } "
                 "FILTER(!isBlank(?s) && !isBlank(?o)) }",
}

#: The statements whose explanations are compared.
EXPLAIN = [f"<{EX}alice> <{EX}mentionedIn> <{EX}doc1>",
           f"<{EX}alice> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{EX}Person>",
           f"<{EX}alice> <{EX}hasAncestor> <{EX}dan>",
           f"<{EX}alice> <{EX}worksFor> <{EX}acme>",
           f"<{EX}alice> <{EX}colleagueOf> <{EX}bob>"]


def _cell(term: Any) -> str:
    from rdflib import BNode

    if term is None:
        return "UNBOUND"
    if isinstance(term, BNode):
        return "_:b"
    return term.n3()


def _answers(kg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in QUERIES.items():
        try:
            rows = [tuple(_cell(v) for v in row) for row in kg.query(_P + text)]
            out[name] = rows if name.endswith("_ordered") else sorted(rows)
        except Exception as exc:  # noqa: BLE001 - an error is an answer to compare
            out[name] = f"ERROR {type(exc).__name__}: {exc}"[:400]
    for text in EXPLAIN:
        try:
            tree = str(kg.explain(text))
        except Exception as exc:  # noqa: BLE001 - an error is an answer to compare
            tree = f"ERROR {type(exc).__name__}: {exc}"
        # load times and temporary folders differ between the two stores; of a derivation
        # only the statement's own line: equally good premises may be chosen either way
        tree = re.sub(r"\d{4}-\d\d-\d\dT[\d:.+Z-]+|/\S*/(?=[\w.]+\b)", "…", tree)
        out["explain " + text] = tree.splitlines()[0] if tree else tree
    return out


def _check(kg: Any) -> list[str]:
    from kg_engine.store.check import check_store

    return [f.what for f in check_store(kg.store.db).findings]


def _incremental(kg: Any) -> None:
    from rdflib import Literal, URIRef

    x = URIRef(EX + "hank")
    kg.add([(x, URIRef(EX + "worksFor"), URIRef(EX + "acme")),
            (x, URIRef(EX + "age"), Literal("52", datatype=URIRef(_XSD + "integer"))),
            (x, URIRef(EX + "v"), Literal("250", datatype=URIRef(_XSD + "byte"))),
            (x, URIRef(EX + "label"), Literal("Hank", lang="EN"))])
    kg.remove((URIRef(EX + "bob"), URIRef(EX + "worksFor"), None))
    kg.update(_P + "DELETE WHERE { :v4 :v ?x } ; INSERT DATA { :dan :hasParent :ed . "
              ":v999 :v \"1.0e0\"^^xsd:double }")
    kg.reason("rdfs", live=False)


def store_digest(url: str) -> str:
    """Hash of a SQLite store's files (the database and its write-ahead log)."""
    path = url.split("sqlite:///", 1)[1].split("?", 1)[0]
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        p = Path(path + suffix)
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()


@dataclass
class Comparison:
    """What differs between an old store and the same steps replayed here."""

    old_url: str
    new_url: str
    opened: str = "ok"  # "ok", or the error an open raised (a refusal)
    readonly_open: str = "ok"
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: differences by design: an explanation of an asserted statement in a store older than
    #: write records (abadfda) says that the write may be one the older version did not record
    expected: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """No difference (a clear refusal on both opens also counts as clean)."""
        return not self.differences

    def summary(self) -> str:
        lines = [(f"open: {self.opened}; read-only open: {self.readonly_open}; "
                  f"{len(self.differences)} difference(s), {len(self.expected)} expected")]
        for key, (old, new) in self.differences.items():
            lines.append(f"- {key}:\n    old store: {_short(old)}\n    fresh:     {_short(new)}")
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, list):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) < 600 else text[:600] + "…"


_UNRECORDED = "created by an older kg-engine, did not record"


def _diff(prefix: str, old: dict[str, Any], new: dict[str, Any],
          into: Comparison) -> None:
    for key, b in new.items():
        a = old.get(key)
        if a != b:
            if isinstance(a, str) and _UNRECORDED in a and _UNRECORDED not in b:
                into.expected[f"{prefix}{key}"] = (a, b)
                continue
            if isinstance(a, list) and isinstance(b, list) and not key.endswith("_ordered"):
                a, b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
            into.differences[f"{prefix}{key}"] = (a, b)


def compare_stores(old_url: str, new_url: str, *, sqlite: bool = True) -> Comparison:
    """Compare, with this kg-engine, the old store at ``old_url`` with the fresh one at
    ``new_url`` (same steps done): answers, explanations, ``kg check``, a read-only open
    (first, so it sees the store as the old version left it), then the same incremental
    writes on both and the answers again."""
    from kg_engine.api import KnowledgeGraph

    result = Comparison(old_url, new_url)
    before = store_digest(old_url) if sqlite else None
    try:
        with KnowledgeGraph(old_url, readonly=True) as kg:
            ro_answers = _answers(kg)
    except Exception as exc:  # noqa: BLE001 - a refusal is recorded
        result.readonly_open = f"{type(exc).__name__}: {exc}"
        ro_answers = None
    if sqlite and store_digest(old_url) != before:
        result.differences["read-only open wrote to the store"] = ("changed", "unchanged")
    try:
        old_kg = KnowledgeGraph(old_url)
    except Exception as exc:  # noqa: BLE001 - a refusal is recorded
        result.opened = f"{type(exc).__name__}: {exc}"
        return result
    with old_kg, KnowledgeGraph(new_url) as new_kg:
        new_answers = _answers(new_kg)
        if ro_answers is not None:
            _diff("read-only ", ro_answers, new_answers, result)
        _diff("", _answers(old_kg), new_answers, result)
        _diff("check ", {"findings": _check(old_kg)}, {"findings": _check(new_kg)},
              result)
        for kg in (old_kg, new_kg):
            try:
                _incremental(kg)
            except Exception as exc:  # noqa: BLE001 - a failed write is a finding
                result.differences.setdefault(
                    "incremental writes", ({}, {}))[0 if kg is old_kg else 1]["error"] = repr(exc)
        _diff("after writes ", _answers(old_kg), _answers(new_kg), result)
        _diff("after writes check ", {"findings": _check(old_kg)},
              {"findings": _check(new_kg)}, result)
    return result


def try_version(code_root: str | os.PathLike[str], work: str | os.PathLike[str], *,
                postgres: Any = None) -> tuple[dict[str, Any], Comparison]:
    """Write a store with the kg-engine at ``code_root`` (SQLite in ``work``, or a fresh
    database of the :class:`~kg_engine.testing.postgres.TemporaryPostgres` ``postgres``),
    replay its steps here into a fresh store of the same backend, and compare the two."""
    folder = Path(work)
    data = folder / "data"
    write_data(data)
    if postgres is None:
        old_url = f"sqlite:///{folder / 'old.sqlite'}"
        new_url = f"sqlite:///{folder / 'new.sqlite'}"
    else:
        old_url, new_url = (postgres.url(database=_new_database(postgres)) for _ in range(2))
    manifest = run_writer(sys.executable, code_root, old_url, data, folder / "manifest.json")
    if postgres is None:  # the store as the old version left it, kept for reruns
        for suffix in ("", "-wal"):
            if (folder / f"old.sqlite{suffix}").exists():
                shutil.copyfile(folder / f"old.sqlite{suffix}", folder / f"as-written.sqlite{suffix}")
    replay(new_url, data, manifest)
    return manifest, compare_stores(old_url, new_url, sqlite=postgres is None)


def _new_database(postgres: Any) -> str:
    import psycopg

    name = f"kg_upgrade_{os.getpid()}_{next(_DATABASES)}"
    with psycopg.connect(host=str(postgres.root), port=postgres.port, user=postgres.user,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


_DATABASES = itertools.count(1)
