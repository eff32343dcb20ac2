"""N3 as data: formula-free N3 loads through every path, formulae/rules/variables are refused
with file and line (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD

from kg_engine.errors import RDFSyntaxError
from kg_engine.store import SQLStore
from kg_engine.store.rdflib_store import KgEngineStore

EX = "urn:ex:"
DATA = """@prefix : <urn:ex:> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
# N3-only syntax that is still plain data
:a :p "01"^^xsd:integer, "x"@en ; :q ( :b :c ) .
:a = :a2 .
:a!:p :r [ :s :t ] .
:d a :C .
"""
RULES = """@prefix : <urn:ex:> .
:a :p :b .

{ ?x :p ?y } => { ?y :q ?x } .
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_formula_free_n3_loads_with_exact_literals(store: SQLStore, tmp_path: Path) -> None:
    result = store.load(_write(tmp_path, "data.n3", DATA))
    assert result.statements == len(store) == 12
    a, p = URIRef(EX + "a"), URIRef(EX + "p")
    objects = {o for _, _, o, _ in store.triples((a, p, None))}
    assert {Literal("01", datatype=XSD.integer, normalize=False), Literal("x", lang="en")} < objects
    assert "01" in {str(o) for o in objects}  # not canonicalised to "1"
    assert [o for _, _, o, _ in store.triples((a, OWL.sameAs, None))] == [URIRef(EX + "a2")]
    assert len(list(store.triples((None, RDF.first, None)))) == 2
    # the path ``:a!:p`` and ``[ ]`` are blank nodes of this load
    (s, _, _, _), = store.triples((None, URIRef(EX + "r"), None))
    assert isinstance(s, BNode) and s in objects

@pytest.mark.parametrize("text,line", [
    (RULES, 4),
    ("@prefix : <urn:ex:> .\n:a :p :b .\n?x :p :c .\n", 3),
    ("@prefix : <urn:ex:> .\n:a :says { :b :p :c } .\n", 2),
    ("@prefix : <urn:ex:> .\n@forAll :x .\n:a :p :b .\n\n:x :p :c .\n", 5),
])
def test_formulae_rules_and_variables_are_refused_with_their_line(
        store: SQLStore, tmp_path: Path, text: str, line: int) -> None:
    store.load(_write(tmp_path, "before.nt", "<urn:ex:z> <urn:ex:p> <urn:ex:z> .\n"))
    path = _write(tmp_path, "rules.n3", text)
    with pytest.raises(RDFSyntaxError) as err:
        store.load(path)
    assert str(err.value).startswith(f"{path}:{line}: N3 formulae")
    assert "kg reason --rules" in str(err.value)
    assert len(store) == 1  # nothing of the file was stored


def test_sparql_load_of_n3(tmp_path: Path) -> None:
    from kg_engine import KnowledgeGraph

    kg = KnowledgeGraph("sqlite://")
    kg.update(f"LOAD <{_write(tmp_path, 'data.n3', DATA).as_uri()}> INTO GRAPH <urn:g>")
    assert [r[0].toPython() for r in kg.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:g> { ?s ?p ?o } }")] == [12]
    with pytest.raises(RDFSyntaxError, match=r"rules\.n3:4: N3 formulae"):
        kg.update(f"LOAD <{_write(tmp_path, 'rules.n3', RULES).as_uri()}>")
    assert len(kg) == 12  # the failed LOAD added nothing


def test_rdflib_plugin_parses_n3(store_url: str, tmp_path: Path) -> None:
    """rdflib's N3 parser accepts the plugin as its sink (it is formula-aware) — the W3C and
    peer suites load their .n3 data files this way."""
    from kg_engine.sparql.rdflib_plugin import KgDataset

    ds = KgDataset(store=KgEngineStore(store_url))
    ds.graph(URIRef("urn:g")).parse(_write(tmp_path, "data.n3", DATA), format="n3")
    assert len(ds.graph(URIRef("urn:g"))) == 12
    assert "01" in {str(o) for o in ds.graph(URIRef("urn:g")).objects(URIRef(EX + "a"), URIRef(EX + "p"))}
    g = rdflib.Graph(store="kg_engine")
    with pytest.raises(RDFSyntaxError, match=r"rules\.n3:4: N3 formulae"):
        g.parse(_write(tmp_path, "rules.n3", RULES))
    ds.close()
